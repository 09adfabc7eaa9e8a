package usher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

var (
	adminActor  = usher.Actor{Kind: usher.ActorAdmin, ID: "admin-id", Name: "root@example.com"}
	adminClient = usher.Client{IP: "203.0.113.9", UserAgent: "admin browser"}
)

// lastEvent returns the newest entry of the audit log.
func lastEvent(t *testing.T, svc *usher.Service) *usher.Event {
	t.Helper()
	evs, err := svc.AuditLog(ctx, usher.AuditQuery{Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("AuditLog = %v, %v", evs, err)
	}
	return evs[0]
}

// TestAdminOperationsAudited: every admin operation of the Service
// records an entry naming its type, target, the actor WithActor set and
// the client WithClient set.
func TestAdminOperationsAudited(t *testing.T) {
	tests := []struct {
		name, typ, detail string
		op                func(t *testing.T, e *loginEnv) error
	}{
		{"enable", usher.EventEnabled, "", func(t *testing.T, e *loginEnv) error { return e.svc.EnableUser(actx, e.user.ID) }},
		{"disable", usher.EventDisabled, "", func(t *testing.T, e *loginEnv) error { return e.svc.DisableUser(actx, e.user.ID) }},
		{"unlock", usher.EventUnlocked, "", func(t *testing.T, e *loginEnv) error { return e.svc.UnlockUser(actx, e.user.ID) }},
		{"set password", usher.EventPasswordChanged, "set by admin", func(t *testing.T, e *loginEnv) error {
			return e.svc.SetPassword(actx, e.user.ID, "another fine password")
		}},
		{"require reset", usher.EventResetRequired, "", func(t *testing.T, e *loginEnv) error {
			return e.svc.RequirePasswordReset(actx, e.user.ID)
		}},
		{"update profile", usher.EventProfileUpdated, "", func(t *testing.T, e *loginEnv) error {
			_, err := e.svc.UpdateProfile(actx, e.user.ID, map[string]string{})
			return err
		}},
		{"add role", usher.EventRoleAdded, "editor", func(t *testing.T, e *loginEnv) error { return e.svc.AddRole(actx, e.user.ID, "editor") }},
		{"remove role", usher.EventRoleRemoved, "editor", func(t *testing.T, e *loginEnv) error {
			return e.svc.RemoveRole(actx, e.user.ID, "editor")
		}},
		{"end a session", usher.EventSessionRevoked, "", func(t *testing.T, e *loginEnv) error {
			sess := e.mustLogIn(t)
			return e.svc.RevokeSession(actx, e.user.ID, sess.ID, usher.Client{})
		}},
		{"end all sessions", usher.EventSessionRevoked, "all", func(t *testing.T, e *loginEnv) error {
			e.mustLogIn(t)
			_, err := e.svc.RevokeOtherSessions(actx, e.user.ID, "", usher.Client{})
			return err
		}},
		{"remove a second factor", usher.EventMFARemoved, "", func(t *testing.T, e *loginEnv) error {
			withTOTP(t, e)
			ms, err := e.svc.ListMFAMethods(ctx, e.user.ID)
			if err != nil || len(ms) != 1 {
				t.Fatalf("methods %v, %v", ms, err)
			}
			return e.svc.RemoveMFAMethod(actx, e.user.ID, ms[0].ID, usher.Client{})
		}},
		{"create", usher.EventSignup, "created by admin", func(t *testing.T, e *loginEnv) error {
			u, err := e.svc.CreateUser(actx, usher.NewUser{Email: "new@example.com", Password: pw, Enabled: true})
			if err == nil {
				e.user = u
			}
			return err
		}},
		{"delete", usher.EventDeleted, "", func(t *testing.T, e *loginEnv) error { return e.svc.DeleteUser(actx, e.user.ID) }},
		{"force log-in", usher.EventForceLogin, "", func(t *testing.T, e *loginEnv) error {
			_, err := e.svc.ForceLogin(actx, e.user.ID, false, usher.Client{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLoginEnv(t, usher.Config{})
			if tt.name != "remove a second factor" {
				e.user = usertest.MustCreateUser(t, e.svc, "ann@example.com")
			}
			if err := tt.op(t, e); err != nil {
				t.Fatal(err)
			}
			got := lastEvent(t, e.svc)
			if got.Type != tt.typ || got.UserID != e.user.ID || got.Actor != adminActor || got.IP != adminClient.IP ||
				got.UserAgent != adminClient.UserAgent || (tt.detail != "" && got.Detail != tt.detail) {
				t.Errorf("entry %+v; want %s of %s by %+v from %s, detail %q", *got, tt.typ, e.user.ID, adminActor, adminClient.IP, tt.detail)
			}
		})
	}
}

// actx is the context of an admin's request.
var actx = usher.WithClient(usher.WithActor(ctx, adminActor), adminClient)

// TestAuditActorDefaults: without WithActor an admin operation is the
// system's and a user's own action is theirs; a failed log-in for an
// unknown account names no one.
func TestAuditActorDefaults(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if got := lastEvent(t, svc); got.Actor != (usher.Actor{Kind: usher.ActorSystem}) {
		t.Errorf("CreateUser without an actor: %+v; want the system", got.Actor)
	}
	if err := svc.DisableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, svc); got.Actor != (usher.Actor{Kind: usher.ActorSystem}) || got.IP != "" {
		t.Errorf("DisableUser without an actor: %+v", *got)
	}
	if err := svc.EnableUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, svc); got.Type != usher.EventLogin || got.Actor != (usher.Actor{Kind: usher.ActorUser, ID: u.ID}) || got.IP != client.IP {
		t.Errorf("log-in: %+v; want the user acting from %s", *got, client.IP)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "nobody@example.com", pw, false, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Fatal(err)
	}
	if got := lastEvent(t, svc); got.Type != usher.EventLoginFailed || got.UserID != "" || got.Actor != (usher.Actor{Kind: usher.ActorUser}) {
		t.Errorf("unknown account: %+v", *got)
	}
}

// TestAuditOutlivesUser: deleting a user keeps their entries, found by
// their ID.
func TestAuditOutlivesUser(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(actx, u.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.AuditLog(ctx, usher.AuditQuery{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if len(types) != 3 || types[0] != usher.EventDeleted || types[1] != usher.EventLogin || types[2] != usher.EventSignup {
		t.Errorf("entries of the deleted user: %v; want deleted, login, signup", types)
	}
}

// TestAuditRetention: Sweep deletes entries older than AuditRetention
// (365 days by default) and keeps them all when it is negative.
func TestAuditRetention(t *testing.T) {
	for _, tt := range []struct {
		name      string
		retention time.Duration
		want      int
	}{
		{"default", 0, 1},
		{"30 days", 30 * 24 * time.Hour, 0},
		{"forever", -1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, clock := newService(t, usher.Config{AuditRetention: tt.retention})
			u := usertest.MustCreateUser(t, svc, "ann@example.com") // an entry, now
			clock.Advance(300 * 24 * time.Hour)
			if err := svc.UnlockUser(ctx, u.ID); err != nil { // an entry 300 days later
				t.Fatal(err)
			}
			clock.Advance(100 * 24 * time.Hour)
			svc.Sweep(ctx)
			evs, err := svc.AuditLog(ctx, usher.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tt.want {
				t.Errorf("%d entries left; want %d", len(evs), tt.want)
			}
		})
	}
}

// TestAuditLogPage: AuditLog pages newest first, and a limit above 1000
// is cut to 1000.
func TestAuditLogPage(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	for range 4 {
		if err := svc.UnlockUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	first, err := svc.AuditLog(ctx, usher.AuditQuery{Types: []string{usher.EventUnlocked}, Limit: 3})
	if err != nil || len(first) != 3 {
		t.Fatalf("first page %v, %v", first, err)
	}
	rest, err := svc.AuditLog(ctx, usher.AuditQuery{Types: []string{usher.EventUnlocked}, Limit: 3, Before: first[2].ID})
	if err != nil || len(rest) != 1 || rest[0].ID >= first[2].ID {
		t.Fatalf("second page %v, %v", rest, err)
	}
	err = svc.Store().InTx(ctx, func(tx usher.Store) error {
		for range 1000 {
			if err := tx.AddEvent(ctx, &usher.Event{Type: usher.EventLogout, At: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if all, err := svc.AuditLog(ctx, usher.AuditQuery{Limit: 1_000_000}); err != nil || len(all) != 1000 {
		t.Fatalf("a page of a million: %d entries, %v; want 1000", len(all), err)
	}
	if page, err := svc.AuditLog(ctx, usher.AuditQuery{}); err != nil || len(page) != 100 {
		t.Fatalf("a page without a limit: %d entries, %v; want 100", len(page), err)
	}
}
