package posts_test

import (
	"context"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// TestRemoteAttachments: a remote post keeps its images as attachment rows owned by its
// author, in order and capped; an edit replaces them.
func TestRemoteAttachments(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		bob, err := w.acc.UpsertRemote(ctx, accounts.RemoteProfile{Username: "bob", Remote: accounts.Remote{
			URI: "https://globex.example/users/bob", Domain: "globex.example", Inbox: "https://globex.example/users/bob/inbox",
			FetchedAt: w.clock.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		att := func(k string) posts.RemoteAttachment {
			return posts.RemoteAttachment{FileKey: "remote/" + k, ThumbKey: "remote/" + k + "-small", ContentType: "image/jpeg",
				Description: "alt " + k, Width: 600, Height: 400}
		}
		n := posts.RemoteNote{URI: "https://globex.example/notes/1", ContentHTML: "<p>hi</p>", Audience: posts.Public,
			Attachments: []posts.RemoteAttachment{att("a"), {FileKey: "../etc/passwd"}, att("b"), att("c"), att("d"), att("e")}}
		p, created, err := w.svc.CreateRemote(ctx, bob, n)
		if err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		keys := func(as []posts.Attachment) (out []string) {
			for _, a := range as {
				out = append(out, a.FileKey)
				if a.OwnerID != bob.ID || a.Kind != "image" || a.PostID == nil || *a.PostID != p.ID {
					t.Errorf("attachment %+v", a)
				}
			}
			return out
		}
		if got := keys(p.Attachments); len(got) != posts.MaxAttachments || got[0] != "remote/a" || got[1] != "remote/b" {
			t.Fatalf("stored %v: want the first %d valid ones in order", got, posts.MaxAttachments)
		}
		got, err := w.svc.Get(ctx, posts.ViewerOf(w.users["follower"]), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if k := keys(got.Attachments); len(k) != 4 || k[3] != "remote/d" || got.Attachments[0].Description != "alt a" ||
			got.Attachments[0].ThumbKey != "remote/a-small" || got.Attachments[0].Width != 600 {
			t.Fatalf("read back %v %+v", k, got.Attachments)
		}

		n.Attachments = []posts.RemoteAttachment{att("z")}
		edited, err := w.svc.EditRemote(ctx, bob, n)
		if err != nil {
			t.Fatal(err)
		}
		if k := keys(edited.Attachments); len(k) != 1 || k[0] != "remote/z" {
			t.Fatalf("after the edit: %v", k)
		}
		n.Attachments = nil
		if edited, err = w.svc.EditRemote(ctx, bob, n); err != nil || len(edited.Attachments) != 0 {
			t.Fatalf("after removing them: %v %v", edited.Attachments, err)
		}
		// A repeated Create is the same post, attachments untouched.
		n.Attachments = []posts.RemoteAttachment{att("q")}
		if _, created, err := w.svc.CreateRemote(ctx, bob, n); err != nil || created {
			t.Fatalf("repeat: %v %v", created, err)
		}
		if c, err := d.NewSelect().Table("attachments").Where("post_id = ?", p.ID).Count(ctx); err != nil || c != 0 {
			t.Fatalf("%d rows after the repeated Create, %v", c, err)
		}
	})
}
