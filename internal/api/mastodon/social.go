package mastodon

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) socialRoutes(app *fiber.App) {
	read := server.RequireScope("read:accounts")
	app.Get("/api/v1/accounts/lookup", read, a.lookup)
	app.Get("/api/v1/accounts/relationships", server.RequireScope("read:follows"), a.relationships)
	app.Post("/api/v1/accounts/:id/follow", server.RequireScope("write:follows"), a.follow(true))
	app.Post("/api/v1/accounts/:id/unfollow", server.RequireScope("write:follows"), a.follow(false))
	app.Get("/api/v1/accounts/:id/followers", read, a.followList(true))
	app.Get("/api/v1/accounts/:id/following", read, a.followList(false))

	rn := server.RequireScope("read:notifications")
	wn := server.RequireScope("write:notifications")
	app.Get("/api/v1/notifications", rn, a.notifications)
	app.Get("/api/v1/notifications/unread_count", rn, a.unreadCount)
	app.Post("/api/v1/notifications/clear", wn, a.clearNotifications)
	app.Get("/api/v1/notifications/:id", rn, a.notification)
	app.Post("/api/v1/notifications/:id/dismiss", wn, a.dismissNotification)

	app.Post("/api/v2/media", server.RequireScope("write:media"), a.upload)
	app.Post("/api/v1/media", server.RequireScope("write:media"), a.upload)
	app.Get("/api/v1/media/:id", server.RequireScope("write:media"), a.getMedia)
	app.Put("/api/v1/media/:id", server.RequireScope("write:media"), a.describeMedia)

	app.Get("/api/v2/search", server.RequireScope("read:search"), a.search)
	app.Get("/api/v1/announcements", server.RequireScope("read"), a.announcements)
	app.Post("/api/v1/announcements/:id/dismiss", server.RequireScope("write:accounts"), a.markRead)
}

func (a *api) lookup(c *fiber.Ctx) error {
	acct := strings.TrimPrefix(c.Query("acct"), "@")
	name, local := posts.LocalAcct(acct, config.Host(a.BaseURL(c.UserContext())))
	var u *accounts.User
	var err error
	if local {
		u, err = a.Accounts.ByUsername(c.UserContext(), name)
	} else {
		u, err = a.Accounts.RemoteByAcct(c.UserContext(), acct) // only accounts this node knows, as Mastodon
	}
	if err != nil {
		return errNotFound()
	}
	acc, err := a.accountWithCounts(c.UserContext(), u)
	if err != nil {
		return err
	}
	return c.JSON(acc)
}

func (a *api) relationships(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ids, err := p.accountIDs()
	if err != nil {
		return err
	}
	rels, err := a.Follows.Relationships(c.UserContext(), server.CurrentUser(c).ID, ids)
	if err != nil {
		return err
	}
	out, err := a.relationshipEntities(c.UserContext(), server.CurrentUser(c).ID, rels) // with mutes (mutes.go)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func relationship(r follows.Relationship) fiber.Map {
	return fiber.Map{"id": r.ID, "following": r.Following, "showing_reblogs": r.Following, "notifying": r.Notifying, "languages": nil,
		"followed_by": r.FollowedBy, "blocking": r.Blocking, "blocked_by": r.BlockedBy, "muting": false, "muting_notifications": false,
		"requested": r.Requested, "requested_by": false, "domain_blocking": false, "endorsed": false, "note": r.Note}
}

func (a *api) follow(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me := server.CurrentUser(c)
		target, err := a.Accounts.Lookup(c.UserContext(), c.Params("id"))
		if errs.Is(err, errs.NotFound) && a.Groups != nil {
			return a.followGroup(c, me, on) // a group shown as an account: following it is joining
		}
		if err != nil || !target.Active() {
			return errNotFound()
		}
		if on {
			p, err := readParams(c)
			if err != nil {
				return err
			}
			notify, setNotify, err := p.boolean("notify") // the profile's bell; absent leaves it
			if err != nil {
				return err
			}
			if _, err := a.Follows.Follow(c.UserContext(), me.ID, target.ID); err != nil {
				return err
			}
			if setNotify {
				if err := a.Follows.SetNotify(c.UserContext(), me.ID, target.ID, notify); err != nil {
					return err
				}
			}
		} else if err := a.Follows.Unfollow(c.UserContext(), me.ID, target.ID); err != nil {
			return err
		}
		return a.answerRelationship(c, me.ID, target.ID)
	}
}

func (a *api) followList(followers bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := a.Accounts.Lookup(c.UserContext(), c.Params("id")); err != nil {
			return errNotFound()
		}
		edges, err := a.Follows.Page(c.UserContext(), c.Params("id"), followers, parseTime(c.Query("max_id")), 80)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(edges))
		for _, e := range edges {
			if followers {
				ids = append(ids, e.FollowerID)
			} else {
				ids = append(ids, e.FolloweeID)
			}
		}
		return a.accountList(c, ids)
	}
}

