package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestInviteNeedsPermission: users invite only with EnableInviteUser and,
// when InviteRole is set, that role (Flask-User's USER_ENABLE_INVITE_USER,
// off by default); server code (no inviter) always may.
func TestInviteNeedsPermission(t *testing.T) {
	tests := []struct {
		name  string
		cfg   usher.Config
		roles []string
		want  error
	}{
		{"off by default", usher.Config{}, nil, usher.ErrForbidden},
		{"off, even for an admin", usher.Config{}, []string{"admin"}, usher.ErrForbidden},
		{"on, any user", usher.Config{EnableInviteUser: true}, nil, nil},
		{"on, without the role", usher.Config{EnableInviteUser: true, InviteRole: "inviter"}, []string{"admin"}, usher.ErrForbidden},
		{"on, with the role", usher.Config{EnableInviteUser: true, InviteRole: "inviter"}, []string{"inviter"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t, tt.cfg)
			u := usertest.MustCreateUser(t, svc, "boss@example.com", tt.roles...)
			if got := svc.Config().MayInvite(u); got != (tt.want == nil) {
				t.Errorf("MayInvite = %v", got)
			}
			err := svc.Invite(ctx, "ann@example.com", u.ID, client)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Invite by the user: %v; want %v", err, tt.want)
			}
			msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
			if want := map[bool]int{true: 1, false: 0}[tt.want == nil]; len(msgs) != want {
				t.Errorf("%d e-mails to the invitee; want %d", len(msgs), want)
			}
			if err := svc.Invite(ctx, "bob@example.com", "", client); err != nil {
				t.Errorf("Invite by server code: %v", err)
			}
		})
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
