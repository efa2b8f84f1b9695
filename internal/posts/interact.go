package posts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/migrations"
)

// React sets the viewer's reaction to a post (one per person: a new one replaces the old).
func (s *Service) React(ctx context.Context, u *accounts.User, id, emoji string) (*Post, error) {
	return s.react(ctx, u, id, emoji, s.visibleTo(u))
}

// find loads the post someone acts on, or refuses with the error to report.
type find func(ctx context.Context, tx bun.IDB, id string) (*Post, error)

// visibleTo finds posts u can see (a share stands for its original).
func (s *Service) visibleTo(u *accounts.User) find {
	return func(ctx context.Context, tx bun.IDB, id string) (*Post, error) {
		p, err := s.visible(ctx, tx, ViewerOf(u), id)
		if err == nil && p.ReblogOfID != nil {
			p, err = s.visible(ctx, tx, ViewerOf(u), *p.ReblogOfID)
		}
		return p, err
	}
}

func (s *Service) react(ctx context.Context, u *accounts.User, id, emoji string, find find) (*Post, error) {
	if emoji == "" {
		emoji = Like
	}
	if !ValidReaction(emoji) {
		return nil, errs.Field("emoji", "%q is not one of the reactions: %v", emoji, ReactionSet())
	}
	var p *Post
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = find(ctx, tx, id); err != nil {
			return err
		}
		existing := new(Reaction)
		err = tx.NewSelect().Model(existing).Where("post_id = ? AND account_id = ?", p.ID, u.ID).Scan(ctx)
		switch {
		case err == nil && existing.Emoji == emoji:
			return nil
		case err == nil:
			_, err = tx.NewUpdate().Model(existing).Set("emoji = ?", emoji).Set("created_at = ?", s.Clock.Now()).WherePK().Exec(ctx)
			return err
		}
		if _, err := tx.NewInsert().Model(&Reaction{PostID: p.ID, AccountID: u.ID, Emoji: emoji, CreatedAt: s.Clock.Now()}).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(p).Set("reactions_count = reactions_count + 1").WherePK().Exec(ctx); err != nil {
			return err
		}
		p.ReactionsCount++
		for _, h := range s.hooks {
			if err := h.Reacted(ctx, tx, p, u.ID, emoji); err != nil {
				return err
			}
		}
		return nil
	})
	if p != nil {
		s.forgetPosts(p.ID) // after the commit, so no reader can cache the old counts again
	}
	return p, err
}

// Unreact removes the viewer's reaction; removing none is not an error.
func (s *Service) Unreact(ctx context.Context, u *accounts.User, id string) (*Post, error) {
	return s.unreact(ctx, u, id, func(ctx context.Context, tx bun.IDB, id string) (*Post, error) {
		return s.visible(ctx, tx, ViewerOf(u), id)
	})
}

