package web

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/reports"
	"github.com/atrium-social/atrium/internal/server"
)

// Deps are what the pages need.
type Deps struct {
	Server     *server.Server
	Accounts   *accounts.Service
	Orgs       *orgs.Service
	Media      media.Store
	Log        *slog.Logger
	DB         bun.IDB // for the audit log list (audit.List) and the settings transaction
	DefaultURL string  // prefill for the setup wizard's public URL
	MaxUpload  int64   // largest avatar upload in bytes

	// The social core: posts, follows and notifications are required; without Previews
	// posts show no link cards, and without FetchPreviews none are fetched for new posts.
	Posts   *posts.Service
	Follows *follows.Service
	// Reports backs Admin → Reports (nil: no such page).
	Reports *reports.Service
	// Groups backs the group pages (nil: the node shows no groups).
	Groups *groups.Service
	// Chat backs the chat pages and the navigation's chat entry (nil: the node shows no chat).
	Chat *chat.Service
	// ResolveGroup fetches name@host, a group on a partner node this one does not know yet,
	// for the directory's search (nil: the search finds only groups known here).
	ResolveGroup func(ctx context.Context, acct string) (*groups.Group, error)
	// ResolveAccount finds user@host on a partner node (nil when the node does not federate).
	ResolveAccount func(ctx context.Context, acct string) (*accounts.User, error)
	Notify         *notify.Service
	Previews       *previews.Service
	OAuth          *oauth.Service // nil: no consent page or Settings → Authorised apps (oauth.go)
	FetchPreviews  func(ctx context.Context, p *posts.Post)

	// Partners is the partner policy behind /admin/partners. Without it the page is not
	// registered (a node that does not federate has nothing to show there).
	Partners *orgs.Partners
	// Health reports delivery health for the given partner hosts, as the federation delivery
	// worker records it; hosts it has never dealt with may be absent or zero-valued. Without
	// it every partner shows "no deliveries yet".
	Health func(ctx context.Context, hosts []string) (map[string]orgs.PeerHealth, error)
	// RemoteMedia says which of the given attachment keys name partners' images not copied
	// here (yet), mapping each to its remote URL ("" when unknown); remotemedia.Cache.Unready
	// fits. Those are drawn as a link to their origin instead of a broken picture. Without
	// it every attachment is drawn from /media.
	RemoteMedia func(ctx context.Context, keys []string) (map[string]string, error)
}

// site is the browser app: its dependencies plus what Register prepares once (parsed
// templates, asset versions). Handlers are its methods, so nothing lives in package state
// and several nodes can run in one process.
type site struct {
	Deps
	pages  *pageSet
	assets map[string]asset
}

// Register parses the templates, installs the error page on the server and adds every page
// route. It must be the last to register routes on the app: it ends with a catch-all that
// answers 404 for anything not matched before it.
func Register(d Deps) error {
	if d.Server == nil || d.Accounts == nil || d.Orgs == nil || d.Media == nil || d.DB == nil {
		return errors.New("web: Register needs Server, Accounts, Orgs, Media and DB")
	}
	if d.Posts == nil || d.Follows == nil || d.Notify == nil {
		return errors.New("web: Register needs Posts, Follows and Notify")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.MaxUpload <= 0 {
		d.MaxUpload = media.DefaultLimits().MaxBytes
	}
	s := &site{Deps: d}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return err
	}
	if s.pages, err = s.parseTemplates(); err != nil {
		return err
	}
	d.Server.RenderError = s.renderError
	s.routes(d.Server.App)
	return nil
}

