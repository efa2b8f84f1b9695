package posts

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
)

// RemoteNote is a post from another node as the federation layer read it: origin-checked,
// its HTML sanitised, its addressing turned into an audience and account ids.
type RemoteNote struct {
	URI         string
	ContentHTML string // sanitised at intake
	SpoilerText string
	Sensitive   bool
	Language    string
	InReplyToID string   // local id of the parent, when the parent is known here
	Audience    Audience // Public, Followers or Direct; Group when GroupID is set
	// GroupID places the note in a group (hosted here, or mirrored from its home node).
	// ViaGroup: the group's home node announced it, having checked the author's membership
	// itself; otherwise (a member delivering to a group hosted here) the group's rules are
	// checked here.
	GroupID    string
	ViaGroup   bool
	Recipients []RemoteRecipient
	Tags       []string
	Published  time.Time
	// Attachments are the note's images, already queued for copying to this node
	// (federation/remotemedia): the keys name where the copies are or will be served.
	// At most MaxAttachments are kept, in order.
	Attachments []RemoteAttachment
}

// RemoteAttachment is a file of a remote post as stored here. Width, Height and
// ContentType are what the remote note declared (layout hints); the bytes behind FileKey
// are this node's own re-encoded copy.
type RemoteAttachment struct {
	FileKey     string
	ThumbKey    string
	ContentType string
	Description string
	Width       int
	Height      int
	Kind        string // media.KindImage when empty
}

// RemoteRecipient is an account a remote post addresses; Mentioned ones are notified.
type RemoteRecipient struct {
	AccountID string
	Acct      string
	Mentioned bool
}

// Local reports whether p was written on this node (its URI is under base).
func (p *Post) Local(base string) bool { return strings.HasPrefix(p.URI, base+"/") }

// ByURI returns any post by its ActivityPub id, deleted ones included (federation needs to
// recognise tombstones). It does no visibility check: callers decide what to show.
func (s *Service) ByURI(ctx context.Context, uri string) (*Post, error) {
	p := new(Post)
	if err := s.DB.NewSelect().Model(p).Where("uri = ?", uri).Scan(ctx); err != nil {
		return nil, db.Err(err, "this post does not exist or you cannot see it")
	}
	return p, s.hydrate(ctx, []*Post{p})
}

// Load returns a post by id without a visibility check, for federation's own rendering of
// posts it is about to send (the audience decides where they go).
func (s *Service) Load(ctx context.Context, id string) (*Post, error) {
	p, err := s.load(ctx, s.DB, id)
	if err != nil {
		return nil, err
	}
	return p, s.hydrate(ctx, []*Post{p})
}

// CreateRemote stores a post written on another node. It is idempotent by URI (the same
// Create delivered twice, or fetched and then delivered, is one post), and a reply can never
// widen its thread's audience or land in a thread its author cannot see.
func (s *Service) CreateRemote(ctx context.Context, author *accounts.User, n RemoteNote) (*Post, bool, error) {
	var p *Post
	var created bool
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		p, created, err = s.CreateRemoteIn(ctx, tx, author, n)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return p, created, nil
}

