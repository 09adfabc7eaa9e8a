package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader is where lookups go: the transaction inside InTx (so that fn sees
// its own writes), else the read pool.
func (s *Store) reader() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.r
}

// writer is where writes go: the transaction inside InTx, else the writer.
func (s *Store) writer() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.w
}

// row is what QueryRow returns: *sql.Row, or a failure to prepare.
type row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow runs fixed query k on pool db (s.r or s.w). Outside a
// transaction it uses a statement prepared once for the Store's lifetime
// (database/sql prepares it again on each connection as needed); inside one
// it runs on the transaction's connection.
func (s *Store) queryRow(ctx context.Context, db *sql.DB, k int, args ...any) row {
	if s.tx != nil {
		return s.tx.QueryRowContext(ctx, s.d.q[k], args...)
	}
	st, err := s.stmt(ctx, db, k)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// stmt returns the prepared statement for query k on db, preparing it the
// first time. Each query is prepared on one pool only (hot reads on the
// read pool, hot writes on the writer).
func (s *Store) stmt(ctx context.Context, db *sql.DB, k int) (*sql.Stmt, error) {
	if st := s.stmts[k].Load(); st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, s.d.q[k])
	if err != nil {
		return nil, err
	}
	if !s.stmts[k].CompareAndSwap(nil, st) {
		st.Close()
		return s.stmts[k].Load(), nil
	}
	return st, nil
}

// wrap adds the operation's name to an unexpected database error, and
// marks it usher.ErrUnavailable when the database is away or full
// (isUnavailable), so that the web answers 503, not 500.
func wrap(op string, err error) error {
	if isUnavailable(err) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, usher.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// InTx runs fn in one transaction on the writer. If fn returns an error or
// panics, everything it did is rolled back. Inside fn, use tx for every read
// and write: on SQLite, a write through the outer Store waits for the
// transaction's connection and so never finishes. InTx on tx runs fn in the
// same transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx usher.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin transaction", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	if err := fn(&Store{core: s.core, tx: tx}); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return wrap("commit", err)
	}
	return nil
}

// inTx is InTx for the Store's own multi-statement writes.
func (s *Store) inTx(ctx context.Context, fn func(tx *Store) error) error {
	return s.InTx(ctx, func(tx usher.Store) error { return fn(tx.(*Store)) })
}

// scanUser reads the columns of userCols, starting at dest's end.
func scanUser(r row, before ...any) (*usher.User, error) {
	u := &usher.User{}
	var username, profile, roles sql.NullString
	dest := append(before,
		&u.ID, &u.Email, &username, &u.Locale, &u.PasswordHash, &u.Enabled,
		timeCol{&u.EmailConfirmedAt}, timeCol{&u.SignedUpAt}, timeCol{&u.LastLoginAt}, timeCol{&u.PasswordChangedAt},
		&u.PasswordFailures, timeCol{&u.LockedAt}, &u.PasswordResetRequired, &profile, &roles)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	u.Username = username.String
	u.Roles = splitRoles(roles.String)
	u.Profile = map[string]string{}
	if profile.String != "" {
		if err := json.Unmarshal([]byte(profile.String), &u.Profile); err != nil {
			return nil, fmt.Errorf("user %s: bad profile JSON: %w", u.ID, err)
		}
	}
	return u, nil
}

// splitRoles turns the aggregated roles column into a sorted list; never
// nil, so that an encoded user shows [] rather than null.
func splitRoles(s string) []string {
	if s == "" {
		return []string{}
	}
	roles := strings.Split(s, roleSep)
	slices.Sort(roles)
	return roles
}

// sessionDest returns scan destinations for the columns of sessionCols.
func sessionDest(ss *usher.Session) []any {
	return []any{&ss.ID, &ss.UserID, &ss.TokenHash, timeCol{&ss.CreatedAt}, timeCol{&ss.LastSeenAt},
		timeCol{&ss.ExpiresAt}, &ss.Remember, &ss.IP, &ss.UserAgent, &ss.MustChangePassword}
}

