// Package app wires Usher's parts together — store, password hashing,
// Service and web Handler — from one Config. The usher binary uses it, and
// so can a Go program that wants the whole server in two lines.
package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/admin"

	"github.com/usher-auth/usher/federated"
	"github.com/usher-auth/usher/mail"
	"github.com/usher-auth/usher/metrics"
	"github.com/usher-auth/usher/mfa"
	"github.com/usher-auth/usher/mfa/webauthn"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/sqlstore"
	"github.com/usher-auth/usher/web"
	"github.com/usher-auth/usher/webhook"
)

// App is a running Usher: its Store, Service and Handler, and its
// Metrics (served by `usher serve` on metrics_addr; Metrics.Handler
// serves them anywhere).
type App struct {
	Config  Config
	Store   *sqlstore.Store
	Service *usher.Service
	Web     *web.Handler
	// Admin is the admin console; Handler mounts it at Config.Prefix +
	// "/admin".
	Admin   *admin.Handler
	Mailer  *mail.Mailer
	Metrics *metrics.Metrics

	log *slog.Logger
	// schemaOK: /readyz found the schema at the latest version once; it
	// stays there (this binary's latest is fixed), so later checks only
	// ping the database.
	schemaOK atomic.Bool
}

// Open connects to the database (applying migrations) and builds the
// Service and Handler; mount App.Web at Config.Prefix + "/". Close
// releases them. It returns ErrNoBaseURL when cfg.BaseURL is empty.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	return open(ctx, cfg, log, sqlstore.Options{})
}

// OpenExisting is Open for commands that must not change the schema: it
// applies no migrations and creates no database, and fails with an error
// wrapping sqlstore.ErrSchemaNotCurrent when the database is missing or
// its schema is not the latest.
func OpenExisting(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	return open(ctx, cfg, log, sqlstore.Options{RequireSchema: true})
}

