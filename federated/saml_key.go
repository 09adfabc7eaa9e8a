package federated

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// This file makes a SAML service provider's key and certificate: from the
// sp_key and sp_certificate settings, or else from the server's secret key,
// the same on every instance.

// spKeyBits is the size of the RSA key made from the secret key.
const spKeyBits = 2048

// spKeyLabel separates the SP key's derivation from every other use of the
// secret key; v1 is the derivation below (changing it changes every
// derived key, which each IdP must then be given).
const spKeyLabel = "usher saml sp key v1"

// samlKeyPair returns the SP's RSA key and certificate: sp_key (and
// sp_certificate, else a certificate made for sp_key), or, without sp_key,
// both made from secret.
func samlKeyPair(keyPEM, certPEM string, secret []byte) (*rsa.PrivateKey, *x509.Certificate, error) {
	var key *rsa.PrivateKey
	switch {
	case keyPEM != "":
		k, err := parseRSAKey(keyPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("sp_key: %w", err)
		}
		key = k
	case certPEM != "":
		return nil, nil, errors.New("sp_certificate needs its sp_key")
	case len(secret) == 0:
		return nil, nil, errors.New("no sp_key, and no secret key to make one from")
	default:
		key = deriveSPKey(secret)
	}
	if certPEM == "" {
		cert, err := selfSignedSPCert(key)
		return key, cert, err
	}
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, errors.New("sp_certificate: not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("sp_certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("sp_certificate is not sp_key's")
	}
	return key, cert, nil
}

// parseRSAKey reads an RSA private key in PEM (PKCS #1 or PKCS #8).
func parseRSAKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key (PKCS #1 or PKCS #8)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key (SAML request signing and assertion decryption need RSA)")
	}
	return rk, nil
}

// deriveSPKey makes a 2048-bit RSA key from secret, the same for the same
// secret on every instance, so that every instance signs with the key the
// IdP was given in the metadata. The primes are found by testing
// candidates drawn from a stream of HMAC-SHA256(secret, label || counter);
// rsa.GenerateKey cannot do this since Go 1.26 (it ignores its reader).
// The key is as secret as the secret key, and changes with it.
func deriveSPKey(secret []byte) *rsa.PrivateKey {
	s := &keyStream{secret: secret}
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for {
		p, q := s.prime(spKeyBits/2), s.prime(spKeyBits/2)
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != spKeyBits {
			continue
		}
		pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm1, qm1)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue // e divides p-1 or q-1
		}
		k := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: n, E: 65537},
			D:         d,
			Primes:    []*big.Int{p, q},
		}
		k.Precompute()
		if k.Validate() != nil {
			continue
		}
		return k
	}
}

// keyStream is a deterministic stream of bytes made from a secret: block i
// is HMAC-SHA256(secret, label || i).
type keyStream struct {
	secret []byte
	n      uint64
}

func (s *keyStream) read(b []byte) {
	for len(b) > 0 {
		m := hmac.New(sha256.New, s.secret)
		m.Write([]byte(spKeyLabel))
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], s.n)
		m.Write(ctr[:])
		s.n++
		b = b[copy(b, m.Sum(nil)):]
	}
}

// prime returns the next probable prime of bits bits (the top two bits
// set, so that the product of two has twice as many) from the stream.
func (s *keyStream) prime(bits int) *big.Int {
	buf := make([]byte, bits/8)
	for {
		s.read(buf)
		buf[0] |= 0xc0
		buf[len(buf)-1] |= 1
		p := new(big.Int).SetBytes(buf)
		if p.ProbablyPrime(20) {
			return p
		}
	}
}

// selfSignedSPCert makes the SP's certificate for key: self-signed, valid
// from 2026 for a hundred years, with a serial number made from the public
// key. RSA PKCS #1 v1.5 signatures have no randomness, so the same key
// gives the same certificate, byte for byte, on every instance. (IdPs use
// an SP certificate only as a container for its public key.)
func selfSignedSPCert(key *rsa.PrivateKey) (*x509.Certificate, error) {
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(&key.PublicKey))
	serial := new(big.Int).SetBytes(sum[:16])
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Usher SAML service provider"},
		NotBefore:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("making the SP certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}
