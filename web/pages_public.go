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

// The pages for visitors: log in, register, log out, the "send me a link"
// forms and the pages that e-mailed links open.

// logoutPage serves GET /user/logout: the page whose button logs out.
func (h *pageHandler) logoutPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "logout", h.newPage(w, r))
}

// mailFormPage serves the GET of a "send me a link" form: the template
// page.
func (h *pageHandler) mailFormPage(page string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusOK, page, h.newPage(w, r))
	}
}

// mailFormSubmit serves the POST of a "send me a link" form: send mails
// the link, and the page says it was sent.
func (h *pageHandler) mailFormSubmit(page string, send func(ctx context.Context, email string, c usher.Client) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := h.newPage(w, r)
		d.Form = r.PostForm
		if err := send(r.Context(), r.PostFormValue("email"), h.client(r)); err != nil {
			h.render(w, r, h.formError(r, d, err), page, d)
			return
		}
		d.Done = true
		h.render(w, r, http.StatusOK, page, d)
	}
}

// loginPage serves GET /user/login; a logged-in user goes on at once.
func (h *pageHandler) loginPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	// reauth=1: a logged-in user asked to log in again (to link an
	// account, which needs a recent log-in) gets the form.
	if d.User != nil && r.URL.Query().Get("reauth") == "" {
		h.redirectNext(w, r, h.opts.AfterLoginURL)
		return
	}
	h.renderLogin(w, r, http.StatusOK, d, nil)
}

// renderLogin shows the log-in page, or Flask-User's log-in-or-register
// page with reg as the sign-up half.
func (h *pageHandler) renderLogin(w http.ResponseWriter, r *http.Request, status int, d, reg *pageData) {
	d.Data["passkeys"] = h.svc.PasskeysEnabled()
	d.Data["providers"] = h.providerButtons(usher.IntentLogin, d.Next)
	if !h.opts.LoginOrRegister {
		h.render(w, r, status, "login", d)
		return
	}
	if reg == nil {
		reg = h.subPage(d)
	}
	reg.Data["providers"] = h.providerButtons(usher.IntentSignup, reg.Next)
	d.Data["register"] = reg
	h.render(w, r, status, "login_or_register", d)
}

// subPage returns the data of the other form of a two-form page.
func (h *pageHandler) subPage(d *pageData) *pageData {
	sub := *d
	sub.Form, sub.Errors, sub.Error, sub.Data = nil, map[string]string{}, "", map[string]any{}
	return &sub
}

// loginSubmit serves POST /user/login.
func (h *pageHandler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	login := strings.TrimSpace(r.PostFormValue("login"))
	sess, _, err := h.svc.Login(r.Context(), usher.Credentials{
		Login: login, Password: r.PostFormValue("password"), Remember: r.PostFormValue("remember") != "",
		DeviceToken: h.deviceToken(r, ""),
	}, h.client(r))
	h.afterLogin(w, r, d, sess, err, func(status int) {
		if errors.Is(err, usher.ErrEmailNotConfirmed) && strings.Contains(login, "@") {
			d.Data["resend"] = login
		}
		h.renderLogin(w, r, status, d, nil)
	})
}

// passkeyLoginSubmit serves POST /user/login/passkey: the passkey's answer
// that usher-webauthn.js filled in (hidden state and credential).
func (h *pageHandler) passkeyLoginSubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	sess, _, err := h.svc.FinishPasskeyLogin(r.Context(), r.PostFormValue("state"),
		[]byte(r.PostFormValue("credential")), r.PostFormValue("remember") != "", h.client(r))
	h.afterLogin(w, r, d, sess, err, func(status int) {
		if _, ok := d.Errors["credential"]; ok || errors.Is(err, usher.ErrInvalidToken) {
			d.Error = h.textIn(d, "The passkey was not used. Try again.")
			delete(d.Errors, "credential")
		}
		h.renderLogin(w, r, status, d, nil)
	})
}

