package browsertest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	bt "github.com/usher-auth/usher/internal/browsertest"
)

// wantFieldError fails the test unless the field named field is marked
// wrong, says msg under it (tied with aria-describedby), and msg is said
// nowhere else on the page.
func wantFieldError(t *testing.T, ctx context.Context, field, msg string) {
	t.Helper()
	input := "#f-" + field
	if got := bt.Eval[string](t, ctx, `document.querySelector('`+input+`').getAttribute('aria-invalid') || ''`); got != "true" {
		t.Errorf("%s is not marked invalid (aria-invalid %q) at %s", input, got, bt.Location(t, ctx))
	}
	if got := bt.Eval[string](t, ctx, `document.querySelector('`+input+`').getAttribute('aria-describedby') || ''`); got != "e-"+field {
		t.Errorf("%s is described by %q; want e-%s", input, got, field)
	}
	wantText(t, ctx, "#e-"+field, msg)
	if n := strings.Count(bt.Text(t, ctx, "main"), msg); n != 1 {
		t.Errorf("%q is said %d times on the page; want once, under %s", msg, n, input)
	}
}

// focused returns the id of the element that has the focus.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return bt.Eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ''`)
}

// TestResetPageInBrowser: a reset link opens its page (opening it uses
// nothing up); a password the policy refuses is said once, under the
// marked new-password field, which gets the focus; a good one is taken.
// Opened again, the used link says at once that it is no longer valid,
// and its button leads to asking for a new one.
func TestResetPageInBrowser(t *testing.T) {
	s := startServer(t, nil)
	const email = "ann@example.com"
	s.createUser(t, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)

	bt.Go(t, ctx, s.URL+"/user/forgot-password")
	bt.Fill(t, ctx, "#f-email", email)
	bt.Submit(t, ctx, "button[type=submit].primary")
	link := s.Mail.WaitFor(email, "eset", 1).Link(t, "/user/reset-password/")

	// Opened twice (a mail scanner, then the person): still the form.
	for range 2 {
		if st := bt.Go(t, ctx, link); st != http.StatusOK {
			t.Fatalf("the reset link's page answered %d", st)
		}
		wantText(t, ctx, "h1", en("Choose a new password"))
	}
	bt.Fill(t, ctx, "#f-new_password", "short", "#f-retype_password", "short")
	if st := bt.Submit(t, ctx, "button[type=submit].primary"); st != http.StatusUnprocessableEntity {
		t.Fatalf("a too-short password answered %d; want 422", st)
	}
	wantFieldError(t, ctx, "new_password", cat.Sprintf("en", usher.MsgPasswordTooShort, 8))
	wantText(t, ctx, "#form-error", en("password_not_acceptable"))
	if f := focused(t, ctx); f != "f-new_password" {
		t.Errorf("the focus is on %q; want the new password's field", f)
	}
	con.Check(t, ctx, "refused password")

	bt.Fill(t, ctx, "#f-new_password", newPW, "#f-retype_password", newPW)
	bt.Submit(t, ctx, "button[type=submit].primary")
	wantText(t, ctx, ".flash", en("password_reset_done"))

	// The used link: no form, the reason, and the way to a new one.
	if st := bt.Go(t, ctx, link); st != http.StatusBadRequest {
		t.Errorf("the used link's page answered %d; want 400", st)
	}
	wantText(t, ctx, "h1", en("This link is no longer valid"))
	wantText(t, ctx, "#message", en("invalid_token"))
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main form[method=post]:not(.langs)').length`); n != 0 {
		t.Errorf("the used link's page has %d forms", n)
	}
	con.Check(t, ctx, "used link")
	bt.Submit(t, ctx, "main a.button")
	if p := path(t, bt.Location(t, ctx)); p != "/user/forgot-password" {
		t.Fatalf("the dead link's button leads to %s; want /user/forgot-password", p)
	}
	wantText(t, ctx, "h1", en("Forgot your password?"))
}

// TestRegisterPageAllErrorsInBrowser: the sign-up page reports every
// problem at once — a bad address, a common password and a mistyped
// second password — each under its field, and the first wrong field gets
// the focus.
func TestRegisterPageAllErrorsInBrowser(t *testing.T) {
	s := startServer(t, nil)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)

	bt.Go(t, ctx, s.URL+"/user/register")
	bt.Fill(t, ctx, "#f-email", "ann@", "#f-password", "password", "#f-retype_password", "passwort")
	if st := bt.Submit(t, ctx, "button[type=submit].primary"); st != http.StatusUnprocessableEntity {
		t.Fatalf("the sign-up answered %d; want 422", st)
	}
	wantText(t, ctx, "#form-error", en("validation_failed"))
	wantFieldError(t, ctx, "email", en(usher.MsgInvalidEmail))
	// The common-password text, up to its end (whatever formatting
	// follows it is another matter).
	wantFieldError(t, ctx, "password", en(usher.MsgPasswordCommon))
	wantFieldError(t, ctx, "retype_password", en(usher.MsgPasswordMismatch))
	if f := focused(t, ctx); f != "f-email" {
		t.Errorf("the focus is on %q; want the first wrong field, f-email", f)
	}
	if got := bt.Eval[string](t, ctx, `document.querySelector('#f-email').value`); got != "ann@" {
		t.Errorf("the address typed is gone: %q", got)
	}
	con.Check(t, ctx, "sign-up with three problems")
}

// TestDeadLinkPagesInBrowser: a confirmation link used once, and an
// invitation link that never was, open the dead link's page at once, in
// the visitor's language, with the way on.
func TestDeadLinkPagesInBrowser(t *testing.T) {
	s := startServer(t, nil)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	const email = "bob@example.com"

	bt.Go(t, ctx, s.URL+"/user/register")
	bt.Fill(t, ctx, "#f-email", email, "#f-password", pw, "#f-retype_password", pw)
	bt.Submit(t, ctx, "button[type=submit].primary")
	link := s.Mail.WaitFor(email, "onfirm", 1).Link(t, "/user/confirm-email/")
	bt.Go(t, ctx, link)
	bt.Submit(t, ctx, "button[type=submit].primary")
	wantText(t, ctx, ".flash", en("email_confirmed"))

	bt.Go(t, ctx, link+"?lang=de")
	wantText(t, ctx, "h1", cat.Text("de", "This link is no longer valid"))
	wantText(t, ctx, "#message", cat.Text("de", "invalid_token"))
	if href := bt.Eval[string](t, ctx, `document.querySelector('main a.button').getAttribute('href')`); href != "/user/resend-confirm-email" {
		t.Errorf("the used confirmation link offers %q; want /user/resend-confirm-email", href)
	}
	con.Check(t, ctx, "used confirmation link")

	// (The ?lang=de above stays with this browser until it closes, so
	// English is asked for again.)
	bt.Go(t, ctx, s.URL+"/user/register?lang=en&token="+strings.Repeat("A", 43))
	wantText(t, ctx, "h1", en("This link is no longer valid"))
	wantText(t, ctx, "main", en("Ask the person who invited you to send a new invitation."))
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main a.button, main input').length`); n != 0 {
		t.Errorf("the dead invitation's page offers %d buttons or inputs; only whoever invited can send a new one", n)
	}
	con.Check(t, ctx, "unknown invitation")
}
