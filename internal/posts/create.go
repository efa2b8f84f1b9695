package posts

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/markup"
)

// NewPost is what a person submits.
type NewPost struct {
	Text           string
	Audience       Audience // "" means company, the default
	InReplyToID    string
	Recipients     []string // usernames (or user@host) for a direct post
	AttachmentIDs  []string
	SpoilerText    string
	Sensitive      bool
	Language       string
	Important      bool
	ImportantUntil *time.Time
	EmailEveryone  bool // announcements only: e-mail the post to everyone who can see it
	GroupID        string
	// Extra is written with the post, in its transaction, by a feature posts knows nothing
	// of (a poll, the removal of the scheduled status being published): either both commit
	// or neither does. A non-nil Extra marks the post HasPoll when Extra.HasPoll says so.
	Extra Extra
	// IdempotencyKey, when set, makes a resent post (same author, same key, within
	// IdempotencyWindow) answer with the post made the first time (Mastodon's header).
	IdempotencyKey string
}

// IdempotencyWindow is how long an Idempotency-Key names one post, as on Mastodon.
const IdempotencyWindow = time.Hour

// errIdempotent says a concurrent request with the same key made the post first.
var errIdempotent = errors.New("posts: a post with this idempotency key exists")

// Extra is something stored with a new post (NewPost.Extra).
type Extra interface {
	// HasPoll reports whether the post gets a poll, recorded on the post so that pages
	// without one skip the poll lookup.
	HasPoll() bool
	// Write stores the extra through tx, once the post row p exists.
	Write(ctx context.Context, tx bun.IDB, p *Post) error
}

