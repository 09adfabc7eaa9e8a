package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/web"
)

// simple is an action on the user of the path that needs nothing more.
func (a *Handler) simple(act func(ctx context.Context, id string) error, msg string) handlerFunc {
	return a.action(func(r *http.Request, id string) error { return act(r.Context(), id) }, msg)
}

// action is an action on the user of the path that reads the request
// too: on success back to the user's page with msg, else the error there.
func (a *Handler) action(act func(r *http.Request, id string) error, msg string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, me admin) {
		id := r.PathValue("id")
		if err := act(r, id); err != nil {
			a.failed(w, r, id, err)
			return
		}
		a.done(w, r, id, msg)
	}
}

// resetMFA removes all the user's second factors (Service.ResetUserMFA).
func (a *Handler) resetMFA(ctx context.Context, id string) error {
	_, err := a.svc.ResetUserMFA(ctx, id)
	return err
}

// lastAdmin reports whether the admin acting is the last enabled admin
// acting on themselves (web.Handler.LastAdmin, which the admin API asks
// too): they may not take the admin role from themselves, disable or
// delete themselves.
func (a *Handler) lastAdmin(r *http.Request, me admin) (bool, error) {
	return a.web.LastAdmin(r.Context(), me.user.ID, r.PathValue("id"))
}

// notLastAdmin refuses to disable or delete the acting admin when they
// are the last one.
func (a *Handler) notLastAdmin(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, me admin) {
		last, err := a.lastAdmin(r, me)
		if err != nil {
			a.failed(w, r, r.PathValue("id"), err)
			return
		}
		if last {
			a.web.Flash(w, r, tr("You are the last admin: give someone else the admin role first."), true)
			http.Redirect(w, r, a.userURL(me.user.ID), http.StatusSeeOther) // #nosec G710 -- our own path
			return
		}
		next(w, r, me)
	}
}

// saveProfile sets the user's profile fields from the form.
func (a *Handler) saveProfile(r *http.Request, id string) error {
	values := map[string]string{}
	for _, f := range a.svc.Config().ProfileFields {
		values[f.Name] = strings.TrimSpace(r.PostFormValue(f.Name))
	}
	_, err := a.svc.UpdateProfile(r.Context(), id, values)
	return err
}

// sendReset emails the user a password reset link.
func (a *Handler) sendReset(r *http.Request, id string) error {
	u, err := a.svc.User(r.Context(), id)
	if err != nil {
		return err
	}
	return a.svc.SendPasswordResetEmail(r.Context(), u.Email, a.web.Client(r))
}

// addRole gives the user the form's role.
func (a *Handler) addRole(r *http.Request, id string) error {
	return a.svc.AddRole(r.Context(), id, strings.TrimSpace(r.PostFormValue("role")))
}

func (a *Handler) removeRoleSubmit(w http.ResponseWriter, r *http.Request, me admin) {
	id, role := r.PathValue("id"), r.PostFormValue("role")
	if role == a.role {
		last, err := a.lastAdmin(r, me)
		if err != nil {
			a.failed(w, r, id, err)
			return
		}
		if last {
			a.web.Flash(w, r, tr("You are the last admin: give someone else the admin role first."), true)
			http.Redirect(w, r, a.userURL(id), http.StatusSeeOther) // #nosec G710 -- our own path
			return
		}
	}
	if err := a.svc.RemoveRole(r.Context(), id, role); err != nil {
		a.failed(w, r, id, err)
		return
	}
	a.done(w, r, id, tr("The role is taken away."))
}

// setPassword sets the user's password to the form's.
func (a *Handler) setPassword(r *http.Request, id string) error {
	return a.svc.SetPassword(r.Context(), id, r.PostFormValue("password"))
}

// endSession ends the session of the path.
func (a *Handler) endSession(r *http.Request, id string) error {
	return a.svc.RevokeSession(r.Context(), id, r.PathValue("sid"), a.web.Client(r))
}

// endSessions ends all the user's sessions.
func (a *Handler) endSessions(r *http.Request, id string) error {
	_, err := a.svc.RevokeOtherSessions(r.Context(), id, "", a.web.Client(r))
	return err
}

// unlink unlinks the federated identity of the path.
func (a *Handler) unlink(r *http.Request, id string) error {
	return a.svc.UnlinkIdentity(r.Context(), id, r.PathValue("iid"), a.web.Client(r))
}

