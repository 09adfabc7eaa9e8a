package web

import (
	"encoding/json"
	"net/http"

	"github.com/usher-auth/usher"
)

// WebAuthn over JSON: security keys and passkeys. Each
// ceremony is a begin, answering {"options","state"} (options is the
// publicKey member for navigator.credentials.create or .get), and a
// finish that takes the state back with the browser's PublicKeyCredential.
// static/usher-webauthn.js does the browser's part.

// ceremonyAnswer writes the answer of a begin route.
func (h *apiHandler) ceremonyAnswer(w http.ResponseWriter, r *http.Request, options json.RawMessage, state string, err error) {
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"options": options, "state": state})
}

// credentialBytes returns the PublicKeyCredential JSON of a body: sent as
// an object, or as a string holding the JSON.
func credentialBytes(raw json.RawMessage) []byte {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}

// handleWebAuthnRegisterBegin serves POST
// /user/api/mfa/webauthn/register/begin (logged in; no body).
func (h *apiHandler) handleWebAuthnRegisterBegin(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	options, state, err := h.svc.BeginWebAuthnRegistration(r.Context(), a.sess)
	h.ceremonyAnswer(w, r, options, state, err)
}

type webauthnRegisterBody struct {
	Password   string          `json:"password"`
	State      string          `json:"state"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// handleWebAuthnRegisterFinish serves POST
// /user/api/mfa/webauthn/register/finish: {password, state, name,
// credential} → 201 {"mfa_method"}.
func (h *apiHandler) handleWebAuthnRegisterFinish(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	var b webauthnRegisterBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	m, err := h.svc.FinishWebAuthnRegistration(r.Context(), a.sess, b.Password, b.State, b.Name, credentialBytes(b.Credential), h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"mfa_method": toMFAMethodJSON(m)})
}

// pendingToken returns the pending log-in of a body's mfa_token, or else
// the one the log-in page keeps in its cookie (for the second-factor page,
// whose script cannot read that HttpOnly cookie), with its remember-me
// choice.
func (h *apiHandler) pendingToken(r *http.Request, fromBody string) (pending string, remember, fromCookie bool) {
	if fromBody != "" {
		return fromBody, false, false
	}
	return h.pendingMFA(r)
}

type webauthnLoginBody struct {
	MFAToken       string          `json:"mfa_token"`
	State          string          `json:"state"`
	Credential     json.RawMessage `json:"credential"`
	Remember       bool            `json:"remember"`
	RememberDevice bool            `json:"remember_device"`
	Bearer         bool            `json:"bearer"`
}

// decodeOptional decodes a JSON body if there is one.
func (h *apiHandler) decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	return h.decodeOrFail(w, r, v)
}

// handleWebAuthnLoginBegin serves POST /user/api/mfa/webauthn/login/begin:
// {mfa_token} (or none: the pending log-in of the pages' cookie) → the
// options and state of a security-key second factor.
func (h *apiHandler) handleWebAuthnLoginBegin(w http.ResponseWriter, r *http.Request) {
	var b webauthnLoginBody
	if !h.decodeOptional(w, r, &b) {
		return
	}
	pending, _, _ := h.pendingToken(r, b.MFAToken)
	options, state, err := h.svc.BeginWebAuthnLogin(r.Context(), pending, h.client(r))
	h.ceremonyAnswer(w, r, options, state, err)
}

// handleWebAuthnLoginFinish serves POST
// /user/api/mfa/webauthn/login/finish: {mfa_token, state, credential,
// remember, remember_device, bearer} — the same as POST /user/api/mfa/login
// with {"mfa":{"type":"fido","code":<credential>,"state":state}}. Without
// mfa_token it completes the pending log-in of the pages' cookie (with the
// remember-me choice made on the log-in form), and clears that cookie.
func (h *apiHandler) handleWebAuthnLoginFinish(w http.ResponseWriter, r *http.Request) {
	var b webauthnLoginBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	pending, remember, fromCookie := h.pendingToken(r, b.MFAToken)
	if fromCookie {
		b.Remember = remember
	}
	f := usher.SecondFactor{Type: usher.MFAFIDO, Code: string(credentialBytes(b.Credential)), State: b.State}
	sess, u, err := h.svc.CompleteMFALogin(r.Context(), pending, f, b.Remember, b.RememberDevice, h.client(r))
	if fromCookie && (err == nil || sess != nil) {
		h.clearCookie(w, r, h.pendingMFACookieName())
	}
	h.sessionAnswer(w, r, u, sess, err, b.Bearer)
}

// handlePasskeyLoginBegin serves POST /user/api/passkey/login/begin (no
// body): the options and state of a log-in with a passkey.
func (h *apiHandler) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	options, state, err := h.svc.BeginPasskeyLogin(r.Context(), h.client(r))
	h.ceremonyAnswer(w, r, options, state, err)
}

// handlePasskeyLoginFinish serves POST /user/api/passkey/login/finish:
// {state, credential, remember, bearer} → the log-in answer.
func (h *apiHandler) handlePasskeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	var b webauthnLoginBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	sess, u, err := h.svc.FinishPasskeyLogin(r.Context(), b.State, credentialBytes(b.Credential), b.Remember, h.client(r))
	h.sessionAnswer(w, r, u, sess, err, b.Bearer)
}
