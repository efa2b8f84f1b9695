package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

type postData struct {
	Card *cardView
}

func (s *site) postPage(c *fiber.Ctx) error {
	return s.renderPost(c, pv(c, "id"), fiber.StatusOK, "", "")
}

// renderPost draws a post's permalink with its whole thread; for a comment, its thread with
// the comment marked and the comment box answering it. draft and msg carry a failed comment.
func (s *site) renderPost(c *fiber.Ctx, id string, status int, draft, msg string) error {
	cv, err := s.cardFor(c, id, cardOpts{Full: true})
	if err != nil {
		return err
	}
	cv.Draft = draft
	return s.render(c, status, "post", &page{Title: "Post by " + cv.P.Author.Name, Error: msg, Data: postData{Card: cv}})
}

type versionView struct {
	At      time.Time
	Content template.HTML
	Current bool
	N       int
}

type historyData struct {
	ID       string
	Author   *person
	Versions []versionView // newest first
}

func (s *site) history(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := posts.ViewerOf(server.CurrentUser(c))
	p, err := s.Posts.Get(ctx, v, pv(c, "id"))
	if err != nil {
		return err
	}
	edits, err := s.Posts.History(ctx, v, p.ID)
	if err != nil {
		return err
	}
	author, err := s.Accounts.Lookup(ctx, p.AuthorID)
	if err != nil {
		return err
	}
	d := historyData{ID: p.ID, Author: newPerson(author)}
	for i := len(edits) - 1; i >= 0; i-- {
		// Every version was sanitised by markup when it was written, as ContentHTML is.
		d.Versions = append(d.Versions, versionView{At: edits[i].CreatedAt, Content: template.HTML(edits[i].ContentHTML),
			Current: i == len(edits)-1, N: i + 1})
	}
	return s.render(c, fiber.StatusOK, "post_history", &page{Title: "Edit history", Data: d})
}

type reactionGroup struct {
	Emoji, Name string
	People      []*person
}

type reactionsData struct {
	ID     string
	Total  int
	Groups []reactionGroup
}

func (s *site) reactions(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := posts.ViewerOf(server.CurrentUser(c))
	p, err := s.Posts.Get(ctx, v, pv(c, "id"))
	if err != nil {
		return err
	}
	if p.ReblogOfID != nil { // reactions to a share are the original's
		if p, err = s.Posts.Get(ctx, v, *p.ReblogOfID); err != nil {
			return err
		}
	}
	list, err := s.Posts.Reactions(ctx, v, p.ID, 1000)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, r := range list {
		ids = append(ids, r.AccountID)
	}
	users, err := s.Accounts.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	d := reactionsData{ID: p.ID}
	for _, e := range posts.ReactionSet() {
		g := reactionGroup{Emoji: e, Name: emojiName(e)}
		for _, r := range list {
			if r.Emoji == e && users[r.AccountID] != nil {
				g.People = append(g.People, newPerson(users[r.AccountID]))
			}
		}
		if len(g.People) > 0 {
			d.Groups = append(d.Groups, g)
			d.Total += len(g.People)
		}
	}
	return s.render(c, fiber.StatusOK, "post_reactions", &page{Title: "Reactions", Data: d})
}

type receiptView struct {
	P  *person
	At *time.Time
}

type receiptsData struct {
	ID               string
	Audience, Read   int
	Percent          int
	ReadBy, NotYet   []receiptView
	Chart            chartView
	Until            *time.Time
	Active           bool
	Created          time.Time
	Snippet, Heading string
}

func (s *site) receipts(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	r, err := s.Posts.ReadReceipts(ctx, u, pv(c, "id"))
	if err != nil {
		return err
	}
	p, err := s.Posts.Get(ctx, posts.ViewerOf(u), pv(c, "id"))
	if err != nil {
		return err
	}
	now := s.Accounts.Clock.Now()
	d := receiptsData{ID: p.ID, Audience: r.Audience, Read: len(r.Read), Until: p.ImportantUntil, Active: p.ActiveAnnouncement(now),
		Created: p.CreatedAt, Snippet: snippet(p.ContentText, 160)}
	if r.Audience > 0 {
		d.Percent = len(r.Read) * 100 / r.Audience
	}
	for _, x := range r.Read {
		d.ReadBy = append(d.ReadBy, receiptView{P: newPerson(x.User), At: x.ReadAt})
	}
	for _, x := range r.Unread {
		d.NotYet = append(d.NotYet, receiptView{P: newPerson(x.User)})
	}
	d.Chart = reachChart(p.CreatedAt, now, r)
	return s.render(c, fiber.StatusOK, "post_receipts", &page{Title: "Read receipts", Data: d})
}

