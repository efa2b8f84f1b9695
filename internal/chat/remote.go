package chat

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
	"github.com/atrium-social/atrium/internal/posts"
)

// RemoteMessage is a chat message from another node as the federation layer read it (a
// direct note): its signature checked, its HTML sanitised, its addressing resolved to
// accounts.
type RemoteMessage struct {
	URI string
	// ContextURI is the note's conversation ("context"); "" when it names none.
	ContextURI   string
	InReplyToURI string
	ContentHTML  string // sanitised at intake
	Published    time.Time
	// To is everyone the note addresses besides its author, here and elsewhere.
	To []*accounts.User
	// Attachments are the note's files, already queued for copying to this node.
	Attachments []posts.RemoteAttachment
}

// ByURI returns a message by its ActivityPub id, whoever asks (federation), tombstones too.
func (s *Service) ByURI(ctx context.Context, uri string) (*Message, error) {
	return s.byURI(ctx, s.DB, uri)
}

func (s *Service) byURI(ctx context.Context, idb bun.IDB, uri string) (*Message, error) {
	m := new(Message)
	if err := idb.NewSelect().Model(m).Where("uri = ?", uri).Scan(ctx); err != nil {
		return nil, db.Err(err, "this message does not exist")
	}
	return m, nil
}

// LoadMessage returns a message by id with its files, whoever asks (federation renders what
// it sends).
func (s *Service) LoadMessage(ctx context.Context, id string) (*Message, error) {
	m := new(Message)
	if err := s.DB.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "this message does not exist")
	}
	return m, s.hydrate(ctx, s.DB, "", []*Message{m})
}

// remoteAuthor checks that u is someone on another node who may deliver to this one.
func (s *Service) remoteAuthor(ctx context.Context, u *accounts.User) error {
	if !u.IsRemote() || !u.Active() {
		return errs.E(errs.Forbidden, "only an active account on another node can deliver chat messages")
	}
	return s.reachable(ctx, u)
}

// remoteContent checks a partner's message HTML against the limits local messages keep.
func remoteContent(html string, files int) (string, error) {
	if len(html) > maxRemoteHTML {
		return "", errs.E(errs.TooLarge, "the message is too long")
	}
	text := markup.PlainText(html)
	if n := utf8.RuneCountInString(text); n > MaxChars {
		return "", errs.E(errs.TooLarge, "chat messages are limited to %d characters; this one has %d", MaxChars, n)
	}
	if strings.TrimSpace(text) == "" && files == 0 {
		return "", errs.E(errs.Invalid, "the message is empty")
	}
	return text, nil
}

// ReceiveMessage stores a message written on another node. It is idempotent by URI (a
// delivery repeated, or crossing a fetch, is one message; created is false). The checks are
// those of FEDERATION.md §2: the message's id has its author's origin, and the author is a
// member of the conversation it claims; a message claiming someone else's id, or a
// conversation its author is not in, is refused with the reason.
//
// The conversation is found by ContextURI, else by the message answered. A new context is
// accepted only from its own origin (the author's node started the chat), or for two
// people, whose direct chat it joins (an alias of their existing one, if any).
func (s *Service) ReceiveMessage(ctx context.Context, author *accounts.User, rm RemoteMessage) (*Message, bool, error) {
	if err := s.remoteAuthor(ctx, author); err != nil {
		return nil, false, err
	}
	if rm.URI == "" || origin(rm.URI) == "" || origin(rm.URI) != origin(author.Remote.URI) {
		return nil, false, errs.E(errs.Forbidden, "message %q is not on its author's server", rm.URI)
	}
	text, err := remoteContent(rm.ContentHTML, len(rm.Attachments))
	if err != nil {
		return nil, false, err
	}
	now := s.Clock.Now()
	at := rm.Published
	if at.IsZero() || at.After(now) { // a future date would pin the message to the bottom
		at = now
	}
	at = at.UTC().Truncate(time.Millisecond)
	var m *Message
	created := false
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if existing, err := s.byURI(ctx, tx, rm.URI); err == nil {
			if existing.AuthorID != author.ID {
				return errs.E(errs.Forbidden, "message %q belongs to someone else", rm.URI)
			}
			m = existing
			return nil
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		c, err := s.resolve(ctx, tx, author, rm)
		if err != nil {
			return err
		}
		seq, err := s.bump(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if me, err := s.memberOf(ctx, tx, c.ID, author.ID); err != nil {
			return err
		} else if me == nil {
			return errs.E(errs.Forbidden, "@%s is not a member of the conversation this message claims", author.Acct())
		}
		m = &Message{ID: messageID(at, rm.URI), ConversationID: c.ID, URI: rm.URI, AuthorID: author.ID, ContentHTML: rm.ContentHTML,
			ContentText: text, Seq: seq, CreatedAt: at, Reactions: map[string]int{}}
		if rm.InReplyToURI != "" {
			parent, err := s.byURI(ctx, tx, rm.InReplyToURI)
			switch {
			case err == nil && parent.ConversationID != c.ID:
				return errs.E(errs.Forbidden, "the message answers one of another conversation")
			case err == nil:
				m.InReplyToID, m.ReplyTo = &parent.ID, parent
			case !errs.Is(err, errs.NotFound):
				return err
			}
		}
		res, err := tx.NewInsert().Model(m).On("CONFLICT (uri) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 { // stored by a concurrent delivery
			m, err = s.byURI(ctx, tx, rm.URI)
			return err
		}
		if m.Attachments, err = s.insertRemoteFiles(ctx, tx, author.ID, m.ID, rm.Attachments); err != nil {
			return err
		}
		created = true
		return s.created(ctx, tx, c, m)
	})
	if err != nil {
		return nil, false, err
	}
	return m, created, nil
}

