package inbox

import (
	"context"
	"html"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
)

// noteTypes are the object types stored as posts (Mastodon turns the others into a link too).
var noteTypes = map[string]bool{"Note": true, "Article": true, "Page": true, "Question": true}

// object returns the activity's object document: embedded when it has the actor's origin
// (the actor signed it), otherwise fetched from its own origin (never trusted as embedded).
func (in *Inbox) object(ctx context.Context, d *activity.Document) (*activity.Document, error) {
	if inner, ok := d.EmbeddedObject(); ok && sameOrigin(inner.ID(), d.Actor()) {
		return inner, nil
	}
	if d.ObjectID() == "" {
		return nil, errs.E(errs.Invalid, "the activity has no object")
	}
	return in.People.Fetch.Get(ctx, d.ObjectID())
}

func (in *Inbox) create(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	obj, err := in.object(ctx, d)
	if err != nil {
		return err
	}
	if !noteTypes[obj.Type()] {
		return ignore("Create of %s is not supported", obj.Type())
	}
	n, err := obj.AsNote()
	if err != nil {
		return errs.E(errs.Invalid, "the note cannot be read")
	}
	if !sameOrigin(n.ID, actor.Remote.URI) || n.AttributedTo != actor.Remote.URI {
		return errs.E(errs.Forbidden, "a Create must carry the actor's own note")
	}
	b := batchOf(ctx)
	if b != nil && n.InReplyTo != "" {
		b.flush(ctx, false) // the parent may be pending
	}
	rn, relevant, err := in.remoteNote(ctx, actor, n)
	if err != nil {
		return err
	}
	if n.InReplyTo != "" && rn.InReplyToID == "" && relevant {
		// The parent is unknown here: it may never have been sent to us, or it sits in another
		// inbox batch not yet committed. One fetch from its origin threads the reply either way
		// (storing by URI is idempotent). The fetched post's own parent is not fetched: depth 1.
		if parent, ferr := in.fetchPost(ctx, n.InReplyTo); ferr == nil {
			rn.InReplyToID = parent.ID
		} else {
			in.Log.Debug("inbox: parent not fetched; the reply starts its own thread", "parent", n.InReplyTo, "err", ferr)
		}
	}
	if !relevant {
		return ignore("not addressed to, followed by or answering anyone here")
	}
	if b != nil && b.current != nil {
		b.pending = append(b.pending, &pendingNote{r: b.current, author: actor, note: rn})
		return errPending
	}
	_, _, err = in.Posts.CreateRemote(ctx, actor, rn)
	return err
}

func (in *Inbox) update(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	if d.ObjectID() == actor.Remote.URI { // Update{Person}: read the actor again from its origin
		_, err := in.People.Refresh(ctx, actor.Remote.URI)
		return err
	}
	obj, err := in.object(ctx, d)
	if err != nil {
		return err
	}
	if !noteTypes[obj.Type()] {
		return ignore("Update of %s is not supported", obj.Type())
	}
	n, err := obj.AsNote()
	if err != nil {
		return errs.E(errs.Invalid, "the note cannot be read")
	}
	if n.AttributedTo != actor.Remote.URI {
		return errs.E(errs.Forbidden, "only the author can update a note")
	}
	rn, _, err := in.remoteNote(ctx, actor, n)
	if err != nil {
		return err
	}
	_, err = in.Posts.EditRemote(ctx, actor, rn)
	return err
}

