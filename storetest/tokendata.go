package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// testTokenData checks the data a token keeps, with the federated
// sign-in's state as the example: made before anyone is signed in (no
// user) or by a signed-in user linking an account, found and spent with
// its data, once, from any instance, and gone once expired.
func testTokenData(t *testing.T, h *harness[tokensStore]) {
	s, other := h.s, h.open()
	u := mustCreate(t, s, newUser("link@example.com", ""))
	const data = `{"provider":"google","nonce":"n-0S6_WzA2Mj","verifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk","next":"/account?tab=1"}`
	signIn := newToken("state-sign-in", usher.TokenFederatedState, "", at(usher.FederatedStateTTL))
	signIn.Email, signIn.Data = "", data
	link := newToken("state-link", usher.TokenFederatedState, u.ID, at(usher.FederatedStateTTL))
	link.Email, link.Data = "", `{"provider":"microsoft","nonce":"n2","verifier":"v2","next":"/"}`
	plain := newToken("no-data", usher.TokenResetPassword, u.ID, at(time.Hour))
	mustCreateToken(t, s, signIn)
	mustCreateToken(t, s, link)
	mustCreateToken(t, s, plain)

	// Found with its data, without spending it.
	for _, st := range []usher.TokenStore{s, other} {
		got, err := st.FindToken(ctx, signIn.Hash, usher.TokenFederatedState, at(time.Minute))
		if err != nil {
			t.Fatalf("FindToken: %v", err)
		}
		if d := diffToken(got, signIn); d != "" {
			t.Errorf("FindToken: %s", d)
		}
	}
	// Spent once, with its data, whichever instance comes back: the
	// other instance finds it used.
	checkUse(t, other, "state, first use", signIn.Hash, usher.TokenFederatedState, at(time.Minute), signIn)
	checkUse(t, s, "state, second use", signIn.Hash, usher.TokenFederatedState, at(2*time.Minute), nil)
	checkUse(t, other, "state, third use", signIn.Hash, usher.TokenFederatedState, at(2*time.Minute), nil)
	// Not another kind's token, and not once expired.
	checkUse(t, s, "state as reset link", link.Hash, usher.TokenResetPassword, at(time.Minute), nil)
	checkUse(t, s, "state at expiry", link.Hash, usher.TokenFederatedState, at(usher.FederatedStateTTL), nil)
	// Tokens without data keep "".
	checkUse(t, s, "token without data", plain.Hash, usher.TokenResetPassword, at(time.Minute), plain)
}

// testCreateTokenDuplicate checks that a hash is stored once: a second
// token with the same hash is ErrUserExists, from any instance, whatever
// the kind and even once the first has expired (until it is deleted), and
// of many stored at once exactly one succeeds. The SAML replay check
// (Service.SeenOnce) records each assertion this way.
func testCreateTokenDuplicate(t *testing.T, h *harness[tokensStore]) {
	s, other := h.s, h.open()
	seen := newToken("issuer assertion-1", usher.TokenFederatedSeen, "", at(5*time.Minute))
	seen.Email = ""
	mustCreateToken(t, s, seen)
	for _, tc := range []struct {
		name string
		st   usher.TokenStore
		tok  *usher.Token
	}{
		{"same instance", s, newToken("issuer assertion-1", usher.TokenFederatedSeen, "", at(5*time.Minute))},
		{"other instance", other, newToken("issuer assertion-1", usher.TokenFederatedSeen, "", at(10*time.Minute))},
		{"other kind", other, newToken("issuer assertion-1", usher.TokenResetPassword, "", at(time.Hour))},
	} {
		if err := tc.st.CreateToken(ctx, tc.tok); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("CreateToken(a stored hash, %s) = %v, want ErrUserExists", tc.name, err)
		}
	}
	// Expired but not yet deleted: still refused; once deleted, stored.
	late := newToken("issuer assertion-1", usher.TokenFederatedSeen, "", at(time.Hour))
	if err := other.CreateToken(ctx, late); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("CreateToken(an expired, undeleted hash) = %v, want ErrUserExists", err)
	}
	if err := s.DeleteExpiredTokens(ctx, at(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := other.CreateToken(ctx, late); err != nil {
		t.Errorf("CreateToken(a deleted hash) = %v, want nil", err)
	}

	// Many instances at once: one stores it, the others are refused.
	const n = 20
	errs := race(n, s, other, func(_ int, st tokensStore) error {
		tok := newToken("issuer assertion-2", usher.TokenFederatedSeen, "", at(5*time.Minute))
		return st.CreateToken(ctx, tok)
	})
	wantOneWinner(t, "CreateToken of one hash", errs, usher.ErrUserExists)
}
