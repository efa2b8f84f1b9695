package web

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// Group pages. Every rule (who sees a group, who may post, invite, approve or change it) is
// the groups service's: the handlers ask it and show what it answers, so a secret group a
// viewer may not see is the same 404 here as in the API and federation.

func (s *site) groupRoutes(app *fiber.App, user fiber.Handler) {
	app.Get("/groups", user, s.groupDirectory)
	// Before /groups/:handle, which would otherwise take "new" for a handle.
	app.Get("/groups/new", user, s.newGroupPage)
	app.Post("/groups/new", user, s.createGroup)
	app.Get("/groups/:handle", user, s.groupTab("feed"))
	app.Get("/groups/:handle/more", user, s.groupMore)
	app.Get("/groups/:handle/members", user, s.groupTab("members"))
	app.Get("/groups/:handle/requests", user, s.groupTab("requests"))
	app.Get("/groups/:handle/files", user, s.groupTab("files"))
	app.Get("/groups/:handle/about", user, s.groupTab("about"))
	app.Get("/groups/:handle/settings", user, s.groupSettingsPage)
	app.Post("/groups/:handle/settings", user, s.saveGroupSettings)
	app.Post("/groups/:handle/cover", user, s.uploadGroupCover)
	app.Post("/groups/:handle/cover/remove", user, s.removeGroupCover)
	app.Post("/groups/:handle/delete", user, s.deleteGroup)
	app.Post("/groups/:handle/partners", user, s.addGroupPartner)
	app.Post("/groups/:handle/partners/remove", user, s.removeGroupPartner)
	app.Post("/groups/:handle/join", user, s.joinGroup)
	app.Post("/groups/:handle/leave", user, s.leaveGroup)
	app.Post("/groups/:handle/notify", user, s.notifyGroup)
	app.Post("/groups/:handle/invite", user, s.inviteToGroup)
	app.Post("/groups/:handle/approve", user, s.approveMember)
	app.Post("/groups/:handle/reject", user, s.rejectMember)
	app.Post("/groups/:handle/remove", user, s.removeMember)
	app.Post("/groups/:handle/role", user, s.setMemberRole)
	app.Post("/groups/:handle/pin", user, s.pinGroupPost)
}

// groupCard is a group as the directory and the group page's header show it.
type groupCard struct {
	ID, Handle, Link, Name, Note  string
	Initials, Color               string
	Cover, Thumb                  string // the banner and its small copy; "" without a cover
	Visibility, VisLabel, VisHint string
	Posting, PostingLabel         string
	Members                       int
	State                         string // the viewer's: member, requested, invited or ""
	Role                          string // the viewer's role when a member
	Host                          string // the node hosting it, for a group elsewhere
	Created                       time.Time
}

func newGroupCard(v *groups.View) *groupCard {
	g := v.Group
	gc := &groupCard{ID: g.ID, Handle: g.Acct(), Link: groupLink(g), Name: g.DisplayName, Note: g.Note,
		Initials: groupInitials(g.DisplayName), Color: colorClass(g.Acct()), Visibility: string(g.Visibility),
		Posting: string(g.Posting), Members: g.MembersCount, Host: g.Domain, Created: g.CreatedAt}
	// A remote group's cover stays on its node: the CSP keeps every image on this one, so
	// its placeholder stands in.
	if g.CoverKey != "" && !g.IsRemote() {
		gc.Cover, gc.Thumb = "/media/"+g.CoverKey, "/media/"+g.CoverThumb()
	}
	if m := v.Member; m != nil {
		gc.State, gc.Role = string(m.State), string(m.Role)
	}
	gc.VisLabel, gc.VisHint = visibilityText(g.Visibility)
	gc.PostingLabel = postingText(g.Posting)
	return gc
}

func groupLink(g *groups.Group) string { return "/groups/" + url.PathEscape(g.Acct()) }

// groupInitials stands in for a cover: the first letters of the name's first two words.
func groupInitials(name string) string {
	var out []rune
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out = append(out, unicode.ToUpper([]rune(w)[0]))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "G"
	}
	return string(out)
}

func visibilityText(v groups.Visibility) (label, hint string) {
	switch v {
	case groups.Closed:
		return "Closed", "Anyone can find the group; only members see its posts, members and files. Admins approve who joins."
	case groups.Secret:
		return "Secret", "Only members can find the group. People join by invitation only."
	}
	return "Open", "Anyone here can see the group and its posts, and join."
}

func postingText(p groups.Posting) string {
	if p == groups.AdminsOnly {
		return "Admins and moderators start posts; members comment"
	}
	return "Every member can post"
}

