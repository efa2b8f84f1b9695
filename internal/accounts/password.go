package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/atrium-social/atrium/internal/errs"
)

// Hasher hashes passwords with argon2id. Each hash in flight allocates MemoryKiB, so a
// semaphore bounds how many run at once: ten concurrent logins must not cost 640 MiB.
type Hasher struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	sem       chan struct{}
}

// NewHasher makes a hasher with at most parallel hashes in flight.
func NewHasher(memoryKiB uint32, parallel int) *Hasher {
	if parallel < 1 {
		parallel = 1
	}
	return &Hasher{MemoryKiB: memoryKiB, Time: 1, Threads: 2, sem: make(chan struct{}, parallel)}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errs.Wrap(errs.Unavailable, ctx.Err(), "the server is busy; please try again")
	}
}

// Hash returns a PHC-format argon2id hash, carrying its parameters so they can change later.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-h.sem }()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.Time, h.MemoryKiB, h.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.MemoryKiB, h.Time, h.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the stored hash, in constant time.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("accounts: unknown password hash format")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("accounts: bad hash parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, err
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.sem }()
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// checkPassword enforces the password policy: length over composition rules (NIST 800-63B).
func checkPassword(field, pw string) error {
	if len(pw) < 10 {
		return errs.Field(field, "use at least 10 characters")
	}
	if len(pw) > 256 {
		return errs.Field(field, "use at most 256 characters")
	}
	return nil
}
