package follows

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Follow states of a follow that crosses nodes.
const (
	Pending  = "pending"  // we sent Follow; the followee's node has not accepted yet
	Accepted = "accepted" // the edge exists in follows too
)

// Federated is a follow between a local person and a remote account, with the id of the
// Follow activity that Accept, Reject and Undo refer to.
type Federated struct {
	bun.BaseModel `bun:"table:federated_follows"`
	FollowerID    string    `bun:"follower_id,pk"`
	FolloweeID    string    `bun:"followee_id,pk"`
	ActivityURI   string    `bun:"activity_uri"`
	State         string    `bun:"state"`
	CreatedAt     time.Time `bun:"created_at"`
}

// RemoteHook is told of follow changes that another node must hear about, inside the
// transaction that made them, so that the message is sent exactly when the change commits.
type RemoteHook interface {
	// FollowRequested: a local person asked to follow a remote account (send Follow). The
	// hook sets f.ActivityURI before the row is stored.
	FollowRequested(ctx context.Context, tx bun.IDB, f *Federated) error
	// FollowWithdrawn: a local person stopped following a remote account or cancelled the
	// request (send Undo{Follow}).
	FollowWithdrawn(ctx context.Context, tx bun.IDB, f *Federated) error
	// FollowAccepted: a remote account now follows a local person (send Accept{Follow}).
	FollowAccepted(ctx context.Context, tx bun.IDB, f *Federated) error
	// FollowRejected: a remote account asked to follow a local person who blocks it (send
	// Reject{Follow}). f is not stored.
	FollowRejected(ctx context.Context, tx bun.IDB, f *Federated) error
	// Blocked: a local person blocked a remote account (send Block). The hook sets
	// b.ActivityURI before the row is stored.
	Blocked(ctx context.Context, tx bun.IDB, b *Block) error
	// Unblocked: a local person lifted the block of a remote account (send Undo{Block}).
	Unblocked(ctx context.Context, tx bun.IDB, b *Block) error
}

func (s *Service) isRemote(ctx context.Context, id string) (bool, error) {
	if s.IsRemote == nil {
		return false, nil
	}
	return s.IsRemote(ctx, id)
}

// request records a local person's request to follow a remote account and sends it.
func (s *Service) request(ctx context.Context, followerID, followeeID string) (bool, error) {
	if s.Remote == nil {
		return false, errs.E(errs.Unavailable, "this node does not federate, so people on other nodes cannot be followed")
	}
	var created bool
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		exists, err := tx.NewSelect().Model((*Federated)(nil)).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exists(ctx)
		if err != nil || exists {
			return err
		}
		f := &Federated{FollowerID: followerID, FolloweeID: followeeID, State: Pending, CreatedAt: s.Clock.Now()}
		if err := s.Remote.FollowRequested(ctx, tx, f); err != nil {
			return err
		}
		if f.ActivityURI == "" {
			return fmt.Errorf("follows: the federation hook gave the Follow no id")
		}
		_, err = tx.NewInsert().Model(f).Exec(ctx)
		created = err == nil
		return err
	})
	return created, err
}

// withdraw removes the cross-node record of a local person's follow and tells the remote node.
func (s *Service) withdraw(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	f := new(Federated)
	err := tx.NewSelect().Model(f).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Scan(ctx)
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model(f).WherePK().Exec(ctx); err != nil {
		return err
	}
	if remote, err := s.isRemote(ctx, followeeID); err != nil || !remote || s.Remote == nil {
		return err
	}
	return s.Remote.FollowWithdrawn(ctx, tx, f)
}

// Lookup finds a cross-node follow by its Follow activity's id.
func (s *Service) Lookup(ctx context.Context, activityURI string) (*Federated, error) {
	f := new(Federated)
	if err := s.DB.NewSelect().Model(f).Where("activity_uri = ?", activityURI).Limit(1).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such follow")
	}
	return f, nil
}

// Federation returns the cross-node record of follower following followee, if any.
func (s *Service) Federation(ctx context.Context, followerID, followeeID string) (*Federated, error) {
	f := new(Federated)
	if err := s.DB.NewSelect().Model(f).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such follow")
	}
	return f, nil
}

// Accepted applies the remote node's Accept of a local person's follow request: the edge
// appears (and the feed backfills). Accepting twice, or something never asked, changes nothing.
func (s *Service) Accepted(ctx context.Context, followerID, followeeID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Federated)(nil)).Set("state = ?", Accepted).
			Where("follower_id = ? AND followee_id = ? AND state = ?", followerID, followeeID, Pending).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = s.insert(ctx, tx, followerID, followeeID)
		return err
	})
}

