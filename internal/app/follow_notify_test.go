package app_test

import (
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// Following with notify=true (the profile's bell) tells the follower of each new post they
// can see, as Mastodon's "status" notification; comments, shares and posts to chosen people
// do not ring it, and notify=false turns it off.
func TestFollowNotifyBell(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		var rel, e map[string]any
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", map[string]any{"notify": true}, &rel), 200, nil, "follow with bell")
		if rel["notifying"] != true || rel["following"] != true {
			t.Fatalf("relationship %v", rel)
		}
		c.expect(carol.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", map[string]any{"notify": "sometimes"}, &e), 422, e, "bad notify")
		var rels []map[string]any
		c.expect(alice.Call("GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID, nil, &rels), 200, nil, "relationships")
		if len(rels) != 1 || rels[0]["notifying"] != true {
			t.Fatalf("relationships %v", rels)
		}
		var st map[string]any
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "Quarterly plan is out"}, &st), 200, nil, "post")
		postID := st["id"].(string)
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "a comment", "in_reply_to_id": postID}, nil), 200, nil, "comment")
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "@carol just you", "visibility": "direct"}, nil), 200, nil, "direct")
		var ns []map[string]any
		c.expect(alice.Call("GET", "/api/v1/notifications?types[]=status", nil, &ns), 200, nil, "alice's")
		if len(ns) != 1 || ns[0]["status"].(map[string]any)["id"] != postID || ns[0]["account"].(map[string]any)["id"] != bob.User.ID {
			t.Fatalf("alice's status notifications: %v", ns)
		}
		c.expect(carol.Call("GET", "/api/v1/notifications?types[]=status", nil, &ns), 200, nil, "carol's")
		if len(ns) != 0 {
			t.Fatalf("carol did not ring the bell: %v", ns)
		}
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", map[string]any{"notify": false}, &rel), 200, nil, "bell off")
		if rel["notifying"] != false || rel["following"] != true {
			t.Fatalf("after notify=false: %v", rel)
		}
		c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "another"}, nil), 200, nil, "post 2")
		c.expect(alice.Call("GET", "/api/v1/notifications?types[]=status", nil, &ns), 200, nil, "alice's after")
		if len(ns) != 1 {
			t.Fatalf("the bell rang after it was turned off: %d notifications", len(ns))
		}
	})
}
