package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// Federated sign-in from the browser: the start of a sign-in at a
// configured provider (/federated/{name}/start), its way back
// (/federated/{name}/callback, or for SAML the assertion consumer service
// /saml/{name}/acs), and a SAML provider's metadata. The Service runs the
// sign-in (BeginFederated, FinishFederated); these handlers bind it to
// the browser that started it, check next, and end it as a password
// log-in ends: the session's cookies, the second-factor step, or the
// log-in page with the error.

const (
	// federatedMaxAge is how long the browser's binding cookie lives: the
	// Service's state expires as soon (usher.FederatedStateTTL).
	federatedMaxAge = 10 * 60 // seconds
	// linkFreshness is how recent a log-in must be to link an account:
	// an older session (a remembered one, a shared computer left logged
	// in) must log in again first.
	linkFreshness = 10 * time.Minute
	// maxSAMLBody bounds the body of the SAML assertion consumer service:
	// a signed response with its certificate is a few kilobytes, base64
	// encoded in a form.
	maxSAMLBody = 256 << 10
)

// federatedCookieName names the cookie that binds a federated sign-in to
// the browser that started it. Its Path is the provider's own (see
// federatedCookiePath), so sign-ins at two providers do not meet.
func (h *core) federatedCookieName() string { return h.opts.CookieName + "_federated" }

// isSAML reports whether p answers at the SAML assertion consumer service
// (a cross-site POST) rather than at the callback (a GET).
func isSAML(p usher.FederatedProvider) bool {
	if p.Kind() == usher.ProviderSAML {
		return true
	}
	_, ok := p.(usher.MetadataProvider)
	return ok
}

// federatedCookiePath is where the browser sends the binding cookie of
// p's sign-ins: only to the address the provider sends it back to.
func (h *core) federatedCookiePath(p usher.FederatedProvider) string {
	if isSAML(p) {
		return h.prefix + usher.PathSAML + "/" + p.Name()
	}
	return h.prefix + usher.PathFederated + "/" + p.Name()
}

// federatedCookie returns the binding cookie of p's sign-ins with value
// (MaxAge -1 clears it). A SAML IdP posts its answer from its own site:
// a SameSite=Lax cookie would not come with it, so SAML's is
// SameSite=None, which browsers take only with Secure; on plain-http
// development (no Secure) it stays Lax, and works with an IdP on the same
// site (localhost on another port). OAuth and OpenID Connect providers
// send the browser back with a GET, which carries Lax cookies.
func (h *core) federatedCookie(r *http.Request, p usher.FederatedProvider, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name: h.federatedCookieName(), Value: value, Path: h.federatedCookiePath(p), MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	}
	if isSAML(p) && c.Secure {
		c.SameSite = http.SameSiteNoneMode
	}
	return c
}

