package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

type notifGroup struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id"`
}

type groupedResults struct {
	Accounts []struct {
		ID string `json:"id"`
	} `json:"accounts"`
	Statuses []struct {
		ID string `json:"id"`
	} `json:"statuses"`
	NotificationGroups []notifGroup `json:"notification_groups"`
}

func (r groupedResults) byType() map[string][]notifGroup {
	out := map[string][]notifGroup{}
	for _, g := range r.NotificationGroups {
		out[g.Type] = append(out[g.Type], g)
	}
	return out
}

func TestGroupedNotificationsAPI(t *testing.T) {
	chatEngines(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
		ok := func(resp *http.Response, what string) {
			t.Helper()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d", what, resp.StatusCode)
			}
		}
		var p1, p2 struct{ ID string }
		ok(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "first"}, &p1), "post 1")
		ok(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "second"}, &p2), "post 2")
		for _, who := range []*nodetest.API{bob, carol, dave} {
			ok(who.Call("POST", "/api/v1/statuses/"+p1.ID+"/favourite", nil, nil), who.User.Username+" favourites")
		}
		ok(bob.Call("POST", "/api/v1/statuses/"+p1.ID+"/reblog", nil, nil), "reblog")
		ok(carol.Call("POST", "/api/v1/statuses/"+p2.ID+"/favourite", nil, nil), "favourite 2")
		for _, who := range []*nodetest.API{bob, carol} {
			ok(who.Call("POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil), who.User.Username+" follows")
		}
		ok(dave.Call("POST", "/api/v1/statuses", map[string]any{"status": "@alice look"}, nil), "mention")
		const total = 8 // 4 favourites, 1 reblog, 2 follows, 1 mention

		var all groupedResults
		ok(alice.Call("GET", "/api/v2/notifications", nil, &all), "grouped")
		types := all.byType()
		if len(all.NotificationGroups) != 5 || len(types["favourite"]) != 2 || len(types["reblog"]) != 1 ||
			len(types["follow"]) != 1 || len(types["mention"]) != 1 {
			t.Fatalf("groups %+v", all.NotificationGroups)
		}
		if all.NotificationGroups[0].Type != "mention" || !strings.HasPrefix(all.NotificationGroups[0].GroupKey, "ungrouped-") {
			t.Errorf("newest group first: %+v", all.NotificationGroups[0])
		}
		keyShape := regexp.MustCompile(`^favourite-` + p1.ID + `-\d+$`)
		var favP1 notifGroup
		for _, g := range types["favourite"] {
			if g.StatusID != nil && *g.StatusID == p1.ID {
				favP1 = g
			}
		}
		if !keyShape.MatchString(favP1.GroupKey) || favP1.NotificationsCount != 3 || len(favP1.SampleAccountIDs) != 3 ||
			favP1.SampleAccountIDs[0] != dave.User.ID || favP1.PageMinID >= favP1.PageMaxID ||
			favP1.MostRecentNotificationID != favP1.PageMaxID || favP1.LatestPageNotificationAt == "" {
			t.Errorf("favourites of post 1: %+v", favP1)
		}
		if f := types["follow"][0]; f.NotificationsCount != 2 || f.StatusID != nil || !strings.HasPrefix(f.GroupKey, "follow-") {
			t.Errorf("follows: %+v", f)
		}
		if len(all.Accounts) != 3 || len(all.Statuses) != 3 { // bob, carol, dave; p1, p2, dave's mention
			t.Errorf("%d accounts, %d statuses", len(all.Accounts), len(all.Statuses))
		}

		// Filters and grouping choices.
		var r groupedResults
		ok(alice.Call("GET", "/api/v2/notifications?grouped_types[]=favourite", nil, &r), "only favourites grouped")
		if len(r.NotificationGroups) != 6 || len(r.byType()["follow"]) != 2 || len(r.byType()["reblog"]) != 1 {
			t.Errorf("grouped_types[]=favourite: %+v", r.NotificationGroups)
		}
		ok(alice.Call("GET", "/api/v2/notifications?types[]=follow&types[]=mention", nil, &r), "types")
		if len(r.NotificationGroups) != 2 || r.byType()["favourite"] != nil {
			t.Errorf("types: %+v", r.NotificationGroups)
		}
		ok(alice.Call("GET", "/api/v2/notifications?exclude_types[]=favourite&exclude_types[]=mention", nil, &r), "exclude_types")
		if len(r.NotificationGroups) != 2 || r.byType()["favourite"] != nil || r.byType()["mention"] != nil {
			t.Errorf("exclude_types: %+v", r.NotificationGroups)
		}

		// Pages of two groups: every notification is counted exactly once across the pages.
		counted, pages, path := 0, 0, "/api/v2/notifications?limit=2"
		for path != "" && pages < 10 {
			var page groupedResults
			resp := alice.Call("GET", path, nil, &page)
			ok(resp, "page")
			if len(page.NotificationGroups) > 2 {
				t.Fatalf("page of %d groups", len(page.NotificationGroups))
			}
			for _, g := range page.NotificationGroups {
				counted += g.NotificationsCount
			}
			pages++
			path = ""
			if m := regexp.MustCompile(`<([^>]+)>; rel="next"`).FindStringSubmatch(resp.Header.Get("Link")); m != nil && len(page.NotificationGroups) > 0 {
				u, _ := url.Parse(m[1])
				path = u.RequestURI()
			}
		}
		if counted != total || pages < 3 {
			t.Errorf("paging counted %d notifications in %d pages, want %d", counted, pages, total)
		}
		var newer groupedResults
		ok(alice.Call("GET", "/api/v2/notifications?min_id="+favP1.PageMinID, nil, &newer), "min_id")
		for _, g := range newer.NotificationGroups {
			if g.PageMinID <= favP1.PageMinID {
				t.Errorf("min_id page holds %s", g.PageMinID)
			}
		}
		if code, _, body := rawCall(t, n, alice.Token, "GET", "/api/v2/notifications?limit=zero", "", ""); code != 422 {
			t.Errorf("limit=zero: %d %s", code, body)
		}

		var count struct{ Count int }
		ok(alice.Call("GET", "/api/v2/notifications/unread_count", nil, &count), "unread count")
		if count.Count != 5 {
			t.Errorf("unread groups %d, want 5", count.Count)
		}
		ok(alice.Call("GET", "/api/v2/notifications/unread_count?grouped_types[]=follow", nil, &count), "unread ungrouped")
		if count.Count != total-1 {
			t.Errorf("unread with only follows grouped: %d, want %d", count.Count, total-1)
		}

		// One group, and dismissing it.
		var one groupedResults
		ok(alice.Call("GET", "/api/v2/notifications/"+favP1.GroupKey, nil, &one), "one group")
		if len(one.NotificationGroups) != 1 || one.NotificationGroups[0].NotificationsCount != 3 || len(one.Accounts) != 3 {
			t.Errorf("one group: %+v", one)
		}
		mention := types["mention"][0].GroupKey
		ok(alice.Call("GET", "/api/v2/notifications/"+mention, nil, &one), "ungrouped group")
		if len(one.NotificationGroups) != 1 || one.NotificationGroups[0].GroupKey != mention {
			t.Errorf("ungrouped: %+v", one)
		}
		for _, c := range []struct {
			who  *nodetest.API
			path string
		}{
			{bob, "/api/v2/notifications/" + favP1.GroupKey},
			{bob, "/api/v2/notifications/" + mention},
			{alice, "/api/v2/notifications/favourite-nothing-1"},
			{alice, "/api/v2/notifications/nonsense"},
		} {
			var e map[string]any
			if resp := c.who.Call("GET", c.path, nil, &e); resp.StatusCode != 404 || e["error"] == nil {
				t.Errorf("%s %s: %d %v", c.who.User.Username, c.path, resp.StatusCode, e)
			}
		}
		if resp := bob.Call("POST", "/api/v2/notifications/"+favP1.GroupKey+"/dismiss", nil, nil); resp.StatusCode != 404 {
			t.Errorf("bob dismissed alice's group: %d", resp.StatusCode)
		}
		ok(alice.Call("POST", "/api/v2/notifications/"+favP1.GroupKey+"/dismiss", nil, nil), "dismiss")
		var v1 []map[string]any
		ok(alice.Call("GET", "/api/v1/notifications?types[]=favourite", nil, &v1), "v1 after dismiss")
		if len(v1) != 1 {
			t.Errorf("v1 favourites after dismissing the group: %d, want 1 (post 2)", len(v1))
		}
		ok(alice.Call("GET", "/api/v2/notifications", nil, &r), "after dismiss")
		var keys []string
		for _, g := range r.NotificationGroups {
			keys = append(keys, g.GroupKey)
			if g.GroupKey == favP1.GroupKey {
				t.Errorf("the dismissed group is still listed")
			}
		}
		if len(keys) != 4 {
			t.Errorf("groups after dismiss: %v", keys)
		}
		if resp := alice.Call("POST", "/api/v2/notifications/"+favP1.GroupKey+"/dismiss", nil, nil); resp.StatusCode != 404 {
			t.Errorf("dismissing twice: %d", resp.StatusCode)
		}
	})
}
