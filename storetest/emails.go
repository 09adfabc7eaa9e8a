package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// newAddress returns an unconfirmed secondary address of userID, created
// at created.
func newAddress(userID, email string, created time.Time) *usher.UserEmail {
	return &usher.UserEmail{ID: usher.NewID(), UserID: userID, Email: email, CreatedAt: created}
}

// mustAddEmail adds e and fails the test on error.
func mustAddEmail(t *testing.T, s usher.EmailStore, e *usher.UserEmail) *usher.UserEmail {
	t.Helper()
	if err := s.AddUserEmail(ctx, e); err != nil {
		t.Fatalf("AddUserEmail(%s): %v", e.Email, err)
	}
	return e
}

// mustConfirmEmail confirms e at at, and sets e.ConfirmedAt.
func mustConfirmEmail(t *testing.T, s usher.EmailStore, e *usher.UserEmail, at time.Time) {
	t.Helper()
	if err := s.ConfirmUserEmail(ctx, e.UserID, e.ID, at); err != nil {
		t.Fatalf("ConfirmUserEmail(%s): %v", e.Email, err)
	}
	e.ConfirmedAt = at
}

// listEmails returns the user's addresses and fails the test on error.
func listEmails(t *testing.T, s usher.EmailStore, userID string) []*usher.UserEmail {
	t.Helper()
	list, err := s.ListUserEmails(ctx, userID)
	if err != nil {
		t.Fatalf("ListUserEmails: %v", err)
	}
	return list
}

// primaryEmail returns the user's primary address record, checking that
// there is exactly one and that it comes first.
func primaryEmail(t *testing.T, s usher.EmailStore, userID string) *usher.UserEmail {
	t.Helper()
	list := listEmails(t, s, userID)
	n := 0
	for _, e := range list {
		if e.Primary {
			n++
		}
	}
	if n != 1 || !list[0].Primary {
		t.Fatalf("user %s's addresses %s: want exactly one primary, first", userID, fmtEmails(list))
	}
	return list[0]
}

// diffEmail describes how got differs from want, or returns "".
func diffEmail(got, want *usher.UserEmail) string {
	if got.ID != want.ID || got.UserID != want.UserID || got.Email != want.Email || got.Primary != want.Primary ||
		!got.ConfirmedAt.Equal(want.ConfirmedAt) || !got.CreatedAt.Equal(want.CreatedAt) {
		return fmt.Sprintf("got %s, want %s", fmtEmail(got), fmtEmail(want))
	}
	return ""
}

func fmtEmail(e *usher.UserEmail) string {
	return fmt.Sprintf("{%s user %s %q primary %v confirmed %v created %v}",
		e.ID, e.UserID, e.Email, e.Primary, e.ConfirmedAt, e.CreatedAt)
}

