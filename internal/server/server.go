// Package server is the node's HTTP shell on fiber: error mapping, security headers, body
// limits, request logging and metrics, and who is asking (session cookie or bearer token,
// with CSRF protection for cookie-authenticated writes). Page handlers (web/) and JSON APIs
// (internal/api/...) register their routes on it; feature packages never see fiber.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/orgs"
)

// Cookie names.
const (
	SessionCookie = "atrium_session"
	CSRFCookie    = "atrium_csrf"
)

// Options configure the server.
type Options struct {
	Accounts  *accounts.Service
	Orgs      *orgs.Service
	Log       *slog.Logger
	BaseURL   func(ctx context.Context) string
	Secure    func() bool // true when the public URL is https: cookies get Secure
	BodyLimit int
	// RenderError draws an error page for browsers; nil falls back to plain text.
	RenderError func(c *fiber.Ctx, status int, msg string) error
}

// Server holds the fiber app and what its middleware needs.
type Server struct {
	Options
	App      *fiber.App
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New builds the app with the node's middleware installed.
func New(o Options) *Server {
	s := &Server{Options: o, Registry: prometheus.NewRegistry()}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atrium_http_requests_total",
		Help: "HTTP requests by route and status."}, []string{"method", "route", "status"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "atrium_http_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
		[]string{"method", "route"})
	s.Registry.MustRegister(s.requests, s.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.App = fiber.New(fiber.Config{
		AppName:               "atrium",
		DisableStartupMessage: true,
		BodyLimit:             o.BodyLimit,
		ErrorHandler:          s.handleError,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ReadBufferSize:        16 << 10, // room for long cookies and signature headers
		ProxyHeader:           "",       // never trust X-Forwarded-For unless configured
		// fasthttp reuses request buffers; strings handed to services (rate-limit keys, cached
		// values) must not change under them, so fiber copies every value it returns.
		Immutable: true,
		// Release the 16 KiB read buffer (and body buffers) once a request is read instead of
		// keeping them for the connection's life. A websocket otherwise pins its read buffer
		// for hours: 10,000 sockets cost +186 MiB of heap with it, +28 MiB without (P7). It
		// costs ~2 µs of CPU per request (13% of a hello-world, within noise on the home
		// feed: 7,156 vs 7,293 req/s, medians of 3; README, Performance).
		ReduceMemoryUsage: true,
	})
	s.App.Use(s.recoverer, s.observe, s.securityHeaders, s.authenticate, s.csrf)
	return s
}

// IsAPI reports whether a request expects JSON errors (APIs, OAuth, federation).
func IsAPI(c *fiber.Ctx) bool {
	p := c.Path()
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/oauth/") || strings.HasPrefix(p, "/.well-known/") ||
		strings.HasPrefix(p, "/nodeinfo/") || p == "/healthz" || p == "/health" ||
		strings.Contains(string(c.Request().Header.Peek("Accept")), "json") && !strings.Contains(string(c.Request().Header.Peek("Accept")), "html")
}

// handleError is the one place where an error becomes a status and a message.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := errs.KindOf(err).Status()
	msg := errs.Message(err)
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status, msg = fe.Code, fe.Message
		if status == fiber.StatusRequestEntityTooLarge {
			msg = "the request is too large"
		}
	}
	if status >= 500 {
		s.Log.Error("request failed", "method", c.Method(), "path", c.Path(), "request_id", c.Locals("request_id"), "err", err)
	} else {
		s.Log.Debug("request refused", "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}
	if errs.KindOf(err) == errs.TooMany {
		c.Set("Retry-After", "60")
	}
	if IsAPI(c) || s.RenderError == nil {
		body := fiber.Map{"error": msg}
		if f := errs.FieldOf(err); f != "" {
			body["details"] = fiber.Map{f: []fiber.Map{{"error": "ERR_INVALID", "description": msg}}}
		}
		return c.Status(status).JSON(body)
	}
	return s.RenderError(c, status, msg)
}

func (s *Server) recoverer(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("panic", "path", c.Path(), "panic", r)
			err = errs.E(errs.Internal, "internal error")
		}
	}()
	return c.Next()
}

// observe assigns a request id, logs the request and records metrics by route pattern (not
// raw path, so ids in paths do not explode the metric's cardinality).
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	rid := ids.New(start)
	c.Locals("request_id", rid)
	c.Set("X-Request-Id", rid)
	err := c.Next()
	if err != nil {
		if herr := s.App.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	s.requests.WithLabelValues(c.Method(), route, strconv.Itoa(status)).Inc()
	s.duration.WithLabelValues(c.Method(), route).Observe(elapsed.Seconds())
	if c.Path() != "/healthz" && c.Path() != "/health" && c.Path() != "/metrics" {
		s.Log.Debug("http", "method", c.Method(), "path", c.Path(), "status", status, "ms", elapsed.Milliseconds(), "request_id", rid)
	}
	return nil
}

