package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/posts"
)

// ignored marks an activity we understood and chose not to apply.
type ignored struct{ why string }

func (e ignored) Error() string { return "ignored: " + e.why }

func ignore(format string, args ...any) error { return ignored{fmt.Sprintf(format, args...)} }

// batchSize is the most stored activities one job call applies (see processBatch).
const batchSize = 32

// processBatch is the inbox job: apply stored activities, one job each, handed over in
// batches by the queue (jobs.HandleBatch). The batch shares what is per call rather than per
// activity (see batch): one read of the stored rows, the local people named, one commit for
// the new notes and their outcomes. Activities are applied in order, and each job's outcome
// is its own: a retryable failure retries that job only. A crash anywhere leaves the jobs
// leased; they run again, and applying again is harmless (CreateRemote and the other
// services are idempotent by activity or object id, and a row whose outcome is recorded is
// skipped).
func (in *Inbox) processBatch(ctx context.Context, js []*jobs.Job) []error {
	out := make([]error, len(js))
	rowIDs := make([]string, len(js))
	var want []string
	for i, j := range js {
		if err := j.Decode(&rowIDs[i]); err != nil {
			out[i] = jobs.Permanent(err)
			continue
		}
		want = append(want, rowIDs[i])
	}
	if len(want) == 0 {
		return out
	}
	var rows []*Row
	if err := in.DB.NewSelect().Model(&rows).Where("id IN (?)", bun.In(want)).Scan(ctx); err != nil {
		for i := range out {
			if out[i] == nil {
				out[i] = err
			}
		}
		return out
	}
	byID := make(map[string]*Row, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	b, ctx := in.newBatch(ctx)
	seen := map[*Row]bool{}
	for i, j := range js {
		if out[i] != nil {
			continue
		}
		r := byID[rowIDs[i]]
		if r == nil {
			out[i] = jobs.Permanent(fmt.Errorf("inbox: job %s: %w", j.ID, sql.ErrNoRows))
			continue
		}
		if r.ProcessedAt != nil || seen[r] {
			seen[r] = true // a retry after the outcome was written, or a duplicate job
			continue
		}
		seen[r] = true
		if r.Kind != activity.TypeCreate {
			b.flush(ctx, false) // what it refers to may be pending
		}
		b.current = r
		err := in.applyRow(ctx, r)
		b.current = nil
		switch {
		case errors.Is(err, errPending):
		case recorded(err):
			b.record(r, err)
		default:
			b.retry[r] = err
		}
	}
	applied := map[*Row]bool{}
	for r := range seen {
		applied[r] = r.ProcessedAt == nil
	}
	err := b.flush(ctx, true)
	for i := range js {
		r := byID[rowIDs[i]]
		if out[i] != nil || r == nil || !applied[r] {
			continue
		}
		applied[r] = false // a duplicate job of the row succeeds
		if rerr, ok := b.retry[r]; ok {
			out[i] = fmt.Errorf("inbox: %s %s: %w", r.Kind, r.ActivityURI, rerr) // retried
		} else if err != nil {
			out[i] = err // the outcome is not recorded: the job runs again, harmlessly
		}
	}
	return out
}

// applyRow applies one stored activity and says what became of it: nil (applied), an error
// to record as its outcome (ignored, refused), errPending (a note waiting in the batch), or
// an error to retry (see recorded).
func (in *Inbox) applyRow(ctx context.Context, r *Row) error {
	doc, err := activity.Decode([]byte(r.Raw))
	if err != nil {
		return jobs.Permanent(err)
	}
	err = in.apply(ctx, doc)
	var ig ignored
	switch {
	case err == nil, errors.Is(err, errPending):
	case errors.As(err, &ig):
		in.Log.Debug("inbox: ignored", "id", r.ActivityURI, "type", r.Kind, "why", ig.why)
	case permanent(err):
		in.Log.Info("inbox: refused", "id", r.ActivityURI, "type", r.Kind, "actor", r.Actor, "err", err)
	default:
		return err
	}
	in.recordReceived(ctx, r.Host)
	return err
}

// recorded reports whether err (from applyRow) is an outcome to record rather than retry.
func recorded(err error) bool {
	var ig ignored
	return err == nil || errors.As(err, &ig) || permanent(err)
}

// permanent reports errors no retry can fix: the activity is refused.
func permanent(err error) bool {
	if jobs.IsPermanent(err) {
		return true
	}
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Forbidden, errs.NotFound, errs.Conflict:
		return true
	}
	return errors.Is(err, fetch.ErrGone) || errors.Is(err, fetch.ErrNotFound) || errors.Is(err, fetch.ErrOrigin) ||
		errors.Is(err, fetch.ErrBadDocument) || errors.Is(err, fetch.ErrNotAllowed) || errors.Is(err, activity.ErrInvalid)
}

