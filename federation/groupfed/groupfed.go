// Package groupfed federates groups (FEDERATION.md §3, FEP-1b12 style). A group lives on its
// home node as a Group actor; membership is Follow/Accept; members' nodes deliver posts,
// comments, edits and deletions only to the group's inbox; the group checks each against its
// rules and Announces the unaltered activity to the nodes hosting its members, recomputed at
// send time, so a member or a partner removed stops receiving at once.
//
// The two halves:
//
//   - home node: serves the Group actor (secret groups only to signed members' nodes), its
//     followers and outbox (counts only for anyone else), accepts Follow (join), Undo{Follow}
//     (leave), Create/Update/Delete from members, and sends Accept, Reject (refusal or
//     removal), Invite and the Announces;
//   - member node: mirrors the group (internal/groups, domain set), sends its people's Follow,
//     Undo and their group posts to the group, and applies the group's Accept, Reject, Invite
//     and Announces.
//
// Trust: an Announce's inner activity comes from another origin than the group. FEDERATION.md
// recommends re-fetching it from the author's node; that node cannot know which nodes host
// members without a membership sync, so Atrium instead trusts the group, whose signed
// Announce vouches for content it checked (the member's signed delivery and membership)
// itself; only a group this node mirrors and has members in is heard, and only for notes
// whose audience is that group.
package groupfed

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/actors"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/keys"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/outbound"
	"github.com/atrium-social/atrium/internal/posts"
)

// Deps are the package's collaborators.
type Deps struct {
	App      *fiber.App
	DB       *db.DB
	Jobs     *jobs.Queue
	Groups   *groups.Service
	Posts    *posts.Service
	Accounts *accounts.Service
	People   *people.Resolver
	Fetch    *fetch.Client
	Delivery *delivery.Service
	Keys     *keys.Store
	Markup   *markup.Renderer
	Clock    clock.Clock
	Log      *slog.Logger
	BaseURL  func(ctx context.Context) string
	// HTTP reads peers' NodeInfo (which software a member's node runs); nil: every node is
	// sent both the Announce and the group's copy (compat.go).
	HTTP *outbound.Client
	// Verify checks a request's HTTP signature and returns the key owner's actor id.
	Verify func(ctx context.Context, r *http.Request) (string, error)
}

// Fed is the group federation.
type Fed struct{ Deps }

// New registers the group routes and the group delivery job. Call before the web routes:
// a browser asking for /groups/:handle is passed on to the page.
func New(d Deps) *Fed {
	f := &Fed{d}
	d.App.Get("/groups/:handle", f.actor)
	d.App.Get("/groups/:handle/followers", f.followers)
	d.App.Get("/groups/:handle/outbox", f.outbox)
	d.Jobs.Handle(JobKind, f.run, jobs.Concurrency(2))
	return f
}

func (f *Fed) base(ctx context.Context) string { return strings.TrimSuffix(f.BaseURL(ctx), "/") }

// local loads a group hosted here by handle (deleted and unknown ones are nil).
func (f *Fed) local(ctx context.Context, handle string) (*groups.Group, error) {
	g, err := f.Groups.ByURI(ctx, f.base(ctx)+"/groups/"+handle)
	if errs.Is(err, errs.NotFound) || (err == nil && (g.DeletedAt != nil || g.IsRemote())) {
		return nil, nil
	}
	return g, err
}

// mayFetch is the one rule for signed reads of a group's material here: the signer is a
// current member (or, for the actor document only, an invited person), or the instance actor
// of a node hosting at least one current member (nodes fetch once for all their people).
func (f *Fed) mayFetch(ctx context.Context, c *fiber.Ctx, g *groups.Group, invitedToo bool) bool {
	r, err := adaptor.ConvertRequest(c, false)
	if err != nil {
		return false
	}
	owner, err := f.Verify(ctx, r)
	if err != nil || owner == "" {
		return false
	}
	if acct, err := f.Accounts.RemoteByURI(ctx, owner); err == nil {
		m, err := f.Groups.MembershipOf(ctx, g.ID, acct.ID)
		if err == nil && (m.Active() || invitedToo && m != nil && m.State == groups.Invited) {
			return true
		}
	}
	u, err := url.Parse(owner)
	if err != nil || u.Path != "/actor" {
		return false
	}
	ok, err := f.Groups.HostHasMember(ctx, g.ID, u.Host)
	if err != nil || ok {
		return ok
	}
	if !invitedToo {
		return false
	}
	// The node of an invited person reads the actor to show the invitation.
	ok, _ = f.DB.NewSelect().Table("group_members").Where("group_id = ? AND state = ?", g.ID, groups.Invited).
		Where("account_id IN (SELECT id FROM remote_accounts WHERE domain = ?)", strings.ToLower(u.Host)).Exists(ctx)
	return ok
}

