package usher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Deps are the Service's collaborators. Store, Passwords and Policy are
// required; the rest have defaults.
type Deps struct {
	Store     Store
	Passwords PasswordHasher
	Policy    PasswordPolicy
	// Throttle keeps the per-IP counters. nil means counters in this
	// process's memory; pass the Store to share them between instances.
	Throttle Throttle
	// MFA and Sealer enable second factors (package mfa provides both);
	// without them the second-factor calls return ErrNotFound.
	MFA    MFA
	Sealer Sealer
	// WebAuthn, with MFA and Sealer, enables security keys and passkeys
	// (package mfa/webauthn provides it); without it, they are
	// unavailable.
	WebAuthn WebAuthn
	// Mailer delivers the outbox's e-mails. nil means e-mails are kept in
	// the outbox and nobody sends them (tests that read the outbox); the
	// "send me a link" requests are still turned into e-mails there, by
	// the background worker or a call of DeliverMail.
	Mailer Mailer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives security events; nil means slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called for every event of the audit trail
	// (Flask-User's signals: signup, confirmed_email, forgot_password,
	// reset_password, password_changed, username_changed, login, logout,
	// login_failed, lockout, ...), after the change that caused it has
	// committed. It runs on the request's goroutine: keep it quick.
	OnEvent func(ctx context.Context, e Event)
	// ValidateSignup, if set, checks a self-registration further after the
	// built-in checks pass and before anything is stored (Anvil's custom
	// sign-up: "Must supply a name"). It may normalise in. A returned
	// *ValidationError's messages are shown by field, as message IDs of
	// the catalogue or plain text; any other error is returned as it is.
	ValidateSignup func(ctx context.Context, in *Signup) error
	// Webhooks are told about events over HTTP, through the outbox.
	Webhooks []Webhook
	// WebhookSender delivers them (package webhook: webhook.Sender);
	// required when there are Webhooks.
	WebhookSender WebhookSender
	// Providers are the federated identity providers users may sign in
	// with (package federated makes them from configuration).
	Providers []FederatedProvider
}

// Throttle counts events per key in fixed windows; Store implements it
// (shared between processes) and so does NewMemoryThrottle.
type Throttle interface {
	Hit(ctx context.Context, key string, window time.Time) (int, error)
}

