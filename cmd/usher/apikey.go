package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/usher-auth/usher"
)

const keyCmdUsage = `Usage: usher apikey <command> [flags]

Commands:
  create --name NAME   make a key for the admin JSON API and print it (once)
  list                 list the keys: name, ID, created, last used (never a key)
  revoke NAME|ID       delete a key: requests with it fail from then on

A key authenticates requests to /user/api/admin/ (Authorization: Bearer KEY).
Only its SHA-256 is stored: keep the key when it is printed.
Every command also takes the settings flags (--database, --config, ...).
`

// cmdAPIKey runs `usher apikey ...`.
func cmdAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, keyCmdUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	want, ok := map[string]int{"create": 0, "list": 0, "revoke": 1}[sub]
	if !ok {
		fmt.Fprintf(stderr, "usher: unknown apikey command %q\n\n%s", sub, keyCmdUsage)
		return errUsage
	}
	fs := newFlagSet("apikey "+sub, "usher apikey "+sub+" [flags]", stderr)
	cf := addConfigFlags(fs)
	var name string
	if sub == "create" {
		fs.StringVar(&name, "name", "", "the key's name (letters, digits, -_.:), shown in lists and the audit log")
	}
	positional, err := parseArgs(fs, args, want, keyCmdUsage, stderr)
	if err != nil {
		return err
	}
	if sub == "create" && name == "" {
		fmt.Fprintf(stderr, "usher apikey create: give the key a name with --name\n")
		return errUsage
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Service

	switch sub {
	case "create":
		key, k, err := svc.CreateAPIKey(ctx, name)
		if errors.Is(err, usher.ErrUserExists) {
			return fmt.Errorf("an API key named %q exists already", name)
		}
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stderr, "created API key %s (%s); it is shown only now:\n", k.Name, k.ID)
		fmt.Fprintln(stdout, key)
		return nil
	case "list":
		list, err := svc.ListAPIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tCREATED\tLAST USED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.ID, when(k.CreatedAt), when(k.LastUsedAt))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d key(s)\n", len(list))
		return nil
	}
	k, err := svc.RevokeAPIKey(ctx, positional[0])
	if errors.Is(err, usher.ErrNotFound) {
		return fmt.Errorf("no API key %q", positional[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked API key %s (%s)\n", k.Name, k.ID)
	return nil
}
