// Package webhook delivers Usher's webhooks over HTTP: it implements
// usher.WebhookSender. The Service decides what is sent, and when (through
// its outbox, with retries); this package makes one signed POST.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/usher-auth/usher"
)

// Sender POSTs webhooks (usher.WebhookSender). Its zero value is ready.
type Sender struct {
	// Client sends the requests; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock of the signatures' timestamps; nil means time.Now.
	Now func() time.Time
}

var _ usher.WebhookSender = Sender{}

// defaultClient is the Client of a Sender without one.
var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Send POSTs body, an event as JSON, to w.URL with its signature in the
// Usher-Signature header (Sign, under w.Secret). An answer other than 2xx
// is an error: the Service tries again later.
func (s Sender) Send(ctx context.Context, w usher.Webhook, body []byte) error {
	client, now := s.Client, s.Now
	if client == nil {
		client = defaultClient
	}
	if now == nil {
		now = time.Now
	}
	req, err := http.NewRequestWithContext(ctx, "POST", w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Usher-Webhook")
	req.Header.Set("Usher-Signature", Sign(w.Secret, now(), body))
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s answered %s", w.URL, res.Status)
	}
	return nil
}

// Sign returns the Usher-Signature header value for a webhook body sent at
// t: "t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
