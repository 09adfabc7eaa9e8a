package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usher-auth/usher"
)

// newToken returns a token of kind for userID ("" = none), created at base
// and expiring at expires, whose hash is the SHA-256 of name.
func newToken(name, kind, userID string, expires time.Time) *usher.Token {
	h := sha256.Sum256([]byte(name))
	return &usher.Token{
		Hash:      h[:],
		Kind:      kind,
		UserID:    userID,
		Email:     name + "@example.com",
		CreatedAt: base,
		ExpiresAt: expires,
	}
}

func mustCreateToken(t *testing.T, s usher.TokenStore, tok *usher.Token) *usher.Token {
	t.Helper()
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken(%s): %v", tok.Email, err)
	}
	return tok
}

// diffToken describes how got differs from want, or returns "".
func diffToken(got, want *usher.Token) string {
	if string(got.Hash) != string(want.Hash) || got.Kind != want.Kind || got.UserID != want.UserID ||
		got.Email != want.Email || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.UsedAt.Equal(want.UsedAt) || got.Data != want.Data {
		return fmt.Sprintf("got %+v, want %+v", *got, *want)
	}
	return ""
}

// checkUse calls UseToken and checks that it returns tok used at now, or
// ErrNotFound if tok is nil.
func checkUse(t *testing.T, s usher.TokenStore, name string, hash []byte, kind string, now time.Time, tok *usher.Token) {
	t.Helper()
	got, err := s.UseToken(ctx, hash, kind, now)
	if tok == nil {
		if !errors.Is(err, usher.ErrNotFound) {
			t.Errorf("%s: UseToken = %v, %v; want ErrNotFound", name, got, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: UseToken: %v", name, err)
		return
	}
	want := *tok
	want.UsedAt = now
	if d := diffToken(got, &want); d != "" {
		t.Errorf("%s: UseToken: %s", name, d)
	}
}

func testTokens(t *testing.T, h *harness[tokensStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("tok@example.com", ""))
	reset := mustCreateToken(t, s, newToken("reset", usher.TokenResetPassword, u.ID, at(time.Hour)))
	confirm := mustCreateToken(t, s, newToken("confirm", usher.TokenConfirmEmail, u.ID, at(48*time.Hour)))
	short := mustCreateToken(t, s, newToken("short", usher.TokenLoginLink, u.ID, at(15*time.Minute)))
	invite := mustCreateToken(t, s, newToken("invite", usher.TokenInvitation, "", at(90*24*time.Hour)))

	// Used once, then never again.
	checkUse(t, s, "first use", reset.Hash, usher.TokenResetPassword, at(time.Minute), reset)
	checkUse(t, s, "second use", reset.Hash, usher.TokenResetPassword, at(2*time.Minute), nil)

	// The wrong kind does not find the token, and does not spend it.
	checkUse(t, s, "wrong kind", confirm.Hash, usher.TokenResetPassword, at(time.Minute), nil)
	checkUse(t, s, "right kind after wrong", confirm.Hash, usher.TokenConfirmEmail, at(time.Minute), confirm)

	// Expired at ExpiresAt; failed attempts do not spend it.
	checkUse(t, s, "at expiry", short.Hash, usher.TokenLoginLink, at(15*time.Minute), nil)
	checkUse(t, s, "after expiry", short.Hash, usher.TokenLoginLink, at(time.Hour), nil)
	checkUse(t, s, "just before expiry", short.Hash, usher.TokenLoginLink, at(15*time.Minute-time.Microsecond), short)

	// A token with no user.
	checkUse(t, s, "invitation", invite.Hash, usher.TokenInvitation, at(24*time.Hour), invite)

	unknown := sha256.Sum256([]byte("unknown"))
	checkUse(t, s, "unknown hash", unknown[:], usher.TokenResetPassword, base, nil)
	checkUse(t, s, "nil hash", nil, usher.TokenResetPassword, base, nil)

	if err := s.CreateToken(ctx, newToken("orphan", usher.TokenResetPassword, "no-such-user", at(time.Hour))); err == nil {
		t.Error("CreateToken(unknown user) = nil, want an error")
	}
}

func testUseTokenConcurrent(t *testing.T, h *harness[tokensStore]) {
	s1, s2 := h.s, h.open()
	u := mustCreate(t, s1, newUser("race-token@example.com", ""))
	tok := mustCreateToken(t, s1, newToken("race", usher.TokenResetPassword, u.ID, at(time.Hour)))
	const n = 20
	errs := race(n, s1, s2, func(_ int, s tokensStore) error {
		_, err := s.UseToken(ctx, tok.Hash, tok.Kind, at(time.Minute))
		return err
	})
	wantOneWinner(t, "UseToken", errs, usher.ErrNotFound)
}

func testDeleteTokens(t *testing.T, h *harness[tokensStore]) {
	s := h.s
	a := mustCreate(t, s, newUser("a-tok@example.com", ""))
	b := mustCreate(t, s, newUser("b-tok@example.com", ""))
	exp := at(time.Hour)
	old1 := mustCreateToken(t, s, newToken("a-reset-1", usher.TokenResetPassword, a.ID, exp))
	old2 := mustCreateToken(t, s, newToken("a-reset-2", usher.TokenResetPassword, a.ID, exp))
	used := mustCreateToken(t, s, newToken("a-reset-used", usher.TokenResetPassword, a.ID, exp))
	checkUse(t, s, "used", used.Hash, used.Kind, base, used)
	aConfirm := mustCreateToken(t, s, newToken("a-confirm", usher.TokenConfirmEmail, a.ID, exp))
	bReset := mustCreateToken(t, s, newToken("b-reset", usher.TokenResetPassword, b.ID, exp))
	invite := mustCreateToken(t, s, newToken("invite", usher.TokenResetPassword, "", exp))

	if n, err := s.DeleteTokens(ctx, a.ID, usher.TokenResetPassword); err != nil || n != 2 {
		t.Errorf("DeleteTokens(a, reset) = %d, %v; want 2 (the unused ones)", n, err)
	}
	checkUse(t, s, "deleted 1", old1.Hash, old1.Kind, base, nil)
	checkUse(t, s, "deleted 2", old2.Hash, old2.Kind, base, nil)
	checkUse(t, s, "other kind", aConfirm.Hash, aConfirm.Kind, base, aConfirm)
	checkUse(t, s, "other user", bReset.Hash, bReset.Kind, base, bReset)
	checkUse(t, s, "no user", invite.Hash, invite.Kind, base, invite)

	if n, err := s.DeleteTokens(ctx, a.ID, usher.TokenResetPassword); err != nil || n != 0 {
		t.Errorf("DeleteTokens again = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteTokens(ctx, "no-such-user", usher.TokenResetPassword); err != nil || n != 0 {
		t.Errorf("DeleteTokens(unknown user) = %d, %v; want 0", n, err)
	}
}

func testDeleteExpiredTokens(t *testing.T, h *harness[tokensStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("exp-tok@example.com", ""))
	e1 := mustCreateToken(t, s, newToken("e1", usher.TokenLoginLink, u.ID, at(1*time.Hour)))
	e2 := mustCreateToken(t, s, newToken("e2", usher.TokenLoginLink, u.ID, at(2*time.Hour)))
	e3 := mustCreateToken(t, s, newToken("e3", usher.TokenLoginLink, "", at(3*time.Hour)))
	if err := s.DeleteExpiredTokens(ctx, at(2*time.Hour)); err != nil {
		t.Fatalf("DeleteExpiredTokens: %v", err)
	}
	// Used at base, when none had expired: only the deleted one is gone.
	checkUse(t, s, "expired before", e1.Hash, e1.Kind, base, nil)
	checkUse(t, s, "expires at the cut-off", e2.Hash, e2.Kind, base, e2)
	checkUse(t, s, "expires after", e3.Hash, e3.Kind, base, e3)
}

func testDeleteUserTokens(t *testing.T, h *harness[tokensStore]) {
	s := h.s
	u := mustCreate(t, s, newUser("gone-tok@example.com", ""))
	keep := mustCreate(t, s, newUser("keep-tok@example.com", ""))
	gone := mustCreateToken(t, s, newToken("gone", usher.TokenConfirmEmail, u.ID, at(time.Hour)))
	kept := mustCreateToken(t, s, newToken("kept", usher.TokenConfirmEmail, keep.ID, at(time.Hour)))
	invite := mustCreateToken(t, s, newToken("invite", usher.TokenInvitation, "", at(time.Hour)))
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	checkUse(t, s, "deleted user's token", gone.Hash, gone.Kind, base, nil)
	checkUse(t, s, "other user's token", kept.Hash, kept.Kind, base, kept)
	checkUse(t, s, "token with no user", invite.Hash, invite.Kind, base, invite)
}

// newMessage returns a message to to, created at created and due at once.
func newMessage(to string, created time.Time) *usher.Message {
	return &usher.Message{
		Kind:          usher.MailResetPassword,
		To:            to,
		Locale:        "de",
		Vars:          map[string]string{"link": "https://example.com/user/reset-password/secret", "app_name": "Usher"},
		CreatedAt:     created,
		NextAttemptAt: created,
	}
}

func mustEnqueue(t *testing.T, s usher.OutboxStore, m *usher.Message) *usher.Message {
	t.Helper()
	if err := s.EnqueueMessage(ctx, m); err != nil {
		t.Fatalf("EnqueueMessage: %v", err)
	}
	return m
}

// diffMessage describes how got differs from want, or returns "".
func diffMessage(got, want *usher.Message) string {
	var d []string
	if got.ID != want.ID || got.Kind != want.Kind || got.To != want.To || got.Locale != want.Locale ||
		got.Attempts != want.Attempts || got.LastError != want.LastError {
		d = append(d, fmt.Sprintf("got %+v, want %+v", *got, *want))
	}
	if !mapsEqual(got.Vars, want.Vars) {
		d = append(d, fmt.Sprintf("Vars = %q, want %q", got.Vars, want.Vars))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.NextAttemptAt.Equal(want.NextAttemptAt) || !got.SentAt.Equal(want.SentAt) {
		d = append(d, fmt.Sprintf("message %d: times (created, next attempt, sent) = %v, %v, %v; want %v, %v, %v", got.ID,
			got.CreatedAt, got.NextAttemptAt, got.SentAt, want.CreatedAt, want.NextAttemptAt, want.SentAt))
	}
	return strings.Join(d, "; ")
}

// checkMessages checks that got are want, in order.
func checkMessages(t *testing.T, name string, got []*usher.Message, want ...*usher.Message) {
	t.Helper()
	ids := func(list []*usher.Message) []int64 {
		out := []int64{}
		for _, m := range list {
			out = append(out, m.ID)
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("%s: messages %v, want %v", name, ids(got), ids(want))
		return
	}
	for i := range got {
		if d := diffMessage(got[i], want[i]); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// claim calls ClaimMessages and fails the test on error.
func claim(t *testing.T, s usher.OutboxStore, now time.Time, lease time.Duration, limit int) []*usher.Message {
	t.Helper()
	list, err := s.ClaimMessages(ctx, now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimMessages: %v", err)
	}
	return list
}

// list calls ListMessages and fails the test on error.
func list(t *testing.T, s usher.OutboxStore, to string, limit int) []*usher.Message {
	t.Helper()
	list, err := s.ListMessages(ctx, to, limit)
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	return list
}

func testOutbox(t *testing.T, h *harness[usher.OutboxStore]) {
	s := h.s
	m1 := mustEnqueue(t, s, newMessage("ada@example.com", base))
	m2 := mustEnqueue(t, s, newMessage("bob@example.com", at(time.Second)))
	m3 := newMessage("ada@example.com", at(2*time.Second))
	m3.NextAttemptAt = at(time.Hour) // not due yet
	mustEnqueue(t, s, m3)
	// No vars, no locale, and a zero NextAttemptAt: due at once.
	m4 := mustEnqueue(t, s, &usher.Message{Kind: usher.MailRegistered, To: "cy@example.com", CreatedAt: at(3 * time.Second)})
	if m1.ID == 0 || !(m1.ID < m2.ID && m2.ID < m3.ID && m3.ID < m4.ID) {
		t.Fatalf("EnqueueMessage IDs = %d, %d, %d, %d; want set and increasing", m1.ID, m2.ID, m3.ID, m4.ID)
	}

	checkMessages(t, "ListMessages(all)", list(t, s, "", 0), m4, m3, m2, m1)
	checkMessages(t, "ListMessages(ada)", list(t, s, "ada@example.com", 10), m3, m1)
	checkMessages(t, "ListMessages(ada, 1)", list(t, s, "ada@example.com", 1), m3)
	checkMessages(t, "ListMessages(all, 2)", list(t, s, "", 2), m4, m3)
	checkMessages(t, "ListMessages(nobody)", list(t, s, "nobody@example.com", 10))

	// Claims: oldest first, up to the limit, leased for ten minutes. At
	// one minute, all but m3 are due.
	const lease = 10 * time.Minute
	now := at(time.Minute)
	leased := func(ms ...*usher.Message) []*usher.Message {
		for _, m := range ms {
			m.NextAttemptAt = now.Add(lease)
		}
		return ms
	}
	checkMessages(t, "first claim", claim(t, s, now, lease, 2), leased(m1, m2)...)
	checkMessages(t, "second claim", claim(t, s, now, lease, 10), leased(m4)...)
	checkMessages(t, "claim during the lease", claim(t, s, now.Add(lease/2), lease, 10))
	// The lease has run out (NextAttemptAt at or before now): claimable again.
	now = now.Add(lease)
	checkMessages(t, "claim after the lease", claim(t, s, now, lease, 10), leased(m1, m2, m4)...)

	// Sent: Vars cleared, never claimed again.
	if err := s.MarkMessageSent(ctx, m1.ID, at(11*time.Minute)); err != nil {
		t.Fatalf("MarkMessageSent: %v", err)
	}
	m1.SentAt, m1.Vars = at(11*time.Minute), nil
	// Failed: one more attempt, the error, and the next time.
	for i := range 2 {
		if err := s.MarkMessageFailed(ctx, m2.ID, fmt.Sprint("550 mailbox unavailable ", i), at(30*time.Minute)); err != nil {
			t.Fatalf("MarkMessageFailed: %v", err)
		}
	}
	m2.Attempts, m2.LastError, m2.NextAttemptAt = 2, "550 mailbox unavailable 1", at(30*time.Minute)
	checkMessages(t, "after marking", list(t, s, "", 10), m4, m3, m2, m1)

	// m4's lease ended at 21 minutes; m2 waits until 30 minutes.
	m4.NextAttemptAt = at(29*time.Minute + lease)
	checkMessages(t, "claim before the retry time", claim(t, s, at(29*time.Minute), lease, 10), m4)
	for _, m := range []*usher.Message{m2, m3, m4} {
		m.NextAttemptAt = at(2*time.Hour + lease)
	}
	checkMessages(t, "claim after everything is due", claim(t, s, at(2*time.Hour), lease, 10), m2, m3, m4)

	// DeleteSentMessages removes what was sent before the cut-off and
	// nothing unsent, however old.
	if err := s.MarkMessageSent(ctx, m2.ID, at(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	m2.SentAt, m2.Vars = at(3*time.Hour), nil
	if err := s.DeleteSentMessages(ctx, at(3*time.Hour)); err != nil {
		t.Fatalf("DeleteSentMessages: %v", err)
	}
	checkMessages(t, "after DeleteSentMessages", list(t, s, "", 10), m4, m3, m2)
	if err := s.DeleteSentMessages(ctx, at(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, "after deleting all sent", list(t, s, "", 10), m4, m3)
	m3.NextAttemptAt, m4.NextAttemptAt = at(5*time.Hour+lease), at(5*time.Hour+lease)
	checkMessages(t, "claim leaves sent messages", claim(t, s, at(5*time.Hour), lease, 10), m3, m4)
}

// testClaimConcurrent has workers on two Stores (as two processes) claim
// from one outbox at once: every message is claimed exactly once.
func testClaimConcurrent(t *testing.T, h *harness[usher.OutboxStore]) {
	stores := []usher.OutboxStore{h.s, h.open()}
	const (
		n       = 200
		workers = 4 // per Store
		batch   = 5
	)
	want := map[int64]bool{}
	for i := range n {
		m := mustEnqueue(t, h.s, newMessage(fmt.Sprintf("user%d@example.com", i), at(time.Duration(i)*time.Millisecond)))
		want[m.ID] = true
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]int{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for w := range 2 * workers {
		s := stores[w%2]
		wg.Go(func() {
			<-start
			for {
				list, err := s.ClaimMessages(ctx, at(time.Hour), time.Hour, batch)
				if err != nil {
					t.Errorf("ClaimMessages: %v", err)
					return
				}
				if len(list) == 0 {
					return
				}
				if len(list) > batch {
					t.Errorf("ClaimMessages(limit %d) returned %d", batch, len(list))
				}
				for i, m := range list {
					if i > 0 && m.ID <= list[i-1].ID {
						t.Errorf("ClaimMessages: IDs not in order: %d after %d", m.ID, list[i-1].ID)
					}
				}
				mu.Lock()
				for _, m := range list {
					claimed[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for id, c := range claimed {
		if c != 1 || !want[id] {
			t.Errorf("message %d claimed %d times (enqueued: %v)", id, c, want[id])
		}
	}
	if len(claimed) != n {
		t.Errorf("%d messages claimed, want %d", len(claimed), n)
	}
	if again := claim(t, h.s, at(time.Hour), time.Hour, n); len(again) != 0 {
		t.Errorf("%d messages claimable again during the lease", len(again))
	}
	if again := claim(t, h.s, at(2*time.Hour), time.Hour, 2*n); len(again) != n {
		t.Errorf("after the lease: %d messages claimable, want %d", len(again), n)
	}
}

// testMailInTx checks that tokens and messages are written in InTx's
// transaction: seen inside it, kept on commit, gone on rollback.
func testMailInTx(t *testing.T, h *harness[usher.Store]) {
	s := h.s
	u := mustCreate(t, s, newUser("mail-tx@example.com", ""))
	boom := errors.New("boom")
	spent := mustCreateToken(t, s, newToken("spent-in-rollback", usher.TokenConfirmEmail, u.ID, at(time.Hour)))
	tok := newToken("rolled-back", usher.TokenResetPassword, u.ID, at(time.Hour))
	m := newMessage(u.Email, base)
	err := s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.CreateToken(ctx, tok); err != nil {
			return err
		}
		if err := tx.EnqueueMessage(ctx, m); err != nil {
			return err
		}
		if got, err := tx.ListMessages(ctx, u.Email, 10); err != nil || len(got) != 1 {
			return fmt.Errorf("ListMessages inside = %v, %v; want the message", got, err)
		}
		if _, err := tx.UseToken(ctx, spent.Hash, spent.Kind, base); err != nil {
			return fmt.Errorf("UseToken inside: %w", err)
		}
		if got, err := tx.ClaimMessages(ctx, base, time.Minute, 10); err != nil || len(got) != 1 {
			return fmt.Errorf("ClaimMessages inside = %v, %v; want the message", got, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	checkMessages(t, "after rollback", list(t, s, "", 10))
	checkMessages(t, "claim after rollback", claim(t, s, base, time.Minute, 10))
	checkUse(t, s, "token created in rollback", tok.Hash, tok.Kind, base, nil)
	checkUse(t, s, "token used in rollback", spent.Hash, spent.Kind, base, spent)

	// Committed: everything stays, and reads inside see the writes.
	tok2 := newToken("committed", usher.TokenResetPassword, u.ID, at(time.Hour))
	m2 := newMessage(u.Email, base)
	m3 := newMessage(u.Email, base)
	err = s.InTx(ctx, func(tx usher.Store) error {
		if err := tx.CreateToken(ctx, tok2); err != nil {
			return err
		}
		if n, err := tx.DeleteTokens(ctx, u.ID, tok2.Kind); err != nil || n != 1 {
			return fmt.Errorf("DeleteTokens inside = %d, %v; want 1", n, err)
		}
		if err := tx.CreateToken(ctx, tok2); err != nil {
			return err
		}
		if err := tx.EnqueueMessage(ctx, m2); err != nil {
			return err
		}
		if err := tx.EnqueueMessage(ctx, m3); err != nil {
			return err
		}
		got, err := tx.ClaimMessages(ctx, base, time.Minute, 1)
		if err != nil || len(got) != 1 || got[0].ID != m2.ID {
			return fmt.Errorf("ClaimMessages inside = %v, %v; want message %d", got, err, m2.ID)
		}
		if err := tx.MarkMessageSent(ctx, m2.ID, at(time.Second)); err != nil {
			return err
		}
		if err := tx.MarkMessageFailed(ctx, m3.ID, "421 try later", at(time.Minute)); err != nil {
			return err
		}
		if err := tx.DeleteSentMessages(ctx, base); err != nil {
			return err
		}
		return tx.DeleteExpiredTokens(ctx, base)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	m2.SentAt, m2.Vars, m2.NextAttemptAt = at(time.Second), nil, at(time.Minute)
	m3.Attempts, m3.LastError, m3.NextAttemptAt = 1, "421 try later", at(time.Minute)
	checkMessages(t, "after commit", list(t, s, u.Email, 10), m3, m2)
	checkUse(t, s, "token created in commit", tok2.Hash, tok2.Kind, base, tok2)
}

func testClaimOfKind(t *testing.T, h *harness[usher.OutboxStore]) {
	s := h.s
	m1 := mustEnqueue(t, s, newMessage("ada@example.com", base))
	m2 := mustEnqueue(t, s, &usher.Message{Kind: usher.MailRegistered, To: "bob@example.com", CreatedAt: at(time.Second)})
	m3 := mustEnqueue(t, s, newMessage("cy@example.com", at(2*time.Second)))
	const lease = 10 * time.Minute
	now := at(time.Minute)
	if got, err := s.ClaimMessagesOfKind(ctx, "no such kind", now, lease, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMessagesOfKind(no such kind) = %v, %v; want none", got, err)
	}
	got, err := s.ClaimMessagesOfKind(ctx, usher.MailRegistered, now, lease, 10)
	if err != nil {
		t.Fatalf("ClaimMessagesOfKind: %v", err)
	}
	m2.NextAttemptAt = now.Add(lease)
	checkMessages(t, "claim of a kind", got, m2)
	// The others were left alone; the claimed one is leased.
	m1.NextAttemptAt, m3.NextAttemptAt = now.Add(lease), now.Add(lease)
	checkMessages(t, "claim of all after", claim(t, s, now, lease, 10), m1, m3)
}
