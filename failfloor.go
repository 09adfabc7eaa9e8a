package usher

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Hashes imported in an older format may cost far more to verify than the
// current one (passlib's sha512_crypt: 656,000 rounds, about 15 times an
// argon2id verification), and they cannot be rehashed without the
// password. Without a remedy a wrong password's slow answer would pick out
// the imported accounts until their owners log in. So every wrong
// password, and every unknown account, is answered no sooner than the
// typical verification time of the costliest hash format this Service has
// met (padFailure). The wait is a sleep, not work: it holds no hash slot,
// and costs an attacker's requests nothing more than time.

// maxFailurePad bounds how long a wrong password's answer is held.
const maxFailurePad = 2 * time.Second

// verifyCosts keeps, per hash format (hashFormat), a moving average of the
// time a verification takes.
type verifyCosts struct {
	mu    sync.Mutex
	costs map[string]time.Duration
	floor time.Duration // the largest average, up to maxFailurePad
}

// note records that verifying hash took d.
func (v *verifyCosts) note(hash string, d time.Duration) {
	f := hashFormat(hash)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.costs == nil {
		v.costs = map[string]time.Duration{}
	}
	c, ok := v.costs[f]
	switch {
	case ok:
		c += (d - c) / 8 // a load spike moves it a little, not for good
	case len(v.costs) < 64:
		c = d
	default:
		return
	}
	v.costs[f] = c
	v.floor = 0
	for _, c := range v.costs {
		v.floor = max(v.floor, c)
	}
	v.floor = min(v.floor, maxFailurePad)
}

// padFloor is how long a wrong password's answer takes at least.
func (v *verifyCosts) padFloor() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.floor
}

// hashFormat is an encoded hash without its salt and key: the algorithm
// and its parameters ("$6$rounds=656000", "$argon2id$v=19$m=9216,t=4,p=1",
// "$2b$12", "pbkdf2:sha256:600000"), what its cost depends on.
func hashFormat(h string) string {
	if strings.HasPrefix(h, "$2") && len(h) > 7 {
		return h[:6] // bcrypt: $2b$12, then salt and key in one field
	}
	i := strings.LastIndexByte(h, '$')
	if i <= 0 {
		return ""
	}
	if j := strings.LastIndexByte(h[:i], '$'); j > 0 {
		return h[:j]
	}
	return h[:i]
}

// padFailure waits until the costliest format's verification time has
// passed since start (or ctx ends).
func (s *Service) padFailure(ctx context.Context, start time.Time) {
	wait := time.Until(start.Add(s.verifyCost.padFloor()))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
