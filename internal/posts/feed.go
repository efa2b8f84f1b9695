package posts

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/migrations"
)

// Page is a keyset page in Mastodon's terms: MaxID returns posts older than it, SinceID
// newer than it (newest first), MinID the ones just after it (oldest first, then reversed
// so every page is newest first). Ids are ULIDs, so order by id is order by time.
type Page struct {
	MaxID, SinceID, MinID string
	Limit                 int
}

func (pg Page) limit() int {
	if pg.Limit <= 0 {
		return 20
	}
	if pg.Limit > 40 {
		return 40
	}
	return pg.Limit
}

// apply adds the page bounds on column col and returns whether results come oldest first.
func (pg Page) apply(q *bun.SelectQuery, col string) (*bun.SelectQuery, bool) {
	if pg.MaxID != "" {
		q = q.Where("? < ?", bun.Ident(col), pg.MaxID)
	}
	if pg.SinceID != "" {
		q = q.Where("? > ?", bun.Ident(col), pg.SinceID)
	}
	if pg.MinID != "" {
		return q.Where("? > ?", bun.Ident(col), pg.MinID).OrderExpr("? ASC", bun.Ident(col)).Limit(int64(pg.limit())), true
	}
	return q.OrderExpr("? DESC", bun.Ident(col)).Limit(int64(pg.limit())), false
}

func reverse(ps []*Post) {
	for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
		ps[i], ps[j] = ps[j], ps[i]
	}
}

// FeedKeep is how many entries each person's materialised home feed keeps; older pages are
// read from the posts themselves (the slow path), as Mastodon does past its 800.
const FeedKeep = 800

// Home is the viewer's home feed: their own posts, those of people they follow and those
// addressed to them, newest first. It reads the materialised feed (written at post time),
// so its cost is one index range of the page size, whatever the size of the database.
func (s *Service) Home(ctx context.Context, v *Viewer, pg Page) ([]*Post, error) {
	out, _, err := s.HomeWithState(ctx, v, pg)
	return out, err
}

// HomeWithState is Home with the viewer's state (their reactions, shares and bookmarks) of
// every post returned, as StateOf would give it: the page's query reads it along, so a
// page does not need a second statement for it.
func (s *Service) HomeWithState(ctx context.Context, v *Viewer, pg Page) ([]*Post, ViewerState, error) {
	st := ViewerState{Reaction: map[string]string{}, Shared: map[string]bool{}, Bookmarked: map[string]bool{}}
	if v == nil {
		return nil, st, notFound()
	}
	// The page reads only the heads of its posts; the rest comes from the post cache.
	heads, err := s.homeHeads(ctx, v, pg)
	if err != nil {
		return nil, st, fmt.Errorf("home feed of %s: %w", v.ID, err)
	}
	out, err := s.fromHeads(ctx, heads)
	if err != nil {
		return nil, st, fmt.Errorf("home feed of %s: %w", v.ID, err)
	}
	for _, h := range heads {
		if h.MyReaction != nil {
			st.Reaction[h.ID] = *h.MyReaction
		}
		if h.Shared {
			st.Shared[h.ID] = true
		}
		if h.Bookmarked {
			st.Bookmarked[h.ID] = true
		}
	}
	if len(out) < pg.limit() && pg.MinID == "" && pg.SinceID == "" {
		// Past the end of a trimmed feed, read older posts from their authors directly.
		trimmed, err := s.DB.NewSelect().Table("home_feed").Where("account_id = ?", v.ID).Offset(FeedKeep - 1).Limit(1).Exists(ctx)
		if err != nil {
			return nil, st, err
		}
		if trimmed {
			cursor := pg.MaxID
			if len(out) > 0 {
				cursor = out[len(out)-1].ID
			}
			older, err := s.homeFallback(ctx, v, Page{MaxID: cursor, Limit: pg.limit() - len(out)})
			if err != nil {
				return nil, st, err
			}
			if err := s.hydrate(ctx, older); err != nil {
				return nil, st, err
			}
			ids := make([]string, len(older))
			for i, p := range older {
				ids[i] = p.ID
			}
			more, err := s.StateOf(ctx, v, ids)
			if err != nil {
				return nil, st, err
			}
			maps.Copy(st.Reaction, more.Reaction)
			maps.Copy(st.Shared, more.Shared)
			maps.Copy(st.Bookmarked, more.Bookmarked)
			out = append(out, older...)
		}
	}
	return out, st, nil
}

