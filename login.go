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
	sess, err := s.completeLogin(ctx, loginRequest{
		kind: loginPassword, user: u, remember: cr.Remember, client: c,
		factor: cr.MFA, deviceToken: cr.DeviceToken, rememberDevice: cr.RememberDevice, rehash: rehash,
	})
	return loginAnswer(sess, u, err)
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
		s.event(ctx, s.store, userID(u), EventLoginFailed, c, FailLocked)
		return nil, "", ErrTooManyPasswordFailures
	}
	ok, needRehash, err := s.verifyPassword(ctx, u, cr.Password)
	if err != nil {
		return nil, "", err
	}
	if u == nil {
		s.event(ctx, s.store, "", EventLoginFailed, c, FailUnknownAccount)
		if s.cfg.ShowAccountDoesNotExist {
			return nil, "", ErrAccountNotFound
		}
		return nil, "", s.unknownFailed(ctx, unknown)
	}
	if !ok {
		return nil, "", s.passwordFailed(ctx, u, c, FailWrongPassword)
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
// that reaches the limit, else ErrAuthenticationFailed. why is the
// login_failed event's Detail (a Fail... constant).
func (s *Service) passwordFailed(ctx context.Context, u *User, c Client, why string) error {
	n, err := s.store.RecordPasswordFailure(ctx, u.ID, s.now(), s.lockAt())
	if err != nil {
		return err
	}
	s.event(ctx, s.store, u.ID, EventLoginFailed, c, why)
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

// loginKind is a way of logging in. Each has its rule in loginRules.
type loginKind int

// The ways of logging in.
const (
	loginPassword     loginKind = iota // Login: password (and second factor)
	loginSecondStep                    // CompleteMFALogin: code, recovery code or security key
	loginEnrollment                    // CompleteMFAEnrollment: a first second factor
	loginPasskey                       // FinishPasskeyLogin
	loginLink                          // LoginWithLink
	loginAfterConfirm                  // ConfirmEmail with AutoLoginAfterConfirm
	loginAfterReset                    // ResetPasswordWithToken with AutoLoginAfterReset
	loginAfterSignup                   // sign-up, unless NoAutoLoginAfterRegister
	loginForced                        // ForceLogin
	loginNewPassword                   // ChangePassword ending a restricted session
	loginFederated                     // LoginWithIdentity: an identity provider's answer
)

// factorRule is what a kind of log-in does about the second factor.
type factorRule int

const (
	// factorAsk: a user who has a second factor (or must set one up,
	// RequireMFA) gives it now or gets an *MFARequiredError with a pending
	// log-in, unless the device is remembered.
	factorAsk factorRule = iota
	// factorProved: the way of logging in was the second factor (or
	// stands for both, a passkey).
	factorProved
	// factorAuto: an automatic log-in, which cannot stand in for a second
	// factor: with one (or RequireMFA), or when an account check fails,
	// no session starts and the user logs in the usual way.
	factorAuto
	// factorNone: no second factor is asked (ForceLogin; a new password
	// set in a session that already passed it).
	factorNone
)

// loginRule is how completeLogin treats one kind of log-in: the account
// checks it makes, the second-factor policy, and how the log-in is told
// in the audit trail (docs/design.md has the same table).
type loginRule struct {
	event, method string // the event fired, and its Detail
	lock          bool   // refuse a locked account
	enabled       bool   // refuse a disabled account
	confirmed     bool   // refuse an unconfirmed address (mayLogInUnconfirmed)
	factor        factorRule
	// unrestricted: a session that may do everything even when an admin
	// demanded a new password.
	unrestricted bool
	// keepFailures: the log-in proves no password, so it neither clears
	// the password failures nor lifts a lock-out (RecordLogin would).
	keepFailures bool
}

// loginRules is the policy of every kind of log-in. Where a check must
// come earlier — before the password's verdict is revealed, before a
// one-time code or link is used up — the entry point makes it there too,
// and completeLogin's check is the last word.
var loginRules = [...]loginRule{
	loginPassword:     {event: EventLogin, method: "password", lock: true, enabled: true, confirmed: true, factor: factorAsk},
	loginSecondStep:   {event: EventLogin, method: "mfa", lock: true, enabled: true, factor: factorProved},
	loginEnrollment:   {event: EventLogin, method: "mfa enrolment", lock: true, enabled: true, factor: factorProved},
	loginPasskey:      {event: EventLogin, method: "passkey", lock: true, enabled: true, confirmed: true, factor: factorProved},
	loginLink:         {event: EventLogin, method: "login link", enabled: true, factor: factorAsk},
	loginAfterConfirm: {event: EventLogin, method: "link", enabled: true, factor: factorAuto},
	loginAfterReset:   {event: EventLogin, method: "link", enabled: true, factor: factorAuto},
	loginAfterSignup:  {event: EventLogin, method: "signup", enabled: true, confirmed: true, factor: factorAuto},
	loginForced:       {event: EventForceLogin, factor: factorNone, unrestricted: true},
	loginNewPassword:  {event: EventLogin, method: "password change", factor: factorNone},
	loginFederated:    {event: EventLogin, method: "federated", enabled: true, confirmed: true, factor: factorAsk, keepFailures: true},
}

// loginRequest is a log-in for completeLogin to end.
type loginRequest struct {
	kind loginKind
	// method, if set, is told in the log-in event instead of the rule's
	// (a federated log-in names its provider: "federated:google").
	method   string
	user     *User
	remember bool
	client   Client
	// factor is the second factor given with a factorAsk log-in, if any;
	// deviceToken a remembered device's token.
	factor      *SecondFactor
	deviceToken string
	// rememberDevice asks for a Session.DeviceToken, given only when this
	// log-in proved a second factor.
	rememberDevice bool
	// rehash replaces the password hash (one in an old format).
	rehash string
	// with, if set, makes what the way of logging in changes with the
	// log-in, in its transaction — such as using up its token.
	with func(ctx context.Context, tx Store) error
	// tx is the caller's transaction when the log-in is part of a larger
	// change (an automatic log-in, ForceLogin, a new password); nil makes
	// completeLogin open its own. A kind that asks for the second factor
	// or checks the lock-out needs nil: a pending log-in, failures and a
	// lifted lock are written outside any transaction.
	tx Store
}

// completeLogin ends every log-in: the account checks and the
// second-factor policy of its kind (loginRules), then in one
// transaction what r.with changes, RecordLogin (which clears failures
// and the lock), the session (restricted if an admin demanded a new
// password) and the log-in event, fired after the commit. It returns
// ErrTooManyPasswordFailures, ErrAccountIsNotEnabled,
// ErrEmailNotConfirmed or an *MFARequiredError; for a factorAuto
// log-in that cannot happen it returns neither session nor error.
func (s *Service) completeLogin(ctx context.Context, r loginRequest) (*Session, error) {
	rule, u := loginRules[r.kind], r.user
	if err := s.accountChecks(ctx, rule, u, r.client); err != nil {
		if rule.factor == factorAuto {
			return nil, nil
		}
		return nil, err
	}
	rememberDevice := r.rememberDevice
	method := rule.method
	if r.method != "" {
		method = r.method
	}
	switch rule.factor {
	case factorAsk:
		verified, err := s.secondFactor(ctx, s.store, u, r.factor, r.deviceToken, r.client)
		if err != nil {
			return nil, err
		}
		rememberDevice = rememberDevice && verified
		if verified {
			method += "+mfa" // the second factor came with the first
		}
	case factorAuto:
		if ok, err := s.autoLoginAllowed(ctx, r.tx, u); !ok || err != nil {
			return nil, err
		}
	}
	var sess *Session
	run := func(ctx context.Context, tx Store) error {
		if r.with != nil {
			if err := r.with(ctx, tx); err != nil {
				return err
			}
		}
		var err error
		sess, err = s.startSession(ctx, tx, r, rule, method, rememberDevice)
		return err
	}
	var err error
	if r.tx != nil {
		err = run(ctx, r.tx)
	} else {
		err = s.inTx(ctx, run)
	}
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// accountChecks makes the account checks of rule: the lock-out (a
// lock that has run out is lifted), then enabled, then confirmed.
func (s *Service) accountChecks(ctx context.Context, rule loginRule, u *User, c Client) error {
	if rule.lock && s.locked(ctx, u) {
		s.event(ctx, s.store, u.ID, EventLoginFailed, c, FailLocked)
		return ErrTooManyPasswordFailures
	}
	if rule.enabled && !u.Enabled {
		return ErrAccountIsNotEnabled
	}
	if rule.confirmed && !s.mayLogInUnconfirmed(u) {
		return ErrEmailNotConfirmed
	}
	return nil
}

// autoLoginAllowed reports whether an automatic log-in may start a
// session for u: not when u has a second factor, which a link or a
// sign-up cannot stand in for, nor with RequireMFA, where everyone has or
// must first set up one.
func (s *Service) autoLoginAllowed(ctx context.Context, st Store, u *User) (bool, error) {
	if s.cfg.RequireMFA {
		return false, nil
	}
	if st == nil {
		st = s.store
	}
	methods, err := st.ListMFAMethods(ctx, u.ID)
	return err == nil && len(methods) == 0, err
}

// startSession records the log-in of r in tx (its event's Detail is
// method) and starts its session, remembering the device for the second
// factor if asked.
func (s *Service) startSession(ctx context.Context, tx Store, r loginRequest, rule loginRule, method string, rememberDevice bool) (*Session, error) {
	u, now := r.user, s.now()
	if rule.keepFailures {
		if err := tx.UpdateUser(ctx, u.ID, UserUpdate{LastLoginAt: &now}); err != nil {
			return nil, err
		}
		u.LastLoginAt = now
	} else {
		if err := tx.RecordLogin(ctx, u.ID, now, r.rehash); err != nil {
			return nil, err
		}
		if r.rehash != "" {
			u.PasswordHash = r.rehash
		}
		u.LastLoginAt, u.PasswordFailures, u.LockedAt = now, 0, time.Time{}
	}
	// Every log-in gets a new token, so a token planted before log-in
	// (session fixation) is worthless.
	tok, hash := newToken()
	mustChange := u.PasswordResetRequired && !rule.unrestricted
	sess := &Session{
		ID: NewID(), UserID: u.ID, TokenHash: hash, Token: tok,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionLifetime),
		Remember: r.remember && !s.cfg.DisableRememberMe && !mustChange,
		IP:       r.client.IP, UserAgent: truncate(r.client.UserAgent, 256),
		MustChangePassword: mustChange,
	}
	if sess.Remember {
		sess.ExpiresAt = now.Add(s.cfg.RememberDuration)
	}
	if err := tx.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	if rememberDevice && s.cfg.MFARememberDuration > 0 {
		var err error
		if sess.DeviceToken, err = s.rememberDevice(ctx, tx, u); err != nil {
			return nil, err
		}
	}
	s.event(ctx, tx, u.ID, rule.event, r.client, method)
	return sess, nil
}

// loginAnswer is how the log-in methods answer: the session and user, a
// restricted session (an admin demanded a new password) with
// ErrPasswordResetRequested.
func loginAnswer(sess *Session, u *User, err error) (*Session, *User, error) {
	if err != nil {
		return nil, nil, err
	}
	if sess.MustChangePassword {
		return sess, u, ErrPasswordResetRequested
	}
	return sess, u, nil
}