func (in *Inbox) announce(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	p, err := in.Posts.ByURI(ctx, d.ObjectID())
	if errs.Is(err, errs.NotFound) {
		// A share of a post this node has not seen: worth fetching only when someone here
		// follows the sharer (it will show in their feed).
		followed, ferr := in.followedHere(ctx, actor)
		if ferr != nil || !followed {
			return ferr
		}
		if p, err = in.fetchPost(ctx, d.ObjectID()); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	_, err = in.Posts.ShareRemote(ctx, actor, p.ID, d.ID())
	return err
}

// fetchPost reads a public note from its origin and stores it.
func (in *Inbox) fetchPost(ctx context.Context, uri string) (*posts.Post, error) {
	obj, err := in.People.Fetch.Get(ctx, uri)
	if err != nil {
		return nil, err
	}
	n, err := obj.AsNote()
	if err != nil || !noteTypes[obj.Type()] {
		return nil, ignore("shared object %s is not a note", uri)
	}
	if !sameOrigin(n.ID, n.AttributedTo) {
		return nil, errs.E(errs.Forbidden, "the shared note and its author have different origins")
	}
	author, err := in.People.ByURI(ctx, n.AttributedTo)
	if err != nil {
		return nil, err
	}
	rn, _, err := in.remoteNote(ctx, author, n)
	if err != nil {
		return nil, err
	}
	if rn.Audience != posts.Public {
		return nil, ignore("only public posts can be shared")
	}
	p, _, err := in.Posts.CreateRemote(ctx, author, rn)
	return p, err
}

// remoteNote turns a note into what posts stores, and says whether it concerns anyone here:
// it addresses or mentions someone here, answers a post we have, or its author is followed
// here (Mastodon's "related to local activity" rule; everything else is dropped unread).
func (in *Inbox) remoteNote(ctx context.Context, author *accounts.User, n *activity.Note) (posts.RemoteNote, bool, error) {
	rn := posts.RemoteNote{URI: n.ID, SpoilerText: strings.TrimSpace(markup.PlainText(n.Summary)), Sensitive: n.Sensitive,
		Published: n.Published}
	for lang := range n.ContentMap {
		if len(lang) <= 16 {
			rn.Language = lang
		}
		break
	}
	addressed := append(append([]string{}, n.To...), n.Cc...)
	rn.Audience = posts.Direct
	for _, a := range addressed {
		if a == activity.Public {
			rn.Audience = posts.Public
			break
		}
		if author.Remote.FollowersURL != "" && a == author.Remote.FollowersURL {
			rn.Audience = posts.Followers
		}
	}
	mentioned := map[string]bool{}
	for _, t := range n.Tags {
		switch t.Type {
		case activity.TypeMention:
			mentioned[t.Href] = true
			addressed = append(addressed, t.Href)
		case activity.TypeHashtag:
			if tag := strings.ToLower(strings.TrimPrefix(t.Name, "#")); tag != "" && len(tag) <= 100 {
				rn.Tags = append(rn.Tags, tag)
			}
		}
	}
	relevant := false
	seen := map[string]bool{}
	for _, uri := range addressed {
		if seen[uri] || uri == activity.Public || (author.Remote.FollowersURL != "" && uri == author.Remote.FollowersURL) {
			continue // the author's followers collection is an audience, not an account
		}
		seen[uri] = true
		u, err := in.localPerson(ctx, uri)
		if err != nil {
			return rn, false, err
		}
		if u == nil {
			if u, err = in.People.Known(ctx, uri); err != nil {
				return rn, false, err
			}
		} else {
			relevant = true
		}
		if u != nil && u.ID != author.ID {
			rn.Recipients = append(rn.Recipients, posts.RemoteRecipient{AccountID: u.ID, Acct: u.Acct(),
				Mentioned: mentioned[uri] && u.Remote == nil})
		}
	}
	if n.InReplyTo != "" {
		if parent, err := in.Posts.ByURI(ctx, n.InReplyTo); err == nil {
			rn.InReplyToID, relevant = parent.ID, true
		} else if !errs.Is(err, errs.NotFound) {
			return rn, false, err
		}
	}
	if !relevant {
		followed, err := in.followedHere(ctx, author)
		if err != nil {
			return rn, false, err
		}
		relevant = followed
	}
	body := n.Content
	if n.Name != "" && n.Type != "Note" {
		body = "<p><strong>" + html.EscapeString(n.Name) + "</strong></p>" + body
	}
	links := n.Attachments
	if in.Media != nil && relevant {
		var err error
		if rn.Attachments, links, err = in.Media.Attachments(ctx, in.DB, n.Attachments); err != nil {
			return rn, false, err
		}
	}
	for _, a := range links {
		label := a.Name
		if label == "" {
			label = "attachment"
		}
		body += `<p><a href="` + html.EscapeString(a.URL) + `">` + html.EscapeString(label) + `</a></p>`
	}
	rn.ContentHTML = in.Markup.SanitizeRemote(body)
	return rn, relevant, nil
}

// followedHere reports whether anyone on this node follows the account.
func (in *Inbox) followedHere(ctx context.Context, u *accounts.User) (bool, error) {
	return in.Follows.HasFollowers(ctx, u.ID)
}
