// Package outbox is the sending half of federation. It listens to the social core (a
// posts.Hook and a follows.RemoteHook): inside the transaction of each change it writes one
// small "federate" job, so a change and the promise to tell other nodes about it commit
// together (ARCHITECTURE.md, outbox). The job, outside any request, renders the activity
// (federation/convert), works out who must receive it and hands it to federation/delivery,
// which stores it once and delivers one signed POST per inbox.
//
// What leaves the node, by audience of the thread's root post:
//
//	company        nothing, ever (the event is not even queued)
//	public         the author's remote followers (shared inboxes), everyone addressed, and
//	               the authors of the post answered and of the thread's root when remote
//	followers      the root author's remote followers, everyone addressed, those authors
//	direct         the people addressed only, at their personal inboxes (Mastodon counts the
//	               inbox owner as a recipient of a direct message)
//	group          not yet (groups federate through the group's node, a later issue)
//
// Remote people addressed by acct but unknown here ("acct:bob@globex.example") are resolved
// through WebFinger when the job runs; one that cannot be found is skipped with a log line
// rather than holding up everyone else's delivery.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/reports"
)

// JobKind is the job that turns a change into deliveries.
const JobKind = "federate"

// Deps are the outbox's collaborators.
type Deps struct {
	DB       *db.DB
	Jobs     *jobs.Queue
	Accounts *accounts.Service
	Posts    *posts.Service
	Follows  *follows.Service
	Reports  *reports.Service
	Delivery *delivery.Service
	People   *people.Resolver
	Keys     *keys.Store
	Orgs     *orgs.Service
	Clock    clock.Clock
	Log      *slog.Logger
	BaseURL  func(ctx context.Context) string
}

// Outbox implements posts.Hook, posts.UnreactHook, follows.RemoteHook and reports.Forward.
type Outbox struct{ Deps }

// New makes the outbox and registers its job.
func New(d Deps) *Outbox {
	o := &Outbox{Deps: d}
	d.Jobs.Handle(JobKind, o.run, jobs.Concurrency(2))
	return o
}

// event is the job payload: what changed, by id. The job loads the rest when it runs.
type event struct {
	Kind      string    `json:"kind"`
	PostID    string    `json:"post_id,omitempty"`
	AccountID string    `json:"account_id,omitempty"` // the local person acting
	OtherID   string    `json:"other_id,omitempty"`   // the remote account (follows)
	Emoji     string    `json:"emoji,omitempty"`
	URI       string    `json:"uri,omitempty"` // the Follow's (Block's) id
	ReportID  string    `json:"report_id,omitempty"`
	At        time.Time `json:"at"`
}

func (o *Outbox) queue(ctx context.Context, tx bun.IDB, e event) error {
	e.At = o.Clock.Now()
	if err := o.Jobs.Enqueue(ctx, tx, JobKind, e); err != nil {
		return fmt.Errorf("outbox: queue %s: %w", e.Kind, err)
	}
	db.AfterCommit(ctx, o.Jobs.Wake)
	return nil
}

// federates reports whether p (or its thread) can leave the node at all.
func (o *Outbox) federates(ctx context.Context, p *posts.Post) bool {
	return p.Local(o.BaseURL(ctx)) && p.Audience != posts.Company && p.Audience != posts.Group
}

// PostCreated queues a Create for posts written here whose audience federates.
func (o *Outbox) PostCreated(ctx context.Context, tx bun.IDB, p *posts.Post, _ *posts.Post, _ []string) error {
	if !o.federates(ctx, p) || p.ReblogOfID != nil {
		return nil
	}
	return o.queue(ctx, tx, event{Kind: "create", PostID: p.ID})
}

// PostEdited queues an Update.
func (o *Outbox) PostEdited(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if !o.federates(ctx, p) {
		return nil
	}
	return o.queue(ctx, tx, event{Kind: "update", PostID: p.ID})
}

// PostDeleted queues a Delete (or, for a share, Undo{Announce}) and drops deliveries of the
// post that have not gone out yet.
func (o *Outbox) PostDeleted(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if !o.federates(ctx, p) {
		return nil
	}
	if p.ReblogOfID != nil {
		return o.queue(ctx, tx, event{Kind: "unannounce", PostID: p.ID})
	}
	if err := o.Delivery.CancelObject(ctx, tx, p.URI); err != nil {
		return err
	}
	return o.queue(ctx, tx, event{Kind: "delete", PostID: p.ID})
}

// Reacted queues a Like when a local person reacts to a post that federates (remote posts
// included: their author's node must hear of it).
func (o *Outbox) Reacted(ctx context.Context, tx bun.IDB, p *posts.Post, accountID, emoji string) error {
	if p.Audience == posts.Company || p.Audience == posts.Group {
		return nil
	}
	return o.queue(ctx, tx, event{Kind: "like", PostID: p.ID, AccountID: accountID, Emoji: emoji})
}

// Unreacted queues Undo{Like}.
func (o *Outbox) Unreacted(ctx context.Context, tx bun.IDB, p *posts.Post, accountID string) error {
	if p.Audience == posts.Company || p.Audience == posts.Group {
		return nil
	}
	return o.queue(ctx, tx, event{Kind: "unlike", PostID: p.ID, AccountID: accountID})
}

