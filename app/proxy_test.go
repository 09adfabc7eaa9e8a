package app_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestRootRedirectSecurityHeaders: the redirect at / carries the same
// security headers as Usher's own answers, HSTS included when base_url is
// https; hsts = false and trust_forwarded_headers reach the Handler.
func TestRootRedirectSecurityHeaders(t *testing.T) {
	for _, hsts := range []bool{true, false} {
		srv, _, _ := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) {
			c.BaseURL = "https://auth.example.com"
			c.NoHSTS = !hsts
		})
		res, err := browser().Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET /: %d %v", res.StatusCode, res.Header)
		}
		if got := res.Header.Get("Strict-Transport-Security") != ""; got != hsts {
			t.Errorf("hsts=%v: Strict-Transport-Security = %q", hsts, res.Header.Get("Strict-Transport-Security"))
		}
	}
	srv, _, _ := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) { c.TrustForwardedHeaders = true })
	req := httptest.NewRequest("GET", srv.URL+"/user/login", nil)
	req.RequestURI = ""
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := browser().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Cookies(); len(c) == 0 || !c[0].Secure {
		t.Errorf("trust_forwarded_headers with X-Forwarded-Proto https: cookies %v; want Secure", c)
	}
}

// TestTrustedProxiesValidated: a trusted_proxies entry that is neither an
// address nor a network stops the binary at start with the setting's name,
// rather than trusting nothing or everything.
func TestTrustedProxiesValidated(t *testing.T) {
	cfg := app.Defaults()
	cfg.TrustedProxies = "10.0.0.0/8, proxy.internal"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "trusted_proxies") || !strings.Contains(err.Error(), "proxy.internal") {
		t.Errorf("Validate: %v; want an error naming trusted_proxies and the entry", err)
	}
	cfg.TrustedProxies = "10.0.0.0/8, 2001:db8::1"
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
