package posts

import (
	"time"

	"github.com/uptrace/bun"
)

// Audience is who may see a post.
type Audience string

// The audiences a post can have.
const (
	Company   Audience = "company"   // everyone signed in on this node; never federated
	Followers Audience = "followers" // the author's followers and the people mentioned
	Direct    Audience = "direct"    // only the chosen people
	Public    Audience = "public"    // everyone, federated
	Group     Audience = "group"     // the members of one group (the groups issue)
)

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool {
	switch a {
	case Company, Followers, Direct, Public, Group:
		return true
	}
	return false
}

// Post is a post, a comment (InReplyToID set) or a share (ReblogOfID set).
type Post struct {
	bun.BaseModel `bun:"table:posts"`

	ID             string     `bun:"id,pk"`
	URI            string     `bun:"uri"`
	AuthorID       string     `bun:"author_id"`
	Audience       Audience   `bun:"audience"`
	GroupID        *string    `bun:"group_id"`
	InReplyToID    *string    `bun:"in_reply_to_id"`
	ThreadID       string     `bun:"thread_id"`
	ReblogOfID     *string    `bun:"reblog_of_id"`
	Source         string     `bun:"source"`
	ContentHTML    string     `bun:"content_html"`
	ContentText    string     `bun:"content_text"`
	SpoilerText    string     `bun:"spoiler_text"`
	Sensitive      bool       `bun:"sensitive"`
	Language       string     `bun:"language"`
	Important      bool       `bun:"important"`
	ImportantUntil *time.Time `bun:"important_until"`
	RepliesCount   int        `bun:"replies_count"`
	ReblogsCount   int        `bun:"reblogs_count"`
	ReactionsCount int        `bun:"reactions_count"`
	CreatedAt      time.Time  `bun:"created_at"`
	EditedAt       *time.Time `bun:"edited_at"`
	DeletedAt      *time.Time `bun:"deleted_at"`
	// HasPoll is set on posts created with a poll (internal/polls holds it).
	HasPoll bool `bun:"has_poll"`

	Attachments []Attachment `bun:"-"`
	Tags        []string     `bun:"-"`
	Mentions    []Recipient  `bun:"-"`
	// FanOutPending is set on a new post whose followers' feeds the background writer fills.
	FanOutPending bool `bun:"-"`
}

// IsComment reports whether p replies to another post.
func (p *Post) IsComment() bool { return p.InReplyToID != nil }

// ActiveAnnouncement reports whether p is an announcement still in force at now.
func (p *Post) ActiveAnnouncement(now time.Time) bool {
	return p.Important && (p.ImportantUntil == nil || now.Before(*p.ImportantUntil))
}

// Edit is one earlier version of a post.
type Edit struct {
	bun.BaseModel `bun:"table:post_edits"`
	ID            string    `bun:"id,pk"`
	PostID        string    `bun:"post_id"`
	Source        string    `bun:"source"`
	ContentHTML   string    `bun:"content_html"`
	SpoilerText   string    `bun:"spoiler_text"`
	Sensitive     bool      `bun:"sensitive"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Recipient is a person a post is addressed to: chosen for a direct post, or mentioned.
type Recipient struct {
	bun.BaseModel `bun:"table:post_recipients"`
	PostID        string `bun:"post_id,pk"`
	AccountID     string `bun:"account_id,pk"` // local user id, or "acct:user@host" until federation resolves it
	Mentioned     bool   `bun:"mentioned"`
	Acct          string `bun:"acct"` // user or user@host, as written
}

type postTag struct {
	bun.BaseModel `bun:"table:post_tags"`
	PostID        string `bun:"post_id,pk"`
	Tag           string `bun:"tag,pk"`
}

// Attachment is a file attached to a post: an image (with a thumbnail) or a document.
type Attachment struct {
	bun.BaseModel `bun:"table:attachments"`
	ID            string    `bun:"id,pk"`
	OwnerID       string    `bun:"owner_id"`
	PostID        *string   `bun:"post_id"`
	Kind          string    `bun:"kind"` // image or document
	FileKey       string    `bun:"file_key"`
	ThumbKey      string    `bun:"thumb_key"`
	ContentType   string    `bun:"content_type"`
	FileName      string    `bun:"file_name"`
	SizeBytes     int64     `bun:"size_bytes"`
	Width         int       `bun:"width"`
	Height        int       `bun:"height"`
	Description   string    `bun:"description"`
	Position      int       `bun:"position"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Reaction is one person's reaction to a post (one per person per post).
type Reaction struct {
	bun.BaseModel `bun:"table:reactions"`
	PostID        string    `bun:"post_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	Emoji         string    `bun:"emoji"`
	CreatedAt     time.Time `bun:"created_at"`
}

type bookmark struct {
	bun.BaseModel `bun:"table:bookmarks"`
	AccountID     string    `bun:"account_id,pk"`
	PostID        string    `bun:"post_id,pk"`
	CreatedAt     time.Time `bun:"created_at"`
	Seq           string    `bun:"seq"` // ULID of the bookmarking moment, for keyset pages
}

type announcementRead struct {
	bun.BaseModel `bun:"table:announcement_reads"`
	PostID        string    `bun:"post_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	ReadAt        time.Time `bun:"read_at"`
}

// feedEntry is one row of a person's materialised home feed.
type feedEntry struct {
	bun.BaseModel `bun:"table:home_feed"`
	AccountID     string `bun:"account_id,pk"`
	PostID        string `bun:"post_id,pk"`
}

// ReactionSet returns the reactions people can use: like plus a small set, as in Workplace.
func ReactionSet() []string {
	return []string{"👍", "❤️", "😂", "😮", "😢", "🎉", "🙏"}
}

// ValidReaction reports whether e is in the set.
func ValidReaction(e string) bool {
	for _, r := range ReactionSet() {
		if r == e {
			return true
		}
	}
	return false
}

// Like is the default reaction (Mastodon's favourite).
const Like = "👍"
