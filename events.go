package usher

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Event is an entry in the audit log (audit.go): a security event or an
// admin action. Its Type is one of the Event... constants, which this file
// is the one place for. UserID is the target, kept as an ID after the user
// is deleted; Actor is who acted, and IP and UserAgent where from.
type Event struct {
	ID        int64
	UserID    string // "" when no account matched
	Type      string // one of the Event... constants
	Actor     Actor
	IP        string
	UserAgent string
	Detail    string
	At        time.Time
}

// Audit event types.
const (
	EventSignup          = "signup"
	EventLogin           = "login"
	EventLoginFailed     = "login_failed"
	EventLockout         = "lockout"
	EventLogout          = "logout"
	EventPasswordChanged = "password_changed"
	EventUsernameChanged = "username_changed"
	EventEnabled         = "enabled"
	EventDisabled        = "disabled"
	EventUnlocked        = "unlocked"
	EventRoleAdded       = "role_added"
	EventRoleRemoved     = "role_removed"
	EventSessionRevoked  = "session_revoked"
	EventForceLogin      = "force_login"
	EventResetRequired   = "password_reset_required"
	EventDeleted         = "deleted"
	EventProfileUpdated  = "profile_updated"
	EventLocaleChanged   = "locale_changed"
)

// The Detail of a login_failed event: why the log-in was refused. A
// federated log-in's failures are "federated:<provider>: <why>".
const (
	FailWrongPassword     = "wrong password"
	FailWrongSecondFactor = "wrong second factor"
	FailLocked            = "locked"
	FailUnknownAccount    = "unknown account"
	FailPasskey           = "passkey"
	FailUnknownPasskey    = "unknown passkey"
	// FailReauthentication: a wrong password where a signed-in user
	// confirms a change with it (it counts towards the lock-out too).
	FailReauthentication = "wrong password (re-authentication)"
	// FailLinkRequired: a federated log-in whose address is an account's
	// but that the provider does not vouch for or the account has not
	// confirmed: no silent merge, the user must log in and link.
	// FailAddressTaken: a federated sign-up with an account's address.
	// Both come after "federated:<provider>: ".
	FailLinkRequired = "link required"
	FailAddressTaken = "sign-up with a registered address"
)

// Events of account changes.
const (
	EventInvited = "invited"
)

// Events of the e-mail flows (Flask-User's signals).
const (
	EventConfirmedEmail = "confirmed_email"
	EventForgotPassword = "forgot_password"
	EventResetPassword  = "reset_password"
	EventLoginLink      = "login_link"
)

// Events of the address book.
const (
	EventEmailAdded          = "email_added"
	EventEmailRemoved        = "email_removed"
	EventPrimaryEmailChanged = "primary_email_changed"
)

// Events of federated identities: Detail is the provider's name.
const (
	EventIdentityLinked   = "identity_linked"
	EventIdentityUnlinked = "identity_unlinked"
)

// Events of moving users in and out (usher export, usher import).
const (
	// EventImported is recorded for each account an import creates.
	EventImported = "imported"
	// EventUsersExported and EventUsersImported are recorded once per
	// export and import, with the format and counts in Detail.
	EventUsersExported = "users_exported"
	EventUsersImported = "users_imported"
)

// Events of second factors.
const (
	EventMFAAdded         = "mfa_added"
	EventMFARemoved       = "mfa_removed"
	EventRecoveryCodes    = "recovery_codes_generated"
	EventRecoveryCodeUsed = "recovery_code_used"
	// EventMFAReset is recorded when a user removes their second factors
	// through an e-mailed reset link.
	EventMFAReset = "mfa_reset"
	// EventSecretsResealed: an admin re-sealed every second-factor secret
	// with the first key (ResealSecrets); the detail is how many.
	EventSecretsResealed = "secrets_resealed"
)

// Events of API keys (UserID ""; Detail the key's name). What an API key
// does is recorded with its Actor (ActorAPIKey, the key's ID and name):
// see WithActor (apikeys.go).
const (
	EventAPIKeyCreated = "apikey_created"
	EventAPIKeyRevoked = "apikey_revoked"
)

// Webhook is an HTTP endpoint told about events (Flask-User's signals, for
// programs in other languages). Each delivery is a POST of the event as
// JSON, signed with HMAC-SHA256 under Secret, and goes through the outbox:
// it is written in the same transaction as the change and retried until
// the endpoint answers 2xx. A WebhookSender makes the POST.
//
// The signature header is "Usher-Signature: t=<unix seconds>,v1=<hex>",
// where the HMAC is of "<t>.<body>", as Stripe does (webhook.Sign); a
// receiver should check it with a constant-time comparison and refuse old
// timestamps.
type Webhook struct {
	URL    string   `toml:"url" json:"url"`
	Secret string   `toml:"secret" json:"-"`
	Events []string `toml:"events" json:"events"` // event types to send; empty means all
}

