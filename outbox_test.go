package usher_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// flakyMailer fails its first failures sends, then records messages. It
// stands in for SMTP only to drive the retry schedule with a fixed clock;
// the real SMTP exchange is tested in package app.
type flakyMailer struct {
	mu       sync.Mutex
	failures int
	sent     []*usher.Message
	tries    int
}

func (f *flakyMailer) Send(_ context.Context, m *usher.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.failures > 0 {
		f.failures--
		return errors.New("421 service not available")
	}
	f.sent = append(f.sent, m)
	return nil
}

func TestOutboxRetries(t *testing.T) {
	clock := usertest.NewClock()
	fm := &flakyMailer{failures: 3}
	svc, err := usher.New(usher.Config{}, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(),
		Policy: password.Policy{}, Mailer: fm, Now: clock.Now, Logger: usertest.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.SendPasswordResetEmail(ctx, "nobody@example.com", client) // nothing to send
	usertest.MustCreateUser(t, svc, "ann@example.com")
	if err := svc.SendPasswordResetEmail(ctx, "ann@example.com", client); err != nil {
		t.Fatal(err)
	}
	svc.DeliverMail(ctx) // attempt 1 fails
	svc.DeliverMail(ctx) // not due yet: no attempt
	if fm.tries != 1 {
		t.Fatalf("tries = %d; want 1 (the retry waits)", fm.tries)
	}
	msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
	if len(msgs) != 1 || msgs[0].Attempts != 1 || msgs[0].LastError == "" || !msgs[0].SentAt.IsZero() {
		t.Fatalf("after a failure: %+v", msgs[0])
	}
	for i := 0; i < 10 && len(fm.sent) == 0; i++ {
		clock.Advance(time.Hour)
		svc.DeliverMail(ctx)
	}
	if len(fm.sent) != 1 || fm.tries != 4 {
		t.Fatalf("sent %d after %d tries; want 1 after 4", len(fm.sent), fm.tries)
	}
	if fm.sent[0].Vars["link"] == "" {
		t.Error("the delivered message has no link")
	}
	msgs, _ = svc.Store().ListMessages(ctx, "ann@example.com", 10)
	if msgs[0].SentAt.IsZero() || len(msgs[0].Vars) != 0 {
		t.Errorf("after delivery: sent at %v, vars %v; want sent and the link gone", msgs[0].SentAt, msgs[0].Vars)
	}
	clock.Advance(time.Hour)
	svc.DeliverMail(ctx)
	if len(fm.sent) != 1 {
		t.Errorf("a delivered message was sent again")
	}
}
