// Package cache is a small bounded in-process map with a time to live, for the few values
// every request reads (a token's owner, a post shown in every feed). Each node owns its
// caches (several nodes run in one process, so there is no package-level state), and the
// services that own a cache clear its entries when they change what they hold.
package cache

import (
	"sync"
	"time"
)

// TTL maps keys to values that are trusted for a fixed time after they were stored. When it
// is full it drops expired entries first, then arbitrary ones (Go's map order is random,
// which is as good as LRU for a hot set that fits, and costs nothing to keep).
type TTL[V any] struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[string]entry[V]
	// gen counts forgets: a value loaded before a forget must not be stored after it, or a
	// reader that raced a change would put the old value back for a whole TTL.
	gen uint64
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache that holds at most max entries, each for ttl.
func New[V any](ttl time.Duration, max int) *TTL[V] {
	return &TTL[V]{ttl: ttl, max: max, entries: map[string]entry[V]{}}
}

// Get returns the value stored for key if it was stored within the TTL before now.
func (c *TTL[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) > c.ttl || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Generation is read before loading a value that will be Put.
func (c *TTL[V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put stores v for key at now, unless something was forgotten since gen was read (the value
// may predate that change).
func (c *TTL[V]) Put(gen uint64, key string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if now.Sub(e.at) > c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max*3/4 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = entry[V]{v: v, at: now}
}

// Forget drops keys. Call it after the change that outdates them has committed.
func (c *TTL[V]) Forget(keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.entries, k)
	}
	c.gen++
	c.mu.Unlock()
}

// ForgetIf drops every entry whose value matches; it walks the whole cache, so it is for
// rare changes (a person deactivated).
func (c *TTL[V]) ForgetIf(match func(V) bool) {
	c.mu.Lock()
	for k, e := range c.entries {
		if match(e.v) {
			delete(c.entries, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// Len is the number of entries, expired or not.
func (c *TTL[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