func fmtEmails(list []*usher.UserEmail) string {
	s := make([]string, len(list))
	for i, e := range list {
		s[i] = fmtEmail(e)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// checkEmails checks that the user's addresses are want, in order.
func checkEmails(t *testing.T, s usher.EmailStore, name, userID string, want ...*usher.UserEmail) {
	t.Helper()
	got := listEmails(t, s, userID)
	if len(got) != len(want) {
		t.Errorf("%s: ListUserEmails = %s, want %s", name, fmtEmails(got), fmtEmails(want))
		return
	}
	for i := range got {
		if d := diffEmail(got[i], want[i]); d != "" {
			t.Errorf("%s: ListUserEmails[%d]: %s", name, i, d)
		}
	}
}

// checkUserByEmail checks that UserByEmail(email) finds the user with
// wantID, or nobody if wantID is "".
func checkUserByEmail(t *testing.T, s usher.UserStore, name, email, wantID string) {
	t.Helper()
	u, err := s.UserByEmail(ctx, email)
	switch {
	case wantID == "" && !errors.Is(err, usher.ErrNotFound):
		t.Errorf("%s: UserByEmail(%s) = %v, %v; want ErrNotFound", name, email, u, err)
	case wantID != "" && err != nil:
		t.Errorf("%s: UserByEmail(%s): %v", name, email, err)
	case wantID != "" && u.ID != wantID:
		t.Errorf("%s: UserByEmail(%s) found user %s (%s), want %s", name, email, u.ID, u.Email, wantID)
	}
}

// checkEmailByAddress checks that UserEmailByAddress(email) returns want,
// or ErrNotFound if want is nil.
func checkEmailByAddress(t *testing.T, s usher.EmailStore, name, email string, want *usher.UserEmail) {
	t.Helper()
	got, err := s.UserEmailByAddress(ctx, email)
	if want == nil {
		if !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("%s: UserEmailByAddress(%s) = %v, %v; want ErrNotFound", name, email, got, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: UserEmailByAddress(%s): %v", name, email, err)
		return
	}
	if d := diffEmail(got, want); d != "" {
		t.Errorf("%s: UserEmailByAddress(%s): %s", name, email, d)
	}
}

// testEmailsPrimaryRow checks that a user's primary address is one of their
// addresses, and follows CreateUser and UpdateUser.
func testEmailsPrimaryRow(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("Prim@Example.COM", ""))
	p := primaryEmail(t, s, u.ID)
	want := &usher.UserEmail{ID: p.ID, UserID: u.ID, Email: "Prim@Example.COM", Primary: true,
		ConfirmedAt: u.EmailConfirmedAt, CreatedAt: p.CreatedAt}
	if p.ID == "" {
		t.Error("the primary address has no ID")
	}
	checkEmails(t, s, "after CreateUser", u.ID, want)
	checkEmailByAddress(t, s, "primary", " prim@example.com", want)

	// An unconfirmed user has an unconfirmed primary address.
	m := mustCreate(t, s, &usher.User{ID: usher.NewID(), Email: "min@example.com"})
	if mp := primaryEmail(t, s, m.ID); mp.Email != "min@example.com" || !mp.ConfirmedAt.IsZero() {
		t.Errorf("unconfirmed user's primary address = %s", fmtEmail(mp))
	}

	steps := []struct {
		name   string
		up     usher.UserUpdate
		change func(e *usher.UserEmail)
	}{
		{"Email", usher.UserUpdate{Email: ptr("New@Example.com")},
			func(e *usher.UserEmail) { e.Email = "New@Example.com" }},
		{"EmailConfirmedAt zero", usher.UserUpdate{EmailConfirmedAt: ptr(time.Time{})},
			func(e *usher.UserEmail) { e.ConfirmedAt = time.Time{} }},
		{"EmailConfirmedAt", usher.UserUpdate{EmailConfirmedAt: ptr(at(7 * time.Hour))},
			func(e *usher.UserEmail) { e.ConfirmedAt = at(7 * time.Hour) }},
		{"both, with other fields", usher.UserUpdate{Email: ptr("third@example.com"),
			EmailConfirmedAt: ptr(at(8 * time.Hour)), Enabled: ptr(false)},
			func(e *usher.UserEmail) { e.Email, e.ConfirmedAt = "third@example.com", at(8*time.Hour) }},
		{"other fields only", usher.UserUpdate{Username: ptr("prim"), Enabled: ptr(true)},
			func(e *usher.UserEmail) {}},
	}
	for _, st := range steps {
		if err := s.UpdateUser(ctx, u.ID, st.up); err != nil {
			t.Fatalf("%s: UpdateUser: %v", st.name, err)
		}
		st.change(want)
		checkEmails(t, s, "after UpdateUser "+st.name, u.ID, want)
		got := mustGet(t, s, u.ID)
		if got.Email != want.Email || !got.EmailConfirmedAt.Equal(want.ConfirmedAt) {
			t.Errorf("after UpdateUser %s: user has %q confirmed %v, primary address %s",
				st.name, got.Email, got.EmailConfirmedAt, fmtEmail(want))
		}
	}
	checkEmailByAddress(t, s, "old primary", "prim@example.com", nil)
	checkEmailByAddress(t, s, "old primary", "new@example.com", nil)
	checkEmailByAddress(t, s, "new primary", "THIRD@example.com", want)

	// A failed update leaves the primary address alone.
	if err := s.UpdateUser(ctx, u.ID, usher.UserUpdate{Email: ptr("MIN@example.com"),
		EmailConfirmedAt: ptr(time.Time{})}); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("UpdateUser(another user's address) = %v, want ErrUserExists", err)
	}
	checkEmails(t, s, "after a failed UpdateUser", u.ID, want)

	// Taking an address the user has as a secondary one makes it the
	// primary: the user has it once.
	alias := mustAddEmail(t, s, newAddress(u.ID, "alias@example.com", at(time.Minute)))
	if err := s.UpdateUser(ctx, u.ID, usher.UserUpdate{Email: ptr("Alias@Example.com")}); err != nil {
		t.Fatalf("UpdateUser(own secondary address) = %v", err)
	}
	want.Email = "Alias@Example.com"
	checkEmails(t, s, "after UpdateUser(own secondary address)", u.ID, want)
	checkUserByEmail(t, s, "own secondary address made primary", "alias@example.com", u.ID)
	if err := s.RemoveUserEmail(ctx, u.ID, alias.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("RemoveUserEmail(merged secondary address) = %v, want ErrNotFound", err)
	}
}

func testAddUserEmail(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	a := mustCreate(t, s, newUser("a@example.com", ""))
	b := mustCreate(t, s, newUser("b@example.com", ""))
	ap := primaryEmail(t, s, a.ID)

	work := mustAddEmail(t, s, newAddress(a.ID, "A.Work@Example.com", at(time.Minute)))
	home := newAddress(a.ID, "a.home@example.com", at(30*time.Second)) // created earlier
	home.Primary = true                                                // ignored: an added address is secondary
	mustAddEmail(t, s, home)
	home.Primary = false
	checkEmails(t, s, "after AddUserEmail", a.ID, ap, home, work)
	checkEmailByAddress(t, s, "secondary", "a.work@EXAMPLE.com", work)
	if u := mustGet(t, s, a.ID); u.Email != "a@example.com" {
		t.Errorf("AddUserEmail changed the user's address to %q", u.Email)
	}
	checkUserByEmail(t, s, "unconfirmed secondary", "a.work@example.com", "")

	// A pre-confirmed address counts at once.
	conf := newAddress(a.ID, "a.conf@example.com", at(2*time.Minute))
	conf.ConfirmedAt = at(3 * time.Minute)
	mustAddEmail(t, s, conf)
	checkUserByEmail(t, s, "added confirmed", "A.Conf@example.com", a.ID)
	mustConfirmEmail(t, s, home, at(4*time.Minute))

	taken := []struct {
		name string
		e    *usher.UserEmail
	}{
		{"own primary", newAddress(a.ID, "A@EXAMPLE.COM", base)},
		{"own unconfirmed, other case", newAddress(a.ID, "a.work@example.com ", base)},
		{"own confirmed", newAddress(a.ID, "a.home@example.com", base)},
		{"another user's primary", newAddress(a.ID, "b@example.com", base)},
		{"another user's confirmed", newAddress(b.ID, "A.Home@example.com", base)},
		{"another user's confirmed, added confirmed", &usher.UserEmail{ID: usher.NewID(), UserID: b.ID,
			Email: "a.conf@example.com", ConfirmedAt: base, CreatedAt: base}},
		{"another user's primary, added confirmed", &usher.UserEmail{ID: usher.NewID(), UserID: b.ID,
			Email: "a@example.com", ConfirmedAt: base, CreatedAt: base}},
	}
	for _, tt := range taken {
		if err := s.AddUserEmail(ctx, tt.e); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("AddUserEmail(%s) = %v, want ErrUserExists", tt.name, err)
		}
	}
	checkEmails(t, s, "after failed AddUserEmail", a.ID, ap, home, work, conf)
	checkEmails(t, s, "after failed AddUserEmail", b.ID, primaryEmail(t, s, b.ID))

	// Another user may add a's unconfirmed address.
	mustAddEmail(t, s, newAddress(b.ID, "a.work@example.com", at(5*time.Minute)))

	if err := s.AddUserEmail(ctx, newAddress("no-such-user", "nobody@example.com", base)); err == nil {
		t.Error("AddUserEmail(unknown user) = nil, want an error")
	}
	if list, err := s.ListUserEmails(ctx, "no-such-user"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListUserEmails(unknown user) = %v, %v; want an empty list", list, err)
	}
	checkEmailByAddress(t, s, "unknown", "nobody@example.com", nil)
}

