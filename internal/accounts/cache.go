package accounts

import (
	"context"
	"sync"
	"time"
)

// peopleCache keeps recently loaded people for a few seconds. Every timeline page shows the
// authors of its posts, and loading them was the largest single cost of a page; a short TTL
// bounds how stale another process's change can look, and this process's own changes drop
// the entry at once.
type peopleCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[string]cachedUser
}

type cachedUser struct {
	u  User
	at time.Time
}

func newPeopleCache() *peopleCache {
	return &peopleCache{ttl: 5 * time.Second, max: 10_000, entries: map[string]cachedUser{}}
}

func (c *peopleCache) get(id string, now time.Time) (*User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.at) > c.ttl {
		return nil, false
	}
	u := e.u // a copy: callers may change what they get
	u.Skills = append([]string(nil), e.u.Skills...)
	return &u, true
}

func (c *peopleCache) put(u *User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if now.Sub(e.at) > c.ttl {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			c.entries = map[string]cachedUser{} // all fresh: start over rather than grow
		}
	}
	cp := *u
	cp.Skills = append([]string(nil), u.Skills...)
	c.entries[u.ID] = cachedUser{u: cp, at: now}
}

func (c *peopleCache) forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}

// Forget drops a person from the caches after a change made outside this service.
func (s *Service) Forget(_ context.Context, id string) { s.forgetUser(id) }

// tokenCacheTTL bounds how long a token revoked, or a person deactivated, by another process
// keeps working here; this process's own changes apply at once (forgetUser, RevokeToken).
const (
	tokenCacheTTL = 5 * time.Second
	tokenCacheMax = 10_000
)

// tokenOwner is a valid token and its active owner, as TokenUser found them.
type tokenOwner struct {
	token Token
	user  User
}

// forgetUser drops a person and their tokens from the caches. Call it after the change has
// committed (callers defer it).
func (s *Service) forgetUser(id string) {
	s.people.forget(id)
	s.tokens.ForgetIf(func(e tokenOwner) bool { return e.user.ID == id })
}
