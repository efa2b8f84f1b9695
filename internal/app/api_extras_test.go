package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// Legacy v1 filters are keywords of v2 filters: each side sees what the other made.
func TestLegacyFiltersAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var f map[string]any
		mustCall(t, alice, "POST", "/api/v1/filters", map[string]any{"phrase": "spoiler", "context": []string{"home", "public"},
			"irreversible": true, "whole_word": false, "expires_in": 3600}, &f, 200)
		checkShape(t, "V1::Filter", f, map[string]string{"id": "string", "phrase": "string", "context": "array",
			"whole_word": "bool", "expires_at": "string", "irreversible": "bool"})
		if f["phrase"] != "spoiler" || f["irreversible"] != true || f["whole_word"] != false || len(f["context"].([]any)) != 2 {
			t.Fatalf("created %v", f)
		}
		id := f["id"].(string)
		// The v2 side: one filter titled with the phrase, holding it as its one keyword, hiding.
		var v2 []map[string]any
		mustCall(t, alice, "GET", "/api/v2/filters", nil, &v2, 200)
		if len(v2) != 1 || v2[0]["title"] != "spoiler" || v2[0]["filter_action"] != "hide" ||
			v2[0]["keywords"].([]any)[0].(map[string]any)["id"] != id {
			t.Fatalf("v2 filters = %v", v2)
		}
		// It hides: irreversible drops matching posts from home.
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		hidden := discoverPost(t, bob, map[string]any{"status": "big spoiler ahead"})
		if homeIDs(t, alice)[hidden] {
			t.Errorf("an irreversible v1 filter did not hide %s", hidden)
		}
		// A keyword added through v2 shows as a second v1 filter.
		mustCall(t, alice, "POST", "/api/v2/filters/"+v2[0]["id"].(string)+"/keywords", map[string]any{"keyword": "ending"}, nil, 200)
		var list []map[string]any
		mustCall(t, alice, "GET", "/api/v1/filters", nil, &list, 200)
		if len(list) != 2 || list[0]["id"] != id || list[1]["phrase"] != "ending" || list[1]["irreversible"] != true {
			t.Fatalf("v1 list = %v", list)
		}
		mustCall(t, alice, "PUT", "/api/v1/filters/"+id, map[string]any{"phrase": "spoilers", "context": []string{"notifications"},
			"irreversible": false, "whole_word": true}, &f, 200)
		if f["phrase"] != "spoilers" || f["irreversible"] != false || f["whole_word"] != true || f["context"].([]any)[0] != "notifications" {
			t.Errorf("updated %v", f)
		}
		mustCall(t, alice, "GET", "/api/v1/filters/"+id, nil, &f, 200)
		if f["phrase"] != "spoilers" {
			t.Errorf("GET after PUT = %v", f)
		}

		// Bad input.
		var e map[string]any
		for _, bad := range []map[string]any{
			{"context": []string{"home"}},                      // no phrase
			{"phrase": "x", "context": []string{"everywhere"}}, // unknown context
			{"phrase": "x"}, // no context
			{"phrase": strings.Repeat("x", 300), "context": []string{"home"}}, // too long
			{"phrase": 42, "context": []string{"home"}},                       // wrong type
			{"phrase": "x", "context": "home"},                                // not a list
			{"phrase": "x", "context": []string{"home"}, "irreversible": "perhaps"},
			{"phrase": "x", "context": []string{"home"}, "expires_in": "soon"},
		} {
			mustCall(t, alice, "POST", "/api/v1/filters", bad, &e, 422)
			if _, ok := e["error"].(string); !ok {
				t.Errorf("%v answered %v", bad, e)
			}
		}
		mustCall(t, alice, "GET", "/api/v1/filters/NOPE", nil, &e, 404)
		mustCall(t, alice, "PUT", "/api/v1/filters/01ZZZZZZZZZZZZZZZZZZZZZZZZ", map[string]any{"phrase": "y"}, &e, 404)
		mustCall(t, bob, "GET", "/api/v1/filters/"+id, nil, &e, 404) // someone else's
		mustCall(t, bob, "DELETE", "/api/v1/filters/"+id, nil, &e, 404)
		mustCall(t, scoped(t, n, alice, "read"), "POST", "/api/v1/filters", map[string]any{"phrase": "x", "context": []string{"home"}}, &e, 403)
		mustCall(t, scoped(t, n, alice, "write:filters"), "GET", "/api/v1/filters", nil, &e, 403)

		// Deleting both keywords removes the emptied v2 filter.
		mustCall(t, alice, "DELETE", "/api/v1/filters/"+id, nil, &e, 200)
		mustCall(t, alice, "DELETE", "/api/v1/filters/"+list[1]["id"].(string), nil, &e, 200)
		mustCall(t, alice, "GET", "/api/v2/filters", nil, &v2, 200)
		if len(v2) != 0 {
			t.Errorf("v2 filters after deleting every keyword = %v", v2)
		}
	})
}

