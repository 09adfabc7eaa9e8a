// Package usertest has helpers for tests of Usher and of programs that use
// it: a fixed clock, a Service over a fresh SQLite file (or PostgreSQL
// schema), and MustCreateUser.
package usertest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver for schema set-up

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/sqlstore"
)

// Clock is a settable clock for Deps.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed instant.
func NewClock() *Clock { return ClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// ClockAt returns a Clock at t.
func ClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// FastHasher returns a Hasher with argon2id parameters far below the
// production ones, so that tests do not spend seconds hashing. The formats
// and code paths are the production ones.
func FastHasher() *password.Hasher { return &password.Hasher{Memory: 64, Time: 1} }

// LogBuffer collects what a logger writes, safe for the concurrent writes
// of a server's handlers, for a test to read (slog.NewTextHandler(b, nil)).
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Discard is a logger that writes nothing.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// NewSQLiteStore opens a Store on a new SQLite file in a temporary
// directory, closed when the test ends.
func NewSQLiteStore(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "usher.db")
	return MustOpen(tb, path)
}

// MustOpen opens a Store at address, closed when the test ends.
func MustOpen(tb testing.TB, address string) *sqlstore.Store {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), address)
	if err != nil {
		tb.Fatalf("opening store %s: %v", address, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// PostgresAddress returns the address of a new, empty PostgreSQL schema on
// the server named by USHER_TEST_POSTGRES, dropped when the test ends. It
// skips the test, with a clear message, when the variable is unset.
func PostgresAddress(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("USHER_TEST_POSTGRES")
	if base == "" {
		tb.Skip("USHER_TEST_POSTGRES is not set; skipping the PostgreSQL test (set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("USHER_TEST_POSTGRES: %v", err)
	}
	defer db.Close()
	schema := "usher_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("creating schema on USHER_TEST_POSTGRES: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// NewService returns a Service over st with cfg, the fast hasher, the
// default policy and clock (nil means real time), closed when the test
// ends.
func NewService(tb testing.TB, cfg usher.Config, st usher.Store, clock *Clock) *usher.Service {
	tb.Helper()
	d := usher.Deps{Store: st, Passwords: FastHasher(), Policy: password.Policy{}, Logger: Discard}
	if clock != nil {
		d.Now = clock.Now
	}
	svc, err := usher.New(cfg, d)
	if err != nil {
		tb.Fatalf("usher.New: %v", err)
	}
	tb.Cleanup(func() { svc.Close() })
	return svc
}

// Password is a password that passes the default policy.
const Password = "correct horse battery staple"

// MustCreateUser creates an enabled, confirmed user with the given e-mail
// address and Password, and the roles given.
func MustCreateUser(tb testing.TB, svc *usher.Service, email string, roles ...string) *usher.User {
	tb.Helper()
	u, err := svc.CreateUser(context.Background(), usher.NewUser{
		Email: email, Password: Password, Enabled: true, Confirmed: true, Roles: roles,
	})
	if err != nil {
		tb.Fatalf("creating user %s: %v", email, err)
	}
	return u
}

// Email returns a unique e-mail address for test n.
func Email(n int) string { return fmt.Sprintf("user%d@example.com", n) }