// profileJSON encodes a profile; an empty one is NULL.
func profileJSON(p map[string]string) (any, error) {
	if len(p) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// CreateUser inserts u with its roles, its profile and its primary address
// (a user_emails row), in one transaction. It returns usher.ErrUserExists
// if the ID, the e-mail address or the username (compared by
// usher.FoldEmail and usher.FoldUsername) is taken; an address is taken by
// another user's primary or confirmed address, not by an unconfirmed one.
func (s *Store) CreateUser(ctx context.Context, u *usher.User) error {
	if u.ID == "" {
		return errors.New("sqlstore: CreateUser: the user has no ID")
	}
	profile, err := profileJSON(u.Profile)
	if err != nil {
		return wrap("CreateUser", err)
	}
	roles := slices.Clone(u.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	key := usher.FoldEmail(u.Email)
	return s.inTx(ctx, func(tx *Store) error {
		q := tx.tx
		_, err := q.ExecContext(ctx, s.d.q[qInsertUser],
			u.ID, u.Email, key, nullString(u.Username), nullString(usher.FoldUsername(u.Username)),
			u.PasswordHash, u.Enabled, s.d.time(u.EmailConfirmedAt), s.d.time(u.SignedUpAt), s.d.time(u.LastLoginAt),
			s.d.time(u.PasswordChangedAt), u.PasswordFailures, s.d.time(u.LockedAt), u.PasswordResetRequired, profile,
			u.Locale)
		if err == nil {
			_, err = q.ExecContext(ctx, s.d.q[qInsertUserEmail],
				usher.NewID(), u.ID, u.Email, true, s.d.time(u.EmailConfirmedAt), s.d.time(u.SignedUpAt), key)
		}
		if err != nil {
			if isUnique(err) {
				return userExists(err)
			}
			return wrap("CreateUser", err)
		}
		for _, r := range roles {
			if _, err := q.ExecContext(ctx, s.d.q[qInsertRole], u.ID, r); err != nil {
				return wrap("CreateUser", err)
			}
		}
		return nil
	})
}

// userBy runs one of the user lookups.
func (s *Store) userBy(ctx context.Context, k int, args ...any) (*usher.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.r, k, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("reading user", err)
	}
	return u, nil
}

// UserByID returns the user with id and their roles, or usher.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*usher.User, error) {
	return s.userBy(ctx, qUserByID, id)
}

// UserByEmail returns the user whose primary address, or one of whose
// confirmed secondary addresses, matches email by usher.FoldEmail, or
// usher.ErrNotFound. It is one prepared query (see qUserByEmail).
func (s *Store) UserByEmail(ctx context.Context, email string) (*usher.User, error) {
	key := usher.FoldEmail(email)
	return s.userBy(ctx, qUserByEmail, key, key)
}

// UserByUsername returns the user whose username matches username
// by usher.FoldUsername, or usher.ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*usher.User, error) {
	key := usher.FoldUsername(username)
	if key == "" {
		return nil, usher.ErrNotFound
	}
	return s.userBy(ctx, qUserByUsername, key)
}

// UpdateUser changes the fields set in up, so that either all change or
// none do: in one statement, or, when Email or EmailConfirmedAt is set, in
// one transaction that changes the user's primary user_emails row the same
// way. It returns usher.ErrNotFound if there is no such user and
// usher.ErrUserExists if the new e-mail address (another user's primary or
// confirmed address) or username is taken. A new address that the user
// already has as a secondary one becomes the primary one: the secondary
// row is dropped. An empty Username removes the username.
func (s *Store) UpdateUser(ctx context.Context, id string, up usher.UserUpdate) error {
	var (
		set  []string
		args []any
	)
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	if up.Email != nil {
		add("email", *up.Email)
		add("email_key", usher.FoldEmail(*up.Email))
	}
	if up.Username != nil {
		add("username", nullString(*up.Username))
		add("username_key", nullString(usher.FoldUsername(*up.Username)))
	}
	if up.PasswordHash != nil {
		add("password_hash", *up.PasswordHash)
	}
	if up.PasswordChangedAt != nil {
		add("password_changed_at", s.d.time(*up.PasswordChangedAt))
	}
	if up.Enabled != nil {
		add("enabled", *up.Enabled)
	}
	if up.EmailConfirmedAt != nil {
		add("email_confirmed_at", s.d.time(*up.EmailConfirmedAt))
	}
	if up.PasswordResetRequired != nil {
		add("password_reset_required", *up.PasswordResetRequired)
	}
	if up.Locale != nil {
		add("locale", *up.Locale)
	}
	if up.Profile != nil {
		p, err := profileJSON(up.Profile)
		if err != nil {
			return wrap("UpdateUser", err)
		}
		add("profile", p)
	}
	if up.LastLoginAt != nil {
		add("last_login_at", s.d.time(*up.LastLoginAt))
	}
	if up.ClearFailures {
		set = append(set, "password_failures = 0", "locked_at = NULL")
	}
	if len(set) == 0 {
		return s.mustExist(ctx, s.reader(), id)
	}
	args = append(args, id)
	q := s.d.rebind("UPDATE users SET " + strings.Join(set, ", ") + " WHERE id = ?")
	update := func(w querier) error {
		res, err := w.ExecContext(ctx, q, args...)
		if err != nil {
			if isUnique(err) {
				return userExists(err)
			}
			return wrap("UpdateUser", err)
		}
		return affected(res, "UpdateUser")
	}
	if up.Email == nil && up.EmailConfirmedAt == nil {
		return update(s.writer())
	}
	// The primary row follows. The UPDATE of users comes first, so that it
	// locks the user's row as the other multi-statement changes do.
	return s.inTx(ctx, func(tx *Store) error {
		if err := update(tx.tx); err != nil {
			return err
		}
		var err error
		if up.Email != nil {
			key := usher.FoldEmail(*up.Email)
			_, err = tx.tx.ExecContext(ctx, s.d.q[qDeleteOwnSecondary], id, key)
			if err == nil {
				_, err = tx.tx.ExecContext(ctx, s.d.q[qUpdatePrimaryAddress], *up.Email, key, id)
			}
		}
		if err == nil && up.EmailConfirmedAt != nil {
			_, err = tx.tx.ExecContext(ctx, s.d.q[qUpdatePrimaryConfirmed], s.d.time(*up.EmailConfirmedAt), id)
		}
		if err != nil {
			if isUnique(err) {
				return userExists(err)
			}
			return wrap("UpdateUser", err)
		}
		return nil
	})
}

