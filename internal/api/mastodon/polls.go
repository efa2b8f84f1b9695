package mastodon

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// Poll is Mastodon's Poll entity. Polls are this node's only: they are not federated.
type Poll struct {
	ID          string       `json:"id"`
	ExpiresAt   *string      `json:"expires_at"`
	Expired     bool         `json:"expired"`
	Multiple    bool         `json:"multiple"`
	VotesCount  int          `json:"votes_count"`
	VotersCount *int         `json:"voters_count"`
	Options     []PollOption `json:"options"`
	Emojis      []any        `json:"emojis"`
	// Voted and OwnVotes are only there for a signed-in viewer, as on Mastodon.
	Voted    *bool `json:"voted,omitempty"`
	OwnVotes []int `json:"own_votes,omitempty"`
}

// PollOption is one of a poll's options; votes_count is null while totals are hidden.
type PollOption struct {
	Title      string `json:"title"`
	VotesCount *int   `json:"votes_count"`
}

func (a *api) pollRoutes(app *fiber.App) {
	if a.Polls == nil {
		return
	}
	app.Get("/api/v1/polls/:id", a.optionalRead, a.getPoll)
	app.Post("/api/v1/polls/:id/votes", server.RequireScope("write:statuses"), a.votePoll)
}

// pollEntity renders a poll. Hidden totals stay hidden until the poll ends, except to its
// author (Mastodon's rule): the per-option counts are null, the overall counts remain.
func pollEntity(pv *polls.View, v *posts.Viewer) *Poll {
	exp := mastodonTime(pv.ExpiresAt)
	voters := pv.VotersCount
	out := &Poll{ID: pv.ID, ExpiresAt: &exp, Expired: pv.Expired, Multiple: pv.Multiple, VotesCount: pv.VotesCount,
		VotersCount: &voters, Options: make([]PollOption, len(pv.Options)), Emojis: []any{}}
	show := !pv.HideTotals || pv.Expired || pv.Mine
	for i, t := range pv.Options {
		out.Options[i].Title = t
		if show {
			n := pv.Counts[i]
			out.Options[i].VotesCount = &n
		}
	}
	if v != nil {
		voted := pv.Voted || pv.Mine // Mastodon reports an author as having voted: they cannot
		out.Voted = &voted
		out.OwnVotes = pv.OwnVotes
		if out.OwnVotes == nil {
			out.OwnVotes = []int{}
		}
	}
	return out
}

func (a *api) getPoll(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	pv, err := a.Polls.Get(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	return c.JSON(pollEntity(pv, v))
}

func (a *api) votePoll(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	var choices []int
	for _, s := range p.strs("choices") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return errs.Field("choices", "%q is not an option index", s)
		}
		choices = append(choices, n)
	}
	if raw, ok := p.body["choices"].([]any); ok && len(choices) == 0 { // JSON numbers
		for _, x := range raw {
			f, ok := x.(float64)
			if !ok || f != float64(int(f)) {
				return errs.Field("choices", "choices are option indexes")
			}
			choices = append(choices, int(f))
		}
	}
	u := server.CurrentUser(c)
	pv, err := a.Polls.Vote(c.UserContext(), u, c.Params("id"), choices)
	if err != nil {
		return mapNotFound(err)
	}
	return c.JSON(pollEntity(pv, posts.ViewerOf(u)))
}

// pollParam reads poll[options][], poll[expires_in], poll[multiple] and poll[hide_totals]
// from a form, or {"poll": {...}} from JSON; nil when no poll was sent.
func pollParam(p *params) (*polls.Spec, error) {
	var sp polls.Spec
	var expires string
	var multiple, hide string
	if obj, ok := p.body["poll"].(map[string]any); ok {
		sub := &params{c: p.c, body: obj}
		if arr, ok := obj["options"].([]any); ok {
			for _, x := range arr {
				s, ok := x.(string)
				if !ok {
					return nil, errs.Field("poll[options]", "options are strings")
				}
				sp.Options = append(sp.Options, s)
			}
		}
		expires, multiple, hide = sub.str("expires_in"), sub.str("multiple"), sub.str("hide_totals")
	} else {
		sp.Options = p.strs("poll[options]")
		expires, multiple, hide = p.str("poll[expires_in]"), p.str("poll[multiple]"), p.str("poll[hide_totals]")
		if len(sp.Options) == 0 && expires == "" {
			return nil, nil
		}
	}
	n, err := strconv.Atoi(expires)
	if err != nil {
		return nil, errs.Field("poll[expires_in]", "%q is not a number of seconds", expires)
	}
	sp.ExpiresIn = time.Duration(n) * time.Second
	for _, f := range []struct {
		name string
		raw  string
		to   *bool
	}{{"poll[multiple]", multiple, &sp.Multiple}, {"poll[hide_totals]", hide, &sp.HideTotals}} {
		switch strings.ToLower(f.raw) {
		case "", "false", "0", "off", "no":
		case "true", "1", "on", "yes":
			*f.to = true
		default:
			return nil, errs.Field(f.name, "%q is not true or false", f.raw)
		}
	}
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	return &sp, nil
}