// homeHeadColumns is headColumns plus the viewer's (?1) state of each post, as StateOf reads
// it (one statement instead of two: each has a fixed cost that was a tenth of a page's).
// Most posts on a page have no reactions, shares or bookmarks, so the lookups are guarded:
// the reaction and share lookups run only for posts with a non-zero count (the counts are
// kept in the transactions that add and remove reactions and shares, so a zero count means
// the viewer has none either), and the bookmark lookups only when the viewer has a bookmark
// in the page's range at all (a subquery without correlation, which SQLite runs once).
const homeHeadColumns = headColumns + `,
	CASE WHEN p.reactions_count > 0 THEN (SELECT r.emoji FROM reactions r WHERE r.post_id = p.id AND r.account_id = ?1) END AS my_reaction,
	CASE WHEN p.reblogs_count > 0 THEN EXISTS (SELECT 1 FROM posts s WHERE s.reblog_of_id = p.id AND s.author_id = ?1 AND s.deleted_at IS NULL) ELSE FALSE END AS shared,
	CASE WHEN EXISTS (SELECT 1 FROM bookmarks WHERE account_id = ?1 AND post_id < ?2 AND post_id > ?3)
		THEN EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = ?1 AND b.post_id = p.id) ELSE FALSE END AS bookmarked`

// The home page queries, prepared once (db.Prepared; PostgreSQL with $n for ?n). The bounds are always present: "~" sorts after every ULID and
// "" before, so an absent max_id or since_id bounds nothing.
const (
	homeHeadsNewest = `SELECT ` + homeHeadColumns + ` FROM home_feed AS h JOIN posts AS p ON p.id = h.post_id
		WHERE h.account_id = ?1 AND p.deleted_at IS NULL AND h.post_id < ?2 AND h.post_id > ?3 ORDER BY h.post_id DESC LIMIT ?4`
	homeHeadsOldest = `SELECT ` + homeHeadColumns + ` FROM home_feed AS h JOIN posts AS p ON p.id = h.post_id
		WHERE h.account_id = ?1 AND p.deleted_at IS NULL AND h.post_id < ?2 AND h.post_id > ?3 ORDER BY h.post_id ASC LIMIT ?4`
)

// homeHeads reads the heads of a page of the viewer's materialised feed, newest first.
func (s *Service) homeHeads(ctx context.Context, v *Viewer, pg Page) ([]postHead, error) {
	query, lower := homeHeadsNewest, pg.SinceID
	if pg.MinID != "" {
		query, lower = homeHeadsOldest, max(pg.SinceID, pg.MinID)
	}
	upper := pg.MaxID
	if upper == "" {
		upper = "~"
	}
	if s.DB.Engine == migrations.Postgres {
		query = strings.ReplaceAll(query, "?", "$") // ?1 is SQLite's $1
	}
	st, err := s.DB.Prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, v.ID, upper, lower, pg.limit())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	heads := make([]postHead, 0, pg.limit())
	for rows.Next() {
		var h postHead
		var edited sql.NullTime
		var reaction sql.NullString
		if err := rows.Scan(&h.ID, &edited, &h.RepliesCount, &h.ReblogsCount, &h.ReactionsCount, &reaction, &h.Shared, &h.Bookmarked); err != nil {
			return nil, err
		}
		if edited.Valid {
			h.EditedAt = &edited.Time
		}
		if reaction.Valid {
			h.MyReaction = &reaction.String
		}
		heads = append(heads, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if pg.MinID != "" {
		slices.Reverse(heads)
	}
	return heads, nil
}

// homeFallback builds home feed entries from the posts table as the fan-out would have
// written them: top-level posts and shares by the viewer, by the people they follow and
// addressed to them (outside groups), and those of the groups they are a member of, that
// they may see. A followed person's post in an open group the viewer has not joined is
// visible to them but never reached their feed, so it is not listed here either.
func (s *Service) homeFallback(ctx context.Context, v *Viewer, pg Page) ([]*Post, error) {
	var out []*Post
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*").Where("p.in_reply_to_id IS NULL").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("p.author_id = ?", v.ID).
				WhereOr("p.audience <> ? AND p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?)", Group, v.ID).
				WhereOr("p.audience <> ? AND EXISTS (SELECT 1 FROM post_recipients r WHERE r.post_id = p.id AND r.account_id = ?)", Group, v.ID).
				WhereOr("p.group_id IN (SELECT group_id FROM group_members WHERE account_id = ? AND state = 'member')", v.ID)
		})
	q, _ = pg.apply(visibleFilter(q, v), "p.id")
	return out, q.Scan(ctx)
}

