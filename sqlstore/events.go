package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/usher-auth/usher"
)

// EventsSince returns the events at or after since, oldest first, at most
// limit (the feed Services follow to keep their caches fresh).
func (s *Store) EventsSince(ctx context.Context, since time.Time, limit int) ([]*usher.Event, error) {
	q := s.d.rebind(`SELECT id, user_id, type, ip, user_agent, detail, at FROM events
		WHERE at >= ? ORDER BY at, id LIMIT ?`)
	rows, err := s.reader().QueryContext(ctx, q, s.d.time(since), limit)
	if err != nil {
		return nil, wrap("EventsSince", err)
	}
	defer rows.Close()
	list := []*usher.Event{}
	for rows.Next() {
		e := &usher.Event{}
		var user sql.NullString
		if err := rows.Scan(&e.ID, &user, &e.Type, &e.IP, &e.UserAgent, &e.Detail, timeCol{&e.At}); err != nil {
			return nil, wrap("EventsSince", err)
		}
		e.UserID = user.String
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("EventsSince", err)
	}
	return list, nil
}
