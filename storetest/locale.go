package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// testLocale: User.Locale is kept at creation, changed by
// UserUpdate.Locale (alone, with other fields, cleared), left alone by
// updates that do not name it, undone with its transaction, and read back
// by every lookup, SessionUser and ListUsers included.
func testLocale(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := newUser("Shirin@Example.com", "shirin")
	u.Locale = "fa"
	mustCreate(t, s, u)
	ss := mustCreateSession(t, s, newSession(u.ID, base))
	other := mustCreate(t, s, newUser("other@example.com", "")) // no locale

	// check reads u through every lookup and compares it with want.
	check := func(step string, want *usher.User) {
		t.Helper()
		lookups := []struct {
			name string
			get  func() (*usher.User, error)
		}{
			{"UserByID", func() (*usher.User, error) { return s.UserByID(ctx, want.ID) }},
			{"UserByEmail", func() (*usher.User, error) { return s.UserByEmail(ctx, want.Email) }},
			{"UserByUsername", func() (*usher.User, error) { return s.UserByUsername(ctx, want.Username) }},
			{"SessionUser", func() (*usher.User, error) { _, gu, err := s.SessionUser(ctx, ss.TokenHash); return gu, err }},
			{"ListUsers", func() (*usher.User, error) {
				list, err := s.ListUsers(ctx, usher.UserQuery{Search: want.Email})
				if err == nil && len(list) != 1 {
					err = errors.New("not exactly one user found")
				}
				if err != nil {
					return nil, err
				}
				return list[0], nil
			}},
		}
		for _, l := range lookups {
			got, err := l.get()
			if err != nil {
				t.Errorf("%s: %s: %v", step, l.name, err)
				continue
			}
			if got.Locale != want.Locale {
				t.Errorf("%s: %s: Locale = %q, want %q", step, l.name, got.Locale, want.Locale)
			}
			if d := diffUser(got, want); d != "" {
				t.Errorf("%s: %s: %s", step, l.name, d)
			}
		}
		if got := mustGet(t, s, other.ID); got.Locale != "" {
			t.Errorf("%s: the other user's Locale = %q, want \"\"", step, got.Locale)
		}
	}
	check("created", u)
	if got := mustGet(t, s, other.ID); got.Locale != "" {
		t.Errorf("user created without a locale: Locale = %q", got.Locale)
	}

	steps := []struct {
		name   string
		up     usher.UserUpdate
		change func(u *usher.User)
	}{
		{"Locale", usher.UserUpdate{Locale: ptr("zh-Hant-TW")},
			func(u *usher.User) { u.Locale = "zh-Hant-TW" }},
		{"other fields only", usher.UserUpdate{Enabled: ptr(false), Profile: map[string]string{"name": "Shirin"}},
			func(u *usher.User) { u.Enabled, u.Profile = false, map[string]string{"name": "Shirin"} }},
		// With Email, UpdateUser takes its multi-statement path.
		{"Locale with Email", usher.UserUpdate{Locale: ptr("de"), Email: ptr("shirin@example.org")},
			func(u *usher.User) { u.Locale, u.Email = "de", "shirin@example.org" }},
		{"Locale cleared", usher.UserUpdate{Locale: ptr("")},
			func(u *usher.User) { u.Locale = "" }},
		{"Locale again", usher.UserUpdate{Locale: ptr("pt-BR")},
			func(u *usher.User) { u.Locale = "pt-BR" }},
	}
	for _, st := range steps {
		if err := s.UpdateUser(ctx, u.ID, st.up); err != nil {
			t.Fatalf("%s: UpdateUser: %v", st.name, err)
		}
		st.change(u)
		check("after "+st.name, u)
	}

	// A rolled-back change of the locale leaves the old one.
	rollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.UpdateUser(ctx, u.ID, usher.UserUpdate{Locale: ptr("ja")}); err != nil {
			return err
		}
		if got, err := tx.UserByID(ctx, u.ID); err != nil || got.Locale != "ja" {
			t.Errorf("inside the transaction: %v, %v; want Locale \"ja\"", got, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v, want the rollback error", err)
	}
	check("after a rolled-back change", u)

	// The locale survives a log-in and a failure, which rewrite the row.
	if _, err := s.RecordPasswordFailure(ctx, u.ID, at(time.Hour), 5); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordLogin(ctx, u.ID, at(2*time.Hour), "$new$hash"); err != nil {
		t.Fatal(err)
	}
	u.LastLoginAt, u.PasswordHash = at(2*time.Hour), "$new$hash"
	check("after RecordLogin", u)
}
