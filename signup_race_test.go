package usher_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestConcurrentSignupOneAddress: 100 concurrent sign-ups of one address
// (in varying case) through two Service instances on one database give
// exactly one user and 99 ErrUserExists — the database enforces it.
func TestConcurrentSignupOneAddress(t *testing.T) {
	t.Run("PostgreSQL", func(t *testing.T) {
		addr := usertest.PostgresAddress(t)
		raceSignups(t, usertest.MustOpen(t, addr), usertest.MustOpen(t, addr))
	})
	t.Run("SQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "usher.db")
		raceSignups(t, usertest.MustOpen(t, path), usertest.MustOpen(t, path))
	})
}

func raceSignups(t *testing.T, a, b usher.Store) {
	cfg := usher.Config{SignupRateLimit: -1}
	svcs := []*usher.Service{usertest.NewService(t, cfg, a, nil), usertest.NewService(t, cfg, b, nil)}
	emails := []string{"race@example.com", "Race@Example.com", "RACE@EXAMPLE.COM", " race@example.com "}
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		created, exists int
		other           []error
	)
	for i := range 100 {
		wg.Go(func() {
			_, _, err := svcs[i%2].SignupWithEmail(ctx, usher.Signup{Email: emails[i%len(emails)], Password: pw}, usher.Client{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, usher.ErrUserExists):
				exists++
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if created != 1 || exists != 99 || len(other) > 0 {
		t.Fatalf("created %d, ErrUserExists %d, other errors %v; want 1, 99, none", created, exists, other)
	}
	if n, err := a.CountUsers(ctx, usher.UserQuery{}); err != nil || n != 1 {
		t.Fatalf("users in the database: %d (%v); want 1", n, err)
	}
}
