package chat

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
)

// NewMessage is what a person sends.
type NewMessage struct {
	Text          string
	AttachmentIDs []string // uploads (POST /api/v2/media) of the sender, in order
	InReplyToID   string   // a message of the same chat
}

// rendered is a message's text checked and rendered, outside any transaction.
type rendered struct {
	source, html, text, link string
}

func (s *Service) render(text string, files int) (rendered, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\x00", ""))
	if text == "" && files == 0 {
		return rendered{}, errs.Field("text", "write something or attach a file")
	}
	if n := utf8.RuneCountInString(text); n > MaxChars {
		return rendered{}, errs.Field("text", "messages are limited to %d characters; this one has %d", MaxChars, n)
	}
	if files > MaxAttachments {
		return rendered{}, errs.Field("media_ids", "attach at most %d files to a message", MaxAttachments)
	}
	if text == "" {
		return rendered{}, nil
	}
	r, err := s.Markup.Render(text)
	if err != nil {
		if errors.Is(err, markup.ErrTooLong) {
			return rendered{}, errs.Field("text", "the message is too long")
		}
		return rendered{}, err
	}
	out := rendered{source: text, html: r.HTML, text: r.Text}
	for _, l := range r.Links {
		if len(l) <= 2048 { // longer ones are never real links, and cannot be indexed
			out.link = l
			break
		}
	}
	return out, nil
}

// messageID is a message's id on every node: a ULID whose time is the message's creation
// time (to the millisecond, as its note's published says) and whose other part is drawn from
// its URI. Every node holding the message computes the same id, so every node orders a chat
// the same way, by (time, id), whatever order the deliveries came in.
func messageID(at time.Time, uri string) string {
	var u ulid.ULID
	sum := sha256.Sum256([]byte(uri))
	if err := u.SetTime(ulid.Timestamp(at)); err != nil {
		return ids.New(at) // a time ULID cannot hold (before 1970): still a valid, unique id
	}
	if err := u.SetEntropy(sum[:10]); err != nil {
		return ids.New(at)
	}
	return u.String()
}

// nextTime is when a message created now in a chat whose newest entry is last is said to be
// written: now, or one millisecond after last when the clock has not moved past it (the same
// millisecond, or a clock step back), so that a chat's own messages always sort in the order
// they were sent, here and on every other node.
func nextTime(now time.Time, last string) time.Time {
	now = now.UTC().Truncate(time.Millisecond)
	u, err := ulid.ParseStrict(last)
	if err != nil {
		return now
	}
	if lt := ulid.Time(u.Time()).UTC(); !now.After(lt) {
		return lt.Add(time.Millisecond)
	}
	return now
}

// Send posts a message to a chat u is in.
func (s *Service) Send(ctx context.Context, u *accounts.User, chatID string, in NewMessage) (*Message, error) {
	r, err := s.render(in.Text, len(in.AttachmentIDs))
	if err != nil {
		return nil, err
	}
	base := s.BaseURL(ctx)
	// A direct chat whose other person can no longer be reached takes no message. Checked
	// before the transaction: it reads people and the partner policy through their own
	// services, and a transaction must never wait for a second pooled connection.
	if c, _, err := s.load(ctx, s.DB, u, chatID); err != nil {
		return nil, err
	} else if c.Kind == Direct {
		if err := s.otherReachable(ctx, s.DB, c, u); err != nil {
			return nil, err
		}
	}
	var m *Message
	var c *Conversation
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var me *Member
		var seq int64
		var err error
		if c, me, seq, err = s.acting(ctx, tx, u, chatID); err != nil {
			return err
		}
		at := nextTime(s.Clock.Now(), c.ActivityID)
		// The URI names the message with a token of its own; the id follows from the URI.
		uri := base + "/chats/" + c.ID + "/messages/" + ids.New(at)
		m = &Message{ID: messageID(at, uri), ConversationID: c.ID, URI: uri, AuthorID: u.ID,
			Source: r.source, ContentHTML: r.html, ContentText: r.text, LinkURL: r.link, Seq: seq, CreatedAt: at,
			Reactions: map[string]int{}}
		if in.InReplyToID != "" {
			parent, err := s.message(ctx, tx, c, me, in.InReplyToID)
			if err != nil {
				return errs.Field("in_reply_to_id", "the message you answer is not in this chat")
			}
			m.InReplyToID, m.ReplyTo = &parent.ID, parent
		}
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			return err
		}
		if m.Attachments, err = s.attach(ctx, tx, u.ID, m.ID, in.AttachmentIDs); err != nil {
			return err
		}
		// Sending reads the chat up to one's own message.
		if _, err := tx.NewUpdate().Model(me).Set("last_read_id = ?, last_read_at = ?", m.ID, m.CreatedAt).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.created(ctx, tx, c, m)
	})
	if err != nil {
		return nil, err
	}
	if m.LinkURL != "" && s.FetchPreview != nil {
		s.FetchPreview(ctx, m.LinkURL)
	}
	return m, nil
}

