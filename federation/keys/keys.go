// Package keys keeps every actor's RSA-2048 key pair in the database: people by their user
// id, the node's instance actor as "instance". A person's pair is made by a job queued with
// their account (internal/app), so creating an account never waits ~100 ms for RSA key
// generation and the key exists before any peer asks. For still makes a missing pair on
// first use (accounts from before, or bulk-loaded ones); two processes racing to make one
// agree on the stored pair.
package keys

import (
	"context"
	"crypto/rsa"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
)

// Instance is the owner id of the node's own actor.
const Instance = "instance"

type row struct {
	bun.BaseModel `bun:"table:actor_keys"`
	OwnerID       string    `bun:"owner_id,pk"`
	PublicPEM     string    `bun:"public_pem"`
	PrivatePEM    string    `bun:"private_pem"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Pair is an actor's key pair.
type Pair struct {
	Private   *rsa.PrivateKey
	PublicPEM string
}

// Store loads and creates key pairs, caching parsed keys (parsing PEM costs more than a
// signature's hashing).
type Store struct {
	DB    *db.DB
	Clock clock.Clock

	mu    sync.Mutex
	cache map[string]*Pair
}

// For returns the owner's key pair, creating it if it does not exist yet.
func (s *Store) For(ctx context.Context, ownerID string) (*Pair, error) {
	s.mu.Lock()
	if p, ok := s.cache[ownerID]; ok {
		s.mu.Unlock()
		return p, nil
	}
	s.mu.Unlock()
	r := new(row)
	err := s.DB.NewSelect().Model(r).Where("owner_id = ?", ownerID).Scan(ctx)
	if db.IsNotFound(err) {
		if err := s.create(ctx, ownerID); err != nil {
			return nil, err
		}
		err = s.DB.NewSelect().Model(r).Where("owner_id = ?", ownerID).Scan(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: load %s: %w", ownerID, err)
	}
	rk, err := signature.ParsePrivateKeyPEM(r.PrivatePEM)
	if err != nil {
		return nil, fmt.Errorf("keys: parse %s: %w", ownerID, err)
	}
	p := &Pair{Private: rk, PublicPEM: r.PublicPEM}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]*Pair{}
	}
	s.cache[ownerID] = p
	s.mu.Unlock()
	return p, nil
}

func (s *Store) create(ctx context.Context, ownerID string) error {
	k, err := signature.GenerateKey()
	if err != nil {
		return err
	}
	pub, err := signature.EncodePublicKeyPEM(&k.PublicKey)
	if err != nil {
		return err
	}
	priv, err := signature.EncodePrivateKeyPEM(k)
	if err != nil {
		return err
	}
	_, err = s.DB.NewInsert().Model(&row{OwnerID: ownerID, PublicPEM: pub, PrivatePEM: priv, CreatedAt: s.Clock.Now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}
