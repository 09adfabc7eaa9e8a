package storetest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/storetest"
)

// memThrottle is an in-memory usher.ThrottleStore and nothing more: a fake
// of one role, which a role suite takes without the rest of usher.Store.
type memThrottle struct {
	mu     sync.Mutex
	counts map[string]map[time.Time]int // key → window start (UTC) → count
}

var _ usher.ThrottleStore = (*memThrottle)(nil)

func (m *memThrottle) Hit(_ context.Context, key string, window time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts[key] == nil {
		m.counts[key] = map[time.Time]int{}
	}
	m.counts[key][window.UTC()]++
	return m.counts[key][window.UTC()], nil
}

func (m *memThrottle) LastHit(_ context.Context, key string) (time.Time, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last time.Time
	for w := range m.counts[key] {
		if w.After(last) {
			last = w
		}
	}
	if last.IsZero() {
		return time.Time{}, 0, usher.ErrNotFound
	}
	return last, m.counts[key][last], nil
}

func (m *memThrottle) DeleteHits(_ context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, windows := range m.counts {
		for w := range windows {
			if w.Before(before) {
				delete(windows, w)
			}
		}
	}
	return nil
}

// TestRunThrottleFake runs the throttle suite against a fake that has only
// that role: the role suites do not ask for a whole usher.Store.
func TestRunThrottleFake(t *testing.T) {
	storetest.RunThrottle(t, func(t *testing.T) func() *memThrottle {
		m := &memThrottle{counts: map[string]map[time.Time]int{}}
		return func() *memThrottle { return m } // one instance: it has no database to share
	})
}
