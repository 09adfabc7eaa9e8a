package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestUserAddImportHash: --import-hash refuses what no log-in could match
// and names the formats it reads; a Werkzeug hash is accepted.
func TestUserAddImportHash(t *testing.T) {
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "u.db")}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	for _, h := range []string{"notahash", "pbkdf2:sha256:600000$onlysalt"} {
		code, out, errs := cli(t, env, "", "user", "add", "bad@example.com", "--import-hash", h)
		if code == 0 || strings.Contains(out, "created") || !strings.Contains(errs, "bcrypt") || !strings.Contains(errs, "pbkdf2:sha256") {
			t.Errorf("--import-hash %q: exit %d, stdout %q, stderr %q; want an error naming the formats", h, code, out, errs)
		}
	}
	// A hash above the cost ceilings: refused, saying so.
	costly := "$2b$31$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxHMC/LuRQdkQYc88wW"
	if code, out, errs := cli(t, env, "", "user", "add", "costly@example.com", "--import-hash", costly); code == 0 || strings.Contains(out, "created") || !strings.Contains(errs, "ceiling") {
		t.Errorf("--import-hash (bcrypt cost 31): exit %d, stdout %q, stderr %q; want an error naming the ceiling", code, out, errs)
	}
	const werkzeug = "scrypt:16384:8:1$cLDTAMxwwyFrOtK9$923d17a89e7974eec499911eea88c30e9f4611ebacdf3d8010eab5a5bab93dd29b8ff4e0bf4a6997908665a71112ebbdb65c1b39c3b7e44dbb4f9cc64ae7e444"
	if code, _, errs := cli(t, env, "", "user", "add", "flask@example.com", "--import-hash", werkzeug); code != 0 {
		t.Errorf("--import-hash (Werkzeug scrypt): exit %d: %s", code, errs)
	}
	if code, out, _ := cli(t, env, "", "user", "list"); code != 0 || strings.Contains(out, "bad@example.com") || strings.Contains(out, "costly@") || !strings.Contains(out, "flask@example.com") {
		t.Errorf("list after the imports: %d\n%s", code, out)
	}
}
