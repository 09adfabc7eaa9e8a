package web

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// adminHandler serves the admin JSON API under Prefix/api/admin/, for a
// session of a user with the admin role or for an API key (Authorization:
// Bearer usher_ak_...). Every route goes through adminRoute, which
// authenticates the caller and puts it in the request's context
// (usher.WithActor, usher.WithClient), so that the event every change
// records names who acted and from where.
type adminHandler struct{ *core }

// adminCaller is who is calling the admin API: an admin's session (user
// and sess set) or an API key (key set).
type adminCaller struct {
	actor  usher.Actor // an ActorAdmin (user ID, e-mail) or an ActorAPIKey (key ID, name)
	user   *usher.User
	sess   *usher.Session
	key    *usher.APIKey
	cookie bool // the session came in a cookie (a browser)
}

// caller authenticates r for the admin API: a Bearer API key, or a
// session whose user has the admin role. No credentials is
// ErrLoginRequired; a key that is not a live key is
// ErrAuthenticationFailed; a session without the role is ErrForbidden.
func (h *adminHandler) caller(r *http.Request) (*adminCaller, error) {
	tok, src := h.token(r, true)
	if src == fromBearer && strings.HasPrefix(tok, usher.APIKeyPrefix) {
		k, err := h.svc.AuthenticateAPIKey(r.Context(), tok)
		if err != nil {
			return nil, err
		}
		return &adminCaller{actor: usher.Actor{Kind: usher.ActorAPIKey, ID: k.ID, Name: k.Name}, key: k}, nil
	}
	a, err := h.authenticate(r, true)
	if err != nil {
		return nil, err
	}
	if a == nil || a.sess == nil {
		return nil, usher.ErrLoginRequired
	}
	if !a.user.HasRole(h.opts.AdminRole) {
		return nil, usher.ErrForbidden
	}
	return &adminCaller{actor: usher.Actor{Kind: usher.ActorAdmin, ID: a.user.ID, Name: a.user.Email}, user: a.user, sess: a.sess, cookie: src != fromBearer}, nil
}

// adminFunc is an admin route's handler, given its authenticated caller.
type adminFunc func(w http.ResponseWriter, r *http.Request, c *adminCaller)

// adminRoute authenticates the caller and then serves fn. A browser's
// (cookie) request that changes something must be JSON
// (Content-Type: application/json), which a form on another site cannot
// send; the Handler's cross-origin check has already refused other sites'
// requests. With dangerous, an admin's session must be fresh
// (Service.FreshSession: a log-in or a re-authentication in the console
// within usher.FreshLogin; 403 reauthentication_required otherwise); API
// keys are exempt, being held by programs, not left in browsers. fn gets
// r with the caller as the actor of what it does (usher.WithActor) and
// the caller's address and user agent (usher.WithClient).
func (h *adminHandler) adminRoute(dangerous bool, fn adminFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := h.caller(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		r = r.WithContext(usher.WithClient(usher.WithActor(r.Context(), c.actor), h.client(r)))
		if c.cookie && r.Method == http.MethodPost {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": apiError{
					Code: "unsupported_media_type", Message: h.msg(r, "unsupported_media_type")}})
				return
			}
		}
		if dangerous && !h.fresh(w, r, c) {
			return
		}
		fn(w, r, c)
	}
}

// userRoute is an adminRoute about the user named by {id}: unknown → 404
// not_found before anything else happens.
func (h *adminHandler) userRoute(dangerous bool, fn func(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User)) http.HandlerFunc {
	return h.adminRoute(dangerous, func(w http.ResponseWriter, r *http.Request, c *adminCaller) {
		u, err := h.svc.User(r.Context(), r.PathValue("id"))
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		fn(w, r, c, u)
	})
}

