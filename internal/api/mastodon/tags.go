package mastodon

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// Followed hashtags (Mastodon's /api/v1/tags and /api/v1/followed_tags). Following a tag
// brings the public and company posts carrying it into the home feed (posts.tagFanOut).

func (a *api) tagRoutes(app *fiber.App) {
	rf, wf := server.RequireScope("read:follows"), server.RequireScope("write:follows")
	app.Get("/api/v1/followed_tags", rf, a.followedTags)
	// Mastodon shows a tag to visitors too; signed in, the token needs read:follows for `following`.
	app.Get("/api/v1/tags/:name", a.optionalScope("read:follows"), a.getTag)
	app.Post("/api/v1/tags/:name/follow", wf, a.followTag(true))
	app.Post("/api/v1/tags/:name/unfollow", wf, a.followTag(false))
}

// optionalScope lets anonymous callers through but checks a token's scope.
func (a *api) optionalScope(scope string) fiber.Handler {
	check := server.RequireScope(scope)
	return func(c *fiber.Ctx) error {
		if server.CurrentUser(c) == nil {
			return c.Next()
		}
		return check(c)
	}
}

func (a *api) tagInfoEntity(base string, t *posts.TagInfo) TrendTag {
	out := TrendTag{Name: t.Name, URL: base + "/tags/" + t.Name, History: make([]TagHistory, len(t.History)), Following: t.Following}
	for i, d := range t.History {
		out.History[i] = TagHistory{Day: strconv.FormatInt(d.Day.Unix(), 10), Uses: strconv.Itoa(d.Uses), Accounts: strconv.Itoa(d.Accounts)}
	}
	return out
}

func (a *api) getTag(c *fiber.Ctx) error {
	t, err := a.Posts.TagInfo(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), tagParam(c))
	if err != nil {
		return err
	}
	return c.JSON(a.tagInfoEntity(a.BaseURL(c.UserContext()), t))
}

func (a *api) followTag(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v := posts.ViewerOf(server.CurrentUser(c))
		var t *posts.TagInfo
		var err error
		if on {
			t, err = a.Posts.FollowTag(c.UserContext(), v, tagParam(c))
		} else {
			t, err = a.Posts.UnfollowTag(c.UserContext(), v, tagParam(c))
		}
		if err != nil {
			return err
		}
		return c.JSON(a.tagInfoEntity(a.BaseURL(c.UserContext()), t))
	}
}

// followedTags lists the hashtags the viewer follows, newest follow first, with Mastodon's
// Link header (the page ids are the follows').
func (a *api) followedTags(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(100, 200)
	if err != nil {
		return err
	}
	v := posts.ViewerOf(server.CurrentUser(c))
	fs, err := a.Posts.FollowedTags(c.UserContext(), v, pg)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := make([]TrendTag, len(fs))
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
		// The list's own history would cost a query per tag; apps show it only on a tag's page.
		out[i] = TrendTag{Name: f.Tag, URL: base + "/tags/" + f.Tag, History: []TagHistory{}, Following: true}
	}
	linkHeader(c, base, ids)
	return c.JSON(out)
}

// tagParam is the :name of the path, unescaped (apps send #golang as %23golang).
func tagParam(c *fiber.Ctx) string {
	name := c.Params("name")
	if u, err := url.PathUnescape(name); err == nil {
		return u
	}
	return name
}
