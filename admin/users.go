package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/web"
)

// pageSize is how many users a page of the table shows.
const pageSize = 50

// usersPage is the users table: the search form and filters, one page of
// users, and the link to the next page (keyset: after the last user
// shown, so that sign-ups meanwhile do not shift it).
func (a *Handler) usersPage(w http.ResponseWriter, r *http.Request, me admin) {
	v := r.URL.Query()
	if !v.Has("desc") {
		v.Set("desc", "true") // newest first unless asked otherwise
	}
	q, err := web.UserQueryOf(v, pageSize)
	var list []*usher.User
	total := 0
	if err == nil {
		list, total, err = a.svc.ListUsers(r.Context(), q)
	}
	if err != nil {
		a.pages.Render(w, r, 0, "admin_users", web.Page{Form: v, Err: err, Data: a.usersData(r, nil)})
		return
	}
	data := a.usersData(r, list)
	data["total"] = total
	if len(list) == q.Limit {
		data["next"] = pageURL(a.base, v, "cursor", q.Cursor(list[len(list)-1]))
	}
	if q.After != "" {
		data["first"] = pageURL(a.base, v, "cursor", "")
	}
	a.pages.Render(w, r, http.StatusOK, "admin_users", web.Page{Form: v, Data: data})
}

// pageURL is path with the query v, its cursor parameter key set to
// cursor ("" leaves it out: the first page): the link to another page of
// a keyset-paged list.
func pageURL(path string, v url.Values, key, cursor string) string {
	q := url.Values{}
	for k, vals := range v {
		q[k] = vals
	}
	q.Del(key)
	if cursor != "" {
		q.Set(key, cursor)
	}
	return path + "?" + q.Encode()
}

// usersData is what the users table shows besides the users: the roles
// and providers to filter by.
func (a *Handler) usersData(r *http.Request, list []*usher.User) map[string]any {
	roles, _ := a.svc.ListRoles(r.Context())
	var providers []string
	for _, p := range a.svc.Providers() {
		providers = append(providers, p.Name())
	}
	return map[string]any{"users": list, "roles": roles, "providers": providers, "adminRole": a.role}
}

// userPage is one user: their details and every action on them.
func (a *Handler) userPage(w http.ResponseWriter, r *http.Request, me admin) {
	id := r.PathValue("id")
	ctx := r.Context()
	u, err := a.svc.User(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		a.notFound(w, r)
		return
	}
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	sessions, err := a.svc.ListSessions(ctx, id)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	methods, err := a.svc.ListMFAMethods(ctx, id)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	ids, err := a.svc.Identities(ctx, id)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	events, err := a.svc.Events(ctx, id, 20)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	form := url.Values{}
	for k, val := range u.Profile {
		form.Set(k, val)
	}
	a.pages.Render(w, r, http.StatusOK, "admin_user", web.Page{Form: form, Data: map[string]any{
		"u": u, "self": u.ID == me.user.ID, "sessions": sessions, "methods": methods,
		"identities": ids, "events": events, "adminRole": a.role,
	}})
}

func (a *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	a.pages.Render(w, r, http.StatusNotFound, "admin_message", web.Page{Data: map[string]any{
		"title": tr("No such user"), "text": tr("There is no user with this ID: they may have been deleted."),
	}})
}

// eventsPageSize is how many entries a page of the audit log shows.
const eventsPageSize = 100

// auditQueryOf reads the audit log page's filters: user (the target: an
// ID, an e-mail address or a username; an ID of a deleted user works),
// actor (an admin's ID, address or username, or an API key's ID or name),
// actor_kind, kind (an event type, or several comma-separated), since and
// until (dates, YYYY-MM-DD, UTC; until includes its day) and before (the
// keyset cursor: the ID of the previous page's last entry).
func (a *Handler) auditQueryOf(r *http.Request) (usher.AuditQuery, error) {
	v := r.URL.Query()
	ctx := r.Context()
	q := usher.AuditQuery{ActorKind: v.Get("actor_kind"), Limit: eventsPageSize}
	if ref := strings.TrimSpace(v.Get("user")); ref != "" {
		q.UserID = ref
		if u, err := a.svc.FindUser(ctx, ref); err == nil {
			q.UserID = u.ID
		}
	}
	if ref := strings.TrimSpace(v.Get("actor")); ref != "" {
		q.Actor = ref
		if u, err := a.svc.FindUser(ctx, ref); err == nil {
			q.Actor = u.ID
		} else if keys, err := a.svc.ListAPIKeys(ctx); err == nil {
			for _, k := range keys {
				if k.Name == ref {
					q.Actor = k.ID
				}
			}
		}
	}
	for _, t := range strings.Split(v.Get("kind"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			q.Types = append(q.Types, t)
		}
	}
	bad := map[string]string{}
	for _, d := range []struct {
		name string
		to   *time.Time
		add  time.Duration
	}{{"since", &q.Since, 0}, {"until", &q.Until, 24 * time.Hour}} {
		if s := strings.TrimSpace(v.Get(d.name)); s != "" {
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				bad[d.name] = usher.MsgInvalidFormat
				continue
			}
			*d.to = t.Add(d.add)
		}
	}
	if s := v.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			bad["before"] = usher.MsgInvalidFormat
		}
		q.Before = n
	}
	if len(bad) > 0 {
		return q, &usher.ValidationError{Fields: bad}
	}
	return q, nil
}

// auditEntry is a row of the audit log page: the entry, and its target's
// address (or, for a deleted user, none: the page shows the ID).
type auditEntry struct {
	*usher.Event
	Target  string // the target user's e-mail address, "" if none or deleted
	Deleted bool   // the target user no longer exists
}

// eventsPage is the audit log: entries newest first, filtered by target
// user, actor, kind of actor, event type and dates, a page at a time
// (keyset: before the last entry shown, so that new entries do not shift
// the pages), each with who acted, from where, and on whom.
func (a *Handler) eventsPage(w http.ResponseWriter, r *http.Request, me admin) {
	v := r.URL.Query()
	fields := []string{"user", "actor", "actor_kind", "kind", "since", "until", "before"}
	q, err := a.auditQueryOf(r)
	if err != nil {
		a.pages.Render(w, r, 0, "admin_events", web.Page{Form: v, Err: err, Fields: fields})
		return
	}
	events, err := a.svc.AuditLog(r.Context(), q)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	entries := make([]auditEntry, len(events))
	users := map[string]*usher.User{}
	for i, e := range events {
		entries[i].Event = e
		if e.UserID == "" {
			continue
		}
		u, seen := users[e.UserID]
		if !seen {
			u, err = a.svc.User(r.Context(), e.UserID)
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				a.failed(w, r, "", err)
				return
			}
			users[e.UserID] = u
		}
		if u != nil {
			entries[i].Target = u.Email
		} else {
			entries[i].Deleted = true
		}
	}
	data := map[string]any{"events": entries, "kinds": []string{usher.ActorAdmin, usher.ActorAPIKey, usher.ActorCLI, usher.ActorSystem, usher.ActorUser}}
	if len(events) == eventsPageSize {
		data["next"] = pageURL(a.base+"/events", v, "before", strconv.FormatInt(events[len(events)-1].ID, 10))
	}
	if q.Before != 0 {
		data["first"] = pageURL(a.base+"/events", v, "before", "")
	}
	a.pages.Render(w, r, http.StatusOK, "admin_events", web.Page{Form: v, Data: data})
}
