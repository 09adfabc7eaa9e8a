package usher_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/usertest"
	"github.com/usher-auth/usher/webhook"
)

func TestEventHooksAndWebhooks(t *testing.T) {
	var mu sync.Mutex
	var hooked []string
	var received []map[string]any
	fail := 1 // the first webhook delivery fails: it must be retried
	const secret = "webhook secret 0123456789"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("Usher-Signature")
		ts := strings.TrimPrefix(strings.Split(sig, ",")[0], "t=")
		var sec int64
		for _, c := range ts {
			sec = sec*10 + int64(c-'0')
		}
		if want := webhook.Sign(secret, time.Unix(sec, 0), body); sig != want {
			t.Errorf("signature %q; want %q", sig, want)
		}
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			w.WriteHeader(503)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		received = append(received, m)
	}))
	defer hook.Close()
	clock := usertest.NewClock()
	svc, err := usher.New(usher.Config{}, usher.Deps{
		Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Now: clock.Now, Logger: usertest.Discard,
		OnEvent: func(_ context.Context, e usher.Event) {
			mu.Lock()
			hooked = append(hooked, e.Type)
			mu.Unlock()
		},
		Webhooks:      []usher.Webhook{{URL: hook.URL, Secret: secret, Events: []string{usher.EventSignup, usher.EventLogin, usher.EventLoginFailed}}},
		WebhookSender: webhook.Sender{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.SignupWithEmail(ctx, usher.Signup{Email: "ann@example.com", Password: pw}, client)
	svc.LoginWithEmail(ctx, "ann@example.com", "wrong password!", false, client)
	svc.SignupWithEmail(ctx, usher.Signup{Email: "ANN@example.com", Password: pw}, client) // fails: no event
	svc.LoginWithEmail(ctx, "ann@example.com", pw, false, client)
	mu.Lock()
	got := strings.Join(hooked, ",")
	mu.Unlock()
	// The sign-up logs the new user in, as every log-in does: a login
	// event after the signup one.
	if got != "signup,login,login_failed,login" {
		t.Errorf("OnEvent saw %s; want signup,login,login_failed,login", got)
	}
	// Small steps: the background worker may be mid-send, and a step past
	// its two-minute lease would let this loop claim the message again.
	for range 30 {
		svc.DeliverMail(ctx)
		clock.Advance(10 * time.Second)
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n == 4 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 4 {
		t.Fatalf("webhooks received: %v; want 4 (after one retry)", received)
	}
	types := map[string]bool{}
	for _, m := range received {
		types[m["type"].(string)] = true
	}
	if !types["signup"] || !types["login_failed"] || !types["login"] {
		t.Errorf("webhook types %v", types)
	}
}

func TestWebhookConfigChecked(t *testing.T) {
	for _, w := range []usher.Webhook{{URL: "ftp://x", Secret: "0123456789abcdef"}, {URL: "https://x.example", Secret: "short"}} {
		_, err := usher.New(usher.Config{}, usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Webhooks: []usher.Webhook{w}, WebhookSender: webhook.Sender{}})
		if err == nil {
			t.Errorf("webhook %+v accepted", w)
		}
	}
}

// TestWebhooksNeedASender: webhooks without a WebhookSender would sit in
// the outbox for ever; New refuses them.
func TestWebhooksNeedASender(t *testing.T) {
	w := usher.Webhook{URL: "https://x.example/hook", Secret: "0123456789abcdef"}
	d := usher.Deps{Store: usertest.NewSQLiteStore(t), Passwords: usertest.FastHasher(), Policy: password.Policy{}, Webhooks: []usher.Webhook{w}}
	if _, err := usher.New(usher.Config{}, d); err == nil {
		t.Error("webhooks without a sender accepted")
	}
	d.WebhookSender = webhook.Sender{}
	svc, err := usher.New(usher.Config{}, d)
	if err != nil {
		t.Fatalf("with a sender: %v", err)
	}
	svc.Close()
}