// notificationEntity renders a notification in Mastodon's shape. Comments are "mention"
// notifications to apps (a reply mentions you in Mastodon), with Atrium's kind alongside.
func (a *api) notificationEntities(c *fiber.Ctx, ns []notify.Notification) ([]fiber.Map, error) {
	return a.notificationsFor(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), ns)
}

func (a *api) notificationsFor(ctx context.Context, v *posts.Viewer, ns []notify.Notification) ([]fiber.Map, error) {
	var from, postIDs, groupIDs []string
	for _, n := range ns {
		from = append(from, n.FromID)
		if n.PostID != nil {
			postIDs = append(postIDs, *n.PostID)
		}
		if n.GroupID != nil {
			groupIDs = append(groupIDs, *n.GroupID)
		}
	}
	people, err := a.Accounts.GetMany(ctx, from)
	if err != nil {
		return nil, err
	}
	groupViews, err := a.groupsSeenBy(ctx, v, groupIDs)
	if err != nil {
		return nil, err
	}
	statuses := map[string]Status{}
	for _, id := range postIDs {
		if _, ok := statuses[id]; ok {
			continue
		}
		if p, err := a.Posts.Get(ctx, v, id); err == nil {
			if st, err := a.status(ctx, v, p); err == nil {
				statuses[id] = st
			}
		}
	}
	base := a.BaseURL(ctx)
	out := make([]fiber.Map, 0, len(ns))
	for _, n := range ns {
		var gv *groups.View
		if n.GroupID != nil {
			if gv = groupViews[*n.GroupID]; gv == nil {
				continue // the group is gone, or hidden from the recipient now
			}
		}
		u := people[n.FromID]
		var account Account
		switch {
		case u != nil:
			account = a.account(u, base)
		case gv != nil:
			account = a.groupAccount(gv.Group, base) // a remote group's node acted, not a person
		default:
			continue
		}
		kind := NotificationType(n.Kind)
		m := fiber.Map{"id": n.ID, "type": kind, "created_at": mastodonTime(n.CreatedAt), "account": account,
			"atrium_kind": n.Kind, "atrium_emoji": n.Emoji, "group_key": "ungrouped-" + n.ID}
		if gv != nil {
			m["group"] = a.group(gv, base)
		}
		if n.PostID != nil {
			st, ok := statuses[*n.PostID]
			if !ok {
				continue // the post is gone or no longer visible
			}
			m["status"] = st
		}
		out = append(out, m)
	}
	return out, nil
}

func (a *api) notifications(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(40, 80)
	if err != nil {
		return err
	}
	q := notify.Query{MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID, Limit: pg.Limit,
		Types: kindsFrom(p.strs("types")), ExcludeTypes: kindsFrom(p.strs("exclude_types"))}
	ns, err := a.Notify.List(c.UserContext(), server.CurrentUser(c).ID, q)
	if err != nil {
		return err
	}
	out, err := a.notificationEntities(c, ns)
	if err == nil {
		out, err = a.screenNotifications(c.UserContext(), server.CurrentUser(c).ID, out) // mutes.go, filters.go
	}
	if err != nil {
		return err
	}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	linkHeader(c, a.BaseURL(c.UserContext()), ids)
	return c.JSON(out)
}

// NotificationType is the Mastodon type apps see for an Atrium notification kind: comments
// are mentions (a reply mentions you in Mastodon), announcements are "status" (a post by
// someone you asked to hear from); the rest share Mastodon's names or are Atrium's own. Web
// Push (internal/push) filters alerts by the same names.
func NotificationType(kind string) string {
	switch kind {
	case notify.Comment:
		return "mention"
	case notify.Announcement:
		return "status"
	}
	return kind
}

// kindsFrom maps Mastodon's type names onto ours (mention covers comments).
func kindsFrom(types []string) []string {
	var out []string
	for _, t := range types {
		out = append(out, t)
		if t == "mention" {
			out = append(out, notify.Comment)
		}
		if t == "status" {
			out = append(out, notify.Announcement)
		}
	}
	return out
}

func (a *api) unreadCount(c *fiber.Ctx) error {
	n, err := a.Notify.Unread(c.UserContext(), server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"count": n})
}

func (a *api) notification(c *fiber.Ctx) error {
	n, err := a.Notify.Get(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return errNotFound()
	}
	out, err := a.notificationEntities(c, []notify.Notification{*n})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound()
	}
	return c.JSON(out[0])
}

