package discover

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
)

// MaxFeaturedTags bounds the hashtags on one profile, as Mastodon's limit of 10 does.
const MaxFeaturedTags = 10

// MaxEndorsements bounds the people one profile endorses, so the list stays one query.
const MaxEndorsements = 80

// tagName is what a hashtag may contain: letters, digits, marks and underscores in any script.
var tagName = regexp.MustCompile(`^[\p{L}\p{M}\p{N}_]{1,100}$`)

// FeaturedTag is a hashtag featured on a profile, with the owner's use of it.
type FeaturedTag struct {
	bun.BaseModel `bun:"table:featured_tags"`
	ID            string    `bun:"id,pk"`
	AccountID     string    `bun:"account_id"`
	Name          string    `bun:"name"`
	CreatedAt     time.Time `bun:"created_at"`
	// StatusesCount and LastStatusAt count the owner's public and company posts with the tag.
	StatusesCount int        `bun:"-"`
	LastStatusAt  *time.Time `bun:"-"`
}

type endorsement struct {
	bun.BaseModel `bun:"table:endorsements"`
	AccountID     string    `bun:"account_id,pk"`
	EndorsedID    string    `bun:"endorsed_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// FeaturedTags lists the hashtags accountID features, oldest first (the order they were chosen).
func (s *Service) FeaturedTags(ctx context.Context, accountID string) ([]FeaturedTag, error) {
	out := []FeaturedTag{}
	if err := s.DB.NewSelect().Model(&out).Where("account_id = ?", accountID).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.tagUse(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tagUse counts the owner's posts with the tag that anyone on the node may see: the counts
// are shown to every viewer of the profile.
func (s *Service) tagUse(ctx context.Context, t *FeaturedTag) error {
	var row struct {
		N    int        `bun:"n"`
		Last *time.Time `bun:"last"`
	}
	err := s.DB.NewSelect().TableExpr("post_tags AS t").Join("JOIN posts AS p ON p.id = t.post_id").
		ColumnExpr("COUNT(*) AS n, MAX(p.created_at) AS last").
		Where("t.tag = ? AND p.author_id = ? AND p.deleted_at IS NULL AND p.group_id IS NULL", t.Name, t.AccountID).
		Where("p.audience IN (?)", bun.In([]posts.Audience{posts.Public, posts.Company})).
		Scan(ctx, &row)
	t.StatusesCount, t.LastStatusAt = row.N, row.Last
	return err
}

// normalTag reads a hashtag as people type it ("#Go") into its stored form ("go").
func normalTag(name string) (string, error) {
	n := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
	if !tagName.MatchString(n) {
		return "", errs.Field("name", "%q is not a hashtag: use letters, digits and underscores", name)
	}
	return n, nil
}

// Feature adds a hashtag to accountID's profile; featuring one already featured returns it.
func (s *Service) Feature(ctx context.Context, accountID, name string) (*FeaturedTag, error) {
	n, err := normalTag(name)
	if err != nil {
		return nil, err
	}
	var t *FeaturedTag
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var have []FeaturedTag
		if err := tx.NewSelect().Model(&have).Where("account_id = ?", accountID).Scan(ctx); err != nil {
			return err
		}
		for i := range have {
			if have[i].Name == n {
				t = &have[i]
				return nil
			}
		}
		if len(have) >= MaxFeaturedTags {
			return errs.Field("name", "you can feature at most %d hashtags", MaxFeaturedTags)
		}
		now := s.Clock.Now()
		t = &FeaturedTag{ID: ids.New(now), AccountID: accountID, Name: n, CreatedAt: now}
		_, err := tx.NewInsert().Model(t).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, s.tagUse(ctx, t)
}

// Unfeature removes one of accountID's featured hashtags; another person's is not found.
func (s *Service) Unfeature(ctx context.Context, accountID, id string) error {
	res, err := s.DB.NewDelete().Model((*FeaturedTag)(nil)).Where("id = ? AND account_id = ?", id, accountID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// TagSuggestions are the hashtags accountID has used most, not yet featured.
func (s *Service) TagSuggestions(ctx context.Context, accountID string, limit int) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().TableExpr("post_tags AS t").Join("JOIN posts AS p ON p.id = t.post_id").
		ColumnExpr("t.tag").
		Where("p.author_id = ? AND p.deleted_at IS NULL", accountID).
		Where("NOT EXISTS (SELECT 1 FROM featured_tags f WHERE f.account_id = ? AND f.name = t.tag)", accountID).
		GroupExpr("t.tag").OrderExpr("COUNT(*) DESC, t.tag ASC").Limit(int64(limit)).Scan(ctx, &out)
	return out, err
}

// Endorse features followee on accountID's profile. As on Mastodon, only people one follows
// can be endorsed: an endorsement says "I read them and recommend them".
func (s *Service) Endorse(ctx context.Context, accountID, followeeID string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		follows, err := tx.NewSelect().Table("follows").Where("follower_id = ? AND followee_id = ?", accountID, followeeID).Exists(ctx)
		if err != nil {
			return err
		}
		if !follows {
			return errs.E(errs.Invalid, "You must be already following the person you want to endorse")
		}
		n, err := tx.NewSelect().Model((*endorsement)(nil)).Where("account_id = ?", accountID).Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxEndorsements {
			return errs.E(errs.Invalid, "You can endorse at most %d people", MaxEndorsements)
		}
		_, err = tx.NewInsert().Model(&endorsement{AccountID: accountID, EndorsedID: followeeID, CreatedAt: s.Clock.Now()}).
			On("CONFLICT DO NOTHING").Exec(ctx)
		return err
	})
}

// Unendorse removes an endorsement; removing one that does not exist is no error.
func (s *Service) Unendorse(ctx context.Context, accountID, endorsedID string) error {
	_, err := s.DB.NewDelete().Model((*endorsement)(nil)).Where("account_id = ? AND endorsed_id = ?", accountID, endorsedID).Exec(ctx)
	return err
}

// Endorsed lists the people accountID endorses and still follows, oldest endorsement first.
// An unfollow leaves its row behind, and reading through follows hides it without a hook
// into the follows package.
func (s *Service) Endorsed(ctx context.Context, accountID string) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().TableExpr("endorsements AS e").ColumnExpr("e.endorsed_id").
		Where("e.account_id = ?", accountID).
		Where("EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = e.account_id AND f.followee_id = e.endorsed_id)").
		OrderExpr("e.created_at, e.endorsed_id").Limit(MaxEndorsements).Scan(ctx, &out)
	return out, err
}
