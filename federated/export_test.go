package federated

import (
	"github.com/crewjam/saml"

	"github.com/usher-auth/usher"
)

// SAMLCrewjamOnly runs only crewjam's ServiceProvider of the SAML provider
// p on a decoded SAMLResponse, without Usher's own checks, so that the
// attack tests can show each layer holds alone.
func SAMLCrewjamOnly(p usher.FederatedProvider, raw []byte, requestID string) (*saml.Assertion, error) {
	sp, _, _ := p.(*samlProvider).serviceProvider()
	var ids []string
	if requestID != "" {
		ids = []string{requestID}
	}
	return sp.ParseXMLResponse(raw, ids, sp.AcsURL)
}

// SAMLWaitRefresh waits for the metadata refresh the SAML provider p runs
// in the background, if any.
func SAMLWaitRefresh(p usher.FederatedProvider) {
	sp := p.(*samlProvider)
	sp.mu.Lock()
	done := sp.fetching
	sp.mu.Unlock()
	if done != nil {
		<-done
	}
}