// CreateRemoteIn is CreateRemote inside the caller's transaction (begun with db.Tx, so that
// live updates wait for its commit), for storing several remote posts in one commit. On an
// error the caller must roll the transaction back.
func (s *Service) CreateRemoteIn(ctx context.Context, tx bun.Tx, author *accounts.User, n RemoteNote) (*Post, bool, error) {
	if !author.IsRemote() || !author.Active() {
		return nil, false, errs.E(errs.Forbidden, "only an active remote account can deliver a remote post")
	}
	if n.URI == "" {
		return nil, false, errs.E(errs.Invalid, "a remote post needs an id")
	}
	if n.GroupID != "" {
		n.Audience = Group
	} else if n.Audience != Public && n.Audience != Followers && n.Audience != Direct {
		return nil, false, errs.E(errs.Invalid, "a remote post is public, followers-only or direct")
	}
	if len(n.ContentHTML) > 64<<10 { // far above any real post; bounds storage per activity
		return nil, false, errs.E(errs.Invalid, "the post is too long")
	}
	now := s.Clock.Now()
	if n.Published.IsZero() || n.Published.After(now) {
		n.Published = now
	}
	p := &Post{ID: ids.New(n.Published), URI: n.URI, AuthorID: author.ID, Audience: n.Audience, ContentHTML: n.ContentHTML,
		ContentText: markup.PlainText(n.ContentHTML), SpoilerText: truncate(n.SpoilerText, 500), Sensitive: n.Sensitive || n.SpoilerText != "",
		Language: truncate(n.Language, 16), CreatedAt: n.Published}
	p.ThreadID = p.ID
	if n.GroupID != "" {
		p.GroupID = &n.GroupID
	}
	var parent *Post
	created := false
	err := func() error {
		// The post we have already, if any: looked up after the insert found its URI taken
		// (one statement for the usual new post), or before the checks a reply needs.
		existing := func() (bool, error) {
			e := new(Post)
			if err := tx.NewSelect().Model(e).Where("uri = ?", n.URI).Scan(ctx); err != nil {
				if db.IsNotFound(err) {
					return false, nil
				}
				return false, err
			}
			p = e
			return true, nil
		}
		if n.InReplyToID != "" {
			if found, err := existing(); found || err != nil {
				return err
			}
			var err error
			if n.ViaGroup {
				parent, err = s.load(ctx, tx, n.InReplyToID) // the group vouches for its members
			} else {
				parent, err = s.visible(ctx, tx, ViewerOf(author), n.InReplyToID)
			}
			if err != nil {
				return err
			}
			root, err := s.root(ctx, tx, parent)
			if err != nil {
				return err
			}
			if root.Audience == Company {
				return errs.E(errs.Forbidden, "company posts cannot be answered from another node")
			}
			if (root.Audience == Group) != (n.GroupID != "") || root.GroupID != nil && *root.GroupID != n.GroupID {
				return errs.E(errs.Forbidden, "a comment stays in its post's group, and only group posts answer into a group")
			}
			p.InReplyToID, p.ThreadID, p.Audience, p.GroupID = &parent.ID, root.ID, root.Audience, root.GroupID
		}
		if n.GroupID != "" && !n.ViaGroup {
			if s.Groups == nil {
				return errs.E(errs.NotFound, "this group does not exist")
			}
			if _, err := s.Groups.CanPost(ctx, tx, n.GroupID, author, p.InReplyToID != nil); err != nil {
				return err
			}
		}
		res, err := tx.NewInsert().Model(p).On("CONFLICT (uri) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if rows, err := res.RowsAffected(); err != nil {
			return err
		} else if rows == 0 {
			found, err := existing()
			if err == nil && !found {
				err = errs.E(errs.Conflict, "the post was deleted while it was stored")
			}
			return err
		}
		var mentioned []string
		seen := map[string]bool{author.ID: true}
		var recips []Recipient
		for _, r := range n.Recipients {
			if seen[r.AccountID] || len(recips) >= MaxRecipients {
				continue
			}
			seen[r.AccountID] = true
			recips = append(recips, Recipient{PostID: p.ID, AccountID: r.AccountID, Mentioned: r.Mentioned, Acct: r.Acct})
			if r.Mentioned {
				mentioned = append(mentioned, r.AccountID)
			}
		}
		if len(recips) > 0 {
			if _, err := tx.NewInsert().Model(&recips).Exec(ctx); err != nil {
				return err
			}
		}
		p.Mentions = recips
		if len(n.Tags) > 20 {
			n.Tags = n.Tags[:20]
		}
		if err := s.insertTags(ctx, tx, p.ID, n.Tags); err != nil {
			return err
		}
		p.Tags = n.Tags
		atts, err := s.insertRemoteAttachments(ctx, tx, author.ID, p.ID, n.Attachments)
		if err != nil {
			return err
		}
		p.Attachments = atts
		if mentioned, err = s.mayRead(ctx, tx, p, mentioned); err != nil {
			return err
		}
		if err := s.published(ctx, tx, p, parent, mentioned); err != nil {
			return err
		}
		created = true
		return nil
	}()
	if err != nil {
		return nil, false, err
	}
	return p, created, nil
}

// EditRemote applies an Update of a remote post by its author; the earlier version goes into
// the history as with local edits. An update of a post we never had is not an error (nil, nil).
func (s *Service) EditRemote(ctx context.Context, author *accounts.User, n RemoteNote) (*Post, error) {
	var p *Post
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur := new(Post)
		if err := tx.NewSelect().Model(cur).Where("uri = ? AND deleted_at IS NULL", n.URI).Scan(ctx); err != nil {
			if db.IsNotFound(err) {
				return nil
			}
			return err
		}
		if cur.AuthorID != author.ID {
			return errs.E(errs.Forbidden, "only the author can edit a post")
		}
		now := s.Clock.Now()
		prev := &Edit{ID: ids.New(now), PostID: cur.ID, Source: cur.Source, ContentHTML: cur.ContentHTML,
			SpoilerText: cur.SpoilerText, Sensitive: cur.Sensitive, CreatedAt: cur.CreatedAt}
		if cur.EditedAt != nil {
			prev.CreatedAt = *cur.EditedAt
		}
		if _, err := tx.NewInsert().Model(prev).Exec(ctx); err != nil {
			return err
		}
		cur.ContentHTML, cur.ContentText = n.ContentHTML, markup.PlainText(n.ContentHTML)
		cur.SpoilerText, cur.Sensitive, cur.EditedAt = truncate(n.SpoilerText, 500), n.Sensitive || n.SpoilerText != "", &now
		if _, err := tx.NewUpdate().Model(cur).Column("content_html", "content_text", "spoiler_text", "sensitive", "edited_at").
			WherePK().Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*postTag)(nil)).Where("post_id = ?", cur.ID).Exec(ctx); err != nil {
			return err
		}
		if err := s.insertTags(ctx, tx, cur.ID, n.Tags); err != nil {
			return err
		}
		// The edited note lists its attachments anew; the cached files stay (they belong to
		// their URL, not to this post), only the rows pointing at them are replaced.
		if _, err := tx.NewDelete().Model((*Attachment)(nil)).Where("post_id = ?", cur.ID).Exec(ctx); err != nil {
			return err
		}
		if _, err := s.insertRemoteAttachments(ctx, tx, author.ID, cur.ID, n.Attachments); err != nil {
			return err
		}
		p = cur
		for _, h := range s.hooks {
			if err := h.PostEdited(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || p == nil {
		return nil, err
	}
	return p, s.hydrate(ctx, []*Post{p})
}

// DeleteRemote applies a Delete of a remote post (or share) by its author; unknown or already
// deleted posts are fine (deliveries cross). Someone else's post is refused.
func (s *Service) DeleteRemote(ctx context.Context, author *accounts.User, uri string) error {
	p := new(Post)
	if err := s.DB.NewSelect().Model(p).Where("uri = ? AND deleted_at IS NULL", uri).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil
		}
		return err
	}
	if p.AuthorID != author.ID {
		return errs.E(errs.Forbidden, "only the author can delete a post")
	}
	_, err := s.Delete(ctx, author, p.ID)
	if errs.Is(err, errs.NotFound) { // already gone, or its thread is: nothing left to do
		return nil
	}
	return err
}