// fresh reports whether c may do a dangerous action (an API key, or a
// fresh session: see adminRoute); if not, it has answered 403
// reauthentication_required.
func (h *adminHandler) fresh(w http.ResponseWriter, r *http.Request, c *adminCaller) bool {
	if c.key != nil {
		return true
	}
	ok, err := h.svc.FreshSession(r.Context(), c.sess)
	if err == nil && !ok {
		err = usher.ErrReauthenticationRequired
	}
	if err != nil {
		h.writeError(w, r, err)
		return false
	}
	return true
}

// adminUserJSON is a user as the admin API shows it: what the user sees
// of themselves, and their log-in state. The password hash is never shown.
type adminUserJSON struct {
	userJSON
	Locale                string     `json:"locale"`
	PasswordFailures      int        `json:"password_failures"`
	LockedAt              *time.Time `json:"locked_at"`
	PasswordResetRequired bool       `json:"password_reset_required"`
	HasPassword           bool       `json:"has_password"`
}

func toAdminUserJSON(u *usher.User) adminUserJSON {
	j := adminUserJSON{userJSON: toUserJSON(u), Locale: u.Locale, PasswordFailures: u.PasswordFailures,
		PasswordResetRequired: u.PasswordResetRequired, HasPassword: u.PasswordHash != ""}
	if !u.LockedAt.IsZero() {
		t := u.LockedAt
		j.LockedAt = &t
	}
	return j
}

// writeUser answers with the user as they are now.
func (h *adminHandler) writeUser(w http.ResponseWriter, r *http.Request, status int, id string) {
	u, err := h.svc.User(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, status, map[string]any{"user": toAdminUserJSON(u)})
}

// invalid is a *ValidationError on one field.
func invalid(field, msg string) error {
	return &usher.ValidationError{Fields: map[string]string{field: msg}}
}

// queryLimit reads the limit parameter: def when absent, 1 to max.
func queryLimit(r *http.Request, def, max int) (int, error) {
	return limitParam(r.URL.Query(), def, max)
}

// limitParam reads the limit parameter of v: def when absent, 1 to max.
func limitParam(q url.Values, def, max int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, invalid("limit", usher.MsgInvalidFormat)
	}
	return n, nil
}

// boolParam reads a filter of the users list: true, false or absent
// (nil).
func boolParam(v url.Values, name string) (*bool, error) {
	s := v.Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, invalid(name, usher.MsgInvalidFormat)
	}
	return &b, nil
}

// UserQueryOf reads a users list's query from URL parameters, the same
// for the admin API (GET Prefix/api/admin/users) and the admin console's
// users table: search, field, exact, enabled, locked, confirmed, has_mfa
// (true/false; absent = either), role, provider, sort, desc, limit (1 to
// 500, def when absent) and cursor (the keyset UserQuery.After of the
// previous page's last user, in the same order). A bad value is a
// *ValidationError naming the parameter.
func UserQueryOf(v url.Values, def int) (usher.UserQuery, error) {
	q := usher.UserQuery{Search: strings.TrimSpace(v.Get("search")), Field: v.Get("field"),
		Role: strings.TrimSpace(v.Get("role")), Provider: v.Get("provider"), Sort: v.Get("sort"), After: v.Get("cursor")}
	var err error
	if q.Limit, err = limitParam(v, def, 500); err != nil {
		return q, err
	}
	for _, p := range []struct {
		name string
		to   **bool
	}{{"enabled", &q.Enabled}, {"locked", &q.Locked}, {"confirmed", &q.Confirmed}, {"has_mfa", &q.HasMFA}} {
		if *p.to, err = boolParam(v, p.name); err != nil {
			return q, err
		}
	}
	for _, p := range []struct {
		name string
		to   *bool
	}{{"exact", &q.Exact}, {"desc", &q.Desc}} {
		b, err := boolParam(v, p.name)
		if err != nil {
			return q, err
		}
		*p.to = b != nil && *b
	}
	if _, _, ok := q.ParseCursor(); q.After != "" && !ok {
		return q, invalid("cursor", usher.MsgInvalidFormat)
	}
	return q, nil
}