// resolve finds (or starts) the conversation of a partner's message.
func (s *Service) resolve(ctx context.Context, tx bun.IDB, author *accounts.User, rm RemoteMessage) (*Conversation, error) {
	if rm.ContextURI != "" {
		c, err := s.byContext(ctx, tx, rm.ContextURI)
		if err == nil || !errs.Is(err, errs.NotFound) {
			return c, err
		}
	}
	if rm.InReplyToURI != "" {
		if parent, err := s.byURI(ctx, tx, rm.InReplyToURI); err == nil {
			c := new(Conversation)
			return c, tx.NewSelect().Model(c).Where("id = ?", parent.ConversationID).Scan(ctx)
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	// A conversation new to this node: everyone addressed who can be in a chat here.
	people := []*accounts.User{author}
	seen := map[string]bool{author.ID: true}
	locals := 0
	for _, p := range rm.To {
		if p == nil || seen[p.ID] || s.reachable(ctx, p) != nil {
			continue
		}
		seen[p.ID] = true
		people = append(people, p)
		if !p.IsRemote() {
			locals++
		}
	}
	if locals == 0 {
		return nil, errs.E(errs.Invalid, "the message is addressed to nobody on this node")
	}
	if len(people) > MaxMembers {
		return nil, errs.E(errs.Invalid, "a chat holds at most %d people", MaxMembers)
	}
	ownContext := rm.ContextURI != "" && origin(rm.ContextURI) == origin(author.Remote.URI)
	if len(people) == 2 {
		k := pairKey(people[0].ID, people[1].ID)
		c := new(Conversation)
		err := tx.NewSelect().Model(c).Where("pair_key = ?", k).Scan(ctx)
		if err == nil {
			if ownContext { // their node's name for the same chat
				_, err = tx.NewInsert().Model(&contextRow{URI: rm.ContextURI, ConversationID: c.ID}).On("CONFLICT DO NOTHING").Exec(ctx)
			}
			return c, err
		}
		if !db.IsNotFound(err) {
			return nil, err
		}
		return s.startRemote(ctx, tx, author, Direct, "", &k, rm.ContextURI, ownContext, people)
	}
	if rm.ContextURI != "" && !ownContext {
		return nil, errs.E(errs.Forbidden, "conversation %q is unknown here, and only its own node can start it", rm.ContextURI)
	}
	return s.startRemote(ctx, tx, author, Group, "", nil, rm.ContextURI, ownContext, people)
}

// startRemote stores a conversation another node started; that node keeps its member list.
func (s *Service) startRemote(ctx context.Context, tx bun.IDB, starter *accounts.User, kind Kind, name string, pair *string,
	contextURI string, ownContext bool, people []*accounts.User) (*Conversation, error) {
	now := s.Clock.Now().Truncate(time.Millisecond)
	c := &Conversation{ID: ids.New(now), Kind: kind, Name: name, CreatorID: starter.ID, Domain: strings.ToLower(starter.Remote.Domain),
		PairKey: pair, CreatedAt: now, UpdatedAt: now}
	c.ActivityID = c.ID
	c.URI = contextURI
	if !ownContext {
		c.URI = s.BaseURL(ctx) + "/chats/" + c.ID
	}
	if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
		return nil, db.Err(err, "this chat exists already")
	}
	if _, err := tx.NewInsert().Model(&contextRow{URI: c.URI, ConversationID: c.ID}).Exec(ctx); err != nil {
		return nil, err
	}
	added, err := s.insertMembers(ctx, tx, c, "", "", people, now)
	if err != nil {
		return nil, err
	}
	return c, s.membersChanged(ctx, tx, c, MembersChange{Added: added}, "created")
}

// insertRemoteFiles stores the files of a partner's message. Keys a Store would refuse are
// skipped rather than failing the message: the text still arrives.
func (s *Service) insertRemoteFiles(ctx context.Context, tx bun.IDB, ownerID, messageID string, in []posts.RemoteAttachment) ([]Attachment, error) {
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
		out = append(out, Attachment{ID: ids.New(now), MessageID: messageID, OwnerID: ownerID, Kind: kind, FileKey: ra.FileKey,
			ThumbKey: ra.ThumbKey, ContentType: truncate(ra.ContentType, 100), Width: max(ra.Width, 0), Height: max(ra.Height, 0),
			Description: truncate(strings.TrimSpace(ra.Description), 1500), Position: len(out), Remote: true, CreatedAt: now})
	}
	if len(out) == 0 {
		return nil, nil
	}
	_, err := tx.NewInsert().Model(&out).Exec(ctx)
	return out, err
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// authored loads the message uri for a change by its author (a partner's Update, Delete or
// Like): nil when unknown or deleted (deliveries cross), Forbidden when it is someone else's.
func (s *Service) authored(ctx context.Context, tx bun.IDB, author *accounts.User, uri string) (*Message, error) {
	m := new(Message)
	if err := tx.NewSelect().Model(m).Where("uri = ? AND deleted_at IS NULL", uri).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	if m.AuthorID != author.ID {
		return nil, errs.E(errs.Forbidden, "only the author can change a message")
	}
	return m, nil
}

// ReceiveEdit applies a partner's edit of a message by its author. An edit of a message this
// node never had (or has deleted) is not an error: (nil, nil).
func (s *Service) ReceiveEdit(ctx context.Context, author *accounts.User, uri, contentHTML string) (*Message, error) {
	if err := s.remoteAuthor(ctx, author); err != nil {
		return nil, err
	}
	var m *Message
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if m, err = s.authored(ctx, tx, author, uri); err != nil || m == nil {
			return err
		}
		files, err := tx.NewSelect().Model((*Attachment)(nil)).Where("message_id = ?", m.ID).Count(ctx)
		if err != nil {
			return err
		}
		text, err := remoteContent(contentHTML, int(files))
		if err != nil {
			return err
		}
		seq, err := s.bump(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		c := new(Conversation)
		if err := tx.NewSelect().Model(c).Where("id = ?", m.ConversationID).Scan(ctx); err != nil {
			return err
		}
		now := s.Clock.Now()
		m.ContentHTML, m.ContentText, m.EditedAt, m.Seq = contentHTML, text, &now, seq
		if _, err := tx.NewUpdate().Model(m).Column("content_html", "content_text", "edited_at", "seq").WherePK().Exec(ctx); err != nil {
			return err
		}
		for _, h := range s.hooks {
			if err := h.MessageEdited(ctx, tx, c, m); err != nil {
				return err
			}
		}
		return s.liveMessage(ctx, tx, c, m, KindMessageUpdate)
	})
	if err != nil || m == nil {
		return nil, err
	}
	return m, s.hydrate(ctx, s.DB, "", []*Message{m})
}