// afterLogin ends every way of logging in from a page: cookies and the
// next page on success, the second-factor page when one is needed, the
// change-password page when an admin requires a new password, else
// showError with the error's status.
func (h *pageHandler) afterLogin(w http.ResponseWriter, r *http.Request, d *pageData, sess *usher.Session, err error, showError func(status int)) {
	if sess != nil {
		h.setSessionCookies(w, r, sess)
	}
	switch {
	case h.nextStep(w, r, d.Next, r.PostFormValue("remember") != "", sess, err):
	case err != nil:
		status := h.formError(r, d, err)
		showError(status)
	default:
		redirectLocal(w, r, d.Next, h.opts.AfterLoginURL)
	}
}

// nextStep sends a log-in that is not over yet on to its next step, and
// reports whether it did: the second-factor page (the pending log-in kept
// with the remember-me choice) when err asks for a second factor, the
// change-password page when an admin requires a new password; next is
// kept for afterwards.
func (h *pageHandler) nextStep(w http.ResponseWriter, r *http.Request, next string, remember bool, sess *usher.Session, err error) bool {
	var mfa *usher.MFARequiredError
	switch {
	case errors.As(err, &mfa) && mfa.Pending != "":
		h.setPendingMFA(w, r, mfa.Pending, remember)
		step := "/mfa/verify"
		if mfa.Enroll {
			step = "/mfa/enroll"
		}
		http.Redirect(w, r, h.prefix+step+nextQuery(next), http.StatusSeeOther) // #nosec G710 -- our own page; next, escaped in its query, is checked when used
	case errors.Is(err, usher.ErrPasswordResetRequested) && sess != nil:
		h.flash(w, r, "password_reset_requested", true)
		http.Redirect(w, r, h.prefix+"/change-password"+nextQuery(next), http.StatusSeeOther) // #nosec G710 -- as above
	default:
		return false
	}
	return true
}

// nextQuery returns "?next=..." for a non-empty next.
func nextQuery(next string) string {
	if next == "" {
		return ""
	}
	return "?next=" + url.QueryEscape(next)
}

// registerPage serves GET /user/register (also the page an invitation link
// opens, with ?token=: checked at once, see linkPage).
func (h *pageHandler) registerPage(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	if tok := r.URL.Query().Get("token"); tok != "" {
		if err := h.svc.CheckLink(r.Context(), usher.TokenInvitation, tok); err != nil {
			h.deadLink(w, r, d, invitationFlow, err)
			return
		}
		d.Data["invitation"] = tok
	} else if d.User != nil {
		h.redirectNext(w, r, h.opts.AfterRegisterURL)
		return
	}
	if h.opts.LoginOrRegister && d.Data["invitation"] == nil {
		h.renderLogin(w, r, http.StatusOK, h.subPage(d), d)
		return
	}
	h.renderRegister(w, r, http.StatusOK, d)
}

// renderRegister shows the sign-up page, with the providers that allow
// sign-up unless it is an invitation's.
func (h *pageHandler) renderRegister(w http.ResponseWriter, r *http.Request, status int, d *pageData) {
	if d.Data["invitation"] == nil {
		d.Data["providers"] = h.providerButtons(usher.IntentSignup, d.Next)
	}
	h.render(w, r, status, "register", d)
}