// created finishes a new message inside its transaction, local or remote: the chat moves up
// every list and back onto hidden ones, the hooks hear of it, and live events follow commit.
func (s *Service) created(ctx context.Context, tx bun.IDB, c *Conversation, m *Message) error {
	// Conditional in SQL: a partner's late message (older than the newest) must not move
	// the chat back down the lists; the first message always counts, even if a partner
	// wrote it before the chat was stored here.
	if m.ID > c.ActivityID || c.ActivityID == c.ID {
		c.ActivityID = m.ID
	}
	c.UpdatedAt = s.Clock.Now()
	if _, err := tx.NewUpdate().Model((*Conversation)(nil)).Set("activity_id = ?, updated_at = ?", m.ID, c.UpdatedAt).
		Where("id = ? AND (activity_id < ? OR activity_id = id)", c.ID, m.ID).Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Model((*Member)(nil)).Set("hidden = FALSE").Where("conversation_id = ? AND hidden", c.ID).Exec(ctx); err != nil {
		return err
	}
	for _, h := range s.hooks {
		if err := h.MessageCreated(ctx, tx, c, m); err != nil {
			return err
		}
	}
	return s.liveMessage(ctx, tx, c, m, KindMessage)
}

// otherReachable refuses a message in a direct chat whose other person can no longer
// receive it (deactivated, or their node no longer a partner).
func (s *Service) otherReachable(ctx context.Context, tx bun.IDB, c *Conversation, u *accounts.User) error {
	ms, err := s.members(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.AccountID == u.ID {
			continue
		}
		other, err := s.Accounts.Lookup(ctx, m.AccountID)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return errs.E(errs.Forbidden, "the other person of this chat no longer exists")
			}
			return err
		}
		if err := s.reachable(ctx, other); err != nil {
			return err
		}
	}
	return nil
}

