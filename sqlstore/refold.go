package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"

	"github.com/pressly/goose/v3"

	"github.com/usher-auth/usher"
)

// refoldVersion is the Go migration that re-folds the stored keys (see
// Refold); 00006 made its key_collisions table.
const refoldVersion = 7

// refoldMigration runs Refold's pass once, inside the migration's
// transaction, when a database reaches refoldVersion.
func (s *Store) refoldMigration() *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		_, err := (&Store{core: s.core, tx: tx}).refold(ctx)
		return err
	}
	return goose.NewGoMigration(refoldVersion, &goose.GoFunc{RunTx: up},
		&goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }})
}

// KeyCollision is one account whose stored e-mail address or username
// would share its key (usher.FoldEmail, usher.FoldUsername) with another
// account's, or with another address of the same account. Refold leaves the
// keys of such accounts as they were and reports every account involved,
// one KeyCollision each, with the same Key.
type KeyCollision struct {
	Kind   string // "email" or "username"
	Key    string // the key they would share
	UserID string
	Value  string // the stored address or username
}

// Refold recomputes every stored key — users.email_key, users.username_key
// and user_emails.email_key — with the current usher.FoldEmail and
// usher.FoldUsername, in one transaction. It never merges accounts: where
// rows would come to share a key that must be unique, it leaves all of
// them as they were and reports them, and records them for KeyCollisions.
// The migration to schema version 7 runs it once; `usher migrate` runs it
// again (after an administrator has resolved a collision, say), which
// changes nothing that is already folded.
func (s *Store) Refold(ctx context.Context) ([]KeyCollision, error) {
	var list []KeyCollision
	err := s.inTx(ctx, func(tx *Store) error {
		var err error
		list, err = tx.refold(ctx)
		return err
	})
	return list, err
}

