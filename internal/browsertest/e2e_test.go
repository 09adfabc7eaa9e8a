package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/i18n"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

const (
	pw    = usertest.Password
	newPW = "a brand new password for Ann"
)

// server is the whole app on a temporary SQLite file, its e-mail going
// over SMTP to a test server, on a 127.0.0.1 port that is its base_url.
// Besides Usher's routes it serves /app, a page of "the application"
// that loads usher.js (same origin), under the pages' own
// Content-Security-Policy, so that a violation by usher.js shows.
type server struct {
	URL  string
	App  *app.App
	Mail *smtptest.Server
}

// appCSP is the policy of the pages (web.pageCSP): no inline script or
// style, nothing from other hosts.
const appCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const appPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>The application</title>
<script src="/user/static/usher.js"></script></head>
<body><h1>The application</h1><p id="who">This page uses usher.js.</p></body>
</html>`

func startServer(t *testing.T, edit func(*app.Config)) *server {
	t.Helper()
	mail := smtptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "usher.db")
	cfg.SMTPURL = mail.URL()
	cfg.MailFrom = "accounts@example.com"
	cfg.BaseURL = "http://" + ln.Addr().String()
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", appCSP)
		w.Write([]byte(appPage))
	})
	mux.Handle("/", a.Handler())
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return &server{URL: srv.URL, App: a, Mail: mail}
}

// createUser adds a confirmed, enabled account.
func (s *server) createUser(t *testing.T, email string) {
	t.Helper()
	if _, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: email, Password: pw, Enabled: true, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
}

var cat = i18n.Default()

// en returns the English text of a message ID, as the pages show it.
func en(id string) string { return cat.Text("en", id) }

// path returns the path (and query) of an address.
func path(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.RequestURI()
}

func wantText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	if got := bt.Text(t, ctx, sel); !strings.Contains(got, want) {
		t.Fatalf("%s says %q; want %q in it (page %s)", sel, got, want, bt.Location(t, ctx))
	}
}

// logIn fills in and sends the log-in page's form, with remember me as
// given, and returns the HTTP status of the page it leads to.
func logIn(t *testing.T, ctx context.Context, s *server, email, password string, remember bool) int64 {
	t.Helper()
	bt.Go(t, ctx, s.URL+"/user/login")
	bt.Fill(t, ctx, "#f-login", email, "#f-password", password)
	if bt.Eval[bool](t, ctx, `document.querySelector('#f-remember').checked`) != remember {
		bt.Click(t, ctx, "#f-remember")
	}
	return bt.Submit(t, ctx, "button[type=submit].primary")
}

// TestPagesJourney: a person signs up on the pages, confirms the address
// from the e-mail, logs in with "remember me", closes and reopens the
// browser, changes the password and logs out.
func TestPagesJourney(t *testing.T) {
	s := startServer(t, nil)
	profile := t.TempDir()
	ctx, closeBrowser := bt.New(t, profile)
	con := bt.Watch(t, ctx)
	const email = "ann@example.com"

	// Sign up.
	bt.Go(t, ctx, s.URL+"/user/register")
	wantText(t, ctx, "h1", en("Create your account"))
	bt.Fill(t, ctx, "#f-email", email, "#f-password", pw, "#f-retype_password", pw)
	if st := bt.Submit(t, ctx, "button[type=submit].primary"); st != 200 {
		t.Fatalf("sign-up answered %d", st)
	}
	wantText(t, ctx, "#message", en("Your account is created. We have sent you an email: open its link to confirm your address."))
	con.Check(t, ctx, "sign-up")

	// The confirmation e-mail, over SMTP; its link opens a page whose
	// button confirms (and, by default, logs in).
	link := s.Mail.WaitFor(email, "onfirm", 1).Link(t, "/user/confirm-email/")
	if !strings.HasPrefix(link, s.URL+"/") {
		t.Fatalf("the link %s is not on the base URL %s", link, s.URL)
	}
	bt.Go(t, ctx, link)
	wantText(t, ctx, "h1", en("Confirm your email address"))
	bt.Submit(t, ctx, "button[type=submit].primary")
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("after confirming: at %s; want /user/profile", p)
	}
	wantText(t, ctx, ".flash", en("email_confirmed"))
	wantText(t, ctx, "main dd", email)
	con.Check(t, ctx, "confirm")

	// Log out (that session was not remembered), then log in with
	// "remember me".
	bt.Submit(t, ctx, "header .topnav button[type=submit]")
	wantText(t, ctx, ".flash", en("You have logged out."))
	if st := logIn(t, ctx, s, email, pw, true); st != 200 {
		t.Fatalf("log-in answered %d", st)
	}
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("after logging in: at %s; want /user/profile", p)
	}
	wantText(t, ctx, "header .topnav a", email)
	wantText(t, ctx, "table.list", en("Remembered"))
	con.Check(t, ctx, "log in")

	// Close the browser and open it again on the same profile: the
	// browser-session cookie is gone, the remember-me cookie is not, and
	// it is enough.
	closeBrowser()
	ctx, _ = bt.New(t, profile)
	con = bt.Watch(t, ctx)
	cookies := bt.Cookies(t, ctx, s.URL)
	if cookies["usher_session"] != nil {
		t.Error("the browser-session cookie survived closing the browser")
	}
	if c := cookies["usher_session_remember"]; c == nil || c.Session || !c.HTTPOnly {
		t.Fatalf("remember-me cookie after the restart: %+v; want a persistent HttpOnly cookie", c)
	}
	bt.Go(t, ctx, s.URL+"/user/profile")
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("after reopening the browser: at %s; want /user/profile (remember me)", p)
	}
	wantText(t, ctx, "main dd", email)
	con.Check(t, ctx, "reopened browser")

	// Change the password.
	bt.Go(t, ctx, s.URL+"/user/change-password")
	wantText(t, ctx, "h1", en("Change password"))
	bt.Fill(t, ctx, "#f-old_password", pw, "#f-new_password", newPW, "#f-retype_password", newPW)
	bt.Submit(t, ctx, "button[type=submit].primary")
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("after changing the password: at %s; want /user/profile", p)
	}
	wantText(t, ctx, ".flash", en("Your password has been changed."))
	con.Check(t, ctx, "change password")

	// Log out with the header's button: the account page is closed again.
	bt.Submit(t, ctx, "header .topnav button[type=submit]")
	wantText(t, ctx, ".flash", en("You have logged out."))
	bt.Go(t, ctx, s.URL+"/user/profile")
	if p := path(t, bt.Location(t, ctx)); !strings.HasPrefix(p, "/user/login") {
		t.Fatalf("after logging out, /user/profile is at %s; want the log-in page", p)
	}
	if c := bt.Cookies(t, ctx, s.URL); c["usher_session"] != nil || c["usher_session_remember"] != nil {
		t.Errorf("session cookies after logging out: %v", c)
	}

	// The new password works; the old one does not.
	if st := logIn(t, ctx, s, email, pw, false); st != http.StatusUnauthorized {
		t.Errorf("log-in with the old password answered %d; want 401", st)
	}
	bt.WaitVisible(t, ctx, "#form-error")
	if p := path(t, bt.Location(t, ctx)); !strings.HasPrefix(p, "/user/login") {
		t.Fatalf("the old password logged in (at %s)", p)
	}
	if st := logIn(t, ctx, s, email, newPW, false); st != 200 {
		t.Fatalf("log-in with the new password answered %d", st)
	}
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("log-in with the new password: at %s", p)
	}
	con.Check(t, ctx, "log out and in")
}

// startJS runs an async JavaScript body in the page without waiting for
// it; its outcome goes to window.result ({ok: value} or {err: text}),
// which waitJS reads.
func startJS(t *testing.T, ctx context.Context, body string) {
	t.Helper()
	bt.Eval[chromedp.Void](t, ctx, `window.result = undefined; (async () => {
		try { window.result = {ok: await (async () => { `+body+` })()}; }
		catch (e) { window.result = {err: String(e && (e.code || e.message) || e)}; }
	})(); 0`)
}

// jsResult waits for the outcome of startJS and decodes its value into
// out; it fails on a rejection.
func jsResult(t *testing.T, ctx context.Context, out any) {
	t.Helper()
	bt.WaitJS(t, ctx, `window.result !== undefined`)
	raw := bt.Eval[[]byte](t, ctx, `window.result`)
	var r struct {
		OK  json.RawMessage `json:"ok"`
		Err *string         `json:"err"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("result %s: %v", raw, err)
	}
	if r.Err != nil {
		t.Fatalf("the promise rejected: %s", *r.Err)
	}
	if out != nil {
		if len(r.OK) == 0 {
			r.OK = json.RawMessage("null")
		}
		if err := json.Unmarshal(r.OK, out); err != nil {
			t.Fatalf("result %s: %v", r.OK, err)
		}
	}
}