func groupFlashText(code string) string {
	switch code {
	case "group_created":
		return "Group created. Invite your colleagues from the Members tab."
	case "group_joined":
		return "You joined the group."
	case "group_requested":
		return "Request sent. An admin of the group will answer it."
	case "group_left":
		return "You left the group."
	case "group_request_cancelled":
		return "Request withdrawn."
	case "group_declined":
		return "Invitation declined."
	case "group_notify_on":
		return "You will be notified of every new post in this group."
	case "group_notify_off":
		return "You will no longer be notified of each new post in this group."
	case "group_invited":
		return "Invitation sent."
	case "group_approved":
		return "Request approved: they are a member now."
	case "group_rejected":
		return "Done: the request or invitation is withdrawn."
	case "group_removed":
		return "Removed from the group."
	case "group_role":
		return "Role changed."
	case "group_pinned":
		return "Pinned to the top of the group."
	case "group_unpinned":
		return "Unpinned."
	case "group_saved":
		return "Group settings saved."
	case "group_cover_saved":
		return "Cover saved. Everyone who can see the group sees it now."
	case "group_cover_removed":
		return "Cover removed."
	case "group_deleted":
		return "Group deleted."
	case "group_partner_added":
		return "Partner added. Its administrators can read what their node receives from this group."
	case "group_partner_removed":
		return "Partner removed. Its people in the group lost access."
	}
	return ""
}

// groupFormError re-renders a form page with the service's message, naming the fields as the
// group forms do ("Name", not the profile's "Display name").
func (s *site) groupFormError(c *fiber.Ctx, err error, name string, p *page) error {
	k := errs.KindOf(err)
	if k == errs.Internal {
		return err
	}
	p.Error, p.ErrField = describeGroup(err)
	return s.render(c, k.Status(), name, p)
}

func describeGroup(err error) (msg, field string) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Field == "" {
		return describe(err)
	}
	label := map[string]string{"display_name": "Name", "note": "Description", "visibility": "Visibility",
		"posting": "Posting", "acct": "Person", "host": "Host", "cover": "Cover"}[e.Field]
	switch {
	case e.Field == "confirm":
		return sentence(e.Msg), e.Field
	case label != "":
		return label + ": " + e.Msg, e.Field
	}
	return describe(err)
}

func groupViewer(c *fiber.Ctx) *posts.Viewer { return posts.ViewerOf(server.CurrentUser(c)) }

// lookupGroup finds the group of the route's :handle as the viewer may see it.
func (s *site) lookupGroup(c *fiber.Ctx) (*groups.View, error) {
	return s.Groups.Lookup(c.UserContext(), groupViewer(c), pv(c, "handle"))
}

// ---- The directory ----------------------------------------------------------------------

type groupsData struct {
	Q           string
	Invitations []*groupCard
	Pending     []*groupCard
	Mine        []*groupCard
	All         []*groupCard
	Capped      bool // the list stops at the service's limit
	// A search for name@host: the group it names (Acct), or why there is none to show.
	Acct        string
	Found       *groupCard
	LookupError string // a partner's refusal or outage, in words; "" when simply not found
}

// groupListLimit is as many groups as one listing asks for (the service's own maximum).
const groupListLimit = 200

func (s *site) groupDirectory(c *fiber.Ctx) error {
	ctx, v := c.UserContext(), groupViewer(c)
	d := groupsData{Q: strings.TrimSpace(qv(c, "q"))}
	cards := func(f groups.Filter, q string) ([]*groupCard, error) {
		list, err := s.Groups.List(ctx, v, f, q, groupListLimit)
		if err != nil {
			return nil, err
		}
		out := make([]*groupCard, 0, len(list))
		for _, gv := range list {
			out = append(out, newGroupCard(gv))
		}
		if f == groups.Directory && len(list) == groupListLimit {
			d.Capped = true
		}
		return out, nil
	}
	var err error
	if d.Invitations, err = cards(groups.Invitations, ""); err != nil {
		return err
	}
	if d.Pending, err = cards(groups.Pending, ""); err != nil {
		return err
	}
	// An address names one group: the lists by name would only add "nothing matches".
	if acct, ok := groupAcct(d.Q); ok {
		d.Acct = acct
		if d.Found, d.LookupError, err = s.findGroup(c, acct); err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "groups", &page{Title: "Groups", Nav: "groups", Data: d})
	}
	if d.Mine, err = cards(groups.Mine, d.Q); err != nil {
		return err
	}
	if d.All, err = cards(groups.Directory, d.Q); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "groups", &page{Title: "Groups", Nav: "groups", Data: d})
}

// groupAcctRE is what a group's address looks like: name@host, with an optional leading @
// and port (test and intranet nodes).
var groupAcctRE = regexp.MustCompile(`^@?([\pL\pN_.-]+)@([A-Za-z0-9.-]+(?::[0-9]{1,5})?)$`)

