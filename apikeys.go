package usher

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"
)

// APIKey is a key that authenticates a program to the admin JSON API
// (Authorization: Bearer usher_ak_...). The Store keeps only the SHA-256
// of the key, as it does for session tokens; the key itself is shown
// once, when it is made.
type APIKey struct {
	ID         string
	Name       string // unique; names the key in lists and in the audit trail
	Hash       []byte // SHA-256 of the key
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until used
}

// APIKeyPrefix starts every API key, so that secret scanners can
// recognise one in a repository or a log.
const APIKeyPrefix = "usher_ak_"

// apiKeyTouchEvery is how stale APIKey.LastUsedAt may get before a use
// writes it again: a script calling the API in a loop costs one write a
// minute, not one per request.
const apiKeyTouchEvery = time.Minute

// CreateAPIKey makes a key named name and returns it with its record. The
// key is returned only here: the Store keeps its hash. A name must be 1
// to 64 letters, digits or "-_.:" (*ValidationError on "name"); a name in
// use is ErrUserExists.
func (s *Service) CreateAPIKey(ctx context.Context, name string) (string, *APIKey, error) {
	name = strings.TrimSpace(name)
	if !validRole(name) { // the same alphabet as a role's
		msg := MsgInvalidFormat
		if name == "" {
			msg = MsgRequired
		}
		return "", nil, &ValidationError{Fields: map[string]string{"name": msg}}
	}
	tok, _ := newToken()
	key := APIKeyPrefix + tok
	k := &APIKey{ID: NewID(), Name: name, Hash: hashToken(key), CreatedAt: s.now()}
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		s.event(ctx, tx, "", EventAPIKeyCreated, Client{}, name)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return key, k, nil
}

// ListAPIKeys returns every API key's record (never a key), by name.
func (s *Service) ListAPIKeys(ctx context.Context) ([]*APIKey, error) {
	list, err := s.store.ListAPIKeys(ctx)
	for _, k := range list {
		k.Hash = nil
	}
	return list, err
}

// RevokeAPIKey deletes the key whose ID or name is ref, and returns its
// record; ErrNotFound if there is none. Requests with it fail from then
// on.
func (s *Service) RevokeAPIKey(ctx context.Context, ref string) (*APIKey, error) {
	var found *APIKey
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		list, err := tx.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range list {
			if k.ID == ref || k.Name == ref {
				found = k
				break
			}
		}
		if found == nil {
			return ErrNotFound
		}
		if err := tx.DeleteAPIKey(ctx, found.ID); err != nil {
			return err
		}
		s.event(ctx, tx, "", EventAPIKeyRevoked, Client{}, found.Name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	found.Hash = nil
	return found, nil
}

// AuthenticateAPIKey returns the record of key, or ErrAuthenticationFailed
// for anything that is not a live key. The key is found by its SHA-256
// (the database's index compares hashes, never keys), and the hash found
// is compared again in constant time. LastUsedAt is written at most once
// a minute per key.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (*APIKey, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) != len(APIKeyPrefix)+tokenLen {
		return nil, ErrAuthenticationFailed
	}
	h := hashToken(key)
	k, err := s.store.APIKeyByHash(ctx, h)
	if isNotFound(err) {
		return nil, ErrAuthenticationFailed
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.Hash, h) != 1 {
		return nil, ErrAuthenticationFailed
	}
	if now := s.now(); now.Sub(k.LastUsedAt) >= apiKeyTouchEvery {
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil && !isNotFound(err) {
			s.log.Error("usher: recording an API key's use", "key", k.Name, "err", err)
		}
		k.LastUsedAt = now
	}
	k.Hash = nil
	return k, nil
}