// Service is Usher's core: sign-up, log-in, sessions, passwords, roles and
// the admin operations, independent of HTTP. It is safe for concurrent use.
// Its methods mirror anvil.users; web adds cookies and pages on top.
type Service struct {
	cfg      Config
	store    Store
	hasher   PasswordHasher
	policy   PasswordPolicy
	throttle Throttle
	now      func() time.Time
	log      *slog.Logger

	patterns  map[string]*regexp.Regexp // profile field patterns
	hashSem   chan struct{}             // bounds concurrent password hashes
	hashes    atomic.Int64              // hashes computed
	hashNanos atomic.Int64              // time spent computing them
	basic     *basicCache
	cache     *sessionCache

	// emailsSent and emailsFailed count e-mail delivery attempts (Stats).
	emailsSent, emailsFailed atomic.Int64

	// verifyCost times each hash format's verification (padFailure).
	verifyCost verifyCosts
	// deliverMu lets one DeliverMail run at a time in this process.
	deliverMu sync.Mutex

	syncMu   sync.Mutex
	lastSync time.Time
	seen     map[int64]time.Time // events already applied to the cache

	mfa      MFA
	sealer   Sealer
	webauthn WebAuthn
	// providers are Deps.Providers.
	providers []FederatedProvider
	mailer    Mailer
	kick      chan struct{} // wakes the outbox worker
	onEvent   func(context.Context, Event)
	// validateSignup is Deps.ValidateSignup.
	validateSignup func(context.Context, *Signup) error
	webhooks       []Webhook
	webhookSender  WebhookSender

	touchMu sync.Mutex
	touched map[string]time.Time // session ID → last seen, not yet written

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// touchEvery is how stale a session's LastSeenAt may get before a request
// records it; flushEvery is how often recorded times are written.
const (
	touchEvery = time.Minute
	flushEvery = time.Second
	sweepEvery = 10 * time.Minute
)

// New returns a Service. It validates cfg and starts a background worker
// that batches session last-seen times and sweeps expired sessions; Close
// stops it.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Passwords == nil || d.Policy == nil {
		return nil, errors.New("usher: New needs a Store, a PasswordHasher and a PasswordPolicy")
	}
	if cfg.RequireMFA && (d.MFA == nil || d.Sealer == nil) {
		return nil, errors.New("usher: RequireMFA needs second factors: Deps.MFA and Deps.Sealer (with the usher binary: a secret_key, or SQLite)")
	}
	s := &Service{
		cfg:            cfg.defaults(),
		store:          d.Store,
		hasher:         d.Passwords,
		policy:         d.Policy,
		throttle:       d.Throttle,
		now:            d.Now,
		log:            d.Logger,
		touched:        map[string]time.Time{},
		mailer:         d.Mailer,
		mfa:            d.MFA,
		sealer:         d.Sealer,
		webauthn:       d.WebAuthn,
		providers:      d.Providers,
		onEvent:        d.OnEvent,
		validateSignup: d.ValidateSignup,
		webhooks:       d.Webhooks,
		webhookSender:  d.WebhookSender,
		kick:           make(chan struct{}, 1),
		stop:           make(chan struct{}),
		done:           make(chan struct{}),
	}
	for _, w := range s.webhooks {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("usher: webhook URL %q: want an http(s) URL", w.URL)
		}
		if len(w.Secret) < 16 {
			return nil, fmt.Errorf("usher: webhook %s: the secret must be at least 16 characters", w.URL)
		}
	}
	if len(s.webhooks) > 0 && s.webhookSender == nil {
		return nil, errors.New("usher: Webhooks need a WebhookSender (package webhook)")
	}
	if s.throttle == nil {
		s.throttle = NewMemoryThrottle()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	n := s.cfg.MaxConcurrentHashes
	if n == 0 {
		n = runtime.NumCPU()
	}
	s.hashSem = make(chan struct{}, n)
	s.patterns = compilePatterns(s.cfg.ProfileFields)
	s.basic = newBasicCache(s.cfg.BasicAuthCacheTTL)
	s.cache = newSessionCache(s.cfg.SessionCacheTTL, s.cfg.SessionCacheSize)
	s.seen = map[int64]time.Time{}
	s.lastSync = s.now()
	go s.background()
	return s, nil
}

// Config returns the effective configuration, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Store returns the Service's Store.
func (s *Service) Store() Store { return s.store }

// Now returns the time by the Service's clock (Deps.Now), for callers that
// compare with the times it records, such as a session's CreatedAt.
func (s *Service) Now() time.Time { return s.now() }

// Close stops the background worker and writes pending last-seen times. It
// does not close the Store.
func (s *Service) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Service) background() {
	defer close(s.done)
	// The cache follows other instances on a goroutine of its own: behind
	// mail delivery (a slow or hanging SMTP server) or a large flush, a
	// session ended on another instance would stay valid here for as long
	// as they took, not for CacheSyncInterval.
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		s.followOthers()
	}()
	defer func() { <-synced }()
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	outbox := time.NewTicker(outboxEvery)
	defer outbox.Stop()
	for {
		select {
		case <-s.stop:
			s.flushTouches(context.Background())
			return
		case <-flush.C:
			s.flushTouches(context.Background())
		case <-sweep.C:
			s.Sweep(context.Background())
		case <-outbox.C:
			s.DeliverMail(context.Background())
		case <-s.kick:
			s.DeliverMail(context.Background())
		}
	}
}

// followOthers calls SyncCache every CacheSyncInterval until the Service
// stops.
func (s *Service) followOthers() {
	if !s.cache.enabled() {
		return
	}
	follow := time.NewTicker(s.cfg.CacheSyncInterval)
	defer follow.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-follow.C:
			s.SyncCache(context.Background())
		}
	}
}

