package fedtest

// BenchmarkInboxP6 reproduces PERFORMANCE.md P6 on loopback: signed Create{Note} activities
// from 50 partner hosts arrive at one node's shared inbox.
//
//	go test ./federation/fedtest -run '^$' -bench 'InboxP6' -benchtime 4000x -count 5
//	ATRIUM_P6_PG=1 go test ...   # also on PostgreSQL (skipped when the server is absent)
//
// One op is one activity. b.N activities are signed before the timer starts (signing is the
// senders' cost), each a distinct Create{Note} of ~500 bytes of HTML with a mention of the
// local person and a hashtag, public, from one of 50 senders on h1.test..h50.test whom the
// local person follows. The senders' actor documents (with their RSA-2048 keys) are served by
// a small loopback server, so the node fetches, checks and caches them for real; a warm-up
// delivery per host fills the key cache and stores the accounts before the timed part.
//
// Two phases are timed, with the node's background workers off during the first:
//
//   - accepted/s: 64 clients POST every activity to the node's real listener (fiber on a TCP
//     socket, as `atrium serve` runs) until each got 202; every signature is verified and
//     every activity is stored with its job before its 202.
//   - applied/s: the node's job workers are started (jobs.Queue.Start, as in production) and
//     the clock runs until every stored activity has its outcome recorded and no inbox job
//     is left.
//
// ns/op is the sum of both phases per activity.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

const (
	p6Hosts   = 50
	p6Clients = 64
)

var (
	p6KeysOnce sync.Once
	p6Keys     []*rsa.PrivateKey
	p6PEMs     []string
)

// p6SenderKeys generates the 50 senders' keys once per process (RSA generation is slow).
func p6SenderKeys(b *testing.B) ([]*rsa.PrivateKey, []string) {
	p6KeysOnce.Do(func() {
		var wg sync.WaitGroup
		p6Keys, p6PEMs = make([]*rsa.PrivateKey, p6Hosts), make([]string, p6Hosts)
		for i := range p6Hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := signature.GenerateKey()
				if err != nil {
					panic(err)
				}
				p6Keys[i] = k
				p6PEMs[i], _ = signature.EncodePublicKeyPEM(&k.PublicKey)
			}()
		}
		wg.Wait()
	})
	return p6Keys, p6PEMs
}

// p6Senders serves the 50 senders' actor documents on one loopback port for every
// hN.test name, and accepts whatever is delivered to their inboxes.
type p6Senders struct {
	srv  *http.Server
	port string
	pems []string
}

func startP6Senders(b *testing.B, pems []string) *p6Senders {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &p6Senders{port: port, pems: pems}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go s.srv.Serve(ln)
	b.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *p6Senders) base(i int) string { return fmt.Sprintf("http://h%d.test:%s", i+1, s.port) }
func (s *p6Senders) actor(i int) string {
	return fmt.Sprintf("%s/users/s%d", s.base(i), i+1)
}

func (s *p6Senders) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var i int
	host, _, _ := strings.Cut(r.Host, ":")
	if _, err := fmt.Sscanf(host, "h%d.test", &i); err != nil || i < 1 || i > len(s.pems) || r.URL.Path != fmt.Sprintf("/users/s%d", i) {
		http.NotFound(w, r)
		return
	}
	i--
	id := s.actor(i)
	doc := map[string]any{
		"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                id,
		"type":              "Person",
		"preferredUsername": fmt.Sprintf("s%d", i+1),
		"name":              fmt.Sprintf("Sender %d", i+1),
		"inbox":             id + "/inbox",
		"outbox":            id + "/outbox",
		"followers":         id + "/followers",
		"endpoints":         map[string]string{"sharedInbox": s.base(i) + "/inbox"},
		"publicKey":         map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": s.pems[i]},
	}
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(doc)
}

// p6Request is one pre-signed delivery.
type p6Request struct {
	body   []byte
	header http.Header
}

