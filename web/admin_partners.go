package web

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/server"
)

// partnerRow is one partner as the page shows it: the policy plus, when deliveries have been
// attempted, their health.
type partnerRow struct {
	Host, State, Note string
	CreatedAt         time.Time
	Health            *healthView // nil: nothing delivered to or tried with the host yet
}

// healthView is orgs.PeerHealth with its optional times flattened for the template.
type healthView struct {
	LastSuccess, LastFailure time.Time // zero when none
	Failures, QueueDepth     int
	LastError                string
	Unavailable, Failing     bool
}

type partnersData struct {
	Mode          string // orgs.ModeAllowlist or orgs.ModeOpen
	Open          bool
	Rows          []partnerRow
	Host, Note    string // what the form held, kept when it fails
	HealthMissing bool   // health could not be read: the table says so instead of guessing
}

// adminPartners draws the partner policy with each partner's delivery health.
func (s *site) adminPartners(c *fiber.Ctx) error {
	return s.partnersPage(c, &page{}, partnersData{}, nil)
}

// partnersPage draws the page with the form holding d's Host and Note and, when failure is a
// service error, its message above the form.
func (s *site) partnersPage(c *fiber.Ctx, p *page, d partnersData, failure error) error {
	ctx := c.UserContext()
	list, err := s.Partners.List(ctx)
	if err != nil {
		return err
	}
	d.Mode, d.Open = s.Partners.Mode(), s.Partners.Mode() == orgs.ModeOpen
	var health map[string]orgs.PeerHealth
	if s.Health != nil && len(list) > 0 {
		hosts := make([]string, len(list))
		for i := range list {
			hosts[i] = list[i].Host
		}
		if health, err = s.Health(ctx, hosts); err != nil {
			// The policy matters more than the statistics: show it, and say health is missing.
			s.Log.Warn("partners page: read delivery health", "err", err)
			d.HealthMissing, health = true, nil
		}
	}
	d.Rows = make([]partnerRow, 0, len(list))
	for _, pt := range list {
		r := partnerRow{Host: pt.Host, State: pt.State, Note: pt.Note, CreatedAt: pt.CreatedAt}
		if h, ok := health[pt.Host]; ok {
			r.Health = newHealthView(h) // nil when nothing is known yet
		}
		d.Rows = append(d.Rows, r)
	}
	p.Title, p.Nav, p.Data = "Partners", "admin", d
	if failure != nil {
		return s.formError(c, failure, "admin_partners", p)
	}
	return s.render(c, fiber.StatusOK, "admin_partners", p)
}

// newHealthView flattens h, or returns nil when it records nothing at all: a health source
// may answer every host asked for, zero-valued for those it has never dealt with.
func newHealthView(h orgs.PeerHealth) *healthView {
	if h.LastSuccessAt == nil && h.LastFailureAt == nil && h.QueueDepth == 0 && h.Failures == 0 &&
		h.Delivered == 0 && h.Received == 0 && !h.Unavailable && h.LastError == "" {
		return nil
	}
	v := &healthView{Failures: h.Failures, QueueDepth: h.QueueDepth, LastError: h.LastError,
		Unavailable: h.Unavailable, Failing: h.FailingSince != nil}
	if h.LastSuccessAt != nil {
		v.LastSuccess = *h.LastSuccessAt
	}
	if h.LastFailureAt != nil {
		v.LastFailure = *h.LastFailureAt
	}
	return v
}

// partnerActor is the signed-in administrator as the partner service records them. The route
// is guarded by server.RequireAdmin; the service checks Admin again, so a wiring mistake
// cannot open the policy to members.
func partnerActor(c *fiber.Ctx) orgs.Actor {
	u := server.CurrentUser(c)
	return orgs.Actor{ID: u.ID, Name: u.Username, IP: server.ClientIP(c), Admin: u.IsAdmin()}
}

// adminChangePartner allows or blocks a host, as the button pressed says.
func (s *site) adminChangePartner(c *fiber.Ctx) error {
	d := partnersData{Host: strings.TrimSpace(fv(c, "host")), Note: strings.TrimSpace(fv(c, "note"))}
	var err error
	flash := "partner_added"
	switch fv(c, "action") {
	case "block":
		_, err = s.Partners.Block(c.UserContext(), partnerActor(c), d.Host, d.Note)
		flash = "partner_blocked"
	default:
		_, err = s.Partners.Add(c.UserContext(), partnerActor(c), d.Host, d.Note)
	}
	if err != nil {
		return s.partnersPage(c, &page{}, d, err)
	}
	return s.redirect(c, "/admin/partners", flash)
}

// adminRemovePartner takes a host off the list. The host travels in the form rather than the
// path: hosts hold ports and brackets that make awkward path segments.
func (s *site) adminRemovePartner(c *fiber.Ctx) error {
	if err := s.Partners.Remove(c.UserContext(), partnerActor(c), fv(c, "host")); err != nil {
		return s.partnersPage(c, &page{}, partnersData{}, err)
	}
	return s.redirect(c, "/admin/partners", "partner_removed")
}
