package posts_test

import (
	"context"
	"maps"
	"testing"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// TestHomeStateMatchesStateOf: the viewer's reactions, shares and bookmarks that a home page
// reads along with its posts are exactly what StateOf reads separately, including posts
// others reacted to or shared (the lookups that run only when a count says there is
// something) and a reaction taken back (a count back to zero), on every kind of page.
func TestHomeStateMatchesStateOf(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		var ps []*posts.Post
		for range 8 {
			ps = append(ps, w.post(t, "author", posts.NewPost{Text: "Feed post", Audience: posts.Company}))
		}
		me, other := w.users["follower"], w.users["stranger"]
		must := func(_ *posts.Post, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(w.svc.React(ctx, me, ps[0].ID, posts.Like))
		must(w.svc.React(ctx, other, ps[1].ID, posts.Like))
		must(w.svc.Bookmark(ctx, me, ps[2].ID))
		must(w.svc.Boost(ctx, me, ps[3].ID))
		must(w.svc.React(ctx, me, ps[3].ID, "🎉"))
		must(w.svc.Boost(ctx, other, ps[4].ID))
		must(w.svc.React(ctx, me, ps[5].ID, posts.Like))
		must(w.svc.Unreact(ctx, me, ps[5].ID))
		must(w.svc.Boost(ctx, me, ps[6].ID))
		must(w.svc.Unboost(ctx, me, ps[6].ID))

		if _, err := w.fol.Follow(ctx, other.ID, w.users["author"].ID); err != nil {
			t.Fatal(err)
		}
		for _, pg := range []posts.Page{{Limit: 40}, {Limit: 3}, {MaxID: ps[5].ID, Limit: 4}, {MinID: ps[1].ID, Limit: 3}, {SinceID: ps[2].ID},
			{MaxID: ps[2].ID}, {SinceID: ps[3].ID}} {
			// me has a bookmark (in the range of some of these pages only), other has none.
			for _, v := range []*posts.Viewer{posts.ViewerOf(me), posts.ViewerOf(other)} {
				page, got, err := w.svc.HomeWithState(ctx, v, pg)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					t.Fatalf("%+v: empty page", pg)
				}
				ids := make([]string, len(page))
				for i, p := range page {
					ids[i] = p.ID
				}
				want, err := w.svc.StateOf(ctx, v, ids)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got.Reaction, want.Reaction) || !maps.Equal(got.Shared, want.Shared) || !maps.Equal(got.Bookmarked, want.Bookmarked) {
					t.Fatalf("%+v: home page state %+v, StateOf %+v", pg, got, want)
				}
			}
		}
		_, st, err := w.svc.HomeWithState(ctx, posts.ViewerOf(me), posts.Page{Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		if st.Reaction[ps[0].ID] != posts.Like || st.Reaction[ps[3].ID] != "🎉" || !st.Bookmarked[ps[2].ID] || !st.Shared[ps[3].ID] ||
			len(st.Reaction) != 2 || len(st.Shared) != 1 || len(st.Bookmarked) != 1 {
			t.Fatalf("state of the first page: %+v", st)
		}
	})
}
