package usher_test

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

var linkRE = regexp.MustCompile(`/([a-z-]+)/([A-Za-z0-9_-]{43})$`)

// lastLink returns the token in the newest e-mail of kind to addr, read
// from the outbox once the outbox worker has answered the asks for links.
func lastLink(t *testing.T, svc *usher.Service, to, kind string) string {
	t.Helper()
	svc.DeliverMail(ctx)
	msgs, err := svc.Store().ListMessages(ctx, to, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			mm := linkRE.FindStringSubmatch(m.Vars["link"])
			if mm == nil {
				t.Fatalf("%s e-mail has no link: %v", kind, m.Vars)
			}
			return mm[2]
		}
	}
	t.Fatalf("no %s e-mail to %s in %d messages", kind, to, len(msgs))
	return ""
}

func countMail(t *testing.T, svc *usher.Service, to, kind string) int {
	t.Helper()
	svc.DeliverMail(ctx)
	msgs, _ := svc.Store().ListMessages(ctx, to, 100)
	n := 0
	for _, m := range msgs {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

func TestConfirmEmailFlow(t *testing.T) {
	svc, clock := newService(t, usher.Config{EnableConfirmEmail: true, AutoLoginAfterConfirm: true, BaseURL: "https://auth.example.com"})
	u, sess, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	if err != nil || sess != nil {
		t.Fatalf("signup: %v, session %v; want no session before confirmation", err, sess)
	}
	msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
	if len(msgs) != 1 || msgs[0].Kind != usher.MailConfirmEmail || !strings.HasPrefix(msgs[0].Vars["link"], "https://auth.example.com/user/confirm-email/") {
		t.Fatalf("outbox after signup: %+v", msgs)
	}
	tok := lastLink(t, svc, u.Email, usher.MailConfirmEmail)
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != usher.ErrEmailNotConfirmed {
		t.Fatalf("log-in before confirming: %v", err)
	}
	// Bad tokens change nothing.
	for _, bad := range []string{"", "short", tok[:42] + "A", strings.ToUpper(tok[:1]) + tok[1:]} {
		if bad == tok {
			continue
		}
		if _, _, err := svc.ConfirmEmail(ctx, bad, client); err != usher.ErrInvalidToken {
			t.Errorf("ConfirmEmail(%q) = %v; want ErrInvalidToken", bad, err)
		}
	}
	if got, _ := svc.User(ctx, u.ID); got.EmailConfirmed() {
		t.Fatal("a bad token confirmed the address")
	}
	// A token of another kind does not work either.
	if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "a brand new password", client); err != usher.ErrInvalidToken {
		t.Fatalf("confirm token used as reset token: %v", err)
	}
	got, s2, err := svc.ConfirmEmail(ctx, tok, client)
	if err != nil || !got.EmailConfirmed() || s2 == nil {
		t.Fatalf("ConfirmEmail: %v, %v, session %v", got, err, s2)
	}
	if _, _, err := svc.ConfirmEmail(ctx, tok, client); err != usher.ErrInvalidToken {
		t.Fatalf("replayed link: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatalf("log-in after confirming: %v", err)
	}
	// Expiry.
	svc.SendConfirmEmail(ctx, u.Email, client) // confirmed already: nothing sent
	if n := countMail(t, svc, u.Email, usher.MailConfirmEmail); n != 1 {
		t.Errorf("resend to a confirmed address sent mail (%d confirm e-mails)", n)
	}
	v, _, _ := svc.SignupWithEmail(ctx, usher.Signup{Email: "bob@example.com", Password: pw}, client)
	tok = lastLink(t, svc, v.Email, usher.MailConfirmEmail)
	clock.Advance(49 * time.Hour)
	if _, _, err := svc.ConfirmEmail(ctx, tok, client); err != usher.ErrInvalidToken {
		t.Fatalf("expired link: %v", err)
	}
	if err := svc.SendConfirmEmail(ctx, "BOB@example.com", client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ConfirmEmail(ctx, lastLink(t, svc, v.Email, usher.MailConfirmEmail), client); err != nil {
		t.Fatalf("resent link: %v", err)
	}
}

func TestMailRequestsDoNotEnumerate(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableConfirmEmail: true, EnableLoginLink: true})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	for _, f := range []func(string) error{
		func(e string) error { return svc.SendConfirmEmail(ctx, e, client) },
		func(e string) error { return svc.SendPasswordResetEmail(ctx, e, client) },
		func(e string) error { return svc.SendLoginLink(ctx, e, client) },
	} {
		if a, b := f("ann@example.com"), f("nobody@example.com"); a != nil || b != nil {
			t.Errorf("existing: %v, unknown: %v; want nil and nil", a, b)
		}
		var ve *usher.ValidationError
		if err := f("not an address"); !errors.As(err, &ve) {
			t.Errorf("bad address: %v; want a ValidationError", err)
		}
	}
	if n := countMail(t, svc, "nobody@example.com", usher.MailResetPassword); n != 0 {
		t.Errorf("mail to an unknown address")
	}
}

func TestResetPasswordFlow(t *testing.T) {
	svc, clock := newService(t, usher.Config{MaxPasswordFailures: 2, LockoutDuration: -1, EnableConfirmEmail: true, EnableLoginWithoutConfirmEmail: true})
	u, _, _ := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	other, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, true, client)
	for range 2 {
		svc.LoginWithEmail(ctx, u.Email, "wrong password!", false, client)
	}
	if err := svc.SendPasswordResetEmail(ctx, "Ann@Example.com", client); err != nil {
		t.Fatal(err)
	}
	first := lastLink(t, svc, u.Email, usher.MailResetPassword)
	svc.SendPasswordResetEmail(ctx, u.Email, client)
	tok := lastLink(t, svc, u.Email, usher.MailResetPassword)
	if first == tok {
		t.Fatal("two reset e-mails carry the same link")
	}
	if _, _, err := svc.ResetPasswordWithToken(ctx, first, "a brand new password", client); err != usher.ErrInvalidToken {
		t.Errorf("an older reset link still works: %v", err)
	}
	// A password the policy refuses does not use the link up.
	var pe *usher.PasswordError
	if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "password", client); !errors.As(err, &pe) {
		t.Fatalf("weak password: %v", err)
	}
	if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "ann@example.com", client); !errors.As(err, &pe) {
		t.Fatalf("password = e-mail: %v", err)
	}
	got, sess, err := svc.ResetPasswordWithToken(ctx, tok, "a brand new password", client)
	if err != nil || sess != nil {
		t.Fatalf("reset: %v, session %v (no auto-login configured)", err, sess)
	}
	if !got.EmailConfirmed() || got.PasswordFailures != 0 {
		t.Errorf("after reset: confirmed %v, failures %d; want confirmed and 0", got.EmailConfirmed(), got.PasswordFailures)
	}
	if _, _, err := svc.Authenticate(ctx, other.Token); err != usher.ErrAuthenticationFailed {
		t.Errorf("a session survived the reset: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, "a brand new password", false, client); err != nil {
		t.Errorf("log-in with the new password (lock-out lifted): %v", err)
	}
	if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "yet another password", client); err != usher.ErrInvalidToken {
		t.Errorf("replayed reset link: %v", err)
	}
	if n := countMail(t, svc, u.Email, usher.MailPasswordChanged); n != 1 {
		t.Errorf("%d password-changed e-mails; want 1", n)
	}
	svc.SendPasswordResetEmail(ctx, u.Email, client)
	tok = lastLink(t, svc, u.Email, usher.MailResetPassword)
	clock.Advance(61 * time.Minute)
	if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "yet another password", client); err != usher.ErrInvalidToken {
		t.Errorf("expired reset link: %v", err)
	}
}

