package web

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"

	"github.com/usher-auth/usher"
)

// The e-mail flows: the JSON API, and the pages that e-mailed links open.
// A link's GET only shows a page with a button; the action is its POST, so
// that mail scanners that fetch links cannot use them up.

func (h *Handler) emailRoutes() {
	p := h.opts.Prefix
	h.mux.HandleFunc("POST "+p+"/api/confirm-email", h.tokenAPI(h.confirmEmailAPI))
	h.mux.HandleFunc("POST "+p+"/api/resend-confirmation", h.mailRequestAPI(h.svc.SendConfirmEmail))
	h.mux.HandleFunc("POST "+p+"/api/password-reset", h.mailRequestAPI(h.svc.SendPasswordResetEmail))
	h.mux.HandleFunc("POST "+p+"/api/password-reset/confirm", h.tokenAPI(h.resetPasswordAPI))
	h.mux.HandleFunc("POST "+p+"/api/login-link", h.mailRequestAPI(h.svc.SendLoginLink))
	h.mux.HandleFunc("POST "+p+"/api/login-link/confirm", h.tokenAPI(h.loginLinkAPI))

	for _, f := range h.linkFlows() {
		h.mux.HandleFunc("GET "+p+f.path, func(w http.ResponseWriter, r *http.Request) { h.page(w, http.StatusOK, f.page) })
		h.mux.HandleFunc("POST "+p+f.path, h.linkAction(f))
	}
	h.mux.HandleFunc("GET "+p+"/api/emails", h.handleListEmails)
	h.mux.HandleFunc("POST "+p+"/api/emails", h.handleAddEmail)
	h.mux.HandleFunc("POST "+p+"/api/emails/{id}/primary", h.ownItemAction(h.svc.SetPrimaryEmail))
	h.mux.HandleFunc("DELETE "+p+"/api/emails/{id}", h.ownItemAction(h.svc.RemoveEmail))
	h.mux.HandleFunc("POST "+p+"/api/change-username", h.handleChangeUsernameAPI)
	h.mux.HandleFunc("POST "+p+"/api/invite", h.handleInviteAPI)
	if h.opts.DevMailbox != nil {
		h.mux.Handle(p+"/dev/mailbox", localOnly(h.opts.DevMailbox))
	}
}

// localOnly serves only requests from this machine that no proxy relayed:
// the development mailbox shows other people's links.
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type emailBody struct {
	Email string `json:"email"`
}

// mailRequestAPI serves the "send me a link" requests. The answer is
// {"ok":true} whether or not an account has the address.
func (h *Handler) mailRequestAPI(send func(ctx context.Context, email string, c usher.Client) error) http.HandlerFunc {
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
func (h *Handler) tokenAPI(act func(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error)) http.HandlerFunc {
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
func (h *Handler) confirmEmailAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	return h.svc.ConfirmEmail(r.Context(), b.Token, h.client(r))
}

// resetPasswordAPI serves POST /user/api/password-reset/confirm.
func (h *Handler) resetPasswordAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	return h.svc.ResetPasswordWithToken(r.Context(), b.Token, b.NewPassword, h.client(r))
}

// loginLinkAPI serves POST /user/api/login-link/confirm.
func (h *Handler) loginLinkAPI(r *http.Request, b tokenBody) (*usher.User, *usher.Session, error) {
	sess, u, err := h.svc.LoginWithLink(r.Context(), b.Token, b.Remember, h.deviceToken(r, ""), h.client(r))
	return u, sess, err
}

