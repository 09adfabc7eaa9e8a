package federated_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/federated/federatedtest"
)

// FuzzCallback feeds any query string to an oidc provider's callback, with
// this sign-in's saved value or any: Finish never panics, and without a
// code the provider issued for this sign-in it never returns an identity.
func FuzzCallback(f *testing.F) {
	fake := federatedtest.NewFakeOP(f, federatedtest.FakeOptions{})
	f.Add("code=x&state=s", `{"state_hash":"BDpxh3TFcr2KJa2-sb_NXAJWrhHOz5-cP5JdDlK-r4k","nonce":"n","verifier":"v"}`)
	f.Add("error=access_denied&state=s", `{"state_hash":"BDpxh3TFcr2KJa2-sb_NXAJWrhHOz5-cP5JdDlK-r4k","nonce":"n","verifier":"v"}`)
	f.Add("iss=https%3A%2F%2Fop.example&code=&state=s", `{"state_hash":"BDpxh3TFcr2KJa2-sb_NXAJWrhHOz5-cP5JdDlK-r4k","verifier":"v"}`)
	f.Add("state=%00&code=%ff", `{"state_hash":"","nonce":null}`)
	f.Add("", "")
	// The seeds' state_hash is the hash of "s", so inputs get past the
	// state check.
	f.Fuzz(func(t *testing.T, rawQuery, saved string) {
		p := fakeProvider(t, fake, true)
		r := req(callbackURL("acme"))
		r.URL.RawQuery = rawQuery // as it came, even what a server would not let through
		id, err := p.Finish(context.Background(), r, saved, nil)
		if err == nil || id != nil {
			t.Fatalf("query %q, saved %q: %+v, %v; want refused", rawQuery, saved, id, err)
		}
		if !errors.Is(err, usher.ErrFederatedRefused) && !errors.Is(err, usher.ErrFederatedCancelled) {
			t.Fatalf("query %q: %v is neither a refusal nor a cancel", rawQuery, err)
		}
	})
}

// FuzzIDToken has the provider answer a sign-in with any ID token: Finish
// never panics and never accepts one (none of them is signed with the
// provider's key).
func FuzzIDToken(f *testing.F) {
	var mu sync.Mutex
	var token string
	fake := federatedtest.NewFakeOP(f, federatedtest.FakeOptions{Sign: func(*federatedtest.FakeOP, map[string]any) string {
		mu.Lock()
		defer mu.Unlock()
		return token
	}})
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, idToken string) {
		mu.Lock()
		token = idToken
		mu.Unlock()
		p := fakeProvider(t, fake, true)
		id, err := signIn(t, p, fake.Hosts())
		if !errors.Is(err, usher.ErrFederatedRefused) || id != nil {
			t.Fatalf("ID token %q: %+v, %v; want refused", idToken, id, err)
		}
	})
}
