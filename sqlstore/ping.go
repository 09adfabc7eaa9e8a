package sqlstore

import "context"

// Ping checks that the database answers (the health check).
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }
