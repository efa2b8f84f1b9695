package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// Remote is what this node knows of a person (or group, or service) on another node: the
// parts of their ActivityPub actor document that we show and deliver to. Remote people share
// the id space of local users, so posts, follows and reactions refer to both the same way;
// they are never in the users table, so they can never sign in, appear in the directory or
// count as this node's people.
type Remote struct {
	URI          string // the actor id
	Domain       string // the host of their acct (username@Domain)
	Kind         string // Person, Group, Service, Application
	URL          string // their profile page
	SummaryHTML  string // sanitised at intake
	AvatarURL    string
	HeaderURL    string
	Inbox        string
	SharedInbox  string
	Outbox       string
	FollowersURL string
	FollowingURL string
	KeyID        string
	PublicKeyPEM string
	Locked       bool // manuallyApprovesFollowers
	Fields       []RemoteField
	OrgName      string // the organisation running their node, when it says
	FetchedAt    time.Time
}

// RemoteField is one profile field (PropertyValue); Value is sanitised HTML.
type RemoteField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// IsRemote reports whether u lives on another node.
func (u *User) IsRemote() bool { return u != nil && u.Remote != nil }

// Acct is how people address u from here: "alice" for local people, "bob@globex.example"
// for remote ones (Mastodon's acct).
func (u *User) Acct() string {
	if u.Remote != nil {
		return u.Username + "@" + u.Remote.Domain
	}
	return u.Username
}

// BestInbox is where activities for u go: the shared inbox when their node has one (one
// delivery per node for public traffic), else their own.
func (r *Remote) BestInbox() string {
	if r.SharedInbox != "" {
		return r.SharedInbox
	}
	return r.Inbox
}

type remoteRow struct {
	bun.BaseModel `bun:"table:remote_accounts"`

	ID           string     `bun:"id,pk"`
	URI          string     `bun:"uri"`
	Username     string     `bun:"username"`
	Domain       string     `bun:"domain"`
	AcctLower    string     `bun:"acct_lower"`
	Kind         string     `bun:"kind"`
	DisplayName  string     `bun:"display_name"`
	SummaryHTML  string     `bun:"summary_html"`
	URL          string     `bun:"url"`
	AvatarURL    string     `bun:"avatar_url"`
	HeaderURL    string     `bun:"header_url"`
	Inbox        string     `bun:"inbox"`
	SharedInbox  string     `bun:"shared_inbox"`
	Outbox       string     `bun:"outbox"`
	FollowersURL string     `bun:"followers_url"`
	FollowingURL string     `bun:"following_url"`
	KeyID        string     `bun:"key_id"`
	PublicKeyPEM string     `bun:"public_key_pem"`
	Locked       bool       `bun:"locked"`
	Fields       string     `bun:"fields"`
	OrgName      string     `bun:"org_name"`
	FetchedAt    time.Time  `bun:"fetched_at"`
	CreatedAt    time.Time  `bun:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at"`
	DeletedAt    *time.Time `bun:"deleted_at"`
}

// user is the row as the rest of the node sees people.
func (r *remoteRow) user() *User {
	u := &User{ID: r.ID, Username: r.Username, UsernameLower: strings.ToLower(r.Username), Role: RoleMember,
		State: StateActive, DisplayName: r.DisplayName, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.DeletedAt != nil {
		u.State, u.DeactivatedAt = StateDeactivated, r.DeletedAt
	}
	rm := &Remote{URI: r.URI, Domain: r.Domain, Kind: r.Kind, URL: r.URL, SummaryHTML: r.SummaryHTML,
		AvatarURL: r.AvatarURL, HeaderURL: r.HeaderURL, Inbox: r.Inbox, SharedInbox: r.SharedInbox, Outbox: r.Outbox,
		FollowersURL: r.FollowersURL, FollowingURL: r.FollowingURL, KeyID: r.KeyID, PublicKeyPEM: r.PublicKeyPEM,
		Locked: r.Locked, OrgName: r.OrgName, FetchedAt: r.FetchedAt}
	_ = json.Unmarshal([]byte(r.Fields), &rm.Fields) // written by us; a bad value only loses the fields
	u.Remote = rm
	return u
}

// RemoteProfile is an actor document as the federation layer read it (already validated and
// sanitised); UpsertRemote stores it.
type RemoteProfile struct {
	Username    string
	DisplayName string
	Remote
}

// UpsertRemote stores or refreshes a remote actor, keyed by its URI, and returns it as a
// person. The id of an actor we already know never changes.
func (s *Service) UpsertRemote(ctx context.Context, p RemoteProfile) (*User, error) {
	if p.URI == "" || p.Username == "" || p.Domain == "" || p.Inbox == "" {
		return nil, errs.E(errs.Invalid, "a remote account needs an id, a username, a domain and an inbox")
	}
	fields, err := json.Marshal(p.Fields)
	if err != nil {
		return nil, fmt.Errorf("accounts: encode remote fields: %w", err)
	}
	now := s.Clock.Now()
	if p.FetchedAt.IsZero() {
		p.FetchedAt = now
	}
	if p.Kind == "" {
		p.Kind = "Person"
	}
	r := &remoteRow{ID: ids.New(now), URI: p.URI, Username: p.Username, Domain: strings.ToLower(p.Domain),
		AcctLower: strings.ToLower(p.Username + "@" + p.Domain), Kind: p.Kind, DisplayName: p.DisplayName,
		SummaryHTML: p.SummaryHTML, URL: p.URL, AvatarURL: p.AvatarURL, HeaderURL: p.HeaderURL, Inbox: p.Inbox,
		SharedInbox: p.SharedInbox, Outbox: p.Outbox, FollowersURL: p.FollowersURL, FollowingURL: p.FollowingURL,
		KeyID: p.KeyID, PublicKeyPEM: p.PublicKeyPEM, Locked: p.Locked, Fields: string(fields), OrgName: p.OrgName,
		FetchedAt: p.FetchedAt, CreatedAt: now, UpdatedAt: now}
	// One statement for insert-or-refresh: two inbox workers learning of the same actor at
	// once must agree on one row (and one id).
	_, err = s.DB.NewInsert().Model(r).
		On("CONFLICT (uri) DO UPDATE").
		Set("username = EXCLUDED.username, domain = EXCLUDED.domain, acct_lower = EXCLUDED.acct_lower").
		Set("kind = EXCLUDED.kind, display_name = EXCLUDED.display_name, summary_html = EXCLUDED.summary_html").
		Set("url = EXCLUDED.url, avatar_url = EXCLUDED.avatar_url, header_url = EXCLUDED.header_url").
		Set("inbox = EXCLUDED.inbox, shared_inbox = EXCLUDED.shared_inbox, outbox = EXCLUDED.outbox").
		Set("followers_url = EXCLUDED.followers_url, following_url = EXCLUDED.following_url").
		Set("key_id = EXCLUDED.key_id, public_key_pem = EXCLUDED.public_key_pem, locked = EXCLUDED.locked").
		Set("fields = EXCLUDED.fields, org_name = EXCLUDED.org_name, fetched_at = EXCLUDED.fetched_at").
		Set("updated_at = EXCLUDED.updated_at, deleted_at = NULL").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("accounts: store remote account %s: %w", p.URI, err)
	}
	u, err := s.RemoteByURI(ctx, p.URI)
	if err != nil {
		return nil, err
	}
	s.people.forget(u.ID)
	return u, nil
}