// mustExist returns usher.ErrNotFound unless the user exists.
func (s *Store) mustExist(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, s.d.q[qUserExists], id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return usher.ErrNotFound
	}
	if err != nil {
		return wrap("reading user", err)
	}
	return nil
}

// affected returns usher.ErrNotFound if res changed no row.
func affected(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return usher.ErrNotFound
	}
	return nil
}

// userWhere builds the WHERE clause shared by ListUsers and CountUsers
// (without q.After, which only ListUsers applies: keysetWhere).
func (s *Store) userWhere(q usher.UserQuery) ([]string, []any) {
	var (
		cond []string
		args []any
	)
	if q.Search != "" {
		c, a := s.searchWhere(q)
		cond, args = append(cond, c), append(args, a...)
	}
	if q.Role != "" {
		cond = append(cond, "EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)")
		args = append(args, q.Role)
	}
	flag := func(b *bool, yes, no string) {
		if b == nil {
			return
		}
		if *b {
			cond = append(cond, yes)
		} else {
			cond = append(cond, no)
		}
	}
	enabled := "u.enabled = 1"
	if s.d.name == DialectPostgres {
		enabled = "u.enabled"
	}
	flag(q.Enabled, enabled, "NOT "+enabled)
	flag(q.Locked, "u.locked_at IS NOT NULL", "u.locked_at IS NULL")
	flag(q.Confirmed, "u.email_confirmed_at IS NOT NULL", "u.email_confirmed_at IS NULL")
	mfa := "EXISTS (SELECT 1 FROM mfa_methods m WHERE m.user_id = u.id)"
	flag(q.HasMFA, mfa, "NOT "+mfa)
	if q.Provider != "" {
		cond = append(cond, "EXISTS (SELECT 1 FROM identities i WHERE i.user_id = u.id AND i.provider = ?)")
		args = append(args, q.Provider)
	}
	return cond, args
}

