package chat

import (
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/previews"
)

// Limits a chat keeps to; the README's Chat section states the same numbers.
const (
	MaxChars       = 5000 // characters of one message's text
	MaxAttachments = 10   // files of one message
	MaxMembers     = 100  // people in one chat, its creator included
	MaxNameChars   = 80   // a group chat's name
	// maxRemoteHTML bounds the stored HTML of a partner's message (its text is still held to
	// MaxChars); far above any real message, it bounds storage per activity.
	maxRemoteHTML = 64 << 10
	// maxUnreadCount caps the unread count of one chat: "999+" is all a badge shows, and
	// counting further would read every unread row of a long-ignored chat.
	maxUnreadCount = 999
)

// Kind is what sort of chat a conversation is.
type Kind string

const (
	// Direct is a 1:1 chat: unique per pair of people, never gains members, has no name.
	Direct Kind = "direct"
	// Group is a named (or unnamed) chat of several people whose admins manage its members.
	Group Kind = "group"
)

// Role is a member's role in a group chat.
type Role string

const (
	RoleAdmin  Role = "admin"  // adds and removes people, names admins
	RoleMember Role = "member" // reads, writes, renames, leaves
)

// Conversation is one row of chat_conversations.
type Conversation struct {
	bun.BaseModel `bun:"table:chat_conversations"`
	ID            string  `bun:"id,pk"`
	URI           string  `bun:"uri"` // the stable ActivityPub context of the chat
	Kind          Kind    `bun:"kind"`
	Name          string  `bun:"name"`
	CreatorID     string  `bun:"creator_id"`
	Domain        string  `bun:"domain"` // host of the node that keeps the member list; "" here
	PairKey       *string `bun:"pair_key"`
	// ActivityID is the newest message's id, or the chat's own id before any message: chat
	// lists are ordered and paged by it.
	ActivityID string    `bun:"activity_id"`
	Seq        int64     `bun:"seq"` // changes to the chat's messages so far (see Message.Seq)
	CreatedAt  time.Time `bun:"created_at"`
	UpdatedAt  time.Time `bun:"updated_at"`
}

// IsRemote reports whether another node keeps the chat's member list (it started the chat).
func (c *Conversation) IsRemote() bool { return c.Domain != "" }

// Member is one row of chat_members: a person in a chat, with their own read state.
type Member struct {
	bun.BaseModel  `bun:"table:chat_members"`
	ConversationID string `bun:"conversation_id,pk"`
	AccountID      string `bun:"account_id,pk"`
	Local          bool   `bun:"local"` // one of this node's people
	Role           Role   `bun:"role"`
	// HistoryFrom is the lowest message id the member may read: "" for the chat's first
	// members, the moment they were added for people added later.
	HistoryFrom string `bun:"history_from"`
	// LastReadID is the newest message the member has read; it only moves forward. Every
	// message with a larger id by someone else is unread for them ("seen by" compares it).
	LastReadID string     `bun:"last_read_id"`
	LastReadAt *time.Time `bun:"last_read_at"`
	Muted      bool       `bun:"muted"`
	Hidden     bool       `bun:"hidden"` // off the member's list until the next message
	AddedBy    string     `bun:"added_by"`
	JoinedAt   time.Time  `bun:"joined_at"`
}

// Message is one row of chat_messages. A deleted message is a tombstone: DeletedAt is set and
// its text, link, files and reactions are gone.
type Message struct {
	bun.BaseModel  `bun:"table:chat_messages"`
	ID             string     `bun:"id,pk"` // a ULID of CreatedAt: id order is time order
	ConversationID string     `bun:"conversation_id"`
	URI            string     `bun:"uri"` // the ActivityPub id of the note
	AuthorID       string     `bun:"author_id"`
	InReplyToID    *string    `bun:"in_reply_to_id"`
	Source         string     `bun:"source"` // what a local author typed; "" for remote messages
	ContentHTML    string     `bun:"content_html"`
	ContentText    string     `bun:"content_text"`
	LinkURL        string     `bun:"link_url"` // the first link, whose preview card shows
	Seq            int64      `bun:"seq"`      // the chat's change counter at the last change
	CreatedAt      time.Time  `bun:"created_at"`
	EditedAt       *time.Time `bun:"edited_at"`
	DeletedAt      *time.Time `bun:"deleted_at"`

	// Filled by hydrate.
	Attachments []Attachment      `bun:"-"`
	Reactions   map[string]int    `bun:"-"` // counts by emoji
	MyReaction  string            `bun:"-"` // the viewer's, when a viewer was given
	Card        *previews.Preview `bun:"-"` // the link's preview, once fetched
	ReplyTo     *Message          `bun:"-"` // the message answered (not hydrated itself)
}

// Deleted reports whether the message is a tombstone.
func (m *Message) Deleted() bool { return m.DeletedAt != nil }

