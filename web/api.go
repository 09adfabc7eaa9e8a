package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/usher-auth/usher"
)

// maxBody bounds JSON request bodies.
const maxBody = 64 << 10

// userJSON is a user as the JSON API shows it. The password hash, failure
// count and lock-out time are never shown.
type userJSON struct {
	ID             string            `json:"id"`
	Email          string            `json:"email"`
	Username       string            `json:"username,omitempty"`
	Enabled        bool              `json:"enabled"`
	EmailConfirmed bool              `json:"email_confirmed"`
	SignedUpAt     time.Time         `json:"signed_up_at"`
	LastLoginAt    *time.Time        `json:"last_login_at"`
	Roles          []string          `json:"roles"`
	Profile        map[string]string `json:"profile"`
}

// noProfile is shown for a user without profile fields ({} rather than
// null); it is never written to.
var noProfile = map[string]string{}

func toUserJSON(u *usher.User) userJSON {
	j := userJSON{
		ID: u.ID, Email: u.Email, Username: u.Username, Enabled: u.Enabled,
		EmailConfirmed: u.EmailConfirmed(), SignedUpAt: u.SignedUpAt,
		Roles: u.Roles, Profile: u.Profile,
	}
	if !u.LastLoginAt.IsZero() {
		t := u.LastLoginAt
		j.LastLoginAt = &t
	}
	if j.Roles == nil {
		j.Roles = []string{}
	}
	if j.Profile == nil {
		j.Profile = noProfile
	}
	return j
}

// sessionJSON is a session as the JSON API shows it; Token only right after
// a log-in that asked for a bearer token.
type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Remember   bool      `json:"remember"`
	IP         string    `json:"ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	Current    bool      `json:"current,omitempty"`
	Token      string    `json:"token,omitempty"`
}

func toSessionJSON(s *usher.Session) sessionJSON {
	return sessionJSON{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
		Remember: s.Remember, IP: s.IP, UserAgent: s.UserAgent}
}

// maxDepth bounds the nesting of JSON request bodies: the API's bodies are
// objects of strings, with a WebAuthn credential or a profile a few levels
// down.
const maxDepth = 16

// decode reads a JSON body into v. It wants Content-Type application/json
// (so that a plain cross-site form cannot post to the API), a body of at
// most maxBody bytes and nesting at most maxDepth deep.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return errUnsupportedMedia
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return errors.Join(errBadRequest, err)
	}
	// Refused before decoding: encoding/json's error for deep nesting
	// spells out the path to the depth it stopped at (about 230 KB of
	// garbage for a body of "[[[[…"), which made a flood of such bodies
	// the server's largest use of memory (docs/benchmarks.md).
	if tooDeep(body, maxDepth) {
		return errBadRequest
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errors.Join(errBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest
	}
	return nil
}

var errUnsupportedMedia = errors.New("web: unsupported media type")

// tooDeep reports whether the JSON text b opens more than max arrays or
// objects inside one another. It reads brackets outside strings only and
// does not otherwise check the text (the decoder does).
func tooDeep(b []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > max {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

// decodeOrFail decodes the body and answers the error itself, returning
// false, when it cannot.
func (h *apiHandler) decodeOrFail(w http.ResponseWriter, r *http.Request, v any) bool {
	err := decode(w, r, v)
	if err == nil {
		return true
	}
	if errors.Is(err, errUnsupportedMedia) {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": apiError{
			Code: "unsupported_media_type", Message: h.msg(r, "unsupported_media_type")}})
		return false
	}
	h.writeError(w, r, err)
	return false
}

// loginAnswer writes the answer to a log-in or sign-up that started sess:
// cookies for a browser, or the token in the body when the client asked for
// a bearer token (and then no cookie).
func (h *apiHandler) loginAnswer(w http.ResponseWriter, r *http.Request, status int, u *usher.User, sess *usher.Session, bearer bool) {
	body := map[string]any{"user": toUserJSON(u)}
	if sess != nil {
		sj := toSessionJSON(sess)
		if bearer {
			sj.Token = sess.Token
			if sess.DeviceToken != "" {
				body["device_token"] = sess.DeviceToken
			}
		} else {
			h.setSessionCookies(w, r, sess)
		}
		body["session"] = sj
	}
	writeJSON(w, status, body)
}

type signupBody struct {
	Email    string            `json:"email"`
	Username string            `json:"username"`
	Password string            `json:"password"`
	Profile  map[string]string `json:"profile"`
	Remember bool              `json:"remember"`
	Bearer   bool              `json:"bearer"`
	// InvitationToken is the token of an invitation link; it fixes the
	// address.
	InvitationToken string `json:"invitation_token"`
}

// handleSignup serves POST /user/api/signup.
func (h *apiHandler) handleSignup(w http.ResponseWriter, r *http.Request) {
	var b signupBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	u, sess, err := h.svc.SignupWithEmail(r.Context(), usher.Signup{
		Email: b.Email, Username: b.Username, Password: b.Password, Profile: b.Profile, Remember: b.Remember,
		InvitationToken: b.InvitationToken, Locale: h.lang(r),
	}, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.loginAnswer(w, r, http.StatusCreated, u, sess, b.Bearer)
}

type loginBody struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	Login    string `json:"login"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
	Bearer   bool   `json:"bearer"`
	// MFA is the second factor ({"type":"totp","code":"123456"}).
	MFA            *usher.SecondFactor `json:"mfa"`
	RememberDevice bool                `json:"remember_device"`
	DeviceToken    string              `json:"device_token"`
}

