// Package storetest is the contract every usher.Store must pass. A Store's
// own tests call Run with a function that makes an empty database:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) func() usher.Store {
//			path := filepath.Join(t.TempDir(), "usher.db")
//			return func() usher.Store {
//				s, err := sqlstore.Open(context.Background(), path)
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { s.Close() })
//				return s
//			}
//		})
//	}
//
// Each subtest gets its own database and runs in parallel with the others.
// Times are compared to the microsecond: a Store must keep at least that
// precision, and may return times in any location.
//
// Run is the whole contract. Each role interface of usher.Store has its own
// suite too — RunUsers, RunSessions, RunTokens, RunOutbox, RunEmails,
// RunIdentities, RunMFA, RunEvents, RunThrottle, RunAPIKeys — which takes Stores of
// any type with the roles it needs, so a fake or a backend of one role can be tested alone:
//
//	storetest.RunThrottle(t, func(t *testing.T) func() *memThrottle { ... })
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// NewDatabase makes an empty database for one test and returns open, which
// opens a Store on it. Each call of open should return a new Store instance
// over the same database (as a second process would see it), closed when
// the test ends; a Store that cannot be opened twice may return the same
// instance again.
type NewDatabase func(t *testing.T) (open func() usher.Store)

// Run runs the whole contract suite against the Stores that newDatabase
// makes: every role suite (RunUsers, RunSessions, ...) and the tests that
// span roles (a user's locale through every lookup, deleting a user,
// transactions).
func Run(t *testing.T, newDatabase NewDatabase) {
	RunUsers(t, newDatabase)
	RunSessions(t, newDatabase)
	RunTokens(t, newDatabase)
	RunOutbox(t, newDatabase)
	RunEmails(t, newDatabase)
	RunIdentities(t, newDatabase)
	RunMFA(t, newDatabase)
	RunEvents(t, newDatabase)
	RunThrottle(t, newDatabase)
	RunAPIKeys(t, newDatabase)
	run(t, newDatabase, []test[usher.Store]{
		{"Locale", testLocale},
		{"DeleteUser", testDeleteUser},
		{"InTxCommit", testInTxCommit},
		{"InTxRollback", testInTxRollback},
		{"MailInTx", testMailInTx},
		{"EmailsInTx", testEmailsInTx},
		{"MFAInTx", testMFAInTx},
		{"UserQueryFilters", testUserQueryFilters},
		{"UserQueryKeyset", testUserQueryKeyset},
	})
}

// The role suites below each test one role interface of usher.Store. Like
// Run they take a function that makes an empty database, but one whose
// Stores may be of any type S with the roles the suite needs: usher.Store,
// or a fake or backend that implements only those roles. Most suites need
// UserStore besides their own role, because what they store belongs to a
// user.

// The roles the suites need, as the tests see them.
type (
	sessionsStore interface {
		usher.UserStore
		usher.SessionStore
	}
	tokensStore interface {
		usher.UserStore
		usher.TokenStore
	}
	emailsStore interface {
		usher.UserStore
		usher.EmailStore
	}
	identitiesStore interface {
		usher.UserStore
		usher.IdentityStore
	}
	mfaStore interface {
		usher.UserStore
		usher.MFAStore
	}
	eventsStore interface {
		usher.UserStore
		usher.EventStore
	}
)

// RunUsers runs the tests of usher.UserStore.
func RunUsers[S usher.UserStore](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[usher.UserStore]{
		{"CreateAndGet", testCreateAndGet},
		{"CreateDuplicate", testCreateDuplicate},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserTaken", testUpdateUserTaken},
		{"Profile", testProfile},
		{"Roles", testRoles},
		{"RecordPasswordFailure", testRecordPasswordFailure},
		{"RecordPasswordFailureConcurrent", testRecordPasswordFailureConcurrent},
		{"RecordLogin", testRecordLogin},
		{"ListUsers", testListUsers},
		{"NotFound", testNotFound},
		{"ConcurrentCreateTwoStores", testConcurrentCreateTwoStores},
	})
}

// RunSessions runs the tests of usher.SessionStore.
func RunSessions[S interface {
	usher.UserStore
	usher.SessionStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[sessionsStore]{
		{"Sessions", testSessions},
		{"SessionUser", testSessionUser},
		{"TouchSessions", testTouchSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"SessionsNotFound", testSessionsNotFound},
	})
}

// RunTokens runs the tests of usher.TokenStore.
func RunTokens[S interface {
	usher.UserStore
	usher.TokenStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[tokensStore]{
		{"Tokens", testTokens},
		{"UseTokenConcurrent", testUseTokenConcurrent},
		{"DeleteTokens", testDeleteTokens},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"DeleteUserTokens", testDeleteUserTokens},
		{"FindToken", testFindToken},
		{"TokenData", testTokenData},
		{"CreateTokenDuplicate", testCreateTokenDuplicate},
	})
}

// RunOutbox runs the tests of usher.OutboxStore.
func RunOutbox[S usher.OutboxStore](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[usher.OutboxStore]{
		{"Outbox", testOutbox},
		{"ClaimConcurrent", testClaimConcurrent},
		{"ClaimOfKind", testClaimOfKind},
		{"CountUnsentMessages", testCountUnsentMessages},
	})
}

// RunEmails runs the tests of usher.EmailStore.
func RunEmails[S interface {
	usher.UserStore
	usher.EmailStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[emailsStore]{
		{"FoldedKeys", testFoldedKeys},
		{"EmailsPrimaryRow", testEmailsPrimaryRow},
		{"AddUserEmail", testAddUserEmail},
		{"EmailsUnconfirmedShared", testEmailsUnconfirmedShared},
		{"ConfirmUserEmail", testConfirmUserEmail},
		{"SetPrimaryEmail", testSetPrimaryEmail},
		{"RemoveUserEmail", testRemoveUserEmail},
		{"DeleteUserEmails", testDeleteUserEmails},
		{"ConfirmEmailConcurrent", testConfirmEmailConcurrent},
	})
}

// RunMFA runs the tests of usher.MFAStore.
func RunMFA[S interface {
	usher.UserStore
	usher.MFAStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[mfaStore]{
		{"MFAMethods", testMFAMethods},
		{"UseTOTPStep", testUseTOTPStep},
		{"UseTOTPStepConcurrent", testUseTOTPStepConcurrent},
		{"ReplaceMFASecrets", testReplaceMFASecrets},
		{"RecoveryCodes", testRecoveryCodes},
		{"UseRecoveryCodeConcurrent", testUseRecoveryCodeConcurrent},
	})
}

// RunEvents runs the tests of usher.EventStore.
func RunEvents[S interface {
	usher.UserStore
	usher.EventStore
}](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[eventsStore]{
		{"Events", testEvents},
		{"EventsSince", testEventsSince},
		{"QueryEvents", testQueryEvents},
		{"DeleteEventsBefore", testDeleteEventsBefore},
		{"EventsOutliveUser", testEventsOutliveUser},
	})
}

// RunThrottle runs the tests of usher.ThrottleStore.
func RunThrottle[S usher.ThrottleStore](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[usher.ThrottleStore]{
		{"Hit", testHit},
		{"HitConcurrent", testHitConcurrent},
	})
}

