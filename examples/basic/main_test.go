package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/pagetest"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/usertest"
)

// start runs the example over a temporary SQLite database, with its e-mail
// going to an SMTP server started in the test.
func start(t *testing.T) (*httptest.Server, *smtptest.Server) {
	t.Helper()
	mail := smtptest.Start(t)
	cfg := app.Defaults()
	cfg.SMTPURL = mail.URL()
	srv, _ := pagetest.Start(t, cfg, newServer)
	return srv, mail
}

func TestBasicApp(t *testing.T) {
	srv, mail := start(t)
	const email, username, pw = "ann@example.com", "ann", usertest.Password

	visitor := pagetest.NewBrowser(t, srv.URL)
	if st, _, body := visitor.Get("/"); st != 200 || !strings.Contains(body, "This page can be accessed by anyone") {
		t.Fatalf("home page: %d\n%s", st, body)
	}
	// A browser that is not logged in is sent to the log-in page, and
	// brought back afterwards.
	st, loc, _ := visitor.Get("/members")
	if u, _ := url.Parse(loc); st != http.StatusSeeOther || u.Path != "/user/login" || u.Query().Get("next") != "/members" {
		t.Fatalf("visitor on /members: %d Location %q; want 303 to /user/login?next=/members", st, loc)
	}

	// Register through Usher's page, as a browser does.
	b := pagetest.NewBrowser(t, srv.URL)
	st, _, body := b.Submit("/user/register", url.Values{
		"email": {email}, "username": {username}, "password": {pw}, "retype_password": {pw},
	})
	if st != 200 || !strings.Contains(body, "confirm your address") {
		t.Fatalf("register: %d\n%s", st, body)
	}
	// Not confirmed yet: log-in is refused.
	if st, _, body := pagetest.NewBrowser(t, srv.URL).Submit("/user/login", url.Values{"login": {username}, "password": {pw}}); st != http.StatusForbidden {
		t.Fatalf("log-in before confirming: %d; want 403\n%s", st, body)
	}

	// The confirmation e-mail arrives over SMTP; its link opens a page whose
	// button confirms the address and logs the user in.
	m := mail.WaitFor(email, "Confirm your email address", 1)
	if !strings.HasPrefix(m.Subject, "Basic App - ") {
		t.Errorf("subject %q does not name the app", m.Subject)
	}
	link := m.Link(t, "/user/confirm-email/")
	if st, loc, body := b.Submit(link, nil); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("confirm: %d Location %q\n%s", st, loc, body)
	}
	if st, _, body := b.Get("/members"); st != 200 || !strings.Contains(body, email) {
		t.Fatalf("members page after confirming: %d\n%s", st, body)
	}

	// Another browser logs in through the log-in page with the username,
	// following the visitor's way in: /members → log-in → /members.
	other := pagetest.NewBrowser(t, srv.URL)
	_, loc, _ = other.Get("/members")
	st, loc, body = other.Submit(loc, url.Values{"login": {username}, "password": {pw}})
	if st != http.StatusSeeOther || loc != "/members" {
		t.Fatalf("log-in: %d Location %q; want 303 to /members\n%s", st, loc, body)
	}
	st, _, body = other.Get("/members")
	if st != 200 || !strings.Contains(body, "only be accessed by authenticated users") || !strings.Contains(body, email) {
		t.Fatalf("members page: %d\n%s", st, body)
	}
	if st, _, body := other.Get("/"); st != 200 || !strings.Contains(body, "You are logged in as ann") {
		t.Fatalf("home page for a member: %d\n%s", st, body)
	}
	if st, _, body := other.Get("/user/profile"); st != 200 || !strings.Contains(body, email) {
		t.Fatalf("Usher's account page, linked from the pages: %d\n%s", st, body)
	}

	// Log out: GET /user/logout asks, its button logs out.
	if st, loc, body := other.Submit("/user/logout", nil); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("log out: %d Location %q\n%s", st, loc, body)
	}
	if st, _, _ := other.Get("/members"); st != http.StatusSeeOther {
		t.Fatalf("members page after logging out: %d; want 303", st)
	}
	if st, _, _ := b.Get("/members"); st != 200 {
		t.Fatalf("the first browser's session ended too: %d", st)
	}

	// A program (no text/html in Accept) gets 401, not a redirect.
	res, err := http.Get(srv.URL + "/members")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API client on /members: %d; want 401", res.StatusCode)
	}
}
