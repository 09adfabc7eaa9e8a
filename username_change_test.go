package usher_test

import (
	"errors"
	"testing"

	"github.com/usher-auth/usher"
)

func TestChangeUsername(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableUsername: true, MaxPasswordFailures: 5})
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "bob@example.com", Username: "bob", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	u, sess, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Username: "ann", Password: pw}, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeUsername(ctx, sess, "annie", "wrong password!", client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := svc.ChangeUsername(ctx, sess, "BOB", pw, client); !errors.Is(err, usher.ErrUserExists) {
		t.Fatalf("taken username: %v", err)
	}
	if _, err := svc.ChangeUsername(ctx, sess, "a b", pw, client); !errors.Is(err, usher.ErrValidation) {
		t.Fatalf("bad username: %v", err)
	}
	got, err := svc.ChangeUsername(ctx, sess, "annie", pw, client)
	if err != nil || got.Username != "annie" {
		t.Fatalf("ChangeUsername: %v, %v", got, err)
	}
	if _, _, err := svc.LoginWithUsername(ctx, "annie", pw, false, client); err != nil {
		t.Errorf("log-in with the new username: %v", err)
	}
	msgs, _ := svc.Store().ListMessages(ctx, u.Email, 10)
	if msgs[0].Kind != usher.MailUsernameChanged || msgs[0].Vars["old_username"] != "ann" || msgs[0].Vars["username"] != "annie" {
		t.Errorf("notification: %+v", msgs[0])
	}
	off, _ := newService(t, usher.Config{})
	if _, err := off.ChangeUsername(ctx, sess, "x", pw, client); err != usher.ErrNotFound {
		t.Errorf("usernames off: %v", err)
	}
}
