package chatfed

import (
	"context"
	"html"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// Handle applies an activity that concerns a chat and reports false for everything else
// (the inbox applies those). Refusals are errors of kind Forbidden, NotFound or Invalid;
// other errors make the inbox try again.
func (f *Fed) Handle(ctx context.Context, actor *accounts.User, d *activity.Document) (bool, error) {
	switch d.Type() {
	case activity.TypeCreate, activity.TypeUpdate:
		inner, ok := d.EmbeddedObject()
		if !ok || inner.Type() != "Note" {
			return false, nil
		}
		n, err := inner.AsNote()
		if err != nil {
			return false, nil
		}
		is, err := f.isChatNote(ctx, actor, n)
		if err != nil || !is {
			return err != nil, err
		}
		if n.AttributedTo != actor.Remote.URI {
			return true, errs.E(errs.Forbidden, "a chat message can only be delivered by its author")
		}
		if d.Type() == activity.TypeUpdate {
			_, err := f.Chat.ReceiveEdit(ctx, actor, n.ID, f.Markup.SanitizeRemote(n.Content))
			return true, err
		}
		return true, f.receiveMessage(ctx, actor, n)
	case activity.TypeDelete:
		if _, err := f.Chat.ByURI(ctx, d.ObjectID()); err != nil {
			return false, nil // not a chat message (or one never seen: nothing to delete)
		}
		return true, f.Chat.ReceiveDelete(ctx, actor, d.ObjectID())
	case activity.TypeLike, "EmojiReact":
		if _, err := f.Chat.ByURI(ctx, d.ObjectID()); err != nil {
			return false, nil
		}
		emoji := strings.TrimSpace(d.Ext.Content)
		if !posts.ValidReaction(emoji) {
			emoji = posts.Like
		}
		return true, f.Chat.ReceiveReaction(ctx, actor, d.ObjectID(), emoji, false)
	case activity.TypeUndo:
		inner, ok := d.EmbeddedObject()
		if !ok || (inner.Type() != activity.TypeLike && inner.Type() != "EmojiReact") {
			return false, nil
		}
		if _, err := f.Chat.ByURI(ctx, inner.ObjectID()); err != nil {
			return false, nil
		}
		if inner.Actor() != actor.Remote.URI {
			return true, errs.E(errs.Forbidden, "only the one who reacted can take a reaction back")
		}
		return true, f.Chat.ReceiveReaction(ctx, actor, inner.ObjectID(), "", true)
	case "Add":
		target := d.Target()
		if target == "" || origin(target) != origin(actor.Remote.URI) {
			return false, nil // not a statement about a chat of the actor's node
		}
		if _, err := f.Chat.ByContext(ctx, target); err != nil && !chatContext(target) {
			return false, nil
		}
		people := make([]*accounts.User, 0, len(d.ObjectIDs()))
		for _, uri := range d.ObjectIDs() {
			p, err := f.person(ctx, uri)
			if err != nil {
				if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
					continue // gone, or on a node this one does not talk to: left out
				}
				return true, err
			}
			people = append(people, p)
		}
		_, err := f.Chat.ReceiveMembers(ctx, actor, target, d.Ext.Content, people)
		return true, err
	}
	return false, nil
}

// person is one of the people a chat names: ours by actor id, anyone else's resolved.
func (f *Fed) person(ctx context.Context, uri string) (*accounts.User, error) {
	if name, ok := strings.CutPrefix(uri, f.base(ctx)+"/users/"); ok && name != "" && !strings.ContainsAny(name, "/#?") {
		return f.Accounts.ByUsername(ctx, name)
	}
	return f.People.ByURI(ctx, uri)
}

// chatContext reports whether uri looks like an Atrium chat's context (…/chats/<id>).
func chatContext(uri string) bool {
	i := strings.LastIndex(uri, "/chats/")
	return i > 0 && i+len("/chats/") < len(uri) && !strings.ContainsAny(uri[i+len("/chats/"):], "/#?")
}

// isChatNote decides whether a note belongs to a chat (see the package documentation).
func (f *Fed) isChatNote(ctx context.Context, actor *accounts.User, n *activity.Note) (bool, error) {
	for _, a := range append(append([]string{}, n.To...), n.Cc...) {
		if a == activity.Public || strings.HasSuffix(a, "/followers") {
			return false, nil // not direct: a post
		}
	}
	for _, c := range []string{n.Context, n.Conversation} {
		if c == "" {
			continue
		}
		if _, err := f.Chat.ByContext(ctx, c); err == nil {
			return true, nil
		} else if !errs.Is(err, errs.NotFound) {
			return false, err
		}
	}
	if n.InReplyTo != "" {
		if _, err := f.Chat.ByURI(ctx, n.InReplyTo); err == nil {
			return true, nil
		}
	}
	// A chat of an Atrium node (the author's, or for a group chat the node that keeps it).
	return chatContext(n.Context), nil
}

// receiveMessage stores a partner's message: its addressing resolved to people (the unknown
// and the unreachable are left to the chat service to judge), its images queued for copying.
func (f *Fed) receiveMessage(ctx context.Context, actor *accounts.User, n *activity.Note) error {
	rm := chat.RemoteMessage{URI: n.ID, ContextURI: n.Context, InReplyToURI: n.InReplyTo, Published: n.Published}
	if rm.ContextURI == "" {
		rm.ContextURI = n.Conversation
	}
	for _, uri := range n.To {
		if uri == actor.Remote.URI {
			continue
		}
		p, err := f.person(ctx, uri)
		if err != nil {
			if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
				continue
			}
			return err
		}
		rm.To = append(rm.To, p)
	}
	body, links := n.Content, n.Attachments
	if f.Media != nil {
		var err error
		if rm.Attachments, links, err = f.Media.Attachments(ctx, f.DB, n.Attachments); err != nil {
			return err
		}
	}
	for _, a := range links {
		label := a.Name
		if label == "" {
			label = "attachment"
		}
		body += `<p><a href="` + html.EscapeString(a.URL) + `">` + html.EscapeString(label) + `</a></p>`
	}
	rm.ContentHTML = f.Markup.SanitizeRemote(body)
	if origin(rm.ContextURI) != origin(actor.Remote.URI) && chatContext(rm.ContextURI) {
		// A group chat kept by a third node: unless the chat is known here (or the note
		// answers one of its messages), its member list has not arrived yet, because the
		// chat's node and the author's node deliver independently. Try again later.
		if _, err := f.Chat.ByContext(ctx, rm.ContextURI); errs.Is(err, errs.NotFound) {
			if _, err := f.Chat.ByURI(ctx, rm.InReplyToURI); rm.InReplyToURI == "" || err != nil {
				return errWaiting
			}
		} else if err != nil {
			return err
		}
	}
	_, _, err := f.Chat.ReceiveMessage(ctx, actor, rm)
	return err
}
