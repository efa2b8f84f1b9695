package follows

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Block is one person blocking another. Either may be remote: a local person blocking a
// remote account (their node hears Block), or a remote account blocking one of our people
// (its node told us with Block, kept so that our person cannot follow it).
type Block struct {
	bun.BaseModel `bun:"table:blocks"`
	BlockerID     string    `bun:"blocker_id,pk"`
	BlockedID     string    `bun:"blocked_id,pk"`
	ActivityURI   string    `bun:"activity_uri"` // the Block's id when it crosses nodes
	CreatedAt     time.Time `bun:"created_at"`
}

// Block makes blocker block blocked: follows between them end both ways (their feeds and the
// cross-node records follow through the hooks), and a remote account's node hears Block.
// Blocking twice is not an error.
func (s *Service) Block(ctx context.Context, blockerID, blockedID string) error {
	if blockerID == blockedID {
		return errs.E(errs.Invalid, "you cannot block yourself")
	}
	remote, err := s.isRemote(ctx, blockedID)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		exists, err := tx.NewSelect().Model((*Block)(nil)).
			Where("blocker_id = ? AND blocked_id = ?", blockerID, blockedID).Exists(ctx)
		if err != nil || exists {
			return err
		}
		// The blocker's follow (or request) ends as an unfollow would: Undo{Follow} for a
		// remote account. The blocked account's follow of the blocker just goes; the Block
		// tells its node.
		if err := s.withdraw(ctx, tx, blockerID, blockedID); err != nil {
			return err
		}
		if err := s.remove(ctx, tx, blockerID, blockedID); err != nil {
			return err
		}
		if err := s.dropFederated(ctx, tx, blockedID, blockerID); err != nil {
			return err
		}
		if err := s.remove(ctx, tx, blockedID, blockerID); err != nil {
			return err
		}
		b := &Block{BlockerID: blockerID, BlockedID: blockedID, CreatedAt: s.Clock.Now()}
		if remote && s.Remote != nil {
			if err := s.Remote.Blocked(ctx, tx, b); err != nil {
				return err
			}
			if b.ActivityURI == "" {
				return fmt.Errorf("follows: the federation hook gave the Block no id")
			}
		}
		_, err = tx.NewInsert().Model(b).Exec(ctx)
		return err
	})
}

// Unblock lifts blocker's block of blocked (a remote account's node hears Undo{Block});
// lifting none is not an error. Follows ended by the block do not come back.
func (s *Service) Unblock(ctx context.Context, blockerID, blockedID string) error {
	remote, err := s.isRemote(ctx, blockedID)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		b := new(Block)
		err := tx.NewSelect().Model(b).Where("blocker_id = ? AND blocked_id = ?", blockerID, blockedID).Scan(ctx)
		if db.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(b).WherePK().Exec(ctx); err != nil {
			return err
		}
		if !remote || s.Remote == nil || b.ActivityURI == "" {
			return nil
		}
		return s.Remote.Unblocked(ctx, tx, b)
	})
}

// Blocks lists the accounts blocker blocks, newest first, before the created-at cursor.
func (s *Service) Blocks(ctx context.Context, blockerID string, before time.Time, limit int) ([]Block, error) {
	var out []Block
	q := s.DB.NewSelect().Model(&out).Where("blocker_id = ?", blockerID).OrderExpr("created_at DESC, blocked_id").Limit(int64(limit))
	if !before.IsZero() {
		q = q.Where("created_at < ?", before)
	}
	return out, q.Scan(ctx)
}

// Blocking reports whether blocker blocks blocked.
func (s *Service) Blocking(ctx context.Context, tx bun.IDB, blockerID, blockedID string) (bool, error) {
	return tx.NewSelect().Model((*Block)(nil)).Where("blocker_id = ? AND blocked_id = ?", blockerID, blockedID).Exists(ctx)
}

// BlockedFromRemote applies a remote account's Block of a local person: follows between them
// end both ways, and the block is kept so that the local person cannot follow the account
// (their relationship says blocked_by). Repeating it changes nothing more.
func (s *Service) BlockedFromRemote(ctx context.Context, blockerID, blockedID, activityURI string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		b := &Block{BlockerID: blockerID, BlockedID: blockedID, ActivityURI: activityURI, CreatedAt: s.Clock.Now()}
		if _, err := tx.NewInsert().Model(b).On("CONFLICT (blocker_id, blocked_id) DO UPDATE").
			Set("activity_uri = EXCLUDED.activity_uri").Exec(ctx); err != nil {
			return err
		}
		for _, pair := range [][2]string{{blockerID, blockedID}, {blockedID, blockerID}} {
			if err := s.dropFederated(ctx, tx, pair[0], pair[1]); err != nil {
				return err
			}
			if err := s.remove(ctx, tx, pair[0], pair[1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// UnblockedFromRemote applies a remote account's Undo{Block}.
func (s *Service) UnblockedFromRemote(ctx context.Context, blockerID, blockedID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewDelete().Model((*Block)(nil)).Where("blocker_id = ? AND blocked_id = ?", blockerID, blockedID).Exec(ctx)
		return err
	})
}

// dropFederated forgets the cross-node record of a follow without telling anyone.
func (s *Service) dropFederated(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	_, err := tx.NewDelete().Model((*Federated)(nil)).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exec(ctx)
	return err
}

// blockBetween says why a follows b cannot be: a blocks b, or b blocks a ("" when neither).
func (s *Service) blockBetween(ctx context.Context, tx bun.IDB, a, b string) (string, error) {
	var rows []Block
	if err := tx.NewSelect().Model(&rows).
		Where("(blocker_id = ? AND blocked_id = ?) OR (blocker_id = ? AND blocked_id = ?)", a, b, b, a).
		Scan(ctx); err != nil {
		return "", err
	}
	for _, r := range rows {
		if r.BlockerID == a {
			return "you block this account; unblock it first", nil
		}
	}
	if len(rows) > 0 {
		return "this account has blocked you", nil
	}
	return "", nil
}

// blockedSets lists, among ids, whom the viewer blocks and who blocks the viewer.
func (s *Service) blockedSets(ctx context.Context, viewerID string, ids []string) (blocking, blockedBy map[string]bool, err error) {
	var rows []Block
	if err := s.DB.NewSelect().Model(&rows).
		Where("(blocker_id = ? AND blocked_id IN (?)) OR (blocked_id = ? AND blocker_id IN (?))", viewerID, bun.In(ids), viewerID, bun.In(ids)).
		Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("follows: blocks: %w", err)
	}
	blocking, blockedBy = map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		if r.BlockerID == viewerID {
			blocking[r.BlockedID] = true
		} else {
			blockedBy[r.BlockerID] = true
		}
	}
	return blocking, blockedBy, nil
}