// linkPageTmpl is the small page an e-mailed link opens (the pages issue
// gives it the product's look). Its form posts back to the same URL.
var linkPageTmpl = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – {{.App}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
{{if .Done}}<p id="done">{{.Done}}</p><p><a href="{{.Next}}">Continue</a></p>
{{else}}<form method="post">
{{if or (eq .Kind "reset") (eq .Kind "invite")}}<p><label for="new_password">New password</label><br>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required{{if .Error}} aria-describedby="error"{{end}}></p>
<p><label for="retype_password">Retype the new password</label><br>
<input id="retype_password" name="retype_password" type="password" autocomplete="new-password" required></p>{{end}}
{{if eq .Kind "login"}}<p><label><input type="checkbox" name="remember" value="1"> Remember me</label></p>{{end}}
{{if eq .Kind "mfareset"}}<p>Two-factor authentication will be turned off; you can set it up again after logging in.</p>
<p><label for="password">Your password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-describedby="error"{{end}}></p>{{end}}
<p><button type="submit">{{.Button}}</button></p>
</form>{{end}}
</main></body></html>
`))

type linkPageData struct {
	Kind, Title, Button, App, Error, Done, Next string
}

// page writes a link page with the given status.
func (h *Handler) page(w http.ResponseWriter, status int, d linkPageData) {
	d.App = h.svc.Config().AppName
	if d.Next == "" {
		d.Next = "/"
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	linkPageTmpl.Execute(w, d)
}

// pageError writes a link page for a failed action: the message in the
// user's language, the status from the error table.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, d linkPageData, err error) {
	status, e := h.classify(r, err)
	d.Error = e.Message
	if len(e.Fields) > 0 && e.Message == h.msg(r, "validation_failed") {
		for _, m := range e.Fields {
			d.Error = m
		}
	}
	h.page(w, status, d)
}

type changeUsernameBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleChangeUsernameAPI serves POST /user/api/change-username.
func (h *Handler) handleChangeUsernameAPI(w http.ResponseWriter, r *http.Request) {
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
// someone by e-mail.
func (h *Handler) handleInviteAPI(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAuth(w, r)
	if !ok {
		return
	}
	var b emailBody
	if !h.decodeOrFail(w, r, &b) {
		return
	}
	if err := h.svc.Invite(r.Context(), b.Email, a.user.ID, h.client(r)); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// linkFlow is one kind of e-mailed link: its page, and the action of the
// page's form.
type linkFlow struct {
	path   string // the route under Prefix
	page   linkPageData
	retype bool   // the form asks for a new password twice
	done   string // message ID shown on success; "" redirects to next
	next   string // where the user goes afterwards
	act    func(r *http.Request, password string) (*usher.Session, error)
}

func (h *Handler) linkFlows() []linkFlow {
	return []linkFlow{
		{path: "/confirm-email/{token}", page: linkPageData{Kind: "confirm", Title: "Confirm your e-mail address", Button: "Confirm"},
			done: "email_confirmed", next: h.opts.AfterConfirmURL, act: func(r *http.Request, _ string) (*usher.Session, error) {
				_, sess, err := h.svc.ConfirmEmail(r.Context(), r.PathValue("token"), h.client(r))
				return sess, err
			}},
		{path: "/reset-password/{token}", page: linkPageData{Kind: "reset", Title: "Choose a new password", Button: "Set password"},
			retype: true, done: "password_reset_done", next: h.opts.AfterResetPasswordURL, act: func(r *http.Request, pw string) (*usher.Session, error) {
				_, sess, err := h.svc.ResetPasswordWithToken(r.Context(), r.PathValue("token"), pw, h.client(r))
				return sess, err
			}},
		{path: "/login-link/{token}", page: linkPageData{Kind: "login", Title: "Log in", Button: "Log in"},
			next: h.opts.AfterLoginURL, act: func(r *http.Request, _ string) (*usher.Session, error) {
				sess, _, err := h.svc.LoginWithLink(r.Context(), r.PathValue("token"), r.PostFormValue("remember") != "", h.deviceToken(r, ""), h.client(r))
				return sess, err
			}},
		{path: "/mfa-reset/{token}", page: linkPageData{Kind: "mfareset", Title: "Turn off two-factor authentication", Button: "Turn off"},
			done: "mfa_reset_done", next: "/", act: func(r *http.Request, _ string) (*usher.Session, error) {
				return nil, h.svc.ResetMFAWithToken(r.Context(), r.PathValue("token"), r.PostFormValue("password"), h.client(r))
			}},
		{path: "/register", page: linkPageData{Kind: "invite", Title: "Create your account", Button: "Create account"},
			retype: true, done: "account_created", next: h.opts.AfterRegisterURL, act: func(r *http.Request, pw string) (*usher.Session, error) {
				_, sess, err := h.svc.SignupWithEmail(r.Context(), usher.Signup{Password: pw, InvitationToken: r.URL.Query().Get("token")}, h.client(r))
				return sess, err
			}},
	}
}

// linkAction serves the POST of a link page: it runs the flow's action,
// sets the cookies of a session it starts (even one that may only set a
// new password), and shows the outcome.
func (h *Handler) linkAction(f linkFlow) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		pw := r.PostFormValue("new_password")
		if f.retype && pw != r.PostFormValue("retype_password") {
			h.pageError(w, r, f.page, &usher.ValidationError{Fields: map[string]string{"retype_password": usher.MsgPasswordMismatch}})
			return
		}
		sess, err := f.act(r, pw)
		if sess != nil {
			h.setSessionCookies(w, r, sess)
		}
		if err != nil {
			h.pageError(w, r, f.page, err)
			return
		}
		if f.done == "" {
			http.Redirect(w, r, f.next, http.StatusSeeOther)
			return
		}
		d := f.page
		d.Done, d.Next = h.msg(r, f.done), f.next
		h.page(w, http.StatusOK, d)
	}
}

type emailJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Primary   bool   `json:"primary"`
	Confirmed bool   `json:"confirmed"`
}

// handleListEmails serves GET /user/api/emails.
func (h *Handler) handleListEmails(w http.ResponseWriter, r *http.Request) {
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
func (h *Handler) handleAddEmail(w http.ResponseWriter, r *http.Request) {
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
