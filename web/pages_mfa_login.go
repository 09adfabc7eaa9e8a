package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/usher-auth/usher"
)

// The second step of a log-in from the pages: the password was right and
// the user has a second factor. The pending log-in's token waits in a
// short-lived HttpOnly cookie; only the second factor completes it.

const pendingMFAMaxAge = 10 * 60 // seconds; the Service's own limit applies too

func (h *Handler) pendingMFACookieName() string { return h.opts.CookieName + "_mfa_pending" }

// setPendingMFA keeps a pending log-in for the second-factor page, with
// the remember-me choice made on the log-in form.
func (h *Handler) setPendingMFA(w http.ResponseWriter, r *http.Request, pending string, remember bool) {
	v := "0." + pending
	if remember {
		v = "1." + pending
	}
	http.SetCookie(w, &http.Cookie{
		Name: h.pendingMFACookieName(), Value: v, Path: "/", MaxAge: pendingMFAMaxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

// pendingMFA returns the pending log-in of the browser, if any.
func (h *Handler) pendingMFA(r *http.Request) (pending string, remember, ok bool) {
	c, err := r.Cookie(h.pendingMFACookieName())
	if err != nil {
		return "", false, false
	}
	flag, tok, found := strings.Cut(c.Value, ".")
	if !found || tok == "" {
		return "", false, false
	}
	return tok, flag == "1", true
}

func (h *Handler) mfaLoginPageRoutes() {
	p := h.opts.Prefix
	h.mux.HandleFunc("GET "+p+"/mfa/verify", func(w http.ResponseWriter, r *http.Request) {
		d := h.newPage(w, r)
		pending, _, ok := h.pendingMFA(r)
		if !ok {
			http.Redirect(w, r, h.opts.Prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
			return
		}
		h.offerSecurityKey(r, d, pending)
		h.render(w, r, http.StatusOK, "mfa_verify", d)
	})
	h.mux.HandleFunc("POST "+p+"/mfa/verify", h.form(h.mfaVerifySubmit))
}

// mfaVerifySubmit serves POST /user/mfa/verify: the code from an
// authenticator app, or a recovery code.
func (h *Handler) mfaVerifySubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	pending, remember, ok := h.pendingMFA(r)
	if !ok {
		http.Redirect(w, r, h.opts.Prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
		return
	}
	f := usher.SecondFactor{Type: "totp", Code: strings.TrimSpace(r.PostFormValue("code"))}
	if r.PostFormValue("type") == "recovery" {
		f.Type = "recovery"
	}
	if cred := r.PostFormValue("credential"); cred != "" {
		// usher-webauthn.js filled in the security key's answer.
		f = usher.SecondFactor{Type: usher.MFAFIDO, Code: cred, State: r.PostFormValue("state")}
	}
	sess, _, err := h.svc.CompleteMFALogin(r.Context(), pending, f, remember, r.PostFormValue("remember_device") != "", h.client(r))
	if err == nil || sess != nil {
		h.clearCookie(w, r, h.pendingMFACookieName())
	}
	h.afterLogin(w, r, d, sess, err, func(status int) {
		if f.Type == usher.MFAFIDO {
			d.Error = h.textIn(d, "The security key was not used. Try again.")
		} else if d.Errors["code"] == "" && d.Error != "" {
			d.Errors["code"] = d.Error
		}
		h.offerSecurityKey(r, d, pending)
		h.render(w, r, status, "mfa_verify", d)
	})
}

// offerSecurityKey sets d.Data["fido"] when the pending log-in's user has
// a security key, so that the page offers it (with usher-webauthn.js).
func (h *Handler) offerSecurityKey(r *http.Request, d *pageData, pending string) {
	if types, err := h.svc.PendingMFATypes(r.Context(), pending); err == nil && slices.Contains(types, usher.MFAFIDO) {
		d.Data["fido"] = true
	}
}
