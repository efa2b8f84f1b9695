package delivery

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/outbound"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	signerID = "alice-id"
	actorURI = "https://our.example/users/alice"
	keyID    = actorURI + "#main-key"
)

// testKey is generated once per test binary: RSA generation costs ~100 ms.
var testKey = sync.OnceValues(signature.GenerateKey)

func key(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := testKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// storeKey puts k into actor_keys as ownerID's pair, so keys.Store never generates one.
func storeKey(t testing.TB, d *db.DB, ownerID string, k *rsa.PrivateKey, now time.Time) {
	t.Helper()
	pub, err := signature.EncodePublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := signature.EncodePrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.NewRaw("INSERT INTO actor_keys (owner_id, public_pem, private_pem, created_at) VALUES (?, ?, ?, ?)",
		ownerID, pub, priv, now).Exec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

// testResolver maps every *.test name onto 127.0.0.1, so many "hosts" share one listener
// while the client still treats each name as its own host.
func testResolver(_ context.Context, host string) ([]netip.Addr, error) {
	if strings.HasSuffix(host, ".test") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	if strings.HasSuffix(host, ".private") { // a name pointing into a network we must not reach
		return []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func testClient() *outbound.Client {
	return outbound.New(outbound.Options{
		AllowPrivate:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		AllowInsecureHTTP: true,
		Resolver:          testResolver,
	})
}

// keyResolver hands the verifier our test key for keyID.
type keyResolver struct{ pub *rsa.PublicKey }

func (r keyResolver) ResolveKey(_ context.Context, id string, _ bool) (*signature.PublicKey, error) {
	if id != keyID {
		return nil, fmt.Errorf("unknown key %s", id)
	}
	return &signature.PublicKey{ID: keyID, Owner: actorURI, Key: r.pub}, nil
}

// got is one request a receiver accepted for processing.
type got struct {
	inbox       string // host (without port) + path
	activityID  string
	contentType string
	accept      string
	userAgent   string
}

// receiver is a loopback inbox server for many host names. Each request's signature is
// verified; a host's behaviour decides the answer (202 when none is set).
type receiver struct {
	t        testing.TB
	srv      *httptest.Server
	port     string
	verifier *signature.Verifier

	mu     sync.Mutex
	got    []got
	hits   map[string]int // requests per host name, whatever the answer
	bad    []string       // signature failures
	behave map[string]http.HandlerFunc
}

func newReceiver(t testing.TB, now func() time.Time) *receiver {
	t.Helper()
	r := &receiver{
		t:        t,
		verifier: &signature.Verifier{Resolver: keyResolver{&key(t).PublicKey}, Clock: now},
		hits:     map[string]int{},
		behave:   map[string]http.HandlerFunc{},
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	_, r.port, _ = net.SplitHostPort(r.srv.Listener.Addr().String())
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	name, _, _ := net.SplitHostPort(req.Host)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.hits[name]++
	h := r.behave[name]
	r.mu.Unlock()
	if _, err := r.verifier.Verify(req.Context(), req, body); err != nil {
		r.mu.Lock()
		r.bad = append(r.bad, name+": "+err.Error())
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h != nil {
		h(w, req)
		return
	}
	var a struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &a)
	r.mu.Lock()
	r.got = append(r.got, got{
		inbox: name + req.URL.Path, activityID: a.ID, contentType: req.Header.Get("Content-Type"),
		accept: req.Header.Get("Accept"), userAgent: req.Header.Get("User-Agent"),
	})
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// set makes host name answer with h (nil: accept).
func (r *receiver) set(name string, h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behave[name] = h
}

func (r *receiver) hitsOf(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[name]
}

func (r *receiver) accepted() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Errorf("signature failures: %v", r.bad)
	}
	return append([]got(nil), r.got...)
}

// inbox is the URL of path on host name (a *.test name).
func (r *receiver) inbox(name, path string) string {
	return "http://" + name + ":" + r.port + path
}

// hostKey is the partition key / peer_hosts key of name.
func (r *receiver) hostKey(name string) string { return name + ":" + r.port }

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}
}

// env is one node's delivery service on a fake clock, with a receiver for the peers.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *db.DB
	clock *clock.Fake
	q     *jobs.Queue
	svc   *Service
	recv  *receiver

	mu     sync.Mutex
	denied map[string]bool
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: d, clock: clock.NewFake(t0), denied: map[string]bool{}}
	e.q = jobs.New(d, e.clock, nil, jobs.Options{})
	storeKey(t, d, signerID, key(t), t0)
	hc := testClient()
	t.Cleanup(hc.CloseIdleConnections)
	e.svc = New(Deps{
		DB: d, Jobs: e.q, Keys: &keys.Store{DB: d, Clock: e.clock}, HTTP: hc, Clock: e.clock,
		Allowed: func(_ context.Context, host string) bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			return !e.denied[host]
		},
		UserAgent: "Atrium-test/1",
	})
	// No jitter, so tests can check exact retry times: 30 s, 1 m, 2 m ... capped at 6 h.
	e.svc.backoff = jobs.ExponentialBackoff(30*time.Second, 6*time.Hour)
	e.recv = newReceiver(t, e.clock.Now)
	return e
}

func (e *env) deny(host string, denied bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.denied[host] = denied
}

func testActivity(uri, kind, object string) Activity {
	body := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":%q,"actor":%q,"object":%q}`,
		uri, kind, actorURI, object)
	return Activity{URI: uri, Kind: kind, SignerID: signerID, KeyID: keyID, ObjectURI: object, Body: []byte(body)}
}

// send runs Send in its own transaction.
func (e *env) send(a Activity, inboxes ...string) {
	e.t.Helper()
	err := e.db.Tx(e.ctx, func(ctx context.Context, tx bun.Tx) error {
		return e.svc.Send(ctx, tx, a, inboxes)
	})
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
}

func (e *env) drain() {
	e.t.Helper()
	if err := e.q.Drain(e.ctx); err != nil {
		e.t.Fatalf("drain: %v", err)
	}
}

// jobRow is a delivery job as stored.
type jobRow struct {
	ID        string    `bun:"id"`
	State     string    `bun:"state"`
	Attempts  int       `bun:"attempts"`
	RunAt     time.Time `bun:"run_at"`
	LastError string    `bun:"last_error"`
	Partition string    `bun:"partition_key"`
	Payload   string    `bun:"payload"`
	DedupeKey string    `bun:"dedupe_key"`
}

func (e *env) jobs() []jobRow {
	e.t.Helper()
	var rs []jobRow
	err := e.db.NewSelect().TableExpr("jobs").
		Column("id", "state", "attempts", "run_at", "last_error", "partition_key", "payload", "dedupe_key").
		Where("kind = ?", Kind).OrderExpr("id").Scan(e.ctx, &rs)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range rs {
		rs[i].RunAt = rs[i].RunAt.UTC()
	}
	return rs
}

// jobsOf are the stored delivery jobs to host name.
func (e *env) jobsOf(name string) []jobRow {
	var out []jobRow
	for _, j := range e.jobs() {
		if j.Partition == e.recv.hostKey(name) {
			out = append(out, j)
		}
	}
	return out
}

func (e *env) health(name string) orgs.PeerHealth {
	e.t.Helper()
	h, err := e.svc.Health(e.ctx, []string{e.recv.hostKey(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	return h[e.recv.hostKey(name)]
}

func (e *env) count(table string) int {
	e.t.Helper()
	n, err := e.db.NewSelect().TableExpr(table).Count(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}
