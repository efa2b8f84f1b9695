package mastodon

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/reports"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) moderationRoutes(app *fiber.App) {
	wb := server.RequireScope("write:blocks")
	app.Post("/api/v1/accounts/:id/block", wb, a.block(true))
	app.Post("/api/v1/accounts/:id/unblock", wb, a.block(false))
	app.Get("/api/v1/blocks", server.RequireScope("read:blocks"), a.blocks)
	app.Post("/api/v1/reports", server.RequireScope("write:reports"), a.report)
	// Admins read reports here; there is no web page for them yet.
	app.Get("/api/v1/admin/reports", server.RequireScope("admin:read:reports"), server.RequireAdmin, a.adminReports)
}

func (a *api) block(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		me := server.CurrentUser(c)
		target, err := a.Accounts.Lookup(ctx, c.Params("id"))
		if err != nil {
			return errNotFound()
		}
		if on {
			err = a.Follows.Block(ctx, me.ID, target.ID)
		} else {
			err = a.Follows.Unblock(ctx, me.ID, target.ID)
		}
		if err != nil {
			return err
		}
		return a.answerRelationship(c, me.ID, target.ID)
	}
}

// blocks lists the accounts the caller blocks, newest first (max_id: a block's time).
func (a *api) blocks(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(40, 80)
	if err != nil {
		return err
	}
	list, err := a.Follows.Blocks(c.UserContext(), server.CurrentUser(c).ID, parseTime(pg.MaxID), pg.Limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(list))
	for i, b := range list {
		ids[i] = b.BlockedID
	}
	return a.accountList(c, ids)
}

// report files a report (Mastodon's POST /api/v1/reports): account_id, status_ids[] (posts
// by that account), comment, forward (send it, anonymously, to a remote account's node).
func (a *api) report(c *fiber.Ctx) error {
	ctx := c.UserContext()
	me := server.CurrentUser(c)
	p, err := readParams(c)
	if err != nil {
		return err
	}
	if p.str("account_id") == "" {
		return errs.Field("account_id", "name the account you report (account_id)")
	}
	target, err := a.Accounts.Lookup(ctx, p.str("account_id"))
	if err != nil {
		return errNotFound()
	}
	forward, _, err := p.boolean("forward")
	if err != nil {
		return err
	}
	v := posts.ViewerOf(me)
	var postIDs []string
	for _, id := range p.strs("status_ids") {
		post, err := a.Posts.Get(ctx, v, id)
		if err != nil {
			return mapNotFound(err)
		}
		if post.AuthorID != target.ID {
			return errs.Field("status_ids", "post %s is not by the reported account", id)
		}
		postIDs = append(postIDs, post.ID)
	}
	r, err := a.Reports.File(ctx, reports.New{ReporterID: me.ID, ReporterName: me.Username, IP: c.IP(), TargetID: target.ID,
		PostIDs: postIDs, Comment: p.str("comment"), Forward: forward && target.IsRemote()})
	if err != nil {
		return err
	}
	m := a.reportEntity(r)
	m["target_account"] = a.account(target, a.BaseURL(ctx))
	return c.JSON(m)
}

func (a *api) reportEntity(r *reports.Report) fiber.Map {
	return fiber.Map{"id": r.ID, "action_taken": false, "action_taken_at": nil, "category": "other", "comment": r.Comment,
		"forwarded": r.Forwarded, "created_at": mastodonTime(r.CreatedAt), "status_ids": r.PostIDs(), "rule_ids": nil}
}

// adminReports lists reports newest first for admins (max_id: a report id), with the
// reporter as account and the reported as target_account.
func (a *api) adminReports(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(40, 200)
	if err != nil {
		return err
	}
	list, err := a.Reports.List(ctx, pg.MaxID, pg.Limit)
	if err != nil {
		return err
	}
	var people []string
	for _, r := range list {
		people = append(people, r.ReporterID, r.TargetID)
	}
	byID, err := a.Accounts.GetMany(ctx, people)
	if err != nil {
		return err
	}
	base := a.BaseURL(ctx)
	out := make([]fiber.Map, 0, len(list))
	ids := make([]string, 0, len(list))
	for i := range list {
		r := &list[i]
		m := a.reportEntity(r)
		m["account"], m["target_account"] = nil, nil
		if u := byID[r.ReporterID]; u != nil {
			m["account"] = a.account(u, base)
		}
		if u := byID[r.TargetID]; u != nil {
			m["target_account"] = a.account(u, base)
		}
		m["received"] = r.ActivityURI != "" // from a partner node (Flag)
		out = append(out, m)
		ids = append(ids, r.ID)
	}
	linkHeader(c, base, ids)
	return c.JSON(out)
}
