// Package chatfed federates chats (FEDERATION.md §4): every message travels as a
// Mastodon-style direct Note, addressed only to the chat's other people (each one mentioned),
// with the chat's stable context (`context` and `conversation`, so Mastodon threads the
// messages as one conversation), `inReplyTo` for an answer, and `directMessage: true`. It is
// delivered to each remote participant's personal inbox through the durable delivery queue,
// so a node that was down receives everything when it returns.
//
// Sending: the chat service's Hook queues a "chat_federate" job in the transaction of the
// change; the job renders the activity and hands it to delivery. Only changes made here
// travel: a message is sent by its author's node to everyone, never relayed.
//
//   - a message: Create{Note}; an edit: Update{Note}; a deletion: Delete{Tombstone};
//   - a reaction: Like (the emoji in content, as Atrium and Misskey-family servers read it)
//     and Undo{Like};
//   - a group chat's member list and name, kept by the node that started the chat: an
//     Add{object: [every member], target: the chat's context, content: the name} to every
//     remote member, current and just removed. Mastodon ignores an Add whose target it does
//     not know, which is right: it keeps no member lists.
//
// Receiving: the inbox hands every activity to Handle first. A note is a chat message when
// it is direct (no Public, nobody's followers) and belongs to a chat: its context names a
// chat known here, it answers a chat message, or its context is a chat on its author's node
// (an Atrium node starting a chat). Other direct notes stay direct posts. The chat service
// checks the rest (author is a member, the id is on the author's server, idempotence).
package chatfed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
)

// JobKind is the job that turns a chat change into deliveries.
const JobKind = "chat_federate"

// Deps are the package's collaborators.
type Deps struct {
	DB       *db.DB
	Jobs     *jobs.Queue
	Chat     *chat.Service
	Accounts *accounts.Service
	People   *people.Resolver
	Delivery *delivery.Service
	Markup   *markup.Renderer
	// Media copies the images of partners' messages here (nil: they stay links).
	Media   *remotemedia.Cache
	Clock   clock.Clock
	Log     *slog.Logger
	BaseURL func(ctx context.Context) string
}

// Fed is the chat federation.
type Fed struct{ Deps }

// New registers the delivery job. Register the Fed as a chat hook and as the inbox's chat
// handler.
func New(d Deps) *Fed {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	f := &Fed{d}
	// Chat is interactive: its deliveries are not queued behind bulk work (P8).
	d.Jobs.Handle(JobKind, f.run, jobs.Concurrency(4))
	return f
}

func (f *Fed) base(ctx context.Context) string { return strings.TrimSuffix(f.BaseURL(ctx), "/") }

func (f *Fed) conv(ctx context.Context) convert.Converter {
	return convert.Converter{Base: f.base(ctx)}
}

// event is the job payload: what changed; the job loads the rest when it runs, so an edit
// queued after a deletion sends nothing stale.
type event struct {
	Kind      string    `json:"kind"` // create, update, delete, react, unreact, members
	ChatID    string    `json:"chat_id"`
	MessageID string    `json:"message_id,omitempty"`
	AccountID string    `json:"account_id,omitempty"`
	Emoji     string    `json:"emoji,omitempty"`
	Removed   []string  `json:"removed,omitempty"` // account ids that left (members)
	At        time.Time `json:"at"`
}

func (f *Fed) queue(ctx context.Context, tx bun.IDB, e event) error {
	e.At = f.Clock.Now()
	if err := f.Jobs.Enqueue(ctx, tx, JobKind, e); err != nil {
		return fmt.Errorf("chatfed: queue %s: %w", e.Kind, err)
	}
	db.AfterCommit(ctx, f.Jobs.Wake)
	return nil
}

// local reports whether a message was written here (its URI is ours).
func (f *Fed) local(ctx context.Context, m *chat.Message) bool { return m.Local(f.base(ctx)) }

// MessageCreated is chat.Hook.
func (f *Fed) MessageCreated(ctx context.Context, tx bun.IDB, c *chat.Conversation, m *chat.Message) error {
	if !f.local(ctx, m) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "create", ChatID: c.ID, MessageID: m.ID})
}

// MessageEdited is chat.Hook.
func (f *Fed) MessageEdited(ctx context.Context, tx bun.IDB, c *chat.Conversation, m *chat.Message) error {
	if !f.local(ctx, m) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "update", ChatID: c.ID, MessageID: m.ID})
}

// MessageDeleted is chat.Hook.
func (f *Fed) MessageDeleted(ctx context.Context, tx bun.IDB, c *chat.Conversation, m *chat.Message) error {
	if !f.local(ctx, m) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "delete", ChatID: c.ID, MessageID: m.ID})
}