// ReceiveDelete applies a partner's deletion of a message by its author; unknown or already
// deleted messages are fine.
func (s *Service) ReceiveDelete(ctx context.Context, author *accounts.User, uri string) error {
	if !author.IsRemote() {
		return errs.E(errs.Forbidden, "only an account on another node can deliver a deletion")
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		m, err := s.authored(ctx, tx, author, uri)
		if err != nil || m == nil {
			return err
		}
		seq, err := s.bump(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		c := new(Conversation)
		if err := tx.NewSelect().Model(c).Where("id = ?", m.ConversationID).Scan(ctx); err != nil {
			return err
		}
		return s.tombstone(ctx, tx, c, m, seq)
	})
}

// ReceiveReaction applies a partner's reaction (a Like, with the emoji for Atrium peers; the
// federation layer maps a plain Like to posts.Like) to a message, or its withdrawal (undo).
// The reactor must be in the message's chat. An unknown message is not an error.
func (s *Service) ReceiveReaction(ctx context.Context, author *accounts.User, messageURI, emoji string, undo bool) error {
	if err := s.remoteAuthor(ctx, author); err != nil {
		return err
	}
	if !undo && !posts.ValidReaction(emoji) {
		return errs.E(errs.Invalid, "%q is not one of the reactions: %s", emoji, strings.Join(posts.ReactionSet(), " "))
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		m := new(Message)
		if err := tx.NewSelect().Model(m).Where("uri = ? AND deleted_at IS NULL", messageURI).Scan(ctx); err != nil {
			if db.IsNotFound(err) {
				return nil
			}
			return err
		}
		seq, err := s.bump(ctx, tx, m.ConversationID)
		if err != nil {
			return err
		}
		c := new(Conversation)
		if err := tx.NewSelect().Model(c).Where("id = ?", m.ConversationID).Scan(ctx); err != nil {
			return err
		}
		if me, err := s.memberOf(ctx, tx, c.ID, author.ID); err != nil {
			return err
		} else if me == nil || me.HistoryFrom > m.ID {
			return errs.E(errs.Forbidden, "@%s is not a member of this message's conversation", author.Acct())
		}
		return s.setReaction(ctx, tx, c, m, author.ID, emoji, undo, seq)
	})
}

