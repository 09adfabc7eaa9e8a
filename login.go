package usher

import (
	"context"
	"strings"
	"time"
)

// ErrAccountNotFound is returned instead of ErrAuthenticationFailed for an
// unknown account, only when Config.ShowAccountDoesNotExist is set.
var ErrAccountNotFound error = &kind{"usher: no such account", ErrAuthenticationFailed}

// Credentials identify a user by e-mail address, username, or either (Login,
// which is taken as an e-mail address when it contains '@'), as
// Config.LoginWith allows.
type Credentials struct {
	Email    string
	Username string
	Login    string
	Password string
	Remember bool
	// MFA is the second factor, for a user who has one (Anvil's mfa
	// argument). Without it such a user gets an *MFARequiredError.
	MFA *SecondFactor
	// RememberDevice asks, with a right second factor, for a
	// Session.DeviceToken that spares this device the second factor for
	// a while; DeviceToken is such a token from an earlier log-in.
	RememberDevice bool
	DeviceToken    string
}

// LoginWithEmail logs a user in with e-mail address and password (Anvil's
// login_with_email). See Login for the errors.
func (s *Service) LoginWithEmail(ctx context.Context, email, password string, remember bool, c Client) (*Session, *User, error) {
	return s.Login(ctx, Credentials{Email: email, Password: password, Remember: remember}, c)
}

// LoginWithUsername logs a user in with username and password (Flask-User).
// See Login for the errors.
func (s *Service) LoginWithUsername(ctx context.Context, username, password string, remember bool, c Client) (*Session, *User, error) {
	return s.Login(ctx, Credentials{Username: username, Password: password, Remember: remember}, c)
}

// Login checks credentials and starts a new session. The checks run in
// this order (docs/design.md):
//
//  1. per-IP throttle → *RateLimitError;
//  2. missing fields → *ValidationError;
//  3. lock-out → ErrTooManyPasswordFailures, whatever the password;
//  4. the password (a dummy hash for an unknown user, so that both take
//     the same time) → ErrAuthenticationFailed; the failure is counted and
//     the one that reaches MaxPasswordFailures gives
//     ErrTooManyPasswordFailures;
//  5. only after a correct password: ErrAccountIsNotEnabled, then
//     ErrEmailNotConfirmed;
//  6. the second factor, if the user has one (unless the device is
//     remembered): missing → an *MFARequiredError carrying a pending
//     log-in (CompleteMFALogin); wrong → counted as a failure, then the
//     same (or ErrTooManyPasswordFailures);
//  7. an admin's demand for a new password → the Session (which may only
//     change the password) with ErrPasswordResetRequested.
//
// On success the failure count is cleared and a hash in an old format is
// replaced by one in the current format.
func (s *Service) Login(ctx context.Context, cr Credentials, c Client) (*Session, *User, error) {
	u, rehash, err := s.checkPassword(ctx, cr, c)
	if err != nil {
		return nil, nil, err
	}
	verified, err := s.secondFactor(ctx, s.store, u, cr.MFA, cr.DeviceToken, c)
	if err != nil {
		return nil, nil, err
	}
	return s.logIn(ctx, u, cr.Remember, verified && cr.RememberDevice, c, "password", func(tx Store) error {
		if rehash == "" {
			return nil
		}
		u.PasswordHash = rehash
		return tx.RecordLogin(ctx, u.ID, s.now(), rehash)
	})
}

// lookup finds the user that cr names, as Config.LoginWith allows, and
// returns it with the identifier it was looked up by, folded as the Store
// compares it ("email:…" or "username:…"). A missing identifier is a
// *ValidationError; an unknown user is a nil *User.
func (s *Service) lookup(ctx context.Context, cr Credentials) (*User, string, error) {
	email, username := strings.TrimSpace(cr.Email), strings.TrimSpace(cr.Username)
	mode := s.cfg.LoginWith
	if l := strings.TrimSpace(cr.Login); l != "" && email == "" && username == "" {
		switch {
		case mode == "email" || (mode == "either" && strings.Contains(l, "@")):
			email = l
		default:
			username = l
		}
	}
	var v ValidationError
	switch {
	case email != "" && mode != "username":
	case username != "" && mode != "email":
	case mode == "email":
		v.add("email", MsgRequired)
	case mode == "username":
		v.add("username", MsgRequired)
	default:
		v.add("login", MsgRequired)
	}
	if cr.Password == "" {
		v.add("password", MsgRequired)
	}
	if err := v.orNil(); err != nil {
		return nil, "", err
	}
	var u *User
	var id string
	var err error
	if email != "" && mode != "username" {
		u, err = s.store.UserByEmail(ctx, email)
		id = "email:" + FoldEmail(email)
	} else {
		u, err = s.store.UserByUsername(ctx, username)
		id = "username:" + FoldUsername(username)
	}
	if isNotFound(err) {
		return nil, id, nil
	}
	return u, id, err
}