// test is one subtest of a suite, over Stores seen as I.
type test[I any] struct {
	name string
	fn   func(t *testing.T, h *harness[I])
}

// run runs tests, each in parallel on its own database. The Stores that
// newDatabase opens are of type S, which the caller's constraint makes
// implement I.
func run[S, I any](t *testing.T, newDatabase func(t *testing.T) func() S, tests []test[I]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			openS := newDatabase(t)
			open := func() I { return any(openS()).(I) }
			tt.fn(t, &harness[I]{open: open, s: open()})
		})
	}
}

// harness is one subtest's database, its Stores seen as S.
type harness[S any] struct {
	open func() S // opens another Store on the database
	s    S
}

var ctx = context.Background()

// base is a time with microseconds, far from the Unix epoch.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// newUser returns a user with every field set.
func newUser(email, username string) *usher.User {
	return &usher.User{
		ID:                    usher.NewID(),
		Email:                 email,
		Username:              username,
		PasswordHash:          "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Enabled:               true,
		EmailConfirmedAt:      at(time.Hour),
		SignedUpAt:            base,
		PasswordChangedAt:     base,
		PasswordResetRequired: false,
		Roles:                 []string{},
		Profile:               map[string]string{},
	}
}

// mustCreate creates u and fails the test on error.
func mustCreate(t *testing.T, s usher.UserStore, u *usher.User) *usher.User {
	t.Helper()
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
	return u
}

// mustGet reads user id and fails the test on error.
func mustGet(t *testing.T, s usher.UserStore, id string) *usher.User {
	t.Helper()
	u, err := s.UserByID(ctx, id)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", id, err)
	}
	return u
}

// newSession returns a session of user with distinct ID and token hash.
func newSession(userID string, created time.Time) *usher.Session {
	id := usher.NewID()
	return &usher.Session{
		ID:         id,
		UserID:     userID,
		TokenHash:  []byte("hash-of-" + id + "-padded-to-32-bytes"),
		CreatedAt:  created,
		LastSeenAt: created,
		ExpiresAt:  created.Add(24 * time.Hour),
		IP:         "192.0.2.1",
		UserAgent:  "storetest/1.0",
	}
}

func mustCreateSession(t *testing.T, s usher.SessionStore, ss *usher.Session) *usher.Session {
	t.Helper()
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ss
}

// diffUser describes how got differs from want, or returns "".
func diffUser(got, want *usher.User) string {
	var d []string
	f := func(name string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	t := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	f("ID", got.ID, want.ID)
	f("Email", got.Email, want.Email)
	f("Username", got.Username, want.Username)
	f("Locale", got.Locale, want.Locale)
	f("PasswordHash", got.PasswordHash, want.PasswordHash)
	f("Enabled", got.Enabled, want.Enabled)
	t("EmailConfirmedAt", got.EmailConfirmedAt, want.EmailConfirmedAt)
	t("SignedUpAt", got.SignedUpAt, want.SignedUpAt)
	t("LastLoginAt", got.LastLoginAt, want.LastLoginAt)
	t("PasswordChangedAt", got.PasswordChangedAt, want.PasswordChangedAt)
	f("PasswordFailures", got.PasswordFailures, want.PasswordFailures)
	t("LockedAt", got.LockedAt, want.LockedAt)
	f("PasswordResetRequired", got.PasswordResetRequired, want.PasswordResetRequired)
	if !slices.Equal(got.Roles, want.Roles) {
		d = append(d, fmt.Sprintf("Roles = %q, want %q", got.Roles, want.Roles))
	}
	if !mapsEqual(got.Profile, want.Profile) {
		d = append(d, fmt.Sprintf("Profile = %q, want %q", got.Profile, want.Profile))
	}
	return strings.Join(d, "; ")
}

// mapsEqual compares profiles, treating nil and empty alike.
func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// diffSession describes how got differs from want (Token aside), or "".
func diffSession(got, want *usher.Session) string {
	var d []string
	if got.ID != want.ID || got.UserID != want.UserID || string(got.TokenHash) != string(want.TokenHash) ||
		got.Remember != want.Remember || got.IP != want.IP || got.UserAgent != want.UserAgent ||
		got.MustChangePassword != want.MustChangePassword {
		d = append(d, fmt.Sprintf("got %+v, want %+v", *got, *want))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		d = append(d, fmt.Sprintf("times (created, last seen, expires) = %v, %v, %v; want %v, %v, %v",
			got.CreatedAt, got.LastSeenAt, got.ExpiresAt, want.CreatedAt, want.LastSeenAt, want.ExpiresAt))
	}
	return strings.Join(d, "; ")
}

func ptr[T any](v T) *T { return &v }

func testCreateAndGet(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	u := newUser("Ada.Lovelace@Example.COM", "AdaL")
	u.Roles = []string{"editor", "admin", "editor"}
	u.Profile = map[string]string{"name": "Ada Lovelace", "city": "London"}
	u.LastLoginAt = at(2 * time.Hour)
	u.PasswordFailures = 2
	u.LockedAt = at(3 * time.Hour)
	u.PasswordResetRequired = true
	u.Locale = "en-GB"
	mustCreate(t, s, u)

	want := *u
	want.Roles = []string{"admin", "editor"} // sorted, unique
	lookups := []struct {
		name string
		get  func() (*usher.User, error)
	}{
		{"UserByID", func() (*usher.User, error) { return s.UserByID(ctx, u.ID) }},
		{"UserByEmail exact", func() (*usher.User, error) { return s.UserByEmail(ctx, "Ada.Lovelace@Example.COM") }},
		{"UserByEmail folded", func() (*usher.User, error) { return s.UserByEmail(ctx, "ada.lovelace@example.com") }},
		{"UserByEmail upper, spaces", func() (*usher.User, error) { return s.UserByEmail(ctx, "  ADA.LOVELACE@EXAMPLE.COM ") }},
		{"UserByUsername exact", func() (*usher.User, error) { return s.UserByUsername(ctx, "AdaL") }},
		{"UserByUsername folded", func() (*usher.User, error) { return s.UserByUsername(ctx, "adal") }},
		{"UserByUsername upper", func() (*usher.User, error) { return s.UserByUsername(ctx, "ADAL") }},
	}
	for _, l := range lookups {
		got, err := l.get()
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
			continue
		}
		if d := diffUser(got, &want); d != "" {
			t.Errorf("%s: %s", l.name, d)
		}
	}

	// A minimal user: zero times, no username, no roles, no profile.
	m := &usher.User{ID: usher.NewID(), Email: "min@example.com"}
	mustCreate(t, s, m)
	got := mustGet(t, s, m.ID)
	if d := diffUser(got, m); d != "" {
		t.Errorf("minimal user: %s", d)
	}
	if !got.EmailConfirmedAt.IsZero() || got.EmailConfirmed() || !got.SignedUpAt.IsZero() || !got.LockedAt.IsZero() {
		t.Errorf("minimal user: zero times came back as %v, %v, %v", got.EmailConfirmedAt, got.SignedUpAt, got.LockedAt)
	}
	if _, err := s.UserByUsername(ctx, ""); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf(`UserByUsername("") = %v, want ErrNotFound`, err)
	}
}

