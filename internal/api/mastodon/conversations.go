package mastodon

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/server"
)

// Conversation is Mastodon's Conversation entity. Atrium's chats are the conversations: each
// chat is one, its last message is last_status (a direct Status).
type Conversation struct {
	ID         string    `json:"id"`
	Unread     bool      `json:"unread"`
	Accounts   []Account `json:"accounts"`
	LastStatus *Status   `json:"last_status"`
}

// conversationRoutes mounts Mastodon's conversations API over chats, with its scopes.
func (a *api) conversationRoutes(app *fiber.App) {
	if a.Chat == nil {
		return
	}
	app.Get("/api/v1/conversations", server.RequireScope("read:statuses"), a.listConversations)
	write := server.RequireScope("write:conversations")
	app.Delete("/api/v1/conversations/:id", write, a.removeConversation)
	app.Post("/api/v1/conversations/:id/read", write, a.readConversation)
}

// conversations renders chats as Mastodon conversations for viewer.
func (a *api) conversations(ctx context.Context, viewer *accounts.User, vs []*chat.View) ([]Conversation, error) {
	cs, err := a.chats(ctx, viewer, vs)
	if err != nil {
		return nil, err
	}
	out := make([]Conversation, len(cs))
	for i, ch := range cs {
		out[i] = Conversation{ID: ch.ID, Unread: ch.Unread, Accounts: ch.Accounts}
		if ch.LastMessage != nil {
			st := a.chatStatus(ctx, &ch, ch.LastMessage)
			out[i].LastStatus = &st
		}
	}
	return out, nil
}

// chatStatus renders a chat message as a direct Status: addressed to the chat's people, each
// mentioned, as the message travels to Mastodon servers. Its id is the message's id;
// /api/v1/statuses does not know it, since it is no post.
func (a *api) chatStatus(ctx context.Context, ch *Chat, m *ChatMessage) Status {
	base := a.BaseURL(ctx)
	st := Status{ID: m.ID, URI: m.URI, URL: base + "/chats/" + ch.ID, CreatedAt: m.CreatedAt, Account: m.Account,
		Content: m.Content, Visibility: "direct", MediaAttachments: m.MediaAttachments, Mentions: []StatusMention{}, Tags: []Tag{},
		Emojis: []any{}, InReplyToID: m.InReplyToID, Card: m.Card, EditedAt: m.EditedAt, Filtered: []any{},
		Atrium: StatusExtras{Audience: "direct", Reactions: m.Reactions, MyReaction: m.MyReaction, ThreadID: ch.ID}}
	for _, n := range m.Reactions {
		st.FavouritesCount += n
	}
	st.Favourited = m.MyReaction != nil
	for _, mem := range ch.Members {
		if mem.Account.ID == m.Account.ID {
			continue
		}
		st.Mentions = append(st.Mentions, StatusMention{ID: mem.Account.ID, Username: mem.Account.Username,
			URL: mem.Account.URL, Acct: mem.Account.Acct})
	}
	if m.InReplyTo != nil {
		id := m.InReplyTo.AccountID
		st.InReplyToAccountID = &id
	}
	return st
}

func (a *api) listConversations(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := chatPage(p)
	if err != nil {
		return err
	}
	if pg.Limit > 40 { // Mastodon's maximum for this list
		pg.Limit = 40
	}
	u := server.CurrentUser(c)
	vs, err := a.Chat.List(c.UserContext(), u, chat.ListOptions{Page: pg})
	if err != nil {
		return err
	}
	out, err := a.conversations(c.UserContext(), u, vs)
	if err != nil {
		return err
	}
	cursors := make([]string, len(vs))
	for i, v := range vs {
		cursors[i] = v.Conversation.ActivityID
	}
	linkHeader(c, a.BaseURL(c.UserContext()), cursors)
	return c.JSON(out)
}

// removeConversation takes the conversation off the list until its next message, as
// Mastodon does; the chat itself stays.
func (a *api) removeConversation(c *fiber.Ctx) error {
	if err := a.Chat.Hide(c.UserContext(), server.CurrentUser(c), c.Params("id")); err != nil {
		return mapNotFound(err)
	}
	return c.JSON(fiber.Map{})
}

func (a *api) readConversation(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	if _, err := a.Chat.MarkRead(c.UserContext(), u, c.Params("id"), ""); err != nil {
		return mapNotFound(err)
	}
	v, err := a.Chat.Get(c.UserContext(), u, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	list, err := a.conversations(c.UserContext(), u, []*chat.View{v})
	if err != nil {
		return err
	}
	return c.JSON(list[0])
}