// currentUser returns usher.getUser()'s e-mail address, or "" for null.
func currentUser(t *testing.T, ctx context.Context) string {
	t.Helper()
	startJS(t, ctx, `const u = await usher.getUser(); return u && u.email;`)
	var email *string
	jsResult(t, ctx, &email)
	if email == nil {
		return ""
	}
	return *email
}

// dialog waits for usher.js's dialog to show view.
func dialog(t *testing.T, ctx context.Context, view string) string {
	t.Helper()
	sel := fmt.Sprintf(`dialog.usher-dialog[data-usher-view=%q]`, view)
	bt.WaitVisible(t, ctx, sel)
	return sel
}

// TestUsherJSDialogs drives usher.js on a page of the application: sign
// up in its dialog, confirm through a link to the application's page,
// log in, change the password and log out.
func TestUsherJSDialogs(t *testing.T) {
	s := startServer(t, nil) // enable_confirm_email, as by default
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	const email = "bob@example.com"

	bt.Go(t, ctx, s.URL+"/app")
	if bt.Eval[bool](t, ctx, `typeof usher === 'object' && usher.prefix === '/user'`) != true {
		t.Fatal("usher.js did not define window.usher with the prefix /user")
	}
	if got := currentUser(t, ctx); got != "" {
		t.Fatalf("getUser() before logging in: %q; want null", got)
	}

	// Sign up: no session until the address is confirmed.
	startJS(t, ctx, `return await usher.signupWithForm();`)
	d := dialog(t, ctx, "signup")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw, "#usher-retype_password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "signup-done")
	wantText(t, ctx, d, email)
	bt.Click(t, ctx, d+" .usher-primary")
	var signedUp any
	jsResult(t, ctx, &signedUp)
	if signedUp != nil {
		t.Fatalf("signupWithForm() resolved with %v; want null (the address needs confirming)", signedUp)
	}
	if bt.Eval[bool](t, ctx, `!!document.querySelector('dialog.usher-dialog')`) {
		t.Error("the dialog is still in the page after the flow ended")
	}
	con.Check(t, ctx, "sign-up dialog")

	// The e-mailed token, handed to the application's page in the
	// fragment: usher.js confirms the address by itself when the page
	// loads. (The page is opened afresh, as from a link in a mail
	// program: going from /app to /app#... in the same tab only changes
	// the fragment, and usher.js does not watch for that.)
	link := s.Mail.WaitFor(email, "onfirm", 1).Link(t, "/user/confirm-email/")
	token := link[strings.LastIndexByte(link, '/')+1:]
	bt.Go(t, ctx, "about:blank")
	bt.Go(t, ctx, s.URL+"/app#usher-confirm="+url.QueryEscape(token))
	d = dialog(t, ctx, "confirmed")
	wantText(t, ctx, d, "confirmed")
	bt.Click(t, ctx, d+" .usher-primary")
	bt.WaitJS(t, ctx, `location.hash === '' && !document.querySelector('dialog.usher-dialog')`)
	if got := currentUser(t, ctx); got != email { // auto_login_after_confirm
		t.Fatalf("getUser() after confirming: %q; want %s", got, email)
	}
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	if got := currentUser(t, ctx); got != "" {
		t.Fatalf("getUser() after logout(): %q; want null", got)
	}
	con.Check(t, ctx, "confirmation link")

	// Log in.
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	var loggedIn string
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() resolved with %q; want %s", loggedIn, email)
	}
	if got := currentUser(t, ctx); got != email {
		t.Fatalf("getUser() after logging in: %q; want %s", got, email)
	}
	con.Check(t, ctx, "log-in dialog")

	// Change the password: a wrong current password is refused in the
	// dialog, then the right one works.
	startJS(t, ctx, `return await usher.changePasswordWithForm();`)
	d = dialog(t, ctx, "change-password")
	bt.Fill(t, ctx, "#usher-old_password", "not my password", "#usher-new_password", newPW, "#usher-retype_password", newPW)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	bt.WaitVisible(t, ctx, "#usher-old_password-error")
	wantText(t, ctx, "#usher-old_password-error", "This is not your current password.")
	bt.Fill(t, ctx, "#usher-old_password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	var changed bool
	jsResult(t, ctx, &changed)
	if !changed {
		t.Fatal("changePasswordWithForm() resolved with false")
	}
	con.Check(t, ctx, "change-password dialog")

	// Log out; then the new password logs in.
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	if got := currentUser(t, ctx); got != "" {
		t.Fatalf("getUser() after logout(): %q; want null", got)
	}
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	bt.Fill(t, ctx, "#usher-email", email, "#usher-password", newPW)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() with the new password resolved with %q", loggedIn)
	}
	startJS(t, ctx, `return await usher.logout();`)
	jsResult(t, ctx, nil)
	if got := currentUser(t, ctx); got != "" {
		t.Fatalf("getUser() after the last logout(): %q; want null", got)
	}
	con.Check(t, ctx, "logout")
}

