package usher

import "context"

// ChangeUsername sets a new username for the user of sess (Flask-User's
// change username). The password is required and a wrong one counts
// towards the lock-out. The user is told by e-mail unless
// DisableUsernameChangedEmail. It returns ErrNotFound when usernames are
// off, a *ValidationError, ErrAuthenticationFailed,
// ErrTooManyPasswordFailures or ErrUserExists.
func (s *Service) ChangeUsername(ctx context.Context, sess *Session, newUsername, password string, c Client) (*User, error) {
	if !s.cfg.EnableUsername {
		return nil, ErrNotFound
	}
	newUsername, msg := normalizeUsername(newUsername)
	var v ValidationError
	if msg != "" {
		v.add("username", msg)
	}
	if password == "" {
		v.add("password", MsgRequired)
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if err := s.reauthenticate(ctx, u, password, c); err != nil {
		return nil, err
	}
	old := u.Username
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.UpdateUser(ctx, u.ID, UserUpdate{Username: &newUsername}); err != nil {
			return err
		}
		u.Username = newUsername
		if !s.cfg.DisableUsernameChangedEmail {
			vars := mailVars(u, "", 0)
			vars["old_username"] = old
			if err := s.enqueue(ctx, tx, MailUsernameChanged, u.Email, u.Locale, vars); err != nil {
				return err
			}
		}
		s.event(ctx, tx, u.ID, EventUsernameChanged, c, old+" -> "+newUsername)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
