package posts

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Feeds show the same posts again and again (every reader of a busy feed asks for the same
// first page), and loading a post's text, attachments, tags and mentions was most of a feed
// page's cost. The caches below keep what rarely changes. What decides whether a post may be
// shown never comes from them: feed membership, deletion and the counts are read from the
// database on every page, and a cached post is used only while its edited_at matches the
// row's (so an edit made by any process replaces it at once). This process's own changes
// drop entries at once; the TTL bounds what another process can leave stale (an attachment's
// description, a reaction that changed emoji without changing the count).
const (
	postCacheTTL     = 30 * time.Second
	postCacheMax     = 8192
	reactionCacheTTL = 5 * time.Second
)

// forgetPosts drops posts from the caches after this process changed them.
func (s *Service) forgetPosts(ids ...string) {
	s.postCache.Forget(ids...)
	s.reactionCache.Forget(ids...)
}

// postHead is what a feed reads fresh for every post on every page: its id, whether and when
// it was edited (to validate the cached rest) and the counts, which change all the time.
type postHead struct {
	ID             string
	EditedAt       *time.Time
	RepliesCount   int
	ReblogsCount   int
	ReactionsCount int
	// The viewer's own state of the post, read along (ViewerState).
	MyReaction *string
	Shared     bool
	Bookmarked bool
}

// headColumns selects a postHead from posts aliased p.
const headColumns = "p.id, p.edited_at, p.replies_count, p.reblogs_count, p.reactions_count"

// fromHeads returns the hydrated posts of heads, in order, from the cache where it holds the
// same version and from the database (one query for the rows, three to hydrate) otherwise.
// The heads must come from a query that applied every visibility rule and skipped deleted
// posts; a post deleted since is left out.
func (s *Service) fromHeads(ctx context.Context, heads []postHead) ([]*Post, error) {
	now := s.Clock.Now()
	out := make([]*Post, len(heads))
	var missing []string
	for i, h := range heads {
		if c, ok := s.postCache.Get(h.ID, now); ok && sameTime(c.EditedAt, h.EditedAt) {
			out[i] = copyPost(&c)
		} else {
			missing = append(missing, h.ID)
		}
	}
	if len(missing) > 0 {
		gen := s.postCache.Generation()
		var loaded []*Post
		if err := s.DB.NewSelect().Model(&loaded).Where("id IN (?)", bun.In(missing)).Scan(ctx); err != nil {
			return nil, err
		}
		if err := s.hydrate(ctx, loaded); err != nil {
			return nil, err
		}
		byID := make(map[string]*Post, len(loaded))
		for _, p := range loaded {
			byID[p.ID] = p
			s.postCache.Put(gen, p.ID, *copyPost(p), now)
		}
		for i, h := range heads {
			if out[i] == nil {
				if p, ok := byID[h.ID]; ok && p.DeletedAt == nil {
					out[i] = p
				}
			}
		}
	}
	kept := out[:0]
	for i, p := range out {
		if p == nil {
			continue
		}
		p.RepliesCount, p.ReblogsCount, p.ReactionsCount = heads[i].RepliesCount, heads[i].ReblogsCount, heads[i].ReactionsCount
		kept = append(kept, p)
	}
	return kept, nil
}

// copyPost copies a post and its lists, so that what a caller changes never reaches the
// cache and the other way round.
func copyPost(p *Post) *Post {
	cp := *p
	cp.Attachments, cp.Tags, cp.Mentions = slices.Clone(p.Attachments), slices.Clone(p.Tags), slices.Clone(p.Mentions)
	return &cp
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