// ShareRemote applies a remote account's Announce of a post: a share with the Announce's id.
func (s *Service) ShareRemote(ctx context.Context, u *accounts.User, postID, uri string) (*Post, error) {
	return s.boost(ctx, u, postID, uri)
}

// UnshareRemote applies Undo{Announce}.
func (s *Service) UnshareRemote(ctx context.Context, u *accounts.User, uri string) error {
	return s.DeleteRemote(ctx, u, uri)
}

// AuthoredBy lists the ids of the posts (not yet deleted) a remote account wrote here, for
// removing them when the account is deleted.
// after is the last id of the previous page ("" for the first).
func (s *Service) AuthoredBy(ctx context.Context, authorID, after string, limit int) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().Model((*Post)(nil)).Column("id").Where("author_id = ? AND deleted_at IS NULL AND id > ?", authorID, after).
		Order("id").Limit(int64(limit)).Scan(ctx, &out)
	return out, err
}

// insertRemoteAttachments stores the attachment rows of a remote post, owned by its author.
// Keys that a Store would refuse are skipped rather than failing the post: the text still
// arrives, and the federation layer decided what the keys are.
func (s *Service) insertRemoteAttachments(ctx context.Context, tx bun.IDB, ownerID, postID string, in []RemoteAttachment) ([]Attachment, error) {
	var out []Attachment
	now := s.Clock.Now()
	for _, ra := range in {
		if len(out) == MaxAttachments {
			break
		}
		if media.ValidateKey(ra.FileKey) != nil || (ra.ThumbKey != "" && media.ValidateKey(ra.ThumbKey) != nil) {
			continue
		}
		kind := ra.Kind
		if kind == "" {
			kind = media.KindImage
		}
		a := Attachment{ID: ids.New(now), OwnerID: ownerID, PostID: &postID, Kind: kind, FileKey: ra.FileKey,
			ThumbKey: ra.ThumbKey, ContentType: truncate(ra.ContentType, 100), Width: max(ra.Width, 0),
			Height: max(ra.Height, 0), Description: truncate(strings.TrimSpace(ra.Description), 1500),
			Position: len(out), CreatedAt: now}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if _, err := tx.NewInsert().Model(&out).Exec(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// Recipients lists everyone a post addresses (mentioned or chosen), for delivery.
func (s *Service) Recipients(ctx context.Context, postIDs ...string) ([]Recipient, error) {
	var out []Recipient
	if len(postIDs) == 0 {
		return nil, nil
	}
	err := s.DB.NewSelect().Model(&out).Where("post_id IN (?)", bun.In(postIDs)).Scan(ctx)
	return out, err
}

// ResolveRecipient replaces a remote address kept by acct ("acct:bob@globex.example") with
// the account federation found for it, so visibility checks and fetches by that account work.
func (s *Service) ResolveRecipient(ctx context.Context, postID, placeholder, accountID string) error {
	_, err := s.DB.NewUpdate().Model((*Recipient)(nil)).Set("account_id = ?", accountID).
		Where("post_id = ? AND account_id = ?", postID, placeholder).
		Where("NOT EXISTS (SELECT 1 FROM post_recipients r2 WHERE r2.post_id = ? AND r2.account_id = ?)", postID, accountID).
		Exec(ctx)
	return err
}

// UnreactHook is an optional Hook extension told when a reaction is withdrawn (federation
// sends Undo{Like}).
type UnreactHook interface {
	Unreacted(ctx context.Context, tx bun.IDB, p *Post, accountID string) error
}
