package web

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/server"
)

// feedPage is how many posts one page of a feed shows.
const feedPage = 20

// visibleComments is how many comments a card in a feed shows before "View N more".
const visibleComments = 3

// cardView is one entry of a feed as the "post-card" partial draws it: a post (or a share
// of one) with its reactions, the viewer's state and its comments in two levels.
type cardView struct {
	ID       string    // the feed entry: a share's own id, else the post's
	P        *postView // the post shown (the original, for a share)
	SharedBy *person   // who shared it, for a share
	SharedAt time.Time
	Comments []*postView // the comments shown, in reading order
	More     int         // comments not shown ("View N more comments")
	Count    int         // all comments of the post
	Full     bool        // every comment shown
	Pinned   bool        // drawn among the pinned announcements
	Unread   bool        // an announcement in force the viewer has not marked as read
	Receipts bool        // the viewer may see its read receipts
	ReplyTo  *postView   // the comment the comment box answers (nil: the post)
	Draft    string      // the comment box's text, kept when commenting failed
	Me       *person
	CSRF     string
}

// postView is a post or a comment ready for the templates.
type postView struct {
	Card          *cardView // the card it is drawn in, for its forms
	ID            string
	Author        *person
	Audience      string
	AudienceLabel string
	Created       time.Time
	Edited        *time.Time
	Content       template.HTML
	Spoiler       string
	Images, Docs  []attView
	Preview       *previews.Preview
	Reactions     []reactionCount
	ReactionTotal int
	MyReaction    string
	Bookmarked    bool
	Shared        bool
	CanShare      bool
	CanEdit       bool
	CanDelete     bool
	Important     bool // an announcement still in force
	Until         *time.Time
	// Posts in a group (top-level ones; nil when the viewer's pages have no groups).
	Group         *groupTag
	CanPin        bool // the viewer moderates the group
	PinnedInGroup bool
	// Comments only.
	Reply      bool    // drawn at the second level
	ReplyingTo *person // named when the comment answers one not drawn right above it
	Highlight  bool    // the comment a permalink points at
}

type attView struct {
	URL, Thumb, Name, Alt string
	Size                  int64
	Width, Height         int
	// Pending marks a partner's image not copied here (yet): URL is then its origin's
	// address ("" when unknown) and Origin that host, for a link instead of a picture.
	Pending bool
	Origin  string
}

type reactionCount struct {
	Emoji string
	N     int
}

// cardOpts are how a set of cards is drawn.
type cardOpts struct {
	Full      bool
	Pinned    bool
	Highlight string // a comment id to mark (and answer) on a permalink
}