// testEmailsUnconfirmedShared checks that an unconfirmed secondary address
// belongs to nobody: several users may hold it, and another may sign up
// with it, after which it cannot be confirmed or made primary.
func testEmailsUnconfirmedShared(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	a := mustCreate(t, s, newUser("a@example.com", ""))
	b := mustCreate(t, s, newUser("b@example.com", ""))
	ea := mustAddEmail(t, s, newAddress(a.ID, "shared@example.com", at(time.Minute)))
	eb := mustAddEmail(t, s, newAddress(b.ID, "Shared@Example.com", at(2*time.Minute)))
	checkEmailByAddress(t, s, "two unconfirmed", "shared@example.com", eb) // the newer
	checkUserByEmail(t, s, "two unconfirmed", "shared@example.com", "")

	// Signing up with it is allowed.
	c := mustCreate(t, s, newUser("SHARED@example.com", ""))
	cp := primaryEmail(t, s, c.ID)
	checkUserByEmail(t, s, "after sign-up", "shared@example.com", c.ID)
	// The owner's record comes before the unconfirmed ones, though they
	// are newer.
	checkEmailByAddress(t, s, "primary and unconfirmed", "shared@example.com", cp)

	if err := s.ConfirmUserEmail(ctx, a.ID, ea.ID, at(3*time.Minute)); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("ConfirmUserEmail(another user's primary) = %v, want ErrUserExists", err)
	}
	if err := s.SetPrimaryEmail(ctx, b.ID, eb.ID); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("SetPrimaryEmail(another user's primary) = %v, want ErrUserExists", err)
	}
	checkEmails(t, s, "a after failed confirm", a.ID, primaryEmail(t, s, a.ID), ea)
	if u := mustGet(t, s, b.ID); u.Email != "b@example.com" {
		t.Errorf("failed SetPrimaryEmail changed the user's address to %q", u.Email)
	}
	bp := primaryEmail(t, s, b.ID)
	if bp.Email != "b@example.com" {
		t.Errorf("failed SetPrimaryEmail changed the primary address to %s", fmtEmail(bp))
	}
	checkUserByEmail(t, s, "after failed confirm", "shared@example.com", c.ID)

	// Once c lets go of it, a may confirm it, and then b may not.
	if err := s.DeleteUser(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	mustConfirmEmail(t, s, ea, at(4*time.Minute))
	checkUserByEmail(t, s, "confirmed by a", "shared@example.com", a.ID)
	checkEmailByAddress(t, s, "confirmed by a", "shared@example.com", ea)
	if err := s.ConfirmUserEmail(ctx, b.ID, eb.ID, at(5*time.Minute)); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("ConfirmUserEmail(confirmed by another user first) = %v, want ErrUserExists", err)
	}
	if _, err := s.UserByEmail(ctx, "b@example.com"); err != nil {
		t.Errorf("UserByEmail(b) after a failed confirm: %v", err)
	}
	if err := s.CreateUser(ctx, newUser("shared@example.com", "")); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("CreateUser(another user's confirmed address) = %v, want ErrUserExists", err)
	}
	if err := s.UpdateUser(ctx, b.ID, usher.UserUpdate{Email: ptr("Shared@example.com")}); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("UpdateUser(another user's confirmed address) = %v, want ErrUserExists", err)
	}
	if u := mustGet(t, s, b.ID); u.Email != "b@example.com" {
		t.Errorf("failed UpdateUser changed the user's address to %q", u.Email)
	}
}

