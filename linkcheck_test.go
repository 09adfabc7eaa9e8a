package usher_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// linkKind is one kind of e-mailed link, for TestCheckLink: how to have
// one sent to ann@example.com, read it, and use it.
type linkKind struct {
	kind string
	ttl  time.Duration
	send func(t *testing.T, svc *usher.Service) string // returns the token
	use  func(svc *usher.Service, tok string) error
}

func linkKinds() []linkKind {
	const email = "ann@example.com"
	mailed := func(mail string, send func(*usher.Service) error) func(*testing.T, *usher.Service) string {
		return func(t *testing.T, svc *usher.Service) string {
			t.Helper()
			if err := send(svc); err != nil {
				t.Fatal(err)
			}
			return lastLink(t, svc, email, mail)
		}
	}
	return []linkKind{
		{usher.TokenConfirmEmail, 48 * time.Hour,
			mailed(usher.MailConfirmEmail, func(svc *usher.Service) error { return svc.SendConfirmEmail(ctx, email, client) }),
			func(svc *usher.Service, tok string) error {
				_, _, err := svc.ConfirmEmail(ctx, tok, client)
				return err
			}},
		{usher.TokenResetPassword, time.Hour,
			mailed(usher.MailResetPassword, func(svc *usher.Service) error { return svc.SendPasswordResetEmail(ctx, email, client) }),
			func(svc *usher.Service, tok string) error {
				_, _, err := svc.ResetPasswordWithToken(ctx, tok, pw, client)
				return err
			}},
		{usher.TokenLoginLink, 15 * time.Minute,
			mailed(usher.MailLoginLink, func(svc *usher.Service) error { return svc.SendLoginLink(ctx, email, client) }),
			func(svc *usher.Service, tok string) error {
				_, _, err := svc.LoginWithLink(ctx, tok, false, "", client)
				return err
			}},
		{usher.TokenMFAReset, time.Hour,
			mailed(usher.MailMFAReset, func(svc *usher.Service) error { return svc.SendMFAResetEmail(ctx, email, client) }),
			func(svc *usher.Service, tok string) error { return svc.ResetMFAWithToken(ctx, tok, pw, client) }},
		{usher.TokenInvitation, 90 * 24 * time.Hour,
			func(t *testing.T, svc *usher.Service) string {
				t.Helper()
				const to = "invited@example.com"
				if err := svc.Invite(ctx, to, mustUser(t, svc, "boss@example.com").ID, client); err != nil {
					t.Fatal(err)
				}
				msgs, _ := svc.Store().ListMessages(ctx, to, 1)
				link := msgs[0].Vars["link"]
				return link[strings.Index(link, "token=")+len("token="):]
			},
			func(svc *usher.Service, tok string) error {
				_, _, err := svc.SignupWithEmail(ctx, usher.Signup{Password: pw, InvitationToken: tok}, client)
				return err
			}},
	}
}

