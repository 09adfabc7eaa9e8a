package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditCommand: `usher user` commands are recorded with the command
// line as actor, and `usher audit` filters them by user (ID, e-mail or
// username, even after deletion), time and type, as a table or JSON.
func TestAuditCommand(t *testing.T) {
	env := map[string]string{"USHER_DATABASE": filepath.Join(t.TempDir(), "u.db"), "USER": "ops"}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	for _, args := range [][]string{
		{"user", "add", "ann@example.com", "--password", "a long enough password"},
		{"user", "add", "bob@example.com", "--password", "a long enough password"},
		{"user", "disable", "ann@example.com"},
		{"user", "add-role", "bob@example.com", "editor"},
	} {
		if code, _, errs := cli(t, env, "", args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	type entry struct {
		ID     int64
		Type   string
		UserID string `json:"user_id"`
		Actor  struct{ Kind, ID, Name string }
		Detail string
	}
	audit := func(args ...string) []entry {
		t.Helper()
		code, out, errs := cli(t, env, "", append([]string{"audit", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("audit %v: exit %d %s", args, code, errs)
		}
		var list []entry
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var e entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("audit %v: %v in %q", args, err, line)
			}
			list = append(list, e)
		}
		return list
	}
	all := audit()
	if len(all) != 4 || all[0].Type != "role_added" || all[0].Detail != "editor" || all[1].Type != "disabled" || all[3].Type != "signup" {
		t.Fatalf("audit = %+v; want role_added, disabled, signup, signup", all)
	}
	for _, e := range all {
		if e.Actor.Kind != "cli" || e.Actor.Name != "ops" {
			t.Errorf("entry %+v: actor %+v; want cli ops", e, e.Actor)
		}
	}
	annID := all[1].UserID
	if got := audit("--user", "ann@example.com"); len(got) != 2 || got[0].UserID != annID {
		t.Errorf("--user ann@example.com: %+v", got)
	}
	if got := audit("--kind", "disabled,role_added"); len(got) != 2 {
		t.Errorf("--kind disabled,role_added: %+v", got)
	}
	if got := audit("--since", "1h"); len(got) != 4 {
		t.Errorf("--since 1h: %d entries; want 4", len(got))
	}
	if got := audit("--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); len(got) != 0 {
		t.Errorf("--since an hour ahead: %+v", got)
	}
	if code, _, errs := cli(t, env, "", "user", "delete", "ann@example.com"); code != 0 {
		t.Fatal(errs)
	}
	if got := audit("--user", annID); len(got) != 3 || got[0].Type != "deleted" {
		t.Errorf("--user of a deleted user: %+v; want deleted, disabled, signup", got)
	}
	code, out, _ := cli(t, env, "", "audit", "--kind", "deleted")
	if code != 0 || !strings.Contains(out, "deleted") || !strings.Contains(out, "cli:ops") || !strings.Contains(out, annID) {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	if code, _, errs := cli(t, env, "", "audit", "--since", "yesterday"); code != 1 || !strings.Contains(errs, "RFC 3339") {
		t.Errorf("--since yesterday: exit %d %q", code, errs)
	}
}