// The instance extras: what is shown by default, and what an admin's settings reveal.
func TestInstanceExtrasAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		ctx := context.Background()
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		anon := *alice
		anon.Token = ""
		discoverPost(t, alice, map[string]any{"status": "one"})
		discoverPost(t, bob, map[string]any{"status": "two"})

		var peers []string
		mustCall(t, &anon, "GET", "/api/v1/instance/peers", nil, &peers, 200)
		if len(peers) != 0 {
			t.Errorf("peers shown by default: %v", peers)
		}
		var e map[string]any
		mustCall(t, &anon, "GET", "/api/v1/instance/activity", nil, &e, 401)
		var weeks []map[string]any
		mustCall(t, alice, "GET", "/api/v1/instance/activity", nil, &weeks, 200)
		if len(weeks) != 12 {
			t.Fatalf("activity has %d weeks", len(weeks))
		}
		checkShape(t, "Activity", weeks[0], map[string]string{"week": "string", "statuses": "string", "logins": "string", "registrations": "string"})
		if weeks[0]["statuses"] != "2" || weeks[0]["registrations"] != "3" || weeks[0]["logins"] == "0" || weeks[1]["statuses"] != "0" {
			t.Errorf("this week = %v (want 2 statuses, 3 registrations with the admin, logins); last week = %v", weeks[0], weeks[1])
		}

		mustCall(t, &anon, "GET", "/api/v1/instance/extended_description", nil, &e, 200)
		if _, ok := e["updated_at"].(string); !ok {
			t.Errorf("extended description without its own text has updated_at %v", e["updated_at"])
		}
		if _, ok := e["content"].(string); !ok {
			t.Errorf("extended description = %v", e)
		}
		for _, p := range []string{"privacy_policy", "terms_of_service", "domain_blocks"} {
			mustCall(t, &anon, "GET", "/api/v1/instance/"+p, nil, &e, 404)
			if e["error"] != "Record not found" {
				t.Errorf("%s answered %v", p, e)
			}
		}
		langs := map[string]any{}
		mustCall(t, &anon, "GET", "/api/v1/instance/translation_languages", nil, &langs, 200)
		if len(langs) != 0 {
			t.Errorf("translation languages = %v", langs)
		}

		// An admin's choices.
		if err := n.Orgs.Set(ctx, n.DB, map[string]string{orgs.KeyPrivacyPolicy: "<p>We keep little.</p>", orgs.KeyTermsOfService: "<p>Be kind.</p>",
			orgs.KeyExtendedDescription: "<p>Acme's network.</p>", orgs.KeyShowPartners: "true", orgs.KeyShowBlockedHosts: "members"}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Partners.Add(ctx, orgs.CLIActor(), "globex.example", "a partner"); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Partners.Block(ctx, orgs.CLIActor(), "spam.example", "internal note"); err != nil {
			t.Fatal(err)
		}
		mustCall(t, &anon, "GET", "/api/v1/instance/peers", nil, &peers, 200)
		if len(peers) != 1 || peers[0] != "globex.example" {
			t.Errorf("peers = %v", peers)
		}
		mustCall(t, &anon, "GET", "/api/v1/instance/privacy_policy", nil, &e, 200)
		if e["content"] != "<p>We keep little.</p>" || e["updated_at"] == nil {
			t.Errorf("privacy policy = %v", e)
		}
		mustCall(t, &anon, "GET", "/api/v1/instance/terms_of_service", nil, &e, 200)
		if e["content"] != "<p>Be kind.</p>" || e["effective"] != true {
			t.Errorf("terms = %v", e)
		}
		mustCall(t, &anon, "GET", "/api/v1/instance/extended_description", nil, &e, 200)
		if e["content"] != "<p>Acme's network.</p>" {
			t.Errorf("extended description = %v", e)
		}
		mustCall(t, &anon, "GET", "/api/v1/instance/domain_blocks", nil, &e, 404) // members only
		var blocks []map[string]any
		mustCall(t, alice, "GET", "/api/v1/instance/domain_blocks", nil, &blocks, 200)
		if len(blocks) != 1 || blocks[0]["domain"] != "spam.example" || len(blocks[0]["digest"].(string)) != 64 || blocks[0]["comment"] != nil {
			t.Errorf("domain blocks = %v", blocks)
		}
	})
}