// chartView is a line chart drawn by the server as SVG: no script, no inline style.
type chartView struct {
	W, H       int
	Left, Base float64 // the plot's left edge and baseline
	Right, Top float64
	Line, Area string
	YMax, YMid int
	YMidAt     float64
	XStart     string
	XEnd       string
	Desc       string
}

// reachChart plots how many people had read an announcement over time, as a step line from
// its publication to now.
func reachChart(from, now time.Time, r *posts.Receipts) chartView {
	ch := chartView{W: 640, H: 220, Left: 44, Right: 624, Top: 16, Base: 188}
	ch.YMax = max(r.Audience, 1)
	ch.YMid = ch.YMax / 2
	to := now
	if n := len(r.Reach); n > 0 && r.Reach[n-1].At.After(to) {
		to = r.Reach[n-1].At
	}
	if !to.After(from) {
		to = from.Add(time.Minute)
	}
	span := float64(to.Sub(from))
	x := func(t time.Time) float64 {
		if t.Before(from) {
			t = from
		}
		return ch.Left + float64(t.Sub(from))/span*(ch.Right-ch.Left)
	}
	y := func(n int) float64 { return ch.Base - float64(n)/float64(ch.YMax)*(ch.Base-ch.Top) }
	ch.YMidAt = y(ch.YMid)
	var pts []string
	pt := func(px, py float64) { pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py)) }
	pt(x(from), y(0))
	prev := 0
	for _, p := range r.Reach {
		pt(x(p.At), y(prev))
		pt(x(p.At), y(p.Read))
		prev = p.Read
	}
	pt(x(to), y(prev))
	ch.Line = strings.Join(pts, " ")
	ch.Area = ch.Line + fmt.Sprintf(" %.1f,%.1f %.1f,%.1f", x(to), y(0), x(from), y(0))
	layout := "2 Jan 15:04"
	ch.XStart, ch.XEnd = from.UTC().Format(layout), to.UTC().Format(layout)
	ch.Desc = fmt.Sprintf("%d of %d people had read it by %s UTC, counting from its publication on %s UTC.",
		prev, r.Audience, ch.XEnd, ch.XStart)
	return ch
}

// snippet shortens plain text to n characters at a word boundary.
func snippet(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

type noteView struct {
	ID, Kind string
	Actor    *person
	Emoji    string
	Snippet  string
	Link     string
	Unread   bool
	At       time.Time
	Group    string // the group's name, for the group kinds ("" when unknown)
}

type notificationsData struct {
	Notes []noteView
	Older string
}

// notificationsPage is how many notifications one page lists.
const notificationsPage = 40

// notifications lists what happened to the viewer; seeing them marks them read.
func (s *site) notifications(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := server.CurrentUser(c)
	v := posts.ViewerOf(u)
	list, err := s.Notify.List(ctx, u.ID, notify.Query{MaxID: qv(c, "max_id"), Limit: notificationsPage})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, n := range list {
		ids = append(ids, n.FromID)
	}
	actors, err := s.Accounts.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	texts := map[string]string{}
	groupsSeen := map[string]*groups.View{}
	d := notificationsData{}
	for _, n := range list {
		nv := noteView{ID: n.ID, Kind: n.Kind, Emoji: n.Emoji, Unread: n.ReadAt == nil, At: n.CreatedAt}
		if a := actors[n.FromID]; a != nil {
			nv.Actor = newPerson(a)
			nv.Link = "/people/" + a.Username
		} else {
			nv.Actor = &person{Name: "Someone", Initials: "?", Color: "av-c7"}
		}
		if n.PostID != nil {
			nv.Link = "/posts/" + *n.PostID
			t, seen := texts[*n.PostID]
			if !seen {
				if p, err := s.Posts.Get(ctx, v, *n.PostID); err == nil {
					t = snippet(p.ContentText, 140)
				} else if !errs.Is(err, errs.NotFound) {
					return err
				}
				texts[*n.PostID] = t
			}
			nv.Snippet = t
		}
		if strings.HasPrefix(n.Kind, "group_") {
			s.groupNote(ctx, v, &nv, &n, groupsSeen)
		}
		d.Notes = append(d.Notes, nv)
	}
	if len(list) == notificationsPage {
		d.Older = "/notifications?max_id=" + list[len(list)-1].ID
	}
	for _, n := range d.Notes {
		if n.Unread {
			if err := s.Notify.MarkRead(ctx, u.ID, list[0].ID); err != nil {
				return err
			}
			break
		}
	}
	return s.render(c, fiber.StatusOK, "notifications", &page{Title: "Notifications", Nav: "notifications", Data: d})
}
