package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/transfer"
)

// cmdExport runs `usher export`: every user to a file or standard output.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("export", "usher export [--format jsonl|csv] [--output FILE] [--include-secrets] [flags]", stderr)
	cf := addConfigFlags(fs)
	format := fs.String("format", "", "jsonl (every field, identities) or csv (Anvil's Users-table columns); default: from --output's extension, else jsonl")
	output := fs.String("output", "", "write to FILE (created with mode 0600: it holds password hashes); default: standard output")
	secrets := fs.Bool("include-secrets", false, "include second factors, their secrets sealed with this server's secret_key (jsonl only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usher export: unexpected argument %q (write to a file with --output)\n", fs.Arg(0))
		return errUsage
	}
	f := *format
	if f == "" {
		f = transfer.JSONL
		if strings.HasSuffix(strings.ToLower(*output), ".csv") {
			f = transfer.CSV
		}
	}
	if f != transfer.JSONL && f != transfer.CSV {
		fmt.Fprintf(stderr, "usher export: --format %q: want jsonl or csv\n", f)
		return errUsage
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	w, closeOut := stdout, func() error { return nil }
	if *output != "" && *output != "-" {
		file, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if err := file.Chmod(0o600); err != nil { // an existing file keeps its mode otherwise
			file.Close()
			return err
		}
		w, closeOut = file, file.Close
	}
	n, err := transfer.Export(ctx, a.Service, w, transfer.ExportOptions{Format: f, IncludeSecrets: *secrets})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d user(s)\n", n)
	return nil
}

// cmdImport runs `usher import`.
func cmdImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("import", "usher import FILE [--format jsonl|csv] [--dry-run] [flags]\n       usher import --format flask-user --from URL [--dry-run] [flags]", stderr)
	cf := addConfigFlags(fs)
	format := fs.String("format", "", "jsonl, csv or flask-user; default: from FILE's extension (.csv is csv), else jsonl")
	from := fs.String("from", "", "with --format flask-user: the application's database, sqlite:///app.db or postgresql://...")
	dryRun := fs.Bool("dry-run", false, "check every row against the database and report, changing nothing")
	// Let the flags come after FILE too (usher import users.jsonl --dry-run).
	positional, err := parsePositional(fs, args)
	if err != nil {
		return err
	}
	f := *format
	if f == "" {
		f = transfer.JSONL
		if len(positional) == 1 && strings.HasSuffix(strings.ToLower(positional[0]), ".csv") {
			f = transfer.CSV
		}
	}
	switch {
	case f == transfer.FlaskUser && (*from == "" || len(positional) != 0):
		fmt.Fprintln(stderr, "usher import --format flask-user: give the database with --from (sqlite:///app.db or postgresql://...) and no FILE")
		return errUsage
	case f == transfer.JSONL || f == transfer.CSV:
		if len(positional) != 1 || *from != "" {
			fmt.Fprintln(stderr, "usher import: give one FILE (- for standard input); --from is for --format flask-user")
			return errUsage
		}
	case f != transfer.FlaskUser:
		fmt.Fprintf(stderr, "usher import: --format %q: want jsonl, csv or flask-user\n", f)
		return errUsage
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	o := transfer.ImportOptions{
		Format:  f,
		DryRun:  *dryRun,
		Refused: func(r transfer.Refusal) { fmt.Fprintf(stdout, "refused: %v\n", refusalText(r)) },
		Note:    func(s string) { fmt.Fprintf(stdout, "note: %s\n", s) },
	}
	var sum transfer.Summary
	if f == transfer.FlaskUser {
		sum, err = transfer.ImportFlaskUser(ctx, a.Service, *from, o)
	} else {
		in := stdin
		if positional[0] != "-" {
			file, err := os.Open(positional[0]) // #nosec G703 G304 -- the import file the operator named on the command line
			if err != nil {
				return err
			}
			defer file.Close()
			in = file
		}
		sum, err = transfer.Import(ctx, a.Service, in, o)
	}
	if *dryRun {
		fmt.Fprint(stdout, "dry run, nothing changed: ")
	}
	fmt.Fprintln(stdout, sum)
	if err != nil {
		return err
	}
	if sum.Refused > 0 && !*dryRun {
		return fmt.Errorf("%d row(s) refused (listed above); the others were imported", sum.Refused)
	}
	if sum.Refused > 0 {
		return fmt.Errorf("%d row(s) would be refused (listed above)", sum.Refused)
	}
	return nil
}

// refusalText is a refusal with the Service's error in words.
func refusalText(r transfer.Refusal) string {
	s := fmt.Sprintf("line %d", r.Line)
	if r.ByID {
		s = fmt.Sprintf("user id %d", r.Line)
	}
	if r.Email != "" {
		s += " (" + r.Email + ")"
	}
	err := r.Err
	if errors.Is(err, usher.ErrValidation) {
		err = explain(err)
	}
	return s + ": " + strings.TrimPrefix(err.Error(), "usher: ")
}
