package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// The pages for logged-in users (Flask-User's account pages): the account
// page with profile fields and sessions, change password, change
// username, manage e-mail addresses and invite someone. Every form posts
// to a route under the page's own path and, on success, redirects
// (post/redirect/get) with a flash message.

// invitePage serves GET /user/invite.
func (h *pageHandler) invitePage(w http.ResponseWriter, r *http.Request, _ *auth) {
	h.render(w, r, http.StatusOK, "invite", h.newPage(w, r))
}

// mayInvite wraps the invite page's handlers: a user who may not invite
// (Config.MayInvite) gets a 403 page.
func (h *pageHandler) mayInvite(next func(w http.ResponseWriter, r *http.Request, a *auth)) func(w http.ResponseWriter, r *http.Request, a *auth) {
	return func(w http.ResponseWriter, r *http.Request, a *auth) {
		if !h.svc.Config().MayInvite(a.user) {
			h.forbiddenPage(w, r)
			return
		}
		next(w, r, a)
	}
}

// memberPage wraps the handler of a page for logged-in users: see member.
// A session that may only set a new password is sent to the
// change-password page.
func (h *pageHandler) memberPage(next func(w http.ResponseWriter, r *http.Request, a *auth)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a, r, ok := h.member(w, r, false); ok {
			next(w, r, a)
		}
	}
}

// member authenticates a request to a page for logged-in users. A visitor
// is sent to the log-in page (303) with next set to come back: to this
// page, or for a form's POST to the page the form is on (a POST-only
// address cannot be come back to). Unless allowRestricted, a session that
// may only set a new password is sent to the change-password page. It
// returns the auth and the request with the auth in its context (so that
// newPage and the language choice do not look the session up again), or
// ok false when it has answered the request itself.
func (h *pageHandler) member(w http.ResponseWriter, r *http.Request, allowRestricted bool) (*auth, *http.Request, bool) {
	a, err := h.authenticate(r, true)
	switch {
	case errors.Is(err, usher.ErrPasswordResetRequested) && a != nil && a.sess != nil:
		if !allowRestricted {
			h.flash(w, r, "password_reset_requested", true)
			http.Redirect(w, r, h.prefix+"/change-password"+nextQuery(h.comeBack(r)), http.StatusSeeOther)
			return nil, r, false
		}
	case err != nil:
		h.pageError(w, r, err)
		return nil, r, false
	case a == nil || a.sess == nil: // HTTP Basic auth has no session to manage
		http.Redirect(w, r, h.prefix+"/login?next="+url.QueryEscape(h.comeBack(r)), http.StatusSeeOther)
		return nil, r, false
	}
	return a, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)), true
}

// comeBack returns where a browser sent away from r (to log in, to set a
// new password) should come back to: r itself for a GET, else the page of
// the form, which is the first path segment under Prefix (a form on
// /user/profile posts to /user/profile/sessions/{id}/revoke).
func (h *pageHandler) comeBack(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, h.prefix+"/"), "/")
	return h.prefix + "/" + seg
}

// pageError shows err on a page of its own, with its status: for a
// feature that is off (404) or an internal error (500, logged).
func (h *pageHandler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	h.showError(w, r, h.newPage(w, r), err)
}

// showError is pageError for a page whose data d is started.
func (h *pageHandler) showError(w http.ResponseWriter, r *http.Request, d *pageData, err error) {
	status := h.formError(r, d, err)
	d.Data["title"] = tr("Something went wrong")
	if status == http.StatusNotFound {
		d.Data["title"] = tr("Page not found")
	}
	d.Data["continue"] = h.prefix + "/profile"
	h.render(w, r, status, "message", d)
}

// ifUsernames serves next only when usernames are on; else 404.
func (h *pageHandler) ifUsernames(next http.HandlerFunc) http.HandlerFunc {
	return h.ifEnabled(func(c usher.Config) bool { return c.EnableUsername }, next)
}

// ifMultipleEmails serves next only when users may have several
// addresses; else 404.
func (h *pageHandler) ifMultipleEmails(next http.HandlerFunc) http.HandlerFunc {
	return h.ifEnabled(func(c usher.Config) bool { return c.EnableMultipleEmails }, next)
}

func (h *pageHandler) ifEnabled(on func(usher.Config) bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !on(h.svc.Config()) {
			h.pageError(w, r, usher.ErrNotFound)
			return
		}
		next(w, r)
	}
}

// pageTime formats a time on the pages: a neutral form readable in every
// language, in UTC (the server does not know the browser's time zone).
func pageTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// isoTime is t for a <time datetime> attribute.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// sessionRow is one session in the account page's list.
type sessionRow struct {
	ID, IP, UserAgent     string
	Browser, System       string // from UserAgent; "" when not recognised
	Created, CreatedISO   string
	LastSeen, LastSeenISO string
	Current, Remember     bool
}

