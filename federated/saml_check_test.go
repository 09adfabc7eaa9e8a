package federated

import (
	"errors"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/usher-auth/usher"
)

// TestSAMLOwnChecks: Usher's checks of an assertion, on their own (crewjam
// makes most of them too; these hold whatever a later crewjam does).
func TestSAMLOwnChecks(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	p := &samlProvider{
		name: "acme", idpEntityID: "https://idp.example.com",
		entityID: "https://usher.example.com/user/saml/acme/metadata",
		acsURL:   "https://usher.example.com/user/saml/acme/acs",
	}
	honest := func() *saml.Assertion {
		return &saml.Assertion{
			ID: "_a1", IssueInstant: now.Add(-10 * time.Second),
			Issuer: saml.Issuer{Value: p.idpEntityID},
			Subject: &saml.Subject{
				NameID: &saml.NameID{Value: "alice@example.com"},
				SubjectConfirmations: []saml.SubjectConfirmation{{
					Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
					SubjectConfirmationData: &saml.SubjectConfirmationData{
						Recipient: p.acsURL, InResponseTo: "id-1", NotOnOrAfter: now.Add(4 * time.Minute),
					},
				}},
			},
			Conditions: &saml.Conditions{
				NotBefore: now.Add(-time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
				AudienceRestrictions: []saml.AudienceRestriction{{Audience: saml.Audience{Value: p.entityID}}},
			},
			AuthnStatements: []saml.AuthnStatement{{}},
		}
	}
	scd := func(a *saml.Assertion) *saml.SubjectConfirmationData {
		return a.Subject.SubjectConfirmations[0].SubjectConfirmationData
	}
	tests := []struct {
		name   string
		change func(a *saml.Assertion)
	}{
		{"no ID", func(a *saml.Assertion) { a.ID = "" }},
		{"another issuer", func(a *saml.Assertion) { a.Issuer.Value = "https://evil.example.com" }},
		{"issued 6 minutes ago", func(a *saml.Assertion) { a.IssueInstant = now.Add(-6 * time.Minute) }},
		{"issued 3 minutes ahead", func(a *saml.Assertion) { a.IssueInstant = now.Add(3 * time.Minute) }},
		{"no IssueInstant", func(a *saml.Assertion) { a.IssueInstant = time.Time{} }},
		{"no Conditions", func(a *saml.Assertion) { a.Conditions = nil }},
		{"not yet valid", func(a *saml.Assertion) { a.Conditions.NotBefore = now.Add(3 * time.Minute) }},
		{"expired", func(a *saml.Assertion) { a.Conditions.NotOnOrAfter = now.Add(-3 * time.Minute) }},
		{"no AudienceRestriction", func(a *saml.Assertion) { a.Conditions.AudienceRestrictions = nil }},
		{"another audience", func(a *saml.Assertion) {
			a.Conditions.AudienceRestrictions[0].Audience.Value = "https://other.example.com"
		}},
		{"a second restriction without us", func(a *saml.Assertion) {
			a.Conditions.AudienceRestrictions = append(a.Conditions.AudienceRestrictions, saml.AudienceRestriction{Audience: saml.Audience{Value: "https://other.example.com"}})
		}},
		{"no Subject", func(a *saml.Assertion) { a.Subject = nil }},
		{"no NameID", func(a *saml.Assertion) { a.Subject.NameID = nil }},
		{"empty NameID", func(a *saml.Assertion) { a.Subject.NameID.Value = "" }},
		{"padded NameID", func(a *saml.Assertion) { a.Subject.NameID.Value = " alice@example.com" }},
		{"no bearer confirmation", func(a *saml.Assertion) {
			a.Subject.SubjectConfirmations[0].Method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
		}},
		{"no SubjectConfirmationData", func(a *saml.Assertion) { a.Subject.SubjectConfirmations[0].SubjectConfirmationData = nil }},
		{"another recipient", func(a *saml.Assertion) { scd(a).Recipient = "https://other.example.com/acs" }},
		{"another request", func(a *saml.Assertion) { scd(a).InResponseTo = "id-2" }},
		{"no request", func(a *saml.Assertion) { scd(a).InResponseTo = "" }},
		{"confirmation expired", func(a *saml.Assertion) { scd(a).NotOnOrAfter = now.Add(-3 * time.Minute) }},
		{"confirmation without NotOnOrAfter", func(a *saml.Assertion) { scd(a).NotOnOrAfter = time.Time{} }},
		{"confirmation not yet valid", func(a *saml.Assertion) { scd(a).NotBefore = now.Add(3 * time.Minute) }},
		{"no AuthnStatement", func(a *saml.Assertion) { a.AuthnStatements = nil }},
	}
	until, err := p.checkAssertion(honest(), "id-1", now)
	if err != nil {
		t.Fatalf("honest assertion: %v", err)
	}
	// Recorded until the earliest deadline: here the IssueInstant's.
	if want := now.Add(-10*time.Second + samlMaxAge + samlSkew); !until.Equal(want) {
		t.Errorf("until = %s, want %s", until, want)
	}
	// Or the confirmation's, with the skew.
	a := honest()
	scd(a).NotOnOrAfter = now.Add(time.Minute)
	if until, err := p.checkAssertion(a, "id-1", now); err != nil || !until.Equal(now.Add(time.Minute+samlSkew)) {
		t.Errorf("until = %s, %v; want %s", until, err, now.Add(time.Minute+samlSkew))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := honest()
			tt.change(a)
			if _, err := p.checkAssertion(a, "id-1", now); !errors.Is(err, usher.ErrFederatedRefused) {
				t.Errorf("checkAssertion = %v, want ErrFederatedRefused", err)
			}
		})
	}
}

// TestSAMLInspect: the shape checks on the posted document.
func TestSAMLInspect(t *testing.T) {
	const head = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Destination="d" InResponseTo="i">`
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"one assertion", head + `<saml:Issuer>x</saml:Issuer><saml:Assertion><saml:Subject><saml:NameID>a@b</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>`, true},
		{"an encrypted assertion", head + `<saml:EncryptedAssertion/></samlp:Response>`, true},
		{"two assertions", head + `<saml:Assertion/><saml:Assertion/></samlp:Response>`, false},
		{"an assertion and an encrypted one", head + `<saml:Assertion/><saml:EncryptedAssertion/></samlp:Response>`, false},
		{"an assertion nested in an attribute value", head + `<saml:Assertion><saml:AttributeValue><saml:Assertion/></saml:AttributeValue></saml:Assertion></samlp:Response>`, false},
		{"a comment in the NameID", head + `<saml:Assertion><saml:NameID>a@b<!---->.c</saml:NameID></saml:Assertion></samlp:Response>`, false},
		{"markup in the NameID", head + `<saml:Assertion><saml:NameID>a@b<x/>.c</saml:NameID></saml:Assertion></samlp:Response>`, false},
		{"a processing instruction in the NameID", head + `<saml:Assertion><saml:NameID>a@b<?x y?>.c</saml:NameID></saml:Assertion></samlp:Response>`, false},
		{"a DOCTYPE", `<!DOCTYPE x>` + head + `</samlp:Response>`, false},
		{"not a Response", `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`, false},
		{"a Response in another namespace", `<Response xmlns="urn:evil"/>`, false},
		{"not XML", `{"a":1}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := inspectSAMLResponse([]byte(tt.doc))
			if (err == nil) != tt.ok {
				t.Fatalf("inspectSAMLResponse = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (s.destination != "d" || s.inResponseTo != "i") {
				t.Errorf("shape = %+v", s)
			}
		})
	}
}
