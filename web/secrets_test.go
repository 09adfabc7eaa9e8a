package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// TestSecretsNeverLogged runs every flow that handles a password or token
// with debug logging on, and looks for them in the log.
func TestSecretsNeverLogged(t *testing.T) {
	var logs usertest.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := usher.New(usher.Config{MaxPasswordFailures: 2}, usher.Deps{
		Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	h := web.New(svc, web.Options{Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/user/", h)
	mux.Handle("/basic", h.AuthenticateUsers(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	e := &env{t: t, srv: srv, svc: svc, h: h}

	const secret1, secret2, wrong = "first secret password 1", "second secret password 2", "wrong secret password 3"
	b := e.browser()
	r := e.do(b, "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": secret1, "bearer": true})
	tok, _ := r.body["session"].(map[string]any)["token"].(string)
	e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": wrong})
	e.do(b, "POST", "/user/api/login", map[string]any{"email": "nobody@example.com", "password": wrong})
	e.do(b, "POST", "/user/api/change-password", map[string]any{"old_password": secret1, "new_password": secret2}, "Authorization", "Bearer "+tok)
	req, _ := http.NewRequest("GET", srv.URL+"/basic", nil)
	req.SetBasicAuth("ann@example.com", wrong)
	http.DefaultClient.Do(req)
	e.do(b, "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": wrong}) // lock-out
	e.do(b, "POST", "/user/api/logout", map[string]any{}, "Authorization", "Bearer "+tok)

	out := logs.String()
	if !strings.Contains(out, "login_failed") {
		t.Fatalf("the flows logged nothing; the test would prove nothing:\n%s", out)
	}
	for _, s := range []string{secret1, secret2, wrong, tok} {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the log contains a secret %q:\n%s", s, out)
		}
	}
}
