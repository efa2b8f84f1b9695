package web

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/server"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

const (
	testHost      = "http://atrium.test"
	adminPassword = "admin password 1"
	memberPass    = "member password 1"
)

// mailbox records what the node sends.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

// env is a whole browser stack on a fresh SQLite database, driven through app.Test.
type env struct {
	t        *testing.T
	app      *fiber.App
	accounts *accounts.Service
	orgs     *orgs.Service
	store    *media.DiskStore
	mail     *mailbox
	partners *orgs.Partners
	// health answers the partners page's delivery-health lookups; nil means no worker.
	health func(ctx context.Context, hosts []string) (map[string]orgs.PeerHealth, error)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := dbtest.Open(t, "sqlite")
	clk := clock.System{}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := orgs.New(d, clk)
	baseURL := func(ctx context.Context) string {
		if org, err := o.Get(ctx); err == nil && org.URL != "" {
			return org.URL
		}
		return testHost
	}
	mb := &mailbox{}
	acc := accounts.New(accounts.Deps{DB: d, Orgs: o, Clock: clk, Log: log, Mail: mb,
		Hasher: accounts.NewHasher(1024, 2), BaseURL: baseURL})
	srv := server.New(server.Options{Accounts: acc, Orgs: o, Log: log, BaseURL: baseURL,
		Secure: func() bool { return false }, BodyLimit: 10 << 20})
	store, err := media.NewDiskStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The social core wired as app.go wires it (without the live hub: these tests drive pages
	// through app.Test; web_test's tests run the whole node for the live parts).
	fol := &follows.Service{DB: d, Clock: clk}
	md := markup.New(markup.Options{LocalHost: "atrium.test",
		TagURL:     func(tag string) string { return testHost + "/tags/" + url.PathEscape(tag) },
		ProfileURL: func(m markup.Mention) string { return testHost + "/people/" + m.Username }})
	ps := posts.New(posts.Deps{DB: d, Clock: clk, Log: log, Accounts: acc, Follows: fol, Markup: md, Media: store, BaseURL: baseURL})
	nt := &notify.Service{DB: d, Clock: clk}
	ps.AddHook(nt)
	fol.Hooks = []follows.Hook{ps, nt}
	pv := previews.New(d, outbound.New(outbound.Options{}), clk, log)
	e := &env{t: t, app: srv.App, accounts: acc, orgs: o, store: store, mail: mb,
		partners: orgs.NewPartners(d, clk, orgs.ModeAllowlist, baseURL)}
	health := func(ctx context.Context, hosts []string) (map[string]orgs.PeerHealth, error) {
		if e.health == nil {
			return nil, nil
		}
		return e.health(ctx, hosts)
	}
	if err := Register(Deps{Server: srv, Accounts: acc, Orgs: o, Media: store, Log: log, DB: d,
		DefaultURL: testHost, MaxUpload: 4 << 20, Posts: ps, Follows: fol, Notify: nt, Previews: pv,
		Partners: e.partners, Health: health}); err != nil {
		t.Fatal(err)
	}
	return e
}

// setup runs the wizard through the page and returns the admin's signed-in client.
func (e *env) setup() *client {
	e.t.Helper()
	c := e.client()
	resp, body := c.post("/setup", url.Values{"org_name": {"Acme"}, "url": {testHost}, "allowed_domains": {"acme.example"},
		"username": {"admin"}, "display_name": {"Ada Admin"}, "email": {"admin@acme.example"},
		"password": {adminPassword}, "password_confirm": {adminPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
	return c
}

// member creates an account directly through the service (faster than the pages).
func (e *env) member(username, name string) *accounts.User {
	e.t.Helper()
	u, err := e.accounts.Create(context.Background(), accounts.CLIActor(), accounts.NewUser{Username: username,
		Email: username + "@acme.example", Password: memberPass, DisplayName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is a browser: it keeps cookies between requests.
type client struct {
	e   *env
	jar *cookiejar.Jar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.e.t.Helper()
	u, _ := url.Parse(testHost)
	for _, ck := range c.jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := c.e.app.Test(req, -1)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	c.jar.SetCookies(u, resp.Cookies())
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.e.t.Helper()
	return c.do(newRequest("GET", testHost+path, nil))
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(testHost)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// csrf returns the CSRF cookie's token, visiting a page first if the browser has none yet.
func (c *client) csrf() string {
	c.e.t.Helper()
	if v := c.cookie(server.CSRFCookie); v != "" {
		return v
	}
	c.get("/login")
	v := c.cookie(server.CSRFCookie)
	if v == "" {
		c.e.t.Fatal("no CSRF cookie after a page view")
	}
	return v
}

// post sends a form with the CSRF token, like a page's form would.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf())
	return c.postRaw(path, form)
}

func (c *client) postRaw(path string, form url.Values) (*http.Response, string) {
	c.e.t.Helper()
	req := newRequest("POST", testHost+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// upload posts a multipart form with one file, as the avatar form does.
func (c *client) upload(path, field, filename string, data []byte, extra url.Values) (*http.Response, string) {
	c.e.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("csrf", c.csrf())
	for k, vs := range extra {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	fw, _ := w.CreateFormFile(field, filename)
	fw.Write(data)
	w.Close()
	req := newRequest("POST", testHost+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

func (c *client) login(user, password string) {
	c.e.t.Helper()
	resp, body := c.post("/login", url.Values{"login": {user}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("login %s: %d %s", user, resp.StatusCode, body)
	}
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, want, body)
	}
}

func wantRedirect(t *testing.T, what string, resp *http.Response, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: status %d, want a redirect to %s", what, resp.StatusCode, to)
	}
	if got := resp.Header.Get("Location"); got != to {
		t.Fatalf("%s: redirect to %q, want %q", what, got, to)
	}
}

func wantContains(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("%s: page lacks %q\n%s", what, p, body)
		}
	}
}

// testPNG draws an opaque picture with some structure, so scaling has work to do.
func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	inviteRE = regexp.MustCompile(`/signup\?invite=([A-Za-z0-9_-]+)`)
	mediaRE  = regexp.MustCompile(`class="avatar lg" src="(/media/avatars/[a-z0-9/._-]+)"`)
)

// newRequest builds a client request (not httptest's server-side one, whose absolute
// RequestURI fiber's test connection cannot parse).
func newRequest(method, target string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		panic(err)
	}
	return req
}

// testLogWriter sends the node's warnings and errors to the test log, shown on failure.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
