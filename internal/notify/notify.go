// Package notify tells people what happened to them: mentions, comments on their posts and
// threads, reactions, shares, new followers, announcements, and requests, invitations,
// approvals and new posts in their groups. Notifications are written in the same transaction
// as the event (so none is lost or invented), and announced live after commit through the
// Live seam (websockets, streaming API).
package notify

import (
	"context"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
)

// Kinds of notification, named as Mastodon names them where it has a name.
const (
	Mention      = "mention"
	Comment      = "comment" // Mastodon apps show it as a mention (a reply)
	Reaction     = "favourite"
	Share        = "reblog"
	Follow       = "follow"
	Announcement = "announcement"
	Poll         = "poll"   // a poll one voted in or wrote has ended
	Subscribed   = "status" // a new post by someone whose posts one asked to hear of (the bell)
)

// Notification is one row.
type Notification struct {
	bun.BaseModel `bun:"table:notifications"`
	ID            string     `bun:"id,pk"`
	AccountID     string     `bun:"account_id"`
	Kind          string     `bun:"kind"`
	FromID        string     `bun:"from_id"`
	PostID        *string    `bun:"post_id"`
	GroupID       *string    `bun:"group_id"` // the group a group_* notification is about
	Emoji         string     `bun:"emoji"`
	CreatedAt     time.Time  `bun:"created_at"`
	ReadAt        *time.Time `bun:"read_at"`
}

// Live is told about new notifications after commit (the realtime layer renders and sends).
type Live interface {
	Notified(n *Notification)
	// NotifiedMany announces one event to many people (all of the same kind and post).
	NotifiedMany(ns []*Notification)
	PostPublished(p *posts.Post, feedAccounts []string)
	PostChanged(p *posts.Post, deleted bool)
	PostDeleted(p *posts.Post, feedAccounts []string)
	// Connected lists the people with an open home stream when there are at most max of
	// them (complete is false otherwise): the only feed owners a post event can reach.
	Connected(max int) (ids []string, complete bool)
}

// liveLookupMax is how many connected people a post's live audience is looked up among; with
// more connected, the whole audience is read and the hub skips those not connected.
const liveLookupMax = 256

// liveAudience is the part of p's feed audience that can receive its live events now: the
// connected people among its followers (or members, or addressees). Reading all ~300
// followers of every post when few or none of them are connected was most of the cost of
// publishing posts, and of the background fan-out.
func (s *Service) liveAudience(ctx context.Context, tx bun.IDB, p *posts.Post) ([]string, error) {
	connected, complete := s.Live.Connected(liveLookupMax)
	return s.liveAudienceAmong(ctx, tx, p, connected, complete)
}

// liveAudienceAmong is liveAudience with the connected people already listed (Live.Connected).
func (s *Service) liveAudienceAmong(ctx context.Context, tx bun.IDB, p *posts.Post, connected []string, complete bool) ([]string, error) {
	if complete {
		return s.Posts.FeedAudienceAmong(ctx, tx, p, connected)
	}
	return s.Posts.FeedAudience(ctx, tx, p)
}

// Service writes and reads notifications. It implements posts.Hook and follows.Hook.
type Service struct {
	DB    *db.DB
	Clock clock.Clock
	Posts *posts.Service // for the audience of live updates
	Live  Live           // may be nil
	// GroupCloseFollowers lists the local members who follow a group closely (nil: no
	// groups); they are told of every new post in it.
	GroupCloseFollowers func(ctx context.Context, tx bun.IDB, groupID string) ([]string, error)
	// Push is told of new notifications inside the transaction that wrote them, so Web Push
	// work is queued with them or not at all (nil: no Web Push). An interface, because the
	// push package reads notifications and importing it here would be a cycle.
	Push Pusher
}

// Pusher queues Web Push work for notifications just written through tx. It must stay cheap
// when nobody subscribed: addMany may notify a whole company at once.
type Pusher interface {
	Notified(ctx context.Context, tx bun.IDB, ns []*Notification) error
}

func (s *Service) add(ctx context.Context, tx bun.IDB, to, kind, from string, postID *string, emoji string) error {
	return s.insert(ctx, tx, &Notification{AccountID: to, Kind: kind, FromID: from, PostID: postID, Emoji: emoji})
}

