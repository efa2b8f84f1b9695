package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/outbound"
)

const (
	// acceptAS is what Mastodon sends: both AS2 media types, so servers that only know one of
	// them still answer with JSON instead of their HTML page.
	acceptAS = `application/activity+json, application/ld+json; profile="` + activity.Profile + `"`
	// flightTimeout bounds a shared fetch, which runs detached from its callers' contexts
	// (see fetchDoc). The outbound client's own timeout (15 s by default) normally ends it first.
	flightTimeout = 30 * time.Second
	// drainBytes is how much of an unwanted body is read before closing, so that the keep-alive
	// connection can be reused for small error pages without reading a hostile body.
	drainBytes = 4 << 10
)

// Deps are what a Client needs.
type Deps struct {
	// HTTP is the SSRF-safe client; every request goes through its transport and redirect
	// policy, to which the Client adds its own checks.
	HTTP *outbound.Client
	// Keys holds the instance actor's key pair, which signs every ActivityPub GET.
	Keys *keys.Store
	// BaseURL is this node's base URL ("https://acme.example"); the instance actor is
	// BaseURL+"/actor" and its key BaseURL+"/actor#main-key".
	BaseURL func(ctx context.Context) string
	// Clock dates the signatures; nil means clock.System.
	Clock clock.Clock
	// Log receives debug notes (canonical re-fetches, WebFinger hops); nil discards them.
	// Errors are returned, never logged here.
	Log *slog.Logger
	// Allowed is the partner policy: it gets the lower-case host name (no port) of every URL
	// before anything is sent there, redirect targets included. nil allows every host.
	Allowed func(ctx context.Context, host string) bool
	// Scheme is "https" (default) or "http" for test networks; it builds WebFinger URLs, which
	// are made from a bare host name.
	Scheme string
}

// Client is the node's signed ActivityPub reader. It is safe for concurrent use; concurrent
// fetches of one URL share a single request.
type Client struct {
	d      Deps
	log    *slog.Logger
	scheme string

	mu      sync.Mutex
	flights map[string]*flight // by URL: fetches in progress
}

// flight is one shared fetch. Its results are written before done is closed and never after.
type flight struct {
	done    chan struct{}
	waiters int // callers that joined, for tests
	doc     *activity.Document
	final   *url.URL // the URL that answered, after redirects
	err     error
}

