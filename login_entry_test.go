package usher_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// eventRecorder keeps the events a Service fires through OnEvent.
type eventRecorder struct {
	mu  sync.Mutex
	evs []usher.Event
}

func (r *eventRecorder) record(_ context.Context, e usher.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

// since returns the events fired from the n-th on.
func (r *eventRecorder) since(n int) []usher.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]usher.Event(nil), r.evs[n:]...)
}

func (r *eventRecorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

// loginEntry is one way of logging in: setup prepares the account (and
// may log in on the way), login is the log-in under test and returns its
// session.
type loginEntry struct {
	name      string
	cfg       usher.Config
	setup     func(t *testing.T, e *loginEnv)
	login     func(t *testing.T, e *loginEnv) *usher.Session
	wantType  string // the event fired
	wantHow   string // its Detail: the way of logging in
	mustReset bool   // the session may only change the password
}

// loginEnv is the Service of one row and what setup left for login.
type loginEnv struct {
	svc    *usher.Service
	clock  *usertest.Clock
	events *eventRecorder
	user   *usher.User
	secret []byte // a TOTP secret
	key    *softKey
	token  string // a link's token or a pending log-in
	codes  []string
}

func newLoginEnv(t *testing.T, cfg usher.Config) *loginEnv {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = rpOrigin
	}
	e := &loginEnv{clock: usertest.NewClock(), events: &eventRecorder{}}
	svc, err := usher.New(cfg, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
		MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: testSealer, Now: e.clock.Now, Logger: usertest.Discard, OnEvent: e.events.record,
		Providers: []usher.FederatedProvider{&fakeProvider{name: "fake", signup: true, login: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.svc = svc
	return e
}

// mustLogIn logs the row's user in with the password and returns the
// session.
func (e *loginEnv) mustLogIn(t *testing.T) *usher.Session {
	t.Helper()
	sess, _, err := e.svc.LoginWithEmail(ctx, e.user.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// withTOTP gives the row's user an authenticator app.
func withTOTP(t *testing.T, e *loginEnv) {
	t.Helper()
	e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
	e.secret = enrolTOTP(t, e.svc, e.clock, e.user, e.mustLogIn(t))
	e.clock.Advance(30 * time.Second)
}

// signup signs ann@example.com up and returns the session, if any.
func (e *loginEnv) signup(t *testing.T) *usher.Session {
	t.Helper()
	u, sess, err := e.svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	e.user = u
	return sess
}

// resetLink asks for a password-reset link and returns its token.
func (e *loginEnv) resetLink(t *testing.T) string {
	t.Helper()
	e.svc.SendPasswordResetEmail(ctx, e.user.Email, client)
	return lastLink(t, e.svc, e.user.Email, usher.MailResetPassword)
}

// reset sets a new password through a reset link and returns the
// session, if any.
func (e *loginEnv) reset(t *testing.T, token string) *usher.Session {
	t.Helper()
	_, sess, err := e.svc.ResetPasswordWithToken(ctx, token, "a brand new password", client)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// confirm opens a confirmation link and returns the session, if any.
func (e *loginEnv) confirm(t *testing.T, token string) *usher.Session {
	t.Helper()
	_, sess, err := e.svc.ConfirmEmail(ctx, token, client)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// federated logs in (or signs up) with the identity the "fake" provider
// asserts, sets the row's user and returns the session.
func (e *loginEnv) federated(t *testing.T, ext *usher.ExternalIdentity) *usher.Session {
	t.Helper()
	res, err := e.svc.LoginWithIdentity(ctx, ext, usher.IntentLogin, false, client)
	if err != nil {
		t.Fatal(err)
	}
	e.user = res.User
	return res.Session
}

// withResetDemand makes the row's user one an admin asked for a new
// password.
func withResetDemand(t *testing.T, e *loginEnv) {
	t.Helper()
	e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
	if err := e.svc.RequirePasswordReset(ctx, e.user.ID); err != nil {
		t.Fatal(err)
	}
}

// completed finishes a second-factor log-in or fails the test.
func completed(t *testing.T) func(s *usher.Session, _ *usher.User, err error) *usher.Session {
	return func(s *usher.Session, _ *usher.User, err error) *usher.Session {
		t.Helper()
		if err != nil && !errors.Is(err, usher.ErrPasswordResetRequested) {
			t.Fatalf("log-in: %v", err)
		}
		return s
	}
}

// loginEntries has one row per way a log-in ends (docs/design.md, "Every
// log-in ends in completeLogin").
var loginEntries = []loginEntry{
	{
		name: "password",
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return completed(t)(e.svc.LoginWithEmail(ctx, e.user.Email, pw, false, client))
		},
		wantType: usher.EventLogin, wantHow: "password",
	},
	{
		name:  "password after an admin's demand for a new one",
		setup: withResetDemand,
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return completed(t)(e.svc.LoginWithEmail(ctx, e.user.Email, pw, false, client))
		},
		wantType: usher.EventLogin, wantHow: "password", mustReset: true,
	},
	{
		name:  "new password ending a restricted session",
		setup: withResetDemand,
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			restricted := completed(t)(e.svc.LoginWithEmail(ctx, e.user.Email, pw, false, client))
			e.clock.Advance(time.Minute)
			fresh, err := e.svc.ChangePassword(ctx, restricted, "", "a brand new password", client)
			if err != nil || fresh == nil {
				t.Fatalf("ChangePassword: %v, %v", fresh, err)
			}
			return fresh
		},
		wantType: usher.EventLogin, wantHow: "password change",
	},
	{
		name:  "password and authenticator code together",
		setup: withTOTP,
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			f := &usher.SecondFactor{Type: usher.MFATOTP, Code: mfa.TOTPCode(e.secret, e.clock.Now())}
			return completed(t)(e.svc.Login(ctx, usher.Credentials{Email: e.user.Email, Password: pw, MFA: f}, client))
		},
		wantType: usher.EventLogin, wantHow: "password+mfa",
	},
	{
		name: "second step: authenticator code",
		setup: func(t *testing.T, e *loginEnv) {
			withTOTP(t, e)
			e.token = pendingLogin(t, e.svc, e.user.Email).Pending
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			f := usher.SecondFactor{Type: usher.MFATOTP, Code: mfa.TOTPCode(e.secret, e.clock.Now())}
			return completed(t)(e.svc.CompleteMFALogin(ctx, e.token, f, false, false, client))
		},
		wantType: usher.EventLogin, wantHow: "mfa",
	},
	{
		name: "second step: recovery code",
		setup: func(t *testing.T, e *loginEnv) {
			withTOTP(t, e)
			var err error
			if e.codes, err = e.svc.NewRecoveryCodes(ctx, e.user.ID, client); err != nil {
				t.Fatal(err)
			}
			e.token = pendingLogin(t, e.svc, e.user.Email).Pending
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			f := usher.SecondFactor{Type: usher.MFARecovery, Code: e.codes[0]}
			return completed(t)(e.svc.CompleteMFALogin(ctx, e.token, f, false, false, client))
		},
		wantType: usher.EventLogin, wantHow: "mfa",
	},
	{
		name: "second step: security key",
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			e.key = newSoftKey(t)
			addKey(t, e.svc, e.mustLogIn(t), e.key)
			e.token = pendingLogin(t, e.svc, e.user.Email).Pending
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			opts, state, err := e.svc.BeginWebAuthnLogin(ctx, e.token, client)
			if err != nil {
				t.Fatal(err)
			}
			f := usher.SecondFactor{Type: usher.MFAFIDO, Code: string(e.key.get(opts)), State: state}
			return completed(t)(e.svc.CompleteMFALogin(ctx, e.token, f, false, false, client))
		},
		wantType: usher.EventLogin, wantHow: "mfa",
	},
	{
		name: "second-factor enrolment",
		cfg:  usher.Config{RequireMFA: true},
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			e.token = pendingLogin(t, e.svc, e.user.Email).Pending
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			setup, err := e.svc.GenerateEnrollmentTOTPSecret(ctx, e.token)
			if err != nil {
				t.Fatal(err)
			}
			secret, _ := mfa.DecodeSecret(setup.Secret)
			code := mfa.TOTPCode(secret, e.clock.Now())
			return completed(t)(e.svc.CompleteMFAEnrollment(ctx, e.token, setup.Method, code, "", false, client))
		},
		wantType: usher.EventLogin, wantHow: "mfa enrolment",
	},
	{
		name: "passkey",
		cfg:  usher.Config{EnablePasskeys: true},
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			e.key = newSoftKey(t)
			e.key.noCounter = true
			addKey(t, e.svc, e.mustLogIn(t), e.key)
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			opts, state, err := e.svc.BeginPasskeyLogin(ctx, client)
			if err != nil {
				t.Fatal(err)
			}
			return completed(t)(e.svc.FinishPasskeyLogin(ctx, state, e.key.get(opts), false, client))
		},
		wantType: usher.EventLogin, wantHow: "passkey",
	},
	{
		name: "login link",
		cfg:  usher.Config{EnableLoginLink: true},
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			e.svc.SendLoginLink(ctx, e.user.Email, client)
			e.token = lastLink(t, e.svc, e.user.Email, usher.MailLoginLink)
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return completed(t)(e.svc.LoginWithLink(ctx, e.token, false, "", client))
		},
		wantType: usher.EventLogin, wantHow: "login link",
	},
	{
		name: "confirm-email auto-log-in",
		cfg:  usher.Config{EnableConfirmEmail: true, AutoLoginAfterConfirm: true},
		setup: func(t *testing.T, e *loginEnv) {
			e.signup(t)
			e.token = lastLink(t, e.svc, e.user.Email, usher.MailConfirmEmail)
		},
		login:    func(t *testing.T, e *loginEnv) *usher.Session { return e.confirm(t, e.token) },
		wantType: usher.EventLogin, wantHow: "link",
	},
	{
		name: "reset-password auto-log-in",
		cfg:  usher.Config{AutoLoginAfterReset: true},
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			e.token = e.resetLink(t)
		},
		login:    func(t *testing.T, e *loginEnv) *usher.Session { return e.reset(t, e.token) },
		wantType: usher.EventLogin, wantHow: "link",
	},
	{
		name:     "sign-up auto-log-in",
		setup:    func(t *testing.T, e *loginEnv) {},
		login:    func(t *testing.T, e *loginEnv) *usher.Session { return e.signup(t) },
		wantType: usher.EventLogin, wantHow: "signup",
	},
	{
		name: "invitation sign-up",
		cfg:  usher.Config{EnableInviteUser: true},
		setup: func(t *testing.T, e *loginEnv) {
			if err := e.svc.Invite(ctx, "ann@example.com", "", client); err != nil {
				t.Fatal(err)
			}
			e.svc.DeliverMail(ctx)
			msgs, _ := e.svc.Store().ListMessages(ctx, "ann@example.com", 10)
			if len(msgs) != 1 {
				t.Fatalf("%d e-mails to the invitee", len(msgs))
			}
			_, e.token, _ = strings.Cut(msgs[0].Vars["link"], "?token=")
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			in := usher.Signup{Email: "ann@example.com", Password: pw, InvitationToken: e.token}
			u, sess, err := e.svc.SignupWithEmail(ctx, in, client)
			if err != nil {
				t.Fatal(err)
			}
			e.user = u
			return sess
		},
		wantType: usher.EventLogin, wantHow: "signup",
	},
	{
		name: "federated sign-in, linked identity",
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			if _, err := e.svc.LinkIdentity(ctx, e.user.ID, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann"}, client); err != nil {
				t.Fatal(err)
			}
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return e.federated(t, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com"})
		},
		wantType: usher.EventLogin, wantHow: "federated:fake",
	},
	{
		name: "federated sign-in, linked by a vouched-for address",
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return e.federated(t, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true})
		},
		wantType: usher.EventLogin, wantHow: "federated:fake",
	},
	{
		name:  "federated sign-up",
		setup: func(t *testing.T, e *loginEnv) {},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			return e.federated(t, &usher.ExternalIdentity{Provider: "fake", Issuer: issuer, Subject: "sub-ann", Email: "ann@example.com", EmailVerified: true})
		},
		wantType: usher.EventLogin, wantHow: "federated:fake",
	},
	{
		name: "ForceLogin",
		setup: func(t *testing.T, e *loginEnv) {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
		},
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			sess, err := e.svc.ForceLogin(ctx, e.user.ID, false, client)
			if err != nil {
				t.Fatal(err)
			}
			return sess
		},
		wantType: usher.EventForceLogin, wantHow: "",
	},
	{
		name:  "ForceLogin of a user asked for a new password",
		setup: withResetDemand,
		login: func(t *testing.T, e *loginEnv) *usher.Session {
			sess, err := e.svc.ForceLogin(ctx, e.user.ID, false, client)
			if err != nil {
				t.Fatal(err)
			}
			return sess
		},
		wantType: usher.EventForceLogin, wantHow: "",
	},
}

