package previews

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/cache"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/outbound"
)

// Preview statuses, as stored in link_previews.status.
const (
	StatusOK    = "ok"    // something usable was found; shown with posts
	StatusNone  = "none"  // the page answered but offers nothing to show
	StatusError = "error" // the fetch failed; retried after ErrorTTL
)

// How long a stored result is trusted before Fetch asks the site again. Failures expire
// sooner because they are often transient (a deploy, a rate limit), while a page's title
// rarely changes within a day.
const (
	OKTTL    = 24 * time.Hour // for StatusOK and StatusNone
	ErrorTTL = time.Hour      // for StatusError
)

// accept asks for HTML only; servers that negotiate (APIs, some CDNs) then do not send JSON.
const accept = "text/html,application/xhtml+xml"

// Preview is a link's preview card, one row of link_previews. URL is the link exactly as
// the post stored it (the key post_links joins on), not the final URL after redirects.
type Preview struct {
	bun.BaseModel `bun:"table:link_previews" json:"-"`

	URL         string    `bun:"url,pk" json:"url"`
	Status      string    `bun:"status" json:"status"`
	Title       string    `bun:"title" json:"title"`
	Description string    `bun:"description" json:"description"`
	ImageURL    string    `bun:"image_url" json:"image_url"`
	SiteName    string    `bun:"site_name" json:"site_name"`
	FetchedAt   time.Time `bun:"fetched_at" json:"fetched_at"`
}

// fresh reports whether p is recent enough at now that the site need not be asked again.
func (p *Preview) fresh(now time.Time) bool {
	ttl := OKTTL
	switch p.Status {
	case StatusOK, StatusNone:
	case StatusError:
		ttl = ErrorTTL
	default:
		return false // a status this version does not know: refetch rather than trust it
	}
	return now.Sub(p.FetchedAt) < ttl
}

// Service fetches and serves link previews.
type Service struct {
	db     *db.DB
	client *outbound.Client
	clock  clock.Clock
	log    *slog.Logger
	// byPost caches ForPosts' answer per post (nil: no card) for cardCacheTTL: every feed
	// page asks for the cards of the same posts. Storing a preview in this process clears it
	// (a new card shows at once); another process's fetch shows within the TTL.
	byPost *cache.TTL[*Preview]
}

// Bounds of the per-post card cache.
const (
	cardCacheTTL = 10 * time.Second
	cardCacheMax = 8192
)

// New returns a service that fetches through client (which must be the node's SSRF-safe
// client) and stores in d. A nil log discards.
func New(d *db.DB, client *outbound.Client, c clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: d, client: client, clock: c, log: log, byPost: cache.New[*Preview](cardCacheTTL, cardCacheMax)}
}

// Fetch fetches and stores the preview of one URL; a background job calls it after a post
// with links is committed. It is idempotent: a URL whose stored result is within its TTL
// (OKTTL, or ErrorTTL after a failure) is not fetched again and the stored row is returned.
//
// A failed fetch (network error, refused address, non-2xx status, unreadable body) is not
// an error of Fetch: it is stored as StatusError and returned with a nil error, since
// retrying the job before ErrorTTL would only read that row back. The exception is a
// refresh of a URL whose stored preview is StatusOK: that preview is kept and returned, so
// one bad minute at the remote site does not strip the card from every older post linking
// it. Fetch returns an error for a URL that is not a previewable http(s) link (errs.Invalid;
// retrying cannot help), when ctx ends during the fetch (nothing is stored, so the retry
// really fetches), and for database failures.
func (s *Service) Fetch(ctx context.Context, rawURL string) (*Preview, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	stored := new(Preview)
	switch err := s.db.NewSelect().Model(stored).Where("url = ?", rawURL).Scan(ctx); {
	case db.IsNotFound(err):
		stored = nil
	case err != nil:
		return nil, fmt.Errorf("previews: load %s: %w", u.Redacted(), err)
	default:
		stored.FetchedAt = stored.FetchedAt.UTC()
		if stored.fresh(s.clock.Now()) {
			return stored, nil
		}
	}

	p, ferr := s.download(ctx, rawURL)
	if ferr != nil {
		if cerr := ctx.Err(); cerr != nil {
			// Our own deadline or shutdown, not the site's fault: storing "error" would
			// suppress the retry for an hour.
			return nil, fmt.Errorf("previews: fetch %s: %w", u.Redacted(), cerr)
		}
		s.log.Info("link preview fetch failed", "url", u.Redacted(), "err", ferr)
		if stored != nil && stored.Status == StatusOK {
			return stored, nil
		}
		p = &Preview{URL: rawURL, Status: StatusError}
	}
	// Microseconds are all PostgreSQL keeps; truncating here makes the returned value
	// equal to what a later read gives back, on both engines.
	p.FetchedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
	if err := s.store(ctx, p); err != nil {
		return nil, fmt.Errorf("previews: store %s: %w", u.Redacted(), err)
	}
	return p, nil
}

// checkURL accepts the absolute http(s) URLs that can be fetched and stored. The outbound
// client re-checks (and checks every redirect); this early check exists so a bad link is
// reported as Invalid, which the job turns into a permanent failure, instead of being
// stored as a retryable "error" row.
func checkURL(rawURL string) (*url.URL, error) {
	if rawURL == "" || len(rawURL) > MaxURLBytes {
		return nil, errs.E(errs.Invalid, "link is empty or longer than %d bytes", MaxURLBytes)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "link is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errs.E(errs.Invalid, "only http(s) links without credentials have previews")
	}
	return u, nil
}

