package chat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/realtime"
)

// Live event kinds on the "user" stream (Atrium extensions, which Mastodon clients ignore).
// Each payload names the chat ("chat_id"); message events carry the chat's change counter
// ("seq") and the message itself, so a client that missed events catches up with
// GET /api/v1/chats/:id/messages?since_seq= (or min_id) from the last one it saw. Apps get
// Mastodon's "conversation" event on the "direct" stream for each new message as well.
const (
	KindMessage       = "atrium.chat.message"        // {chat_id, seq, message}
	KindMessageUpdate = "atrium.chat.message.update" // an edit: {chat_id, seq, message}
	KindMessageDelete = "atrium.chat.message.delete" // {chat_id, seq, id, message: the tombstone}
	KindReaction      = "atrium.chat.reaction"       // {chat_id, seq, message_id, account_id, emoji ("" withdrawn), reactions}
	KindRead          = "atrium.chat.read"           // {chat_id, account_id, last_read_id, read_at}
	KindTyping        = "atrium.chat.typing"         // {chat_id, account_id, acct, display_name}
	// KindChat says a chat changed (change: created, renamed, members, removed); it also
	// reaches a person just removed, whose client then drops the chat.
	KindChat = "atrium.chat.update" // {chat_id, change}
)

// localMembers lists the chat's people on this node, who get its live events; with a
// messageID, only those who may read that message.
func (s *Service) localMembers(ctx context.Context, idb bun.IDB, chatID, messageID string) ([]string, error) {
	var out []string
	q := idb.NewSelect().Model((*Member)(nil)).Column("account_id").Where("conversation_id = ? AND local", chatID)
	if messageID != "" {
		q = q.Where("history_from <= ?", messageID)
	}
	return out, q.Scan(ctx, &out)
}

// listening keeps the people connected to stream: rendering for nobody is wasted work.
func (s *Service) listening(stream string, idList []string) []string {
	var out []string
	for _, id := range idList {
		if s.Hub.Listening(stream, id) {
			out = append(out, id)
		}
	}
	return out
}

func (s *Service) publish(stream, kind string, payload []byte, to []string) {
	for _, id := range to {
		s.Hub.Publish(realtime.Event{Stream: stream, Kind: kind, Payload: payload, AccountID: id})
	}
}

// afterCommit runs f once the transaction of ctx commits, with the members read inside it.
func (s *Service) afterCommit(ctx context.Context, idb bun.IDB, chatID, messageID string, f func(ctx context.Context, to []string)) error {
	if s.Hub == nil {
		return nil
	}
	to, err := s.localMembers(ctx, idb, chatID, messageID)
	if err != nil || len(to) == 0 {
		return err
	}
	db.AfterCommit(ctx, func() { f(context.WithoutCancel(ctx), to) })
	return nil
}

type messageEvent struct {
	ChatID  string          `json:"chat_id"`
	Seq     int64           `json:"seq"`
	ID      string          `json:"id,omitempty"`
	Message json.RawMessage `json:"message"`
}

// liveMessage sends a new, edited or deleted message to the members after commit.
func (s *Service) liveMessage(ctx context.Context, idb bun.IDB, c *Conversation, m *Message, kind string) error {
	chatID, msg := c.ID, *m // a copy: the caller keeps its own
	return s.afterCommit(ctx, idb, c.ID, m.ID, func(ctx context.Context, to []string) {
		users := s.listening(realtime.StreamUser, to)
		var direct []string
		if kind == KindMessage {
			direct = s.listening(realtime.StreamDirect, to)
		}
		if len(users) == 0 && len(direct) == 0 {
			return
		}
		if len(users) > 0 {
			if err := s.hydrate(ctx, s.DB, "", []*Message{&msg}); err != nil {
				s.Log.Warn("chat: live message", "chat", chatID, "err", err)
				return
			}
			b, err := s.renderMessage(ctx, &msg)
			if err != nil {
				s.Log.Warn("chat: render live message", "chat", chatID, "err", err)
				return
			}
			ev := messageEvent{ChatID: chatID, Seq: msg.Seq, Message: b}
			if kind == KindMessageDelete {
				ev.ID = msg.ID
			}
			if payload, err := json.Marshal(ev); err == nil {
				s.publish(realtime.StreamUser, kind, payload, users)
			}
		}
		if len(direct) > 0 {
			if err := s.liveConversations(ctx, chatID, direct); err != nil {
				s.Log.Warn("chat: live conversations", "chat", chatID, "err", err)
			}
		}
	})
}

