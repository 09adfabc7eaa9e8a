package browsertest_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// startUsherJSEnrollServer serves Usher (temporary SQLite) with
// RequireMFA, and e-mail confirmation as asked, with /app, the
// application's page that loads usher.js under the pages'
// Content-Security-Policy.
func startUsherJSEnrollServer(t *testing.T, confirm bool) (string, *usher.Service) {
	return startService(t, usher.Config{RequireMFA: true, EnableConfirmEmail: confirm}, nil)
}

// enrollInDialog goes through usher.js's mfa-enroll step: it reads the
// key the dialog shows, sends a wrong code (which must be refused under
// the field), then the app's code, and confirms the recovery codes.
func enrollInDialog(t *testing.T, ctx context.Context) {
	t.Helper()
	d := dialog(t, ctx, "mfa-enroll")
	wantText(t, ctx, d+" .usher-intro", en("This site requires two-factor authentication. Set up an authenticator app to finish logging in."))
	if !bt.Eval[bool](t, ctx, `(() => { const i = document.querySelector('dialog.usher-dialog img.usher-qr-image');
		return !!i && i.src.startsWith('data:image/png'); })()`) {
		t.Error("the enrolment step shows no QR code")
	}
	key := bt.Text(t, ctx, d+" code.usher-secret")
	if !regexp.MustCompile(`^[A-Z2-7]{4}( [A-Z2-7]{4})* ?[A-Z2-7]{0,4}$`).MatchString(key) || !strings.Contains(key, " ") {
		t.Errorf("the key %q is not in groups of four", key)
	}
	if got := bt.Eval[string](t, ctx, `document.querySelector('#usher-code').inputMode + ' ' + document.querySelector('#usher-code').autocomplete`); got != "numeric one-time-code" {
		t.Errorf("the dialog's code field's inputmode and autocomplete: %q; want numeric one-time-code", got)
	}
	secret, err := mfa.DecodeSecret(key)
	if err != nil {
		t.Fatalf("the key shown, %q: %v", key, err)
	}

	// A wrong code: the server's message under the field, which is
	// emptied for the next try.
	right, _ := strconv.Atoi(mfa.TOTPCode(secret, time.Now()))
	bt.Fill(t, ctx, "#usher-code", fmt.Sprintf("%06d", (right+500000)%1000000))
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	bt.WaitVisible(t, ctx, "#usher-code-error")
	wantText(t, ctx, "#usher-code-error", en("mfa_code_wrong"))
	bt.WaitJS(t, ctx, `!document.querySelector('dialog.usher-dialog button[type=submit]').disabled`)
	if v := bt.Eval[string](t, ctx, `document.querySelector('#usher-code').value`); v != "" {
		t.Errorf("the code field after a wrong code holds %q; want it empty", v)
	}

	// The app's code.
	bt.Fill(t, ctx, "#usher-code", mfa.TOTPCode(secret, time.Now()))
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "recovery-codes")
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('dialog.usher-dialog .usher-codes li').length`); n < 5 {
		t.Errorf("%d recovery codes shown; want them all", n)
	}
	wantText(t, ctx, d+" .usher-notice", en("Two-factor authentication is on."))
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
}

// TestUsherJSRequireMFA: where every user must have a second factor,
// signupWithForm() signs up, logs in and sets up an authenticator app;
// loginWithForm() for a user without a second factor sets one up too.
func TestUsherJSRequireMFA(t *testing.T) {
	bt.Chromium(t)
	base, svc := startUsherJSEnrollServer(t, false)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	bt.Go(t, ctx, base+"/app")

	// Sign up (without "Remember me"), then the app.
	const email = "rin@example.com"
	startJS(t, ctx, `const u = await usher.signupWithForm(); return u && u.email;`)
	d := dialog(t, ctx, "signup")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw, "#usher-retype_password", pw)
	bt.Click(t, ctx, "#usher-remember")
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	enrollInDialog(t, ctx)
	var got *string
	jsResult(t, ctx, &got)
	if got == nil || *got != email {
		t.Fatalf("signupWithForm() resolved with %v; want %s", got, email)
	}
	if u := currentUser(t, ctx); u != email {
		t.Fatalf("getUser() after the sign-up: %q; want %s", u, email)
	}
	if bt.Eval[bool](t, ctx, `!!document.querySelector('dialog.usher-dialog')`) {
		t.Error("the dialog is still in the page after the flow ended")
	}
	cookies := bt.Cookies(t, ctx, base)
	if cookies["usher_session"] == nil || cookies["usher_session_remember"] != nil {
		t.Errorf("cookies after signing up without remember me: %v; want usher_session alone", cookies)
	}
	u, err := svc.FindUser(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := svc.ListMFAMethods(context.Background(), u.ID); err != nil || len(list) != 1 || list[0].Type != usher.MFATOTP {
		t.Fatalf("methods after the sign-up: %+v, %v; want one authenticator app", list, err)
	}
	con.Check(t, ctx, "sign-up with enrolment")

	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	if u := currentUser(t, ctx); u != "" {
		t.Fatalf("getUser() after logout(): %q", u)
	}

	// A user made by the server, without a second factor, logs in (with
	// "Remember me", as by default).
	const email2 = "sol@example.com"
	usertest.MustCreateUser(t, svc, email2)
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email2, "#usher-password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	enrollInDialog(t, ctx)
	jsResult(t, ctx, &got)
	if got == nil || *got != email2 {
		t.Fatalf("loginWithForm() resolved with %v; want %s", got, email2)
	}
	if u := currentUser(t, ctx); u != email2 {
		t.Fatalf("getUser() after the log-in: %q; want %s", u, email2)
	}
	if c := bt.Cookies(t, ctx, base)["usher_session_remember"]; c == nil || c.Session {
		t.Errorf("remember-me cookie after logging in with remember me: %+v; want a persistent cookie", c)
	}
	con.Check(t, ctx, "log-in with enrolment")

	// The next log-in asks for the app's code, as usual.
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email2, "#usher-password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	dialog(t, ctx, "mfa")
	bt.WaitVisible(t, ctx, "#usher-code")
	con.Check(t, ctx, "second log-in")
}

// TestUsherJSRequireMFAUnconfirmed: where the address must first be
// confirmed, signupWithForm() under RequireMFA ends with "check your
// email", as without it.
func TestUsherJSRequireMFAUnconfirmed(t *testing.T) {
	bt.Chromium(t)
	base, _ := startUsherJSEnrollServer(t, true)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	bt.Go(t, ctx, base+"/app")

	const email = "kai@example.com"
	startJS(t, ctx, `return await usher.signupWithForm();`)
	d := dialog(t, ctx, "signup")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw, "#usher-retype_password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "signup-done")
	wantText(t, ctx, d, en("Check your email to confirm your address."))
	wantText(t, ctx, d, email)
	bt.Click(t, ctx, d+" .usher-primary")
	var got any
	jsResult(t, ctx, &got)
	if got != nil {
		t.Fatalf("signupWithForm() resolved with %v; want null", got)
	}
	if u := currentUser(t, ctx); u != "" {
		t.Fatalf("getUser() after signing up: %q; want null", u)
	}
	con.Check(t, ctx, "sign-up waiting for confirmation")
}