// KeyCollisions returns the collisions the last re-fold found, ordered by
// kind, key and user ID.
func (s *Store) KeyCollisions(ctx context.Context) ([]KeyCollision, error) {
	rows, err := s.reader().QueryContext(ctx,
		`SELECT kind, key, user_id, value FROM key_collisions ORDER BY kind, key, user_id, value`)
	if err != nil {
		return nil, wrap("KeyCollisions", err)
	}
	defer rows.Close()
	var list []KeyCollision
	for rows.Next() {
		var c KeyCollision
		if err := rows.Scan(&c.Kind, &c.Key, &c.UserID, &c.Value); err != nil {
			return nil, wrap("KeyCollisions", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("KeyCollisions", err)
	}
	return list, nil
}

// keyRow is one stored key: a username, a user's primary address (kept in
// users and in its user_emails row alike) or a secondary address.
type keyRow struct {
	kind    string // "email" or "username"
	userID  string
	emailID string // the user_emails row of a secondary address; "" otherwise
	value   string
	taken   bool // an address that is primary or confirmed: unique across users
	old     string
	new     string
	final   string // what the key will be: new, or old when it collides
}

// uniques returns the unique index entries the row would take with key k:
// usernames and taken addresses across all users, every address within
// its user.
func (r *keyRow) uniques(k string) []string {
	if r.kind == "username" {
		return []string{"n\x1f" + k}
	}
	u := []string{"u\x1f" + r.userID + "\x1f" + k}
	if r.taken {
		u = append(u, "e\x1f"+k)
	}
	return u
}

// refold is Refold inside s's transaction.
func (s *Store) refold(ctx context.Context) ([]KeyCollision, error) {
	rows, err := s.keyRows(ctx)
	if err != nil {
		return nil, wrap("re-folding keys", err)
	}
	collisions := resolveKeys(rows)
	if err := s.writeKeys(ctx, rows); err != nil {
		return nil, wrap("re-folding keys", err)
	}
	if _, err := s.tx.ExecContext(ctx, `DELETE FROM key_collisions`); err != nil {
		return nil, wrap("re-folding keys", err)
	}
	for _, c := range collisions {
		if _, err := s.tx.ExecContext(ctx, s.d.rebind(`INSERT INTO key_collisions (kind, key, user_id, value) VALUES (?, ?, ?, ?)`),
			c.Kind, c.Key, c.UserID, c.Value); err != nil {
			return nil, wrap("re-folding keys", err)
		}
	}
	return collisions, nil
}

// keyRows reads every stored key and computes its new value.
func (s *Store) keyRows(ctx context.Context) ([]*keyRow, error) {
	var out []*keyRow
	rs, err := s.tx.QueryContext(ctx, `SELECT id, email, email_key, username, username_key FROM users`)
	if err != nil {
		return nil, err
	}
	for rs.Next() {
		var id, email, key string
		var name, nameKey sql.NullString
		if err := rs.Scan(&id, &email, &key, &name, &nameKey); err != nil {
			rs.Close()
			return nil, err
		}
		out = append(out, &keyRow{kind: "email", userID: id, value: email, taken: true, old: key, new: usher.FoldEmail(email)})
		if name.Valid && nameKey.Valid {
			out = append(out, &keyRow{kind: "username", userID: id, value: name.String, old: nameKey.String, new: usher.FoldUsername(name.String)})
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	rs, err = s.tx.QueryContext(ctx, `SELECT id, user_id, email, email_key, confirmed_at IS NOT NULL FROM user_emails WHERE NOT is_primary`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		r := &keyRow{kind: "email"}
		if err := rs.Scan(&r.emailID, &r.userID, &r.value, &r.old, &r.taken); err != nil {
			return nil, err
		}
		r.new = usher.FoldEmail(r.value)
		out = append(out, r)
	}
	return out, rs.Err()
}

// resolveKeys sets each row's final key: its new key, unless that would
// share a unique index entry with another row's final key — then every
// row involved that would change keeps its old key, until nothing is
// shared (old keys are unique, so this ends). It returns the collisions,
// sorted: for each new key that some row could not take, every row whose
// new or final key it is.
func resolveKeys(rows []*keyRow) []KeyCollision {
	for _, r := range rows {
		r.final = r.new
	}
	blocked := map[string]bool{} // kind + new key that some row could not take
	for changed := true; changed; {
		changed = false
		holders := map[string][]*keyRow{}
		for _, r := range rows {
			for _, u := range r.uniques(r.final) {
				holders[u] = append(holders[u], r)
			}
		}
		for _, rs := range holders {
			if len(rs) < 2 {
				continue
			}
			for _, r := range rs {
				if r.final != r.old {
					r.final = r.old
					blocked[r.kind+"\x1f"+r.new] = true
					changed = true
				}
			}
		}
	}
	seen := map[KeyCollision]bool{}
	var out []KeyCollision
	for _, r := range rows {
		for _, k := range []string{r.new, r.final} {
			c := KeyCollision{Kind: r.kind, Key: k, UserID: r.userID, Value: r.value}
			if blocked[r.kind+"\x1f"+k] && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b KeyCollision) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Value, b.Value))
	})
	return out
}

// writeKeys stores the final keys that differ from the old ones. Every
// changing row first gets a placeholder unique to it, so that no unique
// index sees two rows with one key half-way (one row taking the key that
// another is giving up).
func (s *Store) writeKeys(ctx context.Context, rows []*keyRow) error {
	var changing []*keyRow
	for _, r := range rows {
		if r.final != r.old {
			changing = append(changing, r)
		}
	}
	for _, key := range []func(r *keyRow) string{
		func(r *keyRow) string { return "\x01refold\x1f" + r.kind + "\x1f" + r.userID + "\x1f" + r.emailID },
		func(r *keyRow) string { return r.final },
	} {
		for _, r := range changing {
			if err := s.writeKey(ctx, r, key(r)); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeKey sets one row's key.
func (s *Store) writeKey(ctx context.Context, r *keyRow, key string) error {
	var stmts []string
	switch {
	case r.kind == "username":
		stmts = []string{`UPDATE users SET username_key = ? WHERE id = ?`}
	case r.emailID == "":
		stmts = []string{`UPDATE users SET email_key = ? WHERE id = ?`,
			`UPDATE user_emails SET email_key = ? WHERE user_id = ? AND is_primary`}
	default:
		stmts = []string{`UPDATE user_emails SET email_key = ? WHERE id = ?`}
	}
	id := r.userID
	if r.emailID != "" {
		id = r.emailID
	}
	for _, q := range stmts {
		if _, err := s.tx.ExecContext(ctx, s.d.rebind(q), key, id); err != nil {
			return err
		}
	}
	return nil
}
