package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadRefusesTargetsOffThisMachine(t *testing.T) {
	for _, target := range []string{"http://example.com", "http://10.0.0.1:8080", "http://0.0.0.0:8080", "http://[::]:80",
		"https://192.168.1.2", "ftp://127.0.0.1", "127.0.0.1:8080", "http://localhost.example.com", "http://[::ffff:10.0.0.1]/"} {
		if _, err := CheckLoopback(target); err == nil {
			t.Errorf("%s accepted", target)
		}
		if _, err := Load(context.Background(), LoadOptions{Target: target, Tokens: []string{"x"}, Scenario: ScenarioHome,
			Concurrency: 1, Duration: time.Second}); err == nil {
			t.Errorf("Load ran against %s", target)
		}
	}
	for _, target := range []string{"http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:8080", "http://localhost:1", "https://LOCALHOST", "http://[::ffff:127.0.0.1]:80"} {
		if _, err := CheckLoopback(target); err != nil {
			t.Errorf("%s refused: %v", target, err)
		}
	}
}

// stub answers the two API calls the scenarios make, like the node would, and counts them.
type stub struct {
	mu     sync.Mutex
	gets   int
	paged  int
	posts  int
	vis    map[string]int
	tokens map[string]int
	fail   atomic.Int64 // answer this many requests with 500
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[r.Header.Get("Authorization")]++
	if s.fail.Add(-1) >= 0 {
		http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/v1/timelines/home":
		s.gets++
		if r.URL.Query().Get("max_id") != "" {
			s.paged++
		}
		if r.URL.Query().Get("limit") != "20" {
			http.Error(w, "limit", 400)
			return
		}
		w.Header().Set("Link", `<http://x/api/v1/timelines/home?max_id=01ABC&limit=20>; rel="next", <http://x/api/v1/timelines/home?min_id=01XYZ&limit=20>; rel="prev"`)
		w.Write([]byte(`[{"id":"01XYZ"},{"id":"01ABC"}]`))
	case r.Method == "POST" && r.URL.Path == "/api/v1/statuses":
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["status"] == "" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", 422)
			return
		}
		s.posts++
		s.vis[in["visibility"]]++
		w.Write([]byte(`{"id":"01NEW"}`))
	default:
		http.NotFound(w, r)
	}
}

func TestLoadCountsAndPages(t *testing.T) {
	st := &stub{vis: map[string]int{}, tokens: map[string]int{}}
	st.fail.Store(3)
	srv := httptest.NewServer(st)
	defer srv.Close()
	tokens := []string{"a", "b", "c"}
	r, err := Load(context.Background(), LoadOptions{Target: srv.URL, Tokens: tokens, Scenario: ScenarioHome,
		Concurrency: 4, Duration: time.Minute, Requests: 400})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 400 || r.Errors != 3 || r.Status["500"] != 3 || r.Status["200"] != 397 {
		t.Fatalf("report: %s", r.JSON())
	}
	if st.gets != 397 || st.paged < 20 || st.paged > 150 {
		t.Fatalf("%d home requests, %d with max_id; want about 20%% paged", st.gets, st.paged)
	}
	if r.P50ms <= 0 || r.P50ms > r.P99ms || r.P99ms > r.MaxMs || r.Bytes == 0 || r.RPS <= 0 {
		t.Fatalf("report: %s", r.JSON())
	}
	if len(st.tokens) != len(tokens) {
		t.Fatalf("tokens used: %v", st.tokens)
	}
	if !strings.Contains(r.Summary(), "400 requests") {
		t.Fatalf("summary: %s", r.Summary())
	}
	var back Report
	if err := json.Unmarshal([]byte(r.JSON()), &back); err != nil || back.Requests != 400 || back.Scenario != "home" {
		t.Fatalf("JSON line: %s (%v)", r.JSON(), err)
	}

	r, err = Load(context.Background(), LoadOptions{Target: srv.URL, Tokens: tokens, Scenario: ScenarioMixed,
		Concurrency: 2, Duration: time.Minute, Requests: 300})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 300 || r.Errors != 0 || r.Ops["home"] == nil || r.Ops["post"] == nil || r.Ops["home"].Requests+r.Ops["post"].Requests != 300 {
		t.Fatalf("mixed: %s", r.JSON())
	}
	if st.posts == 0 || st.vis["company"] == 0 || st.vis["public"] != st.posts-st.vis["company"] {
		t.Fatalf("posts %d by visibility %v", st.posts, st.vis)
	}
}

func TestLoadStopsAtItsDuration(t *testing.T) {
	srv := httptest.NewServer(&stub{vis: map[string]int{}, tokens: map[string]int{}})
	defer srv.Close()
	start := time.Now()
	r, err := Load(context.Background(), LoadOptions{Target: srv.URL, Tokens: []string{"t"}, Scenario: ScenarioPost,
		Concurrency: 2, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("ran for %s", el)
	}
	if r.Requests == 0 || r.Errors != 0 {
		t.Fatalf("report: %s", r.JSON())
	}
}

// The open loop sends at the rate whatever the answers do: a slow server does not slow the
// arrivals, its queue shows in the latency (counted from each request's due time) and in late.
func TestLoadOpenLoopKeepsTheRate(t *testing.T) {
	st := &stub{vis: map[string]int{}, tokens: map[string]int{}}
	srv := httptest.NewServer(st)
	defer srv.Close()
	r, err := Load(context.Background(), LoadOptions{Target: srv.URL, Tokens: []string{"t"}, Scenario: ScenarioHome,
		Concurrency: 4, Rate: 200, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 200 due in the second; allow for a loaded test machine, but not for a closed loop,
	// which against this stub would answer thousands.
	if r.Requests < 100 || r.Requests > 201 || r.Errors != 0 || r.Rate != 200 {
		t.Fatalf("report: %s", r.JSON())
	}
	if !strings.Contains(r.Summary(), "open loop at 200 req/s") {
		t.Fatalf("summary: %s", r.Summary())
	}

	// One client and a server that takes 20 ms: 100 req/s due, at most 50 answered; the
	// rest wait, and their latency includes the wait.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte(`[]`))
	}))
	defer slow.Close()
	r, err = Load(context.Background(), LoadOptions{Target: slow.URL, Tokens: []string{"t"}, Scenario: ScenarioHome,
		Concurrency: 1, Rate: 100, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests > 55 || r.Late < 40 || r.P99ms < 100 {
		t.Fatalf("slow server: %s", r.JSON())
	}
	if _, err := Load(context.Background(), LoadOptions{Target: srv.URL, Tokens: []string{"t"}, Scenario: ScenarioHome,
		Concurrency: 1, Rate: -1, Duration: time.Second}); err == nil {
		t.Fatal("negative rate accepted")
	}
}
