package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"mime/multipart"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/server"
)

// The chat pages follow the social core's pattern: every action is a plain form that works
// without script and redirects back; the page's script sends the same forms with fetch
// (X-Requested-With) and gets the re-rendered message as an HTML fragment. Live events from
// the tab's one websocket only say that something changed: the script then asks
// /chat/:id/changes?since_seq= for the messages changed since the last change it applied, so
// live updates and catching up after a dropped connection are one code path, the markup of
// a message has one source (the "chat-message" template), and a message can never be
// applied twice or skipped.

const (
	chatPageSize = 30  // messages per page of the pane
	chatListSize = 100 // chats in the list (chat.MaxPage)
	chatDockSize = 8   // chats in the navigation's popover
	chatPickSize = 20  // people found by the new chat search
)

func (s *site) chatRoutes(app *fiber.App, user fiber.Handler) {
	app.Get("/chat", user, s.chatIndex)
	app.Post("/chat", user, s.chatCreate)
	// Before /chat/:id, which would otherwise take these names for a chat id.
	app.Get("/chat/new", user, s.chatNewPage)
	app.Get("/chat/list", user, s.chatListFragment)
	app.Get("/chat/dock", user, s.chatDock)
	app.Get("/chat/people", user, s.chatPeopleFragment)
	app.Get("/chat/:id", user, s.chatPage)
	app.Get("/chat/:id/head", user, s.chatHeadFragment)
	app.Get("/chat/:id/messages", user, s.chatOlder)
	app.Get("/chat/:id/changes", user, s.chatChanges)
	app.Get("/chat/:id/messages/:mid", user, s.chatMessage)
	app.Post("/chat/:id/messages", user, s.chatSend)
	app.Post("/chat/:id/messages/:mid/edit", user, s.chatEdit)
	app.Post("/chat/:id/messages/:mid/delete", user, s.chatDelete)
	app.Post("/chat/:id/messages/:mid/react", user, s.chatReact(false))
	app.Post("/chat/:id/messages/:mid/unreact", user, s.chatReact(true))
	app.Post("/chat/:id/read", user, s.chatRead)
	app.Post("/chat/:id/typing", user, s.chatTyping)
	app.Post("/chat/:id/settings", user, s.chatSettings)
	app.Post("/chat/:id/leave", user, s.chatLeave)
	app.Post("/chat/:id/members", user, s.chatAddMembers)
	app.Post("/chat/:id/members/:account/remove", user, s.chatRemoveMember)
}

// chatRow is a chat in the conversation list.
type chatRow struct {
	ID, Name, Link string
	Pic            *person // the other person of a direct chat; initials for a group
	Group          bool
	Preview        string // the last message, shortened ("You: …")
	At             *time.Time
	AtLabel        string
	Unread         int
	Muted          bool
	Current        bool
}

// chatMember is a person in the open chat, with how far they have read ("seen by").
type chatMember struct {
	P        *person
	Admin    bool
	Me       bool
	LastRead string
}

// chatHead is the open chat's header: its name, people and settings.
type chatHead struct {
	ID, Name, Subtitle string
	ChatName           string // a group chat's own name ("" when it has none), for renaming
	Pic                *person
	Other              *person // a direct chat's other person
	Group              bool
	Admin              bool // the viewer manages the member list
	CanRename          bool
	Muted              bool
	Remote             string // the node that keeps the member list, when not this one
	Members            []chatMember
	Unread             int
	CSRF               string
}

// chatQuote is the message a reply answers, shortened.
type chatQuote struct {
	ID, Author, Text string
	Deleted          bool
}

// chatMsg is a message as the "chat-message" template draws it.
type chatMsg struct {
	ID, ChatID, AuthorID string
	Seq                  int64
	Author               *person
	Mine                 bool
	Content              template.HTML
	Source               string // what its author typed, for the edit form
	Snippet              string // the text shortened, for the composer's "Replying to"
	Created              time.Time
	Time                 string // hour and minute in the viewer's time zone
	Day                  string // the day's label ("Today", "Monday 3 June")
	DayKey               string // the day in the viewer's time zone, 2006-01-02
	NewDay               bool   // the first message of its day in the list drawn
	Edited               *time.Time
	Deleted              bool
	Reply                *chatQuote
	Images, Docs         []attView
	Preview              *previews.Preview
	Reactions            []reactionCount
	MyReaction           string
	Editing              bool
	CSRF                 string
}

