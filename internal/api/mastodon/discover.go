package mastodon

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/discover"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// TagHistory is one day of Mastodon's Tag history; every field is a string, as Mastodon sends.
type TagHistory struct {
	Day      string `json:"day"`
	Uses     string `json:"uses"`
	Accounts string `json:"accounts"`
}

// TrendTag is Mastodon's Tag entity with its history (trends, featured tag suggestions).
type TrendTag struct {
	Name      string       `json:"name"`
	URL       string       `json:"url"`
	History   []TagHistory `json:"history"`
	Following bool         `json:"following"`
}

// FeaturedTag is Mastodon's FeaturedTag entity.
type FeaturedTag struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	URL           string  `json:"url"`
	StatusesCount int     `json:"statuses_count"`
	LastStatusAt  *string `json:"last_status_at"` // a date (2006-01-02), as Mastodon sends
}

// Suggestion is Mastodon's Suggestion entity (v2).
type Suggestion struct {
	Source  string   `json:"source"`
	Sources []string `json:"sources"`
	Account Account  `json:"account"`
}

func (a *api) discoverRoutes(app *fiber.App) {
	if a.Discover == nil {
		return
	}
	// Trends are public on Mastodon; visitors see trends of public posts only.
	app.Get("/api/v1/trends", a.optionalRead, a.trendingTags) // the old name apps still call
	app.Get("/api/v1/trends/tags", a.optionalRead, a.trendingTags)
	app.Get("/api/v1/trends/statuses", a.optionalRead, a.trendingStatuses)
	// Links would come from link previews of trending posts; this node does not rank them.
	app.Get("/api/v1/trends/links", func(c *fiber.Ctx) error { return c.JSON([]any{}) })

	ra, wa := server.RequireScope("read:accounts"), server.RequireScope("write:accounts")
	app.Get("/api/v2/suggestions", server.RequireScope("read"), a.suggestions(true))
	app.Get("/api/v1/suggestions", server.RequireScope("read"), a.suggestions(false))
	app.Delete("/api/v1/suggestions/:account_id", server.RequireScope("read"), a.dismissSuggestion)

	app.Get("/api/v1/featured_tags", ra, a.myFeaturedTags)
	app.Post("/api/v1/featured_tags", wa, a.featureTag)
	app.Get("/api/v1/featured_tags/suggestions", ra, a.featuredTagSuggestions)
	app.Delete("/api/v1/featured_tags/:id", wa, a.unfeatureTag)
	app.Get("/api/v1/accounts/:id/featured_tags", ra, a.accountFeaturedTags)

	app.Get("/api/v1/endorsements", ra, a.endorsements)
	app.Post("/api/v1/accounts/:id/pin", wa, a.endorse(true))
	app.Post("/api/v1/accounts/:id/unpin", wa, a.endorse(false))
}

// countParam reads a non-negative number parameter: def when absent, at most max.
func countParam(p *params, name string, def, max int) (int, error) {
	s := p.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errs.Field(name, "%q is not a number", s)
	}
	return min(n, max), nil
}

// offsetLimit reads Mastodon's offset and limit of trend and suggestion lists.
func offsetLimit(c *fiber.Ctx, def, max int) (offset, limit int, err error) {
	p, err := readParams(c)
	if err != nil {
		return 0, 0, err
	}
	if offset, err = countParam(p, "offset", 0, 1<<20); err != nil {
		return 0, 0, err
	}
	limit, err = countParam(p, "limit", def, max)
	return offset, limit, err
}

func (a *api) tagEntity(base string, t discover.TagTrend) TrendTag {
	out := TrendTag{Name: t.Name, URL: base + "/tags/" + t.Name, History: make([]TagHistory, len(t.History))}
	for i, d := range t.History {
		out.History[i] = TagHistory{Day: strconv.FormatInt(d.Day.Unix(), 10), Uses: strconv.Itoa(d.Uses), Accounts: strconv.Itoa(d.Accounts)}
	}
	return out
}

func (a *api) trendingTags(c *fiber.Ctx) error {
	offset, limit, err := offsetLimit(c, 10, 20)
	if err != nil {
		return err
	}
	ts, err := a.Discover.TrendingTags(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), offset, limit)
	if err != nil {
		return err
	}
	names := make([]string, len(ts))
	for i := range ts {
		names[i] = ts[i].Name
	}
	followed, err := a.Posts.FollowingTags(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), names) // one query (tags.go)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := make([]TrendTag, len(ts))
	for i := range ts {
		out[i] = a.tagEntity(base, ts[i])
		out[i].Following = followed[ts[i].Name]
	}
	return c.JSON(out)
}

// trendingStatuses renders trending posts as timelines do (statuses, writeStatuses), with
// the viewer's reactions, shares and bookmarks; posts by people the viewer mutes are left out.
func (a *api) trendingStatuses(c *fiber.Ctx) error {
	offset, limit, err := offsetLimit(c, 20, 40)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	v := posts.ViewerOf(server.CurrentUser(c))
	ps, err := a.Discover.TrendingPosts(ctx, v, offset, limit)
	if err != nil {
		return err
	}
	if v != nil && a.Filters != nil && len(ps) > 0 {
		muted, err := a.Filters.Muting(ctx, v.ID, nil)
		if err != nil {
			return err
		}
		kept := ps[:0]
		for _, p := range ps {
			if _, ok := muted[p.AuthorID]; !ok {
				kept = append(kept, p)
			}
		}
		ps = kept
	}
	out, err := a.statuses(ctx, v, ps)
	if err != nil {
		return err
	}
	a.writeStatuses(c, out)
	return nil
}

