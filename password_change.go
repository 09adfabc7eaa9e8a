package usher

import "context"

// ChangePassword sets a new password for the user of sess (Anvil's
// reset_password(old, new)). The old password is required, except in a
// session that may only change the password (ErrPasswordResetRequested),
// whose user has just proved it at log-in. A wrong old password counts as a
// failure towards the lock-out. The user's other sessions end; a
// restricted session is replaced by a normal one, returned (else the
// returned Session is nil and sess goes on).
//
// It returns ErrAuthenticationFailed, ErrTooManyPasswordFailures, a
// *ValidationError or a *PasswordError.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, oldPassword, newPassword string, c Client) (*Session, error) {
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	var v ValidationError
	if oldPassword == "" && !sess.MustChangePassword {
		v.add("old_password", MsgRequired)
	}
	if newPassword == "" {
		v.add("new_password", MsgRequired)
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	if !sess.MustChangePassword {
		if err := s.reauthenticate(ctx, u, oldPassword, c); err != nil {
			return nil, err
		}
	}
	if err := s.policy.Check(newPassword, u.Email, u.Username); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	var fresh *Session
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if err := s.setPasswordHash(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		keep := sess.ID
		if sess.MustChangePassword {
			u.PasswordResetRequired = false
			var err error
			if fresh, err = s.completeLogin(ctx, loginRequest{kind: loginNewPassword, user: u, client: c, tx: tx}); err != nil {
				return err
			}
			keep = fresh.ID
		}
		if _, err := tx.DeleteUserSessions(ctx, u.ID, keep); err != nil {
			return err
		}
		if err := s.notifyPasswordChanged(ctx, tx, u); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventPasswordChanged, c, "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.basic.dropUser(u.ID)
	return fresh, nil
}

// reauthenticate checks the password of a logged-in user before a
// sensitive change (new password, username, second factor): a locked
// account is refused, and a wrong password counts towards the lock-out.
// It returns nil, ErrAuthenticationFailed or ErrTooManyPasswordFailures.
func (s *Service) reauthenticate(ctx context.Context, u *User, password string, c Client) error {
	if s.locked(ctx, u) {
		return ErrTooManyPasswordFailures
	}
	ok, _, err := s.verifyPassword(ctx, u, password)
	if err != nil {
		return err
	}
	if !ok {
		return s.passwordFailed(ctx, u, c, FailReauthentication)
	}
	return nil
}

// confirmedByPassword returns the user of sess once password, required,
// proves they are at the keyboard (reauthenticate), as adding a second
// factor demands.
func (s *Service) confirmedByPassword(ctx context.Context, sess *Session, password string, c Client) (*User, error) {
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, &ValidationError{Fields: map[string]string{"password": MsgRequired}}
	}
	if err := s.reauthenticate(ctx, u, password, c); err != nil {
		return nil, err
	}
	return u, nil
}

// setPasswordHash stores a new password hash and clears what a new password
// settles: failures, lock-out and an admin's demand for a new password.
func (s *Service) setPasswordHash(ctx context.Context, st Store, userID, hash string) error {
	now, no := s.now(), false
	return st.UpdateUser(ctx, userID, UserUpdate{
		PasswordHash: &hash, PasswordChangedAt: &now, PasswordResetRequired: &no, ClearFailures: true,
	})
}

// notifyPasswordChanged enqueues the "your password was changed" e-mail,
// unless DisablePasswordChangedEmail.
func (s *Service) notifyPasswordChanged(ctx context.Context, tx Store, u *User) error {
	if s.cfg.DisablePasswordChangedEmail {
		return nil
	}
	return s.enqueue(ctx, tx, MailPasswordChanged, u.Email, u.Locale, mailVars(u, "", 0))
}

// CheckNewPassword returns the *PasswordError the password policy gives
// password, or nil, with the user's own email address and username (when
// known) as words it must not be built on. It changes nothing: a form that
// found another problem first (a retyped password that differs) uses it to
// report every problem at once.
func (s *Service) CheckNewPassword(password string, email, username string) error {
	return s.policy.Check(password, email, username) // (empty ones count for nothing)
}