func testCreateDuplicate(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	first := mustCreate(t, s, newUser("grace@example.com", "Grace"))
	second := mustCreate(t, s, newUser("other@example.com", ""))
	// Several users may have no username.
	mustCreate(t, s, newUser("third@example.com", ""))

	tests := []struct {
		name string
		u    *usher.User
	}{
		{"same email", newUser("grace@example.com", "")},
		{"email in other case", newUser("GRACE@Example.Com", "")},
		{"email with spaces", newUser(" grace@example.com ", "")},
		{"same username", newUser("g2@example.com", "Grace")},
		{"username in other case", newUser("g3@example.com", "gRACE")},
		{"same ID", &usher.User{ID: second.ID, Email: "new@example.com"}},
	}
	for _, tt := range tests {
		tt.u.Roles = []string{"should-not-exist"}
		err := s.CreateUser(ctx, tt.u)
		if !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("%s: CreateUser = %v, want ErrUserExists", tt.name, err)
		}
	}
	roles, err := s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 0 {
		t.Errorf("failed CreateUser left roles behind: %v", roles)
	}
	if n, err := s.CountUsers(ctx, usher.UserQuery{}); err != nil || n != 3 {
		t.Errorf("CountUsers = %d, %v; want 3", n, err)
	}
	if got := mustGet(t, s, first.ID); got.Email != "grace@example.com" {
		t.Errorf("first user's email = %q", got.Email)
	}
}

