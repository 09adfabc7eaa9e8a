package usher_test

import (
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestLockoutUnknownLikeKnown: wrong passwords for an address nobody has
// are answered exactly as for a real account at every count — the same
// error, so the same status, code and message — including the lock-out
// at the tenth, its end after LockoutDuration, and a count spread over
// hours and sweeps. The identifier is folded as the Store folds it.
func TestLockoutUnknownLikeKnown(t *testing.T) {
	for _, mode := range []string{"email", "username"} {
		t.Run(mode, func(t *testing.T) {
			svc, clock := newService(t, usher.Config{LoginRateLimit: -1, LoginWith: mode, EnableUsername: true})
			if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Username: "ann", Password: pw, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			known, unknown := "ann@example.com", "nobody@example.com"
			if mode == "username" {
				known, unknown = "ann", "nobody"
			}
			try := func(login string) string {
				_, _, err := svc.Login(ctx, usher.Credentials{Login: login, Password: "a wrong password"}, client)
				if err == nil {
					return "<nil>"
				}
				return err.Error()
			}
			compare := func(phase string, n int) {
				t.Helper()
				// Case differs from try to try: the lock-out counts the
				// identifier, not its spelling.
				k, u := known, unknown
				if n%2 == 0 {
					k, u = strings.ToUpper(k), strings.ToUpper(u)
				}
				if gk, gu := try(k), try(u); gk != gu {
					t.Errorf("%s, wrong password %d: known account %q, unknown %q", phase, n, gk, gu)
				}
			}
			for n := 1; n <= 12; n++ {
				compare("first", n)
			}
			clock.Advance(59 * time.Minute)
			compare("locked still", 13)
			clock.Advance(2 * time.Minute) // the lock-out (1 h) is over
			for n := 1; n <= 12; n++ {
				compare("after the lock-out", n)
			}
			// Failures far apart still add up, across sweeps of the
			// throttle table.
			clock.Advance(2 * time.Hour)
			svc.Sweep(ctx)
			for n := 1; n <= 5; n++ {
				compare("spread, first half", n)
			}
			clock.Advance(3 * time.Hour)
			svc.Sweep(ctx)
			for n := 6; n <= 12; n++ {
				compare("spread, second half", n)
			}
		})
	}
}

// TestLockoutUnknownOther: another unknown address has its own count.
func TestLockoutUnknownOther(t *testing.T) {
	svc, _ := newService(t, usher.Config{LoginRateLimit: -1})
	usertest.MustCreateUser(t, svc, "ann@example.com")
	for range 10 {
		svc.LoginWithEmail(ctx, "nobody@example.com", "a wrong password", false, client)
	}
	_, _, err := svc.LoginWithEmail(ctx, "nobody2@example.com", "a wrong password", false, client)
	if err == nil || err.Error() != usher.ErrAuthenticationFailed.Error() {
		t.Errorf("first failure for another unknown address = %v, want ErrAuthenticationFailed", err)
	}
}
