package transfer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// csvColumns are the columns of a CSV export: Anvil's Users table first
// (under Anvil's names), then what Anvil does not have; the declared
// profile fields follow.
var csvColumns = []string{
	"email", "enabled", "signed_up", "last_login", "confirmed_email", "n_password_failures", "password_hash",
	"id", "username", "roles", "locale",
}

// anvilIgnored are columns of Anvil's Users table that an import leaves
// out, with why.
var anvilIgnored = map[string]string{
	"email_confirmation_key": "Anvil's pending confirmation links do not carry over",
	"remembered_logins":      "remembered log-ins do not carry over; users log in again",
	"mfa":                    "Anvil's second factors are sealed with Anvil's key; users set them up again",
}

// Neutralise makes a CSV cell safe to open in a spreadsheet: a cell that
// starts with = + - @, a tab or a carriage return would be read as a
// formula (CSV injection), so it gets a leading apostrophe, which
// spreadsheets show as text. A cell that starts with an apostrophe
// followed by one of those (or by another apostrophe) gets one too, so
// that Unneutralise gives back exactly the original.
func Neutralise(s string) string {
	if s == "" {
		return s
	}
	if isFormulaStart(s[0]) || s[0] == '\'' && len(s) > 1 && (isFormulaStart(s[1]) || s[1] == '\'') {
		return "'" + s
	}
	return s
}

// Unneutralise undoes Neutralise.
func Unneutralise(s string) string {
	if len(s) > 1 && s[0] == '\'' && (isFormulaStart(s[1]) || s[1] == '\'') {
		return s[1:]
	}
	return s
}

func isFormulaStart(c byte) bool { return strings.IndexByte("=+-@\t\r", c) >= 0 }

type csvWriter struct {
	bw      *bufio.Writer
	w       *csv.Writer
	profile []string
	header  bool
}

func newCSVWriter(w io.Writer, fields []usher.ProfileField) *csvWriter {
	bw := bufio.NewWriter(w)
	cw := &csvWriter{bw: bw, w: csv.NewWriter(bw)}
	for _, f := range fields {
		if !slices.Contains(csvColumns, f.Name) && f.Name != "role" {
			cw.profile = append(cw.profile, f.Name)
		}
	}
	return cw
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (w *csvWriter) write(in *usher.ImportedUser) error {
	if !w.header {
		w.header = true
		if err := w.w.Write(append(slices.Clone(csvColumns), w.profile...)); err != nil {
			return err
		}
	}
	u := &in.User
	row := []string{
		u.Email, strconv.FormatBool(u.Enabled), csvTime(u.SignedUpAt), csvTime(u.LastLoginAt),
		strconv.FormatBool(u.EmailConfirmed()), strconv.Itoa(u.PasswordFailures), u.PasswordHash,
		u.ID, u.Username, strings.Join(u.Roles, " "), u.Locale,
	}
	for _, f := range w.profile {
		row = append(row, u.Profile[f])
	}
	for i := range row {
		row[i] = Neutralise(row[i])
	}
	return w.w.Write(row)
}

func (w *csvWriter) flush() error {
	if !w.header {
		w.header = true
		if err := w.w.Write(append(slices.Clone(csvColumns), w.profile...)); err != nil {
			return err
		}
	}
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		return err
	}
	return w.bw.Flush()
}

type csvReader struct {
	r       *csv.Reader
	col     map[string]int
	profile map[string]int // declared profile field → column
	note    []string
}

// newCSVReader reads the header. The columns are found by name, in any
// order; only "email" is required.
func newCSVReader(r io.Reader, fields []usher.ProfileField) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	c := &csvReader{r: cr, col: map[string]int{}, profile: map[string]int{}}
	declared := map[string]bool{}
	for _, f := range fields {
		declared[f.Name] = true
	}
	var ignored []string
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) // a spreadsheet's byte-order mark
		switch {
		case declared[h]:
			c.profile[h] = i
		case slices.Contains(csvColumns, h) || h == "role":
			c.col[h] = i
		case anvilIgnored[h] != "":
			c.note = append(c.note, fmt.Sprintf("column %s ignored: %s", h, anvilIgnored[h]))
		default:
			ignored = append(ignored, h)
		}
	}
	if _, ok := c.col["email"]; !ok {
		return nil, errors.New("the CSV has no email column")
	}
	if len(ignored) > 0 {
		c.note = append(c.note, "columns ignored (not declared in profile_fields): "+strings.Join(ignored, ", "))
	}
	return c, nil
}

func (c *csvReader) notes() []string { return c.note }

func (c *csvReader) byID() bool { return false }

func (c *csvReader) next() (*usher.ImportedUser, int, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, &rowError{line: pe.StartLine, err: pe.Err}
		}
		return nil, 0, err
	}
	// FieldPos may be asked only about a record Read returned.
	line, _ := c.r.FieldPos(0)
	get := func(name string) string {
		if i, ok := c.col[name]; ok && i < len(rec) {
			return Unneutralise(rec[i])
		}
		return ""
	}
	email := strings.TrimSpace(get("email"))
	bad := func(col string, err error) (*usher.ImportedUser, int, error) {
		return nil, line, &rowError{line: line, email: email, err: fmt.Errorf("%s: %v", col, err)}
	}
	u := usher.User{ID: get("id"), Email: email, Username: get("username"), PasswordHash: get("password_hash"), Locale: get("locale")}
	if u.Enabled, err = parseBool(get("enabled")); err != nil {
		return bad("enabled", err)
	}
	if u.SignedUpAt, err = parseTime(get("signed_up")); err != nil {
		return bad("signed_up", err)
	}
	if u.LastLoginAt, err = parseTime(get("last_login")); err != nil {
		return bad("last_login", err)
	}
	confirmed, err := parseBool(get("confirmed_email"))
	if err != nil {
		return bad("confirmed_email", err)
	}
	if confirmed {
		// Anvil keeps only whether the address is confirmed, not when.
		u.EmailConfirmedAt = u.SignedUpAt
		if u.EmailConfirmedAt.IsZero() {
			u.EmailConfirmedAt = time.Now().UTC()
		}
	}
	if s := strings.TrimSpace(get("n_password_failures")); s != "" {
		f, err := strconv.ParseFloat(s, 64) // Anvil's number column may read 3.0
		if err != nil || f != float64(int(f)) {
			return bad("n_password_failures", errors.New("not a whole number"))
		}
		u.PasswordFailures = int(f)
	}
	u.Roles = strings.Fields(get("roles"))
	if r := strings.TrimSpace(get("role")); r != "" {
		u.Roles = append(u.Roles, r)
	}
	u.Profile = map[string]string{}
	for name, i := range c.profile {
		if i < len(rec) && rec[i] != "" {
			u.Profile[name] = Unneutralise(rec[i])
		}
	}
	return &usher.ImportedUser{User: u}, line, nil
}

// parseBool reads a checkbox cell: true/false in any case (Python writes
// True and False), 1/0, yes/no; empty is false (Anvil's unticked box).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "t":
		return true, nil
	case "false", "0", "no", "n", "f", "", "none", "null":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// timeLayouts are the date-time forms a CSV cell may use: RFC 3339, and
// Python's str(datetime) with or without a zone (UTC when none).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime reads a date-time cell; empty is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (want e.g. 2024-05-01T10:00:00Z)", s)
}
