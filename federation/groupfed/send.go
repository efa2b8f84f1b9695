package groupfed

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/posts"
)

// JobKind is the job that turns a group change into deliveries.
const JobKind = "group_federate"

// event is the job payload, a snapshot of the change: the job loads the rest when it runs.
type event struct {
	Kind      string       `json:"kind"` // membership, create, update, delete, like, unlike
	GroupID   string       `json:"group_id"`
	AccountID string       `json:"account_id,omitempty"`
	From      groups.State `json:"from,omitempty"`
	To        groups.State `json:"to,omitempty"`
	By        string       `json:"by,omitempty"`
	URI       string       `json:"uri,omitempty"` // the membership's Follow
	PostID    string       `json:"post_id,omitempty"`
	Emoji     string       `json:"emoji,omitempty"`
	At        time.Time    `json:"at"`
}

func (f *Fed) queue(ctx context.Context, tx bun.IDB, e event) error {
	e.At = f.Clock.Now()
	if err := f.Jobs.Enqueue(ctx, tx, JobKind, e); err != nil {
		return fmt.Errorf("groupfed: queue %s: %w", e.Kind, err)
	}
	db.AfterCommit(ctx, f.Jobs.Wake)
	return nil
}

// MembershipChanged is groups.Hook. Changes a remote node made (by == "") are not echoed.
func (f *Fed) MembershipChanged(ctx context.Context, tx bun.IDB, g *groups.Group, m *groups.Membership, from groups.State, by string) error {
	if by == "" || from == m.State {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "membership", GroupID: g.ID, AccountID: m.AccountID, From: from, To: m.State, By: by, URI: m.ActivityURI})
}

// GroupChanged is groups.Hook: member nodes are told of a new profile (they fetch it
// again) or of the group's deletion.
func (f *Fed) GroupChanged(ctx context.Context, tx bun.IDB, g *groups.Group) error {
	if g.IsRemote() {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "group", GroupID: g.ID})
}

func groupPost(p *posts.Post) bool { return p.Audience == posts.Group && p.GroupID != nil }

// PostCreated is posts.Hook: a group post goes to the group (from a member here) or from the
// group to its members' nodes (a group hosted here).
func (f *Fed) PostCreated(ctx context.Context, tx bun.IDB, p *posts.Post, _ *posts.Post, _ []string) error {
	if !groupPost(p) || p.ReblogOfID != nil {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "create", GroupID: *p.GroupID, PostID: p.ID})
}

// PostEdited is posts.Hook.
func (f *Fed) PostEdited(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if !groupPost(p) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "update", GroupID: *p.GroupID, PostID: p.ID})
}

// PostDeleted is posts.Hook.
func (f *Fed) PostDeleted(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if !groupPost(p) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "delete", GroupID: *p.GroupID, PostID: p.ID})
}

// Reacted is posts.Hook: a member's reaction to a post of a remote group goes to the group.
func (f *Fed) Reacted(ctx context.Context, tx bun.IDB, p *posts.Post, accountID, emoji string) error {
	if !groupPost(p) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "like", GroupID: *p.GroupID, PostID: p.ID, AccountID: accountID, Emoji: emoji})
}

// Unreacted is posts.UnreactHook.
func (f *Fed) Unreacted(ctx context.Context, tx bun.IDB, p *posts.Post, accountID string) error {
	if !groupPost(p) {
		return nil
	}
	return f.queue(ctx, tx, event{Kind: "unlike", GroupID: *p.GroupID, PostID: p.ID, AccountID: accountID})
}

// Boosted is posts.Hook: group posts are never shared.
func (f *Fed) Boosted(context.Context, bun.IDB, *posts.Post, *posts.Post) error { return nil }

// FannedOut is posts.Hook.
func (f *Fed) FannedOut(context.Context, bun.IDB, []*posts.Post) error { return nil }

func (f *Fed) conv(ctx context.Context) convert.Converter {
	return convert.Converter{Base: f.base(ctx)}
}

