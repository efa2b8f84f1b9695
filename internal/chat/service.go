package chat

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/ratelimit"
	"github.com/atrium-social/atrium/internal/realtime"
)

// Hook hears of chat changes inside the transaction that made them, whoever made them: a
// person here, or a partner's node through the Receive functions. Federation implements it
// to send activities for this node's own changes (and, on the node that keeps a group chat's
// member list, to relay the others). Implementations only write; they never call back into
// chat.
type Hook interface {
	MessageCreated(ctx context.Context, tx bun.IDB, c *Conversation, m *Message) error
	MessageEdited(ctx context.Context, tx bun.IDB, c *Conversation, m *Message) error
	MessageDeleted(ctx context.Context, tx bun.IDB, c *Conversation, m *Message) error
	// MembersChanged reports people added to or removed from c (a new chat adds everyone).
	MembersChanged(ctx context.Context, tx bun.IDB, c *Conversation, ch MembersChange) error
	// Reacted reports that accountID's reaction to m is now emoji ("" when withdrawn).
	Reacted(ctx context.Context, tx bun.IDB, c *Conversation, m *Message, accountID, emoji string) error
	// ChatChanged reports a new name.
	ChatChanged(ctx context.Context, tx bun.IDB, c *Conversation) error
}

// MembersChange is who joined and who left a chat, and who did it: a member's id, or "" when
// the node that keeps the member list said so.
type MembersChange struct {
	Added, Removed []string
	By             string
}

// Renderer encodes what live events carry in the shapes clients know (the JSON API's); nil
// Deps.Render uses this package's plain encoding. Both are called after commit, outside any
// transaction.
type Renderer interface {
	// Message renders a hydrated message as every member sees it (no viewer's own marks).
	Message(ctx context.Context, m *Message) ([]byte, error)
	// Conversation renders the chat as Mastodon's Conversation entity for viewer, whose view
	// of it v is (the last message without the viewer's own marks).
	Conversation(ctx context.Context, viewer *accounts.User, v *View) ([]byte, error)
}

// Deps are the service's collaborators.
type Deps struct {
	DB       *db.DB
	Clock    clock.Clock
	Log      *slog.Logger
	Accounts *accounts.Service
	Markup   *markup.Renderer
	// Media removes the files of deleted messages (nil: they stay in the store).
	Media media.Store
	// Hub carries live events to the members' streams (nil: none are sent).
	Hub *realtime.Hub
	// BaseURL is the node's public URL; chat and message URIs are built from it.
	BaseURL func(ctx context.Context) string
	// Reachable decides whether a person on another node can be in a chat here (the partner
	// policy; see PartnerPolicy), returning an error that says why not. nil: nobody on
	// another node can be reached.
	Reachable func(ctx context.Context, u *accounts.User) error
	// FetchPreview asks for the preview card of a message's link, after commit (nil: none).
	FetchPreview func(ctx context.Context, url string)
	// Render encodes live events (nil: plain JSON).
	Render Renderer
}

// Typing indicator limits: one event per person per chat per TypingInterval (more are
// dropped quietly, as clients repeat them while someone types), and at most typingBurst
// events per person per minute across all chats (beyond that, an error).
const (
	TypingInterval = 3 * time.Second
	typingBurst    = 60
)

// Service keeps chats and their messages.
type Service struct {
	Deps
	hooks      []Hook
	typingEach *ratelimit.Limiter
	typingAll  *ratelimit.Limiter
}

// New makes the service.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d, typingEach: ratelimit.New(d.Clock, 1, TypingInterval), typingAll: ratelimit.New(d.Clock, typingBurst, time.Minute)}
}

// AddHook registers a listener.
func (s *Service) AddHook(h Hook) { s.hooks = append(s.hooks, h) }

