package usher

import (
	"context"
	"time"
)

// An identifier (e-mail address or username) that names no account has a
// lock-out of its own, kept in the throttle table, that follows the rule
// of an account's: the same count, the same error at each failure, the
// same LockoutDuration. Otherwise ten wrong passwords would tell a real
// account (locked, 429) from a made-up one (401 forever).
//
// Two counters per identifier hold it. "login-failures:<id>" counts the
// failures of the current round; its window is the round's start. When
// the count reaches MaxPasswordFailures, "login-lock:<id>" gets a window
// at the time of the lock. A lock that has run out starts a new round.
// Windows are written unknownRetention later than they are, so that
// Sweep, which forgets windows older than two hours, keeps them for that
// long: long enough that a count spread over hours or days still adds up
// as an account's does, and bounded, so that made-up identifiers do not
// fill the table.

// unknownFailures is the state of an unknown identifier's lock-out.
type unknownFailures struct {
	id     string
	round  time.Time // the window of the current round's counter
	locked bool
}

// unknownRetention is how long an unknown identifier's counters are kept
// after the round (or lock) they belong to started: 30 days, plus the
// LockoutDuration.
func (s *Service) unknownRetention() time.Duration {
	return 30*24*time.Hour + max(s.cfg.LockoutDuration, 0)
}

// unknownFailures reads the lock-out state of the unknown identifier id.
func (s *Service) unknownFailures(ctx context.Context, id string) (*unknownFailures, error) {
	now, keep := s.now(), s.unknownRetention()
	f := &unknownFailures{id: id, round: now.Add(keep)}
	if s.cfg.MaxPasswordFailures < 0 {
		return f, nil
	}
	round, n, err := s.store.LastHit(ctx, "login-failures:"+id)
	if isNotFound(err) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	var lockedAt time.Time
	if s.reachedLimit(n) {
		w, _, err := s.store.LastHit(ctx, "login-lock:"+id)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil {
			lockedAt = w.Add(-keep)
		}
	}
	switch s.lockState(n, lockedAt) {
	case unlocked:
		f.round = round
	case lockedOut:
		f.locked = true
	}
	return f, nil
}

// unknownFailed counts a failure for an unknown identifier and returns the
// error an account would give for the same count.
func (s *Service) unknownFailed(ctx context.Context, f *unknownFailures) error {
	if s.cfg.MaxPasswordFailures < 0 {
		return ErrAuthenticationFailed
	}
	n, err := s.store.Hit(ctx, "login-failures:"+f.id, f.round)
	if err != nil {
		return err
	}
	if !s.reachedLimit(n) {
		return ErrAuthenticationFailed
	}
	if n == s.cfg.MaxPasswordFailures {
		if _, err := s.store.Hit(ctx, "login-lock:"+f.id, s.now().Add(s.unknownRetention())); err != nil {
			return err
		}
	}
	return ErrTooManyPasswordFailures
}
