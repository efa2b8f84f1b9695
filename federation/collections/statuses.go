package collections

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// verdict is how a post may be answered to one caller.
type verdict int

const (
	hidden       verdict = iota // 404: absent, or not for this caller
	unauthorized                // 401: signed, but the signature does not verify
	visible                     // 200
	gone                        // 410: deleted, and the caller could have read it
)

// served is a post the caller may be told about, with the post governing its audience.
type served struct {
	post, root *posts.Post
	author     *accounts.User
	verdict    verdict
}

// decide applies the package's visibility rules (doc.go) to /users/username/statuses/id.
func (h *handler) decide(ctx context.Context, r *caller, username, id string) (*served, error) {
	// Whatever cannot be read unsigned is answered alike, existing or not, company or
	// followers-only: a bad signature gets 401 and anything else 404, so neither reveals
	// whether a hidden post exists.
	deny := func() (*served, error) {
		if _, err := r.verify(ctx); err != nil && !notAllowed(err) {
			return &served{verdict: unauthorized}, nil
		}
		return &served{verdict: hidden}, nil
	}
	if !validID(id) {
		return &served{verdict: hidden}, nil // garbage: not worth a key fetch
	}
	u, err := h.person(ctx, username)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return deny()
	}
	p, err := h.load(ctx, id)
	if err != nil {
		return nil, err
	}
	// Only posts written here, by the person in the path: remote posts are their own
	// node's to serve.
	if p == nil || p.AuthorID != u.ID || !p.Local(h.conv(ctx).Base) {
		return deny()
	}
	root, err := h.rootOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return deny()
	}
	if p.DeletedAt == nil && root.DeletedAt != nil {
		return deny() // a thread whose first post is gone is hidden here too (posts.visible)
	}
	s := &served{post: p, root: root, author: u, verdict: visible}
	if p.DeletedAt != nil {
		s.verdict = gone
	}
	switch {
	case root.Audience == posts.Public:
		return s, nil
	case p.ReblogOfID != nil:
		return deny() // only shares of public posts federate (federation/outbox)
	case root.Audience != posts.Followers && root.Audience != posts.Direct:
		return deny() // company and group posts never leave the node
	}
	owner, err := r.verify(ctx)
	if owner == "" || err != nil {
		return deny()
	}
	ok, err := h.remoteCanSee(ctx, owner, root)
	if err != nil {
		return nil, err
	}
	if !ok {
		return deny()
	}
	return s, nil
}

// remoteCanSee asks posts.CanSee about the remote account owning the verified key. Only
// stored accounts are considered: one this node has never stored can neither follow anyone
// here nor be an addressee, so there is nothing to fetch. The root's deletion is set aside
// (on a copy), because a deleted post is answered 410 to whoever could read it.
func (h *handler) remoteCanSee(ctx context.Context, owner string, root *posts.Post) (bool, error) {
	acct, err := h.Accounts.RemoteByURI(ctx, owner)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, fmt.Errorf("collections: signer %s: %w", owner, err)
	}
	v := posts.ViewerOf(acct)
	if v == nil {
		return false, nil // deleted actor
	}
	check := *root
	check.DeletedAt = nil
	ok, err := h.Posts.CanSee(ctx, h.Posts.DB, v, &check)
	if err != nil {
		return false, fmt.Errorf("collections: visibility of %s: %w", root.ID, err)
	}
	return ok, nil
}

// lookup is what both status routes do first: browsers go to the post's page, and a post the
// caller may not read is answered 404 (or 401 for a bad signature). answered says the
// response is written; otherwise s is readable by the caller or gone.
func (h *handler) lookup(c *fiber.Ctx) (s *served, conv convert.Converter, answered bool, err error) {
	ctx := c.UserContext()
	id := c.Params("id")
	if !wantsActivity(c) {
		return nil, conv, true, h.toPostPage(c, id)
	}
	if s, err = h.decide(ctx, h.caller(c), c.Params("username"), id); err != nil {
		return nil, conv, true, err
	}
	switch s.verdict {
	case hidden:
		return s, conv, true, notFound(c)
	case unauthorized:
		return s, conv, true, badSignature(c)
	}
	return s, h.conv(ctx), false, nil
}

// status serves GET /users/:username/statuses/:id: the Note.
func (h *handler) status(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s, conv, answered, err := h.lookup(c)
	if answered || err != nil {
		return err
	}
	if s.verdict == gone {
		return h.tombstone(c, conv.Base+"/users/"+s.author.Username+"/statuses/"+s.post.ID, activity.TypeNote, s.post)
	}
	if s.post.ReblogOfID != nil {
		// A share has no object of its own: send fetchers to the original, as Mastodon does.
		return c.Redirect(s.root.URI, fiber.StatusFound)
	}
	t, err := h.thread(ctx, s.post, s.root)
	if err != nil {
		return err
	}
	b, err := activity.Encode(conv.ThreadNote(t))
	if err != nil {
		return fmt.Errorf("collections: encode note %s: %w", s.post.ID, err)
	}
	return send(c, fiber.StatusOK, b)
}

// statusActivity serves GET /users/:username/statuses/:id/activity: the Create of a post,
// or the Announce of a share (whose id this is).
func (h *handler) statusActivity(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s, conv, answered, err := h.lookup(c)
	if answered || err != nil {
		return err
	}
	switch s.verdict {
	case gone:
		self := conv.Base + "/users/" + s.author.Username + "/statuses/" + s.post.ID + "/activity"
		former := activity.TypeCreate
		if s.post.ReblogOfID != nil {
			former = activity.TypeAnnounce
		}
		return h.tombstone(c, self, former, s.post)
	}
	var a *activity.Activity
	if s.post.ReblogOfID != nil {
		origAuthor, err := h.Accounts.Lookup(ctx, s.root.AuthorID)
		if err != nil {
			return fmt.Errorf("collections: author of %s: %w", s.root.ID, err)
		}
		a = announce(conv, s.post, s.root, s.author, origAuthor)
	} else {
		t, err := h.thread(ctx, s.post, s.root)
		if err != nil {
			return err
		}
		a = conv.Create(conv.ThreadNote(t))
	}
	b, err := activity.Encode(a)
	if err != nil {
		return fmt.Errorf("collections: encode activity of %s: %w", s.post.ID, err)
	}
	return send(c, fiber.StatusOK, b)
}

// toPostPage sends a browser to the post's page, which applies the app's own visibility. It
// is done without any lookup, so it confirms nothing.
func (h *handler) toPostPage(c *fiber.Ctx, id string) error {
	if !validID(id) {
		return notFound(c)
	}
	return c.Redirect(h.conv(c.UserContext()).Base+"/posts/"+id, fiber.StatusFound)
}

// tombstone answers 410 for a deleted post (Mastodon and GoToSocial then drop their copy).
func (h *handler) tombstone(c *fiber.Ctx, id, formerType string, p *posts.Post) error {
	t := &activity.Tombstone{ID: id, FormerType: formerType}
	if p.DeletedAt != nil {
		t.Deleted = *p.DeletedAt
	}
	b, err := activity.Encode(t)
	if err != nil {
		return fmt.Errorf("collections: encode tombstone %s: %w", id, err)
	}
	return send(c, fiber.StatusGone, b)
}
