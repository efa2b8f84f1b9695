package app_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// post creates a status as api and returns its id.
func discoverPost(t *testing.T, api *nodetest.API, body map[string]any) string {
	t.Helper()
	var st map[string]any
	if resp := api.Call("POST", "/api/v1/statuses", body, &st); resp.StatusCode != 200 {
		t.Fatalf("post %v: %d %v", body, resp.StatusCode, st)
	}
	return st["id"].(string)
}

func mustCall(t *testing.T, api *nodetest.API, method, path string, body, out any, code int) {
	t.Helper()
	if resp := api.Call(method, path, body, out); resp.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d (%v)", method, path, resp.StatusCode, code, out)
	}
}

// Trends count only what every viewer may read: a followers-only post must not surface as a
// trend (its tag, or itself) however popular, and visitors see public activity only.
func TestTrendsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		anon := &nodetest.API{}
		*anon = *dave
		anon.Token = ""

		companyID := discoverPost(t, alice, map[string]any{"status": "Release day #golang"}) // company (default)
		publicID := discoverPost(t, bob, map[string]any{"status": "Agreed #GoLang #rust", "visibility": "public"})
		discoverPost(t, bob, map[string]any{"status": "more #rust", "visibility": "public"})
		discoverPost(t, bob, map[string]any{"status": "even more #rust", "visibility": "public"})
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200)
		mustCall(t, bob, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200)
		secretID := discoverPost(t, carol, map[string]any{"status": "quiet #secret", "visibility": "private"})
		for _, who := range []*nodetest.API{alice, bob} {
			mustCall(t, who, "POST", "/api/v1/statuses/"+secretID+"/favourite", nil, nil, 200)
		}
		mustCall(t, carol, "POST", "/api/v1/statuses/"+secretID+"/favourite", nil, nil, 200)
		mustCall(t, bob, "POST", "/api/v1/statuses/"+companyID+"/favourite", nil, nil, 200)
		mustCall(t, carol, "POST", "/api/v1/statuses/"+companyID+"/reblog", nil, nil, 200)
		mustCall(t, alice, "POST", "/api/v1/statuses/"+publicID+"/favourite", nil, nil, 200)

		// Tags: golang (two people) before rust (one person, three posts); never secret.
		var tags []map[string]any
		mustCall(t, dave, "GET", "/api/v1/trends/tags", nil, &tags, 200)
		if len(tags) != 2 || tags[0]["name"] != "golang" || tags[1]["name"] != "rust" {
			t.Fatalf("trending tags for dave = %v, want golang, rust", tags)
		}
		checkShape(t, "Tag", tags[0], map[string]string{"name": "string", "url": "string", "history": "array"})
		hist := tags[0]["history"].([]any)
		if len(hist) != 7 {
			t.Fatalf("history has %d days, want 7", len(hist))
		}
		now := time.Now().UTC()
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		day0, day1 := hist[0].(map[string]any), hist[1].(map[string]any)
		if day0["day"] != strconv.FormatInt(today.Unix(), 10) || day0["uses"] != "2" || day0["accounts"] != "2" {
			t.Errorf("golang today = %v, want day %d, 2 uses by 2 accounts", day0, today.Unix())
		}
		if day1["day"] != strconv.FormatInt(today.AddDate(0, 0, -1).Unix(), 10) || day1["uses"] != "0" {
			t.Errorf("golang yesterday = %v", day1)
		}
		if h := tags[1]["history"].([]any)[0].(map[string]any); h["uses"] != "3" || h["accounts"] != "1" {
			t.Errorf("rust today = %v, want 3 uses by 1 account", h)
		}
		mustCall(t, dave, "GET", "/api/v1/trends/tags?limit=1", nil, &tags, 200)
		if len(tags) != 1 {
			t.Errorf("limit=1 gave %d tags", len(tags))
		}
		var e map[string]any
		mustCall(t, dave, "GET", "/api/v1/trends/tags?limit=many", nil, &e, 422)
		if _, ok := e["error"].(string); !ok {
			t.Errorf("bad limit answered %v, want Mastodon's error JSON", e)
		}
		// Visitors: only bob's public posts count.
		mustCall(t, anon, "GET", "/api/v1/trends/tags", nil, &tags, 200)
		if len(tags) != 2 || tags[0]["name"] != "rust" || tags[1]["name"] != "golang" ||
			tags[1]["history"].([]any)[0].(map[string]any)["uses"] != "1" {
			t.Errorf("visitor's trending tags = %v, want rust, then golang once", tags)
		}

		// Statuses: alice's (a reaction and a share) before bob's (a reaction); carol's
		// followers-only post has three reactions and must not appear, even to her followers.
		var sts []map[string]any
		mustCall(t, bob, "GET", "/api/v1/trends/statuses", nil, &sts, 200)
		if len(sts) != 2 || sts[0]["id"] != companyID || sts[1]["id"] != publicID {
			t.Fatalf("trending statuses for bob = %v, want %s, %s", ids(sts), companyID, publicID)
		}
		if sts[0]["favourited"] != true || sts[1]["favourited"] != false {
			t.Errorf("bob's state: favourited %v, %v; want true, false", sts[0]["favourited"], sts[1]["favourited"])
		}
		checkShape(t, "Status", sts[0], map[string]string{"id": "string", "account.id": "string", "content": "string", "favourites_count": "number"})
		mustCall(t, anon, "GET", "/api/v1/trends/statuses", nil, &sts, 200)
		if len(sts) != 1 || sts[0]["id"] != publicID {
			t.Errorf("visitor's trending statuses = %v, want only %s", ids(sts), publicID)
		}
		// A block hides the blocked person's posts from trends, both ways.
		mustCall(t, dave, "POST", "/api/v1/accounts/"+alice.User.ID+"/block", nil, nil, 200)
		mustCall(t, dave, "GET", "/api/v1/trends/statuses", nil, &sts, 200)
		if len(sts) != 1 || sts[0]["id"] != publicID {
			t.Errorf("dave, blocking alice, sees trending %v", ids(sts))
		}
		mustCall(t, alice, "GET", "/api/v1/trends/statuses", nil, &sts, 200)
		if len(sts) != 2 {
			t.Errorf("alice sees %d trending statuses, want 2", len(sts))
		}
		mustCall(t, dave, "GET", "/api/v1/trends/statuses?limit=1&offset=0", nil, &sts, 200)
		if len(sts) != 1 {
			t.Errorf("limit=1 gave %d statuses", len(sts))
		}
		var links []any
		mustCall(t, dave, "GET", "/api/v1/trends/links", nil, &links, 200)
		if links == nil || len(links) != 0 {
			t.Errorf("trending links = %v, want []", links)
		}
	})
}