func testUpdateUser(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("alan@example.com", "alan"))
	u.Profile = map[string]string{}

	steps := []struct {
		name   string
		up     usher.UserUpdate
		change func(u *usher.User)
	}{
		{"Email", usher.UserUpdate{Email: ptr("Alan.Turing@Example.com")},
			func(u *usher.User) { u.Email = "Alan.Turing@Example.com" }},
		{"Username", usher.UserUpdate{Username: ptr("Turing")},
			func(u *usher.User) { u.Username = "Turing" }},
		{"PasswordHash", usher.UserUpdate{PasswordHash: ptr("$2b$12$new")},
			func(u *usher.User) { u.PasswordHash = "$2b$12$new" }},
		{"PasswordChangedAt", usher.UserUpdate{PasswordChangedAt: ptr(at(5 * time.Hour))},
			func(u *usher.User) { u.PasswordChangedAt = at(5 * time.Hour) }},
		{"Enabled false", usher.UserUpdate{Enabled: ptr(false)},
			func(u *usher.User) { u.Enabled = false }},
		{"Enabled true", usher.UserUpdate{Enabled: ptr(true)},
			func(u *usher.User) { u.Enabled = true }},
		{"EmailConfirmedAt zero", usher.UserUpdate{EmailConfirmedAt: ptr(time.Time{})},
			func(u *usher.User) { u.EmailConfirmedAt = time.Time{} }},
		{"EmailConfirmedAt", usher.UserUpdate{EmailConfirmedAt: ptr(at(6 * time.Hour))},
			func(u *usher.User) { u.EmailConfirmedAt = at(6 * time.Hour) }},
		{"PasswordResetRequired", usher.UserUpdate{PasswordResetRequired: ptr(true)},
			func(u *usher.User) { u.PasswordResetRequired = true }},
		{"Profile", usher.UserUpdate{Profile: map[string]string{"name": "Alan"}},
			func(u *usher.User) { u.Profile = map[string]string{"name": "Alan"} }},
		{"Profile replaced", usher.UserUpdate{Profile: map[string]string{"team": "Hut 8"}},
			func(u *usher.User) { u.Profile = map[string]string{"team": "Hut 8"} }},
		{"Profile emptied", usher.UserUpdate{Profile: map[string]string{}},
			func(u *usher.User) { u.Profile = map[string]string{} }},
		{"Locale", usher.UserUpdate{Locale: ptr("de")},
			func(u *usher.User) { u.Locale = "de" }},
		{"Locale cleared", usher.UserUpdate{Locale: ptr("")},
			func(u *usher.User) { u.Locale = "" }},
		{"LastLoginAt", usher.UserUpdate{LastLoginAt: ptr(at(7 * time.Hour))},
			func(u *usher.User) { u.LastLoginAt = at(7 * time.Hour) }},
		{"nothing", usher.UserUpdate{}, func(u *usher.User) {}},
		{"several at once", usher.UserUpdate{Email: ptr("alan@example.org"), Enabled: ptr(false), Username: ptr("")},
			func(u *usher.User) { u.Email, u.Enabled, u.Username = "alan@example.org", false, "" }},
	}
	for _, st := range steps {
		if err := s.UpdateUser(ctx, u.ID, st.up); err != nil {
			t.Fatalf("%s: UpdateUser: %v", st.name, err)
		}
		st.change(u)
		if d := diffUser(mustGet(t, s, u.ID), u); d != "" {
			t.Errorf("after %s: %s", st.name, d)
		}
	}
	// The new address and the removed username are what lookups see.
	if got, err := s.UserByEmail(ctx, "ALAN@example.org"); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail(new address) = %v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "alan.turing@example.com"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByEmail(old address) = %v, want ErrNotFound", err)
	}
	if _, err := s.UserByUsername(ctx, "turing"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByUsername(removed) = %v, want ErrNotFound", err)
	}

	// ClearFailures resets the count and the lock.
	for range 3 {
		if _, err := s.RecordPasswordFailure(ctx, u.ID, at(time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustGet(t, s, u.ID); got.PasswordFailures != 3 || got.LockedAt.IsZero() {
		t.Fatalf("after 3 failures: failures %d, locked at %v", got.PasswordFailures, got.LockedAt)
	}
	// LastLoginAt leaves them as they are.
	if err := s.UpdateUser(ctx, u.ID, usher.UserUpdate{LastLoginAt: ptr(at(8 * time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, u.ID); got.PasswordFailures != 3 || got.LockedAt.IsZero() || !got.LastLoginAt.Equal(at(8*time.Hour)) {
		t.Fatalf("after LastLoginAt: failures %d, locked at %v, last log-in %v", got.PasswordFailures, got.LockedAt, got.LastLoginAt)
	}
	if err := s.UpdateUser(ctx, u.ID, usher.UserUpdate{ClearFailures: true}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, u.ID); got.PasswordFailures != 0 || !got.LockedAt.IsZero() {
		t.Errorf("after ClearFailures: failures %d, locked at %v", got.PasswordFailures, got.LockedAt)
	}
}

func testUpdateUserTaken(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	a := mustCreate(t, s, newUser("a@example.com", "alpha"))
	b := mustCreate(t, s, newUser("b@example.com", "beta"))
	tests := []struct {
		name string
		up   usher.UserUpdate
	}{
		{"email", usher.UserUpdate{Email: ptr("a@example.com")}},
		{"email in other case", usher.UserUpdate{Email: ptr("A@EXAMPLE.COM")}},
		{"email with other fields", usher.UserUpdate{Email: ptr("A@example.com"), Enabled: ptr(false),
			PasswordHash: ptr("changed"), Profile: map[string]string{"x": "y"}}},
		{"username", usher.UserUpdate{Username: ptr("ALPHA")}},
		{"username with other fields", usher.UserUpdate{Username: ptr("Alpha"), Email: ptr("free@example.com"),
			EmailConfirmedAt: ptr(time.Time{})}},
	}
	for _, tt := range tests {
		if err := s.UpdateUser(ctx, b.ID, tt.up); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("%s: UpdateUser = %v, want ErrUserExists", tt.name, err)
		}
		if d := diffUser(mustGet(t, s, b.ID), b); d != "" {
			t.Errorf("%s: failed update changed the user: %s", tt.name, d)
		}
	}
	if d := diffUser(mustGet(t, s, a.ID), a); d != "" {
		t.Errorf("the other user changed: %s", d)
	}
	// Changing only the case of one's own address is allowed.
	if err := s.UpdateUser(ctx, b.ID, usher.UserUpdate{Email: ptr("B@Example.com"), Username: ptr("Beta")}); err != nil {
		t.Errorf("UpdateUser(own address, other case) = %v", err)
	}
	if err := s.UpdateUser(ctx, "no-such-user", usher.UserUpdate{Email: ptr("a@example.com")}); err == nil {
		t.Errorf("UpdateUser(unknown user, taken address) = nil, want an error")
	}
}

func testProfile(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	profiles := []map[string]string{
		nil,
		{},
		{"name": "Émilie du Châtelet"},
		{"name": "李白", "bio": "line one\nline \"two\"\t\\ <b>&amp;</b>", "empty": "", "emoji": "🦀"},
		{"a": "1", "b": "2", "c": "3", "d": "4", "e": strings.Repeat("x", 5000)},
	}
	for i, p := range profiles {
		u := newUser(fmt.Sprintf("p%d@example.com", i), "")
		u.Profile = p
		mustCreate(t, s, u)
		got := mustGet(t, s, u.ID)
		if !mapsEqual(got.Profile, p) {
			t.Errorf("profile %d: got %q, want %q", i, got.Profile, p)
		}
		if err := s.UpdateUser(ctx, u.ID, usher.UserUpdate{Profile: p}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, u.ID); !mapsEqual(got.Profile, p) {
			t.Errorf("profile %d after UpdateUser: got %q, want %q", i, got.Profile, p)
		}
	}
}

func testRoles(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	a := mustCreate(t, s, newUser("a@example.com", ""))
	b := mustCreate(t, s, newUser("b@example.com", ""))
	add := func(u *usher.User, role string) {
		t.Helper()
		if err := s.AddRole(ctx, u.ID, role); err != nil {
			t.Fatalf("AddRole(%s): %v", role, err)
		}
	}
	add(a, "writer")
	add(a, "admin")
	add(a, "admin") // again: no error, no duplicate
	add(b, "writer")
	if got := mustGet(t, s, a.ID).Roles; !slices.Equal(got, []string{"admin", "writer"}) {
		t.Errorf("a's roles = %q, want [admin writer]", got)
	}
	if !mustGet(t, s, a.ID).HasRole("admin") {
		t.Error("HasRole(admin) = false")
	}
	roles, err := s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []usher.Role{{Name: "admin", Users: 1}, {Name: "writer", Users: 2}}; !slices.Equal(roles, want) {
		t.Errorf("ListRoles = %v, want %v", roles, want)
	}

	for range 2 { // the second time: no error
		if err := s.RemoveRole(ctx, a.ID, "writer"); err != nil {
			t.Fatalf("RemoveRole: %v", err)
		}
	}
	if err := s.RemoveRole(ctx, a.ID, "never-had"); err != nil {
		t.Errorf("RemoveRole(role not held) = %v", err)
	}
	if got := mustGet(t, s, a.ID).Roles; !slices.Equal(got, []string{"admin"}) {
		t.Errorf("a's roles = %q, want [admin]", got)
	}
	if got := mustGet(t, s, b.ID).Roles; !slices.Equal(got, []string{"writer"}) {
		t.Errorf("b's roles = %q, want [writer]", got)
	}
	if err := s.RemoveRole(ctx, a.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID).Roles; len(got) != 0 {
		t.Errorf("a's roles = %q, want none", got)
	}
	roles, err = s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []usher.Role{{Name: "writer", Users: 1}}; !slices.Equal(roles, want) {
		t.Errorf("ListRoles = %v, want %v", roles, want)
	}
	if err := s.AddRole(ctx, "no-such-user", "admin"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("AddRole(unknown user) = %v, want ErrNotFound", err)
	}
}

func testRecordPasswordFailure(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("f@example.com", ""))
	for i := 1; i <= 5; i++ {
		now := at(time.Duration(i) * time.Minute)
		n, err := s.RecordPasswordFailure(ctx, u.ID, now, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n != i {
			t.Errorf("failure %d: count %d", i, n)
		}
		got := mustGet(t, s, u.ID)
		if got.PasswordFailures != i {
			t.Errorf("failure %d: PasswordFailures = %d", i, got.PasswordFailures)
		}
		switch {
		case i < 3 && !got.LockedAt.IsZero():
			t.Errorf("failure %d of 3: locked at %v", i, got.LockedAt)
		case i == 3 && !got.LockedAt.Equal(now):
			t.Errorf("failure 3 of 3: LockedAt = %v, want %v", got.LockedAt, now)
		case i > 3 && got.LockedAt.IsZero():
			t.Errorf("failure %d of 3: not locked", i)
		}
	}
	// lockAt 0 never locks.
	v := mustCreate(t, s, newUser("g@example.com", ""))
	for range 20 {
		if _, err := s.RecordPasswordFailure(ctx, v.ID, base, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustGet(t, s, v.ID); got.PasswordFailures != 20 || !got.LockedAt.IsZero() {
		t.Errorf("lockAt 0: failures %d, locked at %v", got.PasswordFailures, got.LockedAt)
	}
	// Neither does a limit no count reaches (the Service's "never").
	w := mustCreate(t, s, newUser("h@example.com", ""))
	for range 3 {
		if _, err := s.RecordPasswordFailure(ctx, w.ID, base, math.MaxInt); err != nil {
			t.Fatalf("RecordPasswordFailure(lockAt MaxInt): %v", err)
		}
	}
	if got := mustGet(t, s, w.ID); got.PasswordFailures != 3 || !got.LockedAt.IsZero() {
		t.Errorf("lockAt MaxInt: failures %d, locked at %v", got.PasswordFailures, got.LockedAt)
	}
}

func testRecordPasswordFailureConcurrent(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("c@example.com", ""))
	const n = 50
	counts := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := s.RecordPasswordFailure(ctx, u.ID, base, 40)
			if err != nil {
				t.Errorf("RecordPasswordFailure: %v", err)
			}
			counts[i] = c
		})
	}
	wg.Wait()
	if got := mustGet(t, s, u.ID); got.PasswordFailures != n || got.LockedAt.IsZero() {
		t.Errorf("after %d concurrent failures: count %d, locked at %v", n, got.PasswordFailures, got.LockedAt)
	}
	// Each call saw its own count: 1..n, once each.
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Errorf("returned counts = %v, want 1..%d", counts, n)
			break
		}
	}
}

