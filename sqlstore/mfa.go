package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/usher-auth/usher"
)

// Second factors live in mfa_methods, recovery codes (their SHA-256) in
// recovery_codes; both go with the user (ON DELETE CASCADE). The Store keeps
// a method's Secret as the Service gives it: sealed.

// scanMFAMethod reads the columns of mfaCols.
func scanMFAMethod(r row) (*usher.MFAMethod, error) {
	m := &usher.MFAMethod{}
	err := r.Scan(&m.ID, &m.UserID, &m.Type, &m.Name, &m.Secret, &m.LastStep,
		timeCol{&m.CreatedAt}, timeCol{&m.LastUsedAt})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ListMFAMethods returns the user's second factors, oldest first (unknown
// creation time first), then by ID; none for an unknown user.
func (s *Store) ListMFAMethods(ctx context.Context, userID string) ([]*usher.MFAMethod, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qListMFAMethods], userID)
	if err != nil {
		return nil, wrap("ListMFAMethods", err)
	}
	defer rows.Close()
	list := []*usher.MFAMethod{}
	for rows.Next() {
		m, err := scanMFAMethod(rows)
		if err != nil {
			return nil, wrap("ListMFAMethods", err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListMFAMethods", err)
	}
	return list, nil
}

// AddMFAMethod stores m (m.ID set by the caller; m.Secret, already sealed,
// is kept as given and must not be empty). With clearExisting, the user's
// methods are removed first, in the same transaction (InTx's, or one of its
// own), with the user's row locked so that two such replacements for one
// user leave one method. It returns usher.ErrNotFound if there is no such
// user.
func (s *Store) AddMFAMethod(ctx context.Context, m *usher.MFAMethod, clearExisting bool) error {
	if m.ID == "" || m.UserID == "" || m.Type == "" || len(m.Secret) == 0 {
		return errors.New("sqlstore: AddMFAMethod: the method has no ID, user, type or secret")
	}
	insert := func(q querier) error {
		_, err := q.ExecContext(ctx, s.d.q[qInsertMFAMethod],
			m.ID, m.UserID, m.Type, m.Name, m.Secret, m.LastStep, s.d.time(m.CreatedAt), s.d.time(m.LastUsedAt))
		if isForeignKey(err) {
			return usher.ErrNotFound
		}
		if err != nil {
			return wrap("AddMFAMethod", err)
		}
		return nil
	}
	if !clearExisting {
		return insert(s.writer())
	}
	return s.inTx(ctx, func(tx *Store) error {
		if err := tx.lockUser(ctx, m.UserID); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, s.d.q[qDeleteUserMFAMethods], m.UserID); err != nil {
			return wrap("AddMFAMethod", err)
		}
		return insert(tx.tx)
	})
}

// DeleteMFAMethod removes the user's method methodID. It returns
// usher.ErrNotFound if the user has no such method.
func (s *Store) DeleteMFAMethod(ctx context.Context, userID, methodID string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteMFAMethod], methodID, userID)
	if err != nil {
		return wrap("DeleteMFAMethod", err)
	}
	return affected(res, "DeleteMFAMethod")
}

// UseTOTPStep sets the method's LastStep to step and LastUsedAt to now if
// step is after LastStep, in one statement, so that of two concurrent uses
// of one code exactly one succeeds. A step at or before LastStep (a replayed
// code), or an unknown method, is usher.ErrNotFound.
func (s *Store) UseTOTPStep(ctx context.Context, methodID string, step int64, now time.Time) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qUseTOTPStep], step, s.d.time(now), methodID, step)
	if err != nil {
		return wrap("UseTOTPStep", err)
	}
	return affected(res, "UseTOTPStep")
}

// ReplaceMFASecrets rewrites every method's secret with reseal(old), in one
// transaction (InTx's, or one of its own), and returns how many it rewrote.
// If reseal fails, or returns an empty secret, nothing is rewritten and its
// error is returned. On PostgreSQL the methods are locked while they are
// resealed, so a concurrent rotation waits and then reseals the new
// secrets. Inside InTx on SQLite, reseal must not use the outer Store.
func (s *Store) ReplaceMFASecrets(ctx context.Context, reseal func(old []byte) ([]byte, error)) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *Store) error {
		type method struct {
			id     string
			secret []byte
		}
		rows, err := tx.tx.QueryContext(ctx, s.d.q[qMFASecrets])
		if err != nil {
			return wrap("ReplaceMFASecrets", err)
		}
		var list []method
		for rows.Next() {
			var m method
			if err := rows.Scan(&m.id, &m.secret); err != nil {
				rows.Close()
				return wrap("ReplaceMFASecrets", err)
			}
			list = append(list, m)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return wrap("ReplaceMFASecrets", err)
		}
		for _, m := range list {
			secret, err := reseal(m.secret)
			if err != nil {
				return fmt.Errorf("sqlstore: ReplaceMFASecrets: method %s: %w", m.id, err)
			}
			if len(secret) == 0 {
				return fmt.Errorf("sqlstore: ReplaceMFASecrets: method %s: reseal returned an empty secret", m.id)
			}
			if _, err := tx.tx.ExecContext(ctx, s.d.q[qSetMFASecret], secret, m.id); err != nil {
				return wrap("ReplaceMFASecrets", err)
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SetRecoveryCodes replaces the user's recovery codes, used or not, by
// hashes, created at now, in one transaction (InTx's, or one of its own)
// with the user's row locked. A hash given twice is stored once. It returns
// usher.ErrNotFound if there is no such user.
func (s *Store) SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, now time.Time) error {
	for _, h := range hashes {
		if len(h) == 0 {
			return errors.New("sqlstore: SetRecoveryCodes: an empty code hash")
		}
	}
	return s.inTx(ctx, func(tx *Store) error {
		if err := tx.lockUser(ctx, userID); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, s.d.q[qDeleteRecoveryCodes], userID); err != nil {
			return wrap("SetRecoveryCodes", err)
		}
		for _, h := range hashes {
			if _, err := tx.tx.ExecContext(ctx, s.d.q[qInsertRecoveryCode], userID, h, s.d.time(now)); err != nil {
				return wrap("SetRecoveryCodes", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks the user's unused code with this hash as used at
// now, in one statement, so that of two concurrent uses exactly one
// succeeds. It returns usher.ErrNotFound if the user has no such unused
// code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) error {
	if len(hash) == 0 {
		return usher.ErrNotFound
	}
	res, err := s.writer().ExecContext(ctx, s.d.q[qUseRecoveryCode], s.d.time(now), userID, hash)
	if err != nil {
		return wrap("UseRecoveryCode", err)
	}
	return affected(res, "UseRecoveryCode")
}

// CountRecoveryCodes returns how many unused recovery codes the user has (0
// for an unknown user).
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.reader().QueryRowContext(ctx, s.d.q[qCountRecoveryCodes], userID).Scan(&n); err != nil {
		return 0, wrap("CountRecoveryCodes", err)
	}
	return n, nil
}

// FindToken returns the token of kind with this hash if it is unused and
// expires after now, without using it (a remembered device's token is shown
// many times). Any other case is usher.ErrNotFound.
func (s *Store) FindToken(ctx context.Context, hash []byte, kind string, now time.Time) (*usher.Token, error) {
	if len(hash) == 0 {
		return nil, usher.ErrNotFound
	}
	t, err := scanToken(s.reader().QueryRowContext(ctx, s.d.q[qFindToken], hash, kind, s.d.time(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("FindToken", err)
	}
	return t, nil
}