// Boosted queues an Announce when a local person shares a public post.
func (o *Outbox) Boosted(ctx context.Context, tx bun.IDB, orig, share *posts.Post) error {
	if orig.Audience != posts.Public || !share.Local(o.BaseURL(ctx)) {
		return nil
	}
	return o.queue(ctx, tx, event{Kind: "announce", PostID: share.ID})
}

// ProfileChanged is the accounts service's Changed hook: followers elsewhere hear of a new
// profile (Update{Person}) or of a deactivation (Delete{Person}).
func (o *Outbox) ProfileChanged(ctx context.Context, tx bun.IDB, userID string, gone bool) error {
	kind := "profile"
	if gone {
		kind = "gone"
	}
	return o.queue(ctx, tx, event{Kind: kind, AccountID: userID})
}

// FannedOut is not federation's business.
func (o *Outbox) FannedOut(context.Context, bun.IDB, []*posts.Post) error { return nil }

// FollowRequested names the Follow and queues it.
func (o *Outbox) FollowRequested(ctx context.Context, tx bun.IDB, f *follows.Federated) error {
	u, err := o.Accounts.Get(ctx, f.FollowerID)
	if err != nil {
		return err
	}
	f.ActivityURI = o.conv(ctx).FollowID(u, ids.New(o.Clock.Now()))
	return o.queue(ctx, tx, event{Kind: "follow", AccountID: f.FollowerID, OtherID: f.FolloweeID, URI: f.ActivityURI})
}

// FollowWithdrawn queues Undo{Follow}.
func (o *Outbox) FollowWithdrawn(ctx context.Context, tx bun.IDB, f *follows.Federated) error {
	return o.queue(ctx, tx, event{Kind: "unfollow", AccountID: f.FollowerID, OtherID: f.FolloweeID, URI: f.ActivityURI})
}

// FollowAccepted queues Accept{Follow} to the remote follower.
func (o *Outbox) FollowAccepted(ctx context.Context, tx bun.IDB, f *follows.Federated) error {
	return o.queue(ctx, tx, event{Kind: "accept", AccountID: f.FolloweeID, OtherID: f.FollowerID, URI: f.ActivityURI})
}

// FollowRejected queues Reject{Follow} to a remote account whose Follow a local person
// refused (they block it).
func (o *Outbox) FollowRejected(ctx context.Context, tx bun.IDB, f *follows.Federated) error {
	return o.queue(ctx, tx, event{Kind: "reject", AccountID: f.FolloweeID, OtherID: f.FollowerID, URI: f.ActivityURI})
}

// Blocked names the Block and queues it to the blocked account's personal inbox.
func (o *Outbox) Blocked(ctx context.Context, tx bun.IDB, b *follows.Block) error {
	u, err := o.Accounts.Get(ctx, b.BlockerID)
	if err != nil {
		return err
	}
	b.ActivityURI = o.conv(ctx).BlockID(u, ids.New(o.Clock.Now()))
	return o.queue(ctx, tx, event{Kind: "block", AccountID: b.BlockerID, OtherID: b.BlockedID, URI: b.ActivityURI})
}

// Unblocked queues Undo{Block}.
func (o *Outbox) Unblocked(ctx context.Context, tx bun.IDB, b *follows.Block) error {
	return o.queue(ctx, tx, event{Kind: "unblock", AccountID: b.BlockerID, OtherID: b.BlockedID, URI: b.ActivityURI})
}

// ReportForwarded queues a Flag, from the node's own actor, to the reported account's node.
func (o *Outbox) ReportForwarded(ctx context.Context, tx bun.IDB, r *reports.Report) error {
	return o.queue(ctx, tx, event{Kind: "flag", ReportID: r.ID, OtherID: r.TargetID})
}

func (o *Outbox) conv(ctx context.Context) convert.Converter {
	return convert.Converter{Base: strings.TrimSuffix(o.BaseURL(ctx), "/")}
}

// run is the federate job.
func (o *Outbox) run(ctx context.Context, j *jobs.Job) error {
	var e event
	if err := j.Decode(&e); err != nil {
		return jobs.Permanent(err)
	}
	var err error
	switch e.Kind {
	case "create", "update", "delete":
		err = o.sendPost(ctx, e)
	case "like", "unlike":
		err = o.sendLike(ctx, e)
	case "announce", "unannounce":
		err = o.sendAnnounce(ctx, e)
	case "follow", "unfollow", "accept", "reject", "block", "unblock":
		err = o.sendFollow(ctx, e)
	case "flag":
		err = o.sendFlag(ctx, e)
	case "profile", "gone":
		err = o.sendProfile(ctx, e)
	default:
		return jobs.Permanent(fmt.Errorf("outbox: unknown event %q", e.Kind))
	}
	if err != nil {
		return fmt.Errorf("outbox: %s: %w", e.Kind, err)
	}
	return nil
}

// send encodes a and hands it to delivery.
func (o *Outbox) send(ctx context.Context, signer *accounts.User, a *activity.Activity, objectURI string, inboxes []string) error {
	return o.Delivery.SendEncoded(ctx, a, signer.ID, o.conv(ctx).KeyID(signer), objectURI, inboxes)
}

// sendAsInstance encodes a and hands it to delivery, signed by the node's own actor.
func (o *Outbox) sendAsInstance(ctx context.Context, a *activity.Activity, objectURI string, inboxes []string) error {
	return o.Delivery.SendEncoded(ctx, a, keys.Instance, o.conv(ctx).InstanceActor()+"#main-key", objectURI, inboxes)
}
