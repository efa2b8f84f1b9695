package web

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// compose publishes a post from the composer: each attached file is uploaded first, then the
// post is created with them. A failure keeps everything typed and says what went wrong in
// the composer; the script gets the message alone, so the files chosen stay chosen.
func (s *site) compose(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	ctx := c.UserContext()
	f := composeForm{Text: fv(c, "status"), Visibility: strings.TrimSpace(fv(c, "visibility")),
		Recipients: strings.TrimSpace(fv(c, "recipients")), Until: strings.TrimSpace(fv(c, "important_until")),
		Important: fv(c, "important") != "", EmailEveryone: fv(c, "email_everyone") != "",
		GroupID: strings.TrimSpace(fv(c, "group"))}
	if f.Visibility == "" {
		f.Visibility = string(posts.Company)
	}
	in := posts.NewPost{Text: f.Text, Audience: posts.Audience(f.Visibility), Important: f.Important,
		EmailEveryone: f.Important && f.EmailEveryone, GroupID: f.GroupID}
	if in.GroupID != "" {
		in.Audience = posts.Group // the group's rules decide who reads it
	}
	switch in.Audience {
	case posts.Company, posts.Followers, posts.Public, posts.Group:
	case posts.Direct:
		in.Recipients = splitNames(f.Recipients)
		if len(in.Recipients) == 0 {
			return s.composeError(c, f, errs.Field("recipients", "name at least one person (their username) for a post to chosen people"))
		}
	default:
		return s.composeError(c, f, errs.Field("visibility", "choose Company, Followers, Chosen people or Public"))
	}
	if f.Important && f.Until != "" {
		t, err := endOfDay(f.Until, u.TimeZone)
		if err != nil {
			return s.composeError(c, f, err)
		}
		in.ImportantUntil = &t
	}
	if form, err := c.MultipartForm(); err == nil && form != nil {
		var files = form.File["files"]
		n := 0
		for _, fh := range files {
			if fh.Filename != "" || fh.Size > 0 {
				n++
			}
		}
		if n > posts.MaxAttachments {
			return s.composeError(c, f, errs.Field("files", "attach at most %d files", posts.MaxAttachments))
		}
		for _, fh := range files {
			if fh.Filename == "" && fh.Size == 0 {
				continue // an empty file input
			}
			r, err := fh.Open()
			if err != nil {
				return err
			}
			a, err := s.Posts.Upload(ctx, u, r, fh.Filename, "")
			r.Close()
			if err != nil {
				if errs.KindOf(err) == errs.Internal {
					return err
				}
				return s.composeError(c, f, &errs.Error{Kind: errs.KindOf(err), Field: "files",
					Msg: fh.Filename + ": " + errs.Message(err), Err: err})
			}
			in.AttachmentIDs = append(in.AttachmentIDs, a.ID)
		}
	}
	p, err := s.Posts.Create(ctx, u, in)
	if err != nil {
		return s.composeError(c, f, err)
	}
	s.fetchPreviews(ctx, p)
	if isFetch(c) {
		cv, err := s.cardFor(c, p.ID, cardOpts{})
		if err != nil {
			return err
		}
		return s.fragment(c, fiber.StatusCreated, "post-card", cv)
	}
	return s.redirect(c, back(c, "/"), "posted")
}

func (s *site) composeError(c *fiber.Ctx, f composeForm, err error) error {
	k := errs.KindOf(err)
	if k == errs.Internal {
		return err
	}
	msg, field := describe(err)
	if field == "media_ids" {
		field = "files"
	}
	if isFetch(c) {
		c.Set("X-Error-Field", field)
		return s.fragment(c, k.Status(), "form-alert", msg)
	}
	f.Error = msg
	if f.GroupID != "" && s.Groups != nil {
		return s.groupComposeError(c, f, k.Status(), field)
	}
	return s.homePage(c, k.Status(), f, field)
}

// splitNames reads "alice, @bob carol" as usernames.
func splitNames(v string) []string {
	var out []string
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' }) {
		if n = strings.TrimPrefix(strings.TrimSpace(n), "@"); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// endOfDay reads a date input as the end of that day in the person's time zone.
func endOfDay(v, zone string) (time.Time, error) {
	loc := time.UTC
	if zone != "" {
		if l, err := time.LoadLocation(zone); err == nil {
			loc = l
		}
	}
	d, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		return time.Time{}, errs.Field("important_until", "write the end date as YYYY-MM-DD")
	}
	return d.Add(24*time.Hour - time.Second), nil
}

// afterAction answers a card's form: the re-rendered card for the script (an empty answer
// when the card is gone), else a redirect back to the page the form was on.
func (s *site) afterAction(c *fiber.Ctx, id string) error {
	cardID := fv(c, "card")
	if cardID == "" {
		cardID = id
	}
	if !isFetch(c) {
		return c.Redirect(back(c, "/posts/"+cardID), fiber.StatusSeeOther)
	}
	cv, err := s.cardFor(c, cardID, cardOpts{Full: fv(c, "full") == "1", Pinned: fv(c, "pinned") == "1"})
	if errs.Is(err, errs.NotFound) {
		c.Set("Cache-Control", "no-store")
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Status(fiber.StatusOK).Send(nil)
	}
	if err != nil {
		return err
	}
	return s.fragment(c, fiber.StatusOK, "post-card", cv)
}

