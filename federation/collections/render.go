package collections

import (
	"context"
	"fmt"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// rootOf is the post whose audience governs p: the original for a share, the thread's first
// post for a comment, p itself otherwise (posts' own rule). Missing is (nil, nil).
func (h *handler) rootOf(ctx context.Context, p *posts.Post) (*posts.Post, error) {
	id := p.ThreadID
	if p.ReblogOfID != nil {
		id = *p.ReblogOfID
	}
	if id == p.ID || id == "" {
		return p, nil
	}
	return h.load(ctx, id)
}

// load returns a post by id without a visibility check, deleted ones included; missing is
// (nil, nil).
func (h *handler) load(ctx context.Context, id string) (*posts.Post, error) {
	p, err := h.Posts.Load(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("collections: load post %s: %w", id, err)
	}
	return p, nil
}

// thread gathers what the Note of p (not a share) needs. root is rootOf(p).
//
// Unlike the outbox, an address still kept by acct ("acct:bob@globex.example", resolved when
// the delivery job runs) is looked up only among stored accounts: a GET must not make this
// node fetch from other servers. One that is not stored yet is left out of to/cc.
func (h *handler) thread(ctx context.Context, p, root *posts.Post) (*convert.Thread, error) {
	return convert.Loader{Posts: h.Posts, Accounts: h.Accounts}.Load(ctx, p, root,
		func(ctx context.Context, r posts.Recipient) (string, error) {
			if u, err := h.Accounts.RemoteByAcct(ctx, strings.TrimPrefix(r.AccountID, "acct:")); err == nil {
				return u.ID, nil
			}
			return "", nil // not known here yet; the delivery job resolves it
		})
}

// announce renders a share of a public post as federation/outbox sends it.
func announce(c convert.Converter, share, orig *posts.Post, sharer, origAuthor *accounts.User) *activity.Activity {
	return c.Announce(share, c.ActorURI(sharer), orig.URI, []string{activity.Public},
		[]string{c.Followers(sharer), c.ActorURI(origAuthor)})
}
