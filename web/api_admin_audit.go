package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usher-auth/usher"
)

// The admin API's audit log: GET /user/api/admin/audit, over the Store's
// EventsSince, oldest first, filtered here.
// TODO(merge): the audit log's Service.AuditLog query replaces the scan
// below; the parameters and the answer stay.

// auditChunk and auditScanMax bound the work of one request: events are
// read auditChunk at a time, at most auditScanMax of them; a page that
// has not filled by then ends with a cursor to carry on from.
const (
	auditChunk   = 500
	auditScanMax = 20 * auditChunk
)

// eventJSON is an audit event as the admin API shows it. For an admin
// action, Actor is the admin's user ID or "apikey:<name>" and Action what
// they did.
type eventJSON struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	UserID    string    `json:"user_id"`
	Actor     string    `json:"actor,omitempty"`
	Action    string    `json:"action,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail"`
	At        time.Time `json:"at"`
}

// adminActionFields returns the actor and action of an admin action's
// Detail ("actor=X action=Y ..."), or "" "".
func adminActionFields(e *usher.Event) (actor, action string) {
	if e.Type != usher.EventAdminAction {
		return "", ""
	}
	for _, f := range strings.Fields(e.Detail) {
		if v, ok := strings.CutPrefix(f, "actor="); ok && actor == "" {
			actor = v
		} else if v, ok := strings.CutPrefix(f, "action="); ok && action == "" {
			action = v
		}
	}
	return actor, action
}

func toEventJSON(e *usher.Event) eventJSON {
	j := eventJSON{ID: e.ID, Type: e.Type, UserID: e.UserID, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail, At: e.At}
	j.Actor, j.Action = adminActionFields(e)
	return j
}

// auditQuery is the audit log's parameters.
type auditQuery struct {
	user, actor, kind string
	since, until      time.Time // until zero = no end
	afterAt           time.Time // the cursor: events after (afterAt, afterID)
	afterID           int64
	limit             int
}

// matches reports whether e passes the query's filters (not the cursor).
func (q *auditQuery) matches(e *usher.Event) bool {
	if q.user != "" && e.UserID != q.user || q.kind != "" && e.Type != q.kind {
		return false
	}
	if q.actor != "" {
		if actor, _ := adminActionFields(e); actor != q.actor {
			return false
		}
	}
	return true
}

// parseAuditQuery reads the parameters; bad ones are a *ValidationError.
func parseAuditQuery(r *http.Request) (*auditQuery, error) {
	v := r.URL.Query()
	q := &auditQuery{user: v.Get("user"), actor: v.Get("actor"), kind: v.Get("kind")}
	var err error
	if q.limit, err = queryLimit(r, 100, 1000); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.since}, {"until", &q.until}} {
		if s := v.Get(p.name); s != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, invalid(p.name, usher.MsgInvalidFormat)
			}
		}
	}
	if c := v.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		at, id, ok := strings.Cut(string(b), ".")
		us, err1 := strconv.ParseInt(at, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if err != nil || !ok || err1 != nil || err2 != nil {
			return nil, invalid("cursor", usher.MsgInvalidFormat)
		}
		q.afterAt, q.afterID = time.UnixMicro(us), n
	}
	return q, nil
}

func encodeAuditCursor(e *usher.Event) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.At.UnixMicro(), 10) + "." + strconv.FormatInt(e.ID, 10)))
}

// handleAudit serves GET /user/api/admin/audit?user=&actor=&kind=&since=&until=&limit=&cursor=:
// events oldest first, and next_cursor while there may be more.
func (h *adminHandler) handleAudit(w http.ResponseWriter, r *http.Request, c *adminCaller) {
	q, err := parseAuditQuery(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, last, more, err := h.scanAudit(r, q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := map[string]any{"events": out, "next_cursor": nil}
	if more && last != nil {
		body["next_cursor"] = encodeAuditCursor(last)
	}
	writeJSON(w, http.StatusOK, body)
}

// scanAudit reads events from the query's start (since, or after the
// cursor) and returns those that match, up to the limit; last is the last
// event looked at and more says whether a next page may have more.
func (h *adminHandler) scanAudit(r *http.Request, q *auditQuery) (out []eventJSON, last *usher.Event, more bool, err error) {
	out = []eventJSON{}
	from := q.since
	if from.IsZero() {
		from = time.Unix(0, 0) // the Store keeps a zero time as NULL
	}
	if q.afterAt.After(from) {
		from = q.afterAt
		last = &usher.Event{At: q.afterAt, ID: q.afterID}
	}
	for scanned := 0; ; {
		evs, err := h.svc.Store().EventsSince(r.Context(), from, auditChunk)
		if err != nil {
			return nil, nil, false, err
		}
		progress := false
		for _, e := range evs {
			if last != nil && (e.At.Before(last.At) || e.At.Equal(last.At) && e.ID <= last.ID) {
				continue // before the cursor, or read in the chunk before
			}
			if !q.until.IsZero() && e.At.After(q.until) {
				return out, last, false, nil
			}
			progress, last = true, e
			scanned++
			if q.matches(e) {
				out = append(out, toEventJSON(e))
				if len(out) == q.limit {
					return out, last, true, nil
				}
			}
			if scanned >= auditScanMax {
				return out, last, true, nil
			}
		}
		if len(evs) < auditChunk || !progress {
			// The end; or a whole chunk of one instant already read,
			// which EventsSince (by time) cannot get past.
			return out, last, false, nil
		}
		from = last.At
	}
}
