package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenarios the load generator runs.
const (
	ScenarioHome  = "home"  // GET /api/v1/timelines/home?limit=20; 20% page on with max_id
	ScenarioPost  = "post"  // POST /api/v1/statuses, 70% company, 30% public
	ScenarioMixed = "mixed" // 90% home, 10% post
)

// LoadOptions describe one run. Without Rate it is a closed loop: Concurrency clients, each
// sending its next request when the previous answer has been read, which measures throughput.
// With Rate it is an open loop: requests are due at a fixed arrival rate whatever the answers
// do, at most Concurrency in flight, and each latency counts from when the request was due
// (not when a client was free to send it), so a slow server cannot hide its queue.
type LoadOptions struct {
	Target      string // base URL; must be a loopback address
	Tokens      []string
	Scenario    string
	Concurrency int           // clients (closed loop) or the bound on requests in flight (open loop)
	Rate        float64       // requests per second due in an open loop; 0 runs the closed loop
	Duration    time.Duration // measured period after the warm-up; always bounds the run
	Warmup      time.Duration // requests sent but not measured
	Requests    int           // stop after this many measured requests (0: Duration alone)
	Seed        uint64
	Timeout     time.Duration // per request (10 s)
	Progress    io.Writer     // a line a second; nil is quiet
}

// OpReport is the measurement of one kind of request.
type OpReport struct {
	Requests   int64          `json:"requests"`
	Errors     int64          `json:"errors"`
	Status     map[string]int `json:"status"`
	RPS        float64        `json:"rps"`
	P50ms      float64        `json:"p50_ms"`
	P90ms      float64        `json:"p90_ms"`
	P99ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	MeanMs     float64        `json:"mean_ms"`
	Bytes      int64          `json:"bytes"`
	BytesPerS  float64        `json:"bytes_per_s"`
	ErrSamples []string       `json:"error_samples,omitempty"`
}

