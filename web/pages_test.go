package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/web"
)

// page GETs path with c and returns the status and body.
func (e *env) page(c *http.Client, path string, hdr ...string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// csrf returns the browser's CSRF token (GETting a page first if it has
// none).
func (e *env) csrf(c *http.Client) string {
	e.t.Helper()
	u, _ := url.Parse(e.srv.URL + "/user/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "usher_session_csrf" {
			return ck.Value
		}
	}
	e.page(c, "/user/login")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "usher_session_csrf" {
			return ck.Value
		}
	}
	e.t.Fatal("no CSRF cookie")
	return ""
}

// submit POSTs a form as a same-origin browser would, with the CSRF token,
// and returns the final status (redirects followed), body and URL path.
func (e *env) submit(c *http.Client, path string, form url.Values) (int, string, string) {
	e.t.Helper()
	if form.Get("csrf_token") == "" {
		form.Set("csrf_token", e.csrf(c))
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Request.URL.Path
}

// publicPages are the visitors' pages and the status each answers with;
// e-mailed links with a token that never was open the dead link's page
// (or, for a flow turned off, the page not found).
var publicPages = map[string]int{
	"/user/login": 200, "/user/register": 200, "/user/forgot-password": 200, "/user/resend-confirm-email": 200,
	"/user/login-link": 200, "/user/logout": 200, "/user/mfa-reset": 200, "/user/confirm-email/x": 400,
	"/user/reset-password/x": 400, "/user/login-link/x": 400, "/user/mfa-reset/x": 404,
}

func TestPublicPagesInEveryLanguage(t *testing.T) {
	e := newEnv(t, usher.Config{EnableUsername: true, EnableLoginLink: true, EnableConfirmEmail: true})
	c := e.browser()
	for _, l := range i18n.Default().Languages() {
		for p, want := range publicPages {
			status, body := e.page(c, p+"?lang="+l.Tag)
			if status != want {
				t.Fatalf("%s in %s: %d\n%s", p, l.Tag, status, body)
			}
			dir := "ltr"
			if l.RTL {
				dir = "rtl"
			}
			if !strings.Contains(body, `<html lang="`+l.Tag+`" dir="`+dir+`">`) {
				t.Errorf("%s in %s: no lang/dir on <html>", p, l.Tag)
			}
		}
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	e := newEnv(t, usher.Config{})
	res, err := http.Get(e.srv.URL + "/user/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Referrer-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", res.Header)
	}
}

func TestLoginPageFlow(t *testing.T) {
	e := newEnv(t, usher.Config{})
	if _, _, err := e.svc.SignupWithEmail(t.Context(), usher.Signup{Email: "ann@example.com", Password: "correct horse battery"}, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	status, body, _ := e.submit(c, "/user/login", url.Values{"login": {"ann@example.com"}, "password": {"wrong password!"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "Incorrect email address or password.") {
		t.Fatalf("wrong password: %d\n%s", status, body)
	}
	if !strings.Contains(body, `value="ann@example.com"`) {
		t.Error("the form forgot the e-mail address")
	}
	status, body, path := e.submit(c, "/user/login?next=/private", url.Values{"login": {"ann@example.com"}, "password": {"correct horse battery"}})
	if status != http.StatusOK || path != "/private" || body != "ann@example.com" {
		t.Fatalf("log-in with next: %d %s %q", status, path, body)
	}
	// An open redirect is refused: next goes only to paths on this site.
	c2 := e.browser()
	_, _, path = e.submit(c2, "/user/login?next=//evil.example/x", url.Values{"login": {"ann@example.com"}, "password": {"correct horse battery"}})
	if path != "/" {
		t.Errorf("next=//evil.example led to %q", path)
	}
	// Logging out is a POST with the token.
	_, _, _ = e.submit(c, "/user/logout", url.Values{})
	if status, _ := e.page(c, "/private", "Accept", "text/html"); status != http.StatusOK {
		t.Errorf("after log-out /private: %d (want the log-in page)", status)
	}
	if r := e.do(c, "GET", "/user/api/me", nil); r.status != http.StatusUnauthorized {
		t.Errorf("after log-out /me: %d", r.status)
	}
}

func TestFormWithoutCSRFTokenRefused(t *testing.T) {
	e := newEnv(t, usher.Config{})
	c := e.browser()
	e.csrf(c)
	form := url.Values{"email": {"eve@example.com"}, "password": {"correct horse battery"}, "retype_password": {"correct horse battery"}, "csrf_token": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}}
	status, _, _ := e.submit(c, "/user/register", form)
	if status != http.StatusForbidden {
		t.Fatalf("wrong token: %d", status)
	}
	if _, err := e.svc.Store().UserByEmail(t.Context(), "eve@example.com"); err == nil {
		t.Error("a sign-up without the CSRF token created the account")
	}
}

func TestRegisterPage(t *testing.T) {
	e := newEnv(t, usher.Config{ProfileFields: []usher.ProfileField{{Name: "name", Label: "Name", Required: true}}})
	c := e.browser()
	status, body := e.page(c, "/user/register")
	if status != 200 || !strings.Contains(body, `name="name"`) {
		t.Fatalf("the declared profile field is not on the sign-up page: %d", status)
	}
	status, body, _ = e.submit(c, "/user/register", url.Values{"email": {"bob@example.com"}, "password": {"correct horse battery"}, "retype_password": {"correct horse batterx"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "The passwords do not match.") {
		t.Fatalf("mismatch: %d\n%s", status, body)
	}
	status, body, _ = e.submit(c, "/user/register", url.Values{"email": {"bob@example.com"}, "password": {"correct horse battery"}, "retype_password": {"correct horse battery"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-name"`) {
		t.Fatalf("missing name: %d\n%s", status, body)
	}
	status, _, path := e.submit(c, "/user/register", url.Values{"email": {"bob@example.com"}, "name": {"Bob"}, "password": {"correct horse battery"}, "retype_password": {"correct horse battery"}})
	if status != 200 || path != "/" {
		t.Fatalf("sign-up: %d %s", status, path)
	}
	if r := e.do(c, "GET", "/user/api/me", nil); r.status != 200 {
		t.Errorf("not logged in after sign-up: %d", r.status)
	}
}

func TestLanguageSwitch(t *testing.T) {
	e := newEnv(t, usher.Config{})
	c := e.browser()
	_, body := e.page(c, "/user/login", "Accept-Language", "de-DE,de;q=0.9")
	if !strings.Contains(body, `<html lang="de"`) {
		t.Fatal("Accept-Language: de was not honoured")
	}
	if !strings.Contains(body, "<title>Anmelden") && !strings.Contains(body, "<title>Log in") {
		t.Errorf("the page's title is not its own:\n%s", body)
	}
	status, body, path := e.submit(c, "/user/language", url.Values{"lang": {"fa"}, "next": {"/user/login"}})
	if status != 200 || path != "/user/login" || !strings.Contains(body, `dir="rtl"`) {
		t.Fatalf("switch to fa: %d %s", status, path)
	}
}

// TestLinkLanguageReachesTheForm: a page opened with ?lang= (an app's
// link) answers its form in that language too, though the form posts
// without the query; the language switcher's choice is not replaced.
func TestLinkLanguageReachesTheForm(t *testing.T) {
	e := newEnv(t, usher.Config{})
	c := e.browser()
	if _, body := e.page(c, "/user/login?lang=fr"); !strings.Contains(body, `<html lang="fr"`) {
		t.Fatal("?lang=fr was not honoured")
	}
	status, body, _ := e.submit(c, "/user/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}})
	if !strings.Contains(body, `<html lang="fr"`) {
		t.Errorf("the form's answer (%d) is not in French:\n%s", status, body)
	}
	// A lasting choice made with the switcher stays.
	c = e.browser()
	e.submit(c, "/user/language", url.Values{"lang": {"de"}, "next": {"/user/login"}})
	e.page(c, "/user/login?lang=de")
	if _, body := e.page(c, "/user/login"); !strings.Contains(body, `<html lang="de"`) {
		t.Error("the switcher's choice was lost")
	}
}

// testLogger logs internal errors through t, so that a failing page says
// why.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TestFlashCannotCarryMarkup: a flash message is a catalogue message ID;
// anything else in the cookie is dropped, and text is escaped.
func TestFlashCannotCarryMarkup(t *testing.T) {
	e := newEnv(t, usher.Config{})
	for _, tc := range []struct{ value, want, notWant string }{
		{url.QueryEscape("ok:<script>alert(1)</script>"), "", "<script>alert"},
		{url.QueryEscape("ok:email_confirmed"), "Thank you: your email address is confirmed.", ""},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/user/login", nil)
		req.AddCookie(&http.Cookie{Name: "usher_session_flash", Value: tc.value})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(b)
		if tc.notWant != "" && strings.Contains(body, tc.notWant) {
			t.Errorf("flash %q reached the page", tc.value)
		}
		if tc.want != "" && !strings.Contains(body, tc.want) {
			t.Errorf("flash %q is not shown", tc.value)
		}
	}
}

// TestJSONErrorsInRequestLanguage: the JSON API's messages follow
// Accept-Language.
func TestJSONErrorsInRequestLanguage(t *testing.T) {
	e := newEnv(t, usher.Config{})
	r := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "x@example.com", "password": "wrong password"}, "Accept-Language", "de")
	msg, _ := r.body["error"].(map[string]any)["message"].(string)
	if want := i18n.Default().Text("de", "authentication_failed"); msg != want || msg == i18n.Default().Text("en", "authentication_failed") {
		t.Errorf("message %q; want %q (German)", msg, want)
	}
}

// TestLoginOrRegisterPage: Flask-User's combined page shows both forms;
// a refused sign-up keeps its errors in its own half.
func TestLoginOrRegisterPage(t *testing.T) {
	e := newEnv(t, usher.Config{})
	svc := e.svc
	h := web.New(svc, web.Options{LoginOrRegister: true, Logger: testLogger(t)})
	srv := httptest.NewServer(h)
	defer srv.Close()
	e2 := &env{t: t, srv: srv, svc: svc, h: h}
	c := e2.browser()
	for _, p := range []string{"/user/login", "/user/register"} {
		status, body := e2.page(c, p)
		if status != 200 || !strings.Contains(body, `action="/user/login"`) || !strings.Contains(body, `action="/user/register"`) {
			t.Fatalf("%s: %d; want both forms", p, status)
		}
	}
	status, body, _ := e2.submit(c, "/user/register", url.Values{"email": {"nope"}, "password": {"correct horse battery"}, "retype_password": {"correct horse battery"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-email"`) || !strings.Contains(body, `action="/user/login"`) {
		t.Fatalf("refused sign-up: %d", status)
	}
}

// TestPagesFollowUsersLanguage: the language a user chose is kept on the
// account, so another browser of theirs (no language cookie) shows the
// pages, and their error messages, in it.
func TestPagesFollowUsersLanguage(t *testing.T) {
	e := newEnv(t, usher.Config{})
	u, _, err := e.svc.SignupWithEmail(t.Context(), usher.Signup{Email: "ann@example.com", Password: "correct horse battery"}, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetLocale(t.Context(), u.ID, "de"); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	e.submit(c, "/user/login", url.Values{"login": {"ann@example.com"}, "password": {"correct horse battery"}})
	_, body := e.page(c, "/user/logout", "Accept-Language", "en")
	if !strings.Contains(body, `<html lang="de"`) {
		t.Fatal("the page ignores the user's language")
	}
	_, body, _ = e.submit(c, "/user/register", url.Values{"email": {"nope"}, "password": {"x"}, "retype_password": {"x"}})
	if want := i18n.Default().Text("de", "email_invalid"); !strings.Contains(body, want) {
		t.Errorf("the field error is not in the user's language (%q)", want)
	}
}
