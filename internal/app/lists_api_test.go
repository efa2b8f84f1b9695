package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// formCall sends an urlencoded form, as many apps do (arrays as name[]).
func formCall(t *testing.T, n *nodetest.Node, a *nodetest.API, method, path string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(method, n.HTTP.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+a.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestListsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		var e map[string]any

		var l map[string]any
		c.expect(alice.Call("POST", "/api/v1/lists", map[string]any{"title": "Team", "replies_policy": "none"}, &l), 200, nil, "create")
		if l["title"] != "Team" || l["replies_policy"] != "none" || l["exclusive"] != false || l["id"] == "" {
			t.Fatalf("list %v", l)
		}
		id := l["id"].(string)
		c.expect(alice.Call("POST", "/api/v1/lists", map[string]any{}, &e), 422, e, "no title")
		c.expect(alice.Call("POST", "/api/v1/lists", map[string]any{"title": "x", "replies_policy": "all"}, &e), 422, e, "bad policy")
		c.expect(bob.Call("GET", "/api/v1/lists/"+id, nil, &e), 404, e, "another's list")
		c.expect(bob.Call("GET", "/api/v1/timelines/list/"+id, nil, &e), 404, e, "another's list timeline")
		c.expect(alice.Call("PUT", "/api/v1/lists/"+id, map[string]any{"replies_policy": "list", "exclusive": true}, &l), 200, nil, "update")
		if l["title"] != "Team" || l["replies_policy"] != "list" || l["exclusive"] != true {
			t.Fatalf("updated %v", l)
		}
		var all []map[string]any
		c.expect(alice.Call("GET", "/api/v1/lists", nil, &all), 200, nil, "all")
		if len(all) != 1 || all[0]["id"] != id {
			t.Fatalf("all %v", all)
		}

		// Members: only accounts alice follows; form arrays as account_ids[].
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil), 200, nil, "follow bob")
		c.expect(alice.Call("POST", "/api/v1/lists/"+id+"/accounts", map[string]any{"account_ids": []string{carol.User.ID}}, &e), 422, e, "add unfollowed")
		if code := formCall(t, n, alice, "POST", "/api/v1/lists/"+id+"/accounts", url.Values{"account_ids[]": {bob.User.ID}}); code != 200 {
			t.Fatalf("add bob by form: %d", code)
		}
		var members []map[string]any
		c.expect(alice.Call("GET", "/api/v1/lists/"+id+"/accounts", nil, &members), 200, nil, "members")
		if !slices.Equal(idsOf(members), []string{bob.User.ID}) {
			t.Fatalf("members %v", idsOf(members))
		}
		c.expect(alice.Call("GET", "/api/v1/accounts/"+bob.User.ID+"/lists", nil, &all), 200, nil, "bob's lists")
		if len(all) != 1 || all[0]["id"] != id {
			t.Fatalf("lists with bob %v", all)
		}

		// The list timeline: bob's posts that alice may see, never carol's or a direct post to
		// carol; newest first with Link pagination.
		post := func(u *nodetest.API, text, vis string, extra ...string) string {
			t.Helper()
			var st map[string]any
			body := map[string]any{"status": text, "visibility": vis}
			if len(extra) > 0 {
				body["in_reply_to_id"] = extra[0]
			}
			c.expect(u.Call("POST", "/api/v1/statuses", body, &st), 200, nil, "post "+text)
			return st["id"].(string)
		}
		pub := post(bob, "public news", "public")
		fol := post(bob, "for followers", "private")
		dir := post(bob, "psst @carol", "direct")
		other := post(carol, "carol's post", "public")
		replyToCarol := post(bob, "reply to carol", "public", other)
		selfReply := post(bob, "more news", "public", pub)
		var tl []map[string]any
		resp := alice.Call("GET", "/api/v1/timelines/list/"+id+"?limit=2", nil, &tl)
		c.expect(resp, 200, nil, "list timeline")
		if got := idsOf(tl); !slices.Equal(got, []string{selfReply, fol}) {
			t.Fatalf("list page 1 %v, want %v", got, []string{selfReply, fol})
		}
		if !strings.Contains(resp.Header.Get("Link"), "max_id="+fol) {
			t.Errorf("Link %q", resp.Header.Get("Link"))
		}
		c.expect(alice.Call("GET", "/api/v1/timelines/list/"+id+"?max_id="+fol, nil, &tl), 200, nil, "list page 2")
		if got := idsOf(tl); !slices.Equal(got, []string{pub}) {
			t.Fatalf("list page 2 %v (direct %s, carol %s, reply to carol %s)", got, dir, other, replyToCarol)
		}
		c.expect(alice.Call("GET", "/api/v1/timelines/list/"+id+"?min_id="+pub, nil, &tl), 200, nil, "min_id page")
		if got := idsOf(tl); !slices.Equal(got, []string{selfReply, fol}) {
			t.Fatalf("min_id page %v", got)
		}
		// The exclusive list keeps bob out of alice's home timeline.
		c.expect(alice.Call("GET", "/api/v1/timelines/home", nil, &tl), 200, nil, "home")
		for _, s := range tl {
			if s["account"].(map[string]any)["id"] == bob.User.ID {
				t.Fatalf("exclusive list member on home: %v", s["id"])
			}
		}

		// Visibility is re-checked on read: after unfollowing, bob's followers-only post is gone.
		c.expect(alice.Call("POST", "/api/v1/accounts/"+bob.User.ID+"/unfollow", nil, nil), 200, nil, "unfollow bob")
		c.expect(alice.Call("GET", "/api/v1/timelines/list/"+id, nil, &tl), 200, nil, "after unfollow")
		if got := idsOf(tl); slices.Contains(got, fol) || !slices.Contains(got, pub) {
			t.Fatalf("after unfollow %v", got)
		}

		c.expect(alice.Call("DELETE", "/api/v1/lists/"+id+"/accounts", map[string]any{"account_ids": []string{bob.User.ID}}, nil), 200, nil, "remove bob")
		c.expect(alice.Call("GET", "/api/v1/lists/"+id+"/accounts", nil, &members), 200, nil, "members after remove")
		if len(members) != 0 {
			t.Fatalf("members %v", members)
		}
		c.expect(bob.Call("DELETE", "/api/v1/lists/"+id, nil, &e), 404, e, "delete another's")
		c.expect(alice.Call("DELETE", "/api/v1/lists/"+id, nil, nil), 200, nil, "delete")
		c.expect(alice.Call("GET", "/api/v1/lists/"+id, nil, &e), 404, e, "deleted")
	})
}
