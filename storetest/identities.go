package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// RunIdentities runs the tests of usher.IdentityStore.
func RunIdentities[S interface {
	usher.UserStore
	usher.IdentityStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[identitiesStore]{
		{"CreateIdentity", testCreateIdentity},
		{"IdentityTaken", testIdentityTaken},
		{"IdentitiesSameProvider", testIdentitiesSameProvider},
		{"IdentitiesSameSubject", testIdentitiesSameSubject},
		{"IdentitiesOfUser", testIdentitiesOfUser},
		{"TouchIdentity", testTouchIdentity},
		{"DeleteIdentity", testDeleteIdentity},
		{"DeleteUserIdentities", testDeleteUserIdentities},
		{"IdentityNotByEmail", testIdentityNotByEmail},
	})
}

// Two issuers for the tests, as an OpenID Connect provider names itself.
const (
	issuerA = "https://accounts.example.com"
	issuerB = "https://login.example.net/tenant/v2.0"
)

// newIdentity returns an identity of userID at issuer, linked at linked.
func newIdentity(userID, provider, issuer, subject, email string, linked time.Time) *usher.Identity {
	return &usher.Identity{ID: usher.NewID(), UserID: userID, Provider: provider, Issuer: issuer,
		Subject: subject, Email: email, LinkedAt: linked}
}

// mustCreateIdentity links id and fails the test on error.
func mustCreateIdentity(t *testing.T, s usher.IdentityStore, id *usher.Identity) *usher.Identity {
	t.Helper()
	if err := s.CreateIdentity(ctx, id); err != nil {
		t.Fatalf("CreateIdentity(%s %s): %v", id.Issuer, id.Subject, err)
	}
	return id
}

// identityBySubject returns the identity and fails the test on error.
func identityBySubject(t *testing.T, s usher.IdentityStore, issuer, subject string) *usher.Identity {
	t.Helper()
	id, err := s.IdentityBySubject(ctx, issuer, subject)
	if err != nil {
		t.Fatalf("IdentityBySubject(%s, %s): %v", issuer, subject, err)
	}
	return id
}

// identitiesOf returns the user's identities and fails the test on error.
func identitiesOf(t *testing.T, s usher.IdentityStore, userID string) []*usher.Identity {
	t.Helper()
	list, err := s.IdentitiesOfUser(ctx, userID)
	if err != nil {
		t.Fatalf("IdentitiesOfUser: %v", err)
	}
	return list
}

// diffIdentity describes how got differs from want, or returns "".
func diffIdentity(got, want *usher.Identity) string {
	if got.ID != want.ID || got.UserID != want.UserID || got.Provider != want.Provider ||
		got.Issuer != want.Issuer || got.Subject != want.Subject || got.Email != want.Email ||
		!got.LinkedAt.Equal(want.LinkedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) {
		return fmt.Sprintf("got %s, want %s", fmtIdentity(got), fmtIdentity(want))
	}
	return ""
}

func fmtIdentity(id *usher.Identity) string {
	return fmt.Sprintf("{%s user %s %s %s %s %q linked %v used %v}", id.ID, id.UserID, id.Provider,
		id.Issuer, id.Subject, id.Email, id.LinkedAt, id.LastUsedAt)
}

// wantIdentityIDs checks that list holds the identities of these IDs, in
// this order.
func wantIdentityIDs(t *testing.T, list []*usher.Identity, ids ...string) {
	t.Helper()
	got := make([]string, len(list))
	for i, id := range list {
		got[i] = id.ID
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("identities %v, want %v", got, ids)
	}
}

func testCreateIdentity(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	want := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "1234567890", "ada@gmail.example", at(time.Minute)))

	if d := diffIdentity(identityBySubject(t, s, issuerA, "1234567890"), want); d != "" {
		t.Errorf("IdentityBySubject: %s", d)
	}
	// Another Store on the database (another process) finds it too.
	if d := diffIdentity(identityBySubject(t, h.open(), issuerA, "1234567890"), want); d != "" {
		t.Errorf("IdentityBySubject from a second Store: %s", d)
	}
	// Issuer and subject are compared exactly.
	for _, k := range [][2]string{
		{issuerA, "123456789"}, {issuerA, "12345678900"}, {issuerA + "/", "1234567890"},
		{"HTTPS://ACCOUNTS.EXAMPLE.COM", "1234567890"}, {issuerB, "1234567890"}, {"", ""},
	} {
		if got, err := s.IdentityBySubject(ctx, k[0], k[1]); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("IdentityBySubject(%q, %q) = %v, %v; want ErrNotFound", k[0], k[1], got, err)
		}
	}
	// A user that does not exist cannot be linked.
	orphan := newIdentity(usher.NewID(), "google", issuerA, "orphan", "", base)
	if err := s.CreateIdentity(ctx, orphan); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("CreateIdentity(unknown user) = %v, want ErrNotFound", err)
	}
}