// Rejected applies a remote node's Reject: the request, or the follow it had accepted, is gone.
func (s *Service) Rejected(ctx context.Context, followerID, followeeID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Federated)(nil)).
			Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exec(ctx); err != nil {
			return err
		}
		return s.remove(ctx, tx, followerID, followeeID)
	})
}

// FollowedFromRemote applies a remote account's Follow of a local person. Local people
// accept every follower (as Workplace does), so the edge appears at once and Accept goes back.
// A repeated Follow is answered with Accept again: the remote node may have lost the first.
// A person who blocks the account answers Reject instead, and nothing is stored.
func (s *Service) FollowedFromRemote(ctx context.Context, followerID, followeeID, activityURI string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		blocked, err := s.Blocking(ctx, tx, followeeID, followerID)
		if err != nil {
			return err
		}
		if blocked {
			if s.Remote == nil {
				return nil
			}
			return s.Remote.FollowRejected(ctx, tx, &Federated{FollowerID: followerID, FolloweeID: followeeID,
				ActivityURI: activityURI, CreatedAt: s.Clock.Now()})
		}
		f := &Federated{FollowerID: followerID, FolloweeID: followeeID, ActivityURI: activityURI, State: Accepted, CreatedAt: s.Clock.Now()}
		if _, err := tx.NewInsert().Model(f).On("CONFLICT (follower_id, followee_id) DO UPDATE").
			Set("activity_uri = EXCLUDED.activity_uri, state = EXCLUDED.state").Exec(ctx); err != nil {
			return err
		}
		if _, err := s.insert(ctx, tx, followerID, followeeID); err != nil {
			return err
		}
		if s.Remote == nil {
			return nil
		}
		return s.Remote.FollowAccepted(ctx, tx, f)
	})
}

// UnfollowedFromRemote applies a remote account's Undo{Follow}.
func (s *Service) UnfollowedFromRemote(ctx context.Context, followerID, followeeID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Federated)(nil)).
			Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exec(ctx); err != nil {
			return err
		}
		return s.remove(ctx, tx, followerID, followeeID)
	})
}

// requested lists which of ids the viewer has asked to follow without an answer yet.
func (s *Service) requested(ctx context.Context, viewerID string, ids []string) (map[string]bool, error) {
	var pending []string
	if err := s.DB.NewSelect().Model((*Federated)(nil)).Column("followee_id").
		Where("follower_id = ? AND state = ? AND followee_id IN (?)", viewerID, Pending, bun.In(ids)).
		Scan(ctx, &pending); err != nil {
		return nil, fmt.Errorf("follows: pending requests: %w", err)
	}
	out := make(map[string]bool, len(pending))
	for _, id := range pending {
		out[id] = true
	}
	return out, nil
}

// RemoteFollowers returns the remote accounts following a local person (for delivery).
func (s *Service) RemoteFollowers(ctx context.Context, tx bun.IDB, followeeID string) ([]string, error) {
	var out []string
	err := tx.NewSelect().Model((*Federated)(nil)).Column("follower_id").
		Where("followee_id = ? AND state = ?", followeeID, Accepted).Scan(ctx, &out)
	return out, err
}

// RemoveAll ends every follow to and from an account (its node deleted it).
func (s *Service) RemoveAll(ctx context.Context, id string) error {
	var edges []Follow
	if err := s.DB.NewSelect().Model(&edges).Where("follower_id = ? OR followee_id = ?", id, id).Scan(ctx); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Federated)(nil)).Where("follower_id = ? OR followee_id = ?", id, id).Exec(ctx); err != nil {
			return err
		}
		for _, e := range edges {
			if err := s.remove(ctx, tx, e.FollowerID, e.FolloweeID); err != nil {
				return err
			}
		}
		return nil
	})
}

// HasFollowers reports whether anyone follows the account.
func (s *Service) HasFollowers(ctx context.Context, id string) (bool, error) {
	return s.DB.NewSelect().Model((*Follow)(nil)).Where("followee_id = ?", id).Exists(ctx)
}

// RemoteFollowees returns the remote accounts a local person follows.
func (s *Service) RemoteFollowees(ctx context.Context, followerID string) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().Model((*Federated)(nil)).Column("followee_id").
		Where("follower_id = ? AND state = ?", followerID, Accepted).Scan(ctx, &out)
	return out, err
}
