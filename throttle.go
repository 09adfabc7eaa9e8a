package usher

import (
	"context"
	"sync"
	"time"
)

// MemoryThrottle counts events per key in this process's memory. It is the
// default Throttle; several instances behind a load balancer should use
// the Store instead so that they share counts.
type MemoryThrottle struct {
	mu     sync.Mutex
	counts map[throttleKey]int
}

type throttleKey struct {
	key    string
	window time.Time
}

// NewMemoryThrottle returns an empty MemoryThrottle.
func NewMemoryThrottle() *MemoryThrottle {
	return &MemoryThrottle{counts: map[throttleKey]int{}}
}

// Hit counts one event for key in the window starting at window and returns
// the count so far. Counts of older windows of any key are dropped as the
// map grows.
func (m *MemoryThrottle) Hit(_ context.Context, key string, window time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.counts) > 100_000 {
		for k := range m.counts {
			if k.window.Before(window.Add(-2 * time.Hour)) {
				delete(m.counts, k)
			}
		}
	}
	k := throttleKey{key, window}
	m.counts[k]++
	return m.counts[k], nil
}

// checkRate counts one event for key and returns a *RateLimitError when
// more than limit happened in the current window of length per. A negative
// limit turns the check off. A Throttle that fails lets the request through
// (and logs): an outage of the counter store must not lock everyone out.
func (s *Service) checkRate(ctx context.Context, kind, ip string, limit int, per time.Duration) error {
	if limit < 0 || ip == "" {
		return nil
	}
	now := s.now()
	window := now.Truncate(per)
	n, err := s.throttle.Hit(ctx, kind+":"+ip, window)
	if err != nil {
		s.log.Error("usher: throttle", "err", err)
		return nil
	}
	if n > limit {
		wait := window.Add(per).Sub(now)
		return &RateLimitError{RetryAfter: int(wait/time.Second) + 1}
	}
	return nil
}
