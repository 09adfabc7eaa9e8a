package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// EventsSince returns the events at or after since, oldest first, at most
// limit (the feed Services follow to keep their caches fresh).
func (s *Store) EventsSince(ctx context.Context, since time.Time, limit int) ([]*usher.Event, error) {
	rows, err := s.reader().QueryContext(ctx, s.d.q[qEventsSince], s.d.time(since), limit)
	if err != nil {
		return nil, wrap("EventsSince", err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return nil, wrap("EventsSince", err)
	}
	return list, nil
}

// QueryEvents returns the events matching q, newest first by ID, at most
// q.Limit (0 means 100), with keyset paging by q.Before: the primary key
// (or events_user_id, events_actor_id, events_type) walks the log
// backwards from the cursor, whatever the page.
func (s *Store) QueryEvents(ctx context.Context, q usher.AuditQuery) ([]*usher.Event, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.UserID != "" {
		add("user_id = ?", q.UserID)
	}
	if q.Actor != "" {
		add("actor_id = ?", q.Actor)
	}
	if q.ActorKind != "" {
		add("actor_kind = ?", q.ActorKind)
	}
	if len(q.Types) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(q.Types)), ", ")
		types := make([]any, len(q.Types))
		for i, t := range q.Types {
			types[i] = t
		}
		add("type IN ("+marks+")", types...)
	}
	if !q.Since.IsZero() {
		add("at >= ?", s.d.time(q.Since))
	}
	if !q.Until.IsZero() {
		add("at < ?", s.d.time(q.Until))
	}
	if q.Before > 0 {
		add("id < ?", q.Before)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := "SELECT " + eventCols + " FROM events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.reader().QueryContext(ctx, s.d.rebind(query+" ORDER BY id DESC LIMIT ?"), append(args, limit)...)
	if err != nil {
		return nil, wrap("QueryEvents", err)
	}
	list, err := scanEvents(rows)
	if err != nil {
		return nil, wrap("QueryEvents", err)
	}
	return list, nil
}

// DeleteEventsBefore removes the events whose time is before before (the
// audit log's retention) and returns how many.
func (s *Store) DeleteEventsBefore(ctx context.Context, before time.Time) (int, error) {
	res, err := s.writer().ExecContext(ctx, s.d.q[qDeleteEventsBefore], s.d.time(before))
	if err != nil {
		return 0, wrap("DeleteEventsBefore", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("DeleteEventsBefore", err)
	}
	return int(n), nil
}

// CountUnsentMessages returns how many outbox messages are not sent yet;
// the partial index outbox_due holds exactly those.
func (s *Store) CountUnsentMessages(ctx context.Context) (int, error) {
	var n int
	if err := s.reader().QueryRowContext(ctx, s.d.q[qCountUnsentMessages]).Scan(&n); err != nil {
		return 0, wrap("CountUnsentMessages", err)
	}
	return n, nil
}
