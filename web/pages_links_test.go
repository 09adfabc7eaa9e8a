package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/usertest"
)

// deadLinkText is the heading of the page a dead e-mailed link opens.
var deadLinkText = i18n.Default().Text("en", "This link is no longer valid")

// mailedPath returns the path (and query) of the link in the newest
// e-mail of kind to to.
func (e *acctEnv) mailedPath(to, kind string) string {
	e.t.Helper()
	e.svc.DeliverMail(e.t.Context()) // the worker answers asks for links
	msgs, err := e.svc.Store().ListMessages(e.t.Context(), to, 20)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			return strings.TrimPrefix(m.Vars["link"], e.svc.Config().BaseURL)
		}
	}
	e.t.Fatalf("no %s e-mail to %s", kind, to)
	return ""
}

// TestLinkPagesCheckTheLink: the page an e-mailed link opens checks the
// link at once. A good link shows the page's form, however often it is
// opened, and still works afterwards: opening it neither uses it up nor
// extends it. A used or unknown link shows that it is no longer valid, with
// a way to ask for a new one, instead of a form to fill in for nothing;
// so does the form's POST when the link died meanwhile.
func TestLinkPagesCheckTheLink(t *testing.T) {
	e := newAcctEnv(t, usher.Config{EnableConfirmEmail: true, EnableLoginLink: true, AllowMFAEmailReset: true, EnableInviteUser: true}, true)
	ctx := t.Context()
	boss := usertest.MustCreateUser(t, e.svc, "boss@example.com")
	if _, err := e.svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	const ann = "ann@example.com"
	newPW := "a brand new password for Ann"
	tests := []struct {
		name  string
		send  func() error
		to    string
		mail  string
		form  []string // the fields the page's form sends
		renew string   // where the dead page offers a new link ("" none)
	}{
		{"confirm email", func() error { return e.svc.SendConfirmEmail(ctx, ann, usher.Client{}) }, ann, usher.MailConfirmEmail,
			nil, "/user/resend-confirm-email"},
		{"reset password", func() error { return e.svc.SendPasswordResetEmail(ctx, ann, usher.Client{}) }, ann, usher.MailResetPassword,
			[]string{"new_password", newPW, "retype_password", newPW}, "/user/forgot-password"},
		{"login link", func() error { return e.svc.SendLoginLink(ctx, ann, usher.Client{}) }, ann, usher.MailLoginLink,
			nil, "/user/login-link"},
		{"second-factor reset", func() error { return e.svc.SendMFAResetEmail(ctx, ann, usher.Client{}) }, ann, usher.MailMFAReset,
			[]string{"password", newPW}, "/user/mfa-reset"},
		{"invitation", func() error { return e.svc.Invite(ctx, "carol@example.com", boss.ID, usher.Client{}) }, "carol@example.com", usher.MailInvitation,
			[]string{"password", pw, "retype_password", pw}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			path := e.mailedPath(tt.to, tt.mail)
			// The form posts to its page, but the sign-up form of an
			// invitation carries the token in a hidden field.
			action, form := path, tt.form
			if p, tok, ok := strings.Cut(path, "?token="); ok {
				action, form = p, append([]string{"token", tok}, form...)
			}
			b := e.browser(tt.name)
			for range 2 {
				p := b.get(path)
				p.want(t, "GET of a new link", http.StatusOK, `<button type="submit" class="primary"`)
				if strings.Contains(p.body, deadLinkText) {
					t.Fatalf("a new link's page says it is dead:\n%s", p.body)
				}
			}
			// Opening the page did not use the link: its form works.
			if p := b.post(action, form...); p.status >= 400 {
				t.Fatalf("the form of a link opened twice: %d\n%s", p.status, p.body)
			}

			// Used now: the page says so at once, with the way to a new
			// link, and no form.
			dead := e.browser(tt.name + " later")
			p := dead.get(path)
			p.want(t, "GET of a used link", http.StatusBadRequest, deadLinkText, `href="/user/login"`)
			if tt.renew != "" && !strings.Contains(p.body, `href="`+tt.renew+`"`) {
				t.Errorf("the dead link's page does not offer %s\n%s", tt.renew, p.body)
			}
			if strings.Contains(p.body, `class="primary"`) {
				t.Errorf("the dead link's page shows the form\n%s", p.body)
			}
			// The form sent anyway (the link died while it was open)
			// leads to the same page.
			dead.post(action, form...).want(t, "POST of a used link", http.StatusBadRequest, deadLinkText)
		})
	}
	// A link that never was is just as dead.
	for _, path := range []string{"/user/reset-password/x", "/user/confirm-email/" + strings.Repeat("A", 43),
		"/user/login-link/x", "/user/mfa-reset/x", "/user/register?token=x"} {
		e.browser("guess").get(path).want(t, "GET "+path, http.StatusBadRequest, deadLinkText)
	}
}

// TestLinkPageOfFlowTurnedOff: a login or second-factor reset link, when
// those are turned off, is a page not found.
func TestLinkPageOfFlowTurnedOff(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, true)
	for _, path := range []string{"/user/login-link/" + strings.Repeat("A", 43), "/user/mfa-reset/" + strings.Repeat("A", 43)} {
		p := e.browser("off").get(path)
		p.want(t, "GET "+path, http.StatusNotFound)
		if strings.Contains(p.body, `class="primary"`) {
			t.Errorf("%s shows its form", path)
		}
	}
}
