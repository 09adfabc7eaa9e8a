package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/usher-auth/usher"
)

// The second factors over JSON (Anvil's anvil.users.mfa).

type mfaLoginBody struct {
	MFAToken       string             `json:"mfa_token"`
	MFA            usher.SecondFactor `json:"mfa"`
	Remember       bool               `json:"remember"`
	RememberDevice bool               `json:"remember_device"`
	Bearer         bool               `json:"bearer"`
}

// handleMFALogin serves POST /user/api/mfa/login: the second step of a
// log-in that answered mfa_required, with its mfa_token.
func (h *apiHandler) handleMFALogin(w http.ResponseWriter, r *http.Request) {
	var b mfaLoginBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	sess, u, err := h.svc.CompleteMFALogin(r.Context(), b.MFAToken, b.MFA, b.Remember, b.RememberDevice, h.client(r))
	if err != nil && !(errors.Is(err, usher.ErrPasswordResetRequested) && sess != nil) {
		h.writeError(w, r, err)
		return
	}
	h.loginAnswer(w, r, http.StatusOK, u, sess, b.Bearer)
}

// handleTOTPSecret serves POST /user/api/mfa/totp/secret (Anvil's
// generate_totp_secret): {secret, otpauth_uri, qr_code, mfa_method}.
func (h *apiHandler) handleTOTPSecret(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	setup, err := h.svc.GenerateTOTPSecret(r.Context(), a.user)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secret": setup.Secret, "otpauth_uri": setup.URI, "qr_code": setup.QRCode, "mfa_method": setup.Method})
}

type mfaMethodBody struct {
	Password      string `json:"password"`
	MFAMethod     string `json:"mfa_method"`
	Code          string `json:"code"`
	Name          string `json:"name"`
	ClearExisting bool   `json:"clear_existing"`
}

// handleTOTPValidate serves POST /user/api/mfa/totp/validate: {valid}.
func (h *apiHandler) handleTOTPValidate(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.requireAuth(w, r); !ok {
		return
	}
	var b mfaMethodBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	valid, err := h.svc.ValidateTOTPCode(b.MFAMethod, b.Code)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": valid})
}

type mfaMethodJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toMFAMethodJSON(m *usher.MFAMethod) mfaMethodJSON {
	j := mfaMethodJSON{ID: m.ID, Type: m.Type, Name: m.Name, CreatedAt: m.CreatedAt}
	if !m.LastUsedAt.IsZero() {
		t := m.LastUsedAt
		j.LastUsedAt = &t
	}
	return j
}

// handleListMFAMethods serves GET /user/api/mfa/methods.
func (h *apiHandler) handleListMFAMethods(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	h.writeMFAMethods(w, r, a.user.ID, "methods")
}

// writeMFAMethods answers with the user's second factors (never their
// secrets) under key.
func (h *core) writeMFAMethods(w http.ResponseWriter, r *http.Request, userID, key string) {
	list, err := h.svc.ListMFAMethods(r.Context(), userID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]mfaMethodJSON, len(list))
	for i, m := range list {
		out[i] = toMFAMethodJSON(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{key: out})
}

// handleAddMFAMethod serves POST /user/api/mfa/methods (Anvil's
// add_mfa_method): {password, mfa_method, code, name, clear_existing}.
func (h *apiHandler) handleAddMFAMethod(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	var b mfaMethodBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	m, err := h.svc.AddMFAMethod(r.Context(), a.sess, b.Password, b.MFAMethod, b.Code, b.Name, b.ClearExisting, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"method": toMFAMethodJSON(m)})
}

// handleAvailableMFA serves POST /user/api/mfa/available (Anvil's
// get_available_mfa_types): {email|username|login, password} → {types}.
func (h *apiHandler) handleAvailableMFA(w http.ResponseWriter, r *http.Request) {
	var b loginBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	types, err := h.svc.AvailableMFATypes(r.Context(), usher.Credentials{Email: b.Email, Username: b.Username, Login: b.Login, Password: b.Password}, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if types == nil {
		types = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": types})
}

type mfaResetBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// handleMFAResetConfirm serves POST /user/api/mfa/reset/confirm: the
// token of an MFA-reset link and the password turn the second factors off.
func (h *apiHandler) handleMFAResetConfirm(w http.ResponseWriter, r *http.Request) {
	var b mfaResetBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	if err := h.svc.ResetMFAWithToken(r.Context(), b.Token, b.Password, h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// handleRecoveryCodes serves POST /user/api/mfa/recovery-codes: ten new
// codes, shown this once; the old ones stop working.
func (h *apiHandler) handleRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	codes, err := h.svc.NewRecoveryCodes(r.Context(), a.user.ID, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"codes": codes})
}
