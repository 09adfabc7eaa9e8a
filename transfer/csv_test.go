package transfer_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/transfer"
	"github.com/usher-auth/usher/usertest"
)

func TestNeutralise(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+2", "'=1+2"},
		{"+33 1 23 45 67 89", "'+33 1 23 45 67 89"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"},
		{"\rcmd", "'\rcmd"},
		{"'=already", "''=already"},
		{"''", "'''"},
		{"'quoted", "'quoted"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := transfer.Neutralise(tt.in); got != tt.want {
			t.Errorf("Neutralise(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if got := transfer.Unneutralise(transfer.Neutralise(tt.in)); got != tt.in {
			t.Errorf("Unneutralise(Neutralise(%q)) = %q", tt.in, got)
		}
	}
}

// FuzzNeutralise: every cell comes back exactly, and no neutralised cell
// starts like a formula.
func FuzzNeutralise(f *testing.F) {
	for _, s := range []string{"=x", "'=x", "''", "'", "-", "+1", "@", "\t", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := transfer.Neutralise(s)
		if n != "" && strings.ContainsRune("=+-@\t\r", rune(n[0])) {
			t.Fatalf("Neutralise(%q) = %q starts like a formula", s, n)
		}
		if got := transfer.Unneutralise(n); got != s {
			t.Fatalf("Unneutralise(Neutralise(%q)) = %q", s, got)
		}
	})
}

// TestCSVFormulaInjection: cells that a spreadsheet would run as
// formulas (= + - @, tab, CR at the start) are written with a leading
// apostrophe, in every column, and an import gives the values back
// exactly.
func TestCSVFormulaInjection(t *testing.T) {
	clock := usertest.NewClock()
	src := server(t, usertest.NewSQLiteStore(t), nil, clock)
	evil := map[string]string{
		"=cmd@example.com": `=HYPERLINK("http://evil.example","x")`,
		"+1@example.com":   "+SUM(1,2)",
		"-2@example.com":   "-2+3",
		"at@example.com":   "@SUM(A1)",
		"tab@example.com":  "\t=1",
		"cr@example.com":   "\r=1",
	}
	for email, name := range evil {
		username := ""
		if email == "-2@example.com" {
			username = "-rf" // a valid username that starts like a formula
		}
		if _, err := src.CreateUser(ctx, usher.NewUser{Email: email, Username: username, Password: usertest.Password, Enabled: true,
			Profile: map[string]string{"name": "x"}}); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		// The profile is set through the Store: the Service trims
		// values, and the CSV must be safe whatever is stored.
		u, _ := src.Store().UserByEmail(ctx, email)
		if err := src.Store().UpdateUser(ctx, u.ID, usher.UserUpdate{Profile: map[string]string{"name": name}}); err != nil {
			t.Fatal(err)
		}
	}
	data := export(t, src, transfer.ExportOptions{Format: transfer.CSV})
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	if strings.Join(header[:7], ",") != "email,enabled,signed_up,last_login,confirmed_email,n_password_failures,password_hash" ||
		header[len(header)-1] != "name" {
		t.Fatalf("header %v; want Anvil's columns first and the profile field last", header)
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s: cell %q starts like a formula", header[i], cell)
			}
		}
	}
	dst := server(t, usertest.NewSQLiteStore(t), nil, clock)
	sum, refused := mustImport(t, dst, data, transfer.ImportOptions{Format: transfer.CSV})
	if sum.Created != len(evil) || sum.Refused != 0 {
		t.Fatalf("import: %v %v", sum, refused)
	}
	for email, name := range evil {
		u, err := dst.Store().UserByEmail(ctx, email)
		if err != nil {
			t.Errorf("%s: %v", email, err)
			continue
		}
		// The Service trims profile values on import (as on any update).
		if want := strings.TrimSpace(name); u.Email != email || u.Profile["name"] != want || email == "-2@example.com" && u.Username != "-rf" {
			t.Errorf("%s came back as %q with name %q; want name %q", email, u.Email, u.Profile["name"], want)
		}
	}
}