// PartnerPolicy is a Reachable built on the node's partner policy (orgs.Partners.Allowed):
// people on other nodes are reachable when their node is a partner.
func PartnerPolicy(allowed func(ctx context.Context, host string) bool) func(ctx context.Context, u *accounts.User) error {
	return func(ctx context.Context, u *accounts.User) error {
		if !u.IsRemote() {
			return nil
		}
		if allowed == nil || !allowed(ctx, u.Remote.Domain) {
			return errs.E(errs.Forbidden, "@%s cannot be reached: %s is not a partner of this node", u.Acct(), u.Remote.Domain)
		}
		return nil
	}
}

// notFound is the one answer for chats the person is not in, so a 404 never confirms that a
// chat exists.
func notFound() error { return errs.E(errs.NotFound, "this chat does not exist or you are not in it") }

func messageNotFound() error {
	return errs.E(errs.NotFound, "this message does not exist in this chat")
}

// reachable says why u cannot take part in a chat here, or nil.
func (s *Service) reachable(ctx context.Context, u *accounts.User) error {
	if !u.Active() {
		return errs.E(errs.Forbidden, "@%s's account is deactivated, so they cannot receive messages", u.Acct())
	}
	if !u.IsRemote() {
		return nil
	}
	if s.Reachable == nil {
		return errs.E(errs.Forbidden, "@%s cannot be reached: this node does not federate", u.Acct())
	}
	return s.Reachable(ctx, u)
}

// load returns a chat and u's membership of it, or notFound.
func (s *Service) load(ctx context.Context, idb bun.IDB, u *accounts.User, chatID string) (*Conversation, *Member, error) {
	if u == nil || chatID == "" {
		return nil, nil, notFound()
	}
	c := new(Conversation)
	if err := idb.NewSelect().Model(c).Where("id = ?", chatID).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, nil, notFound()
		}
		return nil, nil, err
	}
	m, err := s.memberOf(ctx, idb, c.ID, u.ID)
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, notFound()
	}
	return c, m, nil
}

// memberOf returns accountID's membership of the chat, or nil.
func (s *Service) memberOf(ctx context.Context, idb bun.IDB, chatID, accountID string) (*Member, error) {
	m := new(Member)
	if err := idb.NewSelect().Model(m).Where("conversation_id = ? AND account_id = ?", chatID, accountID).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return m, nil
}

// acting loads the chat for a change by u (an active person of this node), after taking the
// chat's change counter: that locks the chat's row until commit, so changes to one chat
// are applied, numbered and seen in one order.
func (s *Service) acting(ctx context.Context, tx bun.IDB, u *accounts.User, chatID string) (*Conversation, *Member, int64, error) {
	if !u.Active() || u.IsRemote() {
		return nil, nil, 0, errs.E(errs.Forbidden, "your account cannot use chat")
	}
	seq, err := s.bump(ctx, tx, chatID)
	if err != nil {
		return nil, nil, 0, err
	}
	c, m, err := s.load(ctx, tx, u, chatID)
	return c, m, seq, err
}

// bump advances the chat's change counter and returns its new value.
func (s *Service) bump(ctx context.Context, tx bun.IDB, chatID string) (int64, error) {
	var seq int64
	err := tx.NewRaw("UPDATE chat_conversations SET seq = seq + 1 WHERE id = ? RETURNING seq", chatID).Scan(ctx, &seq)
	if db.IsNotFound(err) {
		return 0, notFound()
	}
	return seq, err
}

func (s *Service) members(ctx context.Context, idb bun.IDB, chatIDs ...string) ([]*Member, error) {
	var out []*Member
	if len(chatIDs) == 0 {
		return nil, nil
	}
	err := idb.NewSelect().Model(&out).Where("conversation_id IN (?)", bun.In(chatIDs)).Order("joined_at", "account_id").Scan(ctx)
	return out, err
}

// Members lists everyone in a chat, whoever asks (federation addresses them).
func (s *Service) Members(ctx context.Context, chatID string) ([]*Member, error) {
	return s.members(ctx, s.DB, chatID)
}

