// Command usher runs Usher as a standalone service: hosted pages, the JSON
// API and forward auth, plus the admin CLI.
//
//	usher serve                 start the server (SQLite ./usher.db by default)
//	usher migrate               apply database migrations and exit
//	usher user add|list|show|enable|disable|unlock|set-password|require-reset|add-role|remove-role|delete
//	usher audit                 print the audit log

//	usher apikey create|list|revoke
//	usher config                print the effective configuration, secrets masked
//	usher export                write every user to JSONL or CSV (usher export -h)
//	usher import                create users from JSONL, CSV or a Flask-User database
//
// Settings come from a TOML file, USHER_* environment variables and flags,
// in that order of precedence (see docs/configuration.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usher — user authentication and user management

Usage:
  usher serve [flags]            start the server
  usher migrate [flags]          apply database migrations and exit
  usher user <command> [flags]   manage users (usher user help)
  usher audit [flags]            print the audit log (--user, --since, --kind, --json)

  usher apikey <command>         manage the admin API's keys (usher apikey help)
  usher config [flags]           print the effective configuration
  usher reseal [flags]           re-seal second-factor secrets with the first secret_key
  usher export [flags]           write every user to a file (JSONL or CSV)
  usher import FILE [flags]      create users from a file or a Flask-User database
  usher help <command>           show a command's flags

Common flags: --database FILE|postgres://...  --addr HOST:PORT  --config FILE
Every setting is also an environment variable: --enable-registration=false is
USHER_ENABLE_REGISTRATION=false.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// errUsage marks an error already explained to the user with usage text.
var errUsage = errors.New("usage")

// run executes one command and returns the exit status: 0 success, 1
// failure, 2 bad usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = cmdServe(ctx, rest, stderr, getenv)
	case "migrate":
		err = cmdMigrate(ctx, rest, stdout, stderr, getenv)
	case "user", "users":
		err = cmdUser(ctx, rest, stdin, stdout, stderr, getenv)
	case "audit":
		err = cmdAudit(ctx, rest, stdout, stderr, getenv)

	case "apikey", "apikeys":
		err = cmdAPIKey(ctx, rest, stdout, stderr, getenv)
	case "config":
		err = cmdConfig(rest, stdout, stderr, getenv)
	case "reseal":
		err = cmdReseal(ctx, rest, stdout, stderr, getenv)
	case "export":
		err = cmdExport(ctx, rest, stdout, stderr, getenv)
	case "import":
		err = cmdImport(ctx, rest, stdin, stdout, stderr, getenv)
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "-h"}, stdin, stdout, stderr, getenv)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "usher: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "usher: %v\n", err)
		return 1
	}
}

// newFlagSet returns a FlagSet that reports errors (not exits) and prints
// its usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs, turning a bad flag into errUsage (the flag
// package has already printed what was wrong).
func parse(fs *flag.FlagSet, args []string) error {
	full := fs.Usage
	fs.Usage = func() {
		// A mistake gets its one-line explanation (printed by the flag
		// package) and a pointer; only -h gets the full list.
		fmt.Fprintf(fs.Output(), "Run 'usher %s -h' to see the flags.\n", fs.Name())
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.Usage = full
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// newLogger returns the server's logger per log_level and log_format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level is %q; want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return slog.New(slog.NewTextHandler(w, o)), nil
}

// quietLogger logs only warnings and errors, for CLI commands whose output
// is the point.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