func (a *api) clearNotifications(c *fiber.Ctx) error {
	if err := a.Notify.Clear(c.UserContext(), server.CurrentUser(c).ID); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) dismissNotification(c *fiber.Ctx) error {
	if err := a.Notify.Dismiss(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) upload(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return errs.Field("file", "attach the file as multipart form field \"file\"")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	at, err := a.Posts.Upload(c.UserContext(), server.CurrentUser(c), f, fh.Filename, c.FormValue("description"))
	if err != nil {
		return err
	}
	return c.JSON(presenter{api: a, base: a.BaseURL(c.UserContext())}.media(*at))
}

func (a *api) getMedia(c *fiber.Ctx) error {
	at, err := a.Posts.Attachment(c.UserContext(), server.CurrentUser(c), c.Params("id"))
	if err != nil {
		return errNotFound()
	}
	return c.JSON(presenter{api: a, base: a.BaseURL(c.UserContext())}.media(*at))
}

func (a *api) describeMedia(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	at, err := a.Posts.Describe(c.UserContext(), server.CurrentUser(c), c.Params("id"), p.str("description"))
	if err != nil {
		return err
	}
	return c.JSON(presenter{api: a, base: a.BaseURL(c.UserContext())}.media(*at))
}

func (a *api) search(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		return errs.Field("q", "say what to search for")
	}
	kind := c.Query("type")
	limit := c.QueryInt("limit", 20)
	if limit < 1 || limit > 40 {
		limit = 20
	}
	base := a.BaseURL(ctx)
	v := posts.ViewerOf(server.CurrentUser(c))
	res := fiber.Map{"accounts": []Account{}, "statuses": []Status{}, "hashtags": []fiber.Map{}}
	if kind == "" || kind == "accounts" {
		name := strings.TrimPrefix(q, "@")
		if local, ok := posts.LocalAcct(name, config.Host(base)); ok && strings.Contains(name, "@") {
			name = local
		}
		list := []Account{}
		if strings.Count(name, "@") == 1 && !strings.ContainsAny(name, " /") {
			// @bob@globex.example: this node's copy, or (resolve=true) the account fetched now.
			u, err := a.Accounts.RemoteByAcct(ctx, name)
			if err != nil && c.QueryBool("resolve") && a.ResolveAccount != nil && server.CurrentUser(c) != nil {
				u, err = a.ResolveAccount(ctx, name)
			}
			if err != nil && !errs.Is(err, errs.NotFound) && c.QueryBool("resolve") {
				return err
			}
			if u != nil {
				list = append(list, a.account(u, base))
			}
		} else {
			people, err := a.Accounts.Directory(ctx, accounts.DirectoryQuery{Q: name, Limit: limit})
			if err != nil {
				return err
			}
			for i := range people {
				list = append(list, a.account(&people[i], base))
			}
		}
		res["accounts"] = list
	}
	if kind == "" || kind == "hashtags" {
		tags, err := a.Posts.SearchTags(ctx, strings.TrimPrefix(q, "#"), limit)
		if err != nil {
			return err
		}
		followed, err := a.Posts.FollowingTags(ctx, v, tags) // one query for the page (tags.go)
		if err != nil {
			return err
		}
		list := []fiber.Map{}
		for _, t := range tags {
			list = append(list, fiber.Map{"name": t, "url": base + "/tags/" + t, "history": []any{}, "following": followed[t]})
		}
		res["hashtags"] = list
	}
	if kind == "" || kind == "statuses" {
		ps, err := a.Posts.Search(ctx, v, q, limit)
		if err != nil {
			return err
		}
		sts, err := a.statuses(ctx, v, ps)
		if err != nil {
			return err
		}
		res["statuses"] = sts
	}
	return c.JSON(res)
}

// announcements maps the node's important posts onto Mastodon's Announcement entity.
func (a *api) announcements(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	ps, err := a.Posts.Announcements(c.UserContext(), v)
	if err != nil {
		return err
	}
	out := []fiber.Map{}
	for _, p := range ps {
		m := fiber.Map{"id": p.ID, "content": p.ContentHTML, "starts_at": nil, "ends_at": nil, "all_day": false,
			"published_at": mastodonTime(p.CreatedAt), "updated_at": mastodonTime(p.CreatedAt), "read": false,
			"mentions": []any{}, "statuses": []any{}, "tags": []any{}, "emojis": []any{}, "reactions": []any{}}
		if p.ImportantUntil != nil {
			m["ends_at"] = mastodonTime(*p.ImportantUntil)
		}
		out = append(out, m)
	}
	return c.JSON(out)
}

// followGroup joins (or leaves) the group a Mastodon app sees as an account with group: true,
// as Mastodon apps follow Lemmy communities and Friendica forums: an open group admits at
// once ("following"), a closed one records a request ("requested"), and a secret group the
// person is not invited to is not found, as everywhere.
func (a *api) followGroup(c *fiber.Ctx, me *accounts.User, on bool) error {
	ctx, id := c.UserContext(), c.Params("id")
	var err error
	if on {
		_, err = a.Groups.Join(ctx, me, id, "")
	} else {
		err = a.Groups.Leave(ctx, me, id)
	}
	if errs.Is(err, errs.NotFound) {
		return errNotFound()
	}
	if err != nil {
		return err
	}
	m, err := a.Groups.MembershipOf(ctx, id, me.ID)
	if err != nil {
		return err
	}
	r := follows.Relationship{ID: id, Following: m.Active(), Requested: m != nil && m.State == groups.Requested}
	return c.JSON(relationship(r))
}