// handleListUsers serves GET /user/api/admin/users?search=&field=&exact=
// &enabled=&locked=&confirmed=&has_mfa=&role=&provider=&sort=&desc=&limit=&cursor=.
func (h *adminHandler) handleListUsers(w http.ResponseWriter, r *http.Request, c *adminCaller) {
	q, err := UserQueryOf(r.URL.Query(), 50)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	list, total, err := h.svc.ListUsers(r.Context(), q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]adminUserJSON, len(list))
	for i, u := range list {
		out[i] = toAdminUserJSON(u)
	}
	body := map[string]any{"users": out, "total": total, "next_cursor": nil}
	if len(list) == q.Limit {
		body["next_cursor"] = q.Cursor(list[len(list)-1])
	}
	writeJSON(w, http.StatusOK, body)
}

// handleGetUser serves GET /user/api/admin/users/{id}.
func (h *adminHandler) handleGetUser(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	writeJSON(w, http.StatusOK, map[string]any{"user": toAdminUserJSON(u)})
}

type adminCreateBody struct {
	Email     string            `json:"email"`
	Username  string            `json:"username"`
	Password  string            `json:"password"`
	Roles     []string          `json:"roles"`
	Profile   map[string]string `json:"profile"`
	Locale    string            `json:"locale"`
	Enabled   *bool             `json:"enabled"`
	Confirmed bool              `json:"confirmed"`
}

// handleCreateUser serves POST /user/api/admin/users. Giving roles is a
// role change, so an admin's session must then be fresh.
func (h *adminHandler) handleCreateUser(w http.ResponseWriter, r *http.Request, c *adminCaller) {
	var b adminCreateBody
	if !(&apiHandler{h.core}).decodeOrFail(w, r, &b) {
		return
	}
	if len(b.Roles) > 0 && !h.fresh(w, r, c) {
		return
	}
	u, err := h.svc.CreateUser(r.Context(), usher.NewUser{Email: b.Email, Username: b.Username,
		Password: b.Password, Roles: b.Roles, Profile: b.Profile, Locale: b.Locale,
		Enabled: b.Enabled == nil || *b.Enabled, Confirmed: b.Confirmed})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toAdminUserJSON(u)})
}

type adminProfileBody struct {
	Profile map[string]string `json:"profile"`
}

// handleUpdateUser serves PATCH /user/api/admin/users/{id}: {"profile":
// {...}} sets the fields given ("" clears one) and leaves the others.
func (h *adminHandler) handleUpdateUser(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	var b adminProfileBody
	if !(&apiHandler{h.core}).decodeOrFail(w, r, &b) {
		return
	}
	if b.Profile == nil {
		h.writeError(w, r, invalid("profile", usher.MsgRequired))
		return
	}
	if _, err := h.svc.UpdateProfile(r.Context(), u.ID, b.Profile); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeUser(w, r, http.StatusOK, u.ID)
}

