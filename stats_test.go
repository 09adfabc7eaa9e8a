package usher_test

import (
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// TestStats: Stats counts e-mails sent and failed (each attempt) and the
// session checks answered by the cache or not; OutboxDepth counts what
// is waiting.
func TestStats(t *testing.T) {
	clock := usertest.NewClock()
	fm := &flakyMailer{failures: 1}
	svc, err := usher.New(usher.Config{}, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(),
		Policy: password.Policy{}, Mailer: fm, Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	u := usertest.MustCreateUser(t, svc, "ann@example.com")
	if err := svc.SendPasswordResetEmail(ctx, u.Email, client); err != nil {
		t.Fatal(err)
	}
	svc.DeliverMail(ctx) // answers the request, then the e-mail's first attempt fails
	if n, err := svc.OutboxDepth(ctx); err != nil || n != 1 {
		t.Errorf("OutboxDepth after a failure = %d, %v; want 1", n, err)
	}
	clock.Advance(time.Hour)
	svc.DeliverMail(ctx)
	if n, err := svc.OutboxDepth(ctx); err != nil || n != 0 {
		t.Errorf("OutboxDepth after delivery = %d, %v; want 0", n, err)
	}
	sess, _, err := svc.LoginWithEmail(ctx, u.Email, pw, false, client)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := svc.Authenticate(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
	}
	got := svc.Stats()
	want := usher.Stats{EmailsSent: 1, EmailsFailed: 1, SessionCacheMisses: 1, SessionCacheHits: 2}
	if got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
}