// p6Note is ~500 bytes of HTML with a mention and a hashtag, as Mastodon renders them.
func p6Create(s *p6Senders, sender, seq int, aliceURI, aliceURL, tagBase string) []byte {
	actor := s.actor(sender)
	noteID := fmt.Sprintf("%s/statuses/%d", actor, seq)
	content := fmt.Sprintf(`<p><span class="h-card"><a href="%s" class="u-url mention">@<span>alice</span></a></span> `+
		`Quarterly numbers are in: revenue up 12%% on the back of the new partner programme, churn down to 1.8%%. `+
		`Thanks to everyone who helped close the books early this time. Details in the shared drive, and `+
		`we will walk through them on Thursday. <a href="%s/tags/finance" class="mention hashtag" rel="tag">#<span>finance</span></a> `+
		`(update %d from sender %d)</p>`, aliceURL, tagBase, seq, sender+1)
	return []byte(fmt.Sprintf(`{"@context":["https://www.w3.org/ns/activitystreams",{"Hashtag":"as:Hashtag","sensitive":"as:sensitive"}],`+
		`"id":%q,"type":"Create","actor":%q,"published":"2025-03-01T10:00:00Z",`+
		`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[%q,%q],`+
		`"object":{"id":%q,"type":"Note","attributedTo":%q,"published":"2025-03-01T10:00:00Z","sensitive":false,`+
		`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[%q,%q],"content":%q,`+
		`"tag":[{"type":"Mention","href":%q,"name":"@alice@acme.test"},{"type":"Hashtag","href":%q,"name":"#finance"}]}}`,
		noteID+"/activity", actor, actor+"/followers", aliceURI,
		noteID, actor, actor+"/followers", aliceURI, content, aliceURI, tagBase+"/tags/finance"))
}

func p6Sign(b *testing.B, key *rsa.PrivateKey, keyID, host string, body []byte) p6Request {
	req, _ := http.NewRequest("POST", "http://"+host+"/inbox", bytes.NewReader(body))
	req.Host = host
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(req, body, key, keyID, time.Now()); err != nil {
		b.Fatal(err)
	}
	return p6Request{body: body, header: req.Header}
}

// p6Node is a receiving node ready for the benchmark: alice follows the 50 senders, whose
// accounts and keys are known (stored and cached) after a warm-up delivery from each.
type p6Node struct {
	n       *nodetest.Node
	senders *p6Senders
	keys    []*rsa.PrivateKey
	alice   *accounts.User
	target  string // host:port of the fiber listener
	host    string // the node's Host ("acme.test:port")
	seq     int
}

func newP6Node(b *testing.B, dsn string) *p6Node {
	keys, pems := p6SenderKeys(b)
	n := nodetest.Start(b, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true, DB: dsn})
	s := startP6Senders(b, pems)
	ctx := context.Background()
	for i := range p6Hosts {
		if _, err := n.Partners.Add(ctx, orgs.CLIActor(), fmt.Sprintf("h%d.test", i+1), "p6 sender"); err != nil {
			b.Fatal(err)
		}
	}
	alice := n.NewUser(b, "alice").User
	for i := range p6Hosts {
		u, err := n.People.ByURI(ctx, s.actor(i))
		if err != nil {
			b.Fatalf("resolve sender %d: %v", i+1, err)
		}
		if _, err := n.Follows.Follow(ctx, alice.ID, u.ID); err != nil {
			b.Fatal(err)
		}
		if err := n.Follows.Accepted(ctx, alice.ID, u.ID); err != nil {
			b.Fatal(err)
		}
	}
	// The node's own fiber listener, as `atrium serve` runs it (nodetest's httptest server
	// goes through net/http and the fasthttp adaptor).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go n.Server.App.Listener(ln)
	b.Cleanup(func() { n.Server.App.Shutdown() })
	p := &p6Node{n: n, senders: s, keys: keys, alice: alice, target: ln.Addr().String(), host: n.Host()}
	// Warm-up: one delivery per host fills the key cache; the jobs (Follow deliveries, the
	// warm-up activities) run now.
	p.deliverAll(b, p.sign(b, p6Hosts))
	nodetest.Settle(b, n)
	return p
}

func (p *p6Node) sign(b *testing.B, count int) []p6Request {
	ctx := context.Background()
	base := p.n.URL(ctx)
	aliceURI, aliceURL := base+"/users/alice", base+"/@alice"
	reqs := make([]p6Request, count)
	start := p.seq
	p.seq += count
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				sender := (start + i) % p6Hosts
				body := p6Create(p.senders, sender, start+i, aliceURI, aliceURL, p.senders.base(sender))
				reqs[i] = p6Sign(b, p.keys[sender], p.senders.actor(sender)+"#main-key", p.host, body)
			}
		}()
	}
	wg.Wait()
	return reqs
}