func testConfirmUserEmail(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	nu := newUser("c@example.com", "")
	nu.EmailConfirmedAt = time.Time{}
	u := mustCreate(t, s, nu)
	v := mustCreate(t, s, newUser("v@example.com", ""))
	up := primaryEmail(t, s, u.ID)
	sec := mustAddEmail(t, s, newAddress(u.ID, "C2@Example.com", at(time.Minute)))
	checkUserByEmail(t, s, "unconfirmed secondary", "c2@example.com", "")

	mustConfirmEmail(t, s, sec, at(2*time.Hour))
	checkEmails(t, s, "after confirming a secondary address", u.ID, up, sec)
	checkUserByEmail(t, s, "confirmed secondary", "  c2@EXAMPLE.com", u.ID)
	checkUserByEmail(t, s, "primary", "c@example.com", u.ID)
	if got := mustGet(t, s, u.ID); !got.EmailConfirmedAt.IsZero() {
		t.Errorf("confirming a secondary address set EmailConfirmedAt to %v", got.EmailConfirmedAt)
	}

	// Confirming the primary address confirms the user's address.
	mustConfirmEmail(t, s, up, at(3*time.Hour))
	if got := mustGet(t, s, u.ID); !got.EmailConfirmedAt.Equal(at(3 * time.Hour)) {
		t.Errorf("after confirming the primary address, EmailConfirmedAt = %v", got.EmailConfirmedAt)
	}
	checkEmails(t, s, "after confirming the primary address", u.ID, up, sec)

	notFound := []struct {
		name          string
		userID, email string
	}{
		{"another user's address", v.ID, sec.ID},
		{"unknown address", u.ID, "no-such-address"},
		{"unknown user", "no-such-user", sec.ID},
	}
	for _, tt := range notFound {
		if err := s.ConfirmUserEmail(ctx, tt.userID, tt.email, at(4*time.Hour)); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("ConfirmUserEmail(%s) = %v, want ErrNotFound", tt.name, err)
		}
	}
	checkEmails(t, s, "after failed confirms", u.ID, up, sec)

	// Of two users who added an address, the first to confirm has it.
	vc := mustAddEmail(t, s, newAddress(v.ID, "c3@example.com", at(time.Minute)))
	uc := mustAddEmail(t, s, newAddress(u.ID, "C3@example.com", at(2*time.Minute)))
	mustConfirmEmail(t, s, vc, at(5*time.Hour))
	if err := s.ConfirmUserEmail(ctx, u.ID, uc.ID, at(6*time.Hour)); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("ConfirmUserEmail(confirmed by another user first) = %v, want ErrUserExists", err)
	}
	checkEmails(t, s, "after losing the address", u.ID, up, sec, uc)
	checkUserByEmail(t, s, "confirmed by another user", "c3@example.com", v.ID)
}