// actionError reports a refused action: a short message for the script to show beside the
// form, or the error page.
func (s *site) actionError(c *fiber.Ctx, err error) error {
	k := errs.KindOf(err)
	if k == errs.Internal || !isFetch(c) {
		return err
	}
	msg, _ := describe(err)
	return s.fragment(c, k.Status(), "form-alert", msg)
}

// act runs a simple card action and answers as afterAction does.
func (s *site) act(c *fiber.Ctx, do func(ctx context.Context, u *accounts.User, id string) error) error {
	id := pv(c, "id")
	if err := do(c.UserContext(), server.CurrentUser(c), id); err != nil {
		return s.actionError(c, err)
	}
	return s.afterAction(c, id)
}

func (s *site) react(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.React(ctx, u, id, fv(c, "emoji"))
		return err
	})
}

func (s *site) unreact(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.Unreact(ctx, u, id)
		return err
	})
}

func (s *site) share(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.Boost(ctx, u, id)
		return err
	})
}

func (s *site) unshare(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.Unboost(ctx, u, id)
		return err
	})
}

func (s *site) bookmark(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.Bookmark(ctx, u, id)
		return err
	})
}

func (s *site) unbookmark(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		_, err := s.Posts.Unbookmark(ctx, u, id)
		return err
	})
}

func (s *site) markRead(c *fiber.Ctx) error {
	return s.act(c, func(ctx context.Context, u *accounts.User, id string) error {
		return s.Posts.MarkRead(ctx, u, id)
	})
}

// comment answers the post, or the comment named by in_reply_to within its thread.
func (s *site) comment(c *fiber.Ctx) error {
	id := pv(c, "id")
	parent := strings.TrimSpace(fv(c, "in_reply_to"))
	if parent == "" {
		parent = id
	}
	text := fv(c, "status")
	ctx := c.UserContext()
	p, err := s.Posts.Create(ctx, server.CurrentUser(c), posts.NewPost{Text: text, InReplyToID: parent})
	if err != nil {
		if isFetch(c) || errs.KindOf(err) != errs.Invalid {
			return s.actionError(c, err)
		}
		msg, _ := describe(err)
		return s.renderPost(c, parent, errs.KindOf(err).Status(), text, msg)
	}
	s.fetchPreviews(ctx, p)
	return s.afterAction(c, id)
}

func (s *site) deletePost(c *fiber.Ctx) error {
	id := pv(c, "id")
	if _, err := s.Posts.Delete(c.UserContext(), server.CurrentUser(c), id); err != nil {
		return s.actionError(c, err)
	}
	if isFetch(c) {
		return s.afterAction(c, id)
	}
	to := back(c, "/")
	if fv(c, "card") == "" || fv(c, "card") == id {
		// The post's own pages are gone with it.
		if p := "/posts/" + id; to == p || strings.HasPrefix(to, p+"/") || strings.HasPrefix(to, p+"?") {
			to = "/"
		}
	}
	return s.redirect(c, to, "post_deleted")
}

type editData struct {
	ID, Text, Card string
	Full           bool
	CSRF           string
}

// editPage is the form to change a post's text: a page, or the bare form that the script
// puts in the card in place of the text.
func (s *site) editPage(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	p, err := s.Posts.Get(c.UserContext(), posts.ViewerOf(u), pv(c, "id"))
	if err != nil {
		return err
	}
	if p.AuthorID != u.ID {
		return errs.E(errs.Forbidden, "only the author can edit a post")
	}
	if p.ReblogOfID != nil {
		return errs.E(errs.Invalid, "a share cannot be edited")
	}
	d := editData{ID: p.ID, Text: p.Source, Card: qv(c, "card"), Full: qv(c, "full") == "1", CSRF: server.CSRFToken(c)}
	if isFetch(c) {
		return s.fragment(c, fiber.StatusOK, "edit-form", d)
	}
	return s.render(c, fiber.StatusOK, "post_edit", &page{Title: "Edit post", Data: d})
}

func (s *site) edit(c *fiber.Ctx) error {
	u := server.CurrentUser(c)
	ctx := c.UserContext()
	id := pv(c, "id")
	p, err := s.Posts.Get(ctx, posts.ViewerOf(u), id)
	if err != nil {
		return s.actionError(c, err)
	}
	// The edit form changes the text only; attachments and the content warning stay.
	ids := make([]string, 0, len(p.Attachments))
	for _, a := range p.Attachments {
		ids = append(ids, a.ID)
	}
	text := fv(c, "status")
	edited, err := s.Posts.Edit(ctx, u, id, posts.Change{Text: text, SpoilerText: p.SpoilerText, Sensitive: p.Sensitive, AttachmentIDs: ids})
	if err != nil {
		if isFetch(c) || errs.KindOf(err) != errs.Invalid {
			return s.actionError(c, err)
		}
		d := editData{ID: id, Text: text, Card: fv(c, "card"), Full: fv(c, "full") == "1", CSRF: server.CSRFToken(c)}
		return s.formError(c, err, "post_edit", &page{Title: "Edit post", Data: d})
	}
	s.fetchPreviews(ctx, edited)
	if isFetch(c) {
		return s.afterAction(c, id)
	}
	return s.redirect(c, "/posts/"+id, "post_edited")
}

// card is one post's card as a fragment, for live updates and "View more comments".
func (s *site) card(c *fiber.Ctx) error {
	cv, err := s.cardFor(c, pv(c, "id"), cardOpts{Full: qv(c, "full") == "1", Pinned: qv(c, "pinned") == "1"})
	if err != nil {
		return err
	}
	return s.fragment(c, fiber.StatusOK, "post-card", cv)
}
