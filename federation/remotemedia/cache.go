package remotemedia

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/outbound"
)

// Kind is the job kind of a fetch.
const Kind = "remote_media"

// Defaults and bounds.
const (
	// DefaultMaxBytes caps a fetched body: above the 8 MiB a person may upload, because a
	// partner's limit may be higher, but far below what would hurt.
	DefaultMaxBytes = 10 << 20
	// DefaultConcurrency is how many fetches run at once per process (all hosts together).
	DefaultConcurrency = 2
	// MaxAttempts is how often a transient failure (5xx, timeout) is tried before the URL is
	// marked failed: with the queue's backoff that spans about a quarter of an hour.
	MaxAttempts = 5
	// MaxURLLen bounds the URLs recorded: the URL is a primary key, and no real media URL
	// comes near it.
	MaxURLLen = 2048
	// keyPrefix starts every key this package makes.
	keyPrefix = "remote/"
)

// The statuses of a row.
const (
	StatusPending = "pending"
	StatusOK      = "ok"
	StatusFailed  = "failed"
)

// Errors, wrapped with the URL or the reason.
var (
	// ErrURL: the URL is not an absolute http(s) URL without userinfo, or is too long.
	ErrURL = errors.New("remotemedia: URL not accepted")
	// ErrNotAllowed: the host (or a redirect's host) is not a partner.
	ErrNotAllowed = errors.New("remotemedia: host not allowed")
	// ErrNotImage: the bytes are not a JPEG, PNG, GIF or WebP image.
	ErrNotImage = errors.New("remotemedia: not an image")
)

// Deps are the cache's collaborators.
type Deps struct {
	DB    *db.DB
	Jobs  *jobs.Queue
	HTTP  *outbound.Client
	Store media.Store
	Clock clock.Clock
	Log   *slog.Logger
	// Allowed is the partner policy for a host ("host" or "host:port"), checked for the URL
	// and for every redirect target at fetch time. nil allows every host.
	Allowed func(ctx context.Context, host string) bool
	// MaxBytes caps a fetched body; <= 0 means DefaultMaxBytes.
	MaxBytes int64
	// Concurrency caps the fetches running at once in this process; <= 0 means
	// DefaultConcurrency. Per host, jobs.Options.PartitionLimit applies as well.
	Concurrency int
}

// Cache queues, fetches and describes remote media.
type Cache struct {
	db       *db.DB
	jobs     *jobs.Queue
	http     *http.Client
	store    media.Store
	clock    clock.Clock
	log      *slog.Logger
	allowed  func(ctx context.Context, host string) bool
	maxBytes int64
}

// New builds the cache and registers its job handler on d.Jobs.
func New(d Deps) *Cache {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{db: d.DB, jobs: d.Jobs, store: d.Store, clock: d.Clock, log: log.With("component", "remotemedia"),
		allowed: d.Allowed, maxBytes: d.MaxBytes}
	if c.allowed == nil {
		c.allowed = func(context.Context, string) bool { return true }
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	// A copy of the outbound client whose redirects must also stay with partners. It keeps
	// the guarded transport and the client's own redirect budget, so URL and address checks
	// still apply to every hop.
	hc := *d.HTTP.HTTP()
	base := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if base != nil {
			if err := base(req, via); err != nil {
				return err
			}
		}
		if !c.allowed(req.Context(), strings.ToLower(req.URL.Host)) {
			return fmt.Errorf("%w: redirect to %s", ErrNotAllowed, req.URL.Host)
		}
		return nil
	}
	c.http = &hc
	n := d.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	d.Jobs.Handle(Kind, c.handle, jobs.MaxAttempts(MaxAttempts), jobs.Concurrency(n))
	return c
}

// Key is the storage key of the copy of rawURL: "remote/" and the URL's SHA-256 in hex,
// split after two digits so that a disk store does not put every file in one directory.
func Key(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	h := hex.EncodeToString(sum[:])
	return keyPrefix + h[:2] + "/" + h[2:]
}

// ThumbKey is the storage key of the thumbnail of rawURL's copy.
func ThumbKey(rawURL string) string { return Key(rawURL) + "-small" }

// IsKey reports whether key names remote media (as opposed to a local upload).
func IsKey(key string) bool { return strings.HasPrefix(key, keyPrefix) }

