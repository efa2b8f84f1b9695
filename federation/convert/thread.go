package convert

import (
	"context"
	"fmt"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// Thread is a post with what its ActivityPub form depends on: the thread's root (whose
// audience governs), the authors, the post it answers and everyone addressed. The outbox
// (sending) and the collections (serving) assemble it from storage and render it here, so a
// post reads the same whether it was delivered or fetched.
type Thread struct {
	Post, Root         *posts.Post
	Author, RootAuthor *accounts.User
	ParentURI          string
	ParentAuthor       *accounts.User
	Recipients         []*accounts.User // everyone addressed by the post or its root
	Mentioned          map[string]bool  // ids mentioned by the post itself
}

// Note renders the thread's post with its addressing and Mention tags.
func (c Converter) ThreadNote(t *Thread) *activity.Note {
	var addressed []string
	mentions := map[string]*accounts.User{}
	for _, u := range t.Recipients {
		if t.Mentioned[u.ID] {
			mentions[u.ID] = u
		}
		if u.ID == t.Author.ID {
			continue // a reply inherits the root's recipients, which may include its own author
		}
		addressed = AppendNew(addressed, c.ActorURI(u))
	}
	if t.ParentAuthor != nil && t.ParentAuthor.ID != t.Author.ID {
		addressed = AppendNew(addressed, c.ActorURI(t.ParentAuthor))
	}
	to, cc := c.Addressing(t.Author, t.Root, t.RootAuthor, addressed)
	// A hydrated post lists only its own mentions; mark them from the resolved list.
	p := *t.Post
	p.Mentions = nil
	for _, u := range t.Recipients {
		if t.Mentioned[u.ID] {
			p.Mentions = append(p.Mentions, posts.Recipient{AccountID: u.ID, Mentioned: true})
		}
	}
	return c.Note(&p, t.Author, t.ParentURI, to, cc, mentions)
}

// AppendNew appends s to list unless it is empty or already there (addressing and inbox
// lists keep their order and hold each entry once).
func AppendNew(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Loader assembles Threads from storage, for the outbox (sending) and the collections
// (serving), which differ only in how they treat an address still kept by acct.
type Loader struct {
	Posts    *posts.Service
	Accounts *accounts.Service
}

// Resolve maps a recipient kept by acct ("acct:bob@globex.example") to an account id, or
// returns "" to leave it out of the addressing.
type Resolve func(ctx context.Context, r posts.Recipient) (string, error)

// Load gathers p's thread; root is the post whose audience governs p. A parent that no longer
// exists leaves the post unthreaded rather than failing.
func (l Loader) Load(ctx context.Context, p, root *posts.Post, resolve Resolve) (*Thread, error) {
	t := &Thread{Post: p, Root: root, Mentioned: map[string]bool{}}
	var err error
	if p.InReplyToID != nil {
		parent, err := l.Posts.Load(ctx, *p.InReplyToID)
		switch {
		case err == nil:
			t.ParentURI = parent.URI
			if t.ParentAuthor, err = l.Accounts.Lookup(ctx, parent.AuthorID); err != nil {
				return nil, fmt.Errorf("thread: author of %s: %w", parent.ID, err)
			}
		case !errs.Is(err, errs.NotFound):
			return nil, fmt.Errorf("thread: parent of %s: %w", p.ID, err)
		}
	}
	if t.Author, err = l.Accounts.Lookup(ctx, p.AuthorID); err != nil {
		return nil, fmt.Errorf("thread: author of %s: %w", p.ID, err)
	}
	t.RootAuthor = t.Author
	if root.AuthorID != p.AuthorID {
		if t.RootAuthor, err = l.Accounts.Lookup(ctx, root.AuthorID); err != nil {
			return nil, fmt.Errorf("thread: author of %s: %w", root.ID, err)
		}
	}
	recips, err := l.Posts.Recipients(ctx, p.ID, root.ID)
	if err != nil {
		return nil, fmt.Errorf("thread: recipients of %s: %w", p.ID, err)
	}
	var idList []string
	for _, r := range recips {
		id := r.AccountID
		if strings.HasPrefix(id, "acct:") {
			if id, err = resolve(ctx, r); err != nil {
				return nil, err
			}
			if id == "" {
				continue
			}
		}
		if r.Mentioned && r.PostID == p.ID {
			t.Mentioned[id] = true
		}
		idList = append(idList, id)
	}
	people, err := l.Accounts.GetMany(ctx, idList)
	if err != nil {
		return nil, fmt.Errorf("thread: recipients of %s: %w", p.ID, err)
	}
	seen := map[string]bool{}
	for _, id := range idList {
		if u := people[id]; u != nil && !seen[id] {
			seen[id] = true
			t.Recipients = append(t.Recipients, u)
		}
	}
	return t, nil
}
