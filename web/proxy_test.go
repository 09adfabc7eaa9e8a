package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// proxied sends a request to h as nginx's default `proxy_pass
// http://127.0.0.1:8080` does: Host is the upstream's address, whatever
// the browser asked for.
func proxied(h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	return proxiedFrom(h, "127.0.0.1:40000", method, path, body, hdr...)
}

// proxiedFrom is proxied with the connection coming from remote.
func proxiedFrom(h http.Handler, remote, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
	req.RemoteAddr = remote
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func newProxiedHandler(t *testing.T, baseURL string, opts web.Options) (*web.Handler, *usher.Service) {
	t.Helper()
	svc := usertest.NewService(t, usher.Config{BaseURL: baseURL}, usertest.NewSQLiteStore(t), nil)
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	return web.New(svc, opts), svc
}

// TestSecureFollowsBaseURL: with an https base_url every cookie is Secure
// and HSTS is sent, even when the proxy reaches Usher as 127.0.0.1 over
// plain http.
func TestSecureFollowsBaseURL(t *testing.T) {
	h, svc := newProxiedHandler(t, "https://auth.example.com", web.Options{})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	w := proxied(h, "POST", "/user/api/login", `{"email":"ann@example.com","password":"`+pw+`","remember":true}`)
	if w.Code != 200 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, name := range []string{"usher_session", "usher_session_remember"} {
		if c := cookie(w.Header(), name); c == nil || !c.Secure {
			t.Errorf("cookie %s: %+v; want Secure", name, c)
		}
	}
	if got := w.Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q; want max-age=...", got)
	}
	w = proxied(h, "GET", "/user/login", "")
	if c := cookie(w.Header(), "usher_session_csrf"); c == nil || !c.Secure {
		t.Errorf("CSRF cookie: %+v; want Secure", c)
	}
	// The Handler's security headers are offered to the routes around it.
	w = httptest.NewRecorder()
	h.SecurityHeaders(http.RedirectHandler("/user/profile", http.StatusSeeOther)).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Header().Get("Strict-Transport-Security") == "" || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("SecurityHeaders: %v", w.Header())
	}
}

// TestHSTSSetting: no HSTS when it is turned off or base_url is http.
func TestHSTSSetting(t *testing.T) {
	for _, tt := range []struct {
		base string
		opts web.Options
	}{
		{"https://auth.example.com", web.Options{NoHSTS: true}},
		{"http://127.0.0.1:8080", web.Options{}},
	} {
		h, _ := newProxiedHandler(t, tt.base, tt.opts)
		w := proxied(h, "GET", "/user/login", "")
		if got := w.Header().Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s %+v: Strict-Transport-Security = %q; want none", tt.base, tt.opts, got)
		}
	}
}

// TestForwardedProtoNeedsTrust: X-Forwarded-Proto counts only from a proxy
// the operator declared trusted.
func TestForwardedProtoNeedsTrust(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		h, svc := newProxiedHandler(t, "http://127.0.0.1:8080", web.Options{TrustForwardedHeaders: trusted})
		usertest.MustCreateUser(t, svc, "ann@example.com")
		w := proxied(h, "POST", "/user/api/login", `{"email":"ann@example.com","password":"`+pw+`"}`, "X-Forwarded-Proto", "https")
		if c := cookie(w.Header(), "usher_session"); c == nil || c.Secure != trusted {
			t.Errorf("trusted=%v: cookie %+v; want Secure=%v", trusted, c, trusted)
		}
	}
}

// TestCrossOriginBehindProxy: a browser that sends only Origin (no
// Sec-Fetch-Site) is let through when Origin is the public origin, though
// the proxy reached Usher as 127.0.0.1; another origin is still refused.
func TestCrossOriginBehindProxy(t *testing.T) {
	h, svc := newProxiedHandler(t, "https://auth.example.com", web.Options{})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	login := `{"email":"ann@example.com","password":"` + pw + `"}`
	if w := proxied(h, "POST", "/user/api/login", login, "Origin", "https://auth.example.com"); w.Code != 200 {
		t.Errorf("public origin: %d %s", w.Code, w.Body)
	}
	if w := proxied(h, "POST", "/user/api/login", login, "Origin", "https://evil.example"); w.Code != 403 {
		t.Errorf("other origin: %d; want 403", w.Code)
	}
	// A trusted proxy's X-Forwarded-Host is the host the browser saw.
	h, svc = newProxiedHandler(t, "https://auth.example.com", web.Options{TrustForwardedHeaders: true})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	if w := proxied(h, "POST", "/user/api/login", login, "Origin", "https://other.example.com", "X-Forwarded-Host", "other.example.com"); w.Code != 200 {
		t.Errorf("trusted X-Forwarded-Host: %d %s", w.Code, w.Body)
	}
	h, svc = newProxiedHandler(t, "https://auth.example.com", web.Options{})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	if w := proxied(h, "POST", "/user/api/login", login, "Origin", "https://evil.example", "X-Forwarded-Host", "evil.example"); w.Code != 403 {
		t.Errorf("untrusted X-Forwarded-Host: %d; want 403", w.Code)
	}
}

