package outbox

import (
	"context"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/posts"
)

// load gathers a post's thread, resolving remote addresses kept by acct on the way.
func (o *Outbox) load(ctx context.Context, postID string) (*convert.Thread, error) {
	p, err := o.Posts.Load(ctx, postID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, jobs.Permanent(err)
		}
		return nil, err
	}
	root := p
	if p.ThreadID != p.ID {
		if root, err = o.Posts.Load(ctx, p.ThreadID); err != nil {
			return nil, err
		}
	}
	// An address kept by acct is resolved now (WebFinger) and written back, so visibility
	// checks and later deliveries know the account.
	return convert.Loader{Posts: o.Posts, Accounts: o.Accounts}.Load(ctx, p, root,
		func(ctx context.Context, r posts.Recipient) (string, error) {
			u, err := o.People.ByAcct(ctx, strings.TrimPrefix(r.AccountID, "acct:"))
			if err != nil {
				o.Log.Warn("outbox: cannot resolve an addressed account; it will not receive the post",
					"post", p.ID, "acct", r.Acct, "err", err)
				return "", nil
			}
			return u.ID, o.Posts.ResolveRecipient(ctx, r.PostID, r.AccountID, u.ID)
		})
}

// inboxes is where a post's activities go (see the package comment).
func (o *Outbox) inboxes(ctx context.Context, t *convert.Thread) ([]string, error) {
	var out []string
	add := func(u *accounts.User, personal bool) {
		if u == nil || u.Remote == nil || !u.Active() {
			return
		}
		in := u.Remote.BestInbox()
		if personal {
			in = u.Remote.Inbox
		}
		out = convert.AppendNew(out, in)
	}
	direct := t.Root.Audience == posts.Direct
	for _, u := range t.Recipients {
		add(u, direct)
	}
	add(t.ParentAuthor, direct)
	add(t.RootAuthor, direct)
	if direct {
		return out, nil
	}
	followerSets := []string{t.RootAuthor.ID}
	if t.Root.Audience == posts.Public && t.Author.ID != t.RootAuthor.ID {
		followerSets = append(followerSets, t.Author.ID) // a public reply also reaches its author's followers
	}
	for _, id := range followerSets {
		if ids, err := o.Follows.RemoteFollowers(ctx, o.DB, id); err != nil {
			return nil, err
		} else if len(ids) > 0 {
			inboxes, err := o.Accounts.RemoteInboxes(ctx, ids)
			if err != nil {
				return nil, err
			}
			for _, in := range inboxes {
				out = convert.AppendNew(out, in)
			}
		}
	}
	return out, nil
}

// sendPost sends Create, Update or Delete of a post written here.
func (o *Outbox) sendPost(ctx context.Context, e event) error {
	t, err := o.load(ctx, e.PostID)
	if err != nil {
		return err
	}
	if t.Root.Audience == posts.Company || t.Root.Audience == posts.Group || t.Author.Remote != nil {
		return nil // never leaves the node (checked again: the thread may have changed)
	}
	inboxes, err := o.inboxes(ctx, t)
	if err != nil {
		return err
	}
	c := o.conv(ctx)
	n := c.ThreadNote(t)
	var a *activity.Activity
	switch e.Kind {
	case "create":
		if t.Post.DeletedAt != nil {
			return nil // deleted before it went out: the Delete says enough
		}
		a = c.Create(n)
	case "update":
		if t.Post.DeletedAt != nil {
			return nil
		}
		a = c.Update(n, c.ActorURI(t.Author), e.At)
		a.To, a.Cc = n.To, n.Cc
	case "delete":
		a = c.Delete(t.Post, c.ActorURI(t.Author), n.To, n.Cc)
	}
	return o.send(ctx, t.Author, a, t.Post.URI, inboxes)
}

