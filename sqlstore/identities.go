package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/usher-auth/usher"
)

// A user's federated identities live in identities, one row per account at
// an outside provider. The unique index identities_issuer_subject makes an
// (issuer, subject) pair one user's, across processes; the rows go with
// their user (ON DELETE CASCADE).

// scanIdentity reads the columns of identityCols.
func scanIdentity(r row) (*usher.Identity, error) {
	id := &usher.Identity{}
	err := r.Scan(&id.ID, &id.UserID, &id.Provider, &id.Issuer, &id.Subject, &id.Email,
		timeCol{&id.LinkedAt}, timeCol{&id.LastUsedAt})
	if err != nil {
		return nil, err
	}
	return id, nil
}

// CreateIdentity links id to id.UserID. It returns usher.ErrUserExists if
// the (Issuer, Subject) pair is already linked (the database's unique index
// decides, so of two links at once one fails), usher.ErrNotFound if there is
// no such user.
func (s *Store) CreateIdentity(ctx context.Context, id *usher.Identity) error {
	if id.ID == "" || id.UserID == "" || id.Issuer == "" || id.Subject == "" {
		return errors.New("sqlstore: CreateIdentity: the identity has no ID, user, issuer or subject")
	}
	_, err := s.writer().ExecContext(ctx, s.d.q[qInsertIdentity], id.ID, id.UserID, id.Provider,
		id.Issuer, id.Subject, id.Email, s.d.time(id.LinkedAt), s.d.time(id.LastUsedAt))
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return userExists(err)
	case isForeignKey(err):
		return usher.ErrNotFound
	}
	return wrap("CreateIdentity", err)
}

// IdentityBySubject returns the identity with this issuer and subject,
// compared exactly; usher.ErrNotFound if none.
func (s *Store) IdentityBySubject(ctx context.Context, issuer, subject string) (*usher.Identity, error) {
	id, err := scanIdentity(s.reader().QueryRowContext(ctx, s.d.q[qIdentityBySubject], issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("IdentityBySubject", err)
	}
	return id, nil
}

// IdentitiesOfUser returns the user's identities by link time (unknown
// first), then ID; none for an unknown user.
func (s *Store) IdentitiesOfUser(ctx context.Context, userID string) ([]*usher.Identity, error) {
	if s.tx != nil {
		// In a transaction the user's row is locked first (PostgreSQL),
		// so that a decision taken on the list, such as "not the last
		// way to log in", holds until the transaction ends: two unlinks
		// at once would otherwise each see the other's identity left.
		if err := s.lockUser(ctx, userID); errors.Is(err, usher.ErrNotFound) {
			return []*usher.Identity{}, nil
		} else if err != nil {
			return nil, err
		}
	}
	rows, err := s.reader().QueryContext(ctx, s.d.q[qIdentitiesOfUser], userID)
	if err != nil {
		return nil, wrap("IdentitiesOfUser", err)
	}
	defer rows.Close()
	list := []*usher.Identity{}
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, wrap("IdentitiesOfUser", err)
		}
		list = append(list, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("IdentitiesOfUser", err)
	}
	return list, nil
}

// TouchIdentity sets the identity's LastUsedAt to at; usher.ErrNotFound if
// there is no such identity.
func (s *Store) TouchIdentity(ctx context.Context, id string, at time.Time) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qTouchIdentity], s.d.time(at), id)
	if err != nil {
		return wrap("TouchIdentity", err)
	}
	return affected(res, "TouchIdentity")
}

// DeleteIdentity unlinks the user's identity id; usher.ErrNotFound if the
// user has no such identity.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteIdentity], id, userID)
	if err != nil {
		return wrap("DeleteIdentity", err)
	}
	return affected(res, "DeleteIdentity")
}
