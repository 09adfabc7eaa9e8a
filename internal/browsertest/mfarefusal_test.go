package browsertest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// TestMFACodeRefusedPage: on the second step of a log-in, a wrong code
// and a code already used each say what happened (banner and field), not
// that two-factor authentication is required; the code field is made for
// a code and the page leads back to log-in.
func TestMFACodeRefusedPage(t *testing.T) {
	bt.Chromium(t)
	s := startServer(t, nil)
	const email = "ann@example.com"
	s.createUser(t, email)
	secret := enrolTOTP(t, s, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)

	toSecondStep := func() {
		t.Helper()
		logIn(t, ctx, s, email, pw, false)
		if p := path(t, bt.Location(t, ctx)); !strings.HasPrefix(p, "/user/mfa/verify") {
			t.Fatalf("after the password: %s; want the second step", p)
		}
	}
	toSecondStep()
	if got := bt.Eval[string](t, ctx, `document.querySelector('#f-code').inputMode + ' ' + document.querySelector('#f-code').autocomplete`); got != "numeric one-time-code" {
		t.Errorf("the code field's inputmode and autocomplete: %q; want numeric one-time-code", got)
	}
	if got := bt.Eval[string](t, ctx, `[...document.querySelectorAll('main a')].filter(a => new URL(a.href).pathname === '/user/login').map(a => a.textContent).join()`); got != en("Back to log in") {
		t.Errorf("links back to log in: %q; want %q", got, en("Back to log in"))
	}

	wrong := "000000"
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		if mfa.TOTPCode(secret, time.Now().Add(d)) == wrong {
			wrong = "111111"
		}
	}
	bt.Fill(t, ctx, "#f-code", wrong)
	bt.Submit(t, ctx, "button[type=submit].primary")
	wantText(t, ctx, "main [role=alert]", en(usher.MsgMFACodeWrong))
	wantText(t, ctx, "#e-code", en(usher.MsgMFACodeWrong))
	if body := bt.Text(t, ctx, "main"); strings.Contains(body, en("mfa_required")) {
		t.Errorf("a wrong code: the page says %q", en("mfa_required"))
	}

	// The right code logs in (the next one: the current one set the app
	// up); the same code again, within its time, says it was used.
	code := mfa.TOTPCode(secret, time.Now().Add(30*time.Second))
	bt.Eval[chromedp.Void](t, ctx, `document.querySelector('#f-code').value = ''`)
	bt.Fill(t, ctx, "#f-code", code)
	bt.Submit(t, ctx, "button[type=submit].primary")
	if p := path(t, bt.Location(t, ctx)); strings.HasPrefix(p, "/user/mfa/verify") {
		t.Fatalf("the right code: still on %s (%s)", p, bt.Text(t, ctx, "main"))
	}
	bt.Go(t, ctx, s.URL+"/user/logout")
	bt.Submit(t, ctx, "main button[type=submit]")
	toSecondStep()
	bt.Fill(t, ctx, "#f-code", code)
	bt.Submit(t, ctx, "button[type=submit].primary")
	wantText(t, ctx, "main [role=alert]", en(usher.MsgMFACodeUsed))
	con.Check(t, ctx, "second step")

	// usher.js's dialog says the same.
	bt.Go(t, ctx, s.URL+"/app")
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d := dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "mfa")
	if got := bt.Eval[string](t, ctx, `document.querySelector('#usher-code').inputMode + ' ' + document.querySelector('#usher-code').autocomplete`); got != "numeric one-time-code" {
		t.Errorf("the dialog's code field's inputmode and autocomplete: %q; want numeric one-time-code", got)
	}
	bt.Fill(t, ctx, "#usher-code", wrong)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	bt.WaitVisible(t, ctx, d+" .usher-error")
	wantText(t, ctx, d+" .usher-error", en(usher.MsgMFACodeWrong))
}

