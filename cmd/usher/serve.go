package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/sqlstore"
)

// cmdServe runs the server until ctx ends (SIGINT or SIGTERM), then shuts
// down gracefully: no new connections, requests in flight finish (up to
// shutdown_grace_period), pending session times are written, the database
// is closed.
func cmdServe(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("serve", "usher serve [flags]", stderr)
	cf := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := cf.load(getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	tuneRuntime(cfg, getenv)
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if cfg.DebugAddr != "" {
		go serveDebug(cfg.DebugAddr, a, log)
	}
	if cfg.MetricsAddr != "" {
		msrv, err := serveMetrics(cfg.MetricsAddr, a, log)
		if err != nil {
			return err
		}
		defer msrv.Close()
	}
	log.Info("usher: listening", "addr", "http://"+ln.Addr().String(), "database", maskURL(cfg.Database), "dialect", a.Store.Dialect())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("usher: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownGracePeriod))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// cmdMigrate applies migrations, re-folds the stored keys (see
// sqlstore.Store.Refold), lists the accounts it could not re-fold, and
// exits.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("migrate", "usher migrate [flags]", stderr)
	cf := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load(getenv)
	if err != nil {
		return err
	}
	st, err := sqlstore.Open(ctx, cfg.Database) // Open applies the migrations, re-fold included.
	if err != nil {
		return err
	}
	defer st.Close()
	cur, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at schema version %d (latest %d)\n", maskURL(cfg.Database), cur, latest)
	collisions, err := st.Refold(ctx)
	if err != nil {
		return err
	}
	printKeyCollisions(stdout, collisions)
	return nil
}

// printKeyCollisions lists the accounts whose addresses or usernames fold
// to one key and were left as they were, one line per key, values quoted
// so that invisible differences show.
func printKeyCollisions(w io.Writer, list []sqlstore.KeyCollision) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(w, "%d account(s) would share an email address or username and were left as they were;\n"+
		"resolve each (usher user delete ID for a duplicate account), then run usher migrate again:\n", len(list))
	for i, c := range list {
		if i == 0 || c.Kind != list[i-1].Kind || c.Key != list[i-1].Key {
			fmt.Fprintf(w, "%s %+q:\n", c.Kind, c.Key)
		}
		fmt.Fprintf(w, "  user %s: %+q\n", c.UserID, c.Value)
	}
}

// cmdReseal re-seals second-factor secrets with the first key of
// secret_key: the second half of a key rotation.
func cmdReseal(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("reseal", "usher reseal [flags]", stderr)
	cf := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Service.ResealSecrets(usher.WithActor(ctx, cliActor(getenv)))
	if err != nil {
		return fmt.Errorf("re-sealing: %w (is every old key still listed in secret_key?)", err)
	}
	fmt.Fprintf(stdout, "re-sealed %d second-factor secret(s) with the first key\n", n)
	return nil
}

// cmdConfig prints the effective configuration.
func cmdConfig(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("config", "usher config [flags]", stderr)
	cf := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load(getenv)
	if err != nil {
		return err
	}
	printConfig(stdout, cfg)
	return nil
}

// serveMetrics serves the Prometheus metrics at /metrics on their own
// listener (metrics_addr), apart from the public one: they tell an
// attacker how an attack goes. It returns once listening.
func serveMetrics(addr string, a *app.App, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on metrics_addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	log.Info("usher: metrics listener", "addr", "http://"+ln.Addr().String()+"/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("usher: metrics listener", "err", err)
		}
	}()
	return srv, nil
}

// serveDebug serves net/http/pprof's profiles and the password-hash
// statistics (/debug/usher) on a separate listener, for measuring the
// server under load.
func serveDebug(addr string, a *app.App, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/usher", func(w http.ResponseWriter, r *http.Request) {
		n, total := a.Service.HashStats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"hashes": n, "hash_seconds": total.Seconds(), "cpus": runtime.NumCPU()})
	})
	log.Info("usher: debug listener", "addr", addr)
	// No read or write timeout: a CPU profile or trace streams for as
	// long as it was asked to run.
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("usher: debug listener", "err", err)
	}
}

// tuneRuntime sets the Go runtime's knobs for serving: GOMAXPROCS unless
// the environment sets it, and the memory limit when memory_limit is set.
// GOGC stays Go's default (100): password hashes no longer make garbage
// (their memory is reused, password/internal/argon2), which was the reason
// for running with 400 and five times the live heap.
func tuneRuntime(cfg app.Config, getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		// Password hashes (at most one per CPU) each hold a scheduler slot
		// for tens of milliseconds; spare slots let the OS interleave
		// session checks with them instead of queueing them behind a
		// hash for Go's 10 ms preemption tick. Measured in
		// docs/benchmarks.md: p99 of session checks during a log-in flood
		// 39 ms with GOMAXPROCS = CPUs, 11 ms with twice the CPUs.
		runtime.GOMAXPROCS(2 * runtime.NumCPU())
	}
	if limit, _ := app.ParseMemoryLimit(cfg.MemoryLimit); limit > 0 {
		// A soft limit on the Go heap: near it the collector runs more
		// often whatever GOGC says, so a container's memory is not
		// exceeded by garbage.
		// It overrides GOMEMLIMIT; unset, the runtime follows GOMEMLIMIT.
		debug.SetMemoryLimit(limit)
	}
}
