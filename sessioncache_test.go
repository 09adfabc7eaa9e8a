package usher

import (
	"reflect"
	"testing"
	"time"
)

func TestCacheEntryRoundTrip(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 123456000).UTC() }
	tests := []struct {
		s Session
		u User
	}{
		{Session{ID: "s1", UserID: "u1", CreatedAt: at(100), LastSeenAt: at(150), ExpiresAt: at(200), Remember: true, IP: "192.0.2.1", UserAgent: "Mozilla/5.0 ünïcode"},
			User{ID: "u1", Email: "ann@example.com", Username: "ann", Locale: "zh-Hant-TW", Enabled: true, EmailConfirmedAt: at(50), SignedUpAt: at(40),
				LastLoginAt: at(100), PasswordChangedAt: at(40), PasswordFailures: 3, LockedAt: at(90), PasswordResetRequired: true,
				Roles: []string{"admin", "staff"}, Profile: map[string]string{"name": "Ann", "team": ""}}},
		{Session{ID: "s2", UserID: "u2", MustChangePassword: true}, User{ID: "u2"}},
		// The locale sits between strings and flags: a wrong order would
		// shift every field after it.
		{Session{ID: "s3", UserID: "u3"}, User{ID: "u3", Locale: "fa", Username: "", Enabled: true, PasswordFailures: 1}},
	}
	for _, tt := range tests {
		b := encodeEntry(&tt.s, &tt.u)
		if got := entryUserID(b); got != tt.s.UserID {
			t.Errorf("entryUserID = %q, want %q", got, tt.s.UserID)
		}
		s, u, _ := decodeEntry(b, tt.s.LastSeenAt)
		if !reflect.DeepEqual(*s, tt.s) {
			t.Errorf("session:\n got %+v\nwant %+v", *s, tt.s)
		}
		if !reflect.DeepEqual(*u, tt.u) {
			t.Errorf("user:\n got %+v\nwant %+v", *u, tt.u)
		}
	}
	u := User{ID: "u", PasswordHash: "$argon2id$secret", Profile: map[string]string{}}
	if _, got, _ := decodeEntry(encodeEntry(&Session{UserID: "u"}, &u), time.Time{}); got.PasswordHash != "" {
		t.Errorf("the cache kept the password hash")
	}
}

// TestSessionCacheFullEvicts checks that a full cache makes room for a new
// entry by dropping one arbitrary entry (not by scanning the whole cache on
// every miss, nor by refusing to cache), and that the index by user stays
// in step with the entries.
func TestSessionCacheFullEvicts(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newSessionCache(time.Hour, 3)
	var last [32]byte
	for i := range 20 {
		var h [32]byte
		h[0], h[1] = byte(i), 1
		uid := "u" + string(rune('a'+i%4))
		c.put(h, &Session{ID: "s" + string(rune('a'+i)), UserID: uid, ExpiresAt: now.Add(time.Hour)},
			&User{ID: uid, Enabled: true}, now, c.gen.Load())
		last = h
		if len(c.byHash) > 3 {
			t.Fatalf("after %d puts the cache holds %d entries, more than its bound 3", i+1, len(c.byHash))
		}
		if _, _, ok := c.get(h, now); !ok {
			t.Fatalf("put %d: the new entry was not cached", i+1)
		}
		n := 0
		for uid, hs := range c.byUser {
			for _, h := range hs {
				e, ok := c.byHash[h]
				if !ok {
					t.Fatalf("put %d: byUser[%s] names an entry that is gone", i+1, uid)
				}
				if s, _, _ := decodeEntry(e.buf, fromUnixNano(e.lastSeen)); s.UserID != uid {
					t.Fatalf("put %d: byUser[%s] names a session of %s", i+1, uid, s.UserID)
				}
				n++
			}
		}
		if n != len(c.byHash) {
			t.Fatalf("put %d: byUser lists %d entries, the cache holds %d", i+1, n, len(c.byHash))
		}
	}
	s, _, _ := c.get(last, now)
	c.evictUser(s.UserID)
	if _, _, ok := c.get(last, now); ok {
		t.Errorf("evictUser left the user's entry")
	}
}