// Entry is what the cache knows about one remote URL.
type Entry struct {
	bun.BaseModel `bun:"table:remote_media"`
	URL           string     `bun:"url,pk"`
	FileKey       string     `bun:"file_key"`
	ThumbKey      string     `bun:"thumb_key"`
	ContentType   string     `bun:"content_type"` // sniffed and re-encoded; "" until fetched
	SizeBytes     int64      `bun:"size_bytes"`
	Width         int        `bun:"width"`
	Height        int        `bun:"height"`
	Status        string     `bun:"status"` // StatusPending, StatusOK or StatusFailed
	Error         string     `bun:"error"`  // why it failed, or the last transient error
	FetchedAt     *time.Time `bun:"fetched_at"`
	CreatedAt     time.Time  `bun:"created_at"`
}

// checkURL accepts what the fetch could ever accept, so that nothing else is recorded.
func checkURL(rawURL string) (*url.URL, error) {
	if len(rawURL) > MaxURLLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrURL, MaxURLLen)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURL, err)
	}
	if s := strings.ToLower(u.Scheme); (s != "https" && s != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: %s", ErrURL, u.Redacted())
	}
	return u, nil
}

// Queue records rawURL (if new) and enqueues its fetch in tx, so that the fetch is
// committed with the post or account that needs it. It returns the key under which the copy
// will be served. Queueing a URL that is already cached or has failed enqueues nothing;
// queueing one that is pending enqueues at most one job (deduplicated by key). The workers
// are woken after tx commits when tx came from db.Tx, at once otherwise.
func (c *Cache) Queue(ctx context.Context, tx bun.IDB, rawURL string) (string, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return "", err
	}
	e := &Entry{URL: rawURL, FileKey: Key(rawURL), ThumbKey: ThumbKey(rawURL), Status: StatusPending,
		CreatedAt: c.clock.Now().UTC()}
	res, err := tx.NewInsert().Model(e).On("CONFLICT (url) DO NOTHING").Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("remotemedia: queue %s: %w", u.Redacted(), err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		var status string
		if err := tx.NewSelect().Model((*Entry)(nil)).Column("status").Where("url = ?", rawURL).Scan(ctx, &status); err != nil {
			return "", fmt.Errorf("remotemedia: queue %s: %w", u.Redacted(), err)
		}
		if status != StatusPending {
			return e.FileKey, nil
		}
		// Still pending: enqueue again. The dedupe key makes this a no-op while the job is
		// stored, and heals a row whose job was removed by hand.
	}
	err = c.jobs.Enqueue(ctx, tx, Kind, rawURL, jobs.Dedupe(Kind+":"+e.FileKey),
		jobs.Partition("media:"+strings.ToLower(u.Host)))
	if err != nil {
		return "", fmt.Errorf("remotemedia: queue %s: %w", u.Redacted(), err)
	}
	db.AfterCommit(ctx, c.jobs.Wake)
	return e.FileKey, nil
}

// QueueNow is Queue outside any transaction of the caller's (an avatar seen while storing
// an actor).
func (c *Cache) QueueNow(ctx context.Context, rawURL string) (string, error) {
	return c.Queue(ctx, c.db, rawURL)
}

// Lookup returns the entry of rawURL; an error of kind errs.NotFound when it was never queued.
func (c *Cache) Lookup(ctx context.Context, rawURL string) (*Entry, error) {
	e := new(Entry)
	if err := c.db.NewSelect().Model(e).Where("url = ?", rawURL).Scan(ctx); err != nil {
		return nil, db.Err(err, "this remote file is not known here")
	}
	return e, nil
}

// Unready says which of keys name remote media that is not served here (yet): pending, failed
// or unknown. The answer maps each such key to its remote URL ("" when unknown), for a
// placeholder or a link to the origin; local keys and cached copies are absent. Renderers
// call it once per page.
func (c *Cache) Unready(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	var want []string
	for _, k := range keys {
		if IsKey(k) {
			if _, dup := out[k]; !dup {
				want = append(want, k)
			}
			out[k] = ""
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	var rows []Entry
	if err := c.db.NewSelect().Model(&rows).Column("url", "file_key", "status").
		Where("file_key IN (?)", bun.In(want)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("remotemedia: unready: %w", err)
	}
	for _, r := range rows {
		if r.Status == StatusOK {
			delete(out, r.FileKey)
		} else {
			out[r.FileKey] = r.URL
		}
	}
	return out, nil
}