// Report is the outcome of a run: totals and, for the mixed scenario, one entry per kind.
type Report struct {
	Scenario    string  `json:"scenario"`
	Target      string  `json:"target"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // open loop: requests per second due
	// Late counts open-loop requests that were due but never sent, because a second of
	// arrivals was already waiting for a free client or because the run ended first: a server
	// slower than the rate shows up here as well as in latency.
	Late     int64                `json:"late,omitempty"`
	Seconds  float64              `json:"seconds"`
	OpReport                      // every measured request
	Ops      map[string]*OpReport `json:"ops,omitempty"`
}

// CheckLoopback parses target and refuses anything but http(s) to 127.0.0.0/8, ::1 or
// localhost: load must never leave the machine.
func CheckLoopback(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--target %q is not a URL like http://127.0.0.1:8080", target)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("--target %q is not a loopback address (127.0.0.0/8, ::1 or localhost): load never leaves this machine", target)
	}
	return u, nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// loopbackDial connects only to loopback addresses, whatever a name resolves to.
func loopbackDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(host, "localhost") {
			host = "127.0.0.1"
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("loadgen: refusing to connect to %s: not a loopback address", addr)
		}
		return d.DialContext(ctx, network, net.JoinHostPort(host, port))
	}
}

// op is one kind of request and its samples, per worker.
type opStats struct {
	lat    []time.Duration
	errs   int64
	status map[int]int
	bytes  int64
	sample []string
}

type worker struct {
	rng   *rand.Rand
	next  map[string]string // token -> max_id of its next home page
	ops   map[string]*opStats
	count int64
}

// Load runs the scenario and returns its report. It stops by itself after Warmup+Duration
// (or Requests measured requests), lets requests in flight finish, and never cancels them
// unless ctx ends.
func Load(ctx context.Context, o LoadOptions) (*Report, error) {
	base, err := CheckLoopback(o.Target)
	if err != nil {
		return nil, err
	}
	switch o.Scenario {
	case ScenarioHome, ScenarioPost, ScenarioMixed:
	default:
		return nil, fmt.Errorf("--scenario %q is not home, post or mixed", o.Scenario)
	}
	if len(o.Tokens) == 0 {
		return nil, errors.New("no tokens: seed with `atrium dev seed` and pass --tokens-file")
	}
	if o.Concurrency < 1 {
		return nil, errors.New("--concurrency must be at least 1")
	}
	if o.Duration <= 0 {
		return nil, errors.New("--duration must be positive: it bounds every run")
	}
	if o.Rate < 0 {
		return nil, errors.New("--rate must not be negative")
	}
	if o.Warmup < 0 || o.Requests < 0 {
		return nil, errors.New("--warmup and --requests must not be negative")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		DialContext:         loopbackDial(&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}),
		Proxy:               nil, // never through a proxy: the target is this machine
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		MaxConnsPerHost:     o.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	home := strings.TrimRight(base.String(), "/") + "/api/v1/timelines/home?limit=20"
	postURL := strings.TrimRight(base.String(), "/") + "/api/v1/statuses"

	start := time.Now()
	measureFrom := start.Add(o.Warmup)
	stopAt := measureFrom.Add(o.Duration)
	var claimed, measured atomic.Int64
	perWorker := 1024
	if o.Requests > 0 {
		perWorker = o.Requests/o.Concurrency + 1
	} else if est := int(o.Duration.Seconds()*20000) / o.Concurrency; est > perWorker {
		perWorker = min(est, 1<<20)
	}
	workers := make([]*worker, o.Concurrency)
	var wg sync.WaitGroup
	progressDone := make(chan struct{})
	if o.Progress != nil {
		go progress(o, start, measureFrom, &measured, progressDone)
	}
	// In the open loop, due carries each request's due time from the scheduler to the
	// clients; its buffer holds a second of arrivals, and what is left in it at the end is late.
	var due chan time.Time
	if o.Rate > 0 {
		due = make(chan time.Time, int(o.Rate)+1)
	}
	for i := range workers {
		w := &worker{rng: rand.New(rand.NewPCG(o.Seed, uint64(i))), next: map[string]string{}, ops: map[string]*opStats{}}
		for _, name := range []string{ScenarioHome, ScenarioPost} {
			w.ops[name] = &opStats{status: map[int]int{}}
		}
		w.ops[opFor(o.Scenario)].lat = make([]time.Duration, 0, perWorker)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				begin := time.Now()
				if due != nil {
					var ok bool
					if begin, ok = <-due; !ok {
						return
					}
				}
				if !time.Now().Before(stopAt) || ctx.Err() != nil {
					return
				}
				measuring := !begin.Before(measureFrom)
				if measuring && o.Requests > 0 && claimed.Add(1) > int64(o.Requests) {
					return
				}
				w.one(ctx, client, o, home, postURL, begin, measuring)
				if measuring {
					measured.Add(1)
				}
			}
		}()
	}
	var late int64
	if due != nil {
		late = schedule(ctx, due, o.Rate, start, stopAt)
	}
	wg.Wait()
	end := time.Now()
	close(progressDone)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := report(o, workers, end.Sub(measureFrom))
	if due != nil {
		// Requests still buffered were due but never sent: the server fell behind the rate.
		r.Rate, r.Late = o.Rate, late+int64(len(due))
	}
	return r, nil
}

// schedule sends the due time of each request of an open loop at rate per second from start
// until stopAt, then closes due. It wakes every millisecond and sends whatever has fallen
// due, each with its exact due time, so timer granularity does not shape the arrivals. When
// every client is busy and the buffer is full, the arrival is counted as late and dropped
// rather than blocking the schedule; it returns that count.
func schedule(ctx context.Context, due chan<- time.Time, rate float64, start, stopAt time.Time) int64 {
	defer close(due)
	interval := time.Duration(float64(time.Second) / rate)
	var sent, late int64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now()
		for next := start.Add(time.Duration(sent) * interval); !next.After(now) && next.Before(stopAt); next = start.Add(time.Duration(sent) * interval) {
			select {
			case due <- next:
			default:
				late++
			}
			sent++
		}
		if !now.Before(stopAt) {
			return late
		}
		select {
		case <-ctx.Done():
			return late
		case <-t.C:
		}
	}
}

func opFor(scenario string) string {
	if scenario == ScenarioPost {
		return ScenarioPost
	}
	return ScenarioHome
}

// one sends one request and records it when measuring, with its latency counted from begin
// (now in the closed loop, the due time in the open loop).
func (w *worker) one(ctx context.Context, c *http.Client, o LoadOptions, home, postURL string, begin time.Time, measuring bool) {
	tok := o.Tokens[w.rng.IntN(len(o.Tokens))]
	kind := opFor(o.Scenario)
	if o.Scenario == ScenarioMixed && w.rng.IntN(10) == 0 {
		kind = ScenarioPost
	}
	var req *http.Request
	if kind == ScenarioHome {
		u := home
		if next, ok := w.next[tok]; ok && w.rng.IntN(5) == 0 {
			u += "&max_id=" + next
		} else {
			delete(w.next, tok)
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	} else {
		vis := "company"
		if w.rng.IntN(10) < 3 {
			vis = "public"
		}
		body, _ := json.Marshal(map[string]string{"status": loadText(w.rng), "visibility": vis})
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, postURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	var n int64
	status := 0
	if err == nil {
		status = resp.StatusCode
		if kind == ScenarioHome && status == http.StatusOK {
			if next := nextMaxID(resp.Header.Get("Link")); next != "" {
				w.next[tok] = next
			}
		}
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	el := time.Since(begin)
	if !measuring || ctx.Err() != nil {
		return
	}
	st := w.ops[kind]
	st.lat = append(st.lat, el)
	st.bytes += n
	st.status[status]++
	if err != nil || status >= 400 {
		st.errs++
		if len(st.sample) < 3 {
			msg := strconv.Itoa(status)
			if err != nil {
				msg = err.Error()
			}
			st.sample = append(st.sample, msg)
		}
	}
}

// nextMaxID reads max_id from the rel="next" part of a Link header.
func nextMaxID(link string) string {
	for _, part := range strings.Split(link, ",") {
		if !strings.Contains(part, `rel="next"`) {
			continue
		}
		_, after, ok := strings.Cut(part, "max_id=")
		if !ok {
			return ""
		}
		if i := strings.IndexAny(after, "&>"); i >= 0 {
			after = after[:i]
		}
		return after
	}
	return ""
}

func progress(o LoadOptions, start, measureFrom time.Time, measured *atomic.Int64, done chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := int64(0), time.Now()
	total := o.Warmup + o.Duration
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			m := measured.Load()
			phase := "measuring"
			if now.Before(measureFrom) {
				phase = "warm-up"
			}
			fmt.Fprintf(o.Progress, "load %s: %3.0fs/%s %s, %s requests measured, %s req/s in the last second\n", o.Scenario,
				now.Sub(start).Seconds(), total, phase, count(m), count(int64(float64(m-last)/now.Sub(lastAt).Seconds())))
			last, lastAt = m, now
		}
	}
}

func report(o LoadOptions, workers []*worker, took time.Duration) *Report {
	r := &Report{Scenario: o.Scenario, Target: o.Target, Concurrency: o.Concurrency, Seconds: took.Seconds(), Ops: map[string]*OpReport{}}
	var all []time.Duration
	allStats := &opStats{status: map[int]int{}}
	for _, kind := range []string{ScenarioHome, ScenarioPost} {
		var lat []time.Duration
		st := &opStats{status: map[int]int{}}
		for _, w := range workers {
			ws := w.ops[kind]
			lat = append(lat, ws.lat...)
			st.errs += ws.errs
			st.bytes += ws.bytes
			for k, v := range ws.status {
				st.status[k] += v
			}
			if len(st.sample) < 3 {
				st.sample = append(st.sample, ws.sample...)
			}
		}
		if len(lat) == 0 {
			continue
		}
		r.Ops[kind] = summarize(lat, st, took)
		all = append(all, lat...)
		allStats.errs += st.errs
		allStats.bytes += st.bytes
		for k, v := range st.status {
			allStats.status[k] += v
		}
		allStats.sample = append(allStats.sample, st.sample...)
	}
	r.OpReport = *summarize(all, allStats, took)
	if o.Scenario != ScenarioMixed {
		r.Ops = nil
	}
	return r
}

func summarize(lat []time.Duration, st *opStats, took time.Duration) *OpReport {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p*float64(len(lat))+0.999999) - 1
		return ms(lat[max(0, min(i, len(lat)-1))])
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	out := &OpReport{Requests: int64(len(lat)), Errors: st.errs, Status: map[string]int{}, Bytes: st.bytes,
		P50ms: pct(.50), P90ms: pct(.90), P99ms: pct(.99), ErrSamples: st.sample}
	for k, v := range st.status {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "transport_error"
		}
		out.Status[name] = v
	}
	if len(lat) > 0 {
		out.MaxMs = ms(lat[len(lat)-1])
		out.MeanMs = ms(sum / time.Duration(len(lat)))
	}
	if s := took.Seconds(); s > 0 {
		out.RPS = float64(len(lat)) / s
		out.BytesPerS = float64(st.bytes) / s
	}
	return out
}

// Summary is the report in one line for people.
func (r *Report) Summary() string {
	clients := fmt.Sprintf("%d clients", r.Concurrency)
	if r.Rate > 0 {
		clients = fmt.Sprintf("open loop at %s req/s (at most %d in flight, %d late)", count(int64(r.Rate)), r.Concurrency, r.Late)
	}
	line := fmt.Sprintf("%s: %s requests in %.1fs with %s: %s req/s, errors %d, p50 %.2fms p90 %.2fms p99 %.2fms max %.2fms, %.1f MB read",
		r.Scenario, count(r.Requests), r.Seconds, clients, count(int64(r.RPS)), r.Errors, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, float64(r.Bytes)/1e6)
	for _, kind := range []string{ScenarioHome, ScenarioPost} {
		if op, ok := r.Ops[kind]; ok {
			line += fmt.Sprintf("; %s %s req/s p50 %.2fms p99 %.2fms errors %d", kind, count(int64(op.RPS)), op.P50ms, op.P99ms, op.Errors)
		}
	}
	if len(r.ErrSamples) > 0 {
		line += "; first errors: " + strings.Join(r.ErrSamples, " | ")
	}
	return line
}

// JSON is the report as one JSON line, for the README's performance section.
func (r *Report) JSON() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ReadTokens reads bearer tokens, one a line; blank lines and lines starting with # are
// skipped.
func ReadTokens(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--tokens-file: %s has no tokens", path)
	}
	return out, nil
}

// WriteTokens writes tokens one a line to path, readable by its owner only. Its directory is
// created if need be (with PostgreSQL nothing else creates the data directory).
func WriteTokens(path string, tokens []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("--tokens-file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("--tokens-file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := io.WriteString(f, strings.Join(tokens, "\n")+"\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
