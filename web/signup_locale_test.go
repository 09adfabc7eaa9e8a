package web_test

import (
	"testing"

	"github.com/usher-auth/usher"
)

// TestAPISignupKeepsLanguage: a sign-up through the JSON API saves the
// request's language on the user, as the page does, so that the emails it
// is sent (confirmation, notices) are in that language, not English.
func TestAPISignupKeepsLanguage(t *testing.T) {
	e := newEnv(t, usher.Config{})
	r := e.do(e.browser(), "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": pw},
		"Accept-Language", "de-CH, de;q=0.9, en;q=0.5")
	if r.status != 201 {
		t.Fatalf("signup: %d %s", r.status, r.raw)
	}
	u, err := e.svc.Store().UserByEmail(t.Context(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Locale != "de" {
		t.Errorf("the user's language is %q; want de, the request's", u.Locale)
	}
}
