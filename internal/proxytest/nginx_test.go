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
)

// TestNginxRecipe runs docs/operations.md's nginx configuration in front
// of Usher and an app, and goes through it (recipe.check).
func TestNginxRecipe(t *testing.T) {
	nginx := findProxy(t, "USHER_REQUIRE_NGINX", "apt-get install nginx", "nginx", "/usr/sbin/nginx")
	r := newRecipe(t)
	r.plainRedirect = http.StatusMovedPermanently
	site := documentedBlock(t, "### nginx", "nginx", map[string]string{
		"127.0.0.1:8080":                       r.usherAddr,
		"127.0.0.1:3000":                       r.upstream.addr,
		"listen 443 ssl;":                      fmt.Sprintf("listen 127.0.0.1:%d ssl;", r.tlsPort),
		"listen 80;":                           fmt.Sprintf("listen 127.0.0.1:%d;", r.plainPort),
		"/etc/ssl/certs/app.example.com.pem":   r.certPath,
		"/etc/ssl/private/app.example.com.key": r.keyPath,
	})
	writeFile(t, filepath.Join(r.dir, "app.conf"), []byte(site))
	startNginx(t, nginx, r.dir, r.tlsPort)
	r.check(t)
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
	startProxy(t, cmd, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(log)
	}, port)
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
