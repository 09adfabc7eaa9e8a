package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/usher-auth/usher"
)

// The e-mail flows over JSON: asking for a link, using its token, and the
// user's addresses, username and invitations (pages_public.go has the
// pages that e-mailed links open).

type emailBody struct {
	Email string `json:"email"`
}

// mailRequestAPI serves the "send me a link" requests. The answer is
// {"ok":true} whether or not an account has the address.
func (h *apiHandler) mailRequestAPI(send func(ctx context.Context, email string, c usher.Client) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b emailBody
		if !h.decodeOrFail(w, r, &b) {
			return
		}
		if err := send(r.Context(), b.Email, h.client(r)); err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
}

type tokenBody struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
	Remember    bool   `json:"remember"`
	Bearer      bool   `json:"bearer"`
}

// tokenAPI serves the JSON routes that use an e-mailed token: act does the
// work; a session it starts is answered as a log-in is (cookies, or the
// token with "bearer"). A session that may only set a new password is
// answered too, so that the client can set it.
func (h *apiHandler) tokenAPI(act func(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b tokenBody
		if !h.decodeOrFail(w, r, &b) {
			return
		}
		u, sess, err := act(r, b)
		if err != nil && !(errors.Is(err, usher.ErrPasswordResetRequested) && sess != nil) {
			h.writeError(w, r, err)
			return
		}
		h.loginAnswer(w, r, http.StatusOK, u, sess, b.Bearer)
	}
}

// confirmEmailAPI serves POST /user/api/confirm-email.
func (h *apiHandler) confirmEmailAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	return h.svc.ConfirmEmail(r.Context(), b.Token, h.client(r))
}

// resetPasswordAPI serves POST /user/api/password-reset/confirm.
func (h *apiHandler) resetPasswordAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	return h.svc.ResetPasswordWithToken(r.Context(), b.Token, b.NewPassword, h.client(r))
}

// loginLinkAPI serves POST /user/api/login-link/confirm.
func (h *apiHandler) loginLinkAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	sess, u, err := h.svc.LoginWithLink(r.Context(), b.Token, b.Remember, h.deviceToken(r, ""), h.client(r))
	return u, sess, err
}

type changeUsernameBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleChangeUsernameAPI serves POST /user/api/change-username.
func (h *apiHandler) handleChangeUsernameAPI(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	var b changeUsernameBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	u, err := h.svc.ChangeUsername(r.Context(), a.sess, b.Username, b.Password, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

// handleInviteAPI serves POST /user/api/invite: a logged-in user invites
// someone by e-mail; 403 forbidden for a user who may not
// (Config.MayInvite).
func (h *apiHandler) handleInviteAPI(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	h.mailRequestAPI(func(ctx context.Context, email string, c usher.Client) error {
		return h.svc.Invite(ctx, email, a.user.ID, c)
	})(w, r)
}

type emailJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Primary   bool   `json:"primary"`
	Confirmed bool   `json:"confirmed"`
}

// handleListEmails serves GET /user/api/emails.
func (h *apiHandler) handleListEmails(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	list, err := h.svc.ListEmails(r.Context(), a.user.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]emailJSON, len(list))
	for i, e := range list {
		out[i] = emailJSON{ID: e.ID, Email: e.Email, Primary: e.Primary, Confirmed: !e.ConfirmedAt.IsZero()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"emails": out})
}

// handleAddEmail serves POST /user/api/emails: add an address (a
// confirmation link goes to it).
func (h *apiHandler) handleAddEmail(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	var b emailBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	e, err := h.svc.AddEmail(r.Context(), a.user.ID, b.Email, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"email": emailJSON{ID: e.ID, Email: e.Email}})
}
