package delivery

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		status, attempt int
		want            verdict
	}{
		{200, 1, delivered}, {202, 1, delivered}, {204, 9, delivered},
		{410, 1, rejected}, {404, 1, rejected}, {400, 1, rejected}, {403, 1, rejected}, {422, 1, rejected},
		{401, 1, retry}, {401, 3, retry}, {401, 4, rejected},
		{408, 1, retry}, {429, 1, throttled}, {503, 1, throttled},
		{500, 1, retry}, {502, 30, retry}, {504, 1, retry}, {501, 1, rejected},
		{301, 1, retry}, {302, 1, retry},
	}
	for _, c := range cases {
		if got := classify(c.status, c.attempt); got != c.want {
			t.Errorf("classify(%d, attempt %d) = %d, want %d", c.status, c.attempt, got, c.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := t0
	cases := map[string]time.Duration{
		"":        0,
		"120":     2 * time.Minute,
		" 30 ":    30 * time.Second,
		"0":       0,
		"-5":      0,
		"9999999": maxRetryAfter,
		now.Add(5 * time.Minute).Format(http.TimeFormat):  5 * time.Minute,
		now.Add(-5 * time.Minute).Format(http.TimeFormat): 0,
		now.Add(48 * time.Hour).Format(http.TimeFormat):   maxRetryAfter,
		now.Add(90 * time.Second).Format(time.RFC850):     90 * time.Second,
		"soon": 0,
		"1.5":  0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestOutcomes sends one delivery per response class (each to its own host) and checks what
// happens to the job and to the host's record after the first attempt.
func TestOutcomes(t *testing.T) {
	type want struct {
		state     string        // "" = the job is gone (done or dropped without a trace)
		delay     time.Duration // pending jobs: run_at - now
		failures  int
		failing   bool // failing_since set
		errPart   string
		hostUp    bool // the host answered: last_failure_at set but no failure run
		delivered int
	}
	cases := []struct {
		name string
		h    http.HandlerFunc
		want want
	}{
		{"accepted", status(202), want{delivered: 1}},
		{"gone", status(410), want{state: "dead", errPart: "410 Gone", hostUp: true}},
		{"not-found", status(404), want{state: "dead", errPart: "404 Not Found: answer 404", hostUp: true}},
		{"bad-request", status(400), want{state: "dead", errPart: "400", hostUp: true}},
		{"not-implemented", status(501), want{state: "dead", errPart: "501", hostUp: true}},
		{"unauthorized", status(401), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true, errPart: "401"}},
		{"timeout-408", status(408), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true, errPart: "408"}},
		{"throttled-seconds", status(429, "Retry-After", "120"), want{state: "pending", delay: 2 * time.Minute, failures: 1, failing: true, errPart: "429"}},
		{"throttled-date", status(429, "Retry-After", t0.Add(5*time.Minute).Format(http.TimeFormat)),
			want{state: "pending", delay: 5 * time.Minute, failures: 1, failing: true, errPart: "429"}},
		{"throttled-huge", status(429, "Retry-After", "604800"), want{state: "pending", delay: 6 * time.Hour, failures: 1, failing: true}},
		// Retry-After is a floor: the backoff (30 s on the first attempt) still applies.
		{"throttled-tiny", status(429, "Retry-After", "1"), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true}},
		{"unavailable-503", status(503, "Retry-After", "90"), want{state: "pending", delay: 90 * time.Second, failures: 1, failing: true, errPart: "503"}},
		{"unavailable-503-bare", status(503), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true}},
		{"server-error", status(500), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true, errPart: "500 Internal Server Error"}},
		{"bad-gateway", status(502), want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true, errPart: "502"}},
		{"redirect-not-followed", status(302, "Location", "http://elsewhere.test/inbox"),
			want{state: "pending", delay: 30 * time.Second, failures: 1, failing: true, errPart: "302"}},
	}
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		a := testActivity("https://our.example/a/1", "Create", "")
		var inboxes []string
		for _, c := range cases {
			e.recv.set(c.name+".test", c.h)
			inboxes = append(inboxes, e.recv.inbox(c.name+".test", "/inbox"))
		}
		e.send(a, inboxes...)
		e.drain()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				name := c.name + ".test"
				if n := e.recv.hitsOf(name); n != 1 {
					t.Errorf("requests = %d, want 1", n)
				}
				js := e.jobsOf(name)
				switch {
				case c.want.state == "" && len(js) != 0:
					t.Fatalf("job kept: %+v", js)
				case c.want.state != "" && (len(js) != 1 || js[0].State != c.want.state):
					t.Fatalf("jobs = %+v, want one %s", js, c.want.state)
				case c.want.state == "pending" && js[0].RunAt.Sub(t0) != c.want.delay:
					t.Errorf("retry in %s, want %s", js[0].RunAt.Sub(t0), c.want.delay)
				}
				h := e.health(name)
				if h.Failures != c.want.failures || (h.FailingSince != nil) != c.want.failing || h.Delivered != c.want.delivered ||
					!strings.Contains(h.LastError, c.want.errPart) || h.Unavailable {
					t.Errorf("health %+v, want %+v", h, c.want)
				}
				if c.want.hostUp && (h.LastFailureAt == nil || h.FailingSince != nil) {
					t.Errorf("a refusal should record the error but no failure run: %+v", h)
				}
				if c.want.state == "dead" && !strings.Contains(js[0].LastError, c.want.errPart) {
					t.Errorf("last_error %q", js[0].LastError)
				}
			})
		}
		if n := e.recv.hitsOf("elsewhere.test"); n != 0 {
			t.Errorf("the redirect was followed (%d requests)", n)
		}
	})
}

