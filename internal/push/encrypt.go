package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The aes128gcm content coding (RFC 8188) as Web Push uses it (RFC 8291).
const (
	recordSize = 4096
	saltLen    = 16
	// headerLen is salt, record size, key id length and the 65-byte key id.
	headerLen = saltLen + 4 + 1 + 65
	// MaxPlaintext is the largest message that fits the one 4096-byte record push services
	// must accept (RFC 8291 section 4): 4096 - 86 header - 16 tag - 1 delimiter.
	MaxPlaintext = recordSize - headerLen - 16 - 1
)

var b64 = base64.RawURLEncoding

// decodeB64 reads base64url as apps send it: with or without padding, and tolerating the
// standard alphabet some libraries emit.
func decodeB64(s string) ([]byte, error) {
	s = stripPadding(s)
	if b, err := b64.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func stripPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// Encrypt encrypts plaintext for a subscriber (its p256dh public key and auth secret) with
// a fresh ephemeral key and salt, returning the aes128gcm body to POST. A fresh key per
// message is what RFC 8291 requires: reusing one would let the push service link messages.
func Encrypt(plaintext, uaPublic, authSecret []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("push: ephemeral key: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, fmt.Errorf("push: salt: %w", err)
	}
	return encrypt(plaintext, uaPublic, authSecret, salt, as)
}

// encrypt is Encrypt with the salt and the application server's key given, so a test can
// reproduce RFC 8291's Appendix A byte for byte.
func encrypt(plaintext, uaPublic, authSecret, salt []byte, as *ecdh.PrivateKey) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("push: message of %d bytes is over the %d a push service must accept", len(plaintext), MaxPlaintext)
	}
	if len(authSecret) != 16 {
		return nil, errors.New("push: the auth secret must be 16 bytes")
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("push: subscriber key: %w", err)
	}
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("push: ecdh: %w", err)
	}
	asPublic := as.PublicKey().Bytes()
	// RFC 8291 section 3.3: the auth secret salts the shared secret, bound to both keys.
	prkKey, err := hkdf.Extract(sha256.New, shared, authSecret)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(uaPublic) + string(asPublic)
	ikm, err := hkdf.Expand(sha256.New, prkKey, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 section 2.2: the content key and nonce come from the salt and that IKM.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, headerLen+len(plaintext)+1+gcm.Overhead())
	copy(out, salt)
	binary.BigEndian.PutUint32(out[saltLen:], recordSize)
	out[saltLen+4] = byte(len(asPublic))
	copy(out[saltLen+5:], asPublic)
	// One record, so it is the last: the padding delimiter is 0x02 and no padding follows.
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02)
	return gcm.Seal(out, nonce, record, nil), nil
}
