package usher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// A session is fresh for FreshLogin after its log-in, and again for
// FreshLogin after the password is given again; a wrong password does
// not refresh it and counts as a failure; one session's re-authentication
// does not refresh another's.
func TestReauthenticate(t *testing.T) {
	svc, clock := newService(t, usher.Config{MaxPasswordFailures: 5})
	ctx := t.Context()
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, usertest.Password, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.LoginWithEmail(ctx, u.Email, usertest.Password, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(s *usher.Session, want bool) {
		t.Helper()
		if got, err := svc.FreshSession(ctx, s); err != nil || got != want {
			t.Fatalf("FreshSession = %v, %v; want %v", got, err, want)
		}
	}
	fresh(sess, true)
	clock.Advance(usher.FreshLogin + time.Second)
	fresh(sess, false)
	if err := svc.Reauthenticate(ctx, sess, "wrong password!", nil, usher.Client{}); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != 1 {
		t.Errorf("failures = %d, want 1", got.PasswordFailures)
	}
	fresh(sess, false)
	if err := svc.Reauthenticate(ctx, sess, usertest.Password, nil, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	fresh(sess, true)
	fresh(other, false)
	clock.Advance(usher.FreshLogin - time.Second)
	fresh(sess, true)
	clock.Advance(2 * time.Second)
	fresh(sess, false)
	// A second factor only counts for a user who has one.
	if err := svc.Reauthenticate(ctx, sess, "", &usher.SecondFactor{Type: usher.MFATOTP, Code: "123456"}, usher.Client{}); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Fatalf("second factor without one: %v", err)
	}
	fresh(sess, false)
}

// A user with an authenticator app may re-authenticate with a code from
// it; a code works once.
func TestReauthenticateWithSecondFactor(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{MaxPasswordFailures: 10})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	secret := enrolTOTP(t, svc, clock, u, sess)
	clock.Advance(usher.FreshLogin + time.Minute)
	code := mfa.TOTPCode(secret, clock.Now())
	if err := svc.Reauthenticate(ctx, sess, "", &usher.SecondFactor{Type: usher.MFATOTP, Code: code}, client); err != nil {
		t.Fatalf("with the app's code: %v", err)
	}
	if ok, _ := svc.FreshSession(ctx, sess); !ok {
		t.Error("not fresh after a second factor")
	}
	if err := svc.Reauthenticate(ctx, sess, "", &usher.SecondFactor{Type: usher.MFATOTP, Code: code}, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Errorf("the same code again: %v; want ErrAuthenticationFailed", err)
	}
}
