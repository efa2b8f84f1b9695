package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) accountExtraRoutes(app *fiber.App) {
	ra, wa := server.RequireScope("read:accounts"), server.RequireScope("write:accounts")
	app.Get("/api/v1/accounts/search", ra, a.searchAccounts)
	app.Get("/api/v1/accounts/familiar_followers", server.RequireScope("read:follows"), a.familiarFollowers)
	app.Post("/api/v1/accounts/:id/note", wa, a.accountNote)
	app.Get("/api/v1/accounts/:id/identity_proofs", ra, a.identityProofs)
	// The directory lists colleagues: signed-in people only, unlike Mastodon's public one.
	app.Get("/api/v1/directory", ra, a.directory)
}

// stringParam is a text parameter that must be a string when sent as JSON (a number, list or
// object is a 422 naming it, rather than silently read as text).
func stringParam(p *params, name string) (string, error) {
	if v, ok := p.body[name]; ok && v != nil {
		if _, isString := v.(string); !isString {
			return "", errs.Field(name, "give %s as a string", name)
		}
	}
	return p.str(name), nil
}

// searchAccounts is GET /api/v1/accounts/search: colleagues by name, handle and work profile,
// then partner accounts this node knows; user@host with resolve=true fetches that account.
func (a *api) searchAccounts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := readParams(c)
	if err != nil {
		return err
	}
	q, err := stringParam(p, "q")
	if err != nil {
		return err
	}
	resolve, _, err := p.boolean("resolve")
	if err != nil {
		return err
	}
	following, _, err := p.boolean("following")
	if err != nil {
		return err
	}
	offset, err := countParam(p, "offset", 0, 10000)
	if err != nil {
		return err
	}
	limit, err := countParam(p, "limit", 40, 80)
	if err != nil {
		return err
	}
	me := server.CurrentUser(c)
	base := a.BaseURL(ctx)
	name := strings.TrimPrefix(strings.TrimSpace(q), "@")
	if local, ok := posts.LocalAcct(name, config.Host(base)); ok && strings.Contains(name, "@") {
		name = local
	}
	out := []Account{}
	if strings.Count(name, "@") == 1 && !strings.ContainsAny(name, " /") && offset == 0 {
		// user@host: this node's copy, or (resolve=true) the account fetched now.
		u, err := a.Accounts.RemoteByAcct(ctx, name)
		if err != nil && resolve && a.ResolveAccount != nil {
			u, err = a.ResolveAccount(ctx, name)
		}
		if err != nil && !errs.Is(err, errs.NotFound) && resolve {
			return err
		}
		if u != nil && (!following || a.follows(c, me.ID, u.ID)) {
			out = append(out, a.account(u, base))
		}
		return c.JSON(out)
	}
	sq := accounts.SearchQuery{Q: name, Offset: offset, Limit: limit}
	if following {
		sq.FollowedBy = me.ID
	}
	people, err := a.Accounts.Search(ctx, sq)
	if err != nil {
		return err
	}
	for _, u := range people {
		out = append(out, a.accountFor(me, u, base))
	}
	return c.JSON(out)
}

func (a *api) follows(c *fiber.Ctx, follower, followee string) bool {
	ok, err := a.Follows.Follows(c.UserContext(), a.Posts.DB, follower, followee)
	return err == nil && ok
}

// familiarFollowers is GET /api/v1/accounts/familiar_followers?id[]=: for each account, the
// people the viewer follows who follow it. Unknown ids are left out, as on Mastodon.
func (a *api) familiarFollowers(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ids, err := p.accountIDs()
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return c.JSON([]any{})
	}
	ctx := c.UserContext()
	known, err := a.Accounts.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	fam, err := a.Follows.Familiar(ctx, server.CurrentUser(c).ID, ids, 40)
	if err != nil {
		return err
	}
	var all []string
	for _, list := range fam {
		all = append(all, list...)
	}
	people, err := a.Accounts.GetMany(ctx, all)
	if err != nil {
		return err
	}
	base := a.BaseURL(ctx)
	type entry struct {
		ID       string    `json:"id"`
		Accounts []Account `json:"accounts"`
	}
	out := []entry{}
	seen := map[string]bool{}
	for _, id := range ids {
		if known[id] == nil || seen[id] {
			continue
		}
		seen[id] = true
		e := entry{ID: id, Accounts: []Account{}}
		for _, f := range fam[id] {
			if u := people[f]; u != nil && u.Active() {
				e.Accounts = append(e.Accounts, a.publicAccount(u, base))
			}
		}
		out = append(out, e)
	}
	return c.JSON(out)
}

// accountNote is POST /api/v1/accounts/:id/note (comment): the viewer's private note,
// answered with the relationship that carries it.
func (a *api) accountNote(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	note, err := stringParam(p, "comment")
	if err != nil {
		return err
	}
	me := server.CurrentUser(c)
	target, err := a.Accounts.Lookup(c.UserContext(), c.Params("id"))
	if err != nil {
		return errNotFound()
	}
	if err := a.Follows.SetNote(c.UserContext(), me.ID, target.ID, note); err != nil {
		return err
	}
	return a.answerRelationship(c, me.ID, target.ID)
}

func (a *api) identityProofs(c *fiber.Ctx) error {
	if _, err := a.Accounts.Lookup(c.UserContext(), c.Params("id")); err != nil {
		return errNotFound()
	}
	return c.JSON([]any{}) // identity proofs were removed from Mastodon; the company vouches instead
}

// directory is GET /api/v1/directory: the node's people, most recently active or newest
// first. local=false lists the same people: partners' people never chose to be listed in
// this company's directory.
func (a *api) directory(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	if _, _, err := p.boolean("local"); err != nil {
		return err
	}
	order := p.str("order")
	offset, err := countParam(p, "offset", 0, 100000)
	if err != nil {
		return err
	}
	limit, err := countParam(p, "limit", 40, 80)
	if err != nil {
		return err
	}
	people, err := a.Accounts.ProfileDirectory(c.UserContext(), accounts.DirectoryOrder(order), offset, limit)
	if err != nil {
		return err
	}
	me := server.CurrentUser(c)
	base := a.BaseURL(c.UserContext())
	out := make([]Account, 0, len(people))
	for i := range people {
		out = append(out, a.accountFor(me, &people[i], base))
	}
	return c.JSON(out)
}

// profileStatuses is GET /api/v1/accounts/:id/statuses: with pinned=true the author's pinned
// posts, with tagged= those with a hashtag, else every post the viewer may see.
func (a *api) profileStatuses(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
	author, err := a.Accounts.Lookup(c.UserContext(), c.Params("id"))
	if err != nil {
		return nil, errNotFound()
	}
	p, err := readParams(c)
	if err != nil {
		return nil, err
	}
	pinned, _, err := p.boolean("pinned")
	if err != nil {
		return nil, err
	}
	if pinned {
		return a.pinnedStatuses(c, v, author, pg)
	}
	withReplies := !c.QueryBool("exclude_replies")
	if tag := p.str("tagged"); tag != "" {
		return a.Posts.ProfileTagged(c.UserContext(), v, author.ID, tag, withReplies, pg)
	}
	return a.Posts.Profile(c.UserContext(), v, author.ID, withReplies, pg)
}

// accountFor renders u for viewer me: phone numbers only to the person and admins, as
// getAccount (they stay on the directory page, not in app caches).
func (a *api) accountFor(me, u *accounts.User, base string) Account {
	if u.ID == me.ID || me.IsAdmin() {
		return a.account(u, base)
	}
	return a.publicAccount(u, base)
}