// Local reports whether the message was written on this node (its URI is under base).
func (m *Message) Local(base string) bool { return strings.HasPrefix(m.URI, base+"/") }

// Attachment is a file of a message: an image with a thumbnail, or a document.
type Attachment struct {
	bun.BaseModel `bun:"table:chat_attachments"`
	ID            string    `bun:"id,pk"`
	MessageID     string    `bun:"message_id"`
	OwnerID       string    `bun:"owner_id"`
	Kind          string    `bun:"kind"` // media.KindImage or media.KindDocument
	FileKey       string    `bun:"file_key"`
	ThumbKey      string    `bun:"thumb_key"`
	ContentType   string    `bun:"content_type"`
	FileName      string    `bun:"file_name"`
	SizeBytes     int64     `bun:"size_bytes"`
	Width         int       `bun:"width"`
	Height        int       `bun:"height"`
	Description   string    `bun:"description"`
	Position      int       `bun:"position"`
	Remote        bool      `bun:"remote"` // a partner's file copied here: its blob is shared, never deleted with the message
	CreatedAt     time.Time `bun:"created_at"`
}

// Reaction is one person's reaction to a message (one per person per message).
type Reaction struct {
	bun.BaseModel `bun:"table:chat_reactions"`
	MessageID     string    `bun:"message_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	Emoji         string    `bun:"emoji"`
	CreatedAt     time.Time `bun:"created_at"`
}

type contextRow struct {
	bun.BaseModel  `bun:"table:chat_contexts"`
	URI            string `bun:"uri,pk"`
	ConversationID string `bun:"conversation_id"`
}

// upload is the row of the social core's attachments table that an upload (POST
// /api/v2/media) made; a message takes it over (attach).
type upload struct {
	bun.BaseModel `bun:"table:attachments"`
	ID            string    `bun:"id,pk"`
	OwnerID       string    `bun:"owner_id"`
	Kind          string    `bun:"kind"`
	FileKey       string    `bun:"file_key"`
	ThumbKey      string    `bun:"thumb_key"`
	ContentType   string    `bun:"content_type"`
	FileName      string    `bun:"file_name"`
	SizeBytes     int64     `bun:"size_bytes"`
	Width         int       `bun:"width"`
	Height        int       `bun:"height"`
	Description   string    `bun:"description"`
	CreatedAt     time.Time `bun:"created_at"`
}

// View is a chat as one member sees it.
type View struct {
	Conversation *Conversation
	Me           *Member   // the viewer's membership
	Members      []*Member // everyone in the chat, the viewer included, in the order they joined
	Unread       int       // messages by others after Me.LastReadID (at most 999)
	LastMessage  *Message  // nil before the first message
}

// Others returns the ids of the members other than the viewer.
func (v *View) Others() []string {
	var out []string
	for _, m := range v.Members {
		if m.AccountID != v.Me.AccountID {
			out = append(out, m.AccountID)
		}
	}
	return out
}

// Page is a keyset page in Mastodon's terms, over message ids (or, for chat lists, over
// ActivityID): MaxID returns older items, SinceID newer ones (newest first), MinID the
// items just after it. Results always come newest first.
type Page struct {
	MaxID, SinceID, MinID string
	Limit                 int
}

// Page sizes.
const (
	DefaultPage = 20
	MaxPage     = 100
)

func (pg Page) limit() int {
	switch {
	case pg.Limit <= 0:
		return DefaultPage
	case pg.Limit > MaxPage:
		return MaxPage
	}
	return pg.Limit
}

// apply bounds q on column col and orders it; it returns whether rows come oldest first
// (MinID), which the caller reverses.
func (pg Page) apply(q *bun.SelectQuery, col string) (*bun.SelectQuery, bool) {
	if pg.MaxID != "" {
		q = q.Where("? < ?", bun.Ident(col), pg.MaxID)
	}
	if pg.SinceID != "" {
		q = q.Where("? > ?", bun.Ident(col), pg.SinceID)
	}
	if pg.MinID != "" {
		return q.Where("? > ?", bun.Ident(col), pg.MinID).OrderExpr("? ASC", bun.Ident(col)).Limit(int64(pg.limit())), true
	}
	return q.OrderExpr("? DESC", bun.Ident(col)).Limit(int64(pg.limit())), false
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// Refs lists what a page of messages refers to, for one lookup of each: the people (authors,
// and the authors of the messages answered) and the keys of files copied from partners.
func Refs(ms []*Message) (people, remoteFiles []string) {
	for _, m := range ms {
		people = append(people, m.AuthorID)
		if m.ReplyTo != nil {
			people = append(people, m.ReplyTo.AuthorID)
		}
		for _, a := range m.Attachments {
			if a.Remote {
				remoteFiles = append(remoteFiles, a.FileKey)
			}
		}
	}
	return people, remoteFiles
}
