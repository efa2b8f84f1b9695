package fedtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// enginePair starts two partner nodes on SQLite, or both on PostgreSQL.
func enginePair(t *testing.T, engine string) (acme, globex *nodetest.Node) {
	t.Helper()
	if engine == "sqlite" {
		return pair(t)
	}
	acme = nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true, DB: pgtest.DSN(t)})
	globex = nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true, DB: pgtest.DSN(t)})
	nodetest.Partner(t, acme, globex)
	return acme, globex
}

func TestBlocksAcrossNodes(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testBlocksAcrossNodes(t, engine) })
	}
}

func TestReportsAcrossNodes(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testReportsAcrossNodes(t, engine) })
	}
}

// kindRows are the stored activities of one type, with their outcomes.
func kindRows(t *testing.T, n *nodetest.Node, kind string) []inboxRow {
	t.Helper()
	var out []inboxRow
	for _, r := range inboxRows(t, n) {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// requireApplied checks that n received exactly want activities of kind, all applied.
func requireApplied(t *testing.T, n *nodetest.Node, kind string, want int) {
	t.Helper()
	rows := kindRows(t, n, kind)
	if len(rows) != want {
		t.Fatalf("%s received %d %s activities, want %d: %+v", n.Host(), len(rows), kind, want, rows)
	}
	for _, r := range rows {
		if r.ProcessedAt == nil || r.Outcome != "applied" {
			t.Fatalf("%s %s on %s: outcome %q", r.Kind, r.ActivityURI, n.Host(), r.Outcome)
		}
	}
}

func rel(t *testing.T, api *nodetest.API, id string) map[string]any {
	t.Helper()
	var rels []map[string]any
	if resp := api.Call("GET", "/api/v1/accounts/relationships?id[]="+id, nil, &rels); resp.StatusCode != 200 || len(rels) != 1 {
		t.Fatalf("relationships: status %d, %v", resp.StatusCode, rels)
	}
	return rels[0]
}

func wantRel(t *testing.T, who string, r map[string]any, want map[string]bool) {
	t.Helper()
	for k, v := range want {
		if r[k] != v {
			t.Fatalf("%s: %s is %v, want %v (%v)", who, k, r[k], v, r)
		}
	}
}

func testBlocksAcrossNodes(t *testing.T, engine string) {
	acme, globex := enginePair(t, engine)
	nodes := []*nodetest.Node{acme, globex}
	ctx := t.Context()
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	remoteBob := befriend(t, nodes, alice, "@bob@"+globex.Host())
	remoteAlice := befriend(t, nodes, bob, "@alice@"+acme.Host())
	wantRel(t, "alice before the block", rel(t, alice, remoteBob.ID), map[string]bool{"following": true, "followed_by": true})

	// alice blocks bob: the follows end both ways on acme at once, and globex hears a signed Block.
	var r map[string]any
	if resp := alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/block", nil, &r); resp.StatusCode != 200 {
		t.Fatalf("block: status %d %v", resp.StatusCode, r)
	}
	wantRel(t, "alice's block answer", r, map[string]bool{"blocking": true, "blocked_by": false, "following": false, "followed_by": false})
	var blocked []account
	alice.Call("GET", "/api/v1/blocks", nil, &blocked)
	if len(blocked) != 1 || blocked[0].ID != remoteBob.ID {
		t.Fatalf("alice's blocks: %+v", blocked)
	}
	nodetest.Settle(t, nodes...)
	requireApplied(t, globex, "Block", 1)
	wantRel(t, "bob on globex after the Block", rel(t, bob, remoteAlice.ID),
		map[string]bool{"following": false, "followed_by": false, "requested": false, "blocked_by": true, "blocking": false})
	if f, g, _ := globex.Follows.Counts(ctx, bob.User.ID); f != 0 || g != 0 {
		t.Fatalf("bob on globex: %d followers, %d following after the Block", f, g)
	}
	if f, g, _ := acme.Follows.Counts(ctx, alice.User.ID); f != 0 || g != 0 {
		t.Fatalf("alice on acme: %d followers, %d following after blocking", f, g)
	}
	// globex knows: bob cannot follow alice now.
	if resp := bob.Call("POST", "/api/v1/accounts/"+remoteAlice.ID+"/follow", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob's follow of alice who blocks him: status %d, want 403", resp.StatusCode)
	}
	// ...and alice cannot follow whom she blocks.
	if resp := alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/follow", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("alice's follow of bob she blocks: status %d, want 403", resp.StatusCode)
	}

	// bob mentions alice anyway: the post arrives, the notification does not.
	post(t, bob, map[string]any{"status": "Hey @alice@" + acme.Host(), "visibility": "public"})
	nodetest.Settle(t, nodes...)
	var notes []map[string]any
	alice.Call("GET", "/api/v1/notifications", nil, &notes)
	for _, n := range notes {
		if acc, _ := n["account"].(map[string]any); acc["id"] == remoteBob.ID && n["type"] != "follow" {
			t.Fatalf("alice was notified by bob, whom she blocks: %v", n)
		}
	}

	// A node that ignores Block (simulated: globex forgets it) lets bob's Follow through:
	// acme answers Reject, and bob is neither following nor waiting.
	if err := globex.Follows.UnblockedFromRemote(ctx, remoteAlice.ID, bob.User.ID); err != nil {
		t.Fatal(err)
	}
	bob.Call("POST", "/api/v1/accounts/"+remoteAlice.ID+"/follow", nil, &r)
	wantRel(t, "bob's follow request", r, map[string]bool{"requested": true})
	nodetest.Settle(t, nodes...)
	requireApplied(t, globex, "Reject", 1)
	wantRel(t, "bob after the Reject", rel(t, bob, remoteAlice.ID), map[string]bool{"following": false, "requested": false})
	if f, _, _ := acme.Follows.Counts(ctx, alice.User.ID); f != 0 {
		t.Fatalf("alice has %d followers after rejecting bob", f)
	}

	// alice unblocks: globex hears Undo{Block}, and bob can follow her again.
	alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/unblock", nil, &r)
	wantRel(t, "alice's unblock answer", r, map[string]bool{"blocking": false})
	if err := globex.Follows.BlockedFromRemote(ctx, remoteAlice.ID, bob.User.ID, "restore"); err != nil {
		t.Fatal(err) // globex remembers the block again, so that the Undo must lift it
	}
	nodetest.Settle(t, nodes...)
	undone := 0
	for _, r := range kindRows(t, globex, "Undo") {
		if strings.Contains(r.ActivityURI, "#blocks/") && r.Outcome == "applied" {
			undone++ // (the other Undo is of alice's follow, ended by the block)
		}
	}
	if undone != 1 {
		t.Fatalf("globex applied %d Undo{Block}, want 1", undone)
	}
	wantRel(t, "bob after Undo{Block}", rel(t, bob, remoteAlice.ID), map[string]bool{"blocked_by": false})
	alice.Call("GET", "/api/v1/blocks", nil, &blocked)
	if len(blocked) != 0 {
		t.Fatalf("alice's blocks after unblocking: %+v", blocked)
	}
	bob.Call("POST", "/api/v1/accounts/"+remoteAlice.ID+"/follow", nil, nil)
	nodetest.Settle(t, nodes...)
	wantRel(t, "bob following again", rel(t, bob, remoteAlice.ID), map[string]bool{"following": true})

	// The other way: bob blocks alice on globex; acme hears Block and ends alice's follow.
	befriend(t, nodes, alice, "@bob@"+globex.Host())
	wantRel(t, "alice following bob", rel(t, alice, remoteBob.ID), map[string]bool{"following": true, "followed_by": true})
	bob.Call("POST", "/api/v1/accounts/"+remoteAlice.ID+"/block", nil, &r)
	wantRel(t, "bob's block answer", r, map[string]bool{"blocking": true, "following": false, "followed_by": false})
	nodetest.Settle(t, nodes...)
	requireApplied(t, acme, "Block", 1)
	wantRel(t, "alice after bob's Block", rel(t, alice, remoteBob.ID),
		map[string]bool{"following": false, "followed_by": false, "blocked_by": true, "blocking": false})
	if f, g, _ := acme.Follows.Counts(ctx, alice.User.ID); f != 0 || g != 0 {
		t.Fatalf("alice on acme: %d followers, %d following after bob's Block", f, g)
	}
	if resp := alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/follow", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("alice's follow of bob who blocks her: status %d, want 403", resp.StatusCode)
	}
}