// RemoteByURI returns the remote person with this actor id (deleted ones included, so a
// late activity of a deleted actor still finds who it was).
func (s *Service) RemoteByURI(ctx context.Context, uri string) (*User, error) {
	r := new(remoteRow)
	if err := s.DB.NewSelect().Model(r).Where("uri = ?", uri).Scan(ctx); err != nil {
		return nil, db.Err(err, "this node does not know "+uri)
	}
	return r.user(), nil
}

// RemoteByAcct returns the remote person known as user@domain (the most recently fetched,
// should an actor have moved).
func (s *Service) RemoteByAcct(ctx context.Context, acct string) (*User, error) {
	acct = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(acct), "acct:"), "@"))
	r := new(remoteRow)
	err := s.DB.NewSelect().Model(r).Where("acct_lower = ? AND deleted_at IS NULL", acct).
		OrderExpr("fetched_at DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, db.Err(err, "this node does not know @"+acct)
	}
	return r.user(), nil
}

// DeleteRemote marks a remote actor deleted (their node told us so). Their content is
// removed by the callers; the row stays so that late activities are recognised and ignored.
func (s *Service) DeleteRemote(ctx context.Context, tx bun.IDB, uri string) (*User, error) {
	u, err := s.RemoteByURI(ctx, uri)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if _, err := tx.NewUpdate().Model((*remoteRow)(nil)).Set("deleted_at = ?", now).Set("updated_at = ?", now).
		Where("uri = ?", uri).Exec(ctx); err != nil {
		return nil, fmt.Errorf("accounts: delete remote account %s: %w", uri, err)
	}
	s.people.forget(u.ID)
	u.State, u.DeactivatedAt = StateDeactivated, &now
	return u, nil
}

// Lookup returns anyone by id: one of this node's people or a remote one.
func (s *Service) Lookup(ctx context.Context, id string) (*User, error) {
	u, err := s.Get(ctx, id)
	if err == nil || !errs.Is(err, errs.NotFound) {
		return u, err
	}
	r := new(remoteRow)
	if err := s.DB.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such person")
	}
	return r.user(), nil
}

// remoteMany loads remote people by id (GetMany's second step for ids not in users).
func (s *Service) remoteMany(ctx context.Context, idList []string) ([]*User, error) {
	var rows []remoteRow
	if err := s.DB.NewSelect().Model(&rows).Where("id IN (?)", bun.In(idList)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: load remote accounts: %w", err)
	}
	out := make([]*User, len(rows))
	for i := range rows {
		out[i] = rows[i].user()
	}
	return out, nil
}

// RemoteInboxes returns the inboxes of the given remote people, shared inboxes preferred,
// each once: where an activity addressed to them is delivered.
func (s *Service) RemoteInboxes(ctx context.Context, idList []string) ([]string, error) {
	if len(idList) == 0 {
		return nil, nil
	}
	var rows []remoteRow
	if err := s.DB.NewSelect().Model(&rows).Column("inbox", "shared_inbox").
		Where("id IN (?) AND deleted_at IS NULL", bun.In(idList)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("accounts: remote inboxes: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		in := r.Inbox
		if r.SharedInbox != "" {
			in = r.SharedInbox
		}
		if !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	return out, nil
}
