package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/usertest"
)

// TestAPIKeys: a key is made once, found by itself only, listed without
// its hash, and dead once revoked (by name or ID).
func TestAPIKeys(t *testing.T) {
	svc := usertest.NewService(t, usher.Config{}, usertest.NewSQLiteStore(t), nil)
	key, k, err := svc.CreateAPIKey(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, usher.APIKeyPrefix) || k.Name != "ci" || k.ID == "" {
		t.Fatalf("CreateAPIKey = %q, %+v", key, k)
	}
	if got, err := svc.AuthenticateAPIKey(ctx, key); err != nil || got.ID != k.ID || got.Hash != nil {
		t.Fatalf("AuthenticateAPIKey = %+v, %v; want the key without its hash", got, err)
	}
	for _, bad := range []string{"", key[:len(key)-1], key + "A", strings.TrimPrefix(key, usher.APIKeyPrefix),
		usher.APIKeyPrefix + strings.Repeat("A", 43), strings.ToUpper(key)} {
		if _, err := svc.AuthenticateAPIKey(ctx, bad); !errors.Is(err, usher.ErrAuthenticationFailed) {
			t.Errorf("AuthenticateAPIKey(%q) = %v, want ErrAuthenticationFailed", bad, err)
		}
	}
	if _, _, err := svc.CreateAPIKey(ctx, "ci"); !errors.Is(err, usher.ErrUserExists) {
		t.Errorf("a taken name: %v", err)
	}
	for _, name := range []string{"", "two words", "a/b", strings.Repeat("x", 65)} {
		if _, _, err := svc.CreateAPIKey(ctx, name); !errors.Is(err, usher.ErrValidation) {
			t.Errorf("CreateAPIKey(%q) = %v, want a validation error", name, err)
		}
	}
	key2, k2, _ := svc.CreateAPIKey(ctx, "backup")
	list, err := svc.ListAPIKeys(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "backup" || list[1].Name != "ci" || list[0].Hash != nil || list[1].Hash != nil {
		t.Fatalf("ListAPIKeys = %+v, %v", list, err)
	}
	if _, err := svc.RevokeAPIKey(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeAPIKey(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	for _, dead := range []string{key, key2} {
		if _, err := svc.AuthenticateAPIKey(ctx, dead); !errors.Is(err, usher.ErrAuthenticationFailed) {
			t.Errorf("a revoked key: %v", err)
		}
	}
	if _, err := svc.RevokeAPIKey(ctx, "ci"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("revoke again: %v", err)
	}
	evs, _ := svc.Events(ctx, "", 10)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type+":"+e.Detail)
	}
	for _, want := range []string{"apikey_created:ci", "apikey_revoked:ci", "apikey_revoked:backup"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("events %v lack %s", types, want)
		}
	}
	// A key is not a session.
	if _, _, err := svc.Authenticate(ctx, key); err == nil {
		t.Error("Authenticate took an API key")
	}
}

// TestResetUserMFA: an admin's reset takes every factor and recovery
// code, ends the sessions, and the user logs in with the password alone;
// its event names the admin (WithActor) and their address (WithClient).
func TestResetUserMFA(t *testing.T) {
	svc, clock := newMFAService(t, usher.Config{})
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	sess, _, _ := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	enrolTOTP(t, svc, clock, u, sess)
	if _, err := svc.NewRecoveryCodes(ctx, u.ID, client); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); !errors.Is(err, usher.ErrMFARequired) {
		t.Fatalf("log-in with a factor: %v", err)
	}
	actx := usher.WithClient(usher.WithActor(ctx, usher.Actor{Kind: usher.ActorAdmin, ID: "adm1"}), client)
	n, err := svc.ResetUserMFA(actx, u.ID)
	if err != nil || n != 1 {
		t.Fatalf("ResetUserMFA = %d, %v", n, err)
	}
	evs, _ := svc.AuditLog(ctx, usher.AuditQuery{UserID: u.ID, Types: []string{usher.EventMFAReset}})
	if len(evs) != 1 || evs[0].Actor.Kind != usher.ActorAdmin || evs[0].Actor.ID != "adm1" || evs[0].IP != client.IP {
		t.Errorf("the reset's audit entry: %+v", evs)
	}
	if list, _ := svc.ListMFAMethods(ctx, u.ID); len(list) != 0 {
		t.Errorf("%d factors left", len(list))
	}
	if c, _ := svc.Store().CountRecoveryCodes(ctx, u.ID); c != 0 {
		t.Errorf("%d recovery codes left", c)
	}
	if _, _, err := svc.Authenticate(ctx, sess.Token); err == nil {
		t.Error("the session survived")
	}
	if _, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client); err != nil {
		t.Errorf("log-in after the reset: %v", err)
	}
	if _, err := svc.ResetUserMFA(ctx, "nobody"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}
