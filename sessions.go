package usher

import (
	"context"
	"crypto/sha256"
	"time"
)

// Session is a log-in. The token that proves it is 256 random bits given to
// the client once; the Store keeps only its SHA-256 (TokenHash), so a copy
// of the database cannot be used to log in.
type Session struct {
	ID        string // public handle for listing and revoking; not a secret
	UserID    string
	TokenHash []byte
	// Token is set only on the Session returned by a log-in; it is never
	// stored.
	Token string

	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end: RememberDuration after log-in for a
	// remembered session, SessionLifetime otherwise.
	ExpiresAt time.Time
	// Remember marks a remember-me session (persistent cookie, no idle
	// timeout). Other sessions also end after IdleTimeout without use.
	Remember  bool
	IP        string
	UserAgent string
	// MustChangePassword marks a session that may only set a new password
	// (an administrator required it, see ErrPasswordResetRequested).
	MustChangePassword bool
	// DeviceToken is set only on the Session of a log-in that asked to
	// remember the device for the second factor: the client keeps it and
	// sends it with later log-ins. It is never stored.
	DeviceToken string
}

// Authenticate returns the session a token proves and its user: the check
// on every authenticated request (cookie or Authorization: Bearer). It
// returns ErrAuthenticationFailed for an unknown, expired or idle session or
// a disabled user, and the session and user with ErrPasswordResetRequested
// for a session that may only set a new password. The User's
// PasswordHash is always empty: the session check never hands it out.
//
// The token is looked up by its SHA-256: the database never holds a usable
// token, and since an attacker cannot choose hash prefixes, the index
// lookup leaks nothing useful through timing.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *User, error) {
	if len(token) != tokenLen {
		return nil, nil, ErrAuthenticationFailed
	}
	h := sha256.Sum256([]byte(token))
	now := s.now()
	sess, u, ok := s.cache.get(h, now)
	if !ok {
		gen := s.cache.gen.Load()
		var err error
		sess, u, err = s.store.SessionUser(ctx, h[:])
		if isNotFound(err) {
			return nil, nil, ErrAuthenticationFailed
		}
		if err != nil {
			return nil, nil, err
		}
		s.cache.put(h, sess, u, now, gen)
		u.PasswordHash = "" // never handed out, cached or not
	}
	if !now.Before(sess.ExpiresAt) || !u.Enabled {
		return nil, nil, ErrAuthenticationFailed
	}
	last := s.lastSeen(sess)
	if !sess.Remember && now.Sub(last) > s.cfg.IdleTimeout {
		return nil, nil, ErrAuthenticationFailed
	}
	if now.Sub(last) >= touchEvery {
		s.touchMu.Lock()
		s.touched[sess.ID] = now
		s.touchMu.Unlock()
		sess.LastSeenAt = now
		s.cache.touch(h, now)
	}
	if sess.MustChangePassword {
		return sess, u, ErrPasswordResetRequested
	}
	return sess, u, nil
}

// lastSeen returns when sess was last used, counting a time recorded but
// not yet written.
func (s *Service) lastSeen(sess *Session) time.Time {
	s.touchMu.Lock()
	t, ok := s.touched[sess.ID]
	s.touchMu.Unlock()
	if ok && t.After(sess.LastSeenAt) {
		return t
	}
	return sess.LastSeenAt
}

// flushTouches writes the recorded last-seen times in one transaction. If
// the write fails they are kept for the next try; losing them (a crash)
// only makes an idle session end a little early.
func (s *Service) flushTouches(ctx context.Context) {
	s.touchMu.Lock()
	if len(s.touched) == 0 {
		s.touchMu.Unlock()
		return
	}
	batch := s.touched
	s.touched = map[string]time.Time{}
	s.touchMu.Unlock()
	if err := s.store.TouchSessions(ctx, batch); err != nil {
		s.log.Error("usher: writing session last-seen times", "err", err)
		s.touchMu.Lock()
		for id, t := range batch {
			if cur, ok := s.touched[id]; !ok || t.After(cur) {
				s.touched[id] = t
			}
		}
		s.touchMu.Unlock()
	}
}

// FlushSessionTouches writes pending last-seen times now instead of at the
// next tick; tests and graceful shutdown use it.
func (s *Service) FlushSessionTouches(ctx context.Context) { s.flushTouches(ctx) }

// Logout ends the session the token proves (Anvil's logout). An unknown
// token is not an error: the outcome, no session, is the same.
func (s *Service) Logout(ctx context.Context, token string, c Client) error {
	if len(token) != tokenLen {
		return nil
	}
	sess, _, err := s.store.SessionUser(ctx, hashToken(token))
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteSession(ctx, sess.UserID, sess.ID); err != nil && !isNotFound(err) {
		return err
	}
	s.event(ctx, s.store, sess.UserID, EventLogout, c, "")
	return nil
}

// ListSessions returns the user's live sessions, newest first, with
// last-seen times not yet written filled in.
func (s *Service) ListSessions(ctx context.Context, userID string) ([]*Session, error) {
	list, err := s.store.ListSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := list[:0]
	for _, sess := range list {
		sess.LastSeenAt = s.lastSeen(sess)
		if now.Before(sess.ExpiresAt) && (sess.Remember || now.Sub(sess.LastSeenAt) <= s.cfg.IdleTimeout) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession ends one of the user's sessions. It returns ErrNotFound if
// the user has no such session.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string, c Client) error {
	if err := s.store.DeleteSession(ctx, userID, sessionID); err != nil {
		return err
	}
	s.event(ctx, s.store, userID, EventSessionRevoked, c, sessionID)
	return nil
}

// RevokeOtherSessions ends all the user's sessions but keepID ("sign out
// other devices") and returns how many it ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, keepID string, c Client) (int, error) {
	n, err := s.store.DeleteUserSessions(ctx, userID, keepID)
	if err != nil {
		return 0, err
	}
	detail := "others"
	if keepID == "" {
		detail = "all"
	}
	s.event(ctx, s.store, userID, EventSessionRevoked, c, detail)
	return n, nil
}
