package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors. Each is wrapped with the address, URL or limit involved, so test with
// errors.Is and log the full message.
var (
	// ErrBlocked: the destination resolved to an address the node must not reach.
	ErrBlocked = errors.New("outbound: destination address blocked")
	// ErrTooLarge: the response body is over the read limit.
	ErrTooLarge = errors.New("outbound: response body too large")
	// ErrScheme: the URL is not an allowed absolute http(s) URL (wrong scheme, http
	// without AllowInsecureHTTP, userinfo, no host).
	ErrScheme = errors.New("outbound: URL not allowed")
	// ErrTooManyRedirects: more than MaxRedirects redirects were offered.
	ErrTooManyRedirects = errors.New("outbound: too many redirects")
	// ErrContentEncoding: the server sent a Content-Encoding we never asked for.
	ErrContentEncoding = errors.New("outbound: unrequested Content-Encoding")
	// ErrStatus: GetBody got a non-2xx status; the response is returned alongside.
	ErrStatus = errors.New("outbound: unexpected status")
)

// Defaults, from FEDERATION.md §8 (and Mastodon's 1 MB body cap).
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 15 * time.Second
	DefaultMaxRedirects   = 3
	DefaultMaxBodyBytes   = 1 << 20
	DefaultUserAgent      = "Atrium"

	tlsHandshakeTimeout   = 5 * time.Second
	responseHeaderTimeout = 10 * time.Second
	// Headers are tiny in federation traffic; the transport's 10 MB default would let
	// one hostile server pin that much memory per request.
	maxResponseHeaderBytes = 64 << 10
)

// Options configure a client. No package-level state: each node builds its own.
type Options struct {
	// AllowPrivate lists CIDRs that may be reached despite being non-public. For test
	// networks only (e.g. 127.0.0.0/8); production nodes leave it empty.
	AllowPrivate []netip.Prefix
	// AllowInsecureHTTP allows http:// URLs; otherwise only https is fetched.
	AllowInsecureHTTP bool
	// UserAgent is sent when a request has none, e.g.
	// "Atrium/0.1.0 (+https://node.example)". Empty means DefaultUserAgent.
	UserAgent string
	// ConnectTimeout bounds each TCP connect; <= 0 means 5s.
	ConnectTimeout time.Duration
	// Timeout bounds a whole request including redirects and body; <= 0 means 15s.
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed; 0 means 3, negative means none.
	MaxRedirects int
	// MaxBodyBytes caps ReadBody and GetBody; <= 0 means 1 MiB.
	MaxBodyBytes int64
	// Resolver maps a host name to addresses; nil means net.DefaultResolver.LookupNetIP.
	// Tests map names like acme.test to 127.0.0.x.
	Resolver func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Client is an SSRF-safe HTTP client. It is safe for concurrent use.
type Client struct {
	allow        []netip.Prefix
	insecureHTTP bool
	userAgent    string
	maxRedirects int
	maxBody      int64
	resolve      func(ctx context.Context, host string) ([]netip.Addr, error)

	dialer *net.Dialer
	base   *http.Transport
	http   *http.Client
}

// New builds a client from o, filling in defaults.
func New(o Options) *Client {
	c := &Client{
		allow:        append([]netip.Prefix(nil), o.AllowPrivate...),
		insecureHTTP: o.AllowInsecureHTTP,
		userAgent:    o.UserAgent,
		maxRedirects: o.MaxRedirects,
		maxBody:      o.MaxBodyBytes,
		resolve:      o.Resolver,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	switch {
	case c.maxRedirects == 0:
		c.maxRedirects = DefaultMaxRedirects
	case c.maxRedirects < 0:
		c.maxRedirects = 0
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.resolve == nil {
		c.resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	connect := o.ConnectTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	c.dialer = &net.Dialer{
		Timeout:   connect,
		KeepAlive: 30 * time.Second,
		// The authoritative check: it runs on the socket about to connect, after every
		// resolution, so nothing reaches connect(2) with a blocked address however the
		// dial was reached (redirect, rebinding, a future code path that skips dial).
		Control: c.control,
	}
	c.base = &http.Transport{
		// Environment proxies (HTTP_PROXY, HTTPS_PROXY) are deliberately ignored: with a
		// proxy the dialer connects to the proxy, so the address check would judge the
		// proxy's address (often an allowed internal host) and never see the real
		// destination, turning the proxy into an SSRF relay. A deployment that needs an
		// egress proxy must enforce these rules at the proxy (FEDERATION.md §8).
		Proxy:       nil,
		DialContext: c.dialContext,
		// The transport gunzips transparently only when it added Accept-Encoding itself,
		// and then the body cap would apply to inflated bytes. Disabling that keeps the
		// cap on wire bytes; we never ask for an encoding, so none is expected.
		DisableCompression:     true,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ResponseHeaderTimeout:  responseHeaderTimeout,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// Tuned for fan-out: deliveries and fetches touch many hosts a few times each,
		// so keep many idle connections overall but few per host.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	c.http = &http.Client{
		Transport:     &guard{c: c, base: c.base},
		CheckRedirect: c.checkRedirect,
		Timeout:       timeout,
	}
	return c
}

// HTTP returns the underlying client for callers that need to build and sign their own
// requests. It carries every protection: its transport validates URLs and sets the
// User-Agent, its redirect policy is the client's, and its dialer checks addresses.
func (c *Client) HTTP() *http.Client { return c.http }

// CloseIdleConnections closes idle keep-alive connections (shutdown, tests).
func (c *Client) CloseIdleConnections() { c.base.CloseIdleConnections() }

// Do sends req after checking its URL, setting the User-Agent if missing. The caller
// owns the response body; ReadBody reads it with the size cap.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if err := c.checkURL(req.URL); err != nil {
		return nil, err
	}
	return c.http.Do(req)
}

// GetBody fetches rawURL with GET (Accept set when accept is not empty) and reads the
// body with the MaxBodyBytes cap. It never sets Accept-Encoding and refuses responses
// that carry a Content-Encoding anyway (ErrContentEncoding), so a compression bomb is
// never inflated. A non-2xx status returns the response (body already closed) and an
// error wrapping ErrStatus, so callers can still look at resp.StatusCode (e.g. 410).
func (c *Client) GetBody(ctx context.Context, rawURL string, accept string) ([]byte, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrScheme, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, resp, fmt.Errorf("%w: GET %s: %s", ErrStatus, req.URL.Redacted(), resp.Status)
	}
	body, err := c.ReadBody(resp)
	if err != nil {
		return nil, resp, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	return body, resp, nil
}

// ReadBody reads and closes resp.Body with the client's MaxBodyBytes cap.
func (c *Client) ReadBody(resp *http.Response) ([]byte, error) {
	return ReadLimited(resp, c.maxBody)
}

// ReadLimited reads and closes resp.Body, refusing more than limit bytes (ErrTooLarge)
// and any Content-Encoding other than identity (ErrContentEncoding). It exists apart
// from ReadBody for callers with a different budget (media). The Content-Length
// precheck refuses an honest oversized body without reading it; the counted read
// catches a dishonest or absent Content-Length.
func ReadLimited(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	for _, v := range resp.Header.Values("Content-Encoding") {
		for _, enc := range strings.Split(v, ",") {
			enc = strings.TrimSpace(enc)
			if enc != "" && !strings.EqualFold(enc, "identity") {
				return nil, fmt.Errorf("%w: %q", ErrContentEncoding, enc)
			}
		}
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d over %d bytes", ErrTooLarge, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("outbound: reading body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return body, nil
}

// checkURL allows only absolute http(s) URLs without userinfo. Userinfo is refused
// because it is never legitimate in federation and is a classic way to make a URL read
// as one host ("https://trusted.example@evil.test/") while going to another.
func (c *Client) checkURL(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("%w: no URL", ErrScheme)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !c.insecureHTTP {
			return fmt.Errorf("%w: http is not allowed (https only): %s", ErrScheme, u.Redacted())
		}
	default:
		return fmt.Errorf("%w: scheme %q: %s", ErrScheme, u.Scheme, u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("%w: userinfo in URL: %s", ErrScheme, u.Redacted())
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: no host: %s", ErrScheme, u.Redacted())
	}
	return nil
}

// checkRedirect re-validates every redirect target's URL and enforces the budget; the
// target's address is checked by the dialer like any other connection.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.maxRedirects {
		return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, c.maxRedirects)
	}
	return c.checkURL(req.URL)
}