// registerSubmit serves POST /user/register.
func (h *pageHandler) registerSubmit(w http.ResponseWriter, r *http.Request) {
	d := h.newPage(w, r)
	d.Form = r.PostForm
	tok := r.PostFormValue("token")
	if tok != "" {
		d.Data["invitation"] = tok
	}
	showError := func(status int) {
		if h.opts.LoginOrRegister && tok == "" {
			h.renderLogin(w, r, status, h.subPage(d), d)
			return
		}
		h.renderRegister(w, r, status, d)
	}
	pw, retyped := r.PostFormValue("password"), r.PostFormValue("retype_password")
	profile := map[string]string{}
	for _, f := range h.svc.Config().ProfileFields {
		if v := strings.TrimSpace(r.PostFormValue(f.Name)); v != "" {
			profile[f.Name] = v
		}
	}
	u, sess, err := h.svc.SignupWithEmail(r.Context(), usher.Signup{
		Email: r.PostFormValue("email"), Username: r.PostFormValue("username"), Password: pw, RetypePassword: &retyped,
		Profile: profile, InvitationToken: tok, Locale: d.Lang,
	}, h.client(r))
	if tok != "" && errors.Is(err, usher.ErrInvalidToken) {
		h.deadLink(w, r, d, invitationFlow, err)
		return
	}
	if err != nil {
		showError(h.formError(r, d, err))
		return
	}
	if sess != nil {
		h.setSessionCookies(w, r, sess)
		h.flash(w, r, tr("account_created"), false)
		h.redirectNext(w, r, h.opts.AfterRegisterURL)
		return
	}
	if cfg := h.svc.Config(); cfg.RequireMFA && u.Enabled && (u.EmailConfirmed() || !cfg.EnableConfirmEmail || cfg.EnableLoginWithoutConfirmEmail) {
		// The account may log in but needs a second factor first: on
		// to setting one up, as a log-in would.
		sess, _, err := h.svc.Login(r.Context(), usher.Credentials{Email: u.Email, Password: pw, Remember: r.PostFormValue("remember") != ""}, h.client(r))
		h.afterLogin(w, r, d, sess, err, func(status int) { showError(status) })
		return
	}
	d.Data["title"] = tr("Create your account")
	switch {
	case h.svc.Config().EnableConfirmEmail && !u.EmailConfirmed():
		d.Data["text"] = tr("Your account is created. We have sent you an email: open its link to confirm your address.")
	case !u.Enabled:
		d.Data["text"] = tr("Your account is created. You can log in once an administrator has approved it.")
	default:
		d.Data["text"] = tr("Your account is created. You can log in now.")
	}
	d.Data["continue"] = h.prefix + "/login"
	h.render(w, r, http.StatusOK, "message", d)
}

// logoutSubmit serves POST /user/logout.
func (h *pageHandler) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := h.logout(w, r); err != nil {
		h.log.Error("usher: logout", "err", err)
	}
	h.flash(w, r, tr("You have logged out."), false)
	h.redirectNext(w, r, h.opts.AfterLogoutURL)
}

// languageSubmit serves POST /user/language, the language switcher: the
// choice is kept in a cookie and, for a logged-in user, on the account
// (their e-mails use it too).
func (h *pageHandler) languageSubmit(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if h.cat.Supported(lang) {
		http.SetCookie(w, &http.Cookie{
			Name: h.langCookieName(), Value: lang, Path: "/", MaxAge: int(365 * 24 * time.Hour / time.Second),
			HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
		})
		if a, _ := h.authenticate(r, true); a != nil && a.user.Locale != lang {
			if err := h.svc.SetLocale(r.Context(), a.user.ID, lang); err != nil {
				h.log.Error("usher: set locale", "err", err)
			}
		}
	}
	h.redirectNext(w, r, "/")
}

// linkFlow is one kind of e-mailed link: its page, the action of the
// page's form, and where to ask for a new link once it no longer works.
type linkFlow struct {
	page   string   // the template
	kind   string   // the token's kind (usher.Token...)
	fields []string // the form's inputs; an error about another field is the form's message
	retype bool     // the form asks for a new password twice
	renew  string   // the page, under Prefix, that sends a new link ("" none)
	hint   string   // message ID the dead link's page adds ("" none)
	done   string   // message ID flashed on success
	next   string   // where the user goes afterwards
	act    func(r *http.Request, password string) (*usher.Session, error)
}

// invitationFlow is the invitation link's: it opens the sign-up page
// (registerPage), and only whoever invited can send a new one.
var invitationFlow = linkFlow{kind: usher.TokenInvitation, hint: tr("Ask the person who invited you to send a new invitation.")}

// linkFlows are the flows of the e-mailed links that open a page of their
// own, one field each (routes.go gives each its path).
type linkFlows struct {
	confirmEmail, resetPassword, loginLink, mfaReset linkFlow
}

