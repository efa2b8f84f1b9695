// Package app is the composition root: New(cfg) opens the database, applies migrations,
// builds every service and the HTTP server, and returns a Node. Nothing here is global, so a
// test can run three nodes in one process, each with its own database, keys and handler.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atrium-social/atrium/federation/actors"
	"github.com/atrium-social/atrium/federation/chatfed"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/discovery"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/groupfed"
	"github.com/atrium-social/atrium/federation/inbox"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/outbox"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/api/mastodon"
	"github.com/atrium-social/atrium/internal/api/streaming"
	"github.com/atrium-social/atrium/internal/chat"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/discover"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/filters"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/lists"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/markers"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/oauth"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/push"
	"github.com/atrium-social/atrium/internal/realtime"
	"github.com/atrium-social/atrium/internal/realtime/pgbridge"
	"github.com/atrium-social/atrium/internal/reports"
	"github.com/atrium-social/atrium/internal/server"
	"github.com/atrium-social/atrium/migrations"
	"github.com/atrium-social/atrium/web"
)

// Options carry what tests replace; zero values mean the real thing.
type Options struct {
	Log   *slog.Logger
	Clock clock.Clock
	Mail  mail.Sender
	// Resolve maps host names to addresses for outbound requests (tests and devnet map
	// names like acme.test to 127.0.0.x); nil means DNS and the hosts file.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Node is one running company node.
type Node struct {
	Cfg      config.Config
	Log      *slog.Logger
	Clock    clock.Clock
	DB       *db.DB
	Orgs     *orgs.Service
	Accounts *accounts.Service
	Media    media.Store
	Server   *server.Server
	Posts    *posts.Service
	Groups   *groups.Service
	Follows  *follows.Service
	Notify   *notify.Service
	Reports  *reports.Service
	Previews *previews.Service
	Jobs     *jobs.Queue
	Hub      *realtime.Hub
	// Cluster carries live events between the processes sharing a PostgreSQL database
	// (nil on SQLite, which one process owns).
	Cluster  *realtime.Cluster
	Outbound *outbound.Client
	Mail     mail.Sender
	Keys     *keys.Store
	Markup   *markup.Renderer
	Partners *orgs.Partners
	Fetch    *fetch.Client
	People   *people.Resolver
	Delivery *delivery.Service
	Outbox   *outbox.Outbox
	Inbox    *inbox.Inbox
	GroupFed *groupfed.Fed
	Chat     *chat.Service
	ChatFed  *chatfed.Fed
	// RemoteMedia copies partners' images to this node's media store.
	RemoteMedia *remotemedia.Cache
	// Push sends Web Push notifications to Mastodon apps' and browsers' subscriptions.
	Push *push.Service

	handlerOnce sync.Once
	handler     http.Handler
}

// Open connects to the configured database without migrating (for `atrium migrate status`).
func Open(ctx context.Context, cfg config.Config) (*db.DB, error) {
	return db.Open(ctx, db.Options{DSN: cfg.DB, Path: cfg.SQLitePath()})
}

// New builds a node from cfg: database (migrated), services and routes.
func New(ctx context.Context, cfg config.Config, o Options) (*Node, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("--data-dir (ATRIUM_DATA_DIR): cannot create %s: %w", cfg.DataDir, err)
	}
	d, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if len(applied) > 0 {
		o.Log.Info("database migrated", "applied", strings.Join(applied, ","))
	}
	n := &Node{Cfg: cfg, Log: o.Log, Clock: o.Clock, DB: d}
	if err := n.build(ctx, o); err != nil {
		d.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) build(ctx context.Context, o Options) error {
	n.Orgs = orgs.New(n.DB, n.Clock)
	org, err := n.Orgs.Get(ctx)
	if err != nil {
		return fmt.Errorf("read organisation: %w", err)
	}
	if org.SetupDone && n.Cfg.URLExplicit() && org.URL != n.Cfg.URL {
		return fmt.Errorf("--url (ATRIUM_URL): %s differs from this node's identity %s chosen at setup; start with --url %s or without --url",
			n.Cfg.URL, org.URL, org.URL)
	}
	if o.Mail == nil {
		if n.Cfg.SMTPHost != "" {
			o.Mail = mail.SMTPSender{Host: n.Cfg.SMTPHost, Port: n.Cfg.SMTPPort, User: n.Cfg.SMTPUser,
				Password: n.Cfg.SMTPPassword, From: n.Cfg.SMTPFrom}
		} else {
			o.Mail = mail.LogSender{Log: n.Log}
		}
	}
	n.Mail = o.Mail
	store, err := media.NewDiskStore(filepath.Join(n.Cfg.DataDir, "media"))
	if err != nil {
		return fmt.Errorf("--data-dir (ATRIUM_DATA_DIR): media directory: %w", err)
	}
	n.Media = store
	n.Accounts = accounts.New(accounts.Deps{DB: n.DB, Orgs: n.Orgs, Clock: n.Clock, Log: n.Log, Mail: o.Mail,
		Hasher: accounts.NewHasher(n.Cfg.Argon2MemoryKiB, runtime.NumCPU()), BaseURL: n.URL})
	n.Server = server.New(server.Options{Accounts: n.Accounts, Orgs: n.Orgs, Log: n.Log, BaseURL: n.URL,
		Secure:    func() bool { return strings.HasPrefix(n.URL(context.Background()), "https://") },
		BodyLimit: int(n.Cfg.MaxUploadBytes) + 64<<10})
	n.routes()
	n.Keys = &keys.Store{DB: n.DB, Clock: n.Clock}
	n.buildSocial(o)
	n.buildFederation()
	// Chat reaches people on other nodes when the partner policy allows their node.
	n.Chat = chat.New(chat.Deps{DB: n.DB, Clock: n.Clock, Log: n.Log, Accounts: n.Accounts, Markup: n.Markup, Media: n.Media,
		Hub: n.Hub, BaseURL: n.URL, Reachable: chat.PartnerPolicy(n.Partners.Allowed),
		FetchPreview: func(ctx context.Context, u string) {
			if err := n.Jobs.EnqueueNow(ctx, "link_preview", u, jobs.Dedupe("preview:"+u)); err != nil {
				n.Log.Warn("previews: enqueue", "url", u, "err", err)
			}
		}})
	// Chat across nodes: direct notes to each participant's inbox (federation/chatfed).
	n.ChatFed = chatfed.New(chatfed.Deps{DB: n.DB, Jobs: n.Jobs, Chat: n.Chat, Accounts: n.Accounts, People: n.People,
		Delivery: n.Delivery, Markup: n.Markup, Media: n.RemoteMedia, Clock: n.Clock, Log: n.Log, BaseURL: n.URL})
	n.Chat.AddHook(n.ChatFed)
	n.Inbox.Chats = n.ChatFed
	oa := oauth.New(oauth.Deps{DB: n.DB, Clock: n.Clock, Accounts: n.Accounts}) // apps that sign in (issue 8)
	md := mastodon.Deps{Server: n.Server, Accounts: n.Accounts, Orgs: n.Orgs, Posts: n.Posts, Follows: n.Follows,
		Notify: n.Notify, Reports: n.Reports, Previews: n.Previews, FetchPreviews: n.fetchPreviews, BaseURL: n.URL,
		ResolveAccount: n.People.ByAcct, RemoteMedia: n.RemoteMedia.Unready, Groups: n.Groups,
		ResolveGroup: n.GroupFed.Resolve, Chat: n.Chat, OAuth: oa,
		Markers: &markers.Service{DB: n.DB, Clock: n.Clock},
		Lists:   &lists.Service{DB: n.DB, Clock: n.Clock, Follows: n.Follows, Posts: n.Posts},
		Filters: &filters.Service{DB: n.DB, Clock: n.Clock},
		// Trends, suggestions, featured tags and endorsements (issue 8).
		Discover: &discover.Service{DB: n.DB, Clock: n.Clock, Posts: n.Posts},
		// Polls and scheduled statuses (issue 8); scheduled ones are published by a job.
		Polls: n.newPolls(),
		Push:  n.Push, // Web Push subscriptions (push.go)
		// Partner hosts for /api/v1/instance/peers and domain_blocks, when the node shows them.
		Partners: n.Partners,
		// One cache of what each person hides, so the API and live events agree at once.
		Screens: &mastodon.ScreenCache{}}
	n.Notify.Live = mastodon.NewLive(md, n.Hub, n.Log)
	n.Chat.Render = mastodon.NewChatRenderer(md)
	if err := mastodon.Register(md); err != nil {
		return err
	}
	discovery.Register(discovery.Deps{App: n.Server.App, Accounts: n.Accounts, Orgs: n.Orgs, BaseURL: n.URL, Version: Version,
		Group:     n.GroupFed.WebFinger,
		ShowUsage: func(ctx context.Context) bool { o, err := n.Orgs.Get(ctx); return err == nil && o.PublishUsage },
		LocalPosts: func(ctx context.Context) (int, error) {
			c, err := n.DB.NewSelect().Table("posts").Where("audience = 'public' AND deleted_at IS NULL AND reblog_of_id IS NULL").
				Where("EXISTS (SELECT 1 FROM users u WHERE u.id = posts.author_id)").Count(ctx)
			return int(c), err
		}})
	actors.Register(actors.Deps{App: n.Server.App, Accounts: n.Accounts, Orgs: n.Orgs, Keys: n.Keys, BaseURL: n.URL})
	streaming.Register(streaming.Deps{Server: n.Server, Hub: n.Hub, Log: n.Log})
	mastodon.RegisterFallback(n.Server) // after every /api/ route, before the web's catch-all
	return web.Register(web.Deps{Server: n.Server, Accounts: n.Accounts, Orgs: n.Orgs, Media: n.Media, Log: n.Log,
		DB: n.DB, DefaultURL: n.defaultURL(), MaxUpload: n.Cfg.MaxUploadBytes,
		Posts: n.Posts, Follows: n.Follows, Notify: n.Notify, Previews: n.Previews, FetchPreviews: n.fetchPreviews,
		Partners: n.Partners, Health: n.Delivery.Health, ResolveAccount: n.People.ByAcct, RemoteMedia: n.RemoteMedia.Unready,
		Reports: n.Reports, Groups: n.Groups, ResolveGroup: n.GroupFed.Resolve, Chat: n.Chat, OAuth: oa})
}

// newPolls makes the polls service and registers the job that publishes scheduled statuses
// (through posts.Create, then link previews as the API does).
func (n *Node) newPolls() *polls.Service {
	ps := &polls.Service{DB: n.DB, Clock: n.Clock, Posts: n.Posts, Accounts: n.Accounts, Jobs: n.Jobs, Ended: n.Notify.PollEnded}
	ps.RegisterJobs(n.Jobs, n.fetchPreviews)
	return ps
}

func (n *Node) defaultURL() string {
	if n.Cfg.URL != "" {
		return n.Cfg.URL
	}
	return n.Cfg.DefaultURL()
}

// URL is the node's public base URL: the one fixed at setup, else the configured or derived
// one (before setup).
func (n *Node) URL(ctx context.Context) string {
	if org, err := n.Orgs.Get(ctx); err == nil && org.URL != "" {
		return org.URL
	}
	return n.defaultURL()
}

// buildSocial wires the social core: follows feed the home feed, posts notify, links get
// previews through the job queue and the SSRF-safe client.
func (n *Node) buildSocial(o Options) {
	n.Hub = realtime.NewHub(n.Log)
	if n.DB.Engine == migrations.Postgres {
		// Other `atrium serve` processes may share the database: a post made through one
		// must reach websockets held by another (realtime.Cluster says how). Alone, it
		// sends nothing but a heartbeat.
		n.Cluster = realtime.NewCluster(n.Hub, pgbridge.New(pgbridge.Options{DB: n.DB.DB, Log: n.Log}), n.Log, realtime.ClusterOptions{})
	}
	// Deliveries wait on other servers most of the time, so many run at once (each kind's
	// own Concurrency bounds it; deliveries cap themselves at 64 per CPU); the rest is the
	// node's own work.
	n.Jobs = jobs.New(n.DB, n.Clock, n.Log, jobs.Options{Workers: 64*runtime.NumCPU() + 16})
	n.Outbound = outbound.New(outbound.Options{AllowPrivate: n.Cfg.AllowPrivateNets, AllowInsecureHTTP: n.Cfg.AllowInsecureHTTP,
		UserAgent: "Atrium/" + Version + " (+" + n.defaultURL() + ")", Resolver: o.Resolve})
	n.Previews = previews.New(n.DB, n.Outbound, n.Clock, n.Log)
	n.Follows = &follows.Service{DB: n.DB, Clock: n.Clock}
	host := func() string {
		return strings.TrimPrefix(strings.TrimPrefix(n.URL(context.Background()), "https://"), "http://")
	}
	md := markup.New(markup.Options{LocalHost: host(),
		TagURL: func(tag string) string { return n.URL(context.Background()) + "/tags/" + url.PathEscape(tag) },
		ProfileURL: func(m markup.Mention) string {
			if m.Host == "" || m.Host == host() {
				return n.URL(context.Background()) + "/people/" + m.Username
			}
			return "https://" + m.Host + "/@" + m.Username
		}})
	n.Markup = md
	n.Posts = posts.New(posts.Deps{DB: n.DB, Clock: n.Clock, Log: n.Log, Accounts: n.Accounts, Follows: n.Follows,
		Markup: md, Media: n.Media, Jobs: n.Jobs, BaseURL: n.URL})
	n.Posts.RegisterJobs(n.Jobs, n.Mail)
	n.Groups = groups.New(groups.Deps{DB: n.DB, Clock: n.Clock, Log: n.Log, Accounts: n.Accounts, Posts: n.Posts, BaseURL: n.URL})
	n.Posts.Groups = n.Groups
	n.Accounts.Returned = n.Posts.Regenerate
	n.Notify = &notify.Service{DB: n.DB, Clock: n.Clock, Posts: n.Posts}
	n.Posts.AddHook(n.Notify)
	n.Groups.AddHook(n.Notify)
	n.Notify.GroupCloseFollowers = n.Groups.CloseFollowers
	n.Follows.Hooks = []follows.Hook{n.Posts, n.Notify}
	// Web Push: notifications queue pushes in the transaction that writes them; delivery runs
	// in the job queue through the SSRF-safe client. http:// endpoints only on test networks.
	n.Push = &push.Service{DB: n.DB, Clock: n.Clock, Log: n.Log, Jobs: n.Jobs, HTTP: n.Outbound, Accounts: n.Accounts,
		BaseURL: n.URL, Type: mastodon.NotificationType, AllowHTTP: n.Cfg.AllowInsecureHTTP && len(n.Cfg.AllowPrivateNets) > 0}
	n.Push.RegisterJobs(n.Jobs)
	n.Notify.Push = n.Push
	n.Reports = &reports.Service{DB: n.DB, Clock: n.Clock}
	n.Jobs.Handle("link_preview", func(ctx context.Context, j *jobs.Job) error {
		var u string
		if err := j.Decode(&u); err != nil {
			return jobs.Permanent(err)
		}
		if _, err := n.Previews.Fetch(ctx, u); err != nil {
			if errs.KindOf(err) == errs.Invalid {
				return jobs.Permanent(err)
			}
			return err
		}
		return nil
	}, jobs.Concurrency(2))
}

// fetchPreviews queues a preview fetch for each link of a post (once per URL while queued).
func (n *Node) fetchPreviews(ctx context.Context, p *posts.Post) {
	var links []string
	if err := n.DB.NewSelect().Table("post_links").Column("url").Where("post_id = ?", p.ID).Scan(ctx, &links); err != nil {
		n.Log.Warn("previews: read links", "post", p.ID, "err", err)
		return
	}
	for _, l := range links {
		if err := n.Jobs.EnqueueNow(ctx, "link_preview", l, jobs.Dedupe("preview:"+l)); err != nil {
			n.Log.Warn("previews: enqueue", "url", l, "err", err)
		}
	}
}

// Start runs the node's background work until ctx ends: the job queue, and the periodic
// trim that keeps every home feed at posts.FeedKeep entries.
func (n *Node) Start(ctx context.Context) {
	if n.DB.Engine == migrations.SQLite {
		// One process owns a SQLite node: leases left by a crashed run belong to nobody.
		if freed, err := n.Jobs.ReleaseLeases(ctx); err != nil {
			n.Log.Warn("jobs: release leases of an earlier run", "err", err)
		} else if freed > 0 {
			n.Log.Info("jobs: resumed jobs an earlier run had claimed", "jobs", freed)
		}
	}
	n.Jobs.Start(ctx)
	if n.Cluster != nil {
		go func() { _ = n.Cluster.Run(ctx) }()
	}
	go n.Posts.RunFanOut(ctx)
	go func() {
		t := time.NewTicker(15 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if removed, err := n.Posts.TrimFeeds(ctx); err != nil {
					n.Log.Warn("feed trim failed", "err", err)
				} else if removed > 0 {
					n.Log.Debug("feeds trimmed", "removed", removed)
				}
			}
		}
	}()
}

