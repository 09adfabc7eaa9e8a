package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/usher-auth/usher"
)

// The second step of a log-in from the pages: the password was right and
// the user has a second factor. The pending log-in's token waits in a
// short-lived HttpOnly cookie; only the second factor completes it.

const pendingMFAMaxAge = 10 * 60 // seconds; the Service's own limit applies too

// mfaVerifyPage serves GET /user/mfa/verify: the second-factor step of a
// pending log-in, else the log-in page.
func (h *pageHandler) mfaVerifyPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	pending, _, ok := h.pendingOrLogIn(w, r, d)
	if !ok {
		return
	}
	h.offerFactors(r, d, pending, r.URL.Query().Get("use"))
	h.render(w, r, http.StatusOK, "mfa_verify", d)
}

// mfaVerifySubmit serves POST /user/mfa/verify: the code from an
// authenticator app, a recovery code, or the answer of a security key.
func (h *pageHandler) mfaVerifySubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	pending, remember, ok := h.pendingOrLogIn(w, r, d)
	if !ok {
		return
	}
	f := usher.SecondFactor{Type: usher.MFATOTP, Code: strings.TrimSpace(r.PostFormValue("code"))}
	if r.PostFormValue("type") == usher.MFARecovery {
		f.Type = usher.MFARecovery
	}
	use := f.Type
	if cred := r.PostFormValue("credential"); cred != "" {
		// usher-webauthn.js filled in the security key's answer.
		f = usher.SecondFactor{Type: usher.MFAFIDO, Code: cred, State: r.PostFormValue("state")}
		use = useKey
	}
	sess, _, err := h.svc.CompleteMFALogin(r.Context(), pending, f, remember, r.PostFormValue("remember_device") != "", h.client(r))
	if err == nil || sess != nil {
		h.clearCookie(w, r, h.pendingMFACookieName())
	}
	h.afterLogin(w, r, d, sess, err, func(status int) {
		// The banner says what happened (a wrong code, a code already
		// used, a key the server refused); a code's field says it too.
		if f.Type != usher.MFAFIDO && d.Errors["code"] == "" && d.Error != "" {
			d.Errors["code"] = d.Error
		}
		h.offerFactors(r, d, pending, use)
		h.render(w, r, status, "mfa_verify", d)
	})
}

// useKey is the second-factor page's mode for a security key; the other
// modes are the factor types "totp" and "recovery".
const useKey = "key"

// mfaOption is a way of giving the second factor that the page offers
// besides the one it shows: its mode and the link's text.
type mfaOption struct {
	Use, Label, URL string
}

// offerFactors sets what the second-factor page shows: Data["use"], the
// way asked for (use) if the pending log-in's user has it, else the first
// they have — the authenticator app, a security key, a recovery code;
// Data["fido"] when they have a security key (usher-webauthn.js offers
// it); Data["options"], links to their other ways. When the pending
// log-in cannot be read, it offers the app's code and a recovery code.
func (h *pageHandler) offerFactors(r *http.Request, d *pageData, pending, use string) {
	types, err := h.svc.PendingMFATypes(r.Context(), pending)
	if err != nil {
		types = []string{usher.MFATOTP, usher.MFARecovery}
	}
	var modes []string
	for _, t := range []string{usher.MFATOTP, usher.MFAFIDO, usher.MFARecovery} {
		if slices.Contains(types, t) {
			if t == usher.MFAFIDO {
				t = useKey
			}
			modes = append(modes, t)
		}
	}
	if len(modes) == 0 {
		modes = []string{usher.MFATOTP}
	}
	if !slices.Contains(modes, use) {
		use = modes[0]
	}
	d.Data["use"] = use
	d.Data["fido"] = slices.Contains(modes, useKey)
	labels := map[string]string{
		usher.MFATOTP:     "Use your authenticator app",
		useKey:            "Use your security key",
		usher.MFARecovery: "Use a recovery code",
	}
	var options []mfaOption
	for _, m := range modes {
		// With the app's code the page has the key's button already.
		if m == use || (m == useKey && use == usher.MFATOTP) {
			continue
		}
		q := url.Values{"use": {m}}
		if d.Next != "" {
			q.Set("next", d.Next)
		}
		options = append(options, mfaOption{Use: m, Label: labels[m], URL: h.prefix + "/mfa/verify?" + q.Encode()})
	}
	d.Data["options"] = options
}

// pendingOrLogIn returns the browser's pending log-in (see pendingMFA);
// without one it sends the browser back to the log-in page and reports
// false.
func (h *pageHandler) pendingOrLogIn(w http.ResponseWriter, r *http.Request, d *pageData) (pending string, remember, ok bool) {
	pending, remember, ok = h.pendingMFA(r)
	if !ok {
		h.backToLogIn(w, r, d)
	}
	return pending, remember, ok
}

// backToLogIn sends the browser to the log-in page, keeping next.
func (h *pageHandler) backToLogIn(w http.ResponseWriter, r *http.Request, d *pageData) {
	http.Redirect(w, r, h.prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
}
