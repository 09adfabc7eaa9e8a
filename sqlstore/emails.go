package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/usher-auth/usher"
)

// A user's addresses live in user_emails, the primary one included; the
// Store keeps the primary row equal to users.email and
// users.email_confirmed_at. The database enforces who has an address: a
// partial unique index over the primary and confirmed rows
// (user_emails_taken), and a unique index on (user_id, email_key).

// scanUserEmail reads the columns of userEmailCols, then after.
func scanUserEmail(r row, after ...any) (*usher.UserEmail, error) {
	e := &usher.UserEmail{}
	dest := append([]any{&e.ID, &e.UserID, &e.Email, &e.Primary, timeCol{&e.ConfirmedAt}, timeCol{&e.CreatedAt}},
		after...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	return e, nil
}

// ListUserEmails returns the user's addresses, the primary first, then by
// creation (unknown first), then ID; none for an unknown user.
func (s *Store) ListUserEmails(ctx context.Context, userID string) ([]*usher.UserEmail, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qListUserEmails], userID)
	if err != nil {
		return nil, wrap("ListUserEmails", err)
	}
	defer rows.Close()
	list := []*usher.UserEmail{}
	for rows.Next() {
		e, err := scanUserEmail(rows)
		if err != nil {
			return nil, wrap("ListUserEmails", err)
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListUserEmails", err)
	}
	return list, nil
}

// AddUserEmail adds e as a secondary address of e.UserID (e.Primary is
// ignored; use SetPrimaryEmail). It returns usher.ErrUserExists if the
// address is the primary or a confirmed address of any user, or an address
// this user already has; usher.ErrNotFound if there is no such user.
//
// Two users may add the same address unconfirmed: it is nobody's until one
// confirms it. That an unconfirmed address is free is checked before the
// insert; if another user takes it in between, the insert still succeeds
// and confirming it later fails with usher.ErrUserExists. A confirmed e
// (ConfirmedAt set) is checked by the database's unique index.
func (s *Store) AddUserEmail(ctx context.Context, e *usher.UserEmail) error {
	if e.ID == "" || e.UserID == "" || e.Email == "" {
		return errors.New("sqlstore: AddUserEmail: the address has no ID, user or address")
	}
	key := usher.FoldEmail(e.Email)
	return s.inTx(ctx, func(tx *Store) error {
		var one int
		err := tx.tx.QueryRowContext(ctx, s.d.q[qAddressTaken], key).Scan(&one)
		switch {
		case err == nil:
			return usher.ErrUserExists
		case !errors.Is(err, sql.ErrNoRows):
			return wrap("AddUserEmail", err)
		}
		_, err = tx.tx.ExecContext(ctx, s.d.q[qInsertUserEmail],
			e.ID, e.UserID, e.Email, false, s.d.time(e.ConfirmedAt), s.d.time(e.CreatedAt), key)
		switch {
		case err == nil:
			e.Primary = false
			return nil
		case isUnique(err):
			return userExists(err)
		case isForeignKey(err):
			return usher.ErrNotFound
		}
		return wrap("AddUserEmail", err)
	})
}

// UserEmailByAddress returns the record of email (compared like
// usher.FoldEmail), of any user: the one of the user whose primary or
// confirmed address it is, if any, else the newest of those who added it
// unconfirmed; usher.ErrNotFound if nobody has it.
func (s *Store) UserEmailByAddress(ctx context.Context, email string) (*usher.UserEmail, error) {
	e, err := scanUserEmail(s.reader().QueryRowContext(ctx, s.d.q[qUserEmailByAddress], usher.FoldEmail(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("UserEmailByAddress", err)
	}
	return e, nil
}

// lockUser locks the user's row until the end of the transaction
// (PostgreSQL; SQLite's transactions run one at a time), or returns
// usher.ErrNotFound.
func (tx *Store) lockUser(ctx context.Context, userID string) error {
	var one int
	err := tx.tx.QueryRowContext(ctx, tx.d.q[qLockUser], userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return usher.ErrNotFound
	}
	if err != nil {
		return wrap("locking user", err)
	}
	return nil
}

// ConfirmUserEmail marks the user's address emailID confirmed at at, and,
// if it is the primary address, sets the user's EmailConfirmedAt too, in
// one transaction. It returns usher.ErrNotFound if the user has no such
// address and usher.ErrUserExists if another user has the address as
// primary or confirmed (the database's unique index decides, so of two
// users confirming one address at once, one fails).
func (s *Store) ConfirmUserEmail(ctx context.Context, userID, emailID string, at time.Time) error {
	return s.inTx(ctx, func(tx *Store) error {
		if err := tx.lockUser(ctx, userID); err != nil {
			return err
		}
		var primary bool
		err := tx.tx.QueryRowContext(ctx, s.d.q[qConfirmUserEmail], s.d.time(at), emailID, userID).Scan(&primary)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return usher.ErrNotFound
		case isUnique(err):
			return userExists(err)
		case err != nil:
			return wrap("ConfirmUserEmail", err)
		}
		if !primary {
			return nil
		}
		if _, err := tx.tx.ExecContext(ctx, s.d.q[qConfirmUserPrimary], s.d.time(at), userID); err != nil {
			return wrap("ConfirmUserEmail", err)
		}
		return nil
	})
}

// SetPrimaryEmail makes the user's address emailID the primary one, in one
// transaction: the old primary row becomes a secondary address, the new
// one primary, and users.email, email_key and email_confirmed_at take the
// new one's values. Making the primary address primary changes nothing. It
// returns usher.ErrNotFound if the user has no such address and
// usher.ErrUserExists if the address is unconfirmed and another user has
// it as primary or confirmed.
func (s *Store) SetPrimaryEmail(ctx context.Context, userID, emailID string) error {
	return s.inTx(ctx, func(tx *Store) error {
		if err := tx.lockUser(ctx, userID); err != nil {
			return err
		}
		var key string
		e, err := scanUserEmail(tx.tx.QueryRowContext(ctx, s.d.q[qUserEmailOf], emailID, userID), &key)
		if errors.Is(err, sql.ErrNoRows) {
			return usher.ErrNotFound
		}
		if err != nil {
			return wrap("SetPrimaryEmail", err)
		}
		if e.Primary {
			return nil
		}
		// Demote first: a user has one primary row (user_emails_primary).
		_, err = tx.tx.ExecContext(ctx, s.d.q[qDemotePrimary], userID)
		if err == nil {
			_, err = tx.tx.ExecContext(ctx, s.d.q[qPromoteEmail], emailID)
		}
		if err == nil {
			_, err = tx.tx.ExecContext(ctx, s.d.q[qSetUserAddress], e.Email, key, s.d.time(e.ConfirmedAt), userID)
		}
		if err != nil {
			if isUnique(err) {
				return userExists(err)
			}
			return wrap("SetPrimaryEmail", err)
		}
		return nil
	})
}

// RemoveUserEmail removes the user's secondary address emailID. It returns
// usher.ErrNotFound if the user has no such secondary address: the
// primary address cannot be removed (SetPrimaryEmail another first).
func (s *Store) RemoveUserEmail(ctx context.Context, userID, emailID string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qRemoveUserEmail], emailID, userID)
	if err != nil {
		return wrap("RemoveUserEmail", err)
	}
	return affected(res, "RemoveUserEmail")
}
