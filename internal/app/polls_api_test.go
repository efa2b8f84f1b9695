package app_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// TestPollsAPI: polls created with a status (JSON and form), shown on the status and at
// /api/v1/polls/:id, voted on once per person, never after the end nor by the author, with
// hidden totals and the post's visibility.
func TestPollsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		var e map[string]any

		var st map[string]any
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Lunch?",
			"poll": map[string]any{"options": []string{"Pizza", "Sushi", "Salad"}, "expires_in": 3600}}, &st), 200, nil, "create")
		poll, ok := st["poll"].(map[string]any)
		if !ok {
			t.Fatalf("status without poll: %v", st)
		}
		id := poll["id"].(string)
		if poll["multiple"] != false || poll["expired"] != false || poll["votes_count"] != 0.0 || len(poll["options"].([]any)) != 3 ||
			poll["voted"] != true || poll["expires_at"] == nil {
			t.Fatalf("new poll %v", poll)
		}
		if o := poll["options"].([]any)[1].(map[string]any); o["title"] != "Sushi" || o["votes_count"] != 0.0 {
			t.Fatalf("option %v", o)
		}

		// Bad polls: 422 naming the field.
		for name, p := range map[string]map[string]any{
			"one option":   {"options": []string{"x"}, "expires_in": 3600},
			"five options": {"options": []string{"a", "b", "c", "d", "e"}, "expires_in": 3600},
			"long option":  {"options": []string{"a", fmt.Sprintf("%051d", 0)}, "expires_in": 3600},
			"too short":    {"options": []string{"a", "b"}, "expires_in": 299},
			"too long":     {"options": []string{"a", "b"}, "expires_in": 7*24*3600 + 1},
		} {
			c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "x", "poll": p}, &e), 422, e, name)
		}

		// Votes.
		var pv map[string]any
		c.expect(bob.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{1}}, &pv), 200, nil, "bob votes")
		if pv["voted"] != true || pv["votes_count"] != 1.0 || pv["voters_count"] != 1.0 || fmt.Sprint(pv["own_votes"]) != "[1]" {
			t.Fatalf("after vote %v", pv)
		}
		c.expect(bob.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{2}}, &e), 422, e, "second vote")
		c.expect(carol.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{0, 1}}, &e), 422, e, "two choices, single poll")
		c.expect(carol.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{3}}, &e), 422, e, "no such option")
		c.expect(alice.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{0}}, &e), 422, e, "own poll")
		if code := formCall(t, n, carol, "POST", "/api/v1/polls/"+id+"/votes", url.Values{"choices[]": {"1"}}); code != 200 {
			t.Fatalf("carol votes by form: %d", code)
		}
		c.expect(carol.Call("GET", "/api/v1/polls/"+id, nil, &pv), 200, nil, "get")
		if o := pv["options"].([]any)[1].(map[string]any); o["votes_count"] != 2.0 || pv["voters_count"] != 2.0 {
			t.Fatalf("counts %v", pv)
		}
		c.expect(alice.Call("GET", "/api/v1/statuses/"+st["id"].(string), nil, &st), 200, nil, "status")
		if p := st["poll"].(map[string]any); p["votes_count"] != 2.0 {
			t.Fatalf("status poll %v", p)
		}

		// Expired: refused, and shown as expired.
		if _, err := n.DB.NewUpdate().Table("polls").Set("expires_at = ?", time.Now().UTC().Add(-time.Minute)).Where("id = ?", id).
			Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		dave := n.NewUser(t, "dave")
		c.expect(dave.Call("POST", "/api/v1/polls/"+id+"/votes", map[string]any{"choices": []int{0}}, &e), 422, e, "expired")
		c.expect(dave.Call("GET", "/api/v1/polls/"+id, nil, &pv), 200, nil, "get expired")
		if pv["expired"] != true || pv["voted"] != false {
			t.Fatalf("expired poll %v", pv)
		}

		// Multiple choice, with hidden totals (form parameters, as many apps send them).
		form := url.Values{"status": {"Which days?"}, "poll[options][]": {"Mon", "Tue", "Wed"}, "poll[expires_in]": {"86400"},
			"poll[multiple]": {"true"}, "poll[hide_totals]": {"true"}}
		if code := formCall(t, n, alice, "POST", "/api/v1/statuses", form); code != 200 {
			t.Fatalf("form poll: %d", code)
		}
		var home []map[string]any
		c.expect(alice.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/statuses", nil, &home), 200, nil, "alice's statuses")
		multi := home[0]["poll"].(map[string]any)
		if multi["multiple"] != true {
			t.Fatalf("multiple poll %v", multi)
		}
		mid := multi["id"].(string)
		c.expect(bob.Call("POST", "/api/v1/polls/"+mid+"/votes", map[string]any{"choices": []string{"0", "2"}}, &pv), 200, nil, "multiple vote")
		if pv["votes_count"] != 2.0 || pv["voters_count"] != 1.0 || fmt.Sprint(pv["own_votes"]) != "[0 2]" {
			t.Fatalf("multiple %v", pv)
		}
		if o := pv["options"].([]any)[0].(map[string]any); o["votes_count"] != nil {
			t.Fatalf("hidden totals shown to a voter: %v", pv)
		}
		c.expect(bob.Call("POST", "/api/v1/polls/"+mid+"/votes", map[string]any{"choices": []int{1}}, &e), 422, e, "second multiple vote")
		c.expect(bob.Call("POST", "/api/v1/polls/"+mid+"/votes", map[string]any{"choices": []int{1, 1}}, &e), 422, e, "same option twice")
		c.expect(alice.Call("GET", "/api/v1/polls/"+mid, nil, &pv), 200, nil, "author reads hidden totals")
		if o := pv["options"].([]any)[0].(map[string]any); o["votes_count"] != 1.0 {
			t.Fatalf("author should see totals: %v", pv)
		}

		// Visibility: a poll on a post carol may not see is not found, for reading and voting.
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Just us", "visibility": "direct",
			"recipients": []string{"bob"}, "poll": map[string]any{"options": []string{"Yes", "No"}, "expires_in": 600}}, &st), 200, nil, "direct poll")
		did := st["poll"].(map[string]any)["id"].(string)
		c.expect(carol.Call("GET", "/api/v1/polls/"+did, nil, &e), 404, e, "hidden poll")
		c.expect(carol.Call("POST", "/api/v1/polls/"+did+"/votes", map[string]any{"choices": []int{0}}, &e), 404, e, "vote on hidden poll")
		c.expect(bob.Call("POST", "/api/v1/polls/"+did+"/votes", map[string]any{"choices": []int{0}}, nil), 200, nil, "recipient votes")
		c.expect(carol.Call("GET", "/api/v1/polls/nope", nil, &e), 404, e, "unknown poll")

		// Polls and files do not mix.
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "x", "media_ids": []string{"1"},
			"poll": map[string]any{"options": []string{"a", "b"}, "expires_in": 600}}, &e), 422, e, "poll with media")
	})
}

