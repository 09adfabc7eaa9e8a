package app_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/mfa"
)

// TestTwoFactorOverHTTP: enrol an authenticator through the JSON API, then
// log in with the password and the code in two steps.
func TestTwoFactorOverHTTP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	srv, mail, _ := server(t, db, func(c *app.Config) { c.EnableConfirmEmail, c.AllowMFAEmailReset = false, true })
	if fi, err := os.Stat(db + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v %v", fi, err)
	}
	b := browser()
	if st, _ := postJSON(t, b, srv.URL+"/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw}); st != 201 {
		t.Fatalf("signup: %d", st)
	}
	st, setup := postJSON(t, b, srv.URL+"/user/api/mfa/totp/secret", map[string]any{})
	if st != 200 || setup["qr_code"] == nil {
		t.Fatalf("totp secret: %d %v", st, setup)
	}
	secret, err := mfa.DecodeSecret(setup["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := mfa.TOTPCode(secret, time.Now())
	if st, body := postJSON(t, b, srv.URL+"/user/api/mfa/methods", map[string]any{"password": pw, "mfa_method": setup["mfa_method"], "code": code, "name": "Phone"}); st != 201 {
		t.Fatalf("add method: %d %v", st, body)
	}
	c := browser()
	st, body := postJSON(t, c, srv.URL+"/user/api/login", map[string]any{"email": "ann@example.com", "password": pw})
	if st != 401 || body["error"].(map[string]any)["code"] != "mfa_required" || body["mfa_token"] == nil {
		t.Fatalf("login without the code: %d %v", st, body)
	}
	if me(t, srv, c) != 401 {
		t.Fatal("a session before the second factor")
	}
	code = mfa.TOTPCode(secret, time.Now().Add(30*time.Second)) // the next step's code: the enrolment used this one
	if st, body := postJSON(t, c, srv.URL+"/user/api/mfa/login", map[string]any{"mfa_token": body["mfa_token"], "mfa": map[string]any{"type": "totp", "code": code}}); st != 200 {
		t.Fatalf("second step: %d %v", st, body)
	}
	if me(t, srv, c) != 200 {
		t.Fatal("no session after the second factor")
	}

	// Lost the phone: an e-mailed link plus the password turn 2FA off.
	if st, _ := postJSON(t, browser(), srv.URL+"/user/api/mfa/reset", map[string]any{"email": "ann@example.com"}); st != 200 {
		t.Fatalf("mfa reset request: %d", st)
	}
	link := mail.WaitFor("ann@example.com", "", 2).Link(t, "/user/mfa-reset/")
	if st, page := follow(t, browser(), link, url.Values{"password": {"wrong password!"}}); st != 401 {
		t.Fatalf("mfa reset with a wrong password: %d %s", st, page)
	}
	if st, page := follow(t, browser(), link, url.Values{"password": {pw}}); st != 200 || !strings.Contains(page, "off") {
		t.Fatalf("mfa reset: %d %s", st, page)
	}
	if st, body := postJSON(t, browser(), srv.URL+"/user/api/login", map[string]any{"email": "ann@example.com", "password": pw}); st != 200 {
		t.Fatalf("log-in after the reset: %d %v", st, body)
	}
}
