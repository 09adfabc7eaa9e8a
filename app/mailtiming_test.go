package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
)

// TestMailRequestTiming measures how long the three "send me a link"
// endpoints take to answer for an address that has an account and for one
// that has not: 300 requests each, interleaved, medians. It is a
// measurement, not an assertion (the machine is noisy), so it runs only
// with USHER_BENCH_MAIL=1; docs/benchmarks.md records its figures:
//
//	USHER_BENCH_MAIL=1 go test ./app -run TestMailRequestTiming -v -count=1
func TestMailRequestTiming(t *testing.T) {
	if os.Getenv("USHER_BENCH_MAIL") == "" {
		t.Skip("a measurement: set USHER_BENCH_MAIL=1 to run it")
	}
	srv, _, a := server(t, filepath.Join(t.TempDir(), "u.db"), func(c *app.Config) {
		c.EnableLoginLink, c.MailRateLimit = true, -1
	})
	// Unconfirmed, so that each endpoint has something to send.
	if _, err := a.Service.CreateUser(t.Context(), usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{}
	post := func(path, email string) time.Duration {
		start := time.Now()
		res, err := c.Post(srv.URL+path, "application/json", strings.NewReader(`{"email":"`+email+`"}`))
		d := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d", path, email, res.StatusCode)
		}
		return d
	}
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2]) / float64(time.Millisecond)
	}
	const n = 300
	for _, path := range []string{"/user/api/password-reset", "/user/api/login-link", "/user/api/resend-confirmation"} {
		for range 20 { // warm up
			post(path, "ann@example.com")
			post(path, "nobody@example.com")
		}
		var known, unknown []time.Duration
		for i := range n {
			// Alternate which goes first, so neither always follows the other.
			if i%2 == 0 {
				known = append(known, post(path, "ann@example.com"))
				unknown = append(unknown, post(path, "nobody@example.com"))
			} else {
				unknown = append(unknown, post(path, "nobody@example.com"))
				known = append(known, post(path, "ann@example.com"))
			}
		}
		t.Logf("%-30s known %.2f ms, unknown %.2f ms (medians of %d each)", path, median(known), median(unknown), n)
	}
}
