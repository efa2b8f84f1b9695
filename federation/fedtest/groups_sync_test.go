package fedtest

import (
	"context"
	"testing"

	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestGroupStateAcrossNodes checks that every member node keeps the same group: a reaction
// on one member node reaches the others through the group, a moderator's deletion on the
// home node removes the post on its author's node too, a renamed group is renamed
// everywhere, and a deleted group disappears from its member nodes.
func TestGroupStateAcrossNodes(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex, initech)
	all := []*nodetest.Node{acme, globex, initech}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	carol := initech.NewUser(t, "carol").User

	g, err := acme.Groups.Create(ctx, alice, groups.NewGroup{DisplayName: "Supply chain", Visibility: groups.Open})
	if err != nil {
		t.Fatal(err)
	}
	join := func(n *nodetest.Node, who string) *groups.Group {
		t.Helper()
		u, err := n.Accounts.ByUsername(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		m, err := n.GroupFed.Resolve(ctx, g.Handle+"@"+acme.Host())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Groups.Join(ctx, u, m.ID, ""); err != nil {
			t.Fatal(err)
		}
		return m
	}
	onGlobex, onInitech := join(globex, "bob"), join(initech, "carol")
	nodetest.Settle(t, all...)

	// Carol posts from initech; bob reacts on globex.
	cp, err := initech.Posts.Create(ctx, carol, posts.NewPost{Text: "Port delays this week", GroupID: onInitech.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	onBob, err := globex.Posts.ByURI(ctx, cp.URI)
	if err != nil {
		t.Fatalf("carol's post did not reach globex: %v", err)
	}
	if _, err := globex.Posts.React(ctx, bob, onBob.ID, "🎉"); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	count := func(n *nodetest.Node) int {
		t.Helper()
		p, err := n.Posts.ByURI(ctx, cp.URI)
		if err != nil {
			t.Fatalf("%s: %v", n.Host(), err)
		}
		sum, err := n.Posts.ReactionSummary(ctx, []string{p.ID})
		if err != nil {
			t.Fatal(err)
		}
		return sum[p.ID]["🎉"]
	}
	for _, n := range all {
		if got := count(n); got != 1 {
			t.Errorf("%s shows %d 🎉 on carol's post, want 1 (bob's, through the group)", n.Host(), got)
		}
	}
	if _, err := globex.Posts.Unreact(ctx, bob, onBob.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	for _, n := range all {
		if got := count(n); got != 0 {
			t.Errorf("%s still shows %d 🎉 after bob took it back", n.Host(), got)
		}
	}

	// Alice, the group's admin on acme, deletes carol's post: gone on every node,
	// carol's own included.
	onAcme, err := acme.Posts.ByURI(ctx, cp.URI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acme.Posts.Delete(ctx, alice, onAcme.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	for _, n := range all {
		p, err := n.Posts.ByURI(ctx, cp.URI)
		if err != nil || p.DeletedAt == nil {
			t.Errorf("%s still has the removed post (err %v)", n.Host(), err)
		}
	}

	// Renamed on acme: renamed on the member nodes.
	name := "Supply chain & logistics"
	if _, err := acme.Groups.Update(ctx, alice, g.ID, groups.Update{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	for _, n := range []*nodetest.Node{globex, initech} {
		m, err := n.Groups.ByURI(ctx, g.URI)
		if err != nil || m.DisplayName != name {
			t.Errorf("%s mirror after the rename: %+v %v", n.Host(), m, err)
		}
	}

	// Deleted on acme: gone from the member nodes' directories and feeds.
	if err := acme.Groups.Delete(ctx, alice, g.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	for _, n := range []*nodetest.Node{globex, initech} {
		m, err := n.Groups.ByURI(ctx, g.URI)
		if err != nil || m.DeletedAt == nil {
			t.Errorf("%s still shows the deleted group: %+v %v", n.Host(), m, err)
		}
	}
	if _, err := globex.Groups.Get(ctx, posts.ViewerOf(bob), onGlobex.ID); err == nil {
		t.Error("bob still opens the deleted group on globex")
	}
}

// TestGroupMembersOnNodesThatAreNotPartners: acme is a partner of globex and of initech, which
// are not partners of each other. In acme's group, bob (globex) and carol (initech) still
// read each other: the group vouches for its members, so each node may read the other's
// member's actor to show who wrote what, and nothing else crosses between them.
func TestGroupMembersOnNodesThatAreNotPartners(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex)
	nodetest.Partner(t, acme, initech)
	all := []*nodetest.Node{acme, globex, initech}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	carol := initech.NewUser(t, "carol").User
	g, err := acme.Groups.Create(ctx, alice, groups.NewGroup{DisplayName: "Joint venture", Visibility: groups.Open})
	if err != nil {
		t.Fatal(err)
	}
	mirror := map[*nodetest.Node]*groups.Group{}
	for n, u := range map[*nodetest.Node]string{globex: "bob", initech: "carol"} {
		m, err := n.GroupFed.Resolve(ctx, g.Handle+"@"+acme.Host())
		if err != nil {
			t.Fatal(err)
		}
		who, _ := n.Accounts.ByUsername(ctx, u)
		if _, err := n.Groups.Join(ctx, who, m.ID, ""); err != nil {
			t.Fatal(err)
		}
		mirror[n] = m
	}
	nodetest.Settle(t, all...)
	cp, err := initech.Posts.Create(ctx, carol, posts.NewPost{Text: "Shipping plan attached", GroupID: mirror[initech].ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	onGlobex, err := globex.Posts.ByURI(ctx, cp.URI)
	if err != nil {
		t.Fatalf("carol's post did not reach globex, which is no partner of initech: %v", err)
	}
	author, err := globex.Accounts.Lookup(ctx, onGlobex.AuthorID)
	if err != nil || author.Acct() != "carol@"+initech.Host() {
		t.Fatalf("globex shows the author as %+v (%v)", author, err)
	}
	bc, err := globex.Posts.Create(ctx, bob, posts.NewPost{Text: "Looks good", InReplyToID: onGlobex.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if _, err := initech.Posts.ByURI(ctx, bc.URI); err != nil {
		t.Fatalf("bob's comment did not reach initech: %v", err)
	}
}