// WebhookSender delivers one webhook: body, an event as JSON, to w.URL,
// signed under w.Secret (package webhook: an HTTP POST). An error means
// "not delivered, try again later".
type WebhookSender interface {
	Send(ctx context.Context, w Webhook, body []byte) error
}

// pendingKey marks a context inside Service.inTx: events recorded there
// reach the hooks only once the transaction has committed.
type pendingKey struct{}

type pendingEvents struct {
	mu       sync.Mutex
	evs      []*Event
	enqueued bool // the transaction added to the outbox
}

// inTx runs fn in a transaction of the Store. Events recorded in it are
// handed to OnEvent after the commit — never for a change that was rolled
// back — and if it added to the outbox, the outbox worker is woken.
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context, tx Store) error) error {
	p := &pendingEvents{}
	tctx := context.WithValue(ctx, pendingKey{}, p)
	if err := s.store.InTx(tctx, func(tx Store) error { return fn(tctx, tx) }); err != nil {
		return err
	}
	for _, e := range p.evs {
		s.fire(ctx, e)
	}
	if p.enqueued {
		s.kickOutbox()
	}
	return nil
}

// fire hands an event to the OnEvent hook. A panicking hook is logged, not
// propagated: a hook must not break a log-in.
func (s *Service) fire(ctx context.Context, e *Event) {
	if s.onEvent == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("usher: OnEvent hook panicked", "type", e.Type, "panic", fmt.Sprint(r))
		}
	}()
	s.onEvent(ctx, *e)
}

// event records e in the audit trail in st, enqueues its webhooks there
// too, evicts the user's cached sessions if the event can change them, and
// hands it to OnEvent (after the commit, inside inTx). Failures are
// logged, not returned: the audit trail never blocks a log-in.
//
// The actor is the one WithActor put in ctx, else the user; c, when
// empty, is the one WithClient put there.
func (s *Service) event(ctx context.Context, st Store, userID, typ string, c Client, detail string) {
	_ = s.recordEvent(ctx, st, userID, typ, c, detail)
}

// recordEvent is event returning the audit trail's error (already
// logged), for the few events that must not be lost silently (exports).
func (s *Service) recordEvent(ctx context.Context, st Store, userID, typ string, c Client, detail string) error {
	c = eventClient(ctx, c)
	e := &Event{UserID: userID, Type: typ, Actor: eventActor(ctx, userID), IP: c.IP, UserAgent: truncate(c.UserAgent, 256), Detail: detail, At: s.now()}
	addErr := st.AddEvent(ctx, e)
	if addErr != nil {
		s.log.Error("usher: writing audit event", "type", typ, "err", addErr)
	}
	if !keepsSessions[typ] && userID != "" {
		s.cache.evictUser(userID)
	}
	s.log.Info("usher: "+typ, "user", userID, "ip", c.IP)
	for i, w := range s.webhooks {
		if len(w.Events) > 0 && !slices.Contains(w.Events, typ) {
			continue
		}
		body, _ := json.Marshal(map[string]any{"id": e.ID, "type": typ, "user_id": userID, "ip": c.IP, "detail": detail, "at": e.At})
		if err := s.enqueue(ctx, st, outboxWebhook, w.URL, "", map[string]string{"hook": strconv.Itoa(i), "body": string(body)}); err != nil {
			s.log.Error("usher: enqueuing a webhook", "type", typ, "err", err)
		}
	}
	if p, ok := ctx.Value(pendingKey{}).(*pendingEvents); ok {
		p.mu.Lock()
		p.evs = append(p.evs, e)
		p.mu.Unlock()
		return addErr
	}
	s.fire(ctx, e)
	return addErr
}

// sendWebhook delivers one webhook item of the outbox through the
// WebhookSender, to the webhook it was recorded for.
func (s *Service) sendWebhook(ctx context.Context, m *Message) error {
	i, err := strconv.Atoi(m.Vars["hook"])
	if err != nil || i < 0 || i >= len(s.webhooks) || s.webhooks[i].URL != m.To {
		return fmt.Errorf("webhook %s is no longer configured", m.To)
	}
	return s.webhookSender.Send(ctx, s.webhooks[i], []byte(m.Vars["body"]))
}
