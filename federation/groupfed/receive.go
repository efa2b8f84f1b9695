package groupfed

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
)

// hostName is the lower-case host of uri without its port, as the partner policy names hosts.
func hostName(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func hostOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// localGroupOf returns the group hosted here that uri names (its actor id), or nil.
func (f *Fed) localGroupOf(ctx context.Context, uri string) (*groups.Group, error) {
	prefix := f.base(ctx) + "/groups/"
	handle, ok := strings.CutPrefix(uri, prefix)
	if !ok || handle == "" || strings.ContainsAny(handle, "/#?") {
		return nil, nil
	}
	return f.local(ctx, handle)
}

// mirrored returns the mirror of the remote group uri names, or nil.
func (f *Fed) mirrored(ctx context.Context, uri string) (*groups.Group, error) {
	g, err := f.Groups.ByURI(ctx, uri)
	if errs.Is(err, errs.NotFound) || (err == nil && !g.IsRemote()) {
		return nil, nil
	}
	return g, err
}

// Handle applies an activity that concerns a group, and reports false for the others (the
// inbox applies those). Refusals are errors of kind Forbidden, NotFound or Invalid, recorded
// as the activity's outcome.
func (f *Fed) Handle(ctx context.Context, actor *accounts.User, d *activity.Document) (bool, error) {
	// From a group this node mirrors: answers, invitations and the group's announces.
	if actor.Remote.Kind == "Group" {
		g, err := f.mirrored(ctx, actor.Remote.URI)
		if err == nil && g == nil {
			g, err = f.ByURI(ctx, actor.Remote.URI) // first word from this group (an invitation)
		}
		if err != nil {
			return true, err
		}
		return true, f.fromRemoteGroup(ctx, g, actor, d)
	}
	// To a group hosted here.
	target := d.ObjectID()
	switch d.Type() {
	case activity.TypeUndo:
		if inner, ok := d.EmbeddedObject(); ok && inner.Type() == activity.TypeFollow {
			target = inner.ObjectID()
		}
	case activity.TypeCreate, activity.TypeUpdate, activity.TypeDelete, activity.TypeLike, "EmojiReact":
		target = first(d.Ext.Audience)
		if target == "" {
			if inner, ok := d.EmbeddedObject(); ok {
				target = first(inner.Ext.Audience)
			}
		}
		if target == "" && (d.Type() == activity.TypeCreate || d.Type() == activity.TypeUpdate) {
			target = f.mentionedGroup(ctx, d)
		}
		if target == "" && (d.Type() == activity.TypeLike || d.Type() == activity.TypeDelete) {
			// A like or deletion of a group post names the post only.
			if p, err := f.Posts.ByURI(ctx, d.ObjectID()); err == nil && p.GroupID != nil {
				g, err := f.Groups.Load(ctx, *p.GroupID)
				if err == nil && !g.IsRemote() {
					target = g.URI
				}
			}
		}
	}
	g, err := f.localGroupOf(ctx, target)
	if err != nil || g == nil {
		return err != nil, err
	}
	return true, f.toLocalGroup(ctx, g, actor, d)
}

// mentionedGroup finds the group hosted here that a note without an audience is for: a
// Mastodon or GoToSocial member answers the group's copy of a post (compat.go) or mentions
// the group, as their apps do for group accounts.
func (f *Fed) mentionedGroup(ctx context.Context, d *activity.Document) string {
	inner, ok := d.EmbeddedObject()
	if !ok {
		return ""
	}
	n, err := inner.AsNote()
	if err != nil {
		return ""
	}
	if _, g := f.relayedPost(ctx, n.InReplyTo); g != nil {
		return g.URI
	}
	if p, err := f.Posts.ByURI(ctx, n.InReplyTo); n.InReplyTo != "" && err == nil && p.GroupID != nil {
		if g, err := f.Groups.Load(ctx, *p.GroupID); err == nil && !g.IsRemote() {
			return g.URI
		}
	}
	for _, t := range n.Tags {
		if t.Type == activity.TypeMention {
			if g, err := f.localGroupOf(ctx, t.Href); err == nil && g != nil {
				return g.URI
			}
		}
	}
	return ""
}

// toLocalGroup applies what a remote person sends to a group hosted here.
func (f *Fed) toLocalGroup(ctx context.Context, g *groups.Group, actor *accounts.User, d *activity.Document) error {
	switch d.Type() {
	case activity.TypeFollow, "Join":
		_, err := f.Groups.Join(ctx, actor, g.ID, d.ID())
		return err
	case activity.TypeUndo:
		return f.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return f.Groups.RemoteLeft(ctx, tx, g, actor.ID) })
	case activity.TypeCreate:
		return f.memberNote(ctx, g, actor, d, false)
	case activity.TypeUpdate:
		return f.memberNote(ctx, g, actor, d, true)
	case activity.TypeDelete:
		return f.Posts.DeleteRemote(ctx, actor, d.ObjectID())
	case activity.TypeLike, "EmojiReact":
		p, err := f.Posts.ByURI(ctx, d.ObjectID())
		if err != nil {
			return errs.E(errs.NotFound, "like of an unknown post")
		}
		emoji := strings.TrimSpace(d.Ext.Content)
		if !posts.ValidReaction(emoji) {
			emoji = posts.Like
		}
		_, err = f.Posts.React(ctx, actor, p.ID, emoji)
		return err
	}
	return errs.E(errs.Invalid, "%s is not something a group accepts", d.Type())
}

