package main

import (
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/usertest"
)

// start runs the example over a temporary SQLite database, with its e-mail
// going to an SMTP server started in the test.
func start(t *testing.T) (*httptest.Server, *smtptest.Server) {
	t.Helper()
	mail := smtptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "basic.db")
	cfg.SMTPURL = mail.URL()
	cfg.BaseURL = "http://" + ln.Addr().String() // the origin of e-mailed links
	h, a, err := newServer(cfg, usertest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv, mail
}

func TestBasicApp(t *testing.T) {
	srv, mail := start(t)
	const email, username, pw = "ann@example.com", "ann", usertest.Password

	visitor := newBrowser(t, srv.URL)
	if st, _, body := visitor.get("/"); st != 200 || !strings.Contains(body, "This page can be accessed by anyone") {
		t.Fatalf("home page: %d\n%s", st, body)
	}
	// A browser that is not logged in is sent to the log-in page, and
	// brought back afterwards.
	st, loc, _ := visitor.get("/members")
	if u, _ := url.Parse(loc); st != http.StatusSeeOther || u.Path != "/user/login" || u.Query().Get("next") != "/members" {
		t.Fatalf("visitor on /members: %d Location %q; want 303 to /user/login?next=/members", st, loc)
	}

	// Register through Usher's page, as a browser does.
	b := newBrowser(t, srv.URL)
	st, _, body := b.submit("/user/register", url.Values{
		"email": {email}, "username": {username}, "password": {pw}, "retype_password": {pw},
	})
	if st != 200 || !strings.Contains(body, "confirm your address") {
		t.Fatalf("register: %d\n%s", st, body)
	}
	// Not confirmed yet: log-in is refused.
	if st, _, body := newBrowser(t, srv.URL).submit("/user/login", url.Values{"login": {username}, "password": {pw}}); st != http.StatusForbidden {
		t.Fatalf("log-in before confirming: %d; want 403\n%s", st, body)
	}

	// The confirmation e-mail arrives over SMTP; its link opens a page whose
	// button confirms the address and logs the user in.
	m := mail.WaitFor(email, "Confirm your email address", 1)
	if !strings.HasPrefix(m.Subject, "Basic App - ") {
		t.Errorf("subject %q does not name the app", m.Subject)
	}
	link := m.Link(t, "/user/confirm-email/")
	if st, loc, body := b.submit(link, nil); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("confirm: %d Location %q\n%s", st, loc, body)
	}
	if st, _, body := b.get("/members"); st != 200 || !strings.Contains(body, email) {
		t.Fatalf("members page after confirming: %d\n%s", st, body)
	}

	// Another browser logs in through the log-in page with the username,
	// following the visitor's way in: /members → log-in → /members.
	other := newBrowser(t, srv.URL)
	_, loc, _ = other.get("/members")
	st, loc, body = other.submit(loc, url.Values{"login": {username}, "password": {pw}})
	if st != http.StatusSeeOther || loc != "/members" {
		t.Fatalf("log-in: %d Location %q; want 303 to /members\n%s", st, loc, body)
	}
	st, _, body = other.get("/members")
	if st != 200 || !strings.Contains(body, "only be accessed by authenticated users") || !strings.Contains(body, email) {
		t.Fatalf("members page: %d\n%s", st, body)
	}
	if st, _, body := other.get("/"); st != 200 || !strings.Contains(body, "You are logged in as ann") {
		t.Fatalf("home page for a member: %d\n%s", st, body)
	}
	if st, _, body := other.get("/user/profile"); st != 200 || !strings.Contains(body, email) {
		t.Fatalf("Usher's account page, linked from the pages: %d\n%s", st, body)
	}

	// Log out: GET /user/logout asks, its button logs out.
	if st, loc, body := other.submit("/user/logout", nil); st != http.StatusSeeOther || loc != "/" {
		t.Fatalf("log out: %d Location %q\n%s", st, loc, body)
	}
	if st, _, _ := other.get("/members"); st != http.StatusSeeOther {
		t.Fatalf("members page after logging out: %d; want 303", st)
	}
	if st, _, _ := b.get("/members"); st != 200 {
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

// browser is an HTTP client with cookies that does not follow redirects
// and sends what a browser sends: Accept: text/html, and Origin on POSTs.
type browser struct {
	t      *testing.T
	base   string
	origin string
	c      *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, origin: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to a path on the site (or a full URL) and returns the
// status, the Location header and the body.
func (b *browser) do(method, target string, form url.Values) (int, string, string) {
	b.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = b.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(out)
}

func (b *browser) get(target string) (int, string, string) {
	b.t.Helper()
	return b.do("GET", target, nil)
}

// submit opens the page at target and posts its form back to the same
// address with the given fields plus the form's hidden ones (csrf_token,
// next).
func (b *browser) submit(target string, fields url.Values) (int, string, string) {
	b.t.Helper()
	st, _, page := b.get(target)
	if st != 200 {
		b.t.Fatalf("GET %s: %d\n%s", target, st, page)
	}
	form := url.Values{}
	for k, v := range fields {
		form[k] = v
	}
	for name, value := range hiddenInputs(page) {
		if form.Get(name) == "" {
			form.Set(name, value)
		}
	}
	return b.do("POST", target, form)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hiddenInputs returns the hidden fields of the page's main content (not
// of the header's log-out form or the footer's language switcher).
func hiddenInputs(page string) map[string]string {
	if i := strings.Index(page, "<main"); i >= 0 {
		page = page[i:]
	}
	if i := strings.Index(page, "<footer"); i >= 0 {
		page = page[:i]
	}
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		if _, ok := out[m[1]]; !ok {
			out[m[1]] = html.UnescapeString(m[2])
		}
	}
	return out
}
