package sqlstore

import (
	"context"
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
