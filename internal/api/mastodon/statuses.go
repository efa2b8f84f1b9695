package mastodon

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/polls"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

func (a *api) statusRoutes(app *fiber.App) {
	read, write := server.RequireScope("read:statuses"), server.RequireScope("write:statuses")
	app.Post("/api/v1/statuses", write, a.createStatus)
	app.Get("/api/v1/statuses/:id", a.optionalRead, a.getStatus)
	app.Put("/api/v1/statuses/:id", write, a.editStatus)
	app.Delete("/api/v1/statuses/:id", write, a.deleteStatus)
	app.Get("/api/v1/statuses/:id/context", a.optionalRead, a.statusContext)
	app.Get("/api/v1/statuses/:id/history", read, a.statusHistory)
	app.Get("/api/v1/statuses/:id/source", read, a.statusSource)
	app.Get("/api/v1/statuses/:id/favourited_by", read, a.favouritedBy)
	app.Get("/api/v1/statuses/:id/reblogged_by", read, a.rebloggedBy)
	app.Get("/api/v1/statuses/:id/reactions", read, a.reactionsList)
	app.Get("/api/v1/statuses/:id/receipts", read, a.receipts)
	fav := server.RequireScope("write:favourites")
	app.Post("/api/v1/statuses/:id/favourite", fav, a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		return a.Posts.React(c.UserContext(), u, id, posts.Like)
	}))
	app.Post("/api/v1/statuses/:id/react", fav, a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		p, err := readParams(c)
		if err != nil {
			return nil, err
		}
		return a.Posts.React(c.UserContext(), u, id, p.str("emoji"))
	}))
	unreact := a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		return a.Posts.Unreact(c.UserContext(), u, id)
	})
	app.Post("/api/v1/statuses/:id/unfavourite", fav, unreact)
	app.Post("/api/v1/statuses/:id/unreact", fav, unreact)
	app.Post("/api/v1/statuses/:id/reblog", write, a.reblog)
	app.Post("/api/v1/statuses/:id/unreblog", write, a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		return a.Posts.Unboost(c.UserContext(), u, id)
	}))
	bm := server.RequireScope("write:bookmarks")
	app.Post("/api/v1/statuses/:id/bookmark", bm, a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		return a.Posts.Bookmark(c.UserContext(), u, id)
	}))
	app.Post("/api/v1/statuses/:id/unbookmark", bm, a.interact(func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error) {
		return a.Posts.Unbookmark(c.UserContext(), u, id)
	}))
	app.Post("/api/v1/statuses/:id/read", write, a.markRead)
}

// optionalRead lets anonymous callers through (public posts) but checks a token's scope.
func (a *api) optionalRead(c *fiber.Ctx) error {
	if server.CurrentUser(c) == nil {
		return c.Next()
	}
	return server.RequireScope("read:statuses")(c)
}

func (a *api) createStatus(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	in := posts.NewPost{Text: p.str("status"), InReplyToID: p.str("in_reply_to_id"), AttachmentIDs: p.strs("media_ids"),
		SpoilerText: p.str("spoiler_text"), Language: p.str("language"), Recipients: p.strs("recipients"), GroupID: p.str("group_id")}
	if in.Sensitive, _, err = p.boolean("sensitive"); err != nil {
		return err
	}
	localOnly, _, err := p.boolean("local_only")
	if err != nil {
		return err
	}
	if in.Audience, err = audienceParam(p.str("visibility"), localOnly); err != nil {
		return err
	}
	if in.GroupID != "" {
		in.Audience = posts.Group
	}
	if in.Important, _, err = p.boolean("important"); err != nil {
		return err
	}
	if in.EmailEveryone, _, err = p.boolean("email_everyone"); err != nil {
		return err
	}
	if s := p.str("important_until"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return errs.Field("important_until", "%q is not a time like 2026-12-01T17:00:00Z", s)
		}
		in.ImportantUntil = &t
	}
	poll, err := pollParam(p)
	if err != nil {
		return err
	}
	if poll != nil && len(in.AttachmentIDs) > 0 {
		return errs.Field("poll", "a status has either a poll or attached files, not both")
	}
	if (poll != nil || p.str("scheduled_at") != "") && a.Polls == nil {
		return errs.E(errs.Unavailable, "polls and scheduled statuses are not set up on this node")
	}
	at, err := scheduledAtParam(p)
	if err != nil {
		return err
	}
	if !at.IsZero() { // stored, and posted at its time through this same Create (internal/polls)
		vis, _ := visibility(in.Audience)
		ss, err := a.Polls.Schedule(c.UserContext(), u, at, polls.ParamsOf(in, poll, vis))
		if err != nil {
			return err
		}
		return c.JSON(scheduledEntity(ss))
	}
	if poll != nil {
		in.Extra = a.Polls.WithPost(poll)
	}
	in.IdempotencyKey = c.Get("Idempotency-Key") // apps resend with the same key after a dropped connection
	post, err := a.Posts.Create(c.UserContext(), u, in)
	if err != nil {
		return err
	}
	a.afterCreate(c, post)
	// A post created just now has no reactions, shares or bookmarks of its author yet: its
	// viewer state is known without a query.
	none := posts.ViewerState{Reaction: map[string]string{}, Shared: map[string]bool{}, Bookmarked: map[string]bool{}}
	list, err := a.statusesWith(c.UserContext(), posts.ViewerOf(u), []*posts.Post{post}, &none)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return errNotFound()
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBody(appendStatus(nil, &list[0]))
	return nil
}

