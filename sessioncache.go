package usher

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sessionCache keeps recently checked sessions with their users, so that
// the check on every authenticated request need not query the database.
//
// It stays consistent with the database this way: every change that can
// end a session or alter what a request may see (log-out, disable,
// password change, role change, deletion, ...) writes an audit event in
// the same transaction. Events from this process evict the user's entries
// at once (Service.event); the background worker reads the events other
// processes wrote (Store.EventsSince) every CacheSyncInterval and evicts
// those users too. Entries also expire after SessionCacheTTL whatever
// happens, and a load that raced with an eviction is not cached.
type sessionCache struct {
	ttl time.Duration
	max int

	mu     sync.RWMutex
	byHash map[[32]byte]cacheEntry
	byUser map[string][][32]byte

	// gen counts evictions; a load that started before an eviction does
	// not store its (perhaps stale) result.
	gen atomic.Uint64

	// hits and misses count lookups answered from the cache and not
	// (Service.Stats).
	hits, misses atomic.Int64
}

// cacheEntry is one cached session: its encoded session and user (see
// encodeEntry), and the two times that change, in Unix nanoseconds (0 for
// a zero last-seen time): a time.Time is three times the size, and the
// cache holds up to SessionCacheSize of these.
type cacheEntry struct {
	buf      []byte
	lastSeen int64
	expires  int64
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is unixNano's inverse, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, byHash: map[[32]byte]cacheEntry{}, byUser: map[string][][32]byte{}}
}

func (c *sessionCache) enabled() bool { return c.ttl > 0 }

// get returns copies of the cached session and user for a token hash.
func (c *sessionCache) get(h [32]byte, now time.Time) (*Session, *User, bool) {
	if !c.enabled() {
		return nil, nil, false
	}
	c.mu.RLock()
	e, ok := c.byHash[h]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= e.expires {
		c.misses.Add(1)
		return nil, nil, false
	}
	c.hits.Add(1)
	return decodeEntry(e.buf, fromUnixNano(e.lastSeen))
}

// put stores a loaded session unless an eviction happened since the load
// began (startGen) or the cache is full.
func (c *sessionCache) put(h [32]byte, s *Session, u *User, now time.Time, startGen uint64) {
	if !c.enabled() {
		return
	}
	buf := encodeEntry(s, u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != startGen {
		return
	}
	if _, ok := c.byHash[h]; !ok {
		// A full cache drops one arbitrary entry (a map's iteration starts
		// at a random place): O(1), where scanning for expired entries on
		// every miss cost O(max) under the lock once the cache filled up,
		// which a user base larger than max reaches within minutes.
		// Expired entries go at the periodic sweep (prune).
		for len(c.byHash) >= max(c.max, 1) {
			for old := range c.byHash {
				c.dropLocked(old)
				break
			}
		}
		// The key shares the entry's bytes rather than holding a copy.
		uid := entryUserID(buf)
		c.byUser[uid] = append(c.byUser[uid], h)
	}
	c.byHash[h] = cacheEntry{buf: buf, lastSeen: unixNano(s.LastSeenAt), expires: now.Add(c.ttl).UnixNano()}
}

// dropLocked removes one entry and its place in byUser.
func (c *sessionCache) dropLocked(h [32]byte) {
	e, ok := c.byHash[h]
	if !ok {
		return
	}
	delete(c.byHash, h)
	uid := entryUserID(e.buf)
	hs := c.byUser[uid]
	if i := slices.Index(hs, h); i >= 0 {
		hs = slices.Delete(hs, i, i+1)
	}
	if len(hs) == 0 {
		delete(c.byUser, uid)
	} else {
		c.byUser[uid] = hs
	}
}

// touch records a new last-seen time on a cached session, so that the
// idle timeout sees it after the pending times are written and forgotten.
func (c *sessionCache) touch(h [32]byte, now time.Time) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	if e, ok := c.byHash[h]; ok {
		e.lastSeen = unixNano(now)
		c.byHash[h] = e
	}
	c.mu.Unlock()
}

// evictUser drops every cached session of the user.
func (c *sessionCache) evictUser(userID string) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for _, h := range c.byUser[userID] {
		delete(c.byHash, h)
	}
	delete(c.byUser, userID)
}

// evictAll empties the cache (when the event feed cannot be read, nothing
// cached can be trusted).
func (c *sessionCache) evictAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	clear(c.byHash)
	clear(c.byUser)
}

// pruneLocked drops expired entries.
func (c *sessionCache) pruneLocked(now time.Time) {
	for h, e := range c.byHash {
		if now.UnixNano() >= e.expires {
			delete(c.byHash, h)
		}
	}
	for id, hs := range c.byUser {
		live := hs[:0]
		for _, h := range hs {
			if _, ok := c.byHash[h]; ok {
				live = append(live, h)
			}
		}
		if len(live) == 0 {
			delete(c.byUser, id)
		} else {
			c.byUser[id] = live
		}
	}
}

func (c *sessionCache) prune(now time.Time) {
	c.mu.Lock()
	c.pruneLocked(now)
	c.mu.Unlock()
}

// keepsSessions lists the event types that cannot make a cached session
// or user stale; every other event evicts the user's entries.
var keepsSessions = map[string]bool{
	EventLogin: true, EventLoginFailed: true, EventSignup: true, EventForceLogin: true, EventEnabled: true,
	EventAPIKeyCreated: true, EventAPIKeyRevoked: true,
}