// newChatForm is the "New chat" form: people found by name, people chosen, a group name.
type newChatForm struct {
	Q        string
	Found    []*person
	Chosen   []*person
	Name     string
	Others   string // usernames typed, user@host for partners
	Searched bool
}

type chatData struct {
	Rows     []*chatRow
	Current  string
	Head     *chatHead
	Messages []*chatMsg
	Older    string // the max_id of the previous page, "" at the start of the chat
	Paged    bool   // an older page is shown (no script): link to the newest
	Seq      int64  // the chat's change number when the page was drawn
	LastRead string // the viewer's
	SeenBy   string
	Search   string
	Results  []*chatMsg
	Reply    *chatQuote // the composer answers this message (?reply=, without script)
	Draft    string
	New      *newChatForm
	Me       *person
	CSRF     string
	MaxFiles int
}

// chatFragment draws a template of the chat page without the layout. The chat's partials
// live with its page (the fragment set holds only the shared ones), and executing a named
// template of a parsed page is safe at any time; only cloning after execution is not.
func (s *site) chatFragment(c *fiber.Ctx, status int, name string, data any) error {
	pt, err := s.pages.get("chat")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render fragment %s: %w", name, err)
	}
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// zone is the viewer's time zone (their profile's) for times and day separators.
func zone(u *accounts.User) *time.Location {
	if u != nil && u.TimeZone != "" {
		if l, err := time.LoadLocation(u.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}

func dayLabel(t, now time.Time) string {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return "Today"
	case t.AddDate(0, 0, 1).Format("2006-01-02") == now.Format("2006-01-02"):
		return "Yesterday"
	case y1 == y2:
		return t.Format("Monday 2 January")
	}
	return t.Format("Monday 2 January 2006")
}

// listTime is the short time in the chat list: the hour today, the weekday this week.
func listTime(t, now time.Time) string {
	switch d := now.Sub(t); {
	case t.Format("2006-01-02") == now.Format("2006-01-02"):
		return t.Format("15:04")
	case d < 6*24*time.Hour:
		return t.Format("Mon")
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

// shorten cuts text to n characters on one line.
func shorten(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	return strings.TrimSpace(string([]rune(text)[:n])) + "…"
}

// somebody stands in for an account that no longer exists.
func somebody() *person { return &person{Name: "Former colleague", Initials: "?", Color: "av-c7"} }

// groupPic is a group chat's picture: the initials of its name on a colour of its id.
func groupPic(name, id string) *person {
	var initials []rune
	for _, w := range strings.Fields(name) {
		if r, _ := utf8.DecodeRuneInString(w); r != utf8.RuneError {
			initials = append(initials, r)
		}
		if len(initials) == 2 {
			break
		}
	}
	if len(initials) == 0 {
		initials = []rune{'#'}
	}
	return &person{Name: name, Initials: strings.ToUpper(string(initials)), Color: colorClass(id)}
}

// chatName names a chat for the viewer: its name, else the other people's names.
func chatName(v *chat.View, people map[string]*accounts.User) string {
	if v.Conversation.Name != "" {
		return v.Conversation.Name
	}
	var names []string
	for _, id := range v.Others() {
		if u := people[id]; u != nil {
			names = append(names, u.Name())
		}
	}
	switch {
	case len(names) == 0:
		return "Only you"
	case len(names) > 4:
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, ", ")
}

// peopleOf looks up everyone in the chats (and the authors of their last messages).
func (s *site) peopleOf(ctx context.Context, vs ...*chat.View) (map[string]*accounts.User, error) {
	var idList []string
	for _, v := range vs {
		for _, m := range v.Members {
			idList = append(idList, m.AccountID)
		}
		if v.LastMessage != nil {
			idList = append(idList, v.LastMessage.AuthorID)
		}
	}
	return s.Accounts.GetMany(ctx, idList)
}

// chatRows draws the conversation list.
func (s *site) chatRows(c *fiber.Ctx, limit int, current string) ([]*chatRow, error) {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	vs, err := s.Chat.List(ctx, u, chat.ListOptions{Page: chat.Page{Limit: limit}})
	if err != nil {
		return nil, err
	}
	people, err := s.peopleOf(ctx, vs...)
	if err != nil {
		return nil, err
	}
	loc := zone(u)
	now := s.Accounts.Clock.Now().In(loc)
	out := make([]*chatRow, 0, len(vs))
	for _, v := range vs {
		out = append(out, chatRowOf(v, people, u, loc, now, current))
	}
	return out, nil
}

func chatRowOf(v *chat.View, people map[string]*accounts.User, u *accounts.User, loc *time.Location, now time.Time, current string) *chatRow {
	cv := v.Conversation
	r := &chatRow{ID: cv.ID, Name: chatName(v, people), Link: "/chat/" + cv.ID, Group: cv.Kind == chat.Group,
		Unread: v.Unread, Muted: v.Me.Muted, Current: cv.ID == current}
	if others := v.Others(); !r.Group && len(others) == 1 && people[others[0]] != nil {
		r.Pic = newPerson(people[others[0]])
	} else {
		r.Pic = groupPic(r.Name, cv.ID)
	}
	if m := v.LastMessage; m != nil {
		at := m.CreatedAt.In(loc)
		r.At, r.AtLabel = &at, listTime(at, now)
		r.Preview = messagePreview(m)
		if m.AuthorID == u.ID {
			r.Preview = "You: " + r.Preview
		} else if a := people[m.AuthorID]; a != nil && r.Group {
			r.Preview = a.Name() + ": " + r.Preview
		}
	} else {
		r.Preview = "No messages yet"
	}
	return r
}

// messagePreview is a message in a few words, for lists and quotes.
func messagePreview(m *chat.Message) string {
	if m.Deleted() {
		return "Message deleted"
	}
	if t := shorten(m.ContentText, 80); t != "" {
		return t
	}
	for _, a := range m.Attachments {
		if a.Kind == "image" {
			return "Sent a picture"
		}
	}
	return "Sent a file"
}

// chatHeadOf draws the header of a chat and its member list.
func (s *site) chatHeadOf(c *fiber.Ctx, v *chat.View, people map[string]*accounts.User) *chatHead {
	u := server.CurrentUser(c)
	cv := v.Conversation
	h := &chatHead{ID: cv.ID, Name: chatName(v, people), ChatName: cv.Name, Group: cv.Kind == chat.Group, Muted: v.Me.Muted,
		Remote: cv.Domain, Unread: v.Unread, CSRF: server.CSRFToken(c)}
	h.Admin = h.Group && !cv.IsRemote() && v.Me.Role == chat.RoleAdmin
	h.CanRename = h.Group && !cv.IsRemote()
	for _, m := range v.Members {
		p := somebody()
		if pu := people[m.AccountID]; pu != nil {
			p = newPerson(pu)
		}
		p.ID = m.AccountID
		h.Members = append(h.Members, chatMember{P: p, Admin: h.Group && m.Role == chat.RoleAdmin, Me: m.AccountID == u.ID,
			LastRead: m.LastReadID})
		if !h.Group && m.AccountID != u.ID {
			h.Other = p
		}
	}
	switch {
	case h.Other != nil:
		h.Pic = h.Other
		h.Subtitle = h.Other.Title
		if h.Other.Org != "" {
			h.Subtitle = strings.TrimPrefix(h.Subtitle+" · "+h.Other.Org, " · ")
		}
	default:
		h.Pic = groupPic(h.Name, cv.ID)
		h.Subtitle = plural(len(v.Members), "person", "people")
	}
	return h
}

// seenBy says who has read the last message, besides its author and the viewer.
func seenBy(h *chatHead, last *chatMsg) string {
	if h == nil || last == nil {
		return ""
	}
	var names []string
	others := 0
	for _, m := range h.Members {
		if m.Me || m.P.ID == last.AuthorID {
			continue
		}
		others++
		if m.LastRead >= last.ID {
			names = append(names, m.P.Name)
		}
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) == others && others > 2:
		return "Seen by everyone"
	}
	return "Seen by " + strings.Join(names, ", ")
}

// chatMessages draws messages (in the order given) for the signed-in viewer: their authors
// and the authors of the messages they answer in one lookup.
func (s *site) chatMessages(c *fiber.Ctx, ms []*chat.Message) ([]*chatMsg, error) {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	idList, keys := chat.Refs(ms)
	authors, err := s.Accounts.GetMany(ctx, idList)
	if err != nil {
		return nil, err
	}
	var unready map[string]string
	if len(keys) > 0 && s.RemoteMedia != nil {
		if unready, err = s.RemoteMedia(ctx, keys); err != nil {
			// A partner's picture drawn as a link is cosmetic: keep the messages.
			s.Log.Warn("remote media state unavailable", "err", err)
			unready = nil
		}
	}
	loc := zone(u)
	now := s.Accounts.Clock.Now().In(loc)
	csrf := server.CSRFToken(c)
	out := make([]*chatMsg, 0, len(ms))
	prevDay := ""
	for _, m := range ms {
		at := m.CreatedAt.In(loc)
		cm := &chatMsg{ID: m.ID, ChatID: m.ConversationID, AuthorID: m.AuthorID, Seq: m.Seq, Mine: m.AuthorID == u.ID,
			// Trusted as posts are: markup renders local messages, federation sanitises
			// partners' at intake (chat.RemoteMessage).
			Content: template.HTML(m.ContentHTML), Source: m.Source, Created: m.CreatedAt, Time: at.Format("15:04"),
			Day: dayLabel(at, now), DayKey: at.Format("2006-01-02"), Edited: m.EditedAt, Deleted: m.Deleted(), MyReaction: m.MyReaction, CSRF: csrf}
		cm.NewDay = cm.DayKey != prevDay
		prevDay = cm.DayKey
		if cm.Source == "" {
			cm.Source = m.ContentText
		}
		cm.Snippet = shorten(m.ContentText, 140)
		cm.Author = somebody()
		if a := authors[m.AuthorID]; a != nil {
			cm.Author = newPerson(a)
		}
		if r := m.ReplyTo; r != nil {
			q := &chatQuote{ID: r.ID, Author: "Former colleague", Text: shorten(r.ContentText, 140), Deleted: r.Deleted()}
			if a := authors[r.AuthorID]; a != nil {
				q.Author = a.Name()
			}
			cm.Reply = q
		}
		if !cm.Deleted {
			atts := make([]posts.Attachment, 0, len(m.Attachments))
			for _, a := range m.Attachments {
				atts = append(atts, posts.Attachment{ID: a.ID, OwnerID: a.OwnerID, Kind: a.Kind, FileKey: a.FileKey,
					ThumbKey: a.ThumbKey, ContentType: a.ContentType, FileName: a.FileName, SizeBytes: a.SizeBytes,
					Width: a.Width, Height: a.Height, Description: a.Description, Position: a.Position})
			}
			cm.Images, cm.Docs = attachmentViews(atts, unready)
			if len(cm.Images) == 0 {
				cm.Preview = m.Card
			}
			for _, e := range posts.ReactionSet() {
				if n := m.Reactions[e]; n > 0 {
					cm.Reactions = append(cm.Reactions, reactionCount{Emoji: e, N: n})
				}
			}
		}
		out = append(out, cm)
	}
	return out, nil
}

// oldestFirst turns a page (newest first) into reading order.
func oldestFirst(ms []*chat.Message) []*chat.Message {
	out := make([]*chat.Message, len(ms))
	for i, m := range ms {
		out[len(ms)-1-i] = m
	}
	return out
}

func (s *site) chatIndex(c *fiber.Ctx) error {
	rows, err := s.chatRows(c, chatListSize, "")
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "chat", &page{Title: "Chat", Nav: "chat",
		Data: chatData{Rows: rows, Me: newPerson(server.CurrentUser(c)), CSRF: server.CSRFToken(c)}})
}

// chatNewPage is the "New chat" form, with the people found for q (and those already chosen,
// kept through searches in the address without script).
func (s *site) chatNewPage(c *fiber.Ctx) error {
	f := &newChatForm{Q: strings.TrimSpace(qv(c, "q")), Name: qv(c, "name")}
	var chosen []string
	for _, v := range c.Context().QueryArgs().PeekMulti("participants") {
		chosen = append(chosen, string(v))
	}
	if to := qv(c, "to"); to != "" {
		chosen = append(chosen, to)
	}
	return s.newChatPage(c, fiber.StatusOK, f, chosen, nil)
}

func (s *site) newChatPage(c *fiber.Ctx, status int, f *newChatForm, chosen []string, fail error) error {
	ctx := c.UserContext()
	me := server.CurrentUser(c)
	seen := map[string]bool{me.Username: true}
	for _, name := range chosen {
		name = strings.TrimPrefix(strings.TrimSpace(name), "@")
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		// user@host names someone on a partner node (asked there when new here).
		if u, err := s.chatPerson(ctx, name); err == nil && u.Active() {
			f.Chosen = append(f.Chosen, newPerson(u))
		}
	}
	if f.Q != "" {
		f.Searched = true
		found, err := s.chatPeople(c, f.Q)
		if err != nil {
			return err
		}
		for _, p := range found {
			if !seen[p.Username] {
				f.Found = append(f.Found, p)
			}
		}
	}
	rows, err := s.chatRows(c, chatListSize, "")
	if err != nil {
		return err
	}
	p := &page{Title: "New chat", Nav: "chat",
		Data: chatData{Rows: rows, New: f, Me: newPerson(me), CSRF: server.CSRFToken(c)}}
	if fail != nil {
		p.Error, p.ErrField = describe(fail)
	}
	return s.render(c, status, "chat", p)
}

// chatPeople finds colleagues by name, title or team for the new chat form (not the viewer),
// or, for user@host, that person on a partner node.
func (s *site) chatPeople(c *fiber.Ctx, q string) ([]*person, error) {
	me := server.CurrentUser(c)
	if strings.Contains(strings.TrimPrefix(q, "@"), "@") {
		u, err := s.chatPerson(c.UserContext(), q)
		if err != nil || !u.Active() {
			return nil, nil // nobody to tick: the form says nothing was found
		}
		return []*person{newPerson(u)}, nil
	}
	list, err := s.Accounts.Directory(c.UserContext(), accounts.DirectoryQuery{Q: q, Limit: chatPickSize + 1})
	if err != nil {
		return nil, err
	}
	var out []*person
	for i := range list {
		if list[i].ID != me.ID && len(out) < chatPickSize {
			out = append(out, newPerson(&list[i]))
		}
	}
	return out, nil
}

// chatPeopleFragment answers the new chat form's live search with rows to tick.
func (s *site) chatPeopleFragment(c *fiber.Ctx) error {
	q := strings.TrimSpace(qv(c, "q"))
	var found []*person
	if q != "" {
		var err error
		if found, err = s.chatPeople(c, q); err != nil {
			return err
		}
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-people", &newChatForm{Q: q, Found: found, Searched: q != ""})
}

// formList reads every value of a form field (a url-encoded or multipart form).
func formList(c *fiber.Ctx, key string) []string {
	var out []string
	if f, err := c.MultipartForm(); err == nil && f != nil {
		out = append(out, f.Value[key]...)
		return out
	}
	for _, v := range c.Request().PostArgs().PeekMulti(key) {
		out = append(out, string(v))
	}
	return out
}

// chatPerson finds a colleague by username, or someone on a partner node by user@host (asked
// there when this node does not know them yet).
func (s *site) chatPerson(ctx context.Context, name string) (*accounts.User, error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "@")
	var u *accounts.User
	var err error
	if strings.Contains(name, "@") && s.ResolveAccount != nil {
		u, err = s.ResolveAccount(ctx, name)
	} else {
		u, err = s.personByName(ctx, name)
	}
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field("participants", "nobody is known as @%s", name)
	}
	return u, err
}

