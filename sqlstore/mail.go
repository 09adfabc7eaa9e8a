package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/usher-auth/usher"
)

// CreateToken stores t (its hash; the token itself is never stored). It
// returns usher.ErrNotFound if t.UserID is set and names no user, and
// usher.ErrUserExists if a token with the same hash is stored (the primary
// key decides, so of two at once one fails).
func (s *Store) CreateToken(ctx context.Context, t *usher.Token) error {
	if len(t.Hash) == 0 || t.Kind == "" || t.ExpiresAt.IsZero() {
		// A token without an expiry would be good forever: refuse it.
		return errors.New("sqlstore: CreateToken: the token has no hash, kind or expiry")
	}
	_, err := s.writer().ExecContext(ctx, s.d.q[qInsertToken],
		t.Hash, t.Kind, nullString(t.UserID), t.Email,
		s.d.time(t.CreatedAt), s.d.time(t.ExpiresAt), s.d.time(t.UsedAt), t.Data)
	if isForeignKey(err) {
		return usher.ErrNotFound
	}
	if isUnique(err) {
		// tokens.hash is the primary key: the hash is stored already.
		return userExists(err)
	}
	if err != nil {
		return wrap("CreateToken", err)
	}
	return nil
}

// UseToken marks the token with this hash and kind as used at now and
// returns it, if it is unused and expires after now. Checking and marking
// are one statement, so of two concurrent uses exactly one succeeds. Any
// other case (unknown hash, other kind, used, expired) is
// usher.ErrNotFound.
func (s *Store) UseToken(ctx context.Context, hash []byte, kind string, now time.Time) (*usher.Token, error) {
	if len(hash) == 0 {
		return nil, usher.ErrNotFound
	}
	t, err := scanToken(s.queryRow(ctx, s.w, qUseToken, s.d.time(now), hash, kind, s.d.time(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, usher.ErrNotFound
	}
	if err != nil {
		return nil, wrap("UseToken", err)
	}
	return t, nil
}

// scanToken reads the columns of tokenCols.
func scanToken(r row) (*usher.Token, error) {
	t := &usher.Token{}
	var user sql.NullString
	err := r.Scan(&t.Hash, &t.Kind, &user, &t.Email,
		timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.UsedAt}, &t.Data)
	if err != nil {
		return nil, err
	}
	t.UserID = user.String
	return t, nil
}

// DeleteTokens removes the user's unused tokens of kind (a new link voids
// the older ones) and returns how many it removed. Used tokens stay until
// DeleteExpiredTokens removes them.
func (s *Store) DeleteTokens(ctx context.Context, userID, kind string) (int, error) {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteTokens], userID, kind)
	if err != nil {
		return 0, wrap("DeleteTokens", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("DeleteTokens", err)
	}
	return int(n), nil
}

// DeleteExpiredTokens removes tokens, used or not, whose ExpiresAt is
// before before.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) error {
	if _, err := s.writer().ExecContext(ctx, s.d.q[qDeleteExpiredTokens], s.d.time(before)); err != nil {
		return wrap("DeleteExpiredTokens", err)
	}
	return nil
}

// EnqueueMessage adds m to the outbox and sets m.ID. A zero NextAttemptAt
// means the message is due at once. Inside InTx the message is written in
// the transaction, so it is sent only if the change that caused it is
// committed.
func (s *Store) EnqueueMessage(ctx context.Context, m *usher.Message) error {
	if m.Kind == "" || m.To == "" {
		return errors.New("sqlstore: EnqueueMessage: the message has no kind or recipient")
	}
	vars, err := profileJSON(m.Vars) // the same encoding: a JSON object, or NULL when empty
	if err != nil {
		return wrap("EnqueueMessage", err)
	}
	err = s.writer().QueryRowContext(ctx, s.d.q[qInsertMessage],
		m.Kind, m.To, m.Locale, vars, s.d.time(m.CreatedAt), s.d.time(m.NextAttemptAt),
		m.Attempts, m.LastError, s.d.time(m.SentAt)).Scan(&m.ID)
	if err != nil {
		return wrap("EnqueueMessage", err)
	}
	return nil
}

