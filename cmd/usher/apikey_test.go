package main

import (
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestAPIKeyCommands: create prints the key once (alone on stdout, for
// scripts) and stores only its SHA-256; list shows names and times, never
// a key; revoke takes a name or an ID and the key is gone.
func TestAPIKeyCommands(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "u.db")
	env := map[string]string{"USHER_DATABASE": dbPath}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := cli(t, env, "", "apikey", "create", "--name", "deploy")
	if code != 0 {
		t.Fatalf("apikey create: exit %d %q", code, errs)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "usher_ak_") || len(key) != len("usher_ak_")+43 || strings.Count(out, "\n") != 1 {
		t.Fatalf("apikey create printed %q; want one usher_ak_ key on its own line", out)
	}
	if !strings.Contains(errs, "deploy") || strings.Contains(errs, key) {
		t.Errorf("apikey create's note %q: want the name, never the key again", errs)
	}

	// The database holds the hash, not the key.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	var hash []byte
	if err := db.QueryRow(`SELECT name, key_hash FROM api_keys`).Scan(&name, &hash); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(key))
	if name != "deploy" || string(hash) != string(want[:]) {
		t.Errorf("stored %q %x; want deploy and the SHA-256 of the key", name, hash)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM api_keys WHERE CAST(key_hash AS TEXT) LIKE '%usher_ak_%'`).Scan(&n)
	if n != 0 {
		t.Error("the key itself is in the database")
	}

	// A second key with the same name is refused.
	if code, _, errs := cli(t, env, "", "apikey", "create", "--name", "deploy"); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("create a taken name: exit %d %q; want 1 and a sentence", code, errs)
	}
	if code, _, errs := cli(t, env, "", "apikey", "create"); code != 2 || !strings.Contains(errs, "--name") {
		t.Errorf("create without --name: exit %d %q; want 2", code, errs)
	}
	if code, _, errs := cli(t, env, "", "apikey", "create", "--name", "bad name!"); code != 1 || !strings.Contains(errs, "name") {
		t.Errorf("create with a bad name: exit %d %q; want 1 naming the field", code, errs)
	}
	_, out2, _ := cli(t, env, "", "apikey", "create", "--name", "ci")
	ciKey := strings.TrimSpace(out2)

	code, out, _ = cli(t, env, "", "apikey", "list")
	if code != 0 || !strings.Contains(out, "deploy") || !strings.Contains(out, "ci") || !strings.Contains(out, "2 key(s)") {
		t.Errorf("apikey list: exit %d\n%s", code, out)
	}
	if strings.Contains(out, key) || strings.Contains(out, ciKey) || strings.Contains(out, "usher_ak_") {
		t.Errorf("apikey list shows a key:\n%s", out)
	}

	// Revoke by name, then by ID.
	if code, out, errs := cli(t, env, "", "apikey", "revoke", "deploy"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke by name: exit %d %q %q", code, out, errs)
	}
	var ciID string
	db.QueryRow(`SELECT id FROM api_keys WHERE name = 'ci'`).Scan(&ciID)
	if code, _, errs := cli(t, env, "", "apikey", "revoke", ciID); code != 0 {
		t.Fatalf("revoke by ID: exit %d %q", code, errs)
	}
	db.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&n)
	if n != 0 {
		t.Errorf("%d keys left after revoking both", n)
	}
	if code, _, errs := cli(t, env, "", "apikey", "revoke", "deploy"); code != 1 || !strings.Contains(errs, "no API key") {
		t.Errorf("revoke again: exit %d %q", code, errs)
	}
	if code, _, _ := cli(t, env, "", "apikey", "rotate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
