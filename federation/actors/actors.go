// Package actors serves the ActivityPub documents that represent this node's people and the
// node itself: a Person for each active user (work-profile fields as PropertyValue
// attachments, limited to what the organisation shows partners) and the instance actor that
// signs the node's fetches. Actor documents are public, as on Mastodon, and the instance actor
// is always served unsigned so peers verifying our signatures never loop. Browsers asking for
// a person's actor URL are sent to the profile page.
package actors

import (
	"context"
	"html"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/federation/activity"
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
	if err != nil || !u.Active() {
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
	id := base + "/users/" + u.Username
	a := &activity.Actor{ID: id, Type: activity.TypePerson, PreferredUsername: u.Username, Name: u.Name(),
		Summary: bioHTML(u.Bio), URL: base + "/people/" + u.Username, Inbox: id + "/inbox", Outbox: id + "/outbox",
		Followers: id + "/followers", Following: id + "/following", Featured: id + "/collections/featured",
		SharedInbox: base + "/inbox", Published: u.CreatedAt, Discoverable: true,
		PublicKey: activity.PublicKey{ID: id + "#main-key", Owner: id, PublicKeyPem: pair.PublicPEM},
		Fields:    partnerFields(u)}
	if u.AvatarKey != "" {
		a.Icon, a.IconMediaType = base+"/media/"+u.AvatarKey, mediaType(u.AvatarKey)
	}
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

// partnerFields are the work-profile fields partners see: what a person's role is and how to
// address them, not where they sit or how to phone them (the organisation's default policy).
func partnerFields(u *accounts.User) []activity.PropertyValue {
	var out []activity.PropertyValue
	add := func(name, v string) {
		if v != "" {
			out = append(out, activity.PropertyValue{Name: name, Value: html.EscapeString(v)})
		}
	}
	add("Title", u.JobTitle)
	add("Department", u.Department)
	add("Pronouns", u.Pronouns)
	return out
}

func bioHTML(bio string) string {
	if strings.TrimSpace(bio) == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(bio), "\n", "<br>") + "</p>"
}

func mediaType(key string) string {
	if strings.HasSuffix(key, ".png") {
		return "image/png"
	}
	return "image/jpeg"
}
