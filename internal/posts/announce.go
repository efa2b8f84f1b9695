package posts

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
)

// Announcements returns the important posts in force that the viewer may see and has not
// marked as read, newest first: they stay pinned at the top of the feed until then.
func (s *Service) Announcements(ctx context.Context, v *Viewer) ([]*Post, error) {
	if v == nil {
		return nil, nil
	}
	var out []*Post
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("posts AS p").ColumnExpr("p.*").
		Where("p.important AND (p.important_until IS NULL OR p.important_until > ?)", s.Clock.Now()).
		Where("NOT EXISTS (SELECT 1 FROM announcement_reads a WHERE a.post_id = p.id AND a.account_id = ?)", v.ID).
		OrderExpr("p.id DESC").Limit(20)
	if err := visibleFilter(q, v).Scan(ctx); err != nil {
		return nil, err
	}
	return out, s.hydrate(ctx, out)
}

// MarkRead records that the viewer read an announcement; reading twice is not an error.
func (s *Service) MarkRead(ctx context.Context, u *accounts.User, id string) error {
	p, err := s.visible(ctx, s.DB, ViewerOf(u), id)
	if err != nil {
		return err
	}
	if !p.Important {
		return errs.E(errs.Invalid, "this post is not an announcement")
	}
	_, err = s.DB.NewInsert().Model(&announcementRead{PostID: p.ID, AccountID: u.ID, ReadAt: s.Clock.Now()}).On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// Receipt is one person's read state of an announcement.
type Receipt struct {
	User   *accounts.User
	ReadAt *time.Time
}

// ReachPoint is how many had read an announcement by a moment.
type ReachPoint struct {
	At   time.Time
	Read int
}

// Receipts tells the author (or an admin) who has and has not read an announcement, and how
// reach grew over time. The audience counted is the people who can see it on this node.
type Receipts struct {
	Read, Unread []Receipt
	Audience     int
	Reach        []ReachPoint
}

// ReadReceipts returns the receipts of an announcement for its author or an admin.
func (s *Service) ReadReceipts(ctx context.Context, u *accounts.User, id string) (*Receipts, error) {
	p, err := s.visible(ctx, s.DB, ViewerOf(u), id)
	if err != nil {
		return nil, err
	}
	if p.AuthorID != u.ID && !u.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "only the author and administrators see read receipts")
	}
	if !p.Important {
		return nil, errs.E(errs.Invalid, "this post is not an announcement")
	}
	var users []*accounts.User
	if err := s.DB.NewSelect().Model(&users).Where("state = ?", accounts.StateActive).OrderExpr("username_lower").Limit(10000).Scan(ctx); err != nil {
		return nil, err
	}
	var reads []announcementRead
	if err := s.DB.NewSelect().Model(&reads).Where("post_id = ?", p.ID).Order("read_at").Scan(ctx); err != nil {
		return nil, err
	}
	readAt := map[string]time.Time{}
	for _, r := range reads {
		readAt[r.AccountID] = r.ReadAt
	}
	out := &Receipts{}
	for _, usr := range users {
		if ok, err := s.CanSee(ctx, s.DB, ViewerOf(usr), p); err != nil || !ok {
			continue
		}
		out.Audience++
		if t, ok := readAt[usr.ID]; ok {
			t := t
			out.Read = append(out.Read, Receipt{User: usr, ReadAt: &t})
		} else {
			out.Unread = append(out.Unread, Receipt{User: usr})
		}
	}
	// Reach over time: cumulative reads, one point per read, thinned to at most 50 points.
	step := len(reads)/50 + 1
	for i := range reads {
		if i%step == 0 || i == len(reads)-1 {
			out.Reach = append(out.Reach, ReachPoint{At: reads[i].ReadAt, Read: i + 1})
		}
	}
	return out, nil
}

// Audience lists the active local people who can see a post, for announcement e-mails.
func (s *Service) Audience(ctx context.Context, tx bun.IDB, p *Post) ([]*accounts.User, error) {
	var users []*accounts.User
	if err := tx.NewSelect().Model(&users).Where("state = ?", accounts.StateActive).Scan(ctx); err != nil {
		return nil, err
	}
	out := users[:0]
	for _, u := range users {
		if ok, err := s.CanSee(ctx, tx, ViewerOf(u), p); err == nil && ok {
			out = append(out, u)
		}
	}
	return out, nil
}
