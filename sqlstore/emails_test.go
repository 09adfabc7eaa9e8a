package sqlstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/usher-auth/usher"
)

// insertUserV2 inserts a user into the users table of schema version 2
// (qInsertUser names columns added since).
const insertUserV2 = `INSERT INTO users (id, email, email_key, username, username_key,
		password_hash, enabled, email_confirmed_at, signed_up_at, last_login_at,
		password_changed_at, password_failures, locked_at, password_reset_required, profile)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// forEachDatabaseAt runs test on a new SQLite file and on a new PostgreSQL
// schema (skipped without USHER_TEST_POSTGRES), each migrated only up to
// version: what a database of that version holds can then be planted, and
// the rest of the migrations run by the test.
func forEachDatabaseAt(t *testing.T, version int64, test func(t *testing.T, s *Store, p *goose.Provider)) {
	addresses := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "usher.db") },
		"postgres": func(t *testing.T) string { return newPostgresSchema(t) },
	}
	for name, addr := range addresses {
		t.Run(name, func(t *testing.T) {
			s, err := OpenWithOptions(ctx, addr(t), Options{SkipMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p, err := s.provider(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, version); err != nil {
				t.Fatalf("migrating to version %d: %v", version, err)
			}
			test(t, s, p)
		})
	}
}

// TestMigrateUserEmailsBackfill opens a database at schema version 2 (before
// user_emails), with users in it, and migrates it: every user gets their
// address as the primary row.
func TestMigrateUserEmailsBackfill(t *testing.T) {
	forEachDatabaseAt(t, 2, func(t *testing.T, s *Store, p *goose.Provider) {
		if cur, _, err := s.SchemaVersion(ctx); err != nil || cur != 2 {
			t.Fatalf("SchemaVersion = %d, %v; want 2", cur, err)
		}
		signedUp := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
		confirmed := signedUp.Add(time.Hour)
		const n = 50
		for i := range n {
			email := fmt.Sprintf("User%02d@Example.com", i)
			var conf, signed any
			if i%2 == 0 {
				conf = s.d.time(confirmed)
			}
			if i%5 != 0 {
				signed = s.d.time(signedUp)
			}
			if _, err := s.w.ExecContext(ctx, s.d.rebind(insertUserV2), fmt.Sprint("u", i), email, usher.FoldEmail(email),
				nil, nil, "", true, conf, signed, nil, nil, 0, nil, false, nil); err != nil {
				t.Fatalf("inserting a user at version 2: %v", err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}

		ids := map[string]bool{}
		for i := range n {
			id := fmt.Sprint("u", i)
			list, err := s.ListUserEmails(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Fatalf("user %s has %d addresses after the backfill, want 1", id, len(list))
			}
			e := list[0]
			want := usher.UserEmail{ID: e.ID, UserID: id, Email: fmt.Sprintf("User%02d@Example.com", i), Primary: true}
			if i%2 == 0 {
				want.ConfirmedAt = confirmed
			}
			if i%5 != 0 {
				want.CreatedAt = signedUp
			}
			if e.ID == "" || e.UserID != want.UserID || e.Email != want.Email || !e.Primary ||
				!e.ConfirmedAt.Equal(want.ConfirmedAt) || !e.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("backfilled %+v, want %+v", *e, want)
			}
			if ids[e.ID] {
				t.Errorf("backfilled ID %s twice", e.ID)
			}
			ids[e.ID] = true
			if got, err := s.UserEmailByAddress(ctx, want.Email); err != nil || got.ID != e.ID {
				t.Errorf("UserEmailByAddress(%s) = %v, %v", want.Email, got, err)
			}
		}

		// The backfilled rows take part in the rules like others.
		if err := s.AddUserEmail(ctx, &usher.UserEmail{ID: usher.NewID(), UserID: "u1", Email: "user03@example.com"}); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("AddUserEmail(a backfilled primary address) = %v, want ErrUserExists", err)
		}
		e := &usher.UserEmail{ID: usher.NewID(), UserID: "u1", Email: "extra@example.com"}
		if err := s.AddUserEmail(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPrimaryEmail(ctx, "u1", e.ID); err != nil {
			t.Fatal(err)
		}
		if u, err := s.UserByID(ctx, "u1"); err != nil || u.Email != "extra@example.com" {
			t.Errorf("after SetPrimaryEmail on a backfilled user: %v, %v", u, err)
		}
		// Users from before 00005 have no language chosen.
		if u, err := s.UserByID(ctx, "u3"); err != nil || u.Locale != "" {
			t.Errorf("locale of a user from schema version 2: %v, %v; want \"\"", u, err)
		}
		if err := s.UpdateUser(ctx, "u2", usher.UserUpdate{Email: ptrTo("changed@example.com")}); err != nil {
			t.Fatal(err)
		}
		if list, err := s.ListUserEmails(ctx, "u2"); err != nil || len(list) != 1 || list[0].Email != "changed@example.com" {
			t.Errorf("after UpdateUser on a backfilled user: %v, %v", list, err)
		}

		// Down and up again: the secondary address is lost, the
		// primary ones come back.
		if _, err := p.DownTo(ctx, 2); err != nil {
			t.Fatalf("migrating down to version 2: %v", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate after down: %v", err)
		}
		if list, err := s.ListUserEmails(ctx, "u1"); err != nil || len(list) != 1 || list[0].Email != "extra@example.com" || !list[0].Primary {
			t.Errorf("after down and up: %v, %v", list, err)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
