package webauthn_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa/webauthn"
)

// The Service's ceremonies with this package (registration, second
// factor, passkeys, with a software authenticator) are tested in the root
// package's webauthn_test.go, and in browsers in internal/browsertest.

func TestRelyingParty(t *testing.T) {
	o := usher.WebAuthnOrigin{RPID: "auth.example.com", Name: "Usher", Origin: "https://auth.example.com", Timeout: 5 * time.Minute}
	rp, err := webauthn.Provider{}.RelyingParty(o)
	if err != nil {
		t.Fatal(err)
	}
	// A key whose credential cannot be read is left out of the options.
	u := &usher.WebAuthnUser{ID: "u1", Name: "ann@example.com", DisplayName: "ann", Keys: []usher.WebAuthnKey{{Credential: []byte("not JSON")}}}
	c, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		ExcludeCredentials []any `json:"excludeCredentials"`
	}
	if err := json.Unmarshal(c.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if opts.Challenge != c.Challenge || c.Challenge == "" || opts.RP.ID != o.RPID || len(opts.ExcludeCredentials) != 0 || len(c.Session) == 0 {
		t.Errorf("ceremony: %s, challenge %q", c.Options, c.Challenge)
	}
	if err := rp.CheckCreation([]byte(`{"id":"x"}`)); err == nil {
		t.Error("a malformed credential passed CheckCreation")
	}
	if err := rp.CheckAssertion([]byte(`{}`)); err == nil {
		t.Error("a malformed credential passed CheckAssertion")
	}

	o.RPID = "not a host name!"
	if _, err := (webauthn.Provider{}).RelyingParty(o); err == nil {
		t.Errorf("RP ID %q accepted", o.RPID)
	}
}