func (a *Handler) deleteSubmit(w http.ResponseWriter, r *http.Request, me admin) {
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != "1" {
		a.web.Flash(w, r, tr("Tick the box to confirm the deletion."), true)
		http.Redirect(w, r, a.userURL(id), http.StatusSeeOther) // #nosec G710 -- our own path
		return
	}
	if err := a.svc.DeleteUser(r.Context(), id); err != nil {
		a.failed(w, r, id, err)
		return
	}
	a.web.Flash(w, r, tr("The user is deleted."), false)
	http.Redirect(w, r, a.base, http.StatusSeeOther)
}

// newUserPage is the form to create a user.
func (a *Handler) newUserPage(w http.ResponseWriter, r *http.Request, me admin) {
	a.pages.Render(w, r, http.StatusOK, "admin_new_user", web.Page{})
}

func (a *Handler) newUserSubmit(w http.ResponseWriter, r *http.Request, me admin) {
	in := usher.NewUser{
		Email: strings.TrimSpace(r.PostFormValue("email")), Username: strings.TrimSpace(r.PostFormValue("username")),
		Password: r.PostFormValue("password"), Enabled: r.PostFormValue("enabled") == "1",
		Confirmed: r.PostFormValue("confirmed") == "1", Profile: map[string]string{},
	}
	for _, f := range a.svc.Config().ProfileFields {
		if v := strings.TrimSpace(r.PostFormValue(f.Name)); v != "" {
			in.Profile[f.Name] = v
		}
	}
	u, err := a.svc.CreateUser(r.Context(), in)
	if err != nil {
		fields := []string{"email", "username", "password"}
		for _, f := range a.svc.Config().ProfileFields {
			fields = append(fields, f.Name)
		}
		a.pages.Render(w, r, 0, "admin_new_user", web.Page{Form: r.PostForm, Err: err, Fields: fields})
		return
	}
	a.done(w, r, u.ID, tr("The user is created."))
}

// invitePage is the form to invite someone, when invitations are on.
func (a *Handler) invitePage(w http.ResponseWriter, r *http.Request, me admin) {
	if !a.svc.Config().EnableInviteUser {
		a.notFound(w, r)
		return
	}
	a.pages.Render(w, r, http.StatusOK, "admin_invite", web.Page{})
}

func (a *Handler) inviteSubmit(w http.ResponseWriter, r *http.Request, me admin) {
	if !a.svc.Config().EnableInviteUser {
		a.notFound(w, r)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := a.svc.Invite(r.Context(), email, me.user.ID, a.web.Client(r)); err != nil {
		a.pages.Render(w, r, 0, "admin_invite", web.Page{Form: r.PostForm, Err: err, Fields: []string{"email"}})
		return
	}
	a.pages.Render(w, r, http.StatusOK, "admin_invite", web.Page{Data: map[string]any{"sent": email}})
}

// reauthPage asks the admin to prove again who they are, before a
// dangerous action: their password, or a code from their second factor.
func (a *Handler) reauthPage(w http.ResponseWriter, r *http.Request, me admin) {
	a.renderReauth(w, r, me, http.StatusOK, nil)
}

func (a *Handler) renderReauth(w http.ResponseWriter, r *http.Request, me admin, status int, err error) {
	methods, _ := a.svc.ListMFAMethods(r.Context(), me.user.ID)
	next, _ := web.LocalLocation(r.FormValue("next"))
	a.pages.Render(w, r, status, "admin_reauth", web.Page{Err: err, Fields: []string{"password", "code"},
		Data: map[string]any{"next": next, "mfa": len(methods) > 0}})
}

func (a *Handler) reauthSubmit(w http.ResponseWriter, r *http.Request, me admin) {
	if me.sess == nil {
		// Not a session (none to record the proof for).
		a.web.Forbidden(w, r)
		return
	}
	var f *usher.SecondFactor
	if code := strings.TrimSpace(r.PostFormValue("code")); code != "" {
		typ := usher.MFATOTP
		if len(code) > 8 {
			typ = usher.MFARecovery
		}
		f = &usher.SecondFactor{Type: typ, Code: code}
	}
	if err := a.svc.Reauthenticate(r.Context(), me.sess, r.PostFormValue("password"), f, a.web.Client(r)); err != nil {
		a.renderReauth(w, r, me, 0, err)
		return
	}
	a.web.Flash(w, r, tr("Thank you. You can go on for the next 10 minutes."), false)
	next, ok := web.LocalLocation(r.PostFormValue("next"))
	if !ok {
		next = a.base
	}
	http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- LocalLocation: a path on this site
}
