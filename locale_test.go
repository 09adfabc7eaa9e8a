package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// mailLocale returns the Locale of the newest e-mail of kind to addr.
func mailLocale(t *testing.T, svc *usher.Service, to, kind string) string {
	t.Helper()
	svc.DeliverMail(ctx)
	msgs, err := svc.Store().ListMessages(ctx, to, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			return m.Locale
		}
	}
	t.Fatalf("no %s e-mail to %s in %d messages", kind, to, len(msgs))
	return ""
}

func TestSetLocale(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if u.Locale != "" {
		t.Fatalf("new user's Locale = %q, want \"\"", u.Locale)
	}
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	// The session and its user are cached from here on.
	if _, got, err := svc.Authenticate(ctx, sess.Token); err != nil || got.Locale != "" {
		t.Fatalf("Authenticate: %v, %v", got, err)
	}
	events := func() int {
		evs, err := svc.Events(ctx, u.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	for _, loc := range []string{"de", "fa", "zh-Hant-TW", "pt-BR", "sr-Latn", "es-419", "x-klingon", "de-CH-1996",
		" en-GB ", strings.Repeat("abcdefg-", 4) + "abc"} {
		if err := svc.SetLocale(ctx, u.ID, loc); err != nil {
			t.Fatalf("SetLocale(%q): %v", loc, err)
		}
		want := strings.TrimSpace(loc)
		if got, _ := svc.User(ctx, u.ID); got.Locale != want {
			t.Errorf("after SetLocale(%q): Locale = %q, want %q", loc, got.Locale, want)
		}
		// The cached session sees the new value at once.
		if _, got, err := svc.Authenticate(ctx, sess.Token); err != nil || got.Locale != want {
			t.Errorf("Authenticate after SetLocale(%q): Locale %q, %v; want %q", loc, got.Locale, err, want)
		}
	}
	if err := svc.SetLocale(ctx, u.ID, "de"); err != nil {
		t.Fatal(err)
	}

	// Setting the same value again changes nothing and records nothing.
	n := events()
	if err := svc.SetLocale(ctx, u.ID, "de"); err != nil {
		t.Fatal(err)
	}
	if events() != n {
		t.Errorf("setting the same locale recorded an event")
	}

	for _, bad := range []string{"de_DE", "de DE", "de-", "-de", "de--CH", "-", "deutschland-ch", "dé",
		"d\ne", "<b>", "de;q=0.9", "../../etc/passwd", strings.Repeat("a-", 17) + "ab", strings.Repeat("ab-", 12)} {
		err := svc.SetLocale(ctx, u.ID, bad)
		var v *usher.ValidationError
		if !errors.As(err, &v) || !errors.Is(err, usher.ErrValidation) || v.Fields["locale"] != usher.MsgInvalidFormat || len(v.Fields) != 1 {
			t.Errorf("SetLocale(%q) = %v; want a validation error on locale", bad, err)
		}
	}
	if got, _ := svc.User(ctx, u.ID); got.Locale != "de" {
		t.Errorf("after invalid tags: Locale = %q, want \"de\"", got.Locale)
	}
	if _, got, _ := svc.Authenticate(ctx, sess.Token); got.Locale != "de" {
		t.Errorf("after invalid tags: cached Locale = %q, want \"de\"", got.Locale)
	}
	if events() != n {
		t.Errorf("invalid tags recorded events")
	}

	// "" clears the choice; the change is in the audit trail.
	if err := svc.SetLocale(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, got, _ := svc.Authenticate(ctx, sess.Token); got.Locale != "" {
		t.Errorf("after clearing: cached Locale = %q", got.Locale)
	}
	if evs, _ := svc.Events(ctx, u.ID, 1); len(evs) != 1 || evs[0].Type != usher.EventLocaleChanged {
		t.Errorf("newest event: %+v; want %s", evs, usher.EventLocaleChanged)
	}

	if err := svc.SetLocale(ctx, "no-such-user", "de"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("SetLocale(unknown user) = %v, want ErrNotFound", err)
	}
}

// TestMailLocale: every e-mail to a user is in the user's language.
func TestMailLocale(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableConfirmEmail: true, EnableUsername: true, EnableMultipleEmails: true, EnableInviteUser: true})

	// Sign-up: the page's language becomes the user's, and the
	// confirmation e-mail is in it.
	u, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Username: "ann", Password: pw, Locale: "de"}, client)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.User(ctx, u.ID); u.Locale != "de" || got.Locale != "de" {
		t.Fatalf("signed-up user's Locale = %q (stored %q), want \"de\"", u.Locale, got.Locale)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailConfirmEmail); loc != "de" {
		t.Errorf("confirmation e-mail after sign-up: Locale %q, want \"de\"", loc)
	}
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "x@example.com", Username: "xxx", Password: pw, Locale: "de_DE"}, client); !errors.Is(err, usher.ErrValidation) {
		t.Errorf("sign-up with a malformed locale: %v; want a validation error", err)
	}

	// Links asked for later.
	if err := svc.SendConfirmEmail(ctx, "ann@example.com", client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailConfirmEmail); loc != "de" {
		t.Errorf("resent confirmation e-mail: Locale %q, want \"de\"", loc)
	}
	if _, _, err := svc.ConfirmEmail(ctx, lastLink(t, svc, "ann@example.com", usher.MailConfirmEmail), client); err != nil {
		t.Fatal(err)
	}
	if err := svc.SendPasswordResetEmail(ctx, "ann@example.com", client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailResetPassword); loc != "de" {
		t.Errorf("reset e-mail: Locale %q, want \"de\"", loc)
	}

	// A changed locale applies to the next e-mail.
	if err := svc.SetLocale(ctx, u.ID, "fa"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SendPasswordResetEmail(ctx, "ann@example.com", client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailResetPassword); loc != "fa" {
		t.Errorf("reset e-mail after SetLocale: Locale %q, want \"fa\"", loc)
	}
	sess, _, err := svc.LoginWithEmail(ctx, "ann@example.com", pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeUsername(ctx, sess, "annie", pw, client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailUsernameChanged); loc != "fa" {
		t.Errorf("username-changed e-mail: Locale %q, want \"fa\"", loc)
	}
	if err := svc.SetPassword(ctx, u.ID, "another good passphrase"); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailPasswordChanged); loc != "fa" {
		t.Errorf("password-changed e-mail: Locale %q, want \"fa\"", loc)
	}

	// Addresses: the new one's confirmation, the notice to the old one,
	// and the primary-changed notices to both.
	e, err := svc.AddEmail(ctx, u.ID, "ann@work.example", client)
	if err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "ann@work.example", usher.MailConfirmEmail); loc != "fa" {
		t.Errorf("confirmation of an added address: Locale %q, want \"fa\"", loc)
	}
	if loc := mailLocale(t, svc, "ann@example.com", usher.MailEmailAdded); loc != "fa" {
		t.Errorf("address-added e-mail: Locale %q, want \"fa\"", loc)
	}
	if _, _, err := svc.ConfirmEmail(ctx, lastLink(t, svc, "ann@work.example", usher.MailConfirmEmail), client); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPrimaryEmail(ctx, u.ID, e.ID, client); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"ann@example.com", "ann@work.example"} {
		if loc := mailLocale(t, svc, to, usher.MailPrimaryChanged); loc != "fa" {
			t.Errorf("primary-changed e-mail to %s: Locale %q, want \"fa\"", to, loc)
		}
	}

	// A user without a locale, and an invitation (no user yet), get the
	// default language.
	bob, err := svc.CreateUser(ctx, usher.NewUser{Email: "bob@example.com", Username: "bob", Password: pw, Enabled: true, Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SendPasswordResetEmail(ctx, bob.Email, client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, bob.Email, usher.MailResetPassword); loc != "" {
		t.Errorf("reset e-mail to a user without a locale: Locale %q, want \"\"", loc)
	}
	if err := svc.Invite(ctx, "carol@example.com", u.ID, client); err != nil {
		t.Fatal(err)
	}
	if loc := mailLocale(t, svc, "carol@example.com", usher.MailInvitation); loc != "" {
		t.Errorf("invitation: Locale %q, want \"\"", loc)
	}

	// CreateUser takes a locale too, and checks it.
	dan, err := svc.CreateUser(ctx, usher.NewUser{Email: "dan@example.com", Locale: "zh", Enabled: true})
	if err != nil || dan.Locale != "zh" {
		t.Fatalf("CreateUser with a locale: %v, %v", dan, err)
	}
	if got, _ := svc.User(ctx, dan.ID); got.Locale != "zh" {
		t.Errorf("created user's stored Locale = %q, want \"zh\"", got.Locale)
	}
	_, err = svc.CreateUser(ctx, usher.NewUser{Email: "eve@example.com", Locale: "zh CN", Enabled: true})
	var v *usher.ValidationError
	if !errors.As(err, &v) || v.Fields["locale"] != usher.MsgInvalidFormat {
		t.Errorf("CreateUser with a malformed locale: %v; want a validation error on locale", err)
	}
}
