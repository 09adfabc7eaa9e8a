package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// newMFA returns a TOTP method of userID created at created, whose secret
// is name's bytes (the Store keeps secrets as given).
func newMFA(userID, name string, created time.Time) *usher.MFAMethod {
	return &usher.MFAMethod{
		ID:        usher.NewID(),
		UserID:    userID,
		Type:      usher.MFATOTP,
		Name:      name,
		Secret:    []byte("sealed:" + name),
		CreatedAt: created,
	}
}

func mustAddMFA(t *testing.T, s usher.MFAStore, m *usher.MFAMethod, clearExisting bool) *usher.MFAMethod {
	t.Helper()
	if err := s.AddMFAMethod(ctx, m, clearExisting); err != nil {
		t.Fatalf("AddMFAMethod(%s, %v): %v", m.Name, clearExisting, err)
	}
	return m
}

// diffMFA describes how got differs from want, or returns "".
func diffMFA(got, want *usher.MFAMethod) string {
	if got.ID != want.ID || got.UserID != want.UserID || got.Type != want.Type || got.Name != want.Name ||
		!bytes.Equal(got.Secret, want.Secret) || got.LastStep != want.LastStep ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) {
		return fmt.Sprintf("got %+v, want %+v", *got, *want)
	}
	return ""
}

// checkMFA checks that the user's methods are want, in order.
func checkMFA(t *testing.T, s usher.MFAStore, name, userID string, want ...*usher.MFAMethod) {
	t.Helper()
	got, err := s.ListMFAMethods(ctx, userID)
	if err != nil {
		t.Fatalf("%s: ListMFAMethods: %v", name, err)
	}
	if got == nil {
		t.Errorf("%s: ListMFAMethods = nil, want a non-nil list", name)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: ListMFAMethods = %d methods, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := diffMFA(got[i], want[i]); d != "" {
			t.Errorf("%s: method %d: %s", name, i, d)
		}
	}
}

func testMFAMethods(t *testing.T, h *harness[mfaStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("mfa@example.com", ""))
	other := mustCreate(t, s, newUser("mfa-other@example.com", ""))
	checkMFA(t, s, "none yet", u.ID)

	// Listed oldest first, whatever the order of adding.
	phone := mustAddMFA(t, s, newMFA(u.ID, "Phone", at(time.Hour)), false)
	laptop := mustAddMFA(t, s, newMFA(u.ID, "Laptop", at(time.Minute)), false)
	theirs := mustAddMFA(t, s, newMFA(other.ID, "Theirs", at(time.Minute)), false)
	checkMFA(t, s, "after adding", u.ID, laptop, phone)
	checkMFA(t, s, "other user", other.ID, theirs)
	checkMFA(t, h.open(), "another Store", u.ID, laptop, phone)

	if err := s.AddMFAMethod(ctx, newMFA("no-such-user", "Ghost", base), false); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("AddMFAMethod(unknown user) = %v, want ErrNotFound", err)
	}
	if err := s.AddMFAMethod(ctx, newMFA("no-such-user", "Ghost", base), true); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("AddMFAMethod(unknown user, clearExisting) = %v, want ErrNotFound", err)
	}

	// Deleting needs the right user.
	if err := s.DeleteMFAMethod(ctx, u.ID, theirs.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteMFAMethod(another user's method) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteMFAMethod(ctx, u.ID, "no-such-method"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteMFAMethod(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteMFAMethod(ctx, u.ID, phone.ID); err != nil {
		t.Fatalf("DeleteMFAMethod: %v", err)
	}
	if err := s.DeleteMFAMethod(ctx, u.ID, phone.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteMFAMethod twice = %v, want ErrNotFound", err)
	}
	checkMFA(t, s, "after deleting", u.ID, laptop)
	checkMFA(t, s, "other user after deleting", other.ID, theirs)

	// clearExisting replaces all the user's methods, and only theirs.
	mustAddMFA(t, s, newMFA(u.ID, "Tablet", at(2*time.Hour)), false)
	only := mustAddMFA(t, s, newMFA(u.ID, "Only", at(3*time.Hour)), true)
	checkMFA(t, s, "after clearExisting", u.ID, only)
	checkMFA(t, s, "other user after clearExisting", other.ID, theirs)
	first := mustAddMFA(t, s, newMFA(other.ID, "First", at(time.Hour)), true)
	checkMFA(t, s, "clearExisting of the other user", other.ID, first)
	checkMFA(t, s, "user after the other's clearExisting", u.ID, only)

	// The methods go with the user.
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkMFA(t, s, "after DeleteUser", u.ID)
	checkMFA(t, s, "other user after DeleteUser", other.ID, first)
	if err := s.UseTOTPStep(ctx, only.ID, 1, base); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseTOTPStep(method of a deleted user) = %v, want ErrNotFound", err)
	}
}

