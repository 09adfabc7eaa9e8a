package usher_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
)

// callStore records which Store methods a request calls, in order: the
// calls whose context carries recordKey (not the outbox worker's).
type callStore struct {
	usher.Store
	mu    *sync.Mutex
	calls *[]string
}

type recordKey struct{}

func (s callStore) rec(ctx context.Context, name string) {
	if ctx.Value(recordKey{}) == nil {
		return
	}
	s.mu.Lock()
	*s.calls = append(*s.calls, name)
	s.mu.Unlock()
}

func (s callStore) InTx(ctx context.Context, fn func(tx usher.Store) error) error {
	s.rec(ctx, "InTx")
	return s.Store.InTx(ctx, func(tx usher.Store) error { return fn(callStore{tx, s.mu, s.calls}) })
}
func (s callStore) UserByEmail(ctx context.Context, e string) (*usher.User, error) {
	s.rec(ctx, "UserByEmail")
	return s.Store.UserByEmail(ctx, e)
}
func (s callStore) UserByID(ctx context.Context, id string) (*usher.User, error) {
	s.rec(ctx, "UserByID")
	return s.Store.UserByID(ctx, id)
}
func (s callStore) Hit(ctx context.Context, key string, w time.Time) (int, error) {
	s.rec(ctx, "Hit")
	return s.Store.Hit(ctx, key, w)
}
func (s callStore) DeleteTokens(ctx context.Context, id, kind string) (int, error) {
	s.rec(ctx, "DeleteTokens")
	return s.Store.DeleteTokens(ctx, id, kind)
}
func (s callStore) CreateToken(ctx context.Context, t *usher.Token) error {
	s.rec(ctx, "CreateToken")
	return s.Store.CreateToken(ctx, t)
}
func (s callStore) EnqueueMessage(ctx context.Context, m *usher.Message) error {
	s.rec(ctx, "EnqueueMessage")
	return s.Store.EnqueueMessage(ctx, m)
}
func (s callStore) AddEvent(ctx context.Context, e *usher.Event) error {
	s.rec(ctx, "AddEvent")
	return s.Store.AddEvent(ctx, e)
}

// TestMailRequestsSameWork: the "send me a link" requests do the same work
// for an address with an account as for one without — the same Store
// calls, in the same order — so that their timing tells nothing; the ask
// is in the database before the answer, and the outbox worker sends the
// e-mail (or nothing).
func TestMailRequestsSameWork(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	st := callStore{usertest.NewSQLiteStore(t), &mu, &calls}
	clock := usertest.NewClock()
	sealer, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	d := usher.Deps{Store: st, Throttle: st, Passwords: usertest.FastHasher(), Policy: password.Policy{}, Logger: usertest.Discard, Now: clock.Now,
		MFA: mfa.Provider{}, WebAuthn: webauthn.Provider{}, Sealer: sealer}
	svc, err := usher.New(usher.Config{EnableLoginLink: true, EnableConfirmEmail: true, AllowMFAEmailReset: true}, d)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.CreateUser(ctx, usher.NewUser{Email: "ann@example.com", Password: pw, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	rctx := context.WithValue(ctx, recordKey{}, true)
	record := func(f func() error) []string {
		mu.Lock()
		calls = nil
		mu.Unlock()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
	for _, tt := range []struct {
		name string
		send func(email string) error
		kind string
	}{
		{"password reset", func(e string) error { return svc.SendPasswordResetEmail(rctx, e, client) }, usher.MailResetPassword},
		{"login link", func(e string) error { return svc.SendLoginLink(rctx, e, client) }, usher.MailLoginLink},
		{"confirmation", func(e string) error { return svc.SendConfirmEmail(rctx, e, client) }, usher.MailConfirmEmail},
		{"MFA reset", func(e string) error { return svc.SendMFAResetEmail(rctx, e, client) }, usher.MailMFAReset},
	} {
		known := record(func() error { return tt.send("ann@example.com") })
		unknown := record(func() error { return tt.send("nobody@example.com") })
		if !slices.Equal(known, unknown) {
			t.Errorf("%s: known address %v, unknown %v; want the same work", tt.name, known, unknown)
		}
		svc.DeliverMail(ctx)
		if n := countMail(t, svc, "ann@example.com", tt.kind); n != 1 {
			t.Errorf("%s: %d e-mails to the account after the worker ran; want 1", tt.name, n)
		}
	}
	msgs, _ := svc.Store().ListMessages(ctx, "nobody@example.com", 10)
	for _, m := range msgs {
		if m.Kind != "mail_request" {
			t.Errorf("an e-mail to an unknown address: %+v", m)
		}
	}
}
