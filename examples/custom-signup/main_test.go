package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/pagetest"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/usertest"
)

const pw = usertest.Password

// start runs the example over a temporary SQLite database, with the
// embedded templates written to a temporary folder and e-mail going to an
// SMTP server started in the test.
func start(t *testing.T) (*httptest.Server, *smtptest.Server, *app.App) {
	t.Helper()
	mail := smtptest.Start(t)
	cfg := app.Defaults()
	cfg.SMTPURL = mail.URL()
	cfg.TemplatesDir = t.TempDir()
	if err := writeTemplates(cfg.TemplatesDir); err != nil {
		t.Fatal(err)
	}
	srv, a := pagetest.Start(t, cfg, newServer)
	return srv, mail, a
}

func TestSignupNeedsAName(t *testing.T) {
	srv, _, a := start(t)

	// The sign-up page asks for the name.
	b := pagetest.NewBrowser(t, srv.URL)
	if _, _, page := b.Get("/user/register"); !strings.Contains(page, `<label for="f-name">Name`) || !strings.Contains(page, `name="retype_password"`) {
		t.Fatalf("the sign-up page does not ask for a name and the password twice:\n%s", page)
	}
	for _, name := range []string{"", "   "} {
		st, _, page := b.Submit("/user/register", url.Values{
			"email": {"ann@example.com"}, "password": {pw}, "retype_password": {pw}, "name": {name},
		})
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, `id="e-name">Must supply a name<`) {
			t.Fatalf("sign-up page with name %q: %d\n%s", name, st, page)
		}
	}
	// The passwords must match.
	st, _, page := b.Submit("/user/register", url.Values{
		"email": {"ann@example.com"}, "password": {pw}, "retype_password": {pw + "!"}, "name": {"Ann"},
	})
	if st != http.StatusUnprocessableEntity || !strings.Contains(page, "do not match") {
		t.Fatalf("sign-up page with passwords that differ: %d\n%s", st, page)
	}

	// The JSON API runs the same hook.
	for _, body := range []map[string]any{
		{"email": "ann@example.com", "password": pw},
		{"email": "ann@example.com", "password": pw, "profile": map[string]string{"name": " \t "}},
	} {
		st, out := postJSON(t, srv.URL+"/user/api/signup", body)
		if st != http.StatusUnprocessableEntity || out.Error.Code != "validation_failed" || out.Error.Fields["name"] != "Must supply a name" {
			t.Fatalf("API sign-up %v: %d %+v", body, st, out)
		}
	}
	// Its problems come with the built-in ones.
	st, out := postJSON(t, srv.URL+"/user/api/signup", map[string]any{"email": "not an address", "password": pw})
	if st != http.StatusUnprocessableEntity || out.Error.Fields["name"] != "Must supply a name" || out.Error.Fields["email"] == "" {
		t.Fatalf("API sign-up without a name or a valid address: %d %+v", st, out)
	}
	if _, err := a.Service.FindUser(context.Background(), "ann@example.com"); err == nil {
		t.Fatal("a refused sign-up created the account")
	}
}

func TestSignupAndCustomEmails(t *testing.T) {
	srv, mail, a := start(t)
	ctx := context.Background()
	const email = "ann@example.com"

	b := pagetest.NewBrowser(t, srv.URL)
	st, _, page := b.Submit("/user/register", url.Values{
		"email": {email}, "password": {pw}, "retype_password": {pw}, "name": {"Ann Smith"},
	})
	if st != 200 || !strings.Contains(page, "confirm your address") {
		t.Fatalf("sign-up: %d\n%s", st, page)
	}

	// The confirmation e-mail is the app's own.
	m := mail.WaitFor(email, "Complete your sign-up", 1)
	if m.Subject != "Custom Sign-up - Complete your sign-up" {
		t.Errorf("subject %q", m.Subject)
	}
	const thanks = "Thanks for signing up for our service. To complete your sign-up, click here to confirm your email address:"
	if !strings.Contains(m.Text, thanks) || !strings.Contains(m.Text, "The Custom Sign-up team") {
		t.Errorf("text part:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, thanks) || !strings.Contains(m.HTML, "Complete my sign-up</a>") {
		t.Errorf("HTML part:\n%s", m.HTML)
	}
	// Its link logs the user in, and the home page greets them by name.
	if st, loc, page := b.Submit(m.Link(t, "/user/confirm-email/"), nil); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("confirm: %d Location %q\n%s", st, loc, page)
	}
	if _, _, page := b.Get("/"); !strings.Contains(page, "You are logged in as "+email) || !strings.Contains(page, "Hello, Ann Smith!") {
		t.Fatalf("home page after confirming:\n%s", page)
	}

	// Through the JSON API the hook trims the name before it is stored.
	if st, out := postJSON(t, srv.URL+"/user/api/signup", map[string]any{
		"email": "bob@example.com", "password": pw, "profile": map[string]string{"name": "  Bob "},
	}); st != http.StatusCreated {
		t.Fatalf("API sign-up: %d %+v", st, out)
	}
	if u, err := a.Service.FindUser(ctx, "bob@example.com"); err != nil || u.Profile["name"] != "Bob" {
		t.Fatalf("Bob's profile: %v, %v", u, err)
	}
	mail.WaitFor("bob@example.com", "Complete your sign-up", 1)

	// Forgot password: the reset e-mail is the app's own too.
	visitor := pagetest.NewBrowser(t, srv.URL)
	if st, _, page := visitor.Submit("/user/forgot-password", url.Values{"email": {email}}); st != 200 {
		t.Fatalf("forgot password: %d\n%s", st, page)
	}
	m = mail.WaitFor(email, "Your password reset link", 1)
	if !strings.Contains(m.Text, "Someone (hopefully you) asked to reset the password of your Custom Sign-up account, "+email+". Click here to choose a new password:") {
		t.Errorf("reset e-mail, text part:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "Choose a new password</a>") {
		t.Errorf("reset e-mail, HTML part:\n%s", m.HTML)
	}
	const newPW = "a brand new password"
	if st, loc, page := visitor.Submit(m.Link(t, "/user/reset-password/"), url.Values{"new_password": {newPW}, "retype_password": {newPW}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("reset: %d Location %q\n%s", st, loc, page)
	}
	if st, loc, page := pagetest.NewBrowser(t, srv.URL).Submit("/user/login", url.Values{"login": {email}, "password": {newPW}}); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("log-in with the new password: %d Location %q\n%s", st, loc, page)
	}
}

// TestTemplatesFolder checks that the folder -templates may name (the
// embedded files' source) opens as it is.
func TestTemplatesFolder(t *testing.T) {
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "custom.db")
	cfg.BaseURL = "http://localhost:8080" // as examplekit's flags give it
	cfg.TemplatesDir = "templates"
	_, a, err := newServer(cfg, usertest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
}

type apiAnswer struct {
	Error struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

// postJSON posts body to u as a program does (no cookies, no Origin).
func postJSON(t *testing.T, u string, body any) (int, apiAnswer) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out apiAnswer
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}