func TestResetLinkOnlyOnce(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	svc.SendPasswordResetEmail(ctx, u.Email, client)
	tok := lastLink(t, svc, u.Email, usher.MailResetPassword)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 10 {
		wg.Go(func() {
			if _, _, err := svc.ResetPasswordWithToken(ctx, tok, "a brand new password "+string(rune('a'+i)), client); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent uses of one reset link succeeded; want 1", ok)
	}
}

func TestLoginLinkFlow(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableLoginLink: true})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if err := svc.SendLoginLink(ctx, u.Email, client); err != nil {
		t.Fatal(err)
	}
	tok := lastLink(t, svc, u.Email, usher.MailLoginLink)
	sess, got, err := svc.LoginWithLink(ctx, tok, true, "", client)
	if err != nil || got.ID != u.ID || !sess.Remember {
		t.Fatalf("LoginWithLink: %v, %v, %v", sess, got, err)
	}
	if _, _, err := svc.LoginWithLink(ctx, tok, false, "", client); err != usher.ErrInvalidToken {
		t.Fatalf("replayed login link: %v", err)
	}
	svc.SendLoginLink(ctx, u.Email, client)
	tok = lastLink(t, svc, u.Email, usher.MailLoginLink)
	svc.DisableUser(ctx, u.ID)
	if _, _, err := svc.LoginWithLink(ctx, tok, false, "", client); err != usher.ErrAccountIsNotEnabled {
		t.Fatalf("login link of a disabled user: %v", err)
	}
	off, _ := newService(t, usher.Config{})
	if err := off.SendLoginLink(ctx, "ann@example.com", client); err != usher.ErrNotFound {
		t.Fatalf("login links off: %v", err)
	}
}

func TestNotifications(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u, sess, _ := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	if n := countMail(t, svc, u.Email, usher.MailRegistered); n != 1 {
		t.Errorf("%d welcome e-mails; want 1", n)
	}
	if _, err := svc.ChangePassword(ctx, sess, pw, "a brand new password", client); err != nil {
		t.Fatal(err)
	}
	if n := countMail(t, svc, u.Email, usher.MailPasswordChanged); n != 1 {
		t.Errorf("%d password-changed e-mails; want 1", n)
	}
	quiet, _ := newService(t, usher.Config{DisableRegisteredEmail: true, DisablePasswordChangedEmail: true})
	v, s2, _ := quiet.SignupWithEmail(ctx, usher.Signup{Email: "bob@example.com", Password: pw}, client)
	quiet.ChangePassword(ctx, s2, pw, "a brand new password", client)
	if msgs, _ := quiet.Store().ListMessages(ctx, v.Email, 10); len(msgs) != 0 {
		t.Errorf("notifications turned off, yet %d e-mails", len(msgs))
	}
}

// TestLinkForAnAddressNoLongerTheUsers: a confirmation link sent to an
// address the user has since removed is refused, and changes nothing.
func TestLinkForAnAddressNoLongerTheUsers(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableMultipleEmails: true})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	e, err := svc.AddEmail(ctx, u.ID, "ann@old.example", client)
	if err != nil {
		t.Fatal(err)
	}
	tok := lastLink(t, svc, "ann@old.example", usher.MailConfirmEmail)
	if err := svc.RemoveEmail(ctx, u.ID, e.ID, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ConfirmEmail(ctx, tok, client); err != usher.ErrInvalidToken {
		t.Fatalf("link for a removed address: %v; want ErrInvalidToken", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "ann@old.example", pw, false, client); err != usher.ErrAuthenticationFailed {
		t.Errorf("log-in with the removed address: %v", err)
	}
}
