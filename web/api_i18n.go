package web

import (
	"net/http"

	"github.com/usher-auth/usher"
)

type i18nJSON struct {
	Lang          string               `json:"lang"`
	Dir           string               `json:"dir"`
	Languages     []languageJSON       `json:"languages"`
	Messages      map[string]string    `json:"messages"`
	LoginWith     string               `json:"login_with"`
	Signup        bool                 `json:"signup"`
	Username      bool                 `json:"username"`
	RememberMe    bool                 `json:"remember_me"`
	LoginLink     bool                 `json:"login_link"`
	MFAReset      bool                 `json:"mfa_reset"`
	WebAuthn      bool                 `json:"webauthn"`
	Passkeys      bool                 `json:"passkeys"`
	RequireMFA    bool                 `json:"require_mfa"`
	ProfileFields []usher.ProfileField `json:"profile_fields"`
	// Providers are the federated providers, for usher.js's buttons.
	Providers []providerJSON `json:"providers"`
	// LinkPaths maps the paths of e-mailed links usher.js acts on to
	// what it does with them (confirm, reset, login): see handleLinks.
	LinkPaths map[string]string `json:"link_paths"`
}

// jsLinkPaths are the e-mailed links usher.js's handleLinks takes in the
// address's fragment (Config.LinkPrefix with a "#"), by their path.
var jsLinkPaths = map[string]string{
	usher.PathConfirmEmail: "confirm", usher.PathResetPassword: "reset", usher.PathLoginLink: "login",
}

// providerJSON is a federated provider as usher.js shows it: its name
// (usher.loginWithProvider's argument), its label, and whether it logs
// in and signs up.
type providerJSON struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Login  bool   `json:"login"`
	Signup bool   `json:"signup"`
}

type languageJSON struct {
	Tag  string `json:"tag"`
	Name string `json:"name"`
	RTL  bool   `json:"rtl,omitempty"`
}

// handleI18n serves GET /user/api/i18n: what usher.js needs to draw its
// dialogs: the messages in the request's language and the shape of the
// forms (how users log in, whether they may sign up, the profile fields).
func (h *apiHandler) handleI18n(w http.ResponseWriter, r *http.Request) {
	lang := h.lang(r)
	cfg := h.svc.Config()
	out := i18nJSON{
		Lang: lang, Dir: h.cat.Dir(lang), Messages: h.cat.Messages(lang),
		LoginWith: cfg.LoginWith, Signup: !cfg.DisableRegistration && !cfg.RequireInvitation,
		Username: cfg.EnableUsername, RememberMe: !cfg.DisableRememberMe, LoginLink: cfg.EnableLoginLink,
		MFAReset:      cfg.AllowMFAEmailReset,
		WebAuthn:      h.svc.WebAuthnAvailable(),
		Passkeys:      h.svc.PasskeysEnabled(),
		RequireMFA:    cfg.RequireMFA,
		ProfileFields: cfg.ProfileFields,
		LinkPaths:     jsLinkPaths,
	}
	out.Providers = []providerJSON{}
	for _, p := range h.svc.Providers() {
		out.Providers = append(out.Providers, providerJSON{Name: p.Name(), Label: p.Label(), Login: p.AllowLogin() || p.AllowSignup(), Signup: p.AllowSignup()})
	}
	if out.ProfileFields == nil {
		out.ProfileFields = []usher.ProfileField{}
	}
	for _, l := range h.cat.Languages() {
		out.Languages = append(out.Languages, languageJSON{Tag: l.Tag, Name: l.Name, RTL: l.RTL})
	}
	writeJSON(w, http.StatusOK, out)
}