// TestCSVRoundTrip: a CSV export imports into a fresh database on both
// backends: same passwords, IDs, usernames, roles, enabled, failures,
// times to the second.
func TestCSVRoundTrip(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := usertest.NewClock()
			src := server(t, b.open(t), mfa.NewKey(), clock)
			seed(t, src, clock)
			data := export(t, src, transfer.ExportOptions{Format: transfer.CSV})
			dst := server(t, b.open(t), nil, clock)
			sum, refused := mustImport(t, dst, data, transfer.ImportOptions{Format: transfer.CSV})
			if sum.Created != 4 || sum.Refused != 0 {
				t.Fatalf("%v %v", sum, refused)
			}
			want, _, _ := src.ListUsers(ctx, usher.UserQuery{})
			for _, w := range want {
				g, err := dst.Store().UserByID(ctx, w.ID)
				if err != nil || g.Email != w.Email || g.Username != w.Username || g.Enabled != w.Enabled ||
					!g.LastLoginAt.Equal(w.LastLoginAt) || !g.SignedUpAt.Equal(w.SignedUpAt) || g.EmailConfirmed() != w.EmailConfirmed() ||
					strings.Join(g.Roles, " ") != strings.Join(w.Roles, " ") || g.PasswordHash != w.PasswordHash || g.Locale != w.Locale {
					t.Errorf("CSV round trip:\n got %+v, %v\nwant %+v", g, err, w)
				}
			}
			if _, _, err := dst.LoginWithEmail(ctx, "bob@example.com", bobPassword, false, client); err != nil {
				t.Errorf("bob after a CSV round trip: %v", err)
			}
			// CSV carries no identities and no second factors.
			if _, err := dst.Store().IdentityBySubject(ctx, "https://accounts.google.com", "1234567890"); !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("identity after a CSV import: %v", err)
			}
			// Again: all skipped.
			if sum, _ := mustImport(t, dst, data, transfer.ImportOptions{Format: transfer.CSV}); sum.Created != 0 || sum.Skipped != 4 {
				t.Errorf("second CSV import: %v", sum)
			}
		})
	}
}

