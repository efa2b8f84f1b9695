package lists

import (
	"context"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// maxRounds bounds how many batches of candidates one page reads when many of them turn out
// hidden from the owner, so a page's cost stays bounded; the page is then short, and its Link
// header still lets the app go on from where it stopped.
const maxRounds = 5

// Timeline is a list's timeline for its owner: posts and shares by its members, and their
// comments as the list's replies policy says, newest first, paged like every timeline.
//
// Candidates are chosen here by author (posts has no query by a set of authors); whether the
// owner may see each one is decided by posts.Service.Get, the one visibility rule, so a list
// never shows a post its owner could not open. Candidates are read in batches until the page
// is full, so hidden posts do not leave short pages in the middle of a timeline.
func (s *Service) Timeline(ctx context.Context, v *posts.Viewer, id string, pg posts.Page) ([]*posts.Post, error) {
	if v == nil {
		return nil, errs.E(errs.Unauthorized, "This method requires an authenticated user")
	}
	l, err := s.Get(ctx, v.ID, id)
	if err != nil {
		return nil, err
	}
	limit := pg.Limit
	if limit <= 0 || limit > 40 {
		limit = 20
	}
	asc := pg.MinID != ""
	batch := 2 * limit
	var out []*posts.Post
	for round := 0; round < maxRounds && len(out) < limit; round++ {
		cands, err := s.candidates(ctx, l, pg, asc, batch)
		if err != nil {
			return nil, err
		}
		for _, pid := range cands {
			p, err := s.Posts.Get(ctx, v, pid)
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, p)
			if len(out) == limit {
				break
			}
		}
		if len(cands) < batch {
			break
		}
		// Go on after the last candidate read, in the page's direction.
		if last := cands[len(cands)-1]; asc {
			pg.MinID = last
		} else {
			pg.MaxID = last
		}
	}
	if asc { // min_id pages are read oldest first; every page is answered newest first
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// candidates returns ids of the list's members' posts within the page bounds.
func (s *Service) candidates(ctx context.Context, l *List, pg posts.Page, asc bool, n int) ([]string, error) {
	var out []string
	q := s.DB.NewSelect().TableExpr("posts AS p").ColumnExpr("p.id").
		Join("JOIN list_members AS m ON m.account_id = p.author_id AND m.list_id = ?", l.ID).
		Where("p.deleted_at IS NULL")
	switch l.RepliesPolicy {
	case RepliesNone:
		q = q.Where("p.in_reply_to_id IS NULL")
	case RepliesList:
		q = q.Where(`(p.in_reply_to_id IS NULL OR EXISTS (SELECT 1 FROM posts q JOIN list_members m2
			ON m2.account_id = q.author_id AND m2.list_id = ? WHERE q.id = p.in_reply_to_id))`, l.ID)
	default: // followed
		q = q.Where(`(p.in_reply_to_id IS NULL OR EXISTS (SELECT 1 FROM posts q WHERE q.id = p.in_reply_to_id AND
			(q.author_id = ? OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = q.author_id))))`, l.OwnerID, l.OwnerID)
	}
	if pg.MaxID != "" {
		q = q.Where("p.id < ?", pg.MaxID)
	}
	if pg.SinceID != "" {
		q = q.Where("p.id > ?", pg.SinceID)
	}
	if asc {
		q = q.Where("p.id > ?", pg.MinID).OrderExpr("p.id ASC")
	} else {
		q = q.OrderExpr("p.id DESC")
	}
	err := q.Limit(int64(n)).Scan(ctx, &out)
	return out, err
}
