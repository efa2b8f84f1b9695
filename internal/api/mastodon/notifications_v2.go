package mastodon

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/server"
)

// Grouped notifications (Mastodon 4.3's /api/v2/notifications). Groups are computed when a
// page is read, not stored (no group_key column): favourites and reblogs of one status, and
// follows, on the same UTC day share a group, as Mastodon keys them; everything else is
// "ungrouped-<id>". Notifications are listed, rendered and screened (mutes, filters) by the
// v1 code in social.go, and only then grouped.

const (
	// v2ScanBatch is how many notifications are read at a time while filling a page of groups.
	v2ScanBatch = 80
	// v2ScanMax bounds the notifications read for one page (or to find one group's members):
	// a page of 80 groups of many reactions each must not read someone's whole history.
	v2ScanMax = 2000
	// v2SampleAccounts is how many accounts a group names, as Mastodon.
	v2SampleAccounts = 8
)

// notificationGroup is Mastodon's NotificationGroup entity, with Atrium's kind alongside.
type notificationGroup struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id"`
	AtriumKind               string   `json:"atrium_kind"`
	Group                    any      `json:"group,omitempty"` // the Atrium group a group_* notification is about
}

func (a *api) notificationV2Routes(app *fiber.App) {
	rn := server.RequireScope("read:notifications")
	wn := server.RequireScope("write:notifications")
	app.Get("/api/v2/notifications", rn, a.groupedNotifications)
	app.Get("/api/v2/notifications/unread_count", rn, a.groupedUnreadCount)
	app.Get("/api/v2/notifications/:group_key", rn, a.notificationGroupByKey)
	app.Post("/api/v2/notifications/:group_key/dismiss", wn, a.dismissNotificationGroup)
}

// groupedKinds reads grouped_types[]: the groupable kinds the app wants grouped, all of them
// by default. Other names are ignored, as Mastodon does.
func groupedKinds(p *params) map[string]bool {
	asked := p.strs("grouped_types")
	out := map[string]bool{}
	// The kinds Mastodon groups (admin.sign_up has no Atrium counterpart).
	for _, k := range []string{notify.Reaction, notify.Share, notify.Follow} {
		out[k] = len(asked) == 0
	}
	for _, t := range asked {
		if _, ok := out[t]; ok {
			out[t] = true
		}
	}
	return out
}

// groupKey is the group a notification belongs to: <type>-<status id>-<day> for favourites
// and reblogs, follow-<day> for follows (days since the epoch, UTC), as Mastodon builds them.
func groupKey(n *notify.Notification, grouped map[string]bool) string {
	day := strconv.FormatInt(n.CreatedAt.Unix()/86400, 10)
	switch {
	case (n.Kind == notify.Reaction || n.Kind == notify.Share) && n.PostID != nil && grouped[n.Kind]:
		return n.Kind + "-" + *n.PostID + "-" + day
	case n.Kind == notify.Follow && grouped[n.Kind]:
		return n.Kind + "-" + day
	}
	return "ungrouped-" + n.ID
}

// grouper gathers rendered notifications, newest first, into groups and the accounts and
// statuses they refer to.
type grouper struct {
	grouped  map[string]bool
	groups   []*notificationGroup
	byKey    map[string]*notificationGroup
	accounts []Account
	statuses []Status
	seen     map[string]bool // "a:<id>" and "s:<id>" already listed
}

func newGrouper(grouped map[string]bool) *grouper {
	return &grouper{grouped: grouped, byKey: map[string]*notificationGroup{}, seen: map[string]bool{},
		accounts: []Account{}, statuses: []Status{}, groups: []*notificationGroup{}}
}

