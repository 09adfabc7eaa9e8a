package browsertest_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// startService serves a Service with second factors (temporary SQLite,
// a new secret key) built from cfg, on a 127.0.0.1 port whose base URL
// says localhost (a WebAuthn relying party ID cannot be an IP address, and
// http://localhost is a secure context). It serves Usher under /user/,
// /app (the application's page that loads usher.js under the pages'
// Content-Security-Policy), and whatever more adds.
func startService(t *testing.T, cfg usher.Config, more func(mux *http.ServeMux)) (string, *usher.Service) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	sealer, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = base
	svc, err := usher.New(cfg, usher.Deps{
		Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{},
		MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: sealer, Logger: usertest.Discard,
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/user/", web.New(svc, web.Options{Logger: usertest.Discard}))
	mux.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", appCSP)
		w.Write([]byte(appPage))
	})
	if more != nil {
		more(mux)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); svc.Close() })
	return base, svc
}