// TestCheckLink: the page an e-mailed link opens can tell at once whether
// the link still works. Checking neither uses the link up nor extends it;
// a used, expired, replaced, unknown or other kind's link is
// ErrInvalidToken, as using it would be.
func TestCheckLink(t *testing.T) {
	cfg := usher.Config{EnableConfirmEmail: true, EnableLoginLink: true, AllowMFAEmailReset: true, EnableInviteUser: true}
	for _, k := range linkKinds() {
		t.Run(k.kind, func(t *testing.T) {
			svc, clock := newMFAService(t, cfg)
			usertest.MustCreateUser(t, svc, "boss@example.com")
			if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
				t.Fatal(err)
			}

			tok := k.send(t, svc)
			for i := range 3 {
				if err := svc.CheckLink(ctx, k.kind, tok); err != nil {
					t.Fatalf("check %d of a new link: %v", i+1, err)
				}
			}
			other := "A"
			if strings.HasSuffix(tok, other) {
				other = "B"
			}
			for _, bad := range []string{"", "short", tok[:42] + other, tok + "A"} {
				if err := svc.CheckLink(ctx, k.kind, bad); err != usher.ErrInvalidToken {
					t.Errorf("CheckLink(%q) = %v; want ErrInvalidToken", bad, err)
				}
			}
			for _, other := range []string{usher.TokenConfirmEmail, usher.TokenResetPassword, usher.TokenLoginLink, "mfa_pending", "mfa_device"} {
				if other != k.kind {
					if err := svc.CheckLink(ctx, other, tok); err != usher.ErrInvalidToken {
						t.Errorf("checked as %s: %v; want ErrInvalidToken", other, err)
					}
				}
			}
			// The checks did not use the link: it works, once.
			clock.Advance(k.ttl - time.Minute)
			if err := k.use(svc, tok); err != nil {
				t.Fatalf("using the link after checking it: %v", err)
			}
			if err := svc.CheckLink(ctx, k.kind, tok); err != usher.ErrInvalidToken {
				t.Errorf("check of a used link: %v; want ErrInvalidToken", err)
			}

			// Checking does not extend a link's life.
			switch k.kind {
			case usher.TokenInvitation:
				svc.Store().DeleteUser(ctx, mustUser(t, svc, "invited@example.com").ID)
			case usher.TokenConfirmEmail:
				var unconfirmed time.Time
				svc.Store().UpdateUser(ctx, mustUser(t, svc, "ann@example.com").ID, usher.UserUpdate{EmailConfirmedAt: &unconfirmed})
			}
			tok = k.send(t, svc)
			clock.Advance(k.ttl - time.Minute)
			if err := svc.CheckLink(ctx, k.kind, tok); err != nil {
				t.Fatalf("check just before expiry: %v", err)
			}
			clock.Advance(2 * time.Minute)
			if err := svc.CheckLink(ctx, k.kind, tok); err != usher.ErrInvalidToken {
				t.Errorf("check of an expired link: %v; want ErrInvalidToken", err)
			}
			if err := k.use(svc, tok); err != usher.ErrInvalidToken {
				t.Errorf("using an expired link: %v; want ErrInvalidToken", err)
			}
		})
	}
}

func mustUser(t *testing.T, svc *usher.Service, email string) *usher.User {
	t.Helper()
	u, err := svc.Store().UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCheckLinkAddressGone: a link sent to an address the account no
// longer has, or to a deleted account, is dead for the check as for its
// use; a flow that is turned off is ErrNotFound.
func TestCheckLinkAddressGone(t *testing.T) {
	svc, _ := newMFAService(t, usher.Config{EnableLoginLink: true})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if err := svc.SendPasswordResetEmail(ctx, u.Email, client); err != nil {
		t.Fatal(err)
	}
	tok := lastLink(t, svc, u.Email, usher.MailResetPassword)
	if err := svc.CheckLink(ctx, usher.TokenResetPassword, tok); err != nil {
		t.Fatal(err)
	}
	moved := "ann.moved@example.com"
	if err := svc.Store().UpdateUser(ctx, u.ID, usher.UserUpdate{Email: &moved}); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckLink(ctx, usher.TokenResetPassword, tok); err != usher.ErrInvalidToken {
		t.Errorf("link to a former address: %v; want ErrInvalidToken", err)
	}

	if err := svc.SendLoginLink(ctx, moved, client); err != nil {
		t.Fatal(err)
	}
	tok = lastLink(t, svc, moved, usher.MailLoginLink)
	if err := svc.Store().DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.CheckLink(ctx, usher.TokenLoginLink, tok); err != usher.ErrInvalidToken {
		t.Errorf("link of a deleted account: %v; want ErrInvalidToken", err)
	}

	off, _ := newMFAService(t, usher.Config{})
	for _, kind := range []string{usher.TokenLoginLink, usher.TokenMFAReset} {
		if err := off.CheckLink(ctx, kind, tok); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("%s turned off: %v; want ErrNotFound", kind, err)
		}
	}
}