func (s *site) routes(app *fiber.App) {
	user, admin := server.RequireUser, server.RequireAdmin

	app.Get("/static/:name", s.static)
	app.Get("/media/*", s.media)

	app.Get("/", s.home)
	app.Get("/setup", s.setupPage)
	app.Post("/setup", s.setup)
	app.Get("/login", s.loginPage)
	app.Post("/login", s.login)
	app.Post("/logout", s.logout)
	app.Get("/signup", s.signupPage)
	app.Post("/signup", s.signup)
	app.Get("/forgot", s.forgotPage)
	app.Post("/forgot", s.forgot)
	app.Get("/reset", s.resetPage)
	app.Post("/reset", s.reset)

	// The social core. Every action is a plain form post that redirects back, and answers
	// with the re-rendered card instead when the page's script sent it (X-Requested-With).
	app.Post("/posts", user, s.compose)
	app.Get("/company", user, s.company)
	app.Get("/tags/:tag", user, s.tag)
	app.Post("/tags/:tag/follow", user, s.followTag)
	app.Post("/tags/:tag/unfollow", user, s.followTag)
	app.Get("/bookmarks", user, s.bookmarks)
	app.Get("/notifications", user, s.notifications)
	app.Get("/feed/more", user, s.feedMore)
	app.Get("/posts/:id", user, s.postPage)
	app.Get("/posts/:id/card", user, s.card)
	app.Get("/posts/:id/history", user, s.history)
	app.Get("/posts/:id/reactions", user, s.reactions)
	app.Get("/posts/:id/receipts", user, s.receipts)
	app.Get("/posts/:id/edit", user, s.editPage)
	app.Post("/posts/:id/edit", user, s.edit)
	app.Post("/posts/:id/delete", user, s.deletePost)
	app.Post("/posts/:id/react", user, s.react)
	app.Post("/posts/:id/unreact", user, s.unreact)
	app.Post("/posts/:id/comment", user, s.comment)
	app.Post("/posts/:id/share", user, s.share)
	app.Post("/posts/:id/unshare", user, s.unshare)
	app.Post("/posts/:id/bookmark", user, s.bookmark)
	app.Post("/posts/:id/unbookmark", user, s.unbookmark)
	app.Post("/posts/:id/read", user, s.markRead)

	app.Get("/people", user, s.directory)
	app.Get("/people/:username", user, s.profile)
	app.Post("/people/:username/follow", user, s.follow)
	app.Post("/people/:username/unfollow", user, s.unfollow)
	app.Post("/people/:username/notify", user, s.setNotify)
	app.Post("/people/:username/block", user, s.block)
	app.Post("/people/:username/unblock", user, s.unblock)
	if s.Groups != nil {
		s.groupRoutes(app, user)
	}
	if s.Chat != nil {
		s.chatRoutes(app, user)
	}

	app.Get("/orgchart", user, s.orgchart)
	app.Get("/orgchart/:username", user, s.chart)

	app.Get("/settings", user, func(c *fiber.Ctx) error { return c.Redirect("/settings/profile", fiber.StatusSeeOther) })
	app.Get("/settings/profile", user, s.profileSettingsPage)
	app.Post("/settings/profile", user, s.saveProfile)
	app.Post("/settings/avatar", user, s.uploadAvatar)
	app.Post("/settings/header", user, s.uploadHeader)
	app.Post("/settings/header/remove", user, s.removeHeader)
	app.Get("/settings/password", user, s.passwordPage)
	app.Post("/settings/password", user, s.changePassword)
	app.Get("/settings/tokens", user, s.tokensPage)
	app.Post("/settings/tokens", user, s.createToken)
	app.Post("/settings/tokens/:id/revoke", user, s.revokeToken)
	s.oauthRoutes(app)

	// The guard sits on each route rather than on a group prefix, so it can never be
	// bypassed by a path that merely starts with the same letters.
	app.Get("/admin", admin, s.adminHome)
	app.Get("/admin/users", admin, s.adminUsers)
	app.Post("/admin/users", admin, s.adminCreateUser)
	app.Post("/admin/users/:id/role", admin, s.adminSetRole)
	app.Post("/admin/users/:id/active", admin, s.adminSetActive)
	app.Get("/admin/invitations", admin, s.adminInvitations)
	app.Post("/admin/invitations", admin, s.adminInvite)
	app.Post("/admin/invitations/:id/revoke", admin, s.adminRevokeInvitation)
	app.Get("/admin/settings", admin, s.adminSettingsPage)
	app.Post("/admin/settings", admin, s.adminSaveSettings)
	app.Get("/admin/audit", admin, s.adminAudit)
	if s.Partners != nil {
		app.Get("/admin/partners", admin, s.adminPartners)
		app.Post("/admin/partners", admin, s.adminChangePartner)
		app.Post("/admin/partners/remove", admin, s.adminRemovePartner)
	}
	if s.Reports != nil {
		app.Get("/admin/reports", admin, s.adminReports)
	}

	// Last: whatever no route above matched is a 404 page (or JSON for API paths, through
	// the server's error mapping).
	app.Use(func(c *fiber.Ctx) error {
		return errs.E(errs.NotFound, "there is no page at this address")
	})
}