func testReportsAcrossNodes(t *testing.T, engine string) {
	acme, globex := enginePair(t, engine)
	nodes := []*nodetest.Node{acme, globex}
	ctx := t.Context()
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	remoteBob := befriend(t, nodes, alice, "@bob@"+globex.Host())
	pub := post(t, bob, map[string]any{"status": "Buy cheap watches", "visibility": "public"})
	nodetest.Settle(t, nodes...)
	feed := home(t, alice)
	if len(feed) != 1 || feed[0].URI != pub.URI {
		t.Fatalf("alice's feed: %+v", feed)
	}

	// alice reports bob's post and forwards the report to globex.
	var rep struct {
		ID            string   `json:"id"`
		ActionTaken   bool     `json:"action_taken"`
		Comment       string   `json:"comment"`
		Forwarded     bool     `json:"forwarded"`
		StatusIDs     []string `json:"status_ids"`
		TargetAccount account  `json:"target_account"`
	}
	resp := alice.Call("POST", "/api/v1/reports", map[string]any{"account_id": remoteBob.ID, "status_ids": []string{feed[0].ID},
		"comment": "spam", "forward": true}, &rep)
	if resp.StatusCode != 200 || rep.ID == "" || rep.ActionTaken || rep.Comment != "spam" || !rep.Forwarded ||
		len(rep.StatusIDs) != 1 || rep.StatusIDs[0] != feed[0].ID || rep.TargetAccount.ID != remoteBob.ID {
		t.Fatalf("report: status %d, %+v", resp.StatusCode, rep)
	}
	nodetest.Settle(t, nodes...)
	requireApplied(t, globex, "Flag", 1)
	got, err := globex.Reports.List(ctx, "", 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("globex reports: %+v, %v", got, err)
	}
	if got[0].TargetID != bob.User.ID || got[0].Comment != "spam" || len(got[0].PostIDs()) != 1 || got[0].PostIDs()[0] != pub.ID {
		t.Fatalf("globex stored %+v (posts %v)", got[0], got[0].PostIDs())
	}
	reporter, err := globex.Accounts.Lookup(ctx, got[0].ReporterID)
	if err != nil || reporter.Remote == nil || reporter.Remote.URI != acme.URL(ctx)+"/actor" {
		t.Fatalf("the report's reporter on globex is %+v, %v; want acme's instance actor", reporter, err)
	}

	// A report that is not forwarded stays on acme.
	resp = alice.Call("POST", "/api/v1/reports", map[string]any{"account_id": remoteBob.ID, "comment": "rude"}, &rep)
	if resp.StatusCode != 200 || rep.Forwarded || len(rep.StatusIDs) != 0 {
		t.Fatalf("local report: status %d, %+v", resp.StatusCode, rep)
	}
	nodetest.Settle(t, nodes...)
	if got, _ := globex.Reports.List(ctx, "", 10); len(got) != 1 {
		t.Fatalf("globex has %d reports after a local one, want 1", len(got))
	}
	entries, err := audit.List(ctx, acme.DB, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	filed := 0
	for _, e := range entries {
		if e.Action == "report.create" && e.ActorID == alice.User.ID && e.Target == remoteBob.ID {
			filed++
		}
	}
	if filed != 2 {
		t.Fatalf("acme's audit log has %d report entries, want 2", filed)
	}

	// Both reports show on acme's Admin → Reports, the received one on globex's.
	web := acme.Client(t)
	web.Login("admin", nodetest.AdminPassword)
	if _, page := web.Get("/admin/reports"); strings.Count(page, "<tr>") != 3 || !strings.Contains(page, "Forwarded to their node") ||
		!strings.Contains(page, "Kept here") || !strings.Contains(page, "rude") {
		t.Fatalf("acme's reports page:\n%.3000s", page)
	}
	gweb := globex.Client(t)
	gweb.Login("admin", nodetest.AdminPassword)
	if _, page := gweb.Get("/admin/reports"); !strings.Contains(page, "From a partner") || !strings.Contains(page, `href="/posts/`+pub.ID+`"`) {
		t.Fatalf("globex's reports page:\n%.3000s", page)
	}

	// A post by someone else cannot be part of a report about bob.
	mine := post(t, alice, map[string]any{"status": "hello"})
	if resp := alice.Call("POST", "/api/v1/reports", map[string]any{"account_id": remoteBob.ID, "status_ids": []string{mine.ID}}, nil); resp.StatusCode != 422 {
		t.Fatalf("report with someone else's post: status %d, want 422", resp.StatusCode)
	}

	// Admins list reports; people without the admin scope cannot.
	if resp := alice.Call("GET", "/api/v1/admin/reports", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("admin reports for alice: status %d", resp.StatusCode)
	}
	admin, err := acme.Accounts.ByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := acme.Accounts.CreateToken(ctx, accounts.CLIActor(), admin.ID, "admin", "read admin:read")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", acme.HTTP.URL+"/api/v1/admin/reports", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var list []struct {
		ID            string   `json:"id"`
		Comment       string   `json:"comment"`
		Forwarded     bool     `json:"forwarded"`
		StatusIDs     []string `json:"status_ids"`
		Account       account  `json:"account"`
		TargetAccount account  `json:"target_account"`
	}
	if err := json.Unmarshal(body, &list); err != nil || res.StatusCode != 200 {
		t.Fatalf("admin reports: status %d, %v: %s", res.StatusCode, err, body)
	}
	if len(list) != 2 || list[0].Comment != "rude" || list[1].Comment != "spam" || !list[1].Forwarded ||
		list[0].Account.ID != alice.User.ID || list[1].TargetAccount.ID != remoteBob.ID {
		t.Fatalf("admin reports on acme: %s", body)
	}

	// globex's admin sees the forwarded report, from acme's instance actor.
	gadmin, _ := globex.Accounts.ByUsername(ctx, "admin")
	gtok, _, err := globex.Accounts.CreateToken(ctx, accounts.CLIActor(), gadmin.ID, "admin", "admin:read")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("GET", globex.HTTP.URL+"/api/v1/admin/reports", nil)
	req.Header.Set("Authorization", "Bearer "+gtok)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Body.Close()
	body, _ = io.ReadAll(res2.Body)
	if res2.StatusCode != 200 || !strings.Contains(string(body), `"received":true`) || !strings.Contains(string(body), pub.ID) {
		t.Fatalf("admin reports on globex: status %d: %s", res2.StatusCode, body)
	}
}
