package fetch_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

// ourBase is the node under test. Nothing serves it: peers know its key from the test.
const ourBase = "http://atrium.test"

// denied is the partner policy of the node under test: everyone but Globex.
const denied = "globex.test"

// node is the Atrium node doing the fetching.
type node struct {
	c     *fetch.Client
	keyID string
	pub   crypto.PublicKey
}

// newNode builds a Client the way the app does, on a test network: the real outbound client
// (loopback allowed, http allowed, *.test resolved to 127.0.0.1) and a real key store on a
// temporary SQLite database.
func newNode(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	store := &keys.Store{DB: dbtest.Open(t, "sqlite"), Clock: clock.System{}}
	pair, err := store.For(ctx, keys.Instance)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signature.ParsePublicKeyPEM(pair.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	httpc := outbound.New(outbound.Options{
		AllowPrivate:      []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		AllowInsecureHTTP: true,
		Resolver: func(_ context.Context, host string) ([]netip.Addr, error) {
			if strings.HasSuffix(host, ".test") {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			return nil, fmt.Errorf("no such test host %q", host)
		},
	})
	t.Cleanup(httpc.CloseIdleConnections)
	c := fetch.New(fetch.Deps{
		HTTP:    httpc,
		Keys:    store,
		BaseURL: func(context.Context) string { return ourBase },
		Clock:   clock.System{},
		Allowed: func(_ context.Context, host string) bool { return host != denied },
		Scheme:  "http",
	})
	return &node{c: c, keyID: ourBase + "/actor#main-key", pub: pub}
}

// peer is a remote server (Mastodon, GoToSocial, Globex...) on 127.0.0.1. Like GoToSocial and
// secure-mode Mastodon it answers every ActivityPub request with 401 unless the request is
// signed by a key it can resolve; WebFinger is public.
type peer struct {
	t        *testing.T
	name     string // "mastodon.test"
	host     string // "mastodon.test:PORT"
	base     string // "http://mastodon.test:PORT"
	verifier *signature.Verifier

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	fingers  map[string]string // WebFinger resource -> JRD
	hits     map[string]int    // by path
	total    int
	signedBy []string // keyIds of verified requests
	headers  []string // signed headers of the last verified request
	accept   string   // Accept of the last request
}

// staticKey is the peer's view of our instance key: it already knows it (a real peer would
// fetch our unsigned /actor).
type staticKey struct{ pk *signature.PublicKey }

func (s staticKey) ResolveKey(_ context.Context, keyID string, _ bool) (*signature.PublicKey, error) {
	if keyID != s.pk.ID {
		return nil, fmt.Errorf("unknown key %s", keyID)
	}
	return s.pk, nil
}

func newPeer(t *testing.T, n *node, name string) *peer {
	t.Helper()
	p := &peer{t: t, name: name, routes: map[string]http.HandlerFunc{}, fingers: map[string]string{}, hits: map[string]int{},
		verifier: &signature.Verifier{Resolver: staticKey{&signature.PublicKey{ID: n.keyID, Owner: ourBase + "/actor", Key: n.pub}}}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p.host = name + ":" + port
	p.base = "http://" + p.host
	return p
}

func (p *peer) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hits[r.URL.Path]++
	p.total++
	p.accept = r.Header.Get("Accept")
	h := p.routes[r.URL.Path]
	p.mu.Unlock()
	if r.URL.Path == "/.well-known/webfinger" {
		p.mu.Lock()
		jrd, ok := p.fingers[r.URL.Query().Get("resource")]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
		_, _ = w.Write([]byte(jrd))
		return
	}
	v, err := p.verifier.Verify(r.Context(), r, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		p.t.Errorf("%s: %s %s: our signature was refused: %v", p.name, r.Method, r.URL, err)
		return
	}
	p.mu.Lock()
	p.signedBy = append(p.signedBy, v.KeyID)
	p.headers = v.Headers
	p.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

// handle serves path with h.
func (p *peer) handle(path string, h http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[path] = h
}

// doc serves body at path as application/activity+json, like Mastodon and GoToSocial.
func (p *peer) doc(path, body string) {
	p.handle(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json; charset=utf-8")
		_, _ = w.Write([]byte(body))
	})
}

// finger answers WebFinger for acct:user@host with subject and an ActivityPub self link.
func (p *peer) finger(acct, subject, self string) {
	jrd, _ := json.Marshal(map[string]any{
		"subject": "acct:" + subject,
		"aliases": []string{self},
		"links": []map[string]string{
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": self},
			{"rel": "self", "type": "application/activity+json", "href": self},
		},
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fingers["acct:"+acct] = string(jrd)
}

func (p *peer) hitsOf(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func (p *peer) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// fixture reads a recorded document from federation/activity/testdata and moves it from
// its recorded origin to the peer.
func (p *peer) fixture(name, recordedOrigin string) string {
	p.t.Helper()
	b, err := os.ReadFile("../activity/testdata/" + name)
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), recordedOrigin, p.base)
}

// mastodonAlice is Mastodon's recorded alice on this peer, at /users/alice.
func (p *peer) mastodonAlice() string {
	return p.fixture("mastodon_person.json", "https://mastodon.example")
}

// gtsBob is GoToSocial's recorded bob on this peer, at /users/bob (keyId /users/bob/main-key).
func (p *peer) gtsBob() string { return p.fixture("gts_person.json", "https://gts.example") }

// edit decodes a JSON document, lets f change it and encodes it again.
func edit(t *testing.T, doc string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stubOf is what GoToSocial serves at a keyId (AccountToASMinimal): the actor's id, type,
// preferredUsername and publicKey, nothing else.
func stubOf(t *testing.T, actor string) string {
	return edit(t, actor, func(m map[string]any) {
		for k := range m {
			switch k {
			case "@context", "id", "type", "preferredUsername", "publicKey":
			default:
				delete(m, k)
			}
		}
	})
}

// wantErr fails unless err wraps every one of targets.
func wantErr(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("error %q does not wrap %q", err, target)
		}
	}
}