// TestEveryLoginRecorded: every way of logging in records the log-in
// (last_login_at) and fires one log-in event naming the way, once the
// session is stored.
func TestEveryLoginRecorded(t *testing.T) {
	for _, tt := range loginEntries {
		t.Run(tt.name, func(t *testing.T) {
			e := newLoginEnv(t, tt.cfg)
			tt.setup(t, e)
			e.clock.Advance(time.Minute) // within every token's lifetime
			n := e.events.len()
			sess := tt.login(t, e)
			if sess == nil {
				t.Fatal("no session")
			}
			if sess.MustChangePassword != tt.mustReset {
				t.Errorf("MustChangePassword = %v; want %v", sess.MustChangePassword, tt.mustReset)
			}
			u, err := e.svc.User(ctx, e.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !u.LastLoginAt.Equal(e.clock.Now()) {
				t.Errorf("last_login_at %v; want %v", u.LastLoginAt, e.clock.Now())
			}
			var logins []usher.Event
			for _, ev := range e.events.since(n) {
				if ev.Type == usher.EventLogin || ev.Type == usher.EventForceLogin {
					logins = append(logins, ev)
				}
			}
			if len(logins) == 0 {
				t.Fatalf("no log-in event fired; want %s %q", tt.wantType, tt.wantHow)
			}
			last := logins[len(logins)-1]
			if last.Type != tt.wantType || last.Detail != tt.wantHow || last.UserID != u.ID || last.IP != client.IP {
				t.Errorf("event %s %q for %s from %s; want %s %q for %s from %s",
					last.Type, last.Detail, last.UserID, last.IP, tt.wantType, tt.wantHow, u.ID, client.IP)
			}
			if _, _, err := e.svc.Authenticate(ctx, sess.Token); err != nil && !errors.Is(err, usher.ErrPasswordResetRequested) {
				t.Errorf("the session does not authenticate: %v", err)
			}
		})
	}
}

// TestAutoLoginsStepAside: an automatic log-in (after confirming an
// address, resetting a password, signing up) starts no session — and
// records no log-in — where it cannot stand in for a log-in: the user
// has a second factor, or the account is disabled or unconfirmed. The
// user then logs in the usual way.
func TestAutoLoginsStepAside(t *testing.T) {
	auto := usher.Config{EnableConfirmEmail: true, AutoLoginAfterConfirm: true, AutoLoginAfterReset: true}
	withEmails := auto
	withEmails.EnableMultipleEmails = true
	signup := func(t *testing.T, e *loginEnv) *usher.Session { return e.signup(t) }
	disable := func(t *testing.T, e *loginEnv) {
		t.Helper()
		if err := e.svc.DisableUser(ctx, e.user.ID); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		cfg  usher.Config
		try  func(t *testing.T, e *loginEnv) *usher.Session
	}{
		{"reset, user with a second factor", auto, func(t *testing.T, e *loginEnv) *usher.Session {
			withTOTP(t, e)
			return e.reset(t, e.resetLink(t))
		}},
		{"reset, disabled user", auto, func(t *testing.T, e *loginEnv) *usher.Session {
			e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			token := e.resetLink(t)
			disable(t, e)
			return e.reset(t, token)
		}},
		{"confirm, user with a second factor", withEmails, func(t *testing.T, e *loginEnv) *usher.Session {
			withTOTP(t, e)
			if _, err := e.svc.AddEmail(ctx, e.user.ID, "ann@work.example.com", client); err != nil {
				t.Fatal(err)
			}
			return e.confirm(t, lastLink(t, e.svc, "ann@work.example.com", usher.MailConfirmEmail))
		}},
		{"confirm, disabled user", auto, func(t *testing.T, e *loginEnv) *usher.Session {
			e.signup(t)
			token := lastLink(t, e.svc, e.user.Email, usher.MailConfirmEmail)
			disable(t, e)
			return e.confirm(t, token)
		}},
		{"sign-up, address not confirmed", auto, signup},
		{"sign-up, awaiting approval", usher.Config{RequireApproval: true}, signup},
		{"sign-up, second factor required", usher.Config{RequireMFA: true}, signup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLoginEnv(t, tt.cfg)
			if sess := tt.try(t, e); sess != nil {
				t.Fatalf("session %+v; want none", sess)
			}
			u, err := e.svc.User(ctx, e.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The only log-in, if any, was the password's in withTOTP.
			var before time.Time
			for _, ev := range e.events.since(0) {
				if ev.Type == usher.EventLogin && ev.Detail != "password" {
					t.Errorf("log-in event %q fired", ev.Detail)
				}
				if ev.Type == usher.EventLogin {
					before = ev.At
				}
			}
			if !u.LastLoginAt.Equal(before) {
				t.Errorf("last_login_at %v; want %v", u.LastLoginAt, before)
			}
		})
	}
}
