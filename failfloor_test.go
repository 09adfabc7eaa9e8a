package usher

import (
	"testing"
	"time"
)

func TestHashFormat(t *testing.T) {
	tests := []struct{ hash, want string }{
		{"$6$rounds=656000$jd662j0obRJ7.CNc$r5fOJqGl2zJvv81nVZCzZ4t", "$6$rounds=656000"},
		{"$6$jd662j0obRJ7.CNc$r5fOJqGl2zJvv81nVZCzZ4t", "$6"},
		{"$argon2id$v=19$m=9216,t=4,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=9216,t=4,p=1"},
		{"$2b$12$OZ/Nc5QmzUi3ixb5bf6NXe/yy6xHq8Ylb4BxHMC/LuRQdkQYc88wW", "$2b$12"},
		{"$pbkdf2-sha256$29000$c2FsdA$a2V5", "$pbkdf2-sha256$29000"},
		{"pbkdf2:sha256:600000$salt$00ff", "pbkdf2:sha256:600000"},
		{"scrypt:32768:8:1$salt$00ff", "scrypt:32768:8:1"},
		{"notahash", ""},
	}
	for _, tt := range tests {
		if got := hashFormat(tt.hash); got != tt.want {
			t.Errorf("hashFormat(%q) = %q, want %q", tt.hash, got, tt.want)
		}
	}
}

// TestVerifyCosts: the floor is the costliest format's moving average; a
// spike moves it a little; it never passes maxFailurePad.
func TestVerifyCosts(t *testing.T) {
	var v verifyCosts
	v.note("$argon2id$v=19$m=9216,t=4,p=1$a$b", 30*time.Millisecond)
	v.note("$6$rounds=656000$a$b", 450*time.Millisecond)
	if got := v.padFloor(); got != 450*time.Millisecond {
		t.Errorf("floor = %v, want 450ms", got)
	}
	v.note("$argon2id$v=19$m=9216,t=4,p=1$c$d", 830*time.Millisecond) // a spike
	if got := v.padFloor(); got != 450*time.Millisecond {
		t.Errorf("floor after a spike of the cheap format = %v, want 450ms", got)
	}
	v.note("$6$rounds=999999999$a$b", time.Hour)
	if got := v.padFloor(); got != maxFailurePad {
		t.Errorf("floor = %v, want the cap %v", got, maxFailurePad)
	}
}
