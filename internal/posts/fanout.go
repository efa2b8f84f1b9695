package posts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/migrations"
)

// InlineFanOut is the largest follower count fanned out inside the posting transaction.
// Bigger audiences go to the background writer, which batches many posts into one
// transaction: the request stays fast whatever the author's follower count, and followers see
// the post milliseconds later (Mastodon fans out asynchronously for everyone).
const InlineFanOut = 64

type pendingFanOut struct {
	bun.BaseModel `bun:"table:fanout_pending"`
	PostID        string    `bun:"post_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// fanOut writes a top-level post or share into the home feeds of the local people who
// should see it: the author and the people addressed at once, and the followers (for
// audiences that reach them) at once for small audiences or through the background writer.
func (s *Service) fanOut(ctx context.Context, tx bun.IDB, p *Post) error {
	if _, err := tx.NewInsert().Model(&feedEntry{AccountID: p.AuthorID, PostID: p.ID}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return err
	}
	if p.Audience == Group {
		// Members only; a mention of someone outside the group does not bring it to them.
		members, err := tx.NewSelect().Table("group_members").Where("group_id = ? AND state = 'member'", p.GroupID).Limit(InlineFanOut + 1).Count(ctx)
		if err != nil {
			return err
		}
		if members > InlineFanOut {
			return s.pendFanOut(ctx, tx, p)
		}
		return s.groupFanOut(ctx, tx, []string{p.ID})
	}
	if _, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
		SELECT r.account_id, ? FROM post_recipients r JOIN users u ON u.id = r.account_id
		WHERE r.post_id = ? ON CONFLICT DO NOTHING`, p.ID, p.ID).Exec(ctx); err != nil {
		return err
	}
	if p.Audience != Public && p.Audience != Company && p.Audience != Followers {
		return nil
	}
	tagged := len(p.Tags) > 0 && p.ReblogOfID == nil && (p.Audience == Public || p.Audience == Company)
	var followers int64
	var err error
	if tagged {
		// Followers and hashtag followers in one count (each bounded): a post reaching many
		// either way goes to the background writer, which does both.
		err = tx.NewRaw(`SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE followee_id = ? LIMIT ?) f)
			+ (SELECT COUNT(*) FROM (SELECT 1 FROM tag_follows WHERE tag IN (?) LIMIT ?) t)`,
			p.AuthorID, InlineFanOut+1, bun.In(p.Tags), InlineFanOut+1).Scan(ctx, &followers)
	} else {
		followers, err = tx.NewSelect().Table("follows").Where("followee_id = ?", p.AuthorID).Limit(InlineFanOut + 1).Count(ctx)
	}
	if err != nil {
		return err
	}
	if followers > InlineFanOut {
		return s.pendFanOut(ctx, tx, p)
	}
	if tagged {
		if err := s.tagFanOut(ctx, tx, []string{p.ID}); err != nil {
			return err
		}
	}
	return s.followerFanOut(ctx, tx, []string{p.ID}, false)
}

// pendFanOut hands a post with a big audience to the background writer.
func (s *Service) pendFanOut(ctx context.Context, tx bun.IDB, p *Post) error {
	p.FanOutPending = true
	if _, err := tx.NewInsert().Model(&pendingFanOut{PostID: p.ID, CreatedAt: s.Clock.Now()}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return err
	}
	db.AfterCommit(ctx, s.wakeFanOut)
	return nil
}

