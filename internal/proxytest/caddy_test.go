package proxytest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCaddyRecipe runs docs/operations.md's Caddyfile in front of Usher
// and an app, and goes through it as TestNginxRecipe does: anonymous →
// log-in page, log-in through the proxy, the app receiving the user's ID,
// email and roles and nothing forged, no credentials reaching the app,
// Usher seeing the client's address, log-out → blocked, Secure cookies
// over TLS.
func TestCaddyRecipe(t *testing.T) {
	caddy := findProxy(t, "USHER_REQUIRE_CADDY", "apt-get install caddy", "caddy")
	r := newRecipe(t)
	r.plainRedirect = http.StatusPermanentRedirect
	// The documented Caddyfile with Usher's and the app's test addresses
	// and, as nginx's ssl_certificate lines, the test's certificate
	// instead of one Caddy would obtain from Let's Encrypt. Global options
	// put in front of it (not part of the recipe) set the ports (as
	// nginx's listen lines: https_port for the site, http_port for
	// Caddy's automatic redirect to https), bind to loopback, and keep
	// Caddy's admin endpoint and files out of the way.
	site := documentedBlock(t, "### Caddy", "caddy", map[string]string{
		"127.0.0.1:8080":    r.usherAddr,
		"127.0.0.1:3000":    r.upstream.addr,
		"app.example.com {": fmt.Sprintf("app.example.com {\n\ttls %s %s", r.certPath, r.keyPath),
	})
	global := fmt.Sprintf(`{
	admin off
	http_port %d
	https_port %d
	default_bind 127.0.0.1
	storage file_system %s
}

`, r.plainPort, r.tlsPort, filepath.Join(r.dir, "caddy-data"))
	writeFile(t, filepath.Join(r.dir, "Caddyfile"), []byte(global+site))
	startCaddy(t, caddy, r.dir, r.tlsPort)
	r.check(t)
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
	startProxy(t, cmd, func() string { b, _ := os.ReadFile(logPath); return string(b) }, port)
}