// checkPassword runs checks 1 to 5 of Login and returns the user and, if
// the stored hash is in an old format, its replacement.
func (s *Service) checkPassword(ctx context.Context, cr Credentials, c Client) (*User, string, error) {
	if err := s.checkRate(ctx, "login", c.IP, s.cfg.LoginRateLimit, time.Minute); err != nil {
		return nil, "", err
	}
	u, id, err := s.lookup(ctx, cr)
	if err != nil {
		return nil, "", err
	}
	// An unknown identifier has a lock-out of its own (unless unknown
	// accounts are announced anyway), so that the answers tell nothing.
	var unknown *unknownFailures
	if u == nil && !s.cfg.ShowAccountDoesNotExist {
		if unknown, err = s.unknownFailures(ctx, id); err != nil {
			return nil, "", err
		}
	}
	if (u != nil && s.locked(ctx, u)) || (unknown != nil && unknown.locked) {
		// No hash: the answer does not depend on the password, and a
		// locked account under attack should cost nothing.
		s.event(ctx, s.store, userID(u), EventLoginFailed, c, "locked")
		return nil, "", ErrTooManyPasswordFailures
	}
	ok, needRehash, err := s.verifyPassword(ctx, u, cr.Password)
	if err != nil {
		return nil, "", err
	}
	if u == nil {
		s.event(ctx, s.store, "", EventLoginFailed, c, "unknown account")
		if s.cfg.ShowAccountDoesNotExist {
			return nil, "", ErrAccountNotFound
		}
		return nil, "", s.unknownFailed(ctx, unknown)
	}
	if !ok {
		return nil, "", s.passwordFailed(ctx, u, c)
	}
	if !u.Enabled {
		return nil, "", ErrAccountIsNotEnabled
	}
	if !s.mayLogInUnconfirmed(u) {
		return nil, "", ErrEmailNotConfirmed
	}
	rehash := ""
	if needRehash {
		if rehash, err = s.hashPassword(ctx, cr.Password); err != nil {
			s.log.Error("usher: rehashing password", "user", u.ID, "err", err)
			rehash = ""
		}
	}
	return u, rehash, nil
}

// locked reports whether password log-in is locked for u. A lock that has
// outlived LockoutDuration is lifted here, so the user starts again with
// a full allowance of failures.
func (s *Service) locked(ctx context.Context, u *User) bool {
	switch s.lockState(u.PasswordFailures, u.LockedAt) {
	case unlocked:
		return false
	case lockedOut:
		return true
	}
	if err := s.store.UpdateUser(ctx, u.ID, UserUpdate{ClearFailures: true}); err != nil {
		s.log.Error("usher: lifting expired lock-out", "user", u.ID, "err", err)
	}
	u.PasswordFailures, u.LockedAt = 0, time.Time{}
	return false
}

// The states of a failure count: below the limit, at it and locked, or at
// it with the lock run out.
const (
	unlocked = iota
	lockedOut
	lockExpired
)

// lockState tells what a count of consecutive failures means now, the
// last lock having been set at lockedAt: one rule for accounts and for
// unknown identifiers.
func (s *Service) lockState(failures int, lockedAt time.Time) int {
	max := s.cfg.MaxPasswordFailures
	if max < 0 || failures < max {
		return unlocked
	}
	d := s.cfg.LockoutDuration
	if d < 0 || lockedAt.IsZero() || s.now().Before(lockedAt.Add(d)) {
		return lockedOut
	}
	return lockExpired
}

// userID is u's ID, or "" for no user.
func userID(u *User) string {
	if u == nil {
		return ""
	}
	return u.ID
}

// passwordFailed counts a wrong password (or second factor) for u and
// returns the error to report: ErrTooManyPasswordFailures for the failure
// that reaches the limit, else ErrAuthenticationFailed.
func (s *Service) passwordFailed(ctx context.Context, u *User, c Client) error {
	n, err := s.store.RecordPasswordFailure(ctx, u.ID, s.now(), s.lockAt())
	if err != nil {
		return err
	}
	s.event(ctx, s.store, u.ID, EventLoginFailed, c, "wrong password")
	if s.reachedLimit(n) {
		if n == s.cfg.MaxPasswordFailures {
			s.event(ctx, s.store, u.ID, EventLockout, c, "")
		}
		s.basic.dropUser(u.ID)
		return ErrTooManyPasswordFailures
	}
	return ErrAuthenticationFailed
}

// lockAt is the failure count that locks: MaxPasswordFailures, or never.
func (s *Service) lockAt() int {
	if s.cfg.MaxPasswordFailures < 0 {
		return int(^uint(0) >> 1)
	}
	return s.cfg.MaxPasswordFailures
}

// reachedLimit reports whether n failures are a lock-out.
func (s *Service) reachedLimit(n int) bool {
	return s.cfg.MaxPasswordFailures >= 0 && n >= s.cfg.MaxPasswordFailures
}