// TestPollEndedNotifications: when a poll ends, its voters and its author get Mastodon's
// "poll" notification about the post (with the final results); people who did not vote get
// nothing, and the job running again tells nobody twice.
func TestPollEndedNotifications(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true, Manual: true}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			n := nodetest.Start(t, o)
			c := caller{t}
			alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
			var st map[string]any
			c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Offsite venue?",
				"poll": map[string]any{"options": []string{"Lake", "City"}, "expires_in": 300}}, &st), 200, nil, "create")
			pollID := st["poll"].(map[string]any)["id"].(string)
			for _, who := range []*nodetest.API{bob, carol} {
				c.expect(who.Call("POST", "/api/v1/polls/"+pollID+"/votes", map[string]any{"choices": []int{0}}, nil), 200, nil, "vote")
			}
			nodetest.Settle(t, n) // not due yet: nobody is told
			var ns []map[string]any
			c.expect(bob.Call("GET", "/api/v1/notifications?types[]=poll", nil, &ns), 200, nil, "before the end")
			if len(ns) != 0 {
				t.Fatalf("poll notification before the end: %v", ns)
			}

			ctx := context.Background()
			if _, err := n.DB.NewUpdate().Table("polls").Set("expires_at = ?", time.Now().UTC().Add(-time.Second)).
				Where("id = ?", pollID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			dueNow(t, n)
			nodetest.Settle(t, n)
			for _, who := range []*nodetest.API{alice, bob, carol} {
				c.expect(who.Call("GET", "/api/v1/notifications?types[]=poll", nil, &ns), 200, nil, "after the end")
				if len(ns) != 1 || ns[0]["type"] != "poll" || ns[0]["account"].(map[string]any)["id"] != alice.User.ID {
					t.Fatalf("%s's poll notifications: %v", who.User.Username, ns)
				}
				p := ns[0]["status"].(map[string]any)["poll"].(map[string]any)
				if p["expired"] != true || p["votes_count"] != 2.0 {
					t.Fatalf("%s's ended poll: %v", who.User.Username, p)
				}
			}
			c.expect(dave.Call("GET", "/api/v1/notifications", nil, &ns), 200, nil, "dave")
			if len(ns) != 0 {
				t.Fatalf("dave did not vote, but: %v", ns)
			}

			// The job again (as after a crash before it was marked done): no second notice.
			if err := n.Jobs.Enqueue(ctx, n.DB, "polls.ended", map[string]string{"poll_id": pollID}); err != nil {
				t.Fatal(err)
			}
			nodetest.Settle(t, n)
			c.expect(bob.Call("GET", "/api/v1/notifications?types[]=poll", nil, &ns), 200, nil, "after a rerun")
			if len(ns) != 1 {
				t.Fatalf("rerun told bob again: %v", ns)
			}
		})
	}
}

