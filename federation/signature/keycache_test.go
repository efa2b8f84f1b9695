package signature

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/clock"
)

// countingFetch returns a Fetch that serves key for every keyId, counting calls.
func countingFetch(t testing.TB, n *atomic.Int32) func(context.Context, string) (*PublicKey, error) {
	a, _ := rsaKeys(t)
	return func(_ context.Context, keyID string) (*PublicKey, error) {
		n.Add(1)
		return &PublicKey{ID: keyID, Owner: strings.TrimSuffix(keyID, "#main-key"), Key: &a.PublicKey}, nil
	}
}

func TestKeyCacheCachesAndExpires(t *testing.T) {
	var n atomic.Int32
	clk := clock.NewFake(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	c := &KeyCache{Fetch: countingFetch(t, &n), Clock: clk.Now}
	ctx := t.Context()
	for range 3 {
		if k, err := c.ResolveKey(ctx, aliceKeyID, false); err != nil || k.ID != aliceKeyID {
			t.Fatal(k, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("%d fetches, want 1", n.Load())
	}
	clk.Advance(DefaultKeyTTL - time.Second)
	_, _ = c.ResolveKey(ctx, aliceKeyID, false)
	if n.Load() != 1 {
		t.Fatal("refetched before the TTL")
	}
	clk.Advance(2 * time.Second)
	_, _ = c.ResolveKey(ctx, aliceKeyID, false)
	if n.Load() != 2 {
		t.Fatalf("%d fetches after the TTL, want 2", n.Load())
	}
}

func TestKeyCacheSingleFlight(t *testing.T) {
	var n atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	inner := countingFetch(t, &n)
	c := &KeyCache{Fetch: func(ctx context.Context, id string) (*PublicKey, error) {
		close(started)
		<-release
		return inner(ctx, id)
	}}
	var wg, entered sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Add(1)
		entered.Add(1)
		go func() {
			defer wg.Done()
			entered.Done()
			if _, err := c.ResolveKey(context.Background(), aliceKeyID, false); err != nil {
				errs <- err
			}
		}()
	}
	<-started
	entered.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Fatalf("100 concurrent lookups made %d fetches, want 1", n.Load())
	}
}

func TestKeyCacheRefreshRateLimit(t *testing.T) {
	var n atomic.Int32
	clk := clock.NewFake(time.Now())
	c := &KeyCache{Fetch: countingFetch(t, &n), Clock: clk.Now}
	ctx := t.Context()
	_, _ = c.ResolveKey(ctx, aliceKeyID, false)
	for range 5 { // a stream of bad signatures naming the key
		if _, err := c.ResolveKey(ctx, aliceKeyID, true); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("%d fetches within a minute, want 1", n.Load())
	}
	clk.Advance(DefaultRefreshInterval)
	_, _ = c.ResolveKey(ctx, aliceKeyID, true)
	_, _ = c.ResolveKey(ctx, aliceKeyID, true)
	if n.Load() != 2 {
		t.Fatalf("%d fetches after a minute, want 2", n.Load())
	}
}

func TestKeyCacheGoneAndErrors(t *testing.T) {
	var n atomic.Int32
	clk := clock.NewFake(time.Now())
	fail := errors.New("connection refused")
	var result error = fmt.Errorf("fetch key: %w", ErrKeyGone)
	c := &KeyCache{Clock: clk.Now, GoneTTL: time.Hour, Fetch: func(context.Context, string) (*PublicKey, error) {
		n.Add(1)
		return nil, result
	}}
	ctx := t.Context()
	for range 3 {
		if _, err := c.ResolveKey(ctx, aliceKeyID, false); !errors.Is(err, ErrKeyGone) {
			t.Fatalf("error %v, want ErrKeyGone", err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("410 not remembered: %d fetches", n.Load())
	}
	clk.Advance(time.Hour)
	result = fail
	for range 2 { // ordinary failures are not cached
		if _, err := c.ResolveKey(ctx, aliceKeyID, false); !errors.Is(err, fail) {
			t.Fatalf("error %v", err)
		}
	}
	if n.Load() != 3 {
		t.Fatalf("%d fetches, want 3", n.Load())
	}
}

// A failed refresh must not evict a good key: the next plain lookup still has it.
func TestKeyCacheFailedRefreshKeepsKey(t *testing.T) {
	clk := clock.NewFake(time.Now())
	a, _ := rsaKeys(t)
	var down atomic.Bool
	c := &KeyCache{Clock: clk.Now, Fetch: func(_ context.Context, id string) (*PublicKey, error) {
		if down.Load() {
			return nil, errors.New("503")
		}
		return &PublicKey{ID: id, Key: &a.PublicKey}, nil
	}}
	_, _ = c.ResolveKey(t.Context(), aliceKeyID, false)
	down.Store(true)
	clk.Advance(2 * time.Minute)
	if _, err := c.ResolveKey(t.Context(), aliceKeyID, true); err == nil {
		t.Fatal("refresh against a down host succeeded")
	}
	if k, err := c.ResolveKey(t.Context(), aliceKeyID, false); err != nil || k == nil {
		t.Fatalf("good key lost: %v", err)
	}
}

func TestKeyCacheBoundedLRU(t *testing.T) {
	var n atomic.Int32
	c := &KeyCache{Fetch: countingFetch(t, &n), MaxEntries: 3}
	ctx := t.Context()
	for i := range 4 {
		_, _ = c.ResolveKey(ctx, fmt.Sprintf("https://h.example/u/%d#main-key", i), false)
		_, _ = c.ResolveKey(ctx, "https://h.example/u/0#main-key", false) // keep 0 hot
	}
	if c.Len() != 3 {
		t.Fatalf("Len %d, want 3", c.Len())
	}
	before := n.Load()
	_, _ = c.ResolveKey(ctx, "https://h.example/u/0#main-key", false)
	if n.Load() != before {
		t.Fatal("hot entry was evicted")
	}
	_, _ = c.ResolveKey(ctx, "https://h.example/u/1#main-key", false)
	if n.Load() != before+1 {
		t.Fatal("coldest entry was not evicted")
	}
	c.Forget("https://h.example/u/0#main-key")
	_, _ = c.ResolveKey(ctx, "https://h.example/u/0#main-key", false)
	if n.Load() != before+2 {
		t.Fatal("Forget did not drop the entry")
	}
}

// One caller giving up must not fail the others waiting on the same fetch; a panicking
// fetcher becomes an error instead of killing the process.
func TestKeyCacheCancelAndPanic(t *testing.T) {
	release := make(chan struct{})
	a, _ := rsaKeys(t)
	c := &KeyCache{Fetch: func(ctx context.Context, id string) (*PublicKey, error) {
		if strings.Contains(id, "panic") {
			panic("boom")
		}
		<-release
		return &PublicKey{ID: id, Key: &a.PublicKey}, ctx.Err()
	}}
	impatient, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.ResolveKey(context.Background(), aliceKeyID, false); done <- err }()
	go cancel()
	if _, err := c.ResolveKey(impatient, aliceKeyID, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("impatient caller: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("patient caller: %v", err)
	}
	if _, err := c.ResolveKey(t.Context(), "https://h.example/panic", false); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("panic: %v", err)
	}
}

// A small fediverse on a real server: a Mastodon-style actor with "#main-key", a
// GoToSocial-style key stub at ".../main-key", and a deleted actor answering 410.
func TestKeyIDFormsOverHTTP(t *testing.T) {
	a, _ := rsaKeys(t)
	pemA, _ := EncodePublicKeyPEM(&a.PublicKey)
	var fetches atomic.Int32
	var base string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		switch r.URL.Path {
		case "/users/alice":
			writeKeyDoc(w, base+"/users/alice", base+"/users/alice#main-key", pemA)
		case "/users/gts/main-key":
			writeKeyDoc(w, base+"/users/gts", base+"/users/gts/main-key", pemA)
		case "/users/gone":
			w.WriteHeader(http.StatusGone)
		default:
			http.NotFound(w, r)
		}
	}))
	defer remote.Close()
	base = remote.URL
	cache := &KeyCache{Fetch: fetchKeyDoc(remote.Client())}
	v := &Verifier{Resolver: cache}
	in := newInbox(t, v)
	for _, keyID := range []string{base + "/users/alice#main-key", base + "/users/gts/main-key"} {
		for range 2 {
			req := newRequest(t, http.MethodPost, in.srv.URL+"/inbox", note)
			if err := Sign(req, note, a, keyID, time.Now()); err != nil {
				t.Fatal(err)
			}
			got, err := in.do(t, req)
			if err != nil {
				t.Fatalf("%s: %v", keyID, err)
			}
			if !strings.HasPrefix(keyID, got.Owner) {
				t.Fatalf("%s: owner %s", keyID, got.Owner)
			}
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches, want one per key", fetches.Load())
	}
	req := newRequest(t, http.MethodPost, in.srv.URL+"/inbox", note)
	_ = Sign(req, note, a, base+"/users/gone#main-key", time.Now())
	_, err := in.do(t, req)
	wantKind(t, err, ErrKeyUnavailable)
	if !errors.Is(err, ErrKeyGone) {
		t.Fatalf("410 not visible through the error: %v", err)
	}
	// Forged signatures naming alice's key: one verification failure may refresh, but the
	// cache was filled under a minute ago, so the victim's server sees no extra fetch.
	_, b := rsaKeys(t)
	before := fetches.Load()
	for range 5 {
		req := newRequest(t, http.MethodPost, in.srv.URL+"/inbox", note)
		_ = Sign(req, note, b, base+"/users/alice#main-key", time.Now())
		_, err := in.do(t, req)
		wantKind(t, err, ErrBadSignature)
	}
	if fetches.Load() != before {
		t.Fatalf("forged requests caused %d refetches", fetches.Load()-before)
	}
}

func writeKeyDoc(w http.ResponseWriter, owner, keyID, pemKey string) {
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": owner, "type": "Person",
		"publicKey": map[string]string{"id": keyID, "owner": owner, "publicKeyPem": pemKey},
	})
}

// fetchKeyDoc is a minimal test fetcher. The real one (federation layer) also signs the GET,
// guards against SSRF and does the two-way owner check.
func fetchKeyDoc(client *http.Client) func(context.Context, string) (*PublicKey, error) {
	return func(ctx context.Context, keyID string) (*PublicKey, error) {
		u, _, _ := strings.Cut(keyID, "#")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusGone {
			return nil, fmt.Errorf("fetch %s: %w", u, ErrKeyGone)
		}
		var doc struct {
			PublicKey struct{ ID, Owner, PublicKeyPem string } `json:"publicKey"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return nil, err
		}
		if doc.PublicKey.ID != keyID {
			return nil, fmt.Errorf("document names key %q", doc.PublicKey.ID)
		}
		key, err := ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
		if err != nil {
			return nil, err
		}
		return &PublicKey{ID: keyID, Owner: doc.PublicKey.Owner, Key: key}, nil
	}
}
