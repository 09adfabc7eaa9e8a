package usher

import (
	"context"
	"strings"
)

// User returns the user with the given ID, or ErrNotFound.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	return s.store.UserByID(ctx, id)
}

// FindUser returns the user with the given ID, e-mail address or username
// (tried in that order), or ErrNotFound. It is for server code and admins;
// nothing a visitor sees depends on it.
func (s *Service) FindUser(ctx context.Context, ref string) (*User, error) {
	ref = strings.TrimSpace(ref)
	if u, err := s.store.UserByID(ctx, ref); !isNotFound(err) {
		return u, err
	}
	if strings.Contains(ref, "@") {
		return s.store.UserByEmail(ctx, ref)
	}
	return s.store.UserByUsername(ctx, ref)
}

// ListUsers returns users matching q and how many match in all (ignoring
// After, Offset and Limit). A Field that is not a declared profile field,
// an unknown Sort or a bad After cursor gives a *ValidationError.
func (s *Service) ListUsers(ctx context.Context, q UserQuery) ([]*User, int, error) {
	if err := q.check(&s.cfg); err != nil {
		return nil, 0, err
	}
	n, err := s.store.CountUsers(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.store.ListUsers(ctx, q)
	return list, n, err
}

// ForceLogin starts a session for u without any check (Anvil's
// force_login): not the password, not enabled, not confirmation, not a
// second factor. It is for server code that has authenticated the user its
// own way. It clears the failure count, as a log-in does.
func (s *Service) ForceLogin(ctx context.Context, userID string, remember bool, c Client) (*Session, error) {
	ctx = asAdmin(ctx)
	var sess *Session
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		sess, err = s.completeLogin(ctx, loginRequest{kind: loginForced, user: u, remember: remember, client: c, tx: tx})
		return err
	})
	return sess, err
}

// EnableUser lets a disabled (or awaiting approval) user log in again.
func (s *Service) EnableUser(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	yes := true
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.UpdateUser(ctx, id, UserUpdate{Enabled: &yes}); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventEnabled, Client{}, "")
		return nil
	})
}

// DisableUser stops a user from logging in and ends all their sessions, in
// one transaction.
func (s *Service) DisableUser(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	no := false
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.UpdateUser(ctx, id, UserUpdate{Enabled: &no}); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(ctx, id, ""); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventDisabled, Client{}, "")
		return nil
	})
	s.basic.dropUser(id)
	return err
}

// UnlockUser lifts a lock-out: the failure count goes back to zero.
func (s *Service) UnlockUser(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.UpdateUser(ctx, id, UserUpdate{ClearFailures: true}); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventUnlocked, Client{}, "")
		return nil
	})
}

// SetPassword sets a user's password as an admin: the policy applies, the
// lock-out is lifted and all the user's sessions end. It returns a
// *PasswordError or ErrNotFound.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	ctx = asAdmin(ctx)
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.policy.Check(password, u.Email, u.Username); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := s.setPasswordHash(ctx, tx, id, hash); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(ctx, id, ""); err != nil {
			return err
		}
		if err := s.notifyPasswordChanged(ctx, tx, u); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventPasswordChanged, Client{}, "set by admin")
		return nil
	})
	s.basic.dropUser(id)
	return err
}

// RequirePasswordReset makes the user set a new password at their next
// log-in (which then gives ErrPasswordResetRequested) and ends their
// sessions.
func (s *Service) RequirePasswordReset(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	yes := true
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.UpdateUser(ctx, id, UserUpdate{PasswordResetRequired: &yes}); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(ctx, id, ""); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventResetRequired, Client{}, "")
		return nil
	})
	s.basic.dropUser(id)
	return err
}

// DeleteUser removes a user with their sessions and roles.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.DeleteUser(ctx, id); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventDeleted, Client{}, "")
		return nil
	})
	s.basic.dropUser(id)
	return err
}

// UpdateProfile changes some of the user's custom profile fields (those in
// values; an empty value clears a field). It returns a *ValidationError.
func (s *Service) UpdateProfile(ctx context.Context, id string, values map[string]string) (*User, error) {
	ctx = asAdmin(ctx)
	var v ValidationError
	clean := s.checkProfile(values, &v, true)
	if err := v.orNil(); err != nil {
		return nil, err
	}
	var u *User
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return err
		}
		p := map[string]string{}
		for k, val := range u.Profile {
			p[k] = val
		}
		for k := range values {
			delete(p, k)
		}
		for k, val := range clean {
			p[k] = val
		}
		u.Profile = p
		if err := tx.UpdateUser(ctx, id, UserUpdate{Profile: p}); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventProfileUpdated, Client{}, "")
		return nil
	})
	return u, err
}

// AddRole gives a user a role. It returns a *ValidationError for a name
// that cannot be a role, or ErrNotFound.
func (s *Service) AddRole(ctx context.Context, id, role string) error {
	return s.changeRole(ctx, id, role, true)
}

// RemoveRole takes a role from a user.
func (s *Service) RemoveRole(ctx context.Context, id, role string) error {
	return s.changeRole(ctx, id, role, false)
}

func (s *Service) changeRole(ctx context.Context, id, role string, add bool) error {
	ctx = asAdmin(ctx)
	if !validRole(role) {
		return &ValidationError{Fields: map[string]string{"role": MsgInvalidFormat}}
	}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if _, err := tx.UserByID(ctx, id); err != nil {
			return err
		}
		typ := EventRoleAdded
		var err error
		if add {
			err = tx.AddRole(ctx, id, role)
		} else {
			typ = EventRoleRemoved
			err = tx.RemoveRole(ctx, id, role)
		}
		if err != nil {
			return err
		}
		s.event(ctx, tx, id, typ, Client{}, role)
		return nil
	})
}

// ListRoles returns every role in use with how many users have it.
func (s *Service) ListRoles(ctx context.Context) ([]Role, error) { return s.store.ListRoles(ctx) }

// Events returns a user's audit log ("" = everyone's), newest first
// (AuditLog filters and pages).
func (s *Service) Events(ctx context.Context, userID string, limit int) ([]*Event, error) {
	return s.store.ListEvents(ctx, userID, limit)
}

// ConfirmUserEmail marks the user's primary address confirmed, as an
// admin (no link). ErrUserExists if another user has confirmed the same
// address meanwhile; nothing happens if it is confirmed already.
func (s *Service) ConfirmUserEmail(ctx context.Context, id string) error {
	ctx = asAdmin(ctx)
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByID(ctx, id)
		if err != nil || u.EmailConfirmed() {
			return err
		}
		now := s.now()
		if err := tx.UpdateUser(ctx, id, UserUpdate{EmailConfirmedAt: &now}); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventConfirmedEmail, Client{}, "by admin")
		return nil
	})
}

// ResetUserMFA removes all the user's second factors and recovery codes,
// as an admin (a user who lost their phone), ends their sessions (a lost
// phone may be in someone else's hands), and returns how many factors
// went. The user's next log-in needs only the password (or, with
// Config.RequireMFA, sets up a new factor). An unknown user is
// ErrNotFound.
func (s *Service) ResetUserMFA(ctx context.Context, id string) (int, error) {
	ctx = asAdmin(ctx)
	n := 0
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if _, err := tx.UserByID(ctx, id); err != nil {
			return err
		}
		var err error
		if n, err = s.clearMFA(ctx, tx, id); err != nil {
			return err
		}
		s.event(ctx, tx, id, EventMFAReset, Client{}, "by admin")
		return nil
	})
	s.basic.dropUser(id)
	return n, err
}
