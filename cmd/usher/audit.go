package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usher-auth/usher"
)

// cliActor is who acts in `usher user ...` commands, for the audit log:
// the command line, named by the operating-system user running it.
func cliActor(getenv func(string) string) usher.Actor {
	return usher.Actor{Kind: usher.ActorCLI, Name: getenv("USER")}
}

// cmdAudit prints the audit log, newest first:
// usher audit [--user U] [--since T] [--kind K] [--limit N] [--json].
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("audit", "usher audit [--user USER] [--since T] [--kind TYPE[,TYPE...]] [--limit N] [--json] [flags]", stderr)
	cf := addConfigFlags(fs)
	user := fs.String("user", "", "only entries about USER (an ID, email address or username)")
	since := fs.String("since", "", "only entries since T: an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (24h)")
	kind := fs.String("kind", "", "only entries of these event types, comma-separated (login_failed,lockout)")
	limit := fs.Int("limit", 100, "at most N entries")
	asJSON := fs.Bool("json", false, "print JSON, one object per line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	q := usher.AuditQuery{Limit: *limit}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return err
		}
		q.Since = t
	}
	for _, k := range strings.Split(*kind, ",") {
		if k = strings.TrimSpace(k); k != "" {
			q.Types = append(q.Types, k)
		}
	}
	a, err := openConfigured(ctx, cf, getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	if *user != "" {
		u, err := a.Service.FindUser(ctx, *user)
		switch {
		case errors.Is(err, usher.ErrNotFound):
			// A deleted user's entries stay, under their ID.
			q.UserID = strings.TrimSpace(*user)
		case err != nil:
			return err
		default:
			q.UserID = u.ID
		}
	}
	evs, err := a.Service.AuditLog(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range evs {
			if err := enc.Encode(eventJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tEVENT\tUSER\tACTOR\tIP\tDETAIL")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, when(e.At), e.Type, dash(e.UserID), actorText(e.Actor), dash(e.IP), e.Detail)
	}
	return tw.Flush()
}

// parseSince reads --since: an RFC 3339 time, or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration such as 24h", s)
}

// eventJSON is an audit entry as `usher audit --json` prints it.
func eventJSON(e *usher.Event) map[string]any {
	return map[string]any{
		"id": e.ID, "at": e.At, "type": e.Type, "user_id": e.UserID,
		"actor": map[string]string{"kind": e.Actor.Kind, "id": e.Actor.ID, "name": e.Actor.Name},
		"ip":    e.IP, "user_agent": e.UserAgent, "detail": e.Detail,
	}
}

// actorText is an actor in the table: kind, then name or ID.
func actorText(a usher.Actor) string {
	switch {
	case a.Kind == "":
		return "-"
	case a.Name != "":
		return a.Kind + ":" + a.Name
	case a.ID != "":
		return a.Kind + ":" + a.ID
	}
	return a.Kind
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