// groupAcct reports whether a search is a group's address, and the address without its @.
func groupAcct(q string) (string, bool) {
	m := groupAcctRE.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return "", false
	}
	return m[1] + "@" + m[2], true
}

// findGroup finds the group a search for name@host names: one known here (or hosted here),
// else, for another node's address, the group fetched from it. The groups service decides
// what the viewer sees, as for every group: a secret group is found only by its members
// and the invited, and for anyone else is the same "no group" as an address that names
// nothing. A refusal worth reading (the host is not a partner, or did not answer) comes back
// as a message; only failures of this node are errors.
func (s *site) findGroup(c *fiber.Ctx, acct string) (*groupCard, string, error) {
	ctx, v := c.UserContext(), groupViewer(c)
	gv, err := s.Groups.Lookup(ctx, v, acct)
	_, host, _ := strings.Cut(acct, "@")
	if errs.Is(err, errs.NotFound) && s.ResolveGroup != nil && !strings.EqualFold(host, baseHost(s.Groups.BaseURL(ctx))) {
		var g *groups.Group
		if g, err = s.ResolveGroup(ctx, acct); err == nil {
			// What the other node says is only a copy: this node's rules decide who sees it.
			gv, err = s.Groups.Get(ctx, v, g.ID)
		}
	}
	switch k := errs.KindOf(err); {
	case err == nil:
		return newGroupCard(gv), "", nil
	case k == errs.NotFound, k == errs.Invalid:
		// Nothing there, or not a group (a person's address): both are "no group".
		return nil, "", nil
	case k == errs.Forbidden, k == errs.Unavailable:
		// The message may start with a host name, which keeps its case.
		return nil, "Could not look up " + acct + ": " + errs.Message(err), nil
	}
	return nil, "", err
}

// ---- Creating a group -------------------------------------------------------------------

type groupForm struct {
	Name, Note, Visibility, Posting string
	Editing                         bool   // the settings page, where secret is fixed
	Secret                          bool   // the group is secret (its visibility cannot change)
	Action                          string // where the form posts
}

func (s *site) newGroupPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "group_new", &page{Title: "Create a group", Nav: "groups",
		Data: groupForm{Visibility: string(groups.Open), Posting: string(groups.AllMembers), Action: "/groups/new"}})
}

func (s *site) createGroup(c *fiber.Ctx) error {
	f := groupForm{Name: fv(c, "display_name"), Note: fv(c, "note"), Visibility: fv(c, "visibility"), Posting: fv(c, "posting"),
		Action: "/groups/new"}
	g, err := s.Groups.Create(c.UserContext(), server.CurrentUser(c), groups.NewGroup{DisplayName: f.Name, Note: f.Note,
		Visibility: groups.Visibility(f.Visibility), Posting: groups.Posting(f.Posting)})
	if err != nil {
		return s.groupFormError(c, err, "group_new", &page{Title: "Create a group", Nav: "groups", Data: f})
	}
	return s.redirect(c, groupLink(g), "group_created")
}

// ---- The group page ---------------------------------------------------------------------

// groupData is the group page: the header for everyone who may see the group, and one tab.
type groupData struct {
	G   *groupCard
	Tab string // feed, members, requests, files or about
	// Content: the viewer may read the posts, members and files; otherwise only About shows.
	Content                        bool
	Member, Moderates, Administers bool
	Invited, Requested, Notify     bool
	CanInvite, CanPost             bool
	Compose                        composeForm
	Pinned                         []*cardView
	Feed                           feedView
	Members, Requests, Invitees    []memberRow
	MoreMembers                    string
	Files                          []fileRow
	FilesQ                         string
	Admins                         []*person
	InviteAcct                     string // what the invite form held when it failed
	TabFields                      string // the tab, for the header's forms to come back to
}

type memberRow struct {
	P         *person
	AccountID string
	Role      string
	RoleLabel string
	Since     time.Time
	Me        bool
	CanRemove bool
	CanRole   bool // the viewer may change this member's role
}

type fileRow struct {
	Name, URL, PostLink string
	Size                int64
	Image               bool
	Author              *person
	At                  time.Time
}

func roleLabel(r groups.Role) string {
	switch r {
	case groups.Admin:
		return "Admin"
	case groups.Moderator:
		return "Moderator"
	}
	return "Member"
}

func (s *site) groupTab(tab string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		gv, err := s.lookupGroup(c)
		if err != nil {
			return err
		}
		d, err := s.groupData(c, gv, tab)
		if err != nil {
			return err
		}
		return s.renderGroup(c, fiber.StatusOK, d, &page{})
	}
}

func (s *site) renderGroup(c *fiber.Ctx, status int, d *groupData, p *page) error {
	p.Title, p.Nav, p.Data = d.G.Name, "groups", d
	return s.render(c, status, "group", p)
}