// searchWhere is the condition of q.Search on q.Field.
func (s *Store) searchWhere(q usher.UserQuery) (string, []any) {
	if q.Field != "" && q.Field != usher.SearchEmail && q.Field != usher.SearchUsername {
		// A profile field: its value in the JSON object, as stored.
		col := "json_extract(u.profile, ?)"
		key := `$."` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(q.Field) + `"`
		if s.d.name == DialectPostgres {
			col, key = "(u.profile::jsonb ->> ?)", q.Field
		}
		if q.Exact {
			return col + " = ?", []any{key, q.Search}
		}
		return col + ` LIKE ? ESCAPE '\'`, []any{key, "%" + likeEscaper.Replace(q.Search) + "%"}
	}
	email, username := q.Field != usher.SearchUsername, q.Field != usher.SearchEmail
	var cond []string
	var args []any
	if q.Exact {
		// Index lookups: the keys are unique.
		if email {
			cond, args = append(cond, "u.email_key = ?"), append(args, usher.FoldEmail(q.Search))
		}
		if username {
			cond, args = append(cond, "u.username_key = ?"), append(args, usher.FoldUsername(q.Search))
		}
	} else {
		// The *_key columns are folded; fold the search the same way
		// (usher.FoldEmail: a part of an address folds as the address
		// would, and usernames are ASCII) and look for it as is: instr
		// (strpos) compares bytes, with no pattern to interpret, which
		// reads the 100,000 keys of docs/benchmarks.md faster than LIKE.
		find := "instr(%s, ?) > 0"
		if s.d.name == DialectPostgres {
			find = "strpos(%s, ?) > 0"
		}
		sub := usher.FoldEmail(q.Search)
		if email {
			cond, args = append(cond, fmt.Sprintf(find, "u.email_key")), append(args, sub)
		}
		if username {
			cond, args = append(cond, fmt.Sprintf(find, "u.username_key")), append(args, sub)
		}
	}
	return "(" + strings.Join(cond, " OR ") + ")", args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// where joins conditions into a WHERE clause ("" for none).
func where(cond []string) string {
	if len(cond) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(cond, " AND ")
}

// userOrder returns q's sort column and its ORDER BY clause: unknown
// times first ascending, last descending (SQLite's own order of NULLs,
// so that its indexes serve both directions).
func userOrder(q usher.UserQuery) (col, order string) {
	col = "u.signed_up_at"
	if q.Sort == usher.SortLastLogin {
		col = "u.last_login_at"
	}
	if q.Desc {
		return col, " ORDER BY " + col + " DESC NULLS LAST, u.id DESC"
	}
	return col, " ORDER BY " + col + " ASC NULLS FIRST, u.id ASC"
}

// keysetWhere is the condition of q.After: the rows after the cursor in
// userOrder's order.
func (s *Store) keysetWhere(q usher.UserQuery, col string) (string, []any, error) {
	t, id, ok := q.ParseCursor()
	if !ok {
		return "", nil, &usher.ValidationError{Fields: map[string]string{"after": usher.MsgInvalidFormat}}
	}
	switch {
	case !q.Desc && t.IsZero():
		return "((" + col + " IS NULL AND u.id > ?) OR " + col + " IS NOT NULL)", []any{id}, nil
	case !q.Desc:
		return "(" + col + " > ? OR (" + col + " = ? AND u.id > ?))", []any{s.d.time(t), s.d.time(t), id}, nil
	case t.IsZero():
		return "(" + col + " IS NULL AND u.id < ?)", []any{id}, nil
	default:
		return "(" + col + " < ? OR (" + col + " = ? AND u.id < ?) OR " + col + " IS NULL)", []any{s.d.time(t), s.d.time(t), id}, nil
	}
}

// ListUsers returns the users that match q, with their roles, in q's
// order.
func (s *Store) ListUsers(ctx context.Context, q usher.UserQuery) ([]*usher.User, error) {
	cond, args := s.userWhere(q)
	col, order := userOrder(q)
	offset := max(q.Offset, 0)
	if q.After != "" {
		c, a, err := s.keysetWhere(q, col)
		if err != nil {
			return nil, err
		}
		cond, args, offset = append(cond, c), append(args, a...), 0
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit, offset)
	query := s.d.rebind("SELECT " + userCols + " FROM users u" + where(cond) + order + " LIMIT ? OFFSET ?")
	rows, err := s.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("ListUsers", err)
	}
	defer rows.Close()
	users := []*usher.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("ListUsers", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListUsers", err)
	}
	return users, nil
}

// CountUsers returns how many users match q, ignoring its After, Offset
// and Limit.
func (s *Store) CountUsers(ctx context.Context, q usher.UserQuery) (int, error) {
	cond, args := s.userWhere(q)
	var n int
	err := s.reader().QueryRowContext(ctx, s.d.rebind("SELECT count(*) FROM users u"+where(cond)), args...).Scan(&n)
	if err != nil {
		return 0, wrap("CountUsers", err)
	}
	return n, nil
}

// DeleteUser removes the user; the database removes their sessions, roles,
// addresses, tokens, second factors and identities with them (ON DELETE
// CASCADE). Events stay. It returns
// usher.ErrNotFound if there is no such user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteUser], id)
	if err != nil {
		return wrap("DeleteUser", err)
	}
	return affected(res, "DeleteUser")
}