func ids(list []map[string]any) []any {
	out := []any{}
	for _, m := range list {
		out = append(out, m["id"])
	}
	return out
}

// Suggestions rank people followed by the people one follows, then colleagues of one's
// department; never oneself, people already followed, blocked or dismissed.
func TestSuggestionsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		ctx := context.Background()
		alice, bob, carol, dave, erin, frank := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"),
			n.NewUser(t, "dave"), n.NewUser(t, "erin"), n.NewUser(t, "frank")
		for _, u := range []*nodetest.API{alice, erin} {
			if _, err := n.Accounts.UpdateProfile(ctx, accounts.CLIActor(), u.User.ID, accounts.Profile{DisplayName: u.User.Username, Department: "Engineering"}); err != nil {
				t.Fatal(err)
			}
		}
		alice.User.Department = "Engineering"
		// alice follows bob; bob follows carol and dave; carol is also followed by frank.
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		mustCall(t, bob, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200)
		mustCall(t, bob, "POST", "/api/v1/accounts/"+dave.User.ID+"/follow", nil, nil, 200)
		mustCall(t, frank, "POST", "/api/v1/accounts/"+dave.User.ID+"/block", nil, nil, 200)

		var sugs []map[string]any
		mustCall(t, alice, "GET", "/api/v2/suggestions", nil, &sugs, 200)
		got := []string{}
		for _, s := range sugs {
			got = append(got, s["account"].(map[string]any)["username"].(string))
		}
		// carol and dave (via bob, by name), then erin (Engineering), then admin and frank.
		if len(got) < 3 || got[0] != "carol" || got[1] != "dave" || got[2] != "erin" {
			t.Fatalf("alice's suggestions = %v, want carol, dave, erin first", got)
		}
		for _, name := range got {
			if name == "alice" || name == "bob" {
				t.Errorf("suggested %s to alice", name)
			}
		}
		checkShape(t, "Suggestion", sugs[0], map[string]string{"source": "string", "sources": "array", "account.id": "string"})
		if sugs[0]["source"] != "past_interactions" || sugs[2]["source"] != "global" {
			t.Errorf("sources = %v, %v", sugs[0]["source"], sugs[2]["source"])
		}

		// Blocks either way, and dismissals, remove people.
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/block", nil, nil, 200)
		mustCall(t, erin, "POST", "/api/v1/accounts/"+alice.User.ID+"/block", nil, nil, 200)
		mustCall(t, alice, "DELETE", "/api/v1/suggestions/"+dave.User.ID, nil, nil, 200)
		mustCall(t, alice, "DELETE", "/api/v1/suggestions/"+dave.User.ID, nil, nil, 200) // twice is fine
		var accs []map[string]any
		mustCall(t, alice, "GET", "/api/v1/suggestions?limit=80", nil, &accs, 200)
		for _, a := range accs {
			switch a["username"] {
			case "carol", "dave", "erin", "alice", "bob":
				t.Errorf("v1 suggestions for alice still list %v", a["username"])
			}
		}
		if len(accs) != 2 { // admin and frank
			t.Errorf("v1 suggestions = %d accounts, want 2", len(accs))
		}
		mustCall(t, alice, "GET", "/api/v1/suggestions?limit=1", nil, &accs, 200)
		if len(accs) != 1 {
			t.Errorf("limit=1 gave %d", len(accs))
		}
		var e map[string]any
		mustCall(t, alice, "DELETE", "/api/v1/suggestions/nobody", nil, &e, 404)
		if e["error"] != "Record not found" {
			t.Errorf("unknown account: %v", e)
		}
	})
}

