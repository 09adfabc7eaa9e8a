// Package webauthn is the WebAuthn relying party of security keys and
// passkeys, with github.com/go-webauthn/webauthn: it implements
// usher.WebAuthn (Provider) and usher.RelyingParty.
//
// A key's credential (usher.WebAuthnKey.Credential) is the JSON of its
// go-webauthn Credential, as FinishRegistration writes it; the Service
// stores it sealed, with the signature counter beside it.
package webauthn

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/usher-auth/usher"
)

// Provider makes relying parties with go-webauthn (usher.WebAuthn). Its
// zero value is ready.
type Provider struct{}

var _ usher.WebAuthn = Provider{}

// errKeyExists refuses a key that is registered already.
var errKeyExists = errors.New("webauthn: the key is registered already")

// RelyingParty returns the relying party of o. Attestation is not asked
// for ("none"), and extension outputs nobody asked for are ignored.
func (Provider) RelyingParty(o usher.WebAuthnOrigin) (usher.RelyingParty, error) {
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  o.RPID,
		RPDisplayName:         o.Name,
		RPOrigins:             []string{o.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: o.Timeout, TimeoutUVD: o.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: o.Timeout, TimeoutUVD: o.Timeout},
		},
		// No extension is asked for; outputs some clients (password
		// managers) add unasked are ignored rather than failing.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, err
	}
	return &relyingParty{wa: wa}, nil
}

// relyingParty is a usher.RelyingParty over go-webauthn.
type relyingParty struct {
	wa *webauthn.WebAuthn
}

var _ usher.RelyingParty = (*relyingParty)(nil)

// user is a usher.WebAuthnUser as go-webauthn sees it, with its keys'
// credentials read. Its WebAuthn user handle is the user's ID.
type user struct {
	u     *usher.WebAuthnUser
	creds []webauthn.Credential
	keys  []int // creds[i] is u.Keys[keys[i]]
}

// newUser reads u's keys. The signature counter of each is the one the
// Service recorded, which unlike the credential is updated after each
// use. A credential that cannot be read is left out.
func newUser(u *usher.WebAuthnUser) *user {
	w := &user{u: u}
	for i, k := range u.Keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			continue
		}
		c.Authenticator.SignCount = k.SignCount
		c.Authenticator.CloneWarning = false
		w.creds = append(w.creds, c)
		w.keys = append(w.keys, i)
	}
	return w
}

func (w *user) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *user) WebAuthnName() string                       { return w.u.Name }
func (w *user) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w *user) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// descriptors lists the user's keys for excludeCredentials.
func (w *user) descriptors() []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(w.creds))
	for i, c := range w.creds {
		out[i] = c.Descriptor()
	}
	return out
}

// use returns the use of cred, one of w's keys.
func (w *user) use(cred *webauthn.Credential) (*usher.WebAuthnKeyUse, error) {
	for i, c := range w.creds {
		if bytes.Equal(c.ID, cred.ID) {
			return &usher.WebAuthnKeyUse{Key: w.keys[i], SignCount: cred.Authenticator.SignCount,
				CloneWarning: cred.Authenticator.CloneWarning}, nil
		}
	}
	return nil, errors.New("webauthn: not one of the user's keys")
}

// ceremony returns what a Begin method gives the Service.
func ceremony(options any, sd *webauthn.SessionData) (*usher.WebAuthnCeremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	session, err := json.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return &usher.WebAuthnCeremony{Options: opts, Challenge: sd.Challenge, Session: session}, nil
}

// sessionData reads back the session of ceremony.
func sessionData(session []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	err := json.Unmarshal(session, &sd)
	return sd, err
}

// BeginRegistration starts adding a key for u; see usher.RelyingParty.
func (rp *relyingParty) BeginRegistration(u *usher.WebAuthnUser) (*usher.WebAuthnCeremony, error) {
	w := newUser(u)
	creation, sd, err := rp.wa.BeginRegistration(w,
		webauthn.WithExclusions(w.descriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, err
	}
	return ceremony(creation.Response, sd)
}

// FinishRegistration verifies a new key for u; see usher.RelyingParty.
func (rp *relyingParty) FinishRegistration(u *usher.WebAuthnUser, session, credential []byte) (*usher.WebAuthnKey, error) {
	sd, err := sessionData(session)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, err
	}
	w := newUser(u)
	cred, err := rp.wa.CreateCredential(w, sd, parsed)
	if err != nil {
		return nil, err
	}
	for _, old := range w.creds {
		if bytes.Equal(old.ID, cred.ID) {
			return nil, errKeyExists
		}
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	return &usher.WebAuthnKey{Credential: plain, SignCount: cred.Authenticator.SignCount}, nil
}

// BeginLogin starts a second factor with one of u's keys; see
// usher.RelyingParty.
func (rp *relyingParty) BeginLogin(u *usher.WebAuthnUser) (*usher.WebAuthnCeremony, error) {
	assertion, sd, err := rp.wa.BeginLogin(newUser(u), webauthn.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return nil, err
	}
	return ceremony(assertion.Response, sd)
}

// FinishLogin verifies an assertion by one of u's keys; see
// usher.RelyingParty.
func (rp *relyingParty) FinishLogin(u *usher.WebAuthnUser, session, credential []byte) (*usher.WebAuthnKeyUse, error) {
	sd, err := sessionData(session)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, err
	}
	w := newUser(u)
	cred, err := rp.wa.ValidateLogin(w, sd, parsed)
	if err != nil {
		return nil, err
	}
	return w.use(cred)
}

// BeginPasskeyLogin starts a log-in with a passkey; see
// usher.RelyingParty.
func (rp *relyingParty) BeginPasskeyLogin() (*usher.WebAuthnCeremony, error) {
	assertion, sd, err := rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return ceremony(assertion.Response, sd)
}

// FinishPasskeyLogin verifies an assertion by a passkey; see
// usher.RelyingParty.
func (rp *relyingParty) FinishPasskeyLogin(session, credential []byte, owner func(userHandle []byte) (*usher.WebAuthnUser, error)) (*usher.WebAuthnKeyUse, error) {
	sd, err := sessionData(session)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, err
	}
	var w *user
	cred, err := rp.wa.ValidateDiscoverableLogin(func(_, userHandle []byte) (webauthn.User, error) {
		u, err := owner(userHandle)
		if err != nil {
			return nil, err
		}
		w = newUser(u)
		return w, nil
	}, sd, parsed)
	if err != nil {
		return nil, err
	}
	return w.use(cred)
}

// CheckCreation reports whether credential is a well-formed answer to
// BeginRegistration's options.
func (*relyingParty) CheckCreation(credential []byte) error {
	_, err := protocol.ParseCredentialCreationResponseBytes(credential)
	return err
}

// CheckAssertion reports whether credential is a well-formed answer to
// BeginLogin's or BeginPasskeyLogin's options.
func (*relyingParty) CheckAssertion(credential []byte) error {
	_, err := protocol.ParseCredentialRequestResponseBytes(credential)
	return err
}
