package usher

import (
	"context"
	"errors"
	"net/http"
)

// errNotYet marks the parts of federated sign-in still to be written.
// TODO(federated): remove when the flow lands.
var errNotYet = errors.New("usher: not implemented yet")

// Providers returns the configured federated providers, in configuration
// order (for the pages' buttons).
func (s *Service) Providers() []FederatedProvider { return s.providers }

// Provider returns the configured provider named name, or nil.
func (s *Service) Provider(name string) FederatedProvider {
	for _, p := range s.providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// BeginFederated starts a federated sign-in: it keeps a new random state
// with st and the provider's saved data in the database (single-use,
// FederatedStateTTL) and returns the provider's address to send the
// browser to. ErrNotFound for an unknown provider; ErrLoginRequired for
// IntentLink without a user.
func (s *Service) BeginFederated(ctx context.Context, st FederatedStart) (authURL string, err error) {
	return "", errNotYet
}

// FinishFederated ends a federated sign-in the provider sent back to the
// callback (r, with the state it carried): it spends the state (unknown,
// used, expired, for another provider or from another browser →
// ErrFederatedRefused), lets the provider check its answer, then logs in,
// signs up or links by the state's intent (LoginWithIdentity,
// LinkIdentity). The result carries Next even with an error (an
// *MFARequiredError goes on to the second step). An empty state is an
// IdP-initiated answer, refused unless the provider allows them.
func (s *Service) FinishFederated(ctx context.Context, provider, state, browser string, r *http.Request, c Client) (*FederatedResult, error) {
	return nil, errNotYet
}

// LoginWithIdentity logs in with an identity a provider asserted (after its
// checks), by the linking rules of docs/design.md: found by (issuer,
// subject) → log in; else, with opt.Intent:
//   - no account has the address: sign up when the provider allows it,
//     the address confirmed only when EmailVerified;
//   - an account has it: IntentSignup → ErrUserExists; IntentLogin → link
//     and log in only when EmailVerified and the account's address is
//     confirmed, else ErrLinkRequired.
//
// The log-in then follows the rules of every log-in (completeLogin): a
// disabled account is refused, a second factor is asked
// (*MFARequiredError), a password lock-out is neither lifted nor in the
// way.
func (s *Service) LoginWithIdentity(ctx context.Context, ext *ExternalIdentity, intent FederatedIntent, remember bool, c Client) (*FederatedResult, error) {
	return nil, errNotYet
}

// LinkIdentity links an identity to a logged-in user (linking from the
// account page, after a fresh log-in). ErrUserExists when it is linked to
// someone (the user included). The user is e-mailed.
func (s *Service) LinkIdentity(ctx context.Context, userID string, ext *ExternalIdentity, c Client) (*Identity, error) {
	return nil, errNotYet
}

// UnlinkIdentity unlinks one of the user's identities; ErrNotFound if the
// user has no such identity, ErrLastLoginMethod if it is their only way to
// log in (no password, no other identity). The user is e-mailed.
func (s *Service) UnlinkIdentity(ctx context.Context, userID, identityID string, c Client) error {
	return errNotYet
}

// Identities returns the user's linked identities, oldest first.
func (s *Service) Identities(ctx context.Context, userID string) ([]*Identity, error) {
	return s.store.IdentitiesOfUser(ctx, userID)
}
