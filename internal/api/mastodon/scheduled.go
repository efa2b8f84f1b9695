package mastodon

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/server"
)

// ScheduledStatus is Mastodon's ScheduledStatus entity.
type ScheduledStatus struct {
	ID               string            `json:"id"`
	ScheduledAt      string            `json:"scheduled_at"`
	Params           ScheduledParams   `json:"params"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
}

// ScheduledParams are Mastodon's ScheduledStatus params, with Atrium's own under atrium_*.
type ScheduledParams struct {
	polls.Params
	ApplicationID *int    `json:"application_id,omitempty"` // Mastodon's is an integer (deprecated); we have none
	ScheduledAt   *string `json:"scheduled_at"`
	Idempotency   *string `json:"idempotency"`
	WithRateLimit bool    `json:"with_rate_limit"`
}

func (a *api) scheduledRoutes(app *fiber.App) {
	if a.Polls == nil {
		return
	}
	read, write := server.RequireScope("read:statuses"), server.RequireScope("write:statuses")
	app.Get("/api/v1/scheduled_statuses", read, a.listScheduled)
	app.Get("/api/v1/scheduled_statuses/:id", read, a.getScheduled)
	app.Put("/api/v1/scheduled_statuses/:id", write, a.reschedule)
	app.Delete("/api/v1/scheduled_statuses/:id", write, a.unschedule)
}

// scheduledEntity renders a scheduled status. Its files are attached only when it is
// published, so media_attachments is empty (media_ids lists them).
func scheduledEntity(ss *polls.ScheduledStatus) ScheduledStatus {
	return ScheduledStatus{ID: ss.ID, ScheduledAt: mastodonTime(ss.ScheduledAt), Params: ScheduledParams{Params: ss.Params},
		MediaAttachments: []MediaAttachment{}}
}

// scheduledAtParam reads scheduled_at; the zero time when absent.
func scheduledAtParam(p *params) (time.Time, error) {
	s := p.str("scheduled_at")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Field("scheduled_at", "%q is not a time like 2026-12-01T17:00:00Z", s)
	}
	return t, nil
}

func (a *api) listScheduled(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(20, 40)
	if err != nil {
		return err
	}
	list, err := a.Polls.Scheduled(c.UserContext(), server.CurrentUser(c), pg)
	if err != nil {
		return err
	}
	out := make([]ScheduledStatus, 0, len(list))
	idList := make([]string, 0, len(list))
	for _, ss := range list {
		out = append(out, scheduledEntity(ss))
		idList = append(idList, ss.ID)
	}
	linkHeader(c, a.BaseURL(c.UserContext()), idList)
	return c.JSON(out)
}

func (a *api) getScheduled(c *fiber.Ctx) error {
	ss, err := a.Polls.ScheduledStatus(c.UserContext(), server.CurrentUser(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(scheduledEntity(ss))
}

func (a *api) reschedule(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	at, err := scheduledAtParam(p)
	if err != nil {
		return err
	}
	if at.IsZero() {
		return errs.Field("scheduled_at", "give the new time")
	}
	ss, err := a.Polls.Reschedule(c.UserContext(), server.CurrentUser(c), c.Params("id"), at)
	if err != nil {
		return err
	}
	return c.JSON(scheduledEntity(ss))
}

func (a *api) unschedule(c *fiber.Ctx) error {
	if err := a.Polls.Unschedule(c.UserContext(), server.CurrentUser(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
