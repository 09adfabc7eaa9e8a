package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/storetest"
)

var ctx = context.Background()

// mustOpen opens address and closes the Store when the test ends.
func mustOpen(t testing.TB, address string) *Store {
	t.Helper()
	s, err := Open(ctx, address)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newSQLite makes an empty SQLite file for one test.
func newSQLite(t *testing.T) func() usher.Store {
	path := filepath.Join(t.TempDir(), "usher.db")
	return func() usher.Store { return mustOpen(t, path) }
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, newSQLite)
}

func TestSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() usher.Store {
		s := mustOpen(t, ":memory:")
		return func() usher.Store { return s } // one instance only
	})
}

// postgresURL returns USHER_TEST_POSTGRES or skips the test.
func postgresURL(t testing.TB) string {
	u := os.Getenv("USHER_TEST_POSTGRES")
	if u == "" {
		t.Skip("PostgreSQL tests skipped: set USHER_TEST_POSTGRES, e.g. " +
			"USHER_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

// newPostgresSchema creates a fresh schema, dropped when the test ends, and
// returns an address whose search_path selects it.
func newPostgresSchema(t testing.TB) string {
	t.Helper()
	base := postgresURL(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "usher_test_" + usher.NewID()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func newPostgres(t *testing.T) func() usher.Store {
	address := newPostgresSchema(t)
	return func() usher.Store { return mustOpen(t, address) }
}

func TestPostgres(t *testing.T) {
	postgresURL(t)
	storetest.Run(t, newPostgres)
}

func TestDialect(t *testing.T) {
	if got := mustOpen(t, filepath.Join(t.TempDir(), "x.db")).Dialect(); got != DialectSQLite {
		t.Errorf("SQLite Dialect() = %q", got)
	}
	if os.Getenv("USHER_TEST_POSTGRES") != "" {
		if got := mustOpen(t, newPostgresSchema(t)).Dialect(); got != DialectPostgres {
			t.Errorf("PostgreSQL Dialect() = %q", got)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not SQLite ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		address string
		want    []string // substrings of the error
		secret  string   // must not appear in the error
	}{
		{"malformed PostgreSQL URL", "postgres://%%%", []string{"invalid PostgreSQL address"}, ""},
		{"malformed PostgreSQL URL with password", "postgresql://bob:se%cret@host/db",
			[]string{"invalid PostgreSQL address", "%-escape"}, "%cr"},
		{"bad port", "postgres://bob:hunter2@127.0.0.1:notaport/db",
			[]string{"invalid PostgreSQL address"}, "hunter2"},
		{"unescaped slash in password", "postgres://bob:pa/ss@127.0.0.1/db",
			[]string{"invalid PostgreSQL address"}, "pa/ss"},
		{"bad sslmode", "postgres://bob:hunter2@127.0.0.1/db?sslmode=sometimes",
			[]string{"invalid PostgreSQL address", "sslmode"}, "hunter2"},
		{"unreachable PostgreSQL", "postgres://bob:hunter2@127.0.0.1:1/db?sslmode=disable",
			[]string{"cannot connect to PostgreSQL at 127.0.0.1:1", "connection refused"}, "hunter2"},
		{"missing directory", filepath.Join(dir, "missing", "usher.db"),
			[]string{"cannot open SQLite database", "does not exist"}, ""},
		{"directory is a file", filepath.Join(file, "usher.db"),
			[]string{"cannot open SQLite database", "not a directory"}, ""},
		{"path is a directory", dir, []string{"cannot open SQLite database", "is a directory"}, ""},
		{"not a database", notDB, []string{"not-a-db", "not a database"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.address)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil error", tt.address)
			}
			msg := err.Error()
			t.Logf("Open(%q): %v", tt.address, msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

func TestOpenUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not apply")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	_, err := Open(ctx, filepath.Join(dir, "usher.db"))
	if err == nil || !strings.Contains(err.Error(), "cannot open SQLite database") {
		t.Errorf("Open(read-only directory) = %v", err)
	}
}

func TestSQLiteAddresses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		address string
		file    string
	}{
		{"", "usher.db"},
		{"plain.db", "plain.db"},
		{"sqlite:prefixed.db", "prefixed.db"},
		{"sqlite://" + filepath.Join(dir, "abs.db"), "abs.db"},
		{"file:" + filepath.Join(dir, "uri.db") + "?cache=private", "uri.db"},
		{filepath.Join(dir, "odd name #1 ?.db"), "odd name #1 ?.db"},
	}
	for _, tt := range tests {
		s, err := Open(ctx, tt.address)
		if err != nil {
			t.Errorf("Open(%q): %v", tt.address, err)
			continue
		}
		if err := s.CreateUser(ctx, &usher.User{ID: "u1", Email: "a@example.com"}); err != nil {
			t.Errorf("Open(%q): CreateUser: %v", tt.address, err)
		}
		s.Close()
		if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
			t.Errorf("Open(%q) did not make %s: %v", tt.address, tt.file, err)
		}
	}
}

// TestSQLitePragmas checks the settings the two pools rely on.
func TestSQLitePragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "usher.db"))
	check := func(db *sql.DB, pragma, want string) {
		t.Helper()
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	for _, db := range []*sql.DB{s.w, s.r} {
		check(db, "journal_mode", "wal")
		check(db, "synchronous", "1") // NORMAL
		check(db, "foreign_keys", "1")
		check(db, "busy_timeout", "10000")
		// The largest map the library allows: a database of a million
		// users passes 1 GiB, and pages past the map are read with a
		// system call each into every connection's page cache.
		check(db, "mmap_size", "2147418112")
	}
	check(s.w, "query_only", "0")
	check(s.r, "query_only", "1")
	// The writer's cache holds a batch's dirty pages; the readers' stay
	// small (their pages come through the map).
	check(s.w, "cache_size", "-16384")
	check(s.r, "cache_size", "-2048")
	if _, err := s.r.ExecContext(ctx, "DELETE FROM users"); err == nil {
		t.Error("the read pool can write")
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool has %d connections, want 1", got)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	addresses := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "usher.db") },
		"postgres": func(t *testing.T) string { return newPostgresSchema(t) },
	}
	for name, addr := range addresses {
		t.Run(name, func(t *testing.T) {
			address := addr(t)
			a := mustOpen(t, address)
			if err := a.CreateUser(ctx, &usher.User{ID: "u1", Email: "a@example.com"}); err != nil {
				t.Fatal(err)
			}
			a.Close()
			// Open again, migrate again: nothing changes, nothing is lost.
			b := mustOpen(t, address)
			if err := b.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			if _, err := b.UserByID(ctx, "u1"); err != nil {
				t.Errorf("user after reopening: %v", err)
			}
			cur, latest, err := b.SchemaVersion(ctx)
			if err != nil || cur != latest || latest < 1 {
				t.Errorf("SchemaVersion = %d, %d, %v", cur, latest, err)
			}
		})
	}
}

// TestMigrateConcurrently opens several Stores on a new database at once,
// as instances behind a load balancer start.
func TestMigrateConcurrently(t *testing.T) {
	addresses := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "usher.db") },
		"postgres": func(t *testing.T) string { return newPostgresSchema(t) },
	}
	for name, addr := range addresses {
		t.Run(name, func(t *testing.T) {
			address := addr(t)
			const n = 4
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					s, err := Open(ctx, address)
					if err != nil {
						t.Errorf("Open: %v", err)
						return
					}
					defer s.Close()
					if _, err := s.CountUsers(ctx, usher.UserQuery{}); err != nil {
						t.Errorf("CountUsers: %v", err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestSkipMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usher.db")
	s, err := OpenWithOptions(ctx, path, Options{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil || cur != 0 || latest < 1 {
		t.Errorf("SchemaVersion before Migrate = %d, %d, %v; want 0, ≥1", cur, latest, err)
	}
	if _, err := s.UserByID(ctx, "x"); err == nil || errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByID before Migrate = %v, want a missing-table error", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, "x"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByID after Migrate = %v, want ErrNotFound", err)
	}
}

// TestSQLiteTwoStoresWriting has two Stores on one file (as two processes
// would be) write hard at once: SQLite's lock is waited for, never reported
// as "database is locked".
func TestSQLiteTwoStoresWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usher.db")
	stores := []*Store{mustOpen(t, path), mustOpen(t, path)}
	const workers, ops = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		s := stores[w%2]
		wg.Go(func() {
			for i := range ops {
				id := fmt.Sprintf("w%d-u%d", w, i)
				u := &usher.User{ID: id, Email: id + "@example.com", Roles: []string{"r"}, SignedUpAt: time.Now()}
				if err := s.CreateUser(ctx, u); err != nil {
					t.Errorf("CreateUser: %v", err)
					return
				}
				if _, err := s.Hit(ctx, "shared", time.Unix(0, 0)); err != nil {
					t.Errorf("Hit: %v", err)
					return
				}
				if _, err := s.RecordPasswordFailure(ctx, id, time.Now(), 5); err != nil {
					t.Errorf("RecordPasswordFailure: %v", err)
					return
				}
				err := s.InTx(ctx, func(tx usher.Store) error {
					ss := &usher.Session{ID: id, UserID: id, TokenHash: []byte(id), ExpiresAt: time.Now().Add(time.Hour)}
					if err := tx.CreateSession(ctx, ss); err != nil {
						return err
					}
					return tx.AddEvent(ctx, &usher.Event{UserID: id, Type: usher.EventLogin, At: time.Now()})
				})
				if err != nil {
					t.Errorf("InTx: %v", err)
					return
				}
				if _, _, err := stores[(w+1)%2].SessionUser(ctx, []byte(id)); err != nil {
					t.Errorf("SessionUser through the other Store: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	n, err := stores[0].Hit(ctx, "shared", time.Unix(0, 0))
	if err != nil || n != workers*ops+1 {
		t.Errorf("shared counter = %d, %v; want %d", n, err, workers*ops+1)
	}
}

// TestReadsInsideTxUseTx checks that a read inside InTx sees the
// transaction's own writes (it goes through the transaction, not the read
// pool) and that others don't see them before the commit.
func TestReadsInsideTxUseTx(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "usher.db"))
	err := s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.CreateUser(ctx, &usher.User{ID: "u1", Email: "a@example.com"}); err != nil {
			return err
		}
		if _, err := tx.UserByID(ctx, "u1"); err != nil {
			return fmt.Errorf("inside: %w", err)
		}
		if _, err := s.UserByID(ctx, "u1"); !errors.Is(err, usher.ErrNotFound) {
			return fmt.Errorf("outside, before commit: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, "u1"); err != nil {
		t.Errorf("after commit: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(ctx, filepath.Join(t.TempDir(), "usher.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
