package usher

import (
	"encoding/binary"
	"maps"
	"slices"
	"time"
	"unsafe"
)

// The session cache keeps each entry as one pointer-free byte slice rather
// than as structs full of strings, maps and slices: with 100,000s of
// entries, the garbage collector would otherwise trace millions of small
// objects at every cycle — and password hashing (megabytes of memory per
// log-in) makes cycles frequent. Decoding shares the slice's bytes as
// strings (entries are never modified once built), so a hit allocates
// little more than the two structs it returns.

// encodeEntry writes a session and its user (without the password hash,
// which the session check never hands out) as one byte slice.
func encodeEntry(s *Session, u *User) []byte {
	b := make([]byte, 0, 256)
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	tm := func(t time.Time) {
		var n int64
		if !t.IsZero() {
			n = t.UnixNano()
		}
		b = binary.AppendVarint(b, n)
	}
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	str(s.ID)
	str(s.UserID)
	tm(s.CreatedAt)
	tm(s.ExpiresAt)
	flag(s.Remember)
	flag(s.MustChangePassword)
	str(s.IP)
	str(s.UserAgent)
	str(u.Email)
	str(u.Username)
	str(u.Locale)
	flag(u.Enabled)
	tm(u.EmailConfirmedAt)
	tm(u.SignedUpAt)
	tm(u.LastLoginAt)
	tm(u.PasswordChangedAt)
	b = binary.AppendUvarint(b, uint64(u.PasswordFailures))
	tm(u.LockedAt)
	flag(u.PasswordResetRequired)
	b = binary.AppendUvarint(b, uint64(len(u.Roles)))
	for _, r := range u.Roles {
		str(r)
	}
	keys := slices.Sorted(maps.Keys(u.Profile))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		str(k)
		str(u.Profile[k])
	}
	return slices.Clip(b)
}

// decodeEntry reads what encodeEntry wrote. The strings share b's bytes.
func decodeEntry(b []byte, lastSeen time.Time) (*Session, *User) {
	str := func() string {
		n, k := binary.Uvarint(b)
		b = b[k:]
		v := unsafe.String(unsafe.SliceData(b), int(n))
		b = b[n:]
		return v
	}
	tm := func() time.Time {
		n, k := binary.Varint(b)
		b = b[k:]
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	}
	flag := func() bool {
		v := b[0] == 1
		b = b[1:]
		return v
	}
	uint := func() int {
		n, k := binary.Uvarint(b)
		b = b[k:]
		return int(n)
	}
	s := &Session{ID: str(), UserID: str(), CreatedAt: tm(), LastSeenAt: lastSeen, ExpiresAt: tm(),
		Remember: flag(), MustChangePassword: flag(), IP: str(), UserAgent: str()}
	u := &User{ID: s.UserID, Email: str(), Username: str(), Locale: str(), Enabled: flag(), EmailConfirmedAt: tm(),
		SignedUpAt: tm(), LastLoginAt: tm(), PasswordChangedAt: tm(), PasswordFailures: uint(),
		LockedAt: tm(), PasswordResetRequired: flag()}
	if n := uint(); n > 0 {
		u.Roles = make([]string, n)
		for i := range u.Roles {
			u.Roles[i] = str()
		}
	}
	if n := uint(); n > 0 {
		u.Profile = make(map[string]string, n)
		for ; n > 0; n-- {
			k := str()
			u.Profile[k] = str()
		}
	}
	return s, u
}
