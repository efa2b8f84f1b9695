package collections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/oklog/ulid/v2"

	"github.com/atrium-social/atrium/federation/actors"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/posts"
)

// Page sizes (FEDERATION.md §8: pages of 20–50).
const (
	OutboxPageSize = 20
	PeoplePageSize = 40
)

// contentType is what every document here is served as.
const contentType = "application/activity+json; charset=utf-8"

// asContext is the AS2 context, for documents that use no extension terms.
const asContext = "https://www.w3.org/ns/activitystreams"

// Deps are what the routes need.
type Deps struct {
	App      *fiber.App
	DB       *db.DB // counts and the follower lists' keyset query
	Accounts *accounts.Service
	Posts    *posts.Service
	Follows  *follows.Service
	BaseURL  func(ctx context.Context) string
	// Verify checks the HTTP signature of a GET and returns the key's owner (an actor id).
	// It must refuse keys of hosts that are not partners (wrap signature.ErrKeyNotAllowed
	// to have those told apart from bad signatures). nil: no signature is ever accepted, so
	// only public material is served.
	Verify func(ctx context.Context, r *http.Request) (owner string, err error)
}

// VerifyWith adapts a signature.Verifier (with its KeyAllowed partner policy set) to
// Deps.Verify. GETs have no body.
func VerifyWith(v *signature.Verifier) func(ctx context.Context, r *http.Request) (string, error) {
	return func(ctx context.Context, r *http.Request) (string, error) {
		res, err := v.Verify(ctx, r, nil)
		if err != nil {
			return "", err
		}
		return res.Owner, nil
	}
}

type handler struct{ Deps }

// Register mounts the routes. Call it before any catch-all route of the app.
func Register(d Deps) {
	h := &handler{d}
	d.App.Get("/users/:username/statuses/:id", h.status)
	d.App.Get("/users/:username/statuses/:id/activity", h.statusActivity)
	d.App.Get("/users/:username/outbox", h.outbox)
	d.App.Get("/users/:username/followers", h.people(true))
	d.App.Get("/users/:username/following", h.people(false))
	d.App.Get("/users/:username/collections/featured", h.featured)
}

func (h *handler) conv(ctx context.Context) convert.Converter {
	return convert.Converter{Base: strings.TrimSuffix(h.BaseURL(ctx), "/")}
}

// person is the active local person named in the path, or nil.
func (h *handler) person(ctx context.Context, username string) (*accounts.User, error) {
	u, err := h.Accounts.ByUsername(ctx, username)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("collections: look up %q: %w", username, err)
	}
	if !u.Active() {
		return nil, nil
	}
	return u, nil
}

// validID reports whether s is a ULID in the form this node mints (upper case), so garbage
// never reaches the database.
func validID(s string) bool {
	id, err := ulid.ParseStrict(s)
	return err == nil && id.String() == s
}

// caller is who sent a request, verified at most once and only when the answer depends on it.
type caller struct {
	h     *handler
	c     *fiber.Ctx
	done  bool
	owner string
	err   error
}

func (h *handler) caller(c *fiber.Ctx) *caller { return &caller{h: h, c: c} }

// signed reports whether the request carries a signature at all.
func (r *caller) signed() bool { return len(r.c.Request().Header.Peek("Signature")) > 0 }

// verify returns the key owner of a signed request; an unsigned one is ("", nil).
func (r *caller) verify(ctx context.Context) (string, error) {
	if r.done {
		return r.owner, r.err
	}
	r.done = true
	switch {
	case !r.signed():
	case r.h.Verify == nil:
		r.err = errors.New("collections: this node verifies no signatures")
	default:
		r.owner, r.err = r.h.Verify(ctx, request(r.c))
	}
	return r.owner, r.err
}

// notAllowed reports whether a verification failed only because the signer's host is not a
// partner: a valid request, from someone who may see nothing non-public.
func notAllowed(err error) bool { return errors.Is(err, signature.ErrKeyNotAllowed) }

// request builds the *http.Request signature verification reads (federation/signature's
// doc.go): the raw request line, every header with repeats kept, the Host as sent. Strings
// are copied, never aliased to fasthttp buffers.
func request(c *fiber.Ctx) *http.Request {
	h := make(http.Header)
	c.Request().Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
	return &http.Request{Method: c.Method(), RequestURI: string(c.Request().Header.RequestURI()),
		Host: string(c.Request().Host()), Header: h}
}

// wantsActivity tells ActivityPub fetchers from browsers (and sets Vary, as every answer
// here depends on Accept).
func wantsActivity(c *fiber.Ctx) bool {
	c.Vary("Accept")
	return actors.WantsActivity(c.Get(fiber.HeaderAccept))
}

// send writes a document.
func send(c *fiber.Ctx, status int, body []byte) error {
	c.Vary("Accept")
	c.Set(fiber.HeaderContentType, contentType)
	return c.Status(status).Send(body)
}

// refuse answers an error without going through the app's error pages: peers read the status.
func refuse(c *fiber.Ctx, status int, msg string) error {
	c.Vary("Accept")
	if status == fiber.StatusUnauthorized {
		// Names the scheme a peer should retry with (RFC 9110 asks 401s to carry one).
		c.Set(fiber.HeaderWWWAuthenticate, `Signature realm="ActivityPub",headers="(request-target) host date"`)
	}
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

func notFound(c *fiber.Ctx) error { return refuse(c, fiber.StatusNotFound, "Record not found") }

func badSignature(c *fiber.Ctx) error {
	return refuse(c, fiber.StatusUnauthorized, "the request's HTTP signature is not valid")
}

// encode writes v as JSON without HTML escaping (next links carry "&").
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("collections: encode: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