// ClaimMessages returns up to limit unsent messages that are due at now,
// oldest first, and moves their NextAttemptAt to now+lease, in one
// statement. On PostgreSQL it locks the rows it picks and skips rows that
// another claim has locked, so processes claiming at once get disjoint
// sets; on SQLite, writes are serialised. A worker that dies leaves its
// messages to be claimed again once the lease has run out.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*usher.Message, error) {
	return s.claim(ctx, "ClaimMessages", qClaimMessages, now, lease, limit)
}

// ClaimMessagesOfKind is ClaimMessages for the messages of one kind.
func (s *Store) ClaimMessagesOfKind(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*usher.Message, error) {
	return s.claim(ctx, "ClaimMessagesOfKind", qClaimMessagesOfKind, now, lease, limit, kind)
}

// claim runs one of the claim queries; kind, if given, goes before the
// limit.
func (s *Store) claim(ctx context.Context, op string, k int, now time.Time, lease time.Duration, limit int, kind ...any) ([]*usher.Message, error) {
	if limit <= 0 {
		return []*usher.Message{}, nil
	}
	args := append([]any{s.d.time(now.Add(lease)), s.d.time(now)}, kind...)
	rows, err := s.writer().QueryContext(ctx, s.d.q[k], append(args, limit)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	list, err := scanMessages(rows)
	if err != nil {
		return nil, wrap(op, err)
	}
	// RETURNING gives rows in no promised order.
	slices.SortFunc(list, func(a, b *usher.Message) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}

// MarkMessageSent records that message id was delivered at now and clears
// its Vars (a link must not outlive its purpose in the database). It
// returns usher.ErrNotFound if there is no such message.
func (s *Store) MarkMessageSent(ctx context.Context, id int64, now time.Time) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qMarkMessageSent], s.d.time(now), id)
	if err != nil {
		return wrap("MarkMessageSent", err)
	}
	return affected(res, "MarkMessageSent")
}

// MarkMessageFailed records a failed attempt to deliver message id: one
// more Attempt, LastError = errText, and NextAttemptAt = next. It returns
// usher.ErrNotFound if there is no such message.
func (s *Store) MarkMessageFailed(ctx context.Context, id int64, errText string, next time.Time) error {
	res, err := s.writer().ExecContext(ctx, s.d.q[qMarkMessageFailed], errText, s.d.time(next), id)
	if err != nil {
		return wrap("MarkMessageFailed", err)
	}
	return affected(res, "MarkMessageFailed")
}

// ListMessages returns the messages to the address to (compared exactly;
// "" = all), newest first, at most limit (0 means 100).
func (s *Store) ListMessages(ctx context.Context, to string, limit int) ([]*usher.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	var (
		rows *sql.Rows
		err  error
	)
	if to == "" {
		rows, err = s.reader().QueryContext(ctx, s.d.q[qListMessages], limit)
	} else {
		rows, err = s.reader().QueryContext(ctx, s.d.q[qListMessagesTo], to, limit)
	}
	if err != nil {
		return nil, wrap("ListMessages", err)
	}
	list, err := scanMessages(rows)
	if err != nil {
		return nil, wrap("ListMessages", err)
	}
	return list, nil
}

// DeleteSentMessages removes messages sent before before. Unsent messages
// stay, however old.
func (s *Store) DeleteSentMessages(ctx context.Context, before time.Time) error {
	if _, err := s.writer().ExecContext(ctx, s.d.q[qDeleteSentMessages], s.d.time(before)); err != nil {
		return wrap("DeleteSentMessages", err)
	}
	return nil
}

// scanMessages reads rows of messageCols and closes rows. The list is
// never nil.
func scanMessages(rows *sql.Rows) ([]*usher.Message, error) {
	defer rows.Close()
	list := []*usher.Message{}
	for rows.Next() {
		m := &usher.Message{}
		var vars sql.NullString
		err := rows.Scan(&m.ID, &m.Kind, &m.To, &m.Locale, &vars, timeCol{&m.CreatedAt},
			timeCol{&m.NextAttemptAt}, &m.Attempts, &m.LastError, timeCol{&m.SentAt})
		if err != nil {
			return nil, err
		}
		m.Vars = map[string]string{}
		if vars.String != "" {
			if err := json.Unmarshal([]byte(vars.String), &m.Vars); err != nil {
				return nil, fmt.Errorf("message %d: bad vars JSON: %w", m.ID, err)
			}
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return list, nil
}
