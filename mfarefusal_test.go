package usher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// refusal returns the Reason of err, an *MFARequiredError, failing
// unless it is one.
func refusal(t *testing.T, err error) string {
	t.Helper()
	var mr *usher.MFARequiredError
	if !errors.As(err, &mr) {
		t.Fatalf("got %v; want an *MFARequiredError", err)
	}
	return mr.Reason
}

// TestMFARefusalReasons: a refused second factor says why — a wrong code,
// a code already used, a wrong recovery code — while a missing one says
// nothing; each refusal still counts as a failure.
func TestMFARefusalReasons(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{MaxPasswordFailures: 50})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	secret := enrolTOTP(t, svc, clock, u, sess)
	if _, err := svc.NewRecoveryCodes(ctx, u.ID, client); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second)

	_, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if got := refusal(t, err); got != "" {
		t.Errorf("password only: reason %q; want none", got)
	}
	var mr *usher.MFARequiredError
	errors.As(err, &mr)
	code := mfa.TOTPCode(secret, clock.Now())
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: "totp", Code: code}, false, false, client); err != nil {
		t.Fatal(err)
	}

	failures := func() int {
		got, _ := svc.User(ctx, u.ID)
		return got.PasswordFailures
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	tests := []struct {
		name string
		f    usher.SecondFactor
		want string
	}{
		{"wrong code", usher.SecondFactor{Type: "totp", Code: wrong}, usher.MsgMFACodeWrong},
		{"code used", usher.SecondFactor{Type: "totp", Code: code}, usher.MsgMFACodeUsed},
		{"code used, spaced", usher.SecondFactor{Type: "totp", Code: code[:3] + " " + code[3:]}, usher.MsgMFACodeUsed},
		{"wrong recovery code", usher.SecondFactor{Type: "recovery", Code: "AAAA-BBBB"}, usher.MsgRecoveryCodeWrong},
		{"key without state", usher.SecondFactor{Type: usher.MFAFIDO, Code: "{}"}, usher.MsgMFAKeyRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := failures()
			_, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
			errors.As(err, &mr)
			_, _, err = svc.CompleteMFALogin(ctx, mr.Pending, tt.f, false, false, client)
			if got := refusal(t, err); got != tt.want {
				t.Errorf("CompleteMFALogin: reason %q; want %q", got, tt.want)
			}
			_, _, err = svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &tt.f}, client)
			if got := refusal(t, err); got != tt.want {
				t.Errorf("Login with the factor: reason %q; want %q", got, tt.want)
			}
			errors.As(err, &mr)
			if mr.Pending == "" {
				t.Error("Login with a refused factor: no pending log-in")
			}
			if got := failures(); got != before+2 {
				t.Errorf("failures: %d; want %d (each refusal counts)", got, before+2)
			}
		})
	}
}

// TestPasskeyRefusalReason: a refused passkey says so rather than
// blaming a password nobody typed, and still unwraps to
// ErrAuthenticationFailed.
func TestPasskeyRefusalReason(t *testing.T) {
	clock := usertest.NewClock()
	svc := newWebAuthnService(t, usher.Config{EnablePasskeys: true}, usertest.NewSQLiteStore(t), clock)
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	addKey(t, svc, sess, newSoftKey(t))

	opts, state, err := svc.BeginPasskeyLogin(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	stranger := newSoftKey(t)
	stranger.userHandle = []byte(u.ID)
	_, _, err = svc.FinishPasskeyLogin(ctx, state, stranger.get(opts), false, client)
	var le *usher.LoginError
	if !errors.As(err, &le) || le.Reason != usher.MsgPasskeyRefused || !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Fatalf("a key not the user's: %v; want a *LoginError with %q", err, usher.MsgPasskeyRefused)
	}
}
