package usher

import (
	"context"
	"time"
)

// The audit log is the events table read as a whole: every security event
// and admin action, append-only (no API changes or deletes an entry; the
// background worker deletes entries older than Config.AuditRetention), and
// kept when the user it is about is deleted.

// Actor kinds: who made a change.
const (
	ActorUser   = "user"   // the user themselves (or, with no ID, an unknown visitor)
	ActorAdmin  = "admin"  // an admin, through the admin console or API
	ActorAPIKey = "apikey" // a program holding an admin API key
	ActorCLI    = "cli"    // the usher command line
	ActorSystem = "system" // Go code calling an admin operation without saying who
)

// Actor is who made the change an event records. Kind is one of the
// Actor... constants; ID names the acting user or API key ("" for the
// command line or the system) and Name is for people reading the log (an
// e-mail address, a key's label, the operating-system user).
type Actor struct {
	Kind string
	ID   string
	Name string
}

type actorKey struct{}
type clientKey struct{}

// WithActor returns a context that makes every event recorded under it say
// that a acted. Handlers of the admin console and API wrap each request's
// context with it; without it, an event's actor is the user it is about
// (ActorUser), and an admin operation's (admin.go) is ActorSystem.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor set by WithActor, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// WithClient returns a context whose events record c's address and user
// agent when the operation has no Client of its own: the admin operations
// (EnableUser, DeleteUser, ...) take none, so an admin handler passes the
// admin's request this way.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// asAdmin is the context of an admin operation: its events are the
// system's unless the caller said who acts (WithActor).
func asAdmin(ctx context.Context) context.Context {
	if _, ok := ActorFrom(ctx); ok {
		return ctx
	}
	return WithActor(ctx, Actor{Kind: ActorSystem})
}

// eventActor is who an event of userID's recorded under ctx is by.
func eventActor(ctx context.Context, userID string) Actor {
	if a, ok := ActorFrom(ctx); ok {
		return a
	}
	return Actor{Kind: ActorUser, ID: userID}
}

// eventClient is the client an event recorded under ctx names: c, or when
// c is empty the one given by WithClient.
func eventClient(ctx context.Context, c Client) Client {
	if c != (Client{}) {
		return c
	}
	if cc, ok := ctx.Value(clientKey{}).(Client); ok {
		return cc
	}
	return c
}

// AuditQuery selects entries of the audit log; zero fields select all.
type AuditQuery struct {
	UserID    string   // events about this user (the target)
	Actor     string   // events by this actor (Actor.ID)
	ActorKind string   // events by this kind of actor
	Types     []string // events of these types (Event... constants)
	Since     time.Time
	Until     time.Time // events at or after Since and before Until
	// Before is the keyset cursor: only events with an ID below it (the
	// last ID of the previous page); 0 = from the newest.
	Before int64
	Limit  int // 0 means 100; at most 1000
}

// maxAuditPage bounds one page of the audit log.
const maxAuditPage = 1000

// AuditLog returns entries of the audit log matching q, newest first (by
// ID, the order they were written in), at most q.Limit. For the next page
// pass the last entry's ID as q.Before; a page shorter than the limit is
// the last.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) ([]*Event, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, maxAuditPage)
	return s.store.QueryEvents(ctx, q)
}

// pruneAudit deletes audit entries older than AuditRetention (Sweep).
func (s *Service) pruneAudit(ctx context.Context, now time.Time) {
	if s.cfg.AuditRetention < 0 {
		return
	}
	if _, err := s.store.DeleteEventsBefore(ctx, now.Add(-s.cfg.AuditRetention)); err != nil {
		s.log.Error("usher: deleting old audit log entries", "err", err)
	}
}