// New builds a Client. HTTP, Keys and BaseURL are required: a node that cannot sign cannot
// read from GoToSocial or secure-mode Mastodon at all, so failing early beats failing later.
func New(d Deps) *Client {
	if d.HTTP == nil || d.Keys == nil || d.BaseURL == nil {
		panic("fetch: New needs Deps.HTTP, Deps.Keys and Deps.BaseURL")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	c := &Client{d: d, log: d.Log, scheme: strings.ToLower(d.Scheme)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.scheme != "http" {
		c.scheme = "https"
	}
	return c
}

// Get fetches rawURL as an ActivityStreams document with a GET signed by the instance actor
// and applies FEDERATION.md §2 to it: the Content-Type is AS2 JSON, the body at most 1 MiB,
// the document's id is rawURL (or, once, a canonical id on the same origin, which is fetched
// and must then carry that id), and the URL that finally answered, after redirects, has the
// id's origin. The returned document's ID() is the id that passed, which is rawURL except
// after a canonical re-fetch.
//
// Hosts refused by Deps.Allowed are never contacted (ErrNotAllowed), redirect targets
// included. 404 and 410 come back as ErrNotFound and ErrGone; the document is returned as
// served, so a Tombstone is the caller's to interpret.
func (c *Client) Get(ctx context.Context, rawURL string) (*activity.Document, error) {
	doc, err := c.get(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	return doc, nil
}

// get is Get without the package prefix on errors, for the other entry points to wrap.
func (c *Client) get(ctx context.Context, rawURL string) (*activity.Document, error) {
	u, err := c.target(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	doc, final, err := c.fetchDoc(ctx, u)
	if err != nil {
		return nil, err
	}
	id := doc.ID()
	if id == "" {
		return nil, fmt.Errorf("GET %s: %w: the document has no id", rawURL, ErrBadDocument)
	}
	if id != rawURL {
		// The canonical re-fetch (Mastodon's fetch_resource): a document may name its own id,
		// e.g. /@alice answering with /users/alice, but the claim only counts when the id's own
		// URL serves it. Cross-origin ids are refused outright: a server speaks only for itself.
		idURL, err := url.Parse(id)
		if err != nil || !sameOrigin(idURL, u) {
			return nil, fmt.Errorf("GET %s: %w: the document's id %q is on another origin", rawURL, ErrOrigin, id)
		}
		c.log.DebugContext(ctx, "fetch: canonical re-fetch", "url", rawURL, "id", id)
		cu, err := c.target(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("GET %s (canonical id): %w", id, err)
		}
		if doc, final, err = c.fetchDoc(ctx, cu); err != nil {
			return nil, err
		}
		if doc.ID() != id {
			return nil, fmt.Errorf("GET %s: %w: canonical re-fetch of %s answered with id %q", rawURL, ErrOrigin, id, doc.ID())
		}
		u = cu
	}
	// After redirects, whoever answered must be the id's origin; otherwise an open redirect on
	// a partner would let any site publish documents in that partner's name (CVE-2024-23832).
	if !sameOrigin(final, u) {
		return nil, fmt.Errorf("GET %s: %w: served from %s after redirects", u, ErrOrigin, final.Redacted())
	}
	return doc, nil
}

// target parses a URL we are about to fetch and applies the partner policy, so that a refused
// host sees no traffic at all. The outbound client checks the scheme again and the address.
func (c *Client) target(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if err := checkHTTPURL(u); err != nil {
		return nil, err
	}
	if err := c.allow(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// checkHTTPURL accepts absolute http(s) URLs with a host and no userinfo.
func checkHTTPURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrBadURL, u.Redacted())
	}
	if u.User != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: %q has userinfo or no host", ErrBadURL, u.Redacted())
	}
	return nil
}

// vouchKey carries a host that may be fetched from although the partner policy does not
// name it (Vouched).
type vouchKey struct{}

// Vouched returns a context in which host (a lower-case name, no port) may be fetched from
// although the partner policy does not name it. It is for one case: a group this node
// belongs to, hosted by a partner, announces a post by a member whose node is no partner of
// this one, and the author's actor (which every node serves to anyone) must be read to show
// who wrote it. The group vouches for that member; nothing else is fetched from the host,
// redirects elsewhere included.
func Vouched(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, vouchKey{}, strings.ToLower(host))
}

// allow applies Deps.Allowed to u's host.
func (c *Client) allow(ctx context.Context, u *url.URL) error {
	if c.d.Allowed == nil {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	if v, _ := ctx.Value(vouchKey{}).(string); v != "" && v == host {
		return nil
	}
	if !c.d.Allowed(ctx, host) {
		return &NotAllowedError{Host: host}
	}
	return nil
}

// fetchDoc is the signed GET of one URL, shared by concurrent callers (single flight): a burst
// of activities from one new actor, or a KeyCache miss racing an Actor lookup, costs the peer
// one request, not one per caller. The shared fetch runs detached from any one caller's
// context (values kept, cancellation not; bounded by flightTimeout), so an impatient caller
// gives up alone instead of failing everyone waiting on the same URL.
//
// Callers must have checked the partner policy for u (target does).
func (c *Client) fetchDoc(ctx context.Context, u *url.URL) (*activity.Document, *url.URL, error) {
	key := u.String()
	c.mu.Lock()
	if c.flights == nil {
		c.flights = make(map[string]*flight)
	}
	f, ok := c.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[key] = f
		go c.fly(context.WithoutCancel(ctx), key, u, f)
	}
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.doc, f.final, f.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("GET %s: %w", key, ctx.Err())
	}
}