// Reacted is chat.Hook: only this node's people's reactions travel.
func (f *Fed) Reacted(ctx context.Context, tx bun.IDB, c *chat.Conversation, m *chat.Message, accountID, emoji string) error {
	remote, err := tx.NewSelect().Table("remote_accounts").Where("id = ?", accountID).Exists(ctx)
	if err != nil {
		return err
	}
	if remote {
		return nil // someone elsewhere: their node told everyone
	}
	kind := "react"
	if emoji == "" {
		kind = "unreact"
	}
	return f.queue(ctx, tx, event{Kind: kind, ChatID: c.ID, MessageID: m.ID, AccountID: accountID, Emoji: emoji})
}

// MembersChanged is chat.Hook: the node that keeps a group chat's member list tells the
// others. A direct chat's two people are in every message's addressing; nothing to say.
func (f *Fed) MembersChanged(ctx context.Context, tx bun.IDB, c *chat.Conversation, ch chat.MembersChange) error {
	if c.IsRemote() || c.Kind != chat.Group {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "members", ChatID: c.ID, Removed: ch.Removed})
}

// ChatChanged is chat.Hook: a new name is part of the member statement.
func (f *Fed) ChatChanged(ctx context.Context, tx bun.IDB, c *chat.Conversation) error {
	return f.MembersChanged(ctx, tx, c, chat.MembersChange{})
}