// ReceiveMembers applies the member list (and name) of a group chat that another node keeps,
// as that node states it; a chat new here is created. Only the chat's own node may: actor
// must share the origin of contextURI, and of the chat's stored owner. People who cannot be
// in a chat here (deactivated, on nodes that are not partners) are left out.
func (s *Service) ReceiveMembers(ctx context.Context, actor *accounts.User, contextURI, name string, people []*accounts.User) (*Conversation, error) {
	if err := s.remoteAuthor(ctx, actor); err != nil {
		return nil, err
	}
	if contextURI == "" || origin(contextURI) != origin(actor.Remote.URI) {
		return nil, errs.E(errs.Forbidden, "only the node that started a chat can state its members")
	}
	name = truncate(strings.TrimSpace(strings.ReplaceAll(name, "\x00", "")), MaxNameChars)
	want := map[string]*accounts.User{}
	var order []*accounts.User
	locals := 0
	for _, p := range people {
		if p == nil || want[p.ID] != nil || s.reachable(ctx, p) != nil {
			continue
		}
		want[p.ID] = p
		order = append(order, p)
		if !p.IsRemote() {
			locals++
		}
	}
	if len(order) > MaxMembers {
		return nil, errs.E(errs.Invalid, "a chat holds at most %d people", MaxMembers)
	}
	var c *Conversation
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		c, err = s.byContext(ctx, tx, contextURI)
		if errs.Is(err, errs.NotFound) {
			if locals == 0 {
				return errs.E(errs.Invalid, "the chat has nobody on this node")
			}
			c, err = s.startRemote(ctx, tx, actor, Group, name, nil, contextURI, true, order)
			return err
		}
		if err != nil {
			return err
		}
		if c.Kind == Direct {
			return errs.E(errs.Invalid, "a direct chat's members never change")
		}
		if !strings.EqualFold(c.Domain, actor.Remote.Domain) {
			return errs.E(errs.Forbidden, "only the node that started a chat can state its members")
		}
		if _, err := s.bump(ctx, tx, c.ID); err != nil { // serialises with messages being stored
			return err
		}
		cur, err := s.members(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		var removed []string
		have := map[string]bool{}
		for _, m := range cur {
			have[m.AccountID] = true
			if want[m.AccountID] == nil {
				if _, err := tx.NewDelete().Model(m).WherePK().Exec(ctx); err != nil {
					return err
				}
				removed = append(removed, m.AccountID)
			}
		}
		var fresh []*accounts.User
		for _, p := range order {
			if !have[p.ID] {
				fresh = append(fresh, p)
			}
		}
		now := s.Clock.Now()
		added, err := s.insertMembers(ctx, tx, c, "", historyFloor(now), fresh, now)
		if err != nil {
			return err
		}
		if name != c.Name {
			c.Name, c.UpdatedAt = name, now
			if _, err := tx.NewUpdate().Model(c).Column("name", "updated_at").WherePK().Exec(ctx); err != nil {
				return err
			}
			for _, h := range s.hooks {
				if err := h.ChatChanged(ctx, tx, c); err != nil {
					return err
				}
			}
			s.liveChat(ctx, tx, c, "renamed", nil)
		}
		return s.membersChanged(ctx, tx, c, MembersChange{Added: added, Removed: removed}, "members")
	})
	return c, err
}
