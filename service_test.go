package usher_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

var ctx = context.Background()

const pw = usertest.Password

func newService(t *testing.T, cfg usher.Config) (*usher.Service, *usertest.Clock) {
	t.Helper()
	clock := usertest.NewClock()
	return usertest.NewService(t, cfg, usertest.NewSQLiteStore(t), clock), clock
}

var client = usher.Client{IP: "192.0.2.1", UserAgent: "test"}

// countingHasher counts Verify and Dummy calls and the most that ran at
// once.
type countingHasher struct {
	usher.PasswordHasher
	verifies, dummies atomic.Int64
	running, peak     atomic.Int64
	delay             time.Duration
}

func (h *countingHasher) enter() func() {
	n := h.running.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(h.delay)
	return func() { h.running.Add(-1) }
}

func (h *countingHasher) Verify(enc, p string) (bool, bool, error) {
	defer h.enter()()
	h.verifies.Add(1)
	return h.PasswordHasher.Verify(enc, p)
}

func (h *countingHasher) Dummy(p string) {
	defer h.enter()()
	h.dummies.Add(1)
	h.PasswordHasher.Dummy(p)
}

func newCountingService(t *testing.T, cfg usher.Config) (*usher.Service, *countingHasher, *usertest.Clock) {
	t.Helper()
	h := &countingHasher{PasswordHasher: usertest.FastHasher()}
	clock := usertest.NewClock()
	svc, err := usher.New(cfg, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: h, Policy: password.Policy{},
		Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, h, clock
}

// TestLoginOrderOfChecks has one row per rule of docs/design.md on the order of
// checks: account state is revealed only after a correct password.
func TestLoginOrderOfChecks(t *testing.T) {
	tests := []struct {
		name     string
		cfg      usher.Config
		enabled  bool
		confirm  bool
		password string
		want     error
	}{
		{"right password", usher.Config{}, true, true, pw, nil},
		{"wrong password", usher.Config{}, true, true, "wrong password!", usher.ErrAuthenticationFailed},
		{"disabled, wrong password", usher.Config{}, false, true, "wrong password!", usher.ErrAuthenticationFailed},
		{"disabled, right password", usher.Config{}, false, true, pw, usher.ErrAccountIsNotEnabled},
		{"unconfirmed, wrong password", usher.Config{EnableConfirmEmail: true}, true, false, "wrong password!", usher.ErrAuthenticationFailed},
		{"unconfirmed, right password", usher.Config{EnableConfirmEmail: true}, true, false, pw, usher.ErrEmailNotConfirmed},
		{"unconfirmed allowed", usher.Config{EnableConfirmEmail: true, EnableLoginWithoutConfirmEmail: true}, true, false, pw, nil},
		{"unconfirmed, confirmation off", usher.Config{}, true, false, pw, nil},
		{"disabled and unconfirmed, right password", usher.Config{EnableConfirmEmail: true}, false, false, pw, usher.ErrAccountIsNotEnabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t, tt.cfg)
			if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "a@example.com", Password: pw, Enabled: tt.enabled, Confirmed: tt.confirm}); err != nil {
				t.Fatal(err)
			}
			sess, _, err := svc.LoginWithEmail(ctx, "A@Example.com", tt.password, false, client)
			if tt.want == nil {
				if err != nil || sess == nil {
					t.Fatalf("login: %v, session %v; want success", err, sess)
				}
				return
			}
			if err == nil || err.Error() != tt.want.Error() {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
			if !errors.Is(err, usher.ErrAuthenticationFailed) {
				t.Errorf("errors.Is(%v, ErrAuthenticationFailed) = false", err)
			}
			if sess != nil {
				t.Errorf("got a session with error %v", err)
			}
		})
	}
}

