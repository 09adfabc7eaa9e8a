package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestUserJSONNeverLoggedIn: a user who never logged in has
// "last_login_at": null, as in the JSON API, not Go's zero time.
func TestUserJSONNeverLoggedIn(t *testing.T) {
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "u.db")}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := cli(t, env, "", "user", "add", "ann@example.com", "--password", "a long enough password"); code != 0 {
		t.Fatal(errs)
	}
	_, out, _ := cli(t, env, "", "user", "list", "--json")
	var list struct{ Users []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Users) != 1 {
		t.Fatalf("list --json: %v %s", err, out)
	}
	if v, ok := list.Users[0]["last_login_at"]; !ok || v != nil {
		t.Errorf("list --json: last_login_at %v; want null", v)
	}
	_, out, _ = cli(t, env, "", "user", "show", "ann@example.com", "--json")
	var show struct{ User map[string]any }
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("show --json: %v %s", err, out)
	}
	if v, ok := show.User["last_login_at"]; !ok || v != nil {
		t.Errorf("show --json: last_login_at %v; want null", v)
	}
	if strings.Contains(out, "0001-01-01") {
		t.Errorf("show --json prints the zero time: %s", out)
	}
}

// TestUserAddNeedsPasswordOrNoPassword: a user without a password cannot
// log in, so that is asked for explicitly.
func TestUserAddNeedsPasswordOrNoPassword(t *testing.T) {
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "u.db")}
	cli(t, env, "", "migrate")
	code, _, errs := cli(t, env, "", "user", "add", "ann@example.com")
	if code != 2 || !strings.Contains(errs, "--no-password") {
		t.Fatalf("add without a password: exit %d, %q; want exit 2 naming --no-password", code, errs)
	}
	if _, out, _ := cli(t, env, "", "user", "list"); !strings.Contains(out, "0 of 0") {
		t.Errorf("a user was created anyway:\n%s", out)
	}
	code, out, errs := cli(t, env, "", "user", "add", "ann@example.com", "--no-password")
	if code != 0 || !strings.Contains(out, "cannot log in") {
		t.Fatalf("add --no-password: exit %d, %q %q; want a note that the user cannot log in", code, out, errs)
	}
	if code, _, errs := cli(t, env, "", "user", "add", "bob@example.com", "--no-password", "--password", "a long enough password"); code != 2 {
		t.Errorf("--no-password with --password: exit %d %q; want 2", code, errs)
	}
}

// TestUnsupportedDatabaseScheme: mysql://... is not a SQLite path; the
// error names what is supported, and hides the password.
func TestUnsupportedDatabaseScheme(t *testing.T) {
	for _, args := range [][]string{{"migrate"}, {"user", "list"}, {"serve"}} {
		args = append(args, "--database", "mysql://root:hunter2@db.example/usher")
		code, _, errs := cli(t, nil, "", args...)
		if code != 1 || !strings.Contains(errs, `"mysql"`) || !strings.Contains(errs, "postgres://") || !strings.Contains(errs, "SQLite") {
			t.Errorf("%v: exit %d, %q; want an error naming the scheme and the supported ones", args, code, errs)
		}
		if strings.Contains(errs, "hunter2") || strings.Contains(errs, "directory") {
			t.Errorf("%v: %q", args, errs)
		}
	}
}

