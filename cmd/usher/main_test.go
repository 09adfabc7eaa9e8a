package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs the command in-process with the given environment and returns
// its exit status, standard output and standard error.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "usher.toml")
	os.WriteFile(file, []byte(`
app_name = "From File"
idle_timeout = "45m"
max_password_failures = 5
enable_registration = false
database = "postgres://usher:s3cret@db.example/usher"
flask_security_salt = "pepper"

[[profile_fields]]
name = "name"
required = true
max_length = 40
`), 0o600)
	env := map[string]string{"USHER_CONFIG": file, "USHER_IDLE_TIMEOUT": "20m", "USHER_MAX_PASSWORD_FAILURES": "7"}
	code, out, errs := cli(t, env, "", "config", "--max-password-failures", "9")
	if code != 0 {
		t.Fatalf("config: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		`app_name = "From File"`,           // file
		`idle_timeout = "20m0s"`,           // env over file
		`max_password_failures = 9`,        // flag over env
		`enable_registration = false`,      // file
		`addr = "127.0.0.1:8080"`,          // default
		`flask_security_salt = "********"`, // secret masked
		`name = "name"`,                    // profile fields
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "pepper") {
		t.Errorf("config output shows a secret:\n%s", out)
	}
}

func TestBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.toml")
	os.WriteFile(typo, []byte("enable_registraton = false\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"unknown command", nil, []string{"serv"}, 2, `unknown command "serv"`},
		{"unknown flag", nil, []string{"config", "--no-such-flag"}, 2, "flag provided but not defined"},
		{"bad duration flag", nil, []string{"config", "--idle-timeout", "soon"}, 2, "not a duration"},
		{"bad int env", map[string]string{"USHER_MAX_PASSWORD_FAILURES": "ten"}, []string{"config"}, 1, "USHER_MAX_PASSWORD_FAILURES"},
		{"bad bool env", map[string]string{"USHER_ENABLE_USERNAME": "maybe"}, []string{"config"}, 1, "USHER_ENABLE_USERNAME"},
		{"typo in file", nil, []string{"config", "--config", typo}, 1, "unknown setting(s) enable_registraton"},
		{"missing named file", nil, []string{"config", "--config", filepath.Join(dir, "nope.toml")}, 1, "reading configuration"},
		{"bad choice", nil, []string{"config", "--password-hash", "md5"}, 1, "password_hash"},
		{"inconsistent", nil, []string{"config", "--login-with", "username"}, 1, "enable_username"},
		{"bad database address", nil, []string{"migrate", "--database", "postgres://%%%"}, 1, "usher:"},
		{"unreachable database", nil, []string{"migrate", "--database", "postgres://postgres:hunter2@127.0.0.1:1/x?connect_timeout=2"}, 1, "127.0.0.1:1"},
		{"unwritable SQLite path", nil, []string{"migrate", "--database", "/proc/nope/usher.db"}, 1, "usher:"},
	}
	for _, tt := range tests {
		code, _, errs := cli(t, tt.env, "", tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tt.name, code, errs, tt.code, tt.want)
		}
		if strings.Contains(errs, "hunter2") {
			t.Errorf("%s: stderr shows the database password: %s", tt.name, errs)
		}
	}
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	env := map[string]string{"USHER_DATABASE": db}
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := cli(t, env, stdin, args...)
		if code != 0 {
			t.Fatalf("usher %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		return out
	}
	must("", "migrate")
	must("a long enough password\n", "user", "add", "ann@example.com", "--password-stdin", "--role", "admin", "--confirmed")
	must("", "user", "add", "bob@example.com", "--password", "another fine password", "--disabled")
	must("", "user", "add", "old@example.com", "--import-hash", "$2b$04$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxHMC/LuRQdkQYc88wW")
	if code, _, errs := cli(t, env, "", "user", "add", "ANN@example.com", "--password", "a long enough password"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("duplicate add: %d %s", code, errs)
	}
	if code, _, errs := cli(t, env, "", "user", "add", "carl@example.com", "--password", "password"); code != 1 || !strings.Contains(errs, "password not acceptable") {
		t.Errorf("weak password: %d %s", code, errs)
	}
	if code, _, errs := cli(t, env, "", "user", "add", "not an address", "--no-password"); code != 1 || !strings.Contains(errs, "email") {
		t.Errorf("bad address: %d %s", code, errs)
	}
	out := must("", "user", "list")
	if !strings.Contains(out, "ann@example.com") || !strings.Contains(out, "3 of 3 user(s)") {
		t.Errorf("list:\n%s", out)
	}
	if out := must("", "user", "list", "--role", "admin", "--json"); !strings.Contains(out, `"total":1`) {
		t.Errorf("list --role admin --json: %s", out)
	}
	out = must("", "user", "show", "bob@example.com")
	if !strings.Contains(out, "enabled:") || !strings.Contains(out, "false") {
		t.Errorf("show:\n%s", out)
	}
	must("", "user", "enable", "bob@example.com")
	must("", "user", "add-role", "bob@example.com", "editor")
	must("", "user", "remove-role", "ann@example.com", "admin")
	must("", "user", "unlock", "bob@example.com")
	must("", "user", "require-reset", "bob@example.com")
	must("", "user", "set-password", "bob@example.com", "--password", "yet another password")
	out = must("", "user", "show", "bob@example.com", "--json")
	if !strings.Contains(out, `"enabled":true`) || !strings.Contains(out, `"editor"`) {
		t.Errorf("show --json after changes: %s", out)
	}
	must("", "user", "delete", "bob@example.com")
	if code, _, errs := cli(t, env, "", "user", "show", "bob@example.com"); code != 1 || !strings.Contains(errs, `no user "bob@example.com"`) {
		t.Errorf("show deleted: %d %s", code, errs)
	}
	if code, _, _ := cli(t, env, "", "user", "add-role", "ann@example.com"); code != 2 {
		t.Errorf("missing argument: exit %d; want 2", code)
	}
}

// TestServeAndShutdown: usher serve answers /healthz and /readyz, serves
// /metrics on metrics_addr only (not on the main listener), and shuts
// down when told.
func TestServeAndShutdown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	mln, _ := net.Listen("tcp", "127.0.0.1:0")
	maddr := mln.Addr().String()
	mln.Close()
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "s.db"), "USHER_ADDR": addr, "USHER_LOG_LEVEL": "warn",
		"USHER_METRICS_ADDR": maddr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, &errb, func(k string) string { return env[k] })
	}()
	var res *http.Response
	var err error
	for range 100 {
		if res, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v (%s)", res, err, errb.String())
	}
	res.Body.Close()
	for _, c := range []struct {
		url  string
		code int
		body string
	}{
		{"http://" + addr + "/readyz", 200, "ok"},
		{"http://" + maddr + "/metrics", 200, "usher_logins_total"},
		{"http://" + addr + "/metrics", 404, ""},
	} {
		res, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || !strings.Contains(string(b), c.body) {
			t.Errorf("GET %s: %d; want %d with %q", c.url, res.StatusCode, c.code, c.body)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