// handleLogin serves POST /user/api/login. A session that may only set a
// new password is started (cookie or token) but answered with 403
// password_reset_requested.
func (h *apiHandler) handleLogin(w http.ResponseWriter, r *http.Request) {
	var b loginBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	sess, u, err := h.svc.Login(r.Context(), usher.Credentials{
		Email: b.Email, Username: b.Username, Login: b.Login, Password: b.Password, Remember: b.Remember,
		MFA: b.MFA, RememberDevice: b.RememberDevice, DeviceToken: h.deviceToken(r, b.DeviceToken),
	}, h.client(r))
	h.sessionAnswer(w, r, u, sess, err, b.Bearer)
}

// sessionAnswer answers a log-in as POST /user/api/login does: the
// session (cookies or bearer token), or the error — with a session that
// may only set a new password, 403 password_reset_requested and that
// session.
func (h *apiHandler) sessionAnswer(w http.ResponseWriter, r *http.Request, u *usher.User, sess *usher.Session, err error, bearer bool) {
	if errors.Is(err, usher.ErrPasswordResetRequested) && sess != nil {
		status, e := h.classify(r, err)
		body := map[string]any{"error": e}
		if bearer {
			body["session"] = sessionJSON{ID: sess.ID, ExpiresAt: sess.ExpiresAt, Token: sess.Token}
		} else {
			h.setSessionCookies(w, r, sess)
		}
		writeJSON(w, status, body)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.loginAnswer(w, r, http.StatusOK, u, sess, bearer)
}

// handleLogout serves POST /user/api/logout: the session ends and the
// cookies go. Logging out when not logged in is not an error.
func (h *apiHandler) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := h.logout(w, r); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// handleMe serves GET /user/api/me: the logged-in user and session.
func (h *apiHandler) handleMe(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		User    userJSON    `json:"user"`
		Session sessionJSON `json:"session"`
	}{toUserJSON(a.user), toSessionJSON(a.sess)})
}

// requireAuth authenticates r and answers 401 (or 403 for a session that
// must set a new password) itself when it cannot.
func (h *apiHandler) requireAuth(w http.ResponseWriter, r *http.Request) (*auth, bool) {
	a, err := h.authenticate(r, true)
	if err != nil {
		h.writeError(w, r, err)
		return nil, false
	}
	if a == nil || a.sess == nil { // HTTP Basic auth has no session to show
		h.writeError(w, r, usher.ErrLoginRequired)
		return nil, false
	}
	return a, true
}

type changePasswordBody struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// handleChangePassword serves POST /user/api/change-password. It also
// serves a session that may only set a new password (no old password
// needed there); that session is then replaced by a normal one.
func (h *apiHandler) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	a, err := h.authenticate(r, true)
	if err != nil && !errors.Is(err, usher.ErrPasswordResetRequested) {
		h.writeError(w, r, err)
		return
	}
	if a == nil || a.sess == nil {
		h.writeError(w, r, usher.ErrLoginRequired)
		return
	}
	var b changePasswordBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	fresh, err := h.svc.ChangePassword(r.Context(), a.sess, b.OldPassword, b.NewPassword, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := map[string]any{"ok": true}
	if fresh != nil {
		sj := toSessionJSON(fresh)
		if _, src := h.token(r, true); src == fromBearer {
			sj.Token = fresh.Token
		} else {
			h.setSessionCookies(w, r, fresh)
		}
		body["session"] = sj
	}
	writeJSON(w, http.StatusOK, body)
}

// handleSessions serves GET /user/api/sessions: the user's live sessions,
// the current one marked.
func (h *apiHandler) handleSessions(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	list, err := h.svc.ListSessions(r.Context(), a.user.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		sj := toSessionJSON(s)
		sj.Current = s.ID == a.sess.ID
		out = append(out, sj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// ownItemAction serves a route that acts on one of the logged-in user's
// own things named by {id} (an address, a second factor), answering
// {"ok":true}: act gets the user's ID, so nobody can touch another user's.
func (h *apiHandler) ownItemAction(act func(ctx context.Context, userID, id string, c usher.Client) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := h.requireAuth(w, r)
		if !ok {
			return
		}
		if err := act(r.Context(), a.user.ID, r.PathValue("id"), h.client(r)); err != nil {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	}
}

// handleRevokeSession serves DELETE /user/api/sessions/{id}.
func (h *apiHandler) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := h.svc.RevokeSession(r.Context(), a.user.ID, id, h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	if id == a.sess.ID {
		h.clearSessionCookies(w, r)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// handleRevokeOtherSessions serves DELETE /user/api/sessions: "sign out
// other devices".
func (h *apiHandler) handleRevokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	n, err := h.svc.RevokeOtherSessions(r.Context(), a.user.ID, a.sess.ID, h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": n})
}

// notFound answers every path under Prefix/api/ that no route serves.
func (h *apiHandler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, usher.ErrNotFound)
}
