package accounts

import (
	"time"

	"github.com/uptrace/bun"
)

// Roles and states.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"

	StateActive      = "active"
	StateDeactivated = "deactivated"
)

// User is a person with an account on this node, with their work profile.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID            string `bun:"id,pk"`
	Username      string `bun:"username"`
	UsernameLower string `bun:"username_lower"`
	Email         string `bun:"email"`
	EmailLower    string `bun:"email_lower"`
	PasswordHash  string `bun:"password_hash"`
	Role          string `bun:"role"`
	State         string `bun:"state"`

	DisplayName     string  `bun:"display_name"`
	AvatarKey       string  `bun:"avatar_key"`
	HeaderKey       string  `bun:"header_key,nullzero"` // profile cover (Mastodon header), media.CoverThumbKey beside it
	JobTitle        string  `bun:"job_title"`
	Department      string  `bun:"department"`
	Location        string  `bun:"location"`
	Phone           string  `bun:"phone"`
	ManagerID       *string `bun:"manager_id"`
	Bio             string  `bun:"bio"`
	Pronouns        string  `bun:"pronouns"`
	TimeZone        string  `bun:"time_zone"`
	OpenToMoves     bool    `bun:"open_to_moves"`
	OpenToMovesNote string  `bun:"open_to_moves_note"`
	SearchText      string  `bun:"search_text"`

	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
	DeactivatedAt *time.Time `bun:"deactivated_at"`

	Skills []string `bun:"-"` // loaded from user_skills where needed
	// Remote is set for a person on another node (see remote.go); nil for this node's people.
	Remote *Remote `bun:"-"`
}

// IsAdmin reports whether u may administer the node.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin && u.State == StateActive }

// Active reports whether u may sign in and act.
func (u *User) Active() bool { return u != nil && u.State == StateActive }

// Name is what people see: the display name, or the username when none is set.
func (u *User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// Initials for the avatar placeholder.
func (u *User) Initials() string {
	var out []rune
	prev := ' '
	for _, r := range u.Name() {
		if prev == ' ' && r != ' ' && len(out) < 2 {
			out = append(out, r)
		}
		prev = r
	}
	return string(out)
}

// skill is one row of user_skills.
type skill struct {
	bun.BaseModel `bun:"table:user_skills"`
	UserID        string `bun:"user_id,pk"`
	Skill         string `bun:"skill"`
	SkillLower    string `bun:"skill_lower,pk"`
}

// Session is a signed-in browser.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`
	IDHash        string    `bun:"id_hash,pk"`
	UserID        string    `bun:"user_id"`
	CreatedAt     time.Time `bun:"created_at"`
	ExpiresAt     time.Time `bun:"expires_at"`
	LastSeenAt    time.Time `bun:"last_seen_at"`
	UserAgent     string    `bun:"user_agent"`
	IP            string    `bun:"ip"`
}

// Token is a personal access token for the JSON API.
type Token struct {
	bun.BaseModel `bun:"table:tokens"`
	ID            string     `bun:"id,pk"`
	UserID        string     `bun:"user_id,nullzero"` // "" for an app-level OAuth token (client_credentials)
	AppID         string     `bun:"app_id,nullzero"`  // the OAuth app holding it; "" for personal tokens
	Name          string     `bun:"name"`
	TokenHash     string     `bun:"token_hash"`
	RefreshHash   string     `bun:"refresh_hash,nullzero"` // OAuth refresh token, hashed
	Scopes        string     `bun:"scopes"`                // space-separated, Mastodon style
	CreatedAt     time.Time  `bun:"created_at"`
	LastUsedAt    *time.Time `bun:"last_used_at"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

// Invitation lets one person sign up.
type Invitation struct {
	bun.BaseModel `bun:"table:invitations"`
	ID            string     `bun:"id,pk"`
	TokenHash     string     `bun:"token_hash"`
	Email         string     `bun:"email"` // optional: when set, only this address may use it
	Role          string     `bun:"role"`
	CreatedBy     *string    `bun:"created_by"`
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	UsedAt        *time.Time `bun:"used_at"`
	UsedBy        *string    `bun:"used_by"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

// Status describes an invitation for the admin list.
func (i *Invitation) Status(now time.Time) string {
	switch {
	case i.UsedAt != nil:
		return "used"
	case i.RevokedAt != nil:
		return "revoked"
	case now.After(i.ExpiresAt):
		return "expired"
	}
	return "open"
}

// passwordReset is a pending reset link.
type passwordReset struct {
	bun.BaseModel `bun:"table:password_resets"`
	TokenHash     string     `bun:"token_hash,pk"`
	UserID        string     `bun:"user_id"`
	CreatedAt     time.Time  `bun:"created_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	UsedAt        *time.Time `bun:"used_at"`
}
