package proxytest

import (
	"context"
	"crypto/x509"
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

const host = "app.example.com"

// clientAddr is the address the test's clients connect to the proxy
// from: not 127.0.0.1, the proxy's own address towards Usher, so that
// Usher is seen to take the client's address from X-Forwarded-For.
const clientAddr = "127.0.0.2"

// recipe is what a proxy recipe's test runs behind the proxy: Usher (with
// two users) and the app, a certificate for the proxy, and the ports the
// proxy is to listen on.
type recipe struct {
	dir                string
	tlsPort, plainPort int
	origin             string // the public origin, https://app.example.com:tlsPort
	upstream           *recorder
	usherAddr          string
	app                *app.App
	ann, bob           *usher.User
	pool               *x509.CertPool
	certPath, keyPath  string
	plainRedirect      int // the proxy's answer to plain http (301, 308)
}

// newRecipe starts Usher (behind a proxy: client_ip_header and
// trust_forwarded_headers) and the app, and writes the certificate.
func newRecipe(t *testing.T) *recipe {
	t.Helper()
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
	return &recipe{dir: dir, tlsPort: tlsPort, plainPort: plainPort, origin: origin, upstream: upstream,
		usherAddr: usherLn.Addr().String(), app: a, ann: ann, bob: bob, pool: pool,
		certPath: filepath.Join(dir, "cert.pem"), keyPath: filepath.Join(dir, "key.pem")}
}

// check goes through the proxy as a browser and as an API client:
// anonymous → log-in page, log-in through the proxy, the app receiving
// the user's ID, email and roles and nothing forged, no credentials
// reaching the app, Usher seeing the client's address, log-out → blocked,
// Secure cookies over TLS, plain http sent to https.
func (r *recipe) check(t *testing.T) {
	b := newBrowser(t, r.pool, r.tlsPort)
	fromClientAddr(b, r.tlsPort)
	page := r.origin + "/app/page?x=1&y=2"
	wantLogin := "/user/login?next=" + url.QueryEscape("/app/page?x=1&y=2")

	// Anonymous: a browser is sent to the log-in page, an API call gets 401.
	res := b.get(t, page, "Accept", "text/html")
	if res.StatusCode != http.StatusSeeOther || res.location(r.origin) != wantLogin {
		t.Fatalf("anonymous page: %d Location=%q; want 303 %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if res := b.get(t, r.origin+"/app/api", "Accept", "application/json"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous API call: %d; want 401", res.StatusCode)
	}
	// Forged identity headers do not open the app either.
	if res := b.get(t, r.origin+"/app/api", "Accept", "application/json", "X-Usher-User-Id", r.ann.ID, "X-Usher-Email", "ann@example.com"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous API call with forged X-Usher-*: %d; want 401", res.StatusCode)
	}
	if n := r.upstream.count(); n != 0 {
		t.Fatalf("the app was reached %d times before log-in", n)
	}

	// The log-in page through the proxy: a Secure CSRF cookie, HSTS.
	res = b.get(t, r.origin+wantLogin, "Accept", "text/html")
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
	// address the client connected to the proxy from.
	res = b.post(t, r.origin+"/user/login", url.Values{
		"login": {"ann@example.com"}, "password": {usertest.Password}, "remember": {"1"},
		"csrf_token": {csrf}, "next": {"/app/page?x=1&y=2"},
	}, "Origin", r.origin, "X-Forwarded-For", "203.0.113.9")
	if res.StatusCode != http.StatusSeeOther || res.location(r.origin) != "/app/page?x=1&y=2" {
		t.Fatalf("log-in: %d Location=%q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	session := wantSecure(t, res, "usher_session")
	wantSecure(t, res, "usher_session_remember")
	wantEventIP(t, r.app.Service, r.ann.ID, usher.EventLogin)

	// The app gets who is logged in, not what the client claims, and no
	// credentials; its own cookies pass.
	b.jar.SetCookies(&url.URL{Scheme: "https", Host: host}, []*http.Cookie{{Name: "app_pref", Value: "dark"}})
	forged := []string{"Accept", "text/html", "X-Usher-Email", "forged@example.com", "X-Usher-Roles", "admin", "X-Usher-User-Id", "forged"}
	res = b.get(t, page, forged...)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logged-in page: %d\n%s", res.StatusCode, res.body)
	}
	got := r.upstream.last()
	want := seen{Method: "GET", URI: "/app/page?x=1&y=2", UserID: r.ann.ID, Email: "ann@example.com", Roles: "staff"}
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
	api := newBrowser(t, r.pool, r.tlsPort)
	fromClientAddr(api, r.tlsPort)
	for _, c := range []struct{ sent, want string }{
		{"usher_session_mfa_pending=P; a=1; usher_session=" + session + "; b=2;usher_session_remember=R; xusher_session=3; usher_session_mfa_device=D", "a=1; b=2; xusher_session=3"},
		{"usher_session=" + session + "; usher_session_remember=R; a=1", "a=1"},
		{"a=1; usher_session=" + session, "a=1"},
	} {
		res = api.get(t, page, "Cookie", c.sent)
		got = r.upstream.last()
		if res.StatusCode != http.StatusOK || got.Email != "ann@example.com" || got.Cookie != c.want {
			t.Errorf("cookies %q: %d, the app saw %q; want %q", c.sent, res.StatusCode, got.Cookie, c.want)
		}
	}
	// A form POST to the app passes too.
	res = b.post(t, r.origin+"/app/form", url.Values{"a": {"1"}}, "Origin", r.origin)
	if res.StatusCode != http.StatusOK || r.upstream.last().Method != "POST" || r.upstream.last().Email != "ann@example.com" {
		t.Errorf("POST to the app: %d, the app saw %+v", res.StatusCode, r.upstream.last())
	}

	// HTTP Basic: the app gets the user, never the password; a user
	// without roles gets no roles, whatever the client sends.
	res = api.get(t, r.origin+"/app/api", "Authorization", basic("bob@example.com", usertest.Password), "X-Usher-Roles", "admin")
	got = r.upstream.last()
	if res.StatusCode != http.StatusOK || got.Email != "bob@example.com" || got.Roles != "" || got.RolesSent || got.Authorization != "" {
		t.Errorf("Basic: %d, the app saw %+v", res.StatusCode, got)
	}
	n := r.upstream.count()
	if res := api.get(t, r.origin+"/app/api", "Authorization", basic("bob@example.com", "wrong password!"), "X-Forwarded-For", "203.0.113.9"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic with a wrong password: %d; want 401", res.StatusCode)
	}
	if r.upstream.count() != n {
		t.Errorf("the app was reached with a wrong password")
	}
	wantEventIP(t, r.app.Service, r.bob.ID, usher.EventLoginFailed)

	// Log out through the proxy; the app is closed again.
	res = b.get(t, r.origin+"/user/logout", "Accept", "text/html")
	res = b.post(t, r.origin+"/user/logout", url.Values{"csrf_token": {formValue(t, res.body, "csrf_token")}}, "Origin", r.origin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-out: %d\n%s", res.StatusCode, res.body)
	}
	n = r.upstream.count()
	if res := b.get(t, page, "Accept", "text/html"); res.StatusCode != http.StatusSeeOther || res.location(r.origin) != wantLogin {
		t.Errorf("after log-out: %d Location=%q; want 303 %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if r.upstream.count() != n {
		t.Errorf("the app was reached after log-out")
	}

	// Plain http is sent to https (the proxy's redirect: nginx 301, Caddy 308).
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/app/page", r.plainPort), nil)
	req.Host = host
	if res, err := plain.Do(req); err != nil {
		t.Error(err)
	} else {
		res.Body.Close()
		if res.StatusCode != r.plainRedirect || !strings.HasPrefix(res.Header.Get("Location"), "https://"+host) {
			t.Errorf("plain http: %d Location=%q", res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// fromClientAddr makes b connect to the proxy's port from clientAddr.
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

// findProxy returns the path of the first of names found on PATH, or
// skips the test (fails it when the environment variable require is set).
func findProxy(t *testing.T, require, install string, names ...string) string {
	t.Helper()
	for _, p := range names {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv(require) != "" {
		t.Fatalf("%s not found (%s), and %s is set", names[0], strings.Join(names, ", "), require)
	}
	t.Skipf("%s not installed (%s); set %s=1 to fail instead", names[0], install, require)
	return ""
}

// documentedBlock returns the first ```fence block after the heading in
// docs/operations.md, with each key of subst replaced by its value; every
// key must occur.
func documentedBlock(t *testing.T, heading, fence string, subst map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("docs/operations.md has no %q section", heading)
	}
	m := regexp.MustCompile("(?s)```" + fence + "\n(.*?)```").FindStringSubmatch(doc[start:])
	if m == nil {
		t.Fatalf("the %q section of docs/operations.md has no ```%s block", heading, fence)
	}
	conf := m[1]
	for from, to := range subst {
		if !strings.Contains(conf, from) {
			t.Fatalf("the documented %s configuration no longer contains %q", fence, from)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	return conf
}

// startProxy starts cmd, stops it when the test ends (logging readLog
// when the test failed), and waits until it listens on port.
func startProxy(t *testing.T, cmd *exec.Cmd, readLog func() string, port int) {
	t.Helper()
	name := filepath.Base(cmd.Path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// done is closed when the proxy has exited (waitErr then says how),
	// so that both the loop below and the cleanup can wait for it.
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, readLog())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%s exited: %v\n%s", name, waitErr, readLog())
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on port %d within 30 s\n%s", name, port, readLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