// attach takes over the sender's uploads for the message, in order. The upload's row leaves
// the social core's attachments table in the same statement that checks it is still free:
// a file then belongs to one message, and can be in no post or other message.
func (s *Service) attach(ctx context.Context, tx bun.IDB, ownerID, messageID string, idList []string) ([]Attachment, error) {
	var out []Attachment
	seen := map[string]bool{}
	for i, id := range idList {
		if seen[id] {
			continue
		}
		seen[id] = true
		up := new(upload)
		err := tx.NewRaw("DELETE FROM attachments WHERE id = ? AND owner_id = ? AND post_id IS NULL "+
			"RETURNING id, owner_id, kind, file_key, thumb_key, content_type, file_name, size_bytes, width, height, description, created_at",
			id, ownerID).Scan(ctx, up)
		if err != nil {
			if db.IsNotFound(err) {
				return nil, errs.Field("media_ids", "attachment %s does not exist or is used already; upload it first", id)
			}
			return nil, err
		}
		a := Attachment{ID: up.ID, MessageID: messageID, OwnerID: ownerID, Kind: up.Kind, FileKey: up.FileKey, ThumbKey: up.ThumbKey,
			ContentType: up.ContentType, FileName: up.FileName, SizeBytes: up.SizeBytes, Width: up.Width, Height: up.Height,
			Description: up.Description, Position: i, CreatedAt: up.CreatedAt}
		out = append(out, a)
	}
	if len(out) > 0 {
		if _, err := tx.NewInsert().Model(&out).Exec(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// message loads a message of c that me may read (not deleted), or messageNotFound.
func (s *Service) message(ctx context.Context, idb bun.IDB, c *Conversation, me *Member, id string) (*Message, error) {
	m := new(Message)
	err := idb.NewSelect().Model(m).Where("id = ? AND conversation_id = ? AND id >= ? AND deleted_at IS NULL", id, c.ID, me.HistoryFrom).Scan(ctx)
	if err != nil {
		if db.IsNotFound(err) {
			return nil, messageNotFound()
		}
		return nil, err
	}
	return m, nil
}

// Message returns one message of a chat u is in (tombstones too, so a client can show
// "deleted" where a reply points).
func (s *Service) Message(ctx context.Context, u *accounts.User, chatID, id string) (*Message, error) {
	c, me, err := s.load(ctx, s.DB, u, chatID)
	if err != nil {
		return nil, err
	}
	m := new(Message)
	if err := s.DB.NewSelect().Model(m).Where("id = ? AND conversation_id = ? AND id >= ?", id, c.ID, me.HistoryFrom).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, messageNotFound()
		}
		return nil, err
	}
	return m, s.hydrate(ctx, s.DB, u.ID, []*Message{m})
}

// Messages returns a page of a chat's messages, newest first, tombstones included.
func (s *Service) Messages(ctx context.Context, u *accounts.User, chatID string, pg Page) ([]*Message, error) {
	return s.page(ctx, u, chatID, pg, nil)
}

func (s *Service) page(ctx context.Context, u *accounts.User, chatID string, pg Page, filter func(*bun.SelectQuery) *bun.SelectQuery) ([]*Message, error) {
	c, me, err := s.load(ctx, s.DB, u, chatID)
	if err != nil {
		return nil, err
	}
	var out []*Message
	q := s.DB.NewSelect().Model(&out).ModelTableExpr("chat_messages AS x").ColumnExpr("x.*").
		Where("x.conversation_id = ? AND x.id >= ?", c.ID, me.HistoryFrom)
	if filter != nil {
		q = filter(q)
	}
	q, asc := pg.apply(q, "x.id")
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	if asc {
		reverse(out)
	}
	return out, s.hydrate(ctx, s.DB, u.ID, out)
}

// Changes returns the chat's messages changed after seq (created, edited, deleted, reacted
// to), in the order of the changes: what a client that saw seq is missing. Follow with the
// last one's Seq until fewer than limit come back.
func (s *Service) Changes(ctx context.Context, u *accounts.User, chatID string, seq int64, limit int) ([]*Message, error) {
	c, me, err := s.load(ctx, s.DB, u, chatID)
	if err != nil {
		return nil, err
	}
	var out []*Message
	err = s.DB.NewSelect().Model(&out).Where("conversation_id = ? AND id >= ? AND seq > ?", c.ID, me.HistoryFrom, seq).
		Order("seq").Limit(int64(Page{Limit: limit}.limit())).Scan(ctx)
	if err != nil {
		return nil, err
	}
	return out, s.hydrate(ctx, s.DB, u.ID, out)
}

// Search finds a chat's messages containing every word of q (case-insensitive), newest
// first, paged like Messages.
func (s *Service) Search(ctx context.Context, u *accounts.User, chatID, q string, pg Page) ([]*Message, error) {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil, errs.Field("q", "type something to search for")
	}
	if len(words) > 10 {
		words = words[:10]
	}
	return s.page(ctx, u, chatID, pg, func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("x.deleted_at IS NULL")
		for _, w := range words {
			q = q.Where("LOWER(x.content_text) LIKE ? ESCAPE '\\'", "%"+db.LikeEscape(w)+"%")
		}
		return q
	})
}

