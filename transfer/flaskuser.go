package transfer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
	_ "modernc.org/sqlite"             // SQLite driver

	"github.com/usher-auth/usher"
)

// ImportFlaskUser reads the users of a Flask-User application from its
// database and creates them in svc, as Import does. from is the
// application's SQLAlchemy database URL: sqlite:///app.db (a relative
// path), sqlite:////srv/app.db (an absolute one), or postgresql://... or
// postgres://... .
//
// The tables are the Flask-User data models' (Flask-SQLAlchemy names
// them after the classes): user (or users) with username, password,
// email, confirmed_at (or email_confirmed_at) and active (column
// is_active), is_enabled or active; user_email (or user_emails) with
// user_id, email, confirmed_at and is_primary, when the addresses are
// kept apart; role (or roles) with name, and user_roles (or users_roles)
// with user_id and role_id; and, for the separated User/UserAuth models,
// user_auth with user_id, username and password. Only the user table is
// required. Columns named like a declared profile field (first_name,
// last_name, ...) go into the profile.
func ImportFlaskUser(ctx context.Context, svc *usher.Service, from string, o ImportOptions) (Summary, error) {
	o.Format = FlaskUser
	src, err := openFlaskUser(ctx, from, svc.Config().ProfileFields)
	if err != nil {
		return Summary{}, err
	}
	defer src.close()
	return run(ctx, svc, src, o)
}

// flaskSource reads a Flask-User database a user at a time.
type flaskSource struct {
	ctx  context.Context
	db   *sql.DB
	pg   bool
	note []string

	users, emails, roles, userRoles string // table names; "" = absent
	auth                            string // user_auth of the separated User/UserAuth models; "" = absent
	cols                            map[string]bool
	profile                         []string // user columns that are declared profile fields
	lastID                          int64
	page                            []flaskRow
}

type flaskRow struct {
	id   int64
	vals map[string]any
}

// openFlaskUser opens the database named by a SQLAlchemy URL and finds
// the tables.
func openFlaskUser(ctx context.Context, from string, fields []usher.ProfileField) (*flaskSource, error) {
	s := &flaskSource{ctx: ctx}
	var err error
	switch {
	case strings.HasPrefix(from, "sqlite:///"):
		path := strings.TrimPrefix(from, "sqlite:///")
		if path == "" {
			return nil, errors.New("--from sqlite:///: give the database file, e.g. sqlite:///app.db")
		}
		// Read only: an import never writes to the application it
		// reads from.
		s.db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	case strings.HasPrefix(from, "postgres://"), strings.HasPrefix(from, "postgresql://"), strings.HasPrefix(from, "postgresql+"):
		// SQLAlchemy writes the driver into the scheme:
		// postgresql+psycopg2://...
		if scheme, rest, ok := strings.Cut(from, "://"); ok && strings.Contains(scheme, "+") {
			from = "postgresql://" + rest
		}
		s.pg = true
		s.db, err = sql.Open("pgx", from)
	default:
		return nil, errors.New("--from: want sqlite:///FILE or postgresql://... (the application's SQLALCHEMY_DATABASE_URI)")
	}
	if err != nil {
		return nil, err
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening the Flask-User database: %w", err)
	}
	if err := s.findTables(fields); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *flaskSource) close() { s.db.Close() }

func (s *flaskSource) notes() []string { return s.note }

func (s *flaskSource) byID() bool { return true }

