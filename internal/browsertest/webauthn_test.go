package browsertest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/usertest"
)

// glued records what a form wired by usher-webauthn.js posted to /glue.
type glued struct {
	mu   sync.Mutex
	form url.Values
}

func (g *glued) take() url.Values {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.form
	g.form = nil
	return f
}

// startWebAuthnServer serves Usher (temporary SQLite, second factors on,
// passkeys on) on a 127.0.0.1 port whose base URL says localhost: a
// WebAuthn relying party ID cannot be an IP address, and http://localhost
// is a secure context. POST /glue records a form (see glued).
func startWebAuthnServer(t *testing.T) (string, *usher.Service, *glued) {
	g := &glued{}
	base, svc := startService(t, usher.Config{EnablePasskeys: true}, func(mux *http.ServeMux) {
		mux.HandleFunc("POST /glue", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			g.mu.Lock()
			g.form = r.PostForm
			g.mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><title>Posted</title><p id="posted">Posted</p>`))
		})
	})
	return base, svc, g
}

// addVirtualAuthenticator gives the tab a platform authenticator that
// keeps passkeys and verifies its user at once.
func addVirtualAuthenticator(t *testing.T, ctx context.Context) cdpwebauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol:                    cdpwebauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                cdpwebauthn.Ctap2versionCtap21,
			Transport:                   cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// webauthnJS is defined in the page before each step: post(path, body)
// resolves with {status, body} of POST /user/api{path}, and run(f)
// resolves with f's value, or with {error} instead of rejecting, so that
// a failure shows what went wrong.
const webauthnJS = `
window.post = (path, body) => fetch('/user/api' + path, {
  method: 'POST', credentials: 'same-origin',
  headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})
}).then(async r => ({status: r.status, body: await r.json()}));
window.me = () => fetch('/user/api/me', {credentials: 'same-origin'}).then(async r => r.ok ? (await r.json()).user.email : '');
window.run = f => f().catch(e => ({error: (e.name || '') + ' ' + (e.code || '') + ' ' + e.message}));
`

// loadUsherWebAuthn loads usher-webauthn.js into the page, as a page of
// Usher's (under its Content-Security-Policy) would with a script tag.
func loadUsherWebAuthn(t *testing.T, ctx context.Context) {
	t.Helper()
	bt.Eval[bool](t, ctx, `new Promise((ok, fail) => {
		if (window.usherWebAuthn) return ok(true);
		const s = document.createElement('script');
		s.src = '/user/static/usher-webauthn.js';
		s.onload = () => ok(true);
		s.onerror = () => fail(new Error('usher-webauthn.js did not load'));
		document.head.appendChild(s);
	})`)
	bt.Eval[chromedp.Void](t, ctx, webauthnJS)
	if !bt.Eval[bool](t, ctx, `usherWebAuthn.supported()`) {
		t.Fatal("usherWebAuthn.supported() is false on http://localhost")
	}
}

// jsStep evaluates a script that resolves with a JSON value (through run)
// and decodes it into out, failing on {error}.
func jsStep(t *testing.T, ctx context.Context, what, expr string, out any) {
	t.Helper()
	raw := bt.Eval[json.RawMessage](t, ctx, `run(() => `+expr+`)`)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		t.Fatalf("%s: %s", what, e.Error)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %s: %v", what, raw, err)
	}
}

type apiAnswer struct {
	Status int `json:"status"`
	Body   struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
		MFAToken string   `json:"mfa_token"`
		MFATypes []string `json:"mfa_types"`
		User     *struct {
			Email string `json:"email"`
		} `json:"user"`
	} `json:"body"`
}

// TestWebAuthnVirtualAuthenticator: a user adds a security key (Chromium's
// virtual authenticator) with usher-webauthn.js, logs in with the password
// and the key, then with the passkey alone, then through the pages with
// the password and the key.
func TestWebAuthnVirtualAuthenticator(t *testing.T) {
	bt.Chromium(t)
	base, svc, glue := startWebAuthnServer(t)
	const email = "ann@example.com"
	usertest.MustCreateUser(t, svc, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	authID := addVirtualAuthenticator(t, ctx)

	bt.Go(t, ctx, base+"/user/login")
	loadUsherWebAuthn(t, ctx)
	var a apiAnswer
	jsStep(t, ctx, "log in", `post('/login', {email: '`+email+`', password: '`+usertest.Password+`'})`, &a)
	if a.Status != http.StatusOK {
		t.Fatalf("log in: %+v", a)
	}

	// Add a key.
	var m struct {
		ID, Type, Name string
	}
	jsStep(t, ctx, "register", `usherWebAuthn.register('Laptop', '`+usertest.Password+`')`, &m)
	if m.Type != usher.MFAFIDO || m.Name != "Laptop" || m.ID == "" {
		t.Fatalf("registered %+v", m)
	}
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: authID})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential || creds.Credentials[0].RpID != "localhost" {
		t.Fatalf("authenticator's credentials: %+v; want one passkey for localhost", creds.Credentials)
	}
	// The same authenticator cannot be added twice (excludeCredentials):
	// the browser refuses before asking the server.
	var again struct{ Error string }
	bt.Eval[chromedp.Void](t, ctx, `window.again = run(() => usherWebAuthn.register('Again', '`+usertest.Password+`'))`)
	if raw := bt.Eval[json.RawMessage](t, ctx, `window.again`); json.Unmarshal(raw, &again) != nil || !strings.Contains(again.Error, "InvalidStateError") {
		t.Errorf("registering the same authenticator again: %s; want InvalidStateError", raw)
	}
	jsStep(t, ctx, "log out", `post('/logout')`, &a)

	// The password, then the key.
	jsStep(t, ctx, "log in with the password", `post('/login', {email: '`+email+`', password: '`+usertest.Password+`'})`, &a)
	if a.Status != http.StatusUnauthorized || a.Body.MFAToken == "" || !strings.Contains(strings.Join(a.Body.MFATypes, ","), "fido") {
		t.Fatalf("password only: %+v; want mfa_required with fido", a)
	}
	jsStep(t, ctx, "verify with the key", `usherWebAuthn.verify('`+a.Body.MFAToken+`').then(f =>
		post('/mfa/login', {mfa_token: '`+a.Body.MFAToken+`', mfa: f}))`, &a)
	if a.Status != http.StatusOK || a.Body.User == nil || a.Body.User.Email != email {
		t.Fatalf("second factor: %+v", a)
	}
	if got := bt.Eval[string](t, ctx, `me()`); got != email {
		t.Fatalf("after the second factor, /api/me says %q", got)
	}
	jsStep(t, ctx, "log out", `post('/logout')`, &a)
	if got := bt.Eval[string](t, ctx, `me()`); got != "" {
		t.Fatalf("logged out, /api/me says %q", got)
	}

	// The passkey alone.
	var login struct {
		User struct{ Email string }
	}
	jsStep(t, ctx, "passkey log-in", `usherWebAuthn.passkeyLogin(false)`, &login)
	if login.User.Email != email {
		t.Fatalf("passkey log-in: %+v", login)
	}
	if got := bt.Eval[string](t, ctx, `me()`); got != email {
		t.Fatalf("after the passkey, /api/me says %q", got)
	}
	jsStep(t, ctx, "log out", `post('/logout')`, &a)

	// The pages: the log-in form, then on /user/mfa/verify the key,
	// whose begin and finish find the pending log-in in its cookie.
	bt.Go(t, ctx, base+"/user/login")
	bt.Fill(t, ctx, "#f-login", email, "#f-password", usertest.Password)
	bt.Submit(t, ctx, "button[type=submit].primary")
	if loc := bt.Location(t, ctx); !strings.Contains(loc, "/user/mfa/verify") {
		t.Fatalf("after the log-in form: %s; want /user/mfa/verify", loc)
	}
	loadUsherWebAuthn(t, ctx)
	jsStep(t, ctx, "verify on the page", `usherWebAuthn.verify().then(f =>
		post('/mfa/webauthn/login/finish', {state: f.state, credential: JSON.parse(f.code)}))`, &a)
	if a.Status != http.StatusOK {
		t.Fatalf("second factor on the page: %+v", a)
	}
	if got := bt.Eval[string](t, ctx, `me()`); got != email {
		t.Fatalf("after the page's second factor, /api/me says %q", got)
	}
	if _, ok := bt.Cookies(t, ctx, base+"/user/")["usher_session_mfa_pending"]; ok {
		t.Error("the pending log-in's cookie is still there")
	}

	// A server-rendered form with a button that usher-webauthn.js wires
	// (the way the pages offer "Use your security key"): the click runs
	// the ceremony, fills the hidden inputs and posts the form.
	jsStep(t, ctx, "log out", `post('/logout')`, &a)
	bt.Go(t, ctx, base+"/user/login")
	bt.Fill(t, ctx, "#f-login", email, "#f-password", usertest.Password)
	bt.Submit(t, ctx, "button[type=submit].primary")
	bt.Eval[chromedp.Void](t, ctx, `document.querySelector('main').insertAdjacentHTML('beforeend',
		'<form id="glue" method="post" action="/glue"><input type="hidden" name="state"><input type="hidden" name="credential">' +
		'<button type="button" data-usher-webauthn="verify" hidden>Use your security key</button>' +
		'<p data-usher-webauthn-error hidden>Not used</p></form>')`)
	loadUsherWebAuthn(t, ctx)
	bt.Eval[chromedp.Void](t, ctx, `usherWebAuthn.wire()`)
	c := bt.Cookies(t, ctx, base+"/user/")["usher_session_mfa_pending"]
	if c == nil {
		t.Fatal("no pending log-in after the log-in form")
	}
	_, pending, _ := strings.Cut(c.Value, ".")
	bt.Submit(t, ctx, "#glue button")
	form := glue.take()
	if form == nil || form.Get("state") == "" || form.Get("credential") == "" {
		t.Fatalf("the wired verify button posted %v", form)
	}
	f := usher.SecondFactor{Type: usher.MFAFIDO, Code: form.Get("credential"), State: form.Get("state")}
	if _, got, err := svc.CompleteMFALogin(context.Background(), pending, f, false, false, usher.Client{}); err != nil || got.Email != email {
		t.Fatalf("completing with the posted factor: %v", err)
	}
	// The same for a passkey, with "remember me" copied from the page.
	bt.Go(t, ctx, base+"/user/login")
	bt.Eval[chromedp.Void](t, ctx, `document.getElementById('f-remember').checked = true`)
	bt.Eval[chromedp.Void](t, ctx, `document.querySelector('main').insertAdjacentHTML('beforeend',
		'<form id="glue" method="post" action="/glue" hidden data-usher-webauthn-supported>' +
		'<input type="hidden" name="state"><input type="hidden" name="credential">' +
		'<input type="hidden" name="remember" data-usher-copy="f-remember">' +
		'<button type="button" data-usher-webauthn="passkey" hidden>Log in with a passkey</button></form>')`)
	loadUsherWebAuthn(t, ctx)
	bt.Eval[chromedp.Void](t, ctx, `usherWebAuthn.wire()`)
	bt.Submit(t, ctx, "#glue button")
	form = glue.take()
	if form == nil || form.Get("remember") != "1" {
		t.Fatalf("the wired passkey button posted %v", form)
	}
	if sess, got, err := svc.FinishPasskeyLogin(context.Background(), form.Get("state"), []byte(form.Get("credential")), true, usher.Client{}); err != nil || got.Email != email || !sess.Remember {
		t.Fatalf("passkey log-in with the posted assertion: %v", err)
	}

	u, err := svc.FindUser(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	list, err := svc.ListMFAMethods(context.Background(), u.ID)
	if err != nil || len(list) != 1 || list[0].LastUsedAt.IsZero() {
		t.Errorf("methods: %+v, %v; want one key, used", list, err)
	}
	con.Check(t, ctx, "WebAuthn")
}

// TestWebAuthnPages: the same through Usher's own pages, without any
// script of the test's: add a key on /user/mfa, use it at the second step
// of a log-in, then log in with the passkey alone from /user/login.
func TestWebAuthnPages(t *testing.T) {
	bt.Chromium(t)
	base, svc, _ := startWebAuthnServer(t)
	const email = "kim@example.com"
	usertest.MustCreateUser(t, svc, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	addVirtualAuthenticator(t, ctx)
	loggedIn := func(what string) {
		t.Helper()
		bt.Go(t, ctx, base+"/user/profile")
		if u, _ := url.Parse(bt.Location(t, ctx)); u.Path != "/user/profile" {
			t.Fatalf("%s: /user/profile led to %s; want to be logged in", what, u)
		}
	}
	logIn := func() {
		t.Helper()
		bt.Go(t, ctx, base+"/user/login")
		bt.Fill(t, ctx, "#f-login", email, "#f-password", usertest.Password)
		bt.Submit(t, ctx, `form[action$="/user/login"] button[type=submit]`)
	}
	logOut := func() {
		t.Helper()
		bt.Go(t, ctx, base+"/user/logout")
		bt.Submit(t, ctx, "main button[type=submit]")
	}

	logIn()
	loggedIn("password log-in")
	bt.Go(t, ctx, base+"/user/mfa")
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="register"]`)
	bt.Fill(t, ctx, "#f-key_name", "Laptop", "#f-key_password", usertest.Password)
	bt.Submit(t, ctx, `[data-usher-webauthn="register"]`)
	bt.WaitVisible(t, ctx, "ul.codes") // the first second factor: recovery codes, once
	ms, err := svc.ListMFAMethods(context.Background(), mustUserID(t, svc, email))
	if err != nil || len(ms) != 1 || ms[0].Type != usher.MFAFIDO || ms[0].Name != "Laptop" {
		t.Fatalf("methods after adding a key on the page: %v %v", ms, err)
	}

	logOut()
	logIn()
	if u, _ := url.Parse(bt.Location(t, ctx)); u.Path != "/user/mfa/verify" {
		t.Fatalf("password log-in of a user with a key led to %s; want the second step", u)
	}
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="verify"]`)
	bt.Submit(t, ctx, `[data-usher-webauthn="verify"]`)
	loggedIn("security key at the second step")

	logOut()
	bt.Go(t, ctx, base+"/user/login")
	bt.WaitVisible(t, ctx, `[data-usher-webauthn="passkey"]`)
	bt.Submit(t, ctx, `[data-usher-webauthn="passkey"]`)
	loggedIn("passkey")
	con.Check(t, ctx, "WebAuthn pages")
}

func mustUserID(t *testing.T, svc *usher.Service, email string) string {
	t.Helper()
	u, err := svc.Store().UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
