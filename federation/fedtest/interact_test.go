package fedtest

import (
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// befriend makes a (on one node) follow b (on the other) and settles.
func befriend(t *testing.T, nodes []*nodetest.Node, a *nodetest.API, bAcct string) account {
	t.Helper()
	acc := resolve(t, a, bAcct)
	a.Call("POST", "/api/v1/accounts/"+acc.ID+"/follow", nil, nil)
	nodetest.Settle(t, nodes...)
	return acc
}

func TestSharesMentionsAndDirectMessages(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	dave := acme.NewUser(t, "dave") // follows nobody: must not see bob's direct message to alice
	bob := globex.NewUser(t, "bob")
	remoteBob := befriend(t, nodes, alice, "@bob@"+globex.Host())
	remoteAlice := befriend(t, nodes, bob, "@alice@"+acme.Host())

	// bob mentions alice in a public post: she is notified on acme.
	post(t, bob, map[string]any{"status": "Thanks @alice@" + acme.Host() + " for the review", "visibility": "public"})
	nodetest.Settle(t, nodes...)
	var notes []struct {
		Type    string  `json:"type"`
		Account account `json:"account"`
	}
	alice.Call("GET", "/api/v1/notifications", nil, &notes)
	mentioned := false
	for _, n := range notes {
		if n.Type == "mention" && n.Account.ID == remoteBob.ID {
			mentioned = true
		}
	}
	if !mentioned {
		t.Fatalf("alice was not notified of bob's mention: %+v", notes)
	}

	// alice shares bob's post; bob's node counts the share.
	feed := home(t, alice)
	if len(feed) == 0 {
		t.Fatal("bob's post did not reach alice")
	}
	alice.Call("POST", "/api/v1/statuses/"+feed[0].ID+"/reblog", nil, nil)
	nodetest.Settle(t, nodes...)
	var mine []status
	bob.Call("GET", "/api/v1/accounts/"+bob.User.ID+"/statuses", nil, &mine)
	if len(mine) != 1 || mine[0].Reblogs != 1 {
		t.Fatalf("bob's post on globex after alice's share: %+v", mine)
	}
	// ...and unshares.
	alice.Call("POST", "/api/v1/statuses/"+feed[0].ID+"/unreblog", nil, nil)
	nodetest.Settle(t, nodes...)
	bob.Call("GET", "/api/v1/accounts/"+bob.User.ID+"/statuses", nil, &mine)
	if mine[0].Reblogs != 0 {
		t.Fatalf("after Undo{Announce} the post has %d shares", mine[0].Reblogs)
	}

	// bob shares alice's public post: acme counts the share.
	ap := post(t, alice, map[string]any{"status": "Our launch notes", "visibility": "public"})
	nodetest.Settle(t, nodes...)
	var bobsCopy []status
	bob.Call("GET", "/api/v1/accounts/"+remoteAlice.ID+"/statuses", nil, &bobsCopy)
	if len(bobsCopy) != 1 || bobsCopy[0].URI != ap.URI {
		t.Fatalf("alice's post on globex: %+v", bobsCopy)
	}
	bob.Call("POST", "/api/v1/statuses/"+bobsCopy[0].ID+"/reblog", nil, nil)
	nodetest.Settle(t, nodes...)
	var apNow status
	alice.Call("GET", "/api/v1/statuses/"+ap.ID, nil, &apNow)
	if apNow.Reblogs != 1 {
		t.Fatalf("alice's post has %d shares on acme after bob's Announce", apNow.Reblogs)
	}

	// A direct message from bob to alice reaches alice only.
	dm := post(t, bob, map[string]any{"status": "@alice@" + acme.Host() + " lunch on Friday?", "visibility": "direct"})
	nodetest.Settle(t, nodes...)
	var got status
	found := false
	for _, s := range home(t, alice) {
		if s.URI == dm.URI {
			found, got = true, s
		}
	}
	if !found || got.Visibility != "direct" {
		t.Fatalf("alice did not get the direct message: %+v", got)
	}
	if resp := dave.Call("GET", "/api/v1/statuses/"+got.ID, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("dave sees alice's direct message: %d", resp.StatusCode)
	}
}

func TestProfileUpdatesAndDeactivationPropagate(t *testing.T) {
	acme, globex := pair(t)
	nodes := []*nodetest.Node{acme, globex}
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	remoteAlice := befriend(t, nodes, bob, "@alice@"+acme.Host())
	if remoteAlice.Atrium.Domain != acme.Host() {
		t.Fatalf("alice on globex is labelled with domain %q, want %q", remoteAlice.Atrium.Domain, acme.Host())
	}

	// alice changes her title: bob's node shows the new one.
	if _, err := acme.Accounts.UpdateProfile(t.Context(), accounts.CLIActor(), alice.User.ID,
		accounts.Profile{DisplayName: "Alice A.", JobTitle: "Head of Launches"}); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, nodes...)
	var acc struct {
		DisplayName string `json:"display_name"`
		Fields      []struct {
			Name, Value string
		} `json:"fields"`
		Atrium struct {
			Organisation string `json:"organisation"`
		} `json:"atrium"`
	}
	bob.Call("GET", "/api/v1/accounts/"+remoteAlice.ID, nil, &acc)
	title := ""
	for _, f := range acc.Fields {
		if f.Name == "Title" {
			title = f.Value
		}
	}
	if acc.DisplayName != "Alice A." || title != "Head of Launches" || acc.Atrium.Organisation != "Acme" {
		t.Fatalf("alice on globex after her update: %+v", acc)
	}

	// An admin deactivates alice: globex marks her gone and drops the follow.
	if err := acme.Accounts.SetActive(t.Context(), accounts.CLIActor(), alice.User.ID, false); err != nil {
		t.Fatal(err)
	}
	nodetest.Settle(t, nodes...)
	u, err := globex.Accounts.Lookup(t.Context(), remoteAlice.ID)
	if err != nil || u.Active() {
		t.Fatalf("alice on globex after deactivation: %+v %v", u, err)
	}
	if _, following, _ := globex.Follows.Counts(t.Context(), bob.User.ID); following != 0 {
		t.Fatalf("bob still follows %d accounts", following)
	}
}