// routes adds the operational endpoints.
func (n *Node) routes() {
	app := n.Server.App
	app.Get("/healthz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := n.DB.PingContext(ctx); err != nil {
			n.Log.Warn("health check: database unreachable", "err", err)
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "unreachable"})
		}
		return c.JSON(fiber.Map{"status": "ok", "database": "ok"})
	})
	// Mastodon's health check, which apps and libraries call (Mastodon.py's instance_health):
	// "OK" as plain text, on the same database check.
	app.Get("/health", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := n.DB.PingContext(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString("UNAVAILABLE")
		}
		return c.SendString("OK")
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(n.Server.Registry, promhttp.HandlerOpts{})))
}

// Handler exposes the node as a net/http handler, for tests and in-process federation.
func (n *Node) Handler() http.Handler {
	n.handlerOnce.Do(func() { n.handler = adaptor.FiberApp(n.Server.App) })
	return n.handler
}

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully: no new connections,
// requests in flight get up to ShutdownTimeout to finish.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	n.Start(ctx)
	errc := make(chan error, 1)
	go func() { errc <- n.Server.App.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	n.Log.Info("shutting down", "grace", n.Cfg.ShutdownTimeout)
	n.Hub.Close() // open websockets are told to reconnect (1001) instead of timing out
	if err := n.Server.App.ShutdownWithTimeout(n.Cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// Close stops background work and releases the database.
func (n *Node) Close() error {
	n.Jobs.Close()
	n.Hub.Close()
	return n.DB.Close()
}

// Version is the software version the node reports.
const Version = "0.1.0"
