package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestDefaultsPinned pins every setting's effective default — as -h shows
// it, as `usher config` prints it, and as the usher.Config the defaults
// give the Service — against testdata/defaults.golden, so that reshaping
// the configuration cannot move one. A new setting needs no update; run
// with -update-defaults only when a default is meant to change.
func TestDefaultsPinned(t *testing.T) {
	var b bytes.Buffer
	fs := flag.NewFlagSet("usher", flag.ContinueOnError)
	addConfigFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { fmt.Fprintf(&b, "--%s default %q\n", f.Name, f.DefValue) })
	cfg := app.Defaults()
	cfg.BaseURL = "http://localhost:8080"
	var printed bytes.Buffer
	printConfig(&printed, cfg)
	lines := strings.SplitAfter(printed.String(), "\n")
	slices.Sort(lines) // the order of the keys is no default
	b.WriteString(strings.Join(lines, "") + "\n")
	fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(fmt.Sprintf("%+v", cfg.Service()), " ", "\n"))
	const golden = "testdata/defaults.golden"
	if *updateDefaults {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// Every pinned line must still be there; a new setting adds lines
	// and needs no update.
	got := strings.Split(b.String(), "\n")
	for _, line := range strings.Split(string(want), "\n") {
		if !slices.Contains(got, line) {
			t.Errorf("default moved or gone: %q", line)
		}
	}
}

var updateDefaults = flag.Bool("update-defaults", false, "rewrite testdata/defaults.golden")

// TestOffValues checks the settings whose key says the opposite of the
// usher.Config field (invert) and those whose 0 in a file means off
// (zero:"off", the field's -1), and that `usher config` prints them so
// that reading its output back gives the same configuration.
func TestOffValues(t *testing.T) {
	file := filepath.Join(t.TempDir(), "usher.toml")
	os.WriteFile(file, []byte(`
enable_registration = false
send_registered_email = false
auto_login_after_register = false
enable_remember_me = false
hsts = false
lockout_duration = "0s"
max_password_failures = 0
session_cache_ttl = "0s"
mail_rate_limit = 0
`), 0o600)
	env := map[string]string{"USHER_BASIC_AUTH_CACHE_TTL": "0s", "USHER_MFA_REMEMBER_DURATION": "0s", "USHER_LOGIN_RATE_LIMIT": "-1"}
	code, out, errs := cli(t, env, "", "config", "--config", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	cf := addConfigFlags(flag.NewFlagSet("usher", flag.ContinueOnError))
	cf.path = file
	cfg, err := cf.load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Service()
	if !sc.DisableRegistration || !sc.DisableRegisteredEmail || !sc.NoAutoLoginAfterRegister || !sc.DisableRememberMe || !cfg.NoHSTS {
		t.Errorf("inverted settings not applied: %+v", sc)
	}
	for name, v := range map[string]int64{
		"lockout_duration": int64(sc.LockoutDuration), "max_password_failures": int64(sc.MaxPasswordFailures),
		"session_cache_ttl": int64(sc.SessionCacheTTL), "basic_auth_cache_ttl": int64(sc.BasicAuthCacheTTL),
		"mfa_remember_duration": int64(sc.MFARememberDuration), "login_rate_limit": int64(sc.LoginRateLimit),
	} {
		if v != -1 {
			t.Errorf("%s is %d in usher.Config; want -1 (off)", name, v)
		}
	}
	if sc.MailRateLimit != 0 {
		t.Errorf("mail_rate_limit = 0 gives %d; want 0 (the default)", sc.MailRateLimit)
	}
	printed := filepath.Join(t.TempDir(), "printed.toml")
	os.WriteFile(printed, []byte(out), 0o600)
	cf.path = printed
	again, err := cf.load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("reading usher config's output back: %v\n%s", err, out)
	}
	if a, b := fmt.Sprintf("%+v", again.Service()), fmt.Sprintf("%+v", sc); a != b {
		t.Errorf("usher config's output reads back as\n%s\nwant\n%s", a, b)
	}
}
