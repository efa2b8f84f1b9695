package mastodon

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/discover"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/filters"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/lists"
	"github.com/atrium-social/atrium/internal/markers"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/push"
	"github.com/atrium-social/atrium/internal/reports"
	"github.com/atrium-social/atrium/internal/server"
)

// Version is the Mastodon API version apps see; they gate features on it.
const Version = "4.3.0 (compatible; Atrium 0.1.0)"

// Deps are what the API needs.
type Deps struct {
	Server   *server.Server
	Accounts *accounts.Service
	Orgs     *orgs.Service
	Posts    *posts.Service
	Follows  *follows.Service
	Notify   *notify.Service
	Reports  *reports.Service
	Previews *previews.Service // nil: no link cards
	// FetchPreviews queues link-preview fetches for a new or edited post (after commit).
	FetchPreviews func(ctx context.Context, p *posts.Post)
	BaseURL       func(ctx context.Context) string
	// ResolveAccount finds user@host on another node (WebFinger, then the actor); nil on a
	// node that does not federate.
	ResolveAccount func(ctx context.Context, acct string) (*accounts.User, error)
	// RemoteMedia says which of the given attachment keys name partners' images not copied
	// here (yet), mapping each to its remote URL ("" when unknown); remotemedia.Cache.Unready
	// fits. nil: every attachment is served from /media.
	RemoteMedia func(ctx context.Context, keys []string) (map[string]string, error)
	Groups      *groups.Service // nil: no groups API
	// ResolveGroup fetches name@host, a group on another node this one does not know yet
	// (lookup with resolve=true); nil: lookups find only known groups.
	ResolveGroup func(ctx context.Context, acct string) (*groups.Group, error)
	Chat         *chat.Service     // nil: no chat API (chats.go, conversations.go)
	OAuth        *oauth.Service    // nil: no app registration or OAuth endpoints (apps.go)
	Markers      *markers.Service  // nil: no markers API (bootstrap.go)
	Lists        *lists.Service    // nil: no lists API (lists.go)
	Filters      *filters.Service  // nil: no filters, mutes or domain blocks (filters.go, mutes.go)
	Discover     *discover.Service // nil: no trends, suggestions, featured tags or endorsements (discover.go)
	Polls        *polls.Service    // nil: no polls or scheduled statuses (polls.go, scheduled.go)
	Push         *push.Service     // nil: no Web Push subscriptions, and no vapid_key (push.go)
	Partners     *orgs.Partners    // nil: /api/v1/instance/peers and domain_blocks list nothing (instance_extra.go)
	// Screens caches what each viewer hides (screencache.go). Share one between Register and
	// NewLive, so a new filter or mute applies to live events at once; nil: each keeps its own.
	Screens *ScreenCache
}

type api struct {
	Deps
	placeholder []byte
	// jsonBufs recycles the buffers statuses are encoded into (writeStatuses): a page is
	// ~45 KB, and allocating one per page fed the garbage collector.
	jsonBufs sync.Pool
	// screens caches what each viewer hides on timelines (screencache.go); Deps.Screens.
	screens *ScreenCache
	// marks caches each viewer's pinned posts and muted threads (statuses_extra.go).
	marks marksCache
	// activity caches the node's weekly activity (instance_extra.go).
	activity activityCache
}

// newAPI is the one way an api is made, so every one has its screen cache.
func newAPI(d Deps) *api {
	a := &api{Deps: d, screens: d.Screens}
	if a.screens == nil {
		a.screens = &ScreenCache{}
	}
	return a
}

// Register mounts the client API routes.
func Register(d Deps) error {
	a := newAPI(d)
	a.placeholder = placeholderPNG()
	app := d.Server.App
	app.Use("/api", a.forgetScreensAfterWrites)
	app.Get("/api/v1/instance", a.instanceV1)
	app.Get("/api/v2/instance", a.instanceV2)
	app.Get("/api/v1/accounts/verify_credentials", server.RequireAnyScope("read:accounts", "profile"), a.verifyCredentials)
	for _, p := range []string{"/avatars/missing.png", "/headers/missing.png"} {
		app.Get(p, a.missingImage)
	}
	a.statusRoutes(app)
	a.timelineRoutes(app)
	a.socialRoutes(app)
	a.moderationRoutes(app)
	a.groupRoutes(app)
	a.chatRoutes(app)
	a.conversationRoutes(app)
	a.oauthRoutes(app)
	a.listRoutes(app)
	a.filterRoutes(app)
	a.muteRoutes(app)
	a.bootstrapRoutes(app)
	a.discoverRoutes(app)
	a.credentialRoutes(app)     // credentials.go
	a.notificationV2Routes(app) // notifications_v2.go
	a.pollRoutes(app)           // polls.go
	a.scheduledRoutes(app)      // scheduled.go
	a.pushRoutes(app)           // push.go
	a.extraRoutes(app)          // tags.go, filters_v1.go, instance_extra.go, accounts_extra.go, statuses_extra.go
	// After the fixed /accounts/... paths (lookup, relationships), which fiber matches first.
	app.Get("/api/v1/accounts/:id", server.RequireScope("read:accounts"), a.getAccount)
	return nil
}

// afterCreate starts the work a new post needs outside the request: link previews.
func (a *api) afterCreate(c *fiber.Ctx, p *posts.Post) {
	if a.FetchPreviews != nil {
		a.FetchPreviews(c.UserContext(), p)
	}
}

// parseTime reads an RFC 3339 time; a zero time when absent or malformed.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func (a *api) verifyCredentials(c *fiber.Ctx) error {
	u, err := a.Accounts.Get(c.UserContext(), server.CurrentUser(c).ID) // with skills
	if err != nil {
		return err
	}
	acc, err := a.accountWithCounts(c.UserContext(), u)
	if err != nil {
		return err
	}
	acc.Source = &Source{Privacy: "private", Language: "en", Note: u.Bio, Fields: acc.Fields}
	role := Role{ID: "0", Name: "", Permissions: "0"}
	if u.IsAdmin() {
		role = Role{ID: "3", Name: "Admin", Permissions: "1", Highlighted: true}
	}
	acc.Role = &role
	return c.JSON(acc)
}

// getAccount shows a colleague. Deactivated people stay visible as suspended (their past
// content still refers to them); unknown ids are 404 with Mastodon's message.
func (a *api) getAccount(c *fiber.Ctx) error {
	u, err := a.Accounts.Lookup(c.UserContext(), c.Params("id"))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return a.accountOrGroup(c, c.Params("id"))
		}
		return err
	}
	acc, err := a.accountWithCounts(c.UserContext(), u)
	if err != nil {
		return err
	}
	if !server.CurrentUser(c).IsAdmin() && server.CurrentUser(c).ID != u.ID {
		acc.Atrium.Phone = "" // phone numbers stay on the directory page, not in app caches
	}
	return c.JSON(acc)
}

func (a *api) missingImage(c *fiber.Ctx) error {
	c.Set("Content-Type", "image/png")
	c.Set("Cache-Control", "public, max-age=86400")
	return c.Send(a.placeholder)
}

// placeholderPNG draws the neutral avatar apps show for people without a picture.
func placeholderPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	bg, fg := color.RGBA{0xd8, 0xdd, 0xe6, 0xff}, color.RGBA{0x9a, 0xa4, 0xb5, 0xff}
	for y := 0; y < 96; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, bg)
			dx, dy := x-48, y-36
			if dx*dx+dy*dy < 16*16 || (y > 58 && (x-48)*(x-48)+(y-96)*(y-96) < 34*34) {
				img.Set(x, y, fg)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
