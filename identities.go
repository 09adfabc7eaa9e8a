package usher

import "time"

// Identity links a user to an account at an outside identity provider
// (federated sign-in: OpenID Connect or SAML). The provider's account is
// named by Issuer and Subject together: a user is found by that pair,
// never by e-mail address first, because an address that a provider
// reports is only as good as that provider's checks.
type Identity struct {
	ID         string
	UserID     string
	Provider   string    // the configured provider's name, e.g. "google"
	Issuer     string    // the issuer the provider's answer named (OIDC iss, SAML entity ID)
	Subject    string    // the user's stable ID at the issuer (OIDC sub, SAML NameID)
	Email      string    // the address the provider reported when linking ("" if none); never used to find the user
	LinkedAt   time.Time // when the identity was linked to the user
	LastUsedAt time.Time // the last sign-in through it; zero until used
}