// groupData loads the header and one tab. A viewer who may not read the group's content
// gets its About tab, whichever tab was asked for: a closed group shows what it is and how
// to join, and nothing posted in it.
func (s *site) groupData(c *fiber.Ctx, gv *groups.View, tab string) (*groupData, error) {
	ctx, u := c.UserContext(), server.CurrentUser(c)
	v := posts.ViewerOf(u)
	g, m := gv.Group, gv.Member
	d := &groupData{G: newGroupCard(gv), Tab: tab, Content: gv.Content, Member: m.Active(), Moderates: m.Moderates(),
		Administers: m.Administers() && !g.IsRemote()}
	if m != nil {
		d.Invited, d.Requested, d.Notify = m.State == groups.Invited, m.State == groups.Requested, m.Notify
	}
	d.CanInvite = d.Member && !g.IsRemote() && (g.Visibility != groups.Secret || d.Moderates)
	d.CanPost = d.Member && (g.Posting == groups.AllMembers || d.Moderates)
	if !d.Content {
		d.Tab = "about"
	}
	d.TabFields = d.Tab
	var err error
	switch d.Tab {
	case "feed":
		if d.CanPost {
			d.Compose = composeForm{GroupID: g.ID, GroupName: g.DisplayName, CanImportant: d.Moderates || u.IsAdmin(),
				GroupHint: groupPostHint(g.Visibility)}
		}
		if qv(c, "max_id") == "" {
			pins, err := s.Groups.Pins(ctx, v, g.ID)
			if err != nil {
				return nil, err
			}
			if d.Pinned, err = s.cards(c, pins, cardOpts{Pinned: true}); err != nil {
				return nil, err
			}
		}
		if d.Feed, err = s.groupFeed(c, g, qv(c, "max_id")); err != nil {
			return nil, err
		}
	case "members":
		list, err := s.Groups.Members(ctx, v, g.ID, groups.Joined, qv(c, "after"), 40)
		if err != nil {
			return nil, err
		}
		d.Members = s.memberRows(u, m, g, list)
		if len(list) == 40 {
			d.MoreMembers = groupLink(g) + "/members?after=" + url.QueryEscape(list[len(list)-1].AccountID)
		}
	case "requests":
		list, err := s.Groups.Members(ctx, v, g.ID, groups.Requested, "", 80)
		if err != nil {
			return nil, err
		}
		d.Requests = s.memberRows(u, m, g, list)
		if list, err = s.Groups.Members(ctx, v, g.ID, groups.Invited, "", 80); err != nil {
			return nil, err
		}
		d.Invitees = s.memberRows(u, m, g, list)
	case "files":
		d.FilesQ = strings.TrimSpace(qv(c, "q"))
		files, err := s.Groups.Files(ctx, v, g.ID, d.FilesQ, 100)
		if err != nil {
			return nil, err
		}
		if d.Files, err = s.fileRows(ctx, files); err != nil {
			return nil, err
		}
	default:
		d.Tab, d.TabFields = "about", "about"
		if d.Content {
			// The admins, from the first page of members: enough for every group of a
			// sensible size, and the Members tab lists everyone.
			list, err := s.Groups.Members(ctx, v, g.ID, groups.Joined, "", 80)
			if err != nil {
				return nil, err
			}
			for _, mv := range list {
				if mv.Role == groups.Admin {
					d.Admins = append(d.Admins, newPerson(mv.Account))
				}
			}
		}
	}
	return d, nil
}

func groupPostHint(v groups.Visibility) string {
	if v == groups.Open {
		return "Everyone here can read it."
	}
	return "Only its members can read it."
}

// groupFeed is one page of the group's posts, newest first, with the link to the next.
func (s *site) groupFeed(c *fiber.Ctx, g *groups.Group, maxID string) (feedView, error) {
	ps, err := s.Groups.Timeline(c.UserContext(), groupViewer(c), g.ID, posts.Page{MaxID: maxID, Limit: feedPage})
	if err != nil {
		return feedView{}, err
	}
	cards, err := s.cards(c, ps, cardOpts{})
	if err != nil {
		return feedView{}, err
	}
	fv := feedView{Cards: cards, Empty: "Nothing has been posted here yet."}
	if len(ps) >= feedPage {
		next := url.QueryEscape(ps[len(ps)-1].ID)
		fv.More = &moreLink{Href: groupLink(g) + "?max_id=" + next, Fragment: groupLink(g) + "/more?max_id=" + next}
	}
	return fv, nil
}

