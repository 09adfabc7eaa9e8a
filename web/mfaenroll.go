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

type enrollBody struct {
	MFAToken  string `json:"mfa_token"`
	MFAMethod string `json:"mfa_method"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Remember  bool   `json:"remember"`
	Bearer    bool   `json:"bearer"`
}

// handleEnrollSecret serves POST /user/api/mfa/enroll/secret: a TOTP secret
// for the user of a pending enrolment, as /api/mfa/totp/secret answers.
func (h *apiHandler) handleEnrollSecret(w http.ResponseWriter, r *http.Request) {
	var b enrollBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	setup, err := h.svc.GenerateEnrollmentTOTPSecret(r.Context(), b.MFAToken)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secret": setup.Secret, "otpauth_uri": setup.URI, "qr_code": setup.QRCode, "mfa_method": setup.Method})
}

// handleEnroll serves POST /user/api/mfa/enroll: the method and a code of
// the new app complete the log-in; the answer is a log-in's, with the
// user's first recovery codes ("recovery_codes"), shown this once.
func (h *apiHandler) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var b enrollBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	sess, u, err := h.svc.CompleteMFAEnrollment(r.Context(), b.MFAToken, b.MFAMethod, b.Code, b.Name, b.Remember, h.client(r))
	if err != nil && !(errors.Is(err, usher.ErrPasswordResetRequested) && sess != nil) {
		h.writeError(w, r, err)
		return
	}
	codes, err := h.svc.NewRecoveryCodes(r.Context(), u.ID, h.client(r))
	if err != nil {
		h.log.Error("usher: recovery codes after enrolment", "err", err)
	}
	body := map[string]any{"user": toUserJSON(u), "recovery_codes": codes}
	sj := toSessionJSON(sess)
	if b.Bearer {
		sj.Token = sess.Token
	} else {
		h.setSessionCookies(w, r, sess)
	}
	body["session"] = sj
	writeJSON(w, http.StatusOK, body)
}

// enrollPage serves GET /user/mfa/enroll: set up an authenticator app to
// finish logging in.
func (h *pageHandler) enrollPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	pending, _, ok := h.pendingMFA(r)
	if !ok {
		http.Redirect(w, r, h.prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
		return
	}
	setup, err := h.svc.GenerateEnrollmentTOTPSecret(r.Context(), pending)
	if err != nil {
		h.clearCookie(w, r, h.pendingMFACookieName())
		h.flash(w, r, "invalid_token", true)
		http.Redirect(w, r, h.prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
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
	pending, remember, ok := h.pendingMFA(r)
	if !ok {
		http.Redirect(w, r, h.prefix+"/login"+nextQuery(d.Next), http.StatusSeeOther)
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