func TestConnectionRefusedRetries(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l.Addr().String())
		l.Close() // nothing listens there now
		inbox := "http://refused.test:" + port + "/inbox"
		e.send(testActivity("https://our.example/a/1", "Create", ""), inbox)
		e.drain()
		js := e.jobs()
		if len(js) != 1 || js[0].State != "pending" || js[0].RunAt.Sub(t0) != 30*time.Second {
			t.Fatalf("jobs %+v, want one retrying in 30s", js)
		}
		hs, err := e.svc.Health(e.ctx, []string{"refused.test:" + port})
		if err != nil {
			t.Fatal(err)
		}
		h := hs["refused.test:"+port]
		if h.Failures != 1 || h.FailingSince == nil || !strings.Contains(h.LastError, "refused") || h.QueueDepth != 1 {
			t.Fatalf("health %+v", h)
		}
	})
}

func TestUnauthorizedIsRetriedAFewTimesThenDropped(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.recv.set("auth.test", status(401))
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("auth.test", "/inbox"))
		for range 10 {
			e.drain()
			e.clock.Advance(time.Hour)
		}
		if n := e.recv.hitsOf("auth.test"); n != unauthorizedAttempts {
			t.Errorf("requests = %d, want %d", n, unauthorizedAttempts)
		}
		js := e.jobs()
		if len(js) != 1 || js[0].State != "dead" || !strings.Contains(js[0].LastError, "401") {
			t.Fatalf("jobs %+v", js)
		}
		// The final 401 shows the host is up: the failure run ends.
		if h := e.health("auth.test"); h.FailingSince != nil || h.Failures != 0 {
			t.Errorf("health %+v", h)
		}
	})
}

func TestRetryThenSuccessClearsTheFailureRun(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.recv.set("flaky.test", status(500))
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("flaky.test", "/inbox"))
		e.drain()
		e.clock.Advance(30 * time.Second)
		e.drain()
		h := e.health("flaky.test")
		if h.Failures != 2 || h.FailingSince == nil || !h.FailingSince.Equal(t0) {
			t.Fatalf("after two failures: %+v", h)
		}
		if js := e.jobs(); len(js) != 1 || js[0].Attempts != 2 || js[0].RunAt.Sub(e.clock.Now()) != time.Minute {
			t.Fatalf("jobs %+v, want attempt 2 retrying in 1m", js)
		}
		e.clock.Advance(59 * time.Second)
		e.drain()
		if n := e.recv.hitsOf("flaky.test"); n != 2 {
			t.Fatalf("retried before its time: %d requests", n)
		}
		e.recv.set("flaky.test", nil)
		e.clock.Advance(time.Second)
		e.drain()
		if got := e.recv.accepted(); len(got) != 1 {
			t.Fatalf("accepted %+v", got)
		}
		h = e.health("flaky.test")
		if h.Failures != 0 || h.FailingSince != nil || h.Delivered != 1 || h.LastSuccessAt == nil || h.QueueDepth != 0 {
			t.Fatalf("after success: %+v", h)
		}
	})
}

func TestGivesUpAfterTheWindow(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.recv.set("down.test", status(500))
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("down.test", "/inbox"))
		var js []jobRow
		for range 100 {
			e.drain()
			if js = e.jobs(); js[0].State != "pending" {
				break
			}
			e.clock.Advance(js[0].RunAt.Sub(e.clock.Now())) // straight to the next attempt
		}
		age := e.clock.Now().Sub(t0)
		if js[0].State != "dead" || age < Window || age > Window+6*time.Hour || !strings.Contains(js[0].LastError, "giving up") {
			t.Fatalf("job %+v after %s", js[0], age)
		}
		// Without jitter the caps are the delays: 10 doubling retries (8.5 h), then every 6 h.
		if js[0].Attempts != 22 || e.recv.hitsOf("down.test") != 22 {
			t.Errorf("attempts = %d, requests = %d, want 22", js[0].Attempts, e.recv.hitsOf("down.test"))
		}
		if h := e.health("down.test"); h.Unavailable || h.Failures != 22 {
			t.Errorf("three days of failures: %+v", h)
		}
	})
}