func testRecordLogin(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("l@example.com", ""))
	for range 4 {
		if _, err := s.RecordPasswordFailure(ctx, u.ID, base, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLogin(ctx, u.ID, at(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, u.ID)
	if got.PasswordFailures != 0 || !got.LockedAt.IsZero() || !got.LastLoginAt.Equal(at(time.Minute)) {
		t.Errorf("after RecordLogin: failures %d, locked %v, last login %v", got.PasswordFailures, got.LockedAt, got.LastLoginAt)
	}
	if got.PasswordHash != u.PasswordHash {
		t.Errorf("RecordLogin without a new hash changed it to %q", got.PasswordHash)
	}
	if err := s.RecordLogin(ctx, u.ID, at(2*time.Minute), "$argon2id$rehashed"); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, u.ID)
	if got.PasswordHash != "$argon2id$rehashed" || !got.LastLoginAt.Equal(at(2*time.Minute)) {
		t.Errorf("after rehash: hash %q, last login %v", got.PasswordHash, got.LastLoginAt)
	}
}

func testSessions(t *testing.T, h *harness[sessionsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("s@example.com", ""))
	other := mustCreate(t, s, newUser("o@example.com", ""))
	s1 := mustCreateSession(t, s, newSession(u.ID, at(1*time.Minute)))
	s2 := newSession(u.ID, at(2*time.Minute))
	s2.Remember, s2.MustChangePassword = true, true
	s2.ExpiresAt = at(30 * 24 * time.Hour)
	mustCreateSession(t, s, s2)
	s3 := mustCreateSession(t, s, newSession(u.ID, at(3*time.Minute)))
	o1 := mustCreateSession(t, s, newSession(other.ID, at(4*time.Minute)))

	list, err := s.ListSessions(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []*usher.Session{s3, s2, s1} // newest first
	if len(list) != len(want) {
		t.Fatalf("ListSessions: %d sessions, want %d", len(list), len(want))
	}
	for i := range want {
		if d := diffSession(list[i], want[i]); d != "" {
			t.Errorf("ListSessions[%d]: %s", i, d)
		}
	}
	if list, err := s.ListSessions(ctx, "no-such-user"); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(unknown user) = %v, %v; want none", list, err)
	}

	// Lookup by token hash.
	got, gu, err := s.SessionUser(ctx, s2.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSession(got, s2); d != "" {
		t.Errorf("SessionUser: %s", d)
	}
	if gu.ID != u.ID {
		t.Errorf("SessionUser: user %s, want %s", gu.ID, u.ID)
	}

	// Delete one: only the owner's ID works.
	if err := s.DeleteSession(ctx, other.ID, s1.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteSession(someone else's) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, u.ID, s1.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if err := s.DeleteSession(ctx, u.ID, s1.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteSession again = %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionUser(ctx, s1.TokenHash); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("SessionUser(deleted) = %v, want ErrNotFound", err)
	}

	// Delete all but one.
	s4 := mustCreateSession(t, s, newSession(u.ID, at(5*time.Minute)))
	n, err := s.DeleteUserSessions(ctx, u.ID, s3.ID)
	if err != nil || n != 2 {
		t.Errorf("DeleteUserSessions(except s3) = %d, %v; want 2", n, err)
	}
	list, err = s.ListSessions(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != s3.ID {
		t.Errorf("after DeleteUserSessions: %v, %v; want only s3", list, err)
	}
	for _, gone := range []*usher.Session{s2, s4} {
		if _, _, err := s.SessionUser(ctx, gone.TokenHash); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("SessionUser(removed) = %v, want ErrNotFound", err)
		}
	}
	// Delete all.
	if n, err := s.DeleteUserSessions(ctx, u.ID, ""); err != nil || n != 1 {
		t.Errorf("DeleteUserSessions(all) = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteUserSessions(ctx, u.ID, ""); err != nil || n != 0 {
		t.Errorf("DeleteUserSessions(none left) = %d, %v; want 0", n, err)
	}
	// The other user's session is untouched.
	if _, gu, err := s.SessionUser(ctx, o1.TokenHash); err != nil || gu.ID != other.ID {
		t.Errorf("other user's session: %v, %v", gu, err)
	}
	// A session needs an existing user.
	if err := s.CreateSession(ctx, newSession("no-such-user", base)); err == nil {
		t.Error("CreateSession(unknown user) = nil, want an error")
	}
}

func testSessionUser(t *testing.T, h *harness[sessionsStore]) {
	s := h.s
	u := newUser("su@example.com", "SU")
	u.Roles = []string{"zeta", "alpha", "mid"}
	u.Profile = map[string]string{"name": "Session User"}
	mustCreate(t, s, u)
	ss := mustCreateSession(t, s, newSession(u.ID, base))
	gs, gu, err := s.SessionUser(ctx, ss.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSession(gs, ss); d != "" {
		t.Errorf("session: %s", d)
	}
	want := *u
	want.Roles = []string{"alpha", "mid", "zeta"}
	if d := diffUser(gu, &want); d != "" {
		t.Errorf("user: %s", d)
	}
	// Roles changed since log-in show on the next request.
	if err := s.AddRole(ctx, u.ID, "beta"); err != nil {
		t.Fatal(err)
	}
	if _, gu, _ := s.SessionUser(ctx, ss.TokenHash); !slices.Equal(gu.Roles, []string{"alpha", "beta", "mid", "zeta"}) {
		t.Errorf("roles after AddRole = %q", gu.Roles)
	}
	// A user without roles.
	v := mustCreate(t, s, newUser("nr@example.com", ""))
	vs := mustCreateSession(t, s, newSession(v.ID, base))
	if _, gu, err := s.SessionUser(ctx, vs.TokenHash); err != nil || len(gu.Roles) != 0 || gu.ID != v.ID {
		t.Errorf("SessionUser(no roles) = %v, %v", gu, err)
	}
	if _, _, err := s.SessionUser(ctx, []byte("no such hash")); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("SessionUser(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionUser(ctx, nil); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("SessionUser(nil) = %v, want ErrNotFound", err)
	}
}

func testTouchSessions(t *testing.T, h *harness[sessionsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("t@example.com", ""))
	var sessions []*usher.Session
	seen := map[string]time.Time{"no-such-session": at(time.Hour)}
	for i := range 20 {
		ss := mustCreateSession(t, s, newSession(u.ID, at(time.Duration(i)*time.Second)))
		sessions = append(sessions, ss)
		if i%2 == 0 {
			seen[ss.ID] = at(time.Hour + time.Duration(i)*time.Second)
		}
	}
	if err := s.TouchSessions(ctx, seen); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSessions(ctx, nil); err != nil {
		t.Fatalf("TouchSessions(nil) = %v", err)
	}
	for i, ss := range sessions {
		got, _, err := s.SessionUser(ctx, ss.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		want := ss.LastSeenAt
		if i%2 == 0 {
			want = seen[ss.ID]
		}
		if !got.LastSeenAt.Equal(want) {
			t.Errorf("session %d: LastSeenAt = %v, want %v", i, got.LastSeenAt, want)
		}
		if !got.CreatedAt.Equal(ss.CreatedAt) || !got.ExpiresAt.Equal(ss.ExpiresAt) {
			t.Errorf("session %d: TouchSessions changed other times", i)
		}
	}
}

func testDeleteExpiredSessions(t *testing.T, h *harness[sessionsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("e@example.com", ""))
	now := at(48 * time.Hour)
	idleBefore := now.Add(-30 * time.Minute)
	mk := func(expires, lastSeen time.Time, remember bool) *usher.Session {
		ss := newSession(u.ID, base)
		ss.ExpiresAt, ss.LastSeenAt, ss.Remember = expires, lastSeen, remember
		return mustCreateSession(t, s, ss)
	}
	expired := mk(now.Add(-time.Second), now, false)
	expiredRemembered := mk(now.Add(-time.Hour), now, true)
	idle := mk(now.Add(time.Hour), idleBefore.Add(-time.Second), false)
	idleRemembered := mk(now.Add(time.Hour), idleBefore.Add(-time.Hour), true)
	active := mk(now.Add(time.Hour), idleBefore.Add(time.Second), false)
	n, err := s.DeleteExpiredSessions(ctx, now, idleBefore)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("DeleteExpiredSessions = %d, want 3", n)
	}
	for _, c := range []struct {
		name string
		ss   *usher.Session
		kept bool
	}{
		{"expired", expired, false},
		{"expired remembered", expiredRemembered, false},
		{"idle", idle, false},
		{"idle remembered", idleRemembered, true},
		{"active", active, true},
	} {
		_, _, err := s.SessionUser(ctx, c.ss.TokenHash)
		if kept := err == nil; kept != c.kept {
			t.Errorf("%s session: kept = %v (%v), want %v", c.name, kept, err, c.kept)
		}
	}
	if n, err := s.DeleteExpiredSessions(ctx, now, idleBefore); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions again = %d, %v; want 0", n, err)
	}
}

func testDeleteUser(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := newUser("d@example.com", "deleted")
	u.Roles = []string{"admin"}
	mustCreate(t, s, u)
	keep := newUser("k@example.com", "")
	keep.Roles = []string{"admin"}
	mustCreate(t, s, keep)
	ss := mustCreateSession(t, s, newSession(u.ID, base))
	ks := mustCreateSession(t, s, newSession(keep.ID, base))
	if err := s.AddEvent(ctx, &usher.Event{UserID: u.ID, Type: usher.EventLogin, At: base}); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByID(deleted) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionUser(ctx, ss.TokenHash); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("deleted user's session: %v, want ErrNotFound", err)
	}
	if list, err := s.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
		t.Errorf("deleted user's sessions: %v, %v", list, err)
	}
	roles, err := s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []usher.Role{{Name: "admin", Users: 1}}; !slices.Equal(roles, want) {
		t.Errorf("ListRoles = %v, want %v (the deleted user's role gone)", roles, want)
	}
	if n, err := s.CountUsers(ctx, usher.UserQuery{Role: "admin"}); err != nil || n != 1 {
		t.Errorf("CountUsers(admin) = %d, %v; want 1", n, err)
	}
	if _, _, err := s.SessionUser(ctx, ks.TokenHash); err != nil {
		t.Errorf("the other user's session: %v", err)
	}
	// The audit trail stays.
	if ev, err := s.ListEvents(ctx, u.ID, 10); err != nil || len(ev) != 1 {
		t.Errorf("events of the deleted user = %v, %v; want 1", ev, err)
	}
	// The address and username are free again.
	mustCreate(t, s, newUser("D@example.com", "Deleted"))
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteUser again = %v, want ErrNotFound", err)
	}
}

func testHit(t *testing.T, h *harness[usher.ThrottleStore]) {
	s := h.s
	w1, w2 := base.Truncate(time.Minute), base.Truncate(time.Minute).Add(time.Minute)
	for i := 1; i <= 3; i++ {
		if n, err := s.Hit(ctx, "ip:192.0.2.1", w1); err != nil || n != i {
			t.Errorf("Hit %d in window 1 = %d, %v", i, n, err)
		}
	}
	if n, err := s.Hit(ctx, "ip:192.0.2.1", w2); err != nil || n != 1 {
		t.Errorf("first Hit in window 2 = %d, %v; want 1", n, err)
	}
	if n, err := s.Hit(ctx, "ip:192.0.2.2", w1); err != nil || n != 1 {
		t.Errorf("first Hit of another key = %d, %v; want 1", n, err)
	}
	if n, err := s.Hit(ctx, "ip:192.0.2.1", w1); err != nil || n != 4 {
		t.Errorf("Hit 4 in window 1 = %d, %v", n, err)
	}
	// LastHit reads the newest window of a key without counting.
	if w, n, err := s.LastHit(ctx, "ip:192.0.2.1"); err != nil || !w.Equal(w2) || n != 1 {
		t.Errorf("LastHit = %v, %d, %v; want window 2, 1", w, n, err)
	}
	if _, _, err := s.LastHit(ctx, "ip:192.0.2.9"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("LastHit of an unknown key = %v, want ErrNotFound", err)
	}
	// DeleteHits forgets windows that started before its argument.
	if err := s.DeleteHits(ctx, w2); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Hit(ctx, "ip:192.0.2.1", w1); err != nil || n != 1 {
		t.Errorf("Hit in window 1 after DeleteHits = %d, %v; want 1", n, err)
	}
	if n, err := s.Hit(ctx, "ip:192.0.2.1", w2); err != nil || n != 2 {
		t.Errorf("Hit in window 2 after DeleteHits = %d, %v; want 2 (kept)", n, err)
	}
}

func testHitConcurrent(t *testing.T, h *harness[usher.ThrottleStore]) {
	s1, s2 := h.s, h.open()
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			if _, err := s.Hit(ctx, "login:everyone", base); err != nil {
				t.Errorf("Hit: %v", err)
			}
		})
	}
	wg.Wait()
	if c, err := s1.Hit(ctx, "login:everyone", base); err != nil || c != n+1 {
		t.Errorf("after %d concurrent hits, Hit = %d, %v; want %d", n, c, err, n+1)
	}
}

