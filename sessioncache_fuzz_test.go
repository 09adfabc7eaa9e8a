package usher

import (
	"reflect"
	"testing"
	"time"
)

// FuzzSessionCacheDecode decodes arbitrary bytes as a cache entry: never a
// panic, and what decodes encodes back to the same entry.
func FuzzSessionCacheDecode(f *testing.F) {
	at := time.Unix(1700000000, 5).UTC()
	f.Add(encodeEntry(&Session{ID: "s", UserID: "u", CreatedAt: at, ExpiresAt: at, Remember: true, IP: "192.0.2.1", UserAgent: "ua"},
		&User{Email: "ann@example.com", Username: "ann", Locale: "de", Enabled: true, PasswordFailures: 3,
			Roles: []string{"admin"}, Profile: map[string]string{"name": "Ann"}}))
	f.Add(encodeEntry(&Session{}, &User{}))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, u, ok := decodeEntry(b, at)
		if !ok {
			if s != nil || u != nil {
				t.Fatal("a refused entry gave a session or user")
			}
			return
		}
		s2, u2, ok := decodeEntry(encodeEntry(s, u), at)
		if !ok {
			t.Fatal("a decoded entry, encoded again, does not decode")
		}
		if !reflect.DeepEqual(s, s2) || !reflect.DeepEqual(u, u2) {
			t.Fatalf("round trip changed the entry:\n%+v %+v\n%+v %+v", s, u, s2, u2)
		}
	})
}

// FuzzSessionCacheRoundTrip encodes sessions and users made of arbitrary
// strings and times and decodes them unchanged.
func FuzzSessionCacheRoundTrip(f *testing.F) {
	f.Add("s1", "u1", "ann@example.com", "ann", "zh-Hant-TW", "Mozilla/5.0 ünïcode", "admin", "name", "Ann", int64(1700000000123456789), int64(0), 3, true)
	f.Add("", "", "", "", "", "", "", "", "", int64(-1), int64(1<<62), 0, false)
	f.Fuzz(func(t *testing.T, id, userID, email, username, locale, ua, role, key, value string, t1, t2 int64, failures int, flag bool) {
		tm := func(n int64) time.Time {
			if n == 0 {
				return time.Time{}
			}
			return time.Unix(0, n).UTC()
		}
		if failures < 0 {
			failures = -failures
		}
		if failures < 0 || failures > 1<<31-1 {
			failures = 0
		}
		s := Session{ID: id, UserID: userID, CreatedAt: tm(t1), LastSeenAt: tm(t2), ExpiresAt: tm(t2), Remember: flag,
			MustChangePassword: !flag, IP: key, UserAgent: ua}
		u := User{ID: userID, Email: email, Username: username, Locale: locale, Enabled: flag, EmailConfirmedAt: tm(t1),
			SignedUpAt: tm(t2), LastLoginAt: tm(t1), PasswordChangedAt: tm(t2), PasswordFailures: failures, LockedAt: tm(t1),
			PasswordResetRequired: !flag, Roles: []string{role, role}, Profile: map[string]string{key: value}}
		gs, gu, ok := decodeEntry(encodeEntry(&s, &u), s.LastSeenAt)
		if !ok {
			t.Fatal("an encoded entry does not decode")
		}
		if !reflect.DeepEqual(*gs, s) || !reflect.DeepEqual(*gu, u) {
			t.Fatalf("round trip changed the entry:\n got %+v %+v\nwant %+v %+v", *gs, *gu, s, u)
		}
	})
}
