package fedtest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// pair starts two partner nodes.
func pair(t *testing.T) (acme, globex *nodetest.Node) {
	t.Helper()
	acme = nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex = nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	nodetest.Partner(t, acme, globex)
	return acme, globex
}

type account struct {
	ID     string `json:"id"`
	Acct   string `json:"acct"`
	URI    string `json:"uri"`
	Atrium struct {
		Domain string `json:"domain"`
	} `json:"atrium"`
}

type status struct {
	ID         string  `json:"id"`
	URI        string  `json:"uri"`
	Content    string  `json:"content"`
	Visibility string  `json:"visibility"`
	Account    account `json:"account"`
	InReplyTo  *string `json:"in_reply_to_id"`
	Favourites int     `json:"favourites_count"`
	Reblogs    int     `json:"reblogs_count"`
	Replies    int     `json:"replies_count"`
}

// resolve finds acct through the search API with resolve=true, as apps do.
func resolve(t *testing.T, api *nodetest.API, acct string) account {
	t.Helper()
	var res struct {
		Accounts []account `json:"accounts"`
	}
	resp := api.Call("GET", "/api/v2/search?resolve=true&type=accounts&q="+url.QueryEscape(acct), nil, &res)
	if resp.StatusCode != 200 || len(res.Accounts) != 1 {
		var e map[string]any
		api.Call("GET", "/api/v2/search?resolve=true&type=accounts&q="+url.QueryEscape(acct), nil, &e)
		t.Fatalf("resolve %s: status %d, %d accounts: %v", acct, resp.StatusCode, len(res.Accounts), e)
	}
	return res.Accounts[0]
}

func home(t *testing.T, api *nodetest.API) []status {
	t.Helper()
	var out []status
	if resp := api.Call("GET", "/api/v1/timelines/home", nil, &out); resp.StatusCode != 200 {
		t.Fatalf("home: status %d", resp.StatusCode)
	}
	return out
}

func post(t *testing.T, api *nodetest.API, body map[string]any) status {
	t.Helper()
	var st status
	if resp := api.Call("POST", "/api/v1/statuses", body, &st); resp.StatusCode != 200 {
		t.Fatalf("post: status %d", resp.StatusCode)
	}
	return st
}

func TestFollowAndPostAcrossNodes(t *testing.T) {
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")

	// alice finds bob by his address and follows him: a request until globex accepts.
	remoteBob := resolve(t, alice, "@bob@"+globex.Host())
	if remoteBob.Acct != "bob@"+globex.Host() || remoteBob.URI != globex.URL(t.Context())+"/users/bob" {
		t.Fatalf("resolved %+v", remoteBob)
	}
	var rel map[string]any
	alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/follow", nil, &rel)
	if rel["requested"] != true || rel["following"] != false {
		t.Fatalf("before Accept: %v", rel)
	}
	nodetest.Settle(t, acme, globex)
	var rels []map[string]any
	alice.Call("GET", "/api/v1/accounts/relationships?id[]="+remoteBob.ID, nil, &rels)
	if len(rels) != 1 || rels[0]["following"] != true || rels[0]["requested"] != false {
		t.Fatalf("after Accept: %v", rels)
	}
	// globex knows alice now and counts her as bob's follower.
	followers, _, err := globex.Follows.Counts(t.Context(), bob.User.ID)
	if err != nil || followers != 1 {
		t.Fatalf("bob's followers on globex: %d, %v", followers, err)
	}

	// bob posts publicly, to followers, and a company post: the first two reach alice.
	pub := post(t, bob, map[string]any{"status": "Hello partners #launch", "visibility": "public"})
	fol := post(t, bob, map[string]any{"status": "Followers only", "visibility": "private"})
	post(t, bob, map[string]any{"status": "Globex internal only", "local_only": true})
	nodetest.Settle(t, acme, globex)
	feed := home(t, alice)
	if len(feed) != 2 {
		t.Fatalf("alice's feed has %d posts, want 2: %+v", len(feed), feed)
	}
	// Both were posted within the same second: their order is the author's clock's, not a
	// promise, so find each by URI.
	if feed[1].URI == fol.URI {
		feed[0], feed[1] = feed[1], feed[0]
	}
	if feed[0].URI != fol.URI || feed[1].URI != pub.URI || feed[0].Visibility != "private" || feed[1].Visibility != "public" {
		t.Fatalf("feed %+v", feed)
	}
	if feed[1].Account.Acct != "bob@"+globex.Host() || !strings.Contains(feed[1].Content, "Hello partners") {
		t.Fatalf("remote post rendered as %+v", feed[1])
	}
	for _, s := range feed {
		if strings.Contains(s.Content, "internal") {
			t.Fatalf("a company post left globex: %+v", s)
		}
	}

	// alice likes and answers; bob's node counts the like and shows the reply.
	var liked status
	alice.Call("POST", "/api/v1/statuses/"+feed[1].ID+"/favourite", nil, &liked)
	reply := post(t, alice, map[string]any{"status": "Congratulations!", "in_reply_to_id": feed[1].ID})
	nodetest.Settle(t, acme, globex)
	var orig status
	bob.Call("GET", "/api/v1/statuses/"+pub.ID, nil, &orig)
	if orig.Favourites != 1 || orig.Replies != 1 {
		t.Fatalf("on globex the post has %d likes and %d replies, want 1 and 1", orig.Favourites, orig.Replies)
	}
	var ctxResp struct {
		Descendants []status `json:"descendants"`
	}
	bob.Call("GET", "/api/v1/statuses/"+pub.ID+"/context", nil, &ctxResp)
	if len(ctxResp.Descendants) != 1 || ctxResp.Descendants[0].URI != reply.URI {
		t.Fatalf("thread on globex: %+v", ctxResp.Descendants)
	}

	// bob edits, then deletes: alice's node follows.
	bob.Call("PUT", "/api/v1/statuses/"+pub.ID, map[string]any{"status": "Hello partners, edited"}, nil)
	nodetest.Settle(t, acme, globex)
	var edited status
	alice.Call("GET", "/api/v1/statuses/"+feed[1].ID, nil, &edited)
	if !strings.Contains(edited.Content, "edited") {
		t.Fatalf("edit did not arrive: %q", edited.Content)
	}
	bob.Call("DELETE", "/api/v1/statuses/"+pub.ID, nil, nil)
	nodetest.Settle(t, acme, globex)
	if resp := alice.Call("GET", "/api/v1/statuses/"+feed[1].ID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted post still answers %d on acme", resp.StatusCode)
	}

	// alice unfollows: globex forgets her as a follower.
	alice.Call("POST", "/api/v1/accounts/"+remoteBob.ID+"/unfollow", nil, nil)
	nodetest.Settle(t, acme, globex)
	if followers, _, _ := globex.Follows.Counts(t.Context(), bob.User.ID); followers != 0 {
		t.Fatalf("after Undo{Follow} bob has %d followers on globex", followers)
	}
}