// fly runs one shared fetch and publishes its result.
func (c *Client) fly(ctx context.Context, key string, u *url.URL, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, flightTimeout)
	defer cancel()
	doc, final, err := c.signedGet(ctx, u)
	c.mu.Lock()
	delete(c.flights, key) // later callers fetch afresh; this result is not a cache
	f.doc, f.final, f.err = doc, final, err
	c.mu.Unlock()
	close(f.done)
}

// signedGet sends the GET and turns the response into a decoded document, recovering from a
// panic (it runs on its own goroutine, where one would take the node down).
func (c *Client) signedGet(ctx context.Context, u *url.URL) (doc *activity.Document, final *url.URL, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, final, err = nil, nil, fmt.Errorf("GET %s: panic: %v", u.Redacted(), r)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w: %v", u.Redacted(), ErrBadURL, err)
	}
	req.Header.Set("Accept", acceptAS)
	if err := c.sign(req); err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	resp, err := c.httpClient(true).Do(req)
	if err != nil {
		return nil, nil, requestError(u, err)
	}
	final = resp.Request.URL
	if err := checkStatus(resp); err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	if ct := resp.Header.Get("Content-Type"); !activity.IsMediaType(ct, false) {
		discard(resp)
		return nil, nil, fmt.Errorf("GET %s: %w: %w %q", u.Redacted(), ErrBadDocument, ErrContentType, ct)
	}
	body, err := outbound.ReadLimited(resp, activity.MaxDocumentSize)
	if err != nil {
		if errors.Is(err, outbound.ErrTooLarge) || errors.Is(err, outbound.ErrContentEncoding) {
			return nil, nil, fmt.Errorf("GET %s: %w: %w", u.Redacted(), ErrBadDocument, err)
		}
		return nil, nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	doc, err = activity.Decode(body)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w: %w", u.Redacted(), ErrBadDocument, err)
	}
	return doc, final, nil
}

// sign signs req as the instance actor: "(request-target) host date", as Mastodon and
// GoToSocial sign their GETs. Secure-mode Mastodon and every GoToSocial refuse unsigned GETs.
func (c *Client) sign(req *http.Request) error {
	ctx := req.Context()
	pair, err := c.d.Keys.For(ctx, keys.Instance)
	if err != nil {
		return fmt.Errorf("instance key: %w", err)
	}
	keyID := strings.TrimRight(c.d.BaseURL(ctx), "/") + "/actor#main-key"
	return signature.Sign(req, nil, pair.Private, keyID, c.d.Clock.Now())
}

// httpClient is the outbound client with our redirect rules on top of its own (budget, scheme):
// every hop must pass the partner policy before it is contacted, and signed requests are
// signed again for the new target, because (request-target) and host are covered and a
// copied signature would not verify there.
func (c *Client) httpClient(signed bool) *http.Client {
	hc := *c.d.HTTP.HTTP() // a copy: same guarded transport, our own redirect policy
	policy := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if policy != nil {
			if err := policy(req, via); err != nil {
				return err
			}
		}
		if err := c.allow(req.Context(), req.URL); err != nil {
			return err
		}
		if signed {
			return c.sign(req)
		}
		return nil
	}
	return &hc
}

// requestError unwraps net/http's *url.Error (its message repeats the URL) and says where a
// redirect led when the failure happened there.
func requestError(u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.URL != u.String() {
			return fmt.Errorf("GET %s (redirected to %s): %w", u.Redacted(), ue.URL, ue.Err)
		}
		err = ue.Err
	}
	return fmt.Errorf("GET %s: %w", u.Redacted(), err)
}

// checkStatus accepts 200 only and closes the body of anything else.
func checkStatus(resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	discard(resp)
	return &StatusError{Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
}

func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
	resp.Body.Close()
}

// sameOrigin compares scheme, host and port (FEDERATION.md §2), with default ports filled in.
func sameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