func testEvents(t *testing.T, h *harness[eventsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("ev@example.com", ""))
	var added []*usher.Event
	for i := range 6 {
		e := &usher.Event{Type: usher.EventLogin, IP: "198.51.100.7", UserAgent: "ua", Detail: fmt.Sprint("n=", i),
			At: at(time.Duration(i) * time.Second)}
		if i%2 == 0 {
			e.UserID = u.ID
		}
		if i == 5 {
			e.Type = usher.EventLoginFailed // no account matched
		}
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Errorf("AddEvent did not set the ID")
		}
		added = append(added, e)
	}
	all, err := s.ListEvents(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("ListEvents(all) = %d events, want 6", len(all))
	}
	for i, e := range all {
		want := added[len(added)-1-i] // newest first
		if e.ID != want.ID || e.UserID != want.UserID || e.Type != want.Type || e.IP != want.IP ||
			e.UserAgent != want.UserAgent || e.Detail != want.Detail || !e.At.Equal(want.At) {
			t.Errorf("ListEvents[%d] = %+v, want %+v", i, *e, *want)
		}
	}
	mine, err := s.ListEvents(ctx, u.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 || mine[0].ID != added[4].ID || mine[1].ID != added[2].ID {
		t.Errorf("ListEvents(user, 2) = %v, want events 4 and 2", mine)
	}
	if none, err := s.ListEvents(ctx, "nobody", 10); err != nil || len(none) != 0 {
		t.Errorf("ListEvents(nobody) = %v, %v", none, err)
	}
}