// publicAccount renders a colleague for lists of other people: phone numbers stay on the
// directory page, as getAccount keeps them.
func (a *api) publicAccount(u *accounts.User, base string) Account {
	acc := a.account(u, base)
	if acc.Atrium != nil {
		acc.Atrium.Phone = ""
	}
	return acc
}

func (a *api) suggestions(v2 bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		_, limit, err := offsetLimit(c, 40, 80)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		me := server.CurrentUser(c)
		ss, err := a.Discover.Suggestions(ctx, me.ID, me.Department, limit)
		if err != nil {
			return err
		}
		idList := make([]string, len(ss))
		for i, s := range ss {
			idList[i] = s.AccountID
		}
		people, err := a.Accounts.GetMany(ctx, idList)
		if err != nil {
			return err
		}
		base := a.BaseURL(ctx)
		if !v2 {
			out := []Account{}
			for _, s := range ss {
				if u := people[s.AccountID]; u != nil {
					out = append(out, a.publicAccount(u, base))
				}
			}
			return c.JSON(out)
		}
		out := []Suggestion{}
		for _, s := range ss {
			u := people[s.AccountID]
			if u == nil {
				continue
			}
			// Mastodon's names: followed by people you follow is "friends_of_friends"
			// (legacy "past_interactions"); the rest is ranked node-wide ("global").
			sug := Suggestion{Source: "global", Sources: []string{"most_followed"}, Account: a.publicAccount(u, base)}
			if s.Mutual > 0 {
				sug.Source, sug.Sources = "past_interactions", []string{"friends_of_friends"}
			}
			out = append(out, sug)
		}
		return c.JSON(out)
	}
}

func (a *api) dismissSuggestion(c *fiber.Ctx) error {
	u, err := a.Accounts.Lookup(c.UserContext(), c.Params("account_id"))
	if err != nil {
		return errNotFound()
	}
	if err := a.Discover.Dismiss(c.UserContext(), server.CurrentUser(c).ID, u.ID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) featuredTagEntity(base string, t *discover.FeaturedTag) FeaturedTag {
	out := FeaturedTag{ID: t.ID, Name: t.Name, URL: base + "/tags/" + t.Name, StatusesCount: t.StatusesCount}
	if t.LastStatusAt != nil {
		d := t.LastStatusAt.UTC().Format(time.DateOnly)
		out.LastStatusAt = &d
	}
	return out
}

func (a *api) featuredTagList(c *fiber.Ctx, accountID string) error {
	ts, err := a.Discover.FeaturedTags(c.UserContext(), accountID)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := make([]FeaturedTag, len(ts))
	for i := range ts {
		out[i] = a.featuredTagEntity(base, &ts[i])
	}
	return c.JSON(out)
}

func (a *api) myFeaturedTags(c *fiber.Ctx) error {
	return a.featuredTagList(c, server.CurrentUser(c).ID)
}

func (a *api) accountFeaturedTags(c *fiber.Ctx) error {
	u, err := a.Accounts.Lookup(c.UserContext(), c.Params("id"))
	if err != nil {
		return errNotFound()
	}
	return a.featuredTagList(c, u.ID)
}

func (a *api) featureTag(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	if p.str("name") == "" {
		return errs.Field("name", "name the hashtag to feature")
	}
	t, err := a.Discover.Feature(c.UserContext(), server.CurrentUser(c).ID, p.str("name"))
	if err != nil {
		return err
	}
	return c.JSON(a.featuredTagEntity(a.BaseURL(c.UserContext()), t))
}

func (a *api) unfeatureTag(c *fiber.Ctx) error {
	if err := a.Discover.Unfeature(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// featuredTagSuggestions answers Tag entities; their history is empty, as the point is the
// name, and a week's counts per tag would cost a trends query for each.
func (a *api) featuredTagSuggestions(c *fiber.Ctx) error {
	names, err := a.Discover.TagSuggestions(c.UserContext(), server.CurrentUser(c).ID, 10)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := make([]TrendTag, len(names))
	for i, n := range names {
		out[i] = TrendTag{Name: n, URL: base + "/tags/" + n, History: []TagHistory{}}
	}
	return c.JSON(out)
}

func (a *api) endorsements(c *fiber.Ctx) error {
	ctx := c.UserContext()
	idList, err := a.Discover.Endorsed(ctx, server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	people, err := a.Accounts.GetMany(ctx, idList)
	if err != nil {
		return err
	}
	base := a.BaseURL(ctx)
	out := []Account{}
	for _, id := range idList {
		if u := people[id]; u != nil {
			out = append(out, a.publicAccount(u, base))
		}
	}
	return c.JSON(out)
}

// endorse pins (on) or unpins someone on the viewer's profile and answers the Relationship,
// with endorsed set from what was just done.
func (a *api) endorse(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		me := server.CurrentUser(c)
		target, err := a.Accounts.Lookup(ctx, c.Params("id"))
		if err != nil || !target.Active() {
			return errNotFound()
		}
		if on {
			err = a.Discover.Endorse(ctx, me.ID, target.ID)
		} else {
			err = a.Discover.Unendorse(ctx, me.ID, target.ID)
		}
		if err != nil {
			return err
		}
		return a.answerRelationship(c, me.ID, target.ID)
	}
}
