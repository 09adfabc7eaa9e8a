package storetest

import (
	"errors"
	"testing"

	"github.com/usher-auth/usher"
)

// testFoldedKeys: a Store compares addresses by usher.FoldEmail and
// usernames by usher.FoldUsername — Unicode NFC, fullwidth forms, the
// Kelvin sign, IDN domains in either form, ASCII-only case in the local
// part — in lookups, in uniqueness and in the address book alike.
func testFoldedKeys(t *testing.T, h *harness[emailsStore]) {
	s := h.s
	ann := mustCreate(t, s, newUser("Anne\u0301@B\u00fccher.example", "\u212Aate")) // decomposed é, Kelvin sign
	lookups := []struct{ email, username string }{
		{"anne\u0301@b\u00fccher.example", "kate"},
		{"Ann\u00e9@xn--bcher-kva.example", "KATE"},
		{"ANN\u00e9@XN--BCHER-KVA.EXAMPLE", "\uff2b\uff41\uff54\uff45"},
		{"\uff41\uff4e\uff4e\u00e9@bu\u0308cher.example", "Kate"},
	}
	for _, l := range lookups {
		if u, err := s.UserByEmail(ctx, l.email); err != nil || u.ID != ann.ID {
			t.Errorf("UserByEmail(%+q) = %v, %v; want the user", l.email, u, err)
		}
		if u, err := s.UserByUsername(ctx, l.username); err != nil || u.ID != ann.ID {
			t.Errorf("UserByUsername(%+q) = %v, %v; want the user", l.username, u, err)
		}
		if e, err := s.UserEmailByAddress(ctx, l.email); err != nil || e.UserID != ann.ID {
			t.Errorf("UserEmailByAddress(%+q) = %v, %v; want the user's", l.email, e, err)
		}
		if err := s.CreateUser(ctx, newUser(l.email, "")); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("CreateUser(%+q) = %v; want ErrUserExists", l.email, err)
		}
		if err := s.CreateUser(ctx, newUser("other@example.com", l.username)); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("CreateUser(username %+q) = %v; want ErrUserExists", l.username, err)
		}
	}
	// Only ASCII letters fold: a non-ASCII capital is another address.
	if _, err := s.UserByEmail(ctx, "ANN\u00c9@b\u00fccher.example"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByEmail(ANNÉ@) = %v; want ErrNotFound", err)
	}
	mustCreate(t, s, newUser("ANN\u00c9@b\u00fccher.example", ""))
	// A hidden character makes no match either.
	if _, err := s.UserByEmail(ctx, "ann\u200d\u00e9@b\u00fccher.example"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("UserByEmail(with a zero-width joiner) = %v; want ErrNotFound", err)
	}
	// Keys a database cannot hold as text (NUL, invalid UTF-8) find
	// nobody rather than failing.
	for _, ref := range []string{"ann\x00@example.com", "ann\xff@example.com"} {
		if _, err := s.UserByEmail(ctx, ref); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("UserByEmail(%+q) = %v; want ErrNotFound", ref, err)
		}
		if _, err := s.UserByUsername(ctx, ref[:4]+"x"); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("UserByUsername(%+q) = %v; want ErrNotFound", ref[:4]+"x", err)
		}
		if _, err := s.UserEmailByAddress(ctx, ref); !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("UserEmailByAddress(%+q) = %v; want ErrNotFound", ref, err)
		}
	}
	// The address book: another spelling of a taken address is taken.
	bob := mustCreate(t, s, newUser("bob@example.com", ""))
	e := &usher.UserEmail{ID: usher.NewID(), UserID: bob.ID, Email: "ANN\u00e9@xn--bcher-kva.example", CreatedAt: base}
	if err := s.AddUserEmail(ctx, e); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("AddUserEmail(another spelling of a primary address) = %v; want ErrUserExists", err)
	}
	if err := s.UpdateUser(ctx, bob.ID, usher.UserUpdate{Email: ptr("\uff41\uff4e\uff4e\u00e9@b\u00fccher.example")}); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("UpdateUser(another spelling of a taken address) = %v; want ErrUserExists", err)
	}
}