func testIdentityTaken(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	first := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "sub-1", "ada@example.com", base))
	second := h.open()

	// The same (issuer, subject) again, for the same user, another user,
	// under another provider name or address, from another Store: taken.
	for _, id := range []*usher.Identity{
		newIdentity(u.ID, "google", issuerA, "sub-1", "ada@example.com", at(time.Minute)),
		newIdentity(v.ID, "google", issuerA, "sub-1", "bob@example.com", at(time.Minute)),
		newIdentity(v.ID, "workspace", issuerA, "sub-1", "", at(time.Minute)),
	} {
		for _, st := range []usher.IdentityStore{s, second} {
			if err := st.CreateIdentity(ctx, id); !errors.Is(err, usher.ErrUserExists) {
				t.Errorf("CreateIdentity(%s) = %v, want ErrUserExists", fmtIdentity(id), err)
			}
		}
	}
	if d := diffIdentity(identityBySubject(t, s, issuerA, "sub-1"), first); d != "" {
		t.Errorf("after the refused links: %s", d)
	}
	wantIdentityIDs(t, identitiesOf(t, s, v.ID))
}

func testIdentitiesSameProvider(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	a := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "sub-a", "", base))
	b := mustCreateIdentity(t, s, newIdentity(v.ID, "google", issuerA, "sub-b", "", base))
	if got := identityBySubject(t, s, issuerA, "sub-a"); got.ID != a.ID || got.UserID != u.ID {
		t.Errorf("sub-a: %s", fmtIdentity(got))
	}
	if got := identityBySubject(t, s, issuerA, "sub-b"); got.ID != b.ID || got.UserID != v.ID {
		t.Errorf("sub-b: %s", fmtIdentity(got))
	}
}

func testIdentitiesSameSubject(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	// The same subject at two issuers names two different accounts, here
	// of two users, and of one user at two more issuers.
	a := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "42", "", base))
	b := mustCreateIdentity(t, s, newIdentity(v.ID, "microsoft", issuerB, "42", "", base))
	if got := identityBySubject(t, s, issuerA, "42"); got.ID != a.ID || got.UserID != u.ID {
		t.Errorf("%s 42: %s", issuerA, fmtIdentity(got))
	}
	if got := identityBySubject(t, s, issuerB, "42"); got.ID != b.ID || got.UserID != v.ID {
		t.Errorf("%s 42: %s", issuerB, fmtIdentity(got))
	}
	c := mustCreateIdentity(t, s, newIdentity(u.ID, "oidc", "https://idp.example.org", "42", "", base))
	// Linked at the same time: by ID.
	ids := []string{a.ID, c.ID}
	slices.Sort(ids)
	wantIdentityIDs(t, identitiesOf(t, s, u.ID), ids...)
}

func testIdentitiesOfUser(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	wantIdentityIDs(t, identitiesOf(t, s, u.ID))
	late := mustCreateIdentity(t, s, newIdentity(u.ID, "microsoft", issuerB, "m", "ada@outlook.example", at(2*time.Hour)))
	early := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "g", "ada@gmail.example", at(time.Hour)))
	mustCreateIdentity(t, s, newIdentity(v.ID, "google", issuerA, "other", "", base))

	list := identitiesOf(t, s, u.ID)
	wantIdentityIDs(t, list, early.ID, late.ID)
	if len(list) == 2 {
		if d := diffIdentity(list[0], early); d != "" {
			t.Errorf("first: %s", d)
		}
		if d := diffIdentity(list[1], late); d != "" {
			t.Errorf("second: %s", d)
		}
	}
	wantIdentityIDs(t, identitiesOf(t, s, usher.NewID()))
}

