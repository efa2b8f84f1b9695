package posts

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// Change is an edit of a post's text and attachments (the audience never changes: people
// who saw the post keep seeing it, and nobody new is let in).
type Change struct {
	Text          string
	SpoilerText   string
	Sensitive     bool
	AttachmentIDs []string
	// Extra rewrites what a feature stores with the post (its poll), in the edit's
	// transaction; nil leaves it as it is.
	Extra Extra
}

// Edit changes a post; only its author may. The previous version goes into the history.
func (s *Service) Edit(ctx context.Context, author *accounts.User, id string, c Change) (*Post, error) {
	c.Text = strings.TrimSpace(strings.ReplaceAll(c.Text, "\x00", ""))
	if c.Text == "" && len(c.AttachmentIDs) == 0 {
		return nil, errs.Field("status", "write something or attach a file")
	}
	if n := utf8.RuneCountInString(c.Text); n > MaxChars {
		return nil, errs.Field("status", "posts are limited to %d characters; this one has %d", MaxChars, n)
	}
	if len(c.AttachmentIDs) > MaxAttachments {
		return nil, errs.Field("media_ids", "attach at most %d files", MaxAttachments)
	}
	r, err := s.Markup.Render(c.Text)
	if err != nil {
		return nil, errs.Field("status", "the post is too long")
	}
	var p *Post
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = s.visible(ctx, tx, ViewerOf(author), id); err != nil {
			return err
		}
		if p.AuthorID != author.ID {
			return errs.E(errs.Forbidden, "only the author can edit a post")
		}
		if p.ReblogOfID != nil {
			return errs.E(errs.Invalid, "a share cannot be edited")
		}
		now := s.Clock.Now()
		prev := &Edit{ID: ids.New(now), PostID: p.ID, Source: p.Source, ContentHTML: p.ContentHTML, SpoilerText: p.SpoilerText,
			Sensitive: p.Sensitive, CreatedAt: p.CreatedAt}
		if p.EditedAt != nil {
			prev.CreatedAt = *p.EditedAt
		}
		if _, err := tx.NewInsert().Model(prev).Exec(ctx); err != nil {
			return err
		}
		p.Source, p.ContentHTML, p.ContentText, p.SpoilerText = c.Text, r.HTML, r.Text, strings.TrimSpace(c.SpoilerText)
		p.Sensitive, p.EditedAt = c.Sensitive || p.SpoilerText != "", &now
		if _, err := tx.NewUpdate().Model(p).Column("source", "content_html", "content_text", "spoiler_text", "sensitive", "edited_at").
			WherePK().Exec(ctx); err != nil {
			return err
		}
		// Mentions added by the edit get addressed (so they can see and are told); existing
		// recipients stay, so nobody who could see the post loses it mid-conversation.
		recips, _, err := s.resolveRecipients(ctx, tx, author, config.Host(s.BaseURL(ctx)), r.Mentions, nil)
		if err != nil {
			return err
		}
		for _, rc := range recips {
			rc.PostID = p.ID
			if _, err := tx.NewInsert().Model(&rc).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewDelete().Model((*postTag)(nil)).Where("post_id = ?", p.ID).Exec(ctx); err != nil {
			return err
		}
		if err := s.insertTags(ctx, tx, p.ID, r.Tags); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*Attachment)(nil)).Set("post_id = NULL").Where("post_id = ?", p.ID).
			Where("id NOT IN (?)", bun.In(append(c.AttachmentIDs, ""))).Exec(ctx); err != nil {
			return err
		}
		if _, err := s.attach(ctx, tx, author.ID, p.ID, c.AttachmentIDs); err != nil {
			return err
		}
		if c.Extra != nil {
			if p.HasPoll != c.Extra.HasPoll() {
				p.HasPoll = c.Extra.HasPoll()
				if _, err := tx.NewUpdate().Model(p).Column("has_poll").WherePK().Exec(ctx); err != nil {
					return err
				}
			}
			if err := c.Extra.Write(ctx, tx, p); err != nil {
				return err
			}
		}
		for _, h := range s.hooks {
			if err := h.PostEdited(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	s.forgetPosts(id) // after the commit, so no reader can cache the old version again
	if err != nil {
		return nil, err
	}
	return p, s.hydrate(ctx, []*Post{p})
}

// History returns the earlier versions of a post, oldest first, followed by the current one.
func (s *Service) History(ctx context.Context, v *Viewer, id string) ([]Edit, error) {
	p, err := s.visible(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	var out []Edit
	if err := s.DB.NewSelect().Model(&out).Where("post_id = ?", p.ID).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	cur := Edit{PostID: p.ID, Source: p.Source, ContentHTML: p.ContentHTML, SpoilerText: p.SpoilerText, Sensitive: p.Sensitive, CreatedAt: p.CreatedAt}
	if p.EditedAt != nil {
		cur.CreatedAt = *p.EditedAt
	}
	return append(out, cur), nil
}

// Delete removes a post (and, with it, its place in feeds); its author, an admin, or for a
// group post the group's admins and moderators may. The row stays as a tombstone so
// federation can answer for it and comments keep their thread.
func (s *Service) Delete(ctx context.Context, actor *accounts.User, id string) (*Post, error) {
	return s.delete(ctx, id, func(ctx context.Context, tx bun.IDB, id string) (*Post, error) {
		p, err := s.visible(ctx, tx, ViewerOf(actor), id)
		if err != nil || p.AuthorID == actor.ID || actor.IsAdmin() {
			return p, err
		}
		if p.GroupID != nil && s.Groups != nil {
			if r, err := s.Groups.CanPost(ctx, tx, *p.GroupID, actor, true); err == nil && r.Moderate {
				return p, nil
			}
		}
		return nil, errs.E(errs.Forbidden, "only the author, a moderator of the group or an administrator can delete a post")
	})
}

func (s *Service) delete(ctx context.Context, id string, find find) (*Post, error) {
	var p *Post
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = find(ctx, tx, id); err != nil {
			return err
		}
		now := s.Clock.Now()
		p.DeletedAt = &now
		if _, err := tx.NewUpdate().Model(p).Column("deleted_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		// Hooks run while the feed entries still say who had the post (live deletes use them).
		for _, h := range s.hooks {
			if err := h.PostDeleted(ctx, tx, p); err != nil {
				return err
			}
		}
		// Feed entries stay: reads skip deleted posts, and the trim removes them in time.
		// Deleting them here would need an index on the feed by post, which doubles the
		// cost of every fan-out.
		if p.InReplyToID != nil {
			if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("replies_count = replies_count - 1").
				Where("id = ? AND replies_count > 0", *p.InReplyToID).Exec(ctx); err != nil {
				return err
			}
		}
		if p.ReblogOfID != nil {
			if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("reblogs_count = reblogs_count - 1").
				Where("id = ? AND reblogs_count > 0", *p.ReblogOfID).Exec(ctx); err != nil {
				return err
			}
		}
		// Shares of a deleted post go with it.
		if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("deleted_at = ?", now).Where("reblog_of_id = ? AND deleted_at IS NULL", p.ID).Exec(ctx); err != nil {
			return err
		}
		return nil
	})
	// Feeds read deletion fresh, so this only frees the memory; after the commit, like the rest.
	if p != nil {
		s.forgetPosts(p.ID)
	}
	return p, err
}
