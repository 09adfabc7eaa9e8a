package usher_test

import (
	"errors"
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
