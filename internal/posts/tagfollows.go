package posts

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// MaxTagLen is the longest hashtag name one can follow or look up (Mastodon's limit too).
const MaxTagLen = 100

// TagFollow is one person following one hashtag.
type TagFollow struct {
	bun.BaseModel `bun:"table:tag_follows"`
	ID            string    `bun:"id,pk"`
	AccountID     string    `bun:"account_id"`
	Tag           string    `bun:"tag"`
	CreatedAt     time.Time `bun:"created_at"`
}

// NormalizeTag lower-cases a hashtag name (with or without its #) and checks it is one the
// markup would recognise: letters, digits and underscores, with at least one letter.
func NormalizeTag(name string) (string, error) {
	name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))
	if name == "" {
		return "", errs.Field("name", "give a hashtag")
	}
	if utf8.RuneCountInString(name) > MaxTagLen {
		return "", errs.Field("name", "a hashtag has at most %d characters", MaxTagLen)
	}
	letter := false
	for _, r := range name {
		switch {
		case r == '_' || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
		case unicode.IsLetter(r):
			letter = true
		default:
			return "", errs.Field("name", "%q is not a hashtag: use letters, digits and underscores", name)
		}
	}
	if !letter {
		return "", errs.Field("name", "%q is not a hashtag: it needs a letter", name)
	}
	return name, nil
}

// TagInfo is a hashtag as a viewer sees it: whether they follow it and its use over the last
// week, newest day first.
type TagInfo struct {
	Name      string
	Following bool
	History   []TagDay
}

// TagDay is one day of a hashtag's use.
type TagDay struct {
	Day      time.Time // UTC midnight
	Uses     int
	Accounts int
}

// TagHistoryDays is how many days a hashtag's history covers.
const TagHistoryDays = 7

// Tag answers a hashtag for v: a name that is not a hashtag is not found (as on Mastodon,
// any well-formed name exists, used or not). Its history counts only posts every colleague
// may read (public and company, outside groups), as trends do, so it reveals nothing.
func (s *Service) TagInfo(ctx context.Context, v *Viewer, name string) (*TagInfo, error) {
	tag, err := NormalizeTag(name)
	if err != nil {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	out := &TagInfo{Name: tag}
	if v != nil {
		if out.Following, err = s.DB.NewSelect().Model((*TagFollow)(nil)).Where("tag = ? AND account_id = ?", tag, v.ID).Exists(ctx); err != nil {
			return nil, fmt.Errorf("whether %s follows #%s: %w", v.ID, tag, err)
		}
	}
	now := s.Clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, -(TagHistoryDays - 1))
	auds := []Audience{Public}
	if v != nil && v.Local {
		auds = append(auds, Company)
	}
	var rows []struct {
		AuthorID  string    `bun:"author_id"`
		CreatedAt time.Time `bun:"created_at"`
	}
	// Rows, bucketed here: day arithmetic differs between the engines, and a week of one tag is small.
	err = s.DB.NewSelect().TableExpr("post_tags AS t").Join("JOIN posts AS p ON p.id = t.post_id").ColumnExpr("p.author_id, p.created_at").
		Where("t.tag = ? AND p.created_at >= ? AND p.deleted_at IS NULL AND p.group_id IS NULL AND p.audience IN (?)", tag, since, bun.In(auds)).
		Limit(100000).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("history of #%s: %w", tag, err)
	}
	out.History = make([]TagDay, TagHistoryDays)
	people := make([]map[string]bool, TagHistoryDays)
	for i := range out.History {
		out.History[i].Day = today.AddDate(0, 0, -i)
		people[i] = map[string]bool{}
	}
	for _, r := range rows {
		c := r.CreatedAt.UTC()
		i := int(today.Sub(time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		if i < 0 || i >= TagHistoryDays {
			continue
		}
		out.History[i].Uses++
		people[i][r.AuthorID] = true
	}
	for i := range out.History {
		out.History[i].Accounts = len(people[i])
	}
	return out, nil
}

// FollowTag makes v follow a hashtag (again is fine). From then on, public and company posts
// with it reach v's home feed as they are published; earlier posts are not added (as on
// Mastodon).
func (s *Service) FollowTag(ctx context.Context, v *Viewer, name string) (*TagInfo, error) {
	if v == nil || !v.Local {
		return nil, errs.E(errs.Forbidden, "only people of this node can follow hashtags")
	}
	tag, err := NormalizeTag(name)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	f := &TagFollow{ID: ids.New(now), AccountID: v.ID, Tag: tag, CreatedAt: now}
	if _, err := s.DB.NewInsert().Model(f).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("%s follows #%s: %w", v.ID, tag, err)
	}
	return s.TagInfo(ctx, v, tag)
}