// Edit changes the text of u's own message.
func (s *Service) Edit(ctx context.Context, u *accounts.User, chatID, id, text string) (*Message, error) {
	var m *Message
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, seq, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if m, err = s.message(ctx, tx, c, me, id); err != nil {
			return err
		}
		if m.AuthorID != u.ID {
			return errs.E(errs.Forbidden, "only the author can edit a message")
		}
		if err := s.hydrate(ctx, tx, u.ID, []*Message{m}); err != nil {
			return err
		}
		r, err := s.render(text, len(m.Attachments))
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		m.Source, m.ContentHTML, m.ContentText, m.LinkURL, m.EditedAt, m.Seq = r.source, r.html, r.text, r.link, &now, seq
		if _, err := tx.NewUpdate().Model(m).Column("source", "content_html", "content_text", "link_url", "edited_at", "seq").
			WherePK().Exec(ctx); err != nil {
			return err
		}
		m.Card = nil // a new link's card comes with its fetch
		for _, h := range s.hooks {
			if err := h.MessageEdited(ctx, tx, c, m); err != nil {
				return err
			}
		}
		return s.liveMessage(ctx, tx, c, m, KindMessageUpdate)
	})
	if err != nil {
		return nil, err
	}
	if m.LinkURL != "" && s.FetchPreview != nil {
		s.FetchPreview(ctx, m.LinkURL)
	}
	return m, nil
}

// Delete turns u's own message into a tombstone: its text, link, files and reactions go.
func (s *Service) Delete(ctx context.Context, u *accounts.User, chatID, id string) (*Message, error) {
	var m *Message
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, seq, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if m, err = s.message(ctx, tx, c, me, id); err != nil {
			return err
		}
		if m.AuthorID != u.ID {
			return errs.E(errs.Forbidden, "only the author can delete a message")
		}
		return s.tombstone(ctx, tx, c, m, seq)
	})
	return m, err
}

// tombstone deletes m inside tx (local or remote), telling the hooks and the members.
func (s *Service) tombstone(ctx context.Context, tx bun.IDB, c *Conversation, m *Message, seq int64) error {
	var files []Attachment
	if err := tx.NewSelect().Model(&files).Where("message_id = ?", m.ID).Scan(ctx); err != nil {
		return err
	}
	now := s.Clock.Now()
	m.Source, m.ContentHTML, m.ContentText, m.LinkURL, m.DeletedAt, m.Seq = "", "", "", "", &now, seq
	if _, err := tx.NewUpdate().Model(m).Column("source", "content_html", "content_text", "link_url", "deleted_at", "seq").
		WherePK().Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*Attachment)(nil)).Where("message_id = ?", m.ID).Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model((*Reaction)(nil)).Where("message_id = ?", m.ID).Exec(ctx); err != nil {
		return err
	}
	m.Attachments, m.Reactions, m.MyReaction, m.Card = nil, map[string]int{}, "", nil
	if s.Media != nil {
		// A deleted message's files go too; partners' files copied here are shared by URL
		// with other messages and posts, so they stay.
		db.AfterCommit(ctx, func() {
			for _, f := range files {
				if f.Remote {
					continue
				}
				for _, k := range []string{f.FileKey, f.ThumbKey} {
					if k == "" {
						continue
					}
					if err := s.Media.Delete(context.WithoutCancel(ctx), k); err != nil {
						s.Log.Warn("chat: delete file of a deleted message", "key", k, "err", err)
					}
				}
			}
		})
	}
	for _, h := range s.hooks {
		if err := h.MessageDeleted(ctx, tx, c, m); err != nil {
			return err
		}
	}
	return s.liveMessage(ctx, tx, c, m, KindMessageDelete)
}

