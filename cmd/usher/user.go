package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/app"
	"github.com/usher-auth/usher/i18n"
	"github.com/usher-auth/usher/sqlstore"
)

const userUsage = `Usage: usher user <command> [flags] [arguments]

Commands (USER is an ID, email address or username):
  add EMAIL (--password P | --password-stdin | --import-hash HASH | --no-password)
            [--username NAME] [--role ROLE]... [--disabled] [--confirmed] [--profile key=value]...
  list [--search TEXT] [--role ROLE] [--limit N] [--offset N] [--json]
  show USER [--json]
  enable USER | disable USER | unlock USER | require-reset USER | delete USER
  set-password USER (--password P | --password-stdin)
  add-role USER ROLE | remove-role USER ROLE
  identities USER [--json]     the user's linked identity-provider accounts
  unlink USER PROVIDER         unlink the user's identity at PROVIDER (its name, or the identity's ID)

Every command also takes the settings flags (--database, --config, ...).
They change users, never the schema: run usher migrate (or usher serve) first.
`

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// cmdUser runs `usher user ...`.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, userUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("user "+sub, "usher user "+sub+" [flags]", stderr)
	cf := addConfigFlags(fs)
	var (
		username, pw, pwHash, search, role   string
		pwStdin, disabled, confirmed, asJSON bool
		noPassword                           bool
		limit, offset                        int
		roles, profile                       repeated
	)
	nargs := map[string]int{"add": 1, "list": 0, "show": 1, "enable": 1, "disable": 1, "unlock": 1,
		"require-reset": 1, "delete": 1, "set-password": 1, "add-role": 2, "remove-role": 2,
		"identities": 1, "unlink": 2}
	want, ok := nargs[sub]
	if !ok {
		fmt.Fprintf(stderr, "usher: unknown user command %q\n\n%s", sub, userUsage)
		return errUsage
	}
	switch sub {
	case "add":
		fs.StringVar(&username, "username", "", "username")
		fs.Var(&roles, "role", "give a role (repeatable)")
		fs.Var(&profile, "profile", "set a profile field, key=value (repeatable)")
		fs.BoolVar(&disabled, "disabled", false, "create the account disabled")
		fs.BoolVar(&confirmed, "confirmed", false, "mark the email address as confirmed")
		fs.StringVar(&pwHash, "import-hash", "", "import an existing hash (argon2id, bcrypt, passlib's and Werkzeug's formats)")
		fs.BoolVar(&noPassword, "no-password", false, "create the user without a password: they cannot log in with one until it is set")
		fallthrough
	case "set-password":
		fs.StringVar(&pw, "password", "", "the password (visible in the process list; prefer --password-stdin)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "list":
		fs.StringVar(&search, "search", "", "only users whose email or username contains TEXT")
		fs.StringVar(&role, "role", "", "only users with ROLE")
		fs.IntVar(&limit, "limit", 100, "at most N users")
		fs.IntVar(&offset, "offset", 0, "skip N users")
		fallthrough
	case "show", "identities":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}
	positional, err := parseArgs(fs, args, want, userUsage, stderr)
	if err != nil {
		return err
	}
	if sub == "add" {
		if err := checkPasswordChoice(pw != "" || pwStdin, pwHash != "", noPassword, stderr); err != nil {
			return err
		}
	}
	if pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return errors.New("no password on standard input")
		}
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.Service
	ctx = usher.WithActor(ctx, cliActor(getenv))

	if sub == "add" {
		p := map[string]string{}
		for _, kv := range profile {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("--profile %q: want key=value", kv)
			}
			p[k] = v
		}
		u, err := svc.CreateUser(ctx, usher.NewUser{
			Email: positional[0], Username: username, Password: pw, PasswordHash: pwHash,
			Profile: p, Roles: roles, Enabled: !disabled, Confirmed: confirmed,
		})
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "created user %s (%s)\n", u.ID, u.Email)
		if noPassword {
			fmt.Fprintln(stdout, "It has no password, so it cannot log in with one until one is set (usher user set-password, or a password reset by email).")
		}
		return nil
	}
	if sub == "list" {
		list, total, err := svc.ListUsers(ctx, usher.UserQuery{Search: search, Role: role, Limit: limit, Offset: offset})
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"total": total, "users": usersJSON(list)})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tUSERNAME\tENABLED\tCONFIRMED\tROLES\tLAST LOGIN")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\t%s\n", u.ID, u.Email, u.Username, u.Enabled, u.EmailConfirmed(),
				strings.Join(u.Roles, ","), when(u.LastLoginAt))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d of %d user(s)\n", len(list), total)
		return nil
	}

	u, err := svc.FindUser(ctx, positional[0])
	if errors.Is(err, usher.ErrNotFound) {
		return fmt.Errorf("no user %q", positional[0])
	}
	if err != nil {
		return err
	}
	done := func(what string) error {
		fmt.Fprintf(stdout, "%s: %s\n", u.Email, what)
		return nil
	}
	switch sub {
	case "show":
		sessions, err := svc.ListSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"user": usersJSON([]*usher.User{u})[0], "sessions": len(sessions)})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, row := range [][2]string{
			{"id", u.ID}, {"email", u.Email}, {"username", u.Username},
			{"enabled", fmt.Sprint(u.Enabled)}, {"email confirmed", when(u.EmailConfirmedAt)},
			{"signed up", when(u.SignedUpAt)}, {"last login", when(u.LastLoginAt)},
			{"password failures", fmt.Sprint(u.PasswordFailures)}, {"locked at", when(u.LockedAt)},
			{"password reset required", fmt.Sprint(u.PasswordResetRequired)},
			{"roles", strings.Join(u.Roles, ", ")}, {"live sessions", fmt.Sprint(len(sessions))},
		} {
			fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
		}
		for k, v := range u.Profile {
			fmt.Fprintf(tw, "profile %s:\t%s\n", k, v)
		}
		return tw.Flush()
	case "enable":
		return orDone(svc.EnableUser(ctx, u.ID), done, "enabled")
	case "disable":
		return orDone(svc.DisableUser(ctx, u.ID), done, "disabled; their sessions have ended")
	case "unlock":
		return orDone(svc.UnlockUser(ctx, u.ID), done, "unlocked")
	case "require-reset":
		return orDone(svc.RequirePasswordReset(ctx, u.ID), done, "must set a new password at next log-in")
	case "delete":
		return orDone(svc.DeleteUser(ctx, u.ID), done, "deleted")
	case "set-password":
		if pw == "" {
			return fmt.Errorf("give the password with --password or --password-stdin")
		}
		return orDone(explain(svc.SetPassword(ctx, u.ID, pw)), done, "password set; their sessions have ended")
	case "add-role":
		return orDone(explain(svc.AddRole(ctx, u.ID, positional[1])), done, "role "+positional[1]+" added")
	case "remove-role":
		return orDone(explain(svc.RemoveRole(ctx, u.ID, positional[1])), done, "role "+positional[1]+" removed")
	case "identities":
		return listIdentities(ctx, svc, u, asJSON, stdout)
	case "unlink":
		id, err := identityAt(ctx, svc, u, positional[1])
		if err != nil {
			return err
		}
		return orDone(explain(svc.UnlinkIdentity(ctx, u.ID, id.ID, usher.Client{})), done,
			"unlinked from "+id.Provider+" ("+id.Issuer+"); a notice was sent to them")
	}
	return nil
}

