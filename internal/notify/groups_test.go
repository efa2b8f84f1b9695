package notify_test

import (
	"context"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// A new group post reaches the close followers once each: not its author, not those told
// already by a mention, not those who block the author, and never a comment.
func TestGroupPostNotifiesCloseFollowers(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	ctx := context.Background()
	owner, fan, mentioned, blocker, quiet := n.NewUser(t, "owner").User, n.NewUser(t, "fan").User, n.NewUser(t, "mentioned").User,
		n.NewUser(t, "blocker").User, n.NewUser(t, "quiet").User
	g, err := n.Groups.Create(ctx, owner, groups.NewGroup{DisplayName: "Ops", Visibility: groups.Closed})
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []*accounts.User{fan, mentioned, blocker, quiet} {
		if _, err := n.Groups.Invite(ctx, owner, g.ID, who); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Groups.Join(ctx, who, g.ID, ""); err != nil {
			t.Fatal(err)
		}
		if who.ID != quiet.ID {
			if err := n.Groups.SetNotify(ctx, who, g.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := n.Groups.SetNotify(ctx, owner, g.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := n.Follows.Block(ctx, blocker.ID, owner.ID); err != nil {
		t.Fatal(err)
	}
	p, err := n.Posts.Create(ctx, owner, posts.NewPost{Text: "Standup moved, @mentioned", GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Posts.Create(ctx, fan, posts.NewPost{Text: "ok", InReplyToID: p.ID}); err != nil {
		t.Fatal(err)
	}
	count := func(id, kind string) int {
		list, err := n.Notify.List(ctx, id, notify.Query{Types: []string{kind}})
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range list {
			if nt.GroupID == nil || *nt.GroupID != g.ID {
				t.Errorf("%s notification without its group: %+v", kind, nt)
			}
		}
		return len(list)
	}
	for who, want := range map[string]int{fan.ID: 1, mentioned.ID: 0, blocker.ID: 0, quiet.ID: 0, owner.ID: 0} {
		if got := count(who, notify.GroupPost); got != want {
			t.Errorf("%s has %d group_post notifications, want %d", who, got, want)
		}
	}
	if list, _ := n.Notify.List(ctx, mentioned.ID, notify.Query{Types: []string{notify.Mention}}); len(list) != 1 {
		t.Errorf("the mentioned member has %d mentions, want 1", len(list))
	}
}
