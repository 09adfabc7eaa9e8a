package usher_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/usher-auth/usher"
)

// TestCreateUserImportHash: an imported hash must be one the
// PasswordHasher can verify; anything else is refused, naming the formats
// it knows, and nothing is stored. Werkzeug's formats log in.
func TestCreateUserImportHash(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	for _, h := range []string{"notahash", "pbkdf2:sha256:600000$salt", "sha1$salt$00ff00ff"} {
		_, err := svc.CreateUser(ctx, usher.NewUser{Email: "bad@example.com", PasswordHash: h, Enabled: true})
		var v *usher.ValidationError
		if !errors.As(err, &v) || !strings.Contains(v.Fields["password_hash"], "bcrypt") || !strings.Contains(v.Fields["password_hash"], "scrypt") {
			t.Errorf("CreateUser(hash %q) = %v; want a *ValidationError on password_hash naming the formats", h, err)
		}
	}
	if _, err := svc.Store().UserByEmail(ctx, "bad@example.com"); !errors.Is(err, usher.ErrNotFound) {
		t.Errorf("a refused import stored a user: %v", err)
	}
	const werkzeug = "pbkdf2:sha256:1000$xg6bPhuHgj88ZEDR$136e52decf93ac4e08671e79f6b6aef0f5fcfbe53b1b5cac144a88094cf3a0b7"
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "flask@example.com", PasswordHash: werkzeug, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "flask@example.com", "pässwörd ✓", false, client); err != nil {
		t.Errorf("log-in with a Werkzeug hash: %v", err)
	}
}

// TestImportHashCostCeiling: a hash asking for more work than the
// password package's ceilings (a bcrypt cost of 31 would hold a CPU for
// days) is refused at import with a reason naming the ceiling, and a
// stored one — written before the ceiling existed, or straight into the
// database — is a refused log-in, not a verification.
func TestImportHashCostCeiling(t *testing.T) {
	svc, _ := newService(t, usher.Config{})
	const costly = "$2b$31$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxHMC/LuRQdkQYc88wW"
	_, err := svc.CreateUser(ctx, usher.NewUser{Email: "costly@example.com", PasswordHash: costly, Enabled: true})
	var v *usher.ValidationError
	if !errors.As(err, &v) || !strings.Contains(v.Fields["password_hash"], "ceiling") {
		t.Fatalf("CreateUser(bcrypt cost 31) = %v; want a *ValidationError on password_hash naming the ceiling", err)
	}
	u, err := svc.CreateUser(ctx, usher.NewUser{Email: "stored@example.com", Password: "correct horse battery staple", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	h := costly
	if err := svc.Store().UpdateUser(ctx, u.ID, usher.UserUpdate{PasswordHash: &h}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "stored@example.com", "correct horse battery staple", false, client); !errors.Is(err, usher.ErrAuthenticationFailed) {
		t.Errorf("log-in against a stored bcrypt-31 hash = %v; want ErrAuthenticationFailed", err)
	}
}
