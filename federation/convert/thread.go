package convert

import (
	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
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
