package posts

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// MaxPins is how many of their own posts someone may pin to their profile (Mastodon's limit).
const MaxPins = 5

type statusPin struct {
	bun.BaseModel `bun:"table:status_pins"`
	AccountID     string    `bun:"account_id,pk"`
	PostID        string    `bun:"post_id,pk"`
	ID            string    `bun:"id"`
	CreatedAt     time.Time `bun:"created_at"`
}

type conversationMute struct {
	bun.BaseModel `bun:"table:conversation_mutes"`
	AccountID     string    `bun:"account_id,pk"`
	ThreadID      string    `bun:"thread_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Pin pins one of v's own posts to their profile. As on Mastodon: not a share, not a
// direct post (its audience is chosen per post and a profile would show it out of context),
// and at most MaxPins; a post v may not see is not found.
func (s *Service) Pin(ctx context.Context, v *Viewer, postID string) (*Post, error) {
	if v == nil {
		return nil, notFound()
	}
	p, err := s.Get(ctx, v, postID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.AuthorID != v.ID:
		return nil, errs.E(errs.Invalid, "Validation failed: you can only pin your own posts")
	case p.ReblogOfID != nil:
		return nil, errs.E(errs.Invalid, "Validation failed: a share cannot be pinned")
	case p.Audience == Direct:
		return nil, errs.E(errs.Invalid, "Validation failed: a post to chosen people cannot be pinned")
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		pinned, err := tx.NewSelect().Model((*statusPin)(nil)).Where("account_id = ? AND post_id = ?", v.ID, p.ID).Exists(ctx)
		if err != nil || pinned {
			return err
		}
		// Pins of deleted posts do not count (they no longer show).
		n, err := tx.NewSelect().Model((*statusPin)(nil)).Where("account_id = ?", v.ID).
			Where("EXISTS (SELECT 1 FROM posts p WHERE p.id = post_id AND p.deleted_at IS NULL)").Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxPins {
			return errs.E(errs.Invalid, "Validation failed: you have already pinned the maximum number of posts (%d)", MaxPins)
		}
		now := s.Clock.Now()
		_, err = tx.NewInsert().Model(&statusPin{AccountID: v.ID, PostID: p.ID, ID: ids.New(now), CreatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pin %s for %s: %w", postID, v.ID, err)
	}
	return p, nil
}

// Unpin takes a post off v's profile (it need not be pinned).
func (s *Service) Unpin(ctx context.Context, v *Viewer, postID string) (*Post, error) {
	if v == nil {
		return nil, notFound()
	}
	p, err := s.Get(ctx, v, postID)
	if err != nil {
		return nil, err
	}
	if _, err := s.DB.NewDelete().Model((*statusPin)(nil)).Where("account_id = ? AND post_id = ?", v.ID, p.ID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("unpin %s for %s: %w", postID, v.ID, err)
	}
	return p, nil
}

// Pinned lists the posts authorID pinned that v may see, the latest pinned first.
func (s *Service) Pinned(ctx context.Context, v *Viewer, authorID string) ([]*Post, error) {
	var out []*Post
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*").
		Join("JOIN status_pins sp ON sp.post_id = p.id AND sp.account_id = p.author_id").
		Where("sp.account_id = ?", authorID).OrderExpr("sp.created_at DESC, sp.id DESC").Limit(MaxPins)
	if err := visibleFilter(q, v).Scan(ctx); err != nil {
		return nil, fmt.Errorf("pinned posts of %s: %w", authorID, err)
	}
	return out, s.hydrate(ctx, out)
}

// ProfileTagged is Profile restricted to posts with a hashtag (accounts/:id/statuses?tagged=).
func (s *Service) ProfileTagged(ctx context.Context, v *Viewer, authorID, tag string, withReplies bool, pg Page) ([]*Post, error) {
	tag, err := NormalizeTag(tag)
	if err != nil {
		return nil, errs.Field("tagged", "%s", errs.Message(err))
	}
	return s.timeline(ctx, v, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("p.author_id = ?", authorID).Where("EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.tag = ?)", tag)
		if !withReplies {
			q = q.Where("p.in_reply_to_id IS NULL")
		}
		return q
	})
}

// MuteConversation stops notifications to v from the thread of a post they may see (comments,
// mentions, reactions and shares in it).
func (s *Service) MuteConversation(ctx context.Context, v *Viewer, postID string, mute bool) (*Post, error) {
	if v == nil {
		return nil, notFound()
	}
	p, err := s.Get(ctx, v, postID)
	if err != nil {
		return nil, err
	}
	thread := p.ThreadID
	if p.ReblogOfID != nil { // a share stands for its original's thread
		o, err := s.load(ctx, s.DB, *p.ReblogOfID)
		if err != nil {
			return nil, err
		}
		thread = o.ThreadID
	}
	if mute {
		_, err = s.DB.NewInsert().Model(&conversationMute{AccountID: v.ID, ThreadID: thread, CreatedAt: s.Clock.Now()}).On("CONFLICT DO NOTHING").Exec(ctx)
	} else {
		_, err = s.DB.NewDelete().Model((*conversationMute)(nil)).Where("account_id = ? AND thread_id = ?", v.ID, thread).Exec(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("mute (%v) the thread %s for %s: %w", mute, thread, v.ID, err)
	}
	return p, nil
}

// ThreadMuters lists who of accountIDs (nil: anyone) muted a thread, through tx: the people
// its notifications must skip.
func (s *Service) ThreadMuters(ctx context.Context, tx bun.IDB, threadID string, accountIDs []string) (map[string]bool, error) {
	q := tx.NewSelect().Model((*conversationMute)(nil)).Column("account_id").Where("thread_id = ?", threadID)
	if accountIDs != nil {
		if len(accountIDs) == 0 {
			return map[string]bool{}, nil
		}
		q = q.Where("account_id IN (?)", bun.In(accountIDs))
	}
	var muters []string
	if err := q.Scan(ctx, &muters); err != nil {
		return nil, fmt.Errorf("who muted the thread %s: %w", threadID, err)
	}
	out := make(map[string]bool, len(muters))
	for _, id := range muters {
		out[id] = true
	}
	return out, nil
}

// Marks are a viewer's pinned posts and muted threads: the Status fields pinned and muted.
// Both are few per person, so one read covers every page (callers cache it briefly).
type Marks struct {
	Pinned       map[string]bool // post ids
	MutedThreads map[string]bool // thread ids
}

// MarksOf reads v's pins and muted threads in one statement.
func (s *Service) MarksOf(ctx context.Context, viewerID string) (Marks, error) {
	m := Marks{Pinned: map[string]bool{}, MutedThreads: map[string]bool{}}
	var rows []struct {
		Kind string `bun:"kind"`
		ID   string `bun:"id"`
	}
	err := s.DB.NewRaw(`SELECT 'p' AS kind, post_id AS id FROM status_pins WHERE account_id = ?
		UNION ALL SELECT 'm', thread_id FROM conversation_mutes WHERE account_id = ?`, viewerID, viewerID).Scan(ctx, &rows)
	if err != nil {
		return m, fmt.Errorf("pins and muted threads of %s: %w", viewerID, err)
	}
	for _, r := range rows {
		if r.Kind == "p" {
			m.Pinned[r.ID] = true
		} else {
			m.MutedThreads[r.ID] = true
		}
	}
	return m, nil
}
