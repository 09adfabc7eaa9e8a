package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// testUserQueryFilters checks UserQuery's search fields, exact search and
// filters, which span users, second factors and identities.
func testUserQueryFilters(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	mk := func(email, username string, edit func(u *usher.User)) *usher.User {
		u := newUser(email, username)
		if edit != nil {
			edit(u)
		}
		return mustCreate(t, s, u)
	}
	ann := mk("ann@example.com", "Ann", func(u *usher.User) { u.Profile = map[string]string{"name": "Ann Smith", "team": "blue"} })
	bob := mk("bob@example.org", "bobby", func(u *usher.User) {
		u.Enabled = false
		u.Profile = map[string]string{"name": "Bob Jones"}
	})
	cat := mk("cat@example.com", "", func(u *usher.User) {
		u.EmailConfirmedAt = time.Time{}
		u.Profile = map[string]string{"name": `Cat "Q" Annabel`}
	})
	dan := mk("dan@annex.example", "dan", nil)
	if _, err := s.RecordPasswordFailure(ctx, dan.ID, at(time.Minute), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMFAMethod(ctx, newMFA(ann.ID, "phone", base), false); err != nil {
		t.Fatal(err)
	}
	mustCreateIdentity(t, s, newIdentity(bob.ID, "google", issuerA, "b1", "", base))
	mustCreateIdentity(t, s, newIdentity(cat.ID, "entra", issuerB, "c1", "", base))

	yes, no := true, false
	tests := []struct {
		name string
		q    usher.UserQuery
		want []*usher.User
	}{
		{"substring of email or username", usher.UserQuery{Search: "ANN"}, []*usher.User{ann, dan}},
		{"substring of email only", usher.UserQuery{Search: "ann", Field: usher.SearchEmail}, []*usher.User{ann, dan}},
		{"substring of username only", usher.UserQuery{Search: "ann", Field: usher.SearchUsername}, []*usher.User{ann}},
		{"exact email, folded", usher.UserQuery{Search: "ANN@example.com", Exact: true}, []*usher.User{ann}},
		{"exact username, folded", usher.UserQuery{Search: "BOBBY", Exact: true}, []*usher.User{bob}},
		{"exact is not a substring", usher.UserQuery{Search: "bob", Exact: true}, nil},
		{"exact email field ignores usernames", usher.UserQuery{Search: "dan", Exact: true, Field: usher.SearchEmail}, nil},
		{"profile substring", usher.UserQuery{Search: "Ann", Field: "name"}, []*usher.User{ann, cat}},
		{"profile substring with a quote", usher.UserQuery{Search: `"Q"`, Field: "name"}, []*usher.User{cat}},
		{"profile exact", usher.UserQuery{Search: "Bob Jones", Field: "name", Exact: true}, []*usher.User{bob}},
		{"profile is case-sensitive", usher.UserQuery{Search: "bob jones", Field: "name", Exact: true}, nil},
		{"profile other field", usher.UserQuery{Search: "blue", Field: "team"}, []*usher.User{ann}},
		{"profile field name with a quote", usher.UserQuery{Search: "x", Field: `a"b`}, nil},
		{"disabled", usher.UserQuery{Enabled: &no}, []*usher.User{bob}},
		{"enabled", usher.UserQuery{Enabled: &yes}, []*usher.User{ann, cat, dan}},
		{"locked", usher.UserQuery{Locked: &yes}, []*usher.User{dan}},
		{"not locked", usher.UserQuery{Locked: &no}, []*usher.User{ann, bob, cat}},
		{"unconfirmed", usher.UserQuery{Confirmed: &no}, []*usher.User{cat}},
		{"has a second factor", usher.UserQuery{HasMFA: &yes}, []*usher.User{ann}},
		{"no second factor", usher.UserQuery{HasMFA: &no}, []*usher.User{bob, cat, dan}},
		{"linked provider", usher.UserQuery{Provider: "google"}, []*usher.User{bob}},
		{"filters together", usher.UserQuery{Enabled: &yes, Confirmed: &yes, Search: "example.com"}, []*usher.User{ann}},
	}
	for _, tt := range tests {
		n, err := s.CountUsers(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: CountUsers: %v", tt.name, err)
		}
		got, err := s.ListUsers(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: ListUsers: %v", tt.name, err)
		}
		if g, w := emails(got), emails(tt.want); !equalSets(g, w) || n != len(w) {
			t.Errorf("%s: ListUsers = %q (count %d), want %q", tt.name, g, n, w)
		}
	}
}

// testUserQueryKeyset pages through users with UserQuery.After in each
// order, with users signing up between pages.
func testUserQueryKeyset(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	var all []*usher.User
	for i := range 13 {
		u := newUser(fmt.Sprintf("k%02d@example.com", i), "")
		u.SignedUpAt = at(time.Duration(i%5) * time.Minute) // ties broken by ID
		u.LastLoginAt = time.Time{}
		if i%3 != 0 {
			u.LastLoginAt = at(time.Duration(i%4) * time.Hour)
		}
		if i == 7 {
			u.SignedUpAt = time.Time{}
		}
		all = append(all, mustCreate(t, s, u))
	}
	key := func(q usher.UserQuery, u *usher.User) time.Time {
		if q.Sort == usher.SortLastLogin {
			return u.LastLoginAt
		}
		return u.SignedUpAt
	}
	for _, q := range []usher.UserQuery{
		{}, {Desc: true}, {Sort: usher.SortLastLogin}, {Sort: usher.SortLastLogin, Desc: true},
	} {
		name := fmt.Sprintf("sort %q desc %v", q.Sort, q.Desc)
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b *usher.User) int {
			c := key(q, a).Compare(key(q, b))
			if c == 0 {
				c = strings.Compare(a.ID, b.ID)
			}
			if q.Desc {
				return -c
			}
			return c
		})
		q.Limit = 4
		var got []*usher.User
		var late *usher.User
		for page := 0; ; page++ {
			list, err := s.ListUsers(ctx, q)
			if err != nil {
				t.Fatalf("%s: ListUsers: %v", name, err)
			}
			got = append(got, list...)
			if len(list) < q.Limit || page > 10 {
				break
			}
			q.After = q.Cursor(list[len(list)-1])
			// Someone signs up between pages: ascending by sign-up,
			// they come at the end; descending, before the page
			// already seen, so they must not shift it.
			if page == 0 && q.Sort == "" {
				late = newUser(fmt.Sprintf("late-%v@example.com", q.Desc), "")
				late.SignedUpAt = at(time.Hour)
				mustCreate(t, s, late)
				if !q.Desc {
					want = append(want, late)
				}
			}
		}
		if late != nil {
			if err := s.DeleteUser(ctx, late.ID); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(emails(got), emails(want)) {
			t.Errorf("%s: pages = %q\nwant %q", name, emails(got), emails(want))
		}
	}
	if _, err := s.ListUsers(ctx, usher.UserQuery{After: "nonsense"}); err == nil {
		t.Error("ListUsers(After: nonsense): no error")
	}
}

func emails(us []*usher.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Email)
	}
	return out
}

func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
