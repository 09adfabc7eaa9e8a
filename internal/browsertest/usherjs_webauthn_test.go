package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/usher-auth/usher"
	bt "github.com/usher-auth/usher/internal/browsertest"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/usertest"
)

// startUsherJSKeysServer serves Usher (temporary SQLite, second factors
// on, passkeys as asked) on a 127.0.0.1 port whose base URL says
// localhost (a WebAuthn relying party ID cannot be an IP address, and
// http://localhost is a secure context), with /app, the application's
// page that loads usher.js under the pages' Content-Security-Policy.
func startUsherJSKeysServer(t *testing.T, passkeys bool) (string, *usher.Service) {
	return startService(t, usher.Config{EnablePasskeys: passkeys}, nil)
}

// addCredentialParams is WebAuthn.addCredential's params without the
// CMTG fields of cdproto's Credential, which the browser refuses even
// when empty ("CMTG is not supported by this authenticator").
type addCredentialParams struct {
	AuthenticatorID cdpwebauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      struct {
		CredentialID         []byte  `json:"credentialId"`
		IsResidentCredential bool    `json:"isResidentCredential"`
		RpID                 string  `json:"rpId"`
		PrivateKey           []byte  `json:"privateKey"`
		UserHandle           []byte  `json:"userHandle,omitempty"`
		SignCount            float64 `json:"signCount"`
	} `json:"credential"`
}

var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: cdpwebauthn.CommandAddCredential}

// readdCredential gives the authenticator back a credential it had.
func readdCredential(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID, c *cdpwebauthn.Credential) {
	t.Helper()
	p := addCredentialParams{AuthenticatorID: id}
	p.Credential.CredentialID, p.Credential.IsResidentCredential, p.Credential.RpID = c.CredentialID, c.IsResidentCredential, c.RpID
	p.Credential.PrivateKey, p.Credential.UserHandle, p.Credential.SignCount = c.PrivateKey, c.UserHandle, c.SignCount
	if _, err := chromedp.Call(ctx, addCredential, p); err != nil {
		t.Fatalf("WebAuthn.addCredential: %v", err)
	}
}

// fetchJS is a page-side POST to /user/api{path} that resolves with
// {status, body}.
const fetchJS = `const post = (path, body) => fetch('/user/api' + path, {
	method: 'POST', credentials: 'same-origin',
	headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})
}).then(async r => ({status: r.status, body: await r.json()}));`