func notFound(c *fiber.Ctx) error {
	return errs.E(errs.NotFound, "no such group")
}

// actor serves the Group actor; browsers go on to the group page.
func (f *Fed) actor(c *fiber.Ctx) error {
	if !actors.WantsActivity(c.Get("Accept")) {
		return c.Next()
	}
	ctx := c.UserContext()
	c.Vary("Accept")
	g, err := f.local(ctx, c.Params("handle"))
	if err != nil {
		return err
	}
	if g == nil || g.Visibility == groups.Secret && !f.mayFetch(ctx, c, g, true) {
		return notFound(c)
	}
	pair, err := f.Keys.For(ctx, g.ID)
	if err != nil {
		return err
	}
	a, err := f.groupActor(ctx, g, pair.PublicPEM)
	if err != nil {
		return err
	}
	return send(c, a)
}

// moderators lists the actor ids of the group's admins and moderators, for attributedTo
// (FEP-1b12), admins first.
func (f *Fed) moderators(ctx context.Context, g *groups.Group) ([]string, error) {
	var idList []string
	if err := f.DB.NewSelect().Table("group_members").Column("account_id").
		Where("group_id = ? AND state = ? AND role IN (?)", g.ID, groups.Joined, bun.In([]groups.Role{groups.Admin, groups.Moderator})).
		OrderExpr("CASE WHEN role = ? THEN 0 ELSE 1 END, account_id", groups.Admin).Limit(50).Scan(ctx, &idList); err != nil {
		return nil, fmt.Errorf("groupfed: moderators of %s: %w", g.URI, err)
	}
	people, err := f.Accounts.GetMany(ctx, idList)
	if err != nil {
		return nil, err
	}
	c := f.conv(ctx)
	out := make([]string, 0, len(idList))
	for _, id := range idList {
		if u := people[id]; u != nil {
			out = append(out, c.ActorURI(u))
		}
	}
	return out, nil
}

func (f *Fed) groupActor(ctx context.Context, g *groups.Group, pem string) (*activity.Actor, error) {
	mods, err := f.moderators(ctx, g)
	if err != nil {
		return nil, err
	}
	base := f.base(ctx)
	a := &activity.Actor{ID: g.URI, Type: activity.TypeGroup, PreferredUsername: g.Handle, Name: g.DisplayName,
		Summary: "<p>" + html.EscapeString(g.Note) + "</p>", URL: base + "/groups/" + g.Handle, Inbox: g.URI + "/inbox", Outbox: g.URI + "/outbox",
		Followers: g.URI + "/followers", SharedInbox: base + "/inbox", Published: g.CreatedAt,
		ManuallyApprovesFollowers: g.Visibility != groups.Open,
		// Atrium peers read discoverable=false on a group that approves followers as secret.
		Discoverable: g.Visibility != groups.Secret,
		PublicKey:    activity.PublicKey{ID: g.URI + "#main-key", Owner: g.URI, PublicKeyPem: pem},
		AttributedTo: mods}
	if g.CoverKey != "" {
		a.Image = base + "/media/" + g.CoverKey
	}
	return a, nil
}

// followers is the member list: its size for anyone who may know the group, the members'
// actors only for members and members' nodes.
func (f *Fed) followers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	g, err := f.local(ctx, c.Params("handle"))
	if err != nil {
		return err
	}
	if g == nil {
		return notFound(c)
	}
	allowed := f.mayFetch(ctx, c, g, false)
	if g.Visibility == groups.Secret && !allowed {
		return notFound(c)
	}
	col := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": g.URI + "/followers",
		"type": "OrderedCollection", "totalItems": g.MembersCount}
	if allowed {
		var idList []string
		if err := f.DB.NewSelect().Table("group_members").Column("account_id").Where("group_id = ? AND state = ?", g.ID, groups.Joined).
			OrderExpr("account_id").Limit(5000).Scan(ctx, &idList); err != nil {
			return err
		}
		people, err := f.Accounts.GetMany(ctx, idList)
		if err != nil {
			return err
		}
		uris := make([]string, 0, len(idList))
		for _, id := range idList {
			if u := people[id]; u != nil {
				uris = append(uris, f.conv(ctx).ActorURI(u))
			}
		}
		col["orderedItems"] = uris
	}
	return sendJSON(c, col)
}