func testSetPrimaryEmail(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("Old@example.com", "")) // confirmed at(1h), signed up at base
	v := mustCreate(t, s, newUser("v@example.com", ""))
	old := primaryEmail(t, s, u.ID)
	nw := mustAddEmail(t, s, newAddress(u.ID, "New@Example.com", at(time.Minute)))
	mustConfirmEmail(t, s, nw, at(2*time.Hour))
	unc := mustAddEmail(t, s, newAddress(u.ID, "unconfirmed@example.com", at(2*time.Minute)))

	check := func(name string, primary *usher.UserEmail, secondary ...*usher.UserEmail) {
		t.Helper()
		got := mustGet(t, s, u.ID)
		if got.Email != primary.Email || !got.EmailConfirmedAt.Equal(primary.ConfirmedAt) {
			t.Errorf("%s: user's address %q confirmed %v, want %q confirmed %v",
				name, got.Email, got.EmailConfirmedAt, primary.Email, primary.ConfirmedAt)
		}
		p := *primary
		p.Primary = true
		want := []*usher.UserEmail{&p}
		for _, e := range secondary {
			e := *e
			e.Primary = false
			want = append(want, &e)
		}
		checkEmails(t, s, name, u.ID, want...)
	}

	if err := s.SetPrimaryEmail(ctx, u.ID, nw.ID); err != nil {
		t.Fatalf("SetPrimaryEmail: %v", err)
	}
	// The old primary address stays, as a secondary one, created at sign-up
	// or earlier than the others.
	check("after SetPrimaryEmail(confirmed)", nw, old, unc)
	checkUserByEmail(t, s, "new primary", "new@example.com", u.ID)
	checkUserByEmail(t, s, "old primary, confirmed", "old@example.com", u.ID)

	// Making the primary address primary changes nothing.
	if err := s.SetPrimaryEmail(ctx, u.ID, nw.ID); err != nil {
		t.Errorf("SetPrimaryEmail(the primary address) = %v", err)
	}
	check("after SetPrimaryEmail(the primary address)", nw, old, unc)

	// An unconfirmed address may become primary; the user's address is then
	// unconfirmed.
	if err := s.SetPrimaryEmail(ctx, u.ID, unc.ID); err != nil {
		t.Fatalf("SetPrimaryEmail(unconfirmed): %v", err)
	}
	check("after SetPrimaryEmail(unconfirmed)", unc, old, nw)
	checkUserByEmail(t, s, "unconfirmed primary", "unconfirmed@example.com", u.ID)
	checkUserByEmail(t, s, "confirmed secondary", "new@example.com", u.ID)

	// Back again: the unconfirmed address is a secondary one and belongs
	// to nobody, so someone else may sign up with it.
	if err := s.SetPrimaryEmail(ctx, u.ID, old.ID); err != nil {
		t.Fatalf("SetPrimaryEmail(old): %v", err)
	}
	check("after SetPrimaryEmail(old)", old, nw, unc)
	checkUserByEmail(t, s, "demoted unconfirmed", "unconfirmed@example.com", "")
	w := mustCreate(t, s, newUser("Unconfirmed@example.com", ""))
	checkUserByEmail(t, s, "signed up with a demoted address", "unconfirmed@example.com", w.ID)
	if err := s.SetPrimaryEmail(ctx, u.ID, unc.ID); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("SetPrimaryEmail(another user's primary) = %v, want ErrUserExists", err)
	}
	check("after a failed SetPrimaryEmail", old, nw, unc)

	vp := primaryEmail(t, s, v.ID)
	notFound := []struct {
		name          string
		userID, email string
	}{
		{"another user's address", u.ID, vp.ID},
		{"own address as another user", v.ID, nw.ID},
		{"unknown address", u.ID, "no-such-address"},
		{"unknown user", "no-such-user", nw.ID},
	}
	for _, tt := range notFound {
		if err := s.SetPrimaryEmail(ctx, tt.userID, tt.email); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("SetPrimaryEmail(%s) = %v, want ErrNotFound", tt.name, err)
		}
	}
	check("after SetPrimaryEmail failures", old, nw, unc)
	if got := mustGet(t, s, v.ID); got.Email != "v@example.com" {
		t.Errorf("the other user's address = %q", got.Email)
	}
}

