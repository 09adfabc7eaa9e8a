package usher_test

import (
	"errors"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

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