// TestUnknownUserLooksLikeWrongPassword: same error and the same hashing
// work (a dummy hash) for an unknown account as for a wrong password.
func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	svc, h, _ := newCountingService(t, usher.Config{})
	usertest.MustCreateUser(t, svc, "known@example.com")
	h.verifies.Store(0)
	_, _, errUnknown := svc.LoginWithEmail(ctx, "nobody@example.com", "wrong password!", false, client)
	_, _, errWrong := svc.LoginWithEmail(ctx, "known@example.com", "wrong password!", false, client)
	if errUnknown == nil || errWrong == nil || errUnknown.Error() != errWrong.Error() {
		t.Fatalf("unknown user: %v; wrong password: %v; want the same error", errUnknown, errWrong)
	}
	if h.dummies.Load() != 1 || h.verifies.Load() != 1 {
		t.Errorf("dummy hashes %d, verifies %d; want 1 and 1", h.dummies.Load(), h.verifies.Load())
	}
}

func TestShowAccountDoesNotExist(t *testing.T) {
	svc, _ := newService(t, usher.Config{ShowAccountDoesNotExist: true})
	_, _, err := svc.LoginWithEmail(ctx, "nobody@example.com", pw, false, client)
	if !errors.Is(err, usher.ErrAccountNotFound) || !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Fatalf("got %v; want ErrAccountNotFound", err)
	}
}

func TestLockout(t *testing.T) {
	svc, h, clock := newCountingService(t, usher.Config{MaxPasswordFailures: 3, LockoutDuration: time.Hour})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	for i := 1; i <= 3; i++ {
		_, _, err := svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
		want := usher.ErrAuthenticationFailed
		if i == 3 {
			want = usher.ErrTooManyPasswordFailures // the failure that reaches the limit
		}
		if err != want {
			t.Fatalf("failure %d: got %v; want %v", i, err, want)
		}
	}
	before := h.verifies.Load()
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("right password while locked: got %v; want ErrTooManyPasswordFailures", err)
	}
	if h.verifies.Load() != before {
		t.Errorf("a locked account's password was hashed")
	}
	clock.Advance(59 * time.Minute)
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("59 minutes later: got %v; want still locked", err)
	}
	clock.Advance(2 * time.Minute)
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("after LockoutDuration: %v", err)
	}
	got, _ := svc.User(ctx, u.ID)
	if got.PasswordFailures != 0 || !got.LockedAt.IsZero() {
		t.Errorf("after log-in: failures %d, locked at %v; want 0 and zero", got.PasswordFailures, got.LockedAt)
	}
}

func TestLockoutUntilUnlock(t *testing.T) {
	svc, clock := newService(t, usher.Config{MaxPasswordFailures: 2, LockoutDuration: -1})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	for range 2 {
		svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
	}
	clock.Advance(1000 * time.Hour)
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("got %v; want locked until reset", err)
	}
	if err := svc.UnlockUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	// An admin's new password lifts a lock-out too.
	for range 2 {
		svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
	}
	if err := svc.SetPassword(ctx, u.ID, "another fine password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "another fine password", false, client); err != nil {
		t.Fatalf("after set-password: %v", err)
	}
}

func TestSuccessClearsFailures(t *testing.T) {
	svc, _ := newService(t, usher.Config{MaxPasswordFailures: 3})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	for range 5 {
		svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
		svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
		if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
			t.Fatalf("2 failures then right: %v", err)
		}
	}
}

func TestConcurrentFailuresAllCount(t *testing.T) {
	svc, _ := newService(t, usher.Config{MaxPasswordFailures: 1000, LoginRateLimit: -1})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() { svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client) })
	}
	wg.Wait()
	got, _ := svc.User(ctx, u.ID)
	if got.PasswordFailures != 40 {
		t.Fatalf("failures = %d; want 40", got.PasswordFailures)
	}
}