// memberNote stores a member's note delivered to the group: the actor must be its author
// (the key's owner, checked by the inbox), and the group's rules decide (posts.CreateRemote
// asks groups.CanPost). Once stored, the posts hook announces it to the members' nodes.
func (f *Fed) memberNote(ctx context.Context, g *groups.Group, actor *accounts.User, d *activity.Document, edit bool) error {
	inner, ok := d.EmbeddedObject()
	if !ok {
		return errs.E(errs.Invalid, "a note to a group must be embedded")
	}
	n, err := inner.AsNote()
	if err != nil {
		return errs.E(errs.Invalid, "the note cannot be read")
	}
	if n.AttributedTo != actor.Remote.URI || hostOf(n.ID) != hostOf(actor.Remote.URI) {
		return errs.E(errs.Forbidden, "a member can only deliver their own notes")
	}
	if n.Audience == "" {
		// A Mastodon or GoToSocial member (they know nothing of audience): the note is the
		// group's from here on, and the group only ever sends it to its members. What their
		// own server did with it is its business, but a closed or secret group takes no
		// public note: it would put the group's thread in public.
		if g.Visibility != groups.Open && slices.Contains(append(append([]string{}, n.To...), n.Cc...), activity.Public) {
			return errs.E(errs.Forbidden, "a public note cannot join a %s group", g.Visibility)
		}
	} else if err := checkAddressing(g, n); err != nil {
		return err
	}
	rn, err := f.remoteNote(ctx, g, n, false)
	if err != nil {
		return err
	}
	if edit {
		_, err = f.Posts.EditRemote(ctx, actor, rn)
		return err
	}
	_, _, err = f.Posts.CreateRemote(ctx, actor, rn)
	return err
}

// checkAddressing keeps group content inside the group: no Public, nobody's followers but
// the group's.
func checkAddressing(g *groups.Group, n *activity.Note) error {
	followers := g.FollowersURL
	if followers == "" {
		followers = g.URI + "/followers"
	}
	if n.Audience != g.URI {
		return errs.E(errs.Forbidden, "the note's audience is not the group")
	}
	for _, a := range append(append([]string{}, n.To...), n.Cc...) {
		if a == activity.Public || strings.HasSuffix(a, "/followers") && a != followers {
			return errs.E(errs.Forbidden, "a group note may not be addressed to %s", a)
		}
	}
	return nil
}

// remoteNote turns a group note into what posts stores.
func (f *Fed) remoteNote(ctx context.Context, g *groups.Group, n *activity.Note, viaGroup bool) (posts.RemoteNote, error) {
	rn := posts.RemoteNote{URI: n.ID, SpoilerText: strings.TrimSpace(markup.PlainText(n.Summary)), Sensitive: n.Sensitive,
		Published: n.Published, GroupID: g.ID, ViaGroup: viaGroup, ContentHTML: f.Markup.SanitizeRemote(n.Content)}
	for _, t := range n.Tags {
		if t.Type == activity.TypeHashtag {
			if tag := strings.ToLower(strings.TrimPrefix(t.Name, "#")); tag != "" && len(tag) <= 100 {
				rn.Tags = append(rn.Tags, tag)
			}
		}
	}
	if postID, rg := f.relayedPost(ctx, n.InReplyTo); rg != nil && rg.ID == g.ID {
		rn.InReplyToID = postID // an answer to the group's copy answers the post
	} else if n.InReplyTo != "" {
		parent, err := f.Posts.ByURI(ctx, n.InReplyTo)
		if err != nil {
			return rn, errs.E(errs.NotFound, "the post answered is not in the group here")
		}
		rn.InReplyToID = parent.ID
	}
	return rn, nil
}

// fromRemoteGroup applies what a group this node mirrors sends: the answer to one of our
// people's Follow, an invitation, or an Announce of its content.
func (f *Fed) fromRemoteGroup(ctx context.Context, g *groups.Group, actor *accounts.User, d *activity.Document) error {
	switch d.Type() {
	case activity.TypeAccept, activity.TypeReject:
		inner, ok := d.EmbeddedObject()
		var who string
		if ok {
			who = inner.Actor()
		}
		local := f.localPerson(ctx, who)
		if local == nil {
			return errs.E(errs.NotFound, "the answer names nobody here")
		}
		return f.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			return f.Groups.RemoteAnswered(ctx, tx, g, local.ID, d.Type() == activity.TypeAccept)
		})
	case "Invite":
		local := f.localPerson(ctx, d.Target())
		if local == nil {
			return errs.E(errs.NotFound, "the invitation names nobody here")
		}
		return f.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			return f.Groups.RemoteInvited(ctx, tx, g, local.ID, actor.ID, d.ID())
		})
	case activity.TypeAnnounce:
		return f.announced(ctx, g, d)
	case activity.TypeUpdate:
		_, err := f.ByURIRefresh(ctx, g.URI)
		return err
	case activity.TypeDelete:
		if d.ObjectID() != g.URI {
			return errs.E(errs.Invalid, "a group can only delete itself here")
		}
		return f.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return f.Groups.RemoteGone(ctx, tx, g) })
	case activity.TypeCreate:
		// The group's followers-only copy of a post, written for Mastodon (compat.go): a node
		// whose software the group could not tell gets it next to the Announce it reads.
		return nil
	}
	return errs.E(errs.Invalid, "%s from a group is not supported", d.Type())
}

