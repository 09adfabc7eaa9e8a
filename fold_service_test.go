package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

const (
	kate   = "kate@example.com"
	kelvin = "\u212Aate@example.com" // "Kate@", with the Kelvin sign U+212A
)

const otherPassword = "another horse battery staple"

// signup signs up with address and password through SignupWithEmail.
func signup(t *testing.T, svc *usher.Service, in usher.Signup) (*usher.User, error) {
	t.Helper()
	u, _, err := svc.SignupWithEmail(ctx, in, client)
	return u, err
}

// TestKelvinSignCannotTakeOverKate: an address spelled with the Kelvin sign
// is the same address as with the letter K. Whoever signs up second is
// refused, cannot log in with their own password, and whatever is stored
// and mailed is the plain address, not the look-alike.
func TestKelvinSignCannotTakeOverKate(t *testing.T) {
	t.Run("kate first", func(t *testing.T) {
		svc, _ := newService(t, usher.Config{})
		if _, err := signup(t, svc, usher.Signup{Email: kate, Password: pw}); err != nil {
			t.Fatal(err)
		}
		if _, err := signup(t, svc, usher.Signup{Email: kelvin, Password: otherPassword}); !errors.Is(err, usher.ErrUserExists) {
			t.Fatalf("sign-up with the Kelvin sign after kate = %v, want ErrUserExists", err)
		}
		if _, _, err := svc.LoginWithEmail(ctx, kelvin, otherPassword, false, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
			t.Errorf("log-in with the Kelvin sign and its password = %v, want ErrAuthenticationFailed", err)
		}
		if _, u, err := svc.LoginWithEmail(ctx, kate, pw, false, client); err != nil || u.Email != kate {
			t.Errorf("kate's log-in = %v, %v", u, err)
		}
		if _, u, err := svc.LoginWithEmail(ctx, kelvin, pw, false, client); err != nil || u.Email != kate {
			t.Errorf("kate's log-in typed with the Kelvin sign = %v, %v; it is her address", u, err)
		}
	})
	t.Run("Kelvin sign first", func(t *testing.T) {
		st := usertest.NewSQLiteStore(t)
		svc := usertest.NewService(t, usher.Config{EnableConfirmEmail: true}, st, usertest.NewClock())
		u, err := signup(t, svc, usher.Signup{Email: kelvin, Password: otherPassword})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "Kate@example.com" {
			t.Errorf("stored address %+q, want the plain %+q", u.Email, "Kate@example.com")
		}
		if _, err := signup(t, svc, usher.Signup{Email: kate, Password: pw}); !errors.Is(err, usher.ErrUserExists) {
			t.Fatalf("kate's sign-up = %v, want ErrUserExists", err)
		}
		// The confirmation link went to kate's real mailbox, and so does a
		// reset link she asks for: the account is hers to take.
		if err := svc.SendPasswordResetEmail(ctx, kate, client); err != nil {
			t.Fatal(err)
		}
		svc.DeliverMail(ctx) // the worker answers the ask for a reset link
		all, err := st.ListMessages(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []*usher.Message
		for _, m := range all {
			if m.Kind != "mail_request" {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want the confirmation and the reset", len(msgs))
		}
		for _, m := range msgs {
			if usher.FoldEmail(m.To) != kate || strings.ContainsRune(m.To, '\u212A') {
				t.Errorf("%s mail to %+q, want kate's plain address", m.Kind, m.To)
			}
		}
		if _, _, err := svc.LoginWithEmail(ctx, kate, otherPassword, false, client); !errors.Is(err, usher.ErrEmailNotConfirmed) {
			t.Errorf("log-in before kate confirms = %v, want ErrEmailNotConfirmed", err)
		}
	})
}

// TestSignupLookalikes: each spelling of an existing address signs up as
// that address (ErrUserExists) and logs in as it; hidden and look-alike
// characters are refused with their own message and store nothing.
func TestSignupLookalikes(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		signup   string
		want     error  // from the second sign-up
		msg      string // the message on the email field, for a *ValidationError
	}{
		{"NFD after NFC", "alic\u00e9@example.com", "alice\u0301@example.com", usher.ErrUserExists, ""},
		{"NFC after NFD", "alice\u0301@example.com", "alic\u00e9@example.com", usher.ErrUserExists, ""},
		{"mixed-case ASCII", kate, "KATE@EXAMPLE.COM", usher.ErrUserExists, ""},
		{"fullwidth letters", kate, "\uff4b\uff41\uff54\uff45@example.com", usher.ErrUserExists, ""},
		{"IDN domain, A-label", "kate@b\u00fccher.example", "kate@xn--bcher-kva.example", usher.ErrUserExists, ""},
		{"IDN domain, upper case", "kate@b\u00fccher.example", "kate@B\u00dcCHER.example", usher.ErrUserExists, ""},
		{"non-ASCII case differs", "\u00e0lice@example.com", "\u00c0lice@example.com", nil, ""},
		{"right-to-left override", kate, "\u202emoc.elpmaxe@etak", usher.ErrValidation, usher.MsgHiddenCharacters},
		{"zero-width joiner", kate, "ka\u200dte@example.com", usher.ErrValidation, usher.MsgHiddenCharacters},
		{"invalid UTF-8", kate, "kate\xff@example.com", usher.ErrValidation, usher.MsgInvalidText},
		{"replacement character", kate, "kate\ufffd@example.com", usher.ErrValidation, usher.MsgInvalidText},
		{"mathematical letters", kate, "\U0001d424\U0001d41a\U0001d42d\U0001d41e@example.com", usher.ErrValidation, usher.MsgLookalikeCharacters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t, usher.Config{})
			if _, err := signup(t, svc, usher.Signup{Email: tt.existing, Password: pw}); err != nil {
				t.Fatal(err)
			}
			_, err := signup(t, svc, usher.Signup{Email: tt.signup, Password: otherPassword})
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("sign-up as %+q = %v, want success", tt.signup, err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("sign-up as %+q = %v, want %v", tt.signup, err, tt.want)
			}
			var ve *usher.ValidationError
			if tt.msg != "" && (!errors.As(err, &ve) || ve.Fields["email"] != tt.msg) {
				t.Errorf("sign-up as %+q = %v, want email: %s", tt.signup, err, tt.msg)
			}
			if _, n, err := svc.ListUsers(ctx, usher.UserQuery{}); err != nil || n != 1+boolInt(tt.want == nil) {
				t.Errorf("%d users, %v", n, err)
			}
			if tt.want == usher.ErrUserExists {
				// The other spelling logs in as the existing account.
				if _, u, err := svc.LoginWithEmail(ctx, tt.signup, pw, false, client); err != nil || u.Email != usherNormal(t, tt.existing) {
					t.Errorf("log-in as %+q = %v, %v; want the existing account", tt.signup, u, err)
				}
			}
		})
	}
}

