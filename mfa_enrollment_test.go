package usher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// TestRequireMFAEnrollment: with RequireMFA, a user without a second factor
// gets no session from a right password — only a pending enrolment that
// setting up an authenticator app completes — and no other path (sign-up,
// login link, Basic auth) skips it.
func TestRequireMFAEnrollment(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{RequireMFA: true, EnableLoginLink: true, MaxPasswordFailures: 10})

	// Sign-up starts no session.
	u, sess, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	if err != nil || sess != nil {
		t.Fatalf("sign-up: %v, session %v; want the user and no session", err, sess)
	}
	_, _, err = svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	var mr *usher.MFARequiredError
	if !errors.As(err, &mr) || !mr.Enroll || mr.Pending == "" {
		t.Fatalf("log-in without a second factor: %v; want an enrolment", err)
	}
	// The pending log-in of an enrolment does not complete a normal
	// second-factor log-in, and a wrong code counts as a failure.
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: "totp", Code: "123456"}, false, false, client); err != usher.ErrInvalidToken {
		t.Fatalf("CompleteMFALogin with an enrolment token: %v", err)
	}
	setup, err := svc.GenerateEnrollmentTOTPSecret(ctx, mr.Pending)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := mfa.DecodeSecret(setup.Secret)
	if _, _, err := svc.CompleteMFAEnrollment(ctx, mr.Pending, setup.Method, "000000", "", false, client); !errors.Is(err, usher.ErrValidation) {
		t.Fatalf("wrong code: %v", err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != 1 {
		t.Errorf("failures after a wrong enrolment code: %d", got.PasswordFailures)
	}
	if _, err := svc.GenerateEnrollmentTOTPSecret(ctx, "not-a-token"); err != usher.ErrInvalidToken {
		t.Fatalf("bad token: %v", err)
	}
	s, got, err := svc.CompleteMFAEnrollment(ctx, mr.Pending, setup.Method, mfa.TOTPCode(secret, clock.Now()), "Phone", true, client)
	if err != nil || s == nil || got.ID != u.ID || !s.Remember {
		t.Fatalf("enrolment: %v %v", s, err)
	}
	if ms, _ := svc.ListMFAMethods(ctx, u.ID); len(ms) != 1 || ms[0].Name != "Phone" {
		t.Fatalf("methods after enrolment: %v", ms)
	}
	if _, _, err := svc.CompleteMFAEnrollment(ctx, mr.Pending, setup.Method, mfa.TOTPCode(secret, clock.Now()), "", false, client); err != usher.ErrInvalidToken {
		t.Fatalf("enrolment token reused: %v", err)
	}
	// From now on the user logs in with the second factor as usual.
	clock.Advance(30 * time.Second)
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); !errors.As(err, &mr) || mr.Enroll {
		t.Fatalf("log-in after enrolment: %v; want a second-factor step", err)
	}

	// Another user without a second factor: no path skips enrolment.
	bob := usertest.MustCreateUser(t, svc, "bob@example.com")
	svc.SendLoginLink(ctx, bob.Email, client)
	if _, _, err := svc.LoginWithLink(ctx, lastLink(t, svc, bob.Email, usher.MailLoginLink), false, "", client); !errors.As(err, &mr) || !mr.Enroll {
		t.Fatalf("login link: %v; want an enrolment", err)
	}
	if _, err := svc.CheckBasic(ctx, bob.Email, pw, client); err != usher.ErrMFARequired {
		t.Fatalf("Basic auth: %v", err)
	}
}

// TestRequireMFANoAutoLoginByLink: with RequireMFA, confirming an address
// or resetting a password by e-mail starts no session, even with the
// automatic log-ins on: the user logs in and enrols.
func TestRequireMFANoAutoLoginByLink(t *testing.T) {
	svc, _ := newMFAService(t, usher.Config{RequireMFA: true, EnableConfirmEmail: true, AutoLoginAfterConfirm: true, AutoLoginAfterReset: true})
	u, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "cy@example.com", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, sess, err := svc.ConfirmEmail(ctx, lastLink(t, svc, u.Email, usher.MailConfirmEmail), client); err != nil || sess != nil {
		t.Fatalf("confirm: %v, session %v; want no session", err, sess)
	}
	svc.SendPasswordResetEmail(ctx, u.Email, client)
	if _, sess, err := svc.ResetPasswordWithToken(ctx, lastLink(t, svc, u.Email, usher.MailResetPassword), "a brand new password", client); err != nil || sess != nil {
		t.Fatalf("reset: %v, session %v; want no session", err, sess)
	}
	var mr *usher.MFARequiredError
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "a brand new password", false, client); !errors.As(err, &mr) || !mr.Enroll {
		t.Fatalf("log-in after the links: %v; want an enrolment", err)
	}
}

// TestRequireMFANeedsSecondFactors: RequireMFA without the machinery is a
// configuration error, not a silent no-op.
func TestRequireMFANeedsSecondFactors(t *testing.T) {
	_, err := usher.New(usher.Config{RequireMFA: true}, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}})
	if err == nil {
		t.Fatal("RequireMFA without Deps.MFA was accepted")
	}
}
