package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// RunAPIKeys runs the tests of usher.APIKeyStore.
func RunAPIKeys[S usher.APIKeyStore](t *testing.T, newDatabase func(t *testing.T) func() S) {
	run(t, newDatabase, []test[usher.APIKeyStore]{
		{"CreateAndFindAPIKey", testCreateAndFindAPIKey},
		{"APIKeyNameTaken", testAPIKeyNameTaken},
		{"ListAPIKeys", testListAPIKeys},
		{"TouchAPIKey", testTouchAPIKey},
		{"DeleteAPIKey", testDeleteAPIKey},
	})
}

// newAPIKey returns a key record named name whose key is "key-"+name.
func newAPIKey(name string, created time.Time) *usher.APIKey {
	h := sha256.Sum256([]byte("key-" + name))
	return &usher.APIKey{ID: usher.NewID(), Name: name, Hash: h[:], CreatedAt: created}
}

// mustCreateAPIKey stores k and fails the test on error.
func mustCreateAPIKey(t *testing.T, s usher.APIKeyStore, k *usher.APIKey) *usher.APIKey {
	t.Helper()
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", k.Name, err)
	}
	return k
}

// diffAPIKey describes how got differs from want, or returns "".
func diffAPIKey(got, want *usher.APIKey) string {
	if got.ID != want.ID || got.Name != want.Name || string(got.Hash) != string(want.Hash) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) {
		return fmt.Sprintf("got {%s %s %x %v %v}, want {%s %s %x %v %v}", got.ID, got.Name, got.Hash, got.CreatedAt,
			got.LastUsedAt, want.ID, want.Name, want.Hash, want.CreatedAt, want.LastUsedAt)
	}
	return ""
}

func testCreateAndFindAPIKey(t *testing.T, h *harness[usher.APIKeyStore]) {
	want := mustCreateAPIKey(t, h.s, newAPIKey("deploy", base))
	for i, s := range []usher.APIKeyStore{h.s, h.open()} {
		got, err := s.APIKeyByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("APIKeyByHash (Store %d): %v", i, err)
		}
		if d := diffAPIKey(got, want); d != "" {
			t.Errorf("APIKeyByHash (Store %d): %s", i, d)
		}
	}
	// Only the exact hash finds it.
	other := sha256.Sum256([]byte("key-deploy2"))
	for _, hash := range [][]byte{other[:], want.Hash[:31], {}, nil} {
		if got, err := h.s.APIKeyByHash(ctx, hash); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("APIKeyByHash(%x) = %v, %v; want ErrNotFound", hash, got, err)
		}
	}
}

func testAPIKeyNameTaken(t *testing.T, h *harness[usher.APIKeyStore]) {
	first := mustCreateAPIKey(t, h.s, newAPIKey("deploy", base))
	again := newAPIKey("deploy", at(time.Minute))
	again.Hash = []byte("another hash, the same name......")
	for i, s := range []usher.APIKeyStore{h.s, h.open()} {
		if err := s.CreateAPIKey(ctx, again); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("CreateAPIKey(name taken, Store %d) = %v, want ErrUserExists", i, err)
		}
	}
	list, err := h.s.ListAPIKeys(ctx)
	if err != nil || len(list) != 1 || list[0].ID != first.ID {
		t.Errorf("ListAPIKeys after a refused duplicate = %v, %v; want the first key only", list, err)
	}
}

func testListAPIKeys(t *testing.T, h *harness[usher.APIKeyStore]) {
	if list, err := h.s.ListAPIKeys(ctx); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListAPIKeys on an empty database = %v, %v; want an empty list", list, err)
	}
	c := mustCreateAPIKey(t, h.s, newAPIKey("ci", at(2*time.Minute)))
	a := mustCreateAPIKey(t, h.s, newAPIKey("backup", at(3*time.Minute)))
	b := mustCreateAPIKey(t, h.s, newAPIKey("billing", base))
	list, err := h.open().ListAPIKeys(ctx)
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	want := []*usher.APIKey{a, b, c}
	if len(list) != len(want) {
		t.Fatalf("ListAPIKeys returned %d keys, want %d", len(list), len(want))
	}
	for i := range want {
		if d := diffAPIKey(list[i], want[i]); d != "" {
			t.Errorf("ListAPIKeys[%d] (by name): %s", i, d)
		}
	}
}

func testTouchAPIKey(t *testing.T, h *harness[usher.APIKeyStore]) {
	k := mustCreateAPIKey(t, h.s, newAPIKey("deploy", base))
	other := mustCreateAPIKey(t, h.s, newAPIKey("other", base))
	if err := h.s.TouchAPIKey(ctx, k.ID, at(time.Hour)); err != nil {
		t.Fatalf("TouchAPIKey: %v", err)
	}
	k.LastUsedAt = at(time.Hour)
	for _, want := range []*usher.APIKey{k, other} {
		got, err := h.open().APIKeyByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("APIKeyByHash: %v", err)
		}
		if d := diffAPIKey(got, want); d != "" {
			t.Errorf("after TouchAPIKey: %s", d)
		}
	}
	if err := h.s.TouchAPIKey(ctx, usher.NewID(), base); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("TouchAPIKey(unknown) = %v, want ErrNotFound", err)
	}
}

func testDeleteAPIKey(t *testing.T, h *harness[usher.APIKeyStore]) {
	k := mustCreateAPIKey(t, h.s, newAPIKey("deploy", base))
	keep := mustCreateAPIKey(t, h.s, newAPIKey("keep", base))
	if err := h.s.DeleteAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("DeleteAPIKey: %v", err)
	}
	if _, err := h.open().APIKeyByHash(ctx, k.Hash); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("APIKeyByHash after DeleteAPIKey = %v, want ErrNotFound", err)
	}
	if _, err := h.s.APIKeyByHash(ctx, keep.Hash); err != nil {
		t.Errorf("the other key after DeleteAPIKey: %v", err)
	}
	if err := h.s.DeleteAPIKey(ctx, k.ID); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("DeleteAPIKey again = %v, want ErrNotFound", err)
	}
	// Its name is free again.
	mustCreateAPIKey(t, h.s, newAPIKey("deploy", at(time.Minute)))
}