// ByURIRefresh fetches a mirrored group's actor again.
func (f *Fed) ByURIRefresh(ctx context.Context, uri string) (*groups.Group, error) {
	a, err := f.Fetch.Actor(ctx, uri)
	if err != nil {
		return nil, err
	}
	return f.mirror(ctx, a)
}

// localPerson maps one of our actor ids to the active person, or nil.
func (f *Fed) localPerson(ctx context.Context, uri string) *accounts.User {
	name, ok := strings.CutPrefix(uri, f.base(ctx)+"/users/")
	if !ok || name == "" || strings.ContainsAny(name, "/#?") {
		return nil
	}
	u, err := f.Accounts.ByUsername(ctx, name)
	if err != nil || !u.Active() {
		return nil
	}
	return u
}

// announced applies a group's Announce of a member's activity. Only a group with members
// here is heard, and only for its own content.
func (f *Fed) announced(ctx context.Context, g *groups.Group, d *activity.Document) error {
	local, err := f.DB.NewSelect().Table("group_members").Where("group_id = ? AND state = ?", g.ID, groups.Joined).
		Where("account_id IN (SELECT id FROM users)").Exists(ctx)
	if err != nil {
		return err
	}
	if !local {
		return errs.E(errs.Forbidden, "nobody here is a member of %s", g.URI)
	}
	inner, ok := d.EmbeddedObject()
	if !ok {
		return errs.E(errs.Invalid, "a group's announce must embed the activity")
	}
	if strings.HasPrefix(inner.Actor(), f.base(ctx)+"/") {
		// Our own activity, back from the group: we have it, unless the group removed one of
		// our people's posts (a moderator's deletion on the home node).
		if inner.Type() == activity.TypeDelete {
			return f.Posts.DeleteViaGroup(ctx, g.ID, inner.ObjectID())
		}
		return nil
	}
	// The author may be on a node that is a partner of the group's node but not of this
	// one: the group vouches for its member, so their actor may be read (fetch.Vouched).
	author, err := f.People.ByURI(fetch.Vouched(ctx, hostName(inner.Actor())), inner.Actor())
	if err != nil {
		return err
	}
	switch inner.Type() {
	case activity.TypeLike, "EmojiReact":
		emoji := strings.TrimSpace(inner.Ext.Content)
		if !posts.ValidReaction(emoji) {
			emoji = posts.Like
		}
		_, err := f.Posts.ReactViaGroup(ctx, author, g.ID, inner.ObjectID(), emoji)
		if errs.Is(err, errs.NotFound) {
			return nil // a post that never reached this node, or is gone
		}
		return err
	case activity.TypeUndo:
		if like, ok := inner.EmbeddedObject(); ok && (like.Type() == activity.TypeLike || like.Type() == "EmojiReact") {
			_, err := f.Posts.UnreactViaGroup(ctx, author, g.ID, like.ObjectID())
			if errs.Is(err, errs.NotFound) {
				return nil
			}
			return err
		}
		return errs.E(errs.Invalid, "announced undo of something other than a reaction")
	case activity.TypeCreate, activity.TypeUpdate:
		obj, ok := inner.EmbeddedObject()
		if !ok {
			return errs.E(errs.Invalid, "the announced activity must embed its note")
		}
		n, err := obj.AsNote()
		if err != nil {
			return errs.E(errs.Invalid, "the note cannot be read")
		}
		if n.AttributedTo != author.Remote.URI || hostOf(n.ID) != hostOf(author.Remote.URI) {
			return errs.E(errs.Forbidden, "the announced note is not its actor's")
		}
		if err := checkAddressing(g, n); err != nil {
			return err
		}
		rn, err := f.remoteNote(ctx, g, n, true)
		if err != nil {
			return err
		}
		if inner.Type() == activity.TypeUpdate {
			_, err = f.Posts.EditRemote(ctx, author, rn)
			return err
		}
		_, _, err = f.Posts.CreateRemote(ctx, author, rn)
		return err
	case activity.TypeDelete:
		// The group's word: its author's deletion or a moderator's.
		return f.Posts.DeleteViaGroup(ctx, g.ID, inner.ObjectID())
	}
	return errs.E(errs.Invalid, "announced %s is not supported", inner.Type())
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}