func TestUnavailableHostIsParkedAndProbedDaily(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		host := e.recv.hostKey("dead.test")
		e.recv.set("dead.test", status(500))
		// A week of failures, recorded as the handler would.
		for _, at := range []time.Time{t0.Add(-8 * 24 * time.Hour), t0.Add(-time.Hour)} {
			if err := e.svc.recordFailure(e.ctx, host, at, "500"); err != nil {
				t.Fatal(err)
			}
		}
		if h := e.health("dead.test"); !h.Unavailable || h.Failures != 2 {
			t.Fatalf("after 8 failing days: %+v", h)
		}

		inboxes := []string{e.recv.inbox("dead.test", "/u/1"), e.recv.inbox("dead.test", "/u/2"), e.recv.inbox("dead.test", "/u/3")}
		e.send(testActivity("https://our.example/a/1", "Create", ""), inboxes...)
		e.drain()
		if n := e.recv.hitsOf("dead.test"); n != 0 {
			t.Fatalf("tried an unavailable host an hour after its last attempt (%d requests)", n)
		}
		for _, j := range e.jobs() {
			wait := j.RunAt.Sub(t0)
			if j.State != "pending" || wait < 23*time.Hour || wait > 24*time.Hour || !strings.Contains(j.LastError, "parked") {
				t.Fatalf("parked job %+v (due in %s)", j, wait)
			}
		}

		// A day later exactly one of them probes; it fails and the others stay parked.
		e.clock.Advance(25 * time.Hour)
		e.drain()
		if n := e.recv.hitsOf("dead.test"); n != 1 {
			t.Fatalf("probe requests = %d, want 1", n)
		}
		if h := e.health("dead.test"); !h.Unavailable || h.Failures != 3 || h.QueueDepth != 3 {
			t.Fatalf("after a failed probe: %+v", h)
		}

		// The next day the host is back: the probe succeeds and wakes the parked deliveries.
		e.recv.set("dead.test", nil)
		e.clock.Advance(25 * time.Hour)
		e.drain()
		if got := e.recv.accepted(); len(got) != 3 {
			t.Fatalf("delivered %d, want 3", len(got))
		}
		if n := e.recv.hitsOf("dead.test"); n != 4 {
			t.Errorf("requests = %d, want 1 failed probe + 3 deliveries", n)
		}
		if h := e.health("dead.test"); h.Unavailable || h.FailingSince != nil || h.Delivered != 3 || h.QueueDepth != 0 {
			t.Fatalf("after recovery: %+v", h)
		}
	})
}

func TestParkedDeliveriesEndWithTheWindow(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		host := e.recv.hostKey("dead.test")
		e.recv.set("dead.test", status(500))
		for _, at := range []time.Time{t0.Add(-8 * 24 * time.Hour), t0.Add(-time.Hour)} {
			if err := e.svc.recordFailure(e.ctx, host, at, "500"); err != nil {
				t.Fatal(err)
			}
		}
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("dead.test", "/u/1"), e.recv.inbox("dead.test", "/u/2"))
		for range 10 {
			e.drain()
			e.clock.Advance(25 * time.Hour)
		}
		for _, j := range e.jobs() {
			if j.State != "dead" || j.Attempts > 6 {
				t.Errorf("job %+v, want dead after a few daily checks", j)
			}
		}
		// One probe per day while the deliveries lived (days 1, 2 and 3), never one per job.
		if n := e.recv.hitsOf("dead.test"); n < 2 || n > 4 {
			t.Errorf("probes = %d", n)
		}
	})
}

func TestUnavailabilitySeenAcrossProcesses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		host := e.recv.hostKey("shared.test")
		// Another process on the same database: its own queue and service.
		other := New(Deps{DB: d, Jobs: jobs.New(d, e.clock, nil, jobs.Options{}), Keys: &keys.Store{DB: d, Clock: e.clock},
			HTTP: testClient(), Clock: e.clock})
		for _, at := range []time.Time{t0.Add(-8 * 24 * time.Hour), t0.Add(-time.Hour)} {
			if err := other.recordFailure(e.ctx, host, at, "500"); err != nil {
				t.Fatal(err)
			}
		}
		e.send(testActivity("https://our.example/a/1", "Create", ""), e.recv.inbox("shared.test", "/u/1"))
		e.drain()
		if n := e.recv.hitsOf("shared.test"); n != 0 {
			t.Fatalf("a host another process marked unavailable was tried (%d)", n)
		}
		// The other process sees it recover; this one's cached set still lists the host, and
		// must check before parking anything.
		if err := other.recordSuccess(e.ctx, host, t0); err != nil {
			t.Fatal(err)
		}
		e.send(testActivity("https://our.example/a/2", "Create", ""), e.recv.inbox("shared.test", "/u/1"))
		e.drain()
		if n := e.recv.hitsOf("shared.test"); n != 1 {
			t.Fatalf("requests = %d, want the new delivery sent at once", n)
		}
	})
}

func TestBlockedAddressIsDroppedAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.send(testActivity("https://our.example/a/1", "Create", ""), "http://intranet.private/inbox")
		e.drain()
		js := e.jobs()
		if len(js) != 1 || js[0].State != "dead" || !strings.Contains(js[0].LastError, "blocked") {
			t.Fatalf("jobs %+v, want one dead with the address blocked", js)
		}
	})
}