// TestVerifyLoginLocation: forward auth tells the proxy where to send a
// browser that is not logged in, with the original URI as next.
func TestVerifyLoginLocation(t *testing.T) {
	h, _ := newProxiedHandler(t, "https://app.example.com", web.Options{})
	page := []string{"Accept", "text/html,*/*", "X-Forwarded-Uri", "/app/x?a=1&b=2"}
	want := "/user/login?next=%2Fapp%2Fx%3Fa%3D1%26b%3D2"
	w := proxied(h, "GET", "/user/api/verify", "", page...)
	if w.Code != 401 || w.Header().Get("Location") != want {
		t.Errorf("page: %d Location=%q; want 401 %q", w.Code, w.Header().Get("Location"), want)
	}
	w = proxied(h, "GET", "/user/api/verify?redirect=1", "", page...)
	if w.Code != 303 || w.Header().Get("Location") != want {
		t.Errorf("page, redirect=1: %d Location=%q; want 303 %q", w.Code, w.Header().Get("Location"), want)
	}
	w = proxied(h, "GET", "/user/api/verify?redirect=1", "", "Accept", "application/json", "X-Forwarded-Uri", "/app/api")
	if w.Code != 401 || w.Header().Get("Location") != "" {
		t.Errorf("API call: %d Location=%q; want 401 and none", w.Code, w.Header().Get("Location"))
	}
	w = proxied(h, "GET", "/user/api/verify", "", "Accept", "text/html", "X-Forwarded-Uri", "//evil.example/")
	if loc := w.Header().Get("Location"); loc != "/user/login" {
		t.Errorf("foreign URI: Location=%q; want /user/login", loc)
	}
	w = proxied(h, "GET", "/user/api/verify", "", "Accept", "text/html", "X-Forwarded-Uri", "/app/form", "X-Forwarded-Method", "POST")
	if loc := w.Header().Get("Location"); loc != "" {
		t.Errorf("POST: Location=%q; want none", loc)
	}
}

// TestCachedBasicNotThrottled: once a Basic credential has been checked,
// verify honours it from the cache even when the address's log-in budget
// is spent.
func TestCachedBasicNotThrottled(t *testing.T) {
	// A clock that stands still: the budget counts in windows of a minute,
	// and on the wall clock a run across a minute's end would find it
	// unspent again, checking nothing.
	svc := usertest.NewService(t, usher.Config{LoginRateLimit: 2}, usertest.NewSQLiteStore(t), usertest.NewClock())
	h := web.New(svc, web.Options{Logger: testLogger(t)})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	verify := func(user, pass string) int {
		req := httptest.NewRequest("GET", "/user/api/verify", nil)
		req.SetBasicAuth(user, pass)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if got := verify("ann@example.com", pw); got != 200 {
		t.Fatalf("first check: %d", got)
	}
	for range 3 {
		verify("bob@example.com", "wrong password!")
	}
	if got := verify("ann@example.com", pw); got != 200 {
		t.Errorf("cached check after the budget is spent: %d; want 200", got)
	}
	if got := verify("cy@example.com", "other password"); got != 401 {
		t.Errorf("new check after the budget is spent: %d; want 401", got)
	}
}

// TestForwardedForWarning: requests relayed by a proxy (X-Forwarded-For)
// while client_ip_header is unset get one warning in the log.
func TestForwardedForWarning(t *testing.T) {
	for _, header := range []string{"", "X-Forwarded-For"} {
		var buf usertest.LogBuffer
		h, _ := newProxiedHandler(t, "https://auth.example.com", web.Options{
			ClientIPHeader: header,
			Logger:         slog.New(slog.NewTextHandler(&buf, nil)),
		})
		for range 3 {
			proxied(h, "GET", "/user/login", "", "X-Forwarded-For", "203.0.113.7")
		}
		got := strings.Count(buf.String(), "X-Forwarded-For but client_ip_header")
		want := 1
		if header != "" {
			want = 0
		}
		if got != want {
			t.Errorf("client_ip_header=%q: %d warnings; want %d; log:\n%s", header, got, want, buf.String())
		}
	}
}
