package usher_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// TestValidateSignupHook: the application's own sign-up check (Anvil's
// "Must supply a name") is reported together with the built-in checks,
// and a refused sign-up stores nothing.
func TestValidateSignupHook(t *testing.T) {
	st := usertest.NewSQLiteStore(t)
	svc, err := usher.New(usher.Config{ProfileFields: []usher.ProfileField{{Name: "name"}}}, usher.Deps{
		Store: st, Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard,
		ValidateSignup: func(_ context.Context, in *usher.Signup) error {
			in.Profile["name"] = strings.TrimSpace(in.Profile["name"])
			if in.Profile["name"] == "" {
				return &usher.ValidationError{Fields: map[string]string{"name": "Must supply a name"}}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()

	_, _, err = svc.SignupWithEmail(ctx, usher.Signup{Email: "not-an-address", Password: pw, Profile: map[string]string{"name": "  "}}, usher.Client{})
	var ve *usher.ValidationError
	if !errors.As(err, &ve) || ve.Fields["name"] != "Must supply a name" || ve.Fields["email"] != usher.MsgInvalidEmail {
		t.Fatalf("got %v; want both the hook's and the built-in problems", err)
	}
	if _, err := st.UserByEmail(ctx, "ann@example.com"); err == nil {
		t.Fatal("a refused sign-up stored a user")
	}
	u, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw, Profile: map[string]string{"name": " Ann "}}, usher.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile["name"] != "Ann" {
		t.Errorf("the hook's normalisation was lost: %q", u.Profile["name"])
	}
}

// TestValidateSignupOtherError: an error other than a ValidationError is
// returned as it is.
func TestValidateSignupOtherError(t *testing.T) {
	boom := errors.New("directory unavailable")
	svc, err := usher.New(usher.Config{}, usher.Deps{
		Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard,
		ValidateSignup: func(context.Context, *usher.Signup) error { return boom },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, _, err := svc.SignupWithEmail(context.Background(), usher.Signup{Email: "ann@example.com", Password: pw}, usher.Client{}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}
