package usher_test

import (
	"errors"
	"maps"
	"testing"

	"github.com/usher-auth/usher"
)

// TestSignupReportsEveryProblem: a sign-up with several problems reports
// them all at once, the password policy's included, and stores nothing.
// A password that only fails the policy is still a *PasswordError alone.
func TestSignupReportsEveryProblem(t *testing.T) {
	svc, _ := newService(t, usher.Config{ProfileFields: []usher.ProfileField{{Name: "name", Required: true}}})
	named := map[string]string{"name": "Ann"}
	retyped := func(s string) *string { return &s }
	tests := []struct {
		name   string
		in     usher.Signup
		fields map[string]string // want a *ValidationError with these; nil: a *PasswordError alone
		reason string            // the password's problem, if any
	}{
		{"bad address and common password",
			usher.Signup{Email: "ann@", Password: "password", Profile: named},
			map[string]string{"email": usher.MsgInvalidEmail, "password": usher.MsgPasswordCommon}, usher.MsgPasswordCommon},
		{"missing name and short password",
			usher.Signup{Email: "ann@example.com", Password: "short"},
			map[string]string{"name": usher.MsgRequired, "password": usher.MsgPasswordTooShort}, usher.MsgPasswordTooShort},
		{"bad address and retyped password differs",
			usher.Signup{Email: "ann", Password: pw, RetypePassword: retyped(pw + "x"), Profile: named},
			map[string]string{"email": usher.MsgInvalidEmail, "retype_password": usher.MsgPasswordMismatch}, ""},
		{"everything at once",
			usher.Signup{Email: "", Password: "short", RetypePassword: retyped("")},
			map[string]string{"email": usher.MsgRequired, "name": usher.MsgRequired, "password": usher.MsgPasswordTooShort,
				"retype_password": usher.MsgPasswordMismatch}, usher.MsgPasswordTooShort},
		{"only the password",
			usher.Signup{Email: "ann@example.com", Password: "short", RetypePassword: retyped("short"), Profile: named},
			nil, usher.MsgPasswordTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := svc.SignupWithEmail(ctx, tt.in, client)
			var ve *usher.ValidationError
			isVE := errors.As(err, &ve)
			switch {
			case tt.fields == nil && isVE:
				t.Errorf("got %v; want a *PasswordError alone", err)
			case tt.fields != nil && (!isVE || !maps.Equal(ve.Fields, tt.fields)):
				t.Errorf("got %v; want a *ValidationError with %v", err, tt.fields)
			}
			var pe *usher.PasswordError
			switch {
			case tt.reason == "" && errors.As(err, &pe):
				t.Errorf("got a *PasswordError %v; want none", pe)
			case tt.reason != "" && (!errors.As(err, &pe) || pe.Reason != tt.reason):
				t.Errorf("got %v; want errors.As to find a *PasswordError %s", err, tt.reason)
			case tt.reason != "" && !errors.Is(err, usher.ErrPasswordNotAcceptable):
				t.Errorf("errors.Is(%v, ErrPasswordNotAcceptable) is false", err)
			}
			if tt.reason == usher.MsgPasswordTooShort && pe != nil && pe.Min != 8 {
				t.Errorf("the too-short password's bound: %d; want 8", pe.Min)
			}
			if tt.fields != nil && !errors.Is(err, usher.ErrValidation) {
				t.Errorf("errors.Is(%v, ErrValidation) is false", err)
			}
		})
	}
	if n, _ := svc.Store().CountUsers(ctx, usher.UserQuery{}); n != 0 {
		t.Errorf("refused sign-ups stored %d users", n)
	}
	// The retyped password, when given and equal, is no problem.
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw, RetypePassword: &[]string{pw}[0], Profile: named}, client); err != nil {
		t.Fatal(err)
	}
}
