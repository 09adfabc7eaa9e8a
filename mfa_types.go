package usher

import "time"

// MFAMethod is one of a user's second factors (Anvil's anvil.users.mfa).
// The Store keeps Secret encrypted: the Service seals it with the secret
// key before storing it and opens it after reading it.
type MFAMethod struct {
	ID     string
	UserID string
	Type   string // MFATOTP or MFAFIDO
	Name   string // the user's label, e.g. "Phone"
	// Secret is the method's secret: for TOTP the raw key, for a security
	// key (MFAFIDO) the JSON of its WebAuthn credential; sealed with
	// AES-GCM while stored.
	Secret []byte
	// LastStep is the last TOTP time step accepted: a code of that step or
	// an earlier one is refused, so a code works once. For a security key
	// it holds the authenticator's signature counter and a use count (see
	// webauthn.go), which only grow.
	LastStep   int64
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Second-factor types.
const (
	MFATOTP     = "totp"
	MFARecovery = "recovery"
	// MFAFIDO is a WebAuthn security key or passkey (Anvil's name).
	MFAFIDO = "fido"
)

// MFA is the second-factor machinery the Service uses: TOTP and recovery
// codes. Package mfa implements it (mfa.Provider).
type MFA interface {
	NewTOTPSecret() ([]byte, error)
	TOTPURI(secret []byte, issuer, account string) string
	QRCodeDataURL(uri string) (string, error)
	EncodeSecret(secret []byte) string
	// ValidateTOTP accepts code for the time steps around now that come
	// after lastStep, returning the step it matched.
	ValidateTOTP(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool)
	NewRecoveryCodes(n int) ([]string, error)
	HashRecoveryCode(code string) []byte
}

// Sealer encrypts secrets at rest (second-factor secrets) with the secret
// key; package mfa implements it with AES-GCM and key rotation.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// SecondFactor is the second factor given at log-in (Anvil's mfa
// argument): {"type":"totp","code":"123456"} or {"type":"recovery",...},
// or for a security key {"type":"fido","code":"<the PublicKeyCredential
// JSON>","state":"<from BeginWebAuthnLogin>"}.
type SecondFactor struct {
	Type string `json:"type"`
	Code string `json:"code"`
	// State is the opaque ceremony state of BeginWebAuthnLogin (fido
	// only).
	State string `json:"state,omitempty"`
}

// MFARequiredError is the ErrMFARequired of a log-in whose password was
// right: Pending is a token that, with the second factor, completes the
// log-in (CompleteMFALogin) without the password again; Types are the
// user's second-factor types. CompleteMFALogin returns one without Pending
// or Types (the pending log-in it was given stays open) when the factor
// was refused.
type MFARequiredError struct {
	Pending string
	Types   []string
	// Reason is "" when no second factor was given, else why the one
	// given was refused, a message ID: MsgMFACodeWrong, MsgMFACodeUsed (a
	// code of a time step already used), MsgRecoveryCodeWrong (unknown or
	// used) or MsgMFAKeyRefused (a security key not verified, its
	// ceremony spent or expired, or its signature counter gone back).
	Reason string
	// Enroll means the user has no second factor and Config.RequireMFA
	// wants one: Pending completes the log-in with CompleteMFAEnrollment
	// (a new authenticator app) instead of CompleteMFALogin.
	Enroll bool
}

func (e *MFARequiredError) Error() string { return ErrMFARequired.Error() }

// Unwrap returns ErrMFARequired.
func (e *MFARequiredError) Unwrap() error { return ErrMFARequired }
