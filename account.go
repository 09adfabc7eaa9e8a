package usher

import (
	"context"
	"time"
)

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

// Invite e-mails an invitation to register (Flask-User's invite_user).
// invitedBy is the ID of the inviting user ("" for server code, which may
// always invite); a user may invite only when Config.MayInvite says so.
// The link lets its holder register with that address only, which counts
// as confirmed. It returns ErrForbidden (the user may not invite), a
// *ValidationError, ErrUserExists (someone has the address already) or a
// *RateLimitError.
func (s *Service) Invite(ctx context.Context, email, invitedBy string, c Client) error {
	inviter := ""
	if invitedBy != "" {
		u, err := s.store.UserByID(ctx, invitedBy)
		if isNotFound(err) {
			return ErrForbidden
		} else if err != nil {
			return err
		}
		if !s.cfg.MayInvite(u) {
			return ErrForbidden
		}
		inviter = u.Email
	}
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	if err := s.checkRate(ctx, "mail", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return err
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return ErrUserExists
	} else if !isNotFound(err) {
		return err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		tok, hash := newToken()
		now := s.now()
		ttl := s.cfg.InvitationExpiration
		if err := tx.CreateToken(ctx, &Token{Hash: hash, Kind: TokenInvitation, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
			return err
		}
		vars := map[string]string{"email": email, "link": s.link(PathRegister + "?token=" + tok),
			"expires_in": humanDuration(ttl), "inviter": inviter}
		s.event(ctx, tx, invitedBy, EventInvited, c, email)
		return s.enqueue(ctx, tx, MailInvitation, email, "", vars)
	})
	return err
}

// useInvitation consumes an invitation token in tx and returns the
// address it was sent to, or ErrInvalidToken.
func (s *Service) useInvitation(ctx context.Context, tx TokenStore, token string) (string, error) {
	if len(token) != tokenLen {
		return "", ErrInvalidToken
	}
	t, err := tx.UseToken(ctx, hashToken(token), TokenInvitation, s.now())
	if isNotFound(err) {
		return "", ErrInvalidToken
	}
	if err != nil {
		return "", err
	}
	return t.Email, nil
}
