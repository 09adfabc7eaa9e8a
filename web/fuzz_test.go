package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/web"
)

// fuzzRoutes are the JSON API's routes that read a request body.
var fuzzRoutes = []string{
	"POST /user/api/signup", "POST /user/api/login", "POST /user/api/logout",
	"POST /user/api/change-password", "POST /user/api/change-username",
	"POST /user/api/confirm-email", "POST /user/api/resend-confirmation",
	"POST /user/api/password-reset", "POST /user/api/password-reset/confirm",
	"POST /user/api/login-link", "POST /user/api/login-link/confirm",
	"POST /user/api/emails", "POST /user/api/emails/x/primary", "POST /user/api/invite",
	"POST /user/api/mfa/login", "POST /user/api/mfa/totp/secret", "POST /user/api/mfa/totp/validate",
	"POST /user/api/mfa/methods", "POST /user/api/mfa/available", "POST /user/api/mfa/recovery-codes",
	"POST /user/api/mfa/reset", "POST /user/api/mfa/reset/confirm",
	"POST /user/api/mfa/enroll/secret", "POST /user/api/mfa/enroll",
	"POST /user/api/mfa/webauthn/register/begin", "POST /user/api/mfa/webauthn/register/finish",
	"POST /user/api/mfa/webauthn/login/begin", "POST /user/api/mfa/webauthn/login/finish",
	"POST /user/api/passkey/login/begin", "POST /user/api/passkey/login/finish",
	// The admin API ({ann}: ann's ID; ann is an admin, see newFuzzRig).
	"POST /user/api/admin/users", "PATCH /user/api/admin/users/{ann}",
	"POST /user/api/admin/users/{ann}/password", "POST /user/api/admin/invite",
}

// bodilessRoutes read no body (or an optional one), and so may succeed
// whatever is sent.
var bodilessRoutes = map[string]bool{
	"POST /user/api/logout": true, "POST /user/api/mfa/webauthn/register/begin": true,
	"POST /user/api/passkey/login/begin": true, "POST /user/api/mfa/webauthn/login/begin": true,
	"POST /user/api/mfa/totp/secret": true, "POST /user/api/mfa/recovery-codes": true,
	"POST /user/api/emails/x/primary": true,
}

// fuzzRig is a handler with two-factor authentication and invitations
// on, over SQLite, and a user with the admin role who can log in, and an
// admin API key.
type fuzzRig struct {
	svc *usher.Service
	ann string
	key string
	h   *web.Handler
}

func newFuzzRig(tb testing.TB) *fuzzRig {
	sealer, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := usher.New(usher.Config{LoginRateLimit: -1, MaxPasswordFailures: -1, EnableInviteUser: true}, usher.Deps{Store: usertest.NewSQLiteStore(tb),
		Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard,
		MFA: mfa.Provider{}, Sealer: sealer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	u := usertest.MustCreateUser(tb, svc, "ann@example.com", "admin")
	key, _, err := svc.CreateAPIKey(tb.Context(), "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzRig{svc: svc, ann: u.ID, key: key, h: web.New(svc, web.Options{Logger: usertest.Discard})}
}

// serve makes a request straight to the handler, logged in as ann by
// bearer token when loggedIn (on an admin route, with the admin API key
// instead when the body's length is odd), and returns the recorded answer.
func (g *fuzzRig) serve(tb testing.TB, route string, body []byte, loggedIn bool) *httptest.ResponseRecorder {
	method, path, _ := strings.Cut(route, " ")
	path = strings.ReplaceAll(path, "{ann}", g.ann)
	r := httptest.NewRequest(method, siteOrigin+path, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if loggedIn && strings.Contains(path, "/api/admin/") && len(body)%2 == 1 {
		r.Header.Set("Authorization", "Bearer "+g.key)
	} else if loggedIn {
		// An earlier input may have changed ann's password (lock-out is
		// off for the same reason): put it back before logging in.
		if err := g.svc.SetPassword(tb.Context(), g.ann, usertest.Password); err != nil {
			tb.Fatal(err)
		}
		sess, _, err := g.svc.Login(tb.Context(), usher.Credentials{Login: "ann@example.com", Password: usertest.Password}, usher.Client{})
		if err != nil {
			tb.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+sess.Token)
	}
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	return w
}

// FuzzAPIBody posts arbitrary bodies to every JSON API route that reads
// one, logged in or not: never a panic or a 5xx, every error a JSON error
// object, and a body that is not JSON a client error (but for the
// bodilessRoutes).
func FuzzAPIBody(f *testing.F) {
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"email":"ann@example.com","password":"` + usertest.Password + `"}`,
		`{"login":"ann@example.com","password":"x","remember":true,"bearer":true}`,
		`{"token":"` + strings.Repeat("A", 43) + `","password":"new password 123"}`,
		`{"mfa_token":"x","mfa":{"type":"totp","code":"123456"}}`, `{"mfa":{"type":"recovery","code":""}}`,
		`{"email":"ann@example.com"} {}`, `{"email":1}`, `{"profile":{"a":"b"}}`, `{"state":"x","credential":{}}`,
		`{"username":"\u202eann"}`, `{"email":"a@b","roles":["admin"]}`,
		`{"email":"new@example.com","password":"` + usertest.Password + `","roles":["editor"],"profile":{"x":"y"},"enabled":false}`,
		`{"profile":{"team":""}}`, `{"password":"another fine passphrase"}`, `{"email":"invitee@example.com"}`, `{`, "\xff", `{"password":` + strings.Repeat(`[`, 10000),
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s), i%2 == 0)
	}
	g := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte, loggedIn bool) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		w := g.serve(t, rt, body, loggedIn)
		checkAPIAnswer(t, rt, body, w)
	})
}

// checkAPIAnswer fails t if the answer is a server error, an error without
// a JSON error object, or a success for a body that is not JSON.
func checkAPIAnswer(t *testing.T, rt string, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s %q: %d %s", rt, body, w.Code, w.Body)
	}
	if w.Code >= 400 {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%s %q: %d without a JSON error: %s", rt, body, w.Code, w.Body)
		}
	}
	if len(body) > 0 && !json.Valid(body) && w.Code < 400 && !bodilessRoutes[rt] {
		t.Fatalf("%s %q: %d for a body that is not JSON", rt, body, w.Code)
	}
}

// FuzzSessionToken sends arbitrary session tokens, as a bearer token and as
// the session cookie, to the routes that read them: never a panic or a 5xx,
// and never a user.
func FuzzSessionToken(f *testing.F) {
	for _, s := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("\xff", 43), "Bearer x", " ", "\x00",
		strings.Repeat("A", 42) + "=", strings.Repeat("A", 44)} {
		f.Add(s)
	}
	g := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, tok string) {
		for _, route := range []string{"GET /user/api/me", "GET /user/api/verify", "GET /user/api/sessions", "GET /user/account"} {
			method, path, _ := strings.Cut(route, " ")
			for _, asCookie := range []bool{false, true} {
				r := httptest.NewRequest(method, siteOrigin+path, nil)
				if asCookie {
					r.Header.Set("Cookie", "usher_session="+tok)
				} else {
					r.Header.Set("Authorization", "Bearer "+tok)
				}
				w := httptest.NewRecorder()
				g.h.ServeHTTP(w, r)
				if w.Code >= 500 || w.Code == http.StatusOK {
					t.Fatalf("%s with token %q (cookie %v): %d %s", route, tok, asCookie, w.Code, w.Body)
				}
			}
		}
	})
}