// insert writes n (its id and time are set here).
func (s *Service) insert(ctx context.Context, tx bun.IDB, n *Notification) error {
	to, from := n.AccountID, n.FromID
	if (to == from && n.Kind != Poll) || to == "" {
		return nil // nobody is notified of their own acts, but for their poll's end
	}
	now := s.Clock.Now()
	n.ID, n.CreatedAt = ids.New(now), now
	// Only active local people are notified here (remote accounts are told through
	// federation), and never of the acts of an account they block: the checks and the insert
	// are one statement.
	at := "?"
	if tx.Dialect().Name() == dialect.PG {
		at = "CAST(? AS TIMESTAMPTZ)" // a literal in a SELECT list is text otherwise
	}
	res, err := tx.NewRaw(`INSERT INTO notifications (id, account_id, kind, from_id, post_id, group_id, emoji, created_at)
		SELECT ?, u.id, ?, ?, ?, ?, ?, `+at+` FROM users u WHERE u.id = ? AND u.state = 'active'
		AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = ?)`,
		n.ID, n.Kind, n.FromID, n.PostID, n.GroupID, n.Emoji, n.CreatedAt, to, from).Exec(ctx)
	if err != nil {
		return err
	}
	if inserted, err := res.RowsAffected(); err != nil || inserted == 0 {
		return err
	}
	if s.Push != nil {
		if err := s.Push.Notified(ctx, tx, []*Notification{n}); err != nil {
			return err
		}
	}
	if s.Live != nil {
		db.AfterCommit(ctx, func() { s.Live.Notified(n) })
	}
	return nil
}

// announcementAudience is everyone on this node who can see an announcement: all active
// people for company and public posts, otherwise those the post's own rule admits.
func (s *Service) announcementAudience(ctx context.Context, tx bun.IDB, p *posts.Post) ([]string, error) {
	if p.Audience == posts.Company || p.Audience == posts.Public {
		var ids []string
		return ids, tx.NewSelect().Table("users").Column("id").Where("state = 'active'").Scan(ctx, &ids)
	}
	people, err := s.Posts.Audience(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(people))
	for i, u := range people {
		ids[i] = u.ID
	}
	return ids, nil
}

// addMany notifies many local people of the same event in multi-row inserts, and announces
// them live in one rendering: an announcement to the whole company must not cost a query
// and a rendering per person inside the request.
func (s *Service) addMany(ctx context.Context, tx bun.IDB, to []string, kind, from string, postID, groupID *string) error {
	now := s.Clock.Now()
	var all []*Notification
	for start := 0; start < len(to); start += 500 {
		end := min(start+500, len(to))
		batch := make([]*Notification, 0, end-start)
		for _, id := range to[start:end] {
			if id != from {
				batch = append(batch, &Notification{ID: ids.New(now), AccountID: id, Kind: kind, FromID: from, PostID: postID,
					GroupID: groupID, CreatedAt: now})
			}
		}
		if len(batch) == 0 {
			continue
		}
		if _, err := tx.NewInsert().Model(&batch).Exec(ctx); err != nil {
			return err
		}
		all = append(all, batch...)
	}
	if s.Push != nil && len(all) > 0 {
		if err := s.Push.Notified(ctx, tx, all); err != nil {
			return err
		}
	}
	if s.Live != nil && len(all) > 0 {
		db.AfterCommit(ctx, func() { s.Live.NotifiedMany(all) })
	}
	return nil
}