// outbox is the group's activity count only: content reaches members by Announce.
func (f *Fed) outbox(c *fiber.Ctx) error {
	ctx := c.UserContext()
	g, err := f.local(ctx, c.Params("handle"))
	if err != nil {
		return err
	}
	if g == nil || g.Visibility == groups.Secret && !f.mayFetch(ctx, c, g, false) {
		return notFound(c)
	}
	return sendJSON(c, map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": g.URI + "/outbox",
		"type": "OrderedCollection", "totalItems": 0})
}

func send(c *fiber.Ctx, a *activity.Actor) error {
	b, err := activity.Encode(a)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/activity+json; charset=utf-8")
	return c.Send(b)
}

func sendJSON(c *fiber.Ctx, v any) error {
	c.Vary("Accept")
	return c.JSON(v, "application/activity+json; charset=utf-8")
}

// WebFinger answers acct:handle@host for open and closed groups here. Secret groups are never
// answered: WebFinger requests are unsigned, so nobody could be told apart.
func (f *Fed) WebFinger(ctx context.Context, handle string) (actor, profile string, ok bool) {
	g, err := f.local(ctx, strings.ToLower(handle))
	if err != nil || g == nil || g.Visibility == groups.Secret {
		return "", "", false
	}
	return g.URI, f.base(ctx) + "/groups/" + g.Handle, true
}

// Resolve finds a group on another node by name@host (WebFinger, then a signed fetch of its
// actor) and mirrors it here. It is the JSON API's lookup with resolve=true.
func (f *Fed) Resolve(ctx context.Context, acct string) (*groups.Group, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	if _, host, ok := strings.Cut(acct, "@"); !ok || host == "" {
		return nil, errs.Field("acct", "give the group as name@host")
	}
	a, err := f.Fetch.Resolve(ctx, acct)
	if err != nil {
		return nil, people.UserError(err, acct)
	}
	return f.mirror(ctx, a)
}

// ByURI returns the mirror of a remote group, fetching its actor when unknown.
func (f *Fed) ByURI(ctx context.Context, uri string) (*groups.Group, error) {
	if g, err := f.Groups.ByURI(ctx, uri); err == nil || !errs.Is(err, errs.NotFound) {
		return g, err
	}
	a, err := f.Fetch.Actor(ctx, uri)
	if err != nil {
		return nil, people.UserError(err, uri)
	}
	return f.mirror(ctx, a)
}

// mirror stores a remote Group actor: as an account (keys, inbox; how Mastodon clients see
// it) and as a group row that posts and memberships name.
func (f *Fed) mirror(ctx context.Context, a *activity.Actor) (*groups.Group, error) {
	if a.Type != activity.TypeGroup {
		return nil, errs.E(errs.Invalid, "%s is not a group", a.ID)
	}
	if _, err := f.People.Store(ctx, a); err != nil {
		return nil, err
	}
	u, err := url.Parse(a.ID)
	if err != nil || u.Host == "" {
		return nil, errs.E(errs.Invalid, "the group id %s is not a URL", a.ID)
	}
	vis := groups.Open
	if a.ManuallyApprovesFollowers {
		vis = groups.Closed
		if !a.Discoverable {
			vis = groups.Secret
		}
	}
	name := strings.TrimSpace(a.Name)
	if name == "" {
		name = a.PreferredUsername
	}
	if len(name) > 200 {
		name = name[:200]
	}
	g := &groups.Group{Handle: a.PreferredUsername, Domain: strings.ToLower(u.Host), URI: a.ID, DisplayName: name,
		Note: markup.PlainText(f.Markup.SanitizeRemote(a.Summary)), Visibility: vis, Posting: groups.AllMembers,
		CoverURL: a.Image, Inbox: a.Inbox, SharedInbox: a.SharedInbox, FollowersURL: a.Followers, KeyID: a.PublicKey.ID}
	if g.Handle == "" || g.Inbox == "" {
		return nil, errs.E(errs.Invalid, "the group %s has no name or inbox", a.ID)
	}
	out, err := f.Groups.UpsertRemote(ctx, g)
	if err != nil {
		return nil, fmt.Errorf("groupfed: store group %s: %w", a.ID, err)
	}
	return out, nil
}