// TestLanguageSwitch: the footer's language buttons switch the page's
// language and direction.
func TestLanguageSwitch(t *testing.T) {
	s := startServer(t, nil)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)

	bt.Go(t, ctx, s.URL+"/user/login")
	if lang := bt.Eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
		t.Fatalf("<html lang> = %q at first; want en", lang)
	}
	const de = `footer button[name=lang][value="de"]`
	if got := bt.Text(t, ctx, de); got != "Deutsch" {
		t.Fatalf("the German button says %q", got)
	}
	bt.Submit(t, ctx, de)
	if p := path(t, bt.Location(t, ctx)); p != "/user/login" {
		t.Errorf("after switching the language: at %s; want back on /user/login", p)
	}
	if lang := bt.Eval[string](t, ctx, `document.documentElement.lang`); lang != "de" {
		t.Fatalf("<html lang> = %q after choosing Deutsch; want de", lang)
	}
	want := cat.Text("de", "Log in")
	if want == en("Log in") {
		t.Logf("the catalogue has no German for %q yet: the check of the button's text cannot tell", "Log in")
	}
	if got := bt.Text(t, ctx, "button[type=submit].primary"); got != want {
		t.Errorf("the log-in button says %q in German; want %q", got, want)
	}
	if bt.Eval[string](t, ctx, `document.querySelector('`+de+`').getAttribute('aria-current')`) != "true" {
		t.Error("the Deutsch button is not marked aria-current")
	}
	if dir := bt.Eval[string](t, ctx, `document.documentElement.dir`); dir != "ltr" {
		t.Errorf("dir = %q in German", dir)
	}
	con.Check(t, ctx, "German")

	const fa = `footer button[name=lang][value="fa"]`
	if got := bt.Text(t, ctx, fa); got != "فارسی" {
		t.Fatalf("the Persian button says %q", got)
	}
	bt.Submit(t, ctx, fa)
	if lang := bt.Eval[string](t, ctx, `document.documentElement.lang`); lang != "fa" {
		t.Fatalf("<html lang> = %q after choosing فارسی; want fa", lang)
	}
	if dir := bt.Eval[string](t, ctx, `document.documentElement.dir`); dir != "rtl" {
		t.Fatalf("<html dir> = %q in Persian; want rtl", dir)
	}
	if got, want := bt.Text(t, ctx, "button[type=submit].primary"), cat.Text("fa", "Log in"); got != want {
		t.Errorf("the log-in button says %q in Persian; want %q", got, want)
	}
	// The choice is remembered by the browser (a cookie) for other pages.
	bt.Go(t, ctx, s.URL+"/user/register")
	if lang := bt.Eval[string](t, ctx, `document.documentElement.lang`); lang != "fa" {
		t.Errorf("another page is in %q; want fa, the language chosen", lang)
	}
	con.Check(t, ctx, "Persian")
}