// RecordPasswordFailure adds one to the user's consecutive failures in one
// atomic statement and returns the new count. When the count is lockAt or
// more (and lockAt > 0) it sets LockedAt to now, so a failure after a lock
// has run out locks the account again. It returns usher.ErrNotFound if there
// is no such user.
func (s *Store) RecordPasswordFailure(ctx context.Context, id string, now time.Time, lockAt int) (int, error) {
	var n int
	err := s.queryRow(ctx, s.w, qRecordFailure, lockAt, lockAt, s.d.time(now), id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, usher.ErrNotFound
	}
	if err != nil {
		return 0, wrap("RecordPasswordFailure", err)
	}
	return n, nil
}

// RecordLogin sets LastLoginAt to now, clears the failure count and
// LockedAt, and replaces the password hash if newHash is not "". It returns
// usher.ErrNotFound if there is no such user.
func (s *Store) RecordLogin(ctx context.Context, id string, now time.Time, newHash string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qRecordLogin], s.d.time(now), newHash, newHash, id)
	if err != nil {
		return wrap("RecordLogin", err)
	}
	return affected(res, "RecordLogin")
}

// AddRole gives the user role; having it already is not an error. It
// returns usher.ErrNotFound if there is no such user.
func (s *Store) AddRole(ctx context.Context, userID, role string) error {
	if role == "" {
		return errors.New("sqlstore: AddRole: empty role name")
	}
	_, err := s.writer().ExecContext(ctx, s.d.q[qInsertRole], userID, role)
	if isForeignKey(err) {
		return usher.ErrNotFound
	}
	if err != nil {
		return wrap("AddRole", err)
	}
	return nil
}

// RemoveRole takes role away from the user; not having it (or there being
// no such user) is not an error.
func (s *Store) RemoveRole(ctx context.Context, userID, role string) error {
	if _, err := s.writer().ExecContext(ctx, s.d.q[qDeleteRole], userID, role); err != nil {
		return wrap("RemoveRole", err)
	}
	return nil
}

// ListRoles returns every role that some user has, by name, with how many
// users have it.
func (s *Store) ListRoles(ctx context.Context) ([]usher.Role, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qListRoles])
	if err != nil {
		return nil, wrap("ListRoles", err)
	}
	defer rows.Close()
	roles := []usher.Role{}
	for rows.Next() {
		var r usher.Role
		if err := rows.Scan(&r.Name, &r.Users); err != nil {
			return nil, wrap("ListRoles", err)
		}
		roles = append(roles, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListRoles", err)
	}
	return roles, nil
}

// CreateSession inserts s. It returns usher.ErrNotFound if the session's
// user does not exist.
func (s *Store) CreateSession(ctx context.Context, ss *usher.Session) error {
	if ss.ID == "" || len(ss.TokenHash) == 0 {
		return errors.New("sqlstore: CreateSession: the session has no ID or token hash")
	}
	_, err := s.writer().ExecContext(ctx, s.d.q[qInsertSession],
		ss.ID, ss.UserID, ss.TokenHash, s.d.time(ss.CreatedAt), s.d.time(ss.LastSeenAt),
		s.d.time(ss.ExpiresAt), ss.Remember, ss.IP, ss.UserAgent, ss.MustChangePassword)
	if isForeignKey(err) {
		return usher.ErrNotFound
	}
	if err != nil {
		return wrap("CreateSession", err)
	}
	return nil
}

// SessionUser returns the session whose token hash is tokenHash and its
// user with roles, in one query, or usher.ErrNotFound. It does not check
// expiry: that is the Service's rule.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte) (*usher.Session, *usher.User, error) {
	ss := &usher.Session{}
	u, err := scanUser(s.queryRow(ctx, s.r, qSessionUser, tokenHash), sessionDest(ss)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, nil, wrap("SessionUser", err)
	}
	return ss, u, nil
}

// ListSessions returns the user's sessions, newest first (none for an
// unknown user).
func (s *Store) ListSessions(ctx context.Context, userID string) ([]*usher.Session, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qListSessions], userID)
	if err != nil {
		return nil, wrap("ListSessions", err)
	}
	defer rows.Close()
	list := []*usher.Session{}
	for rows.Next() {
		ss := &usher.Session{}
		if err := rows.Scan(sessionDest(ss)...); err != nil {
			return nil, wrap("ListSessions", err)
		}
		list = append(list, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("ListSessions", err)
	}
	return list, nil
}

// DeleteSession removes the user's session sessionID. It returns
// usher.ErrNotFound if the user has no such session.
func (s *Store) DeleteSession(ctx context.Context, userID, sessionID string) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteSession], sessionID, userID)
	if err != nil {
		return wrap("DeleteSession", err)
	}
	return affected(res, "DeleteSession")
}

