package posts

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/cache"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
)

// Limits of what a post may hold; the Mastodon instance endpoint reports the same numbers.
const (
	MaxChars       = 5000
	MaxAttachments = 4
	MaxRecipients  = 100
)

// Hook receives the core's events inside the transaction that caused them (notifications,
// live updates, federation). Implementations must only write, never call back into posts.
type Hook interface {
	PostCreated(ctx context.Context, tx bun.IDB, p *Post, parent *Post, mentioned []string) error
	PostEdited(ctx context.Context, tx bun.IDB, p *Post) error
	PostDeleted(ctx context.Context, tx bun.IDB, p *Post) error
	Reacted(ctx context.Context, tx bun.IDB, p *Post, accountID, emoji string) error
	Boosted(ctx context.Context, tx bun.IDB, original, share *Post) error
	// FannedOut reports posts the background writer has just put into followers' feeds.
	FannedOut(ctx context.Context, tx bun.IDB, ps []*Post) error
}

// Deps are the service's collaborators.
type Deps struct {
	DB       *db.DB
	Clock    clock.Clock
	Log      *slog.Logger
	Accounts *accounts.Service
	Follows  *follows.Service
	Markup   *markup.Renderer
	Media    media.Store
	Jobs     *jobs.Queue // for announcement e-mails; nil disables them
	// BaseURL is the node's public URL; post URIs are built from it.
	BaseURL func(ctx context.Context) string
	// Groups answers the group rules (nil: no groups; group posts are the author's alone).
	Groups GroupAccess
}

// Service is the social core.
type Service struct {
	Deps
	hooks      []Hook
	uploads    chan struct{}
	fanoutWake chan struct{}
	// postCache holds hydrated posts by id, reactionCache reaction counts by emoji by post
	// id (cache.go).
	postCache     *cache.TTL[Post]
	reactionCache *cache.TTL[map[string]int]
	// regenerating holds the ids of the people whose feeds Regenerate is rebuilding now.
	regenerating sync.Map
}

// New makes the service.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = clock.System{} // the caches need a clock even where nothing else does
	}
	return &Service{Deps: d, uploads: make(chan struct{}, 2), fanoutWake: make(chan struct{}, 1),
		postCache: cache.New[Post](postCacheTTL, postCacheMax), reactionCache: cache.New[map[string]int](reactionCacheTTL, postCacheMax)}
}

// AddHook registers a listener for the core's events.
func (s *Service) AddHook(h Hook) { s.hooks = append(s.hooks, h) }

// load fetches a post by id, deleted or not.
func (s *Service) load(ctx context.Context, tx bun.IDB, id string) (*Post, error) {
	p := new(Post)
	if err := tx.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "this post does not exist or you cannot see it")
	}
	return p, nil
}

// root returns the post whose audience governs p: the thread root for comments, the
// original for shares.
func (s *Service) root(ctx context.Context, tx bun.IDB, p *Post) (*Post, error) {
	if p.ReblogOfID != nil {
		return s.load(ctx, tx, *p.ReblogOfID)
	}
	if p.ThreadID != p.ID {
		return s.load(ctx, tx, p.ThreadID)
	}
	return p, nil
}

// notFound is the one answer for posts a viewer may not see, so a 404 never confirms that
// a hidden post exists.
func notFound() error { return errs.E(errs.NotFound, "this post does not exist or you cannot see it") }

// visible loads a post the viewer may see, or returns notFound.
func (s *Service) visible(ctx context.Context, tx bun.IDB, v *Viewer, id string) (*Post, error) {
	p, err := s.load(ctx, tx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	if p.DeletedAt != nil {
		return nil, notFound()
	}
	r, err := s.root(ctx, tx, p)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	ok, err := s.CanSee(ctx, tx, v, r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound()
	}
	return p, nil
}

// Get returns a post the viewer may see, with its attachments, tags and mentions.
func (s *Service) Get(ctx context.Context, v *Viewer, id string) (*Post, error) {
	p, err := s.visible(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	if err := s.hydrate(ctx, []*Post{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// hydrate loads attachments, tags and mentions of posts in three queries.
func (s *Service) hydrate(ctx context.Context, ps []*Post) error { return s.hydrateIn(ctx, s.DB, ps) }

// hydrateIn is hydrate through idb: inside a transaction, pass the transaction, so that it
// never waits for a second pooled connection while holding one (on PostgreSQL, transactions
// doing that can take every connection and wait for each other for ever).
func (s *Service) hydrateIn(ctx context.Context, idb bun.IDB, ps []*Post) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]string, len(ps))
	idx := make(map[string]*Post, len(ps))
	for i, p := range ps {
		ids[i], idx[p.ID] = p.ID, p
		p.Attachments, p.Tags, p.Mentions = nil, nil, nil
	}
	var atts []Attachment
	if err := idb.NewSelect().Model(&atts).Where("post_id IN (?)", bun.In(ids)).Order("position").Scan(ctx); err != nil {
		return err
	}
	for _, a := range atts {
		idx[*a.PostID].Attachments = append(idx[*a.PostID].Attachments, a)
	}
	var tags []postTag
	if err := idb.NewSelect().Model(&tags).Where("post_id IN (?)", bun.In(ids)).Order("tag").Scan(ctx); err != nil {
		return err
	}
	for _, t := range tags {
		idx[t.PostID].Tags = append(idx[t.PostID].Tags, t.Tag)
	}
	var rs []Recipient
	if err := idb.NewSelect().Model(&rs).Where("post_id IN (?) AND mentioned", bun.In(ids)).Scan(ctx); err != nil {
		return err
	}
	for _, r := range rs {
		idx[r.PostID].Mentions = append(idx[r.PostID].Mentions, r)
	}
	return nil
}

// LocalAcct reports whether acct (user or user@host) names someone on this node.
func LocalAcct(acct, localHost string) (string, bool) {
	user, host, found := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
	if !found || strings.EqualFold(host, localHost) {
		return user, true
	}
	return "", false
}
