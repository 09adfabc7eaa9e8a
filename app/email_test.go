package app_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/usertest"
)

const pw = usertest.Password

// server starts the whole app over SQLite (or PostgreSQL) with its e-mail
// going to a real SMTP server started in the test.
func server(t *testing.T, database string, edit func(*app.Config)) (*httptest.Server, *smtptest.Server, *app.App) {
	t.Helper()
	mail := smtptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Defaults()
	cfg.Database = database
	cfg.SMTPURL = mail.URL()
	cfg.MailFrom = "accounts@example.com"
	cfg.BaseURL = "http://" + ln.Addr().String()
	cfg.PasswordRules = "nist"
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv, mail, a
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postJSON(t *testing.T, c *http.Client, u string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := c.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// follow opens an e-mailed link as a browser does (GET, then the page's
// form POST with its hidden fields, then any redirects) and returns the
// final status and body. A dead link's page, which has no form, is the
// final answer.
func follow(t *testing.T, c *http.Client, link string, form url.Values) (int, string) {
	t.Helper()
	res, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusBadRequest {
		return res.StatusCode, string(page)
	}
	if res.StatusCode != 200 || !strings.Contains(string(page), `<form method="post"`) {
		t.Fatalf("GET %s: %d\n%s", link, res.StatusCode, page)
	}
	if form == nil {
		form = url.Values{}
	}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		if m[1] != "next" {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	origin := link[:strings.Index(link, "/user/")]
	req, _ := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5 && res.StatusCode == http.StatusSeeOther; i++ {
		res.Body.Close()
		if res, err = c.Get(origin + res.Header.Get("Location")); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(body)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

func me(t *testing.T, srv *httptest.Server, c *http.Client) int {
	res, err := c.Get(srv.URL + "/user/api/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestEmailFlows(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { emailFlows(t, filepath.Join(t.TempDir(), "u.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { emailFlows(t, usertest.PostgresAddress(t)) })
}

func emailFlows(t *testing.T, database string) {
	srv, mail, _ := server(t, database, func(c *app.Config) {
		c.EnableLoginLink, c.EnableMultipleEmails, c.EnableUsername = true, true, true
	})
	b := browser()

	// Sign up: no session until the address is confirmed.
	st, body := postJSON(t, b, srv.URL+"/user/api/signup", map[string]any{"email": "ann@example.com", "username": "ann", "password": pw})
	if st != 201 || body["session"] != nil {
		t.Fatalf("signup: %d %v", st, body)
	}
	m := mail.WaitFor("ann@example.com", "onfirm", 1)
	if !strings.Contains(m.From, "accounts@example.com") || m.HTML == "" {
		t.Errorf("confirmation e-mail: from %q, HTML part %d bytes", m.From, len(m.HTML))
	}
	link := m.Link(t, "/user/confirm-email/")
	if !strings.HasPrefix(link, srv.URL) {
		t.Fatalf("link %s is not on the base URL %s", link, srv.URL)
	}
	if st, _ := postJSON(t, b, srv.URL+"/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}); st != 403 {
		t.Fatalf("log-in before confirming: %d; want 403", st)
	}
	// A tampered link is refused and changes nothing.
	last := "A"
	if strings.HasSuffix(link, "A") {
		last = "B"
	}
	bad := link[:len(link)-1] + last
	if st, page := follow(t, b, bad, nil); st != 400 || !strings.Contains(page, "invalid") {
		t.Fatalf("tampered link: %d %s", st, page)
	}
	if st, page := follow(t, b, link, nil); st != 200 || !strings.Contains(page, "confirmed") {
		t.Fatalf("confirm: %d %s", st, page)
	}
	if me(t, srv, b) != 200 {
		t.Fatal("not logged in after confirming (auto_login_after_confirm)")
	}
	if st, _ := follow(t, b, link, nil); st != 400 {
		t.Fatalf("replayed confirmation link: %d", st)
	}

	// Forgot password → reset link → new password; other sessions end.
	other := browser()
	if st, _ := postJSON(t, other, srv.URL+"/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}); st != 200 {
		t.Fatalf("log-in: %d", st)
	}
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/password-reset", map[string]any{"email": "ann@example.com"}); st != 200 || body["ok"] != true {
		t.Fatalf("password-reset: %d %v", st, body)
	}
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/password-reset", map[string]any{"email": "nobody@example.com"}); st != 200 || body["ok"] != true {
		t.Fatalf("password-reset for an unknown address: %d %v (must look the same)", st, body)
	}
	link = mail.WaitFor("ann@example.com", "eset", 1).Link(t, "/user/reset-password/")
	fresh := browser()
	if st, page := follow(t, fresh, link, url.Values{"new_password": {"a brand new password"}, "retype_password": {"another"}}); st != 422 || !strings.Contains(page, "do not match") {
		t.Fatalf("mismatched passwords: %d %s", st, page)
	}
	if st, page := follow(t, fresh, link, url.Values{"new_password": {"a brand new password"}, "retype_password": {"a brand new password"}}); st != 200 || !strings.Contains(page, "changed") {
		t.Fatalf("reset: %d %s", st, page)
	}
	if me(t, srv, other) != 401 {
		t.Error("another session survived the password reset")
	}
	if st, _ := follow(t, browser(), link, url.Values{"new_password": {"yet another password"}, "retype_password": {"yet another password"}}); st != 400 {
		t.Fatalf("replayed reset link: %d", st)
	}
	mail.WaitFor("ann@example.com", "assword", 2) // the "password changed" notice
	if st, _ := postJSON(t, browser(), srv.URL+"/user/api/login", map[string]any{"email": "ann@example.com", "password": "a brand new password"}); st != 200 {
		t.Fatalf("log-in with the new password: %d", st)
	}

	// Login link.
	if st, _ := postJSON(t, browser(), srv.URL+"/user/api/login-link", map[string]any{"email": "ann@example.com"}); st != 200 {
		t.Fatalf("login-link: %d", st)
	}
	link = mail.WaitFor("ann@example.com", "sign-in link", 1).Link(t, "/user/login-link/")
	c := browser()
	if st, _ := follow(t, c, link, url.Values{"remember": {"1"}}); st != 200 {
		t.Fatalf("login link: %d; want the account page", st)
	}
	if me(t, srv, c) != 200 {
		t.Fatal("not logged in after the login link")
	}
	if st, _ := follow(t, browser(), link, nil); st != 400 {
		t.Fatalf("replayed login link: %d", st)
	}

	// The JSON API takes the token too (single-page apps).
	postJSON(t, browser(), srv.URL+"/user/api/signup", map[string]any{"email": "bob@example.com", "username": "bob", "password": pw})
	link = mail.WaitFor("bob@example.com", "onfirm", 1).Link(t, "/user/confirm-email/")
	tok := link[strings.LastIndexByte(link, '/')+1:]
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/confirm-email", map[string]any{"token": tok}); st != 200 || body["user"].(map[string]any)["email_confirmed"] != true {
		t.Fatalf("confirm-email API: %d %v", st, body)
	}
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/confirm-email", map[string]any{"token": tok}); st != 400 || body["error"].(map[string]any)["code"] != "invalid_token" {
		t.Fatalf("replayed token through the API: %d %v", st, body)
	}

	// Change of username, with its notice.
	if st, body := postJSON(t, c, srv.URL+"/user/api/change-username", map[string]any{"username": "annie", "password": "a brand new password"}); st != 200 {
		t.Fatalf("change-username: %d %v", st, body)
	}
	if m := mail.WaitFor("ann@example.com", "sername", 1); !strings.Contains(m.Text, "annie") {
		t.Errorf("username notice does not name the new username:\n%s", m.Text)
	}

	// A second address: add, confirm through its link, make it primary,
	// log in with it, remove the old one.
	if st, body := postJSON(t, c, srv.URL+"/user/api/emails", map[string]any{"email": "ann@work.example"}); st != 201 {
		t.Fatalf("add address: %d %v", st, body)
	}
	link = mail.WaitFor("ann@work.example", "onfirm", 1).Link(t, "/user/confirm-email/")
	if st, _ := follow(t, browser(), link, nil); st != 200 {
		t.Fatalf("confirm the second address: %d", st)
	}
	res, _ := c.Get(srv.URL + "/user/api/emails")
	var list struct {
		Emails []struct {
			ID, Email          string
			Primary, Confirmed bool
		}
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Emails) != 2 || !list.Emails[1].Confirmed {
		t.Fatalf("addresses: %+v", list)
	}
	if st, body := postJSON(t, c, srv.URL+"/user/api/emails/"+list.Emails[1].ID+"/primary", map[string]any{}); st != 200 {
		t.Fatalf("make primary: %d %v", st, body)
	}
	mail.WaitFor("ann@example.com", "", 1)
	if st, _ := postJSON(t, browser(), srv.URL+"/user/api/login", map[string]any{"email": "ann@work.example", "password": "a brand new password"}); st != 200 {
		t.Fatalf("log-in with the new primary address: %d", st)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/user/api/emails/"+list.Emails[0].ID, nil)
	if res, err := c.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("remove the old address: %v %v", res, err)
	}
}

func TestInvitationFlow(t *testing.T) {
	srv, mail, a := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) { c.RequireInvitation, c.EnableInviteUser = true, true })
	if _, err := a.Service.CreateUser(context.Background(), usertestUser("boss@example.com")); err != nil {
		t.Fatal(err)
	}
	boss := browser()
	postJSON(t, boss, srv.URL+"/user/api/login", map[string]any{"email": "boss@example.com", "password": pw})
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw}); st != 403 || body["error"].(map[string]any)["code"] != "signup_disabled" {
		t.Fatalf("sign-up without invitation: %d %v", st, body)
	}
	if st, body := postJSON(t, boss, srv.URL+"/user/api/invite", map[string]any{"email": "ann@example.com"}); st != 200 {
		t.Fatalf("invite: %d %v", st, body)
	}
	link := mail.WaitFor("ann@example.com", "nvit", 1).Link(t, "/user/register?token=")
	ann := browser()
	if st, page := follow(t, ann, link, url.Values{"password": {pw}, "retype_password": {pw}}); st != 200 || !strings.Contains(page, "ready") {
		t.Fatalf("register through the invitation: %d %s", st, page)
	}
	if me(t, srv, ann) != 200 {
		t.Fatal("not logged in after registering")
	}
	if st, _ := follow(t, browser(), link, url.Values{"password": {pw}, "retype_password": {pw}}); st != 400 {
		t.Fatalf("replayed invitation: %d", st)
	}
}

