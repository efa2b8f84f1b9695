package inbox

import (
	"context"
	"errors"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/posts"
)

// batch is what the activities of one job call (processBatch) share: the local people their
// addressing named (a burst of notes mentioning the same person looks them up once; failed
// lookups are not remembered), and the notes read and checked but not stored yet.
//
// A Create's note is read, checked and sanitised at once, outside any transaction, then kept
// pending; the pending notes are stored together in one transaction (one commit, one turn of
// SQLite's single writer), which also records their outcomes when it is the batch's last.
// Order is kept: the pending notes are stored before any other activity of the batch is
// applied and before a reply is read (its parent may be one of them). If that transaction
// fails, each note is stored again on its own (CreateRemote), so that one bad note costs the
// others nothing and gets its own outcome.
type batch struct {
	in      *Inbox
	local   map[string]*accounts.User // actor URI -> the person here, or nil for none
	pending []*pendingNote
	done    []*Row   // rows whose outcome is known
	outcome []string // their outcomes
	retry   map[*Row]error
	current *Row // the row being applied
}

type pendingNote struct {
	r      *Row
	author *accounts.User
	note   posts.RemoteNote
}

// errPending is create's answer in a batch: the note is checked and waits to be stored.
var errPending = errors.New("inbox: note pending")

type batchKey struct{}

func (in *Inbox) newBatch(ctx context.Context) (*batch, context.Context) {
	b := &batch{in: in, local: map[string]*accounts.User{}, retry: map[*Row]error{}}
	return b, context.WithValue(ctx, batchKey{}, b)
}

func batchOf(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	return b
}

// record keeps r's outcome (err nil: applied) for the batch's final write.
func (b *batch) record(r *Row, err error) {
	b.done = append(b.done, r)
	b.outcome = append(b.outcome, outcomeText(err))
}

// flush stores the pending notes; with last, the recorded outcomes are written in the same
// transaction.
func (b *batch) flush(ctx context.Context, last bool) error {
	if len(b.pending) == 0 && !last {
		return nil
	}
	pending := b.pending
	b.pending = nil
	err := b.in.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, p := range pending {
			if _, _, err := b.in.Posts.CreateRemoteIn(ctx, tx, p.author, p.note); err != nil {
				return err
			}
		}
		if !last {
			return nil
		}
		done, outcome := b.done, b.outcome
		for _, p := range pending {
			done, outcome = append(done, p.r), append(outcome, outcomeText(nil))
		}
		return b.in.recordOutcomes(ctx, tx, done, outcome)
	})
	if err == nil {
		for _, p := range pending {
			b.record(p.r, nil)
		}
		return nil
	}
	// One by one, each with its own outcome.
	for _, p := range pending {
		_, _, err := b.in.Posts.CreateRemote(ctx, p.author, p.note)
		if err != nil && !recorded(err) {
			b.retry[p.r] = err
			continue
		}
		if err != nil {
			b.in.Log.Info("inbox: refused", "id", p.r.ActivityURI, "type", p.r.Kind, "actor", p.r.Actor, "err", err)
		}
		b.record(p.r, err)
	}
	if last {
		return b.in.finishAll(ctx, b.done, b.outcome)
	}
	return nil
}