// PostCreated notifies the mentioned, the parent's author and the thread's participants,
// and everyone in the audience of an announcement.
func (s *Service) PostCreated(ctx context.Context, tx bun.IDB, p *posts.Post, parent *posts.Post, mentioned []string) error {
	told := map[string]bool{p.AuthorID: true}
	if parent != nil {
		// People who muted the conversation hear nothing more from it (a new post starts a
		// thread nobody can have muted yet, so only comments look).
		muted, err := s.Posts.ThreadMuters(ctx, tx, p.ThreadID, nil)
		if err != nil {
			return err
		}
		for id := range muted {
			told[id] = true
		}
	}
	if parent != nil {
		// The parent's author, then everyone else who commented in the thread or wrote it.
		var people []string
		if err := tx.NewSelect().Table("posts").ColumnExpr("DISTINCT author_id").
			Where("(thread_id = ? OR id = ?) AND deleted_at IS NULL AND reblog_of_id IS NULL", p.ThreadID, p.ThreadID).Scan(ctx, &people); err != nil {
			return err
		}
		people = append([]string{parent.AuthorID}, people...)
		for _, id := range people {
			if !told[id] {
				told[id] = true
				if err := s.add(ctx, tx, id, Comment, p.AuthorID, &p.ID, ""); err != nil {
					return err
				}
			}
		}
	}
	for _, id := range mentioned {
		if !told[id] {
			told[id] = true
			if err := s.add(ctx, tx, id, Mention, p.AuthorID, &p.ID, ""); err != nil {
				return err
			}
		}
	}
	if p.Important {
		audience, err := s.announcementAudience(ctx, tx, p)
		if err != nil {
			return err
		}
		var to []string
		for _, id := range audience {
			if !told[id] {
				told[id] = true
				to = append(to, id)
			}
		}
		if err := s.addMany(ctx, tx, to, Announcement, p.AuthorID, &p.ID, nil); err != nil {
			return err
		}
	}
	if parent == nil && p.ReblogOfID == nil && (p.Audience == posts.Company || p.Audience == posts.Followers || p.Audience == posts.Public) {
		// Followers who rang the bell on the author hear of each new post they can see (all
		// of these audiences reach followers). One probe of a partial index; nobody rang it
		// on most people.
		var bell []string
		if err := tx.NewSelect().Table("follows").Column("follower_id").Where("followee_id = ? AND notify", p.AuthorID).
			Scan(ctx, &bell); err != nil {
			return err
		}
		var to []string
		for _, id := range bell {
			if !told[id] {
				told[id] = true
				to = append(to, id)
			}
		}
		if err := s.addMany(ctx, tx, to, Subscribed, p.AuthorID, &p.ID, nil); err != nil {
			return err
		}
	}
	if parent == nil && p.GroupID != nil && p.Audience == posts.Group && s.GroupCloseFollowers != nil {
		if err := s.groupPost(ctx, tx, p, told); err != nil {
			return err
		}
	}
	if s.Live != nil && parent == nil && !p.FanOutPending {
		feed, err := s.liveAudience(ctx, tx, p)
		if err != nil {
			return err
		}
		db.AfterCommit(ctx, func() { s.Live.PostPublished(p, feed) })
	} else if s.Live != nil && parent != nil {
		// A comment updates its thread. A post whose fan-out is pending is announced by
		// FannedOut once the background writer has put it into the feeds.
		db.AfterCommit(ctx, func() { s.Live.PostChanged(p, false) })
	}
	return nil
}

// PostEdited announces the edit live.
func (s *Service) PostEdited(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if s.Live != nil {
		db.AfterCommit(ctx, func() { s.Live.PostChanged(p, false) })
	}
	return nil
}

// PostDeleted withdraws the post's notifications and announces the deletion live to the
// people whose feeds held it (read now, before the feed entries go).
func (s *Service) PostDeleted(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if _, err := tx.NewDelete().Model((*Notification)(nil)).Where("post_id = ?", p.ID).Exec(ctx); err != nil {
		return err
	}
	if s.Live != nil {
		root := p
		if p.ThreadID != p.ID {
			root = &posts.Post{}
			if err := tx.NewSelect().Model(root).Where("id = ?", p.ThreadID).Scan(ctx); err != nil {
				return err
			}
		}
		feed, err := s.liveAudience(ctx, tx, root)
		if err != nil {
			return err
		}
		db.AfterCommit(ctx, func() { s.Live.PostDeleted(p, feed) })
	}
	return nil
}

// Reacted tells the author, and open pages that the counts changed.
func (s *Service) Reacted(ctx context.Context, tx bun.IDB, p *posts.Post, accountID, emoji string) error {
	if s.Live != nil {
		db.AfterCommit(ctx, func() { s.Live.PostChanged(p, false) })
	}
	if muted, err := s.Posts.ThreadMuters(ctx, tx, p.ThreadID, []string{p.AuthorID}); err != nil || muted[p.AuthorID] {
		return err // the author muted the conversation
	}
	return s.add(ctx, tx, p.AuthorID, Reaction, accountID, &p.ID, emoji)
}

// Boosted tells the original's author.
func (s *Service) Boosted(ctx context.Context, tx bun.IDB, original, share *posts.Post) error {
	muted, err := s.Posts.ThreadMuters(ctx, tx, original.ThreadID, []string{original.AuthorID})
	if err != nil {
		return err
	}
	if !muted[original.AuthorID] { // unless the author muted the conversation
		if err := s.add(ctx, tx, original.AuthorID, Share, share.AuthorID, &original.ID, ""); err != nil {
			return err
		}
	}
	if s.Live != nil && !share.FanOutPending {
		feed, err := s.liveAudience(ctx, tx, share)
		if err != nil {
			return err
		}
		db.AfterCommit(ctx, func() { s.Live.PostPublished(share, feed) })
	}
	return nil
}