func (s *site) chatPeopleNamed(ctx context.Context, names []string) ([]*accounts.User, error) {
	var out []*accounts.User
	for _, n := range names {
		u, err := s.chatPerson(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// chatCreate starts a chat with the people ticked or typed: one person and no name is their
// direct chat (the same one every time), anything else a group chat.
func (s *site) chatCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	names := formList(c, "participants")
	typed := fv(c, "others")
	names = append(names, splitNames(typed)...)
	f := &newChatForm{Name: fv(c, "name"), Others: typed}
	fail := func(err error) error {
		if errs.KindOf(err) == errs.Internal {
			return err
		}
		return s.newChatPage(c, errs.KindOf(err).Status(), f, formList(c, "participants"), err)
	}
	if len(names) == 0 {
		return fail(errs.Field("participants", "choose at least one person to chat with"))
	}
	people, err := s.chatPeopleNamed(ctx, names)
	if err != nil {
		return fail(err)
	}
	v, _, err := s.Chat.Create(ctx, server.CurrentUser(c), chat.NewChat{Participants: people, Name: f.Name,
		Group: fv(c, "group") != ""})
	if err != nil {
		return fail(err)
	}
	return s.redirect(c, "/chat/"+v.Conversation.ID, "")
}

// chatView loads what the pane shows of a chat: its header and the first page of messages
// (or search results), plus the list beside it.
func (s *site) chatView(c *fiber.Ctx, id string) (*chatData, error) {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	// The chat (and its change number) is read before its messages: a change in between is
	// then newer than Seq, and the script's first catch-up applies it.
	v, err := s.Chat.Get(ctx, u, id)
	if err != nil {
		return nil, err
	}
	people, err := s.peopleOf(ctx, v)
	if err != nil {
		return nil, err
	}
	d := &chatData{Current: id, Head: s.chatHeadOf(c, v, people), Seq: v.Conversation.Seq, LastRead: v.Me.LastReadID,
		Me: newPerson(u), CSRF: server.CSRFToken(c), MaxFiles: chat.MaxAttachments}
	if q := strings.TrimSpace(qv(c, "q")); q != "" {
		d.Search = q
		found, err := s.Chat.Search(ctx, u, id, q, chat.Page{Limit: chat.MaxPage})
		if err != nil {
			return nil, err
		}
		if d.Results, err = s.chatMessages(c, found); err != nil {
			return nil, err
		}
	} else {
		maxID := qv(c, "max_id")
		ms, err := s.Chat.Messages(ctx, u, id, chat.Page{MaxID: maxID, Limit: chatPageSize})
		if err != nil {
			return nil, err
		}
		if len(ms) == chatPageSize {
			d.Older = ms[len(ms)-1].ID
		}
		d.Paged = maxID != ""
		if d.Messages, err = s.chatMessages(c, oldestFirst(ms)); err != nil {
			return nil, err
		}
		if edit := qv(c, "edit"); edit != "" {
			for _, m := range d.Messages {
				m.Editing = m.ID == edit && m.Mine && !m.Deleted
			}
		}
		if len(d.Messages) > 0 && !d.Paged {
			d.SeenBy = seenBy(d.Head, d.Messages[len(d.Messages)-1])
		}
	}
	if reply := qv(c, "reply"); reply != "" {
		if m, err := s.Chat.Message(ctx, u, id, reply); err == nil && !m.Deleted() {
			d.Reply = &chatQuote{ID: m.ID, Author: "Former colleague", Text: shorten(m.ContentText, 140)}
			if a := people[m.AuthorID]; a != nil {
				d.Reply.Author = a.Name()
			}
		}
	}
	if d.Rows, err = s.chatRows(c, chatListSize, id); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *site) chatPage(c *fiber.Ctx) error {
	return s.renderChat(c, fiber.StatusOK, pv(c, "id"), "", nil)
}

// renderChat draws a chat's page, with a form's failure and what was typed when there is one.
func (s *site) renderChat(c *fiber.Ctx, status int, id, draft string, fail error) error {
	d, err := s.chatView(c, id)
	if err != nil {
		return err
	}
	d.Draft = draft
	p := &page{Title: d.Head.Name, Nav: "chat", Data: d}
	if fail != nil {
		p.Error, p.ErrField = describe(fail)
	}
	return s.render(c, status, "chat", p)
}

// chatFail answers a chat form that failed: the message alone for the script, else the page
// again with the message and what was typed. Internal errors go to the error page.
func (s *site) chatFail(c *fiber.Ctx, id, draft string, err error) error {
	k := errs.KindOf(err)
	if k == errs.Internal || k == errs.NotFound {
		return err
	}
	if k == errs.TooMany {
		c.Set("Retry-After", "60")
	}
	if isFetch(c) {
		msg, field := describe(err)
		if field == "media_ids" {
			field = "files"
		}
		c.Set("X-Error-Field", field)
		return s.fragment(c, k.Status(), "form-alert", msg)
	}
	return s.renderChat(c, k.Status(), id, draft, err)
}

func (s *site) chatHeadFragment(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v, err := s.Chat.Get(ctx, server.CurrentUser(c), pv(c, "id"))
	if err != nil {
		return err
	}
	people, err := s.peopleOf(ctx, v)
	if err != nil {
		return err
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-head", s.chatHeadOf(c, v, people))
}

func (s *site) chatListFragment(c *fiber.Ctx) error {
	rows, err := s.chatRows(c, chatListSize, qv(c, "current"))
	if err != nil {
		return err
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-list", chatData{Rows: rows})
}

// chatDock is the navigation's popover: the most recent chats.
func (s *site) chatDock(c *fiber.Ctx) error {
	rows, err := s.chatRows(c, chatDockSize, "")
	if err != nil {
		return err
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-dock", chatData{Rows: rows})
}

// chatOlder is the page of messages before max_id, for scrolling up.
func (s *site) chatOlder(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	id := pv(c, "id")
	ms, err := s.Chat.Messages(c.UserContext(), u, id, chat.Page{MaxID: qv(c, "max_id"), Limit: chatPageSize})
	if err != nil {
		return err
	}
	d := chatData{Current: id}
	if len(ms) == chatPageSize {
		d.Older = ms[len(ms)-1].ID
	}
	if d.Messages, err = s.chatMessages(c, oldestFirst(ms)); err != nil {
		return err
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-older", d)
}

// chatChanges is every message changed after change since_seq (new, edited, deleted,
// reacted to), in the order of the changes: what the script applies on a live event and
// after reconnecting. A full page (chat.MaxPage) means more may follow.
func (s *site) chatChanges(c *fiber.Ctx) error {
	seq, err := strconv.ParseInt(qv(c, "since_seq"), 10, 64)
	if err != nil || seq < 0 {
		return errs.Field("since_seq", "%q is not a change number", qv(c, "since_seq"))
	}
	ms, err := s.Chat.Changes(c.UserContext(), server.CurrentUser(c), pv(c, "id"), seq, chat.MaxPage)
	if err != nil {
		return err
	}
	d := chatData{}
	if d.Messages, err = s.chatMessages(c, ms); err != nil {
		return err
	}
	return s.chatFragment(c, fiber.StatusOK, "chat-messages", d)
}

// chatMessageView loads one message of a chat and draws it.
func (s *site) chatMessageView(c *fiber.Ctx, chatID, id string) (*chatMsg, error) {
	m, err := s.Chat.Message(c.UserContext(), server.CurrentUser(c), chatID, id)
	if err != nil {
		return nil, err
	}
	list, err := s.chatMessages(c, []*chat.Message{m})
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

// chatMessage is one message; with edit=1, its author's edit form in its place.
func (s *site) chatMessage(c *fiber.Ctx) error {
	m, err := s.chatMessageView(c, pv(c, "id"), pv(c, "mid"))
	if err != nil {
		return err
	}
	m.Editing = qv(c, "edit") != "" && m.Mine && !m.Deleted
	return s.chatFragment(c, fiber.StatusOK, "chat-message", m)
}

// chatDone answers a message action: the message drawn anew for the script, else back to the
// chat at that message.
func (s *site) chatDone(c *fiber.Ctx, chatID, id string, status int) error {
	if !isFetch(c) {
		return s.redirect(c, "/chat/"+chatID+"#m-"+id, "")
	}
	m, err := s.chatMessageView(c, chatID, id)
	if err != nil {
		return err
	}
	return s.chatFragment(c, status, "chat-message", m)
}

// chatSend sends the composer: each file is uploaded as for posts (same checks and limits),
// then the message is sent with them.
func (s *site) chatSend(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	id := pv(c, "id")
	text := fv(c, "text")
	in := chat.NewMessage{Text: text, InReplyToID: strings.TrimSpace(fv(c, "in_reply_to_id"))}
	if form, err := c.MultipartForm(); err == nil && form != nil {
		var files []*multipart.FileHeader
		for _, fh := range form.File["files"] {
			if fh.Filename != "" || fh.Size > 0 { // an empty file input sends one empty part
				files = append(files, fh)
			}
		}
		if len(files) > chat.MaxAttachments {
			return s.chatFail(c, id, text, errs.Field("files", "attach at most %d files to a message", chat.MaxAttachments))
		}
		if len(files) > 0 {
			// Check membership before storing anything: a stranger's upload would be wasted.
			if _, err := s.Chat.Get(ctx, u, id); err != nil {
				return err
			}
		}
		for _, fh := range files {
			r, err := fh.Open()
			if err != nil {
				return err
			}
			a, err := s.Posts.Upload(ctx, u, r, fh.Filename, "")
			r.Close()
			if err != nil {
				if errs.KindOf(err) == errs.Internal {
					return err
				}
				return s.chatFail(c, id, text, &errs.Error{Kind: errs.KindOf(err), Field: "files",
					Msg: fh.Filename + ": " + errs.Message(err), Err: err})
			}
			in.AttachmentIDs = append(in.AttachmentIDs, a.ID)
		}
	}
	m, err := s.Chat.Send(ctx, u, id, in)
	if err != nil {
		return s.chatFail(c, id, text, err)
	}
	if !isFetch(c) {
		return s.redirect(c, "/chat/"+id+"#latest", "")
	}
	return s.chatDone(c, id, m.ID, fiber.StatusCreated)
}

func (s *site) chatEdit(c *fiber.Ctx) error {
	id, mid, text := pv(c, "id"), pv(c, "mid"), fv(c, "text")
	if _, err := s.Chat.Edit(c.UserContext(), server.CurrentUser(c), id, mid, text); err != nil {
		return s.chatFail(c, id, "", err)
	}
	return s.chatDone(c, id, mid, fiber.StatusOK)
}

func (s *site) chatDelete(c *fiber.Ctx) error {
	id, mid := pv(c, "id"), pv(c, "mid")
	if _, err := s.Chat.Delete(c.UserContext(), server.CurrentUser(c), id, mid); err != nil {
		return s.chatFail(c, id, "", err)
	}
	return s.chatDone(c, id, mid, fiber.StatusOK)
}

func (s *site) chatReact(undo bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, mid, emoji := pv(c, "id"), pv(c, "mid"), strings.TrimSpace(fv(c, "emoji"))
		var err error
		if undo {
			_, err = s.Chat.Unreact(c.UserContext(), server.CurrentUser(c), id, mid, emoji)
		} else {
			_, err = s.Chat.React(c.UserContext(), server.CurrentUser(c), id, mid, emoji)
		}
		if err != nil {
			return s.chatFail(c, id, "", err)
		}
		return s.chatDone(c, id, mid, fiber.StatusOK)
	}
}

// chatRead records how far the viewer has read (the script sends it while the chat is in
// view; the page's button without script).
func (s *site) chatRead(c *fiber.Ctx) error {
	id := pv(c, "id")
	if _, err := s.Chat.MarkRead(c.UserContext(), server.CurrentUser(c), id, strings.TrimSpace(fv(c, "last_read_id"))); err != nil {
		return err
	}
	if isFetch(c) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return s.redirect(c, "/chat/"+id, "")
}

func (s *site) chatTyping(c *fiber.Ctx) error {
	if err := s.Chat.Typing(c.UserContext(), server.CurrentUser(c), pv(c, "id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// chatSettings renames a group chat or mutes the chat for the viewer.
func (s *site) chatSettings(c *fiber.Ctx) error {
	id := pv(c, "id")
	var ch chat.Change
	if c.Request().PostArgs().Has("name") {
		name := fv(c, "name")
		ch.Name = &name
	}
	if v := fv(c, "muted"); v != "" {
		muted := v == "1"
		ch.Muted = &muted
	}
	if _, err := s.Chat.Update(c.UserContext(), server.CurrentUser(c), id, ch); err != nil {
		return s.chatFail(c, id, "", err)
	}
	return s.redirect(c, "/chat/"+id, "")
}

// chatLeave leaves a group chat, or hides a direct chat until its next message.
func (s *site) chatLeave(c *fiber.Ctx) error {
	id := pv(c, "id")
	if err := s.Chat.Leave(c.UserContext(), server.CurrentUser(c), id); err != nil {
		return s.chatFail(c, id, "", err)
	}
	return s.redirect(c, "/chat", "")
}

func (s *site) chatAddMembers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := pv(c, "id")
	names := append(formList(c, "participants"), splitNames(fv(c, "others"))...)
	people, err := s.chatPeopleNamed(ctx, names)
	if err == nil {
		_, err = s.Chat.AddMembers(ctx, server.CurrentUser(c), id, people)
	}
	if err != nil {
		return s.chatFail(c, id, "", err)
	}
	return s.redirect(c, "/chat/"+id, "")
}

func (s *site) chatRemoveMember(c *fiber.Ctx) error {
	id := pv(c, "id")
	u := server.CurrentUser(c)
	account := pv(c, "account")
	if err := s.Chat.RemoveMember(c.UserContext(), u, id, account); err != nil {
		return s.chatFail(c, id, "", err)
	}
	if account == u.ID {
		return s.redirect(c, "/chat", "")
	}
	return s.redirect(c, "/chat/"+id, "")
}