// download performs the request and parses the page. The returned preview has no
// FetchedAt; an error means the fetch failed.
func (s *Service) download(ctx context.Context, rawURL string) (*Preview, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", outbound.ErrScheme, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%w: %s", outbound.ErrStatus, resp.Status)
	}
	if !isHTML(resp.Header.Get("Content-Type")) {
		// Not read at all: a link to a video or an archive must not cost its download.
		return &Preview{URL: rawURL, Status: StatusNone}, nil
	}
	// Unlike other callers of ReadLimited we want a big page cut, not refused: the head is
	// at the start. So the body is pre-limited (and the honest Content-Length hidden from
	// the precheck), which leaves ReadLimited its other job, refusing a Content-Encoding.
	capped := *resp
	capped.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, MaxPageBytes), resp.Body}
	capped.ContentLength = -1
	body, err := outbound.ReadLimited(&capped, MaxPageBytes)
	if err != nil {
		return nil, err
	}
	// resp.Request is the last request of the redirect chain: relative URLs in the page
	// are relative to where it was actually served from.
	p := Parse(resp.Request.URL.String(), body)
	p.URL = rawURL
	return &p, nil
}

// isHTML reports whether a Content-Type header names an HTML document.
func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Tolerate junk parameters ("text/html; charset") but not a junk type.
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// store upserts p. ON CONFLICT ... DO UPDATE is spelled the same on SQLite and PostgreSQL,
// and makes concurrent fetches of one URL (two posts linking it at once) both succeed.
func (s *Service) store(ctx context.Context, p *Preview) error {
	_, err := s.db.NewInsert().Model(p).
		On("CONFLICT (url) DO UPDATE").
		Set("status = EXCLUDED.status").
		Set("title = EXCLUDED.title").
		Set("description = EXCLUDED.description").
		Set("image_url = EXCLUDED.image_url").
		Set("site_name = EXCLUDED.site_name").
		Set("fetched_at = EXCLUDED.fetched_at").
		Exec(ctx)
	// Any post may link the URL and the cache does not know which: fetches are rare next to
	// reads, so they clear it all, after the write.
	s.byPost.ForgetIf(func(*Preview) bool { return true })
	return err
}

// linkRow is one (post, previewed link) pair read by ForPosts.
type linkRow struct {
	PostID      string    `bun:"post_id"`
	URL         string    `bun:"url"`
	Status      string    `bun:"status"`
	Title       string    `bun:"title"`
	Description string    `bun:"description"`
	ImageURL    string    `bun:"image_url"`
	SiteName    string    `bun:"site_name"`
	FetchedAt   time.Time `bun:"fetched_at"`
}

// ForPosts returns the stored previews for posts: post id -> the preview of the post's
// first link that has one with StatusOK. Posts without such a link are absent from the
// map. It never fetches; links not yet fetched simply have no preview yet.
//
// post_links keeps no order, so "first" is recovered from the post's source: the link
// that appears earliest in it wins (links not found there, e.g. written differently, come
// last, then ties go by URL so the answer is stable). That costs a second query, made only
// when some post has more than one previewed link.
func (s *Service) ForPosts(ctx context.Context, postIDs []string) (map[string]*Preview, error) {
	out := map[string]*Preview{}
	ids := make([]string, 0, len(postIDs))
	seen := map[string]bool{}
	now := s.clock.Now()
	for _, id := range postIDs {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if p, ok := s.byPost.Get(id, now); ok {
			if p != nil {
				cp := *p // a copy: callers may change what they get
				out[id] = &cp
			}
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return out, nil
	}
	gen := s.byPost.Generation()
	loaded, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		p := loaded[id]
		s.byPost.Put(gen, id, p, now)
		if p != nil {
			cp := *p
			out[id] = &cp
		}
	}
	return out, nil
}

// load reads the previews of posts from the database, for ForPosts.
func (s *Service) load(ctx context.Context, ids []string) (map[string]*Preview, error) {
	out := map[string]*Preview{}

	var rows []linkRow
	err := s.db.NewSelect().
		TableExpr("post_links AS pl").
		Join("JOIN link_previews AS lp ON lp.url = pl.url").
		ColumnExpr("pl.post_id, lp.url, lp.status, lp.title, lp.description, lp.image_url, lp.site_name, lp.fetched_at").
		Where("pl.post_id IN (?)", bun.In(ids)).
		Where("lp.status = ?", StatusOK).
		OrderExpr("pl.post_id ASC, lp.url ASC").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("previews: load previews of %d posts: %w", len(ids), err)
	}

	byPost := map[string][]linkRow{}
	var several []string
	for _, r := range rows {
		byPost[r.PostID] = append(byPost[r.PostID], r)
		if len(byPost[r.PostID]) == 2 {
			several = append(several, r.PostID)
		}
	}

	source := map[string]string{}
	if len(several) > 0 {
		var posts []struct {
			ID     string `bun:"id"`
			Source string `bun:"source"`
		}
		err := s.db.NewSelect().TableExpr("posts").ColumnExpr("id, source").
			Where("id IN (?)", bun.In(several)).Scan(ctx, &posts)
		if err != nil {
			return nil, fmt.Errorf("previews: load sources of %d posts: %w", len(several), err)
		}
		for _, p := range posts {
			source[p.ID] = p.Source
		}
	}

	for id, rs := range byPost {
		best, bestAt := rs[0], math.MaxInt
		if len(rs) > 1 {
			src := source[id]
			for _, r := range rs { // already in URL order, so ties keep the smaller URL
				at := strings.Index(src, r.URL)
				if at < 0 {
					at = math.MaxInt - 1
				}
				if at < bestAt {
					best, bestAt = r, at
				}
			}
		}
		out[id] = &Preview{
			URL: best.URL, Status: best.Status, Title: best.Title, Description: best.Description,
			ImageURL: best.ImageURL, SiteName: best.SiteName, FetchedAt: best.FetchedAt.UTC(),
		}
	}
	return out, nil
}