func testRemoveUserEmail(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("r@example.com", ""))
	v := mustCreate(t, s, newUser("v@example.com", ""))
	up := primaryEmail(t, s, u.ID)
	gone := mustAddEmail(t, s, newAddress(u.ID, "gone@example.com", at(time.Minute)))
	mustConfirmEmail(t, s, gone, at(time.Hour))
	kept := mustAddEmail(t, s, newAddress(u.ID, "kept@example.com", at(2*time.Minute)))
	vs := mustAddEmail(t, s, newAddress(v.ID, "vs@example.com", at(time.Minute)))

	if err := s.RemoveUserEmail(ctx, u.ID, gone.ID); err != nil {
		t.Fatalf("RemoveUserEmail: %v", err)
	}
	checkEmails(t, s, "after RemoveUserEmail", u.ID, up, kept)
	checkUserByEmail(t, s, "removed", "gone@example.com", "")
	checkEmailByAddress(t, s, "removed", "gone@example.com", nil)

	notFound := []struct {
		name          string
		userID, email string
	}{
		{"again", u.ID, gone.ID},
		{"the primary address", u.ID, up.ID},
		{"another user's address", u.ID, vs.ID},
		{"unknown address", u.ID, "no-such-address"},
		{"unknown user", "no-such-user", kept.ID},
	}
	for _, tt := range notFound {
		if err := s.RemoveUserEmail(ctx, tt.userID, tt.email); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("RemoveUserEmail(%s) = %v, want ErrNotFound", tt.name, err)
		}
	}
	checkEmails(t, s, "after failed removals", u.ID, up, kept)
	checkEmails(t, s, "the other user after failed removals", v.ID, primaryEmail(t, s, v.ID), vs)
	checkUserByEmail(t, s, "primary after a refused removal", "r@example.com", u.ID)

	// A removed address is free for others.
	vg := mustAddEmail(t, s, newAddress(v.ID, "gone@example.com", at(3*time.Minute)))
	mustConfirmEmail(t, s, vg, at(2*time.Hour))
	checkUserByEmail(t, s, "taken by another user", "gone@example.com", v.ID)
}

func testDeleteUserEmails(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("del@example.com", ""))
	conf := mustAddEmail(t, s, newAddress(u.ID, "del.conf@example.com", at(time.Minute)))
	mustConfirmEmail(t, s, conf, at(time.Hour))
	mustAddEmail(t, s, newAddress(u.ID, "del.unconf@example.com", at(time.Minute)))
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	checkEmails(t, s, "after DeleteUser", u.ID)
	for _, a := range []string{"del@example.com", "del.conf@example.com", "del.unconf@example.com"} {
		checkEmailByAddress(t, s, "after DeleteUser", a, nil)
		checkUserByEmail(t, s, "after DeleteUser", a, "")
		// The addresses are free again.
		n := mustCreate(t, s, newUser(a, ""))
		checkUserByEmail(t, s, "new owner", a, n.ID)
	}
}