// Editing a status with a poll, as Mastodon does: the same options keep the votes, other
// options replace the poll and its votes, no poll removes it; what an edit does not name
// (content warning, files, sensitive) stays as it was.
func TestEditStatusPollAndAbsentFields(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		var st map[string]any
		c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Venue?", "spoiler_text": "planning",
			"poll": map[string]any{"options": []string{"Lake", "City"}, "expires_in": 3600}}, &st), 200, nil, "create")
		id := st["id"].(string)
		pollID := st["poll"].(map[string]any)["id"].(string)
		c.expect(bob.Call("POST", "/api/v1/polls/"+pollID+"/votes", map[string]any{"choices": []int{1}}, nil), 200, nil, "vote")

		pollOf := func(st map[string]any) map[string]any { p, _ := st["poll"].(map[string]any); return p }
		c.expect(alice.Call("PUT", "/api/v1/statuses/"+id, map[string]any{"status": "Venue? (typo fixed)",
			"poll": map[string]any{"options": []string{"Lake", "City"}, "expires_in": 3600, "hide_totals": true}}, &st), 200, nil, "same options")
		if p := pollOf(st); p == nil || p["id"] != pollID || p["votes_count"] != 1.0 || st["spoiler_text"] != "planning" {
			t.Fatalf("same options: poll %v, spoiler %q; want the poll and its vote kept, the warning kept", p, st["spoiler_text"])
		}
		c.expect(alice.Call("PUT", "/api/v1/statuses/"+id, map[string]any{"status": "Venue?",
			"poll": map[string]any{"options": []string{"Lake", "City", "Office"}, "expires_in": 7200}}, &st), 200, nil, "new options")
		p := pollOf(st)
		if p == nil || p["id"] == pollID || p["votes_count"] != 0.0 || len(p["options"].([]any)) != 3 {
			t.Fatalf("new options: poll %v, want a new poll without votes", p)
		}
		var e map[string]any
		c.expect(bob.Call("GET", "/api/v1/polls/"+pollID, nil, &e), 404, e, "the old poll")
		c.expect(bob.Call("POST", "/api/v1/polls/"+p["id"].(string)+"/votes", map[string]any{"choices": []int{2}}, nil), 200, nil, "vote again")
		c.expect(alice.Call("PUT", "/api/v1/statuses/"+id, map[string]any{"status": "No poll after all"}, &st), 200, nil, "no poll")
		if st["poll"] != nil {
			t.Fatalf("an edit without a poll kept it: %v", st["poll"])
		}
		c.expect(bob.Call("GET", "/api/v1/polls/"+p["id"].(string), nil, &e), 404, e, "the removed poll")
		c.expect(alice.Call("PUT", "/api/v1/statuses/"+id, map[string]any{"status": "x", "spoiler_text": ""}, &st), 200, nil, "clear warning")
		if st["spoiler_text"] != "" {
			t.Fatalf("an empty spoiler_text did not clear the warning: %q", st["spoiler_text"])
		}
	})
}
