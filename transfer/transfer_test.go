package transfer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/transfer"
	"github.com/usher-auth/usher/usertest"
)

var (
	ctx    = context.Background()
	client = usher.Client{IP: "192.0.2.1", UserAgent: "test"}
)

// cfg is the configuration of every test server: usernames on, one
// profile field.
var cfg = usher.Config{
	EnableUsername: true,
	ProfileFields:  []usher.ProfileField{{Name: "name"}},
}

// backends are the databases every round trip runs on.
var backends = []struct {
	name string
	open func(t *testing.T) usher.Store
}{
	{"sqlite", func(t *testing.T) usher.Store { return usertest.NewSQLiteStore(t) }},
	{"postgres", func(t *testing.T) usher.Store { return usertest.MustOpen(t, usertest.PostgresAddress(t)) }},
}

// server is a Service over st whose second-factor secrets are sealed with
// key (nil: no second factors), with a fixed clock.
func server(t testing.TB, st usher.Store, key []byte, clock *usertest.Clock) *usher.Service {
	t.Helper()
	d := usher.Deps{Store: st, Passwords: usertest.FastHasher(), Policy: password.Policy{}, Now: clock.Now, Logger: usertest.Discard}
	if key != nil {
		sealer, err := mfa.NewSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		d.MFA, d.WebAuthn, d.Sealer = mfa.Provider{}, webauthn.Provider{}, sealer
	}
	svc, err := usher.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// The users of the round trip and their passwords.
const (
	annPassword   = usertest.Password
	bobPassword   = "correct horse battery" // his hash is Werkzeug's, from a Flask app
	carolPassword = "carol's own long password"
	davePassword  = "dave's own long password"
	bobHash       = "pbkdf2:sha512:1000$hxMaGUOV0dto6Ww0$6e4ab8d0400e0f553352927b29f79e55fcac02483d0008d0ff3370b48afe6d2c1c711eaf3270071ac010a96a684cb2bffc3db882277f6bd30b4007a1d233b3e5"
)

// seed makes four users on svc: ann (roles, profile, locale, a log-in),
// bob (an imported Werkzeug hash), carol (a federated identity, a second
// address and a TOTP app) and dave (disabled). It returns carol's TOTP
// secret.
func seed(t *testing.T, svc *usher.Service, clock *usertest.Clock) []byte {
	t.Helper()
	ann, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Username: "ann", Password: annPassword,
		Roles: []string{"admin", "editor"}, Profile: map[string]string{"name": "Ann Example"}, Locale: "de", Enabled: true, Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "bob@example.com", PasswordHash: bobHash, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	carol, err := svc.CreateUser(ctx, usher.NewUser{Email: "carol@example.com", Password: carolPassword, Enabled: true, Confirmed: true, Roles: []string{"staff"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "dave@example.com", Password: davePassword, Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, _, err := svc.LoginWithEmail(ctx, ann.Email, annPassword, false, client); err != nil {
		t.Fatal(err)
	}
	st := svc.Store()
	if err := st.CreateIdentity(ctx, &usher.Identity{ID: usher.NewID(), UserID: carol.ID, Provider: "google",
		Issuer: "https://accounts.google.com", Subject: "1234567890", Email: "carol@gmail.com", LinkedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddUserEmail(ctx, &usher.UserEmail{ID: usher.NewID(), UserID: carol.ID, Email: "carol@work.example",
		ConfirmedAt: clock.Now(), CreatedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := svc.LoginWithEmail(ctx, carol.Email, carolPassword, false, client)
	if err != nil {
		t.Fatal(err)
	}
	setup, err := svc.GenerateTOTPSecret(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := mfa.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddMFAMethod(ctx, sess, carolPassword, setup.Method, mfa.TOTPCode(secret, clock.Now()), "Phone", false, client); err != nil {
		t.Fatal(err)
	}
	return secret
}

func export(t *testing.T, svc *usher.Service, o transfer.ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := transfer.Export(ctx, svc, &buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if users, total, _ := svc.ListUsers(ctx, usher.UserQuery{}); n != total {
		t.Fatalf("Export wrote %d users; there are %d (%d listed)", n, total, len(users))
	}
	return buf.Bytes()
}

func mustImport(t *testing.T, svc *usher.Service, data []byte, o transfer.ImportOptions) (transfer.Summary, []transfer.Refusal) {
	t.Helper()
	var refused []transfer.Refusal
	o.Refused = func(r transfer.Refusal) { refused = append(refused, r) }
	sum, err := transfer.Import(ctx, svc, bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return sum, refused
}

// TestRoundTrip exports a server's users as JSONL and imports them into a
// fresh database: every user logs in with the same password (the hash
// moves as it is), keeps ID, roles, profile, locale, addresses, identities
// and, with --include-secrets and the same secret key, the TOTP app.
// Importing the file again creates nothing.
func TestRoundTrip(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			key := mfa.NewKey()
			clock := usertest.NewClock()
			src := server(t, b.open(t), key, clock)
			secret := seed(t, src, clock)
			data := export(t, src, transfer.ExportOptions{IncludeSecrets: true})
			if got := bytes.Count(data, []byte("\n")); got != 4 {
				t.Fatalf("%d lines; want 4:\n%s", got, data)
			}
			if bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(secret))) {
				t.Fatal("the export holds carol's TOTP secret unsealed")
			}

			clock.Advance(time.Hour)
			dst := server(t, b.open(t), key, clock)
			sum, refused := mustImport(t, dst, data, transfer.ImportOptions{})
			if sum.Created != 4 || sum.Skipped != 0 || sum.Refused != 0 {
				t.Fatalf("import: %v %v; want 4 created", sum, refused)
			}
			compareUsers(t, src, dst)

			// Everyone logs in with the same password.
			if _, u, err := dst.LoginWithEmail(ctx, "ann@example.com", annPassword, false, client); err != nil || u.Username != "ann" {
				t.Errorf("ann's log-in after import: %v", err)
			}
			if _, _, err := dst.LoginWithEmail(ctx, "bob@example.com", bobPassword, false, client); err != nil {
				t.Errorf("bob's log-in (a Werkzeug hash) after import: %v", err)
			}
			if bob, _ := dst.Store().UserByEmail(ctx, "bob@example.com"); bob == nil || !strings.HasPrefix(bob.PasswordHash, "$argon2id$") {
				t.Errorf("bob's Werkzeug hash was not replaced at his first log-in: %v", bob)
			}
			if _, _, err := dst.LoginWithEmail(ctx, "dave@example.com", davePassword, false, client); !errors.Is(err, usher.ErrAccountIsNotEnabled) {
				t.Errorf("dave (disabled) after import: %v; want ErrAccountIsNotEnabled", err)
			}
			// Carol needs her second factor, and her app's codes work.
			_, _, err := dst.LoginWithEmail(ctx, "carol@example.com", carolPassword, false, client)
			var mr *usher.MFARequiredError
			if !errors.As(err, &mr) {
				t.Fatalf("carol's log-in after import: %v; want her second factor asked for", err)
			}
			if _, _, err := dst.CompleteMFALogin(ctx, mr.Pending, usher.SecondFactor{Type: usher.MFATOTP, Code: mfa.TOTPCode(secret, clock.Now())}, false, false, client); err != nil {
				t.Errorf("carol's TOTP code after import: %v", err)
			}
			// Her identity signs her in; her second address finds her.
			carol, _ := dst.Store().UserByEmail(ctx, "carol@example.com")
			if id, err := dst.Store().IdentityBySubject(ctx, "https://accounts.google.com", "1234567890"); err != nil || id.UserID != carol.ID || id.Provider != "google" || id.Email != "carol@gmail.com" {
				t.Errorf("carol's identity after import: %+v, %v", id, err)
			}
			if u, err := dst.Store().UserByEmail(ctx, "carol@work.example"); err != nil || u.ID != carol.ID {
				t.Errorf("carol's second address after import: %v, %v", u, err)
			}

			// Again: nothing new, nothing changed (ann's last log-in
			// stays the one made here).
			before, _ := dst.Store().UserByEmail(ctx, "ann@example.com")
			sum, refused = mustImport(t, dst, data, transfer.ImportOptions{})
			if sum.Created != 0 || sum.Skipped != 4 || sum.Refused != 0 {
				t.Fatalf("second import: %v %v; want 4 skipped", sum, refused)
			}
			if n, _ := dst.Store().CountUsers(ctx, usher.UserQuery{}); n != 4 {
				t.Errorf("%d users after the second import; want 4", n)
			}
			if after, _ := dst.Store().UserByEmail(ctx, "ann@example.com"); !after.LastLoginAt.Equal(before.LastLoginAt) || after.PasswordHash != before.PasswordHash {
				t.Errorf("the second import changed ann: %+v → %+v", before, after)
			}

			// Both moves are in the audit trail.
			if !hasEvent(t, src, usher.EventUsersExported, "with second-factor secrets") {
				t.Error("no users_exported event on the exporting server")
			}
			if !hasEvent(t, dst, usher.EventUsersImported, "4 created") || !hasEvent(t, dst, usher.EventUsersImported, "4 skipped") {
				t.Error("no users_imported events with the counts on the importing server")
			}
			if !hasEvent(t, dst, usher.EventImported, "") {
				t.Error("no imported event for the users created")
			}
		})
	}
}

// compareUsers checks that every user of src is in dst with the same
// fields.
func compareUsers(t *testing.T, src, dst *usher.Service) {
	t.Helper()
	want, _, err := src.ListUsers(ctx, usher.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		g, err := dst.Store().UserByID(ctx, w.ID)
		if err != nil {
			t.Errorf("%s (%s) not imported with its ID: %v", w.Email, w.ID, err)
			continue
		}
		same := g.Email == w.Email && g.Username == w.Username && g.PasswordHash == w.PasswordHash &&
			g.Enabled == w.Enabled && g.EmailConfirmedAt.Equal(w.EmailConfirmedAt) && g.SignedUpAt.Equal(w.SignedUpAt) &&
			g.LastLoginAt.Equal(w.LastLoginAt) && g.PasswordChangedAt.Equal(w.PasswordChangedAt) && g.Locale == w.Locale &&
			slices.Equal(g.Roles, w.Roles) && len(g.Profile) == len(w.Profile) && g.Profile["name"] == w.Profile["name"]
		if !same {
			t.Errorf("imported user differs:\n got %+v\nwant %+v", g, w)
		}
	}
}

func hasEvent(t *testing.T, svc *usher.Service, typ, detail string) bool {
	t.Helper()
	evs, err := svc.Events(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(evs, func(e *usher.Event) bool { return e.Type == typ && strings.Contains(e.Detail, detail) })
}

// TestImportOtherSecretKey: second factors sealed under another server's
// key cannot be used here, so their user is refused whole (importing
// them without their second factor would weaken the account); the other
// users are imported.
func TestImportOtherSecretKey(t *testing.T) {
	clock := usertest.NewClock()
	src := server(t, usertest.NewSQLiteStore(t), mfa.NewKey(), clock)
	seed(t, src, clock)
	data := export(t, src, transfer.ExportOptions{IncludeSecrets: true})
	carolLine := 1 + slices.IndexFunc(strings.Split(string(data), "\n"), func(l string) bool { return strings.Contains(l, "carol@example.com") })
	for name, key := range map[string][]byte{"other key": mfa.NewKey(), "no key": nil} {
		t.Run(name, func(t *testing.T) {
			dst := server(t, usertest.NewSQLiteStore(t), key, clock)
			sum, refused := mustImport(t, dst, data, transfer.ImportOptions{})
			if sum.Created != 3 || sum.Refused != 1 || len(refused) != 1 || refused[0].Email != "carol@example.com" ||
				!errors.Is(refused[0].Err, usher.ErrImportMFA) || refused[0].Line != carolLine {
				t.Fatalf("%v %v; want carol (line %d) refused for her second factor", sum, refused, carolLine)
			}
			if _, err := dst.Store().UserByEmail(ctx, "carol@example.com"); !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("carol was imported anyway: %v", err)
			}
		})
	}
}

// TestExportWithoutSecrets: by default an export has no second factors;
// its users import on a server with another key, and carol then logs in
// with her password alone (she sets up her app again).
func TestExportWithoutSecrets(t *testing.T) {
	clock := usertest.NewClock()
	src := server(t, usertest.NewSQLiteStore(t), mfa.NewKey(), clock)
	seed(t, src, clock)
	data := export(t, src, transfer.ExportOptions{})
	if bytes.Contains(data, []byte(`"mfa"`)) || bytes.Contains(data, []byte("sealed_secret")) {
		t.Fatalf("an export without --include-secrets holds second factors:\n%s", data)
	}
	dst := server(t, usertest.NewSQLiteStore(t), mfa.NewKey(), clock)
	if sum, refused := mustImport(t, dst, data, transfer.ImportOptions{}); sum.Created != 4 {
		t.Fatalf("%v %v", sum, refused)
	}
	if _, _, err := dst.LoginWithEmail(ctx, "carol@example.com", carolPassword, false, client); err != nil {
		t.Errorf("carol after an import without secrets: %v", err)
	}
}

// TestDryRun checks every row against the database and changes nothing:
// no user, no event. A second row for the same account counts as
// skipped, as it would in a real run.
func TestDryRun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := usertest.NewClock()
			src := server(t, b.open(t), mfa.NewKey(), clock)
			seed(t, src, clock)
			data := export(t, src, transfer.ExportOptions{})
			data = append(data, data[:bytes.IndexByte(data, '\n')+1]...) // ann again
			data = append(data, `{"email":"not an address"}`+"\n"...)
			dst := server(t, b.open(t), nil, clock)
			sum, refused := mustImport(t, dst, data, transfer.ImportOptions{DryRun: true})
			if sum.Created != 4 || sum.Skipped != 1 || sum.Refused != 1 || !sum.DryRun || len(refused) != 1 || refused[0].Line != 6 {
				t.Fatalf("dry run: %v %v; want 4 would be created, 1 skipped, line 6 refused", sum, refused)
			}
			if n, _ := dst.Store().CountUsers(ctx, usher.UserQuery{}); n != 0 {
				t.Errorf("a dry run created %d users", n)
			}
			if evs, _ := dst.Events(ctx, "", 10); len(evs) != 0 {
				t.Errorf("a dry run recorded events: %v", evs[0])
			}
			if _, err := dst.Store().IdentityBySubject(ctx, "https://accounts.google.com", "1234567890"); !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("a dry run linked an identity: %v", err)
			}
		})
	}
}

// TestBadRows: each bad row is reported with its line and skipped; the
// good rows are imported.
func TestBadRows(t *testing.T) {
	clock := usertest.NewClock()
	dst := server(t, usertest.NewSQLiteStore(t), nil, clock)
	data := strings.Join([]string{
		`{"email":"ann@example.com","password_hash":"` + bobHash + `","roles":["admin"]}`,
		`{"email":"bob@example.com",`,                             // 2: not JSON
		`{"email":"nobody"}`,                                      // 3: not an address
		`{"email":"carol@example.com","password_hash":"md5:abc"}`, // 4: a hash no log-in could match
		``,                            // blank lines are passed over
		`{"email":"ANN@example.com"}`, // 6: ann again: skipped
		`{"email":"dave@example.com","roles":["no spaces"]}`,  // 7: not a role
		`{"email":"erin@example.com","favourite":"blue"}`,     // 8: an unknown field
		`{"email":"fay@example.com","profile":{"shoe":"42"}}`, // 9: not a declared profile field
		`{"email":"gus@example.com","id":"has spaces"}`,       // 10: not an ID
		`{"email":"hal@example.com","username":"hal","enabled":false}`,
	}, "\n")
	sum, refused := mustImport(t, dst, []byte(data), transfer.ImportOptions{})
	var lines []int
	for _, r := range refused {
		lines = append(lines, r.Line)
	}
	if sum.Created != 2 || sum.Skipped != 1 || sum.Refused != 7 || !slices.Equal(lines, []int{2, 3, 4, 7, 8, 9, 10}) {
		t.Fatalf("%v, refused lines %v; want 2 created, 1 skipped, lines 2 3 4 7 8 9 10 refused", sum, lines)
	}
	if hal, err := dst.Store().UserByEmail(ctx, "hal@example.com"); err != nil || hal.Enabled || hal.Username != "hal" {
		t.Errorf("hal: %+v, %v", hal, err)
	}
	if ann, err := dst.Store().UserByEmail(ctx, "ann@example.com"); err != nil || !ann.Enabled || !ann.HasRole("admin") {
		t.Errorf("ann (no \"enabled\": enabled): %+v, %v", ann, err)
	}
}

// TestRowAllOrNothing: a row whose identity is already another user's is
// refused, and its user is not created without it.
func TestRowAllOrNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := usertest.NewClock()
			dst := server(t, b.open(t), nil, clock)
			ann := usertest.MustCreateUser(t, dst, "ann@example.com")
			if err := dst.Store().CreateIdentity(ctx, &usher.Identity{ID: usher.NewID(), UserID: ann.ID, Provider: "google",
				Issuer: "https://accounts.google.com", Subject: "42", LinkedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
			data := `{"email":"mallory@example.com","roles":["admin"],"emails":[{"email":"m2@example.com"}],` +
				`"identities":[{"provider":"google","issuer":"https://accounts.google.com","subject":"42"}]}` + "\n"
			sum, refused := mustImport(t, dst, []byte(data), transfer.ImportOptions{})
			if sum.Refused != 1 || len(refused) != 1 || !errors.Is(refused[0].Err, usher.ErrImportConflict) {
				t.Fatalf("%v %v; want the row refused as a conflict", sum, refused)
			}
			if _, err := dst.Store().UserByEmail(ctx, "mallory@example.com"); !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("the user of a refused row exists: %v", err)
			}
			if e, err := dst.Store().UserEmailByAddress(ctx, "m2@example.com"); !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("the address of a refused row exists: %v, %v", e, err)
			}
			if n, _ := dst.Store().CountUsers(ctx, usher.UserQuery{Role: "admin"}); n != 0 {
				t.Errorf("%d admins after a refused row", n)
			}
		})
	}
}

