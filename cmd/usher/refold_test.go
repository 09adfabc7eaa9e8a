package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateListsKeyCollisions: two accounts whose addresses differ only
// in Unicode normalization (planted with keys folded the old way) are
// listed by usher migrate, with the difference visible, and left alone.
func TestMigrateListsKeyCollisions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	env := map[string]string{"USHER_DATABASE": db}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, u := range []struct{ id, email string }{{"u1", "alic\u00e9@example.com"}, {"u2", "alice\u0301@example.com"}} {
		// The key as it was folded before: lower-cased, not normalized.
		for _, q := range []string{
			`INSERT INTO users (id, email, email_key) VALUES (?, ?, ?)`,
			`INSERT INTO user_emails (id, user_id, email, email_key, is_primary) VALUES ('e' || ?1, ?1, ?2, ?3, 1)`,
		} {
			if _, err := conn.ExecContext(context.Background(), q, u.id, u.email, u.email); err != nil {
				t.Fatal(err)
			}
		}
	}
	conn.Close()
	code, out, errs := cli(t, env, "", "migrate")
	if code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	for _, want := range []string{"2 account(s)", `email "alic\u00e9@example.com":`, `user u1: "alic\u00e9@example.com"`, `user u2: "alice\u0301@example.com"`} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := cli(t, env, "", "user", "list"); code != 0 || !strings.Contains(out, "2 of 2 user(s)") {
		t.Errorf("user list after migrate: %d\n%s", code, out)
	}
}