// sendLike sends Like or Undo{Like} to the post's author and, for posts written here, to
// everyone the post reached (so their counts agree).
func (o *Outbox) sendLike(ctx context.Context, e event) error {
	u, err := o.Accounts.Lookup(ctx, e.AccountID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if u.Remote != nil {
		return nil // a remote person's reaction: their own node federates it
	}
	t, err := o.load(ctx, e.PostID)
	if err != nil {
		return err
	}
	if t.Root.Audience == posts.Company || t.Root.Audience == posts.Group {
		return nil
	}
	c := o.conv(ctx)
	like := c.Like(c.ActorURI(u), t.Post.URI, t.Post.ID, e.Emoji, e.At)
	like.To = []string{c.ActorURI(t.Author)}
	var inboxes []string
	if t.Author.Remote != nil {
		inboxes = []string{t.Author.Remote.Inbox}
	} else if inboxes, err = o.inboxes(ctx, t); err != nil {
		return err
	}
	a := like
	if e.Kind == "unlike" {
		a = c.Undo(like, e.At)
	}
	return o.send(ctx, u, a, t.Post.URI, inboxes)
}

// sendAnnounce sends Announce or Undo{Announce} of a share made here: to the sharer's remote
// followers and to the original's author.
func (o *Outbox) sendAnnounce(ctx context.Context, e event) error {
	share, err := o.Posts.Load(ctx, e.PostID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if share.ReblogOfID == nil {
		return nil
	}
	orig, err := o.Posts.Load(ctx, *share.ReblogOfID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if orig.Audience != posts.Public {
		return nil
	}
	sharer, err := o.Accounts.Get(ctx, share.AuthorID)
	if err != nil {
		return jobs.Permanent(err)
	}
	origAuthor, err := o.Accounts.Lookup(ctx, orig.AuthorID)
	if err != nil {
		return err
	}
	c := o.conv(ctx)
	var inboxes []string
	if origAuthor.Remote != nil {
		inboxes = append(inboxes, origAuthor.Remote.BestInbox())
	}
	ids, err := o.Follows.RemoteFollowers(ctx, o.DB, sharer.ID)
	if err != nil {
		return err
	}
	more, err := o.Accounts.RemoteInboxes(ctx, ids)
	if err != nil {
		return err
	}
	for _, in := range more {
		inboxes = convert.AppendNew(inboxes, in)
	}
	a := c.Announce(share, c.ActorURI(sharer), orig.URI, []string{activity.Public},
		[]string{c.Followers(sharer), c.ActorURI(origAuthor)})
	if e.Kind == "unannounce" {
		a = c.Undo(a, e.At)
	}
	return o.send(ctx, sharer, a, orig.URI, inboxes)
}

// sendFollow sends Follow, Undo{Follow}, Accept{Follow}, Reject{Follow}, Block or Undo{Block},
// always to the remote account's personal inbox.
func (o *Outbox) sendFollow(ctx context.Context, e event) error {
	local, err := o.Accounts.Get(ctx, e.AccountID)
	if err != nil {
		return jobs.Permanent(err)
	}
	remote, err := o.Accounts.Lookup(ctx, e.OtherID)
	if err != nil || remote.Remote == nil {
		return jobs.Permanent(err)
	}
	c := o.conv(ctx)
	var a *activity.Activity
	switch e.Kind {
	case "follow":
		a = activity.NewFollow(e.URI, c.ActorURI(local), remote.Remote.URI)
	case "unfollow":
		a = c.Undo(activity.NewFollow(e.URI, c.ActorURI(local), remote.Remote.URI), e.At)
	case "accept":
		follow := activity.NewFollow(e.URI, remote.Remote.URI, c.ActorURI(local))
		a = activity.NewAccept(c.ActorURI(local)+"#accepts/"+stamp(e), c.ActorURI(local), follow)
	case "reject":
		follow := activity.NewFollow(e.URI, remote.Remote.URI, c.ActorURI(local))
		a = activity.NewReject(c.ActorURI(local)+"#rejects/"+stamp(e), c.ActorURI(local), follow)
	case "block":
		a = activity.NewBlock(e.URI, c.ActorURI(local), remote.Remote.URI)
	case "unblock":
		a = c.Undo(activity.NewBlock(e.URI, c.ActorURI(local), remote.Remote.URI), e.At)
	}
	a.To = []string{remote.Remote.URI}
	return o.send(ctx, local, a, remote.Remote.URI, []string{remote.Remote.Inbox})
}

// sendProfile sends Update{Person} or Delete{Person} to the person's remote followers and to
// the remote people they follow.
func (o *Outbox) sendProfile(ctx context.Context, e event) error {
	u, err := o.Accounts.Get(ctx, e.AccountID)
	if err != nil {
		return jobs.Permanent(err)
	}
	followers, err := o.Follows.RemoteFollowers(ctx, o.DB, u.ID)
	if err != nil {
		return err
	}
	followees, err := o.Follows.RemoteFollowees(ctx, u.ID)
	if err != nil {
		return err
	}
	inboxes, err := o.Accounts.RemoteInboxes(ctx, append(followers, followees...))
	if err != nil || len(inboxes) == 0 {
		return err
	}
	c := o.conv(ctx)
	var a *activity.Activity
	if e.Kind == "gone" {
		a = activity.NewDeleteActor(c.ActorURI(u)+"#delete/"+stamp(e), c.ActorURI(u))
	} else {
		pair, err := o.Keys.For(ctx, u.ID)
		if err != nil {
			return err
		}
		org, err := o.Orgs.Get(ctx)
		if err != nil {
			return err
		}
		a = activity.NewUpdate(c.ActorURI(u)+"#updates/"+stamp(e), c.ActorURI(u), c.Person(u, pair.PublicPEM, org))
	}
	a.To = []string{activity.Public}
	a.Cc = []string{c.Followers(u)}
	return o.send(ctx, u, a, c.ActorURI(u), inboxes)
}

func stamp(e event) string { return e.At.UTC().Format("20060102T150405.000000000") }

// sendFlag forwards a report to the reported account's node: Flag{account, posts...} from the
// node's own actor (as Mastodon does, so the reporter stays anonymous), to the node's shared
// inbox.
func (o *Outbox) sendFlag(ctx context.Context, e event) error {
	r, err := o.Reports.Get(ctx, e.ReportID)
	if err != nil {
		return jobs.Permanent(err)
	}
	target, err := o.Accounts.Lookup(ctx, r.TargetID)
	if err != nil {
		return jobs.Permanent(err)
	}
	if target.Remote == nil {
		return nil // nobody else to tell
	}
	objects := []string{target.Remote.URI}
	for _, id := range r.PostIDs() {
		p, err := o.Posts.Load(ctx, id)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if p.AuthorID == target.ID {
			objects = convert.AppendNew(objects, p.URI)
		}
	}
	c := o.conv(ctx)
	a := activity.NewFlag(c.FlagID(r.ID), c.InstanceActor(), r.Comment, objects...)
	a.To = []string{target.Remote.URI}
	return o.sendAsInstance(ctx, a, target.Remote.URI, []string{target.Remote.BestInbox()})
}