// Sweep deletes expired sessions, old throttle counters, tokens, sent
// e-mails and audit log entries older than AuditRetention. The background
// worker calls it every ten minutes.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	if _, err := s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.IdleTimeout)); err != nil {
		s.log.Error("usher: deleting expired sessions", "err", err)
	}
	if err := s.store.DeleteHits(ctx, now.Add(-2*time.Hour)); err != nil {
		s.log.Error("usher: deleting throttle counters", "err", err)
	}
	if err := s.store.DeleteExpiredTokens(ctx, now.Add(-24*time.Hour)); err != nil {
		s.log.Error("usher: deleting expired tokens", "err", err)
	}
	if err := s.store.DeleteSentMessages(ctx, now.Add(-30*24*time.Hour)); err != nil {
		s.log.Error("usher: deleting sent emails", "err", err)
	}
	s.pruneAudit(ctx, now)
	s.basic.sweep(now)
	s.cache.prune(now)
}

// syncOverlap is how far back each read of the event feed reaches before
// the previous one: events are committed a little after their time is
// taken, and instances' clocks differ a little.
const syncOverlap = 30 * time.Second

// SyncCache applies to the session cache the changes other processes made
// since the last call (the background worker calls it every
// CacheSyncInterval). If the feed cannot be read the whole cache is
// dropped: nothing in it can be trusted any more.
func (s *Service) SyncCache(ctx context.Context) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	now := s.now()
	since := s.lastSync.Add(-syncOverlap)
	const limit = 10_000
	evs, err := s.store.EventsSince(ctx, since, limit)
	if err != nil {
		s.log.Error("usher: reading the event feed; dropping the session cache", "err", err)
		s.cache.evictAll()
		return
	}
	if len(evs) == limit {
		s.cache.evictAll()
	}
	for _, e := range evs {
		if _, ok := s.seen[e.ID]; ok {
			continue
		}
		s.seen[e.ID] = e.At
		if !keepsSessions[e.Type] && e.UserID != "" {
			s.cache.evictUser(e.UserID)
		}
	}
	for id, at := range s.seen {
		if at.Before(since) {
			delete(s.seen, id)
		}
	}
	s.lastSync = now
}

// withHash runs fn while holding one of the MaxConcurrentHashes slots.
// Requests that wait give up when their context ends.
func (s *Service) withHash(ctx context.Context, fn func()) error {
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSem }()
	start := time.Now()
	fn()
	s.hashes.Add(1)
	s.hashNanos.Add(int64(time.Since(start)))
	return nil
}

// HashStats reports how many password hashes (hash, verify or dummy) the
// Service has computed and the time they took in all: the time of one
// hash under the current load, from which the benchmarks derive the
// hash-bound limit of log-ins per second.
func (s *Service) HashStats() (count int64, total time.Duration) {
	return s.hashes.Load(), time.Duration(s.hashNanos.Load())
}

// hashPassword hashes pw under the concurrency bound.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	var h string
	var err error
	if werr := s.withHash(ctx, func() { h, err = s.hasher.Hash(pw) }); werr != nil {
		return "", werr
	}
	return h, err
}

// verifyPassword checks pw against u's hash, or spends the same time on a
// dummy hash when u is nil or has no password, so that the answer's timing
// does not reveal whether the account exists. A mismatch is answered no
// sooner than the costliest hash format's verification (padFailure).
func (s *Service) verifyPassword(ctx context.Context, u *User, pw string) (ok, rehash bool, err error) {
	start := time.Now()
	werr := s.withHash(ctx, func() {
		if u == nil || u.PasswordHash == "" {
			s.hasher.Dummy(pw)
			return
		}
		t := time.Now()
		ok, rehash, err = s.hasher.Verify(u.PasswordHash, pw)
		if err == nil {
			// A hash refused unread (malformed, or above the cost
			// ceilings) took no derivation: it must not lower the
			// failure floor of its format.
			s.verifyCost.note(u.PasswordHash, time.Since(t))
		}
	})
	if werr != nil {
		return false, false, werr
	}
	if !ok {
		s.padFailure(ctx, start)
	}
	if err != nil {
		// A malformed stored hash is a mismatch; say so in the log only.
		s.log.Warn("usher: stored password hash not usable", "user", u.ID, "err", err)
		return false, false, nil
	}
	return ok, rehash, nil
}

// Client describes who is making a request, for throttling and the audit
// trail.
type Client struct {
	IP        string
	UserAgent string
}