// DeleteUserSessions removes all the user's sessions except exceptID ("" =
// none) and returns how many it removed.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) (int, error) {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteUserSessions], userID, exceptID)
	if err != nil {
		return 0, wrap("DeleteUserSessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("DeleteUserSessions", err)
	}
	return int(n), nil
}

// TouchSessions sets LastSeenAt of many sessions in one transaction. A
// session's LastSeenAt only moves forward; unknown IDs are skipped.
func (s *Store) TouchSessions(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	// A fixed order, so that two instances flushing overlapping batches
	// into PostgreSQL take row locks in the same order and cannot deadlock.
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return s.inTx(ctx, func(tx *Store) error {
		st, err := tx.tx.PrepareContext(ctx, s.d.q[qTouchSession])
		if err != nil {
			return wrap("TouchSessions", err)
		}
		defer st.Close()
		for _, id := range ids {
			t := s.d.time(seen[id])
			if _, err := st.ExecContext(ctx, t, id, t); err != nil {
				return wrap("TouchSessions", err)
			}
		}
		return nil
	})
}

// DeleteExpiredSessions removes sessions whose ExpiresAt is at or before
// now, and sessions that are not Remember and were last seen before
// idleBefore. It returns how many it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteExpiredSessions], s.d.time(now), s.d.time(idleBefore))
	if err != nil {
		return 0, wrap("DeleteExpiredSessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("DeleteExpiredSessions", err)
	}
	return int(n), nil
}

// Hit counts one event for key in the window that starts at window, with
// one atomic upsert, and returns the count so far in that window.
func (s *Store) Hit(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, s.w, qHit, key, s.d.time(window)).Scan(&n); err != nil {
		return 0, wrap("Hit", err)
	}
	return n, nil
}

// LastHit returns the newest window of key and its count, or
// usher.ErrNotFound.
func (s *Store) LastHit(ctx context.Context, key string) (time.Time, int, error) {
	var w time.Time
	var n int
	err := s.queryRow(ctx, s.w, qLastHit, key).Scan(timeCol{&w}, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, usher.ErrNotFound
	}
	if err != nil {
		return time.Time{}, 0, wrap("LastHit", err)
	}
	return w, n, nil
}

// DeleteHits removes the counters of windows that started before before.
func (s *Store) DeleteHits(ctx context.Context, before time.Time) error {
	if _, err := s.writer().ExecContext(ctx, s.d.q[qDeleteHits], s.d.time(before)); err != nil {
		return wrap("DeleteHits", err)
	}
	return nil
}

// AddEvent appends e to the audit trail and sets e.ID.
func (s *Store) AddEvent(ctx context.Context, e *usher.Event) error {
	err := s.writer().QueryRowContext(ctx, s.d.q[qInsertEvent],
		nullString(e.UserID), e.Type, e.Actor.Kind, e.Actor.ID, e.Actor.Name, e.IP, e.UserAgent, e.Detail, s.d.time(e.At)).Scan(&e.ID)
	if err != nil {
		return wrap("AddEvent", err)
	}
	return nil
}

// ListEvents returns the user's events (userID "" = everyone's), newest
// first, at most limit (0 means 100).
func (s *Store) ListEvents(ctx context.Context, userID string, limit int) ([]*usher.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var (
		rows *sql.Rows
		err  error
	)
	if userID == "" {
		rows, err = s.reader().QueryContext(ctx, s.d.q[qListEvents], limit)
	} else {
		rows, err = s.reader().QueryContext(ctx, s.d.q[qListUserEvents], userID, limit)
	}
	if err != nil {
		return nil, wrap("ListEvents", err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return nil, wrap("ListEvents", err)
	}
	return list, nil
}

// eventCols are the columns scanEvents reads.
const eventCols = `id, user_id, type, actor_kind, actor_id, actor_name, ip, user_agent, detail, at`

// scanEvents reads event rows (eventCols) and closes them.
func scanEvents(rows *sql.Rows) ([]*usher.Event, error) {
	defer rows.Close()
	list := []*usher.Event{}
	for rows.Next() {
		e := &usher.Event{}
		var user sql.NullString
		if err := rows.Scan(&e.ID, &user, &e.Type, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.IP, &e.UserAgent, &e.Detail, timeCol{&e.At}); err != nil {
			return nil, err
		}
		e.UserID = user.String
		list = append(list, e)
	}
	return list, rows.Err()
}