// ContentSecurityPolicy allows only our own scripts and styles: no inline code at all.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", ContentSecurityPolicy)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.Secure() {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

// ClientIP is the address the request came from.
func ClientIP(c *fiber.Ctx) string { return c.IP() }

// CurrentUser is the signed-in person, or nil.
func CurrentUser(c *fiber.Ctx) *accounts.User {
	u, _ := c.Locals("user").(*accounts.User)
	return u
}

// CurrentToken is the bearer token used, or nil for cookie sessions and anonymous requests.
func CurrentToken(c *fiber.Ctx) *accounts.Token {
	t, _ := c.Locals("token").(*accounts.Token)
	return t
}

// Actor is the acting party for service calls.
func Actor(c *fiber.Ctx) accounts.Actor { return accounts.UserActor(CurrentUser(c), ClientIP(c)) }

// authenticate resolves a bearer token or a session cookie. A bad bearer token is an error
// (apps must learn their token is dead); a stale cookie is simply dropped.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if h := c.Get("Authorization"); h != "" && !clientBasicAuth(c, h) {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return errs.E(errs.Unauthorized, "use Authorization: Bearer <token>")
		}
		u, t, err := s.Accounts.TokenUser(c.UserContext(), strings.TrimSpace(tok))
		if err != nil {
			return err
		}
		if u != nil { // nil for an app-level OAuth token, which acts for no one
			c.Locals("user", u)
		}
		c.Locals("token", t)
		return c.Next()
	}
	if v := c.Cookies(SessionCookie); v != "" {
		u, err := s.Accounts.SessionUser(c.UserContext(), v)
		if err == nil {
			c.Locals("user", u)
			c.Locals("session", v)
		} else if errs.KindOf(err) == errs.Unauthorized {
			s.ClearSession(c)
		} else {
			return err
		}
	}
	return c.Next()
}

// clientBasicAuth reports an OAuth client authenticating with HTTP Basic at the token or
// revocation endpoint (RFC 6749 2.3.1): its credentials are the endpoint's to check, not a
// bearer token.
func clientBasicAuth(c *fiber.Ctx, h string) bool {
	return strings.HasPrefix(h, "Basic ") && (c.Path() == "/oauth/token" || c.Path() == "/oauth/revoke")
}

// SessionToken is the raw session cookie of the request, if signed in by cookie.
func SessionToken(c *fiber.Ctx) string { v, _ := c.Locals("session").(string); return v }

// StartSession signs the browser in as u.
func (s *Server) StartSession(c *fiber.Ctx, u *accounts.User) error {
	tok, err := s.Accounts.CreateSession(c.UserContext(), u, c.Get("User-Agent"), ClientIP(c))
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: s.Secure(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(accounts.SessionTTL)})
	// A fresh CSRF token at sign-in stops a token planted before sign-in from being reused.
	s.newCSRF(c)
	return nil
}

// ClearSession removes the session cookie.
func (s *Server) ClearSession(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, Secure: s.Secure(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0), MaxAge: -1})
}

// RequireUser guards routes for signed-in people: browsers are sent to sign in, API callers
// get 401.
func RequireUser(c *fiber.Ctx) error {
	if CurrentUser(c) != nil {
		return c.Next()
	}
	if IsAPI(c) {
		return errs.E(errs.Unauthorized, "The access token is invalid")
	}
	return c.Redirect("/login?next="+url.QueryEscape(string(c.Request().RequestURI())), fiber.StatusSeeOther)
}

// RequireAdmin guards admin pages. The services check again; this gives a clean 403 early.
func RequireAdmin(c *fiber.Ctx) error {
	u := CurrentUser(c)
	if u == nil {
		return RequireUser(c)
	}
	if !u.IsAdmin() {
		return errs.E(errs.Forbidden, "this page is for administrators")
	}
	return c.Next()
}

// RequireScope guards API routes by token scope; cookie sessions carry every scope.
func RequireScope(scope string) fiber.Handler { return RequireAnyScope(scope) }

// RequireAnyScope is RequireScope for a route that any one of scopes opens: Mastodon's
// verify_credentials answers a token with read:accounts or with only "profile" (the scope
// for apps that merely sign people in).
func RequireAnyScope(scopes ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if CurrentUser(c) == nil {
			return errs.E(errs.Unauthorized, "The access token is invalid")
		}
		t := CurrentToken(c)
		if t == nil {
			return c.Next() // a browser session: the person themselves
		}
		for _, sc := range scopes {
			if accounts.HasScope(t.Scopes, sc) {
				return c.Next()
			}
		}
		return errs.E(errs.Forbidden, "This action is outside the authorized scopes")
	}
}
