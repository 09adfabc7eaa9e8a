package usher

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Message is an item of the outbox: something to deliver, written in the
// same transaction as the change that causes it and delivered by the
// Service's outbox worker, with retries, so that nothing is lost when a
// process dies or the server it goes to is down.
//
// Kind says what it is and how it is delivered: an e-mail, through the
// Mailer, has the kind of its template (one of the Mail... constants) and
// Vars the template's variables (link, email, username, app_name, ...);
// "webhook" is an event for a webhook, through the WebhookSender, To
// being its URL; "mail_request" is a recorded "send me a link" ask, which
// the worker answers itself. Vars are cleared once the item is delivered:
// a link must not outlive its purpose in the database.
type Message struct {
	ID     int64
	Kind   string
	To     string
	Locale string // the recipient's language ("" = the default)
	Vars   map[string]string

	CreatedAt     time.Time
	NextAttemptAt time.Time // when the worker may try (again)
	Attempts      int
	LastError     string
	SentAt        time.Time // zero until sent
}

// Kinds of outbox items besides e-mails (whose kinds are the Mail...
// constants, one per template).
const (
	// outboxWebhook is an event to deliver to a webhook: To is its URL,
	// Vars "hook" its index in Deps.Webhooks and "body" the event's JSON.
	outboxWebhook = "webhook"
	// outboxMailRequest is a recorded "send me a link" ask: To is the
	// address typed. The worker answers it by looking the address up and
	// enqueueing the e-mail, or nothing.
	outboxMailRequest = "mail_request"
)

const (
	// outboxEvery is how often the worker looks for due items when
	// nothing woke it.
	outboxEvery = 2 * time.Second
	// outboxLease is how long a claimed item is reserved for the worker
	// that claimed it; if that worker dies, another delivers it after this.
	outboxLease = 2 * time.Minute
	// sendTimeout bounds one delivery attempt.
	sendTimeout = 30 * time.Second
	// maxBackoff caps the wait between attempts.
	maxBackoff = time.Hour
)

// enqueue adds an item to the outbox in st (the caller's transaction, so
// the item exists if and only if the change that causes it does). locale
// is the recipient's language (User.Locale; "" = the default).
// Outside inTx (no transaction to wait for) it wakes the worker at once.
func (s *Service) enqueue(ctx context.Context, st Store, kind, to, locale string, vars map[string]string) error {
	now := s.now()
	m := &Message{Kind: kind, To: to, Locale: locale, Vars: vars, CreatedAt: now, NextAttemptAt: now}
	if err := st.EnqueueMessage(ctx, m); err != nil {
		return err
	}
	if p, ok := ctx.Value(pendingKey{}).(*pendingEvents); ok {
		p.mu.Lock()
		p.enqueued = true
		p.mu.Unlock()
	} else {
		s.kickOutbox()
	}
	return nil
}

// kickOutbox wakes the outbox worker.
func (s *Service) kickOutbox() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// DeliverMail delivers the outbox items that are due — e-mails through the
// Mailer, webhooks through the WebhookSender — until none is left (the
// background worker calls it every few seconds and whenever a change
// enqueues one). A failed attempt is retried with exponential back-off,
// up to an hour apart, for as long as it takes: an item is never
// dropped. Several processes may run it at once; each item is claimed
// by one of them.
//
// It first answers the recorded "send me a link" asks (looking the
// address up, and enqueueing the e-mail if an account should get it),
// with or without a Mailer. Calls in one process run one at a time.
func (s *Service) DeliverMail(ctx context.Context) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.drain(ctx, func(now time.Time) ([]*Message, error) {
		return s.store.ClaimMessagesOfKind(ctx, outboxMailRequest, now, outboxLease, 20)
	})
	if s.mailer == nil && len(s.webhooks) == 0 {
		return
	}
	s.drain(ctx, func(now time.Time) ([]*Message, error) {
		return s.store.ClaimMessages(ctx, now, outboxLease, 20)
	})
}

// drain delivers what claim returns until it returns a short batch.
func (s *Service) drain(ctx context.Context, claim func(now time.Time) ([]*Message, error)) {
	for {
		msgs, err := claim(s.now())
		if err != nil {
			s.log.Error("usher: reading the outbox", "err", err)
			return
		}
		for _, m := range msgs {
			s.deliver(ctx, m)
		}
		if len(msgs) < 20 {
			return
		}
	}
}

func (s *Service) deliver(ctx context.Context, m *Message) {
	if m.Kind == outboxMailRequest {
		if err := s.answerMailRequest(ctx, m); err != nil {
			s.failed(ctx, m, err)
		}
		return
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	var err error
	switch {
	case m.Kind == outboxWebhook:
		err = s.sendWebhook(sctx, m)
	case s.mailer != nil:
		err = s.mailer.Send(sctx, m)
	default:
		err = errors.New("no mailer configured")
	}
	cancel()
	if m.Kind != outboxWebhook {
		if err == nil {
			s.emailsSent.Add(1)
		} else {
			s.emailsFailed.Add(1)
		}
	}
	if err == nil {
		if err := s.store.MarkMessageSent(ctx, m.ID, s.now()); err != nil {
			s.log.Error("usher: recording a delivered outbox item", "id", m.ID, "err", err)
		}
		return
	}
	s.failed(ctx, m, err)
}

// failed records a failed attempt at m and when to try again.
func (s *Service) failed(ctx context.Context, m *Message, err error) {
	wait := backoff(m.Attempts + 1)
	s.log.Warn("usher: outbox item not delivered; will retry", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts+1, "retry_in", wait, "err", err)
	if err := s.store.MarkMessageFailed(ctx, m.ID, err.Error(), s.now().Add(wait)); err != nil {
		s.log.Error("usher: recording a failed delivery", "id", m.ID, "err", err)
	}
}

// backoff returns the wait before attempt n+1: 5 s doubling, at most an
// hour, with ±20% jitter so that instances do not retry in step.
func backoff(n int) time.Duration {
	d := 5 * time.Second << min(n-1, 20)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())) // #nosec G404 -- retry jitter, not a secret
}
