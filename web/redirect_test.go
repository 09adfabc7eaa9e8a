package web_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// siteOrigin is the origin the redirect tests' requests are made to.
const siteOrigin = "http://site.example"

// browserHost returns the host a browser on page base (an http URL of
// siteOrigin) goes to when it follows the Location loc, by the WHATWG URL
// rules for a special scheme: leading and trailing C0 controls and spaces
// are dropped, tabs and newlines are removed anywhere, a backslash counts
// as a slash, two slashes start an authority (and any further slashes
// are skipped), and a scheme other than the base's starts one too.
func browserHost(loc string) string {
	const site = "site.example"
	s := strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	isSlash := func(c byte) bool { return c == '/' || c == '\\' }
	if i := strings.IndexByte(s, ':'); i > 0 && isScheme(s[:i]) {
		scheme := strings.ToLower(s[:i])
		switch scheme {
		case "http":
			s = s[i+1:] // same scheme as the base: a relative reference
		case "https", "ws", "wss", "ftp", "file":
			return authorityHost(strings.TrimLeft(s[i+1:], `/\`))
		default:
			return scheme + ":" // another origin altogether (javascript:, data:, …)
		}
	}
	if len(s) >= 2 && isSlash(s[0]) && isSlash(s[1]) {
		return authorityHost(strings.TrimLeft(s, `/\`))
	}
	return site
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func isScheme(s string) bool {
	for i, c := range []byte(s) {
		alpha := c|0x20 >= 'a' && c|0x20 <= 'z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// authorityHost returns the host of an authority followed by the rest of a
// URL: it ends at the first slash, backslash, "?" or "#", and loses any
// user info and port.
func authorityHost(s string) string {
	if i := strings.IndexAny(s, `/\?#`); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		s = s[:i]
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.ToLower(s)
}

func TestBrowserHost(t *testing.T) {
	tests := []struct{ loc, want string }{
		{"/a/b?c#d", "site.example"},
		{"/\\evil.example", "evil.example"},
		{"\\/evil.example", "evil.example"},
		{"/\t/evil.example", "evil.example"},
		{" //evil.example", "evil.example"},
		{"https:evil.example", "evil.example"},
		{"http:/\\evil.example/x", "evil.example"},
		{"http:x", "site.example"},
		{"javascript:alert(1)", "javascript:"},
		{"//user@EVIL.example:8080/", "evil.example"},
		{"/%2F/evil.example", "site.example"},
	}
	for _, tt := range tests {
		if got := browserHost(tt.loc); got != tt.want {
			t.Errorf("browserHost(%q) = %q; want %q", tt.loc, got, tt.want)
		}
	}
}

// redirectSeeds are next parameters that have led browsers off the site:
// dot segments that http.Redirect cleans away in front of a backslash,
// encoded slashes and backslashes, and tabs that browsers drop.
var redirectSeeds = []string{
	`/./\evil.example`, `/x/../\evil.example`, `/../\evil.example`, `/.\evil.example`,
	`/%2F/evil.example`, `/%2f%2fevil.example`, `/%5C/evil.example`, `/%5cevil.example`,
	`/%09/evil.example`, "/\t/evil.example", "/\n/evil.example", "/\\\t\\evil.example",
	`//evil.example`, `/\evil.example`, `https://evil.example`, `/a#/../\evil.example`,
	`/a?/../\evil.example`, "/x/..//evil.example", `/ok/path?q=1#top`, `/`,
}

// redirectRig serves Usher's pages without a network: a Handler, and the
// cookies of a logged-in browser with its CSRF token.
type redirectRig struct {
	h       *web.Handler
	session string
}

const rigCSRF = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func newRedirectRig(tb testing.TB) *redirectRig {
	// A federated provider whose start fails: the start goes back to
	// the log-in page with next.
	down := &usertest.Provider{ID: "acme", BeginErr: errors.New("the provider is down")}
	svc, err := usher.New(usher.Config{LoginRateLimit: -1}, usher.Deps{Store: usertest.NewSQLiteStore(tb), Passwords: usertest.FastHasher(),
		Policy: password.Policy{}, Logger: usertest.Discard, Providers: []usher.FederatedProvider{down}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	usertest.MustCreateUser(tb, svc, "ann@example.com")
	sess, _, err := svc.Login(tb.Context(), usher.Credentials{Login: "ann@example.com", Password: usertest.Password}, usher.Client{})
	if err != nil {
		tb.Fatal(err)
	}
	return &redirectRig{h: web.New(svc, web.Options{Logger: usertest.Discard}), session: sess.Token}
}

// location makes the request and returns its status and Location.
func (g *redirectRig) location(method, path string, form url.Values, loggedIn bool) (int, string) {
	var body *strings.Reader
	if form != nil {
		form.Set("csrf_token", rigCSRF)
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, siteOrigin+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.AddCookie(&http.Cookie{Name: "usher_session_csrf", Value: rigCSRF})
	if loggedIn {
		r.AddCookie(&http.Cookie{Name: "usher_session", Value: g.session})
	}
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	return w.Code, w.Header().Get("Location")
}

// checkNext sends next to each route that redirects to a next parameter
// and fails unless the browser would stay on the site.
func (g *redirectRig) checkNext(t *testing.T, next string) {
	t.Helper()
	q := "?next=" + url.QueryEscape(next)
	routes := []struct {
		name, method, path string
		form               url.Values
		loggedIn           bool
	}{
		{"GET /user/login (logged in)", "GET", "/user/login" + q, nil, true},
		{"GET /user/register (logged in)", "GET", "/user/register" + q, nil, true},
		{"POST /user/login", "POST", "/user/login" + q, url.Values{"login": {"ann@example.com"}, "password": {usertest.Password}}, false},
		{"POST /user/logout", "POST", "/user/logout", url.Values{"next": {next}}, false},
		{"POST /user/language", "POST", "/user/language", url.Values{"next": {next}, "lang": {"de"}}, false},
		{"GET /user/federated/acme/start", "GET", "/user/federated/acme/start" + q, nil, false},
	}
	for _, rt := range routes {
		status, loc := g.location(rt.method, rt.path, rt.form, rt.loggedIn)
		if status != http.StatusSeeOther {
			t.Fatalf("%s with next %q: status %d; want 303", rt.name, next, status)
		}
		if host := browserHost(loc); host != "site.example" {
			t.Fatalf("%s with next %q: Location %q takes the browser to %q", rt.name, next, loc, host)
		}
	}
}

// TestNextRedirectStaysOnSite is the outside testers' report: dot
// segments in front of a backslash passed the check on the input, and
// http.Redirect's cleaning then sent "/\evil.example".
func TestNextRedirectStaysOnSite(t *testing.T) {
	g := newRedirectRig(t)
	for _, next := range redirectSeeds {
		g.checkNext(t, next)
	}
	// A good next is still honoured, exactly.
	if _, loc := g.location("POST", "/user/logout", url.Values{"next": {"/ok/path?q=1"}}, false); loc != "/ok/path?q=1" {
		t.Errorf("next /ok/path?q=1 → %q", loc)
	}
}

func TestLocalPathRefusesBackslashesAndEncodedSlashes(t *testing.T) {
	for _, p := range redirectSeeds {
		// "/x/..//evil.example" is cleaned to "/evil.example", a path here.
		want := p == "/ok/path?q=1#top" || p == "/" || p == "/x/..//evil.example"
		if got := web.LocalPath(p); got != want {
			t.Errorf("LocalPath(%q) = %v; want %v", p, got, want)
		}
	}
}

// FuzzNextRedirect sends arbitrary next parameters to the routes that
// redirect to them and resolves each Location sent as a browser does.
// Its seeds run in every go test; go test -fuzz FuzzNextRedirect ./web
// explores further.
func FuzzNextRedirect(f *testing.F) {
	for _, s := range redirectSeeds {
		f.Add(s)
	}
	g := newRedirectRig(f)
	f.Fuzz(func(t *testing.T, next string) {
		g.checkNext(t, next)
	})
}
