package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestInviteOnlyWhenAllowed: without enable_invite_user (the default), or
// without invite_role, a member sees no "Invite someone" in the menu, and
// the page, its form and the JSON API refuse with 403 and send nothing.
func TestInviteOnlyWhenAllowed(t *testing.T) {
	tests := []struct {
		name    string
		cfg     usher.Config
		roles   []string
		allowed bool
	}{
		{"default", usher.Config{}, nil, false},
		{"on, without the role", usher.Config{EnableInviteUser: true, InviteRole: "inviter"}, []string{"admin"}, false},
		{"on, with the role", usher.Config{EnableInviteUser: true, InviteRole: "inviter"}, []string{"inviter"}, true},
		{"on, any user", usher.Config{EnableInviteUser: true}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAcctEnv(t, tt.cfg, false)
			usertest.MustCreateUser(t, e.svc, "ann@example.com", tt.roles...)
			b := e.browser("firefox")
			b.login("ann@example.com", usertest.Password)
			profile := b.get("/user/profile")
			profile.want(t, "profile", http.StatusOK)
			if got := strings.Contains(profile.body, `href="/user/invite"`); got != tt.allowed {
				t.Errorf("menu has Invite someone: %v; want %v", got, tt.allowed)
			}
			status := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[tt.allowed]
			b.get("/user/invite").want(t, "GET /user/invite", status)
			if tt.allowed {
				return
			}
			b.post("/user/invite", "email", "bob@example.com").want(t, "POST /user/invite", http.StatusForbidden, "You do not have permission to do this.")
			body, _ := json.Marshal(map[string]string{"email": "carol@example.com"})
			req, _ := http.NewRequest("POST", e.srv.URL+"/user/api/invite", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			res, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Error struct{ Code string } }
			json.NewDecoder(res.Body).Decode(&got)
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden || got.Error.Code != "forbidden" {
				t.Errorf("POST /user/api/invite: %d %q; want 403 forbidden", res.StatusCode, got.Error.Code)
			}
			for _, to := range []string{"bob@example.com", "carol@example.com"} {
				if msgs, _ := e.svc.Store().ListMessages(t.Context(), to, 10); len(msgs) != 0 {
					t.Errorf("%d e-mails to %s", len(msgs), to)
				}
			}
		})
	}
}