// groupMore is the next page of a group's feed as bare cards, for infinite scroll.
func (s *site) groupMore(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	fv, err := s.groupFeed(c, gv.Group, qv(c, "max_id"))
	if err != nil {
		return err
	}
	return s.fragment(c, fiber.StatusOK, "cards", fv)
}

func (s *site) memberRows(me *accounts.User, mine *groups.Membership, g *groups.Group, list []*groups.MemberView) []memberRow {
	out := make([]memberRow, 0, len(list))
	for _, mv := range list {
		r := memberRow{P: newPerson(mv.Account), AccountID: mv.AccountID, Role: string(mv.Role), RoleLabel: roleLabel(mv.Role),
			Since: mv.CreatedAt, Me: mv.AccountID == me.ID}
		if !g.IsRemote() && !r.Me && mv.State == groups.Joined {
			// What the service allows, so the page offers no button it would refuse.
			r.CanRemove = mine.Moderates() && (mv.Role != groups.Admin || mine.Administers())
			r.CanRole = mine.Administers()
		}
		out = append(out, r)
	}
	return out
}

func (s *site) fileRows(ctx context.Context, files []posts.GroupFile) ([]fileRow, error) {
	ids := make([]string, 0, len(files))
	for _, f := range files {
		ids = append(ids, f.AuthorID)
	}
	authors, err := s.Accounts.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]fileRow, 0, len(files))
	for _, f := range files {
		r := fileRow{Name: f.FileName, URL: "/media/" + f.FileKey, Size: f.SizeBytes, Image: f.Kind == "image", At: f.CreatedAt}
		if r.Name == "" {
			r.Name = "Unnamed file"
		}
		if f.PostID != nil {
			r.PostLink = "/posts/" + *f.PostID
		}
		if a := authors[f.AuthorID]; a != nil {
			r.Author = newPerson(a)
		}
		out = append(out, r)
	}
	return out, nil
}

// groupComposeError shows a refused group post on the group's feed, with what was typed.
func (s *site) groupComposeError(c *fiber.Ctx, f composeForm, status int, field string) error {
	gv, err := s.Groups.Get(c.UserContext(), groupViewer(c), f.GroupID)
	if err != nil {
		return err
	}
	d, err := s.groupData(c, gv, "feed")
	if err != nil {
		return err
	}
	if d.Tab != "feed" || !d.CanPost {
		// Not allowed to post here at all: the message says why, above the page.
		return s.renderGroup(c, status, d, &page{Error: f.Error})
	}
	f.GroupName, f.GroupHint, f.CanImportant = d.Compose.GroupName, d.Compose.GroupHint, d.Compose.CanImportant
	d.Compose = f
	return s.renderGroup(c, status, d, &page{ErrField: field})
}

// ---- Actions ----------------------------------------------------------------------------

// groupAction runs one change to the group of the route and goes back to the page the form
// was on. A refusal is shown on the group's page (the tab the form named), above the tab;
// a group the viewer may not see is the plain 404.
func (s *site) groupAction(c *fiber.Ctx, flash string, do func(ctx context.Context, u *accounts.User, gv *groups.View) error) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	if err := do(c.UserContext(), server.CurrentUser(c), gv); err != nil {
		return s.groupActionFailed(c, gv, err, nil)
	}
	return s.redirect(c, back(c, groupLink(gv.Group)), flash)
}

func (s *site) groupActionFailed(c *fiber.Ctx, gv *groups.View, failure error, edit func(d *groupData)) error {
	k := errs.KindOf(failure)
	if k == errs.Internal || k == errs.NotFound && fv(c, "account") == "" {
		return failure
	}
	// Read the group again: the failed change may have been half the story (a request
	// answered by someone else meanwhile).
	fresh, err := s.Groups.Get(c.UserContext(), groupViewer(c), gv.Group.ID)
	if err != nil {
		return err
	}
	tab := fv(c, "tab")
	switch tab {
	case "feed", "members", "requests", "files", "about":
	default:
		tab = "feed"
	}
	d, err := s.groupData(c, fresh, tab)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(d)
	}
	p := &page{}
	p.Error, p.ErrField = describeGroup(failure)
	return s.renderGroup(c, k.Status(), d, p)
}

func (s *site) joinGroup(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	m, err := s.Groups.Join(c.UserContext(), server.CurrentUser(c), gv.Group.ID, "")
	if err != nil {
		return s.groupActionFailed(c, gv, err, nil)
	}
	flash := "group_joined"
	if m.State == groups.Requested {
		flash = "group_requested"
	}
	// From the directory's invitation list, the group itself is where to go next.
	return s.redirect(c, groupLink(gv.Group), flash)
}