// liveConversations sends Mastodon's Conversation event to the apps of the people listed.
// The entity is per person (the others, their unread flag), so it is rendered for each; the
// chat, its members and its last message are read once, the unread counts in one query.
func (s *Service) liveConversations(ctx context.Context, chatID string, to []string) error {
	c, err := s.Load(ctx, chatID)
	if err != nil {
		return err
	}
	ms, err := s.members(ctx, s.DB, chatID)
	if err != nil {
		return err
	}
	var counts []struct {
		AccountID string `bun:"account_id"`
		N         int    `bun:"n"`
	}
	err = s.DB.NewSelect().TableExpr("chat_messages AS x").ColumnExpr("m.account_id, COUNT(*) AS n").
		Join("JOIN chat_members AS m ON m.conversation_id = x.conversation_id").
		Where("x.conversation_id = ? AND m.account_id IN (?)", chatID, bun.In(to)).Where("x.id > m.last_read_id").
		Where("x.author_id <> m.account_id").Where("x.deleted_at IS NULL").GroupExpr("m.account_id").Scan(ctx, &counts)
	if err != nil {
		return err
	}
	unread := map[string]int{}
	for _, r := range counts {
		unread[r.AccountID] = min(r.N, maxUnreadCount)
	}
	var last *Message
	if c.ActivityID != c.ID {
		if last, err = s.LoadMessage(ctx, c.ActivityID); err != nil {
			return err
		}
	}
	viewers, err := s.Accounts.GetMany(ctx, to)
	if err != nil {
		return err
	}
	for _, m := range ms {
		viewer := viewers[m.AccountID]
		if viewer == nil {
			continue
		}
		v := &View{Conversation: c, Me: m, Members: ms, Unread: unread[m.AccountID]}
		if last != nil && last.ID >= m.HistoryFrom {
			v.LastMessage = last
		}
		if b, err := s.renderConversation(ctx, viewer, v); err == nil {
			s.publish(realtime.StreamDirect, realtime.KindConversation, b, []string{m.AccountID})
		}
	}
	return nil
}

// liveReaction sends a reaction change with the message's new counts.
func (s *Service) liveReaction(ctx context.Context, idb bun.IDB, c *Conversation, m *Message, accountID, emoji string) error {
	chatID, msgID, seq := c.ID, m.ID, m.Seq
	return s.afterCommit(ctx, idb, c.ID, m.ID, func(ctx context.Context, to []string) {
		if to = s.listening(realtime.StreamUser, to); len(to) == 0 {
			return
		}
		var rs []Reaction
		if err := s.DB.NewSelect().Model(&rs).Where("message_id = ?", msgID).Scan(ctx); err != nil {
			return
		}
		counts := map[string]int{}
		for _, r := range rs {
			counts[r.Emoji]++
		}
		b, err := json.Marshal(struct {
			ChatID    string         `json:"chat_id"`
			Seq       int64          `json:"seq"`
			MessageID string         `json:"message_id"`
			AccountID string         `json:"account_id"`
			Emoji     string         `json:"emoji"`
			Reactions map[string]int `json:"reactions"`
		}{chatID, seq, msgID, accountID, emoji, counts})
		if err == nil {
			s.publish(realtime.StreamUser, KindReaction, b, to)
		}
	})
}

// liveRead tells the members (the reader's other devices too) how far someone has read.
func (s *Service) liveRead(ctx context.Context, idb bun.IDB, c *Conversation, me *Member) error {
	b, err := json.Marshal(struct {
		ChatID     string     `json:"chat_id"`
		AccountID  string     `json:"account_id"`
		LastReadID string     `json:"last_read_id"`
		ReadAt     *time.Time `json:"read_at"`
	}{c.ID, me.AccountID, me.LastReadID, me.LastReadAt})
	if err != nil {
		return err
	}
	return s.afterCommit(ctx, idb, c.ID, "", func(ctx context.Context, to []string) {
		s.publish(realtime.StreamUser, KindRead, b, to)
	})
}

// liveChat tells the members, and extra people (just removed), that the chat changed.
func (s *Service) liveChat(ctx context.Context, idb bun.IDB, c *Conversation, change string, extra []string) {
	if s.Hub == nil {
		return
	}
	b, _ := json.Marshal(struct {
		ChatID string `json:"chat_id"`
		Change string `json:"change"`
	}{c.ID, change})
	to, err := s.localMembers(ctx, idb, c.ID, "")
	if err != nil {
		s.Log.Warn("chat: live chat change", "chat", c.ID, "err", err)
		return
	}
	to = append(to, extra...)
	db.AfterCommit(ctx, func() { s.publish(realtime.StreamUser, KindChat, b, to) })
}