func testUseTOTPStep(t *testing.T, h *harness[mfaStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("totp@example.com", ""))
	m := mustAddMFA(t, s, newMFA(u.ID, "Phone", base), false)
	other := mustAddMFA(t, s, newMFA(u.ID, "Other", at(time.Second)), false)
	const step = 58_000_000

	if err := s.UseTOTPStep(ctx, m.ID, step, at(time.Minute)); err != nil {
		t.Fatalf("UseTOTPStep: %v", err)
	}
	m.LastStep, m.LastUsedAt = step, at(time.Minute)
	checkMFA(t, s, "after use", u.ID, m, other)

	// The same code again, or an older one, is a replay.
	if err := s.UseTOTPStep(ctx, m.ID, step, at(2*time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseTOTPStep(same step) = %v, want ErrNotFound", err)
	}
	if err := s.UseTOTPStep(ctx, m.ID, step-1, at(2*time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseTOTPStep(earlier step) = %v, want ErrNotFound", err)
	}
	checkMFA(t, s, "after replays", u.ID, m, other)

	// A later one works, once; the steps are per method.
	if err := s.UseTOTPStep(ctx, m.ID, step+1, at(3*time.Minute)); err != nil {
		t.Fatalf("UseTOTPStep(next step): %v", err)
	}
	if err := s.UseTOTPStep(ctx, other.ID, step, at(3*time.Minute)); err != nil {
		t.Fatalf("UseTOTPStep(other method): %v", err)
	}
	m.LastStep, m.LastUsedAt = step+1, at(3*time.Minute)
	other.LastStep, other.LastUsedAt = step, at(3*time.Minute)
	checkMFA(t, h.open(), "after later steps", u.ID, m, other)

	if err := s.UseTOTPStep(ctx, "no-such-method", step+5, base); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseTOTPStep(unknown method) = %v, want ErrNotFound", err)
	}
}

func testUseTOTPStepConcurrent(t *testing.T, h *harness[mfaStore]) {
	s1, s2 := h.s, h.open()
	u := mustCreate(t, s1, newUser("totp-race@example.com", ""))
	m := mustAddMFA(t, s1, newMFA(u.ID, "Phone", base), false)
	const n = 20
	errs := race(n, s1, s2, func(_ int, s mfaStore) error {
		return s.UseTOTPStep(ctx, m.ID, 1000, at(time.Minute))
	})
	wantOneWinner(t, "UseTOTPStep", errs, usher.ErrNotFound)
}

func testReplaceMFASecrets(t *testing.T, h *harness[mfaStore]) {
	s := h.s
	u1 := mustCreate(t, s, newUser("rotate1@example.com", ""))
	u2 := mustCreate(t, s, newUser("rotate2@example.com", ""))
	a := mustAddMFA(t, s, newMFA(u1.ID, "A", base), false)
	b := mustAddMFA(t, s, newMFA(u1.ID, "B", at(time.Second)), false)
	c := mustAddMFA(t, s, newMFA(u2.ID, "C", base), false)
	if err := s.UseTOTPStep(ctx, a.ID, 7, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a.LastStep, a.LastUsedAt = 7, at(time.Minute)

	// A failure part-way rolls everything back.
	boom := errors.New("boom")
	calls := 0
	n, err := s.ReplaceMFASecrets(ctx, func(old []byte) ([]byte, error) {
		calls++
		if calls == 2 {
			return nil, boom
		}
		return append([]byte("bad:"), old...), nil
	})
	if !errors.Is(err, boom) || n != 0 {
		t.Errorf("ReplaceMFASecrets with a failing reseal = %d, %v; want 0 and its error", n, err)
	}
	checkMFA(t, s, "after the failed rotation", u1.ID, a, b)
	checkMFA(t, s, "after the failed rotation", u2.ID, c)

	// Every secret is rewritten, and nothing else.
	seen := map[string]bool{}
	n, err = s.ReplaceMFASecrets(ctx, func(old []byte) ([]byte, error) {
		seen[string(old)] = true
		return append([]byte("new:"), old...), nil
	})
	if err != nil || n != 3 {
		t.Fatalf("ReplaceMFASecrets = %d, %v; want 3", n, err)
	}
	for _, m := range []*usher.MFAMethod{a, b, c} {
		if !seen[string(m.Secret)] {
			t.Errorf("reseal was not given %q", m.Secret)
		}
		m.Secret = append([]byte("new:"), m.Secret...)
	}
	checkMFA(t, h.open(), "after the rotation", u1.ID, a, b)
	checkMFA(t, h.open(), "after the rotation", u2.ID, c)
}

// recoveryHashes returns the SHA-256 of each code.
func recoveryHashes(codes ...string) [][]byte {
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		h := sha256.Sum256([]byte(c))
		hashes[i] = h[:]
	}
	return hashes
}

func checkRecoveryCount(t *testing.T, s usher.MFAStore, name, userID string, want int) {
	t.Helper()
	if n, err := s.CountRecoveryCodes(ctx, userID); err != nil || n != want {
		t.Errorf("%s: CountRecoveryCodes = %d, %v; want %d", name, n, err, want)
	}
}

func testRecoveryCodes(t *testing.T, h *harness[mfaStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("recovery@example.com", ""))
	other := mustCreate(t, s, newUser("recovery-other@example.com", ""))
	checkRecoveryCount(t, s, "none yet", u.ID, 0)
	checkRecoveryCount(t, s, "unknown user", "no-such-user", 0)

	old := recoveryHashes("a1", "a2", "a3")
	if err := s.SetRecoveryCodes(ctx, u.ID, old, base); err != nil {
		t.Fatalf("SetRecoveryCodes: %v", err)
	}
	if err := s.SetRecoveryCodes(ctx, other.ID, recoveryHashes("a1", "o2"), base); err != nil {
		t.Fatalf("SetRecoveryCodes(other): %v", err)
	}
	checkRecoveryCount(t, s, "after setting", u.ID, 3)
	if err := s.SetRecoveryCodes(ctx, "no-such-user", old, base); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("SetRecoveryCodes(unknown user) = %v, want ErrNotFound", err)
	}

	// A code works once, for its user only.
	if err := s.UseRecoveryCode(ctx, u.ID, old[0], at(time.Minute)); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, old[0], at(2*time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseRecoveryCode twice = %v, want ErrNotFound", err)
	}
	if err := s.UseRecoveryCode(ctx, other.ID, old[1], at(time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseRecoveryCode(another user's code) = %v, want ErrNotFound", err)
	}
	unknown := recoveryHashes("zz")[0]
	if err := s.UseRecoveryCode(ctx, u.ID, unknown, at(time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseRecoveryCode(unknown code) = %v, want ErrNotFound", err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, nil, at(time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UseRecoveryCode(nil) = %v, want ErrNotFound", err)
	}
	checkRecoveryCount(t, s, "after one use", u.ID, 2)
	// The same code of another user is that user's.
	if err := s.UseRecoveryCode(ctx, other.ID, old[0], at(time.Minute)); err != nil {
		t.Errorf("UseRecoveryCode(other's own code): %v", err)
	}
	checkRecoveryCount(t, h.open(), "other after one use", other.ID, 1)

	// New codes void the old ones, used or not.
	fresh := recoveryHashes("b1", "b2", "b3", "b4")
	if err := s.SetRecoveryCodes(ctx, u.ID, fresh, at(time.Hour)); err != nil {
		t.Fatalf("SetRecoveryCodes again: %v", err)
	}
	checkRecoveryCount(t, s, "after replacing", u.ID, 4)
	for i, hash := range old {
		if err := s.UseRecoveryCode(ctx, u.ID, hash, at(2*time.Hour)); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("UseRecoveryCode(old code %d) = %v, want ErrNotFound", i, err)
		}
	}
	if err := s.UseRecoveryCode(ctx, u.ID, fresh[3], at(2*time.Hour)); err != nil {
		t.Errorf("UseRecoveryCode(new code): %v", err)
	}
	checkRecoveryCount(t, s, "after using a new code", u.ID, 3)
	checkRecoveryCount(t, s, "other after the user's replacement", other.ID, 1)

	// No codes at all.
	if err := s.SetRecoveryCodes(ctx, u.ID, nil, at(3*time.Hour)); err != nil {
		t.Fatalf("SetRecoveryCodes(none): %v", err)
	}
	checkRecoveryCount(t, s, "after clearing", u.ID, 0)

	// The codes go with the user.
	if err := s.DeleteUser(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	checkRecoveryCount(t, s, "after DeleteUser", other.ID, 0)
}

func testUseRecoveryCodeConcurrent(t *testing.T, h *harness[mfaStore]) {
	s1, s2 := h.s, h.open()
	u := mustCreate(t, s1, newUser("recovery-race@example.com", ""))
	hashes := recoveryHashes("c1", "c2")
	if err := s1.SetRecoveryCodes(ctx, u.ID, hashes, base); err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := race(n, s1, s2, func(_ int, s mfaStore) error {
		return s.UseRecoveryCode(ctx, u.ID, hashes[0], at(time.Minute))
	})
	wantOneWinner(t, "UseRecoveryCode", errs, usher.ErrNotFound)
	checkRecoveryCount(t, s1, "after the race", u.ID, 1)
}

// checkFind calls FindToken and checks that it returns tok unchanged, or
// ErrNotFound if tok is nil.
func checkFind(t *testing.T, s usher.TokenStore, name string, hash []byte, kind string, now time.Time, tok *usher.Token) {
	t.Helper()
	got, err := s.FindToken(ctx, hash, kind, now)
	if tok == nil {
		if !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("%s: FindToken = %v, %v; want ErrNotFound", name, got, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: FindToken: %v", name, err)
		return
	}
	if d := diffToken(got, tok); d != "" {
		t.Errorf("%s: FindToken: %s", name, d)
	}
}

func testFindToken(t *testing.T, h *harness[tokensStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("find@example.com", ""))
	device := mustCreateToken(t, s, newToken("device", usher.TokenLoginLink, u.ID, at(30*24*time.Hour)))
	short := mustCreateToken(t, s, newToken("short-find", usher.TokenLoginLink, u.ID, at(time.Hour)))

	// Finding does not use the token: it is found again, and can still be
	// used.
	checkFind(t, s, "first", device.Hash, device.Kind, at(time.Minute), device)
	checkFind(t, s, "again", device.Hash, device.Kind, at(time.Hour), device)
	checkFind(t, h.open(), "another Store", device.Hash, device.Kind, at(time.Hour), device)
	checkFind(t, s, "wrong kind", device.Hash, usher.TokenResetPassword, at(time.Minute), nil)
	checkUse(t, s, "use after finding", device.Hash, device.Kind, at(2*time.Hour), device)
	checkFind(t, s, "after use", device.Hash, device.Kind, at(3*time.Hour), nil)

	// Expired at ExpiresAt.
	checkFind(t, s, "just before expiry", short.Hash, short.Kind, at(time.Hour-time.Microsecond), short)
	checkFind(t, s, "at expiry", short.Hash, short.Kind, at(time.Hour), nil)
	checkFind(t, s, "after expiry", short.Hash, short.Kind, at(2*time.Hour), nil)

	unknown := sha256.Sum256([]byte("unknown"))
	checkFind(t, s, "unknown hash", unknown[:], usher.TokenLoginLink, base, nil)
	checkFind(t, s, "nil hash", nil, usher.TokenLoginLink, base, nil)
}

// testMFAInTx checks that the MFA methods join InTx's transaction.
func testMFAInTx(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := mustCreate(t, s, newUser("mfa-tx@example.com", ""))
	kept := mustAddMFA(t, s, newMFA(u.ID, "Kept", base), false)
	codes := recoveryHashes("k1", "k2")
	if err := s.SetRecoveryCodes(ctx, u.ID, codes, base); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	added := newMFA(u.ID, "Added", at(time.Minute))
	err := s.InTx(ctx, func(tx usher.Store) error {
		steps := []func() error{
			func() error { return tx.AddMFAMethod(ctx, added, true) },
			func() error { return tx.UseTOTPStep(ctx, added.ID, 5, at(time.Hour)) },
			func() error { return tx.SetRecoveryCodes(ctx, u.ID, recoveryHashes("n1"), at(time.Hour)) },
			func() error {
				_, err := tx.ReplaceMFASecrets(ctx, func(old []byte) ([]byte, error) {
					return append([]byte("new:"), old...), nil
				})
				return err
			},
			func() error {
				// Reads inside the transaction see its writes.
				list, err := tx.ListMFAMethods(ctx, u.ID)
				if err != nil || len(list) != 1 || list[0].ID != added.ID || list[0].LastStep != 5 ||
					!bytes.HasPrefix(list[0].Secret, []byte("new:")) {
					return fmt.Errorf("ListMFAMethods inside: %v, %v", list, err)
				}
				if n, err := tx.CountRecoveryCodes(ctx, u.ID); err != nil || n != 1 {
					return fmt.Errorf("CountRecoveryCodes inside: %d, %v", n, err)
				}
				return nil
			},
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
	checkMFA(t, s, "after rollback", u.ID, kept)
	checkRecoveryCount(t, s, "after rollback", u.ID, 2)
	if err := s.UseRecoveryCode(ctx, u.ID, codes[1], at(time.Hour)); err != nil {
		t.Errorf("UseRecoveryCode(old code after rollback): %v", err)
	}

	// And commits with it.
	err = s.InTx(ctx, func(tx usher.Store) error {
		return tx.AddMFAMethod(ctx, added, true)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	checkMFA(t, s, "after commit", u.ID, added)
}
