package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/usher-auth/usher"
)

// The admin API's keys live in api_keys: a name (unique index api_keys_name)
// and the key's SHA-256 (unique index api_keys_hash), never the key.

// scanAPIKey reads the columns of apiKeyCols.
func scanAPIKey(r row) (*usher.APIKey, error) {
	k := &usher.APIKey{}
	if err := r.Scan(&k.ID, &k.Name, &k.Hash, timeCol{&k.CreatedAt}, timeCol{&k.LastUsedAt}); err != nil {
		return nil, err
	}
	return k, nil
}

// CreateAPIKey stores k; usher.ErrUserExists if a key has its name.
func (s *Store) CreateAPIKey(ctx context.Context, k *usher.APIKey) error {
	if k.ID == "" || k.Name == "" || len(k.Hash) == 0 {
		return errors.New("sqlstore: CreateAPIKey: the key has no ID, name or hash")
	}
	_, err := s.writer().ExecContext(ctx, s.d.q[qInsertAPIKey], k.ID, k.Name, k.Hash,
		s.d.time(k.CreatedAt), s.d.time(k.LastUsedAt))
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return userExists(err)
	}
	return wrap("CreateAPIKey", err)
}

// APIKeyByHash returns the key with this hash; usher.ErrNotFound if none.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*usher.APIKey, error) {
	k, err := scanAPIKey(s.reader().QueryRowContext(ctx, s.d.q[qAPIKeyByHash], hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("APIKeyByHash", err)
	}
	return k, nil
}

// ListAPIKeys returns every key, by name.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*usher.APIKey, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qListAPIKeys])
	if err != nil {
		return nil, wrap("ListAPIKeys", err)
	}
	defer rows.Close()
	list := []*usher.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, wrap("ListAPIKeys", err)
		}
		list = append(list, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListAPIKeys", err)
	}
	return list, nil
}

// TouchAPIKey sets the key's LastUsedAt; usher.ErrNotFound if there is no
// such key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qTouchAPIKey], s.d.time(at), id)
	if err != nil {
		return wrap("TouchAPIKey", err)
	}
	return affected(res, "TouchAPIKey")
}

// DeleteAPIKey removes a key; usher.ErrNotFound if there is no such key.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteAPIKey], id)
	if err != nil {
		return wrap("DeleteAPIKey", err)
	}
	return affected(res, "DeleteAPIKey")
}