// usherNormal is what sign-up stores for an address these tests use.
func usherNormal(t *testing.T, email string) string {
	t.Helper()
	switch email {
	case "alice\u0301@example.com":
		return "alic\u00e9@example.com"
	}
	return email
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestUsernameLookalikes: usernames compare by PRECIS UsernameCaseMapped;
// hidden characters are refused with their own message.
func TestUsernameLookalikes(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableUsername: true})
	if _, err := signup(t, svc, usher.Signup{Email: kate, Username: "kate", Password: pw}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"\u212Aate", "KATE", "\uff4b\uff41\uff54\uff45"} {
		if _, err := signup(t, svc, usher.Signup{Email: "other@example.com", Username: name, Password: otherPassword}); !errors.Is(err, usher.ErrUserExists) {
			t.Errorf("sign-up with username %+q = %v, want ErrUserExists", name, err)
		}
		if _, u, err := svc.LoginWithUsername(ctx, name, pw, false, client); err != nil || u.Username != "kate" {
			t.Errorf("log-in as %+q = %v, %v; want kate", name, u, err)
		}
	}
	_, err := signup(t, svc, usher.Signup{Email: "other@example.com", Username: "ka\u200dte", Password: otherPassword})
	var ve *usher.ValidationError
	if !errors.As(err, &ve) || ve.Fields["username"] != usher.MsgHiddenCharacters {
		t.Errorf("sign-up with a zero-width joiner in the username = %v, want username: %s", err, usher.MsgHiddenCharacters)
	}
}
