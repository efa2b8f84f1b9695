// Package follows keeps who follows whom. Following someone puts their posts (those you may
// see) into your home feed; the followers audience of a post is exactly its author's
// followers. Account ids may be local people or (with federation) remote accounts.
package follows

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Follow is one edge.
type Follow struct {
	bun.BaseModel `bun:"table:follows"`
	FollowerID    string    `bun:"follower_id,pk"`
	FolloweeID    string    `bun:"followee_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
	// Notify: the follower asked to hear of each new post (Mastodon's notify=true).
	Notify bool `bun:"notify"`
}

// Hook lets the feed react to new and removed follows inside the same transaction (backfill
// and removal of the followee's posts), without this package knowing about posts.
type Hook interface {
	Followed(ctx context.Context, tx bun.IDB, followerID, followeeID string) error
	Unfollowed(ctx context.Context, tx bun.IDB, followerID, followeeID string) error
}

// Service manages follows.
type Service struct {
	DB    *db.DB
	Clock clock.Clock
	Hooks []Hook
	// Remote handles follows that cross nodes (the federation outbox); nil on a node that
	// does not federate, where remote accounts cannot be followed.
	Remote RemoteHook
	// IsRemote tells remote accounts from local people (nil: everyone is local).
	IsRemote func(ctx context.Context, id string) (bool, error)
}

// Follow makes follower follow followee; following twice is not an error.
func (s *Service) Follow(ctx context.Context, followerID, followeeID string) (created bool, err error) {
	if followerID == followeeID {
		return false, errs.E(errs.Invalid, "you cannot follow yourself")
	}
	if why, err := s.blockBetween(ctx, s.DB, followerID, followeeID); err != nil || why != "" {
		if err != nil {
			return false, err
		}
		return false, errs.E(errs.Forbidden, "%s", why)
	}
	if remote, err := s.isRemote(ctx, followeeID); err != nil || remote {
		if err != nil {
			return false, err
		}
		return s.request(ctx, followerID, followeeID)
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		created, err = s.insert(ctx, tx, followerID, followeeID)
		return err
	})
	return created, err
}

// insert adds the edge and tells the hooks, inside tx.
func (s *Service) insert(ctx context.Context, tx bun.IDB, followerID, followeeID string) (bool, error) {
	res, err := tx.NewInsert().Model(&Follow{FollowerID: followerID, FolloweeID: followeeID, CreatedAt: s.Clock.Now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	for _, h := range s.Hooks {
		if err := h.Followed(ctx, tx, followerID, followeeID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Unfollow removes an edge, or withdraws a follow request still waiting for a remote node's
// answer; removing none is not an error.
func (s *Service) Unfollow(ctx context.Context, followerID, followeeID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.withdraw(ctx, tx, followerID, followeeID); err != nil {
			return err
		}
		return s.remove(ctx, tx, followerID, followeeID)
	})
}

// remove deletes the edge and tells the hooks, inside tx.
func (s *Service) remove(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	res, err := tx.NewDelete().Model((*Follow)(nil)).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	for _, h := range s.Hooks {
		if err := h.Unfollowed(ctx, tx, followerID, followeeID); err != nil {
			return err
		}
	}
	return nil
}

// Follows reports whether follower follows followee.
func (s *Service) Follows(ctx context.Context, tx bun.IDB, followerID, followeeID string) (bool, error) {
	return tx.NewSelect().Model((*Follow)(nil)).Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exists(ctx)
}

// Relationship is how a viewer relates to another account.
type Relationship struct {
	ID         string
	Following  bool
	FollowedBy bool
	Requested  bool   // a follow request waits for the remote node's answer
	Blocking   bool   // the viewer blocks the account
	BlockedBy  bool   // the account blocks the viewer (a remote account's node told us)
	Note       string // the viewer's private note about the account (notes.go)
	Notifying  bool   // the viewer is told of the account's new posts (SetNotify)
}

// Relationships returns the viewer's relationship to each id.
func (s *Service) Relationships(ctx context.Context, viewerID string, ids []string) ([]Relationship, error) {
	if len(ids) > 0 {
		// As on Mastodon, ids that name no account (a person here or on another node, or a
		// group's account) are left out rather than answered with an invented relationship.
		var known []string
		if err := s.DB.NewRaw(`SELECT id FROM users WHERE id IN (?) UNION SELECT id FROM remote_accounts WHERE id IN (?)
			UNION SELECT id FROM groups WHERE id IN (?)`, bun.In(ids), bun.In(ids), bun.In(ids)).Scan(ctx, &known); err != nil {
			return nil, err
		}
		ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !slices.Contains(known, id) })
	}
	out := make([]Relationship, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Follow
	if err := s.DB.NewSelect().Model(&rows).
		Where("(follower_id = ? AND followee_id IN (?)) OR (followee_id = ? AND follower_id IN (?))", viewerID, bun.In(ids), viewerID, bun.In(ids)).
		Scan(ctx); err != nil {
		return nil, err
	}
	following, followedBy, notifying := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		if r.FollowerID == viewerID {
			following[r.FolloweeID] = true
			notifying[r.FolloweeID] = r.Notify
		} else {
			followedBy[r.FollowerID] = true
		}
	}
	requested, err := s.requested(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	blocking, blockedBy, err := s.blockedSets(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	notes, err := s.notes(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		out[i] = Relationship{ID: id, Following: following[id], FollowedBy: followedBy[id], Requested: requested[id],
			Blocking: blocking[id], BlockedBy: blockedBy[id], Note: notes[id], Notifying: notifying[id]}
	}
	return out, nil
}

// Page lists follow edges newest first: the followers of id (followers=true) or whom id
// follows, before the created-at/ids cursor.
func (s *Service) Page(ctx context.Context, id string, followers bool, before time.Time, limit int) ([]Follow, error) {
	var out []Follow
	q := s.DB.NewSelect().Model(&out).OrderExpr("created_at DESC").Limit(int64(limit))
	if followers {
		q = q.Where("followee_id = ?", id)
	} else {
		q = q.Where("follower_id = ?", id)
	}
	if !before.IsZero() {
		q = q.Where("created_at < ?", before)
	}
	return out, q.Scan(ctx)
}

// Counts returns how many follow id and how many id follows.
func (s *Service) Counts(ctx context.Context, id string) (followers, following int, err error) {
	f, err := s.DB.NewSelect().Model((*Follow)(nil)).Where("followee_id = ?", id).Count(ctx)
	if err != nil {
		return 0, 0, err
	}
	g, err := s.DB.NewSelect().Model((*Follow)(nil)).Where("follower_id = ?", id).Count(ctx)
	return int(f), int(g), err
}

// SetNotify turns notifications of followee's new posts on or off for followerID, who must
// follow them (Mastodon's follow with notify=true or false).
func (s *Service) SetNotify(ctx context.Context, followerID, followeeID string, on bool) error {
	res, err := s.DB.NewUpdate().Model((*Follow)(nil)).Set("notify = ?", on).
		Where("follower_id = ? AND followee_id = ?", followerID, followeeID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errs.E(errs.Invalid, "follow this person first to be told of their posts")
	}
	return nil
}
