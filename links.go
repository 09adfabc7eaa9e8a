package usher

import (
	"context"
	"errors"
	"time"
)

// newLinkToken stores a one-time token of kind for u in st and returns the
// link that carries it, s.link(path + "/" + token); path is one of the
// Path constants.
func (s *Service) newLinkToken(ctx context.Context, st Store, kind, path string, u *User, ttl time.Duration) (string, error) {
	tok, hash := newToken()
	now := s.now()
	if err := st.CreateToken(ctx, &Token{Hash: hash, Kind: kind, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return s.link(path + "/" + tok), nil
}

// mailLink creates a one-time token of kind for u in tx and enqueues the
// e-mail of mailKind that carries its link (to u.Email, in u.Locale).
func (s *Service) mailLink(ctx context.Context, tx Store, u *User, kind, path, mailKind string, ttl time.Duration) error {
	link, err := s.newLinkToken(ctx, tx, kind, path, u, ttl)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, mailKind, u.Email, u.Locale, mailVars(u, link, ttl))
}

// mailVars are the template variables every e-mail about u has.
func mailVars(u *User, link string, ttl time.Duration) map[string]string {
	v := map[string]string{"email": u.Email, "username": u.Username}
	if link != "" {
		v["link"] = link
		v["expires_in"] = humanDuration(ttl)
	}
	return v
}

// humanDuration writes d as "15 minutes", "1 hour", "2 days".
func humanDuration(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return itoa(n) + " " + one + "s"
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour")
	default:
		return unit(int(d/time.Minute), "minute")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// enqueueSignupMail adds the e-mail a new account gets: the confirmation
// link when confirmation is on, else the welcome message (unless off).
func (s *Service) enqueueSignupMail(ctx context.Context, tx Store, u *User) error {
	if s.cfg.EnableConfirmEmail && !u.EmailConfirmed() {
		return s.mailLink(ctx, tx, u, TokenConfirmEmail, PathConfirmEmail, MailConfirmEmail, s.cfg.ConfirmEmailExpiration)
	}
	if s.cfg.DisableRegisteredEmail {
		return nil
	}
	return s.enqueue(ctx, tx, MailRegistered, u.Email, u.Locale, mailVars(u, "", 0))
}

// mailRequest is the request path of the "send me a link" asks: check the
// address, throttle by IP, and record the ask in the outbox. The same work
// whether or not an account has the address — the lookup, and what it
// leads to, is the outbox worker's (answerMailRequest) — so that neither
// the answer nor its timing tells whether an account exists. The ask is
// in the database before the answer: a process that dies leaves it to
// another. ask is the e-mail wanted: MailResetPassword, MailLoginLink,
// MailConfirmEmail or MailMFAReset.
func (s *Service) mailRequest(ctx context.Context, email, ask string, c Client) error {
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	if err := s.checkRate(ctx, "mail", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return err
	}
	return s.enqueue(ctx, s.store, outboxMailRequest, email, "",
		map[string]string{"ask": ask, "ip": c.IP, "user_agent": truncate(c.UserAgent, 256)})
}

// answerMailRequest is the outbox worker's half of a recorded ask: it
// looks the address up and, when an account should get the e-mail,
// creates the link and enqueues it, in one transaction with marking the
// ask done, so that each ask is answered once.
func (s *Service) answerMailRequest(ctx context.Context, m *Message) error {
	c := Client{IP: m.Vars["ip"], UserAgent: m.Vars["user_agent"]}
	return s.inTx(ctx, func(ctx context.Context, tx Store) error {
		u, err := tx.UserByEmail(ctx, m.To)
		if err != nil && !isNotFound(err) {
			return err
		}
		if u != nil {
			if err := s.mailAsked(ctx, tx, m.Vars["ask"], u, c); err != nil {
				return err
			}
		}
		return tx.MarkMessageSent(ctx, m.ID, s.now())
	})
}

// mailAsked sends u the e-mail of kind ask, if u should get it: a
// confirmation link only to an unconfirmed address, a login link or an
// MFA-reset link only to an enabled account while the feature is on.
func (s *Service) mailAsked(ctx context.Context, tx Store, ask string, u *User, c Client) error {
	switch ask {
	case MailResetPassword:
		// A new link voids the older ones.
		if _, err := tx.DeleteTokens(ctx, u.ID, TokenResetPassword); err != nil {
			return err
		}
		s.event(ctx, tx, u.ID, EventForgotPassword, c, "")
		return s.mailLink(ctx, tx, u, TokenResetPassword, PathResetPassword, MailResetPassword, s.cfg.ResetPasswordExpiration)
	case MailLoginLink:
		if !s.cfg.EnableLoginLink || !u.Enabled {
			return nil
		}
		return s.mailLink(ctx, tx, u, TokenLoginLink, PathLoginLink, MailLoginLink, s.cfg.LoginLinkExpiration)
	case MailConfirmEmail:
		if u.EmailConfirmed() {
			return nil
		}
		return s.mailLink(ctx, tx, u, TokenConfirmEmail, PathConfirmEmail, MailConfirmEmail, s.cfg.ConfirmEmailExpiration)
	case MailMFAReset:
		if !s.cfg.AllowMFAEmailReset || !s.mfaReady() || !u.Enabled {
			return nil
		}
		return s.mailLink(ctx, tx, u, TokenMFAReset, PathMFAReset, MailMFAReset, s.cfg.MFAResetExpiration)
	}
	s.log.Error("usher: unknown email request; dropped", "ask", ask)
	return nil
}

// SendConfirmEmail sends a new confirmation link (Flask-User's "resend
// confirmation e-mail") if an unconfirmed account has the address. The
// answer is the same either way: nil, a *ValidationError or a
// *RateLimitError; the outbox worker looks the address up and sends.
func (s *Service) SendConfirmEmail(ctx context.Context, email string, c Client) error {
	return s.mailRequest(ctx, email, MailConfirmEmail, c)
}

// useToken consumes a token in tx and returns it with its user. A token
// that is unknown, used, expired, of another kind, or sent to an address
// the user no longer has is ErrInvalidToken.
func (s *Service) useToken(ctx context.Context, tx Store, token, kind string) (*Token, *User, error) {
	if len(token) != tokenLen {
		return nil, nil, ErrInvalidToken
	}
	t, err := tx.UseToken(ctx, hashToken(token), kind, s.now())
	if isNotFound(err) {
		return nil, nil, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := s.tokenUser(ctx, tx, t)
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}

// tokenUser returns the user a token was sent to, or ErrInvalidToken when
// the account is gone or no longer has the address the link was sent to.
func (s *Service) tokenUser(ctx context.Context, st Store, t *Token) (*User, error) {
	u, err := st.UserByID(ctx, t.UserID)
	if isNotFound(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if FoldEmail(u.Email) != FoldEmail(t.Email) {
		// A link sent to a secondary address: still one of the user's?
		if _, err := userAddress(ctx, st, u.ID, t.Email); isNotFound(err) {
			return nil, ErrInvalidToken
		} else if err != nil {
			return nil, err
		}
	}
	return u, nil
}

// CheckLink reports whether the token of an e-mailed link of kind
// (TokenConfirmEmail, TokenResetPassword, TokenLoginLink, TokenInvitation
// or TokenMFAReset) would still work, so that the page the link opens can
// say at once that it is dead instead of after the user filled in its
// form. It changes nothing: the link is neither used up nor extended.
//
// It is not throttled, unlike using a link: a token has 256 random bits,
// so checking cannot guess one, and the check is a few indexed reads.
//
// It returns nil, ErrInvalidToken (unknown, used, expired, replaced by a
// newer link, of another kind, or sent to an address the account no
// longer has) or ErrNotFound (the link's flow is turned off).
func (s *Service) CheckLink(ctx context.Context, kind, token string) error {
	switch kind {
	case TokenConfirmEmail, TokenResetPassword, TokenInvitation:
	case TokenLoginLink:
		if !s.cfg.EnableLoginLink {
			return ErrNotFound
		}
	case TokenMFAReset:
		if !s.cfg.AllowMFAEmailReset || !s.mfaReady() {
			return ErrNotFound
		}
	default:
		return ErrInvalidToken
	}
	if len(token) != tokenLen {
		return ErrInvalidToken
	}
	t, err := s.store.FindToken(ctx, hashToken(token), kind, s.now())
	if isNotFound(err) {
		return ErrInvalidToken
	}
	if err != nil || kind == TokenInvitation {
		return err // an invitation may be for someone without an account
	}
	_, err = s.tokenUser(ctx, s.store, t)
	return err
}

// ConfirmEmail confirms the address a confirmation link was sent to. With
// AutoLoginAfterConfirm (and an enabled account) it also logs the user in:
// the Session is then non-nil. Each link works once. It returns
// ErrInvalidToken or a *RateLimitError; nothing changes on error.
func (s *Service) ConfirmEmail(ctx context.Context, token string, c Client) (*User, *Session, error) {
	if err := s.checkRate(ctx, "token", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return nil, nil, err
	}
	var u *User
	var sess *Session
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		var t *Token
		if t, u, err = s.useToken(ctx, tx, token, TokenConfirmEmail); err != nil {
			return err
		}
		if FoldEmail(t.Email) != FoldEmail(u.Email) {
			// A secondary address.
			e, err := userAddress(ctx, tx, u.ID, t.Email)
			if err != nil {
				return err
			}
			if err := tx.ConfirmUserEmail(ctx, u.ID, e.ID, s.now()); err != nil {
				return err
			}
		} else if !u.EmailConfirmed() {
			now := s.now()
			if err := tx.UpdateUser(ctx, u.ID, UserUpdate{EmailConfirmedAt: &now}); err != nil {
				return err
			}
			u.EmailConfirmedAt = now
		}
		if s.cfg.AutoLoginAfterConfirm {
			if sess, err = s.completeLogin(ctx, loginRequest{kind: loginAfterConfirm, user: u, client: c, tx: tx}); err != nil {
				return err
			}
		}
		s.event(ctx, tx, u.ID, EventConfirmedEmail, c, "")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// SendPasswordResetEmail sends a password-reset link (Anvil's
// send_password_reset_email, Flask-User's forgot password) if an account
// has the address. The answer is the same either way: nil, a
// *ValidationError or a *RateLimitError; the outbox worker looks the
// address up and sends. A new link voids the older ones.
func (s *Service) SendPasswordResetEmail(ctx context.Context, email string, c Client) error {
	return s.mailRequest(ctx, email, MailResetPassword, c)
}

// ResetPasswordWithToken sets a new password through a reset link. The
// link proves the address, so it is confirmed too; a lock-out is lifted;
// all the user's sessions end (and with AutoLoginAfterReset a new one
// starts, returned). It returns ErrInvalidToken, a *ValidationError, a
// *PasswordError or a *RateLimitError; on error nothing changes and the
// link still works (a password the policy refuses does not use it up).
func (s *Service) ResetPasswordWithToken(ctx context.Context, token, newPassword string, c Client) (*User, *Session, error) {
	if err := s.checkRate(ctx, "token", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return nil, nil, err
	}
	if newPassword == "" {
		return nil, nil, &ValidationError{Fields: map[string]string{"new_password": MsgRequired}}
	}
	if len(token) != tokenLen {
		return nil, nil, ErrInvalidToken
	}
	if err := s.policy.Check(newPassword); err != nil {
		return nil, nil, err
	}
	hash, err := s.hashPassword(ctx, newPassword)
	if err != nil {
		return nil, nil, err
	}
	var u *User
	var sess *Session
	err = s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if _, u, err = s.useToken(ctx, tx, token, TokenResetPassword); err != nil {
			return err
		}
		if err := s.policy.Check(newPassword, u.Email, u.Username); err != nil {
			return err
		}
		if err := s.setPasswordHash(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		u.PasswordFailures, u.LockedAt, u.PasswordResetRequired = 0, time.Time{}, false
		if !u.EmailConfirmed() {
			now := s.now()
			if err := tx.UpdateUser(ctx, u.ID, UserUpdate{EmailConfirmedAt: &now}); err != nil {
				return err
			}
			u.EmailConfirmedAt = now
		}
		if _, err := tx.DeleteUserSessions(ctx, u.ID, ""); err != nil {
			return err
		}
		if _, err := tx.DeleteTokens(ctx, u.ID, TokenResetPassword); err != nil {
			return err
		}
		if err := s.notifyPasswordChanged(ctx, tx, u); err != nil {
			return err
		}
		if s.cfg.AutoLoginAfterReset {
			if sess, err = s.completeLogin(ctx, loginRequest{kind: loginAfterReset, user: u, client: c, tx: tx}); err != nil {
				return err
			}
		}
		s.event(ctx, tx, u.ID, EventResetPassword, c, "")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.basic.dropUser(u.ID)
	return u, sess, nil
}

// SendLoginLink e-mails a link that logs the user in without a password
// (Anvil's send_token_login_email) if an enabled account has the address.
// It returns ErrNotFound when EnableLoginLink is off; otherwise the same
// answer either way: nil, a *ValidationError or a *RateLimitError; the
// outbox worker looks the address up and sends.
func (s *Service) SendLoginLink(ctx context.Context, email string, c Client) error {
	if !s.cfg.EnableLoginLink {
		return ErrNotFound
	}
	return s.mailRequest(ctx, email, MailLoginLink, c)
}

// LoginWithLink logs in with a login link. The link proves the address,
// which is confirmed if it was not. A user with a second factor must give
// it too (unless deviceToken remembers the device): the link is then used
// up and an *MFARequiredError carries the pending log-in to complete with
// CompleteMFALogin — a login link never skips the second factor. It
// returns ErrNotFound when EnableLoginLink is off, ErrInvalidToken,
// ErrAccountIsNotEnabled (the account was disabled after the link was
// sent) or a *RateLimitError.
func (s *Service) LoginWithLink(ctx context.Context, token string, remember bool, deviceToken string, c Client) (*Session, *User, error) {
	if !s.cfg.EnableLoginLink {
		return nil, nil, ErrNotFound
	}
	if err := s.checkRate(ctx, "token", c.IP, s.cfg.MailRateLimit, time.Hour); err != nil {
		return nil, nil, err
	}
	var u *User
	err := s.inTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if _, u, err = s.useToken(ctx, tx, token, TokenLoginLink); err != nil {
			return err
		}
		if !u.Enabled {
			return ErrAccountIsNotEnabled
		}
		if !u.EmailConfirmed() {
			now := s.now()
			if err := tx.UpdateUser(ctx, u.ID, UserUpdate{EmailConfirmedAt: &now}); err != nil {
				return err
			}
			u.EmailConfirmedAt = now
		}
		s.event(ctx, tx, u.ID, EventLoginLink, c, "")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.completeLogin(ctx, loginRequest{kind: loginLink, user: u, remember: remember, client: c, deviceToken: deviceToken})
	if errors.As(err, new(*MFARequiredError)) {
		return nil, u, err
	}
	return loginAnswer(sess, u, err)
}
