package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestDevelopmentBaseURL: with no base_url, links name the listening port
// on localhost — a host name, which browsers need for security keys and
// passkeys — never 127.0.0.1 or a wildcard address.
func TestDevelopmentBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://localhost:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"[::1]:8081":     "http://localhost:8081",
		":8082":          "http://localhost:8082",
		"10.0.0.5:8080":  "http://10.0.0.5:8080",
	} {
		c := app.Defaults()
		c.Addr = addr
		if got := c.Service().BaseURL; got != want {
			t.Errorf("addr %s: base URL %q; want %q", addr, got, want)
		}
	}
	c := app.Defaults()
	c.BaseURL = "https://auth.example.com"
	if got := c.Service().BaseURL; got != "https://auth.example.com" {
		t.Errorf("explicit base_url: %q", got)
	}
}

// TestReadmeLibraryExampleSetsBaseURL: the README's library example names
// the public origin, so that a program listening on another port does not
// mail links to port 8080, and examples/library is the same program.
func TestReadmeLibraryExampleSetsBaseURL(t *testing.T) {
	for _, f := range []string{"../README.md", "../examples/library/main.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `cfg.BaseURL = "http://localhost:8080"`) {
			t.Errorf("%s: the library example does not set BaseURL", f)
		}
	}
}

// TestExamplesOpenLocalhost: the pages a developer is told to open (the
// README, docs/library.md, the examples' comments, READMEs and start-up
// lines) are on http://localhost, the origin of the links Usher mails and
// the one security keys and passkeys work on, not on http://127.0.0.1,
// which is another origin with its own cookies.
func TestExamplesOpenLocalhost(t *testing.T) {
	files := []string{"../README.md", "../docs/library.md"}
	for _, pattern := range []string{"../examples/*/*.go", "../examples/*/*.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			// "http://%s" with the listening address prints 127.0.0.1 too.
			if strings.Contains(line, "http://127.0.0.1") || strings.Contains(line, "http://%s") {
				t.Errorf("%s:%d: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