// checkAddr refuses addr unless it is public or inside AllowPrivate.
func (c *Client) checkAddr(addr netip.Addr) error {
	norm := addr.WithZone("").Unmap()
	for _, p := range c.allow {
		if p.Contains(norm) {
			return nil
		}
	}
	if why := classify(addr); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrBlocked, addr, why)
	}
	return nil
}

// control is net.Dialer.Control: address is always a literal ip:port here, the one the
// socket is about to connect to. Anything unparsable is refused (fail closed).
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable dial address %q (%s)", ErrBlocked, address, network)
	}
	return c.checkAddr(ap.Addr())
}

// dialContext resolves the host itself (with the configured Resolver), drops blocked
// addresses before any socket exists, and dials the allowed ones by IP in order. The
// URL's host name is untouched, so the Host header and TLS ServerName stay the name.
func (c *Client) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("outbound: dial %s: %w", address, err)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = c.resolve(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("outbound: resolve %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("outbound: resolve %s: no addresses", host)
		}
	}
	var firstErr error
	for _, a := range addrs {
		if err := c.checkAddr(a); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("outbound: dial %s: %w", host, err)
			}
			continue
		}
		conn, err := c.dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		// A dial error is more useful than an earlier "blocked" for a host that has
		// both kinds of address: it says the public address was tried.
		firstErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// guard wraps the transport so that every request, including those sent through
// HTTP() directly and every redirect hop, has its URL checked and a User-Agent.
type guard struct {
	c    *Client
	base *http.Transport
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.c.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, err
	}
	if req.Header.Get("User-Agent") == "" {
		// A RoundTripper must not modify its request; clone before setting.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", g.c.userAgent)
	}
	return g.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (g *guard) CloseIdleConnections() { g.base.CloseIdleConnections() }
