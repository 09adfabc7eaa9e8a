package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/internal/pagetest"
	"github.com/usher-auth/usher/internal/smtptest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// TestMountedAtAnyPrefix: a Go program that mounts Usher at /auth, or at
// the root, with path_prefix saying so, gets every page, redirect and
// e-mailed link under that path — confirmation, password reset, login
// link, invitation, second-factor reset, a further address's confirmation
// — and every link and form on the pages on the way leads to a route
// that exists.
func TestMountedAtAnyPrefix(t *testing.T) {
	for _, prefix := range []string{"/auth", "/"} {
		t.Run(prefix, func(t *testing.T) { mountedAt(t, prefix) })
	}
}

// librarySite is what a library user writes: Usher's Handler mounted at
// prefix beside the program's own routes, one of them behind
// LoginRequired.
func librarySite(prefix string) pagetest.NewServerFunc {
	return func(cfg app.Config, log *slog.Logger) (http.Handler, *app.App, error) {
		cfg.Prefix = prefix
		a, err := app.Open(context.Background(), cfg, log)
		if err != nil {
			return nil, nil, err
		}
		mux := http.NewServeMux()
		mux.Handle(strings.TrimSuffix(prefix, "/")+"/", a.Web)
		mux.Handle("GET /hello", a.Web.LoginRequired(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "Hello, %s", web.UserFromContext(r.Context()).Email)
		})))
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
		return mux, a, nil
	}
}

// mountSite is the site under test: it checks the links, redirects and
// pages its browsers meet.
type mountSite struct {
	t      *testing.T
	url    string // the server's origin
	p      string // the prefix as paths start with it: "/auth" or ""
	mail   *smtptest.Server
	pages  map[string]bool // paths whose route was checked
	anchor *pagetest.Browser
}

// mountBrowser is a Browser on the site that checks where it is sent.
type mountBrowser struct {
	*pagetest.Browser
	s *mountSite
}

func (s *mountSite) browser() mountBrowser {
	return mountBrowser{pagetest.NewBrowser(s.t, s.url), s}
}

// land follows the redirects of an answer as a browser does, checking
// that each Location is under the prefix (or one of the program's own
// pages), and returns the final status and page; the final page's links
// are checked too (checkPage).
func (b mountBrowser) land(status int, loc, body string) (int, string) {
	s := b.s
	s.t.Helper()
	for i := 0; status == http.StatusSeeOther || status == http.StatusFound; i++ {
		if i == 5 || !strings.HasPrefix(loc, "/") {
			s.t.Fatalf("redirect to %q", loc)
		}
		if !strings.HasPrefix(loc, s.p+"/") && loc != "/" && !strings.HasPrefix(loc, "/hello") {
			s.t.Fatalf("redirect to %q: not under the prefix %q", loc, s.p)
		}
		status, loc, body = b.Get(loc)
	}
	s.checkPage(body)
	return status, body
}

// submit is Submit (the page's form posted back with fields) and land.
func (b mountBrowser) submit(target string, fields url.Values) (int, string) {
	b.s.t.Helper()
	return b.land(b.Submit(target, fields))
}

var pageRef = regexp.MustCompile(`(href|action|src)="(/[^"]*)"`)

// checkPage asks for every local link, form action and script of a page
// and fails on one that names no route (404). A form's action answers a
// GET with 405 when only POST is served there, which shows the route
// exists.
func (s *mountSite) checkPage(body string) {
	s.t.Helper()
	for _, m := range pageRef.FindAllStringSubmatch(body, -1) {
		ref := strings.ReplaceAll(m[2], "&amp;", "&")
		path, _, _ := strings.Cut(ref, "?")
		if s.pages[path] {
			continue
		}
		s.pages[path] = true
		if st, _, _ := s.anchor.Get(ref); st == http.StatusNotFound {
			s.t.Errorf("the page's %s %q names no route", m[1], ref)
		}
	}
}

// link waits for the n-th message to to whose subject has subject, and
// returns its link to path (a usher.Path constant), checking it is on the
// base URL under the prefix.
func (s *mountSite) link(to, subject string, n int, path string) string {
	s.t.Helper()
	l := s.mail.WaitFor(to, subject, n).Link(s.t, path)
	if want := s.url + s.p + path; !strings.HasPrefix(l, want) {
		s.t.Fatalf("e-mailed link %s; want it to start with %s", l, want)
	}
	return l
}

