// Package mfa holds the building blocks of second factors: TOTP codes
// (RFC 6238) with their otpauth:// URIs and QR codes, recovery codes, and a
// Sealer that encrypts secrets at rest. Business rules (when a second factor
// is required, lock-out, storing the last accepted step) live in the root
// package's Service.
package mfa

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// TOTP parameters: those of Google Authenticator and nearly every app
// (RFC 6238 with SHA-1, 6 digits, 30-second steps).
const (
	TOTPPeriod     = 30 // seconds per time step
	TOTPDigits     = 6
	TOTPSecretSize = 20 // bytes: the 160 bits RFC 4226 recommends for SHA-1
	// QRCodeSize is the width and height in pixels of QRCodeDataURL's image.
	QRCodeSize = 250
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a new random TOTP secret of TOTPSecretSize bytes.
func NewTOTPSecret() ([]byte, error) {
	secret := make([]byte, TOTPSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return secret, nil
}

// EncodeSecret returns secret in base32 without padding, the form
// authenticator apps take when a user types the key instead of scanning it.
func EncodeSecret(secret []byte) string {
	return b32.EncodeToString(secret)
}

// DecodeSecret parses a secret written by EncodeSecret. It accepts lower
// case, spaces and padding, as users and other apps write them.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	s = strings.TrimRight(s, "=")
	secret, err := b32.DecodeString(s)
	if err != nil {
		return nil, errors.New("mfa: secret is not valid base32")
	}
	return secret, nil
}

// TOTPURI returns the otpauth:// key URI for secret, in the Key URI Format
// authenticator apps read from QR codes:
//
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// With an empty issuer the label is the account alone and there is no
// issuer parameter. Apps split the label at its first colon, so colons are
// dropped from the issuer in the label; the issuer parameter keeps them.
func TOTPURI(secret []byte, issuer, account string) string {
	label := escapeLabel(account)
	if issuer != "" {
		label = escapeLabel(strings.ReplaceAll(issuer, ":", "")) + ":" + label
	}
	q := "secret=" + EncodeSecret(secret)
	if issuer != "" {
		q += "&issuer=" + escapeQuery(issuer)
	}
	q += "&algorithm=SHA1&digits=6&period=30"
	return "otpauth://totp/" + label + "?" + q
}

// escapeLabel escapes one half of the label, colons included.
func escapeLabel(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// escapeQuery escapes a query value with %20 for spaces, which some apps
// (Google Authenticator) need instead of '+'.
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// QRCodePNG returns a PNG image, size by size pixels, of a QR code holding
// uri. It fails if size is too small for the code's modules.
func QRCodePNG(uri string, size int) ([]byte, error) {
	if size <= 0 {
		return nil, errors.New("mfa: QR code size must be positive")
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	code, err = barcode.Scale(code, size, size)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, code); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// QRCodeDataURL returns QRCodePNG(uri, QRCodeSize) as a data URL
// ("data:image/png;base64,..."), ready for an <img src>.
func QRCodeDataURL(uri string) (string, error) {
	img, err := QRCodePNG(uri, QRCodeSize)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(img), nil
}

// TOTPStep returns the RFC 6238 time step of t: whole periods since the
// Unix epoch.
func TOTPStep(t time.Time) int64 {
	return t.Unix() / TOTPPeriod
}

// TOTPCode returns the 6-digit code of secret at time t.
func TOTPCode(secret []byte, t time.Time) string {
	return stepCode(secret, TOTPStep(t), otp.DigitsSix)
}

// stepCode returns the HOTP value (RFC 4226) of secret for counter step.
func stepCode(secret []byte, step int64, digits otp.Digits) string {
	code, err := hotp.GenerateCodeCustom(EncodeSecret(secret), uint64(step), hotp.ValidateOpts{ // #nosec G115 -- steps since 1970, positive
		Digits:    digits,
		Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		// Only a secret that is not base32 fails, and EncodeSecret's
		// output always is.
		panic("mfa: " + err.Error())
	}
	return code
}

// ValidateTOTP reports whether code is secret's code for the time step of
// now or one step either side (clock drift), and returns the step that
// matched. Steps not after lastStep are refused, so a code works only once:
// the caller stores the returned step as the next lastStep (0 for a method
// never used). Spaces in code are ignored ("123 456"); anything but six
// digits is refused.
func ValidateTOTP(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(secret) == 0 || len(code) != TOTPDigits {
		return 0, false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	cur := TOTPStep(now)
	for s := cur - 1; s <= cur+1; s++ {
		if s <= lastStep || s < 0 {
			continue
		}
		// Constant-time comparison, so timing says nothing about how many
		// leading digits were right.
		if subtle.ConstantTimeCompare([]byte(stepCode(secret, s, otp.DigitsSix)), []byte(code)) == 1 {
			// Keep the latest matching step: storing it refuses every
			// earlier one too.
			step, ok = s, true
		}
	}
	return step, ok
}