// Featured tags and endorsements: the owner's own, counted from their posts; endorsing
// needs a follow, and unfollowing drops the endorsement from the list.
func TestFeaturedTagsAndEndorsementsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		discoverPost(t, alice, map[string]any{"status": "#Go #go is nice #infra"})
		discoverPost(t, alice, map[string]any{"status": "more #go", "visibility": "public"})
		discoverPost(t, alice, map[string]any{"status": "#go just for @bob", "visibility": "direct"})

		var sugg []map[string]any
		mustCall(t, alice, "GET", "/api/v1/featured_tags/suggestions", nil, &sugg, 200)
		if len(sugg) != 2 || sugg[0]["name"] != "go" || sugg[1]["name"] != "infra" {
			t.Fatalf("tag suggestions = %v, want go, infra", sugg)
		}
		var ft map[string]any
		mustCall(t, alice, "POST", "/api/v1/featured_tags", map[string]any{"name": "#Go"}, &ft, 200)
		checkShape(t, "FeaturedTag", ft, map[string]string{"id": "string", "name": "string", "url": "string",
			"statuses_count": "number", "last_status_at": "string"})
		if ft["name"] != "go" || ft["statuses_count"] != float64(2) { // the direct post is not counted
			t.Errorf("featured tag = %v, want go with 2 posts", ft)
		}
		var again map[string]any
		mustCall(t, alice, "POST", "/api/v1/featured_tags", map[string]any{"name": "go"}, &again, 200)
		if again["id"] != ft["id"] {
			t.Errorf("featuring twice made %v and %v", ft["id"], again["id"])
		}
		var e map[string]any
		mustCall(t, alice, "POST", "/api/v1/featured_tags", map[string]any{"name": "no spaces"}, &e, 422)
		mustCall(t, alice, "POST", "/api/v1/featured_tags", map[string]any{}, &e, 422)
		if _, ok := e["error"].(string); !ok {
			t.Errorf("missing name: %v", e)
		}
		mustCall(t, alice, "GET", "/api/v1/featured_tags/suggestions", nil, &sugg, 200)
		if len(sugg) != 1 || sugg[0]["name"] != "infra" {
			t.Errorf("suggestions after featuring go = %v", sugg)
		}
		var list []map[string]any
		mustCall(t, bob, "GET", "/api/v1/accounts/"+alice.User.ID+"/featured_tags", nil, &list, 200)
		if len(list) != 1 || list[0]["id"] != ft["id"] {
			t.Errorf("alice's featured tags seen by bob = %v", list)
		}
		// Only the owner can remove it; bob's attempt is not found.
		mustCall(t, bob, "DELETE", "/api/v1/featured_tags/"+ft["id"].(string), nil, &e, 404)
		mustCall(t, alice, "DELETE", "/api/v1/featured_tags/"+ft["id"].(string), nil, nil, 200)
		mustCall(t, alice, "GET", "/api/v1/featured_tags", nil, &list, 200)
		if len(list) != 0 {
			t.Errorf("after delete: %v", list)
		}

		// Endorsements.
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/pin", nil, &e, 422)
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/follow", nil, nil, 200)
		var rel map[string]any
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/pin", nil, &rel, 200)
		if rel["endorsed"] != true || rel["following"] != true || rel["id"] != bob.User.ID {
			t.Errorf("pin answered %v", rel)
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/pin", nil, nil, 200)
		// Relationships report the pins too.
		var rels []map[string]any
		mustCall(t, alice, "GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID+"&id[]="+carol.User.ID, nil, &rels, 200)
		if len(rels) != 2 || rels[0]["endorsed"] != true || rels[1]["endorsed"] != true {
			t.Errorf("relationships after pinning: %v", rels)
		}
		var accs []map[string]any
		mustCall(t, alice, "GET", "/api/v1/endorsements", nil, &accs, 200)
		if len(accs) != 2 || accs[0]["id"] != bob.User.ID || accs[1]["id"] != carol.User.ID {
			t.Fatalf("endorsements = %v", ids(accs))
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/unpin", nil, &rel, 200)
		if rel["endorsed"] != false {
			t.Errorf("unpin answered %v", rel)
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/unfollow", nil, nil, 200)
		mustCall(t, alice, "GET", "/api/v1/endorsements", nil, &accs, 200)
		if len(accs) != 0 {
			t.Errorf("endorsements after unpin and unfollow = %v", ids(accs))
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/nobody/pin", nil, &e, 404)
		if resp := bob.Call("GET", "/api/v1/endorsements", nil, &accs); resp.StatusCode != http.StatusOK || len(accs) != 0 {
			t.Errorf("bob's endorsements: %d %v", resp.StatusCode, accs)
		}
	})
}