func TestSessionTokens(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	s1, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if s1.Token == s2.Token || len(s1.Token) != 43 {
		t.Fatalf("tokens %q and %q: want two different 256-bit tokens", s1.Token, s2.Token)
	}
	sum := sha256.Sum256([]byte(s1.Token))
	stored, _, err := svc.Store().SessionUser(ctx, sum[:])
	if err != nil {
		t.Fatalf("session not found by the token's SHA-256: %v", err)
	}
	if stored.Token != "" || !bytes.Equal(stored.TokenHash, sum[:]) {
		t.Errorf("stored session holds token %q, hash %x; want only the hash", stored.Token, stored.TokenHash)
	}
	if _, got, err := svc.Authenticate(ctx, s1.Token); err != nil || got.ID != u.ID {
		t.Fatalf("Authenticate: %v, %v", got, err)
	}
	for _, bad := range []string{"", "short", s1.Token[:42] + "x", s1.Token + "x"} {
		if _, _, err := svc.Authenticate(ctx, bad); err != usher.ErrAuthenticationFailed {
			t.Errorf("Authenticate(%q) = %v; want ErrAuthenticationFailed", bad, err)
		}
	}
	if err := svc.Logout(ctx, s1.Token, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, s1.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("after logout: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, s2.Token); err != nil {
		t.Errorf("other session after logout: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	svc, clock := newService(t, usher.Config{IdleTimeout: 30 * time.Minute, SessionLifetime: 24 * time.Hour, RememberDuration: 30 * 24 * time.Hour})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	browser, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	remembered, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	if browser.Remember || !remembered.Remember {
		t.Fatalf("Remember flags: %v, %v", browser.Remember, remembered.Remember)
	}
	// Used every 20 minutes, a browser session stays alive...
	for range 3 {
		clock.Advance(20 * time.Minute)
		if _, _, err := svc.Authenticate(ctx, browser.Token); err != nil {
			t.Fatalf("browser session in use: %v", err)
		}
	}
	svc.FlushSessionTouches(ctx)
	// ...but not after 31 idle minutes; a remembered one has no idle timeout.
	clock.Advance(31 * time.Minute)
	if _, _, err := svc.Authenticate(ctx, browser.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("idle browser session: %v; want ErrAuthenticationFailed", err)
	}
	if _, _, err := svc.Authenticate(ctx, remembered.Token); err != nil {
		t.Errorf("remembered session after idle time: %v", err)
	}
	clock.Advance(30 * 24 * time.Hour)
	if _, _, err := svc.Authenticate(ctx, remembered.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("remembered session after RememberDuration: %v", err)
	}
}

func TestRememberMeDisabled(t *testing.T) {
	svc, _ := newService(t, usher.Config{DisableRememberMe: true})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	s, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	if s.Remember {
		t.Fatal("remember honoured with DisableRememberMe")
	}
}

func TestDisableEndsSessions(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	s, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	if err := svc.DisableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, s.Token); err != usher.ErrAuthenticationFailed {
		t.Fatalf("session of a disabled user: %v", err)
	}
	if err := svc.EnableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, s.Token); err != usher.ErrAuthenticationFailed {
		t.Fatalf("re-enabling revived an ended session: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	svc, _ := newService(t, usher.Config{MaxPasswordFailures: 5})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	here, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	there, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)

	if _, err := svc.ChangePassword(ctx, here, "wrong password!", "a brand new password", client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("wrong old password: %v", err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != 1 {
		t.Errorf("a wrong old password was not counted: failures %d", got.PasswordFailures)
	}
	var pe *usher.PasswordError
	if _, err := svc.ChangePassword(ctx, here, pw, "short", client); !errors.As(err, &pe) || pe.Reason != usher.MsgPasswordTooShort {
		t.Fatalf("short new password: %v", err)
	}
	var ve *usher.ValidationError
	if _, err := svc.ChangePassword(ctx, here, "", "a brand new password", client); !errors.As(err, &ve) {
		t.Fatalf("missing old password: %v", err)
	}
	fresh, err := svc.ChangePassword(ctx, here, pw, "a brand new password", client)
	if err != nil || fresh != nil {
		t.Fatalf("ChangePassword: %v, %v", fresh, err)
	}
	if _, _, err := svc.Authenticate(ctx, here.Token); err != nil {
		t.Errorf("the session that changed the password ended: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, there.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("another session survived a password change: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err == nil {
		t.Error("old password still works")
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "a brand new password", false, client); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestRequirePasswordReset(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	old, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	if err := svc.RequirePasswordReset(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, old.Token); err != usher.ErrAuthenticationFailed {
		t.Fatalf("session survived RequirePasswordReset: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("wrong password: %v", err)
	}
	restricted, _, err := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	if err != usher.ErrPasswordResetRequested || restricted == nil || !restricted.MustChangePassword || restricted.Remember {
		t.Fatalf("login: %v, %+v; want a restricted session and ErrPasswordResetRequested", err, restricted)
	}
	if _, _, err := svc.Authenticate(ctx, restricted.Token); err != usher.ErrPasswordResetRequested {
		t.Fatalf("Authenticate restricted: %v", err)
	}
	fresh, err := svc.ChangePassword(ctx, restricted, "", "a brand new password", client)
	if err != nil || fresh == nil {
		t.Fatalf("ChangePassword from the restricted session: %v, %v", fresh, err)
	}
	if _, _, err := svc.Authenticate(ctx, restricted.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("restricted session still valid: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, fresh.Token); err != nil {
		t.Errorf("fresh session: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "a brand new password", false, client); err != nil {
		t.Errorf("log-in after reset: %v", err)
	}
}

func TestRehashOnLogin(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	bc, err := (&password.Hasher{Algorithm: password.Bcrypt, BcryptCost: 4}).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, usher.NewUser{Email: "old@example.com", PasswordHash: bc, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("log-in with imported bcrypt hash: %v", err)
	}
	got, _ := svc.User(ctx, u.ID)
	if got.PasswordHash == bc || !bytes.HasPrefix([]byte(got.PasswordHash), []byte("$argon2id$")) {
		t.Fatalf("hash after log-in = %q; want a new argon2id hash", got.PasswordHash)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("log-in after rehash: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	svc, clock := newService(t, usher.Config{LoginRateLimit: 3, SignupRateLimit: 2})
	usertest.MustCreateUser(t, svc, "a@example.com")
	for i := range 3 {
		if _, _, err := svc.LoginWithEmail(ctx, "a@example.com", pw, false, client); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, _, err := svc.LoginWithEmail(ctx, "a@example.com", pw, false, client)
	var rl *usher.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter < 1 || rl.RetryAfter > 61 {
		t.Fatalf("4th attempt in a minute: %v; want a RateLimitError", err)
	}
	other := usher.Client{IP: "192.0.2.2"}
	if _, _, err := svc.LoginWithEmail(ctx, "a@example.com", pw, false, other); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	clock.Advance(time.Minute)
	if _, _, err := svc.LoginWithEmail(ctx, "a@example.com", pw, false, client); err != nil {
		t.Fatalf("next minute: %v", err)
	}
	for i := range 2 {
		if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: usertest.Email(i), Password: pw}, client); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: usertest.Email(9), Password: pw}, client); !errors.Is(err, usher.ErrRateLimited) {
		t.Fatalf("3rd sign-up in an hour: %v", err)
	}
}

func TestSignup(t *testing.T) {
	fields := []usher.ProfileField{
		{Name: "name", Required: true, MaxLength: 10},
		{Name: "age", Type: "int"},
		{Name: "team", Pattern: "red|blue"},
	}
	tests := []struct {
		name      string
		cfg       usher.Config
		in        usher.Signup
		want      error
		wantField map[string]string
		loggedIn  bool
	}{
		{"ok", usher.Config{ProfileFields: fields}, usher.Signup{Email: "a@example.com", Password: pw, Profile: map[string]string{"name": "Ann"}}, nil, nil, true},
		{"name missing (Anvil's tutorial)", usher.Config{ProfileFields: fields}, usher.Signup{Email: "a@example.com", Password: pw}, usher.ErrValidation, map[string]string{"name": usher.MsgRequired}, false},
		{"bad fields", usher.Config{ProfileFields: fields}, usher.Signup{Email: "not-an-email", Password: pw,
			Profile: map[string]string{"name": "a very long name", "age": "x", "team": "green", "admin": "1"}}, usher.ErrValidation,
			map[string]string{"email": usher.MsgInvalidEmail, "name": usher.MsgTooLong, "age": usher.MsgInvalidFormat, "team": usher.MsgInvalidFormat, "admin": usher.MsgUnknownField}, false},
		{"no password", usher.Config{}, usher.Signup{Email: "a@example.com"}, usher.ErrValidation, map[string]string{"password": usher.MsgRequired}, false},
		{"common password", usher.Config{}, usher.Signup{Email: "a@example.com", Password: "password123"}, usher.ErrPasswordNotAcceptable, nil, false},
		{"password is the e-mail", usher.Config{}, usher.Signup{Email: "ann.lee@example.com", Password: "ann.lee@example.com"}, usher.ErrPasswordNotAcceptable, nil, false},
		{"registration off", usher.Config{DisableRegistration: true}, usher.Signup{Email: "a@example.com", Password: pw}, usher.ErrSignupDisabled, nil, false},
		{"approval needed", usher.Config{RequireApproval: true}, usher.Signup{Email: "a@example.com", Password: pw}, nil, nil, false},
		{"confirmation needed", usher.Config{EnableConfirmEmail: true}, usher.Signup{Email: "a@example.com", Password: pw}, nil, nil, false},
		{"username required", usher.Config{EnableUsername: true}, usher.Signup{Email: "a@example.com", Password: pw}, usher.ErrValidation, map[string]string{"username": usher.MsgRequired}, false},
		{"username rule", usher.Config{EnableUsername: true}, usher.Signup{Email: "a@example.com", Username: "a b", Password: pw}, usher.ErrValidation, map[string]string{"username": usher.MsgInvalidUsername}, false},
		{"username ok", usher.Config{EnableUsername: true}, usher.Signup{Email: "a@example.com", Username: "ann_lee", Password: pw}, nil, nil, true},
		{"no auto-login", usher.Config{NoAutoLoginAfterRegister: true}, usher.Signup{Email: "a@example.com", Password: pw}, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t, tt.cfg)
			u, sess, err := svc.SignupWithEmail(ctx, tt.in, client)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
			if tt.wantField != nil {
				var ve *usher.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%v is not a ValidationError", err)
				}
				for f, m := range tt.wantField {
					if ve.Fields[f] != m {
						t.Errorf("field %s: %q; want %q (all: %v)", f, ve.Fields[f], m, ve.Fields)
					}
				}
			}
			if (sess != nil) != tt.loggedIn {
				t.Errorf("logged in = %v; want %v", sess != nil, tt.loggedIn)
			}
			if err != nil {
				if n, _ := svc.Store().CountUsers(ctx, usher.UserQuery{}); n != 0 {
					t.Errorf("a refused sign-up left %d user(s)", n)
				}
				return
			}
			if tt.cfg.RequireApproval == u.Enabled {
				t.Errorf("enabled = %v with RequireApproval %v", u.Enabled, tt.cfg.RequireApproval)
			}
		})
	}
}

func TestSignupDuplicate(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableUsername: true})
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "Ann@Example.com", Username: "Ann", Password: pw}, client); err != nil {
		t.Fatal(err)
	}
	for _, in := range []usher.Signup{
		{Email: "ann@example.COM", Username: "other", Password: pw},
		{Email: "other@example.com", Username: "aNN", Password: pw},
	} {
		if _, _, err := svc.SignupWithEmail(ctx, in, client); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("%+v: %v; want ErrUserExists", in, err)
		}
	}
}

func TestLoginWithUsername(t *testing.T) {
	tests := []struct {
		mode     string
		cr       usher.Credentials
		wantFail bool
	}{
		{"either", usher.Credentials{Login: "ann_lee"}, false},
		{"either", usher.Credentials{Login: "ANN@example.com"}, false},
		{"either", usher.Credentials{Username: "Ann_Lee"}, false},
		{"username", usher.Credentials{Login: "ann_lee"}, false},
		{"username", usher.Credentials{Email: "ann@example.com"}, true},
		{"email", usher.Credentials{Username: "ann_lee"}, true},
		{"email", usher.Credentials{Login: "ann@example.com"}, false},
	}
	for _, tt := range tests {
		svc, _ := newService(t, usher.Config{EnableUsername: true, LoginWith: tt.mode})
		if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Username: "ann_lee", Password: pw, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		tt.cr.Password = pw
		_, _, err := svc.Login(ctx, tt.cr, client)
		if (err != nil) != tt.wantFail {
			t.Errorf("mode %s, %+v: %v; want failure %v", tt.mode, tt.cr, err, tt.wantFail)
		}
	}
}

func TestRoles(t *testing.T) {
	u := &usher.User{Roles: []string{"programmer", "starving"}}
	tests := []struct {
		reqs []string
		want bool
	}{
		{nil, true},
		{[]string{"starving"}, true},
		{[]string{"starving", "programmer"}, true},
		{[]string{"starving", "artist"}, false},
		{[]string{usher.AnyOf("artist", "programmer")}, true},
		{[]string{"starving", usher.AnyOf("artist", "programmer")}, true},
		{[]string{"rich", usher.AnyOf("artist", "programmer")}, false},
		{[]string{usher.AnyOf("artist", "musician")}, false},
	}
	for _, tt := range tests {
		if got := u.HasRoles(tt.reqs...); got != tt.want {
			t.Errorf("HasRoles(%q) = %v; want %v", tt.reqs, got, tt.want)
		}
	}
	svc, _ := newService(t, usher.Config{})
	a := usertest.MustCreateUser(t, svc, "a@example.com", "admin")
	if err := svc.AddRole(ctx, a.ID, "editor"); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddRole(ctx, a.ID, "bad|name"); !errors.Is(err, usher.ErrValidation) {
		t.Errorf("role with '|': %v", err)
	}
	if err := svc.RemoveRole(ctx, a.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	s, _, _ := svc.LoginWithEmail(ctx, a.Email, pw, false, client)
	_, got, _ := svc.Authenticate(ctx, s.Token)
	if len(got.Roles) != 1 || got.Roles[0] != "editor" {
		t.Errorf("roles = %v; want [editor]", got.Roles)
	}
}

func TestForceLogin(t *testing.T) {
	svc, _ := newService(t, usher.Config{MaxPasswordFailures: 1, LockoutDuration: -1})
	u, _ := svc.CreateUser(ctx, usher.NewUser{Email: "a@example.com", Password: pw, Enabled: true})
	svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
	s, err := svc.ForceLogin(ctx, u.ID, true, client)
	if err != nil || s == nil || !s.Remember {
		t.Fatalf("ForceLogin: %v, %v", s, err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != 0 {
		t.Errorf("ForceLogin left %d failures", got.PasswordFailures)
	}
}

func TestHashConcurrencyBound(t *testing.T) {
	h := &countingHasher{PasswordHasher: usertest.FastHasher(), delay: 5 * time.Millisecond}
	svc, err := usher.New(usher.Config{MaxConcurrentHashes: 2, LoginRateLimit: -1},
		usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: h, Policy: password.Policy{}, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	usertest.MustCreateUser(t, svc, "a@example.com")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			p := pw
			if i%2 == 0 {
				p = "wrong password!"
			}
			svc.LoginWithEmail(ctx, "a@example.com", p, false, client)
		})
	}
	wg.Wait()
	if p := h.peak.Load(); p > 2 {
		t.Fatalf("%d hashes ran at once; want at most 2", p)
	}
}

func TestBasicAuthCache(t *testing.T) {
	svc, h, clock := newCountingService(t, usher.Config{MaxPasswordFailures: 3, BasicAuthCacheTTL: time.Minute})
	u := usertest.MustCreateUser(t, svc, "a@example.com")
	h.verifies.Store(0)
	for range 5 {
		if got, err := svc.CheckBasic(ctx, "a@example.com", pw, client); err != nil || got.ID != u.ID {
			t.Fatalf("CheckBasic: %v, %v", got, err)
		}
	}
	if n := h.verifies.Load(); n != 1 {
		t.Errorf("5 checks hashed %d times; want 1", n)
	}
	// Failures are never cached.
	for range 2 {
		if _, err := svc.CheckBasic(ctx, "a@example.com", "wrong password!", client); err != usher.ErrAuthenticationFailed {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if n := h.verifies.Load(); n != 3 {
		t.Errorf("verifies = %d; want 3", n)
	}
	// The cache expires.
	clock.Advance(61 * time.Second)
	svc.CheckBasic(ctx, "a@example.com", pw, client)
	if n := h.verifies.Load(); n != 4 {
		t.Errorf("after TTL: verifies = %d; want 4", n)
	}
	// A password change ends the cached check at once.
	svc.SetPassword(ctx, u.ID, "a brand new password")
	if _, err := svc.CheckBasic(ctx, "a@example.com", pw, client); err == nil {
		t.Error("old password accepted from the cache after a password change")
	}
	// So does disabling, even when done through another Service on the
	// same database (another process).
	svc.CheckBasic(ctx, "a@example.com", "a brand new password", client)
	other := usertest.NewService(t, usher.Config{}, svc.Store(), clock)
	other.DisableUser(ctx, u.ID)
	if _, err := svc.CheckBasic(ctx, "a@example.com", "a brand new password", client); err != usher.ErrAccountIsNotEnabled {
		t.Errorf("disabled user: %v; want ErrAccountIsNotEnabled", err)
	}
}

func TestBasicAuthLockout(t *testing.T) {
	svc, _ := newService(t, usher.Config{MaxPasswordFailures: 2, BasicAuthCacheTTL: time.Hour})
	usertest.MustCreateUser(t, svc, "a@example.com")
	if _, err := svc.CheckBasic(ctx, "a@example.com", pw, client); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		svc.CheckBasic(ctx, "a@example.com", "wrong password!", client)
	}
	if _, err := svc.CheckBasic(ctx, "a@example.com", pw, client); err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("cached check after lock-out: %v; want ErrTooManyPasswordFailures", err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []usher.Config{
		{LoginWith: "phone"},
		{LoginWith: "username"},
		{IdleTimeout: -time.Second},
		{ProfileFields: []usher.ProfileField{{Name: "Email"}}},
		{ProfileFields: []usher.ProfileField{{Name: "password"}}},
		{ProfileFields: []usher.ProfileField{{Name: "x", Type: "date"}}},
		{ProfileFields: []usher.ProfileField{{Name: "x", Pattern: "("}}},
		{ProfileFields: []usher.ProfileField{{Name: "x"}, {Name: "x"}}},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil; want an error", c)
		}
	}
	if err := (usher.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

// TestCacheFollowsOtherProcesses: a session checked (and cached) in one
// Service stops working there once another Service on the same database
// changes the user's roles or language, or disables the user, after the
// next SyncCache.
func TestCacheFollowsOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usher.db")
	a := usertest.NewService(t, usher.Config{}, usertest.MustOpen(t, path), nil)
	b := usertest.NewService(t, usher.Config{}, usertest.MustOpen(t, path), nil)
	u := usertest.MustCreateUser(t, a, "ann@example.com")
	s, _, _ := a.LoginWithEmail(ctx, u.Email, pw, false, client)
	if _, _, err := a.Authenticate(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRole(ctx, u.ID, "editor"); err != nil {
		t.Fatal(err)
	}
	a.SyncCache(ctx)
	if _, got, _ := a.Authenticate(ctx, s.Token); !got.HasRole("editor") {
		t.Fatalf("roles after another process added one: %v", got.Roles)
	}
	if err := b.SetLocale(ctx, u.ID, "fa"); err != nil {
		t.Fatal(err)
	}
	a.SyncCache(ctx)
	if _, got, err := a.Authenticate(ctx, s.Token); err != nil || got.Locale != "fa" {
		t.Fatalf("after another process set the locale: %v, %v; want Locale \"fa\"", got, err)
	}
	if err := b.DisableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	a.SyncCache(ctx)
	if _, _, err := a.Authenticate(ctx, s.Token); err != usher.ErrAuthenticationFailed {
		t.Fatalf("session after another process disabled the user: %v", err)
	}
}

// TestSharedThrottle: two Services that keep their counters in the same
// database share them, as instances behind a load balancer do.
func TestSharedThrottle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usher.db")
	stA, stB := usertest.MustOpen(t, path), usertest.MustOpen(t, path)
	cfg := usher.Config{LoginRateLimit: 3}
	// One clock for both, which stands still: the limit counts in windows
	// of a minute, and a run that crossed a minute's end on the wall clock
	// started counting again (CI saw it once).
	clock := usertest.NewClock()
	mk := func(st usher.Store) *usher.Service {
		svc, err := usher.New(cfg, usher.Deps{Store: st, Throttle: st, Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	a, b := mk(stA), mk(stB)
	for i := range 3 {
		svc := []*usher.Service{a, b}[i%2]
		if _, _, err := svc.LoginWithEmail(ctx, "x@example.com", "whatever pass", false, client); errors.Is(err, usher.ErrRateLimited) {
			t.Fatalf("attempt %d throttled", i+1)
		}
	}
	if _, _, err := b.LoginWithEmail(ctx, "x@example.com", "whatever pass", false, client); !errors.Is(err, usher.ErrRateLimited) {
		t.Fatalf("4th attempt across two instances: %v; want ErrRateLimited", err)
	}
}

// blockingMailer says on sending that a Send began, then holds it until
// release is closed.
type blockingMailer struct{ sending, release chan struct{} }

func (m blockingMailer) Send(ctx context.Context, _ *usher.Message) error {
	select {
	case m.sending <- struct{}{}:
	default:
	}
	select {
	case <-m.release:
	case <-ctx.Done():
	}
	return nil
}

// TestCacheFollowsWhileMailHangs: a session logged out on one instance
// stops working on another within about CacheSyncInterval even while that
// instance's mail delivery hangs (a stalled SMTP server). The soak found
// logged-out sessions still valid elsewhere after 2 s when the cache's
// sync waited behind delivery.
func TestCacheFollowsWhileMailHangs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usher.db")
	cfg := usher.Config{CacheSyncInterval: 20 * time.Millisecond}
	sending, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	a, err := usher.New(cfg, usher.Deps{Store: usertest.MustOpen(t, path), Passwords: usertest.FastHasher(),
		Policy: password.Policy{}, Logger: usertest.Discard, Mailer: blockingMailer{sending, release}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b := usertest.NewService(t, cfg, usertest.MustOpen(t, path), nil)
	u := usertest.MustCreateUser(t, a, "ann@example.com")
	s, _, err := b.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	// An email for a's worker to deliver, which hangs in Send.
	if err := a.SendPasswordResetEmail(ctx, u.Email, client); err != nil {
		t.Fatal(err)
	}
	select { // the worker is now inside Send
	case <-sending:
	case <-time.After(10 * time.Second):
		t.Fatal("the email was not handed to the Mailer")
	}
	if _, _, err := a.Authenticate(ctx, s.Token); err != nil { // cached here now
		t.Fatal(err)
	}
	if err := b.Logout(ctx, s.Token, client); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, _, err := a.Authenticate(ctx, s.Token)
		if err == usher.ErrAuthenticationFailed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after the log-out on another instance, the session still answers %v here", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
