package usher

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Token is a one-time token behind an e-mailed link: confirm an address,
// reset a password, log in, accept an invitation. The Store keeps only the
// SHA-256 of the token; the token itself exists only in the e-mail. (The
// Service also stores tokens of the internal kinds below, never e-mailed.)
//
// This file is the one place for token kinds and for making tokens.
type Token struct {
	Hash      []byte
	Kind      string // one of the Token... constants
	UserID    string // "" for an invitation to someone without an account
	Email     string // the address the link was sent to
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
	// Data is what a kind keeps with its token ("" for most): for
	// TokenFederatedState, the sign-in's provider, nonce, PKCE verifier
	// and next address, as JSON. It lives only as long as the token.
	Data string
}

// Token kinds.
const (
	TokenConfirmEmail  = "confirm_email"
	TokenResetPassword = "reset_password"
	TokenLoginLink     = "login_link"
	TokenInvitation    = "invitation"
	TokenMFAReset      = "mfa_reset"
)

// Kinds of the tokens that are never e-mailed: a log-in waiting for its
// second factor, a device remembered for the second factor, a pending
// enrolment (Config.RequireMFA), and a WebAuthn ceremony's challenge.
const (
	tokenMFAPending = "mfa_pending"
	tokenMFADevice  = "mfa_device"
	tokenMFAEnroll  = "mfa_enroll"
	tokenWebAuthn   = "webauthn"
)

// TokenFederatedState is the kind of a federated sign-in's state: the
// random state parameter sent to the identity provider, whose hash is
// kept with the sign-in's data (Token.Data) and no user, or the user who
// is linking an account. It is never e-mailed, is spent by UseToken when
// the provider sends the browser back, so it works once and on whichever
// instance the browser comes back to, and expires after
// FederatedStateTTL.
const TokenFederatedState = "federated_state"

// TokenFederatedSeen is the kind of a one-time ID a federated provider
// has seen (a SAML assertion's issuer and ID, Service.SeenOnce): its hash
// is the SHA-256 of the ID, it has no user and no data, and it lasts until
// the ID could no longer be accepted anyway. It is never used, only
// stored: storing it a second time fails, on any instance.
const TokenFederatedSeen = "federated_seen"

// FederatedStateTTL is how long a federated sign-in's state stays good.
const FederatedStateTTL = 10 * time.Minute

// tokenReauth is the kind of the record of a re-authentication: a token
// whose hash is derived from the session's ID (reauthHash, reauth.go), created at the
// moment the user proved themselves again and expiring FreshLogin later.
// It is never sent anywhere; the session is what proves it.
const tokenReauth = "reauth"

// tokenLen is the length of a token from newToken (sessions, links,
// pending log-ins): 32 bytes in unpadded base64url.
const tokenLen = 43

// newToken returns a 256-bit random token (base64url) and its SHA-256.
func newToken() (string, []byte) {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// hashToken returns the SHA-256 of a token, as stored.
func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}
