package proxytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/usertest"
)

// clientAddr is the address the test's clients connect to Caddy from: not
// 127.0.0.1, Caddy's own address towards Usher, so that Usher is seen
// to take the client's address from X-Forwarded-For.
const clientAddr = "127.0.0.2"

// TestCaddyRecipe runs docs/operations.md's Caddyfile in front of Usher
// and an app, and goes through it as TestNginxRecipe does: anonymous →
// log-in page, log-in through the proxy, the app receiving the user's ID,
// email and roles and nothing forged, no credentials reaching the app,
// Usher seeing the client's address, log-out → blocked, Secure cookies
// over TLS.
func TestCaddyRecipe(t *testing.T) {
	caddy := findCaddy(t)
	dir := t.TempDir()
	tlsPort, plainPort := freePort(t), freePort(t)
	origin := fmt.Sprintf("https://%s:%d", host, tlsPort)

	upstream := newRecorder(t)
	usherLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Defaults()
	cfg.Database = filepath.Join(dir, "usher.db")
	cfg.BaseURL = origin
	cfg.ClientIPHeader = "X-Forwarded-For"
	cfg.TrustForwardedHeaders = true
	cfg.PasswordHash = "bcrypt"
	a, err := app.Open(context.Background(), cfg, usertest.Discard)
	if err != nil {
		t.Fatal(err)
	}
	usherSrv := httptest.NewUnstartedServer(a.Handler())
	usherSrv.Listener = usherLn
	usherSrv.Start()
	t.Cleanup(func() { usherSrv.Close(); a.Close() })
	ann := usertest.MustCreateUser(t, a.Service, "ann@example.com", "staff")
	bob := usertest.MustCreateUser(t, a.Service, "bob@example.com")

	certPEM, keyPEM, pool := selfSigned(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	// The documented Caddyfile with Usher's and the app's test addresses
	// and, as nginx's ssl_certificate lines, the test's certificate
	// instead of one Caddy would obtain from Let's Encrypt. Global options
	// put in front of it (not part of the recipe) set the ports (as
	// nginx's listen lines: https_port for the site, http_port for
	// Caddy's automatic redirect to https), bind to loopback, and keep
	// Caddy's admin endpoint and files out of the way.
	site := documentedCaddyfile(t, map[string]string{
		"127.0.0.1:8080":    usherLn.Addr().String(),
		"127.0.0.1:3000":    upstream.addr,
		"app.example.com {": fmt.Sprintf("app.example.com {\n\ttls %s %s", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")),
	})
	global := fmt.Sprintf(`{
	admin off
	http_port %d
	https_port %d
	default_bind 127.0.0.1
	storage file_system %s
}

`, plainPort, tlsPort, filepath.Join(dir, "caddy-data"))
	writeFile(t, filepath.Join(dir, "Caddyfile"), []byte(global+site))
	startCaddy(t, caddy, dir, tlsPort)

	b := newBrowser(t, pool, tlsPort)
	fromClientAddr(b, tlsPort)
	page := origin + "/app/page?x=1&y=2"
	wantLogin := "/user/login?next=" + url.QueryEscape("/app/page?x=1&y=2")

	// Anonymous: a browser is sent to the log-in page, an API call gets 401.
	res := b.get(t, page, "Accept", "text/html")
	if res.StatusCode != http.StatusSeeOther || res.location(origin) != wantLogin {
		t.Fatalf("anonymous page: %d Location=%q; want 303 %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if res := b.get(t, origin+"/app/api", "Accept", "application/json"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous API call: %d; want 401", res.StatusCode)
	}
	// Forged identity headers do not open the app either.
	if res := b.get(t, origin+"/app/api", "Accept", "application/json", "X-Usher-User-Id", ann.ID, "X-Usher-Email", "ann@example.com"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous API call with forged X-Usher-*: %d; want 401", res.StatusCode)
	}
	if n := upstream.count(); n != 0 {
		t.Fatalf("the app was reached %d times before log-in", n)
	}

	// The log-in page through the proxy: a Secure CSRF cookie, HSTS.
	res = b.get(t, origin+wantLogin, "Accept", "text/html")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("log-in page: %d", res.StatusCode)
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("log-in page: no Strict-Transport-Security")
	}
	wantSecure(t, res, "usher_session_csrf")
	csrf := formValue(t, res.body, "csrf_token")

	// Log in. Like an older browser, send Origin but no Sec-Fetch-Site:
	// the cross-origin check must see the public origin. The client's own
	// X-Forwarded-For does not count: Usher logs (and throttles) the
	// address the client connected to Caddy from.
	res = b.post(t, origin+"/user/login", url.Values{
		"login": {"ann@example.com"}, "password": {usertest.Password}, "remember": {"1"},
		"csrf_token": {csrf}, "next": {"/app/page?x=1&y=2"},
	}, "Origin", origin, "X-Forwarded-For", "203.0.113.9")
	if res.StatusCode != http.StatusSeeOther || res.location(origin) != "/app/page?x=1&y=2" {
		t.Fatalf("log-in: %d Location=%q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	session := wantSecure(t, res, "usher_session")
	wantSecure(t, res, "usher_session_remember")
	wantEventIP(t, a.Service, ann.ID, usher.EventLogin)

	// The app gets who is logged in, not what the client claims, and no
	// credentials; its own cookies pass.
	b.jar.SetCookies(&url.URL{Scheme: "https", Host: host}, []*http.Cookie{{Name: "app_pref", Value: "dark"}})
	forged := []string{"Accept", "text/html", "X-Usher-Email", "forged@example.com", "X-Usher-Roles", "admin", "X-Usher-User-Id", "forged"}
	res = b.get(t, page, forged...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logged-in page: %d\n%s", res.StatusCode, res.body)
	}
	got := upstream.last()
	want := seen{Method: "GET", URI: "/app/page?x=1&y=2", UserID: ann.ID, Email: "ann@example.com", Roles: "staff"}
	if got.Method != want.Method || got.URI != want.URI || got.UserID != want.UserID || got.Email != want.Email || got.Roles != want.Roles {
		t.Errorf("the app saw %+v; want %+v", got, want)
	}
	if strings.Contains(got.Cookie, session) || strings.Contains(got.Cookie, "usher_session=") || strings.Contains(got.Cookie, "usher_session_remember=") {
		t.Errorf("the app received Usher's session cookies: %q", got.Cookie)
	}
	if !strings.Contains(got.Cookie, "app_pref=dark") {
		t.Errorf("the app's own cookie was lost: %q", got.Cookie)
	}
	// All four token cookies go, in any order, and only they.
	api := newBrowser(t, pool, tlsPort)
	fromClientAddr(api, tlsPort)
	for _, c := range []struct{ sent, want string }{
		{"usher_session_mfa_pending=P; a=1; usher_session=" + session + "; b=2;usher_session_remember=R; xusher_session=3; usher_session_mfa_device=D", "a=1; b=2; xusher_session=3"},
		{"usher_session=" + session + "; usher_session_remember=R; a=1", "a=1"},
		{"a=1; usher_session=" + session, "a=1"},
	} {
		res = api.get(t, page, "Cookie", c.sent)
		got = upstream.last()
		if res.StatusCode != http.StatusOK || got.Email != "ann@example.com" || got.Cookie != c.want {
			t.Errorf("cookies %q: %d, the app saw %q; want %q", c.sent, res.StatusCode, got.Cookie, c.want)
		}
	}
	// A form POST to the app passes too.
	res = b.post(t, origin+"/app/form", url.Values{"a": {"1"}}, "Origin", origin)
	if res.StatusCode != http.StatusOK || upstream.last().Method != "POST" || upstream.last().Email != "ann@example.com" {
		t.Errorf("POST to the app: %d, the app saw %+v", res.StatusCode, upstream.last())
	}

	// HTTP Basic: the app gets the user, never the password; a user
	// without roles gets no roles, whatever the client sends.
	res = api.get(t, origin+"/app/api", "Authorization", basic("bob@example.com", usertest.Password), "X-Usher-Roles", "admin")
	got = upstream.last()
	if res.StatusCode != http.StatusOK || got.Email != "bob@example.com" || got.Roles != "" || got.RolesSent || got.Authorization != "" {
		t.Errorf("Basic: %d, the app saw %+v", res.StatusCode, got)
	}
	n := upstream.count()
	if res := api.get(t, origin+"/app/api", "Authorization", basic("bob@example.com", "wrong password!"), "X-Forwarded-For", "203.0.113.9"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic with a wrong password: %d; want 401", res.StatusCode)
	}
	if upstream.count() != n {
		t.Errorf("the app was reached with a wrong password")
	}
	wantEventIP(t, a.Service, bob.ID, usher.EventLoginFailed)

	// Log out through the proxy; the app is closed again.
	res = b.get(t, origin+"/user/logout", "Accept", "text/html")
	res = b.post(t, origin+"/user/logout", url.Values{"csrf_token": {formValue(t, res.body, "csrf_token")}}, "Origin", origin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-out: %d\n%s", res.StatusCode, res.body)
	}
	n = upstream.count()
	if res := b.get(t, page, "Accept", "text/html"); res.StatusCode != http.StatusSeeOther || res.location(origin) != wantLogin {
		t.Errorf("after log-out: %d Location=%q; want 303 %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if upstream.count() != n {
		t.Errorf("the app was reached after log-out")
	}

	// Plain http is sent to https (Caddy's automatic redirect, 308).
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/app/page", plainPort), nil)
	req.Host = host
	if res, err := plain.Do(req); err != nil {
		t.Error(err)
	} else {
		res.Body.Close()
		if res.StatusCode != http.StatusPermanentRedirect || !strings.HasPrefix(res.Header.Get("Location"), "https://"+host) {
			t.Errorf("plain http: %d Location=%q", res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// fromClientAddr makes b connect to Caddy's port from clientAddr.
func fromClientAddr(b *browser, port int) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientAddr)}}
	b.c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
}

// wantEventIP checks that the newest audit event of type typ about
// userID carries clientAddr.
func wantEventIP(t *testing.T, svc *usher.Service, userID, typ string) {
	t.Helper()
	evs, err := svc.AuditLog(context.Background(), usher.AuditQuery{UserID: userID, Types: []string{typ}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Errorf("no %s event for %s", typ, userID)
		return
	}
	if evs[0].IP != clientAddr {
		t.Errorf("%s event: IP %q; want the client's, %q", typ, evs[0].IP, clientAddr)
	}
}

// findCaddy returns caddy's path, or skips the test (fails it when
// USHER_REQUIRE_CADDY is set).
func findCaddy(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("caddy"); err == nil {
		return path
	}
	if os.Getenv("USHER_REQUIRE_CADDY") != "" {
		t.Fatal("caddy not found on PATH, and USHER_REQUIRE_CADDY is set")
	}
	t.Skip("caddy not installed (apt-get install caddy); set USHER_REQUIRE_CADDY=1 to fail instead")
	return ""
}

// documentedCaddyfile returns the Caddyfile of docs/operations.md's Caddy
// section with each key of subst replaced by its value; every key must
// occur.
func documentedCaddyfile(t *testing.T, subst map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n### Caddy")
	if start < 0 {
		t.Fatal("docs/operations.md has no \"### Caddy\" section")
	}
	m := regexp.MustCompile("(?s)```caddy\n(.*?)```").FindStringSubmatch(doc[start:])
	if m == nil {
		t.Fatal("the Caddy section of docs/operations.md has no ```caddy block")
	}
	conf := m[1]
	for from, to := range subst {
		if !strings.Contains(conf, from) {
			t.Fatalf("the documented Caddyfile no longer contains %q", from)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	return conf
}

// startCaddy runs `caddy run` with dir/Caddyfile, its home and data in
// dir, until the test ends.
func startCaddy(t *testing.T, caddy, dir string, port int) {
	t.Helper()
	cmd := exec.Command(caddy, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	logPath := filepath.Join(dir, "caddy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("caddy's log:\n%s", readLog())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("caddy exited: %v\n%s", waitErr, readLog())
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not listen on port %d within 30 s\n%s", port, readLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
