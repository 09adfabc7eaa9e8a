package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// testQueryEvents: QueryEvents filters by target, actor, actor kind,
// types and time, newest first, and pages by the keyset cursor without
// gaps or repeats; the actor reads back as written.
func testQueryEvents(t *testing.T, h *harness[eventsStore]) {
	s := h.s
	admin := usher.Actor{Kind: usher.ActorAdmin, ID: "admin-1", Name: "root@example.com"}
	type row struct {
		user, typ string
		actor     usher.Actor
		off       time.Duration
	}
	rows := []row{
		{"u1", usher.EventLogin, usher.Actor{Kind: usher.ActorUser, ID: "u1"}, 0},
		{"u2", usher.EventLoginFailed, usher.Actor{Kind: usher.ActorUser, ID: "u2"}, 1},
		{"u1", usher.EventDisabled, admin, 2},
		{"u2", usher.EventRoleAdded, admin, 3},
		{"u1", usher.EventLogin, usher.Actor{Kind: usher.ActorUser, ID: "u1"}, 4},
		{"u1", usher.EventDeleted, usher.Actor{Kind: usher.ActorCLI, Name: "ops"}, 5},
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		e := &usher.Event{UserID: r.user, Type: r.typ, Actor: r.actor, IP: "192.0.2.1", UserAgent: "ua", Detail: fmt.Sprint(i), At: at(r.off * time.Second)}
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID
	}
	tests := []struct {
		name string
		q    usher.AuditQuery
		want []int // rows, in order
	}{
		{"all", usher.AuditQuery{}, []int{5, 4, 3, 2, 1, 0}},
		{"user", usher.AuditQuery{UserID: "u1"}, []int{5, 4, 2, 0}},
		{"actor", usher.AuditQuery{Actor: "admin-1"}, []int{3, 2}},
		{"actor kind", usher.AuditQuery{ActorKind: usher.ActorCLI}, []int{5}},
		{"types", usher.AuditQuery{Types: []string{usher.EventLogin, usher.EventRoleAdded}}, []int{4, 3, 0}},
		{"since", usher.AuditQuery{Since: at(3 * time.Second)}, []int{5, 4, 3}},
		{"until", usher.AuditQuery{Until: at(2 * time.Second)}, []int{1, 0}},
		{"user and type", usher.AuditQuery{UserID: "u1", Types: []string{usher.EventLogin}}, []int{4, 0}},
		{"limit", usher.AuditQuery{Limit: 2}, []int{5, 4}},
		{"before", usher.AuditQuery{Before: ids[3], Limit: 2}, []int{2, 1}},
		{"nothing", usher.AuditQuery{UserID: "nobody"}, nil},
	}
	for _, tt := range tests {
		got, err := s.QueryEvents(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var gotRows []int
		for _, e := range got {
			gotRows = append(gotRows, slices.Index(ids, e.ID))
		}
		if !slices.Equal(gotRows, tt.want) {
			t.Errorf("QueryEvents(%s) = rows %v, want %v", tt.name, gotRows, tt.want)
		}
	}
	got, err := s.QueryEvents(ctx, usher.AuditQuery{Actor: "admin-1", Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("QueryEvents(actor) = %v, %v", got, err)
	}
	if e := got[0]; e.Actor != admin || e.UserID != "u2" || e.Type != usher.EventRoleAdded || e.IP != "192.0.2.1" ||
		e.UserAgent != "ua" || e.Detail != "3" || !e.At.Equal(at(3*time.Second)) {
		t.Errorf("event read back as %+v", *e)
	}
	// Paging through everything, two at a time, meets each once.
	var seen []int64
	for before := int64(0); ; {
		page, err := s.QueryEvents(ctx, usher.AuditQuery{Before: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			seen = append(seen, e.ID)
		}
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].ID
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Errorf("paged IDs %v, want %v", seen, want)
	}
}

// testDeleteEventsBefore: retention removes only events older than the
// cut-off.
func testDeleteEventsBefore(t *testing.T, h *harness[eventsStore]) {
	s := h.s
	for i := range 4 {
		if err := s.AddEvent(ctx, &usher.Event{UserID: "u", Type: usher.EventLogin, At: at(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteEventsBefore(ctx, at(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteEventsBefore = %d, %v; want 2", n, err)
	}
	left, err := s.ListEvents(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || !left[0].At.Equal(at(3*time.Hour)) || !left[1].At.Equal(at(2*time.Hour)) {
		t.Errorf("left %v; want the events at +3h and +2h", left)
	}
}

// testEventsOutliveUser: deleting a user keeps the events about them,
// with the target as an ID.
func testEventsOutliveUser(t *testing.T, h *harness[eventsStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("gone@example.com", ""))
	if err := s.AddEvent(ctx, &usher.Event{UserID: u.ID, Type: usher.EventLogin, At: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvent(ctx, &usher.Event{UserID: u.ID, Type: usher.EventDeleted, At: at(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryEvents(ctx, usher.AuditQuery{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Type != usher.EventDeleted || got[1].Type != usher.EventLogin || got[1].UserID != u.ID {
		t.Errorf("events of the deleted user: %v; want deleted, login", got)
	}
}

// testCountUnsentMessages: the outbox's depth counts what is not sent.
func testCountUnsentMessages(t *testing.T, h *harness[usher.OutboxStore]) {
	s := h.s
	if n, err := s.CountUnsentMessages(ctx); err != nil || n != 0 {
		t.Fatalf("empty outbox: %d, %v", n, err)
	}
	var ids []int64
	for i := range 3 {
		m := &usher.Message{Kind: usher.MailConfirmEmail, To: fmt.Sprintf("d%d@example.com", i), CreatedAt: base, NextAttemptAt: base}
		if err := s.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if err := s.MarkMessageSent(ctx, ids[0], at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMessageFailed(ctx, ids[1], "no", at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUnsentMessages(ctx); err != nil || n != 2 {
		t.Errorf("CountUnsentMessages = %d, %v; want 2 (a failed one is still unsent)", n, err)
	}
}
