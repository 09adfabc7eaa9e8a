// Package app wires Usher's parts together — store, password hashing,
// Service and web Handler — from one Config. The usher binary uses it, and
// so can a Go program that wants the whole server in two lines.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/mail"
	"github.com/usher-auth/usher/password"
	"github.com/usher-auth/usher/sqlstore"
	"github.com/usher-auth/usher/web"
)

// App is a running Usher: its Store, Service and Handler.
type App struct {
	Config  Config
	Store   *sqlstore.Store
	Service *usher.Service
	Web     *web.Handler
	Mailer  *mail.Mailer
}

// Open connects to the database (applying migrations) and builds the
// Service and Handler. Close releases them.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a, err := New(cfg, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// New builds an App over an open store.
func New(cfg Config, st *sqlstore.Store, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	hasher := &password.Hasher{Algorithm: cfg.PasswordHash, FlaskSecuritySalt: cfg.FlaskSecuritySalt}
	if err := hasher.Validate(); err != nil {
		return nil, err
	}
	policy := password.Policy{MinLength: cfg.PasswordMinLength, FlaskUser: cfg.PasswordRules == "flask-user"}
	sc := cfg.Service()
	mo := mail.Options{
		SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, FromName: cfg.MailFromName,
		AppName: cfg.AppName, BaseURL: sc.BaseURL, Logger: log,
	}
	if cfg.TemplatesDir != "" {
		mo.Templates = os.DirFS(cfg.TemplatesDir)
	}
	mailer, err := mail.New(mo)
	if err != nil {
		return nil, err
	}
	deps := usher.Deps{Store: st, Passwords: hasher, Policy: policy, Mailer: mailer, Logger: log, Webhooks: cfg.Webhooks}
	if cfg.SharedRateLimits == "yes" || (cfg.SharedRateLimits == "auto" && st.Dialect() == "postgres") {
		deps.Throttle = st
	}
	svc, err := usher.New(sc, deps)
	if err != nil {
		return nil, err
	}
	opts := web.Options{
		InsecureCookies: cfg.InsecureCookies,
		ClientIPHeader:  cfg.ClientIPHeader,
		Logger:          log,

		AfterConfirmURL:       cfg.AfterConfirmURL,
		AfterResetPasswordURL: cfg.AfterResetPasswordURL,
		AfterLoginURL:         cfg.AfterLoginURL,
		AfterRegisterURL:      cfg.AfterRegisterURL,
	}
	if mb := mailer.Mailbox(); mb != nil {
		opts.DevMailbox = mb
	}
	h := web.New(svc, opts)
	return &App{Config: cfg, Store: st, Service: svc, Web: h, Mailer: mailer}, nil
}

// Handler returns the server's whole HTTP surface: Usher's routes under
// /user/, a health check at /healthz and a short index page at /.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/user/", a.Web)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Store.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(a.Config.AppName + " is running.\n\nJSON API: POST /user/api/signup, POST /user/api/login, GET /user/api/me, ...\nSee docs/api.md.\n"))
	})
	return mux
}

// Close stops the Service's background work and closes the store.
func (a *App) Close() error {
	return errors.Join(a.Service.Close(), a.Store.Close())
}
