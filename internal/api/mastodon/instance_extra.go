package mastodon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/server"
)

// The instance endpoints apps read besides /api/v1/instance. The node's texts and what it
// discloses about partners are settings (orgs.Documents); a company's partners and activity
// are not the whole internet's business, so by default they are not shown.
func (a *api) instanceExtraRoutes(app *fiber.App) {
	app.Get("/api/v1/instance/peers", a.instancePeers)
	app.Get("/api/v1/instance/activity", a.instanceActivity)
	app.Get("/api/v1/instance/extended_description", a.extendedDescription)
	app.Get("/api/v1/instance/privacy_policy", a.instanceDocument(func(d orgs.Documents) orgs.Document { return d.PrivacyPolicy }, false))
	app.Get("/api/v1/instance/terms_of_service", a.instanceDocument(func(d orgs.Documents) orgs.Document { return d.TermsOfService }, true))
	// No machine translation on this node: Mastodon's empty map.
	app.Get("/api/v1/instance/translation_languages", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{}) })
	app.Get("/api/v1/instance/domain_blocks", a.instanceDomainBlocks)
}

// instancePeers lists the partner hosts this node federates with, only when an admin chose
// to show them (orgs.KeyShowPartners): which companies one works with is often confidential.
// Otherwise [] (Mastodon answers 401/404 when peers are hidden; [] keeps apps that only
// count peers working).
func (a *api) instancePeers(c *fiber.Ctx) error {
	out := []string{}
	docs, err := a.Orgs.Documents(c.UserContext())
	if err != nil {
		return err
	}
	if !docs.ShowPartners || a.Partners == nil {
		return c.JSON(out)
	}
	list, err := a.Partners.List(c.UserContext())
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.State == orgs.PartnerAllowed {
			out = append(out, p.Host)
		}
	}
	return c.JSON(out)
}

// instanceDomainBlocks lists the hosts the node blocks when an admin chose to show them to
// everyone ("true") or to its members ("members"); otherwise 404, as Mastodon answers
// when they are hidden. Notes stay private (Mastodon's rationale is a separate choice).
func (a *api) instanceDomainBlocks(c *fiber.Ctx) error {
	docs, err := a.Orgs.Documents(c.UserContext())
	if err != nil {
		return err
	}
	switch {
	case docs.ShowBlockedHosts == "true":
	case docs.ShowBlockedHosts == "members" && server.CurrentUser(c) != nil:
	default:
		return errNotFound()
	}
	type block struct {
		Domain   string `json:"domain"`
		Digest   string `json:"digest"`
		Severity string `json:"severity"`
	}
	out := []block{}
	if a.Partners != nil {
		list, err := a.Partners.List(c.UserContext())
		if err != nil {
			return err
		}
		for _, p := range list {
			if p.State == orgs.PartnerBlocked {
				sum := sha256.Sum256([]byte(p.Host))
				out = append(out, block{Domain: p.Host, Digest: hex.EncodeToString(sum[:]), Severity: "suspend"})
			}
		}
	}
	return c.JSON(out)
}

func (a *api) extendedDescription(c *fiber.Ctx) error {
	docs, err := a.Orgs.Documents(c.UserContext())
	if err != nil {
		return err
	}
	d := docs.ExtendedDescription
	if d.HTML == "" { // the organisation's description, as /api/v1/instance shows it
		org, err := a.Orgs.Get(c.UserContext())
		if err != nil {
			return err
		}
		at := docs.DescriptionUpdatedAt
		if at.IsZero() {
			at = time.Now() // before setup: no description yet
		}
		return c.JSON(fiber.Map{"updated_at": mastodonTime(at), "content": noteHTML(org.Description)})
	}
	return c.JSON(fiber.Map{"updated_at": mastodonTime(d.UpdatedAt), "content": d.HTML})
}

// instanceDocument answers a privacy policy or terms of service, or 404 when the node has
// none (Mastodon answers 404 for terms it does not have).
func (a *api) instanceDocument(pick func(orgs.Documents) orgs.Document, terms bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		docs, err := a.Orgs.Documents(c.UserContext())
		if err != nil {
			return err
		}
		d := pick(docs)
		if d.HTML == "" {
			return errNotFound()
		}
		if terms {
			return c.JSON(fiber.Map{"effective_date": d.UpdatedAt.UTC().Format(time.DateOnly), "effective": true,
				"content": d.HTML, "succeeded_by": nil})
		}
		return c.JSON(fiber.Map{"updated_at": mastodonTime(d.UpdatedAt), "content": d.HTML})
	}
}

// activityTTL is how long the weekly activity is reused: it reads twelve weeks of posts.
const activityTTL = time.Hour

type activityCache struct {
	mu    sync.Mutex
	weeks []accounts.Week
	at    time.Time
}

// instanceActivity is Mastodon's weekly statuses, logins and registrations for 12 weeks.
// Public only when the node publishes its usage (the admin's NodeInfo choice,
// orgs.Org.PublishUsage); otherwise for its signed-in people only.
func (a *api) instanceActivity(c *fiber.Ctx) error {
	org, err := a.Orgs.Get(c.UserContext())
	if err != nil {
		return err
	}
	if !org.PublishUsage && server.CurrentUser(c) == nil {
		return errs.E(errs.Unauthorized, "This method requires an authenticated user")
	}
	weeks, err := a.weeklyActivity(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(weeks))
	for i, w := range weeks {
		out[i] = fiber.Map{"week": strconv.FormatInt(w.Start.Unix(), 10), "statuses": strconv.Itoa(w.Statuses),
			"logins": strconv.Itoa(w.Logins), "registrations": strconv.Itoa(w.Registrations)}
	}
	return c.JSON(out)
}

func (a *api) weeklyActivity(ctx context.Context) ([]accounts.Week, error) {
	a.activity.mu.Lock()
	defer a.activity.mu.Unlock() // one computation at a time; the others wait for its result
	if a.activity.weeks != nil && time.Since(a.activity.at) < activityTTL {
		return a.activity.weeks, nil
	}
	weeks, err := a.Accounts.Activity(ctx)
	if err != nil {
		return nil, err
	}
	a.activity.weeks, a.activity.at = weeks, time.Now()
	return weeks, nil
}
