package groups

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/posts"
)

// Limits a group's profile keeps to.
const (
	MaxNameChars = 80
	MaxNoteChars = 2000
)

// Hook hears of membership and profile changes inside the transaction that made them
// (notifications, federation). Implementations only write; they never call back into groups.
type Hook interface {
	// MembershipChanged: m moved from state from to m.State (Gone: the membership ended;
	// by is who did it: the member themselves, an admin, or "" for a remote node's word).
	MembershipChanged(ctx context.Context, tx bun.IDB, g *Group, m *Membership, from State, by string) error
	// GroupChanged: the profile or settings changed, or the group was deleted (DeletedAt set).
	GroupChanged(ctx context.Context, tx bun.IDB, g *Group) error
}

// Deps are the service's collaborators.
type Deps struct {
	DB       *db.DB
	Clock    clock.Clock
	Log      *slog.Logger
	Accounts *accounts.Service
	Posts    *posts.Service
	// BaseURL is the node's public URL; group URIs are built from it.
	BaseURL func(ctx context.Context) string
	// PartnerAllowed is the node's partner policy (nil: no federation, everyone local).
	PartnerAllowed func(ctx context.Context, host string) bool
}

// Service manages groups.
type Service struct {
	Deps
	hooks []Hook
}

// New makes the service.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{Deps: d}
}

// AddHook registers a listener.
func (s *Service) AddHook(h Hook) { s.hooks = append(s.hooks, h) }

func (s *Service) membershipChanged(ctx context.Context, tx bun.IDB, g *Group, m *Membership, from State, by string) error {
	if from == Joined && m.State != Joined {
		if err := s.count(ctx, tx, g, -1); err != nil {
			return err
		}
		if err := s.Posts.GroupLeft(ctx, tx, g.ID, m.AccountID); err != nil {
			return err
		}
	} else if from != Joined && m.State == Joined {
		if err := s.count(ctx, tx, g, 1); err != nil {
			return err
		}
		if err := s.Posts.GroupJoined(ctx, tx, g.ID, m.AccountID); err != nil {
			return err
		}
	}
	for _, h := range s.hooks {
		if err := h.MembershipChanged(ctx, tx, g, m, from, by); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) count(ctx context.Context, tx bun.IDB, g *Group, delta int) error {
	if g.IsRemote() {
		return nil // a remote group's count is what its node publishes
	}
	g.MembersCount += delta
	_, err := tx.NewUpdate().Model((*Group)(nil)).Set("members_count = members_count + ?", delta).Where("id = ?", g.ID).Exec(ctx)
	return err
}

// New is what a person fills in to create a group.
type NewGroup struct {
	DisplayName string
	Note        string
	Visibility  Visibility // "" means open
	Posting     Posting    // "" means all members
	CoverKey    string
}

var nonHandle = regexp.MustCompile(`[^a-z0-9_]+`)

// reservedHandles are path segments of the group pages (/groups/new) that a group's handle
// must not shadow.
var reservedHandles = map[string]bool{"new": true, "lookup": true, "inbox": true}

// handleFor makes a group's handle from its name: lower-case letters, digits and
// underscores. A secret group's handle ends in random characters, because WebFinger
// requests are unsigned and a guessable handle would confirm the group exists.
func handleFor(name string, secret bool) string {
	h := strings.Trim(nonHandle.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if len(h) > 24 {
		h = strings.TrimRight(h[:24], "_")
	}
	if h == "" {
		h = "group"
	}
	if secret {
		h += "_" + randomSuffix(10)
	}
	return h
}

func randomSuffix(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func checkProfile(name, note string) error {
	if name == "" {
		return errs.Field("display_name", "give the group a name")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameChars {
		return errs.Field("display_name", "group names are limited to %d characters; this one has %d", MaxNameChars, n)
	}
	if n := utf8.RuneCountInString(note); n > MaxNoteChars {
		return errs.Field("note", "descriptions are limited to %d characters; this one has %d", MaxNoteChars, n)
	}
	return nil
}

// Create makes a group hosted here; its creator is its first admin.
func (s *Service) Create(ctx context.Context, u *accounts.User, in NewGroup) (*Group, error) {
	if !u.Active() || u.IsRemote() {
		return nil, errs.E(errs.Forbidden, "your account cannot create groups")
	}
	in.DisplayName = strings.TrimSpace(strings.ReplaceAll(in.DisplayName, "\x00", ""))
	in.Note = strings.TrimSpace(strings.ReplaceAll(in.Note, "\x00", ""))
	if in.Visibility == "" {
		in.Visibility = Open
	}
	if in.Posting == "" {
		in.Posting = AllMembers
	}
	if err := checkProfile(in.DisplayName, in.Note); err != nil {
		return nil, err
	}
	if !in.Visibility.Valid() {
		return nil, errs.Field("visibility", "%q is not a group visibility: use open, closed or secret", in.Visibility)
	}
	if in.Posting != AllMembers && in.Posting != AdminsOnly {
		return nil, errs.Field("posting", "%q is not a posting rule: use members or admins", in.Posting)
	}
	now := s.Clock.Now()
	g := &Group{ID: ids.New(now), DisplayName: in.DisplayName, Note: in.Note, Visibility: in.Visibility, Posting: in.Posting,
		CoverKey: in.CoverKey, CreatorID: u.ID, MembersCount: 0, CreatedAt: now, UpdatedAt: now}
	base := s.BaseURL(ctx)
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		h := handleFor(in.DisplayName, in.Visibility == Secret)
		for i := 2; ; i++ {
			taken, err := tx.NewSelect().Model((*Group)(nil)).Where("domain = '' AND handle_lower = ?", h).Exists(ctx)
			if err != nil {
				return err
			}
			// A group may not take a person's name either: both are actors under one host.
			person, err := tx.NewSelect().Table("users").Where("username_lower = ?", h).Exists(ctx)
			if err != nil {
				return err
			}
			if !taken && !person && !reservedHandles[h] {
				break
			}
			h = fmt.Sprintf("%s%d", strings.TrimRight(handleFor(in.DisplayName, false), "0123456789"), i)
			if in.Visibility == Secret {
				h = handleFor(in.DisplayName, true)
			}
		}
		g.Handle, g.HandleLower = h, h
		g.URI = base + "/groups/" + h
		if _, err := tx.NewInsert().Model(g).Exec(ctx); err != nil {
			return db.Err(err, "a group with this name exists already")
		}
		m := &Membership{GroupID: g.ID, AccountID: u.ID, Role: Admin, State: Joined, CreatedAt: now}
		if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
			return err
		}
		if err := s.membershipChanged(ctx, tx, g, m, Gone, u.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, ActorName: u.Username, Action: "group.create",
			Target: g.ID, Detail: string(g.Visibility) + " " + g.DisplayName, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// View is a group as one viewer sees it.
type View struct {
	Group  *Group
	Member *Membership // nil: the viewer has no membership
	// Content: the viewer may read the posts, members and files.
	Content bool
}

// Get returns a group v may know of.
func (s *Service) Get(ctx context.Context, v *posts.Viewer, id string) (*View, error) {
	g, m, err := s.view(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	return &View{Group: g, Member: m, Content: ReadsContent(g, m, v)}, nil
}

// Lookup finds a group by handle (name for groups here, name@host for remote ones) that v may
// know of.
func (s *Service) Lookup(ctx context.Context, v *posts.Viewer, acct string) (*View, error) {
	name, domain, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(strings.TrimSpace(acct), "@")), "@")
	if domain == strings.ToLower(config.Host(s.BaseURL(ctx))) {
		domain = ""
	}
	g := new(Group)
	if err := s.DB.NewSelect().Model(g).Where("domain = ? AND handle_lower = ?", domain, name).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, groupNotFound()
		}
		return nil, err
	}
	return s.Get(ctx, v, g.ID)
}

// ByURI returns a group (hosted here or mirrored) by its ActivityPub id, whoever asks; for
// federation, which applies the rules itself.
func (s *Service) ByURI(ctx context.Context, uri string) (*Group, error) {
	g := new(Group)
	if err := s.DB.NewSelect().Model(g).Where("uri = ?", uri).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil, groupNotFound()
		}
		return nil, err
	}
	return g, nil
}

