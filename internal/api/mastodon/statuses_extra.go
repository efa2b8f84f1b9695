package mastodon

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// extraRoutes mounts the endpoints Mastodon apps call beyond the social core: followed
// hashtags, legacy filters, instance extras, account extras, pins and muted conversations.
// Before /api/v1/accounts/:id, which would otherwise take /accounts/search.
func (a *api) extraRoutes(app *fiber.App) {
	a.tagRoutes(app)           // tags.go
	a.filterV1Routes(app)      // filters_v1.go
	a.instanceExtraRoutes(app) // instance_extra.go
	a.accountExtraRoutes(app)  // accounts_extra.go
	ws := server.RequireScope("write:accounts")
	app.Post("/api/v1/statuses/:id/pin", ws, a.markStatus(func(ctx context.Context, v *posts.Viewer, id string) (*posts.Post, error) {
		return a.Posts.Pin(ctx, v, id)
	}))
	app.Post("/api/v1/statuses/:id/unpin", ws, a.markStatus(func(ctx context.Context, v *posts.Viewer, id string) (*posts.Post, error) {
		return a.Posts.Unpin(ctx, v, id)
	}))
	mute := server.RequireScope("write:mutes")
	app.Post("/api/v1/statuses/:id/mute", mute, a.markStatus(func(ctx context.Context, v *posts.Viewer, id string) (*posts.Post, error) {
		return a.Posts.MuteConversation(ctx, v, id, true)
	}))
	app.Post("/api/v1/statuses/:id/unmute", mute, a.markStatus(func(ctx context.Context, v *posts.Viewer, id string) (*posts.Post, error) {
		return a.Posts.MuteConversation(ctx, v, id, false)
	}))
}

// markStatus wraps pin, unpin, mute and unmute: the service decides (404 for a post the
// viewer may not see, 422 for one they may not pin), and the answer is the status with its
// new pinned or muted field.
func (a *api) markStatus(f func(ctx context.Context, v *posts.Viewer, id string) (*posts.Post, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := server.CurrentUser(c)
		v := posts.ViewerOf(u)
		p, err := f(c.UserContext(), v, c.Params("id"))
		if err != nil {
			return mapNotFound(err)
		}
		a.marks.forget(u.ID) // the answer shows the change
		st, err := a.status(c.UserContext(), v, p)
		if err != nil {
			return err
		}
		return c.JSON(st)
	}
}

// marksTTL is how long a viewer's pins and muted threads are reused, as screens are
// (screenTTL): a change through this process clears them at once.
const marksTTL = screenTTL

// marksCacheMax bounds the cache: past it, everything is forgotten and read again on demand.
const marksCacheMax = 20000

type cachedMarks struct {
	m  posts.Marks
	at time.Time
}

// marksCache holds recent viewers' pins and muted threads (posts.Marks), so that a page of
// statuses gets its pinned and muted fields without a query of its own: one read per viewer
// per marksTTL, whatever they page through.
type marksCache struct {
	mu sync.Mutex
	m  map[string]cachedMarks
}

func (mc *marksCache) get(viewer string, now time.Time) (posts.Marks, bool) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	e, ok := mc.m[viewer]
	return e.m, ok && now.Sub(e.at) < marksTTL
}

func (mc *marksCache) put(viewer string, m posts.Marks, now time.Time) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.m == nil || len(mc.m) >= marksCacheMax {
		mc.m = make(map[string]cachedMarks)
	}
	mc.m[viewer] = cachedMarks{m: m, at: now}
}

func (mc *marksCache) forget(viewer string) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	delete(mc.m, viewer)
}

// marksFor returns the viewer's pins and muted threads through the cache (none for visitors).
// The maps are shared: never change them.
func (a *api) marksFor(ctx context.Context, v *posts.Viewer) (posts.Marks, error) {
	if v == nil {
		return posts.Marks{}, nil
	}
	now := time.Now()
	if m, ok := a.marks.get(v.ID, now); ok {
		return m, nil
	}
	m, err := a.Posts.MarksOf(ctx, v.ID)
	if err != nil {
		return posts.Marks{}, err
	}
	a.marks.put(v.ID, m, now)
	return m, nil
}

// pinnedStatuses is accounts/:id/statuses?pinned=true: the author's pinned posts the viewer
// may see, latest pin first, on the first page only (five at most, so there is no next page).
func (a *api) pinnedStatuses(c *fiber.Ctx, v *posts.Viewer, author *accounts.User, pg posts.Page) ([]*posts.Post, error) {
	if pg.MaxID != "" || pg.MinID != "" || pg.SinceID != "" {
		return []*posts.Post{}, nil
	}
	return a.Posts.Pinned(c.UserContext(), v, author.ID)
}
