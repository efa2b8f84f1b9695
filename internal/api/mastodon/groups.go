package mastodon

import (
	"context"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// GroupMembership is the viewer's standing in a group.
type GroupMembership struct {
	State  string `json:"state"` // member, requested or invited
	Role   string `json:"role"`
	Notify bool   `json:"notify"` // follows the group closely
}

// Group is Atrium's group entity. Mastodon has none; its names follow the Account entity so
// that apps can reuse their account rendering. The cover is there in the Account's names too:
// header is the wide picture, avatar its small copy (apps crop it to their avatar shape),
// both the placeholders when the group has none.
type Group struct {
	ID           string           `json:"id"`
	Handle       string           `json:"handle"`
	Acct         string           `json:"acct"`
	DisplayName  string           `json:"display_name"`
	Note         string           `json:"note"`      // HTML, as Account.note
	NoteText     string           `json:"note_text"` // the source, for editing
	Visibility   string           `json:"visibility"`
	Posting      string           `json:"posting"`
	Locked       bool             `json:"locked"`
	URL          string           `json:"url"`
	URI          string           `json:"uri"`
	Avatar       string           `json:"avatar"`
	AvatarStatic string           `json:"avatar_static"`
	Header       string           `json:"header"`
	HeaderStatic string           `json:"header_static"`
	Cover        *string          `json:"cover"` // the header, or null without a cover
	MembersCount int              `json:"members_count"`
	CreatedAt    string           `json:"created_at"`
	Domain       string           `json:"domain"` // the host of the node the group lives on
	Membership   *GroupMembership `json:"membership"`
}

// GroupMember is one membership, request or invitation with the person.
type GroupMember struct {
	ID        string  `json:"id"` // the account's id, which is also the pagination cursor
	Account   Account `json:"account"`
	Role      string  `json:"role"`
	State     string  `json:"state"`
	CreatedAt string  `json:"created_at"`
}

// GroupFile is an attachment posted in a group.
type GroupFile struct {
	MediaAttachment
	StatusID  string `json:"status_id"`
	AccountID string `json:"account_id"`
	CreatedAt string `json:"created_at"`
}

// GroupPartner is a partner node a closed or secret group admits members from.
type GroupPartner struct {
	Host        string `json:"host"`
	ConfirmedBy string `json:"confirmed_by"`
	CreatedAt   string `json:"created_at"`
}

// StatusGroup names the group a status was posted in.
type StatusGroup struct {
	ID          string `json:"id"`
	Handle      string `json:"handle"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
}

// groupRoutes mounts the groups API. Reading uses the statuses scopes: Mastodon has no
// groups scope, and a group is a place for statuses.
func (a *api) groupRoutes(app *fiber.App) {
	if a.Groups == nil {
		return
	}
	read, write := server.RequireScope("read:statuses"), server.RequireScope("write:statuses")
	app.Get("/api/v1/groups", read, a.listGroups)
	app.Post("/api/v1/groups", write, a.createGroup)
	// Before /groups/:id, which would otherwise take "lookup" for an id.
	app.Get("/api/v1/groups/lookup", read, a.lookupGroup)
	app.Get("/api/v1/groups/:id", read, a.getGroup)
	app.Patch("/api/v1/groups/:id", write, a.updateGroup)
	app.Delete("/api/v1/groups/:id", write, a.deleteGroup)
	app.Post("/api/v1/groups/:id/join", write, a.joinGroup)
	app.Post("/api/v1/groups/:id/leave", write, a.leaveGroup)
	app.Post("/api/v1/groups/:id/invite", write, a.inviteToGroup)
	app.Post("/api/v1/groups/:id/notify", write, a.notifyGroup)
	app.Get("/api/v1/groups/:id/members", read, a.groupMembers(""))
	app.Post("/api/v1/groups/:id/members/:account_id/role", write, a.setGroupRole)
	app.Delete("/api/v1/groups/:id/members/:account_id", write, a.removeGroupMember)
	app.Get("/api/v1/groups/:id/membership_requests", read, a.groupMembers(groups.Requested))
	app.Post("/api/v1/groups/:id/membership_requests/:account_id/authorize", write, a.authorizeGroupRequest)
	app.Post("/api/v1/groups/:id/membership_requests/:account_id/reject", write, a.rejectGroupRequest)
	app.Get("/api/v1/groups/:id/pins", read, a.groupPins)
	app.Post("/api/v1/groups/:id/pins/:status_id", write, a.pinGroupPost(true))
	app.Delete("/api/v1/groups/:id/pins/:status_id", write, a.pinGroupPost(false))
	app.Get("/api/v1/groups/:id/files", read, a.groupFiles)
	app.Get("/api/v1/groups/:id/partners", read, a.groupPartners)
	app.Post("/api/v1/groups/:id/partners", write, a.addGroupPartner)
	app.Delete("/api/v1/groups/:id/partners/:host", write, a.removeGroupPartner)
	app.Get("/api/v1/timelines/group/:id", read, a.timeline(func(c *fiber.Ctx, v *posts.Viewer, pg posts.Page) ([]*posts.Post, error) {
		return a.Groups.Timeline(c.UserContext(), v, c.Params("id"), pg)
	}))
}

func viewer(c *fiber.Ctx) *posts.Viewer { return posts.ViewerOf(server.CurrentUser(c)) }

// groupPictures are a group's cover as the API shows it: the wide picture (nil without a
// cover) and a small copy for avatar fields. A remote group's cover is its node's address,
// as a remote person's header is (remoteAccount): the pictures of remote actors are not
// served from this node, and only web addresses are passed on.
func groupPictures(g *groups.Group, base string) (cover *string, small string) {
	switch {
	case g.CoverKey != "":
		u := base + "/media/" + g.CoverKey
		return &u, base + "/media/" + g.CoverThumb()
	case g.IsRemote() && (strings.HasPrefix(g.CoverURL, "https://") || strings.HasPrefix(g.CoverURL, "http://")):
		u := g.CoverURL
		return &u, u
	}
	return nil, ""
}

// groupAvatarHeader are the Account fields for a group's cover, placeholders without one.
func groupAvatarHeader(g *groups.Group, base string) (avatar, header string, cover *string) {
	cover, small := groupPictures(g, base)
	if cover == nil {
		return base + "/avatars/missing.png", base + "/headers/missing.png", nil
	}
	return small, *cover, cover
}

func groupURL(g *groups.Group, base string) string {
	if g.URI != "" {
		return g.URI
	}
	return base + "/groups/" + g.Handle
}

func groupDomain(g *groups.Group, base string) string {
	if g.IsRemote() {
		return g.Domain
	}
	return config.Host(base)
}

// group renders a group as v sees it.
func (a *api) group(v *groups.View, base string) Group {
	g := v.Group
	avatar, header, cover := groupAvatarHeader(g, base)
	out := Group{ID: g.ID, Handle: g.Handle, Acct: g.Acct(), DisplayName: g.DisplayName, Note: noteHTML(g.Note), NoteText: g.Note,
		Visibility: string(g.Visibility), Posting: string(g.Posting), Locked: g.Visibility != groups.Open,
		URL: groupURL(g, base), URI: g.URI, Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header, Cover: cover,
		MembersCount: g.MembersCount, CreatedAt: mastodonTime(g.CreatedAt), Domain: groupDomain(g, base)}
	if m := v.Member; m != nil {
		out.Membership = &GroupMembership{State: string(m.State), Role: string(m.Role), Notify: m.Notify}
	}
	return out
}

// groupAccount renders a group as a Mastodon Account with group: true, as Mastodon renders
// Lemmy communities and Friendica forums: apps that know no groups still show something.
func (a *api) groupAccount(g *groups.Group, base string) Account {
	avatar, header, _ := groupAvatarHeader(g, base)
	return Account{ID: g.ID, Username: g.Handle, Acct: g.Acct(), DisplayName: g.DisplayName,
		Locked: g.Visibility != groups.Open, Group: true, Discoverable: g.Visibility != groups.Secret,
		CreatedAt: mastodonTime(g.CreatedAt.Truncate(24 * time.Hour)), Note: noteHTML(g.Note), URL: groupURL(g, base), URI: g.URI,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header, FollowersCount: g.MembersCount,
		Emojis: []any{}, Fields: []Field{}}
}

// accountOrGroup answers GET /api/v1/accounts/:id for an id that is no person: a group the
// viewer may know of, as an Account; anything else is Mastodon's 404.
func (a *api) accountOrGroup(c *fiber.Ctx, id string) error {
	if a.Groups == nil {
		return errNotFound()
	}
	v, err := a.Groups.Get(c.UserContext(), viewer(c), id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return errNotFound()
		}
		return err
	}
	return c.JSON(a.groupAccount(v.Group, a.BaseURL(c.UserContext())))
}

// loadGroups reads the groups of a page of statuses in one query. Only names are shown, to
// people who can read the statuses, so no visibility rule applies beyond the statuses' own.
func (a *api) loadGroups(ctx context.Context, idList []string) (map[string]*groups.Group, error) {
	if a.Groups == nil || len(idList) == 0 {
		return nil, nil
	}
	var gs []*groups.Group
	if err := a.Groups.DB.NewSelect().Model(&gs).Where("id IN (?)", bun.In(idList)).Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]*groups.Group, len(gs))
	for _, g := range gs {
		out[g.ID] = g
	}
	return out, nil
}

// groupsSeenBy returns the groups among idList that v may know of, with v's membership;
// one lookup per distinct group, which a page of notifications names few of.
func (a *api) groupsSeenBy(ctx context.Context, v *posts.Viewer, idList []string) (map[string]*groups.View, error) {
	out := map[string]*groups.View{}
	if a.Groups == nil {
		return out, nil
	}
	for _, id := range idList {
		if _, done := out[id]; done {
			continue
		}
		view, err := a.Groups.Get(ctx, v, id)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, err
		}
		out[id] = view // nil when hidden
	}
	return out, nil
}

func statusGroup(g *groups.Group) *StatusGroup {
	return &StatusGroup{ID: g.ID, Handle: g.Handle, Acct: g.Acct(), DisplayName: g.DisplayName}
}

func (a *api) listGroups(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	f := groups.Mine
	switch p.str("filter") {
	case "", "mine", "member":
	case "directory":
		f = groups.Directory
	case "invitations", "invited":
		f = groups.Invitations
	case "requested":
		f = groups.Pending
	default:
		return errs.Field("filter", "%q is not a list of groups: use mine, directory, invitations or requested", p.str("filter"))
	}
	pending, _, err := p.boolean("pending")
	if err != nil {
		return err
	}
	if pending {
		f = groups.Invitations
	}
	limit, err := intParam(p, "limit", 40, 200)
	if err != nil {
		return err
	}
	views, err := a.Groups.List(c.UserContext(), viewer(c), f, p.str("q"), limit)
	if err != nil {
		return err
	}
	base := a.BaseURL(c.UserContext())
	out := make([]Group, 0, len(views))
	for _, v := range views {
		out = append(out, a.group(v, base))
	}
	return c.JSON(out)
}

func (a *api) createGroup(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	g, err := a.Groups.Create(c.UserContext(), u, groups.NewGroup{DisplayName: p.str("display_name"), Note: p.str("note"),
		Visibility: groups.Visibility(p.str("visibility")), Posting: groups.Posting(p.str("posting"))})
	if err != nil {
		return err
	}
	return a.answerGroup(c, g.ID)
}

// answerGroup renders the group as the caller now sees it.
func (a *api) answerGroup(c *fiber.Ctx, id string) error {
	v, err := a.Groups.Get(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(a.group(v, a.BaseURL(c.UserContext())))
}

func (a *api) getGroup(c *fiber.Ctx) error { return a.answerGroup(c, c.Params("id")) }

func (a *api) lookupGroup(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	acct := strings.TrimPrefix(strings.TrimSpace(p.str("acct")), "@")
	if acct == "" {
		return errs.Field("acct", "give the group's handle: name, or name@host for a group on a partner node")
	}
	ctx := c.UserContext()
	v := viewer(c)
	view, err := a.Groups.Lookup(ctx, v, acct)
	if errs.Is(err, errs.NotFound) && a.ResolveGroup != nil && strings.Contains(acct, "@") {
		resolve, _, perr := p.boolean("resolve")
		if perr != nil {
			return perr
		}
		if _, local := posts.LocalAcct(acct, config.Host(a.BaseURL(ctx))); resolve && !local {
			g, rerr := a.ResolveGroup(ctx, acct)
			if rerr != nil {
				return rerr
			}
			// What the other node says is only a copy: this node's rules decide who sees it.
			view, err = a.Groups.Get(ctx, v, g.ID)
		}
	}
	if err != nil {
		return err
	}
	return c.JSON(a.group(view, a.BaseURL(ctx)))
}

func intParam(p *params, name string, def, max int) (int, error) {
	s := p.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errs.Field(name, "%q is not a positive number", s)
	}
	return min(n, max), nil
}

func (a *api) updateGroup(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	var in groups.Update
	if p.has("display_name") {
		s := p.str("display_name")
		in.DisplayName = &s
	}
	if p.has("note") {
		s := p.str("note")
		in.Note = &s
	}
	if p.has("visibility") {
		vis := groups.Visibility(p.str("visibility"))
		in.Visibility = &vis
	}
	if p.has("posting") {
		rule := groups.Posting(p.str("posting"))
		in.Posting = &rule
	}
	upload, err := coverUpload(c)
	if err != nil {
		return err
	}
	remove, _, err := p.boolean("cover_remove")
	if err != nil {
		return err
	}
	ctx, u, id := c.UserContext(), server.CurrentUser(c), c.Params("id")
	// The profile first, then the cover: each is one change of its own, and a cover that is
	// refused (too large, not a picture) leaves the saved name and description as they are.
	// A request with nothing in it still goes to Update, whose answer (the group, or why the
	// caller may not change it) it has always had.
	if in != (groups.Update{}) || upload == nil && !remove {
		g, err := a.Groups.Update(ctx, u, id, in)
		if err != nil {
			return err
		}
		id = g.ID
	}
	switch {
	case upload != nil:
		f, err := upload.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		// The node has one media store; the posts service holds it.
		if _, err := a.Groups.SetCover(ctx, u, id, a.Posts.Media, f); err != nil {
			return err
		}
	case remove:
		if _, err := a.Groups.ClearCover(ctx, u, id, a.Posts.Media); err != nil {
			return err
		}
	}
	return a.answerGroup(c, id)
}

// coverUpload is the picture a PATCH carries for the cover: the field cover, or the names
// Mastodon apps send for an account's pictures, header before avatar because the cover is a
// wide picture. Apps that send both mean one picture for the group, and the wide one fits.
func coverUpload(c *fiber.Ctx) (*multipart.FileHeader, error) {
	if !strings.HasPrefix(string(c.Request().Header.ContentType()), "multipart/form-data") {
		return nil, nil
	}
	form, err := c.MultipartForm()
	if err != nil {
		return nil, errs.E(errs.Invalid, "the form could not be read: send the picture as multipart/form-data")
	}
	for _, name := range []string{"cover", "header", "avatar"} {
		if fs := form.File[name]; len(fs) > 0 {
			if fs[0].Size == 0 {
				return nil, errs.Field(name, "the picture is empty: choose a JPEG, PNG, GIF or WebP image")
			}
			return fs[0], nil
		}
	}
	return nil, nil
}

func (a *api) deleteGroup(c *fiber.Ctx) error {
	if err := a.Groups.Delete(c.UserContext(), server.CurrentUser(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) joinGroup(c *fiber.Ctx) error {
	if _, err := a.Groups.Join(c.UserContext(), server.CurrentUser(c), c.Params("id"), ""); err != nil {
		return err
	}
	return a.answerGroup(c, c.Params("id"))
}

// leaveGroup answers with the group as it was, without the membership: after leaving a
// secret group the caller may no longer see it at all.
func (a *api) leaveGroup(c *fiber.Ctx) error {
	ctx := c.UserContext()
	before, err := a.Groups.Get(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	if err := a.Groups.Leave(ctx, server.CurrentUser(c), before.Group.ID); err != nil {
		return err
	}
	after, err := a.Groups.Get(ctx, viewer(c), before.Group.ID)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			return err
		}
		after = &groups.View{Group: before.Group}
		if before.Member.Active() && !before.Group.IsRemote() {
			after.Group.MembersCount--
		}
	}
	return c.JSON(a.group(after, a.BaseURL(ctx)))
}

// personByAcct finds the person an acct names: username or user@host. A person of another
// node this one does not know yet is fetched when the node federates. Nobody found is nil.
func (a *api) personByAcct(ctx context.Context, acct string) (*accounts.User, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	var u *accounts.User
	var err error
	if name, local := posts.LocalAcct(acct, config.Host(a.BaseURL(ctx))); local {
		u, err = a.Accounts.ByUsername(ctx, name)
	} else {
		u, err = a.Accounts.RemoteByAcct(ctx, acct)
		if errs.Is(err, errs.NotFound) && a.ResolveAccount != nil {
			u, err = a.ResolveAccount(ctx, acct)
		}
	}
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return u, err
}

func (a *api) inviteToGroup(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var target *accounts.User
	switch {
	case p.str("account_id") != "":
		if target, err = a.Accounts.Lookup(ctx, p.str("account_id")); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	case strings.TrimSpace(p.str("acct")) != "":
		if target, err = a.personByAcct(ctx, p.str("acct")); err != nil {
			return err
		}
	default:
		return errs.Field("acct", "say whom to invite: a username, or user@host for someone on a partner node")
	}
	// An unknown person goes to the service as nil: it checks the caller's rights first, so
	// a secret group stays hidden from people who cannot invite to it.
	m, err := a.Groups.Invite(ctx, server.CurrentUser(c), c.Params("id"), target)
	if err != nil {
		return err
	}
	return c.JSON(a.member(m, target, a.BaseURL(ctx)))
}

func (a *api) member(m *groups.Membership, u *accounts.User, base string) GroupMember {
	return GroupMember{ID: m.AccountID, Account: a.account(u, base), Role: string(m.Role), State: string(m.State),
		CreatedAt: mastodonTime(m.CreatedAt)}
}

func (a *api) notifyGroup(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	on, given, err := p.boolean("on")
	if err != nil {
		return err
	}
	if !given {
		on = true
	}
	ctx := c.UserContext()
	v, err := a.Groups.Get(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	if !v.Member.Active() {
		return errs.E(errs.Forbidden, "join %s to follow it closely", v.Group.DisplayName)
	}
	if err := a.Groups.SetNotify(ctx, server.CurrentUser(c), v.Group.ID, on); err != nil {
		return err
	}
	v.Member.Notify = on
	return c.JSON(a.group(v, a.BaseURL(ctx)))
}

// groupMembers lists members (state member, or invited for the group's moderators) or,
// with a fixed state, the requests to join, by account id. Pages go on with max_id, the
// last account id of the previous page, as the Link header says.
func (a *api) groupMembers(fixed groups.State) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := readParams(c)
		if err != nil {
			return err
		}
		state := fixed
		if state == "" {
			switch s := p.str("state"); s {
			case "", "member":
				state = groups.Joined
			case "invited":
				state = groups.Invited
			case "requested":
				state = groups.Requested
			default:
				return errs.Field("state", "%q is not a membership state: use member, invited or requested", s)
			}
		}
		limit, err := intParam(p, "limit", 40, 80)
		if err != nil {
			return err
		}
		ctx := c.UserContext()
		list, err := a.Groups.Members(ctx, viewer(c), c.Params("id"), state, p.str("max_id"), limit)
		if err != nil {
			return err
		}
		base := a.BaseURL(ctx)
		out := make([]GroupMember, 0, len(list))
		for _, m := range list {
			out = append(out, a.member(m.Membership, m.Account, base))
		}
		if len(list) > 0 {
			nextLink(c, base, list[len(list)-1].AccountID)
		}
		return c.JSON(out)
	}
}

// nextLink sets a Link header with only a next page: lists in ascending order have no
// cheap way back.
func nextLink(c *fiber.Ctx, base, last string) {
	var keep []string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		switch string(k) {
		case "max_id", "min_id", "since_id":
		default:
			keep = append(keep, string(k)+"="+string(v))
		}
	})
	extra := strings.Join(keep, "&")
	if extra != "" {
		extra = "&" + extra
	}
	c.Set("Link", "<"+base+c.Path()+"?max_id="+last+extra+">; rel=\"next\"")
}

// memberAnswer renders accountID's membership after a change by a moderator.
func (a *api) memberAnswer(c *fiber.Ctx, groupID, accountID string) error {
	ctx := c.UserContext()
	m, err := a.Groups.MembershipOf(ctx, groupID, accountID)
	if err != nil {
		return err
	}
	if m == nil {
		return c.JSON(fiber.Map{})
	}
	u, err := a.Accounts.Lookup(ctx, accountID)
	if err != nil {
		return err
	}
	return c.JSON(a.member(m, u, a.BaseURL(ctx)))
}

func (a *api) setGroupRole(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	u := server.CurrentUser(c)
	if err := a.Groups.SetRole(c.UserContext(), u, c.Params("id"), c.Params("account_id"), groups.Role(p.str("role"))); err != nil {
		return err
	}
	return a.memberAnswer(c, c.Params("id"), c.Params("account_id"))
}

func (a *api) removeGroupMember(c *fiber.Ctx) error {
	if err := a.Groups.Remove(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("account_id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) authorizeGroupRequest(c *fiber.Ctx) error {
	if _, err := a.Groups.Authorize(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("account_id")); err != nil {
		return err
	}
	return a.memberAnswer(c, c.Params("id"), c.Params("account_id"))
}

func (a *api) rejectGroupRequest(c *fiber.Ctx) error {
	if err := a.Groups.Reject(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("account_id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) groupPins(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := viewer(c)
	ps, err := a.Groups.Pins(ctx, v, c.Params("id"))
	if err != nil {
		return err
	}
	out, err := a.statuses(ctx, v, ps)
	if err != nil {
		return err
	}
	for i := range out {
		out[i].Pinned = true
	}
	return c.JSON(out)
}

// pinGroupPost pins or unpins a status and answers with it, as Mastodon's status pin does.
func (a *api) pinGroupPost(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		u := server.CurrentUser(c)
		if err := a.Groups.Pin(ctx, u, c.Params("id"), c.Params("status_id"), on); err != nil {
			return err
		}
		v := posts.ViewerOf(u)
		p, err := a.Posts.Get(ctx, v, c.Params("status_id"))
		if err != nil {
			if !on && errs.Is(err, errs.NotFound) {
				return c.JSON(fiber.Map{}) // unpinned a post that is gone
			}
			return mapNotFound(err)
		}
		st, err := a.status(ctx, v, p)
		if err != nil {
			return err
		}
		st.Pinned = on
		return c.JSON(st)
	}
}

func (a *api) groupFiles(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	limit, err := intParam(p, "limit", 100, 200)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	files, err := a.Groups.Files(ctx, viewer(c), c.Params("id"), p.str("q"), limit)
	if err != nil {
		return err
	}
	pr := presenter{api: a, base: a.BaseURL(ctx)}
	if a.RemoteMedia != nil && len(files) > 0 {
		keys := make([]string, len(files))
		for i, f := range files {
			keys[i] = f.FileKey
		}
		if pr.unready, err = a.RemoteMedia(ctx, keys); err != nil {
			return err
		}
	}
	out := make([]GroupFile, 0, len(files))
	for _, f := range files {
		gf := GroupFile{MediaAttachment: pr.media(f.Attachment), AccountID: f.AuthorID, CreatedAt: mastodonTime(f.CreatedAt)}
		if f.PostID != nil {
			gf.StatusID = *f.PostID
		}
		out = append(out, gf)
	}
	return c.JSON(out)
}

func partnerEntity(p *groups.Partner) GroupPartner {
	return GroupPartner{Host: p.Host, ConfirmedBy: p.ConfirmedBy, CreatedAt: mastodonTime(p.CreatedAt)}
}

func (a *api) groupPartners(c *fiber.Ctx) error {
	list, err := a.Groups.Partners(c.UserContext(), viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]GroupPartner, 0, len(list))
	for _, p := range list {
		out = append(out, partnerEntity(p))
	}
	return c.JSON(out)
}

func (a *api) addGroupPartner(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	confirm, _, err := p.boolean("confirm")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	host := strings.ToLower(strings.TrimSpace(p.str("host")))
	if err := a.Groups.AddPartner(ctx, server.CurrentUser(c), c.Params("id"), host, confirm); err != nil {
		return err
	}
	list, err := a.Groups.Partners(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	// The service normalises the host; failing an exact match, the newest partner is it.
	var added *groups.Partner
	for _, pt := range list {
		if pt.Host == host {
			return c.JSON(partnerEntity(pt))
		}
		if added == nil || pt.CreatedAt.After(added.CreatedAt) {
			added = pt
		}
	}
	if added == nil {
		return errNotFound()
	}
	return c.JSON(partnerEntity(added))
}

func (a *api) removeGroupPartner(c *fiber.Ctx) error {
	if err := a.Groups.RemovePartner(c.UserContext(), server.CurrentUser(c), c.Params("id"), c.Params("host")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