// Load returns a group by id whoever asks (federation and jobs).
func (s *Service) Load(ctx context.Context, id string) (*Group, error) { return s.load(ctx, s.DB, id) }

// MembershipOf returns accountID's membership of the group, or nil.
func (s *Service) MembershipOf(ctx context.Context, groupID, accountID string) (*Membership, error) {
	return s.membership(ctx, s.DB, groupID, accountID)
}

// Filter chooses a list of groups.
type Filter string

const (
	Mine        Filter = "mine"        // groups the viewer belongs to
	Directory   Filter = "directory"   // every group the viewer may know of, hosted here or joined
	Invitations Filter = "invitations" // groups the viewer is invited to
	Pending     Filter = "pending"     // groups the viewer asked to join
)

// List returns groups for v, by name, with v's memberships.
func (s *Service) List(ctx context.Context, v *posts.Viewer, f Filter, query string, limit int) ([]*View, error) {
	if v == nil {
		return nil, nil
	}
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	var gs []*Group
	q := s.DB.NewSelect().Model(&gs).ModelTableExpr("groups AS g").ColumnExpr("g.*").Where("g.deleted_at IS NULL").OrderExpr("g.display_name, g.id").Limit(int64(limit))
	member := func(state State) *bun.SelectQuery {
		return q.Where("g.id IN (SELECT group_id FROM group_members WHERE account_id = ? AND state = ?)", v.ID, state)
	}
	switch f {
	case Mine:
		q = member(Joined)
	case Invitations:
		q = member(Invited)
	case Pending:
		q = member(Requested)
	default:
		// Hosted here and not secret, or any group the viewer belongs or is invited to.
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			vis := []Visibility{Open, Closed}
			if !v.Local {
				vis = []Visibility{Open}
			}
			return q.Where("g.domain = '' AND g.visibility IN (?)", bun.In(vis)).
				WhereOr("g.id IN (SELECT group_id FROM group_members WHERE account_id = ? AND state IN (?))", v.ID, bun.In([]State{Joined, Invited}))
		})
	}
	if query = strings.TrimSpace(query); query != "" {
		like := "%" + strings.NewReplacer("%", "", "_", "").Replace(strings.ToLower(query)) + "%"
		q = q.Where("(LOWER(g.display_name) LIKE ? OR g.handle_lower LIKE ?)", like, like)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := make([]*View, 0, len(gs))
	mine := map[string]*Membership{}
	if len(gs) > 0 {
		idsList := make([]string, len(gs))
		for i, g := range gs {
			idsList[i] = g.ID
		}
		var ms []*Membership
		if err := s.DB.NewSelect().Model(&ms).Where("account_id = ? AND group_id IN (?)", v.ID, bun.In(idsList)).Scan(ctx); err != nil {
			return nil, err
		}
		for _, m := range ms {
			mine[m.GroupID] = m
		}
	}
	for _, g := range gs {
		m := mine[g.ID]
		if !SeesProfile(g, m) {
			continue
		}
		out = append(out, &View{Group: g, Member: m, Content: ReadsContent(g, m, v)})
	}
	return out, nil
}

