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
