package app_test

import (
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// Profile requests carry real counts: followers, following, posts (not those to chosen
// people, nor deleted ones) and the day of the last post.
func TestProfileCounts(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		c.expect(bob.Call("POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil), 200, nil, "follow")
		c.expect(carol.Call("POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil), 200, nil, "follow")
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil), 200, nil, "follow")
		var st map[string]any
		for _, body := range []map[string]any{{"status": "one"}, {"status": "two", "visibility": "public"}, {"status": "three"},
			{"status": "@bob just us", "visibility": "direct"}} {
			c.expect(alice.Call("POST", "/api/v1/statuses", body, &st), 200, nil, "post")
		}
		c.expect(alice.Call("DELETE", "/api/v1/statuses/"+st["id"].(string), nil, nil), 200, nil, "delete direct")
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "gone too"}, &st), 200, nil, "post")
		c.expect(alice.Call("DELETE", "/api/v1/statuses/"+st["id"].(string), nil, nil), 200, nil, "delete")
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "@bob secret", "visibility": "direct"}, nil), 200, nil, "direct")
		today := time.Now().UTC().Format("2006-01-02")
		for _, path := range []string{"/api/v1/accounts/verify_credentials", "/api/v1/accounts/" + alice.User.ID, "/api/v1/accounts/lookup?acct=alice"} {
			var acc map[string]any
			who := alice
			if path != "/api/v1/accounts/verify_credentials" {
				who = carol
			}
			c.expect(who.Call("GET", path, nil, &acc), 200, nil, path)
			if acc["followers_count"] != 2.0 || acc["following_count"] != 1.0 || acc["statuses_count"] != 3.0 || acc["last_status_at"] != today {
				t.Fatalf("%s: counts %v %v %v %v, want 2 1 3 %s", path, acc["followers_count"], acc["following_count"], acc["statuses_count"], acc["last_status_at"], today)
			}
		}
	})
}
