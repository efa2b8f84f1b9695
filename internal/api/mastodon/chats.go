package mastodon

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// ChatMessage is Atrium's chat message entity. Mastodon has none; its names follow Status.
type ChatMessage struct {
	ID               string            `json:"id"`
	ChatID           string            `json:"chat_id"`
	URI              string            `json:"uri"`
	CreatedAt        string            `json:"created_at"`
	EditedAt         *string           `json:"edited_at"`  // set: show as edited
	DeletedAt        *string           `json:"deleted_at"` // set: show as deleted (content is empty)
	Account          Account           `json:"account"`
	Content          string            `json:"content"` // HTML
	Text             string            `json:"text"`    // the source of messages written here; plain text of others
	InReplyToID      *string           `json:"in_reply_to_id"`
	InReplyTo        *ChatQuote        `json:"in_reply_to"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
	Card             *Card             `json:"card"`
	Reactions        map[string]int    `json:"reactions"`
	MyReaction       *string           `json:"my_reaction"`
	// Seq is the chat's change counter at this message's last change: catch up with
	// GET .../messages?since_seq=.
	Seq int64 `json:"seq"`
}

// ChatQuote is the message a reply answers, shortened for display above the reply.
type ChatQuote struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Text      string `json:"text"`
	Deleted   bool   `json:"deleted"`
}

// ChatMember is a person in a chat, with how far they have read ("seen by").
type ChatMember struct {
	Account    Account `json:"account"`
	Role       string  `json:"role"`
	LastReadID *string `json:"last_read_id"`
	LastReadAt *string `json:"last_read_at"`
	JoinedAt   string  `json:"joined_at"`
}

// Chat is Atrium's chat entity, as the viewer sees it.
type Chat struct {
	ID          string       `json:"id"`
	URI         string       `json:"uri"`
	Kind        string       `json:"kind"` // direct or group
	Name        string       `json:"name"`
	Accounts    []Account    `json:"accounts"` // the other people, as in Mastodon's Conversation
	Members     []ChatMember `json:"members"`
	Role        string       `json:"role"` // the viewer's
	Muted       bool         `json:"muted"`
	Unread      bool         `json:"unread"`
	UnreadCount int          `json:"unread_count"` // at most 999
	LastReadID  *string      `json:"last_read_id"`
	LastMessage *ChatMessage `json:"last_message"`
	Domain      string       `json:"domain"` // the node that keeps the member list
	Seq         int64        `json:"seq"`
	CreatedAt   string       `json:"created_at"`
	UpdatedAt   string       `json:"updated_at"`
}

// chatRoutes mounts Atrium's chat API. Reading and writing use the statuses scopes, as
// Mastodon's conversations do.
func (a *api) chatRoutes(app *fiber.App) {
	if a.Chat == nil {
		return
	}
	read, write := server.RequireScope("read:statuses"), server.RequireScope("write:statuses")
	app.Get("/api/v1/chats", read, a.listChats)
	app.Post("/api/v1/chats", write, a.createChat)
	app.Get("/api/v1/chats/unread_count", read, a.chatsUnread) // before /chats/:id
	app.Get("/api/v1/chats/:id", read, a.getChat)
	app.Patch("/api/v1/chats/:id", write, a.updateChat)
	app.Get("/api/v1/chats/:id/messages", read, a.chatMessagesPage)
	app.Post("/api/v1/chats/:id/messages", write, a.sendChatMessage)
	app.Get("/api/v1/chats/:id/messages/:mid", read, a.getChatMessage)
	app.Put("/api/v1/chats/:id/messages/:mid", write, a.editChatMessage)
	app.Delete("/api/v1/chats/:id/messages/:mid", write, a.deleteChatMessage)
	app.Post("/api/v1/chats/:id/messages/:mid/reactions/:emoji", write, a.chatReaction(false))
	app.Delete("/api/v1/chats/:id/messages/:mid/reactions/:emoji", write, a.chatReaction(true))
	app.Post("/api/v1/chats/:id/read", write, a.readChat)
	app.Post("/api/v1/chats/:id/members", write, a.addChatMembers)
	app.Delete("/api/v1/chats/:id/members/:account_id", write, a.removeChatMember)
	app.Post("/api/v1/chats/:id/members/:account_id/role", write, a.setChatRole)
	app.Post("/api/v1/chats/:id/typing", write, a.chatTyping)
	app.Get("/api/v1/chats/:id/search", read, a.searchChat)
}

// NewChatRenderer gives the chat service the API's shapes for its live events, so that a
// message arriving live looks exactly like one read from GET .../messages.
func NewChatRenderer(d Deps) chat.Renderer { return chatRenderer{api: newAPI(d)} }

type chatRenderer struct{ api *api }

func (r chatRenderer) Message(ctx context.Context, m *chat.Message) ([]byte, error) {
	list, err := r.api.chatMessages(ctx, "", []*chat.Message{m})
	if err != nil {
		return nil, err
	}
	return json.Marshal(list[0])
}

func (r chatRenderer) Conversation(ctx context.Context, viewer *accounts.User, v *chat.View) ([]byte, error) {
	list, err := r.api.conversations(ctx, viewer, []*chat.View{v})
	if err != nil {
		return nil, err
	}
	return json.Marshal(list[0])
}

// chatPage reads Mastodon's pagination parameters for chat lists and messages.
func chatPage(p *params) (chat.Page, error) {
	pg, err := p.page(chat.DefaultPage, chat.MaxPage)
	return chat.Page{MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID, Limit: pg.Limit}, err
}

// chatMessages renders messages with their authors, files and cards, in a few lookups for
// the whole list. viewerID "" renders without the viewer's own marks (live events).
func (a *api) chatMessages(ctx context.Context, viewerID string, ms []*chat.Message) ([]ChatMessage, error) {
	base := a.BaseURL(ctx)
	people, keys := chat.Refs(ms)
	authors, err := a.Accounts.GetMany(ctx, people)
	if err != nil {
		return nil, err
	}
	pr := presenter{api: a, base: base}
	if len(keys) > 0 && a.RemoteMedia != nil {
		if pr.unready, err = a.RemoteMedia(ctx, keys); err != nil {
			return nil, err
		}
	}
	out := make([]ChatMessage, 0, len(ms))
	for _, m := range ms {
		cm := ChatMessage{ID: m.ID, ChatID: m.ConversationID, URI: m.URI, CreatedAt: mastodonTime(m.CreatedAt),
			Content: m.ContentHTML, Text: m.Source, InReplyToID: m.InReplyToID, MediaAttachments: []MediaAttachment{},
			Reactions: map[string]int{}, Seq: m.Seq}
		if cm.Text == "" {
			cm.Text = m.ContentText
		}
		if u := authors[m.AuthorID]; u != nil {
			cm.Account = a.account(u, base)
		}
		if m.EditedAt != nil {
			t := mastodonTime(*m.EditedAt)
			cm.EditedAt = &t
		}
		if m.DeletedAt != nil {
			t := mastodonTime(*m.DeletedAt)
			cm.DeletedAt = &t
		}
		if r := m.ReplyTo; r != nil {
			q := &ChatQuote{ID: r.ID, AccountID: r.AuthorID, Text: r.ContentText, Deleted: r.Deleted()}
			if utf8.RuneCountInString(q.Text) > 200 {
				q.Text = string([]rune(q.Text)[:200]) + "…"
			}
			cm.InReplyTo = q
		}
		for _, at := range m.Attachments {
			cm.MediaAttachments = append(cm.MediaAttachments, pr.media(posts.Attachment{ID: at.ID, OwnerID: at.OwnerID, Kind: at.Kind,
				FileKey: at.FileKey, ThumbKey: at.ThumbKey, ContentType: at.ContentType, FileName: at.FileName, SizeBytes: at.SizeBytes,
				Width: at.Width, Height: at.Height, Description: at.Description, Position: at.Position, CreatedAt: at.CreatedAt}))
		}
		if c := m.Card; c != nil && len(cm.MediaAttachments) == 0 {
			cm.Card = &Card{URL: c.URL, Title: c.Title, Description: c.Description, Type: "link", Authors: []any{}, ProviderName: c.SiteName}
			if c.ImageURL != "" {
				img := c.ImageURL
				cm.Card.Image = &img
			}
		}
		for e, n := range m.Reactions {
			cm.Reactions[e] = n
		}
		if viewerID != "" && m.MyReaction != "" {
			e := m.MyReaction
			cm.MyReaction = &e
		}
		out = append(out, cm)
	}
	return out, nil
}

// chats renders chats for the viewer, people and last messages looked up once for the list.
func (a *api) chats(ctx context.Context, viewer *accounts.User, vs []*chat.View) ([]Chat, error) {
	base := a.BaseURL(ctx)
	var people []string
	var last []*chat.Message
	for _, v := range vs {
		for _, m := range v.Members {
			people = append(people, m.AccountID)
		}
		if v.LastMessage != nil {
			last = append(last, v.LastMessage)
		}
	}
	accts, err := a.Accounts.GetMany(ctx, people)
	if err != nil {
		return nil, err
	}
	lastOut, err := a.chatMessages(ctx, viewer.ID, last)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*ChatMessage, len(lastOut))
	for i := range lastOut {
		byID[lastOut[i].ID] = &lastOut[i]
	}
	out := make([]Chat, 0, len(vs))
	for _, v := range vs {
		c := v.Conversation
		ch := Chat{ID: c.ID, URI: c.URI, Kind: string(c.Kind), Name: c.Name, Accounts: []Account{}, Members: []ChatMember{},
			Role: string(v.Me.Role), Muted: v.Me.Muted, Unread: v.Unread > 0, UnreadCount: v.Unread, Domain: c.Domain, Seq: c.Seq,
			CreatedAt: mastodonTime(c.CreatedAt), UpdatedAt: mastodonTime(c.UpdatedAt)}
		if ch.Domain == "" {
			ch.Domain = hostOf(base)
		}
		if v.Me.LastReadID != "" && v.Me.LastReadID != v.Me.HistoryFrom {
			id := v.Me.LastReadID
			ch.LastReadID = &id
		}
		for _, m := range v.Members {
			u := accts[m.AccountID]
			if u == nil {
				continue
			}
			acc := a.account(u, base)
			cm := ChatMember{Account: acc, Role: string(m.Role), JoinedAt: mastodonTime(m.JoinedAt)}
			if m.LastReadID != "" && m.LastReadID != m.HistoryFrom {
				id := m.LastReadID
				cm.LastReadID = &id
			}
			if m.LastReadAt != nil {
				t := mastodonTime(*m.LastReadAt)
				cm.LastReadAt = &t
			}
			ch.Members = append(ch.Members, cm)
			if m.AccountID != viewer.ID {
				ch.Accounts = append(ch.Accounts, acc)
			}
		}
		if v.LastMessage != nil {
			ch.LastMessage = byID[v.LastMessage.ID]
		}
		out = append(out, ch)
	}
	return out, nil
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

func (a *api) answerChat(c *fiber.Ctx, v *chat.View) error {
	list, err := a.chats(c.UserContext(), server.CurrentUser(c), []*chat.View{v})
	if err != nil {
		return err
	}
	return c.JSON(list[0])
}

func (a *api) answerChatMessage(c *fiber.Ctx, m *chat.Message) error {
	list, err := a.chatMessages(c.UserContext(), server.CurrentUser(c).ID, []*chat.Message{m})
	if err != nil {
		return err
	}
	return c.JSON(list[0])
}

// chatPeople resolves the people a request names: accts ("alice", "bob@partner.example";
// people on partner nodes are looked up there when unknown) and/or account ids.
func (a *api) chatPeople(ctx context.Context, p *params) ([]*accounts.User, error) {
	var out []*accounts.User
	for _, acct := range p.strs("participants") {
		u, err := a.personByAcct(ctx, acct)
		if err != nil {
			return nil, err
		}
		if u == nil {
			return nil, errs.Field("participants", "nobody is known as @%s", acct)
		}
		out = append(out, u)
	}
	for _, id := range p.strs("account_ids") {
		u, err := a.Accounts.Lookup(ctx, id)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field("account_ids", "no account has the id %s", id)
			}
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (a *api) listChats(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := chatPage(p)
	if err != nil {
		return err
	}
	hidden, _, err := p.boolean("hidden")
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	vs, err := a.Chat.List(c.UserContext(), u, chat.ListOptions{Page: pg, Hidden: hidden})
	if err != nil {
		return err
	}
	out, err := a.chats(c.UserContext(), u, vs)
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

func (a *api) createChat(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	people, err := a.chatPeople(c.UserContext(), p)
	if err != nil {
		return err
	}
	kind := p.str("kind")
	if kind != "" && kind != string(chat.Direct) && kind != string(chat.Group) {
		return errs.Field("kind", "%q is not a kind of chat: use direct or group", kind)
	}
	if kind == string(chat.Direct) && (len(people) != 1 || p.str("name") != "") {
		return errs.Field("kind", "a direct chat is with exactly one other person and has no name")
	}
	v, _, err := a.Chat.Create(c.UserContext(), server.CurrentUser(c), chat.NewChat{Participants: people, Name: p.str("name"),
		Group: kind == string(chat.Group)})
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

func (a *api) chatsUnread(c *fiber.Ctx) error {
	n, err := a.Chat.UnreadChats(c.UserContext(), server.CurrentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"count": n})
}

func (a *api) getChat(c *fiber.Ctx) error {
	v, err := a.Chat.Get(c.UserContext(), server.CurrentUser(c), c.Params("id"))
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

func (a *api) updateChat(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	var ch chat.Change
	if p.has("name") {
		name := p.str("name")
		ch.Name = &name
	}
	if muted, ok, err := p.boolean("muted"); err != nil {
		return err
	} else if ok {
		ch.Muted = &muted
	}
	v, err := a.Chat.Update(c.UserContext(), server.CurrentUser(c), c.Params("id"), ch)
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

// chatMessagesPage pages a chat's messages newest first (max_id, since_id, min_id, limit up
// to 100, with a Link header), or with since_seq lists the messages changed since that
// change, oldest change first: a client that was away catches up with everything, edits and
// deletions included.
func (a *api) chatMessagesPage(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	if s := p.str("since_seq"); s != "" {
		seq, err := strconv.ParseInt(s, 10, 64)
		if err != nil || seq < 0 {
			return errs.Field("since_seq", "%q is not a change number", s)
		}
		limit, err := intParam(p, "limit", chat.MaxPage, chat.MaxPage)
		if err != nil {
			return err
		}
		ms, err := a.Chat.Changes(c.UserContext(), u, c.Params("id"), seq, limit)
		if err != nil {
			return err
		}
		out, err := a.chatMessages(c.UserContext(), u.ID, ms)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
	pg, err := chatPage(p)
	if err != nil {
		return err
	}
	ms, err := a.Chat.Messages(c.UserContext(), u, c.Params("id"), pg)
	if err != nil {
		return err
	}
	return a.writeChatMessages(c, ms)
}

func (a *api) writeChatMessages(c *fiber.Ctx, ms []*chat.Message) error {
	out, err := a.chatMessages(c.UserContext(), server.CurrentUser(c).ID, ms)
	if err != nil {
		return err
	}
	idList := make([]string, len(ms))
	for i, m := range ms {
		idList[i] = m.ID
	}
	linkHeader(c, a.BaseURL(c.UserContext()), idList)
	return c.JSON(out)
}

func (a *api) sendChatMessage(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	text := p.str("text")
	if text == "" {
		text = p.str("status") // what Mastodon apps call it
	}
	m, err := a.Chat.Send(c.UserContext(), server.CurrentUser(c), c.Params("id"),
		chat.NewMessage{Text: text, AttachmentIDs: p.strs("media_ids"), InReplyToID: p.str("in_reply_to_id")})
	if err != nil {
		return err
	}
	return a.answerChatMessage(c, m)
}

func (a *api) getChatMessage(c *fiber.Ctx) error {
	m, err := a.Chat.Message(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("mid"))
	if err != nil {
		return err
	}
	return a.answerChatMessage(c, m)
}

func (a *api) editChatMessage(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	text := p.str("text")
	if text == "" {
		text = p.str("status")
	}
	m, err := a.Chat.Edit(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("mid"), text)
	if err != nil {
		return err
	}
	return a.answerChatMessage(c, m)
}

// deleteChatMessage answers with the tombstone, its text set to what was deleted so that
// apps can offer to write it again, as Mastodon does for statuses.
func (a *api) deleteChatMessage(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	before, err := a.Chat.Message(c.UserContext(), u, c.Params("id"), c.Params("mid"))
	if err != nil {
		return err
	}
	m, err := a.Chat.Delete(c.UserContext(), u, c.Params("id"), c.Params("mid"))
	if err != nil {
		return err
	}
	list, err := a.chatMessages(c.UserContext(), u.ID, []*chat.Message{m})
	if err != nil {
		return err
	}
	list[0].Text = before.Source
	return c.JSON(list[0])
}

func (a *api) chatReaction(undo bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		emoji, err := url.PathUnescape(c.Params("emoji"))
		if err != nil {
			return errs.Field("emoji", "the emoji is not properly escaped")
		}
		u := server.CurrentUser(c)
		var m *chat.Message
		if undo {
			m, err = a.Chat.Unreact(c.UserContext(), u, c.Params("id"), c.Params("mid"), emoji)
		} else {
			m, err = a.Chat.React(c.UserContext(), u, c.Params("id"), c.Params("mid"), emoji)
		}
		if err != nil {
			return err
		}
		return a.answerChatMessage(c, m)
	}
}

func (a *api) readChat(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	if _, err := a.Chat.MarkRead(c.UserContext(), u, c.Params("id"), p.str("last_read_id")); err != nil {
		return err
	}
	v, err := a.Chat.Get(c.UserContext(), u, c.Params("id"))
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

func (a *api) addChatMembers(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	people, err := a.chatPeople(c.UserContext(), p)
	if err != nil {
		return err
	}
	v, err := a.Chat.AddMembers(c.UserContext(), server.CurrentUser(c), c.Params("id"), people)
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

// removeChatMember removes someone (admins) or the caller themselves (leaving). It answers
// with the chat as the caller now sees it, or {} when they are no longer in it.
func (a *api) removeChatMember(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	if err := a.Chat.RemoveMember(c.UserContext(), u, c.Params("id"), c.Params("account_id")); err != nil {
		return err
	}
	v, err := a.Chat.Get(c.UserContext(), u, c.Params("id"))
	if errs.Is(err, errs.NotFound) {
		return c.JSON(fiber.Map{})
	}
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

func (a *api) setChatRole(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	if err := a.Chat.SetRole(c.UserContext(), u, c.Params("id"), c.Params("account_id"), chat.Role(p.str("role"))); err != nil {
		return err
	}
	v, err := a.Chat.Get(c.UserContext(), u, c.Params("id"))
	if err != nil {
		return err
	}
	return a.answerChat(c, v)
}

func (a *api) chatTyping(c *fiber.Ctx) error {
	if err := a.Chat.Typing(c.UserContext(), server.CurrentUser(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) searchChat(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := chatPage(p)
	if err != nil {
		return err
	}
	ms, err := a.Chat.Search(c.UserContext(), server.CurrentUser(c), c.Params("id"), p.str("q"), pg)
	if err != nil {
		return err
	}
	return a.writeChatMessages(c, ms)
}
