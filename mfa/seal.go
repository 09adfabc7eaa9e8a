package mfa

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// KeySize is the size of a Sealer key: AES-256.
const KeySize = 32

const (
	sealVersion = 1
	keyIDSize   = 8
	nonceSize   = 12
	headerSize  = 1 + keyIDSize // version ‖ key ID
)

// Errors returned by Sealer.Open.
var (
	// ErrUnknownKey means the value was sealed with a key the Sealer does
	// not have.
	ErrUnknownKey = errors.New("mfa: sealed with an unknown key")
	// ErrCannotOpen means the value is malformed or was altered.
	ErrCannotOpen = errors.New("mfa: sealed value is malformed or altered")
)

// Sealer encrypts secrets at rest (TOTP keys) with AES-256-GCM. It seals
// with its first key and opens with any of its keys, so a key can be
// rotated: configure the new key first and the old ones after it, re-seal
// the values NeedsReseal reports, then drop the old keys.
//
// A sealed value is 1 version byte ‖ 8-byte key ID (the first 8 bytes of
// the key's SHA-256) ‖ 12-byte random nonce ‖ GCM ciphertext and tag. The
// version and key ID are authenticated as additional data.
type Sealer struct {
	ids   [][keyIDSize]byte // ids[0] seals
	aeads []cipher.AEAD
}

// NewSealer returns a Sealer with keys, each KeySize bytes; the first seals.
func NewSealer(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("mfa: NewSealer needs at least one key")
	}
	s := &Sealer{}
	for _, k := range keys {
		if len(k) != KeySize {
			return nil, errors.New("mfa: a sealing key must be 32 bytes")
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.ids = append(s.ids, keyID(k))
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

func keyID(key []byte) [keyIDSize]byte {
	sum := sha256.Sum256(key)
	return [keyIDSize]byte(sum[:keyIDSize])
}

// Seal encrypts plaintext with the Sealer's first key and a random nonce.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	out := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+s.aeads[0].Overhead())
	out[0] = sealVersion
	copy(out[1:headerSize], s.ids[0][:])
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aeads[0].Seal(out, nonce, plaintext, out[:headerSize]), nil
}

// Open decrypts a value made by Seal with any of the Sealer's keys. It
// returns ErrUnknownKey if none of them sealed it, and ErrCannotOpen if
// the value is malformed or was altered.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	i, err := s.find(sealed)
	if err != nil {
		return nil, err
	}
	aead := s.aeads[i]
	if len(sealed) < headerSize+nonceSize+aead.Overhead() {
		return nil, ErrCannotOpen
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[headerSize+nonceSize:], sealed[:headerSize])
	if err != nil {
		return nil, ErrCannotOpen
	}
	return plaintext, nil
}

// find returns the index of the key that sealed the value.
func (s *Sealer) find(sealed []byte) (int, error) {
	if len(sealed) < headerSize || sealed[0] != sealVersion {
		return 0, ErrCannotOpen
	}
	for i, id := range s.ids {
		if bytes.Equal(sealed[1:headerSize], id[:]) {
			return i, nil
		}
	}
	return 0, ErrUnknownKey
}

// NeedsReseal reports whether sealed was sealed with one of the Sealer's
// keys other than the first: opening it and sealing it again moves it to
// the current key. It does not authenticate the value; Open does.
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	i, err := s.find(sealed)
	return err == nil && i > 0
}

// NewKey returns a new random KeySize-byte key.
func NewKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return key
}

// ParseKey parses a key written in hex or in base64 (standard or URL
// alphabet, padded or not), as configuration holds it. The key must be
// exactly KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	decoders := []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	}
	for _, decode := range decoders {
		if key, err := decode(s); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, errors.New("mfa: a key must be 32 bytes in hex or base64")
}
