package usher

// Paths of the pages that e-mailed links open, under Config.Prefix. The
// Service writes them into the links it mails; package web serves those
// pages at the same paths. They are declared only here.
const (
	PathConfirmEmail  = "/confirm-email"  // + "/" + token (TokenConfirmEmail)
	PathResetPassword = "/reset-password" // + "/" + token (TokenResetPassword)
	PathLoginLink     = "/login-link"     // + "/" + token (TokenLoginLink)
	PathMFAReset      = "/mfa-reset"      // + "/" + token (TokenMFAReset)
	PathRegister      = "/register"       // + "?token=" + token (TokenInvitation)
)

// link returns the absolute URL of path (one of the Path constants, with
// its token) as e-mails carry it: BaseURL + LinkPrefix (by default Prefix)
// + path.
func (s *Service) link(path string) string {
	return s.cfg.BaseURL + s.cfg.LinkPrefix + path
}

// Paths of federated sign-in, under Config.Prefix: PathFederated + "/" +
// name + "/start" and "/callback" (OAuth and OpenID Connect), PathSAML +
// "/" + name + "/metadata" and "/acs" (SAML).
const (
	PathFederated = "/federated"
	PathSAML      = "/saml"
)

// FederatedCallbackURL is the address a provider sends the browser back
// to, the redirect URI to register with it: the callback, or for SAML the
// assertion consumer service. baseURL and prefix are Config.BaseURL and
// Config.Prefix.
func FederatedCallbackURL(baseURL, prefix, name, kind string) string {
	if kind == ProviderSAML {
		return baseURL + prefix + PathSAML + "/" + name + "/acs"
	}
	return baseURL + prefix + PathFederated + "/" + name + "/callback"
}

// SAMLMetadataURL is where a SAML provider's service-provider metadata is
// published; it is also the service provider's entity ID.
func SAMLMetadataURL(baseURL, prefix, name string) string {
	return baseURL + prefix + PathSAML + "/" + name + "/metadata"
}