// profilePage serves GET /user/profile, the account page.
func (h *pageHandler) profilePage(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	for _, f := range d.Profile {
		if v := a.user.Profile[f.Name]; v != "" {
			d.Form.Set(f.Name, v)
		}
	}
	h.renderProfile(w, r, http.StatusOK, d, a)
}

// renderProfile shows the account page: d has the profile form's values
// and errors; the sessions and second factors are read here.
func (h *pageHandler) renderProfile(w http.ResponseWriter, r *http.Request, status int, d *pageData, a *auth) {
	ctx := r.Context()
	list, err := h.svc.ListSessions(ctx, a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	rows := make([]sessionRow, len(list))
	for i, s := range list {
		rows[i] = sessionRow{
			ID: s.ID, IP: s.IP, UserAgent: s.UserAgent, Browser: browserName(s.UserAgent), System: systemName(s.UserAgent),
			Created: pageTime(s.CreatedAt), CreatedISO: isoTime(s.CreatedAt),
			LastSeen: pageTime(s.LastSeenAt), LastSeenISO: isoTime(s.LastSeenAt),
			Current: s.ID == a.sess.ID, Remember: s.Remember,
		}
	}
	methods, err := h.svc.ListMFAMethods(ctx, a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	d.Data["sessions"] = rows
	d.Data["others"] = len(rows) > 1
	d.Data["methods"] = methodRows(methods)
	if err := h.linkedAccounts(r, d, a); err != nil {
		h.pageError(w, r, err)
		return
	}
	h.render(w, r, status, "profile", d)
}

// profileSubmit serves POST /user/profile: the declared profile fields.
// Every declared field is sent (an unticked checkbox is sent as ""), so an
// emptied field is cleared and a required one is refused.
func (h *pageHandler) profileSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	values := make(map[string]string, len(d.Profile))
	for _, f := range d.Profile {
		values[f.Name] = r.PostFormValue(f.Name)
	}
	if _, err := h.svc.UpdateProfile(r.Context(), a.user.ID, values); err != nil {
		h.renderProfile(w, r, h.formError(r, d, err), d, a)
		return
	}
	h.flash(w, r, tr("Your profile has been saved."), false)
	http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
}

// revokeSessionSubmit serves POST /user/profile/sessions/{id}/revoke:
// sign one session out. Signing out the current one logs this browser out.
func (h *pageHandler) revokeSessionSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	id := r.PathValue("id")
	if err := h.svc.RevokeSession(r.Context(), a.user.ID, id, h.client(r)); err != nil {
		d := h.newPage(w, r)
		h.renderProfile(w, r, h.formError(r, d, err), d, a)
		return
	}
	if id == a.sess.ID {
		h.clearSessionCookies(w, r)
		h.flash(w, r, tr("You have logged out."), false)
		http.Redirect(w, r, h.prefix+"/login", http.StatusSeeOther)
		return
	}
	h.flash(w, r, tr("That device has been signed out."), false)
	http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
}

// revokeOtherSessionsSubmit serves POST
// /user/profile/sessions/revoke-others: "sign out other devices".
func (h *pageHandler) revokeOtherSessionsSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	if _, err := h.svc.RevokeOtherSessions(r.Context(), a.user.ID, a.sess.ID, h.client(r)); err != nil {
		d := h.newPage(w, r)
		h.renderProfile(w, r, h.formError(r, d, err), d, a)
		return
	}
	h.flash(w, r, tr("Your other devices have been signed out."), false)
	http.Redirect(w, r, h.prefix+"/profile", http.StatusSeeOther)
}

// changePasswordPage serves GET /user/change-password. It also serves a
// session that may only set a new password (an administrator required
// one), which needs no old password.
func (h *pageHandler) changePasswordPage(w http.ResponseWriter, r *http.Request) {
	a, r, ok := h.member(w, r, true)
	if !ok {
		return
	}
	d := h.newPage(w, r)
	d.Data["restricted"] = a.sess.MustChangePassword
	h.render(w, r, http.StatusOK, "change_password", d)
}

// changePasswordSubmit serves POST /user/change-password. The user's
// other sessions end; a restricted session is replaced by a normal one,
// whose cookies are set.
func (h *pageHandler) changePasswordSubmit(w http.ResponseWriter, r *http.Request) {
	a, r, ok := h.member(w, r, true)
	if !ok {
		return
	}
	d := h.newPage(w, r)
	d.Form = r.PostForm
	d.Data["restricted"] = a.sess.MustChangePassword
	pw := r.PostFormValue("new_password")
	if pw != r.PostFormValue("retype_password") {
		h.render(w, r, h.mismatchError(r, d, pw, a.user.Email, a.user.Username), "change_password", d)
		return
	}
	fresh, err := h.svc.ChangePassword(r.Context(), a.sess, r.PostFormValue("old_password"), pw, h.client(r))
	if err != nil {
		status := h.formError(r, d, err)
		d.renameError("password", "new_password")
		if wrongPassword(err) && !a.sess.MustChangePassword {
			d.Error = h.textIn(d, "Your current password is not right.")
			d.Errors["old_password"] = d.Error
		}
		h.render(w, r, status, "change_password", d)
		return
	}
	if fresh != nil {
		h.setSessionCookies(w, r, fresh)
	}
	h.flash(w, r, tr("Your password has been changed."), false)
	h.redirectNext(w, r, h.prefix+"/profile")
}

