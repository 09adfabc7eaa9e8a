package usher

import "context"

// Stats are counts of this Service's work since it started, for
// monitoring (package metrics turns them into Prometheus metrics).
type Stats struct {
	// EmailsSent and EmailsFailed count attempts to send an e-mail of the
	// outbox: delivered, and refused or failed (each retry counts again).
	EmailsSent, EmailsFailed int64
	// SessionCacheHits and SessionCacheMisses count session checks
	// answered from memory and those that asked the database (none when
	// the cache is off).
	SessionCacheHits, SessionCacheMisses int64
}

// Stats returns the Service's counters.
func (s *Service) Stats() Stats {
	return Stats{
		EmailsSent: s.emailsSent.Load(), EmailsFailed: s.emailsFailed.Load(),
		SessionCacheHits: s.cache.hits.Load(), SessionCacheMisses: s.cache.misses.Load(),
	}
}

// OutboxDepth returns how many outbox items (e-mails, webhooks, "send me
// a link" requests) are waiting to be sent.
func (s *Service) OutboxDepth(ctx context.Context) (int, error) {
	return s.store.CountUnsentMessages(ctx)
}
