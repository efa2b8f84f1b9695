package notify_test

import (
	"context"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
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
