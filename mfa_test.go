package usher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

func newMFAService(t *testing.T, cfg usher.Config) (*usher.Service, *usertest.Clock) {
	t.Helper()
	clock := usertest.NewClock()
	sealer, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := usher.New(cfg, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
		MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: sealer, Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, clock
}

// enrolTOTP adds a TOTP method to u and returns its secret.
func enrolTOTP(t *testing.T, svc *usher.Service, clock *usertest.Clock, u *usher.User, sess *usher.Session) []byte {
	t.Helper()
	setup, err := svc.GenerateTOTPSecret(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := mfa.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := svc.ValidateTOTPCode(setup.Method, mfa.TOTPCode(secret, clock.Now())); !ok {
		t.Fatal("ValidateTOTPCode refused the current code")
	}
	if _, err := svc.AddMFAMethod(ctx, sess, "wrong password!", setup.Method, mfa.TOTPCode(secret, clock.Now()), "", false, client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("add with a wrong password: %v", err)
	}
	if _, err := svc.AddMFAMethod(ctx, sess, pw, setup.Method, "000000", "", false, client); !errors.Is(err, usher.ErrValidation) {
		t.Fatalf("add with a wrong code: %v", err)
	}
	if _, err := svc.AddMFAMethod(ctx, sess, pw, setup.Method, mfa.TOTPCode(secret, clock.Now()), "Phone", false, client); err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestTOTPLogin(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{MaxPasswordFailures: 10, EnableLoginLink: true})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	secret := enrolTOTP(t, svc, clock, u, sess)
	clock.Advance(30 * time.Second)

	// Password alone: a pending log-in, no session.
	s, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	var mr *usher.MFARequiredError
	if !errors.As(err, &mr) || s != nil || len(mr.Types) != 1 || mr.Types[0] != usher.MFATOTP {
		t.Fatalf("password only: %v, %v", s, err)
	}
	// A wrong code counts as a failure and leaves the pending log-in open.
	before, _ := svc.User(ctx, u.ID)
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: "totp", Code: "123456"}, false, false, client); !errors.Is(err, usher.ErrMFARequired) {
		t.Fatalf("wrong code: %v", err)
	}
	if got, _ := svc.User(ctx, u.ID); got.PasswordFailures != before.PasswordFailures+1 {
		t.Errorf("failures after a wrong code: %d; want %d", got.PasswordFailures, before.PasswordFailures+1)
	}
	code := mfa.TOTPCode(secret, clock.Now())
	s, got, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: "totp", Code: code}, false, true, client)
	if err != nil || got.ID != u.ID || s.DeviceToken == "" {
		t.Fatalf("complete: %v, %v", s, err)
	}
	// The same code does not work twice; neither does the pending token.
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &usher.SecondFactor{Type: "totp", Code: code}}, client); !errors.Is(err, usher.ErrMFARequired) {
		t.Fatalf("replayed code: %v", err)
	}
	if _, _, err := svc.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: "totp", Code: code}, false, false, client); err != usher.ErrInvalidToken {
		t.Fatalf("pending token reused: %v", err)
	}
	// A remembered device needs no code; another device does.
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, DeviceToken: s.DeviceToken}, client); err != nil {
		t.Fatalf("remembered device: %v", err)
	}
	clock.Advance(30 * time.Second)
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &usher.SecondFactor{Type: "totp", Code: mfa.TOTPCode(secret, clock.Now())}}, client); err != nil {
		t.Fatalf("password and code together (Anvil's mfa argument): %v", err)
	}
	// No other path skips the second factor: login links, Basic auth.
	svc.SendLoginLink(ctx, u.Email, client)
	if _, _, err := svc.LoginWithLink(ctx, lastLink(t, svc, u.Email, usher.MailLoginLink), false, "", client); !errors.As(err, &mr) {
		t.Fatalf("login link of an MFA user: %v", err)
	}
	if _, err := svc.CheckBasic(ctx, u.Email, pw, client); err != usher.ErrMFARequired {
		t.Fatalf("Basic auth of an MFA user: %v", err)
	}
	// ForceLogin is the deliberate exception.
	if _, err := svc.ForceLogin(ctx, u.ID, false, client); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	enrolTOTP(t, svc, clock, u, sess)
	codes, err := svc.NewRecoveryCodes(ctx, u.ID, client)
	if err != nil || len(codes) != 10 {
		t.Fatalf("codes: %v %v", codes, err)
	}
	types, err := svc.AvailableMFATypes(ctx, usher.Credentials{Email: u.Email, Password: pw}, client)
	if err != nil || len(types) != 2 {
		t.Fatalf("available types: %v %v", types, err)
	}
	if _, err := svc.AvailableMFATypes(ctx, usher.Credentials{Email: u.Email, Password: "wrong password!"}, client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("available types with a wrong password: %v", err)
	}
	rec := &usher.SecondFactor{Type: "recovery", Code: codes[3]}
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: rec}, client); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: rec}, client); !errors.Is(err, usher.ErrMFARequired) {
		t.Fatalf("recovery code used twice: %v", err)
	}
	svc.NewRecoveryCodes(ctx, u.ID, client)
	if _, _, err := svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &usher.SecondFactor{Type: "recovery", Code: codes[4]}}, client); !errors.Is(err, usher.ErrMFARequired) {
		t.Fatalf("an old code after regenerating: %v", err)
	}
}