// add puts n (rendered as m by notificationsFor) into its group; notifications arrive newest
// first, so the first one of a group is its most recent.
func (g *grouper) add(n *notify.Notification, m fiber.Map) {
	key := groupKey(n, g.grouped)
	grp := g.byKey[key]
	if grp == nil {
		typ, _ := m["type"].(string)
		grp = &notificationGroup{GroupKey: key, Type: typ, MostRecentNotificationID: n.ID, PageMaxID: n.ID,
			LatestPageNotificationAt: mastodonTime(n.CreatedAt), SampleAccountIDs: []string{}, AtriumKind: n.Kind,
			Group: m["group"]}
		if st, ok := m["status"].(Status); ok {
			id := st.ID
			grp.StatusID = &id
			if !g.seen["s:"+id] {
				g.seen["s:"+id] = true
				g.statuses = append(g.statuses, st)
			}
		}
		g.byKey[key] = grp
		g.groups = append(g.groups, grp)
	}
	grp.NotificationsCount++
	grp.PageMinID = n.ID
	acc, ok := m["account"].(Account)
	if !ok || len(grp.SampleAccountIDs) >= v2SampleAccounts {
		return
	}
	for _, id := range grp.SampleAccountIDs {
		if id == acc.ID {
			return
		}
	}
	grp.SampleAccountIDs = append(grp.SampleAccountIDs, acc.ID)
	if !g.seen["a:"+acc.ID] {
		g.seen["a:"+acc.ID] = true
		g.accounts = append(g.accounts, acc)
	}
}

func (g *grouper) result() fiber.Map {
	return fiber.Map{"accounts": g.accounts, "statuses": g.statuses, "notification_groups": g.groups}
}

// render renders and screens a batch with the v1 code and indexes it by notification id;
// notifications missing from the index are hidden from the viewer (gone post, mute, filter).
func (a *api) renderBatch(c *fiber.Ctx, ns []notify.Notification) (map[string]fiber.Map, error) {
	out, err := a.notificationEntities(c, ns)
	if err == nil {
		out, err = a.screenNotifications(c.UserContext(), server.CurrentUser(c).ID, out)
	}
	if err != nil {
		return nil, err
	}
	byID := make(map[string]fiber.Map, len(out))
	for _, m := range out {
		if id, ok := m["id"].(string); ok {
			byID[id] = m
		}
	}
	return byID, nil
}

// groupedNotifications answers a page of groups. limit counts groups, as in Mastodon: batches
// of notifications are read until the next one would open group limit+1, so the page covers
// one unbroken run of ids and the Link header's max_id continues right after it. A group
// whose day straddles two pages shows on both, with the same group_key, each counting its
// page's part (Mastodon's page_min_id/page_max_id describe exactly that part).
func (a *api) groupedNotifications(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	pg, err := p.page(40, 80)
	if err != nil {
		return err
	}
	if e := p.str("expand_accounts"); e != "" && e != "full" && e != "partial_avatars" {
		return errs.Field("expand_accounts", "use full or partial_avatars")
	}
	// partial_avatars is a bandwidth saving; full accounts are always valid, so they are sent.
	grouped := groupedKinds(p)
	q := notify.Query{MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID, Limit: v2ScanBatch,
		Types: kindsFrom(p.strs("types")), ExcludeTypes: kindsFrom(p.strs("exclude_types"))}
	g := newGrouper(grouped)
	var newest, oldest string
	me := server.CurrentUser(c).ID
	if pg.MinID != "" {
		// A min_id page reads the notifications just after min_id (oldest first, reversed);
		// limit then counts notifications, so no group is cut off between two pages.
		q.Limit = pg.Limit
		ns, err := a.Notify.List(c.UserContext(), me, q)
		if err != nil {
			return err
		}
		byID, err := a.renderBatch(c, ns)
		if err != nil {
			return err
		}
		for i := range ns {
			if m, ok := byID[ns[i].ID]; ok {
				g.add(&ns[i], m)
			}
		}
		if len(ns) > 0 {
			newest, oldest = ns[0].ID, ns[len(ns)-1].ID
		}
	} else {
	scan:
		for scanned := 0; scanned < v2ScanMax; {
			ns, err := a.Notify.List(c.UserContext(), me, q)
			if err != nil {
				return err
			}
			byID, err := a.renderBatch(c, ns)
			if err != nil {
				return err
			}
			for i := range ns {
				n := &ns[i]
				if m, ok := byID[n.ID]; ok {
					if g.byKey[groupKey(n, grouped)] == nil && len(g.groups) == pg.Limit {
						break scan
					}
					g.add(n, m)
				}
				if newest == "" {
					newest = n.ID
				}
				oldest = n.ID
			}
			scanned += len(ns)
			if len(ns) < q.Limit {
				break
			}
			q.MaxID = ns[len(ns)-1].ID
		}
	}
	if newest != "" {
		linkHeader(c, a.BaseURL(c.UserContext()), []string{newest, oldest})
	}
	return c.JSON(g.result())
}

