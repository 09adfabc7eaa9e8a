package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/usher-auth/usher"
)

// Enrolment under RequireMFA: a user without a second factor who logs in
// sets up an authenticator app before any session starts. JSON clients
// get mfa_required with "mfa_enroll": true and an mfa_token; the pages
// keep the token in the pending-log-in cookie.

// enrollPage serves GET /user/mfa/enroll: set up an authenticator app to
// finish logging in.
func (h *pageHandler) enrollPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	pending, _, ok := h.pendingOrLogIn(w, r, d)
	if !ok {
		return
	}
	setup, err := h.svc.GenerateEnrollmentTOTPSecret(r.Context(), pending)
	if err != nil {
		h.clearCookie(w, r, h.pendingMFACookieName())
		h.flash(w, r, "invalid_token", true)
		h.backToLogIn(w, r, d)
		return
	}
	d.Data["setup"] = &totpSetup{Secret: setup.Secret, Method: setup.Method, QRCode: qrURL(setup.QRCode)}
	h.render(w, r, http.StatusOK, "mfa_enroll", d)
}

// enrollSubmit serves POST /user/mfa/enroll; on success the page shows the
// new recovery codes once, then goes on.
func (h *pageHandler) enrollSubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	pending, remember, ok := h.pendingOrLogIn(w, r, d)
	if !ok {
		return
	}
	method := r.PostFormValue("mfa_method")
	sess, u, err := h.svc.CompleteMFAEnrollment(r.Context(), pending, method, strings.TrimSpace(r.PostFormValue("code")), r.PostFormValue("name"), remember, h.client(r))
	if sess == nil {
		status := h.formError(r, d, err)
		if errors.Is(err, usher.ErrInvalidToken) {
			h.clearCookie(w, r, h.pendingMFACookieName())
		}
		setup := &totpSetup{Method: method, QRCode: qrURL(r.PostFormValue("qr_code"))}
		if s := r.PostFormValue("secret"); len(s) <= 128 && secretPattern.MatchString(s) {
			setup.Secret = s
		}
		d.Data["setup"] = setup
		h.render(w, r, status, "mfa_enroll", d)
		return
	}
	h.clearCookie(w, r, h.pendingMFACookieName())
	h.setSessionCookies(w, r, sess)
	if errors.Is(err, usher.ErrPasswordResetRequested) {
		h.flash(w, r, "password_reset_requested", true)
		http.Redirect(w, r, h.prefix+"/change-password"+nextQuery(d.Next), http.StatusSeeOther)
		return
	}
	codes, err := h.svc.NewRecoveryCodes(r.Context(), u.ID, h.client(r))
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	d.User = u
	d.Data["codes"] = codes
	next := d.Next
	if next == "" {
		next = h.opts.AfterLoginURL
	}
	d.Data["continue"] = next
	h.render(w, r, http.StatusOK, "mfa_enroll", d)
}
