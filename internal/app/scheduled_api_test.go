package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

// dueNow makes every pending job due now, as if the clock had reached scheduled_at.
func dueNow(t *testing.T, n *nodetest.Node) {
	t.Helper()
	if _, err := n.DB.NewUpdate().Table("jobs").Set("run_at = ?", time.Now().UTC().Add(-time.Second)).
		Where("state = 'pending'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestScheduledStatusesAPI: a status with scheduled_at is stored, listed, rescheduled and
// deleted, and published once, with its poll, when its job runs; the job of an earlier time
// or of a deleted one posts nothing.
func TestScheduledStatusesAPI(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true, Manual: true}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			testScheduled(t, nodetest.Start(t, o))
		})
	}
}

func testScheduled(t *testing.T, n *nodetest.Node) {
	c := caller{t}
	alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
	var e map[string]any
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Second)

	c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Too soon",
		"scheduled_at": time.Now().UTC().Add(time.Minute).Format(time.RFC3339)}, &e), 422, e, "less than 5 minutes ahead")
	c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "x", "scheduled_at": "tomorrow"}, &e), 422, e, "bad time")

	var ss map[string]any
	c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "Standup moved", "visibility": "public",
		"scheduled_at": at.Format(time.RFC3339), "poll": map[string]any{"options": []string{"9:00", "10:00"}, "expires_in": 3600}}, &ss),
		200, nil, "schedule")
	id, _ := ss["id"].(string)
	params, _ := ss["params"].(map[string]any)
	if id == "" || ss["scheduled_at"] != at.Format("2006-01-02T15:04:05.000Z") || params["text"] != "Standup moved" ||
		params["visibility"] != "public" || params["poll"] == nil || ss["media_attachments"] == nil {
		t.Fatalf("scheduled %v", ss)
	}
	var other map[string]any
	c.expect(alice.Call("POST", "/api/v1/statuses", map[string]any{"status": "To delete",
		"scheduled_at": at.Format(time.RFC3339)}, &other), 200, nil, "schedule another")
	c.expect(alice.Call("GET", "/api/v1/statuses/"+id, nil, &e), 404, e, "not a status yet")
	var mine []map[string]any
	c.expect(alice.Call("GET", "/api/v1/scheduled_statuses", nil, &mine), 200, nil, "list")
	// Both were made in the same millisecond, so their order (newest id first) is not known.
	if len(mine) != 2 || !(mine[0]["id"] == other["id"] && mine[1]["id"] == id || mine[0]["id"] == id && mine[1]["id"] == other["id"]) {
		t.Fatalf("list %v", mine)
	}
	c.expect(bob.Call("GET", "/api/v1/scheduled_statuses", nil, &mine), 200, nil, "bob's list")
	if len(mine) != 0 {
		t.Fatalf("bob sees %v", mine)
	}
	c.expect(bob.Call("GET", "/api/v1/scheduled_statuses/"+id, nil, &e), 404, e, "another's")
	c.expect(bob.Call("DELETE", "/api/v1/scheduled_statuses/"+id, nil, &e), 404, e, "delete another's")

	later := at.Add(24 * time.Hour)
	c.expect(alice.Call("PUT", "/api/v1/scheduled_statuses/"+id, map[string]any{"scheduled_at": later.Format(time.RFC3339)}, &ss), 200, nil, "reschedule")
	if ss["scheduled_at"] != later.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("rescheduled %v", ss)
	}
	c.expect(alice.Call("PUT", "/api/v1/scheduled_statuses/"+id, map[string]any{"scheduled_at": time.Now().UTC().Format(time.RFC3339)}, &e), 422, e, "reschedule to now")
	c.expect(alice.Call("GET", "/api/v1/scheduled_statuses/"+id, nil, &ss), 200, nil, "get")
	if ss["scheduled_at"] != later.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("get after refused reschedule %v", ss)
	}
	c.expect(alice.Call("DELETE", "/api/v1/scheduled_statuses/"+other["id"].(string), nil, nil), 200, nil, "delete")
	c.expect(alice.Call("GET", "/api/v1/scheduled_statuses/"+other["id"].(string), nil, &e), 404, e, "deleted")

	// The clock reaches the time: every job (the stale one of the first time, the one of the
	// deleted status, the current one) runs; exactly one status appears, with its poll.
	dueNow(t, n)
	nodetest.Settle(t, n)
	var posted []map[string]any
	c.expect(alice.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/statuses", nil, &posted), 200, nil, "alice's statuses")
	if len(posted) != 1 || posted[0]["content"] != "<p>Standup moved</p>" || posted[0]["visibility"] != "public" || posted[0]["poll"] == nil {
		t.Fatalf("published %v", posted)
	}
	if opts := posted[0]["poll"].(map[string]any)["options"].([]any); len(opts) != 2 {
		t.Fatalf("published poll %v", posted[0]["poll"])
	}
	c.expect(alice.Call("GET", "/api/v1/scheduled_statuses", nil, &mine), 200, nil, "list after")
	if len(mine) != 0 {
		t.Fatalf("still scheduled %v", mine)
	}
	// Running the queue again publishes nothing more.
	dueNow(t, n)
	nodetest.Settle(t, n)
	c.expect(alice.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/statuses", nil, &posted), 200, nil, "alice's statuses again")
	if len(posted) != 1 {
		t.Fatalf("published twice: %d", len(posted))
	}
}