// UnfollowTag stops v following a hashtag. Posts it already brought stay in the feed.
func (s *Service) UnfollowTag(ctx context.Context, v *Viewer, name string) (*TagInfo, error) {
	if v == nil {
		return nil, errs.E(errs.Forbidden, "only people of this node can follow hashtags")
	}
	tag, err := NormalizeTag(name)
	if err != nil {
		return nil, err
	}
	if _, err := s.DB.NewDelete().Model((*TagFollow)(nil)).Where("tag = ? AND account_id = ?", tag, v.ID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("%s unfollows #%s: %w", v.ID, tag, err)
	}
	return s.TagInfo(ctx, v, tag)
}

// FollowedTags is a keyset page (by follow id, newest first) of the hashtags v follows.
func (s *Service) FollowedTags(ctx context.Context, v *Viewer, pg Page) ([]TagFollow, error) {
	if v == nil {
		return nil, notFound()
	}
	var out []TagFollow
	q := s.DB.NewSelect().Model(&out).Where("account_id = ?", v.ID)
	q, asc := pg.apply(q, "id")
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("hashtags %s follows: %w", v.ID, err)
	}
	if asc {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// FollowingTags says which of names (lower-cased hashtags) v follows, in one query.
func (s *Service) FollowingTags(ctx context.Context, v *Viewer, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	if v == nil || len(names) == 0 {
		return out, nil
	}
	var tags []string
	if err := s.DB.NewSelect().Model((*TagFollow)(nil)).Column("tag").Where("account_id = ? AND tag IN (?)", v.ID, bun.In(names)).Scan(ctx, &tags); err != nil {
		return nil, fmt.Errorf("hashtags %s follows: %w", v.ID, err)
	}
	for _, t := range tags {
		out[t] = true
	}
	return out, nil
}

// tagFanOutAudiences are the audiences a followed hashtag brings into feeds: those every
// person of the node may read. Followers-only, direct and group posts reach only their own
// audience, whatever tags they carry.
var tagFanOutAudiences = []Audience{Public, Company}

// tagFanOutSQL writes a batch of posts into their hashtags' followers' feeds.
// CROSS JOIN fixes SQLite's join order (PostgreSQL plans it as the inner join it is): from
// the posts' tags, to their followers, to the posts. Left to itself, with a batch of ids,
// SQLite began from "reblog_of_id IS NULL" on posts_reblog_idx: a walk over every post,
// seconds on the 1M-post load dataset, with the write lock held (posting fell to 50/s).
const tagFanOutSQL = `INSERT INTO home_feed (account_id, post_id)
		SELECT tf.account_id, p.id FROM post_tags t
		CROSS JOIN tag_follows tf
		CROSS JOIN posts p
		CROSS JOIN users u
		WHERE t.post_id IN (?) AND tf.tag = t.tag AND p.id = t.post_id AND u.id = tf.account_id
		AND p.deleted_at IS NULL AND p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL
		AND p.audience IN (?) AND u.state = 'active' AND tf.account_id <> p.author_id
		AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = tf.account_id AND b.blocked_id = p.author_id)
			OR (b.blocker_id = p.author_id AND b.blocked_id = tf.account_id))
		ON CONFLICT DO NOTHING`

// tagFanOut writes posts into the home feeds of the active local people following one of
// their hashtags, in one statement (the tag_follows (tag, account_id) index gives the
// followers of each tag). Top-level public and company posts only, to active people neither
// blocking nor blocked by the author. Only this node's people follow tags (FollowTag), so a
// company post never reaches anyone outside the company this way.
func (s *Service) tagFanOut(ctx context.Context, tx bun.IDB, postIDs []string) error {
	_, err := tx.NewRaw(tagFanOutSQL, bun.In(postIDs), bun.In(tagFanOutAudiences)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("hashtag fan-out of %v: %w", postIDs, err)
	}
	return nil
}

// tagAudience lists the local people (among candidates, unless nil) whose feeds a post
// reaches through a followed hashtag, for live updates: as tagFanOut selects them.
func (s *Service) tagAudience(ctx context.Context, tx bun.IDB, p *Post, among []string) ([]string, error) {
	if len(p.Tags) == 0 || p.InReplyToID != nil || p.ReblogOfID != nil || (p.Audience != Public && p.Audience != Company) {
		return nil, nil
	}
	q := tx.NewSelect().TableExpr("tag_follows AS tf").ColumnExpr("DISTINCT tf.account_id").
		Join("JOIN users u ON u.id = tf.account_id").
		Where("tf.tag IN (?) AND u.state = 'active' AND tf.account_id <> ?", bun.In(p.Tags), p.AuthorID).
		Where("NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = tf.account_id AND b.blocked_id = ?) OR (b.blocker_id = ? AND b.blocked_id = tf.account_id))", p.AuthorID, p.AuthorID)
	if among != nil {
		q = q.Where("tf.account_id IN (?)", bun.In(among))
	}
	var out []string
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("hashtag followers of %s: %w", p.ID, err)
	}
	return out, nil
}