// TestSecurityKeyOnlyUser: the second step of a user whose only factor
// is a security key offers the key, not an authenticator app's code; a
// key the server refuses (its signature counter went back: a cloned key)
// says so — at the second step, and when it logs in as a passkey, where
// no password was typed and none is blamed.
func TestSecurityKeyOnlyUser(t *testing.T) {
	bt.Chromium(t)
	base, svc, _ := startWebAuthnServer(t)
	const email = "kim@example.com"
	usertest.MustCreateUser(t, svc, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	addVirtualAuthenticator(t, ctx)
	logIn := func() {
		t.Helper()
		bt.Go(t, ctx, base+"/user/login")
		bt.Fill(t, ctx, "#f-login", email, "#f-password", usertest.Password)
		bt.Submit(t, ctx, `form[action$="/user/login"] button[type=submit]`)
	}
	logIn()
	bt.Go(t, ctx, base+"/user/mfa")
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="register"]`)
	bt.Fill(t, ctx, "#f-key_name", "Laptop", "#f-key_password", usertest.Password)
	bt.Submit(t, ctx, `[data-usher-webauthn="register"]`)
	bt.WaitVisible(t, ctx, "ul.codes")
	bt.Go(t, ctx, base+"/user/logout")
	bt.Submit(t, ctx, "main button[type=submit]")

	logIn()
	if u, _ := url.Parse(bt.Location(t, ctx)); u.Path != "/user/mfa/verify" {
		t.Fatalf("password log-in of a user with a key led to %s; want the second step", u)
	}
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="verify"].primary`)
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('main #f-code, main input[name=type][value=totp], main button[type=submit]').length`); n != 0 {
		t.Errorf("the second step of a key-only user has %d inputs for an app's code; want none", n)
	}
	if body := bt.Text(t, ctx, "main"); strings.Contains(body, en("A code from your authenticator app")) || strings.Contains(body, en("Use your authenticator app")) {
		t.Errorf("the second step of a key-only user offers an authenticator app:\n%s", body)
	}
	wantText(t, ctx, "main ul.links", en("Use a recovery code"))

	// The key's counter, as the server knows it, is ahead of the
	// authenticator's: the server refuses the key as a clone.
	ms, err := svc.ListMFAMethods(context.Background(), mustUserID(t, svc, email))
	if err != nil || len(ms) != 1 {
		t.Fatalf("methods: %v %v", ms, err)
	}
	if err := svc.Store().UseTOTPStep(context.Background(), ms[0].ID, 1000<<31, time.Now()); err != nil {
		t.Fatal(err)
	}
	bt.Submit(t, ctx, `[data-usher-webauthn="verify"]`)
	wantText(t, ctx, "main [role=alert]", en(usher.MsgMFAKeyRefused))
	if body := bt.Text(t, ctx, "main"); strings.Contains(body, en("The security key was not used. Try again.")) || strings.Contains(body, en("mfa_required")) {
		t.Errorf("a key the server refused reads as one not used:\n%s", body)
	}

	bt.Go(t, ctx, base+"/user/login")
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="passkey"]`)
	bt.Submit(t, ctx, `[data-usher-webauthn="passkey"]`)
	wantText(t, ctx, "main [role=alert]", en(usher.MsgPasskeyRefused))
	if body := bt.Text(t, ctx, "main"); strings.Contains(body, en("authentication_failed")) || strings.Contains(body, en("The passkey was not used. Try again.")) {
		t.Errorf("a refused passkey:\n%s", body)
	}
	con.Check(t, ctx, "key-only user")
}

// TestMailboxSubjectWhole: the development mailbox's list breaks long
// links anywhere but never a word of a subject, even on a narrow screen.
func TestMailboxSubjectWhole(t *testing.T) {
	bt.Chromium(t)
	s := startServer(t, func(c *app.Config) { c.SMTPURL = "" })
	const email = "ann@example.com"
	s.createUser(t, email)
	res, err := http.Post(s.URL+"/user/api/password-reset", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ctx, _ := bt.New(t, "")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 800)); err != nil {
		t.Fatal(err)
	}
	bt.Go(t, ctx, s.URL+"/user/dev/mailbox")
	bt.WaitVisible(t, ctx, "tr td:nth-child(4) a")
	// Each word of the subject lies on one line: one client rectangle.
	broken := bt.Eval[[]string](t, ctx, `(() => {
		const a = document.querySelector('tr td:nth-child(4) a'), text = a.firstChild, out = [];
		const re = /\S+/g;
		let m;
		while ((m = re.exec(text.data))) {
			const r = document.createRange();
			r.setStart(text, m.index);
			r.setEnd(text, m.index + m[0].length);
			if (r.getClientRects().length > 1) out.push(m[0]);
		}
		return out;
	})()`)
	if len(broken) > 0 {
		t.Errorf("the subject %q breaks the words %q", bt.Text(t, ctx, "tr td:nth-child(4) a"), broken)
	}
}
