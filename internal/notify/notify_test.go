package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// Announcements notify exactly the people who can see them, once each, in bulk.
func TestAnnouncementNotifiesItsAudience(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	ctx := context.Background()
	admin, _ := n.Accounts.ByUsername(ctx, "admin")
	people := map[string]*accounts.User{}
	for _, name := range []string{"ann", "ben", "cat"} {
		people[name] = n.NewUser(t, name).User
	}
	if _, err := n.Follows.Follow(ctx, people["ann"].ID, admin.ID); err != nil {
		t.Fatal(err)
	}
	count := func(u *accounts.User) int {
		list, err := n.Notify.List(ctx, u.ID, notify.Query{Types: []string{notify.Announcement}})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	if _, err := n.Posts.Create(ctx, admin, posts.NewPost{Text: "Company-wide", Important: true}); err != nil {
		t.Fatal(err)
	}
	for name, u := range people {
		if got := count(u); got != 1 {
			t.Errorf("%s has %d announcement notifications, want 1", name, got)
		}
	}
	if count(admin) != 0 {
		t.Error("the author was notified of their own announcement")
	}
	if _, err := n.Posts.Create(ctx, admin, posts.NewPost{Text: "For followers", Important: true, Audience: posts.Followers}); err != nil {
		t.Fatal(err)
	}
	if count(people["ann"]) != 2 || count(people["ben"]) != 1 {
		t.Errorf("followers-only announcement: ann %d (want 2), ben %d (want 1)", count(people["ann"]), count(people["ben"]))
	}
}

// Live updates reach the connected people among a post's audience, and only them, whether the
// audience is looked up among the connected (the usual case) or read whole: a big fan-out
// done by the background writer (more than posts.InlineFanOut followers, or members of a
// group), a small one done with the post, and a change to a post (a reaction).
func TestLiveUpdatesReachConnectedAudience(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true, Manual: true})
	ctx := context.Background()
	author := n.NewUser(t, "author").User
	stranger := n.NewUser(t, "stranger").User
	var followers []*accounts.User
	for i := 0; i < posts.InlineFanOut+6; i++ {
		u := n.NewUser(t, fmt.Sprintf("fan%02d", i)).User
		if _, err := n.Follows.Follow(ctx, u.ID, author.ID); err != nil {
			t.Fatal(err)
		}
		followers = append(followers, u)
	}
	g, err := n.Groups.Create(ctx, author, groups.NewGroup{DisplayName: "Big group"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range followers {
		if _, err := n.Groups.Join(ctx, u, g.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	subscribe := func(u *accounts.User) *realtime.Subscription {
		s := n.Hub.Subscribe(u.ID, []string{realtime.StreamUser}, 0)
		t.Cleanup(s.Close)
		return s
	}
	near, far, other := subscribe(followers[3]), subscribe(followers[len(followers)-1]), subscribe(stranger)
	// next waits for the next event of kind on s that names the post.
	next := func(s *realtime.Subscription, who, kind, postID string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e, ok := <-s.C():
				if !ok {
					t.Fatalf("%s: subscription ended (%s)", who, s.Reason())
				}
				if e.Kind == kind && strings.Contains(string(e.Payload), postID) {
					return
				}
			case <-deadline:
				t.Fatalf("%s: no %s event for %s", who, kind, postID)
			}
		}
	}
	nothing := func(s *realtime.Subscription, who string) {
		t.Helper()
		select {
		case e := <-s.C():
			t.Fatalf("%s received %s %s", who, e.Kind, e.Payload)
		default:
		}
	}
	fanOut := func() {
		t.Helper()
		for {
			done, err := n.Posts.FanOutPending(ctx, 16)
			if err != nil {
				t.Fatal(err)
			}
			if done == 0 {
				return
			}
		}
	}

	check := func(t *testing.T) {
		big, err := n.Posts.Create(ctx, author, posts.NewPost{Text: "To all my followers", Audience: posts.Company})
		if err != nil {
			t.Fatal(err)
		}
		if !big.FanOutPending {
			t.Fatal("the post to many followers was fanned out with the post")
		}
		fanOut()
		next(near, "a connected follower", realtime.KindUpdate, big.ID)
		next(far, "another connected follower", realtime.KindUpdate, big.ID)

		inGroup, err := n.Posts.Create(ctx, author, posts.NewPost{Text: "To the group", Audience: posts.Group, GroupID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		fanOut()
		next(near, "a connected member", realtime.KindUpdate, inGroup.ID)
		next(far, "another connected member", realtime.KindUpdate, inGroup.ID)

		small, err := n.Posts.Create(ctx, followers[0], posts.NewPost{Text: "Few followers", Audience: posts.Company})
		if err != nil {
			t.Fatal(err)
		}
		if small.FanOutPending {
			t.Fatal("a post without followers waited for the background writer")
		}
		if _, err := n.Follows.Follow(ctx, followers[3].ID, followers[0].ID); err != nil {
			t.Fatal(err)
		}
		small2, err := n.Posts.Create(ctx, followers[0], posts.NewPost{Text: "Now one follower", Audience: posts.Company})
		if err != nil {
			t.Fatal(err)
		}
		next(near, "the connected follower of a small account", realtime.KindUpdate, small2.ID)

		if _, err := n.Posts.React(ctx, stranger, big.ID, "🎉"); err != nil {
			t.Fatal(err)
		}
		next(near, "a connected follower, of a reaction", realtime.KindStatusUpdate, big.ID)
		next(far, "another connected follower, of a reaction", realtime.KindStatusUpdate, big.ID)
		if err := n.Follows.Unfollow(ctx, followers[3].ID, followers[0].ID); err != nil {
			t.Fatal(err)
		}
		nothing(other, "someone outside every audience")
	}
	t.Run("looked up among the connected", check)
	// More people connected than the lookup takes: the whole audience is read.
	for i := 0; i < 260; i++ {
		s := n.Hub.Subscribe(fmt.Sprintf("someone-elsewhere-%d", i), []string{realtime.StreamUser}, 0)
		t.Cleanup(s.Close)
	}
	t.Run("read whole", check)
}
