package web

import (
	"errors"
	"net/http"

	"github.com/usher-auth/usher"
)

// Enrolment under RequireMFA over JSON: JSON clients get mfa_required with
// "mfa_enroll": true and an mfa_token, ask for a TOTP secret and enrol
// the app with its first code (pages_mfa_enroll.go has the pages).

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