func (s *site) leaveGroup(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	if err := s.Groups.Leave(c.UserContext(), server.CurrentUser(c), gv.Group.ID); err != nil {
		return s.groupActionFailed(c, gv, err, nil)
	}
	flash := "group_left"
	if m := gv.Member; m != nil && m.State == groups.Requested {
		flash = "group_request_cancelled"
	} else if m != nil && m.State == groups.Invited {
		flash = "group_declined"
	}
	to := back(c, groupLink(gv.Group))
	if gv.Group.Visibility == groups.Secret {
		to = "/groups" // the group is out of sight now
	}
	return s.redirect(c, to, flash)
}

func (s *site) notifyGroup(c *fiber.Ctx) error {
	on := fv(c, "on") == "1"
	flash := "group_notify_off"
	if on {
		flash = "group_notify_on"
	}
	return s.groupAction(c, flash, func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		return s.Groups.SetNotify(ctx, u, gv.Group.ID, on)
	})
}

// inviteToGroup invites a colleague by username, or someone on a partner node by user@host.
func (s *site) inviteToGroup(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	acct := strings.TrimPrefix(strings.TrimSpace(fv(c, "acct")), "@")
	ctx, u := c.UserContext(), server.CurrentUser(c)
	target, err := s.inviteTarget(ctx, acct)
	if err == nil {
		_, err = s.Groups.Invite(ctx, u, gv.Group.ID, target)
	}
	if err != nil {
		return s.groupActionFailed(c, gv, err, func(d *groupData) { d.InviteAcct = acct })
	}
	return s.redirect(c, back(c, groupLink(gv.Group)+"/members"), "group_invited")
}

func (s *site) inviteTarget(ctx context.Context, acct string) (*accounts.User, error) {
	if acct == "" {
		return nil, errs.Field("acct", "name the person to invite: a username, or user@host for someone on a partner node")
	}
	name, host, remote := strings.Cut(acct, "@")
	if remote && !strings.EqualFold(host, baseHost(s.Groups.BaseURL(ctx))) {
		var u *accounts.User
		var err error
		if s.ResolveAccount != nil {
			u, err = s.ResolveAccount(ctx, acct)
		} else {
			u, err = s.Accounts.RemoteByAcct(ctx, acct)
		}
		if errs.KindOf(err) == errs.NotFound {
			return nil, errs.Field("acct", "nobody called %s was found", acct)
		}
		return u, err
	}
	u, err := s.Accounts.ByUsername(ctx, name)
	if errs.KindOf(err) == errs.NotFound {
		return nil, errs.Field("acct", "nobody here has the username %s", name)
	}
	return u, err
}

func baseHost(base string) string {
	return strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
}

func (s *site) approveMember(c *fiber.Ctx) error {
	return s.groupAction(c, "group_approved", func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		_, err := s.Groups.Authorize(ctx, u, gv.Group.ID, fv(c, "account"))
		return err
	})
}

func (s *site) rejectMember(c *fiber.Ctx) error {
	return s.groupAction(c, "group_rejected", func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		return s.Groups.Reject(ctx, u, gv.Group.ID, fv(c, "account"))
	})
}

func (s *site) removeMember(c *fiber.Ctx) error {
	return s.groupAction(c, "group_removed", func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		return s.Groups.Remove(ctx, u, gv.Group.ID, fv(c, "account"))
	})
}

func (s *site) setMemberRole(c *fiber.Ctx) error {
	return s.groupAction(c, "group_role", func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		return s.Groups.SetRole(ctx, u, gv.Group.ID, fv(c, "account"), groups.Role(fv(c, "role")))
	})
}

func (s *site) pinGroupPost(c *fiber.Ctx) error {
	on := fv(c, "on") != "0"
	flash := "group_unpinned"
	if on {
		flash = "group_pinned"
	}
	return s.groupAction(c, flash, func(ctx context.Context, u *accounts.User, gv *groups.View) error {
		return s.Groups.Pin(ctx, u, gv.Group.ID, fv(c, "post"), on)
	})
}

// ---- Settings ---------------------------------------------------------------------------

type groupSettingsData struct {
	G           *groupCard
	CoverMB     int64  // the largest cover upload, in MB
	CoverSize   string // the size covers are stored at, "1500×500"
	Form        groupForm
	Partners    []partnerView
	PartnerHost string // what the partner form held when it failed
	Confirmed   bool
}

type partnerView struct {
	Host  string
	Since time.Time
	By    *person
}

// settingsGroup loads a group the viewer administers. Admins are asked by the service on
// every change; this only spares the others a form they could not use, with the service's
// own answer (404 for a group they cannot see, 403 for one they can).
func (s *site) settingsGroup(c *fiber.Ctx) (*groups.View, error) {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return nil, err
	}
	if gv.Group.IsRemote() || !gv.Member.Administers() {
		return nil, errs.E(errs.Forbidden, "only the admins of %s can change it", gv.Group.DisplayName)
	}
	return gv, nil
}

