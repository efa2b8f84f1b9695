package signature

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// KeyCache defaults.
const (
	DefaultKeyTTL          = 24 * time.Hour
	DefaultKeyCacheEntries = 10000
	DefaultRefreshInterval = time.Minute
	DefaultGoneTTL         = 24 * time.Hour
	DefaultFetchTimeout    = 30 * time.Second
)

// KeyCache is a KeyResolver that caches the keys Fetch returns, by keyId.
//
//   - Entries live TTL and at most MaxEntries are kept, least recently used evicted first.
//   - Concurrent lookups of one keyId share a single Fetch (single flight). The fetch runs
//     detached from any one caller's context (bounded by FetchTimeout), so an impatient caller
//     gives up alone instead of failing everyone waiting on the same key.
//   - A refresh (refresh=true, asked by Verify after a failed check) fetches again only when
//     the last fetch of that keyId is at least RefreshInterval old; otherwise it answers from
//     the cache. Anyone can send bad signatures naming any keyId, so without this limit every
//     forged request would cost a fetch from the victim's server.
//   - A fetch error wrapping ErrKeyGone (the key's document answered 410) is remembered for
//     GoneTTL, so deleted actors' traffic does not refetch. Other errors are not cached, and
//     leave an earlier good entry in place: a failing remote must not evict a usable key.
//
// Set the fields before first use and do not change them afterwards. Fetch must do the
// federation-level checks (the key's owner lists this key, same origin; FEDERATION.md §2); the
// cache stores what it returns. Returned *PublicKey values are shared: do not modify them.
type KeyCache struct {
	Fetch           func(ctx context.Context, keyID string) (*PublicKey, error)
	TTL             time.Duration    // 0: DefaultKeyTTL
	MaxEntries      int              // 0: DefaultKeyCacheEntries
	RefreshInterval time.Duration    // 0: DefaultRefreshInterval
	GoneTTL         time.Duration    // 0: DefaultGoneTTL
	FetchTimeout    time.Duration    // 0: DefaultFetchTimeout
	Clock           func() time.Time // nil: time.Now

	mu       sync.Mutex
	entries  map[string]*list.Element // of *cacheEntry
	lru      *list.List               // front = most recently used
	inflight map[string]*fetchCall
}

type cacheEntry struct {
	keyID     string
	key       *PublicKey
	err       error     // non-nil: a remembered ErrKeyGone
	lastFetch time.Time // last fetch attempt, successful or not: drives the refresh limit
	expires   time.Time
}

type fetchCall struct {
	done chan struct{}
	key  *PublicKey
	err  error
}

// ResolveKey implements KeyResolver.
func (c *KeyCache) ResolveKey(ctx context.Context, keyID string, refresh bool) (*PublicKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[string]*list.Element)
		c.lru = list.New()
		c.inflight = make(map[string]*fetchCall)
	}
	now := c.now()
	if el, ok := c.entries[keyID]; ok {
		e := el.Value.(*cacheEntry)
		if now.Before(e.expires) && (!refresh || now.Sub(e.lastFetch) < or(c.RefreshInterval, DefaultRefreshInterval)) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.key, e.err
		}
	}
	call, ok := c.inflight[keyID]
	if !ok {
		call = &fetchCall{done: make(chan struct{})}
		c.inflight[keyID] = call
		go c.fetch(context.WithoutCancel(ctx), keyID, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.key, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Forget drops keyID, for example when an Update of the actor announces a new key.
func (c *KeyCache) Forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[keyID]; ok {
		c.lru.Remove(el)
		delete(c.entries, keyID)
	}
}

// Len reports the number of cached entries (keys and remembered 410s).
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return 0
	}
	return c.lru.Len()
}

func (c *KeyCache) fetch(ctx context.Context, keyID string, call *fetchCall) {
	key, err := c.callFetch(ctx, keyID)
	c.mu.Lock()
	delete(c.inflight, keyID)
	now := c.now()
	switch {
	case err == nil:
		c.store(&cacheEntry{keyID: keyID, key: key, lastFetch: now, expires: now.Add(or(c.TTL, DefaultKeyTTL))})
	case errors.Is(err, ErrKeyGone):
		c.store(&cacheEntry{keyID: keyID, err: err, lastFetch: now, expires: now.Add(or(c.GoneTTL, DefaultGoneTTL))})
	default:
		if el, ok := c.entries[keyID]; ok {
			el.Value.(*cacheEntry).lastFetch = now
		}
	}
	call.key, call.err = key, err
	c.mu.Unlock()
	close(call.done)
}

// callFetch runs Fetch with a deadline, turning a panic into an error: it runs on its own
// goroutine, where a panic would take down the whole node.
func (c *KeyCache) callFetch(ctx context.Context, keyID string) (key *PublicKey, err error) {
	if c.Fetch == nil {
		return nil, errors.New("signature: KeyCache has no Fetch")
	}
	ctx, cancel := context.WithTimeout(ctx, or(c.FetchTimeout, DefaultFetchTimeout))
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, fmt.Errorf("signature: key fetch panicked: %v", r)
		}
	}()
	key, err = c.Fetch(ctx, keyID)
	if err == nil && (key == nil || key.Key == nil) {
		err = errors.New("signature: key fetch returned no key")
	}
	return key, err
}

// store inserts or replaces an entry and evicts from the cold end. Called with mu held.
func (c *KeyCache) store(e *cacheEntry) {
	if el, ok := c.entries[e.keyID]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.keyID] = c.lru.PushFront(e)
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultKeyCacheEntries
	}
	for c.lru.Len() > limit {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).keyID)
	}
}

func (c *KeyCache) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
