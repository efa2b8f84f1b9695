package delivery

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func TestSendDeliversOncePerInboxSigned(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		shared := e.recv.inbox("b.test", "/inbox")
		inboxes := []string{
			e.recv.inbox("a.test", "/users/1/inbox"),
			e.recv.inbox("a.test", "/users/2/inbox"),
			shared, shared, shared, // three followers behind one shared inbox
		}
		a := testActivity("https://our.example/activities/1", "Create", "https://our.example/notes/1")
		e.send(a, inboxes...)
		e.send(a, inboxes...) // a repeated Send (a retried request) changes nothing

		if n := e.count("outbox_activities"); n != 1 {
			t.Fatalf("outbox rows = %d, want 1", n)
		}
		js := e.jobs()
		if len(js) != 3 {
			t.Fatalf("jobs = %d, want 3 (one per distinct inbox)", len(js))
		}
		for _, j := range js {
			if strings.Contains(j.Payload, "Create") || !strings.Contains(j.Payload, `"inbox"`) {
				t.Errorf("payload %s should reference the outbox row and inbox, not carry the body", j.Payload)
			}
		}
		e.drain()

		gots := e.recv.accepted()
		var inboxesGot []string
		for _, g := range gots {
			inboxesGot = append(inboxesGot, g.inbox)
			if g.activityID != a.URI || g.contentType != "application/activity+json" ||
				!strings.Contains(g.accept, "application/activity+json") || g.userAgent != "Atrium-test/1" {
				t.Errorf("delivery %+v", g)
			}
		}
		slices.Sort(inboxesGot)
		want := []string{"a.test/users/1/inbox", "a.test/users/2/inbox", "b.test/inbox"}
		if !slices.Equal(inboxesGot, want) {
			t.Fatalf("received %v, want exactly %v", inboxesGot, want)
		}
		if js := e.jobs(); len(js) != 0 {
			t.Fatalf("jobs left: %+v", js)
		}
		if h := e.health("a.test"); h.Delivered != 2 || h.Failures != 0 || h.LastSuccessAt == nil || !h.LastSuccessAt.Equal(t0) {
			t.Errorf("a.test health %+v", h)
		}
		if h := e.health("b.test"); h.Delivered != 1 {
			t.Errorf("b.test health %+v", h)
		}
	})
}

func TestSendInRolledBackTransactionLeavesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		boom := errors.New("boom")
		err := d.Tx(e.ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := e.svc.Send(ctx, tx, testActivity("https://our.example/a/1", "Create", ""), []string{e.recv.inbox("a.test", "/inbox")}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if n := e.count("outbox_activities"); n != 0 {
			t.Errorf("outbox rows = %d", n)
		}
		if n := len(e.jobs()); n != 0 {
			t.Errorf("jobs = %d", n)
		}
	})
}

func TestSendValidates(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		bad := testActivity("https://our.example/a/1", "Create", "")
		bad.KeyID = ""
		if err := e.svc.Send(e.ctx, d, bad, nil); err == nil {
			t.Error("an activity without key id was accepted")
		}
		// Unusable inbox URLs are skipped, not fatal.
		e.send(testActivity("https://our.example/a/2", "Create", ""),
			"ftp://a.test/inbox", "/relative", "http://user:pw@a.test/inbox", "http://%zz", e.recv.inbox("a.test", "/inbox"))
		if js := e.jobs(); len(js) != 1 {
			t.Fatalf("jobs = %+v, want only the valid inbox", js)
		}
	})
}

func TestNotAllowedHostIsNeverContacted(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.deny(e.recv.hostKey("blocked.test"), true)
		e.send(testActivity("https://our.example/a/1", "Create", ""),
			e.recv.inbox("ok.test", "/inbox"), e.recv.inbox("blocked.test", "/inbox"), e.recv.inbox("blocked.test", "/users/2/inbox"))
		if js := e.jobs(); len(js) != 1 {
			t.Fatalf("jobs = %+v, want only ok.test's", js)
		}
		e.drain()
		if n := e.recv.hitsOf("blocked.test"); n != 0 {
			t.Errorf("blocked.test got %d requests", n)
		}
		if n := e.recv.hitsOf("ok.test"); n != 1 {
			t.Errorf("ok.test got %d requests", n)
		}
	})
}

