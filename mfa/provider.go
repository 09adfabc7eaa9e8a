package mfa

import (
	"time"

	"github.com/usher-auth/usher"
)

// Provider gives the Service this package's TOTP and recovery codes
// (usher.MFA). Its zero value is ready.
type Provider struct{}

var _ usher.MFA = Provider{}

// NewTOTPSecret returns a new TOTP secret.
func (Provider) NewTOTPSecret() ([]byte, error) { return NewTOTPSecret() }

// TOTPURI returns the otpauth:// URI of a secret.
func (Provider) TOTPURI(secret []byte, issuer, account string) string {
	return TOTPURI(secret, issuer, account)
}

// QRCodeDataURL returns a PNG QR code of uri as a data URL.
func (Provider) QRCodeDataURL(uri string) (string, error) { return QRCodeDataURL(uri) }

// EncodeSecret writes a secret for people to type.
func (Provider) EncodeSecret(secret []byte) string { return EncodeSecret(secret) }

// ValidateTOTP checks a code; see the package function.
func (Provider) ValidateTOTP(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	return ValidateTOTP(secret, code, now, lastStep)
}

// NewRecoveryCodes returns n new recovery codes.
func (Provider) NewRecoveryCodes(n int) ([]string, error) { return NewRecoveryCodes(n) }

// HashRecoveryCode returns the stored form of a code.
func (Provider) HashRecoveryCode(code string) []byte { return HashRecoveryCode(code) }