// wrongPassword reports whether err is the Service refusing the password
// a logged-in user typed to confirm a change (not a lock-out): the error
// then belongs to the password field, in words about that password.
func wrongPassword(err error) bool {
	return errors.Is(err, usher.ErrAuthenticationFailed) && !errors.Is(err, usher.ErrTooManyPasswordFailures)
}

// changeUsernamePage serves GET /user/change-username.
func (h *pageHandler) changeUsernamePage(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form.Set("username", a.user.Username)
	h.render(w, r, http.StatusOK, "change_username", d)
}

// changeUsernameSubmit serves POST /user/change-username: the new
// username and the password.
func (h *pageHandler) changeUsernameSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	if _, err := h.svc.ChangeUsername(r.Context(), a.sess, r.PostFormValue("username"), r.PostFormValue("password"), h.client(r)); err != nil {
		status := h.formError(r, d, err)
		if wrongPassword(err) {
			d.Error = h.textIn(d, "Your current password is not right.")
			d.Errors["password"] = d.Error
		}
		h.render(w, r, status, "change_username", d)
		return
	}
	h.flash(w, r, tr("Your username has been changed."), false)
	h.redirectNext(w, r, h.prefix+"/profile")
}

// emailRow is one address on the manage-emails page.
type emailRow struct {
	ID, Email          string
	Primary, Confirmed bool
}

// manageEmailsPage serves GET /user/manage-emails.
func (h *pageHandler) manageEmailsPage(w http.ResponseWriter, r *http.Request, a *auth) {
	h.renderEmails(w, r, http.StatusOK, h.newPage(w, r), a)
}

// renderEmails shows the manage-emails page with the user's addresses.
func (h *pageHandler) renderEmails(w http.ResponseWriter, r *http.Request, status int, d *pageData, a *auth) {
	list, err := h.svc.ListEmails(r.Context(), a.user.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	rows := make([]emailRow, len(list))
	for i, e := range list {
		rows[i] = emailRow{ID: e.ID, Email: e.Email, Primary: e.Primary, Confirmed: !e.ConfirmedAt.IsZero()}
	}
	d.Data["emails"] = rows
	h.render(w, r, status, "manage_emails", d)
}

// addEmailSubmit serves POST /user/manage-emails: add an address; a
// confirmation link goes to it.
func (h *pageHandler) addEmailSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	if _, err := h.svc.AddEmail(r.Context(), a.user.ID, r.PostFormValue("email"), h.client(r)); err != nil {
		h.renderEmails(w, r, h.formError(r, d, err), d, a)
		return
	}
	h.flash(w, r, tr("The address has been added. Open the link we sent to it to confirm it."), false)
	http.Redirect(w, r, h.prefix+"/manage-emails", http.StatusSeeOther)
}

// emailAction serves the buttons of one address ({id}): act gets the
// user's ID, so nobody can touch another user's addresses.
func (h *pageHandler) emailAction(act func(ctx context.Context, userID, id string, c usher.Client) error, done string) func(http.ResponseWriter, *http.Request, *auth) {
	return func(w http.ResponseWriter, r *http.Request, a *auth) {
		if err := act(r.Context(), a.user.ID, r.PathValue("id"), h.client(r)); err != nil {
			d := h.newPage(w, r)
			status := h.formError(r, d, err)
			// A field error here is about the row's address, not the
			// add form's field: show it for the page.
			d.keepFields()
			h.renderEmails(w, r, status, d, a)
			return
		}
		h.flash(w, r, done, false)
		http.Redirect(w, r, h.prefix+"/manage-emails", http.StatusSeeOther)
	}
}

// inviteSubmit serves POST /user/invite: e-mail an invitation to
// register.
func (h *pageHandler) inviteSubmit(w http.ResponseWriter, r *http.Request, a *auth) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	if err := h.svc.Invite(r.Context(), r.PostFormValue("email"), a.user.ID, h.client(r)); err != nil {
		h.render(w, r, h.formError(r, d, err), "invite", d)
		return
	}
	h.flash(w, r, tr("Your invitation has been sent."), false)
	http.Redirect(w, r, h.prefix+"/invite", http.StatusSeeOther)
}

// browserName and systemName name a session's browser and operating
// system from its User-Agent, as usher.js does, for the list of sessions.
func browserName(ua string) string {
	for _, b := range [][2]string{{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}} {
		if strings.Contains(ua, b[0]) {
			return b[1]
		}
	}
	return ""
}

func systemName(ua string) string {
	for _, o := range [][2]string{{"iPhone", "iOS"}, {"iPad", "iOS"}, {"Android", "Android"}, {"Windows", "Windows"}, {"CrOS", "ChromeOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, o[0]) {
			return o[1]
		}
	}
	return ""
}
