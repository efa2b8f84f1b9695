package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// feedView is a list of cards with the link to the next page: a real link for browsers
// without script, and the fragment address the script loads as the reader nears the end.
type feedView struct {
	Cards []*cardView
	More  *moreLink
	Live  bool   // new posts arrive live (the home feed)
	Empty string // what to say when there is nothing
}

type moreLink struct{ Href, Fragment string }

// timelineQuery names a feed and its page.
type timelineQuery struct {
	Feed  string // home, company, tag, bookmarks, profile
	Arg   string // the tag, or the profile's username
	MaxID string
}

// pagePath is the address of the feed's own page.
func (q timelineQuery) pagePath() string {
	switch q.Feed {
	case "company":
		return "/company"
	case "tag":
		return "/tags/" + url.PathEscape(q.Arg)
	case "bookmarks":
		return "/bookmarks"
	case "profile":
		return "/people/" + url.PathEscape(q.Arg)
	}
	return "/"
}

// timeline loads one page of a feed as cards.
func (s *site) timeline(c *fiber.Ctx, q timelineQuery) (feedView, error) {
	ctx := c.UserContext()
	v := posts.ViewerOf(server.CurrentUser(c))
	pg := posts.Page{MaxID: q.MaxID, Limit: feedPage}
	var ps []*posts.Post
	var next string
	var err error
	switch q.Feed {
	case "home":
		ps, err = s.Posts.Home(ctx, v, pg)
	case "company":
		ps, err = s.Posts.Company(ctx, v, pg)
	case "tag":
		ps, err = s.Posts.Tag(ctx, v, q.Arg, pg)
	case "profile":
		u, uerr := s.personByName(ctx, q.Arg)
		if uerr != nil {
			return feedView{}, uerr
		}
		ps, err = s.Posts.Profile(ctx, v, u.ID, false, pg)
	case "bookmarks":
		var seqs []string
		ps, seqs, err = s.Posts.Bookmarks(ctx, v, pg)
		if err == nil && len(ps) >= feedPage {
			next = seqs[len(seqs)-1]
		}
	default:
		return feedView{}, errs.E(errs.NotFound, "there is no feed called %q", q.Feed)
	}
	if err != nil {
		return feedView{}, err
	}
	if q.Feed != "bookmarks" && len(ps) >= feedPage {
		next = ps[len(ps)-1].ID
	}
	cards, err := s.cards(c, ps, cardOpts{})
	if err != nil {
		return feedView{}, err
	}
	fv := feedView{Cards: cards, Live: q.Feed == "home"}
	if next != "" {
		page := q.pagePath()
		frag := url.Values{"feed": {q.Feed}, "max_id": {next}}
		if q.Arg != "" {
			frag.Set("arg", q.Arg)
		}
		fv.More = &moreLink{Href: page + "?max_id=" + url.QueryEscape(next), Fragment: "/feed/more?" + frag.Encode()}
	}
	return fv, nil
}

// feedMore is the next page of a feed as bare cards, for infinite scroll.
func (s *site) feedMore(c *fiber.Ctx) error {
	fv, err := s.timeline(c, timelineQuery{Feed: qv(c, "feed"), Arg: qv(c, "arg"), MaxID: qv(c, "max_id")})
	if err != nil {
		return err
	}
	return s.fragment(c, fiber.StatusOK, "cards", fv)
}

// composeForm is the composer's state: empty, or what was typed when posting failed.
type composeForm struct {
	Text, Visibility, Recipients, Until string
	Important, EmailEveryone            bool
	CanImportant                        bool
	People                              []string
	Error                               string
	// A post to a group: its id, and its name and who reads it for the composer's heading.
	GroupID, GroupName, GroupHint string
}

type homeData struct {
	Percent       int
	Missing       []string
	Newcomers     []*person
	Compose       composeForm
	Announcements []*cardView
	Feed          feedView
}