func (s *Service) unreact(ctx context.Context, u *accounts.User, id string, find find) (*Post, error) {
	var p *Post
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = find(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*Reaction)(nil)).Where("post_id = ? AND account_id = ?", p.ID, u.ID).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		p.ReactionsCount--
		if _, err := tx.NewUpdate().Model(p).Set("reactions_count = reactions_count - 1").WherePK().Where("reactions_count > 0").Exec(ctx); err != nil {
			return err
		}
		for _, h := range s.hooks {
			if uh, ok := h.(UnreactHook); ok {
				if err := uh.Unreacted(ctx, tx, p, u.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if p != nil {
		s.forgetPosts(p.ID) // after the commit, so no reader can cache the old counts again
	}
	return p, err
}

// Reactions lists who reacted to a post and how, newest first.
func (s *Service) Reactions(ctx context.Context, v *Viewer, id string, limit int) ([]Reaction, error) {
	p, err := s.visible(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	var out []Reaction
	return out, s.DB.NewSelect().Model(&out).Where("post_id = ?", p.ID).OrderExpr("created_at DESC").Limit(int64(limit)).Scan(ctx)
}

// ReactionSummary counts reactions by emoji for each post, for display. Counts are cached
// for a few seconds (reactionCacheTTL): this process's reactions clear them at once, and
// favourites_count, read with the post, is always exact.
func (s *Service) ReactionSummary(ctx context.Context, postIDs []string) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	if len(postIDs) == 0 {
		return out, nil
	}
	now := s.Clock.Now()
	var missing []string
	for _, id := range postIDs {
		if m, ok := s.reactionCache.Get(id, now); ok {
			if len(m) > 0 {
				out[id] = maps.Clone(m)
			}
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	gen := s.reactionCache.Generation()
	var rows []struct {
		PostID string `bun:"post_id"`
		Emoji  string `bun:"emoji"`
		N      int    `bun:"n"`
	}
	if err := s.DB.NewSelect().Table("reactions").Column("post_id", "emoji").ColumnExpr("COUNT(*) AS n").
		Where("post_id IN (?)", bun.In(missing)).Group("post_id", "emoji").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("reaction summary: %w", err)
	}
	loaded := map[string]map[string]int{}
	for _, r := range rows {
		if loaded[r.PostID] == nil {
			loaded[r.PostID] = map[string]int{}
		}
		loaded[r.PostID][r.Emoji] = r.N
	}
	for _, id := range missing {
		m := loaded[id] // nil for posts without reactions: cached too, as the common case
		s.reactionCache.Put(gen, id, m, now)
		if m != nil {
			out[id] = maps.Clone(m)
		}
	}
	return out, nil
}

// ViewerState is what the viewer has done to each post: reacted (with which emoji),
// shared, bookmarked.
type ViewerState struct {
	Reaction   map[string]string
	Shared     map[string]bool
	Bookmarked map[string]bool
}

// StateOf returns the viewer's state for the posts in one query (three index lookups joined
// by UNION ALL): it runs for every page shown, and each statement has a fixed cost.
func (s *Service) StateOf(ctx context.Context, v *Viewer, postIDs []string) (ViewerState, error) {
	st := ViewerState{Reaction: map[string]string{}, Shared: map[string]bool{}, Bookmarked: map[string]bool{}}
	if v == nil || len(postIDs) == 0 {
		return st, nil
	}
	var rows []struct {
		Kind   string `bun:"kind"`
		PostID string `bun:"post_id"`
		Emoji  string `bun:"emoji"`
	}
	if s.DB.Engine == migrations.SQLite {
		// Prepared once (db.Prepared), with the ids as one JSON array.
		list, err := json.Marshal(postIDs)
		if err != nil {
			return st, err
		}
		stmt, err := s.DB.Prepared(ctx, `SELECT 'r' AS kind, post_id, emoji FROM reactions WHERE account_id = ?1 AND post_id IN (SELECT value FROM json_each(?2))
		UNION ALL SELECT 's', reblog_of_id, '' FROM posts WHERE author_id = ?1 AND reblog_of_id IN (SELECT value FROM json_each(?2)) AND deleted_at IS NULL
		UNION ALL SELECT 'b', post_id, '' FROM bookmarks WHERE account_id = ?1 AND post_id IN (SELECT value FROM json_each(?2))`)
		if err != nil {
			return st, err
		}
		res, err := stmt.QueryContext(ctx, v.ID, string(list))
		if err == nil {
			err = s.DB.ScanRows(ctx, res, &rows)
		}
		if err != nil {
			return st, fmt.Errorf("viewer state of %s: %w", v.ID, err)
		}
	} else {
		in := bun.In(postIDs)
		if err := s.DB.NewRaw(`SELECT 'r' AS kind, post_id, emoji FROM reactions WHERE account_id = ? AND post_id IN (?)
		UNION ALL SELECT 's', reblog_of_id, '' FROM posts WHERE author_id = ? AND reblog_of_id IN (?) AND deleted_at IS NULL
		UNION ALL SELECT 'b', post_id, '' FROM bookmarks WHERE account_id = ? AND post_id IN (?)`,
			v.ID, in, v.ID, in, v.ID, in).Scan(ctx, &rows); err != nil {
			return st, fmt.Errorf("viewer state of %s: %w", v.ID, err)
		}
	}
	for _, r := range rows {
		switch r.Kind {
		case "r":
			st.Reaction[r.PostID] = r.Emoji
		case "s":
			st.Shared[r.PostID] = true
		case "b":
			st.Bookmarked[r.PostID] = true
		}
	}
	return st, nil
}

// Bookmark saves a post for the viewer; saving twice is not an error.
func (s *Service) Bookmark(ctx context.Context, u *accounts.User, id string) (*Post, error) {
	p, err := s.visible(ctx, s.DB, ViewerOf(u), id)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	_, err = s.DB.NewInsert().Model(&bookmark{AccountID: u.ID, PostID: p.ID, CreatedAt: now, Seq: ids.New(now)}).On("CONFLICT DO NOTHING").Exec(ctx)
	return p, err
}

// Unbookmark forgets a saved post.
func (s *Service) Unbookmark(ctx context.Context, u *accounts.User, id string) (*Post, error) {
	p, err := s.visible(ctx, s.DB, ViewerOf(u), id)
	if err != nil {
		return nil, err
	}
	_, err = s.DB.NewDelete().Model((*bookmark)(nil)).Where("account_id = ? AND post_id = ?", u.ID, p.ID).Exec(ctx)
	return p, err
}

// Boost shares a post with the viewer's followers. Only public and company posts can be
// shared, and the share keeps the original's audience, so sharing never widens who sees it.
// Sharing twice returns the existing share.
func (s *Service) Boost(ctx context.Context, u *accounts.User, id string) (*Post, error) {
	return s.boost(ctx, u, id, "")
}

// boost shares a post; uri is the share's ActivityPub id (a remote Announce's), or empty for
// one made here.
func (s *Service) boost(ctx context.Context, u *accounts.User, id, uri string) (*Post, error) {
	var share *Post
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		orig, err := s.visible(ctx, tx, ViewerOf(u), id)
		if err != nil {
			return err
		}
		if orig.ReblogOfID != nil {
			if orig, err = s.visible(ctx, tx, ViewerOf(u), *orig.ReblogOfID); err != nil {
				return err
			}
		}
		if orig.IsComment() || (orig.Audience != Public && orig.Audience != Company) {
			return errs.E(errs.Invalid, "only public and company posts can be shared")
		}
		existing := new(Post)
		err = tx.NewSelect().Model(existing).Where("author_id = ? AND reblog_of_id = ? AND deleted_at IS NULL", u.ID, orig.ID).Scan(ctx)
		if err == nil {
			share = existing
			return nil
		}
		now := s.Clock.Now()
		share = &Post{ID: ids.New(now), AuthorID: u.ID, Audience: orig.Audience, ReblogOfID: &orig.ID, CreatedAt: now}
		share.URI = uri
		if uri == "" {
			share.URI = s.BaseURL(ctx) + "/users/" + u.Username + "/statuses/" + share.ID + "/activity"
		}
		share.ThreadID = share.ID
		if _, err := tx.NewInsert().Model(share).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(orig).Set("reblogs_count = reblogs_count + 1").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := s.fanOut(ctx, tx, share); err != nil {
			return err
		}
		for _, h := range s.hooks {
			if err := h.Boosted(ctx, tx, orig, share); err != nil {
				return err
			}
		}
		return nil
	})
	return share, err
}

// Unboost withdraws the viewer's share of a post and returns the original.
func (s *Service) Unboost(ctx context.Context, u *accounts.User, id string) (*Post, error) {
	orig, err := s.visible(ctx, s.DB, ViewerOf(u), id)
	if err != nil {
		return nil, err
	}
	share := new(Post)
	err = s.DB.NewSelect().Model(share).Where("author_id = ? AND reblog_of_id = ? AND deleted_at IS NULL", u.ID, orig.ID).Scan(ctx)
	if err != nil {
		return orig, nil
	}
	if _, err := s.Delete(ctx, u, share.ID); err != nil {
		return nil, err
	}
	return s.Get(ctx, ViewerOf(u), orig.ID)
}

// Thread returns the posts above and below id that the viewer may see, oldest first.
func (s *Service) Thread(ctx context.Context, v *Viewer, id string) (ancestors, descendants []*Post, err error) {
	p, err := s.visible(ctx, s.DB, v, id)
	if err != nil {
		return nil, nil, err
	}
	// The whole thread shares the root's audience, so one check covered all of it.
	var all []*Post
	if err := s.DB.NewSelect().Model(&all).Where("thread_id = ? AND deleted_at IS NULL", p.ThreadID).Order("id").Limit(2000).Scan(ctx); err != nil {
		return nil, nil, err
	}
	byID := map[string]*Post{}
	for _, q := range all {
		byID[q.ID] = q
	}
	for cur := p.InReplyToID; cur != nil && len(ancestors) < 1000; {
		q := byID[*cur]
		if q == nil {
			break
		}
		ancestors = append([]*Post{q}, ancestors...)
		cur = q.InReplyToID
	}
	under := map[string]bool{p.ID: true}
	for _, q := range all { // ids are time-ordered, so parents come before children
		if q.InReplyToID != nil && under[*q.InReplyToID] {
			under[q.ID] = true
			descendants = append(descendants, q)
		}
	}
	if err := s.hydrate(ctx, append(append([]*Post{}, ancestors...), descendants...)); err != nil {
		return nil, nil, err
	}
	return ancestors, descendants, nil
}

// Sharers lists who shared a post, newest first.
func (s *Service) Sharers(ctx context.Context, v *Viewer, id string, limit int) ([]string, error) {
	p, err := s.visible(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	var out []string
	return out, s.DB.NewSelect().Table("posts").Column("author_id").Where("reblog_of_id = ? AND deleted_at IS NULL", p.ID).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx, &out)
}

// Reacted lists the posts the viewer reacted to (Mastodon's favourites), newest first.
func (s *Service) Reacted(ctx context.Context, v *Viewer, pg Page) ([]*Post, error) {
	var out []*Post
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*").
		Join("JOIN reactions r ON r.post_id = p.id").Where("r.account_id = ? AND p.deleted_at IS NULL", v.ID)
	q, asc := pg.apply(q, "p.id")
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	if asc {
		reverse(out)
	}
	return out, s.hydrate(ctx, out)
}
