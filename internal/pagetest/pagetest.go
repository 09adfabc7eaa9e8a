// Package pagetest has helpers for the tests of the example programs under
// examples/: start an example's site on a local port, and go through its
// pages as a browser does.
package pagetest

import (
	"html"
	"io"
	"log/slog"
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
	"github.com/usher-auth/usher/usertest"
)

// NewServerFunc is the shape of an example's newServer: it opens Usher
// with cfg and returns the whole site and the App, which the caller
// closes.
type NewServerFunc func(cfg app.Config, logger *slog.Logger) (http.Handler, *app.App, error)

// Start runs the site newServer builds from cfg on a local port, with an
// SQLite database in a temporary folder as cfg.Database and the server's
// own address as cfg.BaseURL, the origin of e-mailed links. The logger
// discards. The server and the App close when the test ends.
func Start(t testing.TB, cfg app.Config, newServer NewServerFunc) (*httptest.Server, *app.App) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = filepath.Join(t.TempDir(), "site.db")
	cfg.BaseURL = "http://" + ln.Addr().String()
	h, a, err := newServer(cfg, usertest.Discard)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv, a
}

// Browser is an HTTP client with cookies that does not follow redirects
// and sends what a browser sends: Accept: text/html, and Origin on POSTs.
// A request that fails ends the test.
type Browser struct {
	// Origin is sent as the Origin header of form posts: the site's own
	// origin at first; set it to post as another site would.
	Origin string

	t    testing.TB
	base string
	c    *http.Client
}

// NewBrowser returns a Browser with no cookies for the site at base (a
// URL such as httptest.Server.URL).
func NewBrowser(t testing.TB, base string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, base: base, Origin: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends a request to a path on the site (or a full URL), with form as
// its urlencoded body unless it is nil, and returns the status, the
// Location header and the body.
func (b *Browser) Do(method, target string, form url.Values) (status int, location, body string) {
	b.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = b.base + target
	}
	var r io.Reader
	if form != nil {
		r = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, r)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.Origin)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(out)
}

// Get is Do with GET.
func (b *Browser) Get(target string) (status int, location, body string) {
	b.t.Helper()
	return b.Do("GET", target, nil)
}

// Submit opens the page at target and posts its form back to the same
// address with the given fields plus the form's hidden ones (csrf_token,
// next) that fields does not set. The page must open with 200.
func (b *Browser) Submit(target string, fields url.Values) (status int, location, body string) {
	b.t.Helper()
	st, _, page := b.Get(target)
	if st != 200 {
		b.t.Fatalf("GET %s: %d\n%s", target, st, page)
	}
	form := url.Values{}
	for k, v := range fields {
		form[k] = v
	}
	for name, value := range HiddenInputs(page) {
		if form.Get(name) == "" {
			form.Set(name, value)
		}
	}
	return b.Do("POST", target, form)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// HiddenInputs returns the hidden fields of the page's main content (not
// of the header's log-out form or the footer's language switcher): the
// first value of each name, unescaped.
func HiddenInputs(page string) map[string]string {
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
