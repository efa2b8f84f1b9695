package app_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

func statusByID(list []map[string]any, id string) map[string]any {
	for _, s := range list {
		if s["id"] == id {
			return s
		}
	}
	return nil
}

func TestFiltersAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var e map[string]any
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil), 200, nil, "follow")

		var f map[string]any
		c.expect(alice.Call("POST", "/api/v2/filters", map[string]any{"title": "Spoilers", "context": []string{"home", "notifications"},
			"keywords_attributes": []map[string]any{{"keyword": "Dragon"}, {"keyword": "ring", "whole_word": false}}}, &f), 200, nil, "create")
		if f["filter_action"] != "warn" || f["expires_at"] != nil || len(f["keywords"].([]any)) != 2 || !slices.Equal(toStrs(f["context"]), []string{"home", "notifications"}) {
			t.Fatalf("filter %v", f)
		}
		fid := f["id"].(string)
		c.expect(alice.Call("POST", "/api/v2/filters", map[string]any{"title": "x", "context": []string{"everywhere"}}, &e), 422, e, "bad context")
		c.expect(alice.Call("POST", "/api/v2/filters", map[string]any{"title": "x", "context": []string{"home"}, "filter_action": "blur"}, &e), 422, e, "bad action")
		c.expect(bob.Call("GET", "/api/v2/filters/"+fid, nil, &e), 404, e, "another's filter")
		// The form shape apps send: keywords_attributes[][keyword].
		if code := formCall(t, n, alice, "POST", "/api/v2/filters", url.Values{"title": {"Work"}, "context[]": {"public"}, "filter_action": {"hide"},
			"expires_in": {"3600"}, "keywords_attributes[][keyword]": {"deadline"}}); code != 200 {
			t.Fatalf("form create: %d", code)
		}
		var all []map[string]any
		c.expect(alice.Call("GET", "/api/v2/filters", nil, &all), 200, nil, "all")
		if len(all) != 2 || all[1]["filter_action"] != "hide" || all[1]["expires_at"] == nil || len(all[1]["keywords"].([]any)) != 1 {
			t.Fatalf("filters %v", all)
		}

		// Warn: the status carries `filtered`; whole words only.
		var st map[string]any
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "the dragon wins"}, &st), 200, nil, "post")
		hit := st["id"].(string)
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "dragonfly season"}, &st), 200, nil, "post 2")
		miss := st["id"].(string)
		var home []map[string]any
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &home), 200, nil, "home")
		s := statusByID(home, hit)
		if s == nil {
			t.Fatal("warned status missing from home")
		}
		fl := s["filtered"].([]any)
		if len(fl) != 1 {
			t.Fatalf("filtered %v", fl)
		}
		r := fl[0].(map[string]any)
		if r["filter"].(map[string]any)["id"] != fid || !slices.Equal(toStrs(r["keyword_matches"]), []string{"Dragon"}) {
			t.Fatalf("filter result %v", r)
		}
		if m := statusByID(home, miss); m == nil || len(m["filtered"].([]any)) != 0 {
			t.Fatalf("dragonfly matched a whole-word filter: %v", m)
		}

		// Hide: gone from home. Keyword endpoints.
		c.expect(alice.Call("PUT", "/api/v2/filters/"+fid, map[string]any{"filter_action": "hide"}, &f), 200, nil, "to hide")
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &home), 200, nil, "home after hide")
		if statusByID(home, hit) != nil || statusByID(home, miss) == nil {
			t.Fatalf("hide filter: %v", idsOf(home))
		}
		var kw map[string]any
		c.expect(alice.Call("POST", "/api/v2/filters/"+fid+"/keywords", map[string]any{"keyword": "dragonfly", "whole_word": true}, &kw), 200, nil, "add keyword")
		kid := kw["id"].(string)
		c.expect(bob.Call("GET", "/api/v2/filter_keywords/"+kid, nil, &e), 404, e, "another's keyword")
		c.expect(alice.Call("PUT", "/api/v2/filter_keywords/"+kid, map[string]any{"keyword": "season"}, &kw), 200, nil, "update keyword")
		if kw["keyword"] != "season" || kw["whole_word"] != true {
			t.Fatalf("keyword %v", kw)
		}
		var kws []map[string]any
		c.expect(alice.Call("GET", "/api/v2/filters/"+fid+"/keywords", nil, &kws), 200, nil, "keywords")
		if len(kws) != 3 {
			t.Fatalf("keywords %v", kws)
		}
		c.expect(alice.Call("DELETE", "/api/v2/filter_keywords/"+kid, nil, nil), 200, nil, "delete keyword")
		c.expect(alice.Call("DELETE", "/api/v2/filters/"+fid, nil, nil), 200, nil, "delete")
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &home), 200, nil, "home after delete")
		if statusByID(home, hit) == nil {
			t.Fatal("deleted filter still hides")
		}
	})
}

