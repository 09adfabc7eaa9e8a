package usher

import (
	"context"
	"time"
)

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
