// Package examplekit is the plumbing the example programs under examples/
// share, so that each example's main.go keeps only what it shows (routes,
// roles, hooks, templates): the -addr, -db and -smtp-url flags, serving
// with a graceful shutdown, and writing an HTML page.
package examplekit

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/usher-auth/usher/app"
)

// Flags holds the flags every example takes.
type Flags struct {
	Addr    string // -addr: the address to listen on
	DB      string // -db: an SQLite file or a postgres:// address
	SMTPURL string // -smtp-url: the SMTP server for e-mails; empty for the development mailbox
}

// NewFlags registers -addr (default 127.0.0.1:8080), -db (default db) and
// -smtp-url (default $USHER_SMTP_URL) on flag.CommandLine; their values are
// set once flag.Parse has run.
func NewFlags(db string) *Flags {
	f := new(Flags)
	flag.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&f.DB, "db", db, "SQLite file, or a postgres:// address")
	flag.StringVar(&f.SMTPURL, "smtp-url", os.Getenv("USHER_SMTP_URL"), "SMTP server for emails, e.g. smtp://user:pass@host:587 (empty: the development mailbox at /user/dev/mailbox)")
	return f
}

// Config returns app.Defaults with the flags' address (and its origin as
// the base URL), database and SMTP server.
func (f *Flags) Config() app.Config {
	cfg := app.Defaults()
	cfg.Addr, cfg.Database, cfg.SMTPURL = f.Addr, f.DB, f.SMTPURL
	cfg.BaseURL = cfg.ListenOrigin() // the examples listen on f.Addr
	return cfg
}

// Serve serves h on addr until the program gets SIGINT or SIGTERM, then
// shuts the server down gracefully and returns nil. It returns the error
// if the server cannot listen or fails.
func Serve(addr string, h http.Handler) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// CSP is the Content-Security-Policy of the examples' pages: like Usher's
// own pages they have no inline script or style and load only Usher's
// stylesheet from the same origin.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Render executes t with data and writes the result as an HTML page with
// the policy CSP, not to be cached (the pages show who is logged in). If t
// fails, it logs the error and answers 500 instead.
func Render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		slog.Error("page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