// outcomeText is what inbox_activities.outcome keeps for an activity's outcome.
func outcomeText(outcome error) string {
	if outcome == nil {
		return "applied"
	}
	text := outcome.Error()
	if len(text) > 300 {
		text = text[:300]
	}
	return text
}

// finishAll records the outcomes of rs in one statement; their jobs then end (refusals are
// not retried).
func (in *Inbox) finishAll(ctx context.Context, rs []*Row, outcomes []string) error {
	if len(rs) == 0 {
		return nil
	}
	// Through Tx, so that on SQLite the update queues for the single writer in Go instead of
	// sleeping in SQLite's busy handler while the posts it competes with commit.
	return in.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return in.recordOutcomes(ctx, tx, rs, outcomes)
	})
}

// recordOutcomes writes the outcomes of rs through tx, in one statement.
func (in *Inbox) recordOutcomes(ctx context.Context, tx bun.Tx, rs []*Row, outcomes []string) error {
	if len(rs) == 0 {
		return nil
	}
	now := in.Clock.Now()
	ids := make([]string, len(rs))
	var cases strings.Builder
	args := make([]any, 0, 2*len(rs))
	cases.WriteString("outcome = CASE id")
	for i, r := range rs {
		ids[i] = r.ID
		cases.WriteString(" WHEN ? THEN ?")
		args = append(args, r.ID, outcomes[i])
	}
	cases.WriteString(" END")
	_, err := tx.NewUpdate().Model((*Row)(nil)).Set("processed_at = ?", now).Set(cases.String(), args...).
		Where("id IN (?)", bun.In(ids)).Exec(ctx)
	if err != nil {
		return err
	}
	db.AfterCommit(ctx, func() {
		for i, r := range rs {
			r.ProcessedAt, r.Outcome = &now, outcomes[i]
		}
	})
	return nil
}

// receivedEvery bounds how often a peer's traffic is recorded for its health: the record says
// "heard from recently" (and wakes deliveries parked while the peer was down), which a write
// per activity would say no better, at the cost of a write per activity.
const receivedEvery = 30 * time.Second

// recordReceived tells delivery the host is alive, at most once per receivedEvery per host.
func (in *Inbox) recordReceived(ctx context.Context, host string) {
	if in.Delivery == nil {
		return
	}
	now := in.Clock.Now()
	in.heardMu.Lock()
	if in.heard == nil {
		in.heard = map[string]time.Time{}
	}
	last, ok := in.heard[host]
	due := !ok || now.Sub(last) >= receivedEvery || now.Before(last)
	if due {
		if len(in.heard) >= 10000 { // bounded: forget everyone, the next activity records again
			clear(in.heard)
		}
		in.heard[host] = now
	}
	in.heardMu.Unlock()
	if !due {
		return
	}
	if err := in.Delivery.RecordReceived(ctx, host); err != nil {
		in.Log.Warn("inbox: record peer traffic", "host", host, "err", err)
		in.heardMu.Lock()
		delete(in.heard, host) // try again with the next activity
		in.heardMu.Unlock()
	}
}

// apply dispatches by type. The actor's account is loaded (fetched when new) first, except
// for a Delete of an unknown actor, which needs nothing.
func (in *Inbox) apply(ctx context.Context, d *activity.Document) error {
	if d.Type() == activity.TypeDelete && d.ObjectID() == d.Actor() {
		return in.deleteActor(ctx, d)
	}
	if d.Type() == "Move" {
		return ignore("account moves are not supported")
	}
	actor, err := in.People.ByURI(ctx, d.Actor())
	if err != nil {
		return err
	}
	if !actor.Active() {
		return ignore("the actor was deleted")
	}
	for _, h := range []Handler{in.Groups, in.Chats} {
		if h == nil {
			continue
		}
		if handled, err := h.Handle(ctx, actor, d); handled {
			return err
		}
	}
	switch d.Type() {
	case activity.TypeFollow:
		return in.follow(ctx, actor, d)
	case activity.TypeAccept, activity.TypeReject:
		return in.answer(ctx, actor, d)
	case activity.TypeUndo:
		return in.undo(ctx, actor, d)
	case activity.TypeCreate:
		return in.create(ctx, actor, d)
	case activity.TypeUpdate:
		return in.update(ctx, actor, d)
	case activity.TypeDelete:
		return in.Posts.DeleteRemote(ctx, actor, d.ObjectID())
	case activity.TypeLike, "EmojiReact":
		return in.like(ctx, actor, d)
	case activity.TypeAnnounce:
		return in.announce(ctx, actor, d)
	case activity.TypeBlock:
		return in.block(ctx, actor, d)
	case activity.TypeFlag:
		return in.flag(ctx, actor, d)
	}
	return ignore("unsupported type %s", d.Type())
}

