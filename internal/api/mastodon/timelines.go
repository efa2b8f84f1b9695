package mastodon

import (
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) timelineRoutes(app *fiber.App) {
	read := server.RequireScope("read:statuses")
	app.Get("/api/v1/timelines/home", read, a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Posts.Home(c.UserContext(), v, pg)
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
		if _, err := a.Accounts.Lookup(c.UserContext(), c.Params("id")); err != nil {
			return nil, errNotFound()
		}
		return a.Posts.Profile(c.UserContext(), v, c.Params("id"), !c.QueryBool("exclude_replies"), pg)
	}))
	app.Get("/api/v1/favourites", server.RequireScope("read:favourites"), a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Posts.Reacted(c.UserContext(), v, pg)
	}))
	app.Get("/api/v1/bookmarks", server.RequireScope("read:bookmarks"), a.bookmarks)
}

func (a *api) timeline(load func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error)) fiber.Handler {
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
		ps, err := load(c, v, pg)
		if err != nil {
			if errs.Is(err, errs.NotFound) && v == nil {
				return errs.E(errs.Unauthorized, "This method requires an authenticated user")
			}
			return err
		}
		out, err := a.statuses(c.UserContext(), v, ps)
		if err != nil {
			return err
		}
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		linkHeader(c, a.BaseURL(c.UserContext()), ids)
		return writeJSON(c, out)
	}
}

// writeJSON answers with v encoded straight into the response buffer, which the server
// reuses, instead of c.JSON's encode-then-copy: a page of statuses is ~40 KB, and at
// thousands of pages a second that copy was a good part of the garbage collector's work.
func writeJSON(c *fiber.Ctx, v any) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if err := json.NewEncoder(c.Response().BodyWriter()).Encode(v); err != nil {
		return fmt.Errorf("encode the answer: %w", err)
	}
	return nil
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
	return c.JSON(out)
}