// userAction serves a POST that changes the user by act and answers with
// the user as they are now. With keepAdmin, the last admin may not do it
// to themselves (disable).
func (h *adminHandler) userAction(keepAdmin bool, act func(ctx context.Context, id string) error) http.HandlerFunc {
	return h.userRoute(false, func(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
		if keepAdmin {
			if err := h.keepAnAdmin(r, c, u, ""); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		if err := act(r.Context(), u.ID); err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeUser(w, r, http.StatusOK, u.ID)
	})
}

type adminPasswordBody struct {
	Password string `json:"password"`
}

// handleSetPassword serves POST /user/api/admin/users/{id}/password: the
// policy applies, the lock-out is lifted and the user's sessions end.
func (h *adminHandler) handleSetPassword(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	var b adminPasswordBody
	if !(&apiHandler{h.core}).decodeOrFail(w, r, &b) {
		return
	}
	if b.Password == "" {
		h.writeError(w, r, invalid("password", usher.MsgRequired))
		return
	}
	if err := h.svc.SetPassword(r.Context(), u.ID, b.Password); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeUser(w, r, http.StatusOK, u.ID)
}

// handleDeleteUser serves DELETE /user/api/admin/users/{id}.
func (h *adminHandler) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	if err := h.keepAnAdmin(r, c, u, ""); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.svc.DeleteUser(r.Context(), u.ID); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// errLastAdmin refuses the last enabled admin taking the admin role from
// themselves, disabling or deleting themselves.
var errLastAdmin = errors.New("web: last admin")

// roleAction serves PUT (add) and DELETE (remove) of
// /user/api/admin/users/{id}/roles/{role}.
func (h *adminHandler) roleAction(add bool) http.HandlerFunc {
	return h.userRoute(true, func(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
		role := r.PathValue("role")
		ctx := r.Context()
		var err error
		if add {
			err = h.svc.AddRole(ctx, u.ID, role)
		} else {
			if err = h.keepAnAdmin(r, c, u, role); err == nil {
				err = h.svc.RemoveRole(ctx, u.ID, role)
			}
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeUser(w, r, http.StatusOK, u.ID)
	})
}

// keepAnAdmin returns errLastAdmin when the caller is the last enabled
// admin and would take away their own admin role, disable or delete
// themselves (role "" for the last two): see Handler.LastAdmin.
func (h *adminHandler) keepAnAdmin(r *http.Request, c *adminCaller, u *usher.User, role string) error {
	if c.user == nil || role != "" && role != h.opts.AdminRole {
		return nil
	}
	last, err := h.lastAdmin(r.Context(), c.user.ID, u.ID)
	if err == nil && last {
		err = errLastAdmin
	}
	return err
}

// handleListSessions serves GET /user/api/admin/users/{id}/sessions.
func (h *adminHandler) handleListSessions(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	list, err := h.svc.ListSessions(r.Context(), u.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]sessionJSON, len(list))
	for i, s := range list {
		out[i] = toSessionJSON(s)
		out[i].Current = c.sess != nil && s.ID == c.sess.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleRevokeSession serves DELETE /user/api/admin/users/{id}/sessions/{sid}.
func (h *adminHandler) handleRevokeSession(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	sid := r.PathValue("sid")
	if err := h.svc.RevokeSession(r.Context(), u.ID, sid, h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// handleRevokeSessions serves DELETE /user/api/admin/users/{id}/sessions:
// all the user's sessions end (the caller's own too, if it is theirs).
func (h *adminHandler) handleRevokeSessions(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	n, err := h.svc.RevokeOtherSessions(r.Context(), u.ID, "", h.client(r))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": n})
}

// handleListFactors serves GET /user/api/admin/users/{id}/factors: the
// user's second factors, never their secrets.
func (h *adminHandler) handleListFactors(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	h.writeMFAMethods(w, r, u.ID, "factors")
}

// handleResetFactors serves DELETE /user/api/admin/users/{id}/factors: all
// the user's second factors and recovery codes go, and their sessions end.
func (h *adminHandler) handleResetFactors(w http.ResponseWriter, r *http.Request, c *adminCaller, u *usher.User) {
	n, err := h.svc.ResetUserMFA(r.Context(), u.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "removed": n})
}

type adminInviteBody struct {
	Email string `json:"email"`
}

// handleInvite serves POST /user/api/admin/invite: an invitation mailed
// from the server (no inviter), when enable_invite_user is on (404
// not_found otherwise).
func (h *adminHandler) handleInvite(w http.ResponseWriter, r *http.Request, c *adminCaller) {
	if !h.svc.Config().EnableInviteUser {
		h.writeError(w, r, usher.ErrNotFound)
		return
	}
	var b adminInviteBody
	if !(&apiHandler{h.core}).decodeOrFail(w, r, &b) {
		return
	}
	if err := h.svc.Invite(r.Context(), b.Email, "", h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