// listIdentities prints the user's identities, as a table or as the JSON
// of GET /user/api/identities (never their subjects).
func listIdentities(ctx context.Context, svc *usher.Service, u *usher.User, asJSON bool, stdout io.Writer) error {
	list, err := svc.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]map[string]any, len(list))
		for i, id := range list {
			out[i] = map[string]any{"id": id.ID, "provider": id.Provider, "issuer": id.Issuer, "email": id.Email,
				"linked_at": jsonTime(id.LinkedAt), "last_used_at": jsonTime(id.LastUsedAt)}
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"identities": out})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROVIDER\tISSUER\tEMAIL\tLINKED\tLAST USED")
	for _, id := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id.ID, id.Provider, id.Issuer, id.Email, when(id.LinkedAt), when(id.LastUsedAt))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d identity(ies)\n", len(list))
	return nil
}

// identityAt finds the user's identity named by which: its ID, or the
// provider's name when the user has one identity there.
func identityAt(ctx context.Context, svc *usher.Service, u *usher.User, which string) (*usher.Identity, error) {
	list, err := svc.Identities(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var found []*usher.Identity
	for _, id := range list {
		if id.ID == which {
			return id, nil
		}
		if id.Provider == which {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s has no identity at %q (see usher user identities %s)", u.Email, which, u.Email)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%s has %d identities at %q: give the ID of the one to unlink (see usher user identities %s)", u.Email, len(found), which, u.Email)
}

// parsePositional parses args with fs, the flags before, between or
// after the positional arguments, and returns those.
func parsePositional(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for rest := args; ; {
		if err := parse(fs, rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
}

// parseArgs parses args into fs, letting flags come after the arguments
// too (usher user show bob --json), and returns the arguments: want of
// them, or errUsage after saying so with usage.
func parseArgs(fs *flag.FlagSet, args []string, want int, usage string, stderr io.Writer) ([]string, error) {
	positional, err := parsePositional(fs, args)
	if err != nil {
		return nil, err
	}
	if len(positional) != want {
		fmt.Fprintf(stderr, "usher %s: want %d argument(s), got %d\n\n%s", fs.Name(), want, len(positional), usage)
		return nil, errUsage
	}
	return positional, nil
}

// openConfigured loads the settings the flags, environment and file give
// and opens the app for a command that must not change the schema.
func openConfigured(ctx context.Context, cf *configFlags, getenv func(string) string) (*app.App, error) {
	cfg, err := cf.load(getenv)
	if err != nil {
		return nil, err
	}
	return openExisting(ctx, cfg)
}

func orDone(err error, done func(string) error, what string) error {
	if err != nil {
		return err
	}
	return done(what)
}

// checkPasswordChoice insists that user add is told how the user will log
// in: a password, an imported hash, or deliberately none.
func checkPasswordChoice(password, hash, none bool, stderr io.Writer) error {
	n := 0
	for _, b := range []bool{password, hash, none} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		fmt.Fprintln(stderr, "usher user add: give a password (--password or --password-stdin), an existing hash (--import-hash), "+
			"or --no-password to create a user who cannot log in with a password until one is set.")
		return errUsage
	case n > 1:
		fmt.Fprintln(stderr, "usher user add: give only one of --password/--password-stdin, --import-hash and --no-password.")
		return errUsage
	}
	return nil
}

// openExisting opens the app for a command that must not change the
// schema, and says what to do when the database is missing or old.
func openExisting(ctx context.Context, cfg app.Config) (*app.App, error) {
	a, err := app.OpenExisting(ctx, cfg, quietLogger())
	if errors.Is(err, sqlstore.ErrSchemaNotCurrent) {
		return nil, fmt.Errorf("%v. Run `usher migrate` (or start `usher serve`) to create or upgrade it", strings.TrimPrefix(err.Error(), "sqlstore: "))
	}
	return a, err
}

// explain turns Service errors into sentences for the terminal.
func explain(err error) error {
	var ve *usher.ValidationError
	var pe *usher.PasswordError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		// The pages' English words: "email: This is not a valid email address."
		var parts []string
		for f, m := range ve.Fields {
			parts = append(parts, f+": "+i18n.Default().Text("en", m))
		}
		sort.Strings(parts)
		return errors.New(strings.Join(parts, " "))
	case errors.As(err, &pe):
		switch pe.Reason {
		case usher.MsgPasswordTooShort:
			return fmt.Errorf("password not acceptable: at least %d characters", pe.Min)
		case usher.MsgPasswordTooLong:
			return fmt.Errorf("password not acceptable: at most %d characters", pe.Max)
		case usher.MsgPasswordCommon:
			return errors.New("password not acceptable: it is a commonly used or breached password")
		}
		return fmt.Errorf("password not acceptable (%s)", strings.ReplaceAll(pe.Reason, "_", " "))
	case errors.Is(err, usher.ErrUserExists):
		return errors.New("a user with this email address or username already exists")
	case errors.Is(err, usher.ErrLastLoginMethod):
		return errors.New("this is the user's only way to log in: set a password first (usher user set-password), or link another identity")
	}
	return err
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonTime returns t for JSON, or nil (null) for the zero time, as the
// JSON API writes a time that has not happened.
func jsonTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func usersJSON(list []*usher.User) []map[string]any {
	out := make([]map[string]any, len(list))
	for i, u := range list {
		out[i] = map[string]any{
			"id": u.ID, "email": u.Email, "username": u.Username, "enabled": u.Enabled,
			"email_confirmed": u.EmailConfirmed(), "signed_up_at": jsonTime(u.SignedUpAt), "last_login_at": jsonTime(u.LastLoginAt),
			"password_failures": u.PasswordFailures, "roles": u.Roles, "profile": u.Profile,
		}
	}
	return out
}