func TestPartnerRemovedBetweenEnqueueAndSendIsDropped(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("gone.test", "/inbox"))
		e.deny(e.recv.hostKey("gone.test"), true)
		e.drain()
		if n := e.recv.hitsOf("gone.test"); n != 0 {
			t.Errorf("removed partner got %d requests", n)
		}
		if js := e.jobs(); len(js) != 0 {
			t.Errorf("the delivery should be dropped, not kept: %+v", js)
		}
		if h := e.health("gone.test"); h.LastFailureAt != nil || h.Failures != 0 {
			t.Errorf("a policy drop says nothing about the peer: %+v", h)
		}

		// The same happens to a delivery that is retrying when the partner is removed.
		e.deny(e.recv.hostKey("gone.test"), false)
		e.recv.set("gone.test", status(500))
		e.send(testActivity("https://our.example/a/2", "Create", ""), e.recv.inbox("gone.test", "/inbox"))
		e.drain()
		if js := e.jobs(); len(js) != 1 || js[0].State != "pending" {
			t.Fatalf("jobs %+v, want one retrying", js)
		}
		e.deny(e.recv.hostKey("gone.test"), true)
		e.clock.Advance(time.Minute)
		e.drain()
		if n := e.recv.hitsOf("gone.test"); n != 1 {
			t.Errorf("hits = %d, want only the first failed attempt", n)
		}
		if js := e.jobs(); len(js) != 0 {
			t.Errorf("jobs left: %+v", js)
		}
	})
}

func TestCancelObjectDropsUnsentDeliveriesExceptTheDelete(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		note, other := "https://our.example/notes/x", "https://our.example/notes/y"
		inboxes := []string{e.recv.inbox("a.test", "/inbox"), e.recv.inbox("b.test", "/inbox")}
		e.send(testActivity("https://our.example/a/create-x", "Create", note), inboxes...)
		e.send(testActivity("https://our.example/a/update-x", "Update", note), inboxes...)
		e.send(testActivity("https://our.example/a/create-y", "Create", other), inboxes...)
		err := d.Tx(e.ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := e.svc.Send(ctx, tx, testActivity("https://our.example/a/delete-x", "Delete", note), inboxes); err != nil {
				return err
			}
			return e.svc.CancelObject(ctx, tx, note)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(e.jobs()); n != 4 {
			t.Fatalf("jobs = %d, want the Delete's and create-y's (4)", n)
		}
		e.drain()
		var ids []string
		for _, g := range e.recv.accepted() {
			ids = append(ids, g.activityID)
		}
		slices.Sort(ids)
		want := []string{"https://our.example/a/create-y", "https://our.example/a/create-y",
			"https://our.example/a/delete-x", "https://our.example/a/delete-x"}
		if !slices.Equal(ids, want) {
			t.Fatalf("received %v, want %v", ids, want)
		}
		if err := e.svc.CancelObject(e.ctx, d, "https://our.example/notes/none"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHealthQueueDepthAndReceived(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.recv.set("slow.test", status(500))
		e.send(testActivity("https://our.example/a/1", "Create", ""),
			e.recv.inbox("slow.test", "/u/1"), e.recv.inbox("slow.test", "/u/2"), e.recv.inbox("fine.test", "/inbox"))
		if h := e.health("slow.test"); h.QueueDepth != 2 || h.Host != e.recv.hostKey("slow.test") {
			t.Fatalf("before drain: %+v", h)
		}
		e.drain()
		h := e.health("slow.test")
		if h.QueueDepth != 2 || h.Failures != 2 || h.FailingSince == nil || !h.FailingSince.Equal(t0) ||
			!strings.Contains(h.LastError, "500") || h.Unavailable {
			t.Fatalf("after failures: %+v", h)
		}
		for range 2 {
			if err := e.svc.RecordReceived(e.ctx, strings.ToUpper(e.recv.hostKey("slow.test"))); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.RecordReceived(e.ctx, "new.test"); err != nil {
			t.Fatal(err)
		}
		all, err := e.svc.Health(e.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[e.recv.hostKey("slow.test")].Received != 2 || all["new.test"].Received != 1 ||
			all[e.recv.hostKey("fine.test")].Delivered != 1 {
			t.Fatalf("all: %+v", all)
		}
		some, err := e.svc.Health(e.ctx, []string{"unknown.test"})
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := some["unknown.test"]; !ok || h.Host != "unknown.test" || h.Delivered != 0 {
			t.Fatalf("unknown host: %+v", some)
		}
	})
}