// audienceParam maps Mastodon's visibility onto an audience. Without a visibility the
// company audience applies (the default); unlisted is treated as public; local_only
// narrows public to the company.
func audienceParam(v string, localOnly bool) (posts.Audience, error) {
	switch v {
	case "", "local", "company":
		return posts.Company, nil
	case "public", "unlisted":
		if localOnly {
			return posts.Company, nil
		}
		return posts.Public, nil
	case "private":
		return posts.Followers, nil
	case "direct":
		return posts.Direct, nil
	}
	return "", errs.Field("visibility", "%q is not public, unlisted, private or direct", v)
}

func (a *api) getStatus(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	p, err := a.Posts.Get(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	st, err := a.status(c.UserContext(), v, p)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (a *api) editStatus(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	// What the edit does not name stays as it was (Mastodon's UpdateStatusService): an app
	// that sends only the new text must not strip the post's files or content warning.
	cur, err := a.Posts.Get(c.UserContext(), posts.ViewerOf(u), c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	ch := posts.Change{Text: p.str("status"), SpoilerText: cur.SpoilerText, Sensitive: cur.Sensitive}
	if p.has("spoiler_text") {
		ch.SpoilerText = p.str("spoiler_text")
	}
	if sensitive, ok, err := p.boolean("sensitive"); err != nil {
		return err
	} else if ok {
		ch.Sensitive = sensitive
	}
	if p.has("media_ids") {
		ch.AttachmentIDs = p.strs("media_ids")
	} else {
		for _, at := range cur.Attachments {
			ch.AttachmentIDs = append(ch.AttachmentIDs, at.ID)
		}
	}
	// A poll is as the edit states it, as on Mastodon: the same options keep it and its votes,
	// others replace it (votes reset), and an edit without a poll removes it.
	poll, err := pollParam(p)
	if err != nil {
		return err
	}
	if poll != nil && len(ch.AttachmentIDs) > 0 {
		return errs.Field("poll", "a status has either a poll or attached files, not both")
	}
	if a.Polls != nil && (poll != nil || cur.HasPoll) {
		ch.Extra = a.Polls.ForEdit(poll)
	}
	post, err := a.Posts.Edit(c.UserContext(), u, c.Params("id"), ch)
	if err != nil {
		return mapNotFound(err)
	}
	a.afterCreate(c, post)
	st, err := a.status(c.UserContext(), posts.ViewerOf(u), post)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (a *api) deleteStatus(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	v := posts.ViewerOf(u)
	p, err := a.Posts.Get(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	st, err := a.status(c.UserContext(), v, p)
	if err != nil {
		return err
	}
	if _, err := a.Posts.Delete(c.UserContext(), u, p.ID); err != nil {
		return mapNotFound(err)
	}
	src := p.Source // Mastodon returns the source so apps can offer "delete and redraft"
	st.Text = &src
	return c.JSON(st)
}

func (a *api) statusContext(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	anc, desc, err := a.Posts.Thread(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	as, err := a.statuses(c.UserContext(), v, anc)
	if err != nil {
		return err
	}
	ds, err := a.statuses(c.UserContext(), v, desc)
	if err != nil {
		return err
	}
	if as, err = a.screenStatuses(c, v, as); err != nil {
		return err
	}
	if ds, err = a.screenStatuses(c, v, ds); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ancestors": as, "descendants": ds})
}

func (a *api) statusHistory(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	p, err := a.Posts.Get(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	hist, err := a.Posts.History(c.UserContext(), v, p.ID)
	if err != nil {
		return err
	}
	st, err := a.status(c.UserContext(), v, p)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, 0, len(hist))
	for _, h := range hist {
		out = append(out, fiber.Map{"content": h.ContentHTML, "spoiler_text": h.SpoilerText, "sensitive": h.Sensitive,
			"created_at": mastodonTime(h.CreatedAt), "account": st.Account, "media_attachments": []any{}, "emojis": []any{}})
	}
	return c.JSON(out)
}

func (a *api) statusSource(c *fiber.Ctx) error {
	p, err := a.Posts.Get(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	return c.JSON(fiber.Map{"id": p.ID, "text": p.Source, "spoiler_text": p.SpoilerText})
}

// interact wraps the verbs that act on a post and answer with it.
func (a *api) interact(f func(c *fiber.Ctx, u *accounts.User, id string) (*posts.Post, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := server.CurrentUser(c)
		p, err := f(c, u, c.Params("id"))
		if err != nil {
			return mapNotFound(err)
		}
		v := posts.ViewerOf(u)
		if p, err = a.Posts.Get(c.UserContext(), v, p.ID); err != nil {
			return mapNotFound(err)
		}
		st, err := a.status(c.UserContext(), v, p)
		if err != nil {
			return err
		}
		return c.JSON(st)
	}
}

// reblog answers with the share, whose reblog field holds the original, as Mastodon does.
func (a *api) reblog(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	share, err := a.Posts.Boost(c.UserContext(), u, c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	st, err := a.status(c.UserContext(), posts.ViewerOf(u), share)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// favouritedBy lists everyone who reacted: to Mastodon apps every reaction is a favourite.
func (a *api) favouritedBy(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	rs, err := a.Posts.Reactions(c.UserContext(), v, c.Params("id"), 80)
	if err != nil {
		return mapNotFound(err)
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.AccountID
	}
	return a.accountList(c, ids)
}

func (a *api) reactionsList(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	rs, err := a.Posts.Reactions(c.UserContext(), v, c.Params("id"), 200)
	if err != nil {
		return mapNotFound(err)
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.AccountID
	}
	people, err := a.Accounts.GetMany(c.UserContext(), ids)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := []fiber.Map{}
	for _, r := range rs {
		if u := people[r.AccountID]; u != nil {
			out = append(out, fiber.Map{"emoji": r.Emoji, "created_at": mastodonTime(r.CreatedAt), "account": a.account(u, base)})
		}
	}
	return c.JSON(out)
}

func (a *api) rebloggedBy(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	ids, err := a.Posts.Sharers(c.UserContext(), v, c.Params("id"), 80)
	if err != nil {
		return mapNotFound(err)
	}
	return a.accountList(c, ids)
}

func (a *api) accountList(c *fiber.Ctx, ids []string) error {
	people, err := a.Accounts.GetMany(c.UserContext(), ids)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := []Account{}
	for _, id := range ids {
		if u := people[id]; u != nil {
			out = append(out, a.account(u, base))
		}
	}
	return c.JSON(out)
}

func (a *api) markRead(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	if err := a.Posts.MarkRead(c.UserContext(), u, c.Params("id")); err != nil {
		return mapNotFound(err)
	}
	return c.JSON(fiber.Map{})
}

func (a *api) receipts(c *fiber.Ctx) error {
	rc, err := a.Posts.ReadReceipts(c.UserContext(), server.CurrentUser(c), c.Params("id"))
	if err != nil {
		return mapNotFound(err)
	}
	base := a.BaseURL(c.UserContext())
	read, unread := []fiber.Map{}, []Account{}
	for _, r := range rc.Read {
		read = append(read, fiber.Map{"account": a.account(r.User, base), "read_at": mastodonTime(*r.ReadAt)})
	}
	for _, r := range rc.Unread {
		unread = append(unread, a.account(r.User, base))
	}
	reach := []fiber.Map{}
	for _, p := range rc.Reach {
		reach = append(reach, fiber.Map{"at": mastodonTime(p.At), "read": p.Read})
	}
	return c.JSON(fiber.Map{"audience": rc.Audience, "read": read, "unread": unread, "reach": reach})
}

// mapNotFound gives hidden and missing posts Mastodon's one message.
func mapNotFound(err error) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Wrap(errs.NotFound, err, "Record not found")
	}
	return err
}
