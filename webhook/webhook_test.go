package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/webhook"
)

func TestSend(t *testing.T) {
	const secret = "webhook secret 0123456789"
	at := time.Unix(1700000000, 0)
	body := []byte(`{"type":"login"}`)
	status := http.StatusServiceUnavailable
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := webhook.Sender{Now: func() time.Time { return at }}
	hook := usher.Webhook{URL: srv.URL + "/hook", Secret: secret}

	// Anything but 2xx is an error: the outbox tries again.
	if err := s.Send(context.Background(), hook, body); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v; want an error naming the status", err)
	}
	status = http.StatusNoContent
	if err := s.Send(context.Background(), hook, body); err != nil {
		t.Fatalf("204: %v", err)
	}
	if got.Method != "POST" || got.URL.Path != "/hook" || string(gotBody) != string(body) {
		t.Errorf("request %s %s %s", got.Method, got.URL.Path, gotBody)
	}
	if ct, ua := got.Header.Get("Content-Type"), got.Header.Get("User-Agent"); ct != "application/json" || ua != "Usher-Webhook" {
		t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
	}
	if sig, want := got.Header.Get("Usher-Signature"), webhook.Sign(secret, at, body); sig != want {
		t.Errorf("signature %q; want %q", sig, want)
	}
}

func TestSign(t *testing.T) {
	// HMAC-SHA256("secret", "1700000000.{}"), computed with openssl.
	got := webhook.Sign("secret", time.Unix(1700000000, 0), []byte("{}"))
	want := "t=1700000000,v1=" + wantHMAC
	if got != want {
		t.Errorf("Sign: %s; want %s", got, want)
	}
}

const wantHMAC = "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