// groupedUnreadCount counts unread groups among the newest limit notifications (100 by
// default, at most 1000), as Mastodon's v2 badge does.
func (a *api) groupedUnreadCount(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	limit := 100
	if l := p.str("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return errs.Field("limit", "%q is not a positive number", l)
		}
		limit = min(n, 1000)
	}
	me := server.CurrentUser(c).ID
	unread, err := a.Notify.Unread(c.UserContext(), me)
	if err != nil || unread == 0 {
		return c.JSON(fiber.Map{"count": 0})
	}
	grouped := groupedKinds(p)
	q := notify.Query{Limit: v2ScanBatch, Types: kindsFrom(p.strs("types")), ExcludeTypes: kindsFrom(p.strs("exclude_types"))}
	keys := map[string]bool{}
	for scanned := 0; scanned < limit; {
		q.Limit = min(v2ScanBatch, limit-scanned)
		ns, err := a.Notify.List(c.UserContext(), me, q)
		if err != nil {
			return err
		}
		for i := range ns {
			if ns[i].ReadAt == nil {
				keys[groupKey(&ns[i], grouped)] = true
			}
		}
		scanned += len(ns)
		if len(ns) < q.Limit {
			break
		}
		q.MaxID = ns[len(ns)-1].ID
	}
	return c.JSON(fiber.Map{"count": len(keys)})
}

// notificationGroupMembers finds the viewer's notifications in the group key names, newest first.
// Grouped keys name a kind and a day, so only that kind is read, and only back to that day.
func (a *api) notificationGroupMembers(c *fiber.Ctx, key string) ([]notify.Notification, error) {
	me := server.CurrentUser(c).ID
	if id, ok := strings.CutPrefix(key, "ungrouped-"); ok {
		n, err := a.Notify.Get(c.UserContext(), me, id)
		if err != nil {
			return nil, errNotFound()
		}
		return []notify.Notification{*n}, nil
	}
	kind, rest, _ := strings.Cut(key, "-")
	if kind != notify.Reaction && kind != notify.Share && kind != notify.Follow {
		return nil, errNotFound()
	}
	dayStr := rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		dayStr = rest[i+1:]
	}
	day, err := strconv.ParseInt(dayStr, 10, 64)
	if err != nil {
		return nil, errNotFound()
	}
	since := time.Unix(day*86400, 0)
	// Every groupable kind is grouped here: the key itself says the app grouped it.
	grouped := map[string]bool{notify.Reaction: true, notify.Share: true, notify.Follow: true}
	q := notify.Query{Limit: v2ScanBatch, Types: []string{kind}}
	var out []notify.Notification
	for scanned := 0; scanned < v2ScanMax; {
		ns, err := a.Notify.List(c.UserContext(), me, q)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			if n.CreatedAt.Before(since) {
				return out, nil
			}
			if groupKey(&n, grouped) == key {
				out = append(out, n)
			}
		}
		scanned += len(ns)
		if len(ns) < q.Limit {
			break
		}
		q.MaxID = ns[len(ns)-1].ID
	}
	return out, nil
}

// notificationGroupByKey answers one group as a GroupedNotificationsResults.
func (a *api) notificationGroupByKey(c *fiber.Ctx) error {
	ns, err := a.notificationGroupMembers(c, c.Params("group_key"))
	if err != nil {
		return err
	}
	byID, err := a.renderBatch(c, ns)
	if err != nil {
		return err
	}
	g := newGrouper(map[string]bool{notify.Reaction: true, notify.Share: true, notify.Follow: true})
	for i := range ns {
		if m, ok := byID[ns[i].ID]; ok {
			g.add(&ns[i], m)
		}
	}
	if len(g.groups) == 0 {
		return errNotFound()
	}
	return c.JSON(g.result())
}

// dismissNotificationGroup deletes every notification of the group.
func (a *api) dismissNotificationGroup(c *fiber.Ctx) error {
	ns, err := a.notificationGroupMembers(c, c.Params("group_key"))
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		return errNotFound()
	}
	for _, n := range ns {
		if err := a.Notify.Dismiss(c.UserContext(), server.CurrentUser(c).ID, n.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return c.JSON(fiber.Map{})
}
