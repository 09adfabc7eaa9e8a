package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
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

func TestInvitations(t *testing.T) {
	svc, _ := newService(t, usher.Config{RequireInvitation: true, EnableInviteUser: true})
	inviter := usertest.MustCreateUser(t, svc, "boss@example.com")
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client); err != usher.ErrSignupDisabled {
		t.Fatalf("sign-up without an invitation: %v", err)
	}
	if err := svc.Invite(ctx, "boss@example.com", inviter.ID, client); !errors.Is(err, usher.ErrUserExists) {
		t.Fatalf("inviting an existing user: %v", err)
	}
	if err := svc.Invite(ctx, "ann@example.com", inviter.ID, client); err != nil {
		t.Fatal(err)
	}
	msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
	if len(msgs) != 1 || msgs[0].Kind != usher.MailInvitation || msgs[0].Vars["inviter"] != "boss@example.com" {
		t.Fatalf("invitation e-mail: %+v", msgs)
	}
	link := msgs[0].Vars["link"]
	tok := link[strings.Index(link, "token=")+6:]
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Password: pw, InvitationToken: tok[:42] + "x"}, client); err != usher.ErrInvalidToken {
		t.Fatalf("tampered invitation: %v", err)
	}
	// A weak password does not use the invitation up.
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Password: "password", InvitationToken: tok}, client); !errors.Is(err, usher.ErrPasswordNotAcceptable) {
		t.Fatalf("weak password: %v", err)
	}
	u, sess, err := svc.SignupWithEmail(ctx, usher.Signup{Email: "someone.else@example.com", Password: pw, InvitationToken: tok}, client)
	if err != nil || sess == nil {
		t.Fatalf("sign-up with the invitation: %v, %v", err, sess)
	}
	if u.Email != "ann@example.com" || !u.EmailConfirmed() {
		t.Errorf("invited user: %s confirmed %v; want the invited address, confirmed", u.Email, u.EmailConfirmed())
	}
	if _, _, err := svc.SignupWithEmail(ctx, usher.Signup{Password: pw, InvitationToken: tok}, client); err != usher.ErrInvalidToken {
		t.Fatalf("replayed invitation: %v", err)
	}
}

func TestSeveralAddresses(t *testing.T) {
	svc, _ := newService(t, usher.Config{EnableMultipleEmails: true})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	usertest.MustCreateUser(t, svc, "bob@example.com")
	if _, err := svc.AddEmail(ctx, u.ID, "BOB@example.com", client); !errors.Is(err, usher.ErrUserExists) {
		t.Fatalf("adding someone's address: %v", err)
	}
	e, err := svc.AddEmail(ctx, u.ID, "ann@work.example", client)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "ann@work.example", pw, false, client); err != usher.ErrAuthenticationFailed {
		t.Fatalf("log-in with an unconfirmed address: %v", err)
	}
	if err := svc.SetPrimaryEmail(ctx, u.ID, e.ID, client); !errors.Is(err, usher.ErrValidation) {
		t.Fatalf("making an unconfirmed address primary: %v", err)
	}
	if n := countMail(t, svc, "ann@example.com", usher.MailEmailAdded); n != 1 {
		t.Errorf("the primary address was not told (%d)", n)
	}
	tok := lastLink(t, svc, "ann@work.example", usher.MailConfirmEmail)
	if _, _, err := svc.ConfirmEmail(ctx, tok, client); err != nil {
		t.Fatalf("confirming the new address: %v", err)
	}
	if _, got, err := svc.LoginWithEmail(ctx, "ann@work.example", pw, false, client); err != nil || got.ID != u.ID {
		t.Fatalf("log-in with a confirmed secondary address: %v", err)
	}
	if err := svc.SetPrimaryEmail(ctx, u.ID, e.ID, client); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.User(ctx, u.ID)
	if got.Email != "ann@work.example" {
		t.Fatalf("primary = %s", got.Email)
	}
	if n := countMail(t, svc, "ann@example.com", usher.MailPrimaryChanged) + countMail(t, svc, "ann@work.example", usher.MailPrimaryChanged); n != 2 {
		t.Errorf("%d primary-changed e-mails; want one to each address", n)
	}
	list, _ := svc.ListEmails(ctx, u.ID)
	if len(list) != 2 || !list[0].Primary || list[0].Email != "ann@work.example" {
		t.Fatalf("addresses: %+v", list)
	}
	if err := svc.RemoveEmail(ctx, u.ID, list[0].ID, client); err != usher.ErrNotFound {
		t.Fatalf("removing the primary: %v", err)
	}
	if err := svc.RemoveEmail(ctx, u.ID, list[1].ID, client); err != nil {
		t.Fatalf("removing the old address: %v", err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "ann@example.com", pw, false, client); err != usher.ErrAuthenticationFailed {
		t.Errorf("log-in with a removed address: %v", err)
	}
}