// Create publishes a post or a comment by author.
func (s *Service) Create(ctx context.Context, author *accounts.User, in NewPost) (*Post, error) {
	if !author.Active() {
		return nil, errs.E(errs.Forbidden, "your account is deactivated")
	}
	if in.IdempotencyKey != "" {
		if len(in.IdempotencyKey) > 200 {
			return nil, errs.Field("Idempotency-Key", "use at most 200 characters")
		}
		if p, err := s.idempotent(ctx, author, in.IdempotencyKey); p != nil || err != nil {
			return p, err
		}
	}
	in.Text = strings.TrimSpace(strings.ReplaceAll(in.Text, "\x00", ""))
	if in.Text == "" && len(in.AttachmentIDs) == 0 {
		return nil, errs.Field("status", "write something or attach a file")
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxChars {
		return nil, errs.Field("status", "posts are limited to %d characters; this one has %d", MaxChars, n)
	}
	if len(in.AttachmentIDs) > MaxAttachments {
		return nil, errs.Field("media_ids", "attach at most %d files", MaxAttachments)
	}
	if utf8.RuneCountInString(in.SpoilerText) > 500 {
		return nil, errs.Field("spoiler_text", "keep the content warning under 500 characters")
	}
	if in.Audience == "" {
		in.Audience = Company
	}
	if in.GroupID != "" {
		in.Audience = Group
	}
	if !in.Audience.Valid() || in.Audience == Group && in.GroupID == "" && in.InReplyToID == "" {
		return nil, errs.Field("visibility", "%q is not an audience: use company, followers, direct or public (or give group_id)", in.Audience)
	}
	if in.Important && !author.IsAdmin() && in.GroupID == "" {
		return nil, errs.E(errs.Forbidden, "only administrators can mark a post as important")
	}
	if in.EmailEveryone && !in.Important {
		return nil, errs.Field("email_everyone", "only announcements (important posts) can be e-mailed to everyone")
	}
	if in.Important && in.InReplyToID != "" {
		return nil, errs.Field("important", "a comment cannot be an announcement")
	}
	now := s.Clock.Now()
	if in.ImportantUntil != nil && !in.ImportantUntil.After(now) {
		return nil, errs.Field("important_until", "the end date must be in the future")
	}
	base := s.BaseURL(ctx)
	r, err := s.Markup.Render(in.Text)
	if err != nil {
		if errors.Is(err, markup.ErrTooLong) {
			return nil, errs.Field("status", "the post is too long")
		}
		return nil, err
	}
	p := &Post{ID: ids.New(now), AuthorID: author.ID, Audience: in.Audience, Source: in.Text, ContentHTML: r.HTML,
		ContentText: r.Text, SpoilerText: strings.TrimSpace(in.SpoilerText), Sensitive: in.Sensitive || in.SpoilerText != "",
		Language: in.Language, Important: in.Important, ImportantUntil: in.ImportantUntil, CreatedAt: now}
	p.URI = base + "/users/" + author.Username + "/statuses/" + p.ID
	p.ThreadID = p.ID
	p.HasPoll = in.Extra != nil && in.Extra.HasPoll()
	if in.GroupID != "" {
		p.GroupID = &in.GroupID
	}
	v := ViewerOf(author)
	var parent *Post
	var mentioned []string
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if in.InReplyToID != "" {
			var err error
			if parent, err = s.visible(ctx, tx, v, in.InReplyToID); err != nil {
				return err
			}
			if parent.ReblogOfID != nil { // replying to a share answers the original
				if parent, err = s.visible(ctx, tx, v, *parent.ReblogOfID); err != nil {
					return err
				}
			}
			root, err := s.root(ctx, tx, parent)
			if err != nil {
				return err
			}
			// A comment lives in its post's audience: it can never reach anyone the post did not.
			p.InReplyToID, p.ThreadID, p.Audience, p.GroupID = &parent.ID, root.ID, root.Audience, root.GroupID
		}
		if p.Audience == Group {
			if err := s.groupPost(ctx, tx, author, p, in); err != nil {
				return err
			}
		}
		recips, ment, err := s.resolveRecipients(ctx, tx, author, config.Host(base), r.Mentions, in.Recipients)
		if err != nil {
			return err
		}
		if mentioned, err = s.mayRead(ctx, tx, p, ment); err != nil {
			return err
		}
		if p.Audience == Direct && p.InReplyToID == nil && len(recips) == 0 {
			return errs.Field("recipients", "choose at least one person for a direct post")
		}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return err
		}
		if in.IdempotencyKey != "" {
			if err := s.claimKey(ctx, tx, author.ID, in.IdempotencyKey, p); err != nil {
				return err
			}
		}
		for i := range recips {
			recips[i].PostID = p.ID
		}
		if len(recips) > 0 {
			if _, err := tx.NewInsert().Model(&recips).Exec(ctx); err != nil {
				return err
			}
		}
		p.Mentions = recips
		if in.Extra != nil {
			if err := in.Extra.Write(ctx, tx, p); err != nil {
				return err
			}
		}
		if err := s.insertTags(ctx, tx, p.ID, r.Tags); err != nil {
			return err
		}
		p.Tags = r.Tags
		if err := s.insertLinks(ctx, tx, p.ID, r.Links); err != nil {
			return err
		}
		if p.Attachments, err = s.attach(ctx, tx, author.ID, p.ID, in.AttachmentIDs); err != nil {
			return err
		}
		if err := s.published(ctx, tx, p, parent, mentioned); err != nil {
			return err
		}
		if in.EmailEveryone {
			if s.Jobs == nil {
				return errs.E(errs.Unavailable, "e-mail is not set up on this node")
			}
			// Queued in the same transaction: the post and its e-mails commit together.
			if err := s.Jobs.Enqueue(ctx, tx, JobAnnouncementEmail, p.ID); err != nil {
				return err
			}
			db.AfterCommit(ctx, s.Jobs.Wake)
		}
		return nil
	})
	if errors.Is(err, errIdempotent) { // the same post, sent twice at once: answer with the first
		if p, err := s.idempotent(ctx, author, in.IdempotencyKey); p != nil || err != nil {
			return p, err
		}
		return nil, errs.E(errs.Conflict, "this post is already being published (the same Idempotency-Key)")
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// idempotent returns the post author made with key within IdempotencyWindow (nil: none, or
// it was deleted since).
func (s *Service) idempotent(ctx context.Context, author *accounts.User, key string) (*Post, error) {
	var postID string
	err := s.DB.NewSelect().Table("idempotency_keys").Column("post_id").
		Where("account_id = ? AND key = ? AND created_at > ?", author.ID, key, s.Clock.Now().Add(-IdempotencyWindow)).Scan(ctx, &postID)
	if err != nil {
		if errs.Is(db.Err(err, "idempotency key"), errs.NotFound) {
			return nil, nil
		}
		return nil, err
	}
	p, err := s.Get(ctx, ViewerOf(author), postID)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return p, err
}

// claimKey records that p is the post of key, in p's transaction. A fresh row for the key
// means a concurrent request made the post first (errIdempotent); an expired one, or one whose
// post was deleted since, is taken over.
func (s *Service) claimKey(ctx context.Context, tx bun.IDB, accountID, key string, p *Post) error {
	res, err := tx.NewRaw(`INSERT INTO idempotency_keys (account_id, key, post_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, key) DO UPDATE SET post_id = excluded.post_id, created_at = excluded.created_at
		WHERE idempotency_keys.created_at <= ?
		OR idempotency_keys.post_id IN (SELECT id FROM posts WHERE deleted_at IS NOT NULL)`,
		accountID, key, p.ID, p.CreatedAt, p.CreatedAt.Add(-IdempotencyWindow)).Exec(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = errIdempotent
		}
		return err
	}
	// Keys past their hour are of no use: drop this person's, on the indexed prefix.
	_, err = tx.NewRaw("DELETE FROM idempotency_keys WHERE account_id = ? AND created_at <= ?", accountID, p.CreatedAt.Add(-IdempotencyWindow)).Exec(ctx)
	return err
}

