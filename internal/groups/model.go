// Package groups keeps groups and their members: open, closed and secret groups hosted on
// this node, and mirrors of groups hosted by partner nodes that people here belong to.
//
// Every rule about who may see a group and its content lives here (access.go), and the social
// core asks it through posts.GroupAccess; the web pages, the JSON API and federation call the
// same service, so one rule answers everywhere.
package groups

import (
	"time"

	"github.com/uptrace/bun"
)

// Visibility is who can find a group and read its content (PRODUCT.md "Visibility, precisely").
type Visibility string

const (
	// Open: anyone on the node (and on partner nodes the group federates with) can see and join.
	Open Visibility = "open"
	// Closed: anyone may see the name, description and member count; content is for members;
	// joining needs an admin's approval.
	Closed Visibility = "closed"
	// Secret: invisible to non-members everywhere; joining by invitation only.
	Secret Visibility = "secret"
)

// Valid reports whether v is one of the three kinds.
func (v Visibility) Valid() bool { return v == Open || v == Closed || v == Secret }

// Posting says who may start posts in a group (everyone may comment on what they can read).
type Posting string

const (
	AllMembers Posting = "members"
	AdminsOnly Posting = "admins" // announcement groups
)

// Role is a member's role.
type Role string

const (
	Admin     Role = "admin"
	Moderator Role = "moderator"
	Member    Role = "member"
)

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == Admin || r == Moderator || r == Member }

// State is where a membership stands.
type State string

const (
	Joined    State = "member"
	Requested State = "requested" // asked to join a closed group (or a remote group that has not answered)
	Invited   State = "invited"
	Gone      State = "" // in hooks: the membership no longer exists
)

// Group is one row of groups.
type Group struct {
	bun.BaseModel `bun:"table:groups"`
	ID            string     `bun:"id,pk"`
	Handle        string     `bun:"handle"`
	HandleLower   string     `bun:"handle_lower"`
	Domain        string     `bun:"domain"` // '' for groups hosted here
	URI           string     `bun:"uri"`
	DisplayName   string     `bun:"display_name"`
	Note          string     `bun:"note"`
	Visibility    Visibility `bun:"visibility"`
	Posting       Posting    `bun:"posting"`
	CoverKey      string     `bun:"cover_key"` // media key of a local group's cover
	CoverURL      string     `bun:"cover_url"` // a remote group's cover
	CreatorID     string     `bun:"creator_id"`
	Inbox         string     `bun:"inbox"`
	SharedInbox   string     `bun:"shared_inbox"`
	FollowersURL  string     `bun:"followers_url"`
	KeyID         string     `bun:"key_id"`
	MembersCount  int        `bun:"members_count"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
	DeletedAt     *time.Time `bun:"deleted_at"`
}

// IsRemote reports whether the group is hosted by another node.
func (g *Group) IsRemote() bool { return g.Domain != "" }

// Acct is the group's handle as people type it: name for a group here, name@host otherwise.
func (g *Group) Acct() string {
	if g.Domain != "" {
		return g.Handle + "@" + g.Domain
	}
	return g.Handle
}

// BestInbox is where to deliver to a remote group.
func (g *Group) BestInbox() string {
	if g.SharedInbox != "" {
		return g.SharedInbox
	}
	return g.Inbox
}

// Membership is one row of group_members.
type Membership struct {
	bun.BaseModel `bun:"table:group_members"`
	GroupID       string    `bun:"group_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	Role          Role      `bun:"role"`
	State         State     `bun:"state"`
	InvitedBy     string    `bun:"invited_by"`
	Notify        bool      `bun:"notify"`
	ActivityURI   string    `bun:"activity_uri"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Active reports whether the membership grants access.
func (m *Membership) Active() bool { return m != nil && m.State == Joined }

// Moderates reports whether the member is an admin or moderator.
func (m *Membership) Moderates() bool { return m.Active() && (m.Role == Admin || m.Role == Moderator) }

// Administers reports whether the member is an admin of the group.
func (m *Membership) Administers() bool { return m.Active() && m.Role == Admin }

type pin struct {
	bun.BaseModel `bun:"table:group_pins"`
	GroupID       string    `bun:"group_id,pk"`
	PostID        string    `bun:"post_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Partner is a partner node a closed or secret group admits members from.
type Partner struct {
	bun.BaseModel `bun:"table:group_partners"`
	GroupID       string    `bun:"group_id,pk"`
	Host          string    `bun:"host,pk"`
	ConfirmedBy   string    `bun:"confirmed_by"`
	CreatedAt     time.Time `bun:"created_at"`
}
