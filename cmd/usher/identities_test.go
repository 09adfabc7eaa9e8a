package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/sqlstore"
)

// TestUserIdentitiesAndUnlink: usher user identities lists a user's
// identities (as a table, or JSON without subjects); usher user unlink
// removes one by provider name or ID, but never a password-less user's
// last way to log in.
func TestUserIdentitiesAndUnlink(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	env := map[string]string{"USHER_DATABASE": db}
	if code, _, errs := cli(t, env, "", "migrate"); code != 0 {
		t.Fatal(errs)
	}
	cli(t, env, "", "user", "add", "ann@example.com", "--password", "a long enough password")
	cli(t, env, "", "user", "add", "cat@example.com", "--no-password")
	ann, cat := userID(t, env, "ann@example.com"), userID(t, env, "cat@example.com")

	// Linking goes through a provider's redirect flow; the test links in
	// the database directly.
	st, err := sqlstore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, id := range []*usher.Identity{
		{ID: "idgoogle", UserID: ann, Provider: "google", Issuer: "https://accounts.google.com", Subject: "secret-sub-1", Email: "ann@gmail.example", LinkedAt: at},
		{ID: "idsso1", UserID: ann, Provider: "sso", Issuer: "https://sso.example", Subject: "secret-sub-2", LinkedAt: at},
		{ID: "idsso2", UserID: ann, Provider: "sso", Issuer: "https://sso.example", Subject: "secret-sub-3", LinkedAt: at},
		{ID: "idcat", UserID: cat, Provider: "google", Issuer: "https://accounts.google.com", Subject: "secret-sub-4", LinkedAt: at},
	} {
		if err := st.CreateIdentity(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	code, out, errs := cli(t, env, "", "user", "identities", "ann@example.com")
	if code != 0 || !strings.Contains(out, "PROVIDER") || !strings.Contains(out, "ann@gmail.example") || !strings.Contains(out, "3 identity(ies)") {
		t.Fatalf("identities: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = cli(t, env, "", "user", "identities", "ann@example.com", "--json")
	var list struct{ Identities []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Identities) != 3 {
		t.Fatalf("identities --json: exit %d, %v\n%s", code, err, out)
	}
	if g := list.Identities[0]; g["provider"] != "google" || g["email"] != "ann@gmail.example" || g["last_used_at"] != nil {
		t.Errorf("identities --json: %v", g)
	}
	if strings.Contains(out, "secret-sub") {
		t.Errorf("identities --json shows a subject: %s", out)
	}

	if code, _, errs := cli(t, env, "", "user", "unlink", "ann@example.com", "sso"); code == 0 || !strings.Contains(errs, "give the ID") {
		t.Errorf("unlink of one of two identities at a provider by name: exit %d %q; want a request for the ID", code, errs)
	}
	if code, out, errs := cli(t, env, "", "user", "unlink", "ann@example.com", "idsso2"); code != 0 || !strings.Contains(out, "unlinked from sso") {
		t.Errorf("unlink by ID: exit %d %q %q", code, out, errs)
	}
	if code, out, errs := cli(t, env, "", "user", "unlink", "ann@example.com", "google"); code != 0 || !strings.Contains(out, "unlinked from google") {
		t.Errorf("unlink by provider: exit %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, env, "", "user", "unlink", "ann@example.com", "google"); code == 0 || !strings.Contains(errs, "no identity") {
		t.Errorf("unlink twice: exit %d %q", code, errs)
	}
	if code, _, errs := cli(t, env, "", "user", "unlink", "cat@example.com", "google"); code == 0 || !strings.Contains(errs, "only way to log in") {
		t.Errorf("unlink the last way to log in: exit %d %q", code, errs)
	}
	if _, out, _ := cli(t, env, "", "user", "identities", "cat@example.com"); !strings.Contains(out, "1 identity(ies)") {
		t.Errorf("cat's identity is gone:\n%s", out)
	}
}

// userID returns the ID of the user with this address, from user show --json.
func userID(t *testing.T, env map[string]string, email string) string {
	t.Helper()
	_, out, _ := cli(t, env, "", "user", "show", email, "--json")
	var show struct{ User map[string]any }
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatalf("show --json: %v %s", err, out)
	}
	id, _ := show.User["id"].(string)
	return id
}