// cards turns posts (and shares) into cards for the signed-in viewer with a fixed number of
// queries per batch (authors, reactions, the viewer's state, previews) plus one thread
// lookup per post that has comments.
func (s *site) cards(c *fiber.Ctx, ps []*posts.Post, o cardOpts) ([]*cardView, error) {
	ctx := c.UserContext()
	me := server.CurrentUser(c)
	v := posts.ViewerOf(me)
	originals, err := s.Posts.Originals(ctx, v, ps)
	if err != nil {
		return nil, err
	}
	type entry struct {
		entry, shown *posts.Post
		comments     []*posts.Post
	}
	var entries []entry
	var all []*posts.Post
	authorIDs := []string{}
	now := s.Accounts.Clock.Now()
	announcements := false
	for _, p := range ps {
		shown := p
		if p.ReblogOfID != nil {
			o, ok := originals[*p.ReblogOfID]
			if !ok {
				continue // the original is gone or hidden: the share shows nothing
			}
			shown = o
			authorIDs = append(authorIDs, p.AuthorID)
		}
		e := entry{entry: p, shown: shown}
		if shown.RepliesCount > 0 {
			_, desc, err := s.Posts.Thread(ctx, v, shown.ID)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			e.comments = desc
		}
		announcements = announcements || shown.ActiveAnnouncement(now)
		entries = append(entries, e)
		all = append(all, shown)
		all = append(all, e.comments...)
	}
	idList := make([]string, 0, len(all))
	for _, p := range all {
		idList = append(idList, p.ID)
		authorIDs = append(authorIDs, p.AuthorID)
	}
	authors, err := s.Accounts.GetMany(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	summary, err := s.Posts.ReactionSummary(ctx, idList)
	if err != nil {
		return nil, err
	}
	state, err := s.Posts.StateOf(ctx, v, idList)
	if err != nil {
		return nil, err
	}
	cardsOf := map[string]*previews.Preview{}
	if s.Previews != nil {
		shownIDs := make([]string, 0, len(entries))
		for _, e := range entries {
			shownIDs = append(shownIDs, e.shown.ID)
		}
		if cardsOf, err = s.Previews.ForPosts(ctx, shownIDs); err != nil {
			// A missing link card is cosmetic: show the posts without it.
			s.Log.Warn("link previews unavailable", "err", err)
			cardsOf = map[string]*previews.Preview{}
		}
	}
	unready := s.unreadyMedia(ctx, all)
	shown := make([]*posts.Post, 0, len(entries))
	for _, e := range entries {
		shown = append(shown, e.shown)
	}
	tags := s.groupTags(ctx, v, shown)
	unread := map[string]bool{}
	if announcements {
		list, err := s.Posts.Announcements(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			unread[a.ID] = true
		}
	}
	who := func(id string) *person {
		if u := authors[id]; u != nil {
			return newPerson(u)
		}
		return &person{Name: "Former colleague", Initials: "?", Color: "av-c7"}
	}
	meP, csrf := newPerson(me), server.CSRFToken(c)
	out := make([]*cardView, 0, len(entries))
	for _, e := range entries {
		cv := &cardView{ID: e.entry.ID, Full: o.Full, Pinned: o.Pinned, Me: meP, CSRF: csrf, Count: len(e.comments)}
		if e.entry.ReblogOfID != nil {
			cv.SharedBy, cv.SharedAt = who(e.entry.AuthorID), e.entry.CreatedAt
		}
		view := func(p *posts.Post) *postView {
			pv := s.postView(cv, p, who(p.AuthorID), me, now, summary[p.ID], state, cardsOf[p.ID], unready)
			// A group's moderators may delete anything in it (posts.Delete agrees).
			if p.GroupID != nil && tags[*p.GroupID] != nil && tags[*p.GroupID].CanPin {
				pv.CanDelete = true
			}
			return pv
		}
		cv.P = view(e.shown)
		tags.apply(cv.P, e.shown)
		cv.Unread = unread[e.shown.ID] && cv.P.Important
		cv.Receipts = e.shown.Important && (e.shown.AuthorID == me.ID || me.IsAdmin())
		slots := arrange(e.shown.ID, e.comments)
		start := 0
		if !o.Full && len(slots) > visibleComments {
			start = len(slots) - visibleComments
			cv.More = start
		}
		byID := make(map[string]*posts.Post, len(e.comments))
		for _, cm := range e.comments {
			byID[cm.ID] = cm
		}
		for i, sl := range slots[start:] {
			pv := view(sl.p)
			pv.Reply = sl.reply
			// Name the person answered when the answer is not drawn right under them: a
			// reply deeper than the second level, or the first one shown when the comment it
			// answers is folded away.
			if sl.reply && (sl.deeper || i == 0) {
				if parent := byID[*sl.p.InReplyToID]; parent != nil {
					pv.ReplyingTo = who(parent.AuthorID)
				}
			}
			if sl.p.ID == o.Highlight {
				pv.Highlight = true
				cv.ReplyTo = pv
			}
			cv.Comments = append(cv.Comments, pv)
		}
		out = append(out, cv)
	}
	return out, nil
}

func (s *site) postView(cv *cardView, p *posts.Post, author *person, me *accounts.User, now time.Time,
	reactions map[string]int, st posts.ViewerState, preview *previews.Preview, unready map[string]string) *postView {
	pv := &postView{Card: cv, ID: p.ID, Author: author, Audience: string(p.Audience), AudienceLabel: audienceLabel(p.Audience),
		Created: p.CreatedAt, Edited: p.EditedAt, Spoiler: p.SpoilerText,
		// The only place post HTML is trusted: posts stores ContentHTML already sanitised by
		// markup (local posts) or its sanitiser (remote ones).
		Content:    template.HTML(p.ContentHTML),
		MyReaction: st.Reaction[p.ID], Bookmarked: st.Bookmarked[p.ID], Shared: st.Shared[p.ID],
		CanShare:  !p.IsComment() && (p.Audience == posts.Company || p.Audience == posts.Public),
		CanEdit:   p.AuthorID == me.ID,
		CanDelete: p.AuthorID == me.ID || me.IsAdmin(),
		Important: p.ActiveAnnouncement(now), Until: p.ImportantUntil}
	pv.Images, pv.Docs = attachmentViews(p.Attachments, unready)
	if len(pv.Images) == 0 {
		pv.Preview = preview
	}
	for _, e := range posts.ReactionSet() {
		if n := reactions[e]; n > 0 {
			pv.Reactions = append(pv.Reactions, reactionCount{Emoji: e, N: n})
			pv.ReactionTotal += n
		}
	}
	// Most used first; the set's order breaks ties so the bar does not shuffle.
	sort.SliceStable(pv.Reactions, func(i, j int) bool { return pv.Reactions[i].N > pv.Reactions[j].N })
	return pv
}

// slot is a comment's place in the two-level layout.
type slot struct {
	p      *posts.Post
	reply  bool // under a top-level comment
	deeper bool // answers a reply, not the top-level comment it is drawn under
}

// arrange lays comments out as Workplace does: top-level comments in order, each followed by
// every answer in its subtree (in order) one level in. Comments whose parent is gone count as
// top-level.
func arrange(root string, desc []*posts.Post) []slot {
	byID := make(map[string]*posts.Post, len(desc))
	for _, d := range desc {
		byID[d.ID] = d
	}
	top := func(p *posts.Post) *posts.Post {
		cur := p
		for range 1000 {
			if cur.InReplyToID == nil || *cur.InReplyToID == root {
				return cur
			}
			parent, ok := byID[*cur.InReplyToID]
			if !ok {
				return cur
			}
			cur = parent
		}
		return cur
	}
	var tops []*posts.Post
	replies := map[string][]*posts.Post{}
	for _, d := range desc {
		if t := top(d); t == d {
			tops = append(tops, d)
		} else {
			replies[t.ID] = append(replies[t.ID], d)
		}
	}
	out := make([]slot, 0, len(desc))
	for _, t := range tops {
		out = append(out, slot{p: t})
		for _, r := range replies[t.ID] {
			out = append(out, slot{p: r, reply: true, deeper: *r.InReplyToID != t.ID})
		}
	}
	return out
}

func audienceLabel(a posts.Audience) string {
	switch a {
	case posts.Company:
		return "Company"
	case posts.Followers:
		return "Followers"
	case posts.Direct:
		return "Chosen people"
	case posts.Public:
		return "Public"
	case posts.Group:
		return "Group"
	}
	return string(a)
}

// cardFor draws the card of one post for the viewer: a comment's card is its thread's root,
// shown in full with the comment marked.
func (s *site) cardFor(c *fiber.Ctx, id string, o cardOpts) (*cardView, error) {
	ctx := c.UserContext()
	v := posts.ViewerOf(server.CurrentUser(c))
	p, err := s.Posts.Get(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if p.IsComment() {
		o.Full, o.Highlight = true, p.ID
		if p, err = s.Posts.Get(ctx, v, p.ThreadID); err != nil {
			return nil, err
		}
	}
	list, err := s.cards(c, []*posts.Post{p}, o)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errs.E(errs.NotFound, "this post does not exist or you cannot see it")
	}
	return list[0], nil
}

// isFetch reports whether the page's script sent the request and expects a fragment.
func isFetch(c *fiber.Ctx) bool { return c.Get("X-Requested-With") == "fetch" }

// back is where a form post returns to: the page it was sent from when that is on this
// site, else fallback.
func back(c *fiber.Ctx, fallback string) string {
	ref := c.Get(fiber.HeaderReferer)
	if ref == "" {
		return fallback
	}
	u, err := url.Parse(ref)
	if err != nil || !strings.EqualFold(u.Host, string(c.Request().Host())) {
		return fallback
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	if safeNext(p) == "" {
		return fallback
	}
	return p
}

// ago is a short relative time for post headers; the <time> element carries the exact one.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

func fileSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// emojiName is what a screen reader says for a reaction button.
func emojiName(e string) string {
	switch e {
	case "👍":
		return "Like"
	case "❤️":
		return "Love"
	case "😂":
		return "Haha"
	case "😮":
		return "Wow"
	case "😢":
		return "Sad"
	case "🎉":
		return "Celebrate"
	case "🙏":
		return "Thanks"
	}
	return e
}

// fetchPreviews queues link previews for a new or edited post.
func (s *site) fetchPreviews(ctx context.Context, p *posts.Post) {
	if s.FetchPreviews != nil && p != nil {
		s.FetchPreviews(ctx, p)
	}
}