// deliverAll POSTs every request with p6Clients concurrent clients; any answer but 202
// fails the benchmark.
func (p *p6Node) deliverAll(b *testing.B, reqs []p6Request) {
	tr := &http.Transport{MaxIdleConnsPerHost: p6Clients, MaxConnsPerHost: p6Clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	url := "http://" + p.target + "/inbox"
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range p6Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) || failed.Load() != nil {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(reqs[i].body))
				req.Header = reqs[i].header.Clone()
				req.Host = p.host
				resp, err := client.Do(req)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failed.Store(fmt.Sprintf("status %d: %s", resp.StatusCode, msg))
					return
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatalf("delivery failed: %v", f)
	}
}

// waitApplied waits until no inbox job is left (finished jobs are deleted, so the probe
// stays cheap), then checks that every stored activity has its outcome recorded.
func (p *p6Node) waitApplied(b *testing.B) {
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		busy, err := p.n.DB.NewSelect().Table("jobs").Where("kind = 'inbox'").Exists(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !busy {
			left, err := p.n.DB.NewSelect().Table("inbox_activities").Where("processed_at IS NULL").Count(ctx)
			if err != nil || left != 0 {
				b.Fatalf("no inbox job left but %d activities without an outcome (%v)", left, err)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatalf("activities still unprocessed after 10 minutes")
}

func BenchmarkInboxP6(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchP6(b, "") })
	if os.Getenv("ATRIUM_P6_PG") != "" {
		b.Run("postgres", func(b *testing.B) {
			if ok, why := pgtest.Available(); !ok {
				b.Skip(why)
			}
			benchP6(b, pgtest.DSN(b))
		})
	}
}

func benchP6(b *testing.B, dsn string) {
	p := newP6Node(b, dsn)
	reqs := p.sign(b, b.N)
	ctx := context.Background()
	before, err := p.n.DB.NewSelect().Table("posts").Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0, c0 := time.Now(), cpuTime()
	p.deliverAll(b, reqs)
	accept, acceptCPU := time.Since(t0), cpuTime()-c0
	wctx, cancel := context.WithCancel(ctx)
	if f := os.Getenv("ATRIUM_P6_APPLY_PROFILE"); f != "" { // a CPU profile of the apply phase only
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err == nil {
			defer pprof.StopCPUProfile()
		}
	}
	t1, c1 := time.Now(), cpuTime()
	p.n.Jobs.Start(wctx)
	p.waitApplied(b)
	apply, applyCPU := time.Since(t1), cpuTime()-c1
	b.StopTimer()
	cancel()
	after, err := p.n.DB.NewSelect().Table("posts").Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if after-before != int64(b.N) {
		var outcomes []string
		p.n.DB.NewSelect().Table("inbox_activities").Column("outcome").Where("outcome <> 'applied'").Limit(3).Scan(ctx, &outcomes)
		b.Fatalf("%d posts stored for %d activities; outcomes: %q", after-before, b.N, outcomes)
	}
	feed, err := p.n.DB.NewSelect().Table("home_feed").Where("account_id = ?", p.alice.ID).Count(ctx)
	if err != nil || feed < int64(b.N) {
		b.Fatalf("alice's feed has %d entries for %d posts (%v)", feed, b.N, err)
	}
	b.ReportMetric(float64(b.N)/accept.Seconds(), "accepted/s")
	b.ReportMetric(float64(b.N)/apply.Seconds(), "applied/s")
	// Cores busy in this process (node and clients) during each phase: 2 is a full machine.
	b.ReportMetric(acceptCPU.Seconds()/accept.Seconds(), "accept-cores")
	b.ReportMetric(applyCPU.Seconds()/apply.Seconds(), "apply-cores")
	// CPU per activity, which other load on a shared machine disturbs less than rates do.
	b.ReportMetric(float64(acceptCPU.Microseconds())/float64(b.N), "accept-cpu-µs/op")
	b.ReportMetric(float64(applyCPU.Microseconds())/float64(b.N), "apply-cpu-µs/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