// published finishes a new post inside its transaction, wherever it was written: a comment
// counts on its parent, a post goes into its followers' feeds, and the hooks hear of it.
func (s *Service) published(ctx context.Context, tx bun.IDB, p, parent *Post, mentioned []string) error {
	if parent != nil {
		if _, err := tx.NewUpdate().Model((*Post)(nil)).Set("replies_count = replies_count + 1").Where("id = ?", parent.ID).Exec(ctx); err != nil {
			return err
		}
	} else if err := s.fanOut(ctx, tx, p); err != nil {
		return err
	}
	for _, h := range s.hooks {
		if err := h.PostCreated(ctx, tx, p, parent, mentioned); err != nil {
			return err
		}
	}
	return nil
}

// resolveRecipients turns mentions and chosen people into recipient rows. Local names must
// exist; remote ones are kept by acct for federation to resolve.
func (s *Service) resolveRecipients(ctx context.Context, tx bun.IDB, author *accounts.User, localHost string,
	mentions []markup.Mention, chosen []string) ([]Recipient, []string, error) {
	if len(mentions)+len(chosen) > MaxRecipients {
		return nil, nil, errs.Field("status", "address at most %d people", MaxRecipients)
	}
	seen := map[string]int{}
	var out []Recipient
	var mentioned []string
	add := func(acct string, isMention bool) error {
		acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
		if acct == "" {
			return nil
		}
		id := "acct:" + strings.ToLower(acct)
		name, local := LocalAcct(acct, localHost)
		if !local { // a remote person this node already knows is addressed by id
			if u, err := s.Accounts.RemoteByAcct(ctx, acct); err == nil && u.Active() {
				id, acct = u.ID, u.Acct()
			}
		}
		if local {
			u, err := s.Accounts.ByUsername(ctx, name)
			if err != nil || !u.Active() {
				if err == nil || errs.Is(err, errs.NotFound) {
					return errs.Field("status", "nobody here is called @%s", name)
				}
				return err
			}
			id, acct = u.ID, u.Username
			if u.ID == author.ID {
				return nil
			}
		}
		if i, ok := seen[id]; ok {
			out[i].Mentioned = out[i].Mentioned || isMention
			return nil
		}
		seen[id] = len(out)
		out = append(out, Recipient{AccountID: id, Mentioned: isMention, Acct: acct})
		if isMention && local { // people elsewhere are told by their own node
			mentioned = append(mentioned, id)
		}
		return nil
	}
	for _, m := range mentions {
		acct := m.Username
		if m.Host != "" {
			acct += "@" + m.Host
		}
		if err := add(acct, true); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range chosen {
		if err := add(c, false); err != nil {
			return nil, nil, err
		}
	}
	return out, mentioned, nil
}

func (s *Service) insertTags(ctx context.Context, tx bun.IDB, postID string, tags []string) error {
	for _, t := range tags {
		if _, err := tx.NewInsert().Model(&postTag{PostID: postID, Tag: t}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) insertLinks(ctx context.Context, tx bun.IDB, postID string, links []string) error {
	for i, l := range links {
		if i >= 4 { // previews for the first few links are plenty
			break
		}
		if len(l) > 2048 { // longer keys cannot be indexed on PostgreSQL, and are never real links
			continue
		}
		if _, err := tx.NewRaw("INSERT INTO post_links (post_id, url) VALUES (?, ?) ON CONFLICT DO NOTHING", postID, l).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// attach claims the author's uploaded, not yet attached files for the post, in order.
func (s *Service) attach(ctx context.Context, tx bun.IDB, ownerID, postID string, idList []string) ([]Attachment, error) {
	var out []Attachment
	for i, id := range idList {
		a := new(Attachment)
		if err := tx.NewSelect().Model(a).Where("id = ? AND owner_id = ?", id, ownerID).Scan(ctx); err != nil {
			return nil, errs.Field("media_ids", "attachment %s does not exist; upload it first", id)
		}
		if a.PostID != nil && *a.PostID != postID {
			return nil, errs.Field("media_ids", "attachment %s belongs to another post", id)
		}
		a.PostID, a.Position = &postID, i
		if _, err := tx.NewUpdate().Model(a).Column("post_id", "position").WherePK().Exec(ctx); err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}
