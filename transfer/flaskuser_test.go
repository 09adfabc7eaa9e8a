package transfer_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/transfer"
	"github.com/usher-auth/usher/usertest"
)

// flaskUsers are the users of testdata/flaskuser/app.db (made by make.py
// with the Flask-User manual's data models), with their passwords.
var flaskUsers = []struct {
	email, password string
	roles           []string
	enabled         bool
	confirmed       bool
}{
	{"user007@example.com", "Password1", []string{"agent", "secret"}, true, true}, // passlib bcrypt
	{"sha512@example.com", "sha512 password", []string{"agent"}, true, false},     // passlib sha512_crypt
	{"sha256@example.com", "sha256 password", nil, true, true},                    // passlib sha256_crypt
	{"pbkdf2@example.com", "pbkdf2 password", nil, true, true},                    // passlib pbkdf2_sha512
	{"werkzeug@example.com", "werkzeug password", nil, true, true},                // Werkzeug pbkdf2:sha256
	{"werkzeug512@example.com", "werkzeug512 password", nil, true, true},          // Werkzeug pbkdf2:sha512
	{"disabled@example.com", "disabled password", nil, false, true},               // is_active False
}

// flaskServer is a server whose profile has Flask-User's first_name
// (last_name is not declared: it is named in a note).
func flaskServer(t *testing.T, st usher.Store) *usher.Service {
	t.Helper()
	svc, err := usher.New(usher.Config{EnableUsername: true, ProfileFields: []usher.ProfileField{{Name: "first_name"}}},
		usher.Deps{Store: st, Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func importFlask(t *testing.T, svc *usher.Service, from string, dryRun bool) (transfer.Summary, []transfer.Refusal, []string) {
	t.Helper()
	var refused []transfer.Refusal
	var notes []string
	sum, err := transfer.ImportFlaskUser(ctx, svc, from, transfer.ImportOptions{DryRun: dryRun,
		Refused: func(r transfer.Refusal) { refused = append(refused, r) }, Note: func(s string) { notes = append(notes, s) }})
	if err != nil {
		t.Fatalf("ImportFlaskUser(%s): %v", from, err)
	}
	return sum, refused, notes
}

// checkFlaskImport checks that app.db's users came over: each logs in
// with their password, with roles, enabled and confirmation as in
// Flask-User; the row with a hash no log-in could match is refused.
func checkFlaskImport(t *testing.T, svc *usher.Service, from string) {
	t.Helper()
	sum, refused, notes := importFlask(t, svc, from, false)
	if sum.Created != len(flaskUsers) || sum.Refused != 1 || len(refused) != 1 || refused[0].Email != "broken@example.com" ||
		!refused[0].ByID || refused[0].Line != 8 || !errors.Is(refused[0].Err, usher.ErrValidation) {
		t.Fatalf("%v %v; want %d created and user id 8 (broken@) refused", sum, refused, len(flaskUsers))
	}
	if !strings.Contains(strings.Join(notes, "\n"), "last_name") {
		t.Errorf("no note naming the ignored last_name column: %q", notes)
	}
	for _, f := range flaskUsers {
		u, err := svc.Store().UserByEmail(ctx, f.email)
		if err != nil {
			t.Errorf("%s: %v", f.email, err)
			continue
		}
		if !slices.Equal(u.Roles, f.roles) || u.Enabled != f.enabled || u.EmailConfirmed() != f.confirmed {
			t.Errorf("%s: roles %v enabled %v confirmed %v; want %v %v %v", f.email, u.Roles, u.Enabled, u.EmailConfirmed(), f.roles, f.enabled, f.confirmed)
		}
		_, _, err = svc.Login(ctx, usher.Credentials{Email: f.email, Password: f.password}, client)
		if f.enabled && err != nil || !f.enabled && !errors.Is(err, usher.ErrAccountIsNotEnabled) {
			t.Errorf("%s logs in with their Flask-User password: %v", f.email, err)
		}
	}
	bond, _ := svc.Store().UserByEmail(ctx, "user007@example.com")
	if bond.Username != "user007" || bond.Profile["first_name"] != "James" ||
		!bond.EmailConfirmedAt.Equal(time.Date(2024, 3, 1, 10, 15, 30, 123456000, time.UTC)) {
		t.Errorf("user007: %+v", bond)
	}
	// Again: nothing new.
	if sum, _, _ := importFlask(t, svc, from, false); sum.Created != 0 || sum.Skipped != len(flaskUsers) {
		t.Errorf("second import: %v", sum)
	}
}

func TestImportFlaskUserSQLite(t *testing.T) {
	path := copyFile(t, "testdata/flaskuser/app.db")
	svc := flaskServer(t, usertest.NewSQLiteStore(t))

	sum, refused, _ := importFlask(t, svc, "sqlite:///"+path, true)
	if sum.Created != len(flaskUsers) || sum.Refused != 1 || len(refused) != 1 {
		t.Fatalf("dry run: %v %v", sum, refused)
	}
	if n, _ := svc.Store().CountUsers(ctx, usher.UserQuery{}); n != 0 {
		t.Fatalf("the dry run created %d users", n)
	}
	checkFlaskImport(t, svc, "sqlite:///"+path)
}

// TestImportFlaskUserEmails reads the UserEmail data model: the primary
// row is the account's address, the others secondary ones, confirmed or
// not as they were.
func TestImportFlaskUserEmails(t *testing.T) {
	svc := importOneUser(t, "emails.db")
	ann, err := svc.Store().UserByEmail(ctx, "ann@example.com")
	if err != nil || ann.Email != "ann@example.com" || !ann.EmailConfirmed() || ann.Username != "ann" {
		t.Fatalf("ann: %+v, %v", ann, err)
	}
	emails, _ := svc.Store().ListUserEmails(ctx, ann.ID)
	var got []string
	for _, e := range emails {
		got = append(got, e.Email+map[bool]string{true: " confirmed", false: ""}[!e.ConfirmedAt.IsZero()])
	}
	slices.Sort(got[1:]) // the primary first; the others were added at the same instant
	if want := []string{"ann@example.com confirmed", "ann.old@example.com", "ann.work@example.com confirmed"}; !slices.Equal(got, want) {
		t.Errorf("addresses %q; want %q", got, want)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "ann.work@example.com", "ann password", false, client); err != nil {
		t.Errorf("log-in with the confirmed secondary address: %v", err)
	}
}

// TestImportFlaskUserPostgres creates app.db's tables on PostgreSQL with
// the DDL SQLAlchemy emits for them (testdata/flaskuser/postgres.sql),
// copies the rows, and imports from a postgresql:// URL.
func TestImportFlaskUserPostgres(t *testing.T) {
	addr := usertest.PostgresAddress(t)
	ddl, err := os.ReadFile("testdata/flaskuser/postgres.sql")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sql.Open("pgx", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.Exec(string(ddl)); err != nil {
		t.Fatalf("creating the Flask-User tables: %v", err)
	}
	lite, err := sql.Open("sqlite", "file:testdata/flaskuser/app.db?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	for _, table := range []string{"role", "user", "user_roles"} {
		copyTable(t, lite, pg, table)
	}
	svc := flaskServer(t, usertest.NewSQLiteStore(t))
	// SQLAlchemy's URL names the driver; the import takes it as it is.
	checkFlaskImport(t, svc, strings.Replace(addr, "postgres://", "postgresql+psycopg2://", 1))
}

// TestImportFlaskUserBadSource: a URL of another kind, a missing file and
// a database without Flask-User's tables are errors before any row.
func TestImportFlaskUserBadSource(t *testing.T) {
	svc := flaskServer(t, usertest.NewSQLiteStore(t))
	empty := filepath.Join(t.TempDir(), "empty.db")
	db, _ := sql.Open("sqlite", empty)
	db.Exec("CREATE TABLE things (id INTEGER)")
	db.Close()
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, from := range []string{"mysql://root@db/app", "sqlite:///" + missing, "sqlite:///" + empty} {
		if _, err := transfer.ImportFlaskUser(ctx, svc, from, transfer.ImportOptions{}); err == nil {
			t.Errorf("%s: no error", from)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the import created the missing database")
	}
}

// copyTable copies every row of table from one database to the other.
func copyTable(t *testing.T, from, to *sql.DB, table string) {
	t.Helper()
	rows, err := from.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var marks []string
	for i := range cols {
		marks = append(marks, "$"+string(rune('1'+i)))
	}
	ins := `INSERT INTO "` + table + `" (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			if c == "is_active" {
				vals[i] = vals[i] != int64(0)
			}
		}
		if _, err := to.Exec(ins, vals...); err != nil {
			t.Fatalf("copying %s: %v", table, err)
		}
	}
}

// importOneUser imports a copy of testdata/flaskuser/<fixture>, which
// holds one user, into a new SQLite store and fails unless it is created.
func importOneUser(t *testing.T, fixture string) *usher.Service {
	t.Helper()
	path := copyFile(t, "testdata/flaskuser/"+fixture)
	svc := flaskServer(t, usertest.NewSQLiteStore(t))
	if sum, refused, _ := importFlask(t, svc, "sqlite:///"+path, false); sum.Created != 1 || sum.Refused != 0 {
		t.Fatalf("%v %v", sum, refused)
	}
	return svc
}

// copyFile copies a committed database to a temporary directory, so
// that no test can change the committed file.
func copyFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestImportFlaskUserV1Names reads Flask-User 1.0's table and column
// names: users, roles, users_roles, email_confirmed_at, active.
func TestImportFlaskUserV1Names(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(100), password VARCHAR(255) NOT NULL DEFAULT '',
			email VARCHAR(255) NOT NULL UNIQUE, email_confirmed_at DATETIME, active BOOLEAN NOT NULL DEFAULT 0)`,
		`CREATE TABLE roles (id INTEGER PRIMARY KEY, name VARCHAR(50) UNIQUE)`,
		`CREATE TABLE users_roles (id INTEGER PRIMARY KEY, user_id INTEGER, role_id INTEGER)`,
		`INSERT INTO users VALUES (1, NULL, '` + bobHash + `', 'member@example.com', '2024-03-01 10:15:30.000000', 1)`,
		`INSERT INTO users VALUES (2, 'off', '', 'off@example.com', NULL, 0)`,
		`INSERT INTO roles VALUES (1, 'Admin')`,
		`INSERT INTO users_roles VALUES (1, 1, 1)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	svc := flaskServer(t, usertest.NewSQLiteStore(t))
	if sum, refused, _ := importFlask(t, svc, "sqlite:///"+path, false); sum.Created != 2 || sum.Refused != 0 {
		t.Fatalf("%v %v", sum, refused)
	}
	m, err := svc.Store().UserByEmail(ctx, "member@example.com")
	if err != nil || !m.HasRole("Admin") || !m.Enabled || !m.EmailConfirmed() || m.Username != "" {
		t.Fatalf("member: %+v, %v", m, err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "member@example.com", bobPassword, false, client); err != nil {
		t.Errorf("member's log-in: %v", err)
	}
	if off, _ := svc.Store().UserByEmail(ctx, "off@example.com"); off == nil || off.Enabled || off.PasswordHash != "" || off.EmailConfirmed() {
		t.Errorf("off: %+v; want disabled, no password, unconfirmed", off)
	}
}

// TestImportFlaskUserAuth reads the separated User/UserAuth models: the
// username and password hash from user_auth, the rest from user.
func TestImportFlaskUserAuth(t *testing.T) {
	svc := importOneUser(t, "auth.db")
	bea, err := svc.Store().UserByEmail(ctx, "bea@example.com")
	if err != nil || bea.Username != "bea" || !bea.Enabled || !bea.EmailConfirmed() || bea.Profile["first_name"] != "Bea" {
		t.Fatalf("bea: %+v, %v", bea, err)
	}
	if _, _, err := svc.LoginWithEmail(ctx, "bea@example.com", "bea password", false, client); err != nil {
		t.Errorf("bea's log-in: %v", err)
	}
}