// browserHash is what FederatedStart.Browser and FinishFederated compare:
// the SHA-256 of the binding cookie's value, so that the database never
// holds the value itself.
func browserHash(value string) string {
	if value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// federatedBinding returns the browser's binding cookie for p's sign-in,
// its hash and the remember-me choice made at the start ("1." or "0."
// before the random part: changing it changes the hash, so it cannot be
// turned on on the way back).
func (h *core) federatedBinding(r *http.Request) (hash string, remember bool) {
	c, err := r.Cookie(h.federatedCookieName())
	if err != nil || c.Value == "" {
		return "", false
	}
	return browserHash(c.Value), strings.HasPrefix(c.Value, "1.")
}

// federatedProvider returns the provider of the request's {name}, or
// answers 404 and returns nil.
func (h *pageHandler) federatedProvider(w http.ResponseWriter, r *http.Request) usher.FederatedProvider {
	p := h.svc.Provider(r.PathValue("name"))
	if p == nil {
		h.pageError(w, r, usher.ErrNotFound)
	}
	return p
}

// federatedStart serves GET /user/federated/{name}/start?intent=&next=&remember=:
// it binds a new sign-in to the browser (a random value in a cookie, its
// hash in the Service's state) and sends the browser to the provider.
// intent=link needs a log-in within linkFreshness; an older session is
// sent to log in again, and comes back here.
func (h *pageHandler) federatedStart(w http.ResponseWriter, r *http.Request) {
	p := h.federatedProvider(w, r)
	if p == nil {
		return
	}
	q := r.URL.Query()
	intent := usher.FederatedIntent(q.Get("intent"))
	switch intent {
	case "":
		intent = usher.IntentLogin
	case usher.IntentLogin, usher.IntentSignup, usher.IntentLink:
	default:
		h.pageError(w, r, errBadRequest)
		return
	}
	next := h.nextParam(r)
	st := usher.FederatedStart{Provider: p.Name(), Intent: intent, Next: next, Client: h.client(r),
		Remember: q.Get("remember") != "" && q.Get("remember") != "0" && !h.svc.Config().DisableRememberMe}
	if intent == usher.IntentLink {
		// Linking is started from the account page (or the site's own
		// pages): another site cannot start it in the user's browser,
		// which could link the provider account the browser is signed
		// in to there without the user asking.
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
			return
		}
		a, _ := h.authenticate(r, true)
		if a == nil || a.sess == nil {
			http.Redirect(w, r, h.prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if h.svc.Now().Sub(a.sess.CreatedAt) > linkFreshness {
			h.flash(w, r, tr("Log in again to link an account."), false)
			http.Redirect(w, r, h.prefix+"/login?reauth=1&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		st.UserID = a.user.ID
	}
	flag := "0."
	if st.Remember {
		flag = "1."
	}
	value := flag + rand.Text()
	st.Browser = browserHash(value)
	authURL, err := h.svc.BeginFederated(r.Context(), st)
	if err != nil {
		h.federatedFailed(w, r, intent, next, err)
		return
	}
	http.SetCookie(w, h.federatedCookie(r, p, value, federatedMaxAge))
	// The provider's address: not a local path, and not one that came
	// with the request (the provider made it).
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// federatedCallback serves GET /user/federated/{name}/callback, where an
// OAuth or OpenID Connect provider sends the browser back.
func (h *pageHandler) federatedCallback(w http.ResponseWriter, r *http.Request) {
	p := h.federatedProvider(w, r)
	if p == nil {
		return
	}
	if isSAML(p) {
		h.pageError(w, r, usher.ErrNotFound)
		return
	}
	h.federatedFinish(w, r, p, r.URL.Query().Get("state"))
}

// samlACS serves POST /user/saml/{name}/acs, the assertion consumer
// service a SAML IdP posts its answer to (SAMLResponse, RelayState). The
// post comes from the IdP's site: it carries no CSRF token and is let
// through the cross-origin check; the RelayState is the sign-in's
// single-use state, bound to this browser by its cookie, and the
// response's signature is the provider's to check.
func (h *pageHandler) samlACS(w http.ResponseWriter, r *http.Request) {
	p := h.federatedProvider(w, r)
	if p == nil {
		return
	}
	if !isSAML(p) {
		h.pageError(w, r, usher.ErrNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSAMLBody)
	if err := r.ParseForm(); err != nil {
		h.pageError(w, r, errBadRequest)
		return
	}
	h.federatedFinish(w, r, p, r.PostFormValue("RelayState"))
}

// samlMetadata serves GET /user/saml/{name}/metadata: the service
// provider's metadata of a provider that publishes some, else 404.
func (h *pageHandler) samlMetadata(w http.ResponseWriter, r *http.Request) {
	p := h.federatedProvider(w, r)
	if p == nil {
		return
	}
	mp, ok := p.(usher.MetadataProvider)
	if !ok {
		h.pageError(w, r, usher.ErrNotFound)
		return
	}
	b, err := mp.Metadata()
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(b)
}

// federatedFinish ends the sign-in the browser brought back: the Service
// checks the state (with this browser's binding) and the provider's
// answer; the binding cookie is cleared whatever the outcome.
func (h *pageHandler) federatedFinish(w http.ResponseWriter, r *http.Request, p usher.FederatedProvider, state string) {
	hash, remember := h.federatedBinding(r)
	http.SetCookie(w, h.federatedCookie(r, p, "", -1))
	res, err := h.svc.FinishFederated(r.Context(), p.Name(), state, hash, r, h.client(r))
	intent, next := usher.IntentLogin, ""
	var sess *usher.Session
	if res != nil {
		intent, sess = res.Intent, res.Session
		next, _ = LocalLocation(res.Next)
	}
	if sess != nil {
		h.setSessionCookies(w, r, sess)
	}
	switch {
	case h.nextStep(w, r, next, remember, sess, err):
	case err != nil:
		h.federatedFailed(w, r, intent, next, err)
	case intent == usher.IntentLink:
		h.flash(w, r, tr("The account has been linked."), false)
		redirectLocal(w, r, next, h.prefix+"/profile")
	case sess == nil:
		// Signed up, but the account may not log in yet (it awaits an
		// administrator's approval).
		h.flash(w, r, tr("Your account is created. You can log in once an administrator has approved it."), false)
		http.Redirect(w, r, h.prefix+"/login"+nextQuery(next), http.StatusSeeOther) // #nosec G710 -- our own page; next, escaped in its query, is checked when used
	default:
		def := h.opts.AfterLoginURL
		if res.Created {
			h.flash(w, r, tr("account_created"), false)
			def = h.opts.AfterRegisterURL
		}
		redirectLocal(w, r, next, def)
	}
}

// federatedFailed sends the browser back to where the sign-in was started
// from — the log-in page, the sign-up page for intent signup, the account
// page for intent link — with err's message (in the catalogue, as a flash
// message) and next kept. Internal errors are logged by classify.
func (h *pageHandler) federatedFailed(w http.ResponseWriter, r *http.Request, intent usher.FederatedIntent, next string, err error) {
	_, e := h.classify(r, err)
	id := identityMessage(h.svc.Config(), e.Code)
	if e.Reason != "" {
		id = e.Reason
	}
	h.flash(w, r, id, true)
	switch intent {
	case usher.IntentLink:
		http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
	case usher.IntentSignup:
		http.Redirect(w, r, h.prefix+usher.PathRegister+nextQuery(next), http.StatusSeeOther) // #nosec G710 -- our own page; next, escaped in its query, is checked when used
	default:
		http.Redirect(w, r, h.prefix+"/login"+nextQuery(next), http.StatusSeeOther) // #nosec G710 -- as above
	}
}

// providerButton is one "Log in with …" link of the log-in and sign-up
// pages, or "Link a … account" of the account page.
type providerButton struct {
	Name, Label, URL string
	Text             string // message ID, with %s for Label
}

// providerButtons returns the buttons of the configured providers for
// intent: every provider that allows log-in (login), or sign-up (signup),
// each a link to its start with next (and remember-me, which the log-in
// form has ticked by default) carried.
func (h *core) providerButtons(intent usher.FederatedIntent, next string) []providerButton {
	var out []providerButton
	for _, p := range h.svc.Providers() {
		if (intent == usher.IntentSignup && !p.AllowSignup()) || (intent != usher.IntentSignup && !p.AllowLogin() && !p.AllowSignup()) {
			continue
		}
		text := tr("Log in with %s")
		if intent == usher.IntentSignup {
			text = tr("Sign up with %s")
		}
		out = append(out, providerButton{Name: p.Name(), Label: p.Label(), URL: h.federatedStartURL(p.Name(), intent, next), Text: text})
	}
	return out
}

// federatedStartURL is the start of a sign-in at provider name.
func (h *core) federatedStartURL(name string, intent usher.FederatedIntent, next string) string {
	q := url.Values{}
	if intent != usher.IntentLogin {
		q.Set("intent", string(intent))
	}
	if next != "" {
		q.Set("next", next)
	}
	if intent != usher.IntentLink && !h.svc.Config().DisableRememberMe {
		q.Set("remember", "1")
	}
	u := h.prefix + usher.PathFederated + "/" + url.PathEscape(name) + "/start"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// identityRow is one linked account in the account page's list.
type identityRow struct {
	ID, Label, Email      string
	Linked, LinkedISO     string
	LastUsed, LastUsedISO string
}

// linkedAccounts sets the account page's "Linked accounts": the user's
// identities, and a link button for each configured provider they have
// none of. It is left out when there are neither.
func (h *pageHandler) linkedAccounts(r *http.Request, d *pageData, a *auth) error {
	list, err := h.svc.Identities(r.Context(), a.user.ID)
	if err != nil {
		return err
	}
	linked := map[string]bool{}
	rows := make([]identityRow, len(list))
	for i, id := range list {
		label := id.Provider
		if p := h.svc.Provider(id.Provider); p != nil {
			label = p.Label()
		}
		linked[id.Provider] = true
		rows[i] = identityRow{ID: id.ID, Label: label, Email: id.Email,
			Linked: pageTime(id.LinkedAt), LinkedISO: isoTime(id.LinkedAt),
			LastUsed: pageTime(id.LastUsedAt), LastUsedISO: isoTime(id.LastUsedAt)}
	}
	var buttons []providerButton
	for _, p := range h.svc.Providers() {
		if !linked[p.Name()] && p.AllowLogin() {
			buttons = append(buttons, providerButton{Name: p.Name(), Label: p.Label(), Text: tr("Link a %s account"),
				URL: h.federatedStartURL(p.Name(), usher.IntentLink, h.prefix+"/profile")})
		}
	}
	if len(rows) > 0 || len(buttons) > 0 {
		d.Data["identities"], d.Data["linkButtons"], d.Data["linkedAccounts"] = rows, buttons, true
	}
	return nil
}

// unlinkSubmit serves POST /user/profile/identities/{id}/unlink.
func (h *pageHandler) unlinkSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	if err := h.svc.UnlinkIdentity(r.Context(), a.user.ID, r.PathValue("id"), h.client(r)); err != nil {
		h.federatedFailed(w, r, usher.IntentLink, "", err)
		return
	}
	h.flash(w, r, tr("The account has been unlinked."), false)
	http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
}
