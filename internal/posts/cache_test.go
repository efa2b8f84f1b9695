package posts_test

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// homeOf returns the follower's first home page by post id.
func homeOf(t *testing.T, w *world, who string) map[string]*posts.Post {
	t.Helper()
	ps, err := w.svc.Home(context.Background(), posts.ViewerOf(w.users[who]), posts.Page{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*posts.Post{}
	for _, p := range ps {
		out[p.ID] = p
	}
	return out
}

// The home feed caches hydrated posts; these are the changes it must see. Changes made by
// this process show at once; so do edits, deletions and counts made by another process
// (simulated by writing the tables directly), since those are read fresh or validate the
// cached copy. Only a change that leaves edited_at alone elsewhere waits for the TTL.
func TestHomeFeedCacheSeesChanges(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		att := &posts.Attachment{ID: "01ATTACHMENT0000000000000A", OwnerID: w.users["author"].ID, Kind: "document",
			FileKey: "k", FileName: "notes.txt", ContentType: "text/plain", Description: "first", CreatedAt: w.clock.Now()}
		if _, err := d.NewInsert().Model(att).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		p := w.post(t, "author", posts.NewPost{Text: "version one #tag", AttachmentIDs: []string{att.ID}})
		other := w.post(t, "author", posts.NewPost{Text: "another post"})
		got := homeOf(t, w, "follower")[p.ID]
		if got == nil || got.Source != "version one #tag" || len(got.Attachments) != 1 || len(got.Tags) != 1 {
			t.Fatalf("first read: %+v", got)
		}

		// A caller changing what it got does not change the cache.
		got.Source, got.Tags[0] = "scribbled", "scribbled"
		if again := homeOf(t, w, "follower")[p.ID]; again.Source != "version one #tag" || again.Tags[0] != "tag" {
			t.Fatalf("a caller's change reached the cache: %+v", again)
		}

		// This process's edit and description change.
		if _, err := w.svc.Edit(ctx, w.users["author"], p.ID, posts.Change{Text: "version two", AttachmentIDs: []string{att.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Describe(ctx, w.users["author"], att.ID, "second"); err != nil {
			t.Fatal(err)
		}
		got = homeOf(t, w, "follower")[p.ID]
		if got.Source != "version two" || len(got.Tags) != 0 || got.Attachments[0].Description != "second" {
			t.Fatalf("after this process's edit: %+v", got)
		}

		// Another process's edit: a new edited_at replaces the cached copy at once.
		w.clock.Advance(time.Second)
		if _, err := d.NewUpdate().Model((*posts.Post)(nil)).Set("source = 'version three'").Set("edited_at = ?", w.clock.Now()).
			Where("id = ?", p.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got = homeOf(t, w, "follower")[p.ID]; got.Source != "version three" {
			t.Fatalf("after another process's edit: %q", got.Source)
		}

		// Another process's description change (edited_at untouched) shows within the TTL.
		if _, err := d.NewUpdate().Model((*posts.Attachment)(nil)).Set("description = 'third'").Where("id = ?", att.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(31 * time.Second)
		if got = homeOf(t, w, "follower")[p.ID]; got.Attachments[0].Description != "third" {
			t.Fatalf("after the TTL: %q", got.Attachments[0].Description)
		}

		// Reactions: counts are read fresh, the summary is cleared by this process's reaction.
		if _, err := w.svc.React(ctx, w.users["follower"], p.ID, posts.Like); err != nil {
			t.Fatal(err)
		}
		if got = homeOf(t, w, "follower")[p.ID]; got.ReactionsCount != 1 {
			t.Fatalf("favourites count after a reaction: %d", got.ReactionsCount)
		}
		if sum, err := w.svc.ReactionSummary(ctx, []string{p.ID}); err != nil || sum[p.ID][posts.Like] != 1 {
			t.Fatalf("summary after a reaction: %v %v", sum, err)
		}
		if _, err := w.svc.Unreact(ctx, w.users["follower"], p.ID); err != nil {
			t.Fatal(err)
		}
		if sum, _ := w.svc.ReactionSummary(ctx, []string{p.ID}); len(sum[p.ID]) != 0 {
			t.Fatalf("summary after removing the reaction: %v", sum)
		}
		if _, err := d.NewUpdate().Model((*posts.Post)(nil)).Set("replies_count = 7").Where("id = ?", p.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got = homeOf(t, w, "follower")[p.ID]; got.RepliesCount != 7 {
			t.Fatalf("a count changed elsewhere: %d", got.RepliesCount)
		}

		// Deletion by this process and by another one: gone at once.
		if _, err := w.svc.Delete(ctx, w.users["author"], p.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := homeOf(t, w, "follower")[p.ID]; ok {
			t.Fatal("a deleted post is still in the feed")
		}
		if _, err := d.NewUpdate().Model((*posts.Post)(nil)).Set("deleted_at = ?", w.clock.Now()).Where("id = ?", other.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := homeOf(t, w, "follower")[other.ID]; ok {
			t.Fatal("a post deleted by another process is still in the feed")
		}
	})
}

// Unfollowing removes the followee's posts from the feed at once, cached or not.
func TestHomeFeedCacheAfterUnfollow(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		p := w.post(t, "author", posts.NewPost{Text: "for followers", Audience: posts.Followers})
		if _, ok := homeOf(t, w, "follower")[p.ID]; !ok {
			t.Fatal("a follower does not see the post")
		}
		if err := w.fol.Unfollow(ctx, w.users["follower"].ID, w.users["author"].ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := homeOf(t, w, "follower")[p.ID]; ok {
			t.Fatal("the post stays in the feed after unfollowing")
		}
		if _, err := w.svc.Get(ctx, posts.ViewerOf(w.users["follower"]), p.ID); err == nil {
			t.Fatal("the post is still visible after unfollowing")
		}
	})
}

// Keyset pages over the cached feed: newest first, older with max_id, newer with since_id
// and min_id, on both engines (SQLite takes a prepared path).
func TestHomeFeedPages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		var ids []string // oldest first
		for i := 0; i < 5; i++ {
			ids = append(ids, w.post(t, "author", posts.NewPost{Text: "post"}).ID)
		}
		v := posts.ViewerOf(w.users["follower"])
		page := func(pg posts.Page) []string {
			ps, err := w.svc.Home(ctx, v, pg)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return out
		}
		want := func(name string, got []string, want ...string) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %v, want %v", name, got, want)
				}
			}
		}
		want("first", page(posts.Page{Limit: 2}), ids[4], ids[3])
		want("max_id", page(posts.Page{Limit: 2, MaxID: ids[3]}), ids[2], ids[1])
		want("since_id", page(posts.Page{Limit: 2, SinceID: ids[1]}), ids[4], ids[3])
		want("min_id", page(posts.Page{Limit: 2, MinID: ids[1]}), ids[3], ids[2])
		want("between", page(posts.Page{Limit: 10, MaxID: ids[4], SinceID: ids[1]}), ids[3], ids[2])
	})
}