// Participants returns the people in a chat, whoever asks (federation addresses them).
func (s *Service) Participants(ctx context.Context, chatID string) ([]*accounts.User, error) {
	ms, err := s.members(ctx, s.DB, chatID)
	if err != nil {
		return nil, err
	}
	idList := make([]string, len(ms))
	for i, m := range ms {
		idList[i] = m.AccountID
	}
	people, err := s.Accounts.GetMany(ctx, idList)
	if err != nil {
		return nil, err
	}
	out := make([]*accounts.User, 0, len(ms))
	for _, m := range ms {
		if p := people[m.AccountID]; p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Load returns a chat by id whoever asks (federation and jobs).
func (s *Service) Load(ctx context.Context, id string) (*Conversation, error) {
	c := new(Conversation)
	if err := s.DB.NewSelect().Model(c).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "this chat does not exist")
	}
	return c, nil
}

// ByContext returns the chat a context URI names (its own or another one a partner used).
func (s *Service) ByContext(ctx context.Context, uri string) (*Conversation, error) {
	return s.byContext(ctx, s.DB, uri)
}

func (s *Service) byContext(ctx context.Context, idb bun.IDB, uri string) (*Conversation, error) {
	c := new(Conversation)
	err := idb.NewSelect().Model(c).Where("id = (SELECT conversation_id FROM chat_contexts WHERE uri = ?)", uri).Scan(ctx)
	if err != nil {
		return nil, db.Err(err, "this chat does not exist")
	}
	return c, nil
}

// pairKey is the key that makes a direct chat unique per pair of people.
func pairKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + " " + b
}

// NewChat is what a person fills in to start a chat.
type NewChat struct {
	Participants []*accounts.User // the people besides the creator
	// Name names a group chat. A chat with one other person and no name, unless Group is
	// set, is their direct chat.
	Name  string
	Group bool
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(strings.ReplaceAll(name, "\x00", ""))
	if n := utf8.RuneCountInString(name); n > MaxNameChars {
		return "", errs.Field("name", "chat names are limited to %d characters; this one has %d", MaxNameChars, n)
	}
	return name, nil
}

// Create starts a chat, or returns the direct chat u already has with that person (created
// is then false, and the chat is back on u's list if they had hidden it).
func (s *Service) Create(ctx context.Context, u *accounts.User, in NewChat) (v *View, created bool, err error) {
	if !u.Active() || u.IsRemote() {
		return nil, false, errs.E(errs.Forbidden, "your account cannot use chat")
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return nil, false, err
	}
	var people []*accounts.User
	seen := map[string]bool{u.ID: true}
	for _, p := range in.Participants {
		if p == nil || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		if err := s.reachable(ctx, p); err != nil {
			return nil, false, err
		}
		people = append(people, p)
	}
	if len(people) == 0 {
		return nil, false, errs.Field("participants", "choose at least one person to chat with")
	}
	if len(people)+1 > MaxMembers {
		return nil, false, errs.Field("participants", "a chat holds at most %d people", MaxMembers)
	}
	kind := Group
	if len(people) == 1 && name == "" && !in.Group {
		kind = Direct
	}
	now := s.Clock.Now().Truncate(time.Millisecond)
	c := &Conversation{ID: ids.New(now), Kind: kind, Name: name, CreatorID: u.ID, CreatedAt: now, UpdatedAt: now}
	c.ActivityID = c.ID
	c.URI = s.BaseURL(ctx) + "/chats/" + c.ID
	if kind == Direct {
		k := pairKey(u.ID, people[0].ID)
		c.PairKey = &k
	}
	for attempt := 0; ; attempt++ {
		err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if kind == Direct {
				existing := new(Conversation)
				err := tx.NewSelect().Model(existing).Where("pair_key = ?", *c.PairKey).Scan(ctx)
				if err == nil {
					c, created = existing, false
					_, err = tx.NewUpdate().Model((*Member)(nil)).Set("hidden = FALSE").
						Where("conversation_id = ? AND account_id = ?", c.ID, u.ID).Exec(ctx)
					return err
				}
				if !db.IsNotFound(err) {
					return err
				}
			}
			if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
				return db.Err(err, "this chat exists already")
			}
			if _, err := tx.NewInsert().Model(&contextRow{URI: c.URI, ConversationID: c.ID}).Exec(ctx); err != nil {
				return err
			}
			added, err := s.insertMembers(ctx, tx, c, u.ID, "", append([]*accounts.User{u}, people...), now)
			if err != nil {
				return err
			}
			created = true
			return s.membersChanged(ctx, tx, c, MembersChange{Added: added, By: u.ID}, "created")
		})
		// Two people opening their direct chat at the same moment: the second insert meets
		// the first one's pair key, and the retry finds that chat.
		if attempt == 0 && errs.Is(err, errs.Conflict) && kind == Direct {
			continue
		}
		break
	}
	if err != nil {
		return nil, false, err
	}
	v, err = s.Get(ctx, u, c.ID)
	return v, created, err
}