// FannedOut announces posts live once the background writer has put them in feeds.
func (s *Service) FannedOut(ctx context.Context, tx bun.IDB, ps []*posts.Post) error {
	if s.Live == nil {
		return nil
	}
	// The audiences are read after the commit: reading ~300 followers a post inside the
	// fan-out's transaction would hold SQLite's single writer for that long. A follow made
	// in between is in both the audience and (through its backfill) the feed.
	db.AfterCommit(ctx, func() {
		connected, complete := s.Live.Connected(liveLookupMax) // once for the batch
		for _, p := range ps {
			feed, err := s.liveAudienceAmong(context.WithoutCancel(ctx), s.Posts.DB, p, connected, complete)
			if err != nil {
				continue // live updates are best effort; the feed itself is written
			}
			s.Live.PostPublished(p, feed)
		}
	})
	return nil
}

// Followed tells the person followed.
func (s *Service) Followed(ctx context.Context, tx bun.IDB, followerID, followeeID string) error {
	return s.add(ctx, tx, followeeID, Follow, followerID, nil, "")
}

// Unfollowed needs no notification.
func (s *Service) Unfollowed(context.Context, bun.IDB, string, string) error { return nil }

// Query selects a page of someone's notifications.
type Query struct {
	MaxID, SinceID, MinID string
	Limit                 int
	Types, ExcludeTypes   []string
}

// List returns notifications newest first (oldest first reversed for MinID pages).
func (s *Service) List(ctx context.Context, accountID string, q Query) ([]Notification, error) {
	if q.Limit <= 0 || q.Limit > 80 {
		q.Limit = 40
	}
	var out []Notification
	sel := s.DB.NewSelect().Model(&out).Where("account_id = ?", accountID).Limit(int64(q.Limit))
	if q.MaxID != "" {
		sel = sel.Where("id < ?", q.MaxID)
	}
	if q.SinceID != "" {
		sel = sel.Where("id > ?", q.SinceID)
	}
	if len(q.Types) > 0 {
		sel = sel.Where("kind IN (?)", bun.In(q.Types))
	}
	if len(q.ExcludeTypes) > 0 {
		sel = sel.Where("kind NOT IN (?)", bun.In(q.ExcludeTypes))
	}
	if q.MinID != "" {
		if err := sel.Where("id > ?", q.MinID).Order("id").Scan(ctx); err != nil {
			return nil, err
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, nil
	}
	return out, sel.Order("id DESC").Scan(ctx)
}

// Get returns one of the person's notifications.
func (s *Service) Get(ctx context.Context, accountID, id string) (*Notification, error) {
	n := new(Notification)
	if err := s.DB.NewSelect().Model(n).Where("id = ? AND account_id = ?", id, accountID).Scan(ctx); err != nil {
		return nil, db.Err(err, "Record not found")
	}
	return n, nil
}

// Unread counts the person's unread notifications (the badge).
func (s *Service) Unread(ctx context.Context, accountID string) (int, error) {
	n, err := s.DB.NewSelect().Model((*Notification)(nil)).Where("account_id = ? AND read_at IS NULL", accountID).Count(ctx)
	return int(n), err
}

// MarkRead marks notifications up to and including id as read ("" means all).
func (s *Service) MarkRead(ctx context.Context, accountID, upTo string) error {
	q := s.DB.NewUpdate().Model((*Notification)(nil)).Set("read_at = ?", s.Clock.Now()).Where("account_id = ? AND read_at IS NULL", accountID)
	if upTo != "" {
		q = q.Where("id <= ?", upTo)
	}
	_, err := q.Exec(ctx)
	return err
}

// Dismiss deletes one notification.
func (s *Service) Dismiss(ctx context.Context, accountID, id string) error {
	res, err := s.DB.NewDelete().Model((*Notification)(nil)).Where("id = ? AND account_id = ?", id, accountID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// Clear deletes all of a person's notifications.
func (s *Service) Clear(ctx context.Context, accountID string) error {
	_, err := s.DB.NewDelete().Model((*Notification)(nil)).Where("account_id = ?", accountID).Exec(ctx)
	return err
}

// PollEnded tells the voters in p's poll, and its author, that it has ended: Mastodon's
// "poll" notification, from the author, about the post.
func (s *Service) PollEnded(ctx context.Context, tx bun.IDB, p *posts.Post, voters []string) error {
	if err := s.addMany(ctx, tx, voters, Poll, p.AuthorID, &p.ID, nil); err != nil {
		return err
	}
	return s.add(ctx, tx, p.AuthorID, Poll, p.AuthorID, &p.ID, "")
}