// TrimFeeds keeps the newest FeedKeep entries of every home feed that has grown past it, so
// the table holds at most FeedKeep rows a person whatever the age of the node. It returns the
// number of entries removed. Run it periodically (a job).
func (s *Service) TrimFeeds(ctx context.Context) (int64, error) {
	var over []string
	if err := s.DB.NewSelect().Table("home_feed").Column("account_id").Group("account_id").
		Having("COUNT(*) > ?", FeedKeep+FeedKeep/4).Scan(ctx, &over); err != nil {
		return 0, err
	}
	var removed int64
	for _, id := range over {
		res, err := s.DB.NewRaw(`DELETE FROM home_feed WHERE account_id = ? AND post_id < (
			SELECT post_id FROM home_feed WHERE account_id = ? ORDER BY post_id DESC LIMIT 1 OFFSET ?)`, id, id, FeedKeep-1).Exec(ctx)
		if err != nil {
			return removed, err
		}
		n, _ := res.RowsAffected()
		removed += n
	}
	return removed, nil
}

// Company is the company timeline: top-level company and public posts by people on this node.
func (s *Service) Company(ctx context.Context, v *Viewer, pg Page) ([]*Post, error) {
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL").
			Where("p.audience IN (?)", bun.In([]Audience{Company, Public})).
			Where("EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id)")
	})
}

// Public is every public top-level post the node knows, for Mastodon's federated timeline.
func (s *Service) Public(ctx context.Context, v *Viewer, pg Page) ([]*Post, error) {
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL AND p.audience = ?", Public)
	})
}

// Profile lists a person's posts and shares (not comments) that the viewer may see.
func (s *Service) Profile(ctx context.Context, v *Viewer, authorID string, withReplies bool, pg Page) ([]*Post, error) {
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("p.author_id = ?", authorID)
		if !withReplies {
			q = q.Where("p.in_reply_to_id IS NULL")
		}
		return q
	})
}

// Tag lists top-level posts with a hashtag that the viewer may see.
func (s *Service) Tag(ctx context.Context, v *Viewer, tag string, pg Page) ([]*Post, error) {
	tag = strings.ToLower(strings.TrimPrefix(tag, "#"))
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("p.in_reply_to_id IS NULL").Where("EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag = ?)", tag)
	})
}

func (s *Service) timeline(ctx context.Context, v *Viewer, pg Page, filter func(*bun.SelectQuery) *bun.SelectQuery) ([]*Post, error) {
	var out []*Post
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*")
	q = visibleFilter(filter(q), v)
	q, asc := pg.apply(q, "p.id")
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	if asc {
		reverse(out)
	}
	return out, s.hydrate(ctx, out)
}

// Bookmarks lists the viewer's saved posts, most recently saved first. The page ids are the
// bookmark sequence, as Mastodon pages bookmarks by when they were made.
func (s *Service) Bookmarks(ctx context.Context, v *Viewer, pg Page) ([]*Post, []string, error) {
	var rows []struct {
		Post
		Seq string `bun:"seq"`
	}
	q := s.DB.NewSelect().TableExpr("posts AS p").ColumnExpr("p.*, b.seq").Join("JOIN bookmarks b ON b.post_id = p.id").
		Where("b.account_id = ? AND p.deleted_at IS NULL", v.ID)
	q, asc := pg.apply(q, "b.seq")
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, nil, err
	}
	out := make([]*Post, 0, len(rows))
	seqs := make([]string, 0, len(rows))
	for i := range rows {
		// A post bookmarked earlier may have become invisible (unfollowed, left a group).
		if ok, err := s.canSeePost(ctx, v, &rows[i].Post); err != nil || !ok {
			continue
		}
		out, seqs = append(out, &rows[i].Post), append(seqs, rows[i].Seq)
	}
	if asc {
		reverse(out)
		for i, j := 0, len(seqs)-1; i < j; i, j = i+1, j-1 {
			seqs[i], seqs[j] = seqs[j], seqs[i]
		}
	}
	return out, seqs, s.hydrate(ctx, out)
}

