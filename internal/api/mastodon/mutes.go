package mastodon

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) muteRoutes(app *fiber.App) {
	// Follow requests: Atrium accounts are never locked, and follows from partner nodes are
	// accepted as they arrive (follows.FollowedFromRemote), so no request ever waits for an
	// answer here. The endpoints exist because apps call them.
	app.Get("/api/v1/follow_requests", server.RequireScope("read:follows"), func(c *fiber.Ctx) error { return c.JSON([]Account{}) })
	app.Post("/api/v1/follow_requests/:id/authorize", server.RequireScope("write:follows"), a.answerFollowRequest)
	app.Post("/api/v1/follow_requests/:id/reject", server.RequireScope("write:follows"), a.answerFollowRequest)
	if a.Filters == nil {
		return
	}
	app.Get("/api/v1/mutes", server.RequireScope("read:mutes"), a.mutes)
	app.Post("/api/v1/accounts/:id/mute", server.RequireScope("write:mutes"), a.mute(true))
	app.Post("/api/v1/accounts/:id/unmute", server.RequireScope("write:mutes"), a.mute(false))
	app.Get("/api/v1/domain_blocks", server.RequireScope("read:blocks"), a.domainBlocks)
	app.Post("/api/v1/domain_blocks", server.RequireScope("write:blocks"), a.domainBlock(true))
	app.Delete("/api/v1/domain_blocks", server.RequireScope("write:blocks"), a.domainBlock(false))
}

// answerFollowRequest is 404 as Mastodon answers for an account with no pending request,
// which here is every account (see muteRoutes).
func (a *api) answerFollowRequest(c *fiber.Ctx) error { return errNotFound() }

// relationshipEntities renders relationships with the viewer's mutes and domain blocks, which
// live here rather than in follows.
func (a *api) relationshipEntities(ctx context.Context, viewerID string, rels []follows.Relationship) ([]fiber.Map, error) {
	out := make([]fiber.Map, len(rels))
	for i, r := range rels {
		out[i] = relationship(r)
	}
	if a.Discover != nil && len(rels) > 0 {
		// Endorsements (profile pins) are few per person: one list read covers every row.
		endorsed, err := a.Discover.Endorsed(ctx, viewerID)
		if err != nil {
			return nil, err
		}
		for i, r := range rels {
			out[i]["endorsed"] = slices.Contains(endorsed, r.ID)
		}
	}
	if a.Filters == nil || len(rels) == 0 {
		return out, nil
	}
	ids := make([]string, len(rels))
	for i, r := range rels {
		ids[i] = r.ID
	}
	muted, err := a.Filters.Muting(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	doms, err := a.Filters.BlockedDomains(ctx, viewerID, "", 0)
	if err != nil {
		return nil, err
	}
	var people map[string]*Account
	if len(doms) > 0 {
		us, err := a.Accounts.GetMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		base := a.BaseURL(ctx)
		people = map[string]*Account{}
		for id, u := range us {
			acc := a.account(u, base)
			people[id] = &acc
		}
	}
	for i, r := range rels {
		if m, ok := muted[r.ID]; ok {
			out[i]["muting"], out[i]["muting_notifications"] = true, m.Notifications
		}
		if acc := people[r.ID]; acc != nil {
			if j := strings.LastIndexByte(acc.Acct, '@'); j >= 0 {
				for _, d := range doms {
					if d == strings.ToLower(acc.Acct[j+1:]) {
						out[i]["domain_blocking"] = true
					}
				}
			}
		}
	}
	return out, nil
}

func (a *api) mute(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		me := server.CurrentUser(c)
		target, err := a.Accounts.Lookup(ctx, c.Params("id"))
		if err != nil {
			return errNotFound()
		}
		if on {
			p, err := readParams(c)
			if err != nil {
				return err
			}
			notifications, ok, err := p.boolean("notifications")
			if err != nil {
				return err
			}
			if !ok {
				notifications = true // Mastodon's default
			}
			var d time.Duration
			if s := p.str("duration"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					return errs.Field("duration", "%q is not a number of seconds", s)
				}
				d = time.Duration(n) * time.Second
			}
			err = a.Filters.MuteAccount(ctx, me.ID, target.ID, notifications, d)
		} else {
			err = a.Filters.Unmute(ctx, me.ID, target.ID)
		}
		if err != nil {
			return err
		}
		return a.answerRelationship(c, me.ID, target.ID)
	}
}

// answerRelationship answers an action on an account (follow, block, mute, pin and their
// undoing) with the viewer's whole relationship to it as it now stands.
func (a *api) answerRelationship(c *fiber.Ctx, viewerID, targetID string) error {
	ctx := c.UserContext()
	rels, err := a.Follows.Relationships(ctx, viewerID, []string{targetID})
	if err != nil {
		return err
	}
	out, err := a.relationshipEntities(ctx, viewerID, rels)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound() // no such account (Relationships leaves unknown ids out)
	}
	return c.JSON(out[0])
}

// mutes pages the muted accounts by account id, newest id first, with max_id.
func (a *api) mutes(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(40, 80)
	if err != nil {
		return err
	}
	ms, err := a.Filters.Mutes(c.UserContext(), server.CurrentUser(c).ID, pg.MaxID, pg.Limit)
	if err != nil {
		return err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.MutedID
	}
	if len(ids) == pg.Limit {
		c.Set("Link", "<"+a.BaseURL(c.UserContext())+c.Path()+"?limit="+strconv.Itoa(pg.Limit)+"&max_id="+ids[len(ids)-1]+">; rel=\"next\"")
	}
	people, err := a.Accounts.GetMany(c.UserContext(), ids)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := []mutedAccount{}
	for _, m := range ms {
		if u := people[m.MutedID]; u != nil {
			ma := mutedAccount{Account: a.account(u, base)}
			if m.ExpiresAt != nil {
				t := mastodonTime(*m.ExpiresAt)
				ma.MuteExpiresAt = &t
			}
			out = append(out, ma)
		}
	}
	return c.JSON(out)
}

// mutedAccount is Mastodon's MutedAccount: an Account with when the mute ends (null: never).
type mutedAccount struct {
	Account
	MuteExpiresAt *string `json:"mute_expires_at"`
}

// domainBlocks lists the viewer's blocked domains, in name order, paged with max_id (the last
// domain of the previous page) and limit.
func (a *api) domainBlocks(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(100, 200)
	if err != nil {
		return err
	}
	ds, err := a.Filters.BlockedDomains(c.UserContext(), server.CurrentUser(c).ID, pg.MaxID, pg.Limit)
	if err != nil {
		return err
	}
	if len(ds) == pg.Limit {
		c.Set("Link", "<"+a.BaseURL(c.UserContext())+c.Path()+"?limit="+strconv.Itoa(pg.Limit)+"&max_id="+ds[len(ds)-1]+">; rel=\"next\"")
	}
	return c.JSON(ds)
}

func (a *api) domainBlock(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := readParams(c)
		if err != nil {
			return err
		}
		me := server.CurrentUser(c).ID
		if on {
			err = a.Filters.BlockDomain(c.UserContext(), me, p.str("domain"))
		} else {
			err = a.Filters.UnblockDomain(c.UserContext(), me, p.str("domain"))
		}
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}
