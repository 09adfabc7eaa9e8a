package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// The admin API's audit log: GET /user/api/admin/audit, over
// Service.AuditLog (newest first, keyset paging by event ID).

// eventJSON is an audit entry as the admin API shows it: its target
// (user_id, kept as an ID when the user is deleted), who acted (actor:
// the acting user's or API key's ID; actor_kind: an usher.Actor... kind;
// actor_name: an admin's e-mail address, a key's name) and, for a change
// made by someone other than the user (an admin, an API key, the command
// line, the system), action: what was done (the event's type).
type eventJSON struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	UserID    string    `json:"user_id"`
	Actor     string    `json:"actor,omitempty"`
	ActorKind string    `json:"actor_kind,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	Action    string    `json:"action,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail"`
	At        time.Time `json:"at"`
}

func toEventJSON(e *usher.Event) eventJSON {
	j := eventJSON{ID: e.ID, Type: e.Type, UserID: e.UserID, Actor: e.Actor.ID, ActorKind: e.Actor.Kind,
		ActorName: e.Actor.Name, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail, At: e.At}
	if e.Actor.Kind != "" && e.Actor.Kind != usher.ActorUser {
		j.Action = e.Type
	}
	return j
}

// parseAuditQuery reads the parameters user, actor, actor_kind, kind (an
// event type, or several comma-separated), since and until (RFC 3339),
// limit and cursor (the ID of the previous page's last entry); bad ones
// are a *ValidationError.
func parseAuditQuery(r *http.Request) (usher.AuditQuery, error) {
	v := r.URL.Query()
	q := usher.AuditQuery{UserID: v.Get("user"), Actor: v.Get("actor"), ActorKind: v.Get("actor_kind")}
	if k := v.Get("kind"); k != "" {
		q.Types = strings.Split(k, ",")
	}
	var err error
	if q.Limit, err = queryLimit(r, 100, 1000); err != nil {
		return q, err
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.name); s != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return q, invalid(p.name, usher.MsgInvalidFormat)
			}
		}
	}
	if c := v.Get("cursor"); c != "" {
		if q.Before, err = strconv.ParseInt(c, 10, 64); err != nil || q.Before < 1 {
			return q, invalid("cursor", usher.MsgInvalidFormat)
		}
	}
	return q, nil
}

// handleAudit serves GET /user/api/admin/audit?user=&actor=&actor_kind=&kind=&since=&until=&limit=&cursor=:
// entries newest first, and next_cursor while a full page came back.
func (h *adminHandler) handleAudit(w http.ResponseWriter, r *http.Request, c *adminCaller) {
	q, err := parseAuditQuery(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	evs, err := h.svc.AuditLog(r.Context(), q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]eventJSON, len(evs))
	for i, e := range evs {
		out[i] = toEventJSON(e)
	}
	body := map[string]any{"events": out, "next_cursor": nil}
	if len(evs) == q.Limit {
		body["next_cursor"] = strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, body)
}