// q quotes an identifier ("user" is a reserved word in PostgreSQL).
func q(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// arg is the n-th query parameter (from 1) in the database's syntax.
func (s *flaskSource) arg(n int) string {
	if s.pg {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// columns returns the columns of table, or nil if there is no such table.
func (s *flaskSource) columns(table string) map[string]bool {
	rows, err := s.db.QueryContext(s.ctx, "SELECT * FROM "+q(table)+" WHERE 1=0") // #nosec G202 -- table names come from findTable's fixed lists, quoted by q; values are parameters
	if err != nil {
		return nil
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// findTable returns the first of names that is a table having every one
// of want's columns.
func (s *flaskSource) findTable(want []string, names ...string) (string, map[string]bool) {
	for _, n := range names {
		cols := s.columns(n)
		if cols == nil {
			continue
		}
		ok := true
		for _, c := range want {
			ok = ok && cols[c]
		}
		if ok {
			return n, cols
		}
	}
	return "", nil
}

func (s *flaskSource) findTables(fields []usher.ProfileField) error {
	s.users, s.cols = s.findTable([]string{"id"}, "user", "users")
	if s.users == "" {
		return errors.New("the database has no Flask-User user table (user or users, with an id column)")
	}
	if !s.cols["password"] {
		s.auth, _ = s.findTable([]string{"user_id", "password"}, "user_auth")
	}
	if !s.cols["password"] && s.auth == "" {
		s.note = append(s.note, "the user table has no password column (and there is no user_auth table): users set a password by email reset")
	}
	s.emails, _ = s.findTable([]string{"user_id", "email"}, "user_email", "user_emails")
	if !s.cols["email"] && s.emails == "" {
		return errors.New("the database has neither an email column in the user table nor a user_email table")
	}
	s.roles, _ = s.findTable([]string{"id", "name"}, "role", "roles")
	s.userRoles, _ = s.findTable([]string{"user_id", "role_id"}, "user_roles", "users_roles")
	known := []string{"id", "username", "password", "email", "confirmed_at", "email_confirmed_at", "active", "is_active", "is_enabled", "enabled"}
	var ignored []string
	for c := range s.cols {
		switch {
		case slices.Contains(known, c):
		case slices.ContainsFunc(fields, func(f usher.ProfileField) bool { return f.Name == c }):
			s.profile = append(s.profile, c)
		default:
			ignored = append(ignored, c)
		}
	}
	slices.Sort(ignored)
	if len(ignored) > 0 {
		s.note = append(s.note, "user columns ignored (not declared in profile_fields): "+strings.Join(ignored, ", "))
	}
	return nil
}

// next returns the next user, reading the user table a page at a time
// by id.
func (s *flaskSource) next() (*usher.ImportedUser, int, error) {
	if len(s.page) == 0 {
		if err := s.readPage(); err != nil {
			return nil, 0, err
		}
		if len(s.page) == 0 {
			return nil, 0, io.EOF
		}
	}
	row := s.page[0]
	s.page = s.page[1:]
	line := int(row.id)
	in, err := s.user(row)
	if err != nil {
		var re *rowError
		if errors.As(err, &re) {
			re.line = line
		}
		return nil, line, err
	}
	return in, line, nil
}

// query runs a query of the source's database and returns its rows and
// column names; what names the table in its error.
func (s *flaskSource) query(what, query string, args ...any) (*sql.Rows, []string, error) {
	rows, err := s.db.QueryContext(s.ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", what, err)
	}
	names, err := rows.Columns()
	if err != nil {
		_ = rows.Close()
		return nil, nil, err
	}
	return rows, names, nil
}

// scanValues scans the current row of rows, of n columns, as it comes.
func scanValues(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

func (s *flaskSource) readPage() error {
	rows, names, err := s.query("the user table", "SELECT * FROM "+q(s.users)+" WHERE id > "+s.arg(1)+" ORDER BY id LIMIT "+strconv.Itoa(pageSize), s.lastID) // #nosec G202 -- table names come from findTable's fixed lists, quoted by q; values are parameters
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := scanValues(rows, len(names))
		if err != nil {
			return fmt.Errorf("reading the user table: %w", err)
		}
		m := map[string]any{}
		for i, n := range names {
			m[strings.ToLower(n)] = vals[i]
		}
		id, err := toInt(m["id"])
		if err != nil {
			return fmt.Errorf("reading the user table: id: %w", err)
		}
		s.page = append(s.page, flaskRow{id: id, vals: m})
		s.lastID = id
	}
	return rows.Err()
}

// user turns a row of the user table, with its addresses and roles, into
// an account to import.
func (s *flaskSource) user(row flaskRow) (*usher.ImportedUser, error) {
	v := row.vals
	bad := func(col string, err error) error {
		return &rowError{email: toString(v["email"]), err: fmt.Errorf("%s: %v", col, err)}
	}
	u := usher.User{
		Email:        strings.TrimSpace(toString(v["email"])),
		Username:     strings.TrimSpace(toString(v["username"])),
		PasswordHash: toString(v["password"]),
		Enabled:      true,
		Profile:      map[string]string{},
	}
	// Flask-User's UserMixin reads "active" (the manual maps it to the
	// column is_active); its older models had is_enabled.
	for _, c := range []string{"active", "is_active", "is_enabled", "enabled"} {
		if x, ok := v[c]; ok {
			b, err := toBool(x)
			if err != nil {
				return nil, bad(c, err)
			}
			u.Enabled = b
			break
		}
	}
	for _, c := range []string{"email_confirmed_at", "confirmed_at"} {
		if x, ok := v[c]; ok {
			t, err := toTime(x)
			if err != nil {
				return nil, bad(c, err)
			}
			u.EmailConfirmedAt = t
			break
		}
	}
	for _, c := range s.profile {
		if str := toString(v[c]); str != "" {
			u.Profile[c] = str
		}
	}
	in := &usher.ImportedUser{User: u}
	if s.auth != "" {
		var name, hash sql.NullString
		err := s.db.QueryRowContext(s.ctx, "SELECT username, password FROM "+q(s.auth)+" WHERE user_id = "+s.arg(1)+" ORDER BY id LIMIT 1", row.id).Scan(&name, &hash) // #nosec G202 -- the table name comes from findTable's fixed list, quoted by q; the value is a parameter
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("reading user_auth: %w", err)
		}
		in.User.Username, in.User.PasswordHash = strings.TrimSpace(name.String), hash.String
	}
	if s.emails != "" {
		if err := s.addresses(row.id, in); err != nil {
			return nil, err
		}
	}
	if in.User.Email == "" {
		return nil, &rowError{err: errors.New("the user has no email address")}
	}
	if s.roles != "" && s.userRoles != "" {
		rows, err := s.db.QueryContext(s.ctx, "SELECT r.name FROM "+q(s.userRoles)+" ur JOIN "+q(s.roles)+ // #nosec G202 -- table names come from findTable's fixed lists, quoted by q; values are parameters
			" r ON r.id = ur.role_id WHERE ur.user_id = "+s.arg(1)+" ORDER BY r.name", row.id)
		if err != nil {
			return nil, fmt.Errorf("reading roles: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var name sql.NullString
			if err := rows.Scan(&name); err != nil {
				return nil, err
			}
			if name.Valid && name.String != "" {
				in.User.Roles = append(in.User.Roles, name.String)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// addresses reads the user's rows of user_email: the primary one (the
// is_primary row, else the first) becomes the account's address when
// the user table has none; the others become secondary addresses.
func (s *flaskSource) addresses(userID int64, in *usher.ImportedUser) error {
	rows, names, err := s.query("user_email", "SELECT * FROM "+q(s.emails)+" WHERE user_id = "+s.arg(1)+" ORDER BY id", userID) // #nosec G202 -- table names come from findTable's fixed lists, quoted by q; values are parameters
	if err != nil {
		return err
	}
	defer rows.Close()
	type addr struct {
		email     string
		confirmed time.Time
		primary   bool
	}
	var list []addr
	for rows.Next() {
		vals, err := scanValues(rows, len(names))
		if err != nil {
			return err
		}
		var a addr
		for i, n := range names {
			switch strings.ToLower(n) {
			case "email":
				a.email = strings.TrimSpace(toString(vals[i]))
			case "confirmed_at", "email_confirmed_at":
				if a.confirmed, err = toTime(vals[i]); err != nil {
					return &rowError{err: fmt.Errorf("user_email.%s: %v", n, err)}
				}
			case "is_primary":
				if a.primary, err = toBool(vals[i]); err != nil {
					return &rowError{err: fmt.Errorf("user_email.is_primary: %v", err)}
				}
			}
		}
		if a.email != "" {
			list = append(list, a)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if in.User.Email == "" && len(list) > 0 {
		p := slices.IndexFunc(list, func(a addr) bool { return a.primary })
		if p < 0 {
			p = 0
		}
		in.User.Email, in.User.EmailConfirmedAt = list[p].email, list[p].confirmed
		list = slices.Delete(list, p, p+1)
	}
	for _, a := range list {
		if usher.FoldEmail(a.email) == usher.FoldEmail(in.User.Email) {
			continue
		}
		in.Emails = append(in.Emails, usher.UserEmail{Email: a.email, ConfirmedAt: a.confirmed})
	}
	return nil
}

func toString(x any) string {
	switch v := x.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(v)
	}
}

func toInt(x any) (int64, error) {
	switch v := x.(type) {
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	case int:
		return int64(v), nil
	case string, []byte:
		return strconv.ParseInt(toString(v), 10, 64)
	}
	return 0, fmt.Errorf("%v is not an integer", x)
}

// toBool reads a Boolean column: PostgreSQL's bool, SQLite's 0 and 1.
func toBool(x any) (bool, error) {
	switch v := x.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case int64:
		return v != 0, nil
	case string, []byte:
		return parseBool(toString(v))
	}
	return false, fmt.Errorf("%v is not a Boolean", x)
}

// toTime reads a DateTime column: a time, or SQLAlchemy's text in SQLite
// ("2024-05-01 10:00:00.123456", UTC by Flask-User's convention).
func toTime(x any) (time.Time, error) {
	switch v := x.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v.UTC(), nil
	case string, []byte:
		return parseTime(toString(v))
	}
	return time.Time{}, fmt.Errorf("%v is not a date and time", x)
}
