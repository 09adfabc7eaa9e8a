package usher

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// CheckBasic checks HTTP Basic credentials (Anvil's authenticate_users):
// username is an e-mail address or username as Config.LoginWith allows.
// It runs the checks of Login — throttle, lock-out, failure counting, the
// account state — but starts no session. It returns the same errors as
// Login; ErrPasswordResetRequested when the user must set a new password.
//
// Hashing on every request would hold such an endpoint to a few requests a
// second, so successful checks are remembered for BasicAuthCacheTTL, keyed
// by an HMAC of the credentials under a per-process random key (never the
// password itself, and never a failure). A remembered check still reloads
// the user and is honoured only while the stored hash is the one that
// matched and the account is enabled and not locked: a password change,
// disable or lock-out, even by another process, ends it at once.
func (s *Service) CheckBasic(ctx context.Context, username, password string, c Client) (*User, error) {
	key := s.basic.key(username, password)
	if e, ok := s.basic.get(key, s.now()); ok {
		u, err := s.store.UserByID(ctx, e.userID)
		if err == nil && equalStrings(u.PasswordHash, e.hash) && u.Enabled && !s.locked(ctx, u) &&
			s.mayLogInUnconfirmed(u) && !u.PasswordResetRequired {
			return u, nil
		}
		s.basic.drop(key)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	u, rehash, err := s.checkPassword(ctx, Credentials{Login: username, Password: password}, c)
	if err != nil {
		return nil, err
	}
	if u.PasswordResetRequired {
		return nil, ErrPasswordResetRequested
	}
	// Basic auth has no way to ask for a second factor: a user who has one
	// cannot use it (Anvil behaves so too, short of a remembered device),
	// and with RequireMFA nobody can.
	if s.cfg.RequireMFA {
		return nil, ErrMFARequired
	}
	if methods, err := s.store.ListMFAMethods(ctx, u.ID); err != nil {
		return nil, err
	} else if len(methods) > 0 {
		return nil, ErrMFARequired
	}
	if rehash != "" || u.PasswordFailures > 0 {
		if err := s.store.RecordLogin(ctx, u.ID, s.now(), rehash); err != nil {
			return nil, err
		}
		if rehash != "" {
			u.PasswordHash = rehash
		}
		u.PasswordFailures = 0
	}
	s.basic.put(key, basicEntry{userID: u.ID, hash: u.PasswordHash, expires: s.now().Add(s.cfg.BasicAuthCacheTTL)})
	return u, nil
}

// basicCache remembers successful Basic checks.
type basicCache struct {
	ttl    time.Duration
	secret []byte
	mu     sync.Mutex
	m      map[[32]byte]basicEntry
}

type basicEntry struct {
	userID  string
	hash    string // the stored hash the password matched
	expires time.Time
}

// maxBasicEntries bounds the cache; when full, new checks are not cached.
const maxBasicEntries = 100_000

func newBasicCache(ttl time.Duration) *basicCache {
	c := &basicCache{ttl: ttl, secret: make([]byte, 32), m: map[[32]byte]basicEntry{}}
	rand.Read(c.secret)
	return c
}

// key is HMAC-SHA256(secret, len(user) ‖ user ‖ password): the length
// prefix keeps ("ab","c") and ("a","bc") apart.
func (c *basicCache) key(user, password string) [32]byte {
	m := hmac.New(sha256.New, c.secret)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(user)))
	m.Write(n[:])
	m.Write([]byte(user))
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (c *basicCache) get(k [32]byte, now time.Time) (basicEntry, bool) {
	if c.ttl < 0 {
		return basicEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		return basicEntry{}, false
	}
	return e, ok
}

func (c *basicCache) put(k [32]byte, e basicEntry) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) < maxBasicEntries {
		c.m[k] = e
	}
}

func (c *basicCache) drop(k [32]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// dropUser forgets every check of one user (password change, disable,
// lock-out, deletion).
func (c *basicCache) dropUser(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.userID == id {
			delete(c.m, k)
		}
	}
}

// sweep drops expired entries.
func (c *basicCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
}
