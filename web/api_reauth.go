package web

import (
	"net/http"

	"github.com/usher-auth/usher"
)

// reauthBody is POST /user/api/reauth's body: the password, or a second
// factor (a code from the user's app, a recovery code) for users who
// have one.
type reauthBody struct {
	Password string              `json:"password"`
	MFA      *usher.SecondFactor `json:"mfa"`
}

// handleReauth serves POST /user/api/reauth: the logged-in user proves
// again who they are, so that the session may take the admin API's
// dangerous actions for usher.FreshLogin (what the admin console's
// re-authentication page does for the console). A wrong proof counts as a
// failed log-in.
func (h *apiHandler) handleReauth(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok { // (requireAuth also refuses credentials without a session)
		return
	}
	var b reauthBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	if err := h.svc.Reauthenticate(r.Context(), a.sess, b.Password, b.MFA, h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "fresh_for_seconds": int(usher.FreshLogin.Seconds())})
}
