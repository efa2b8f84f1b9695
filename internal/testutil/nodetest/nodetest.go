// Package nodetest starts whole Atrium nodes inside a test process (each with its own data
// directory, database and handler) and gives tests a small HTTP client that keeps cookies
// and CSRF tokens like a browser, so tests drive the real routes end to end.
package nodetest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/server"
)

// Mailbox records the e-mails a node sends.
type Mailbox struct {
	mu   sync.Mutex
	Msgs []mail.Message
}

// Send records m.
func (m *Mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Msgs = append(m.Msgs, msg)
	return nil
}

// Last returns the newest message (zero if none).
func (m *Mailbox) Last() mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.Msgs) == 0 {
		return mail.Message{}
	}
	return m.Msgs[len(m.Msgs)-1]
}

// Node is a node under test, served over a real loopback listener.
type Node struct {
	*app.Node
	HTTP *httptest.Server
	Mail *Mailbox
}

// Options tune a test node.
type Options struct {
	DB    string // "" SQLite in a temp dir, or a postgres:// DSN
	Setup bool   // run first-run setup with admin "admin" / "admin password 1"
	// Host makes a federating node named like a real one ("acme.test"): its URL is
	// http://<Host>:<port>, and it reaches every *.test name on 127.0.0.1 over plain HTTP.
	Host string
	// OrgName names the organisation at setup ("Acme" when empty).
	OrgName string
	// Manual leaves background work off: jobs run only when the test calls Settle, so
	// federation tests are deterministic and never sleep.
	Manual bool
	// Serve serves the node with its own server (fasthttp, as `atrium serve` does) instead
	// of net/http's test server: websockets (the streaming API) need it. HTTP then holds
	// only the URL and listener. Background work always runs (Manual does not apply).
	Serve bool
}

// AdminPassword is the password of the admin that Setup creates.
const AdminPassword = "admin password 1"

// Start runs a node until the test ends.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DB = o.DB
	cfg.Argon2MemoryKiB = 1024 // fast hashes in tests; production keeps 64 MiB
	mb := &Mailbox{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// The listener comes first: the node's URL (its identity) is the address it serves on.
	hs := httptest.NewUnstartedServer(nil)
	cfg.SetURLExplicit("http://" + hs.Listener.Addr().String())
	opts := app.Options{Log: log, Mail: mb}
	if o.Host != "" {
		_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
		cfg.SetURLExplicit("http://" + o.Host + ":" + port)
		cfg.AllowInsecureHTTP = true
		cfg.AllowPrivateNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		opts.Resolve = resolveTest
	}
	n, err := app.New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopHTTP := hs.Close
	if o.Serve {
		served := make(chan struct{})
		go func() { defer close(served); _ = n.Serve(ctx, hs.Listener) }()
		hs = &httptest.Server{URL: "http://" + hs.Listener.Addr().String(), Listener: hs.Listener}
		stopHTTP = func() { cancel(); <-served }
	} else {
		hs.Config.Handler = n.Handler()
		hs.Start()
	}
	if !o.Manual && !o.Serve { // Serve starts the background work itself
		n.Start(ctx)
	}
	t.Cleanup(func() { stopHTTP(); cancel(); n.Close() })
	tn := &Node{Node: n, HTTP: hs, Mail: mb}
	if o.Setup {
		org := o.OrgName
		if org == "" {
			org = "Acme"
		}
		_, err := n.Accounts.RunSetup(context.Background(), accounts.Setup{OrgName: org, URL: n.URL(context.Background()),
			Admin: accounts.NewUser{Username: "admin", Email: "admin@" + strings.ToLower(org) + ".example", Password: AdminPassword}}, "test")
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	return tn
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client is a browser-like HTTP client: it keeps cookies and sends the CSRF token.
type Client struct {
	t    testing.TB
	n    *Node
	HTTP *http.Client
}

// Client returns a fresh client with an empty cookie jar that does not follow redirects.
func (n *Node) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, n: n, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// CSRF returns the client's CSRF token, fetching a page first if it has none yet.
func (c *Client) CSRF() string {
	u, _ := url.Parse(c.n.HTTP.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == server.CSRFCookie {
			return ck.Value
		}
	}
	resp, err := c.HTTP.Get(c.n.HTTP.URL + "/healthz")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == server.CSRFCookie {
			return ck.Value
		}
	}
	c.t.Fatal("no CSRF cookie set")
	return ""
}

// Do sends a request and returns the status and body.
func (c *Client) Do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Get fetches a path.
func (c *Client) Get(path string, header ...string) (*http.Response, string) {
	req, _ := http.NewRequest("GET", c.n.HTTP.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.Do(req)
}

// PostForm posts a form with the CSRF token added.
func (c *Client) PostForm(path string, form url.Values) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", c.CSRF())
	}
	req, _ := http.NewRequest("POST", c.n.HTTP.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Login signs the client in through the real form.
func (c *Client) Login(user, password string) {
	c.t.Helper()
	resp, body := c.PostForm("/login", url.Values{"login": {user}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		c.t.Fatalf("login %s: status %d: %s", user, resp.StatusCode, body)
	}
}
