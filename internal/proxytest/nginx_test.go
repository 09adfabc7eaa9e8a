package proxytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/usertest"
)

const host = "app.example.com"

// TestNginxRecipe runs docs/operations.md's nginx configuration in front
// of Usher and an app, and goes through it as a browser and as an API
// client: anonymous → log-in page, log-in through the proxy, the app
// receiving the user's ID, email and roles and nothing forged, no
// credentials reaching the app, log-out → blocked, Secure cookies over
// TLS.
func TestNginxRecipe(t *testing.T) {
	nginx := findNginx(t)
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
	usertest.MustCreateUser(t, a.Service, "bob@example.com")

	certPEM, keyPEM, pool := selfSigned(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	site := documentedConfig(t, map[string]string{
		"127.0.0.1:8080":                       usherLn.Addr().String(),
		"127.0.0.1:3000":                       upstream.addr,
		"listen 443 ssl;":                      fmt.Sprintf("listen 127.0.0.1:%d ssl;", tlsPort),
		"listen 80;":                           fmt.Sprintf("listen 127.0.0.1:%d;", plainPort),
		"/etc/ssl/certs/app.example.com.pem":   filepath.Join(dir, "cert.pem"),
		"/etc/ssl/private/app.example.com.key": filepath.Join(dir, "key.pem"),
	})
	writeFile(t, filepath.Join(dir, "app.conf"), []byte(site))
	startNginx(t, nginx, dir, tlsPort)

	b := newBrowser(t, pool, tlsPort)
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
	// the cross-origin check must see the public origin.
	res = b.post(t, origin+"/user/login", url.Values{
		"login": {"ann@example.com"}, "password": {usertest.Password}, "remember": {"1"},
		"csrf_token": {csrf}, "next": {"/app/page?x=1&y=2"},
	}, "Origin", origin)
	if res.StatusCode != http.StatusSeeOther || res.location(origin) != "/app/page?x=1&y=2" {
		t.Fatalf("log-in: %d Location=%q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	session := wantSecure(t, res, "usher_session")
	wantSecure(t, res, "usher_session_remember")

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
	res = api.get(t, page, "Cookie", "usher_session_mfa_pending=P; a=1; usher_session="+session+"; b=2;usher_session_remember=R; xusher_session=3; usher_session_mfa_device=D")
	got = upstream.last()
	if res.StatusCode != http.StatusOK || got.Email != "ann@example.com" || got.Cookie != "a=1; b=2; xusher_session=3" {
		t.Errorf("cookies: %d, the app saw %q; want %q", res.StatusCode, got.Cookie, "a=1; b=2; xusher_session=3")
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
	if res := api.get(t, origin+"/app/api", "Authorization", basic("bob@example.com", "wrong password!")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic with a wrong password: %d; want 401", res.StatusCode)
	}

	// Log out through the proxy; the app is closed again.
	res = b.get(t, origin+"/user/logout", "Accept", "text/html")
	res = b.post(t, origin+"/user/logout", url.Values{"csrf_token": {formValue(t, res.body, "csrf_token")}}, "Origin", origin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-out: %d\n%s", res.StatusCode, res.body)
	}
	n := upstream.count()
	if res := b.get(t, page, "Accept", "text/html"); res.StatusCode != http.StatusSeeOther || res.location(origin) != wantLogin {
		t.Errorf("after log-out: %d Location=%q; want 303 %q", res.StatusCode, res.Header.Get("Location"), wantLogin)
	}
	if upstream.count() != n {
		t.Errorf("the app was reached after log-out")
	}

	// Plain http is sent to https.
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/app/page", plainPort), nil)
	req.Host = host
	if res, err := plain.Do(req); err != nil {
		t.Error(err)
	} else {
		res.Body.Close()
		if res.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(res.Header.Get("Location"), "https://"+host) {
			t.Errorf("plain http: %d Location=%q", res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// findNginx returns nginx's path, or skips the test (fails it when
// USHER_REQUIRE_NGINX is set).
func findNginx(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("USHER_REQUIRE_NGINX") != "" {
		t.Fatal("nginx not found on PATH or in /usr/sbin, and USHER_REQUIRE_NGINX is set")
	}
	t.Skip("nginx not installed (apt-get install nginx); set USHER_REQUIRE_NGINX=1 to fail instead")
	return ""
}

// documentedConfig returns the nginx block of docs/operations.md with each
// key of subst replaced by its value; every key must occur.
func documentedConfig(t *testing.T, subst map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### nginx\n")
	if start < 0 {
		t.Fatal("docs/operations.md has no \"### nginx\" section")
	}
	m := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindStringSubmatch(doc[start:])
	if m == nil {
		t.Fatal("the nginx section of docs/operations.md has no ```nginx block")
	}
	conf := m[1]
	for from, to := range subst {
		if !strings.Contains(conf, from) {
			t.Fatalf("the documented nginx configuration no longer contains %q", from)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	return conf
}

// startNginx runs nginx in the foreground, as one process, with its files
// in dir and the site configuration dir/app.conf, until the test ends.
func startNginx(t *testing.T, nginx, dir string, port int) {
	t.Helper()
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/app.conf;
}
`, dir)
	writeFile(t, filepath.Join(dir, "nginx.conf"), []byte(main))
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// done is closed when nginx has exited (waitErr then says how), so
	// that both the start-up loop and the cleanup can wait for it.
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s", log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", waitErr, out, log)
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on port %d within 30 s\n%s", port, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen is what the app behind the proxy received.
type seen struct {
	Method, URI, UserID, Email, Roles, Cookie, Authorization string
	RolesSent                                                bool
}

// recorder is the app behind the proxy: it answers 200 and remembers each
// request's identity headers.
type recorder struct {
	addr string
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, rolesSent := r.Header["X-Usher-Roles"]
		s := seen{
			Method: r.Method, URI: r.RequestURI, UserID: r.Header.Get("X-Usher-User-Id"),
			Email: r.Header.Get("X-Usher-Email"), Roles: r.Header.Get("X-Usher-Roles"), RolesSent: rolesSent && r.Header.Get("X-Usher-Roles") != "",
			Cookie: r.Header.Get("Cookie"), Authorization: r.Header.Get("Authorization"),
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, s)
		rec.mu.Unlock()
		json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(srv.Close)
	rec.addr = srv.Listener.Addr().String()
	return rec
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) last() seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return seen{}
	}
	return r.reqs[len(r.reqs)-1]
}

// browser is an HTTP client with a cookie jar that reaches host:port at
// 127.0.0.1 over TLS, trusting the test's certificate, and does not
// follow redirects (each step is checked).
type browser struct {
	c   *http.Client
	jar *cookiejar.Jar
}

type response struct {
	*http.Response
	body string
}

// location returns the answer's Location, without origin: nginx makes
// its redirects absolute, Usher does not.
func (r response) location(origin string) string {
	return strings.TrimPrefix(r.Header.Get("Location"), origin)
}

func newBrowser(t *testing.T, pool *x509.CertPool, port int) *browser {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{jar: jar, c: &http.Client{
		Jar: jar, Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) get(t *testing.T, u string, hdr ...string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(t, req, hdr)
}

func (b *browser) post(t *testing.T, u string, form url.Values, hdr ...string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req, hdr)
}

func (b *browser) do(t *testing.T, req *http.Request, hdr []string) response {
	t.Helper()
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res, string(body)}
}

// wantSecure checks that res sets the cookie name with the Secure flag,
// and returns its value.
func wantSecure(t *testing.T, res response, name string) string {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == name {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure: %s", name, c)
			}
			return c.Value
		}
	}
	t.Errorf("no cookie %s in %v", name, res.Header["Set-Cookie"])
	return ""
}

// formValue returns the value of the first input named name in page.
func formValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no input %s in the page:\n%s", name, page)
	}
	return m[1]
}

func basic(user, pass string) string {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

// selfSigned returns a certificate for host and its key, PEM-encoded, and
// a pool that trusts it.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), pool
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