func toStrs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestMutesDomainBlocksFollowRequestsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var e map[string]any
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil), 200, nil, "follow")
		var st map[string]any
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "mine"}, &st), 200, nil, "alice posts")
		mine := st["id"].(string)
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "bob here"}, &st), 200, nil, "bob posts")
		bobs := st["id"].(string)

		var rel map[string]any
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/mute", map[string]any{"notifications": true}, &rel), 200, nil, "mute")
		if rel["muting"] != true || rel["muting_notifications"] != true || rel["following"] != true {
			t.Fatalf("relationship %v", rel)
		}
		var rels []map[string]any
		c.expect(alice.Call("GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID, nil, &rels), 200, nil, "relationships")
		if len(rels) != 1 || rels[0]["muting"] != true {
			t.Fatalf("relationships %v", rels)
		}
		var accts []map[string]any
		c.expect(alice.Call("GET", "/api/v1/mutes", nil, &accts), 200, nil, "mutes")
		if !slices.Equal(idsOf(accts), []string{bob.User.ID}) {
			t.Fatalf("mutes %v", idsOf(accts))
		}
		var home []map[string]any
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &home), 200, nil, "home")
		if statusByID(home, bobs) != nil || statusByID(home, mine) == nil {
			t.Fatalf("muted on home: %v", idsOf(home))
		}
		// The muted account's profile stays readable, as on Mastodon.
		c.expect(alice.Call("GET", "/api/v1/accounts/"+bob.User.ID+"/statuses", nil, &home), 200, nil, "bob's profile")
		if statusByID(home, bobs) == nil {
			t.Fatal("muted account's own timeline hidden")
		}
		c.expect(bob.Call("POST", "/api/v1/statuses/"+mine+"/favourite", nil, nil), 200, nil, "bob reacts")
		var ns []map[string]any
		c.expect(alice.Call("GET", "/api/v1/notifications", nil, &ns), 200, nil, "notifications")
		if len(ns) != 0 {
			t.Fatalf("notification from muted account: %v", ns)
		}
		// notifications=false keeps notifications.
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/mute", map[string]any{"notifications": false}, &rel), 200, nil, "re-mute")
		if rel["muting"] != true || rel["muting_notifications"] != false {
			t.Fatalf("relationship %v", rel)
		}
		c.expect(alice.Call("GET", "/api/v1/notifications", nil, &ns), 200, nil, "notifications")
		if len(ns) != 1 {
			t.Fatalf("notifications %v", ns)
		}
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/unmute", nil, &rel), 200, nil, "unmute")
		if rel["muting"] != false {
			t.Fatalf("relationship %v", rel)
		}
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &home), 200, nil, "home")
		if statusByID(home, bobs) == nil {
			t.Fatal("unmuted account still hidden")
		}
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/mute", map[string]any{"duration": "x"}, &e), 422, e, "bad duration")
		c.expect(alice.Call("POST", "/api/v1/accounts/nobody/mute", nil, &e), 404, e, "unknown account")

		// Domain blocks.
		c.expect(alice.Call("POST", "/api/v1/domain_blocks", map[string]any{"domain": "Spam.Example"}, nil), 200, nil, "block domain")
		if code := formCall(t, n, alice, "POST", "/api/v1/domain_blocks", url.Values{"domain": {"other.example"}}); code != 200 {
			t.Fatalf("form block: %d", code)
		}
		c.expect(alice.Call("POST", "/api/v1/domain_blocks", map[string]any{"domain": ""}, &e), 422, e, "no domain")
		var ds []string
		c.expect(alice.Call("GET", "/api/v1/domain_blocks", nil, &ds), 200, nil, "domains")
		if !slices.Equal(ds, []string{"other.example", "spam.example"}) {
			t.Fatalf("domains %v", ds)
		}
		c.expect(alice.Call("DELETE", "/api/v1/domain_blocks?domain=spam.example", nil, nil), 200, nil, "unblock")
		c.expect(alice.Call("GET", "/api/v1/domain_blocks", nil, &ds), 200, nil, "domains")
		if !slices.Equal(ds, []string{"other.example"}) {
			t.Fatalf("domains %v", ds)
		}

		// Follow requests: none ever wait here.
		c.expect(alice.Call("GET", "/api/v1/follow_requests", nil, &accts), 200, nil, "follow requests")
		if len(accts) != 0 {
			t.Fatalf("follow requests %v", accts)
		}
		c.expect(alice.Call("POST", "/api/v1/follow_requests/"+bob.User.ID+"/authorize", nil, &e), 404, e, "authorize")
		c.expect(alice.Call("POST", "/api/v1/follow_requests/"+bob.User.ID+"/reject", nil, &e), 404, e, "reject")
	})
}
