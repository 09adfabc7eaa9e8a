package web_test

import (
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestLockoutUnknownLikeKnownAPI: through the JSON API, wrong passwords
// for a real account and for an address nobody has get the same status
// and the same body at every count, 429 too_many_password_failures from
// the tenth on.
func TestLockoutUnknownLikeKnownAPI(t *testing.T) {
	e := newEnv(t, usher.Config{LoginRateLimit: -1})
	usertest.MustCreateUser(t, e.svc, "ann@example.com")
	for n := 1; n <= 12; n++ {
		k := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "ann@example.com", "password": "wrong password!"})
		u := e.do(e.browser(), "POST", "/user/api/login", map[string]any{"email": "nobody@example.com", "password": "wrong password!"})
		if k.status != u.status || k.raw != u.raw {
			t.Errorf("wrong password %d: known %d %s, unknown %d %s", n, k.status, k.raw, u.status, u.raw)
		}
		want, code := 401, "authentication_failed"
		if n >= 10 {
			want, code = 429, "too_many_password_failures"
		}
		if u.status != want || u.errCode() != code {
			t.Errorf("wrong password %d for an unknown address: %d %s; want %d %s", n, u.status, u.raw, want, code)
		}
	}
}
