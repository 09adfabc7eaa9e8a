package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// TestRequireMFAPages: with RequireMFA, signing up on the page leads
// straight to setting up an authenticator app; only then is the browser
// logged in, and the recovery codes are shown once.
func TestRequireMFAPages(t *testing.T) {
	e := newAcctEnv(t, usher.Config{RequireMFA: true}, true)
	b := e.browser("enrol")
	p := b.post("/user/register", "email", "ann@example.com", "password", usertest.Password, "retype_password", usertest.Password)
	p.wantRedirect(t, "sign-up", "/user/mfa/enroll")
	if r := b.get("/user/api/me"); r.status != http.StatusUnauthorized {
		t.Fatalf("logged in before setting up a second factor: %d", r.status)
	}
	p = b.get("/user/mfa/enroll")
	p.want(t, "enrolment page", http.StatusOK, `name="code"`, `inputmode="numeric"`, `autocomplete="one-time-code"`)
	method, secret := p.hidden(t, "mfa_method"), p.hidden(t, "secret")
	if !strings.Contains(p.body, `<code class="secret" dir="ltr">`+inFours(secret)+`</code>`) {
		t.Errorf("the enrolment page does not show the key %s in groups of four", secret)
	}
	key, err := mfa.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := b.post("/user/mfa/enroll", "mfa_method", method, "secret", secret, "code", "000000")
	r.want(t, "wrong code", http.StatusUnprocessableEntity, `id="e-code"`)
	r = b.post("/user/mfa/enroll", "mfa_method", method, "secret", secret, "code", mfa.TOTPCode(key, time.Now()))
	r.want(t, "right code", http.StatusOK, `class="codes"`)
	if r := b.get("/user/api/me"); r.status != http.StatusOK {
		t.Fatalf("not logged in after enrolment: %d", r.status)
	}
}

// TestRequireMFAJSON: the JSON API's enrolment.
func TestRequireMFAJSON(t *testing.T) {
	e := newAcctEnv(t, usher.Config{RequireMFA: true}, true)
	usertest.MustCreateUser(t, e.svc, "bob@example.com")
	post := e.postJSON
	st, out := post("/user/api/login", map[string]any{"email": "bob@example.com", "password": usertest.Password, "bearer": true})
	if st != http.StatusUnauthorized || out["mfa_enroll"] != true || out["mfa_token"] == "" {
		t.Fatalf("log-in: %d %v", st, out)
	}
	tok := out["mfa_token"].(string)
	st, setup := post("/user/api/mfa/enroll/secret", map[string]any{"mfa_token": tok})
	if st != 200 || !strings.HasPrefix(setup["qr_code"].(string), "data:image/png;base64,") {
		t.Fatalf("secret: %d %v", st, setup)
	}
	key, _ := mfa.DecodeSecret(setup["secret"].(string))
	st, out = post("/user/api/mfa/enroll", map[string]any{"mfa_token": tok, "mfa_method": setup["mfa_method"], "code": mfa.TOTPCode(key, time.Now()), "bearer": true})
	codes, _ := out["recovery_codes"].([]any)
	sess, _ := out["session"].(map[string]any)
	if st != 200 || len(codes) != 10 || sess["token"] == "" {
		t.Fatalf("enrol: %d %v", st, out)
	}
}