// Update is a change to a group's profile or settings; nil fields stay.
type Update struct {
	DisplayName *string
	Note        *string
	Visibility  *Visibility
	Posting     *Posting
	CoverKey    *string
}

// Update changes a group; only its admins may.
func (s *Service) Update(ctx context.Context, u *accounts.User, id string, in Update) (*Group, error) {
	var g *Group
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var m *Membership
		var err error
		if g, m, err = s.view(ctx, tx, posts.ViewerOf(u), id); err != nil {
			return err
		}
		if g.IsRemote() || !m.Administers() {
			return errs.E(errs.Forbidden, "only the admins of %s can change it", g.DisplayName)
		}
		if in.DisplayName != nil {
			g.DisplayName = strings.TrimSpace(*in.DisplayName)
		}
		if in.Note != nil {
			g.Note = strings.TrimSpace(*in.Note)
		}
		if err := checkProfile(g.DisplayName, g.Note); err != nil {
			return err
		}
		if in.Visibility != nil {
			if !in.Visibility.Valid() {
				return errs.Field("visibility", "%q is not a group visibility: use open, closed or secret", *in.Visibility)
			}
			if *in.Visibility != g.Visibility && (g.Visibility == Secret || *in.Visibility == Secret) {
				// A secret group's handle is random and its members joined on that promise;
				// the other way, people who found an open group would keep a link to it.
				return errs.Field("visibility", "a group cannot become secret or stop being secret; create a new group instead")
			}
			g.Visibility = *in.Visibility
		}
		if in.Posting != nil {
			if *in.Posting != AllMembers && *in.Posting != AdminsOnly {
				return errs.Field("posting", "%q is not a posting rule: use members or admins", *in.Posting)
			}
			g.Posting = *in.Posting
		}
		if in.CoverKey != nil {
			g.CoverKey = *in.CoverKey
		}
		g.UpdatedAt = s.Clock.Now()
		if _, err := tx.NewUpdate().Model(g).Column("display_name", "note", "visibility", "posting", "cover_key", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		for _, h := range s.hooks {
			if err := h.GroupChanged(ctx, tx, g); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, ActorName: u.Username, Action: "group.update", Target: g.ID,
			Detail: string(g.Visibility) + " " + g.DisplayName, CreatedAt: g.UpdatedAt})
	})
	return g, err
}

// Delete removes a group for everyone; only its admins may. Its posts stay in the database
// (deleted with it from every view) so that a mistaken deletion can be undone by an operator.
func (s *Service) Delete(ctx context.Context, u *accounts.User, id string) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		g, m, err := s.view(ctx, tx, posts.ViewerOf(u), id)
		if err != nil {
			return err
		}
		if g.IsRemote() || !m.Administers() {
			return errs.E(errs.Forbidden, "only the admins of %s can delete it", g.DisplayName)
		}
		now := s.Clock.Now()
		g.DeletedAt = &now
		if _, err := tx.NewUpdate().Model(g).Set("deleted_at = ?", now).WherePK().Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewRaw(`DELETE FROM home_feed WHERE post_id IN (SELECT id FROM posts WHERE group_id = ?)`, g.ID).Exec(ctx); err != nil {
			return err
		}
		for _, h := range s.hooks {
			if err := h.GroupChanged(ctx, tx, g); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: u.ID, ActorName: u.Username, Action: "group.delete", Target: g.ID,
			Detail: g.DisplayName, CreatedAt: now})
	})
}

func (s *Service) now() time.Time { return s.Clock.Now() }
