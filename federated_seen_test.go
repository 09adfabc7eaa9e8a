package usher_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestSeenOnce: an ID is seen once across every Service on one database
// (two instances on one SQLite file, and on one PostgreSQL schema when
// USHER_TEST_POSTGRES is set): the second sighting, on either instance, is
// ErrInvalidToken, and a different ID is not affected.
func TestSeenOnce(t *testing.T) {
	backends := []struct {
		name    string
		address func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return t.TempDir() + "/usher.db" }},
		{"postgres", func(t *testing.T) string { return usertest.PostgresAddress(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			addr := b.address(t)
			clock := usertest.NewClock()
			a := usertest.NewService(t, usher.Config{}, usertest.MustOpen(t, addr), clock)
			other := usertest.NewService(t, usher.Config{}, usertest.MustOpen(t, addr), clock)
			ctx := context.Background()
			until := clock.Now().Add(5 * time.Minute)
			var seen usher.SeenFunc = a.SeenOnce
			if err := seen(ctx, "https://idp.example.com/ assertion-1", until); err != nil {
				t.Fatalf("first sighting: %v", err)
			}
			for name, svc := range map[string]*usher.Service{"same instance": a, "other instance": other} {
				if err := svc.SeenOnce(ctx, "https://idp.example.com/ assertion-1", until); !errors.Is(err, usher.ErrInvalidToken) {
					t.Errorf("second sighting, %s: %v, want ErrInvalidToken", name, err)
				}
			}
			if err := other.SeenOnce(ctx, "https://idp.example.com/ assertion-2", until); err != nil {
				t.Errorf("another ID: %v", err)
			}
			if err := a.SeenOnce(ctx, "", until); err == nil || errors.Is(err, usher.ErrInvalidToken) {
				t.Errorf("empty ID: %v, want an error other than ErrInvalidToken", err)
			}
		})
	}
}
