package web

import (
	"net/http"
	"strings"

	"github.com/usher-auth/usher"
)

// route is one entry of the route table: a pattern under the Service's
// Config.Prefix ("METHOD /path", or "/path/" for every method) and the
// handler that serves it.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// routes returns every route the Handler serves, in one table: the JSON
// API, forward auth, the pages (a form's POST wrapped in form for the
// CSRF check, a logged-in user's page in memberPage) and the static
// files.
func routes(c *core) []route {
	api, pg, fa, st := &apiHandler{c}, &pageHandler{c}, &verifyHandler{c}, &staticHandler{c}
	ad := &adminHandler{c}
	svc, flows := c.svc, pg.linkFlows()
	return []route{
		// The JSON API: accounts and sessions.
		{"POST /api/signup", api.handleSignup},
		{"POST /api/login", api.handleLogin},
		{"POST /api/logout", api.handleLogout},
		{"GET /api/me", api.handleMe},
		{"POST /api/change-password", api.handleChangePassword},
		{"POST /api/reauth", api.handleReauth},
		{"GET /api/sessions", api.handleSessions},
		{"DELETE /api/sessions", api.handleRevokeOtherSessions},
		{"DELETE /api/sessions/{id}", api.handleRevokeSession},
		{"GET /api/i18n", api.handleI18n},

		// The JSON API: e-mailed links, addresses, usernames, invitations.
		{"POST /api/confirm-email", api.tokenAPI(api.confirmEmailAPI)},
		{"POST /api/resend-confirmation", api.mailRequestAPI(svc.SendConfirmEmail)},
		{"POST /api/password-reset", api.mailRequestAPI(svc.SendPasswordResetEmail)},
		{"POST /api/password-reset/confirm", api.tokenAPI(api.resetPasswordAPI)},
		{"POST /api/login-link", api.mailRequestAPI(svc.SendLoginLink)},
		{"POST /api/login-link/confirm", api.tokenAPI(api.loginLinkAPI)},
		{"GET /api/emails", api.handleListEmails},
		{"POST /api/emails", api.handleAddEmail},
		{"POST /api/emails/{id}/primary", api.ownItemAction(svc.SetPrimaryEmail)},
		{"DELETE /api/emails/{id}", api.ownItemAction(svc.RemoveEmail)},
		{"POST /api/change-username", api.handleChangeUsernameAPI},
		{"POST /api/invite", api.handleInviteAPI},
		{"GET /api/identities", api.handleListIdentities},
		{"DELETE /api/identities/{id}", api.ownItemAction(svc.UnlinkIdentity)},

		// The JSON API: second factors (Anvil's anvil.users.mfa).
		{"POST /api/mfa/login", api.handleMFALogin},
		{"POST /api/mfa/totp/secret", api.handleTOTPSecret},
		{"POST /api/mfa/totp/validate", api.handleTOTPValidate},
		{"GET /api/mfa/methods", api.handleListMFAMethods},
		{"POST /api/mfa/methods", api.handleAddMFAMethod},
		{"DELETE /api/mfa/methods/{id}", api.ownItemAction(svc.RemoveMFAMethod)},
		{"POST /api/mfa/available", api.handleAvailableMFA},
		{"POST /api/mfa/recovery-codes", api.handleRecoveryCodes},
		{"POST /api/mfa/reset", api.mailRequestAPI(svc.SendMFAResetEmail)},
		{"POST /api/mfa/reset/confirm", api.handleMFAResetConfirm},
		{"POST /api/mfa/enroll/secret", api.handleEnrollSecret},
		{"POST /api/mfa/enroll", api.handleEnroll},
		{"POST /api/mfa/webauthn/register/begin", api.handleWebAuthnRegisterBegin},
		{"POST /api/mfa/webauthn/register/finish", api.handleWebAuthnRegisterFinish},
		{"POST /api/mfa/webauthn/login/begin", api.handleWebAuthnLoginBegin},
		{"POST /api/mfa/webauthn/login/finish", api.handleWebAuthnLoginFinish},
		{"POST /api/passkey/login/begin", api.handlePasskeyLoginBegin},
		{"POST /api/passkey/login/finish", api.handlePasskeyLoginFinish},

		// The admin JSON API (api_admin.go): an admin's session or an API
		// key; ad.userRoute's true marks the actions that need a recent
		// log-in.
		{"GET /api/admin/users", ad.adminRoute(false, ad.handleListUsers)},
		{"POST /api/admin/users", ad.adminRoute(false, ad.handleCreateUser)},
		{"GET /api/admin/users/{id}", ad.userRoute(false, ad.handleGetUser)},
		{"PATCH /api/admin/users/{id}", ad.userRoute(false, ad.handleUpdateUser)},
		{"DELETE /api/admin/users/{id}", ad.userRoute(true, ad.handleDeleteUser)},
		{"POST /api/admin/users/{id}/enable", ad.userAction(false, svc.EnableUser)},
		{"POST /api/admin/users/{id}/disable", ad.userAction(true, svc.DisableUser)},
		{"POST /api/admin/users/{id}/unlock", ad.userAction(false, svc.UnlockUser)},
		{"POST /api/admin/users/{id}/require-reset", ad.userAction(false, svc.RequirePasswordReset)},
		{"POST /api/admin/users/{id}/password", ad.userRoute(true, ad.handleSetPassword)},
		{"PUT /api/admin/users/{id}/roles/{role}", ad.roleAction(true)},
		{"DELETE /api/admin/users/{id}/roles/{role}", ad.roleAction(false)},
		{"GET /api/admin/users/{id}/sessions", ad.userRoute(false, ad.handleListSessions)},
		{"DELETE /api/admin/users/{id}/sessions", ad.userRoute(false, ad.handleRevokeSessions)},
		{"DELETE /api/admin/users/{id}/sessions/{sid}", ad.userRoute(false, ad.handleRevokeSession)},
		{"GET /api/admin/users/{id}/factors", ad.userRoute(false, ad.handleListFactors)},
		{"DELETE /api/admin/users/{id}/factors", ad.userRoute(false, ad.handleResetFactors)},
		{"POST /api/admin/invite", ad.adminRoute(false, ad.handleInvite)},
		{"GET /api/admin/audit", ad.adminRoute(false, ad.handleAudit)},

		// Forward auth, and every other API path.
		{"GET /api/verify", fa.handleVerify},
		{"/api/", api.notFound},

		// The pages for visitors.
		{"GET /login", pg.loginPage},
		{"POST /login", pg.form(pg.loginSubmit)},
		{"POST /login/passkey", pg.form(pg.passkeyLoginSubmit)},
		{"GET " + usher.PathRegister, pg.registerPage},
		{"POST " + usher.PathRegister, pg.form(pg.registerSubmit)},
		{"GET /logout", pg.logoutPage},
		{"POST /logout", pg.form(pg.logoutSubmit)},
		{"POST /language", pg.form(pg.languageSubmit)},
		{"GET /mfa/verify", pg.mfaVerifyPage},
		{"POST /mfa/verify", pg.form(pg.mfaVerifySubmit)},
		{"GET /mfa/enroll", pg.enrollPage},
		{"POST /mfa/enroll", pg.form(pg.enrollSubmit)},

		// The "send me a link" forms, and the pages e-mailed links open.
		{"GET /forgot-password", pg.mailFormPage("forgot_password")},
		{"POST /forgot-password", pg.form(pg.mailFormSubmit("forgot_password", svc.SendPasswordResetEmail))},
		{"GET /resend-confirm-email", pg.mailFormPage("resend_confirm_email")},
		{"POST /resend-confirm-email", pg.form(pg.mailFormSubmit("resend_confirm_email", svc.SendConfirmEmail))},
		{"GET " + usher.PathLoginLink, pg.mailFormPage("login_link")},
		{"POST " + usher.PathLoginLink, pg.form(pg.mailFormSubmit("login_link", svc.SendLoginLink))},
		{"GET " + usher.PathMFAReset, pg.mailFormPage("mfa_reset_request")},
		{"POST " + usher.PathMFAReset, pg.form(pg.mailFormSubmit("mfa_reset_request", svc.SendMFAResetEmail))},
		{"GET " + usher.PathConfirmEmail + "/{token}", pg.linkPage(flows.confirmEmail)},
		{"POST " + usher.PathConfirmEmail + "/{token}", pg.form(pg.linkAction(flows.confirmEmail))},
		{"GET " + usher.PathResetPassword + "/{token}", pg.linkPage(flows.resetPassword)},
		{"POST " + usher.PathResetPassword + "/{token}", pg.form(pg.linkAction(flows.resetPassword))},
		{"GET " + usher.PathLoginLink + "/{token}", pg.linkPage(flows.loginLink)},
		{"POST " + usher.PathLoginLink + "/{token}", pg.form(pg.linkAction(flows.loginLink))},
		{"GET " + usher.PathMFAReset + "/{token}", pg.linkPage(flows.mfaReset)},
		{"POST " + usher.PathMFAReset + "/{token}", pg.form(pg.linkAction(flows.mfaReset))},

		// Federated sign-in (web/federated.go). The SAML IdP's post to the
		// assertion consumer service is cross-site: no CSRF token, let
		// through the cross-origin check (New).
		{"GET " + usher.PathFederated + "/{name}/start", pg.federatedStart},
		{"GET " + usher.PathFederated + "/{name}/callback", pg.federatedCallback},
		{"GET " + usher.PathSAML + "/{name}/metadata", pg.samlMetadata},
		{samlACSPattern, pg.samlACS},

		// The pages for logged-in users.
		{"GET /profile", pg.memberPage(pg.profilePage)},
		{"POST /profile", pg.form(pg.memberPage(pg.profileSubmit))},
		{"POST /profile/sessions/revoke-others", pg.form(pg.memberPage(pg.revokeOtherSessionsSubmit))},
		{"POST /profile/sessions/{id}/revoke", pg.form(pg.memberPage(pg.revokeSessionSubmit))},
		{"POST /profile/identities/{id}/unlink", pg.form(pg.memberPage(pg.unlinkSubmit))},
		{"GET /change-password", pg.changePasswordPage},
		{"POST /change-password", pg.form(pg.changePasswordSubmit)},
		{"GET /change-username", pg.ifUsernames(pg.memberPage(pg.changeUsernamePage))},
		{"POST /change-username", pg.ifUsernames(pg.form(pg.memberPage(pg.changeUsernameSubmit)))},
		{"GET /manage-emails", pg.ifMultipleEmails(pg.memberPage(pg.manageEmailsPage))},
		{"POST /manage-emails", pg.ifMultipleEmails(pg.form(pg.memberPage(pg.addEmailSubmit)))},
		{"POST /manage-emails/{id}/primary", pg.ifMultipleEmails(pg.form(pg.memberPage(
			pg.emailAction(svc.SetPrimaryEmail, tr("Your primary email address has been changed.")))))},
		{"POST /manage-emails/{id}/remove", pg.ifMultipleEmails(pg.form(pg.memberPage(
			pg.emailAction(svc.RemoveEmail, tr("The email address has been removed.")))))},
		{"GET /invite", pg.memberPage(pg.mayInvite(pg.invitePage))},
		{"POST /invite", pg.form(pg.memberPage(pg.mayInvite(pg.inviteSubmit)))},
		{"GET /mfa", pg.memberPage(pg.mfaPage)},
		{"POST /mfa", pg.form(pg.memberPage(pg.mfaAddSubmit))},
		{"POST /mfa/methods/{id}/remove", pg.form(pg.memberPage(pg.mfaRemoveSubmit))},
		{"POST /mfa/recovery-codes", pg.form(pg.memberPage(pg.recoveryCodesSubmit))},
		{"POST /mfa/webauthn", pg.form(pg.memberPage(pg.mfaWebAuthnSubmit))},

		// Static files, and the development mailbox when there is one.
		{"GET /theme.css", st.themeCSS},
		{"GET /static/", st.serveStatic()},
		{"/dev/mailbox", st.devMailbox()},
	}
}

// samlACSPattern is the route of the SAML assertion consumer service,
// which the cross-origin check lets through.
const samlACSPattern = "POST " + usher.PathSAML + "/{name}/acs"

// register adds the routes to the Handler's mux, each pattern's path put
// under Prefix; a route without a handler (the development mailbox when
// Options.DevMailbox is nil) is left out.
func (h *Handler) register(table []route) {
	for _, rt := range table {
		if rt.handler == nil {
			continue
		}
		pattern := h.prefix + rt.pattern
		if method, path, ok := strings.Cut(rt.pattern, " "); ok {
			pattern = method + " " + h.prefix + path
		}
		h.mux.HandleFunc(pattern, limitBody(rt.handler))
	}
}

// maxRequestBody bounds every request body, whatever reads it (a JSON
// decoder, ParseForm through FormValue, a SAML response): the largest any
// route takes. Routes narrow it further (maxBody for JSON and forms).
const maxRequestBody = maxSAMLBody

// limitBody caps the request body of next at maxRequestBody, so that no
// route can be made to read (and hold) more.
func limitBody(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		}
		next(w, r)
	}
}