// membersChanged tells the hooks and the members about people added or removed.
func (s *Service) membersChanged(ctx context.Context, tx bun.IDB, c *Conversation, ch MembersChange, change string) error {
	if len(ch.Added) == 0 && len(ch.Removed) == 0 {
		return nil
	}
	for _, h := range s.hooks {
		if err := h.MembersChanged(ctx, tx, c, ch); err != nil {
			return err
		}
	}
	// The people removed hear of it too (the hub reaches only those connected here).
	s.liveChat(ctx, tx, c, change, ch.Removed)
	return nil
}

// Typing tells the other members on this node that u is typing. Nothing is stored. Events
// closer than TypingInterval for one chat are dropped quietly (clients repeat them while
// someone types); a flood across chats is refused.
func (s *Service) Typing(ctx context.Context, u *accounts.User, chatID string) error {
	c, _, err := s.load(ctx, s.DB, u, chatID)
	if err != nil {
		return err
	}
	if !u.Active() || u.IsRemote() {
		return errs.E(errs.Forbidden, "your account cannot use chat")
	}
	if s.Hub == nil {
		return nil
	}
	if ok, _ := s.typingEach.Allow(u.ID + " " + c.ID); !ok {
		return nil
	}
	if ok, wait := s.typingAll.Allow(u.ID); !ok {
		return errs.E(errs.TooMany, "too many typing notices; try again in %d seconds", int(wait.Seconds())+1)
	}
	to, err := s.localMembers(ctx, s.DB, c.ID, "")
	if err != nil {
		return err
	}
	others := to[:0]
	for _, id := range to {
		if id != u.ID {
			others = append(others, id)
		}
	}
	if others = s.listening(realtime.StreamUser, others); len(others) == 0 {
		return nil
	}
	b, err := json.Marshal(struct {
		ChatID      string `json:"chat_id"`
		AccountID   string `json:"account_id"`
		Acct        string `json:"acct"`
		DisplayName string `json:"display_name"`
	}{c.ID, u.ID, u.Acct(), u.Name()})
	if err != nil {
		return err
	}
	s.publish(realtime.StreamUser, KindTyping, b, others)
	return nil
}

func (s *Service) renderMessage(ctx context.Context, m *Message) ([]byte, error) {
	if s.Render != nil {
		return s.Render.Message(ctx, m)
	}
	return json.Marshal(toPlain(m))
}

func (s *Service) renderConversation(ctx context.Context, viewer *accounts.User, v *View) ([]byte, error) {
	if s.Render != nil {
		return s.Render.Conversation(ctx, viewer, v)
	}
	out := struct {
		ID            string        `json:"id"`
		Unread        bool          `json:"unread"`
		AccountIDs    []string      `json:"account_ids"`
		LastMessageID *string       `json:"last_message_id"`
		LastMessage   *plainMessage `json:"last_message"`
	}{ID: v.Conversation.ID, Unread: v.Unread > 0, AccountIDs: v.Others()}
	if v.LastMessage != nil {
		pm := toPlain(v.LastMessage)
		out.LastMessageID, out.LastMessage = &v.LastMessage.ID, &pm
	}
	return json.Marshal(out)
}

// plainMessage is this package's own encoding of a message, for nodes wired without a
// Renderer (tests, tools).
type plainMessage struct {
	ID          string         `json:"id"`
	ChatID      string         `json:"chat_id"`
	URI         string         `json:"uri"`
	AccountID   string         `json:"account_id"`
	Content     string         `json:"content"`
	InReplyToID *string        `json:"in_reply_to_id"`
	Attachments []string       `json:"attachment_ids"`
	Reactions   map[string]int `json:"reactions"`
	Seq         int64          `json:"seq"`
	CreatedAt   time.Time      `json:"created_at"`
	EditedAt    *time.Time     `json:"edited_at"`
	DeletedAt   *time.Time     `json:"deleted_at"`
}

func toPlain(m *Message) plainMessage {
	p := plainMessage{ID: m.ID, ChatID: m.ConversationID, URI: m.URI, AccountID: m.AuthorID, Content: m.ContentHTML,
		InReplyToID: m.InReplyToID, Attachments: []string{}, Reactions: m.Reactions, Seq: m.Seq, CreatedAt: m.CreatedAt,
		EditedAt: m.EditedAt, DeletedAt: m.DeletedAt}
	for _, a := range m.Attachments {
		p.Attachments = append(p.Attachments, a.ID)
	}
	return p
}