func (h *pageHandler) linkFlows() linkFlows {
	return linkFlows{
		confirmEmail: linkFlow{page: "confirm_email", kind: usher.TokenConfirmEmail, renew: "/resend-confirm-email",
			done: "email_confirmed", next: h.opts.AfterConfirmURL, act: func(r *http.Request, _ string) (*usher.Session, error) {
				_, sess, err := h.svc.ConfirmEmail(r.Context(), r.PathValue("token"), h.client(r))
				return sess, err
			}},
		resetPassword: linkFlow{page: "reset_password", kind: usher.TokenResetPassword, renew: "/forgot-password",
			fields: []string{"new_password", "retype_password"}, retype: true,
			done: "password_reset_done", next: h.opts.AfterResetPasswordURL, act: func(r *http.Request, pw string) (*usher.Session, error) {
				_, sess, err := h.svc.ResetPasswordWithToken(r.Context(), r.PathValue("token"), pw, h.client(r))
				return sess, err
			}},
		loginLink: linkFlow{page: "login_link_use", kind: usher.TokenLoginLink, renew: usher.PathLoginLink,
			next: h.opts.AfterLoginURL, act: func(r *http.Request, _ string) (*usher.Session, error) {
				sess, _, err := h.svc.LoginWithLink(r.Context(), r.PathValue("token"), r.PostFormValue("remember") != "", h.deviceToken(r, ""), h.client(r))
				return sess, err
			}},
		mfaReset: linkFlow{page: "mfa_reset", kind: usher.TokenMFAReset, renew: usher.PathMFAReset, fields: []string{"password"},
			done: "mfa_reset_done", next: h.prefix + "/login", act: func(r *http.Request, _ string) (*usher.Session, error) {
				return nil, h.svc.ResetMFAWithToken(r.Context(), r.PathValue("token"), r.PostFormValue("password"), h.client(r))
			}},
	}
}

// linkPage serves the GET of a link page: the page's form while the link
// works, else at once the page that says it no longer does — rather than
// after the user has filled in the form. The check does not use the link
// up nor extend it: only the form's POST acts (mail scanners open links
// too).
func (h *pageHandler) linkPage(f linkFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := h.newPage(w, r)
		if err := h.svc.CheckLink(r.Context(), f.kind, r.PathValue("token")); err != nil {
			h.deadLink(w, r, d, f, err)
			return
		}
		h.render(w, r, http.StatusOK, f.page, d)
	}
}

// deadLink shows, for a link of flow f that no longer works
// (usher.ErrInvalidToken), the page that says so, with the way to ask for
// a new one; for any other error (a flow turned off, an outage), the
// error's page.
func (h *pageHandler) deadLink(w http.ResponseWriter, r *http.Request, d *pageData, f linkFlow, err error) {
	if !errors.Is(err, usher.ErrInvalidToken) {
		h.showError(w, r, d, err)
		return
	}
	status := h.formError(r, d, err)
	d.Error = "" // the page says it
	if f.renew != "" {
		d.Data["renew"] = h.prefix + f.renew
	}
	if f.hint != "" {
		d.Data["hint"] = f.hint
	}
	h.render(w, r, status, "link_invalid", d)
}

// linkAction serves the POST of a link page: it runs the flow's action,
// sets the cookies of a session it starts (even one that may only set a
// new password), and sends the user on with a flash message. A link that
// died while its page was open gets the dead link's page.
func (h *pageHandler) linkAction(f linkFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := h.newPage(w, r)
		d.Next = f.next
		pw := r.PostFormValue("new_password")
		if f.retype && pw != r.PostFormValue("retype_password") {
			h.render(w, r, h.mismatchError(r, d, pw, "", ""), f.page, d)
			return
		}
		sess, err := f.act(r, pw)
		if errors.Is(err, usher.ErrInvalidToken) {
			h.deadLink(w, r, d, f, err)
			return
		}
		if f.done != "" && err == nil {
			h.flash(w, r, f.done, false)
		}
		h.afterLogin(w, r, d, sess, err, func(status int) {
			if f.retype {
				d.renameError("password", "new_password")
			}
			d.keepFields(f.fields...)
			h.render(w, r, status, f.page, d)
		})
	}
}
