// Package ids makes the node's identifiers and secrets: ULIDs for rows (sortable, so keyset
// pagination works on any engine) and random tokens whose SHA-256 is what the database keeps,
// so a stolen database holds no usable session, token or link.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/oklog/ulid/v2"
)

// New returns a ULID for time t (monotonic enough for ordering; random in the low bits).
func New(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), rand.Reader).String()
}

// Token returns a random 32-byte secret, base64url without padding.
func Token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS RNG failing is unrecoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a token.
func Hash(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}