func testEventsSince(t *testing.T, h *harness[eventsStore]) {
	s := h.s
	// Added out of time order, with two at the same instant.
	offsets := []time.Duration{5, 1, 3, 3, 0, 4}
	byID := map[int64]time.Duration{}
	for i, off := range offsets {
		e := &usher.Event{Type: usher.EventLogout, UserID: fmt.Sprint("u", i), At: at(off * time.Second)}
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		byID[e.ID] = off
	}
	tests := []struct {
		since time.Duration
		limit int
		want  []time.Duration // offsets, in order
	}{
		{0, 100, []time.Duration{0, 1, 3, 3, 4, 5}},
		{3, 100, []time.Duration{3, 3, 4, 5}}, // at or after
		{2, 3, []time.Duration{3, 3, 4}},
		{6, 100, nil},
	}
	for _, tt := range tests {
		got, err := s.EventsSince(ctx, at(tt.since*time.Second), tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var offs []time.Duration
		for i, e := range got {
			offs = append(offs, byID[e.ID])
			if !e.At.Equal(at(byID[e.ID] * time.Second)) {
				t.Errorf("event %d: At = %v", e.ID, e.At)
			}
			if i > 0 && e.At.Equal(got[i-1].At) && e.ID < got[i-1].ID {
				t.Errorf("EventsSince: events at the same time not in ID order")
			}
		}
		if !slices.Equal(offs, tt.want) {
			t.Errorf("EventsSince(+%ds, %d) = %v, want %v", tt.since, tt.limit, offs, tt.want)
		}
	}
}

func testInTxCommit(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := newUser("tx@example.com", "")
	ss := newSession(u.ID, base)
	err := s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.UserByEmail(ctx, "TX@example.com"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		if err := tx.AddRole(ctx, u.ID, "admin"); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, ss); err != nil {
			return err
		}
		// Nested InTx joins the same transaction.
		return tx.InTx(ctx, func(tx2 usher.Store) error {
			if _, gu, err := tx2.SessionUser(ctx, ss.TokenHash); err != nil || !gu.HasRole("admin") {
				return fmt.Errorf("nested read: %v, %v", gu, err)
			}
			return tx2.AddEvent(ctx, &usher.Event{UserID: u.ID, Type: usher.EventSignup, At: base})
		})
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	got := mustGet(t, s, u.ID)
	if !got.HasRole("admin") {
		t.Errorf("committed user's roles = %q", got.Roles)
	}
	if _, _, err := s.SessionUser(ctx, ss.TokenHash); err != nil {
		t.Errorf("committed session: %v", err)
	}
	if ev, err := s.ListEvents(ctx, u.ID, 10); err != nil || len(ev) != 1 {
		t.Errorf("committed events = %v, %v", ev, err)
	}
}

func testInTxRollback(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	existing := mustCreate(t, s, newUser("existing@example.com", ""))
	es := mustCreateSession(t, s, newSession(existing.ID, base))
	boom := errors.New("boom")
	u := newUser("rollback@example.com", "")
	u.Roles = []string{"ghost"}
	ss := newSession(u.ID, base)
	err := s.InTx(ctx, func(tx usher.Store) error {
		steps := []func() error{
			func() error { return tx.CreateUser(ctx, u) },
			func() error { return tx.AddRole(ctx, u.ID, "phantom") },
			func() error { return tx.AddRole(ctx, existing.ID, "phantom") },
			func() error { return tx.CreateSession(ctx, ss) },
			func() error { _, err := tx.DeleteUserSessions(ctx, existing.ID, ""); return err },
			func() error { return tx.UpdateUser(ctx, existing.ID, usher.UserUpdate{Enabled: ptr(false)}) },
			func() error { _, err := tx.Hit(ctx, "k", base); return err },
			func() error { return tx.AddEvent(ctx, &usher.Event{UserID: u.ID, Type: usher.EventSignup, At: base}) },
			func() error { _, err := tx.RecordPasswordFailure(ctx, existing.ID, base, 1); return err },
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
	if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("rolled-back user: %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionUser(ctx, ss.TokenHash); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("rolled-back session: %v, want ErrNotFound", err)
	}
	if roles, err := s.ListRoles(ctx); err != nil || len(roles) != 0 {
		t.Errorf("rolled-back roles = %v, %v; want none", roles, err)
	}
	got := mustGet(t, s, existing.ID)
	if !got.Enabled || got.PasswordFailures != 0 || !got.LockedAt.IsZero() {
		t.Errorf("existing user changed: enabled %v, failures %d, locked %v", got.Enabled, got.PasswordFailures, got.LockedAt)
	}
	if _, _, err := s.SessionUser(ctx, es.TokenHash); err != nil {
		t.Errorf("existing session lost: %v", err)
	}
	if n, err := s.Hit(ctx, "k", base); err != nil || n != 1 {
		t.Errorf("rolled-back hit: Hit = %d, %v; want 1", n, err)
	}
	if ev, err := s.ListEvents(ctx, "", 10); err != nil || len(ev) != 0 {
		t.Errorf("rolled-back events = %v, %v", ev, err)
	}

	// A unique violation inside the transaction comes out as
	// ErrUserExists and undoes the rest.
	err = s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.CreateUser(ctx, newUser("fresh@example.com", "")); err != nil {
			return err
		}
		return tx.CreateUser(ctx, newUser("EXISTING@example.com", ""))
	})
	if !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("InTx with a duplicate = %v, want ErrUserExists", err)
	}
	if _, err := s.UserByEmail(ctx, "fresh@example.com"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("user created before the duplicate: %v, want ErrNotFound", err)
	}

	// A panic rolls back too, and the Store stays usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("InTx swallowed a panic")
			}
		}()
		_ = s.InTx(ctx, func(tx usher.Store) error {
			if err := tx.CreateUser(ctx, newUser("panic@example.com", "")); err != nil {
				return err
			}
			panic("fn panicked")
		})
	}()
	if _, err := s.UserByEmail(ctx, "panic@example.com"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("user created before the panic: %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newUser("after-panic@example.com", ""))
}

func testListUsers(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	var all []*usher.User
	for i := range 25 {
		u := newUser(fmt.Sprintf("user%02d@%s.example.com", i, []string{"alpha", "beta"}[i%2]), "")
		if i%5 == 0 {
			u.Username = fmt.Sprintf("Special_%d", i)
		}
		// Sign-up times out of insertion order, and two equal ones so that
		// the ID breaks the tie.
		u.SignedUpAt = at(time.Duration((i*7)%25) * time.Minute)
		if i == 24 {
			u.SignedUpAt = all[3].SignedUpAt
		}
		if i%3 == 0 {
			u.Roles = []string{"admin"}
		}
		mustCreate(t, s, u)
		all = append(all, u)
	}
	// A user with LIKE's special characters in the address.
	// It has no sign-up time, so it sorts first.
	odd := newUser("100%_sure@example.com", "")
	odd.SignedUpAt = time.Time{}
	mustCreate(t, s, odd)
	all = append(all, odd)

	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b *usher.User) int {
		if c := a.SignedUpAt.Compare(b.SignedUpAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	ids := func(us []*usher.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.Email
		}
		return out
	}
	filter := func(keep func(u *usher.User) bool) []*usher.User {
		var out []*usher.User
		for _, u := range sorted {
			if keep(u) {
				out = append(out, u)
			}
		}
		return out
	}
	tests := []struct {
		name string
		q    usher.UserQuery
		want []*usher.User // before Offset and Limit
	}{
		{"all", usher.UserQuery{}, sorted},
		{"page 1", usher.UserQuery{Limit: 10}, sorted},
		{"page 2", usher.UserQuery{Limit: 10, Offset: 10}, sorted},
		{"page 3", usher.UserQuery{Limit: 10, Offset: 20}, sorted},
		{"past the end", usher.UserQuery{Limit: 10, Offset: 100}, sorted},
		{"search email, other case", usher.UserQuery{Search: "BETA.example"},
			filter(func(u *usher.User) bool { return strings.Contains(u.Email, "beta.example") })},
		{"search username", usher.UserQuery{Search: "special_1"},
			filter(func(u *usher.User) bool { return strings.HasPrefix(u.Username, "Special_1") })},
		{"search matches either", usher.UserQuery{Search: "user05"},
			filter(func(u *usher.User) bool { return strings.HasPrefix(u.Email, "user05") })},
		{"search % literally", usher.UserQuery{Search: "100%_"}, []*usher.User{odd}},
		{"search _ literally", usher.UserQuery{Search: "r_0"}, nil},
		{"role", usher.UserQuery{Role: "admin"}, filter(func(u *usher.User) bool { return u.HasRole("admin") })},
		{"role and search, paged", usher.UserQuery{Role: "admin", Search: "alpha", Limit: 2, Offset: 1},
			filter(func(u *usher.User) bool { return u.HasRole("admin") && strings.Contains(u.Email, "alpha") })},
		{"unknown role", usher.UserQuery{Role: "nobody"}, nil},
		{"no match", usher.UserQuery{Search: "zzz"}, nil},
	}
	for _, tt := range tests {
		n, err := s.CountUsers(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: CountUsers: %v", tt.name, err)
		}
		if n != len(tt.want) {
			t.Errorf("%s: CountUsers = %d, want %d", tt.name, n, len(tt.want))
		}
		got, err := s.ListUsers(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: ListUsers: %v", tt.name, err)
		}
		want := tt.want
		want = want[min(tt.q.Offset, len(want)):]
		limit := tt.q.Limit
		if limit == 0 {
			limit = 100
		}
		want = want[:min(limit, len(want))]
		if !slices.Equal(ids(got), ids(want)) {
			t.Errorf("%s: ListUsers = %q, want %q", tt.name, ids(got), ids(want))
		}
		for _, u := range got {
			if len(u.Roles) > 0 && !slices.Equal(u.Roles, []string{"admin"}) {
				t.Errorf("%s: user %s has roles %q", tt.name, u.Email, u.Roles)
			}
		}
	}
	// Users come back whole, roles included.
	got, err := s.ListUsers(ctx, usher.UserQuery{Search: all[3].Email})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListUsers(one) = %v, %v", got, err)
	}
	if d := diffUser(got[0], all[3]); d != "" {
		t.Errorf("listed user: %s", d)
	}
}

