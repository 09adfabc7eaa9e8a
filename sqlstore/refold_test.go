package sqlstore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/usher-auth/usher"
)

// legacyFold is how keys were folded before schema version 7.
func legacyFold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// TestRefoldMigration opens a database at schema version 5 holding keys
// folded the old way (Unicode lower-casing only), with a planted collision
// of each kind, and migrates it: keys are re-folded where they can be; the
// colliding accounts are left as they were and reported, not merged; once
// an administrator removes one of them, Refold re-keys the other.
func TestRefoldMigration(t *testing.T) {
	forEachDatabaseAt(t, 5, func(t *testing.T, s *Store, _ *goose.Provider) {
		insert := func(id, email, username string) {
			t.Helper()
			var name, nameKey any
			if username != "" {
				name, nameKey = username, legacyFold(username)
			}
			if _, err := s.w.ExecContext(ctx, s.d.rebind(insertUserV2), id, email, legacyFold(email),
				name, nameKey, "", true, nil, nil, nil, nil, 0, nil, false, nil); err != nil {
				t.Fatalf("inserting user %s at version 5: %v", id, err)
			}
			if _, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO user_emails (id, user_id, email, email_key, is_primary)
					VALUES (?, ?, ?, ?, ?)`), "e"+id, id, email, legacyFold(email), true); err != nil {
				t.Fatalf("inserting the primary address of %s: %v", id, err)
			}
		}
		const (
			nfc = "alic\u00e9@example.com"
			nfd = "alice\u0301@example.com"
		)
		insert("u1", nfc, "")
		insert("u2", nfd, "")                                       // collides with u1
		insert("u3", "Kate@B\u00fccher.example", "kate")            // IDN domain: re-keyed
		insert("u4", "\u00c0LICE@example.com", "")                  // non-ASCII case is kept now
		insert("u5", "eve@example.com", "\uff4b\uff41\uff54\uff45") // fullwidth "kate": collides with u3's username
		if _, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO user_emails (id, user_id, email, email_key, is_primary)
				VALUES (?, ?, ?, ?, ?)`), "x3", "u3", "Second@XN--BCHER-KVA.example", legacyFold("Second@XN--BCHER-KVA.example"), false); err != nil {
			t.Fatal(err)
		}

		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		want := []KeyCollision{
			{"email", usher.FoldEmail(nfc), "u1", nfc},
			{"email", usher.FoldEmail(nfc), "u2", nfd},
			{"username", "kate", "u3", "kate"},
			{"username", "kate", "u5", "\uff4b\uff41\uff54\uff45"},
		}
		got, err := s.KeyCollisions(ctx)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("KeyCollisions after migrating = %+q, %v;\nwant %+q", got, err, want)
		}
		// Nothing merged: both accounts of each collision are there as
		// they were. The one whose key already was the folded form
		// keeps answering to it; the other is reachable by its ID
		// until an administrator resolves the collision.
		for _, c := range []struct{ id, email string }{{"u1", nfc}, {"u2", nfd}} {
			if u, err := s.UserByID(ctx, c.id); err != nil || u.Email != c.email {
				t.Errorf("UserByID(%s) = %v, %v; want the address %+q", c.id, u, err, c.email)
			}
		}
		for _, ref := range []string{nfc, nfd} {
			if u, err := s.UserByEmail(ctx, ref); err != nil || u.ID != "u1" {
				t.Errorf("UserByEmail(%+q) = %v, %v; want u1", ref, u, err)
			}
		}
		if u, err := s.UserByUsername(ctx, "KATE"); err != nil || u.ID != "u3" {
			t.Errorf("UserByUsername(KATE) = %v, %v; want u3", u, err)
		}
		// Re-keyed: the IDN domain in either form, the secondary
		// address, and the address with non-ASCII capitals.
		for _, c := range []struct{ ref, id string }{
			{"kate@xn--bcher-kva.example", "u3"}, {"KATE@B\u00dcCHER.EXAMPLE", "u3"},
			{"\u00c0LICE@EXAMPLE.COM", "u4"}, {"\u00c0lice@example.com", "u4"},
		} {
			if u, err := s.UserByEmail(ctx, c.ref); err != nil || u.ID != c.id {
				t.Errorf("UserByEmail(%+q) = %v, %v; want %s", c.ref, u, err, c.id)
			}
		}
		if _, err := s.UserByEmail(ctx, "\u00e0lice@example.com"); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("UserByEmail(àlice@) = %v; want ErrNotFound (only ASCII letters fold)", err)
		}
		if e, err := s.UserEmailByAddress(ctx, "second@b\u00fccher.example"); err != nil || e.ID != "x3" {
			t.Errorf("UserEmailByAddress(the secondary) = %v, %v; want x3", e, err)
		}
		if list, err := s.ListUserEmails(ctx, "u3"); err != nil || len(list) != 2 || list[0].Email != "Kate@B\u00fccher.example" {
			t.Errorf("u3's addresses = %v, %v; stored addresses do not change", list, err)
		}

		// Migrating again changes nothing and keeps the report.
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
		if got, err := s.KeyCollisions(ctx); err != nil || !slices.Equal(got, want) {
			t.Errorf("KeyCollisions after migrating again = %+q, %v", got, err)
		}

		// The administrator removes one account of each collision;
		// the next re-fold re-keys the others and reports nothing.
		for _, id := range []string{"u1", "u5"} {
			if err := s.DeleteUser(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Refold(ctx); err != nil || len(got) != 0 {
			t.Errorf("Refold after resolving = %+q, %v; want none", got, err)
		}
		if got, err := s.KeyCollisions(ctx); err != nil || len(got) != 0 {
			t.Errorf("KeyCollisions after resolving = %+q, %v; want none", got, err)
		}
		if u, err := s.UserByEmail(ctx, nfc); err != nil || u.ID != "u2" {
			t.Errorf("UserByEmail(NFC) after resolving = %v, %v; want u2", u, err)
		}
		if u, err := s.UserByUsername(ctx, "\uff2b\uff21\uff34\uff25"); err != nil || u.ID != "u3" {
			t.Errorf("UserByUsername(fullwidth KATE) after resolving = %v, %v; want u3", u, err)
		}
	})
}

