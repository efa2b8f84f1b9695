package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// scoped returns a client for the same person with a token holding only scopes.
func scoped(t *testing.T, n *nodetest.Node, api *nodetest.API, scopes string) *nodetest.API {
	t.Helper()
	tok, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), api.User.ID, "scoped", scopes)
	if err != nil {
		t.Fatal(err)
	}
	c := *api
	c.Token = tok
	return &c
}

// homeIDs lists the ids of the first page of api's home timeline.
func homeIDs(t *testing.T, api *nodetest.API) map[string]bool {
	t.Helper()
	var sts []map[string]any
	mustCall(t, api, "GET", "/api/v1/timelines/home?limit=40", nil, &sts, 200)
	out := map[string]bool{}
	for _, s := range sts {
		out[s["id"].(string)] = true
	}
	return out
}

// Following a hashtag brings the posts with it that the follower may see into their home
// feed, and never one they may not see (followers-only, direct, comments, blocked authors).
func TestFollowedTagsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		var tag map[string]any
		mustCall(t, alice, "POST", "/api/v1/tags/GoLang/follow", nil, &tag, 200)
		if tag["name"] != "golang" || tag["following"] != true {
			t.Fatalf("follow answered %v", tag)
		}
		checkShape(t, "Tag", tag, map[string]string{"name": "string", "url": "string", "history": "array", "following": "bool"})
		mustCall(t, alice, "POST", "/api/v1/tags/golang/follow", nil, &tag, 200) // again: fine

		// What reaches alice, who follows nobody.
		company := discoverPost(t, bob, map[string]any{"status": "Release day #golang"})
		public := discoverPost(t, bob, map[string]any{"status": "Public #GoLang news", "visibility": "public"})
		untagged := discoverPost(t, bob, map[string]any{"status": "no tag here"})
		private := discoverPost(t, bob, map[string]any{"status": "followers only #golang", "visibility": "private"})
		direct := discoverPost(t, bob, map[string]any{"status": "@carol just you #golang", "visibility": "direct"})
		comment := discoverPost(t, carol, map[string]any{"status": "agreed #golang", "in_reply_to_id": company})
		home := homeIDs(t, alice)
		if !home[company] || !home[public] {
			t.Errorf("alice's home lacks the tagged company or public post: %v", home)
		}
		for name, id := range map[string]string{"untagged": untagged, "followers-only": private, "direct": direct, "comment": comment} {
			if home[id] {
				t.Errorf("the %s post %s reached alice's home through the tag", name, id)
			}
		}
		// A followers-only post still reaches its author's followers, not more.
		mustCall(t, carol, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		private2 := discoverPost(t, bob, map[string]any{"status": "followers only again #golang", "visibility": "private"})
		if !homeIDs(t, carol)[private2] || homeIDs(t, alice)[private2] {
			t.Errorf("followers-only post: carol (follower) %v, alice (tag only) %v", homeIDs(t, carol)[private2], homeIDs(t, alice)[private2])
		}
		// Blocks win over tags, both ways.
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/block", nil, nil, 200)
		blocked := discoverPost(t, carol, map[string]any{"status": "from a blocked author #golang"})
		if homeIDs(t, alice)[blocked] {
			t.Errorf("a post by someone alice blocks reached her through the tag")
		}

		mustCall(t, alice, "GET", "/api/v1/tags/%23GOLANG", nil, &tag, 200)
		if tag["following"] != true || len(tag["history"].([]any)) != 7 {
			t.Errorf("GET tag = %v", tag)
		}
		if h := tag["history"].([]any)[0].(map[string]any); h["uses"] == "0" || h["accounts"] == "0" {
			t.Errorf("today's history = %v, want uses", h)
		}
		mustCall(t, bob, "GET", "/api/v1/tags/golang", nil, &tag, 200)
		if tag["following"] != false {
			t.Errorf("bob sees following = %v", tag["following"])
		}
		anon := *bob
		anon.Token = ""
		mustCall(t, &anon, "GET", "/api/v1/tags/golang", nil, &tag, 200)
		mustCall(t, &anon, "GET", "/api/v1/followed_tags", nil, nil, 401)

		// The list pages with a Link header.
		mustCall(t, alice, "POST", "/api/v1/tags/rust/follow", nil, nil, 200)
		var list []map[string]any
		mustCall(t, alice, "GET", "/api/v1/followed_tags", nil, &list, 200)
		if len(list) != 2 || list[0]["name"] != "rust" || list[1]["name"] != "golang" || list[0]["following"] != true {
			t.Fatalf("followed tags = %v", list)
		}
		resp := alice.Call("GET", "/api/v1/followed_tags?limit=1", nil, &list)
		link := resp.Header.Get("Link")
		if len(list) != 1 || !strings.Contains(link, `rel="next"`) {
			t.Fatalf("limit=1: %v, Link %q", list, link)
		}
		next := link[strings.Index(link, "/api/v1/followed_tags"):strings.Index(link, ">")]
		mustCall(t, alice, "GET", next, nil, &list, 200)
		if len(list) != 1 || list[0]["name"] != "golang" {
			t.Errorf("next page %s = %v", next, list)
		}

		// Unfollowing stops new posts.
		mustCall(t, alice, "POST", "/api/v1/tags/golang/unfollow", nil, &tag, 200)
		if tag["following"] != false {
			t.Errorf("unfollow answered %v", tag)
		}
		after := discoverPost(t, bob, map[string]any{"status": "later #golang"})
		if homeIDs(t, alice)[after] {
			t.Errorf("a post after unfollowing reached alice")
		}

		// Bad input and scopes.
		var e map[string]any
		mustCall(t, alice, "POST", "/api/v1/tags/%23%23/follow", nil, &e, 422)
		if _, ok := e["error"].(string); !ok {
			t.Errorf("bad tag answered %v", e)
		}
		mustCall(t, alice, "POST", "/api/v1/tags/"+strings.Repeat("a", 101)+"/follow", nil, &e, 422)
		mustCall(t, alice, "POST", "/api/v1/tags/2026/follow", nil, &e, 422) // a number is no hashtag
		mustCall(t, alice, "GET", "/api/v1/tags/no-such!tag", nil, &e, 404)
		mustCall(t, alice, "GET", "/api/v1/tags/neverused", nil, &tag, 200)
		mustCall(t, alice, "GET", "/api/v1/followed_tags?limit=lots", nil, &e, 422)
		ro := scoped(t, n, alice, "read")
		mustCall(t, ro, "POST", "/api/v1/tags/go/follow", nil, &e, 403)
		wo := scoped(t, n, alice, "write:follows")
		mustCall(t, wo, "GET", "/api/v1/followed_tags", nil, &e, 403)
		mustCall(t, wo, "POST", "/api/v1/tags/go/follow", nil, &e, 200)

		// Search marks the hashtags the viewer follows.
		var res map[string]any
		mustCall(t, alice, "GET", "/api/v2/search?q=rust&type=hashtags", nil, &res, 200)
		discoverPost(t, bob, map[string]any{"status": "#rust it is"})
		mustCall(t, alice, "GET", "/api/v2/search?q=rust&type=hashtags", nil, &res, 200)
		if hs := res["hashtags"].([]any); len(hs) != 1 || hs[0].(map[string]any)["following"] != true {
			t.Errorf("search hashtags = %v, want rust followed", hs)
		}
		// So do trends.
		var trends []map[string]any
		mustCall(t, alice, "GET", "/api/v1/trends/tags", nil, &trends, 200)
		for _, tr := range trends {
			if want := tr["name"] == "rust"; tr["following"] != want {
				t.Errorf("trend %v following = %v", tr["name"], tr["following"])
			}
		}
	})
}

// A post whose audience is too big for the posting transaction goes to the background
// writer, which brings it to hashtag followers too.
func TestFollowedTagsBackgroundFanOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		ctx := context.Background()
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		for i := range 70 { // more followers than posts.InlineFanOut
			u, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "f" + strconv.Itoa(i),
				Email: "f" + strconv.Itoa(i) + "@acme.example", Password: "long password 123"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Follows.Follow(ctx, u.ID, bob.User.ID); err != nil {
				t.Fatal(err)
			}
		}
		mustCall(t, alice, "POST", "/api/v1/tags/launch/follow", nil, nil, 200)
		// The writer takes pending posts in id order: once the second is in alice's feed, the
		// first was handled too.
		private := discoverPost(t, bob, map[string]any{"status": "followers only #launch", "visibility": "private"})
		id := discoverPost(t, bob, map[string]any{"status": "big audience #launch"})
		deadline := time.Now().Add(5 * time.Second)
		for !homeIDs(t, alice)[id] {
			if time.Now().After(deadline) {
				t.Fatalf("the background fan-out never brought %s to alice", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if homeIDs(t, alice)[private] {
			t.Errorf("the background fan-out brought a followers-only post through the tag")
		}
	})
}
