package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile loads arbitrary text as the TOML configuration file:
// never a panic, and a configuration that loads (it is validated) can be
// turned into the service's and printed.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"", "app_name = \"From File\"\nidle_timeout = \"45m\"\nmax_password_failures = 5\n",
		"enable_registration = false\ndatabase = \"postgres://usher:s3cret@db.example/usher\"\n",
		"[[profile_fields]]\nname = \"name\"\nrequired = true\nmax_length = 40\n",
		"base_url = \"https://example.com/app\"\nlogin_with = \"username\"\nenable_username = true\n",
		"idle_timeout = \"-1h\"\n", "max_password_failures = -3\n", "password_hash = \"bcrypt\"\nbcrypt_cost = 99\n",
		"[[webhooks]]\nurl = \"http://user:pw@hook.example/x\"\n", "app_name = 1\n", "= \n", "[a]\nb = [\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "usher.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cf := &configFlags{path: path, pending: map[string]string{}}
		cfg, err := cf.load(func(string) string { return "" })
		if err != nil {
			return
		}
		_ = cfg.Service()
		printConfig(io.Discard, cfg)
	})
}

// FuzzConfigEnv sets an arbitrary value in one of the USHER_* environment
// variables: never a panic, a bad value's error names the variable, and a
// configuration that loads can be turned into the service's and printed.
func FuzzConfigEnv(f *testing.F) {
	ss := settings()
	for i, v := range []string{"", "x", "true", "0", "-1", "90s", "-5m", "99999999999999999999", "postgres://%%%",
		"https://example.com/a?b#c", "\x00", "argon2id", "bcrypt", "username", "1e3"} {
		f.Add(uint8(i*7), v)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		s := ss[int(which)%len(ss)]
		env := map[string]string{s.Env: value, "USHER_CONFIG": filepath.Join(dir, "none.toml")}
		cf := &configFlags{pending: map[string]string{}}
		cfg, err := cf.load(func(k string) string {
			if k == "USHER_CONFIG" {
				return ""
			}
			return env[k]
		})
		if err != nil {
			if strings.HasPrefix(err.Error(), "environment variable") && !strings.Contains(err.Error(), s.Env) {
				t.Fatalf("%s=%q: error %q does not name the variable", s.Env, value, err)
			}
			return
		}
		_ = cfg.Service()
		printConfig(io.Discard, cfg)
	})
}