// TestResolveKeys: a row whose new key another row holds, or would take,
// keeps its old key, and so does a row whose new key a kept old key holds
// in turn; rows that only trade keys are re-keyed.
func TestResolveKeys(t *testing.T) {
	r := func(id, old, new string) *keyRow {
		return &keyRow{kind: "email", userID: id, value: id, taken: true, old: old, new: new}
	}
	rows := []*keyRow{
		r("a", "k1", "k2"), // takes b's old key, which b gives up
		r("b", "k2", "k3"),
		r("c", "k4", "k5"), // c and d would share k5
		r("d", "k6", "k5"),
		r("e", "k7", "k4"), // c keeps k4, so e keeps k7
		{kind: "email", userID: "f", value: "f", old: "k8", new: "k9"},                  // unconfirmed: no clash
		{kind: "email", userID: "g", value: "g", old: "k10", new: "k9"},                 // with another user's
		{kind: "username", userID: "a", value: "a", old: "k1", new: "k1"},               // other kind
		{kind: "email", userID: "h", emailID: "x", value: "h2", old: "k11", new: "k12"}, // a user's two
		{kind: "email", userID: "h", value: "h1", taken: true, old: "k12", new: "k12"},  // addresses
	}
	got := resolveKeys(rows)
	final := map[string]string{}
	for _, x := range rows {
		final[x.kind+":"+x.value] = x.final
	}
	wantFinal := map[string]string{"email:a": "k2", "email:b": "k3", "email:c": "k4", "email:d": "k6", "email:e": "k7",
		"email:f": "k9", "email:g": "k9", "username:a": "k1", "email:h2": "k11", "email:h1": "k12"}
	for k, v := range wantFinal {
		if final[k] != v {
			t.Errorf("final key of %s = %s, want %s", k, final[k], v)
		}
	}
	want := []KeyCollision{
		{"email", "k12", "h", "h1"}, {"email", "k12", "h", "h2"},
		{"email", "k4", "c", "c"}, {"email", "k4", "e", "e"},
		{"email", "k5", "c", "c"}, {"email", "k5", "d", "d"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("collisions = %+q\nwant %+q", got, want)
	}
}