// TestExportIsStreamed: more users than a page are all written, once
// each, in sign-up order.
func TestExportIsStreamed(t *testing.T) {
	clock := usertest.NewClock()
	svc := server(t, usertest.NewSQLiteStore(t), nil, clock)
	const n = 450 // more than two pages
	for i := range n {
		if _, err := svc.CreateUser(ctx, usher.NewUser{Email: usertest.Email(i), Enabled: true}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	data := export(t, svc, transfer.ExportOptions{})
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines; want %d", len(lines), n)
	}
	for i, l := range lines {
		if !strings.Contains(l, `"email":"`+usertest.Email(i)+`"`) {
			t.Fatalf("line %d is %s; want %s", i+1, l, usertest.Email(i))
		}
	}
}

// deletingStore deletes a user just before the second page of a listing
// is read, as an administrator might during a long export.
type deletingStore struct {
	usher.Store
	pages  int
	delete string
}

func (d *deletingStore) ListUsers(ctx context.Context, q usher.UserQuery) ([]*usher.User, error) {
	if d.pages++; d.pages == 2 {
		if err := d.Store.DeleteUser(ctx, d.delete); err != nil {
			return nil, err
		}
	}
	return d.Store.ListUsers(ctx, q)
}

// TestExportWhileUsersDeleted: a user deleted from a page already written
// does not shift the next page: every other user is exported, once.
func TestExportWhileUsersDeleted(t *testing.T) {
	clock := usertest.NewClock()
	st := &deletingStore{Store: usertest.NewSQLiteStore(t)}
	svc := server(t, st, nil, clock)
	const n = 450
	for i := range n {
		u, err := svc.CreateUser(ctx, usher.NewUser{Email: usertest.Email(i), Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			st.delete = u.ID
		}
		clock.Advance(time.Second)
	}
	var buf bytes.Buffer
	if _, err := transfer.Export(ctx, svc, &buf, transfer.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines; want %d (all users, the deleted one written before it went)", len(lines), n)
	}
	for i, l := range lines {
		if !strings.Contains(l, `"email":"`+usertest.Email(i)+`"`) {
			t.Fatalf("line %d is %s; want %s", i+1, l, usertest.Email(i))
		}
	}
}

// failingAudit is a Store whose audit trail cannot be written.
type failingAudit struct{ usher.Store }

func (f failingAudit) AddEvent(context.Context, *usher.Event) error {
	return errors.New("the audit trail is full")
}

func (f failingAudit) InTx(ctx context.Context, fn func(tx usher.Store) error) error {
	return f.Store.InTx(ctx, func(tx usher.Store) error { return fn(failingAudit{tx}) })
}

// TestExportNeedsAudit: an export that cannot be recorded in the audit
// trail writes nothing.
func TestExportNeedsAudit(t *testing.T) {
	clock := usertest.NewClock()
	st := usertest.NewSQLiteStore(t)
	usertest.MustCreateUser(t, server(t, st, nil, clock), "ann@example.com")
	svc := server(t, failingAudit{st}, nil, clock)
	for _, format := range []string{transfer.JSONL, transfer.CSV} {
		var buf bytes.Buffer
		if _, err := transfer.Export(ctx, svc, &buf, transfer.ExportOptions{Format: format}); err == nil || buf.Len() != 0 {
			t.Errorf("%s: Export = %v with %d bytes written; want an error and nothing written", format, err, buf.Len())
		}
	}
}