func open(ctx context.Context, cfg Config, log *slog.Logger, o sqlstore.Options) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := checkBaseURL(cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := sqlstore.OpenWithOptions(ctx, cfg.Database, o)
	if err != nil {
		return nil, err
	}
	warnKeyCollisions(ctx, st, log)
	// A command that must not change the database must not leave a new
	// key file beside it either.
	a, err := build(cfg, st, log, !o.RequireSchema)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// warnKeyCollisions logs the accounts that the re-fold of stored keys
// left as they were (sqlstore.Store.Refold), until they are resolved.
func warnKeyCollisions(ctx context.Context, st *sqlstore.Store, log *slog.Logger) {
	list, err := st.KeyCollisions(ctx)
	if err != nil {
		log.Error("reading the accounts left out of the re-fold", "err", err)
		return
	}
	if len(list) > 0 {
		log.Warn("some accounts would share an email address or username and were left as they were; "+
			"usher migrate lists them", "accounts", len(list))
	}
}

// ErrNoBaseURL is returned by Open, OpenExisting and New when
// Config.BaseURL is empty.
var ErrNoBaseURL = errors.New("app: base_url is not set: set Config.BaseURL to the public origin put in emailed links, " +
	`e.g. "http://localhost:8080" (it is not derived from Addr, which only the usher binary listens on; ListenOrigin gives that origin)`)

// checkBaseURL returns ErrNoBaseURL when cfg names no BaseURL. Only the
// program that listens knows the origin its users reach: guessing one from
// Addr would mail links to a port nobody serves.
func checkBaseURL(cfg Config) error {
	if cfg.BaseURL == "" {
		return ErrNoBaseURL
	}
	return nil
}

// New builds an App over an open store. It returns ErrNoBaseURL when
// cfg.BaseURL is empty.
func New(cfg Config, st *sqlstore.Store, log *slog.Logger) (*App, error) {
	return build(cfg, st, log, true)
}

// build is New; createKey says whether a SQLite database without
// secret_key may get a new <database>.key (see secretKeys).
func build(cfg Config, st *sqlstore.Store, log *slog.Logger, createKey bool) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := checkBaseURL(cfg); err != nil {
		return nil, err
	}
	hasher := &password.Hasher{Algorithm: cfg.PasswordHash, FlaskSecuritySalt: cfg.FlaskSecuritySalt}
	if err := hasher.Validate(); err != nil {
		return nil, err
	}
	policy := password.Policy{MinLength: cfg.PasswordMinLength, FlaskUser: cfg.PasswordRules == "flask-user"}
	sc := cfg.Service()
	cat, err := cfg.catalogue()
	if err != nil {
		return nil, err
	}
	mo := mail.Options{
		SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, FromName: cfg.MailFromName,
		AppName: cfg.AppName, BaseURL: sc.BaseURL, Logger: log, Translate: cat.Translate,
		Plural: cat.Plural,
		RTL:    cat.RTL,
	}
	var templates fs.FS
	if cfg.TemplatesDir != "" {
		templates = os.DirFS(cfg.TemplatesDir)
		mo.Templates = templates
	}
	mailer, err := mail.New(mo)
	if err != nil {
		return nil, err
	}
	deps := usher.Deps{Store: st, Passwords: hasher, Policy: policy, Mailer: mailer, Logger: log, Webhooks: cfg.Webhooks,
		WebhookSender: webhook.Sender{}, ValidateSignup: cfg.ValidateSignup}
	keys, err := secretKeys(cfg, st, log, createKey)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		sealer, err := mfa.NewSealer(keys...)
		if err != nil {
			return nil, err
		}
		deps.MFA, deps.WebAuthn, deps.Sealer = mfa.Provider{}, webauthn.Provider{}, sealer
	}
	if deps.Providers, err = providers(cfg, sc, keys, log); err != nil {
		return nil, err
	}
	if cfg.SharedRateLimits == "yes" || (cfg.SharedRateLimits == "auto" && st.Dialect() == "postgres") {
		deps.Throttle = st
	}
	var providers []string
	for _, p := range deps.Providers {
		providers = append(providers, p.Name())
	}
	m := metrics.New(metrics.Options{Providers: providers})
	deps.OnEvent = bothHooks(m.OnEvent, cfg.OnEvent)
	svc, err := usher.New(sc, deps)
	if err != nil {
		return nil, err
	}
	m.Watch(svc)
	opts := cfg.Options
	opts.Logger, opts.Catalogue = log, cat
	if templates != nil {
		opts.Templates = templates
	}
	// The development mailbox shows everyone's links. Besides answering
	// only requests from this machine (web), it is served only when the
	// deployment itself is local — base_url on a loopback host — or
	// dev_mailbox says so: a proxy on the same host that adds no
	// X-Forwarded-For would otherwise make every visitor look local.
	if mb := mailer.Mailbox(); mb != nil && (cfg.DevMailbox || loopbackURL(sc.BaseURL)) {
		opts.DevMailbox = mb
	}
	h := web.New(svc, opts)
	adm, err := admin.New(h, cfg.Settings)
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Store: st, Service: svc, Web: h, Admin: adm, Mailer: mailer, Metrics: m, log: log}, nil
}

// bothHooks calls the metrics' event hook, then the program's own, if any.
func bothHooks(first, then func(context.Context, usher.Event)) func(context.Context, usher.Event) {
	if then == nil {
		return first
	}
	return func(ctx context.Context, e usher.Event) {
		first(ctx, e)
		then(ctx, e)
	}
}

// providers makes the federated providers of cfg.Providers (then
// cfg.CustomProviders), for usher.Deps.Providers. A provider that cannot
// be made — a wrong kind, a missing client ID, an IdP without a
// certificate — stops the server with the reason: a half-configured
// sign-in must not start.
func providers(cfg Config, sc usher.Config, keys [][]byte, log *slog.Logger) ([]usher.FederatedProvider, error) {
	var ps []usher.FederatedProvider
	if len(cfg.Providers) > 0 {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		prefix := sc.Prefix
		if prefix == "" {
			prefix = "/user"
		}
		env := federated.Env{BaseURL: strings.TrimSuffix(sc.BaseURL, "/"), Prefix: strings.TrimSuffix(prefix, "/"), HTTPClient: client, Logger: log}
		if len(keys) > 0 {
			env.SecretKey = keys[0]
		}
		var err error
		if ps, err = federated.NewAll(cfg.Providers, env); err != nil {
			return nil, fmt.Errorf("providers: %w", err)
		}
	}
	return append(ps, cfg.CustomProviders...), nil
}