// TestReadOnlyCommandsLeaveSchemaAlone: only serve and migrate change the
// schema. Other commands on an empty or old database say to run usher
// migrate, and create nothing.
func TestReadOnlyCommandsLeaveSchemaAlone(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	for _, args := range [][]string{{"user", "list"}, {"user", "show", "ann@example.com"}, {"user", "add", "ann@example.com", "--no-password"}} {
		code, _, errs := cli(t, map[string]string{"USHER_DATABASE": empty}, "", args...)
		if code != 1 || !strings.Contains(errs, "usher migrate") {
			t.Errorf("%v on a missing database: exit %d, %q; want an error saying to run usher migrate", args, code, errs)
		}
		if _, err := os.Stat(empty); err == nil {
			t.Fatalf("%v created %s", args, empty)
		}
	}
	if code, _, errs := cli(t, map[string]string{"USHER_DATABASE": empty}, "", "config"); code != 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Fatal("config created the database")
	}

	// An empty SQLite file (created by something else): no tables appear.
	os.WriteFile(empty, nil, 0o600)
	if code, _, errs := cli(t, map[string]string{"USHER_DATABASE": empty}, "", "user", "list"); code != 1 || !strings.Contains(errs, "usher migrate") {
		t.Errorf("user list on an empty file: exit %d, %q", code, errs)
	}
	if n := tableCount(t, empty); n != 0 {
		t.Errorf("user list created %d table(s) in an empty database", n)
	}

	// An old schema: the newest migration not applied.
	old := filepath.Join(dir, "old.db")
	env := map[string]string{"USHER_DATABASE": old}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	if err := db.QueryRow(`SELECT MAX(version_id) FROM usher_migrations`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM usher_migrations WHERE version_id = ?`, newest); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := tableCount(t, old)
	code, _, errs := cli(t, env, "", "user", "list")
	if code != 1 || !strings.Contains(errs, "usher migrate") || !strings.Contains(errs, "schema version") {
		t.Errorf("user list on an old schema: exit %d, %q", code, errs)
	}
	if tableCount(t, old) != before || migrationRows(t, old) == 0 {
		t.Error("user list changed the schema")
	}
	// Once the schema is current again, the command works.
	db, err = sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO usher_migrations (version_id, is_applied) VALUES (?, 1)`, newest); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, _, errs := cli(t, env, "", "user", "list"); code != 0 {
		t.Errorf("user list on the current schema: exit %d, %q", code, errs)
	}
}

// tableCount returns how many tables the SQLite file at path has.
func tableCount(t *testing.T, path string) int {
	return countRows(t, path, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`)
}

// migrationRows returns how many migrations the SQLite file at path
// records as applied.
func migrationRows(t *testing.T, path string) int {
	return countRows(t, path, `SELECT count(*) FROM usher_migrations`)
}

// countRows runs a count query on the SQLite file at path.
func countRows(t *testing.T, path, query string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConfigShowsBaseURLInUse: with base_url unset, usher config prints
// the origin the server uses, not "".
func TestConfigShowsBaseURLInUse(t *testing.T) {
	code, out, errs := cli(t, nil, "", "config", "--addr", "0.0.0.0:9999")
	if code != 0 {
		t.Fatal(errs)
	}
	if !strings.Contains(out, `base_url = "http://localhost:9999"`) {
		t.Errorf("config output:\n%s", out)
	}
	_, out, _ = cli(t, nil, "", "config", "--base-url", "https://auth.example.com")
	if !strings.Contains(out, `base_url = "https://auth.example.com"`) {
		t.Errorf("config output with base_url set:\n%s", out)
	}
}

// TestInvalidInputIsASentence: validation errors read as sentences, in
// the words the pages use.
func TestInvalidInputIsASentence(t *testing.T) {
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "u.db")}
	cli(t, env, "", "migrate")
	code, _, errs := cli(t, env, "", "user", "add", "not an address", "--no-password")
	if code != 1 || !strings.Contains(errs, "This is not a valid email address.") || strings.Contains(errs, "email invalid") {
		t.Errorf("bad address: exit %d, %q", code, errs)
	}
}

// TestReadOnlyCommandsWriteNoKey: the commands that only read or edit
// accounts leave no new usher.db.key beside a database that has none (a
// key written then would not be the one serve uses, if the operator keeps
// it elsewhere); serve and migrate are the ones that create it.
func TestReadOnlyCommandsWriteNoKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "usher.db")
	env := map[string]string{"USHER_DATABASE": db}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	os.Remove(db + ".key")
	for _, args := range [][]string{{"user", "list"}, {"user", "add", "ann@example.com", "--no-password"}, {"user", "show", "ann@example.com"}} {
		if code, _, errs := cli(t, env, "", args...); code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, errs)
		}
		if _, err := os.Stat(db + ".key"); err == nil {
			t.Fatalf("%v wrote %s.key", args, db)
		}
	}
}
