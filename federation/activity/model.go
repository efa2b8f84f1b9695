package activity

import "time"

// Public is the AS2 public collection, always in its full form. Decode turns
// "as:Public" and "Public" into it; Encode emits nothing else.
const Public = "https://www.w3.org/ns/activitystreams#Public"

// Activity types handled by the federation layer.
const (
	TypeCreate   = "Create"
	TypeUpdate   = "Update"
	TypeDelete   = "Delete"
	TypeFollow   = "Follow"
	TypeAccept   = "Accept"
	TypeReject   = "Reject"
	TypeUndo     = "Undo"
	TypeLike     = "Like"
	TypeAnnounce = "Announce"
	TypeBlock    = "Block"
	TypeFlag     = "Flag"
	TypeMove     = "Move"
)

// Object and actor types.
const (
	TypeNote        = "Note"
	TypeTombstone   = "Tombstone"
	TypePerson      = "Person"
	TypeGroup       = "Group"
	TypeService     = "Service"
	TypeApplication = "Application"
)

// Tag and attachment types.
const (
	TypeMention       = "Mention"
	TypeHashtag       = "Hashtag"
	TypeEmoji         = "Emoji"
	TypeDocument      = "Document"
	TypePropertyValue = "PropertyValue"
)

// Note is a post: Note, and also Article, Page, Question and the other
// content types when decoded (Type says which).
type Note struct {
	ID           string
	Type         string // Note when empty on encode
	AttributedTo string // the author's actor IRI
	Name         string // plain text title (Article, Question)
	Content      string // HTML
	ContentMap   map[string]string
	Summary      string // content warning, HTML
	Sensitive    bool
	InReplyTo    string
	URL          string
	Published    time.Time
	Updated      time.Time
	To, Cc       []string
	Audience     string // FEP-1b12 group
	Conversation string // ostatus conversation
	Context      string // AS2 context (thread)
	Quote        string // quote, quoteUrl, quoteUri or _misskey_quote (decode only)
	// DirectMessage emits litepub's directMessage: true (FEDERATION.md §4).
	DirectMessage bool
	Tags          []Tag
	Attachments   []Attachment
}

// Tag is a Mention, Hashtag or Emoji.
type Tag struct {
	Type string // TypeMention, TypeHashtag or TypeEmoji
	Name string // "@user@host", "#tag", ":shortcode:"
	Href string // Mention, Hashtag
	// Emoji only.
	ID            string
	Icon          string
	IconMediaType string
	Updated       time.Time
}

// Attachment is media attached to a Note (Document, Image, ...).
type Attachment struct {
	Type       string // Document when empty on encode
	MediaType  string
	URL        string
	Name       string    // alt text
	Blurhash   string    // toot:blurhash
	FocalPoint []float64 // toot:focalPoint, [x, y] in -1..1; nil when absent
	Width      int
	Height     int
}

// PropertyValue is a profile field (schema:PropertyValue).
type PropertyValue struct {
	Name  string // plain text
	Value string // HTML
}

// PublicKey is an actor's draft-cavage signing key.
type PublicKey struct {
	ID           string
	Owner        string
	PublicKeyPem string
}

// Actor is a Person, Group, Service or Application (the instance actor).
type Actor struct {
	ID                string
	Type              string // Person when empty on encode
	PreferredUsername string
	Name              string // plain text
	Summary           string // HTML
	URL               string
	Icon              string // avatar URL
	IconMediaType     string
	Image             string // header URL
	ImageMediaType    string
	Inbox             string
	Outbox            string
	Followers         string
	Following         string
	Featured          string // pinned posts collection
	FeaturedTags      string
	SharedInbox       string // empty for GoToSocial
	Published         time.Time

	ManuallyApprovesFollowers bool
	Discoverable              bool
	Indexable                 bool
	Memorial                  bool
	Suspended                 bool

	PublicKey   PublicKey
	Fields      []PropertyValue
	Emojis      []Tag // custom emoji used in name and summary
	AlsoKnownAs []string
	MovedTo     string
	// AttributedTo on a Group lists its moderators (FEP-1b12).
	AttributedTo []string
}

// Tombstone replaces a deleted object.
type Tombstone struct {
	ID         string
	FormerType string
	Deleted    time.Time
}

// Object is what an Activity carries: IRI, IRIs, *Note, *Actor, *Tombstone
// or a nested *Activity. The interface is sealed.
type Object interface{ activityObject() }

// IRI is an object referenced by id.
type IRI string

// IRIs is several objects referenced by id (Flag: the account and posts).
type IRIs []string

func (IRI) activityObject()        {}
func (IRIs) activityObject()       {}
func (*Note) activityObject()      {}
func (*Actor) activityObject()     {}
func (*Tombstone) activityObject() {}
func (*Activity) activityObject()  {}

// Activity is an activity we send. Use the New* constructors for the usual
// shapes, or fill it directly.
type Activity struct {
	ID        string
	Type      string
	Actor     string
	Object    Object
	Target    string
	To, Cc    []string
	Audience  string
	Content   string // Flag: the reporter's comment
	Published time.Time
}