// followerFanOut inserts posts into their authors' active local followers' feeds, in one
// statement for the whole batch. With recentOnly, followers who have not used the node
// within accounts.ActiveWindow are skipped, as Mastodon skips them: a big fan-out writes a
// feed row per follower, most of the cost of posting, and feeds nobody reads are rebuilt
// when their owners return (Regenerate).
func (s *Service) followerFanOut(ctx context.Context, tx bun.IDB, postIDs []string, recentOnly bool) error {
	recent, args := "", []any{bun.In(postIDs)}
	if recentOnly {
		cutoff := s.Clock.Now().Add(-accounts.ActiveWindow)
		recent, args = "AND "+fmt.Sprintf(accounts.ActiveSQL, "f.follower_id"), append(args, cutoff, cutoff)
	}
	_, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
		SELECT f.follower_id, p.id FROM posts p
		JOIN follows f ON f.followee_id = p.author_id
		JOIN users u ON u.id = f.follower_id
		WHERE p.id IN (?) AND u.state = 'active' AND p.deleted_at IS NULL AND p.audience <> 'group' `+recent+`
		ORDER BY f.follower_id, p.id
		ON CONFLICT DO NOTHING`, args...).Exec(ctx)
	return err
}

// Regenerate rebuilds the home feed of someone who is back after ActiveWindow away (the
// background fan-out skipped them meanwhile): the newest FeedKeep top-level posts and shares
// of the people they follow, as the fan-out would have written them. Posts addressed to them
// and their own were written whatever their activity. It is accounts.Service.Returned.
func (s *Service) Regenerate(ctx context.Context, userID string) error {
	// Someone coming back sends several requests at once (an app opens its timelines in
	// parallel), and each saw them inactive: one rebuild is enough, and every other one would
	// hold the single writer as long again (seeded tokens' first use queued hundreds).
	if _, busy := s.regenerating.LoadOrStore(userID, struct{}{}); busy {
		return nil
	}
	defer s.regenerating.Delete(userID)
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
			SELECT ?, p.id FROM posts p JOIN follows f ON f.followee_id = p.author_id
			WHERE f.follower_id = ? AND p.in_reply_to_id IS NULL AND p.deleted_at IS NULL AND p.audience IN (?)
			ORDER BY p.id DESC LIMIT ? ON CONFLICT DO NOTHING`,
			userID, userID, bun.In([]Audience{Public, Company, Followers}), FeedKeep).Exec(ctx)
		if err != nil {
			return fmt.Errorf("regenerate the home feed of %s: %w", userID, err)
		}
		_, err = tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
			SELECT ?, p.id FROM posts p JOIN group_members m ON m.group_id = p.group_id
			WHERE m.account_id = ? AND m.state = 'member' AND p.audience = ? AND p.in_reply_to_id IS NULL AND p.deleted_at IS NULL
			ORDER BY p.id DESC LIMIT ? ON CONFLICT DO NOTHING`, userID, userID, Group, FeedKeep).Exec(ctx)
		if err != nil {
			return fmt.Errorf("regenerate the group posts of the home feed of %s: %w", userID, err)
		}
		// Posts with the hashtags they follow, as tagFanOut would have written them. Most
		// people follow none: then nothing is read. Otherwise the walk starts from their tags
		// (CROSS JOIN fixes SQLite's order; it began from every top-level post otherwise).
		follows, err := tx.NewSelect().Table("tag_follows").Where("account_id = ?", userID).Exists(ctx)
		if err != nil || !follows {
			return err
		}
		_, err = tx.NewRaw(`INSERT INTO home_feed (account_id, post_id)
			SELECT DISTINCT ?, p.id FROM tag_follows tf CROSS JOIN post_tags t CROSS JOIN posts p
			WHERE tf.account_id = ? AND t.tag = tf.tag AND p.id = t.post_id AND p.audience IN (?) AND p.in_reply_to_id IS NULL AND p.reblog_of_id IS NULL AND p.deleted_at IS NULL
			AND p.author_id <> ? AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = p.author_id)
				OR (b.blocker_id = p.author_id AND b.blocked_id = ?))
			ORDER BY p.id DESC LIMIT ? ON CONFLICT DO NOTHING`,
			userID, userID, bun.In(tagFanOutAudiences), userID, userID, userID, FeedKeep).Exec(ctx)
		if err != nil {
			return fmt.Errorf("regenerate the followed hashtags of the home feed of %s: %w", userID, err)
		}
		return nil
	})
}

func (s *Service) wakeFanOut() {
	select {
	case s.fanoutWake <- struct{}{}:
	default:
	}
}

// FanOutPending writes up to max pending posts into their followers' feeds in one
// transaction and returns how many it handled. Several processes may run it on one
// PostgreSQL database: SKIP LOCKED gives each a different batch.
func (s *Service) FanOutPending(ctx context.Context, max int) (int, error) {
	n, _, err := s.fanOutPending(ctx, max)
	return n, err
}

// fanOutPending is FanOutPending, also returning how long its transaction held the database
// (from its first statement to the end of its commit, without the wait for the writer).
func (s *Service) fanOutPending(ctx context.Context, max int) (int, time.Duration, error) {
	var done []*Post
	var began time.Time
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		began = time.Now()
		var ids []string
		q := tx.NewSelect().Table("fanout_pending").Column("post_id").OrderExpr("post_id").Limit(int64(max))
		if s.DB.Engine == migrations.Postgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx, &ids); err != nil || len(ids) == 0 {
			return err
		}
		if err := s.followerFanOut(ctx, tx, ids, true); err != nil {
			return err
		}
		if err := s.groupFanOut(ctx, tx, ids); err != nil {
			return err
		}
		if err := s.tagFanOut(ctx, tx, ids); err != nil { // followed hashtags (tagfollows.go)
			return err
		}
		if _, err := tx.NewDelete().Model((*pendingFanOut)(nil)).Where("post_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
			return err
		}
		if err := tx.NewSelect().Model(&done).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return err
		}
		if err := s.hydrateIn(ctx, tx, done); err != nil { // live updates carry tags and attachments
			return err
		}
		for _, h := range s.hooks {
			if err := h.FannedOut(ctx, tx, done); err != nil {
				return err
			}
		}
		return nil
	})
	var held time.Duration
	if !began.IsZero() {
		held = time.Since(began)
	}
	return len(done), held, err
}

// Batches of the background fan-out are sized by how long they hold the database, not by a
// number of posts: a post reaches from a few active followers to a group of a thousand
// members. On SQLite, small batches keep every poster's wait for the single writer short;
// while posts arrive faster than batches of the current size clear them, batches grow (each
// turn at the writer does more), so the backlog does not grow without bound under load.
// PostgreSQL has no single writer: a long batch delays no poster, and under load its
// statements are slow only because the CPU is shared, so there batches only grow.
const (
	fanOutFirstBatch = 16
	fanOutMaxBatch   = 512
	fanOutHold       = 20 * time.Millisecond // a batch holding the writer longer halves the next
)

// RunFanOut is the background writer: it drains the pending fan-outs whenever a post adds
// one (and every few seconds, for work left by a crash or another process), until ctx ends.
func (s *Service) RunFanOut(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	batch := fanOutFirstBatch
	for {
		for {
			n, held, err := s.fanOutPending(ctx, batch)
			if err != nil {
				if ctx.Err() == nil {
					s.Log.Warn("fan-out failed; will retry", "err", err)
				}
				break
			}
			single := s.DB.Engine == migrations.SQLite // one writer at a time
			switch {
			case single && held > fanOutHold:
				batch = max(1, batch/2)
			case n == batch && (!single || held < fanOutHold/2):
				batch = min(fanOutMaxBatch, 2*batch) // more is waiting, and nobody waits for this one
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.fanoutWake:
		case <-t.C:
		}
	}
}

// FeedAudience lists the local people whose home feeds hold (or will hold) a top-level post or
// share: the author, the addressed, and for the audiences that reach them the author's
// active followers. It is computed from follows, as the fan-out is, so no index on the feed
// by post is needed (that index would double the cost of every fan-out).
func (s *Service) FeedAudience(ctx context.Context, tx bun.IDB, p *Post) ([]string, error) {
	return s.feedAudience(ctx, tx, p, nil)
}

// FeedAudienceAmong is the part of FeedAudience in candidates (the people connected for live
// updates): reading a post's ~300 followers to find the few with an open stream was most of
// the background fan-out's work, and with nobody connected there is nothing to read at all.
// The order of the result is unspecified.
func (s *Service) FeedAudienceAmong(ctx context.Context, tx bun.IDB, p *Post, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	return s.feedAudience(ctx, tx, p, candidates)
}

// feedAudience is FeedAudience, restricted to among unless among is nil.
func (s *Service) feedAudience(ctx context.Context, tx bun.IDB, p *Post, among []string) ([]string, error) {
	only := func(col string) (string, []any) {
		if among == nil {
			return "", nil
		}
		return " AND " + col + " IN (?)", []any{bun.In(among)}
	}
	var out []string
	if among == nil || slices.Contains(among, p.AuthorID) {
		out = append(out, p.AuthorID)
	}
	if p.Audience == Group {
		// The author and the members only: a mention never brings a group post to anyone else.
		var members []string
		cond, args := only("m.account_id")
		if err := tx.NewRaw(`SELECT m.account_id FROM group_members m JOIN users u ON u.id = m.account_id
			WHERE m.group_id = ? AND m.state = 'member' AND u.state = 'active'`+cond, append([]any{p.GroupID}, args...)...).Scan(ctx, &members); err != nil {
			return nil, err
		}
		return unique(append(out, members...)), nil
	}
	var addressed []string
	cond, args := only("r.account_id")
	if err := tx.NewRaw(`SELECT r.account_id FROM post_recipients r JOIN users u ON u.id = r.account_id
		WHERE r.post_id = ? AND u.state = 'active'`+cond, append([]any{p.ID}, args...)...).Scan(ctx, &addressed); err != nil {
		return nil, err
	}
	out = append(out, addressed...)
	if p.Audience == Public || p.Audience == Company || p.Audience == Followers {
		var fol []string
		cond, args := only("f.follower_id")
		if err := tx.NewRaw(`SELECT f.follower_id FROM follows f JOIN users u ON u.id = f.follower_id
			WHERE f.followee_id = ? AND u.state = 'active'`+cond, append([]any{p.AuthorID}, args...)...).Scan(ctx, &fol); err != nil {
			return nil, err
		}
		out = append(out, fol...)
	}
	tagged, err := s.tagAudience(ctx, tx, p, among) // followed hashtags (tagfollows.go)
	if err != nil {
		return nil, err
	}
	out = append(out, tagged...)
	return unique(out), nil
}

// unique drops repeated ids, keeping the first of each: someone both mentioned and following,
// or an author who is a member of the group, gets one feed entry and one live update.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
