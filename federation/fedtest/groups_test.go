package fedtest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

func postIDs(ps []*posts.Post) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.URI
	}
	return out
}

// remoteAccount resolves acct on n (WebFinger and a signed fetch, as a search would).
func remoteAccount(t *testing.T, n *nodetest.Node, acct string) *accounts.User {
	t.Helper()
	u, err := n.People.ByAcct(context.Background(), acct)
	if err != nil {
		t.Fatalf("%s resolves %s: %v", n.Host(), acct, err)
	}
	return u
}

// TestSecretGroupAcrossThreeNodes is the scenario: company A creates a secret group
// and invites a person on B, who posts; A's member comments; a person on C and a non-member
// on B find nothing; A removes B's member, and B's node stops receiving and fetching.
func TestSecretGroupAcrossThreeNodes(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex, initech)
	all := []*nodetest.Node{acme, globex, initech}
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	dave := globex.NewUser(t, "dave").User
	carol := initech.NewUser(t, "carol").User

	g, err := acme.Groups.Create(ctx, alice, groups.NewGroup{DisplayName: "Merger talks", Visibility: groups.Secret})
	if err != nil {
		t.Fatal(err)
	}
	bobOnAcme := remoteAccount(t, acme, "bob@"+globex.Host())

	// A closed or secret group admits nobody from a partner node until its admin confirms
	// that the partner's administrators can read what their node receives.
	_, err = acme.Groups.Invite(ctx, alice, g.ID, bobOnAcme)
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.Message(err), "able to read") {
		t.Fatalf("invitation before the partner warning: %v", err)
	}
	globexName, _, _ := strings.Cut(globex.Host(), ":")
	if err := acme.Groups.AddPartner(ctx, alice, g.ID, globexName, false); !errs.Is(err, errs.Invalid) {
		t.Fatalf("partner without confirmation: %v", err)
	}
	if err := acme.Groups.AddPartner(ctx, alice, g.ID, globexName, true); err != nil {
		t.Fatal(err)
	}
	if _, err := acme.Groups.Invite(ctx, alice, g.ID, bobOnAcme); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)

	// Bob's node shows the invitation; Bob accepts (Follow), the group accepts (Accept).
	inv, err := globex.Groups.List(ctx, posts.ViewerOf(bob), groups.Invitations, "", 0)
	if err != nil || len(inv) != 1 || inv[0].Group.URI != g.URI || inv[0].Group.Visibility != groups.Secret {
		t.Fatalf("bob's invitations on globex: %+v %v", inv, err)
	}
	mirror := inv[0].Group
	if m, err := globex.Groups.Join(ctx, bob, mirror.ID, ""); err != nil || m.State != groups.Requested {
		t.Fatalf("bob accepts: %+v %v", m, err)
	}
	nodetest.Settle(t, all...)
	if m, _ := globex.Groups.MembershipOf(ctx, mirror.ID, bob.ID); !m.Active() {
		t.Fatalf("bob is not a member on globex after the group's Accept: %+v", m)
	}
	if m, _ := acme.Groups.MembershipOf(ctx, g.ID, bobOnAcme.ID); !m.Active() {
		t.Fatalf("bob is not a member on acme: %+v", m)
	}

	// Bob posts from his own node; the group checks and announces it; Alice comments.
	bp, err := globex.Posts.Create(ctx, bob, posts.NewPost{Text: "Our numbers for the merger", GroupID: mirror.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	onAcme, err := acme.Posts.ByURI(ctx, bp.URI)
	if err != nil || onAcme.GroupID == nil || *onAcme.GroupID != g.ID {
		t.Fatalf("bob's post on acme: %+v %v", onAcme, err)
	}
	home, _ := acme.Posts.Home(ctx, posts.ViewerOf(alice), posts.Page{})
	if !slices.Contains(postIDs(home), bp.URI) {
		t.Fatal("alice's home feed lacks bob's group post")
	}
	comment, err := acme.Posts.Create(ctx, alice, posts.NewPost{Text: "Thanks Bob", InReplyToID: onAcme.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	got, err := globex.Posts.ByURI(ctx, comment.URI)
	if err != nil || got.InReplyToID == nil || *got.InReplyToID != bp.ID || got.GroupID == nil || *got.GroupID != mirror.ID {
		t.Fatalf("alice's comment on globex: %+v %v", got, err)
	}
	if _, err := globex.Posts.Get(ctx, posts.ViewerOf(bob), got.ID); err != nil {
		t.Fatalf("bob cannot read alice's comment: %v", err)
	}

	// Nothing for anyone else: a non-member on B, anyone on C (which received nothing).
	for _, id := range []string{bp.ID, got.ID} {
		if _, err := globex.Posts.Get(ctx, posts.ViewerOf(dave), id); !errs.Is(err, errs.NotFound) {
			t.Fatalf("dave (globex, not a member) reads %s: %v", id, err)
		}
	}
	if _, err := globex.Groups.Get(ctx, posts.ViewerOf(dave), mirror.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("dave sees the secret group: %v", err)
	}
	if list, _ := globex.Groups.List(ctx, posts.ViewerOf(dave), groups.Directory, "", 0); len(list) != 0 {
		t.Fatalf("dave's directory lists %d groups", len(list))
	}
	for _, uri := range []string{bp.URI, comment.URI, g.URI} {
		if _, err := initech.Posts.ByURI(ctx, uri); err == nil {
			t.Fatalf("initech stored %s", uri)
		}
	}
	if _, err := initech.Fetch.Get(ctx, g.URI); err == nil {
		t.Fatal("initech fetched the secret group's actor")
	}
	if _, err := initech.Fetch.Get(ctx, g.URI+"/followers"); err == nil {
		t.Fatal("initech fetched the secret group's members")
	}
	if _, err := initech.People.ByAcct(ctx, g.Handle+"@"+acme.Host()); err == nil {
		t.Fatal("WebFinger answered for a secret group")
	}
	_ = carol
	resp, err := http.Get(acme.HTTP.URL + "/.well-known/webfinger?resource=acct:" + g.Handle + "@" + acme.Host())
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("webfinger of a secret group: %d", resp.StatusCode)
		}
	}

	// Alice removes Bob: his node is told at once, stops receiving and cannot fetch.
	if err := acme.Groups.Remove(ctx, alice, g.ID, bobOnAcme.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if m, _ := globex.Groups.MembershipOf(ctx, mirror.ID, bob.ID); m != nil {
		t.Fatalf("bob is still a member on globex: %+v", m)
	}
	if _, err := globex.Posts.Get(ctx, posts.ViewerOf(bob), got.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("bob still reads the group's content after removal: %v", err)
	}
	after, err := acme.Posts.Create(ctx, alice, posts.NewPost{Text: "After Bob left", GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, all...)
	if _, err := globex.Posts.ByURI(ctx, after.URI); err == nil {
		t.Fatal("globex received a group post after its last member was removed")
	}
	if _, err := globex.Fetch.Get(ctx, g.URI); err == nil {
		t.Fatal("globex still fetches the secret group's actor with no member left")
	}
}

// TestForgedGroupTraffic: a post to a group by a non-member, and an Announce from a group
// nobody here joined, are refused.
func TestOpenGroupAcrossNodes(t *testing.T) {
	ctx := context.Background()
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice").User
	bob := globex.NewUser(t, "bob").User
	g, err := acme.Groups.Create(ctx, alice, groups.NewGroup{DisplayName: "Book club"})
	if err != nil {
		t.Fatal(err)
	}
	// Bob finds the open group by its address and joins at once.
	var found *groups.Group
	if found, err = globex.GroupFed.Resolve(ctx, g.Handle+"@"+acme.Host()); err != nil {
		t.Fatal(err)
	}
	if found.Visibility != groups.Open || found.DisplayName != "Book club" {
		t.Fatalf("mirror: %+v", found)
	}
	if _, err := globex.Groups.Join(ctx, bob, found.ID, ""); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, acme, globex)
	if m, _ := globex.Groups.MembershipOf(ctx, found.ID, bob.ID); !m.Active() {
		for _, n := range []*nodetest.Node{acme, globex} {
			var rows []struct {
				Kind    string `bun:"kind"`
				Outcome string `bun:"outcome"`
			}
			_ = n.DB.NewSelect().Table("inbox_activities").Column("kind", "outcome").Scan(ctx, &rows)
			t.Logf("%s inbox: %+v", n.Host(), rows)
			var js []struct {
				Kind    string `bun:"kind"`
				State   string `bun:"state"`
				Payload string `bun:"payload"`
				Err     string `bun:"last_error"`
			}
			_ = n.DB.NewSelect().Table("jobs").Column("kind", "state", "payload", "last_error").Scan(ctx, &js)
			t.Logf("%s jobs: %+v", n.Host(), js)
		}
		t.Fatalf("bob not admitted to an open group: %+v", m)
	}
	ap, err := acme.Posts.Create(ctx, alice, posts.NewPost{Text: "Chapter one", GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, acme, globex)
	onGlobex, err := globex.Posts.ByURI(ctx, ap.URI)
	if err != nil {
		t.Fatalf("alice's post did not reach bob's node: %v", err)
	}
	home, _ := globex.Posts.Home(ctx, posts.ViewerOf(bob), posts.Page{})
	if !slices.Contains(postIDs(home), ap.URI) {
		t.Fatal("bob's home feed lacks the group post")
	}
	// Bob leaves: the group hears it (Undo{Follow}) and stops sending.
	if err := globex.Groups.Leave(ctx, bob, found.ID); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, acme, globex)
	bobOnAcme := remoteAccount(t, acme, "bob@"+globex.Host())
	if m, _ := acme.Groups.MembershipOf(ctx, g.ID, bobOnAcme.ID); m != nil {
		t.Fatalf("bob still a member on acme after leaving: %+v", m)
	}
	// A post to the group by a non-member is refused by the group.
	_, err = globex.Posts.Create(ctx, bob, posts.NewPost{Text: "let me in", InReplyToID: onGlobex.ID})
	if err == nil {
		nodetest.Settle(t, acme, globex)
	}
	if n, _ := acme.DB.NewSelect().Table("posts").Where("author_id = ?", bobOnAcme.ID).Count(ctx); n != 0 {
		t.Fatalf("the group stored %d posts of a non-member", n)
	}
}
