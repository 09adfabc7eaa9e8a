package app_test

import (
	"strings"
	"testing"

	"github.com/usher-auth/usher/app"
)

// TestInviteSettings: inviting is off by default, and the binary refuses
// require_invitation without it (no one could sign up).
func TestInviteSettings(t *testing.T) {
	cfg := app.Defaults()
	if sc := cfg.Service(); sc.EnableInviteUser || sc.InviteRole != "" {
		t.Errorf("defaults: enable_invite_user %v, invite_role %q; want off", sc.EnableInviteUser, sc.InviteRole)
	}
	cfg.RequireInvitation = true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "enable_invite_user") {
		t.Errorf("require_invitation alone: %v; want an error naming enable_invite_user", err)
	}
	cfg.EnableInviteUser, cfg.InviteRole = true, "inviter"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if sc := cfg.Service(); !sc.EnableInviteUser || sc.InviteRole != "inviter" {
		t.Errorf("Service(): %v %q", sc.EnableInviteUser, sc.InviteRole)
	}
}