// TestCrossOriginFormRefused: a page on another origin whose form posts
// a user's credentials to the log-in form gets a 403, and no session.
func TestCrossOriginFormRefused(t *testing.T) {
	s := startServer(t, nil)
	const email = "cy@example.com"
	s.createUser(t, email)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>You won!</title></head><body>
<form method="post" action="%s/user/login">
<input type="hidden" name="login" value="%s"><input type="hidden" name="password" value="%s">
<input type="hidden" name="remember" value="1">
<button id="claim" type="submit">Claim your prize</button>
</form></body></html>`, s.URL, email, pw)
	}))
	t.Cleanup(evil.Close)
	if evil.URL == s.URL {
		t.Fatal("the two servers share an origin")
	}

	ctx, _ := bt.New(t, "")
	bt.Go(t, ctx, evil.URL)
	if st := bt.Submit(t, ctx, "#claim"); st != http.StatusForbidden {
		t.Fatalf("the cross-origin form post answered %d; want 403", st)
	}
	if loc := bt.Location(t, ctx); !strings.HasPrefix(loc, s.URL+"/user/login") {
		t.Errorf("the form landed on %s", loc)
	}
	body := bt.Text(t, ctx, "body")
	t.Logf("the refusal reads: %q", body)
	c := bt.Cookies(t, ctx, s.URL)
	if c["usher_session"] != nil || c["usher_session_remember"] != nil {
		t.Fatalf("session cookies after the refused post: %v", c)
	}
	// On Usher's own origin, the browser is not logged in.
	bt.Go(t, ctx, s.URL+"/user/login")
	if st := bt.Eval[int](t, ctx, `fetch('/user/api/me', {credentials: 'same-origin'}).then(r => r.status)`); st != 401 {
		t.Fatalf("GET /user/api/me after the refused post: %d; want 401", st)
	}
	// The same credentials on Usher's own form work: only the origin
	// (and the missing CSRF token) stopped the post.
	if st := logIn(t, ctx, s, email, pw, false); st != 200 {
		t.Fatalf("log-in on Usher's own page answered %d", st)
	}
	if st := bt.Eval[int](t, ctx, `fetch('/user/api/me').then(r => r.status)`); st != 200 {
		t.Fatalf("GET /user/api/me after logging in on Usher's page: %d; want 200", st)
	}
}

// enrolTOTP gives the account an authenticator app, through the JSON API,
// and returns the app's secret.
func enrolTOTP(t *testing.T, s *server, email string) []byte {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, body map[string]any) map[string]any {
		b, _ := json.Marshal(body)
		res, err := c.Post(s.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v", path, res.StatusCode, out)
		}
		return out
	}
	post("/user/api/login", map[string]any{"email": email, "password": pw})
	setup := post("/user/api/mfa/totp/secret", map[string]any{})
	secret, err := mfa.DecodeSecret(fmt.Sprint(setup["secret"]))
	if err != nil {
		t.Fatal(err)
	}
	post("/user/api/mfa/methods", map[string]any{"password": pw, "mfa_method": setup["mfa_method"],
		"code": mfa.TOTPCode(secret, time.Now()), "name": "Phone"})
	return secret
}

// TestScreenshots renders every default page (and usher.js's log-in
// dialog) in the browser, checks that none reports a script error or a
// Content-Security-Policy violation, and takes a full-page screenshot of
// each; with USHER_SCREENSHOTS_DIR set, it writes them there as PNG files.
func TestScreenshots(t *testing.T) {
	s := startServer(t, func(c *app.Config) { c.EnableInviteUser = true })
	s.createUser(t, "ann@example.com")
	s.createUser(t, "mo@example.com")
	enrolTOTP(t, s, "mo@example.com")
	if _, err := s.App.Service.CreateUser(context.Background(), usher.NewUser{Email: "cy@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err) // unconfirmed, for the confirmation link's page
	}
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)

	shot := func(name, page string) {
		t.Helper()
		if page != "" {
			if st := bt.Go(t, ctx, s.URL+page); st != 200 {
				t.Errorf("%s: GET %s answered %d", name, page, st)
			}
		}
		con.Check(t, ctx, name)
		if page != "" {
			checkAccessible(t, ctx, name)
		}
		bt.Screenshot(t, ctx, name)
	}

	// Visitors' pages.
	for _, p := range []struct{ name, path string }{
		{"login", "/user/login"},
		{"login-de", "/user/login?lang=de"},
		{"login-fa", "/user/login?lang=fa"},
		{"register", "/user/register"},
		{"forgot-password", "/user/forgot-password"},
		{"resend-confirm-email", "/user/resend-confirm-email"},
		{"login-link", "/user/login-link"},
		{"reset-password", mailedLink(t, s, "ann@example.com", "eset", "/user/reset-password/", s.App.Service.SendPasswordResetEmail)},
		{"confirm-email", mailedLink(t, s, "cy@example.com", "onfirm", "/user/confirm-email/", s.App.Service.SendConfirmEmail)},
	} {
		shot(p.name, p.path)
	}
	// A link that no longer works: its page says so (status 400).
	if st := bt.Go(t, ctx, s.URL+"/user/confirm-email/x"); st != http.StatusBadRequest {
		t.Errorf("link-invalid: GET /user/confirm-email/x answered %d; want 400", st)
	}
	checkAccessible(t, ctx, "link-invalid")
	shot("link-invalid", "")

	// A form with an error shown: a wrong password on the log-in page.
	if st := logIn(t, ctx, s, "ann@example.com", "not the password", false); st != http.StatusUnauthorized {
		t.Errorf("log-in with a wrong password answered %d; want 401", st)
	}
	bt.WaitVisible(t, ctx, "#form-error")
	shot("login-error", "")

	// The second step of a log-in with an authenticator app.
	logIn(t, ctx, s, "mo@example.com", pw, false)
	if p := path(t, bt.Location(t, ctx)); strings.HasPrefix(p, "/user/mfa/verify") {
		shot("mfa-verify", "")
	} else {
		t.Logf("mfa-verify skipped: the log-in went to %s, not to the second-factor page", p)
	}

	// usher.js's log-in dialog on the application's page.
	bt.Go(t, ctx, s.URL+"/app")
	bt.Eval[chromedp.Void](t, ctx, `usher.loginWithForm({allowCancel: true}); 0`)
	dialog(t, ctx, "login")
	shot("usher-js-login-dialog", "")

	// A logged-in user's pages.
	if st := logIn(t, ctx, s, "ann@example.com", pw, true); st != 200 {
		t.Fatalf("log-in for the account pages answered %d", st)
	}
	if p := path(t, bt.Location(t, ctx)); p != "/user/profile" {
		t.Fatalf("log-in for the account pages: at %s", p)
	}
	for _, p := range []struct{ name, path string }{
		{"profile", "/user/profile"},
		{"change-password", "/user/change-password"},
		{"mfa", "/user/mfa"},
		{"invite", "/user/invite"},
		{"logout", "/user/logout"},
	} {
		shot(p.name, p.path)
	}
}

// mailedLink has send e-mail a link to email, and returns the path of
// the link containing part in the first message whose subject contains
// subject.
func mailedLink(t *testing.T, s *server, email, subject, part string, send func(context.Context, string, usher.Client) error) string {
	t.Helper()
	if err := send(context.Background(), email, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	return path(t, s.Mail.WaitFor(email, subject, 1).Link(t, part))
}

// accessibilityJS lists what a screen-reader or keyboard user would miss on
// the page: a visible form control without a label, an image without alt
// text, a button or link without a name, an aria-describedby that points
// nowhere, a page without lang or title, or headings that skip a level.
const accessibilityJS = `(() => {
  const problems = [];
  const visible = el => !el.closest('[hidden]') && el.type !== 'hidden';
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!visible(el)) continue;
    if (el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      problems.push('control without a label: ' + (el.name || el.id));
  }
  for (const el of document.querySelectorAll('img')) {
    if (!el.hasAttribute('alt')) problems.push('image without alt: ' + el.src.slice(0, 40));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (visible(el) && !el.textContent.trim() && !el.getAttribute('aria-label') && !el.querySelector('img[alt]:not([alt=""])'))
      problems.push('nameless ' + el.tagName.toLowerCase());
  }
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\s+/)) {
      if (!document.getElementById(id)) problems.push('aria-describedby points nowhere: ' + id);
    }
  }
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  if (!document.title.trim()) problems.push('no <title>');
  if (document.querySelectorAll('main h1').length !== 1) problems.push('not exactly one h1 in main');
  let last = 1;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
    const level = +h.tagName[1];
    if (level > last + 1) problems.push('heading level skipped: ' + h.tagName + ' ' + h.textContent.trim());
    last = level;
  }
  return problems;
})()`

// checkAccessible fails the test for each problem accessibilityJS finds on
// the current page.
func checkAccessible(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	for _, p := range bt.Eval[[]string](t, ctx, accessibilityJS) {
		t.Errorf("%s: %s", where, p)
	}
}
