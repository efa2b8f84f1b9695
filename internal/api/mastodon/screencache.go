package mastodon

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/server"
)

// screenTTL is how long a viewer's screen (filters, mutes, blocked domains, exclusive lists)
// is reused. Building one takes four queries, which on every timeline page cost the home feed
// 40% of its throughput (P3: 8,349 -> 4,954 req/s). A change the viewer makes through this
// process clears their screens at once (forgetScreensAfterWrites); another process sharing
// the database sees it within screenTTL.
const screenTTL = 10 * time.Second

// screenCacheMax bounds the cache: past it, everything is forgotten and rebuilt on demand.
const screenCacheMax = 20000

type cachedScreen struct {
	s  *screen
	at time.Time
}

// ScreenCache holds recent screens by viewer, then by context and whether mutes apply.
// Keyed by viewer first so that forgetting a viewer, which every write through the API
// does, costs one map deletion however many viewers are cached. The zero value is ready;
// the API and the live events (Live) share one, so a change clears both at once.
type ScreenCache struct {
	mu    sync.Mutex
	m     map[string]map[screenKey]cachedScreen
	count int // screens held, for the bound
}

type screenKey struct {
	context   string
	hideMuted bool
}

func (sc *ScreenCache) get(viewer string, k screenKey, now time.Time) *screen {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if e, ok := sc.m[viewer][k]; ok && now.Sub(e.at) < screenTTL {
		return e.s
	}
	return nil
}

func (sc *ScreenCache) put(viewer string, k screenKey, s *screen, now time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil || sc.count >= screenCacheMax {
		sc.m, sc.count = make(map[string]map[screenKey]cachedScreen), 0
	}
	byKey := sc.m[viewer]
	if byKey == nil {
		byKey = make(map[screenKey]cachedScreen, 2)
		sc.m[viewer] = byKey
	}
	if _, ok := byKey[k]; !ok {
		sc.count++
	}
	byKey[k] = cachedScreen{s: s, at: now}
}

// forget drops every screen of viewer.
func (sc *ScreenCache) forget(viewer string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.count -= len(sc.m[viewer])
	delete(sc.m, viewer)
}

// cachedScreenFor is screenFor through the cache. A screen is never changed once built, so
// callers share it.
func (a *api) cachedScreenFor(ctx context.Context, viewerID, context string, hideMuted bool) (*screen, error) {
	k, now := screenKey{context, hideMuted}, time.Now()
	if s := a.screens.get(viewerID, k, now); s != nil {
		return s, nil
	}
	s, err := a.screenFor(ctx, viewerID, context, hideMuted)
	if err != nil {
		return nil, err
	}
	a.screens.put(viewerID, k, s, now)
	return s, nil
}

// forgetScreensAfterWrites clears a person's cached screens after any change they make
// through the API: a new filter, mute, domain block or list applies to the very next page.
// Clearing on every write is blunter than naming the routes that matter, and cannot miss one.
func (a *api) forgetScreensAfterWrites(c *fiber.Ctx) error {
	err := c.Next()
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if u := server.CurrentUser(c); u != nil {
			a.screens.forget(u.ID)
			a.marks.forget(u.ID) // pins and muted threads (statuses_extra.go)
		}
	}
	return err
}
