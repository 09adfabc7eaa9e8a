package storetest

import (
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
