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

// counts returns how many messages were sent and how many sends tried.
func (f *flakyMailer) counts() (sent, tries int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent), f.tries
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
	if _, tries := fm.counts(); tries != 1 {
		t.Fatalf("tries = %d; want 1 (the retry waits)", tries)
	}
	msgs, _ := svc.Store().ListMessages(ctx, "ann@example.com", 10)
	// The newest is the e-mail; the ask it answers comes before it.
	if len(msgs) != 2 || msgs[0].Kind != usher.MailResetPassword || msgs[0].Attempts != 1 || msgs[0].LastError == "" || !msgs[0].SentAt.IsZero() {
		t.Fatalf("after a failure: %+v", msgs[0])
	}
	// Small steps: the background worker may be mid-send, and a step past
	// its two-minute lease would let this loop claim the message again.
	for i := 0; i < 30; i++ {
		if sent, _ := fm.counts(); sent > 0 {
			break
		}
		clock.Advance(10 * time.Second)
		svc.DeliverMail(ctx)
	}
	if sent, tries := fm.counts(); sent != 1 || tries != 4 {
		t.Fatalf("sent %d after %d tries; want 1 after 4", sent, tries)
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
	if sent, _ := fm.counts(); sent != 1 {
		t.Errorf("a delivered message was sent again")
	}
}