func testNotFound(t *testing.T, h *harness[usher.UserStore]) {
	s := h.s
	const id = "no-such-user"
	checks := []check{
		{"UserByID", second(s.UserByID(ctx, id))},
		{"UserByEmail", second(s.UserByEmail(ctx, "nobody@example.com"))},
		{"UserByUsername", second(s.UserByUsername(ctx, "nobody"))},
		{"UpdateUser", s.UpdateUser(ctx, id, usher.UserUpdate{Enabled: ptr(false)})},
		{"UpdateUser with nothing to change", s.UpdateUser(ctx, id, usher.UserUpdate{})},
		{"UpdateUser Locale", s.UpdateUser(ctx, id, usher.UserUpdate{Locale: ptr("de")})},
		{"UpdateUser ClearFailures", s.UpdateUser(ctx, id, usher.UserUpdate{ClearFailures: true})},
		{"DeleteUser", s.DeleteUser(ctx, id)},
		{"RecordPasswordFailure", second(s.RecordPasswordFailure(ctx, id, base, 3))},
		{"RecordLogin", s.RecordLogin(ctx, id, base, "")},
		{"AddRole", s.AddRole(ctx, id, "admin")},
	}
	wantNotFound(t, checks)
	// Operations on nothing that are not errors.
	if err := s.RemoveRole(ctx, id, "admin"); err != nil {
		t.Errorf("RemoveRole(unknown user) = %v, want nil", err)
	}
	if list, err := s.ListUsers(ctx, usher.UserQuery{}); err != nil || len(list) != 0 {
		t.Errorf("ListUsers(empty database) = %v, %v", list, err)
	}
	if roles, err := s.ListRoles(ctx); err != nil || len(roles) != 0 {
		t.Errorf("ListRoles(empty database) = %v, %v", roles, err)
	}
}

// testSessionsNotFound: the session methods on a user or session that
// does not exist.
func testSessionsNotFound(t *testing.T, h *harness[sessionsStore]) {
	s := h.s
	const id = "no-such-user"
	wantNotFound(t, []check{
		{"DeleteSession", s.DeleteSession(ctx, id, "no-such-session")},
		{"SessionUser", func() error { _, _, err := s.SessionUser(ctx, []byte("nope")); return err }()},
	})
	// An operation on nothing that is not an error.
	if n, err := s.DeleteUserSessions(ctx, id, ""); err != nil || n != 0 {
		t.Errorf("DeleteUserSessions(unknown user) = %d, %v", n, err)
	}
}

// check is the outcome of one call: its name and its error.
type check struct {
	name string
	err  error
}

// wantNotFound checks that every call failed with ErrNotFound.
func wantNotFound(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !errors.Is(c.err, usher.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", c.name, c.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func testConcurrentCreateTwoStores(t *testing.T, h *harness[usher.UserStore]) {
	a, b := h.s, h.open()
	const n = 100
	errs := race(n, a, b, func(i int, s usher.UserStore) error {
		// The same address, in varying case.
		email := "race@example.com"
		if i%3 == 1 {
			email = "RACE@Example.com"
		}
		u := newUser(email, "")
		u.Roles = []string{"racer"}
		return s.CreateUser(ctx, u)
	})
	wantOneWinner(t, "CreateUser", errs, usher.ErrUserExists)
	for _, s := range []usher.UserStore{a, b} {
		if c, err := s.CountUsers(ctx, usher.UserQuery{}); err != nil || c != 1 {
			t.Errorf("CountUsers = %d, %v; want 1", c, err)
		}
		if roles, err := s.ListRoles(ctx); err != nil || !slices.Equal(roles, []usher.Role{{Name: "racer", Users: 1}}) {
			t.Errorf("ListRoles = %v, %v; want racer once", roles, err)
		}
	}
}

// race calls call(i, s) for i from 0 to n-1 at once — released together,
// alternating between the stores a and b (two processes on one database)
// — and returns the errors by i.
func race[S any](n int, a, b S, call func(i int, s S) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			errs[i] = call(i, s)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// wantOneWinner checks the outcome of a race: exactly one call succeeded
// and every other failed with loser.
func wantOneWinner(t *testing.T, what string, errs []error, loser error) {
	t.Helper()
	ok, lost := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, loser):
			lost++
		default:
			t.Errorf("%s: %v", what, err)
		}
	}
	if ok != 1 || lost != len(errs)-1 {
		t.Errorf("%d concurrent %s: %d succeeded, %d %v; want 1 and %d", len(errs), what, ok, lost, loser, len(errs)-1)
	}
}
