package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// RSA sizes we accept from peers. Below 1024 bits Go refuses to verify anyway; above 8192 a
// single verification becomes expensive enough to be a denial-of-service lever.
const (
	minRSABits = 1024
	maxRSABits = 8192
)

// GenerateKey makes an RSA-2048 key: what Mastodon and GoToSocial use, and the size every
// peer accepts. Generation takes around 100 ms; do it once per actor.
func GenerateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("signature: generate key: %w", err)
	}
	return k, nil
}

// EncodePublicKeyPEM encodes the key as PKIX "PUBLIC KEY" PEM, the form of publicKeyPem in
// Mastodon and GoToSocial actor documents.
func EncodePublicKeyPEM(pub *rsa.PublicKey) (string, error) {
	if pub == nil {
		return "", errors.New("signature: encode public key: nil key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("signature: encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM reads a peer's publicKeyPem: PKIX "PUBLIC KEY" (RSA or Ed25519) or PKCS#1
// "RSA PUBLIC KEY" (some older servers). It returns *rsa.PublicKey or ed25519.PublicKey and
// rejects other types and RSA sizes outside 1024..8192 bits.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, err := decodePEM(s)
	if err != nil {
		return nil, err
	}
	var key crypto.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("signature: parse public key: unexpected PEM type %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("signature: parse public key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, fmt.Errorf("signature: parse public key: RSA key of %d bits", n)
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("signature: parse public key: unsupported key type %T", key)
}

// EncodePrivateKeyPEM encodes the key as PKCS#8 "PRIVATE KEY" PEM, for storage.
func EncodePrivateKeyPEM(key *rsa.PrivateKey) (string, error) {
	if key == nil {
		return "", errors.New("signature: encode private key: nil key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("signature: encode private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM reads an RSA private key in PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE
// KEY" PEM (what Mastodon stores and what imported keys often are).
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, err := decodePEM(s)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signature: parse private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signature: parse private key: %T is not RSA", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signature: parse private key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("signature: parse private key: unexpected PEM type %q", block.Type)
}

// decodePEM takes the first PEM block. Actor documents sometimes carry surrounding whitespace
// or literal "\n" sequences from double-encoded JSON; the latter are undone first.
func decodePEM(s string) (*pem.Block, error) {
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("signature: no PEM block found")
	}
	return block, nil
}