// run is the job.
func (f *Fed) run(ctx context.Context, j *jobs.Job) error {
	var e event
	if err := j.Decode(&e); err != nil {
		return jobs.Permanent(err)
	}
	c, err := f.Chat.Load(ctx, e.ChatID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	everyone, err := f.Chat.Participants(ctx, c.ID)
	if err != nil {
		return err
	}
	switch e.Kind {
	case "create", "update", "delete":
		err = f.sendMessage(ctx, c, everyone, e)
	case "react", "unreact":
		err = f.sendReaction(ctx, c, everyone, e)
	case "members":
		err = f.sendMembers(ctx, c, everyone, e)
	default:
		return jobs.Permanent(fmt.Errorf("chatfed: unknown event %q", e.Kind))
	}
	if err != nil {
		return fmt.Errorf("chatfed: %s in chat %s: %w", e.Kind, c.ID, err)
	}
	return nil
}

// deliver stores a and its deliveries, signed by the local person signer.
func (f *Fed) deliver(ctx context.Context, a *activity.Activity, signer *accounts.User, objectURI string, inboxes []string) error {
	return f.Delivery.SendEncoded(ctx, a, signer.ID, f.conv(ctx).KeyID(signer), objectURI, inboxes)
}

// recipients are the chat's people other than author: their actor ids (addressing) and the
// personal inboxes of those on other nodes. Personal, not shared, inboxes: Mastodon counts
// the receiving inbox's owner as a recipient of a direct note (FEDERATION.md §4).
func (f *Fed) recipients(ctx context.Context, everyone []*accounts.User, author *accounts.User) (to []string, tags []activity.Tag, inboxes []string) {
	c := f.conv(ctx)
	seen := map[string]bool{}
	for _, p := range everyone {
		if p.ID == author.ID {
			continue
		}
		uri := c.ActorURI(p)
		to = append(to, uri)
		tags = append(tags, activity.Tag{Type: activity.TypeMention, Href: uri, Name: "@" + c.Acct(p)})
		if p.IsRemote() && p.Active() && p.Remote.Inbox != "" && !seen[p.Remote.Inbox] {
			seen[p.Remote.Inbox] = true
			inboxes = append(inboxes, p.Remote.Inbox)
		}
	}
	return to, tags, inboxes
}

// note renders a message as a direct note.
func (f *Fed) note(ctx context.Context, c *chat.Conversation, m *chat.Message, author *accounts.User, to []string, tags []activity.Tag) (*activity.Note, error) {
	cv := f.conv(ctx)
	n := &activity.Note{ID: m.URI, AttributedTo: cv.ActorURI(author), Content: m.ContentHTML, Published: m.CreatedAt,
		To: to, Context: c.URI, Conversation: c.URI, DirectMessage: true, Tags: tags}
	if m.EditedAt != nil {
		n.Updated = *m.EditedAt
	}
	if m.InReplyToID != nil {
		parent, err := f.Chat.LoadMessage(ctx, *m.InReplyToID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, err
		}
		if parent != nil {
			n.InReplyTo = parent.URI
		}
	}
	for _, a := range m.Attachments {
		at := activity.Attachment{Type: "Document", MediaType: a.ContentType, URL: cv.Base + "/media/" + a.FileKey,
			Name: a.Description, Width: a.Width, Height: a.Height}
		if a.Kind == "image" {
			at.Type = "Image"
		}
		n.Attachments = append(n.Attachments, at)
	}
	return n, nil
}

func (f *Fed) sendMessage(ctx context.Context, c *chat.Conversation, everyone []*accounts.User, e event) error {
	m, err := f.Chat.LoadMessage(ctx, e.MessageID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	author, err := f.Accounts.Lookup(ctx, m.AuthorID)
	if err != nil {
		return jobs.Permanent(err)
	}
	to, tags, inboxes := f.recipients(ctx, everyone, author)
	if len(inboxes) == 0 {
		return nil // nobody elsewhere
	}
	cv := f.conv(ctx)
	actor := cv.ActorURI(author)
	var a *activity.Activity
	switch e.Kind {
	case "create", "update":
		if m.Deleted() {
			return nil // a Delete follows
		}
		n, err := f.note(ctx, c, m, author, to, tags)
		if err != nil {
			return err
		}
		if e.Kind == "create" {
			a = activity.NewCreate(m.URI+"/activity", n)
		} else {
			a = activity.NewUpdate(m.URI+"#updates/"+fmt.Sprint(e.At.UnixNano()), actor, n)
		}
	case "delete":
		a = activity.NewDelete(m.URI+"#delete", actor, &activity.Tombstone{ID: m.URI})
	}
	a.To = to
	return f.deliver(ctx, a, author, m.URI, inboxes)
}

func (f *Fed) sendReaction(ctx context.Context, c *chat.Conversation, everyone []*accounts.User, e event) error {
	m, err := f.Chat.LoadMessage(ctx, e.MessageID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	who, err := f.Accounts.Lookup(ctx, e.AccountID)
	if err != nil || who.IsRemote() {
		return jobs.Permanent(fmt.Errorf("reaction by %s: %v", e.AccountID, err))
	}
	to, _, inboxes := f.recipients(ctx, everyone, who)
	actor := f.conv(ctx).ActorURI(who)
	// One id per (person, message): the Undo names the Like every node stored.
	like := activity.NewLike(actor+"#chat-likes/"+m.ID, actor, m.URI)
	if e.Emoji != "" && e.Emoji != posts.Like {
		like.Content = e.Emoji
	}
	like.To = to
	a := like
	if e.Kind == "unreact" {
		a = activity.NewUndo(like.ID+"/undo/"+fmt.Sprint(e.At.UnixNano()), actor, like)
		a.To = to
	}
	return f.deliver(ctx, a, who, m.URI, inboxes)
}

// sendMembers states a group chat's member list and name to every remote member, and to
// those just removed (so their node drops them). It is signed by the chat's creator, or by
// any local member when the creator is gone: the receiving node checks only that the signer
// is on the chat's own node.
func (f *Fed) sendMembers(ctx context.Context, c *chat.Conversation, everyone []*accounts.User, e event) error {
	var signer *accounts.User
	members := make([]string, 0, len(everyone))
	cv := f.conv(ctx)
	for _, p := range everyone {
		members = append(members, cv.ActorURI(p))
		if !p.IsRemote() && p.Active() && (signer == nil || p.ID == c.CreatorID) {
			signer = p
		}
	}
	if signer == nil {
		return nil // nobody here any more: the chat has moved on without this node
	}
	var inboxes []string
	seen := map[string]bool{}
	add := func(p *accounts.User) {
		if p.IsRemote() && p.Active() && p.Remote.Inbox != "" && !seen[p.Remote.Inbox] {
			seen[p.Remote.Inbox] = true
			inboxes = append(inboxes, p.Remote.Inbox)
		}
	}
	for _, p := range everyone {
		add(p)
	}
	gone, err := f.Accounts.GetMany(ctx, e.Removed)
	if err != nil {
		return err
	}
	var to []string
	for _, p := range everyone {
		if p.ID != signer.ID {
			to = append(to, cv.ActorURI(p))
		}
	}
	for _, p := range gone {
		add(p)
		to = append(to, cv.ActorURI(p))
	}
	if len(inboxes) == 0 {
		return nil
	}
	a := &activity.Activity{ID: c.URI + "#members/" + fmt.Sprint(e.At.UnixNano()), Type: "Add", Actor: cv.ActorURI(signer),
		Object: activity.IRIs(members), Target: c.URI, Content: c.Name, To: to, Published: e.At}
	return f.deliver(ctx, a, signer, c.URI, inboxes)
}

// origin is scheme://host[:port], lower-cased.
func origin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// errWaiting asks the inbox to try again later: a message of a chat whose member list has
// not arrived yet (the chat's node and the author's node deliver independently).
var errWaiting = errors.New("chatfed: the chat's member list has not arrived yet")
