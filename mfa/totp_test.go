package mfa

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B.
var rfcSecret = []byte("12345678901234567890")

func TestRFC6238Vectors(t *testing.T) {
	tests := []struct {
		unix int64
		want string // 8 digits, RFC 6238 Appendix B, SHA1 column
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tt := range tests {
		now := time.Unix(tt.unix, 0)
		if got := stepCode(rfcSecret, TOTPStep(now), otp.DigitsEight); got != tt.want {
			t.Errorf("8-digit code at %d = %s; want %s", tt.unix, got, tt.want)
		}
		// The 6-digit code is the same value mod 10^6: the last six digits.
		if got, want := TOTPCode(rfcSecret, now), tt.want[2:]; got != want {
			t.Errorf("TOTPCode at %d = %s; want %s", tt.unix, got, want)
		}
		if _, ok := ValidateTOTP(rfcSecret, tt.want[2:], now, 0); !ok {
			t.Errorf("ValidateTOTP refused the RFC code at %d", tt.unix)
		}
	}
}

// Codes made by an independent implementation, OATH Toolkit's oathtool
// 2.6.7 (Debian), generated once with
//
//	oathtool --totp -b -d 6 --now "$TIME" $SECRET
var oathtoolCodes = []struct {
	secret string // base32
	time   string // RFC 3339
	code   string
}{
	{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "1970-01-01T00:00:59Z", "503347"},
	{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "2009-02-13T23:31:30Z", "401544"},
	{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "2020-02-29T12:00:00Z", "044278"},
	{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "2033-05-18T03:33:20Z", "978524"},
	{"ZDE4VS6MZXHM7UGR2LJ5JVOW27MNTWW3", "2024-06-01T08:15:00Z", "688796"},
	{"ZDE4VS6MZXHM7UGR2LJ5JVOW27MNTWW3", "2024-06-01T08:15:29Z", "688796"},
}

func TestOathtoolCodes(t *testing.T) {
	for _, tt := range oathtoolCodes {
		secret, err := DecodeSecret(tt.secret)
		if err != nil {
			t.Fatal(err)
		}
		now, err := time.Parse(time.RFC3339, tt.time)
		if err != nil {
			t.Fatal(err)
		}
		if got := TOTPCode(secret, now); got != tt.code {
			t.Errorf("TOTPCode(%s, %s) = %s; oathtool says %s", tt.secret, tt.time, got, tt.code)
		}
		if step, ok := ValidateTOTP(secret, tt.code, now, 0); !ok || step != TOTPStep(now) {
			t.Errorf("ValidateTOTP(%s, %s) = %d, %v; want %d, true", tt.secret, tt.time, step, ok, TOTPStep(now))
		}
	}
}

func TestValidateTOTP(t *testing.T) {
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	cur := TOTPStep(now)
	at := func(steps int64) string { return stepCode(secret, cur+steps, otp.DigitsSix) }
	tests := []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		wantOK   bool
	}{
		{"current step", at(0), 0, cur, true},
		{"one step behind", at(-1), 0, cur - 1, true},
		{"one step ahead", at(1), 0, cur + 1, true},
		{"two steps behind", at(-2), 0, 0, false},
		{"two steps ahead", at(2), 0, 0, false},
		{"spaces", " " + at(0)[:3] + " " + at(0)[3:] + "\n", 0, cur, true},
		{"replay of the same step", at(0), cur, 0, false},
		{"earlier step after a later one", at(-1), cur, 0, false},
		{"later step after an earlier one", at(1), cur, cur + 1, true},
		{"previous step still fresh", at(-1), cur - 2, cur - 1, true},
		{"empty", "", 0, 0, false},
		{"five digits", at(0)[:5], 0, 0, false},
		{"seven digits", at(0) + "0", 0, 0, false},
		{"eight-digit code", stepCode(secret, cur, otp.DigitsEight), 0, 0, false},
		{"letters", "abcdef", 0, 0, false},
		{"sign", "+" + at(0)[1:], 0, 0, false},
		{"non-ASCII digits", "١٢٣٤٥٦", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := ValidateTOTP(secret, tt.code, now, tt.lastStep)
			if step != tt.wantStep || ok != tt.wantOK {
				t.Errorf("ValidateTOTP(%q, lastStep %d) = %d, %v; want %d, %v", tt.code, tt.lastStep, step, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
	if _, ok := ValidateTOTP(nil, at(0), now, 0); ok {
		t.Error("ValidateTOTP accepted a code for an empty secret")
	}
}

func TestNewTOTPSecret(t *testing.T) {
	a, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewTOTPSecret()
	if len(a) != 20 || bytes.Equal(a, b) {
		t.Errorf("secrets %x, %x: want 20 random bytes each", a, b)
	}
}

func TestEncodeSecret(t *testing.T) {
	secret := []byte("12345678901234567890")
	const want = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if got := EncodeSecret(secret); got != want {
		t.Errorf("EncodeSecret = %s; want %s", got, want)
	}
	odd := []byte{1, 2, 3}
	if got := EncodeSecret(odd); strings.Contains(got, "=") {
		t.Errorf("EncodeSecret(%x) = %s; want no padding", odd, got)
	}
	for _, in := range []string{want, strings.ToLower(want), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", want + "===="} {
		got, err := DecodeSecret(in)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("DecodeSecret(%q) = %q, %v; want %q", in, got, err, secret)
		}
	}
	if got, err := DecodeSecret(EncodeSecret(odd)); err != nil || !bytes.Equal(got, odd) {
		t.Errorf("round trip of %x = %x, %v", odd, got, err)
	}
	for _, in := range []string{"GEZDGNB1", "not base32!"} {
		if _, err := DecodeSecret(in); err == nil {
			t.Errorf("DecodeSecret(%q): want an error", in)
		}
	}
}

func TestTOTPURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	got := TOTPURI(secret, "Example", "alice@example.com")
	want := "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("TOTPURI =\n%s; want\n%s", got, want)
	}

	// An independent parser (pquerna/otp) reads back awkward names.
	uri := TOTPURI(secret, "Acme & Co: Test", "bob smith?#/:x")
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != "totp" || key.Issuer() != "Acme & Co: Test" || key.AccountName() != "bob smith?#/:x" ||
		key.Secret() != EncodeSecret(secret) || key.Period() != 30 || key.Digits() != otp.DigitsSix ||
		key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("%s parsed as type %q issuer %q account %q secret %q period %d digits %v algorithm %v",
			uri, key.Type(), key.Issuer(), key.AccountName(), key.Secret(), key.Period(), key.Digits(), key.Algorithm())
	}
	if strings.Contains(uri, "+") {
		t.Errorf("%s: spaces must be %%20, not +", uri)
	}

	if got, want := TOTPURI(secret, "", "carol"), "otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"; got != want {
		t.Errorf("TOTPURI without issuer = %s; want %s", got, want)
	}
}

func TestQRCode(t *testing.T) {
	uri := TOTPURI([]byte("12345678901234567890"), "Example", "alice@example.com")
	for _, size := range []int{100, 250, 512} {
		b, err := QRCodePNG(uri, size)
		if err != nil {
			t.Fatalf("QRCodePNG(%d): %v", size, err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("QRCodePNG(%d) is not a PNG: %v", size, err)
		}
		if got := img.Bounds().Size(); got.X != size || got.Y != size {
			t.Errorf("QRCodePNG(%d) is %v", size, got)
		}
	}
	for _, size := range []int{0, -1, 10} {
		if _, err := QRCodePNG(uri, size); err == nil {
			t.Errorf("QRCodePNG(%d): want an error", size)
		}
	}

	u, err := QRCodeDataURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(u, prefix) {
		t.Fatalf("QRCodeDataURL = %.40s...; want prefix %s", u, prefix)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(u, prefix))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 250 || got.Y != 250 {
		t.Errorf("QRCodeDataURL image is %v; want 250x250", got)
	}
}
