package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/i18n"
)

// en returns the English text of a message ID, formatted with args.
func en(id string, args ...any) string { return i18n.Default().Sprintf("en", id, args...) }

// wantFieldError fails the test unless the page marks field with msg
// (tied to it with aria-describedby) and says msg nowhere else.
func (p acctPage) wantFieldError(t *testing.T, what, field, msg string) {
	t.Helper()
	mark := `aria-invalid="true" aria-describedby="e-` + field + `"`
	if !strings.Contains(p.body, mark) {
		t.Errorf("%s: the field %s is not marked\n%s", what, field, p.body)
	}
	if want := `<p class="field-error" id="e-` + field + `">` + msg; !strings.Contains(p.body, want) {
		t.Errorf("%s: the field %s does not say %q\n%s", what, field, msg, p.body)
	}
	if n := strings.Count(p.body, msg); n != 1 {
		t.Errorf("%s: %q appears %d times; want once, under the field\n%s", what, msg, n, p.body)
	}
}

// TestResetPageMarksThePasswordField: a new password the policy refuses
// is said once, under the new-password field, which is marked; the banner
// only says that the password was refused. The link still works.
func TestResetPageMarksThePasswordField(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	if _, err := e.svc.CreateUser(t.Context(), usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SendPasswordResetEmail(t.Context(), "ann@example.com", usher.Client{}); err != nil {
		t.Fatal(err)
	}
	path := e.mailedPath("ann@example.com", usher.MailResetPassword)
	b := e.browser("reset")
	b.get(path)
	for _, tc := range []struct{ password, msg string }{
		{"short", en(usher.MsgPasswordTooShort, 8)},
		{"password", en(usher.MsgPasswordCommon)},
	} {
		p := b.post(path, "new_password", tc.password, "retype_password", tc.password)
		p.want(t, "refused password "+tc.password, http.StatusUnprocessableEntity, `id="form-error"`, en("password_not_acceptable"))
		p.wantFieldError(t, "refused password "+tc.password, "new_password", tc.msg)
	}
	// A refused password retyped differently: both problems at once.
	p := b.post(path, "new_password", "short", "retype_password", "shorter")
	p.want(t, "short and retyped differently", http.StatusUnprocessableEntity)
	p.wantFieldError(t, "short and retyped differently", "new_password", en(usher.MsgPasswordTooShort, 8))
	p.wantFieldError(t, "short and retyped differently", "retype_password", en(usher.MsgPasswordMismatch))
	p = b.post(path, "new_password", "", "retype_password", "")
	p.want(t, "no password", http.StatusUnprocessableEntity)
	p.wantFieldError(t, "no password", "new_password", en(usher.MsgRequired))
	newPW := "a brand new password for Ann"
	if p := b.post(path, "new_password", newPW, "retype_password", newPW); p.status != http.StatusSeeOther {
		t.Fatalf("the link after refused passwords: %d\n%s", p.status, p.body)
	}
}

// TestChangePasswordPageReportsBothProblems: on the change-password page a
// new password the policy refuses (here the user's own address) and
// retyped differently gets both messages at once, and nothing changes.
func TestChangePasswordPageReportsBothProblems(t *testing.T) {
	e := newAcctEnv(t, usher.Config{}, false)
	b, u := e.loggedIn("ann@example.com", "firefox")
	b.get("/user/change-password")
	p := b.post("/user/change-password", "old_password", pw, "new_password", "ann@example.com", "retype_password", "ann@example.co")
	p.want(t, "own address, retyped differently", http.StatusUnprocessableEntity)
	p.wantFieldError(t, "own address, retyped differently", "retype_password", en(usher.MsgPasswordMismatch))
	if !strings.Contains(p.body, `aria-invalid="true" aria-describedby="e-new_password"`) {
		t.Errorf("own address as the new password: no error under new_password\n%s", p.body)
	}
	if _, _, err := e.svc.LoginWithEmail(t.Context(), u.Email, pw, false, usher.Client{}); err != nil {
		t.Errorf("old password after the refused change: %v", err)
	}
}

// TestRegisterPageReportsEveryProblem: the sign-up page marks every wrong
// field at once, the password policy's refusal and a mistyped second
// password included, each message said once.
func TestRegisterPageReportsEveryProblem(t *testing.T) {
	e := newAcctEnv(t, usher.Config{ProfileFields: []usher.ProfileField{{Name: "name", Label: "Name", Required: true}}}, false)
	b := e.browser("sign-up")
	b.get("/user/register")
	p := b.post("/user/register", "email", "nope", "password", "password", "retype_password", "password")
	p.want(t, "bad address and common password", http.StatusUnprocessableEntity, en("validation_failed"))
	p.wantFieldError(t, "bad address and common password", "email", en(usher.MsgInvalidEmail))
	p.wantFieldError(t, "bad address and common password", "password", en(usher.MsgPasswordCommon))
	p.wantFieldError(t, "bad address and common password", "name", en(usher.MsgRequired))

	p = b.post("/user/register", "email", "nope", "password", pw, "retype_password", pw+"x", "name", "Ann")
	p.want(t, "bad address and retyped password differs", http.StatusUnprocessableEntity)
	p.wantFieldError(t, "bad address and retyped password differs", "email", en(usher.MsgInvalidEmail))
	p.wantFieldError(t, "bad address and retyped password differs", "retype_password", en(usher.MsgPasswordMismatch))

	p = b.post("/user/register", "email", "ann@example.com", "password", "short", "retype_password", "short", "name", "Ann")
	p.want(t, "short password", http.StatusUnprocessableEntity, en("password_not_acceptable"))
	p.wantFieldError(t, "short password", "password", en(usher.MsgPasswordTooShort, 8))
	if n, _ := e.svc.Store().CountUsers(t.Context(), usher.UserQuery{}); n != 0 {
		t.Fatalf("refused sign-ups stored %d users", n)
	}
}

// TestSignupAPIReportsEveryProblem: the JSON API's error.fields lists
// every problem of a sign-up, the password policy's included; a password
// that is the only problem is still password_not_acceptable.
func TestSignupAPIReportsEveryProblem(t *testing.T) {
	e := newEnv(t, usher.Config{})
	c := e.browser()
	r := e.do(c, "POST", "/user/api/signup", map[string]any{"email": "nope", "password": "short"})
	fields, _ := r.body["error"].(map[string]any)["fields"].(map[string]any)
	if r.status != http.StatusUnprocessableEntity || r.errCode() != "validation_failed" ||
		fields["email"] != en(usher.MsgInvalidEmail) || fields["password"] != en(usher.MsgPasswordTooShort, 8) {
		t.Errorf("bad address and short password: %d %s", r.status, r.raw)
	}
	if msg := r.body["error"].(map[string]any)["message"]; msg != en("validation_failed") {
		t.Errorf("message %q; want %q", msg, en("validation_failed"))
	}
	r = e.do(c, "POST", "/user/api/signup", map[string]any{"email": "ann@example.com", "password": "short"})
	fields, _ = r.body["error"].(map[string]any)["fields"].(map[string]any)
	if r.status != http.StatusUnprocessableEntity || r.errCode() != "password_not_acceptable" || len(fields) != 1 ||
		fields["password"] != en(usher.MsgPasswordTooShort, 8) {
		t.Errorf("short password alone: %d %s", r.status, r.raw)
	}
}
