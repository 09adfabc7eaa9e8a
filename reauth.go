package usher

import (
	"context"
	"time"
)

// FreshLogin is how recent a session's proof of who the user is must be
// for a dangerous action (the admin console's delete, role changes,
// password set): a log-in, or a re-authentication in the session, within
// this time.
const FreshLogin = 10 * time.Minute

// reauthHash is the token hash under which a session's re-authentication
// is kept: it names the session without being its token.
func reauthHash(sessionID string) []byte { return hashToken("reauth\x00" + sessionID) }

// Reauthenticate records that the user of sess proved again who they are:
// with their password, or, when f is not nil, with a second factor (a code
// from their app, a recovery code) — for users who have one. It returns
// ErrAuthenticationFailed (counted as a failed log-in, so it can lock the
// account) or ErrTooManyPasswordFailures. A fresh re-authentication
// replaces the user's earlier ones, of this and their other sessions.
func (s *Service) Reauthenticate(ctx context.Context, sess *Session, password string, f *SecondFactor, c Client) error {
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	if f != nil {
		if s.locked(ctx, u) {
			return ErrTooManyPasswordFailures
		}
		methods, err := s.store.ListMFAMethods(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(methods) == 0 || s.verifyFactor(ctx, u, methods, *f, c) != "" {
			return s.passwordFailed(ctx, u, c, FailWrongSecondFactor)
		}
	} else {
		if password == "" {
			return &ValidationError{Fields: map[string]string{"password": MsgRequired}}
		}
		if err := s.reauthenticate(ctx, u, password, c); err != nil {
			return err
		}
	}
	now := s.now()
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		if _, err := tx.DeleteTokens(ctx, u.ID, tokenReauth); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &Token{Hash: reauthHash(sess.ID), Kind: tokenReauth, UserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(FreshLogin)})
	})
}

// FreshSession reports whether the user of sess proved who they are
// within FreshLogin: the session's log-in (sess.CreatedAt) or a later
// Reauthenticate in it. A session made by changing the password counts as
// a log-in: the old password was given.
func (s *Service) FreshSession(ctx context.Context, sess *Session) (bool, error) {
	if sess == nil {
		return false, nil
	}
	now := s.now()
	if !sess.CreatedAt.IsZero() && now.Sub(sess.CreatedAt) < FreshLogin {
		return true, nil
	}
	t, err := s.store.FindToken(ctx, reauthHash(sess.ID), tokenReauth, now)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.UserID == sess.UserID && now.Sub(t.CreatedAt) < FreshLogin, nil
}
