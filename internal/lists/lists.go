// Package lists keeps people's lists (Mastodon's lists): named sets of accounts the owner
// follows, each with its own timeline. A list is private to its owner; another person's
// list is answered as absent, so its existence is never confirmed.
package lists

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
)

// Replies policies, as Mastodon names them: which comments of members the list shows.
const (
	RepliesFollowed = "followed" // comments on posts by anyone the owner follows
	RepliesList     = "list"     // comments on posts by list members
	RepliesNone     = "none"     // no comments
)

// MaxTitle bounds a list's title (Mastodon's limit is 256 characters too).
const MaxTitle = 256

// MaxMembers bounds a list, so its timeline query stays an index walk over a bounded set.
const MaxMembers = 1000

// List is one list.
type List struct {
	bun.BaseModel `bun:"table:lists,alias:l"`
	ID            string    `bun:"id,pk"`
	OwnerID       string    `bun:"owner_id"`
	Title         string    `bun:"title"`
	RepliesPolicy string    `bun:"replies_policy"`
	Exclusive     bool      `bun:"exclusive"`
	CreatedAt     time.Time `bun:"created_at"`
}

type member struct {
	bun.BaseModel `bun:"table:list_members"`
	ListID        string    `bun:"list_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Service manages lists.
type Service struct {
	DB      *db.DB
	Clock   clock.Clock
	Follows *follows.Service
	Posts   *posts.Service
}

// Input creates or changes a list; nil fields stay as they are (or take defaults).
type Input struct {
	Title         *string
	RepliesPolicy *string
	Exclusive     *bool
}

func notFound() error { return errs.E(errs.NotFound, "Record not found") }

func (in Input) apply(l *List) error {
	if in.Title != nil {
		l.Title = strings.TrimSpace(*in.Title)
	}
	if l.Title == "" {
		return errs.Field("title", "give the list a title")
	}
	if len([]rune(l.Title)) > MaxTitle {
		return errs.Field("title", "use at most %d characters", MaxTitle)
	}
	if in.RepliesPolicy != nil && *in.RepliesPolicy != "" {
		l.RepliesPolicy = *in.RepliesPolicy
	}
	switch l.RepliesPolicy {
	case RepliesFollowed, RepliesList, RepliesNone:
	default:
		return errs.Field("replies_policy", "%q is not followed, list or none", l.RepliesPolicy)
	}
	if in.Exclusive != nil {
		l.Exclusive = *in.Exclusive
	}
	return nil
}

// Create makes a list for owner.
func (s *Service) Create(ctx context.Context, ownerID string, in Input) (*List, error) {
	now := s.Clock.Now()
	l := &List{ID: ids.New(now), OwnerID: ownerID, RepliesPolicy: RepliesList, CreatedAt: now}
	if err := in.apply(l); err != nil {
		return nil, err
	}
	if _, err := s.DB.NewInsert().Model(l).Exec(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Get returns one of owner's lists.
func (s *Service) Get(ctx context.Context, ownerID, id string) (*List, error) {
	l := new(List)
	if err := s.DB.NewSelect().Model(l).Where("id = ? AND owner_id = ?", id, ownerID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound()
		}
		return nil, err
	}
	return l, nil
}

// All returns owner's lists, oldest first (the order apps show them in).
func (s *Service) All(ctx context.Context, ownerID string) ([]List, error) {
	out := []List{}
	err := s.DB.NewSelect().Model(&out).Where("owner_id = ?", ownerID).Order("id").Scan(ctx)
	return out, err
}

// Update changes one of owner's lists.
func (s *Service) Update(ctx context.Context, ownerID, id string, in Input) (*List, error) {
	l, err := s.Get(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(l); err != nil {
		return nil, err
	}
	_, err = s.DB.NewUpdate().Model(l).Column("title", "replies_policy", "exclusive").WherePK().Exec(ctx)
	return l, err
}

// Delete removes one of owner's lists and its members.
func (s *Service) Delete(ctx context.Context, ownerID, id string) error {
	if _, err := s.Get(ctx, ownerID, id); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*member)(nil)).Where("list_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*List)(nil)).Where("id = ?", id).Exec(ctx)
		return err
	})
}

// Members lists the account ids on one of owner's lists, in id order, after afterID (""
// from the start); limit <= 0 returns them all, as Mastodon does with limit=0.
func (s *Service) Members(ctx context.Context, ownerID, id, afterID string, limit int) ([]string, error) {
	if _, err := s.Get(ctx, ownerID, id); err != nil {
		return nil, err
	}
	out := []string{}
	q := s.DB.NewSelect().Model((*member)(nil)).Column("account_id").Where("list_id = ?", id).Order("account_id")
	if afterID != "" {
		q = q.Where("account_id > ?", afterID)
	}
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	err := q.Scan(ctx, &out)
	return out, err
}

// AddMembers puts accounts on one of owner's lists. As on Mastodon, only accounts the owner
// follows may be added: a list is a view of the home timeline, not a way to read people.
func (s *Service) AddMembers(ctx context.Context, ownerID, id string, accountIDs []string) error {
	if _, err := s.Get(ctx, ownerID, id); err != nil {
		return err
	}
	if len(accountIDs) == 0 {
		return errs.Field("account_ids", "name the accounts to add")
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := s.Clock.Now()
		for _, a := range accountIDs {
			ok, err := s.Follows.Follows(ctx, tx, ownerID, a)
			if err != nil {
				return err
			}
			if !ok {
				return errs.Field("account_ids", "you can only add accounts you follow")
			}
			if _, err := tx.NewInsert().Model(&member{ListID: id, AccountID: a, CreatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return err
			}
		}
		n, err := tx.NewSelect().Model((*member)(nil)).Where("list_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if n > MaxMembers {
			return errs.Field("account_ids", "a list holds at most %d accounts", MaxMembers)
		}
		return nil
	})
}

// RemoveMembers takes accounts off one of owner's lists; absent ones are no error.
func (s *Service) RemoveMembers(ctx context.Context, ownerID, id string, accountIDs []string) error {
	if _, err := s.Get(ctx, ownerID, id); err != nil {
		return err
	}
	if len(accountIDs) == 0 {
		return nil
	}
	_, err := s.DB.NewDelete().Model((*member)(nil)).Where("list_id = ? AND account_id IN (?)", id, bun.In(accountIDs)).Exec(ctx)
	return err
}

// Containing returns owner's lists that have accountID on them.
func (s *Service) Containing(ctx context.Context, ownerID, accountID string) ([]List, error) {
	out := []List{}
	err := s.DB.NewSelect().Model(&out).Where("owner_id = ?", ownerID).
		Where("EXISTS (SELECT 1 FROM list_members m WHERE m.list_id = l.id AND m.account_id = ?)", accountID).
		Order("id").Scan(ctx)
	return out, err
}

// ExclusiveMembers returns the accounts on owner's exclusive lists, whose posts Mastodon keeps
// out of the home timeline (they are read on their list instead).
func (s *Service) ExclusiveMembers(ctx context.Context, ownerID string) (map[string]bool, error) {
	var accts []string
	err := s.DB.NewSelect().TableExpr("list_members AS m").ColumnExpr("m.account_id").
		Join("JOIN lists AS l ON l.id = m.list_id").Where("l.owner_id = ? AND l.exclusive", ownerID).Scan(ctx, &accts)
	out := make(map[string]bool, len(accts))
	for _, a := range accts {
		out[a] = true
	}
	return out, err
}
