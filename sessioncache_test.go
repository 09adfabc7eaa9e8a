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
		s, u, _ := decodeEntry(encodeEntry(&tt.s, &tt.u), tt.s.LastSeenAt)
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
