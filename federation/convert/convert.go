// Package convert turns this node's domain values (people, posts, reactions, follows) into
// the ActivityStreams values of federation/activity, and names them: every IRI this node
// mints for federation is built here, so the actor routes, the outbox and the inbox agree on
// them. It holds no state; a Converter is a base URL.
//
// Ids follow Mastodon's shapes, which peers recognise in logs and which stay stable:
//
//	person        <base>/users/<username>            (key <...>#main-key)
//	post          <base>/users/<username>/statuses/<id>   (share: .../statuses/<id>/activity)
//	Create        <post>/activity
//	Update        <post>#updates/<unix-nanos>
//	Delete        <post>#delete
//	Like          <person>#likes/<post id>/<unix-nanos>
//	Follow        <person>#follows/<ulid>
//	Block         <person>#blocks/<ulid>
//	Flag          <base>/actor#flags/<report id>
//	Accept/Undo   <the activity>/accept, /undo/<unix-nanos>
package convert

import (
	"strconv"
	"strings"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/posts"
)

// Converter builds activities for the node at Base (no trailing slash).
type Converter struct{ Base string }

// ActorURI is the ActivityPub id of a person, local or remote.
func (c Converter) ActorURI(u *accounts.User) string {
	if u.Remote != nil {
		return u.Remote.URI
	}
	return c.Base + "/users/" + u.Username
}

// KeyID is the id of a local person's key.
func (c Converter) KeyID(u *accounts.User) string { return c.ActorURI(u) + "#main-key" }

// InstanceActor is the node's own actor, which signs GETs.
func (c Converter) InstanceActor() string { return c.Base + "/actor" }

// Followers is the followers collection of a local person.
func (c Converter) Followers(u *accounts.User) string {
	if u.Remote != nil {
		return u.Remote.FollowersURL
	}
	return c.ActorURI(u) + "/followers"
}

// Addressing is the to/cc of a post: its audience as ActivityPub says it. root is the thread's
// first post (p itself for a post), whose audience governs comments; mentioned are the actor
// URIs the post addresses. A public post or reply is copied to its own author's followers, as
// Mastodon does; a followers-only thread stays with the root author's followers.
func (c Converter) Addressing(author *accounts.User, root *posts.Post, rootAuthor *accounts.User, mentioned []string) (to, cc []string) {
	switch root.Audience {
	case posts.Public:
		return []string{activity.Public}, append([]string{c.Followers(author)}, mentioned...)
	case posts.Followers:
		return []string{c.Followers(rootAuthor)}, mentioned
	default: // direct: only the people addressed
		return mentioned, nil
	}
}

// Note renders a post for federation. parentURI is the URI of the post it answers ("" for
// none); mentions maps account ids to their actors (for Mention tags).
func (c Converter) Note(p *posts.Post, author *accounts.User, parentURI string, to, cc []string, mentions map[string]*accounts.User) *activity.Note {
	n := &activity.Note{ID: p.URI, AttributedTo: c.ActorURI(author), Content: p.ContentHTML, Summary: escapeText(p.SpoilerText),
		Sensitive: p.Sensitive, InReplyTo: parentURI, URL: c.Base + "/posts/" + p.ID, Published: p.CreatedAt, To: to, Cc: cc,
		DirectMessage: p.Audience == posts.Direct}
	if p.EditedAt != nil {
		n.Updated = *p.EditedAt
	}
	if p.Language != "" {
		n.ContentMap = map[string]string{p.Language: p.ContentHTML}
	}
	for _, r := range p.Mentions {
		if m := mentions[r.AccountID]; m != nil && r.Mentioned {
			n.Tags = append(n.Tags, activity.Tag{Type: activity.TypeMention, Href: c.ActorURI(m), Name: "@" + c.Acct(m)})
		}
	}
	for _, t := range p.Tags {
		n.Tags = append(n.Tags, activity.Tag{Type: activity.TypeHashtag, Name: "#" + t, Href: c.Base + "/tags/" + t})
	}
	for _, a := range p.Attachments {
		at := activity.Attachment{Type: "Document", MediaType: a.ContentType, URL: c.Base + "/media/" + a.FileKey,
			Name: a.Description, Width: a.Width, Height: a.Height}
		if a.Kind == "image" {
			at.Type = "Image"
		}
		n.Attachments = append(n.Attachments, at)
	}
	return n
}

// Acct is user@host for anyone, local people included (how other nodes address them).
func (c Converter) Acct(u *accounts.User) string {
	if u.Remote != nil {
		return u.Acct()
	}
	return u.Username + "@" + config.Host(c.Base)
}

// Create wraps a note.
func (c Converter) Create(n *activity.Note) *activity.Activity {
	a := activity.NewCreate(n.ID+"/activity", n)
	return a
}

// Update announces a post's new version.
func (c Converter) Update(n *activity.Note, actor string, at time.Time) *activity.Activity {
	return activity.NewUpdate(n.ID+"#updates/"+strconv.FormatInt(at.UnixNano(), 10), actor, n)
}

// Delete says a post is gone, to the same addressing it had.
func (c Converter) Delete(p *posts.Post, actor string, to, cc []string) *activity.Activity {
	a := activity.NewDelete(p.URI+"#delete", actor, &activity.Tombstone{ID: p.URI})
	a.To, a.Cc = to, cc
	return a
}

// Like is a reaction; emoji other than the plain like ride in content, which Atrium and
// Misskey-family servers read and Mastodon ignores (it sees a favourite).
func (c Converter) Like(actor, objectURI, postID, emoji string, at time.Time) *activity.Activity {
	a := activity.NewLike(actor+"#likes/"+postID+"/"+strconv.FormatInt(at.UnixNano(), 10), actor, objectURI)
	if emoji != "" && emoji != posts.Like {
		a.Content = emoji
	}
	return a
}

// Undo withdraws an earlier activity.
func (c Converter) Undo(inner *activity.Activity, at time.Time) *activity.Activity {
	u := activity.NewUndo(inner.ID+"/undo/"+strconv.FormatInt(at.UnixNano(), 10), inner.Actor, inner)
	u.To, u.Cc = inner.To, inner.Cc
	return u
}

// Announce shares a post.
func (c Converter) Announce(share *posts.Post, actor, objectURI string, to, cc []string) *activity.Activity {
	return activity.NewAnnounce(share.URI, actor, objectURI, to, cc, share.CreatedAt)
}

// BlockID mints the id of a Block sent by a local person.
func (c Converter) BlockID(u *accounts.User, ulid string) string {
	return c.ActorURI(u) + "#blocks/" + ulid
}

// FlagID is the id of the Flag that forwards a report filed here.
func (c Converter) FlagID(reportID string) string { return c.InstanceActor() + "#flags/" + reportID }

// FollowID mints the id of a Follow sent by a local person.
func (c Converter) FollowID(u *accounts.User, ulid string) string {
	return c.ActorURI(u) + "#follows/" + ulid
}

// escapeText makes a plain-text content warning safe to put where peers expect HTML.
func escapeText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
