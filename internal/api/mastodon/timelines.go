package mastodon

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) timelineRoutes(app *fiber.App) {
	read := server.RequireScope("read:statuses")
	app.Get("/api/v1/timelines/home", read, a.timelineWithState(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, *posts.ViewerState, error) {
		ps, st, err := a.Posts.HomeWithState(c.UserContext(), v, pg)
		return ps, &st, err
	}))
	// The public timeline with local=true is the company timeline. Without a session it shows
	// nothing of the company: anonymous visitors see only public posts.
	app.Get("/api/v1/timelines/public", a.optionalRead, a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		if c.QueryBool("local") {
			return a.Posts.Company(c.UserContext(), v, pg)
		}
		return a.Posts.Public(c.UserContext(), v, pg)
	}))
	app.Get("/api/v1/timelines/tag/:tag", a.optionalRead, a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Posts.Tag(c.UserContext(), v, c.Params("tag"), pg)
	}))
	app.Get("/api/v1/accounts/:id/statuses", a.optionalRead, a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.profileStatuses(c, v, pg) // with pinned= and tagged= (accounts_extra.go)
	}))
	app.Get("/api/v1/favourites", server.RequireScope("read:favourites"), a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Posts.Reacted(c.UserContext(), v, pg)
	}))
	app.Get("/api/v1/bookmarks", server.RequireScope("read:bookmarks"), a.bookmarks)
}

func (a *api) timeline(load func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error)) fiber.Handler {
	return a.timelineWithState(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, *posts.ViewerState, error) {
		ps, err := load(c, v, pg)
		return ps, nil, err
	})
}

// timelineWithState serves a timeline whose load may also return the viewer's state of its
// posts (nil: the presenter reads it).
func (a *api) timelineWithState(load func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, *posts.ViewerState, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := readParams(c)
		if err != nil {
			return err
		}
		pg, err := p.page(20, 40)
		if err != nil {
			return err
		}
		v := posts.ViewerOf(server.CurrentUser(c))
		ps, state, err := load(c, v, pg)
		if err != nil {
			if errs.Is(err, errs.NotFound) && v == nil {
				return errs.E(errs.Unauthorized, "This method requires an authenticated user")
			}
			return err
		}
		out, err := a.statusesWith(c.UserContext(), v, ps, state)
		if err == nil {
			out, err = a.screenStatuses(c, v, out) // mutes, domain blocks, filters (filters.go)
		}
		if err != nil {
			return err
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		linkHeader(c, a.BaseURL(c.UserContext()), ids)
		a.writeStatuses(c, out)
		return nil
	}
}

// writeStatuses answers with list, encoded by appendStatuses into a recycled buffer and
// copied once into the response, which the server reuses: a page of statuses is ~45 KB,
// and encoding/json's reflection and buffers were a sixth of a page's cost. The body ends
// with a newline, as json.Encoder ended it before.
func (a *api) writeStatuses(c *fiber.Ctx, list []Status) {
	bp, _ := a.jsonBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 64<<10)
		bp = &b
	}
	b := append(appendStatuses((*bp)[:0], list), '\n')
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBody(b)
	if cap(b) <= 1<<20 { // a rare huge page is left to the collector rather than kept
		*bp = b
		a.jsonBufs.Put(bp)
	}
}

func (a *api) bookmarks(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(20, 40)
	if err != nil {
		return err
	}
	v := posts.ViewerOf(server.CurrentUser(c))
	ps, seqs, err := a.Posts.Bookmarks(c.UserContext(), v, pg)
	if err != nil {
		return err
	}
	out, err := a.statuses(c.UserContext(), v, ps)
	if err != nil {
		return err
	}
	linkHeader(c, a.BaseURL(c.UserContext()), seqs)
	a.writeStatuses(c, out)
	return nil
}
