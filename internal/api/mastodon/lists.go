package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/lists"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// List is Mastodon's List entity.
type List struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	RepliesPolicy string `json:"replies_policy"`
	Exclusive     bool   `json:"exclusive"`
}

func listEntity(l *lists.List) List {
	return List{ID: l.ID, Title: l.Title, RepliesPolicy: l.RepliesPolicy, Exclusive: l.Exclusive}
}

func (a *api) listRoutes(app *fiber.App) {
	if a.Lists == nil {
		return
	}
	r, w := server.RequireScope("read:lists"), server.RequireScope("write:lists")
	app.Get("/api/v1/lists", r, a.allLists)
	app.Post("/api/v1/lists", w, a.createList)
	app.Get("/api/v1/lists/:id", r, a.getList)
	app.Put("/api/v1/lists/:id", w, a.updateList)
	app.Delete("/api/v1/lists/:id", w, a.deleteList)
	app.Get("/api/v1/lists/:id/accounts", r, a.listAccounts)
	app.Post("/api/v1/lists/:id/accounts", w, a.listMembers(true))
	app.Delete("/api/v1/lists/:id/accounts", w, a.listMembers(false))
	app.Get("/api/v1/accounts/:id/lists", r, a.accountLists)
	app.Get("/api/v1/timelines/list/:id", server.RequireScope("read:lists"), a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Lists.Timeline(c.UserContext(), v, c.Params("id"), pg)
	}))
}

// listInput reads title, replies_policy and exclusive; absent ones stay nil.
func listInput(p *params) (lists.Input, error) {
	var in lists.Input
	if p.has("title") {
		t := p.str("title")
		in.Title = &t
	}
	if rp := p.str("replies_policy"); rp != "" {
		in.RepliesPolicy = &rp
	}
	ex, ok, err := p.boolean("exclusive")
	if err != nil {
		return in, err
	}
	if ok {
		in.Exclusive = &ex
	}
	return in, nil
}

func (a *api) allLists(c *fiber.Ctx) error {
	ls, err := a.Lists.All(c.UserContext(), server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]List, len(ls))
	for i := range ls {
		out[i] = listEntity(&ls[i])
	}
	return c.JSON(out)
}

func (a *api) createList(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	in, err := listInput(p)
	if err != nil {
		return err
	}
	if in.Title == nil {
		return errs.Field("title", "give the list a title")
	}
	l, err := a.Lists.Create(c.UserContext(), server.CurrentUser(c).ID, in)
	if err != nil {
		return err
	}
	return c.JSON(listEntity(l))
}

func (a *api) getList(c *fiber.Ctx) error {
	l, err := a.Lists.Get(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(listEntity(l))
}

func (a *api) updateList(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	in, err := listInput(p)
	if err != nil {
		return err
	}
	l, err := a.Lists.Update(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(listEntity(l))
}

func (a *api) deleteList(c *fiber.Ctx) error {
	if err := a.Lists.Delete(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// listAccounts pages a list's members in account id order: limit (default 40, at most 80;
// 0 for all, as Mastodon) and max_id, the last account of the previous page.
func (a *api) listAccounts(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	limit := 40
	if l := p.str("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return errs.Field("limit", "%q is not a number", l)
		}
		limit = min(n, 80)
	}
	ids, err := a.Lists.Members(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"), p.str("max_id"), limit)
	if err != nil {
		return err
	}
	if limit > 0 && len(ids) == limit {
		c.Set("Link", "<"+a.BaseURL(c.UserContext())+c.Path()+"?limit="+strconv.Itoa(limit)+"&max_id="+ids[len(ids)-1]+">; rel=\"next\"")
	}
	return a.accountList(c, ids)
}

func (a *api) listMembers(add bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := readParams(c)
		if err != nil {
			return err
		}
		ids := p.strs("account_ids")
		if len(ids) > 1000 {
			return errs.Field("account_ids", "name at most %d accounts at a time", 1000)
		}
		me := server.CurrentUser(c).ID
		if add {
			err = a.Lists.AddMembers(c.UserContext(), me, c.Params("id"), ids)
		} else {
			err = a.Lists.RemoveMembers(c.UserContext(), me, c.Params("id"), ids)
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}

func (a *api) accountLists(c *fiber.Ctx) error {
	if _, err := a.Accounts.Lookup(c.UserContext(), c.Params("id")); err != nil {
		return errNotFound()
	}
	ls, err := a.Lists.Containing(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]List, len(ls))
	for i := range ls {
		out[i] = listEntity(&ls[i])
	}
	return c.JSON(out)
}
