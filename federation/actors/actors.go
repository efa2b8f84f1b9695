// Package actors serves the ActivityPub documents that represent this node's people and the
// node itself: a Person for each active user (work-profile fields as PropertyValue
// attachments, limited to what the organisation shows partners) and the instance actor that
// signs the node's fetches. Actor documents are public, as on Mastodon, and the instance actor
// is always served unsigned so peers verifying our signatures never loop. Browsers asking for
// a person's actor URL are sent to the profile page.
package actors

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/convert"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
)

// Deps are what the actor routes need.
type Deps struct {
	App      *fiber.App
	Accounts *accounts.Service
	Orgs     *orgs.Service
	Keys     *keys.Store
	BaseURL  func(ctx context.Context) string
}

type handler struct{ Deps }

// Register mounts /users/:username and /actor.
func Register(d Deps) {
	h := &handler{d}
	d.App.Get("/users/:username", h.person)
	d.App.Get("/actor", h.instance)
}

// WantsActivity reports whether the request asks for ActivityStreams JSON rather than HTML.
func WantsActivity(accept string) bool {
	a := strings.ToLower(accept)
	return strings.Contains(a, "application/activity+json") ||
		(strings.Contains(a, "application/ld+json") && strings.Contains(a, "activitystreams"))
}

func (h *handler) person(c *fiber.Ctx) error {
	ctx := c.UserContext()
	c.Vary("Accept")
	u, err := h.Accounts.ByUsername(ctx, c.Params("username"))
	if err != nil {
		return errs.E(errs.NotFound, "no such person")
	}
	base := h.BaseURL(ctx)
	if !WantsActivity(c.Get("Accept")) {
		return c.Redirect(base+"/people/"+u.Username, fiber.StatusFound)
	}
	pair, err := h.Keys.For(ctx, u.ID)
	if err != nil {
		return err
	}
	org, err := h.Orgs.Get(ctx)
	if err != nil {
		return err
	}
	a := convert.Converter{Base: base}.Person(u, pair.PublicPEM, org)
	// A deactivated person's actor stays served, marked suspended, so the Delete{Person} we
	// send can still be verified against its key.
	a.Suspended = !u.Active()
	return h.send(c, a)
}

// instance serves the node's own actor, which signs outgoing GETs.
func (h *handler) instance(c *fiber.Ctx) error {
	ctx := c.UserContext()
	pair, err := h.Keys.For(ctx, keys.Instance)
	if err != nil {
		return err
	}
	base := h.BaseURL(ctx)
	org, err := h.Orgs.Get(ctx)
	if err != nil {
		return err
	}
	id := base + "/actor"
	a := &activity.Actor{ID: id, Type: activity.TypeApplication, PreferredUsername: "instance", Name: org.Name,
		URL: base + "/", Inbox: id + "/inbox", Outbox: id + "/outbox", SharedInbox: base + "/inbox",
		ManuallyApprovesFollowers: true,
		PublicKey:                 activity.PublicKey{ID: id + "#main-key", Owner: id, PublicKeyPem: pair.PublicPEM}}
	return h.send(c, a)
}

func (h *handler) send(c *fiber.Ctx, a *activity.Actor) error {
	b, err := activity.Encode(a)
	if err != nil {
		return err
	}
	c.Vary("Accept")
	c.Set(fiber.HeaderContentType, "application/activity+json; charset=utf-8")
	return c.Send(b)
}