// TestImportAnvilCSV imports a CSV of an Anvil app's Users table
// (testdata/anvil_users.csv, made by make_anvil_csv.py): its bcrypt
// passwords work, enabled, confirmed_email, n_password_failures, the
// times, an added role column and a declared profile column carry over;
// Anvil's own columns that cannot (remembered_logins, mfa, ...) are
// named in a note; a bad row is refused with its line.
func TestImportAnvilCSV(t *testing.T) {
	data, err := os.ReadFile("testdata/anvil_users.csv")
	if err != nil {
		t.Fatal(err)
	}
	clock := usertest.NewClock()
	dst := server(t, usertest.NewSQLiteStore(t), nil, clock)
	var notes []string
	o := transfer.ImportOptions{Format: transfer.CSV, Note: func(s string) { notes = append(notes, s) }}
	sum, refused := mustImport(t, dst, data, o)
	if sum.Created != 5 || sum.Refused != 1 || len(refused) != 1 || refused[0].Line != 7 {
		t.Fatalf("%v %v; want 5 created and line 7 refused", sum, refused)
	}
	for _, col := range []string{"remembered_logins", "mfa", "email_confirmation_key"} {
		if !strings.Contains(strings.Join(notes, "\n"), col) {
			t.Errorf("no note about column %s: %q", col, notes)
		}
	}
	st := dst.Store()
	m, err := st.UserByEmail(ctx, "meredith@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasRole("admin") || m.Profile["name"] != "Meredith" || !m.Enabled || !m.EmailConfirmed() ||
		!m.LastLoginAt.Equal(time.Date(2024, 5, 2, 9, 30, 0, 250e6, time.UTC)) || !m.SignedUpAt.Equal(time.Date(2024, 1, 15, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("meredith: %+v", m)
	}
	if _, _, err := dst.LoginWithEmail(ctx, "meredith@example.com", "meredith password", false, client); err != nil {
		t.Errorf("meredith's Anvil password: %v", err)
	}
	if _, _, err := dst.LoginWithEmail(ctx, "locked@example.com", "locked password", false, client); !errors.Is(err, usher.ErrTooManyPasswordFailures) {
		t.Errorf("locked (n_password_failures 10): %v; want ErrTooManyPasswordFailures", err)
	}
	if p, _ := st.UserByEmail(ctx, "pending@example.com"); p == nil || p.Enabled || p.EmailConfirmed() {
		t.Errorf("pending: %+v; want disabled and unconfirmed", p)
	}
	if f, _ := st.UserByEmail(ctx, "formula@example.com"); f == nil || f.Profile["name"] != `=HYPERLINK("http://evil.example","click")` {
		t.Errorf("formula: %+v; want the cell kept as text", f)
	}
	if g, _ := st.UserByEmail(ctx, "google@example.com"); g == nil || g.PasswordHash != "" || g.PasswordFailures != 0 {
		t.Errorf("google: %+v; want no password", g)
	}
	// Exporting it again neutralises the formula.
	out := export(t, dst, transfer.ExportOptions{Format: transfer.CSV})
	if !bytes.Contains(out, []byte(`"'=HYPERLINK(""http://evil.example"",""click"")"`)) {
		t.Errorf("the formula is not neutralised in the export:\n%s", out)
	}
}

// TestCSVNeedsEmail: a CSV without an email column is refused whole.
func TestCSVNeedsEmail(t *testing.T) {
	dst := server(t, usertest.NewSQLiteStore(t), nil, usertest.NewClock())
	_, err := transfer.Import(ctx, dst, strings.NewReader("name,enabled\nann,true\n"), transfer.ImportOptions{Format: transfer.CSV})
	if err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("Import: %v; want an error naming the email column", err)
	}
}

// TestCSVBadCells: a cell that cannot be read refuses its row, with its
// line, and a row with too few cells too.
func TestCSVBadCells(t *testing.T) {
	dst := server(t, usertest.NewSQLiteStore(t), nil, usertest.NewClock())
	data := "email,enabled,signed_up,n_password_failures\n" +
		"ann@example.com,true,2024-01-01T00:00:00Z,0\n" +
		"bob@example.com,perhaps,,0\n" +
		"carol@example.com,true,yesterday,0\n" +
		"dave@example.com,true,,1.5\n" +
		"erin@example.com,true\n" +
		"fay@example.com,,,\n"
	sum, refused := mustImport(t, dst, []byte(data), transfer.ImportOptions{Format: transfer.CSV})
	var lines []int
	for _, r := range refused {
		lines = append(lines, r.Line)
	}
	if sum.Created != 2 || sum.Refused != 4 || len(lines) != 4 || lines[0] != 3 || lines[3] != 6 {
		t.Fatalf("%v %v; want lines 3-6 refused", sum, refused)
	}
	if fay, _ := dst.Store().UserByEmail(ctx, "fay@example.com"); fay == nil || fay.Enabled {
		t.Errorf("fay (an empty enabled cell, Anvil's unticked box): %+v; want disabled", fay)
	}
}

// FuzzImport feeds any bytes to the JSONL and CSV readers, as a dry run:
// no panic, every row counted once, and nothing is ever written.
func FuzzImport(f *testing.F) {
	seedCSV, _ := os.ReadFile("testdata/anvil_users.csv")
	f.Add([]byte(`{"email":"ann@example.com","roles":["admin"]}`+"\n"+`{"email":`), false)
	f.Add(seedCSV, true)
	f.Add([]byte("email,enabled\n\"ann@example.com,true\n'=x@example.com,\n"), true)
	svc := server(f, usertest.NewSQLiteStore(f), nil, usertest.NewClock())
	f.Fuzz(func(t *testing.T, data []byte, asCSV bool) {
		o := transfer.ImportOptions{DryRun: true}
		if asCSV {
			o.Format = transfer.CSV
		}
		sum, err := transfer.Import(ctx, svc, bytes.NewReader(data), o)
		if err == nil && (sum.Created < 0 || sum.Skipped < 0 || sum.Refused < 0 || sum.Created+sum.Skipped+sum.Refused > bytes.Count(data, []byte("\n"))+1) {
			t.Fatalf("%v for %d lines", sum, bytes.Count(data, []byte("\n"))+1)
		}
		if n, _ := svc.Store().CountUsers(ctx, usher.UserQuery{}); n != 0 {
			t.Fatalf("a dry run created %d users", n)
		}
	})
}