// TestUsherJSWebAuthn drives usher.js's dialogs with Chromium's virtual
// authenticator: add a security key in configureMfaWithForm, log in with
// the password and the key (the key alone, then next to an authenticator
// app), and log in with the passkey alone.
func TestUsherJSWebAuthn(t *testing.T) {
	bt.Chromium(t)
	base, svc := startUsherJSKeysServer(t, true)
	const email = "kim@example.com"
	usertest.MustCreateUser(t, svc, email)
	ctx, _ := bt.New(t, "")
	con := bt.Watch(t, ctx)
	authID := addVirtualAuthenticator(t, ctx)

	bt.Go(t, ctx, base+"/app")
	if !bt.Eval[bool](t, ctx, `typeof usher === 'object' && !window.usherWebAuthn`) {
		t.Fatal("want usher.js loaded and usher-webauthn.js not (yet)")
	}

	// Log in through the JSON API, then add a key in the dialog.
	startJS(t, ctx, fetchJS+` return (await post('/login', {email: '`+email+`', password: '`+pw+`'})).status;`)
	var status int
	jsResult(t, ctx, &status)
	if status != http.StatusOK {
		t.Fatalf("POST /user/api/login: %d", status)
	}
	startJS(t, ctx, `return await usher.configureMfaWithForm();`)
	d := dialog(t, ctx, "mfa-setup")
	bt.Click(t, ctx, d+" .usher-add-security-key")
	d = dialog(t, ctx, "mfa-add-key")
	bt.Fill(t, ctx, "#usher-name", "Laptop", "#usher-password", pw)
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	// The first second factor: recovery codes are offered.
	d = dialog(t, ctx, "recovery-offer")
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "recovery-codes")
	bt.Click(t, ctx, d+" button[type=submit].usher-primary")
	d = dialog(t, ctx, "mfa-setup")
	wantText(t, ctx, d+" .usher-notice", "The security key has been added.")
	wantText(t, ctx, d+" .usher-methods", "Laptop")
	bt.Click(t, ctx, d+" .usher-cancel")
	var changed bool
	jsResult(t, ctx, &changed)
	if !changed {
		t.Fatal("configureMfaWithForm() resolved with false after adding a key")
	}
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('script[src="/user/static/usher-webauthn.js"]').length`); n != 1 {
		t.Errorf("usher-webauthn.js was added %d times; want once", n)
	}
	u, err := svc.FindUser(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	list, err := svc.ListMFAMethods(context.Background(), u.ID)
	if err != nil || len(list) != 1 || list[0].Type != usher.MFAFIDO || list[0].Name != "Laptop" {
		t.Fatalf("methods after adding the key: %+v, %v", list, err)
	}
	con.Check(t, ctx, "adding a key")

	logout := func() {
		t.Helper()
		startJS(t, ctx, `return await usher.logout();`)
		jsResult(t, ctx, nil)
		if got := currentUser(t, ctx); got != "" {
			t.Fatalf("getUser() after logout(): %q", got)
		}
	}
	logout()
	// toSecondStep opens loginWithForm, gives the password and returns
	// the selector of the second-factor step that follows.
	toSecondStep := func() string {
		t.Helper()
		startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
		d := dialog(t, ctx, "login")
		bt.Fill(t, ctx, "#usher-email", email, "#usher-password", pw)
		bt.Click(t, ctx, d+" button[type=submit].usher-primary")
		return dialog(t, ctx, "mfa")
	}

	// The password, then the key: with no app, the key is the step's
	// main button. An authenticator that has no key for this site first
	// (the browser refuses) shows the error; with the key back, it works.
	d = toSecondStep()
	if bt.Eval[bool](t, ctx, `!!document.querySelector('#usher-code')`) {
		t.Error("the second-factor step asks for a code from an app the user does not have")
	}
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: authID})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("the authenticator's credentials: %+v, %v; want one", creds, err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.ClearCredentials, cdpwebauthn.ClearCredentialsParams{AuthenticatorID: authID}); err != nil {
		t.Fatal(err)
	}
	bt.Click(t, ctx, d+" button[type=submit].usher-security-key")
	bt.WaitVisible(t, ctx, d+" .usher-error")
	wantText(t, ctx, d+" .usher-error", "The security key was not used. Try again.")
	readdCredential(t, ctx, authID, creds.Credentials[0])
	bt.WaitJS(t, ctx, `!document.querySelector('dialog.usher-dialog button.usher-security-key').disabled`)
	bt.Click(t, ctx, d+" button[type=submit].usher-security-key")
	var loggedIn string
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() with the key resolved with %q; want %s", loggedIn, email)
	}
	if got := currentUser(t, ctx); got != email {
		t.Fatalf("getUser() after the key: %q; want %s", got, email)
	}
	con.Check(t, ctx, "log-in with the key")

	// An authenticator app too: the step asks for its code and offers the
	// key next to it.
	startJS(t, ctx, fetchJS+` return (await post('/mfa/totp/secret')).body;`)
	var setup struct {
		Secret    string `json:"secret"`
		MFAMethod string `json:"mfa_method"`
	}
	jsResult(t, ctx, &setup)
	secret, err := mfa.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatalf("secret %q: %v", setup.Secret, err)
	}
	startJS(t, ctx, fetchJS+fmt.Sprintf(` return (await post('/mfa/methods', {password: %q, mfa_method: %q, code: %q})).status;`,
		pw, setup.MFAMethod, mfa.TOTPCode(secret, time.Now())))
	jsResult(t, ctx, &status)
	if status/100 != 2 {
		t.Fatalf("adding an authenticator app: %d", status)
	}
	logout()
	d = toSecondStep()
	bt.WaitVisible(t, ctx, d+" #usher-code")
	// A key whose signature is wrong: the server refuses it, and says so
	// (not the words of a key the browser did not use).
	bogus := true
	if _, err := chromedp.Call(ctx, cdpwebauthn.SetResponseOverrideBits, cdpwebauthn.SetResponseOverrideBitsParams{
		AuthenticatorID: authID, IsBogusSignature: &bogus,
	}); err != nil {
		t.Fatal(err)
	}
	bt.Click(t, ctx, d+" button[type=button].usher-security-key")
	bt.WaitVisible(t, ctx, d+" .usher-error")
	wantText(t, ctx, d+" .usher-error", en(usher.MsgMFAKeyRefused))
	bogus = false
	if _, err := chromedp.Call(ctx, cdpwebauthn.SetResponseOverrideBits, cdpwebauthn.SetResponseOverrideBitsParams{
		AuthenticatorID: authID, IsBogusSignature: &bogus,
	}); err != nil {
		t.Fatal(err)
	}
	bt.WaitJS(t, ctx, `!document.querySelector('dialog.usher-dialog button.usher-security-key').disabled`)
	bt.Click(t, ctx, d+" button[type=button].usher-security-key")
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() with the key next to the app resolved with %q; want %s", loggedIn, email)
	}
	con.Check(t, ctx, "log-in with the key next to an app")
	logout()

	// The passkey alone, from the log-in step.
	startJS(t, ctx, `const u = await usher.loginWithForm(); return u && u.email;`)
	d = dialog(t, ctx, "login")
	// No passkey in the authenticator first: the browser refuses.
	creds, err = chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: authID})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("the authenticator's credentials: %+v, %v; want one", creds, err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.ClearCredentials, cdpwebauthn.ClearCredentialsParams{AuthenticatorID: authID}); err != nil {
		t.Fatal(err)
	}
	bt.Click(t, ctx, d+" .usher-passkey-login")
	bt.WaitVisible(t, ctx, d+" .usher-error")
	wantText(t, ctx, d+" .usher-error", "The passkey was not used. Try again.")
	readdCredential(t, ctx, authID, creds.Credentials[0])
	bt.WaitJS(t, ctx, `!document.querySelector('dialog.usher-dialog .usher-passkey-login').disabled`)
	bt.Click(t, ctx, d+" .usher-passkey-login")
	jsResult(t, ctx, &loggedIn)
	if loggedIn != email {
		t.Fatalf("loginWithForm() with the passkey resolved with %q; want %s", loggedIn, email)
	}
	if got := currentUser(t, ctx); got != email {
		t.Fatalf("getUser() after the passkey: %q; want %s", got, email)
	}
	if list, err := svc.ListMFAMethods(context.Background(), u.ID); err != nil || len(list) != 2 {
		t.Errorf("methods at the end: %+v, %v; want the key and the app", list, err)
	}
	con.Check(t, ctx, "log-in with the passkey")

	// Without passkeys, the log-in step does not offer one.
	base2, _ := startUsherJSKeysServer(t, false)
	bt.Go(t, ctx, base2+"/app")
	startJS(t, ctx, `const u = await usher.loginWithForm({allowCancel: true}); return u && u.email;`)
	d = dialog(t, ctx, "login")
	if bt.Eval[bool](t, ctx, `!!document.querySelector('dialog.usher-dialog .usher-passkey-login')`) {
		t.Error("the log-in step offers a passkey on a site without passkeys")
	}
	bt.Click(t, ctx, d+" .usher-cancel")
	var none *string
	jsResult(t, ctx, &none)
	if none != nil {
		t.Errorf("a cancelled loginWithForm() resolved with %q", *none)
	}
	con.Check(t, ctx, "no passkeys")
}
