package usher_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// slowHasher is the fast test hasher, but verifying a hash that starts
// with "slow:" takes slowVerify and never matches: an imported hash in a
// format far costlier than the current one.
type slowHasher struct{ *password.Hasher }

const slowVerify = 150 * time.Millisecond

func (h slowHasher) Verify(enc, pw string) (bool, bool, error) {
	if strings.HasPrefix(enc, "slow:") {
		time.Sleep(slowVerify)
		return false, false, nil
	}
	return h.Hasher.Verify(enc, pw)
}

func (h slowHasher) CheckHash(enc string) error {
	if strings.HasPrefix(enc, "slow:") {
		return nil
	}
	return h.Hasher.CheckHash(enc)
}

// TestSlowImportedHashTiming: once a wrong password has cost a slow
// imported hash's time, every wrong password — for an unknown address or
// an account with a current hash — takes at least as long, so the time of
// the answer does not pick out the imported accounts. (A lower bound,
// which sleeping guarantees, not a measurement of noise.)
func TestSlowImportedHashTiming(t *testing.T) {
	clock := usertest.NewClock()
	svc, err := usher.New(usher.Config{LoginRateLimit: -1}, usher.Deps{Store: usertest.NewSQLiteStore(t),
		Passwords: slowHasher{usertest.FastHasher()}, Policy: password.Policy{}, Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "old@example.com", PasswordHash: "slow:imported", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	usertest.MustCreateUser(t, svc, "ann@example.com")
	wrong := func(email string) time.Duration {
		start := time.Now()
		if _, _, err := svc.LoginWithEmail(ctx, email, "a wrong password", false, client); err != usher.ErrAuthenticationFailed {
			t.Fatalf("%s: %v, want ErrAuthenticationFailed", email, err)
		}
		return time.Since(start)
	}
	if d := wrong("old@example.com"); d < slowVerify {
		t.Fatalf("the slow hash took %v", d)
	}
	for _, email := range []string{"nobody@example.com", "ann@example.com"} {
		if d := wrong(email); d < slowVerify {
			t.Errorf("wrong password for %s took %v; want at least %v, as for the imported account", email, d, slowVerify)
		}
	}
	// A right password is not held back.
	start := time.Now()
	if _, _, err := svc.LoginWithEmail(ctx, "ann@example.com", pw, false, client); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= slowVerify {
		t.Logf("a right password took %v (a loaded machine?)", d)
	}
}

// TestLegacyHashTiming measures wrong-password log-ins for an imported
// passlib sha512_crypt account (656,000 rounds, passlib's default), an
// account with a current argon2id hash and an unknown address, with the
// real hasher: 15 of each, interleaved, medians. A measurement, run only
// with USHER_BENCH_LEGACY=1; docs/benchmarks.md records its figures:
//
//	USHER_BENCH_LEGACY=1 go test . -run TestLegacyHashTiming -v -count=1
func TestLegacyHashTiming(t *testing.T) {
	if os.Getenv("USHER_BENCH_LEGACY") == "" {
		t.Skip("a measurement: set USHER_BENCH_LEGACY=1 to run it")
	}
	svc, err := usher.New(usher.Config{LoginRateLimit: -1, MaxPasswordFailures: -1}, usher.Deps{Store: usertest.NewSQLiteStore(t),
		Passwords: &password.Hasher{}, Policy: password.Policy{}, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	const sha512crypt = "$6$rounds=656000$jd662j0obRJ7.CNc$r5fOJqGl2zJvv81nVZCzZ4t/b83cxJKnZzevXrN.xy1HDWS2x7jMIee6H//217pqot.lxy0u4hFYbCf4nEJAs1"
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "old@example.com", PasswordHash: sha512crypt, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	usertest.MustCreateUser(t, svc, "ann@example.com")
	emails := []string{"old@example.com", "ann@example.com", "nobody@example.com"}
	times := map[string][]time.Duration{}
	for i := range 15 {
		for j := range emails {
			email := emails[(i+j)%len(emails)]
			start := time.Now()
			svc.LoginWithEmail(ctx, email, "a wrong password", false, client)
			times[email] = append(times[email], time.Since(start))
		}
	}
	for _, email := range emails {
		ds := times[email]
		slices.Sort(ds)
		t.Logf("%-20s median %6.1f ms (min %6.1f, max %6.1f)", email, ms(ds[len(ds)/2]), ms(ds[0]), ms(ds[len(ds)-1]))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
