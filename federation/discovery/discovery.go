// Package discovery answers the questions other servers ask before they federate: who is
// acct:user@host (WebFinger), where is WebFinger (host-meta), and what software runs here
// (NodeInfo 2.0 and 2.1). Usage counts are hidden unless the organisation publishes them
// (FEP-0151): a company's head count is not the fediverse's business.
package discovery

import (
	"context"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
)

// InstanceActor is the username of the node's own actor, which signs its fetches.
const InstanceActor = "instance"

// Deps are what discovery needs.
type Deps struct {
	App      *fiber.App
	Accounts *accounts.Service
	Orgs     *orgs.Service
	BaseURL  func(ctx context.Context) string
	Version  string
	// Usage reports local posts for NodeInfo when counts are published; nil hides them.
	LocalPosts func(ctx context.Context) (int, error)
	// ShowUsage says whether NodeInfo publishes user and post counts.
	ShowUsage func(ctx context.Context) bool
	// Group resolves a group's handle to its actor and page (nil: no groups; secret groups
	// are never answered).
	Group func(ctx context.Context, handle string) (actor, profile string, ok bool)
}

type handler struct{ Deps }

// Register mounts the well-known endpoints.
func Register(d Deps) {
	h := &handler{d}
	d.App.Get("/.well-known/webfinger", h.webfinger)
	d.App.Get("/.well-known/host-meta", h.hostMeta)
	d.App.Get("/.well-known/nodeinfo", h.nodeinfoLinks)
	d.App.Get("/nodeinfo/:version", h.nodeinfo)
}

// jrd is a JSON Resource Descriptor.
type jrd struct {
	Subject string   `json:"subject"`
	Aliases []string `json:"aliases,omitempty"`
	Links   []link   `json:"links"`
}

type link struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// webfinger resolves acct:user@host or an actor URL to the actor, consistently both ways, as
// Mastodon checks (FEDERATION.md 1.1).
func (h *handler) webfinger(c *fiber.Ctx) error {
	ctx := c.UserContext()
	base := h.BaseURL(ctx)
	host := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	res := strings.TrimSpace(c.Query("resource"))
	if res == "" {
		return errs.Field("resource", "give resource=acct:user@%s or an actor URL", host)
	}
	var username string
	switch {
	case strings.HasPrefix(res, "acct:") || !strings.Contains(res, "://"):
		acct := strings.TrimPrefix(strings.TrimPrefix(res, "acct:"), "@")
		user, domain, ok := strings.Cut(acct, "@")
		if !ok || !strings.EqualFold(domain, host) {
			return errs.E(errs.NotFound, "no such account here")
		}
		username = user
	default:
		u, err := url.Parse(res)
		if err != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, base) {
			return errs.E(errs.NotFound, "no such account here")
		}
		switch {
		case u.Path == "/actor":
			username = InstanceActor
		case strings.HasPrefix(u.Path, "/users/"):
			username = strings.TrimPrefix(u.Path, "/users/")
		case strings.HasPrefix(u.Path, "/people/"):
			username = strings.TrimPrefix(u.Path, "/people/")
		case strings.HasPrefix(u.Path, "/groups/"):
			username = strings.TrimPrefix(u.Path, "/groups/")
		default:
			return errs.E(errs.NotFound, "no such account here")
		}
	}
	var out jrd
	if strings.EqualFold(username, InstanceActor) || strings.EqualFold(username, host) {
		actor := base + "/actor"
		out = jrd{Subject: "acct:" + InstanceActor + "@" + host, Aliases: []string{actor},
			Links: []link{{Rel: "self", Type: "application/activity+json", Href: actor}}}
	} else {
		u, err := h.Accounts.ByUsername(ctx, username)
		if err != nil || !u.Active() {
			if h.Group != nil {
				if actor, profile, ok := h.Group(ctx, username); ok {
					return h.finger(c, jrd{Subject: "acct:" + strings.ToLower(username) + "@" + host, Aliases: []string{actor, profile}, Links: []link{
						{Rel: "self", Type: "application/activity+json", Href: actor},
						{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: profile},
					}})
				}
			}
			return errs.E(errs.NotFound, "no such account here")
		}
		actor := base + "/users/" + u.Username
		profile := base + "/people/" + u.Username
		out = jrd{Subject: "acct:" + u.Username + "@" + host, Aliases: []string{actor, profile}, Links: []link{
			{Rel: "self", Type: "application/activity+json", Href: actor},
			{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: profile},
		}}
	}
	return h.finger(c, out)
}

func (h *handler) finger(c *fiber.Ctx, out jrd) error {
	c.Set("Access-Control-Allow-Origin", "*")
	c.Set(fiber.HeaderContentType, "application/jrd+json; charset=utf-8")
	return c.JSON(out, "application/jrd+json; charset=utf-8")
}

func (h *handler) hostMeta(c *fiber.Ctx) error {
	base := h.BaseURL(c.UserContext())
	c.Set(fiber.HeaderContentType, "application/xrd+xml; charset=utf-8")
	c.Set("Access-Control-Allow-Origin", "*")
	return c.SendString(`<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="` + base + `/.well-known/webfinger?resource={uri}"/>
</XRD>
`)
}

func (h *handler) nodeinfoLinks(c *fiber.Ctx) error {
	base := h.BaseURL(c.UserContext())
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(fiber.Map{"links": []link{
		{Rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", Href: base + "/nodeinfo/2.1"},
		{Rel: "http://nodeinfo.diaspora.software/ns/schema/2.0", Href: base + "/nodeinfo/2.0"},
	}})
}

func (h *handler) nodeinfo(c *fiber.Ctx) error {
	ctx := c.UserContext()
	version := c.Params("version")
	if version != "2.0" && version != "2.1" {
		return errs.E(errs.NotFound, "NodeInfo is served as 2.0 and 2.1")
	}
	org, err := h.Orgs.Get(ctx)
	if err != nil {
		return err
	}
	software := fiber.Map{"name": "atrium", "version": h.Version}
	if version == "2.1" {
		software["repository"] = "https://github.com/atrium-social/atrium"
		software["homepage"] = "https://github.com/atrium-social/atrium"
	}
	usage := fiber.Map{"users": fiber.Map{}}
	if h.ShowUsage != nil && h.ShowUsage(ctx) {
		n, err := h.Accounts.Count(ctx)
		if err != nil {
			return err
		}
		usage["users"] = fiber.Map{"total": n}
		if h.LocalPosts != nil {
			if p, err := h.LocalPosts(ctx); err == nil {
				usage["localPosts"] = p
			}
		}
	}
	schema := "http://nodeinfo.diaspora.software/ns/schema/" + version + "#"
	c.Set(fiber.HeaderContentType, `application/json; profile="`+schema+`"`)
	c.Set("Access-Control-Allow-Origin", "*")
	return c.JSON(fiber.Map{
		"version": version, "software": software, "protocols": []string{"activitypub"},
		"services": fiber.Map{"inbound": []string{}, "outbound": []string{}}, "openRegistrations": false,
		"usage": usage, "metadata": fiber.Map{"nodeName": org.Name, "nodeDescription": org.Description,
			"federation": fiber.Map{"enabled": true}},
	}, `application/json; profile="`+schema+`"`)
}
