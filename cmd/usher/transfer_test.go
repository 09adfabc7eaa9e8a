package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportImportCLI: usher export writes a file only its owner reads,
// usher import --dry-run changes nothing, usher import creates the users
// (who log in with the same password: the hash moved), and a second run
// skips them all.
func TestExportImportCLI(t *testing.T) {
	dir := t.TempDir()
	src := map[string]string{"USHER_DATABASE": filepath.Join(dir, "src.db"), "USHER_SECRET_KEY": strings.Repeat("ab", 32)}
	if code, _, errs := cli(t, src, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	for _, args := range [][]string{
		{"user", "add", "ann@example.com", "--password", "a long enough password", "--role", "admin", "--confirmed"},
		{"user", "add", "bob@example.com", "--import-hash", "pbkdf2:sha256:1000$xg6bPhuHgj88ZEDR$136e52decf93ac4e08671e79f6b6aef0f5fcfbe53b1b5cac144a88094cf3a0b7", "--disabled"},
	} {
		if code, _, errs := cli(t, src, "", args...); code != 0 {
			t.Fatal(errs)
		}
	}
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "users."+format)
			code, out, errs := cli(t, src, "", "export", "--output", file)
			if code != 0 || !strings.Contains(errs, "exported 2 user(s)") || out != "" {
				t.Fatalf("export: exit %d, %q %q", code, out, errs)
			}
			if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("the export file: %v %v; want mode 0600 (it holds password hashes)", fi.Mode(), err)
			}
			data, _ := os.ReadFile(file)
			if format == "csv" && !strings.HasPrefix(string(data), "email,enabled,signed_up,last_login,confirmed_email,n_password_failures,password_hash") {
				t.Fatalf("--output users.csv did not write CSV:\n%s", data)
			}
			env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "dst.db")}
			cli(t, env, "", "migrate")

			code, out, errs = cli(t, env, "", "import", file, "--dry-run")
			if code != 0 || !strings.Contains(out, "dry run, nothing changed: 2 would be created, 0 skipped (already here), 0 refused") {
				t.Fatalf("import --dry-run: exit %d, %q %q", code, out, errs)
			}
			if _, out, _ := cli(t, env, "", "user", "list"); !strings.Contains(out, "0 of 0") {
				t.Fatalf("the dry run created users:\n%s", out)
			}
			code, out, errs = cli(t, env, "", "import", file)
			if code != 0 || !strings.Contains(out, "2 created, 0 skipped (already here), 0 refused") {
				t.Fatalf("import: exit %d, %q %q", code, out, errs)
			}
			code, out, _ = cli(t, env, "", "import", file)
			if code != 0 || !strings.Contains(out, "0 created, 2 skipped") {
				t.Fatalf("second import: exit %d, %q", code, out)
			}
			_, out, _ = cli(t, env, "", "user", "show", "bob@example.com")
			if !strings.Contains(out, "false") {
				t.Errorf("bob is not disabled after import:\n%s", out)
			}
		})
	}
	// Secrets go only in JSONL.
	if code, _, errs := cli(t, src, "", "export", "--format", "csv", "--include-secrets"); code != 1 || !strings.Contains(errs, "JSONL") {
		t.Errorf("csv --include-secrets: exit %d %q; want an error", code, errs)
	}
}

// TestImportCLIReportsRefusals: bad rows are listed with their line, the
// others imported, and the exit status says some were refused.
func TestImportCLIReportsRefusals(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"USHER_DATABASE": filepath.Join(dir, "u.db")}
	cli(t, env, "", "migrate")
	file := filepath.Join(dir, "in.jsonl")
	os.WriteFile(file, []byte(`{"email":"ann@example.com"}`+"\n"+`{"email":"nope"}`+"\n"+`{"email":"bob@example.com","password_hash":"md5$x"}`+"\n"), 0o600)
	code, out, errs := cli(t, env, "", "import", file)
	if code != 1 || !strings.Contains(out, "refused: line 2 (nope): email:") || !strings.Contains(out, "refused: line 3 (bob@example.com): password_hash:") ||
		!strings.Contains(out, "1 created, 0 skipped (already here), 2 refused") || !strings.Contains(errs, "2 row(s) refused") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"import"},                           // no file
		{"import", "a.jsonl", "b.jsonl"},     // two
		{"import", "--format", "flask-user"}, // no --from
		{"import", "--format", "xml", "a.x"}, // unknown format
		{"import", "a.jsonl", "--from", "x"}, // --from without flask-user
		{"export", "--format", "xml"},        // unknown format
		{"export", "users.jsonl"},            // the file goes in --output
	} {
		if code, _, _ := cli(t, env, "", args...); code != 2 {
			t.Errorf("%v: exit %d; want 2", args, code)
		}
	}
}

// TestImportFlaskUserCLI: usher import --format flask-user --from
// sqlite:///app.db.
func TestImportFlaskUserCLI(t *testing.T) {
	b, err := os.ReadFile("../../transfer/testdata/flaskuser/app.db")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app.db")
	os.WriteFile(app, b, 0o600)
	env := map[string]string{"USHER_DATABASE": filepath.Join(dir, "u.db")}
	cli(t, env, "", "migrate")
	code, out, _ := cli(t, env, "", "import", "--format", "flask-user", "--from", "sqlite:///"+app)
	if code != 1 || !strings.Contains(out, "7 created") || !strings.Contains(out, "refused: user id 8 (broken@example.com)") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, out, _ := cli(t, env, "", "user", "show", "user007@example.com"); !strings.Contains(out, "agent, secret") {
		t.Errorf("user007's roles:\n%s", out)
	}
}