// run is the job.
func (f *Fed) run(ctx context.Context, j *jobs.Job) error {
	var e event
	if err := j.Decode(&e); err != nil {
		return jobs.Permanent(err)
	}
	g, err := f.Groups.Load(ctx, e.GroupID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	switch e.Kind {
	case "membership":
		err = f.sendMembership(ctx, g, e)
	case "create", "update", "delete":
		err = f.sendPost(ctx, g, e)
	case "like", "unlike":
		err = f.sendLike(ctx, g, e)
	case "group":
		err = f.sendGroup(ctx, g, e)
	default:
		return jobs.Permanent(fmt.Errorf("groupfed: unknown event %q", e.Kind))
	}
	if err != nil {
		return fmt.Errorf("groupfed: %s in %s: %w", e.Kind, g.URI, err)
	}
	return nil
}

// deliver stores a and its deliveries, signed by signerID's key.
func (f *Fed) deliver(ctx context.Context, a *activity.Activity, signerID, keyID, objectURI string, inboxes []string) error {
	return f.Delivery.SendEncoded(ctx, a, signerID, keyID, objectURI, inboxes)
}

// fromGroup delivers a as the group (hosted here).
func (f *Fed) fromGroup(ctx context.Context, g *groups.Group, a *activity.Activity, objectURI string, inboxes []string) error {
	if _, err := f.Keys.For(ctx, g.ID); err != nil {
		return err
	}
	return f.deliver(ctx, a, g.ID, g.URI+"#main-key", objectURI, inboxes)
}

// fromPerson delivers a as a local person.
func (f *Fed) fromPerson(ctx context.Context, u *accounts.User, a *activity.Activity, objectURI string, inboxes []string) error {
	return f.deliver(ctx, a, u.ID, f.conv(ctx).KeyID(u), objectURI, inboxes)
}

// memberInboxes is where the group's activities go: one inbox per node hosting a current
// member (shared inboxes preferred), computed now so that removals take effect at once.
func (f *Fed) memberInboxes(ctx context.Context, g *groups.Group) ([]string, error) {
	return f.Groups.MemberInboxes(ctx, f.DB, g.ID)
}

func (f *Fed) sendMembership(ctx context.Context, g *groups.Group, e event) error {
	who, err := f.Accounts.Lookup(ctx, e.AccountID)
	if err != nil {
		return jobs.Permanent(err)
	}
	c := f.conv(ctx)
	stamp := ids.New(e.At)
	switch {
	case g.IsRemote() && !who.IsRemote():
		// One of our people and a group elsewhere: Follow to join, Undo{Follow} to leave.
		me := c.ActorURI(who)
		switch {
		case e.To == groups.Requested:
			follow := activity.NewFollow(me+"#group-follows/"+stamp, me, g.URI)
			follow.To = []string{g.URI}
			if _, err := f.DB.NewUpdate().Model((*groups.Membership)(nil)).Set("activity_uri = ?", follow.ID).
				Where("group_id = ? AND account_id = ?", g.ID, who.ID).Exec(ctx); err != nil {
				return err
			}
			return f.fromPerson(ctx, who, follow, g.URI, []string{g.BestInbox()})
		case e.To == groups.Gone && e.By == who.ID && (e.From == groups.Joined || e.From == groups.Requested) && e.URI != "":
			follow := activity.NewFollow(e.URI, me, g.URI)
			return f.fromPerson(ctx, who, c.Undo(follow, e.At), g.URI, []string{g.BestInbox()})
		}
	case !g.IsRemote() && who.IsRemote():
		// A person elsewhere and a group here: Accept a join, Reject a request or a member
		// (Lemmy and Mastodon read Reject{Follow} as "you are not following any more"),
		// Invite to invite.
		follow := activity.NewFollow(e.URI, who.Remote.URI, g.URI)
		switch {
		case e.To == groups.Joined && e.URI != "":
			a := activity.NewAccept(g.URI+"#accepts/"+stamp, g.URI, follow)
			a.To = []string{who.Remote.URI}
			return f.fromGroup(ctx, g, a, g.URI, []string{who.Remote.Inbox})
		case e.To == groups.Gone && e.By != who.ID && (e.From == groups.Joined || e.From == groups.Requested):
			if follow.ID == "" {
				follow.ID = g.URI + "#memberships/" + who.ID
			}
			a := activity.NewReject(g.URI+"#rejects/"+stamp, g.URI, follow)
			a.To = []string{who.Remote.URI}
			return f.fromGroup(ctx, g, a, g.URI, []string{who.Remote.Inbox})
		case e.To == groups.Invited:
			a := &activity.Activity{ID: g.URI + "#invites/" + stamp, Type: "Invite", Actor: g.URI, Object: activity.IRI(g.URI),
				Target: who.Remote.URI, To: []string{who.Remote.URI}}
			return f.fromGroup(ctx, g, a, g.URI, []string{who.Remote.Inbox})
		}
	}
	return nil
}

// note renders a group post: addressed to the group and its members only, never to Public
// or anyone's followers, with the group as audience and as a Mention (Mastodon routes replies
// by mentions).
func (f *Fed) note(ctx context.Context, g *groups.Group, p *posts.Post) (*activity.Note, *accounts.User, error) {
	author, err := f.Accounts.Lookup(ctx, p.AuthorID)
	if err != nil {
		return nil, nil, jobs.Permanent(err)
	}
	parent := ""
	if p.InReplyToID != nil {
		pp, err := f.Posts.Load(ctx, *p.InReplyToID)
		if err != nil {
			return nil, nil, err
		}
		parent = pp.URI
	}
	followers := g.FollowersURL
	if !g.IsRemote() {
		followers = g.URI + "/followers"
	}
	c := f.conv(ctx)
	n := c.Note(p, author, parent, []string{g.URI}, []string{followers}, nil)
	n.Audience = g.URI
	if author.IsRemote() {
		n.URL = ""
	}
	n.Tags = append(n.Tags, activity.Tag{Type: activity.TypeMention, Href: g.URI, Name: "@" + g.Handle + "@" + hostOf(g.URI)})
	return n, author, nil
}

func (f *Fed) sendPost(ctx context.Context, g *groups.Group, e event) error {
	p, err := f.Posts.Load(ctx, e.PostID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	n, author, err := f.note(ctx, g, p)
	if err != nil {
		return err
	}
	c := f.conv(ctx)
	actor := c.ActorURI(author)
	var inner *activity.Activity
	switch e.Kind {
	case "create":
		if p.DeletedAt != nil {
			return nil
		}
		inner = c.Create(n)
		inner.Actor = actor
	case "update":
		if p.DeletedAt != nil {
			return nil
		}
		inner = c.Update(n, actor, e.At)
		inner.To, inner.Cc = n.To, n.Cc
	case "delete":
		inner = c.Delete(p, actor, n.To, n.Cc)
	}
	inner.Audience = g.URI
	if g.IsRemote() {
		if author.IsRemote() {
			return nil // a remote member's post: their own node sends it to the group
		}
		return f.fromPerson(ctx, author, inner, p.URI, []string{g.BestInbox()})
	}
	inboxes, err := f.memberInboxes(ctx, g)
	if err != nil {
		return err
	}
	announce, relay := f.splitInboxes(ctx, inboxes)
	if err := f.announce(ctx, g, inner, p.URI, e.At, announce); err != nil {
		return err
	}
	if g.Visibility == groups.Secret {
		return nil // secret groups reach Atrium nodes only, which keep them secret
	}
	return f.sendRelay(ctx, g, p, n, author, e.Kind, e.At, relay)
}

// announce sends the group's Announce{inner} to the member nodes' inboxes.
func (f *Fed) announce(ctx context.Context, g *groups.Group, inner *activity.Activity, objectURI string, at time.Time, inboxes []string) error {
	ann := activity.NewAnnounce(g.URI+"#announces/"+ids.New(at), g.URI, "", []string{g.URI + "/followers"}, nil, at)
	ann.Object = inner
	ann.Audience = g.URI
	return f.fromGroup(ctx, g, ann, objectURI, inboxes)
}

// sendLike sends a member's reaction: to the group from a member here, or, for a group
// hosted here, as the group's Announce to the Atrium nodes of its members, so that every node
// shows the same reactions (Mastodon and GoToSocial ignore announced likes, so they are not
// sent there).
func (f *Fed) sendLike(ctx context.Context, g *groups.Group, e event) error {
	u, err := f.Accounts.Lookup(ctx, e.AccountID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if g.IsRemote() && u.IsRemote() {
		return nil // the reactor's node (or the group) already knows
	}
	p, err := f.Posts.Load(ctx, e.PostID)
	if err != nil {
		return jobs.Permanent(err)
	}
	c := f.conv(ctx)
	actor := c.ActorURI(u)
	// One stable id per (person, post), so a later Undo names the same Like on every node.
	like := activity.NewLike(actor+"#likes/"+p.ID, actor, p.URI)
	if e.Emoji != "" && e.Emoji != posts.Like {
		like.Content = e.Emoji
	}
	like.To, like.Audience = []string{g.URI}, g.URI
	a := like
	if e.Kind == "unlike" {
		a = c.Undo(like, e.At)
	}
	if g.IsRemote() {
		return f.fromPerson(ctx, u, a, p.URI, []string{g.BestInbox()})
	}
	inboxes, err := f.memberInboxes(ctx, g)
	if err != nil {
		return err
	}
	announce, _ := f.splitInboxes(ctx, inboxes)
	return f.announce(ctx, g, a, p.URI, e.At, announce)
}

// sendGroup sends Update{Group} (the current actor) or, once the group is deleted,
// Delete{Group} to the member nodes.
func (f *Fed) sendGroup(ctx context.Context, g *groups.Group, e event) error {
	inboxes, err := f.memberInboxes(ctx, g)
	if err != nil || len(inboxes) == 0 {
		return err
	}
	stamp := ids.New(e.At)
	if g.DeletedAt != nil {
		a := activity.NewDelete(g.URI+"#delete", g.URI, &activity.Tombstone{ID: g.URI, FormerType: activity.TypeGroup, Deleted: *g.DeletedAt})
		a.To = []string{g.URI + "/followers"}
		return f.fromGroup(ctx, g, a, g.URI, inboxes)
	}
	pair, err := f.Keys.For(ctx, g.ID)
	if err != nil {
		return err
	}
	actor, err := f.groupActor(ctx, g, pair.PublicPEM)
	if err != nil {
		return err
	}
	a := &activity.Activity{ID: g.URI + "#updates/" + stamp, Type: activity.TypeUpdate, Actor: g.URI, Object: actor,
		To: []string{g.URI + "/followers"}, Published: e.At}
	return f.fromGroup(ctx, g, a, g.URI, inboxes)
}
