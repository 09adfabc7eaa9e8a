package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/usher-auth/usher"
)

// TestMigrateSessionsByHash opens a database at schema version 11, with
// sessions in it, and migrates it: on SQLite sessions becomes a WITHOUT
// ROWID table keyed by the token hash, on PostgreSQL its pages keep room
// for HOT updates; either way every session, with all its fields, is still
// found by its token hash and by its user, touches still land, and down
// and up again loses nothing.
func TestMigrateSessionsByHash(t *testing.T) {
	forEachDatabaseAt(t, 11, func(t *testing.T, s *Store, p *goose.Provider) {
		at := time.Date(2025, 3, 4, 5, 6, 7, 8000, time.UTC)
		u := &usher.User{ID: "u1", Email: "ann@example.com", Enabled: true, SignedUpAt: at}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		var want []*usher.Session
		for i, tok := range []string{"first", "second"} {
			h := sha256.Sum256([]byte(tok))
			ss := &usher.Session{ID: "s" + tok, UserID: "u1", TokenHash: h[:], CreatedAt: at, LastSeenAt: at,
				ExpiresAt: at.Add(time.Hour), Remember: i == 0, IP: "192.0.2.1", UserAgent: "agent " + tok,
				MustChangePassword: i == 1}
			if err := s.CreateSession(ctx, ss); err != nil {
				t.Fatal(err)
			}
			want = append(want, ss)
		}
		check := func(stage string) {
			t.Helper()
			for _, w := range want {
				got, gu, err := s.SessionUser(ctx, w.TokenHash)
				if err != nil {
					t.Fatalf("%s: SessionUser(%s): %v", stage, w.ID, err)
				}
				if got.ID != w.ID || got.UserID != w.UserID || !bytes.Equal(got.TokenHash, w.TokenHash) ||
					!got.CreatedAt.Equal(w.CreatedAt) || !got.LastSeenAt.Equal(w.LastSeenAt) || !got.ExpiresAt.Equal(w.ExpiresAt) ||
					got.Remember != w.Remember || got.IP != w.IP || got.UserAgent != w.UserAgent ||
					got.MustChangePassword != w.MustChangePassword || gu.ID != "u1" {
					t.Errorf("%s: SessionUser(%s) = %+v, want %+v", stage, w.ID, got, w)
				}
			}
			if list, err := s.ListSessions(ctx, "u1"); err != nil || len(list) != len(want) {
				t.Errorf("%s: ListSessions = %d sessions, %v; want %d", stage, len(list), err, len(want))
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		check("after migrating")
		if s.d.name == DialectSQLite {
			var sql string
			if err := s.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'sessions'`).Scan(&sql); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sql, "WITHOUT ROWID") || !strings.Contains(sql, "token_hash           BLOB    NOT NULL PRIMARY KEY") {
				t.Errorf("sessions is not keyed by token_hash without rowid:\n%s", sql)
			}
		} else {
			var opts string
			if err := s.r.QueryRowContext(ctx, `SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class
				WHERE oid = 'sessions'::regclass`).Scan(&opts); err != nil {
				t.Fatal(err)
			}
			if opts != "fillfactor=80" {
				t.Errorf("sessions' options = %q, want fillfactor=80", opts)
			}
		}
		later := at.Add(time.Minute)
		if err := s.TouchSessions(ctx, map[string]time.Time{"sfirst": later}); err != nil {
			t.Fatal(err)
		}
		want[0].LastSeenAt = later
		check("after a touch")
		h := sha256.Sum256([]byte("first"))
		dup := &usher.Session{ID: "sother", UserID: "u1", TokenHash: h[:], CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if err := s.CreateSession(ctx, dup); err == nil {
			t.Errorf("a second session with the same token hash was accepted")
		}
		if _, err := p.DownTo(ctx, 11); err != nil {
			t.Fatalf("migrating down to version 11: %v", err)
		}
		check("after migrating down")
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate after down: %v", err)
		}
		check("after down and up")
	})
}