func TestWrongCodesLockOut(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{MaxPasswordFailures: 3, LockoutDuration: -1})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	enrolTOTP(t, svc, clock, u, sess)
	var err error
	for range 3 {
		_, _, err = svc.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &usher.SecondFactor{Type: "totp", Code: "000000"}}, client)
	}
	if err != usher.ErrTooManyPasswordFailures {
		t.Fatalf("after 3 wrong codes: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := mfa.NewKey(), mfa.NewKey()
	st := usertest.NewSQLiteStore(t)
	clock := usertest.NewClock()
	mk := func(keys ...[]byte) *usher.Service {
		sealer, err := mfa.NewSealer(keys...)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := usher.New(usher.Config{}, usher.Deps{Store: st, Passwords: usertest.FastHasher(), Policy: password.Policy{},
			MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: sealer, Now: clock.Now, Logger: usertest.Discard})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		return svc
	}
	before := mk(oldKey)
	u := usertest.MustCreateUser(t, before, "ann@example.com")
	sess, _, _ := before.LoginWithEmail(ctx, u.Email, pw, false, client)
	secret := enrolTOTP(t, before, clock, u, sess)
	clock.Advance(30 * time.Second)
	after := mk(newKey, oldKey)
	if n, err := after.ResealSecrets(ctx); err != nil || n != 1 {
		t.Fatalf("reseal: %d, %v", n, err)
	}
	if e := lastEvent(t, after); e.Type != usher.EventSecretsResealed || e.Detail != "1" || e.Actor.Kind != usher.ActorSystem {
		t.Errorf("audit entry of the reseal: %+v", *e)
	}
	only := mk(newKey) // the old key is gone now
	if _, _, err := only.Login(ctx, usher.Credentials{Email: u.Email, Password: pw, MFA: &usher.SecondFactor{Type: "totp", Code: mfa.TOTPCode(secret, clock.Now())}}, client); err != nil {
		t.Fatalf("log-in after rotation with the new key only: %v", err)
	}
	if _, err := mk(mfa.NewKey()).ResealSecrets(ctx); err == nil {
		t.Error("re-sealing without the key that sealed succeeded")
	}
}

func TestMFAResetByEmail(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{AllowMFAEmailReset: true, MaxPasswordFailures: 5})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	enrolTOTP(t, svc, clock, u, sess)
	svc.NewRecoveryCodes(ctx, u.ID, client)
	if err := svc.SendMFAResetEmail(ctx, "nobody@example.com", client); err != nil {
		t.Fatalf("unknown address: %v (must look like success)", err)
	}
	if err := svc.SendMFAResetEmail(ctx, u.Email, client); err != nil {
		t.Fatal(err)
	}
	tok := lastLink(t, svc, u.Email, usher.MailMFAReset)
	if err := svc.ResetMFAWithToken(ctx, tok, "wrong password!", client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("wrong password: %v", err)
	}
	if methods, _ := svc.ListMFAMethods(ctx, u.ID); len(methods) != 1 {
		t.Fatal("a wrong password removed the second factor")
	}
	if err := svc.ResetMFAWithToken(ctx, tok, pw, client); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := svc.ResetMFAWithToken(ctx, tok, pw, client); err != usher.ErrInvalidToken {
		t.Fatalf("replayed reset link: %v", err)
	}
	if _, _, err := svc.Authenticate(ctx, sess.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("a session survived the second-factor reset: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("log-in after the reset: %v", err)
	}
	off, _ := newMFAService(t, usher.Config{})
	if err := off.SendMFAResetEmail(ctx, u.Email, client); err != usher.ErrNotFound {
		t.Errorf("option off: %v", err)
	}
}

func TestClearExistingReplaces(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	enrolTOTP(t, svc, clock, u, sess)
	setup, _ := svc.GenerateTOTPSecret(ctx, u)
	secret, _ := mfa.DecodeSecret(setup.Secret)
	if _, err := svc.AddMFAMethod(ctx, sess, pw, setup.Method, mfa.TOTPCode(secret, clock.Now()), "New phone", true, client); err != nil {
		t.Fatal(err)
	}
	list, _ := svc.ListMFAMethods(ctx, u.ID)
	if len(list) != 1 || list[0].Name != "New phone" || list[0].Secret != nil {
		t.Fatalf("methods after clear_existing: %+v", list)
	}
	if err := svc.RemoveMFAMethod(ctx, u.ID, list[0].ID, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("log-in after removing the only method: %v", err)
	}
}