// Account search, private notes, familiar followers, the directory and identity proofs.
func TestAccountExtrasAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		dave := n.NewUser(t, "dave")
		var accs []map[string]any
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=car", nil, &accs, 200)
		if len(accs) != 1 || accs[0]["id"] != carol.User.ID {
			t.Fatalf("search car = %v", accs)
		}
		checkShape(t, "Account", accs[0], map[string]string{"id": "string", "acct": "string", "display_name": "string"})
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=%40bob", nil, &accs, 200)
		if len(accs) != 1 || accs[0]["id"] != bob.User.ID {
			t.Errorf("search @bob = %v", accs)
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=a&following=true", nil, &accs, 200) // bob, carol, dave, admin contain no... a?
		for _, a := range accs {
			if a["id"] != bob.User.ID {
				t.Errorf("following=true found %v", a["acct"])
			}
		}
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=o&limit=1&offset=1", nil, &accs, 200)
		if len(accs) != 1 {
			t.Errorf("limit 1 offset 1 = %v", accs)
		}
		var e map[string]any
		mustCall(t, alice, "GET", "/api/v1/accounts/search", nil, &e, 422)
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q="+strings.Repeat("x", 201), nil, &e, 422)
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=bob&limit=many", nil, &e, 422)
		mustCall(t, alice, "GET", "/api/v1/accounts/search?q=bob&following=sometimes", nil, &e, 422)
		mustCall(t, scoped(t, n, alice, "read:statuses"), "GET", "/api/v1/accounts/search?q=bob", nil, &e, 403)

		// Notes: private to their writer.
		var rel map[string]any
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/note", map[string]any{"comment": "Met at the offsite"}, &rel, 200)
		if rel["note"] != "Met at the offsite" || rel["id"] != bob.User.ID {
			t.Errorf("note answered %v", rel)
		}
		var rels []map[string]any
		mustCall(t, alice, "GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID, nil, &rels, 200)
		if len(rels) != 1 || rels[0]["note"] != "Met at the offsite" {
			t.Errorf("relationships = %v", rels)
		}
		mustCall(t, carol, "GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID, nil, &rels, 200)
		if rels[0]["note"] != "" {
			t.Errorf("carol sees alice's note: %v", rels[0]["note"])
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/note", map[string]any{"comment": strings.Repeat("n", 2001)}, &e, 422)
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/note", map[string]any{"comment": []string{"x"}}, &e, 422)
		mustCall(t, alice, "POST", "/api/v1/accounts/NOBODY/note", map[string]any{"comment": "x"}, &e, 404)
		mustCall(t, scoped(t, n, alice, "read"), "POST", "/api/v1/accounts/"+bob.User.ID+"/note", map[string]any{"comment": "x"}, &e, 403)
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/note", map[string]any{"comment": ""}, &rel, 200)
		if rel["note"] != "" {
			t.Errorf("cleared note = %v", rel["note"])
		}

		// Familiar followers: alice follows bob, who follows carol.
		mustCall(t, bob, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200)
		mustCall(t, dave, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200) // alice does not follow dave
		var fam []map[string]any
		q := url.Values{"id[]": {carol.User.ID, "NOBODY", dave.User.ID}}
		mustCall(t, alice, "GET", "/api/v1/accounts/familiar_followers?"+q.Encode(), nil, &fam, 200)
		if len(fam) != 2 || fam[0]["id"] != carol.User.ID || len(fam[0]["accounts"].([]any)) != 1 ||
			fam[0]["accounts"].([]any)[0].(map[string]any)["id"] != bob.User.ID || len(fam[1]["accounts"].([]any)) != 0 {
			t.Errorf("familiar followers = %v", fam)
		}
		mustCall(t, alice, "GET", "/api/v1/accounts/familiar_followers", nil, &fam, 200)
		if len(fam) != 0 {
			t.Errorf("no ids gave %v", fam)
		}
		many := url.Values{}
		for range 41 {
			many.Add("id[]", bob.User.ID)
		}
		mustCall(t, alice, "GET", "/api/v1/accounts/familiar_followers?"+many.Encode(), nil, &e, 422)

		// The directory.
		discoverPost(t, carol, map[string]any{"status": "active"})
		mustCall(t, alice, "GET", "/api/v1/directory?order=new&limit=2", nil, &accs, 200)
		if len(accs) != 2 || accs[0]["id"] != dave.User.ID || accs[1]["id"] != carol.User.ID {
			t.Errorf("directory new = %v", ids(accs))
		}
		mustCall(t, alice, "GET", "/api/v1/directory?order=active&local=true", nil, &accs, 200)
		if len(accs) != 5 || accs[0]["id"] != carol.User.ID {
			t.Errorf("directory active = %v", ids(accs))
		}
		mustCall(t, alice, "GET", "/api/v1/directory?offset=4", nil, &accs, 200)
		if len(accs) != 1 {
			t.Errorf("directory offset 4 = %v", ids(accs))
		}
		mustCall(t, alice, "GET", "/api/v1/directory?order=loud", nil, &e, 422)
		mustCall(t, alice, "GET", "/api/v1/directory?local=maybe", nil, &e, 422)
		mustCall(t, alice, "GET", "/api/v1/directory?limit=-1", nil, &e, 422)
		anon := *alice
		anon.Token = ""
		mustCall(t, &anon, "GET", "/api/v1/directory", nil, &e, 401)

		var proofs []any
		mustCall(t, alice, "GET", "/api/v1/accounts/"+bob.User.ID+"/identity_proofs", nil, &proofs, 200)
		if len(proofs) != 0 {
			t.Errorf("identity proofs = %v", proofs)
		}
		mustCall(t, alice, "GET", "/api/v1/accounts/NOBODY/identity_proofs", nil, &e, 404)
	})
}

// notificationsAbout counts api's notifications about a status.
func notificationsAbout(t *testing.T, api *nodetest.API, statusID string) int {
	t.Helper()
	var ns []map[string]any
	mustCall(t, api, "GET", "/api/v1/notifications?limit=80", nil, &ns, 200)
	count := 0
	for _, n := range ns {
		if st, ok := n["status"].(map[string]any); ok && st["id"] == statusID {
			count++
		}
	}
	return count
}

// Pins: own posts only, five at most, shown first with pinned=true; conversation mutes stop
// a thread's notifications.
func TestPinsAndConversationMutesAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		first := discoverPost(t, alice, map[string]any{"status": "first #golang"})
		private := discoverPost(t, alice, map[string]any{"status": "for followers", "visibility": "private"})
		discoverPost(t, alice, map[string]any{"status": "latest"})
		var st map[string]any
		mustCall(t, alice, "POST", "/api/v1/statuses/"+first+"/pin", nil, &st, 200)
		if st["pinned"] != true {
			t.Errorf("pin answered pinned = %v", st["pinned"])
		}
		mustCall(t, alice, "POST", "/api/v1/statuses/"+private+"/pin", nil, &st, 200)
		var sts []map[string]any
		mustCall(t, alice, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?pinned=true", nil, &sts, 200)
		if len(sts) != 2 || sts[0]["id"] != private || sts[1]["id"] != first || sts[0]["pinned"] != true || sts[1]["pinned"] != true {
			t.Fatalf("alice's pinned = %v", ids(sts))
		}
		// Others see the pins they may see, without pinned (it is the author's field).
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?pinned=true", nil, &sts, 200)
		if len(sts) != 1 || sts[0]["id"] != first || sts[0]["pinned"] != false {
			t.Errorf("bob sees pinned %v", sts)
		}
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?pinned=true&max_id="+first, nil, &sts, 200)
		if len(sts) != 0 {
			t.Errorf("a second page of pins: %v", ids(sts))
		}
		// The home feed and single statuses carry pinned for the author.
		var home []map[string]any
		mustCall(t, alice, "GET", "/api/v1/timelines/home", nil, &home, 200)
		for _, s := range home {
			if want := s["id"] == first || s["id"] == private; s["pinned"] != want {
				t.Errorf("home %s pinned = %v", s["id"], s["pinned"])
			}
		}
		// Tagged.
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?tagged=GoLang", nil, &sts, 200)
		if len(sts) != 1 || sts[0]["id"] != first {
			t.Errorf("tagged golang = %v", ids(sts))
		}
		var e map[string]any
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?tagged=no!tag", nil, &e, 422)
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/statuses?pinned=often", nil, &e, 422)

		// What cannot be pinned.
		bobs := discoverPost(t, bob, map[string]any{"status": "bob's"})
		mustCall(t, alice, "POST", "/api/v1/statuses/"+bobs+"/pin", nil, &e, 422)
		direct := discoverPost(t, alice, map[string]any{"status": "@bob hi", "visibility": "direct"})
		mustCall(t, alice, "POST", "/api/v1/statuses/"+direct+"/pin", nil, &e, 422)
		carols := discoverPost(t, carol, map[string]any{"status": "followers of carol only", "visibility": "private"})
		mustCall(t, alice, "POST", "/api/v1/statuses/"+carols+"/pin", nil, &e, 404) // alice may not see it
		mustCall(t, alice, "POST", "/api/v1/statuses/NOPE/pin", nil, &e, 404)
		for i := range 3 {
			id := discoverPost(t, alice, map[string]any{"status": "more " + string(rune('a'+i))})
			mustCall(t, alice, "POST", "/api/v1/statuses/"+id+"/pin", nil, nil, 200)
		}
		sixth := discoverPost(t, alice, map[string]any{"status": "one too many"})
		mustCall(t, alice, "POST", "/api/v1/statuses/"+sixth+"/pin", nil, &e, 422)
		mustCall(t, scoped(t, n, alice, "write:statuses"), "POST", "/api/v1/statuses/"+sixth+"/pin", nil, &e, 403)
		mustCall(t, alice, "POST", "/api/v1/statuses/"+first+"/unpin", nil, &st, 200)
		if st["pinned"] != false {
			t.Errorf("unpin answered pinned = %v", st["pinned"])
		}
		mustCall(t, alice, "POST", "/api/v1/statuses/"+sixth+"/pin", nil, nil, 200)

		// Conversation mutes: bob's thread, alice took part, then muted it.
		thread := discoverPost(t, bob, map[string]any{"status": "a thread"})
		mine := discoverPost(t, alice, map[string]any{"status": "my comment", "in_reply_to_id": thread})
		c1 := discoverPost(t, carol, map[string]any{"status": "comment one", "in_reply_to_id": thread})
		if notificationsAbout(t, alice, c1) != 1 {
			t.Fatalf("alice was not told of a comment in her thread")
		}
		mustCall(t, alice, "POST", "/api/v1/statuses/"+mine+"/mute", nil, &st, 200)
		if st["muted"] != true {
			t.Errorf("mute answered muted = %v", st["muted"])
		}
		mustCall(t, alice, "GET", "/api/v1/statuses/"+thread, nil, &st, 200)
		if st["muted"] != true {
			t.Errorf("the thread's root shows muted = %v", st["muted"])
		}
		mustCall(t, bob, "GET", "/api/v1/statuses/"+thread, nil, &st, 200)
		if st["muted"] != false {
			t.Errorf("bob sees alice's mute")
		}
		c2 := discoverPost(t, carol, map[string]any{"status": "@alice comment two", "in_reply_to_id": thread})
		mustCall(t, carol, "POST", "/api/v1/statuses/"+mine+"/favourite", nil, nil, 200)
		if got := notificationsAbout(t, alice, c2) + notificationsAbout(t, alice, mine); got != 0 {
			t.Errorf("alice got %d notifications from a muted conversation", got)
		}
		if notificationsAbout(t, bob, c2) != 1 {
			t.Errorf("bob (not muting) was not told of comment two")
		}
		mustCall(t, scoped(t, n, alice, "write:statuses"), "POST", "/api/v1/statuses/"+mine+"/unmute", nil, &e, 403)
		mustCall(t, alice, "POST", "/api/v1/statuses/"+carols+"/mute", nil, &e, 404)
		mustCall(t, alice, "POST", "/api/v1/statuses/"+mine+"/unmute", nil, &st, 200)
		if st["muted"] != false {
			t.Errorf("unmute answered muted = %v", st["muted"])
		}
		c3 := discoverPost(t, carol, map[string]any{"status": "comment three", "in_reply_to_id": thread})
		if notificationsAbout(t, alice, c3) != 1 {
			t.Errorf("after unmuting alice was not told of comment three")
		}
	})
}