// insertMembers adds people to c (skipping those already in it) and returns the ids added.
// The creator of a group chat is its admin; people added later (historyFrom set) read from
// the moment they were added.
func (s *Service) insertMembers(ctx context.Context, tx bun.IDB, c *Conversation, by, historyFrom string,
	people []*accounts.User, now time.Time) ([]string, error) {
	var added []string
	for _, p := range people {
		m := &Member{ConversationID: c.ID, AccountID: p.ID, Local: !p.IsRemote(), Role: RoleMember,
			HistoryFrom: historyFrom, LastReadID: historyFrom, AddedBy: by, JoinedAt: now}
		if c.Kind == Group && p.ID == c.CreatorID && !c.IsRemote() {
			m.Role = RoleAdmin
		}
		res, err := tx.NewInsert().Model(m).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, p.ID)
		}
	}
	return added, nil
}

// historyFloor is the smallest message id of the moment t: a member added at t reads the
// messages from then on.
func historyFloor(t time.Time) string { return ids.New(t)[:10] + "0000000000000000" }

// Get returns a chat u is in, with its members, u's unread count and the last message.
func (s *Service) Get(ctx context.Context, u *accounts.User, id string) (*View, error) {
	c, me, err := s.load(ctx, s.DB, u, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.views(ctx, u, []*Conversation{c}, map[string]*Member{c.ID: me})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// ListOptions choose a page of chats.
type ListOptions struct {
	Page
	Hidden bool // include the chats u has hidden
}

// List returns u's chats, the most recently active first, paged on Conversation.ActivityID.
func (s *Service) List(ctx context.Context, u *accounts.User, o ListOptions) ([]*View, error) {
	if u == nil {
		return nil, nil
	}
	var cs []*Conversation
	q := s.DB.NewSelect().Model(&cs).ModelTableExpr("chat_conversations AS c").ColumnExpr("c.*").
		Join("JOIN chat_members AS m ON m.conversation_id = c.id").Where("m.account_id = ?", u.ID)
	if !o.Hidden {
		q = q.Where("NOT m.hidden")
	}
	q, asc := o.Page.apply(q, "c.activity_id")
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	if asc {
		reverse(cs)
	}
	return s.views(ctx, u, cs, nil)
}

// views completes chats for u: members, unread counts and last messages, in a few queries
// for the whole page. mine may hold u's memberships already read.
func (s *Service) views(ctx context.Context, u *accounts.User, cs []*Conversation, mine map[string]*Member) ([]*View, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	chatIDs := make([]string, len(cs))
	for i, c := range cs {
		chatIDs[i] = c.ID
	}
	ms, err := s.members(ctx, s.DB, chatIDs...)
	if err != nil {
		return nil, err
	}
	out := make([]*View, len(cs))
	byChat := make(map[string]*View, len(cs))
	for i, c := range cs {
		out[i] = &View{Conversation: c}
		byChat[c.ID] = out[i]
	}
	for _, m := range ms {
		v := byChat[m.ConversationID]
		v.Members = append(v.Members, m)
		if m.AccountID == u.ID {
			v.Me = m
		}
	}
	var unread []struct {
		ConversationID string `bun:"conversation_id"`
		N              int    `bun:"n"`
	}
	err = s.DB.NewSelect().TableExpr("chat_messages AS x").ColumnExpr("x.conversation_id, COUNT(*) AS n").
		Join("JOIN chat_members AS m ON m.conversation_id = x.conversation_id AND m.account_id = ?", u.ID).
		Where("x.conversation_id IN (?)", bun.In(chatIDs)).Where("x.id > m.last_read_id").
		Where("x.author_id <> ?", u.ID).Where("x.deleted_at IS NULL").GroupExpr("x.conversation_id").Scan(ctx, &unread)
	if err != nil {
		return nil, err
	}
	for _, r := range unread {
		byChat[r.ConversationID].Unread = min(r.N, maxUnreadCount)
	}
	var lastIDs []string
	for _, v := range out {
		if v.Me == nil {
			v.Me = mine[v.Conversation.ID]
		}
		if v.Me == nil { // left between the two reads
			v.Me = &Member{ConversationID: v.Conversation.ID, AccountID: u.ID}
		}
		if a := v.Conversation.ActivityID; a != v.Conversation.ID && a >= v.Me.HistoryFrom {
			lastIDs = append(lastIDs, a)
		}
	}
	if len(lastIDs) > 0 {
		var last []*Message
		if err := s.DB.NewSelect().Model(&last).Where("id IN (?)", bun.In(lastIDs)).Scan(ctx); err != nil {
			return nil, err
		}
		if err := s.hydrate(ctx, s.DB, u.ID, last); err != nil {
			return nil, err
		}
		for _, m := range last {
			byChat[m.ConversationID].LastMessage = m
		}
	}
	return out, nil
}

// Change is an edit of a chat's settings; nil fields stay.
type Change struct {
	Name  *string // group chats; any member may rename
	Muted *bool   // the person's own setting
}

// Update renames a group chat or mutes it for u.
func (s *Service) Update(ctx context.Context, u *accounts.User, id string, ch Change) (*View, error) {
	if ch.Name != nil {
		name, err := cleanName(*ch.Name)
		if err != nil {
			return nil, err
		}
		ch.Name = &name
	}
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c, me, _, err := s.acting(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if ch.Muted != nil && *ch.Muted != me.Muted {
			if _, err := tx.NewUpdate().Model(me).Set("muted = ?", *ch.Muted).WherePK().Exec(ctx); err != nil {
				return err
			}
		}
		if ch.Name != nil && *ch.Name != c.Name {
			if c.Kind == Direct {
				return errs.Field("name", "a direct chat has no name; start a group chat to name it")
			}
			if c.IsRemote() {
				return errs.E(errs.Forbidden, "this chat is kept by %s, where it was started; it can be renamed there", c.Domain)
			}
			c.Name, c.UpdatedAt = *ch.Name, s.Clock.Now()
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
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, u, id)
}

// Hide takes a chat off u's list until its next message (Mastodon's "delete conversation").
func (s *Service) Hide(ctx context.Context, u *accounts.User, id string) error {
	_, me, err := s.load(ctx, s.DB, u, id)
	if err != nil {
		return err
	}
	_, err = s.DB.NewUpdate().Model(me).Set("hidden = TRUE").WherePK().Exec(ctx)
	return err
}

// UnreadChats counts u's chats with unread messages, muted and hidden ones aside: the badge.
func (s *Service) UnreadChats(ctx context.Context, u *accounts.User) (int, error) {
	n, err := s.DB.NewSelect().TableExpr("chat_members AS m").
		Where("m.account_id = ? AND NOT m.muted AND NOT m.hidden", u.ID).
		Where("EXISTS (SELECT 1 FROM chat_messages x WHERE x.conversation_id = m.conversation_id AND x.id > m.last_read_id AND x.author_id <> ? AND x.deleted_at IS NULL)", u.ID).
		Count(ctx)
	return int(n), err
}

// origin is a URI's scheme, host and port, lower-cased: what origin checks compare.
func origin(uri string) string {
	p, err := url.Parse(uri)
	if err != nil || p.Host == "" {
		return ""
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}