func TestDevMailbox(t *testing.T) {
	srv, _, _ := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) { c.SMTPURL = "" })
	postJSON(t, browser(), srv.URL+"/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw})
	// The outbox's worker delivers in the background: wait for it, up to
	// a generous deadline (a loaded machine), without a timing assertion.
	var page string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := http.Get(srv.URL + "/user/dev/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if page = string(b); res.StatusCode == 200 && strings.Contains(page, "ann@example.com") {
			break
		}
	}
	if !strings.Contains(page, "ann@example.com") {
		t.Fatalf("dev mailbox does not show the message:\n%s", page)
	}
	// Not when the deployment is public (a local proxy might hide that
	// visitors are remote).
	pub, _, _ := server(t, filepath.Join(t.TempDir(), "p.db"), func(c *app.Config) { c.SMTPURL, c.BaseURL = "", "https://auth.example.com" })
	if res, err := http.Get(pub.URL + "/user/dev/mailbox"); err != nil || res.StatusCode != 404 {
		t.Errorf("dev mailbox with a public base_url: %v %v; want 404", res, err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/user/dev/mailbox", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("dev mailbox through a proxy: %d; want 404", res.StatusCode)
	}
}

func usertestUser(email string) usher.NewUser {
	return usher.NewUser{Email: email, Password: pw, Enabled: true, Confirmed: true}
}

// TestTemplatesDirAndRedirects: a template file in templates_dir replaces
// the embedded one, and a login link lands on after_login_url.
func TestTemplatesDirAndRedirects(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "emails"), 0o755)
	os.WriteFile(filepath.Join(dir, "emails", "login_link_subject.txt"), []byte(`{{define "subject"}}Your magic door{{end}}`), 0o644)
	srv, mail, a := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) {
		c.EnableLoginLink, c.TemplatesDir, c.AfterLoginURL = true, dir, "/welcome"
	})
	a.Service.CreateUser(context.Background(), usertestUser("ann@example.com"))
	postJSON(t, browser(), srv.URL+"/user/api/login-link", map[string]any{"email": "ann@example.com"})
	link := mail.WaitFor("ann@example.com", "Your magic door", 1).Link(t, "/user/login-link/")
	c := browser()
	res, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], m[2])
	}
	req, _ := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/welcome" {
		t.Fatalf("login link: %d to %q; want 303 to /welcome", res.StatusCode, res.Header.Get("Location"))
	}
}
