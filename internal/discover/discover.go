// Package discover answers "what is going on here, and whom should I know": trending
// hashtags and posts from this node's own activity, people to follow, and what people choose
// to feature on their profiles (hashtags and endorsed colleagues).
//
// Trends count only posts everyone signed in (or, for visitors, everyone) may see: public and
// company posts outside groups. Counting followers-only, direct or group posts would let a
// tag's numbers reveal conversations the viewer cannot read.
package discover

import (
	"context"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// Window is how far back trends look, as Mastodon's trends do.
const Window = 7 * 24 * time.Hour

// Service computes trends and suggestions and keeps featured tags and endorsements.
type Service struct {
	DB    *db.DB
	Clock clock.Clock
	Posts *posts.Service
}

// audiences are the audiences a viewer may count in trends (see the package comment).
func audiences(v *posts.Viewer) []posts.Audience {
	if v != nil && v.Local {
		return []posts.Audience{posts.Public, posts.Company}
	}
	return []posts.Audience{posts.Public}
}

// trendable restricts a query over posts aliased p to those trends count for v: recent,
// not deleted, by people of this node, public or company outside groups, and by nobody the
// viewer blocks or is blocked by.
func trendable(q *bun.SelectQuery, v *posts.Viewer, since time.Time) *bun.SelectQuery {
	q = q.Where("p.created_at >= ? AND p.deleted_at IS NULL AND p.group_id IS NULL", since).
		Where("p.audience IN (?)", bun.In(audiences(v))).
		Where("EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id AND u.state = 'active')")
	if v != nil {
		q = q.Where("NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = p.author_id) OR (b.blocker_id = p.author_id AND b.blocked_id = ?))", v.ID, v.ID)
	}
	return q
}

// Day is one day of a tag's use: how many posts used it, by how many people.
type Day struct {
	Day      time.Time // UTC midnight
	Uses     int
	Accounts int
}

// TagTrend is a hashtag with its daily use over the window, newest day first.
type TagTrend struct {
	Name    string
	History []Day
}

// Days is how many entries a tag's history has.
const Days = 7

// TrendingTags ranks the hashtags of the last week's posts the viewer may see by how many
// people used them, then by how many posts did: one enthusiast posting a tag all day should
// not outrank a tag half the company picked up.
func (s *Service) TrendingTags(ctx context.Context, v *posts.Viewer, offset, limit int) ([]TagTrend, error) {
	now := s.Clock.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, -(Days - 1))
	var rows []struct {
		Tag       string    `bun:"tag"`
		AuthorID  string    `bun:"author_id"`
		CreatedAt time.Time `bun:"created_at"`
	}
	// Rows, not SQL aggregates: bucketing by day differs between SQLite and PostgreSQL, and a
	// week of tagged posts on one node is small.
	q := s.DB.NewSelect().TableExpr("post_tags AS t").Join("JOIN posts AS p ON p.id = t.post_id").
		ColumnExpr("t.tag, p.author_id, p.created_at")
	if err := trendable(q, v, since).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	type agg struct {
		days   [Days]Day
		people [Days]map[string]bool
		all    map[string]bool
		uses   int
	}
	byTag := map[string]*agg{}
	for _, r := range rows {
		i := int(today.Sub(time.Date(r.CreatedAt.UTC().Year(), r.CreatedAt.UTC().Month(), r.CreatedAt.UTC().Day(), 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		if i < 0 || i >= Days {
			continue
		}
		a := byTag[r.Tag]
		if a == nil {
			a = &agg{all: map[string]bool{}}
			byTag[r.Tag] = a
		}
		if a.people[i] == nil {
			a.people[i] = map[string]bool{}
		}
		a.days[i].Uses++
		a.people[i][r.AuthorID] = true
		a.all[r.AuthorID] = true
		a.uses++
	}
	names := make([]string, 0, len(byTag))
	for name := range byTag {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := byTag[names[i]], byTag[names[j]]
		if len(a.all) != len(b.all) {
			return len(a.all) > len(b.all)
		}
		if a.uses != b.uses {
			return a.uses > b.uses
		}
		return names[i] < names[j]
	})
	out := []TagTrend{}
	for k := offset; k < len(names) && len(out) < limit; k++ {
		a := byTag[names[k]]
		t := TagTrend{Name: names[k], History: make([]Day, Days)}
		for i := range Days {
			t.History[i] = Day{Day: today.AddDate(0, 0, -i), Uses: a.days[i].Uses, Accounts: len(a.people[i])}
		}
		out = append(out, t)
	}
	return out, nil
}

// TrendingPosts ranks the last week's top-level posts the viewer may see by reactions plus
// shares. Each is loaded through posts.Get with the viewer, so the posts visibility rule
// decides, whatever the ranking query selected.
func (s *Service) TrendingPosts(ctx context.Context, v *posts.Viewer, offset, limit int) ([]*posts.Post, error) {
	since := s.Clock.Now().Add(-Window)
	var idList []string
	q := s.DB.NewSelect().TableExpr("posts AS p").Column("p.id").
		Where("p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL").
		Where("p.reactions_count + p.reblogs_count > 0")
	q = trendable(q, v, since).OrderExpr("p.reactions_count + p.reblogs_count DESC, p.id DESC").Offset(int64(offset)).Limit(int64(limit))
	if err := q.Scan(ctx, &idList); err != nil {
		return nil, err
	}
	out := make([]*posts.Post, 0, len(idList))
	for _, id := range idList {
		p, err := s.Posts.Get(ctx, v, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