// secretKeys returns the secret keys (the first seals second-factor
// secrets; SAML's default service-provider key is derived from it): from secret_key
// (comma-separated keys, the first sealing, the others only opening, for
// rotation); or, with SQLite and no key set, from the file
// <database>.key, created with a new key on first start (mode 0600). With
// PostgreSQL and no key, several instances could not agree on one, so
// second factors stay off (nil) and a warning says why.
//
// Without createKey (commands that only read or edit accounts) a missing
// key file is not created: second factors are off for that command.
func secretKeys(cfg Config, st *sqlstore.Store, log *slog.Logger, createKey bool) ([][]byte, error) {
	var keys [][]byte
	if cfg.SecretKey != "" {
		for _, k := range strings.Split(cfg.SecretKey, ",") {
			key, err := mfa.ParseKey(k)
			if err != nil {
				return nil, fmt.Errorf("secret_key: %w", err)
			}
			keys = append(keys, key)
		}
		return keys, nil
	}
	if st.Dialect() != sqlstore.DialectSQLite || cfg.Database == "" || strings.Contains(cfg.Database, ":memory:") {
		log.Warn("usher: secret_key is not set; two-factor authentication is off (set USHER_SECRET_KEY to a 32-byte key, e.g. from `openssl rand -base64 32`)")
		return nil, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(cfg.Database, "sqlite:"), "file:") + ".key"
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] + ".key"
	}
	b, err := os.ReadFile(path) // #nosec G304 -- beside the database file the operator configured
	if errors.Is(err, os.ErrNotExist) && !createKey {
		return nil, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		key := mfa.NewKey()
		enc := base64.StdEncoding.EncodeToString(key) + "\n"
		if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
			return nil, fmt.Errorf("writing the new secret key to %s: %w", path, err)
		}
		log.Info("usher: generated a secret key for second-factor secrets", "file", path)
		return [][]byte{key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the secret key: %w", err)
	}
	key, err := mfa.ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return [][]byte{key}, nil
}

// loopbackURL reports whether u's host is localhost or a loopback address.
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the server's whole HTTP surface: Usher's routes under
// Config.Prefix (/user/ by default), the admin console under Prefix +
// "/admin", the health checks /healthz (the process answers) and /readyz
// (and its database, at the latest schema), and / sending browsers to the
// account page (or, for visitors, the log-in page). Every answer carries
// the Handler's security headers, and is timed in the metrics by its
// route pattern.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	prefix := a.Service.Config().Prefix
	mux.Handle(prefix+"/", a.Web)
	mux.Handle(prefix+"/admin", a.Admin)
	mux.Handle(prefix+"/admin/", a.Admin)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.ready(r.Context()); err != nil {
			// The reason goes to the log; the answer says only "not ready".
			a.log.Warn("usher: not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The account page, or for visitors the log-in page.
		http.Redirect(w, r, prefix+"/profile", http.StatusSeeOther)
	})
	return a.Metrics.Instrument(a.Web.SecurityHeaders(mux))
}

// ready reports why the server cannot serve, if it cannot: the database
// does not answer, or its schema is not the latest (another instance's
// migration still running, or an older binary's database).
func (a *App) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		return err
	}
	if a.schemaOK.Load() {
		return nil
	}
	cur, latest, err := a.Store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur != latest {
		return fmt.Errorf("database schema at version %d, want %d", cur, latest)
	}
	a.schemaOK.Store(true)
	return nil
}

// Close stops the Service's background work and closes the store.
func (a *App) Close() error {
	return errors.Join(a.Service.Close(), a.Store.Close())
}