// localPerson maps one of our actor URIs to the person, or nil.
func (in *Inbox) localPerson(ctx context.Context, uri string) (*accounts.User, error) {
	b := batchOf(ctx)
	if b == nil {
		return in.lookupLocalPerson(ctx, uri)
	}
	if u, ok := b.local[uri]; ok {
		return u, nil
	}
	u, err := in.lookupLocalPerson(ctx, uri)
	if err == nil {
		b.local[uri] = u
	}
	return u, err
}

func (in *Inbox) lookupLocalPerson(ctx context.Context, uri string) (*accounts.User, error) {
	prefix := strings.TrimSuffix(in.BaseURL(ctx), "/") + "/users/"
	name, ok := strings.CutPrefix(uri, prefix)
	if !ok || name == "" || strings.ContainsAny(name, "/#?") {
		return nil, nil
	}
	u, err := in.Accounts.ByUsername(ctx, name)
	if errs.Is(err, errs.NotFound) || (err == nil && !u.Active()) {
		return nil, nil
	}
	return u, err
}

func (in *Inbox) follow(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	target, err := in.localPerson(ctx, d.ObjectID())
	if err != nil {
		return err
	}
	if target == nil {
		return ignore("follow of %s, who is not a person here", d.ObjectID())
	}
	return in.Follows.FollowedFromRemote(ctx, actor.ID, target.ID, d.ID())
}

// answer applies Accept or Reject of a follow request one of our people sent.
func (in *Inbox) answer(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	f, err := in.Follows.Lookup(ctx, d.ObjectID())
	if errs.Is(err, errs.NotFound) {
		// Some servers answer with a Follow of their own making: match by the pair instead.
		inner, ok := d.EmbeddedObject()
		if !ok || inner.Type() != activity.TypeFollow || inner.ObjectID() != actor.Remote.URI {
			return ignore("answer to an unknown follow %s", d.ObjectID())
		}
		local, lerr := in.localPerson(ctx, inner.Actor())
		if lerr != nil || local == nil {
			return lerr
		}
		if f, err = in.Follows.Federation(ctx, local.ID, actor.ID); err != nil {
			return ignore("answer to an unknown follow")
		}
	} else if err != nil {
		return err
	}
	if f.FolloweeID != actor.ID {
		return errs.E(errs.Forbidden, "only the followed account can answer a follow request")
	}
	if d.Type() == activity.TypeAccept {
		return in.Follows.Accepted(ctx, f.FollowerID, f.FolloweeID)
	}
	return in.Follows.Rejected(ctx, f.FollowerID, f.FolloweeID)
}

// undo withdraws an earlier activity of the same actor. Mastodon always embeds the activity
// it undoes; a bare id is understood for follows only (we keep their ids).
func (in *Inbox) undo(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	inner, ok := d.EmbeddedObject()
	if !ok {
		f, err := in.Follows.Lookup(ctx, d.ObjectID())
		if err != nil || f.FollowerID != actor.ID {
			return ignore("undo of an unknown activity %s", d.ObjectID())
		}
		return in.Follows.UnfollowedFromRemote(ctx, f.FollowerID, f.FolloweeID)
	}
	if inner.Actor() != "" && inner.Actor() != actor.Remote.URI {
		return errs.E(errs.Forbidden, "an actor can only undo its own activities")
	}
	switch inner.Type() {
	case activity.TypeFollow:
		target, err := in.localPerson(ctx, inner.ObjectID())
		if err != nil || target == nil {
			return err
		}
		return in.Follows.UnfollowedFromRemote(ctx, actor.ID, target.ID)
	case activity.TypeLike, "EmojiReact":
		p, err := in.Posts.ByURI(ctx, inner.ObjectID())
		if err != nil {
			return ignore("unlike of an unknown post")
		}
		_, err = in.Posts.Unreact(ctx, actor, p.ID)
		return err
	case activity.TypeAnnounce:
		return in.Posts.UnshareRemote(ctx, actor, inner.ID())
	case activity.TypeBlock:
		target, err := in.localPerson(ctx, inner.ObjectID())
		if err != nil || target == nil {
			return err
		}
		return in.Follows.UnblockedFromRemote(ctx, actor.ID, target.ID)
	}
	return ignore("undo of %s is not supported", inner.Type())
}