func (s *site) groupSettingsPage(c *fiber.Ctx) error {
	gv, err := s.settingsGroup(c)
	if err != nil {
		return err
	}
	return s.renderGroupSettings(c, gv, groupSettingsData{}, nil)
}

// renderGroupSettings draws the settings page; d holds what a failed form kept (its Form is
// filled from the group when empty), failure the service's refusal.
func (s *site) renderGroupSettings(c *fiber.Ctx, gv *groups.View, d groupSettingsData, failure error) error {
	ctx := c.UserContext()
	g := gv.Group
	d.G = newGroupCard(gv)
	// The node's request limit may be lower than the cover's own.
	d.CoverMB, d.CoverSize = min(groups.CoverMaxBytes, s.MaxUpload)>>20, fmt.Sprintf("%d×%d", groups.CoverWidth, groups.CoverHeight)
	if d.Form.Action == "" {
		d.Form = groupForm{Name: g.DisplayName, Note: g.Note, Visibility: string(g.Visibility), Posting: string(g.Posting)}
	}
	d.Form.Editing, d.Form.Secret, d.Form.Action = true, g.Visibility == groups.Secret, groupLink(g)+"/settings"
	list, err := s.Groups.Partners(ctx, groupViewer(c), g.ID)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(list))
	for _, pt := range list {
		ids = append(ids, pt.ConfirmedBy)
	}
	by, err := s.Accounts.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	for _, pt := range list {
		d.Partners = append(d.Partners, partnerView{Host: pt.Host, Since: pt.CreatedAt, By: newPerson(by[pt.ConfirmedBy])})
	}
	p := &page{Title: "Settings of " + g.DisplayName, Nav: "groups", Data: d}
	if failure != nil {
		return s.groupFormError(c, failure, "group_settings", p)
	}
	return s.render(c, fiber.StatusOK, "group_settings", p)
}

func (s *site) saveGroupSettings(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	f := groupForm{Name: fv(c, "display_name"), Note: fv(c, "note"), Visibility: fv(c, "visibility"), Posting: fv(c, "posting"),
		Action: "kept"}
	in := groups.Update{DisplayName: &f.Name, Note: &f.Note}
	if f.Posting != "" {
		p := groups.Posting(f.Posting)
		in.Posting = &p
	}
	if f.Visibility != "" {
		v := groups.Visibility(f.Visibility)
		in.Visibility = &v
	}
	g, err := s.Groups.Update(c.UserContext(), server.CurrentUser(c), gv.Group.ID, in)
	if err != nil {
		if k := errs.KindOf(err); k == errs.Forbidden || k == errs.NotFound || k == errs.Internal {
			return err
		}
		if f.Visibility == "" {
			f.Visibility = string(gv.Group.Visibility)
		}
		return s.renderGroupSettings(c, gv, groupSettingsData{Form: f}, err)
	}
	return s.redirect(c, groupLink(g)+"/settings", "group_saved")
}

// uploadGroupCover makes the uploaded picture the group's cover. The service decides who may
// (its admins; a secret group stays a 404 for everyone else) and processes the picture; a
// refused file comes back on the settings page with what to do instead.
func (s *site) uploadGroupCover(c *fiber.Ctx) error {
	// Rights before the form: a refused file re-renders the settings page, which is for
	// admins only.
	gv, err := s.settingsGroup(c)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if k := errs.KindOf(err); k == errs.Forbidden || k == errs.NotFound || k == errs.Internal {
			return err
		}
		return s.renderGroupSettings(c, gv, groupSettingsData{}, err)
	}
	// Not readUpload, which buffers the whole file: the service reads no more than its limit.
	fh, err := c.FormFile("cover")
	if err != nil || fh.Size == 0 {
		return fail(errs.Field("cover", "choose a picture to upload: a JPEG, PNG, GIF or WebP image"))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := s.Groups.SetCover(c.UserContext(), server.CurrentUser(c), gv.Group.ID, s.Media, f); err != nil {
		return fail(err)
	}
	return s.redirect(c, groupLink(gv.Group)+"/settings", "group_cover_saved")
}

func (s *site) removeGroupCover(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	if _, err := s.Groups.ClearCover(c.UserContext(), server.CurrentUser(c), gv.Group.ID, s.Media); err != nil {
		return err
	}
	return s.redirect(c, groupLink(gv.Group)+"/settings", "group_cover_removed")
}

func (s *site) deleteGroup(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	if err := s.Groups.Delete(c.UserContext(), server.CurrentUser(c), gv.Group.ID); err != nil {
		return err
	}
	return s.redirect(c, "/groups", "group_deleted")
}

