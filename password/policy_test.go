package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/usher-auth/usher"
)

func TestPolicyCheck(t *testing.T) {
	inputs := []string{"Jane.Doe@Example.com", "superjane"}
	tests := []struct {
		name       string
		policy     Policy
		password   string
		wantReason string // "" means acceptable
		wantMin    int
		wantMax    int
	}{
		{"ok", Policy{}, "correct horse battery staple", "", 0, 0},
		{"short", Policy{}, "xq7#zp1", usher.MsgPasswordTooShort, 8, 256},
		{"empty", Policy{}, "", usher.MsgPasswordTooShort, 8, 256},
		{"eight ok", Policy{}, "xq7#zp1!", "", 0, 0},
		{"long", Policy{}, strings.Repeat("x", 257), usher.MsgPasswordTooLong, 8, 256},
		{"longest", Policy{}, strings.Repeat("x", 256), "", 0, 0},
		{"runes not bytes: 256 é", Policy{}, strings.Repeat("é", 256), "", 0, 0},
		{"runes not bytes: 257 é", Policy{}, strings.Repeat("é", 257), usher.MsgPasswordTooLong, 8, 256},
		{"runes not bytes: 7 kanji", Policy{}, "日本語の文字列", usher.MsgPasswordTooShort, 8, 256},
		{"runes not bytes: 8 kanji", Policy{}, "日本語の文字列だ", "", 0, 0},
		{"common", Policy{}, "password", usher.MsgPasswordCommon, 8, 256},
		{"common any case", Policy{}, "PassWord1", usher.MsgPasswordCommon, 8, 256},
		{"common trimmed", Policy{}, "  iloveyou  ", usher.MsgPasswordCommon, 8, 256},
		{"common deep in the list", Policy{}, "12345678910", usher.MsgPasswordCommon, 8, 256},
		{"common skipped", Policy{SkipCommonList: true}, "password", "", 0, 0},
		{"same as e-mail", Policy{}, "jane.doe@example.com", usher.MsgPasswordSameEmail, 8, 256},
		{"same as local part", Policy{}, "JANE.DOE", usher.MsgPasswordSameEmail, 8, 256},
		{"same as username", Policy{}, "SuperJane", usher.MsgPasswordSameEmail, 8, 256},
		{"contains username", Policy{}, "superjane 2024!", "", 0, 0},
		{"custom min", Policy{MinLength: 12}, "xq7#zp1!abc", usher.MsgPasswordTooShort, 12, 256},
		{"custom max", Policy{MaxLength: 64}, strings.Repeat("x", 65), usher.MsgPasswordTooLong, 8, 64},
		{"flask-user ok", Policy{FlaskUser: true}, "Xq7pzw", "", 0, 0},
		{"flask-user short", Policy{FlaskUser: true}, "Xq7pz", usher.MsgPasswordTooShort, 6, 256},
		{"flask-user no upper", Policy{FlaskUser: true}, "xq7pzw", usher.MsgPasswordWeak, 6, 256},
		{"flask-user no lower", Policy{FlaskUser: true}, "XQ7PZW", usher.MsgPasswordWeak, 6, 256},
		{"flask-user no digit", Policy{FlaskUser: true}, "Xqzpzw", usher.MsgPasswordWeak, 6, 256},
		{"flask-user unicode classes", Policy{FlaskUser: true}, "Éé٣xyz", "", 0, 0},
		{"flask-user common", Policy{FlaskUser: true}, "Abc123", usher.MsgPasswordCommon, 6, 256},
		{"flask-user min set", Policy{FlaskUser: true, MinLength: 8}, "Xq7pzwa", usher.MsgPasswordTooShort, 8, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.password, inputs...)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v; want nil", tt.password, err)
				}
				return
			}
			var pe *usher.PasswordError
			if !errors.As(err, &pe) || !errors.Is(err, usher.ErrPasswordNotAcceptable) {
				t.Fatalf("Check(%q) = %v; want a *usher.PasswordError", tt.password, err)
			}
			if pe.Reason != tt.wantReason || pe.Min != tt.wantMin || pe.Max != tt.wantMax {
				t.Errorf("Check(%q) = %+v; want %s, min %d, max %d", tt.password, *pe, tt.wantReason, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestPolicyEmptyInputs(t *testing.T) {
	// Empty inputs and a bare "@" must not make every password "the same".
	if err := (Policy{}).Check("xq7#zp1!", "", "  ", "@example.com"); err != nil {
		t.Errorf("Check = %v; want nil", err)
	}
}

func TestCommonList(t *testing.T) {
	list := commonList()
	long := 0
	for _, w := range list {
		if w == "" || w != strings.ToLower(w) || w != strings.TrimSpace(w) {
			t.Fatalf("bad entry %q", w)
		}
		if utf8.RuneCountInString(w) >= 8 {
			long++
		}
	}
	if len(list) < 100000 || long < 100000 {
		t.Errorf("list has %d entries, %d of 8+ characters; want at least 100,000 of each", len(list), long)
	}
	if !slices.IsSorted(list) {
		t.Error("list is not sorted")
	}
	if len(slices.Compact(slices.Clone(list))) != len(list) {
		t.Error("list has duplicates")
	}
	for _, w := range []string{"123456", "password", "qwerty", "iloveyou", "dragon"} {
		if !isCommon(w) {
			t.Errorf("isCommon(%q) = false", w)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := Policy{}
	p.Check("warm up the list")
	for b.Loop() {
		if err := p.Check("correct horse battery staple", "jane@example.com", "jane"); err != nil {
			b.Fatal(err)
		}
	}
}