func (in *Inbox) like(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	p, err := in.Posts.ByURI(ctx, d.ObjectID())
	if err != nil {
		return ignore("like of an unknown post %s", d.ObjectID())
	}
	emoji := strings.TrimSpace(d.Ext.Content)
	if !posts.ValidReaction(emoji) {
		emoji = posts.Like // Mastodon's favourite, or an emoji outside our set
	}
	_, err = in.Posts.React(ctx, actor, p.ID, emoji)
	return err
}

// block ends follows both ways between the actor and the local person blocked, and keeps
// the block: the person cannot follow the actor until Undo{Block}.
func (in *Inbox) block(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	target, err := in.localPerson(ctx, d.ObjectID())
	if err != nil {
		return err
	}
	if target == nil {
		return ignore("block of %s, who is not a person here", d.ObjectID())
	}
	return in.Follows.BlockedFromRemote(ctx, actor.ID, target.ID, d.ID())
}

// flag stores a partner's report (Flag{account, posts...}, usually from its instance actor)
// for our admins. The reported account is the first local person named, else the author of
// the first local post named; posts by others are left out.
func (in *Inbox) flag(ctx context.Context, actor *accounts.User, d *activity.Document) error {
	if in.Reports == nil {
		in.Log.Info("inbox: report received from a partner", "actor", d.Actor(), "objects", d.ObjectIDs())
		return ignore("this node keeps no reports")
	}
	base := strings.TrimSuffix(in.BaseURL(ctx), "/")
	var target *accounts.User
	var reported []*posts.Post
	for _, uri := range d.ObjectIDs() {
		if !strings.HasPrefix(uri, base+"/") {
			continue // only what is ours is ours to judge
		}
		if u, err := in.localPerson(ctx, uri); err != nil {
			return err
		} else if u != nil {
			if target == nil {
				target = u
			}
			continue
		}
		p, err := in.Posts.ByURI(ctx, uri)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		reported = append(reported, p)
	}
	if target == nil {
		for _, p := range reported {
			if u, err := in.Accounts.Lookup(ctx, p.AuthorID); err == nil && u.Remote == nil {
				target = u
				break
			}
		}
	}
	if target == nil {
		return ignore("report about nobody here")
	}
	var postIDs []string
	for _, p := range reported {
		if p.AuthorID == target.ID {
			postIDs = append(postIDs, p.ID)
		}
	}
	in.Log.Info("inbox: report received from a partner", "actor", d.Actor(), "target", target.Username, "posts", len(postIDs))
	return in.Reports.Received(ctx, actor.ID, target.ID, postIDs, d.Ext.Content, d.ID())
}

// deleteActor applies an account deletion: the account is marked deleted, its follows go,
// its posts are tombstoned. An unknown actor needs nothing.
func (in *Inbox) deleteActor(ctx context.Context, d *activity.Document) error {
	u, err := in.People.Known(ctx, d.Actor())
	if err != nil || u == nil {
		return err
	}
	if u.Remote != nil && u.Remote.Kind == "Group" && in.Groups != nil {
		// A group that ends: its mirror here goes, and its content with it.
		if handled, err := in.Groups.Handle(ctx, u, d); handled && err != nil {
			return err
		}
	}
	if _, err := in.Accounts.DeleteRemote(ctx, in.DB, d.Actor()); err != nil {
		return err
	}
	for after := ""; ; {
		idList, err := in.Posts.AuthoredBy(ctx, u.ID, after, 100)
		if err != nil {
			return err
		}
		for _, id := range idList {
			after = id
			if _, err := in.Posts.Delete(ctx, withActive(u), id); err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		if len(idList) < 100 {
			break
		}
	}
	return in.Follows.RemoveAll(ctx, u.ID)
}

// withActive lets the deletion of a just-deleted account's posts pass the author check.
func withActive(u *accounts.User) *accounts.User {
	c := *u
	c.State = accounts.StateActive
	return &c
}