func (s *site) addGroupPartner(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	host, confirmed := strings.TrimSpace(fv(c, "host")), fv(c, "confirm") == "1"
	if err := s.Groups.AddPartner(c.UserContext(), server.CurrentUser(c), gv.Group.ID, host, confirmed); err != nil {
		if k := errs.KindOf(err); k == errs.Forbidden || k == errs.NotFound || k == errs.Internal {
			return err
		}
		return s.renderGroupSettings(c, gv, groupSettingsData{PartnerHost: host, Confirmed: confirmed}, err)
	}
	return s.redirect(c, groupLink(gv.Group)+"/settings", "group_partner_added")
}

func (s *site) removeGroupPartner(c *fiber.Ctx) error {
	gv, err := s.lookupGroup(c)
	if err != nil {
		return err
	}
	if err := s.Groups.RemovePartner(c.UserContext(), server.CurrentUser(c), gv.Group.ID, fv(c, "host")); err != nil {
		return err
	}
	return s.redirect(c, groupLink(gv.Group)+"/settings", "group_partner_removed")
}

// ---- Group names on cards ---------------------------------------------------------------

// groupTag is a post's group as its card names it: "in <group>", and whether the viewer
// moderates the group (and so may pin the post).
type groupTag struct {
	Name, Link string
	CanPin     bool
	pinned     map[string]bool
}

type groupTags map[string]*groupTag

// apply puts the post's group on its card.
func (t groupTags) apply(pv *postView, p *posts.Post) {
	if p.GroupID == nil || t[*p.GroupID] == nil {
		return
	}
	tag := t[*p.GroupID]
	pv.Group, pv.CanPin, pv.PinnedInGroup = tag, tag.CanPin && !p.IsComment(), tag.pinned[p.ID]
}

// groupTags names the groups of a page of posts. Most come from the viewer's own groups, so
// when a page spans several groups those are read in one listing; any other (an open group
// read without joining) is looked up alone. A name is a nicety: failures leave it out.
func (s *site) groupTags(ctx context.Context, v *posts.Viewer, ps []*posts.Post) groupTags {
	if s.Groups == nil {
		return nil
	}
	want := map[string]bool{}
	for _, p := range ps {
		if p.GroupID != nil {
			want[*p.GroupID] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	views := make(map[string]*groups.View, len(want))
	if len(want) > 2 {
		list, err := s.Groups.List(ctx, v, groups.Mine, "", groupListLimit)
		if err != nil {
			s.Log.Warn("group names for cards", "err", err)
		}
		for _, gv := range list {
			if want[gv.Group.ID] {
				views[gv.Group.ID] = gv
			}
		}
	}
	out := make(groupTags, len(want))
	for id := range want {
		gv := views[id]
		if gv == nil {
			var err error
			if gv, err = s.Groups.Get(ctx, v, id); err != nil {
				if !errs.Is(err, errs.NotFound) {
					s.Log.Warn("group name for a card", "group", id, "err", err)
				}
				continue
			}
		}
		tag := &groupTag{Name: gv.Group.DisplayName, Link: groupLink(gv.Group), CanPin: gv.Member.Moderates() && !gv.Group.IsRemote()}
		if tag.CanPin {
			// Only moderators see Pin / Unpin, so only they pay for knowing which is which.
			pins, err := s.Groups.Pins(ctx, v, id)
			if err != nil {
				s.Log.Warn("group pins for a card", "group", id, "err", err)
			}
			tag.pinned = make(map[string]bool, len(pins))
			for _, p := range pins {
				tag.pinned[p.ID] = true
			}
		}
		out[id] = tag
	}
	return out
}

// groupNote names the group of a group notification and links where it is acted on: the
// Requests tab for a request, the group for an invitation or approval, the post for a new
// post. A group the viewer can no longer see is not named; its invitations and requests are
// answered from the groups page.
func (s *site) groupNote(ctx context.Context, v *posts.Viewer, nv *noteView, n *notify.Notification, seen map[string]*groups.View) {
	if n.PostID == nil {
		nv.Link = "/groups"
	}
	if s.Groups == nil || n.GroupID == nil {
		return
	}
	gv, ok := seen[*n.GroupID]
	if !ok {
		var err error
		if gv, err = s.Groups.Get(ctx, v, *n.GroupID); err != nil && !errs.Is(err, errs.NotFound) {
			s.Log.Warn("group of a notification", "group", *n.GroupID, "err", err)
		}
		seen[*n.GroupID] = gv
	}
	if gv == nil {
		return
	}
	nv.Group = gv.Group.DisplayName
	switch {
	case n.Kind == notify.GroupRequest && gv.Member.Moderates():
		nv.Link = groupLink(gv.Group) + "/requests"
	case n.PostID == nil:
		nv.Link = groupLink(gv.Group)
	}
}