// React sets u's reaction to a message (one per person: a new one replaces the old).
func (s *Service) React(ctx context.Context, u *accounts.User, chatID, id, emoji string) (*Message, error) {
	if !posts.ValidReaction(emoji) {
		return nil, errs.Field("emoji", "%q is not one of the reactions: %s", emoji, strings.Join(posts.ReactionSet(), " "))
	}
	return s.react(ctx, u, chatID, id, emoji, false)
}

// Unreact withdraws u's reaction to a message when it is emoji ("" for whichever it is).
func (s *Service) Unreact(ctx context.Context, u *accounts.User, chatID, id, emoji string) (*Message, error) {
	return s.react(ctx, u, chatID, id, emoji, true)
}

func (s *Service) react(ctx context.Context, u *accounts.User, chatID, id, emoji string, undo bool) (*Message, error) {
	var m *Message
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, seq, err := s.acting(ctx, tx, u, chatID)
		if err != nil {
			return err
		}
		if m, err = s.message(ctx, tx, c, me, id); err != nil {
			return err
		}
		return s.setReaction(ctx, tx, c, m, u.ID, emoji, undo, seq)
	})
	if err != nil {
		return nil, err
	}
	return m, s.hydrate(ctx, s.DB, u.ID, []*Message{m})
}

// setReaction writes accountID's reaction inside tx (local or remote) and tells the hooks
// and the members. Nothing changes (and nobody hears) when the reaction is already so.
func (s *Service) setReaction(ctx context.Context, tx bun.IDB, c *Conversation, m *Message, accountID, emoji string, undo bool, seq int64) error {
	cur := new(Reaction)
	err := tx.NewSelect().Model(cur).Where("message_id = ? AND account_id = ?", m.ID, accountID).Scan(ctx)
	if err != nil && !db.IsNotFound(err) {
		return err
	}
	had := err == nil
	if undo {
		if !had || emoji != "" && cur.Emoji != emoji {
			return nil
		}
		if _, err := tx.NewDelete().Model(cur).WherePK().Exec(ctx); err != nil {
			return err
		}
		emoji = ""
	} else {
		if had && cur.Emoji == emoji {
			return nil
		}
		r := &Reaction{MessageID: m.ID, AccountID: accountID, Emoji: emoji, CreatedAt: s.Clock.Now()}
		if _, err := tx.NewInsert().Model(r).On("CONFLICT (message_id, account_id) DO UPDATE").
			Set("emoji = EXCLUDED.emoji, created_at = EXCLUDED.created_at").Exec(ctx); err != nil {
			return err
		}
	}
	m.Seq = seq
	if _, err := tx.NewUpdate().Model(m).Column("seq").WherePK().Exec(ctx); err != nil {
		return err
	}
	for _, h := range s.hooks {
		if err := h.Reacted(ctx, tx, c, m, accountID, emoji); err != nil {
			return err
		}
	}
	return s.liveReaction(ctx, tx, c, m, accountID, emoji)
}

// MarkRead records that u has read the chat up to message upTo ("" for all of it). Read
// state only moves forward; the members see it live ("seen by").
func (s *Service) MarkRead(ctx context.Context, u *accounts.User, chatID, upTo string) (*Member, error) {
	var me *Member
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var c *Conversation
		var err error
		if c, me, err = s.load(ctx, tx, u, chatID); err != nil {
			return err
		}
		target := c.ActivityID
		if upTo == "" && target == c.ID {
			return nil // no message yet: nothing to read
		}
		if upTo != "" {
			m := new(Message)
			if err := tx.NewSelect().Model(m).Column("id").Where("id = ? AND conversation_id = ?", upTo, c.ID).Scan(ctx); err != nil {
				if db.IsNotFound(err) {
					return messageNotFound()
				}
				return err
			}
			target = m.ID
		}
		if target <= me.LastReadID {
			return nil
		}
		now := s.Clock.Now()
		me.LastReadID, me.LastReadAt = target, &now
		if _, err := tx.NewUpdate().Model(me).Column("last_read_id", "last_read_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.liveRead(ctx, tx, c, me)
	})
	return me, err
}
