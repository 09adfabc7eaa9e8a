package web_test

import (
	"context"
	"html"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// withTOTP gives a new user an authenticator app (set up with the code
// of the previous time step, so that the current one is still unused)
// and recovery codes; it returns the app's secret.
func withTOTP(t *testing.T, e *acctEnv, email string) (*usher.User, []byte) {
	t.Helper()
	u := usertest.MustCreateUser(t, e.svc, email)
	sess, _, err := e.svc.LoginWithEmail(context.Background(), email, pw, false, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	setup, err := e.svc.GenerateTOTPSecret(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := mfa.DecodeSecret(setup.Secret)
	// An earlier step's code: the log-ins below use the current one.
	if _, err := e.svc.AddMFAMethod(context.Background(), sess, pw, setup.Method, mfa.TOTPCode(key, time.Now().Add(-30*time.Second)), "Phone", false, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.NewRecoveryCodes(context.Background(), u.ID, usher.Client{}); err != nil {
		t.Fatal(err)
	}
	return u, key
}

// wrongCode returns a six-digit code that is not right for key now.
func wrongCode(key []byte) string {
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != mfa.TOTPCode(key, time.Now()) && c != mfa.TOTPCode(key, time.Now().Add(30*time.Second)) && c != mfa.TOTPCode(key, time.Now().Add(-30*time.Second)) {
			return c
		}
	}
	panic("no wrong code")
}

// TestMFARefusalJSON: the JSON API keeps the code mfa_required for a
// second factor that is missing or refused, and says why it was refused
// (reason and message): a wrong code, a code already used.
func TestMFARefusalJSON(t *testing.T) {
	e := newAcctEnv(t, usher.Config{MaxPasswordFailures: 50}, true)
	_, key := withTOTP(t, e, "ann@example.com")
	post := e.postJSON
	errOf := func(out map[string]any) (code, reason, msg string) {
		er, _ := out["error"].(map[string]any)
		code, _ = er["code"].(string)
		reason, _ = er["reason"].(string)
		msg, _ = er["message"].(string)
		return
	}
	login := map[string]any{"email": "ann@example.com", "password": pw, "bearer": true}
	st, out := post("/user/api/login", login)
	code, reason, msg := errOf(out)
	if st != http.StatusUnauthorized || code != "mfa_required" || reason != "" || msg != en("mfa_required") || out["mfa_token"] == "" {
		t.Fatalf("password only: %d %v", st, out)
	}
	tok := out["mfa_token"]

	st, out = post("/user/api/mfa/login", map[string]any{"mfa_token": tok, "mfa": map[string]any{"type": "totp", "code": wrongCode(key)}})
	code, reason, msg = errOf(out)
	if st != http.StatusUnauthorized || code != "mfa_required" || reason != usher.MsgMFACodeWrong || msg != en(usher.MsgMFACodeWrong) {
		t.Errorf("wrong code: %d %v; want mfa_required, reason %s", st, out, usher.MsgMFACodeWrong)
	}
	if _, ok := out["mfa_token"]; ok {
		t.Errorf("wrong code: an mfa_token in %v; the one given stays valid", out)
	}

	right := mfa.TOTPCode(key, time.Now())
	if st, out = post("/user/api/mfa/login", map[string]any{"mfa_token": tok, "mfa": map[string]any{"type": "totp", "code": right}, "bearer": true}); st != http.StatusOK {
		t.Fatalf("right code: %d %v", st, out)
	}
	_, out = post("/user/api/login", login)
	st, out = post("/user/api/mfa/login", map[string]any{"mfa_token": out["mfa_token"], "mfa": map[string]any{"type": "totp", "code": right}})
	code, reason, msg = errOf(out)
	if st != http.StatusUnauthorized || code != "mfa_required" || reason != usher.MsgMFACodeUsed || msg != en(usher.MsgMFACodeUsed) {
		t.Errorf("the same code again: %d %v; want mfa_required, reason %s", st, out, usher.MsgMFACodeUsed)
	}
	// Login with the factor at once: the reason, and a new pending log-in.
	login["mfa"] = map[string]any{"type": "totp", "code": right}
	st, out = post("/user/api/login", login)
	if code, reason, _ = errOf(out); code != "mfa_required" || reason != usher.MsgMFACodeUsed || out["mfa_token"] == "" {
		t.Errorf("log-in with a used code: %d %v", st, out)
	}
}

// TestMFARefusalPages: the second-factor page says what was wrong with
// the code (banner and field), and its code field is made for a code.
func TestMFARefusalPages(t *testing.T) {
	e := newAcctEnv(t, usher.Config{MaxPasswordFailures: 50}, true)
	_, key := withTOTP(t, e, "ann@example.com")
	b := e.browser("refusal")
	b.get("/user/login")
	b.post("/user/login", "login", "ann@example.com", "password", pw).wantRedirect(t, "password", "/user/mfa/verify")

	p := b.get("/user/mfa/verify")
	p.want(t, "second step", http.StatusOK, `inputmode="numeric"`, `autocomplete="one-time-code"`, `href="/user/login"`)

	p = b.post("/user/mfa/verify", "type", "totp", "code", wrongCode(key))
	wrong := html.EscapeString(en(usher.MsgMFACodeWrong))
	p.want(t, "wrong code", http.StatusUnauthorized, wrong)
	if strings.Contains(p.body, html.EscapeString(en("mfa_required"))) {
		t.Errorf("wrong code: the page says %q", en("mfa_required"))
	}
	if n := strings.Count(p.body, wrong); n != 2 {
		t.Errorf("wrong code: the message shows %d times; want 2 (banner and field)", n)
	}

	right := mfa.TOTPCode(key, time.Now())
	b.post("/user/mfa/verify", "type", "totp", "code", right).wantRedirect(t, "right code", "/")
	b.post("/user/logout")
	b.post("/user/login", "login", "ann@example.com", "password", pw).wantRedirect(t, "password again", "/user/mfa/verify")
	p = b.post("/user/mfa/verify", "type", "totp", "code", right)
	p.want(t, "the same code again", http.StatusUnauthorized, html.EscapeString(en(usher.MsgMFACodeUsed)))

	// A recovery code: its own field, not a numeric one.
	p = b.get("/user/mfa/verify?use=recovery")
	p.want(t, "recovery code step", http.StatusOK, `name="type" value="recovery"`)
	if strings.Contains(p.body, `inputmode="numeric"`) {
		t.Error("the recovery code's field is numeric; recovery codes have letters")
	}
	p = b.post("/user/mfa/verify", "type", "recovery", "code", "AAAA-BBBB")
	p.want(t, "wrong recovery code", http.StatusUnauthorized, html.EscapeString(en(usher.MsgRecoveryCodeWrong)), `name="type" value="recovery"`)
}

// inFours writes a key as the pages show it: in groups of four.
func inFours(key string) string {
	var groups []string
	for g := range slices.Chunk([]byte(key), 4) {
		groups = append(groups, string(g))
	}
	return strings.Join(groups, " ")
}
