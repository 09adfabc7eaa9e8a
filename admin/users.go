package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/usher-auth/usher"
	"github.com/usher-auth/usher/web"
)

// pageSize is how many users a page of the table shows.
const pageSize = 50

// tristate reads a filter that is yes, no or either ("").
func tristate(v string) *bool {
	switch v {
	case "yes":
		t := true
		return &t
	case "no":
		f := false
		return &f
	}
	return nil
}

// queryOf reads the users table's query from the URL: q, field, exact,
// the filters, sort and dir (newest first unless dir=asc), after.
func queryOf(v url.Values) usher.UserQuery {
	q := usher.UserQuery{
		Search: strings.TrimSpace(v.Get("q")), Field: v.Get("field"), Exact: v.Get("exact") == "1",
		Role: strings.TrimSpace(v.Get("role")), Provider: v.Get("provider"),
		Enabled: tristate(v.Get("enabled")), Locked: tristate(v.Get("locked")),
		Confirmed: tristate(v.Get("confirmed")), HasMFA: tristate(v.Get("mfa")),
		Sort: v.Get("sort"), Desc: v.Get("dir") != "asc", After: v.Get("after"), Limit: pageSize,
	}
	if q.Sort == usher.SortSignedUp {
		q.Sort = ""
	}
	return q
}

// usersPage is the users table: the search form and filters, one page of
// users, and the link to the next page (keyset: after the last user
// shown, so that sign-ups meanwhile do not shift it).
func (a *Handler) usersPage(w http.ResponseWriter, r *http.Request, me admin) {
	v := r.URL.Query()
	q := queryOf(v)
	list, total, err := a.svc.ListUsers(r.Context(), q)
	if err != nil {
		a.pages.Render(w, r, 0, "admin_users", web.Page{Form: v, Err: err, Data: a.usersData(r, nil)})
		return
	}
	data := a.usersData(r, list)
	data["total"] = total
	if len(list) == pageSize {
		next := url.Values{}
		for k, vals := range v {
			next[k] = vals
		}
		next.Set("after", q.Cursor(list[len(list)-1]))
		data["next"] = a.base + "?" + next.Encode()
	}
	if q.After != "" {
		first := url.Values{}
		for k, vals := range v {
			first[k] = vals
		}
		first.Del("after")
		data["first"] = a.base + "?" + first.Encode()
	}
	a.pages.Render(w, r, http.StatusOK, "admin_users", web.Page{Form: v, Data: data})
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

// eventsPage is the audit log: the newest events of everyone, each with a
// link to its user's page.
func (a *Handler) eventsPage(w http.ResponseWriter, r *http.Request, me admin) {
	events, err := a.svc.Events(r.Context(), "", 100)
	if err != nil {
		a.failed(w, r, "", err)
		return
	}
	a.pages.Render(w, r, http.StatusOK, "admin_events", web.Page{Data: map[string]any{"events": events}})
}