func testTouchIdentity(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	id := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "sub", "", base))
	other := mustCreateIdentity(t, s, newIdentity(u.ID, "microsoft", issuerB, "sub", "", base))
	if got := identityBySubject(t, s, issuerA, "sub"); !got.LastUsedAt.IsZero() {
		t.Errorf("LastUsedAt before any use = %v, want zero", got.LastUsedAt)
	}
	if err := s.TouchIdentity(ctx, id.ID, at(time.Hour)); err != nil {
		t.Fatalf("TouchIdentity: %v", err)
	}
	id.LastUsedAt = at(time.Hour)
	if d := diffIdentity(identityBySubject(t, s, issuerA, "sub"), id); d != "" {
		t.Errorf("after TouchIdentity: %s", d)
	}
	if d := diffIdentity(identityBySubject(t, s, issuerB, "sub"), other); d != "" {
		t.Errorf("the other identity: %s", d)
	}
	if err := s.TouchIdentity(ctx, usher.NewID(), at(time.Hour)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("TouchIdentity(unknown) = %v, want ErrNotFound", err)
	}
}

func testDeleteIdentity(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	mine := mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "ada", "", base))
	keep := mustCreateIdentity(t, s, newIdentity(u.ID, "microsoft", issuerB, "ada", "", base))

	// Another user's ID, or an unknown identity: ErrNotFound, and nothing
	// changes.
	if err := s.DeleteIdentity(ctx, v.ID, mine.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteIdentity(another user's) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteIdentity(ctx, u.ID, usher.NewID()); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteIdentity(unknown) = %v, want ErrNotFound", err)
	}
	identityBySubject(t, s, issuerA, "ada")

	if err := s.DeleteIdentity(ctx, u.ID, mine.ID); err != nil {
		t.Fatalf("DeleteIdentity: %v", err)
	}
	if _, err := s.IdentityBySubject(ctx, issuerA, "ada"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("IdentityBySubject(deleted) = %v, want ErrNotFound", err)
	}
	wantIdentityIDs(t, identitiesOf(t, s, u.ID), keep.ID)
	if err := s.DeleteIdentity(ctx, u.ID, mine.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteIdentity twice = %v, want ErrNotFound", err)
	}
	// Once unlinked, the account at the issuer can be linked again, to
	// anyone.
	mustCreateIdentity(t, s, newIdentity(v.ID, "google", issuerA, "ada", "", at(time.Hour)))
}

func testDeleteUserIdentities(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "ada", "", base))
	mustCreateIdentity(t, s, newIdentity(u.ID, "microsoft", issuerB, "ada", "", base))
	kept := mustCreateIdentity(t, s, newIdentity(v.ID, "google", issuerA, "bob", "", base))

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, iss := range []string{issuerA, issuerB} {
		if _, err := s.IdentityBySubject(ctx, iss, "ada"); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("deleted user's identity at %s: %v, want ErrNotFound", iss, err)
		}
	}
	wantIdentityIDs(t, identitiesOf(t, s, u.ID))
	if d := diffIdentity(identityBySubject(t, s, issuerA, "bob"), kept); d != "" {
		t.Errorf("the other user's identity: %s", d)
	}
	// The accounts are free again: a new user can link them.
	w := mustCreate(t, s, newUser("ada@example.com", "ada"))
	mustCreateIdentity(t, s, newIdentity(w.ID, "google", issuerA, "ada", "", at(time.Hour)))
}

func testIdentityNotByEmail(t *testing.T, h *harness[identitiesStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ada@example.com", "ada"))
	mustCreateIdentity(t, s, newIdentity(u.ID, "google", issuerA, "sub-ada", "ada@example.com", base))
	// Neither the address the provider reported nor the user's own
	// address, ID or username stands in for the subject.
	for _, sub := range []string{"ada@example.com", "ADA@example.com", u.ID, "ada", ""} {
		if got, err := s.IdentityBySubject(ctx, issuerA, sub); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("IdentityBySubject(%s, %q) = %v, %v; want ErrNotFound", issuerA, sub, got, err)
		}
	}
	// A subject that looks like an address is a subject like any other:
	// an account whose subject is another user's address is not theirs.
	v := mustCreate(t, s, newUser("bob@example.com", "bob"))
	mustCreateIdentity(t, s, newIdentity(v.ID, "oidc", issuerB, "ada@example.com", "ada@example.com", base))
	if got := identityBySubject(t, s, issuerB, "ada@example.com"); got.UserID != v.ID {
		t.Errorf("identity with an address as subject: %s, want user %s", fmtIdentity(got), v.ID)
	}
	if _, err := s.IdentityBySubject(ctx, issuerB, "bob@example.com"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("IdentityBySubject(%s, the user's address) = %v, want ErrNotFound", issuerB, err)
	}
}