func (s *site) home(c *fiber.Ctx) error {
	if done, err := s.setupDone(c); err != nil || !done {
		return orSetup(c, err)
	}
	if server.CurrentUser(c) == nil {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return s.homePage(c, fiber.StatusOK, composeForm{Visibility: "company"}, "")
}

// homePage draws the home page: the composer (with f's content), the pinned announcements
// and the home feed.
func (s *site) homePage(c *fiber.Ctx, status int, f composeForm, errField string) error {
	u := server.CurrentUser(c)
	ctx := c.UserContext()
	newcomers, err := s.newcomers(c, u.ID, 5)
	if err != nil {
		return err
	}
	pct, missing := completeness(u)
	if f.People, err = s.usernames(c, u.ID); err != nil {
		return err
	}
	f.CanImportant = u.IsAdmin()
	d := homeData{Percent: pct, Missing: missing, Newcomers: newcomers, Compose: f}
	maxID := qv(c, "max_id")
	if maxID == "" {
		ann, err := s.Posts.Announcements(ctx, posts.ViewerOf(u))
		if err != nil {
			return err
		}
		if d.Announcements, err = s.cards(c, ann, cardOpts{Pinned: true}); err != nil {
			return err
		}
	}
	if d.Feed, err = s.timeline(c, timelineQuery{Feed: "home", MaxID: maxID}); err != nil {
		return err
	}
	d.Feed.Empty = "Your feed is empty. Follow colleagues from their profiles, or write the first post."
	return s.render(c, status, "home", &page{Title: "Home", Nav: "home", ErrField: errField, Data: d})
}

type timelineData struct {
	Heading string
	Intro   string
	Feed    feedView
	Tag     *tagFollowView // a hashtag's page: its follow button
}

// tagFollowView is the button that follows a hashtag into the home feed.
type tagFollowView struct {
	Name      string
	Following bool
	CSRF      string
}

func (s *site) company(c *fiber.Ctx) error {
	fv, err := s.timeline(c, timelineQuery{Feed: "company", MaxID: qv(c, "max_id")})
	if err != nil {
		return err
	}
	fv.Empty = "Nobody has posted to the whole company yet."
	return s.render(c, fiber.StatusOK, "timeline", &page{Title: "Company", Nav: "company",
		Data: timelineData{Heading: "Company", Intro: "Everything posted to the whole company, newest first.", Feed: fv}})
}

func (s *site) tag(c *fiber.Ctx) error {
	tag := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(pv(c, "tag")), "#"))
	if tag == "" {
		return errs.E(errs.NotFound, "there is no page at this address")
	}
	fv, err := s.timeline(c, timelineQuery{Feed: "tag", Arg: tag, MaxID: qv(c, "max_id")})
	if err != nil {
		return err
	}
	fv.Empty = "No post you can see has this tag yet."
	following, err := s.Posts.FollowingTags(c.UserContext(), posts.ViewerOf(server.CurrentUser(c)), []string{tag})
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "timeline", &page{Title: "#" + tag, Nav: "company",
		Data: timelineData{Heading: "#" + tag, Intro: "Posts tagged #" + tag + ", newest first.", Feed: fv,
			Tag: &tagFollowView{Name: tag, Following: following[tag], CSRF: server.CSRFToken(c)}}})
}

// followTag follows or unfollows a hashtag from its page (the address says which), then
// goes back to the page.
func (s *site) followTag(c *fiber.Ctx) error {
	v := posts.ViewerOf(server.CurrentUser(c))
	var err error
	if strings.HasSuffix(c.Path(), "/unfollow") {
		_, err = s.Posts.UnfollowTag(c.UserContext(), v, pv(c, "tag"))
	} else {
		_, err = s.Posts.FollowTag(c.UserContext(), v, pv(c, "tag"))
	}
	if err != nil {
		return s.actionError(c, err)
	}
	tag, _ := posts.NormalizeTag(pv(c, "tag"))
	return c.Redirect("/tags/"+url.PathEscape(tag), fiber.StatusSeeOther)
}

func (s *site) bookmarks(c *fiber.Ctx) error {
	fv, err := s.timeline(c, timelineQuery{Feed: "bookmarks", MaxID: qv(c, "max_id")})
	if err != nil {
		return err
	}
	fv.Empty = "Nothing saved yet. Use the bookmark button on a post to keep it here."
	return s.render(c, fiber.StatusOK, "timeline", &page{Title: "Bookmarks", Nav: "bookmarks",
		Data: timelineData{Heading: "Bookmarks", Intro: "Posts you saved, most recently saved first.", Feed: fv}})
}