func mountedAt(t *testing.T, prefix string) {
	mail := smtptest.Start(t)
	cfg := app.Defaults()
	cfg.SMTPURL, cfg.MailFrom = mail.URL(), "accounts@example.com"
	cfg.EnableLoginLink, cfg.EnableInviteUser, cfg.AllowMFAEmailReset, cfg.EnableMultipleEmails = true, true, true, true
	cfg.MailRateLimit = -1
	srv, _ := pagetest.Start(t, cfg, librarySite(prefix))
	s := &mountSite{t: t, url: srv.URL, p: strings.TrimSuffix(prefix, "/"), mail: mail, pages: map[string]bool{},
		anchor: pagetest.NewBrowser(t, srv.URL)}
	p := s.p
	fresh := func() mountBrowser { return s.browser() }

	// LoginRequired sends a visitor to the log-in page under the prefix.
	ann := s.browser()
	st, loc, _ := ann.Get("/hello")
	if want := p + "/login?next=%2Fhello"; st != http.StatusSeeOther || loc != want {
		t.Fatalf("GET /hello as a visitor: %d %q; want 303 to %s", st, loc, want)
	}
	if st, _ := ann.land(st, loc, ""); st != 200 {
		t.Fatalf("the log-in page: %d", st)
	}

	// So does the forward-auth endpoint, for a proxy's browser.
	req, _ := http.NewRequest("GET", srv.URL+p+"/api/verify", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("X-Forwarded-Uri", "/hello")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := p + "/login?next=%2Fhello"; res.StatusCode != http.StatusUnauthorized || res.Header.Get("Location") != want {
		t.Fatalf("GET %s/api/verify as a visitor: %d %q; want 401 with Location %s", p, res.StatusCode, res.Header.Get("Location"), want)
	}

	// Sign up, then confirm through the e-mailed link (which logs in).
	st, _ = ann.submit(p+"/register", url.Values{"email": {"ann@example.com"}, "password": {pw}, "retype_password": {pw}})
	if st != 200 {
		t.Fatalf("sign-up: %d", st)
	}
	confirm := s.link("ann@example.com", "onfirm", 1, usher.PathConfirmEmail+"/")
	if st, _ := ann.submit(confirm, nil); st != 200 {
		t.Fatalf("confirmation link: %d", st)
	}
	if st, _, body := ann.Get("/hello"); st != 200 || !strings.Contains(body, "ann@example.com") {
		t.Fatalf("/hello after confirming: %d %q", st, body)
	}
	// A used link's page offers a new one, under the prefix.
	if st, _, body := ann.Get(confirm); st != http.StatusBadRequest || !strings.Contains(body, p+"/resend-confirm-email") {
		t.Fatalf("used confirmation link: %d\n%s", st, body)
	} else {
		s.checkPage(body)
	}

	// The account pages.
	for _, page := range []string{"/profile", "/change-password", "/manage-emails", "/invite", "/mfa"} {
		if st, _ := ann.land(ann.Get(p + page)); st != 200 {
			t.Fatalf("GET %s%s: %d", p, page, st)
		}
	}

	// A further address, confirmed through its link.
	if st, _ := ann.submit(p+"/manage-emails", url.Values{"email": {"ann@work.example"}}); st != 200 {
		t.Fatalf("add an address: %d", st)
	}
	if st, _ := ann.submit(s.link("ann@work.example", "onfirm", 1, usher.PathConfirmEmail+"/"), nil); st != 200 {
		t.Fatalf("confirm the further address: %d", st)
	}

	// An invitation, and sign-up through its link.
	if st, _ := ann.submit(p+"/invite", url.Values{"email": {"bob@example.com"}}); st != 200 {
		t.Fatalf("invite: %d", st)
	}
	bob := s.browser()
	invitation := s.link("bob@example.com", "nvit", 1, usher.PathRegister+"?token=")
	if st, _ := bob.submit(invitation, url.Values{"password": {pw}, "retype_password": {pw}}); st != 200 {
		t.Fatalf("sign-up through the invitation: %d", st)
	}

	// Log out, then log in again: back to where LoginRequired sent ann.
	if st, _ := ann.submit(p+"/logout", nil); st != 200 {
		t.Fatalf("log-out: %d", st)
	}
	_, loc, _ = ann.Get("/hello")
	if st, body := ann.submit(loc, url.Values{"login": {"ann@example.com"}, "password": {pw}}); st != 200 || body != "Hello, ann@example.com" {
		t.Fatalf("log-in with next: %d %q", st, body)
	}

	// Forgot password: the reset link.
	if st, _ := fresh().submit(p+"/forgot-password", url.Values{"email": {"ann@example.com"}}); st != 200 {
		t.Fatalf("forgot password: %d", st)
	}
	reset := s.link("ann@example.com", "eset", 1, usher.PathResetPassword+"/")
	newPW := "a brand new password"
	if st, _ := fresh().submit(reset, url.Values{"new_password": {newPW}, "retype_password": {newPW}}); st != 200 {
		t.Fatalf("reset link: %d", st)
	}

	// A login link.
	if st, _ := fresh().submit(p+"/login-link", url.Values{"email": {"bob@example.com"}}); st != 200 {
		t.Fatalf("ask for a login link: %d", st)
	}
	viaLink := s.browser()
	if st, _ := viaLink.submit(s.link("bob@example.com", "sign-in link", 1, usher.PathLoginLink+"/"), nil); st != 200 {
		t.Fatalf("login link: %d", st)
	}
	if st, _, _ := viaLink.Get("/hello"); st != 200 {
		t.Fatalf("/hello after the login link: %d", st)
	}

	// Two-factor authentication: set up on the page, the second step of
	// log-in, then turned off through the e-mailed link.
	_, _, page := viaLink.Get(p + "/mfa")
	form := url.Values{}
	for k, v := range pagetest.HiddenInputs(page) {
		form.Set(k, v)
	}
	secret, err := mfa.DecodeSecret(form.Get("secret"))
	if err != nil {
		t.Fatalf("no key on the set-up page: %v", err)
	}
	form.Set("code", mfa.TOTPCode(secret, time.Now()))
	form.Set("password", pw)
	if st, _ := viaLink.land(viaLink.Do("POST", p+"/mfa", form)); st != 200 {
		t.Fatalf("set up an authenticator app: %d", st)
	}
	second := s.browser()
	st, loc, _ = second.Submit(p+"/login", url.Values{"login": {"bob@example.com"}, "password": {pw}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, p+"/mfa/verify") {
		t.Fatalf("log-in with a second factor: %d %q; want 303 to %s/mfa/verify", st, loc, p)
	}
	second.land(second.Get(loc))
	code := mfa.TOTPCode(secret, time.Now().Add(30*time.Second)) // the set-up used this step's code
	if st, _ := second.submit(loc, url.Values{"code": {code}}); st != 200 {
		t.Fatalf("the second step: %d", st)
	}
	if st, _, _ := second.Get("/hello"); st != 200 {
		t.Fatalf("/hello after the second step: %d", st)
	}
	if st, _ := fresh().submit(p+usher.PathMFAReset, url.Values{"email": {"bob@example.com"}}); st != 200 {
		t.Fatalf("ask for a second-factor reset: %d", st)
	}
	mfaReset := s.link("bob@example.com", "two-factor", 1, usher.PathMFAReset+"/")
	if st, _ := fresh().submit(mfaReset, url.Values{"password": {pw}}); st != 200 {
		t.Fatalf("second-factor reset link: %d", st)
	}
	if st, loc, _ := fresh().Submit(p+"/login", url.Values{"login": {"bob@example.com"}, "password": {pw}}); st != http.StatusSeeOther || strings.Contains(loc, "/mfa/verify") {
		t.Fatalf("log-in after the reset: %d %q; want no second step", st, loc)
	}
}

// TestOpenNeedsBaseURL: a program that names no base URL is told so at
// start, rather than mailing links to port 8080 while it listens on
// another; the usher binary derives it from the address it listens on.
func TestOpenNeedsBaseURL(t *testing.T) {
	cfg := app.Defaults()
	cfg.Database = filepath.Join(t.TempDir(), "u.db")
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err == nil {
		a.Close()
	}
	if !errors.Is(err, app.ErrNoBaseURL) || !strings.Contains(err.Error(), "BaseURL") {
		t.Fatalf("Open without BaseURL: %v; want ErrNoBaseURL naming the setting", err)
	}
	if _, err := os.Stat(cfg.Database); !os.IsNotExist(err) {
		t.Errorf("Open without BaseURL created the database: %v", err)
	}
}

// TestPrefixValidated: path_prefix is a plain path, or / for the root.
func TestPrefixValidated(t *testing.T) {
	for prefix, ok := range map[string]bool{
		"/user": true, "/auth": true, "/auth/": true, "/": true, "/a/b": true,
		"auth": false, "//auth": false, "/a/../b": false, "/a b": false, "/auth?x=1": false, "/#usher": false,
	} {
		cfg := app.Defaults()
		cfg.Prefix = prefix
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("path_prefix %q: %v; want ok %v", prefix, err, ok)
		} else if err != nil && !strings.Contains(err.Error(), "path_prefix") {
			t.Errorf("path_prefix %q: %v; want the error to name path_prefix", prefix, err)
		}
	}
}

// TestServerHandlerFollowsPrefix: the server's Handler (usher serve) mounts
// Usher at path_prefix and sends / to the account page there.
func TestServerHandlerFollowsPrefix(t *testing.T) {
	srv, _ := pagetest.Start(t, app.Defaults(), func(cfg app.Config, log *slog.Logger) (http.Handler, *app.App, error) {
		cfg.Prefix = "/auth"
		a, err := app.Open(context.Background(), cfg, log)
		if err != nil {
			return nil, nil, err
		}
		return a.Handler(), a, nil
	})
	b := pagetest.NewBrowser(t, srv.URL)
	if st, loc, _ := b.Get("/"); st != http.StatusSeeOther || loc != "/auth/profile" {
		t.Errorf("GET /: %d %q; want 303 to /auth/profile", st, loc)
	}
	if st, loc, _ := b.Get("/auth/profile"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login") {
		t.Errorf("GET /auth/profile as a visitor: %d %q; want 303 to /auth/login", st, loc)
	}
	if st, _, _ := b.Get("/auth/login"); st != 200 {
		t.Errorf("GET /auth/login: %d", st)
	}
	if st, _, _ := b.Get("/user/login"); st != http.StatusNotFound {
		t.Errorf("GET /user/login: %d; want 404", st)
	}
}
