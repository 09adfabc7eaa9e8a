package usher

import (
	"encoding/binary"
	"maps"
	"math"
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
	tm := func(t time.Time) { b = binary.AppendVarint(b, unixNano(t)) }
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
	b = binary.AppendUvarint(b, uint64(max(u.PasswordFailures, 0))) // #nosec G115 -- not negative
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
	// A copy of exactly the entry's size: the cache holds up to
	// SessionCacheSize of these for minutes, and most entries are far
	// shorter than the buffer they were built in.
	return append(make([]byte, 0, len(b)), b...)
}

// entryUserID returns the user ID of an entry encodeEntry wrote (its
// second string), sharing b's bytes, or "" for bytes it did not write.
func entryUserID(b []byte) string {
	for i := range 2 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) { // #nosec G115 -- 0 < k <= len(b), so not negative
			return ""
		}
		if i == 1 {
			// #nosec G103 G115 -- shares the entry's bytes, never modified (see above); at most len(b)
			return unsafe.String(unsafe.SliceData(b[k:]), int(n))
		}
		b = b[k+int(n):] // #nosec G115 -- at most len(b)
	}
	return ""
}

// decodeEntry reads what encodeEntry wrote. The strings share b's bytes.
// Bytes encodeEntry did not write give ok false, never a panic or a huge
// allocation.
func decodeEntry(b []byte, lastSeen time.Time) (_ *Session, _ *User, ok bool) {
	bad := false
	fail := func() {
		bad, b = true, nil
	}
	uvarint := func() uint64 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			fail()
			return 0
		}
		b = b[k:]
		return n
	}
	// count reads a length or a number of items, each of which takes at
	// least one of the bytes left.
	count := func() int {
		n := uvarint()
		if n > uint64(len(b)) {
			fail()
			return 0
		}
		return int(n) // #nosec G115 -- at most len(b)
	}
	str := func() string {
		n := count()
		v := unsafe.String(unsafe.SliceData(b), n) // #nosec G103 -- shares the entry's bytes, never modified; see above
		b = b[n:]
		return v
	}
	tm := func() time.Time {
		n, k := binary.Varint(b)
		if k <= 0 {
			fail()
			return time.Time{}
		}
		b = b[k:]
		return fromUnixNano(n)
	}
	flag := func() bool {
		if len(b) == 0 {
			fail()
			return false
		}
		v := b[0] == 1
		b = b[1:]
		return v
	}
	failures := func() int {
		n := uvarint()
		if n > math.MaxInt32 {
			fail()
			return 0
		}
		return int(n)
	}
	s := &Session{ID: str(), UserID: str(), CreatedAt: tm(), LastSeenAt: lastSeen, ExpiresAt: tm(),
		Remember: flag(), MustChangePassword: flag(), IP: str(), UserAgent: str()}
	u := &User{ID: s.UserID, Email: str(), Username: str(), Locale: str(), Enabled: flag(), EmailConfirmedAt: tm(),
		SignedUpAt: tm(), LastLoginAt: tm(), PasswordChangedAt: tm(), PasswordFailures: failures(),
		LockedAt: tm(), PasswordResetRequired: flag()}
	if n := count(); n > 0 {
		u.Roles = make([]string, n)
		for i := range u.Roles {
			u.Roles[i] = str()
		}
	}
	if n := count(); n > 0 {
		u.Profile = make(map[string]string, n)
		for ; n > 0; n-- {
			k := str()
			u.Profile[k] = str()
		}
	}
	if bad || len(b) > 0 {
		return nil, nil, false
	}
	return s, u, true
}