// testConfirmEmailConcurrent has many users, through two Stores, confirm
// one address at once: exactly one gets it.
func testConfirmEmailConcurrent(t *testing.T, h *harness[emailsStore]) {
	s1, s2 := h.s, h.open()
	const n = 20
	addrs := make([]*usher.UserEmail, n)
	for i := range n {
		u := mustCreate(t, s1, newUser(fmt.Sprintf("racer%d@example.com", i), ""))
		email := "contested@example.com"
		if i%3 == 1 {
			email = "CONTESTED@Example.com"
		}
		addrs[i] = mustAddEmail(t, s1, newAddress(u.ID, email, at(time.Duration(i)*time.Second)))
	}
	errs := race(n, s1, s2, func(i int, s emailsStore) error {
		return s.ConfirmUserEmail(ctx, addrs[i].UserID, addrs[i].ID, at(time.Hour))
	})
	ok, exists, winner := 0, 0, ""
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			winner = addrs[i].UserID
		case errors.Is(err, usher.ErrUserExists):
			exists++
		default:
			t.Errorf("ConfirmUserEmail: %v", err)
		}
	}
	if ok != 1 || exists != n-1 {
		t.Fatalf("%d concurrent ConfirmUserEmail of one address: %d succeeded, %d ErrUserExists; want 1 and %d",
			n, ok, exists, n-1)
	}
	for _, s := range []emailsStore{s1, s2} {
		checkUserByEmail(t, s, "after the race", "contested@example.com", winner)
		if e, err := s.UserEmailByAddress(ctx, "contested@example.com"); err != nil || e.UserID != winner || e.ConfirmedAt.IsZero() {
			t.Errorf("UserEmailByAddress after the race = %v, %v; want the winner's, confirmed", e, err)
		}
	}
	for _, e := range addrs {
		if e.UserID == winner {
			continue
		}
		for _, got := range listEmails(t, s1, e.UserID) {
			if got.ID == e.ID && !got.ConfirmedAt.IsZero() {
				t.Errorf("a loser's address is confirmed: %s", fmtEmail(got))
			}
		}
	}
}

// testEmailsInTx checks that the address methods join InTx's transaction.
func testEmailsInTx(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := mustCreate(t, s, newUser("tx@example.com", ""))
	up := primaryEmail(t, s, u.ID)
	kept := mustAddEmail(t, s, newAddress(u.ID, "kept@example.com", at(time.Minute)))
	boom := errors.New("boom")
	added := newAddress(u.ID, "added@example.com", at(2*time.Minute))
	err := s.InTx(ctx, func(tx usher.Store) error {
		steps := []func() error{
			func() error { return tx.AddUserEmail(ctx, added) },
			func() error { return tx.ConfirmUserEmail(ctx, u.ID, added.ID, at(time.Hour)) },
			func() error { return tx.SetPrimaryEmail(ctx, u.ID, added.ID) },
			func() error { return tx.RemoveUserEmail(ctx, u.ID, kept.ID) },
			func() error {
				// Reads inside the transaction see its writes.
				got, err := tx.UserByEmail(ctx, "added@example.com")
				if err != nil || got.Email != "added@example.com" || !got.EmailConfirmedAt.Equal(at(time.Hour)) {
					return fmt.Errorf("UserByEmail inside: %v, %v", got, err)
				}
				if list, err := tx.ListUserEmails(ctx, u.ID); err != nil || len(list) != 2 || list[0].ID != added.ID {
					return fmt.Errorf("ListUserEmails inside: %v, %v", list, err)
				}
				_, err = tx.UserEmailByAddress(ctx, "added@example.com")
				return err
			},
			func() error { return tx.UpdateUser(ctx, u.ID, usher.UserUpdate{Email: ptr("changed@example.com")}) },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	checkEmails(t, s, "after rollback", u.ID, up, kept)
	if got := mustGet(t, s, u.ID); got.Email != "tx@example.com" || !got.EmailConfirmedAt.Equal(up.ConfirmedAt) {
		t.Errorf("after rollback, user's address %q confirmed %v", got.Email, got.EmailConfirmedAt)
	}
	checkEmailByAddress(t, s, "after rollback", "added@example.com", nil)

	// And commits with it.
	err = s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.AddUserEmail(ctx, added); err != nil {
			return err
		}
		return tx.SetPrimaryEmail(ctx, u.ID, added.ID)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if got := mustGet(t, s, u.ID); got.Email != "added@example.com" || !got.EmailConfirmedAt.IsZero() {
		t.Errorf("after commit, user's address %q confirmed %v", got.Email, got.EmailConfirmedAt)
	}
	added.Primary = true
	up.Primary = false
	checkEmails(t, s, "after commit", u.ID, added, up, kept)
}