func (s *Service) canSeePost(ctx context.Context, v *Viewer, p *Post) (bool, error) {
	r, err := s.root(ctx, s.DB, p)
	if err != nil {
		return false, nil
	}
	return s.CanSee(ctx, s.DB, v, r)
}

// Originals loads the shared originals of shares in one query, keyed by id; only those the
// viewer may see are returned.
func (s *Service) Originals(ctx context.Context, v *Viewer, ps []*Post) (map[string]*Post, error) {
	var idList []string
	for _, p := range ps {
		if p.ReblogOfID != nil {
			idList = append(idList, *p.ReblogOfID)
		}
	}
	out := map[string]*Post{}
	if len(idList) == 0 {
		return out, nil
	}
	var os []*Post
	if err := s.DB.NewSelect().Model(&os).Where("id IN (?) AND deleted_at IS NULL", bun.In(idList)).Scan(ctx); err != nil {
		return nil, err
	}
	for _, o := range os {
		if ok, err := s.CanSee(ctx, s.DB, v, o); err == nil && ok {
			out[o.ID] = o
		}
	}
	return out, s.hydrate(ctx, os)
}

// Followed backfills the followee's recent posts the follower may see into the follower's
// home feed, so a new follow shows something at once (follows.Hook).
func (s *Service) Followed(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	_, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
		SELECT ?, p.id FROM posts p WHERE p.author_id = ? AND p.in_reply_to_id IS NULL AND p.deleted_at IS NULL
		AND p.audience IN (?) ORDER BY p.id DESC LIMIT 40 ON CONFLICT DO NOTHING`,
		followerID, followeeID, bun.In([]Audience{Public, Company, Followers})).Exec(ctx)
	return err
}

// Unfollowed removes the followee's posts from the follower's feed, except those addressed
// to the follower directly (follows.Hook).
func (s *Service) Unfollowed(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	_, err := tx.NewRaw(`DELETE FROM home_feed WHERE account_id = ? AND post_id IN (
		SELECT p.id FROM posts p WHERE p.author_id = ? AND NOT EXISTS (
			SELECT 1 FROM post_recipients r WHERE r.post_id = p.id AND r.account_id = ?))`,
		followerID, followeeID, followerID).Exec(ctx)
	return err
}

// Authors maps post ids to their authors' ids (for in_reply_to_account_id), one query.
func (s *Service) Authors(ctx context.Context, postIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(postIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID       string `bun:"id"`
		AuthorID string `bun:"author_id"`
	}
	if err := s.DB.NewSelect().Table("posts").Column("id", "author_id").Where("id IN (?)", bun.In(postIDs)).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.AuthorID
	}
	return out, nil
}

// Search finds top-level posts the viewer may see whose text has every word of q, newest
// first. A plain scan bounded by the limit and the newest rows; full-text indexing comes
// with the search issue.
func (s *Service) Search(ctx context.Context, v *Viewer, q string, limit int) ([]*Post, error) {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil, nil
	}
	var out []*Post
	sel := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*").Where("p.reblog_of_id IS NULL")
	for _, w := range words {
		sel = sel.Where("LOWER(p.content_text) LIKE ? ESCAPE '\\'", "%"+db.LikeEscape(w)+"%")
	}
	sel = visibleFilter(sel, v).OrderExpr("p.id DESC").Limit(int64(limit))
	if err := sel.Scan(ctx); err != nil {
		return nil, err
	}
	// Comments are visible through their thread's root, which the SQL filter cannot see.
	kept := out[:0]
	for _, p := range out {
		if ok, err := s.canSeePost(ctx, v, p); err == nil && ok {
			kept = append(kept, p)
		}
	}
	return kept, s.hydrate(ctx, kept)
}

// SearchTags lists hashtags in use that start with prefix.
func (s *Service) SearchTags(ctx context.Context, prefix string, limit int) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().Table("post_tags").ColumnExpr("DISTINCT tag").
		Where("tag LIKE ? ESCAPE '\\'", db.LikeEscape(strings.ToLower(prefix))+"%").OrderExpr("tag").Limit(int64(limit)).Scan(ctx, &out)
	return out, err
}
