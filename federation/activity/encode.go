package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	vocab "github.com/go-ap/activitypub"
)

// ErrInvalid is returned by Encode for a value it will not emit: a missing
// id, type or actor, or an IRI that is not an absolute http(s) URL safe to
// hand to go-ap (which writes IRIs into JSON without escaping them).
var ErrInvalid = errors.New("activity: invalid value")

// fields is one JSON object under construction: go-ap's output, decoded one
// level deep, plus what we splice in. encoding/json sorts map keys, so the
// output is deterministic and "@context" comes first.
type fields map[string]json.RawMessage

// Encode serialises a *Note, *Actor, *Tombstone or *Activity as an
// ActivityStreams document with Mastodon's @context. Each object level is
// built as a go-ap value and marshalled with vocab.MarshalJSON; the @context,
// the text properties and the extension properties go-ap cannot emit are then
// spliced in and the result is written with HTML escaping off. Nested objects
// (Create{Note}, Undo{Follow}, ...) are embedded, without @context. Encode
// touches no shared state and is safe for concurrent use.
func Encode(v Object) ([]byte, error) {
	var e encoder
	var f fields
	var err error
	switch o := v.(type) {
	case *Note, *Actor, *Tombstone, *Activity:
		f, err = e.object(o)
	default:
		return nil, fmt.Errorf("%w: cannot encode %T at top level", ErrInvalid, v)
	}
	if err != nil {
		return nil, err
	}
	f["@context"] = ldContext
	if e.hasActor {
		f["@context"] = ldContextActor
	}
	return marshal(f)
}

type encoder struct {
	hasActor bool // a publicKey is emitted: add security/v1
	depth    int
}

func (e *encoder) object(v Object) (fields, error) {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > 8 {
		return nil, fmt.Errorf("%w: activities nested too deeply", ErrInvalid)
	}
	switch o := v.(type) {
	case *Note:
		if o != nil {
			return e.note(o)
		}
	case *Actor:
		if o != nil {
			return e.actor(o)
		}
	case *Tombstone:
		if o != nil {
			return e.tombstone(o)
		}
	case *Activity:
		if o != nil {
			return e.activity(o)
		}
	}
	return nil, fmt.Errorf("%w: nil or unsupported object %T", ErrInvalid, v)
}

func (e *encoder) note(n *Note) (fields, error) {
	typ := n.Type
	if typ == "" {
		typ = TypeNote
	}
	var c checker
	c.required("id", n.ID)
	c.typ(typ)
	c.iri("attributedTo", n.AttributedTo)
	c.iri("inReplyTo", n.InReplyTo)
	c.iri("url", n.URL)
	c.iri("context", n.Context)
	for _, a := range n.Attachments {
		for _, p := range a.FocalPoint {
			if math.IsNaN(p) || math.IsInf(p, 0) {
				c.fail("attachment focalPoint is not finite")
			}
		}
	}
	to, cc := c.addressing(n.To, n.Cc)
	if c.err != nil {
		return nil, c.err
	}
	o := &vocab.Object{
		ID:        vocab.ID(n.ID),
		Type:      vocab.ActivityVocabularyType(typ),
		Published: n.Published,
		Updated:   n.Updated,
		To:        to,
		CC:        cc,
	}
	o.AttributedTo = iriItem(n.AttributedTo)
	o.InReplyTo = iriItem(n.InReplyTo)
	o.URL = iriItem(n.URL)
	o.Context = iriItem(n.Context)
	f, err := goap(o)
	if err != nil {
		return nil, err
	}
	// Text never goes through go-ap: it un-escapes backslash sequences
	// ("C:\temp" would come out with a tab).
	f.setString("name", n.Name)
	content := n.Content
	if content == "" {
		content = langPick(n.ContentMap)
	}
	f.setString("content", content)
	if len(n.ContentMap) > 0 {
		f.set("contentMap", n.ContentMap)
	}
	f.setString("summary", n.Summary)
	f.set("sensitive", n.Sensitive)
	f.setString("conversation", n.Conversation)
	// go-ap writes whole seconds; chat messages are ordered by their time to the millisecond
	// on every node, so a fraction, when there is one, is kept (RFC 3339 allows it, and
	// Mastodon and GoToSocial read it).
	if !n.Published.IsZero() && n.Published.Nanosecond() != 0 {
		f.setString("published", n.Published.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano))
	}
	f.setString("audience", n.Audience)
	if n.DirectMessage {
		f.set("directMessage", true)
	}
	if len(n.Tags) > 0 {
		f.set("tag", tagsJSON(n.Tags))
	}
	if len(n.Attachments) > 0 {
		f.set("attachment", attachmentsJSON(n.Attachments))
	}
	return f, nil
}

func (e *encoder) actor(a *Actor) (fields, error) {
	typ := a.Type
	if typ == "" {
		typ = TypePerson
	}
	key := a.PublicKey
	if key.Owner == "" && key.ID != "" {
		key.Owner = a.ID
	}
	var c checker
	c.required("id", a.ID)
	c.typ(typ)
	for _, p := range [][2]string{
		{"url", a.URL}, {"icon", a.Icon}, {"image", a.Image}, {"inbox", a.Inbox},
		{"outbox", a.Outbox}, {"followers", a.Followers}, {"following", a.Following},
		{"featured", a.Featured}, {"featuredTags", a.FeaturedTags},
		{"sharedInbox", a.SharedInbox}, {"publicKey.id", key.ID},
		{"publicKey.owner", key.Owner}, {"movedTo", a.MovedTo},
	} {
		c.iri(p[0], p[1])
	}
	for _, s := range a.AlsoKnownAs {
		c.iri("alsoKnownAs", s)
	}
	for _, s := range a.AttributedTo {
		c.iri("attributedTo", s)
	}
	if c.err != nil {
		return nil, c.err
	}
	o := &vocab.Actor{
		ID:        vocab.ID(a.ID),
		Type:      vocab.ActivityVocabularyType(typ),
		Published: a.Published,
		Inbox:     iriItem(a.Inbox),
		Outbox:    iriItem(a.Outbox),
		Followers: iriItem(a.Followers),
		Following: iriItem(a.Following),
		URL:       iriItem(a.URL),
		Icon:      imageItem(a.Icon, a.IconMediaType),
		Image:     imageItem(a.Image, a.ImageMediaType),
	}
	if a.SharedInbox != "" {
		o.Endpoints = &vocab.Endpoints{SharedInbox: vocab.IRI(a.SharedInbox)}
	}
	if key.ID != "" {
		e.hasActor = true
		o.PublicKey = vocab.PublicKey{
			ID:           vocab.ID(key.ID),
			Owner:        vocab.IRI(key.Owner),
			PublicKeyPem: key.PublicKeyPem,
		}
	}
	f, err := goap(o)
	if err != nil {
		return nil, err
	}
	f.setString("preferredUsername", a.PreferredUsername)
	f.setString("name", a.Name)
	f.setString("summary", a.Summary)
	f.set("manuallyApprovesFollowers", a.ManuallyApprovesFollowers)
	f.set("discoverable", a.Discoverable)
	f.set("indexable", a.Indexable)
	f.setString("featured", a.Featured)
	f.setString("featuredTags", a.FeaturedTags)
	f.setString("movedTo", a.MovedTo)
	if a.Memorial {
		f.set("memorial", true)
	}
	if a.Suspended {
		f.set("suspended", true)
	}
	if len(a.AlsoKnownAs) > 0 {
		f.set("alsoKnownAs", a.AlsoKnownAs)
	}
	if len(a.AttributedTo) > 0 {
		f.set("attributedTo", a.AttributedTo)
	}
	if len(a.Fields) > 0 {
		pv := make([]attachmentJSON, len(a.Fields))
		for i, p := range a.Fields {
			pv[i] = attachmentJSON{Type: TypePropertyValue, Name: p.Name, Value: p.Value}
		}
		f.set("attachment", pv)
	}
	if len(a.Emojis) > 0 {
		f.set("tag", tagsJSON(a.Emojis))
	}
	return f, nil
}

func (e *encoder) tombstone(t *Tombstone) (fields, error) {
	var c checker
	c.required("id", t.ID)
	if t.FormerType != "" {
		c.typ(t.FormerType)
	}
	if c.err != nil {
		return nil, c.err
	}
	return goap(&vocab.Tombstone{
		ID:         vocab.ID(t.ID),
		Type:       vocab.TombstoneType,
		FormerType: vocab.ActivityVocabularyType(t.FormerType),
		Deleted:    t.Deleted,
	})
}

func (e *encoder) activity(a *Activity) (fields, error) {
	var c checker
	c.required("id", a.ID)
	c.typ(a.Type)
	c.required("actor", a.Actor)
	c.iri("target", a.Target)
	c.iri("audience", a.Audience)
	to, cc := c.addressing(a.To, a.Cc)
	if c.err != nil {
		return nil, c.err
	}
	act := &vocab.Activity{
		ID:        vocab.ID(a.ID),
		Type:      vocab.ActivityVocabularyType(a.Type),
		Actor:     vocab.IRI(a.Actor),
		Target:    iriItem(a.Target),
		To:        to,
		CC:        cc,
		Published: a.Published,
	}
	var inner fields
	switch o := a.Object.(type) {
	case nil:
		return nil, fmt.Errorf("%w: %s has no object", ErrInvalid, a.Type)
	case IRI:
		c.required("object", string(o))
		act.Object = vocab.IRI(o)
	case IRIs:
		if len(o) == 0 {
			return nil, fmt.Errorf("%w: %s has no object", ErrInvalid, a.Type)
		}
		col := make(vocab.ItemCollection, len(o))
		for i, s := range o {
			c.iri("object", s)
			col[i] = vocab.IRI(s)
		}
		act.Object = col
	default:
		var err error
		if inner, err = e.object(o); err != nil {
			return nil, err
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	f, err := goap(act)
	if err != nil {
		return nil, err
	}
	if inner != nil {
		raw, err := marshal(inner)
		if err != nil {
			return nil, err
		}
		f["object"] = raw
	}
	f.setString("content", a.Content)
	f.setString("audience", a.Audience)
	return f, nil
}

// goap marshals it with go-ap and splits the result one level deep.
func goap(it vocab.Item) (fields, error) {
	b, err := vocab.MarshalJSON(it)
	if err != nil {
		return nil, fmt.Errorf("activity: go-ap marshal: %w", err)
	}
	f := make(fields, 24)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("activity: go-ap produced invalid JSON: %w", err)
		}
	}
	return f, nil
}

// marshal writes v compactly with HTML escaping off (content is HTML; "<"
// as \u003c is legal but noisy and not what Mastodon sends).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// set splices v under key, replacing whatever go-ap wrote there.
func (f fields) set(key string, v any) {
	b, err := marshal(v)
	if err != nil {
		// Unreachable: only strings, bools, string maps and slices, and
		// the tag/attachment structs (focal points checked finite) get here.
		panic(fmt.Sprintf("activity: marshal %s: %v", key, err))
	}
	f[key] = b
}

// setString splices s under key, or removes key when s is empty.
func (f fields) setString(key, s string) {
	if s == "" {
		delete(f, key)
		return
	}
	f.set(key, s)
}

func iriItem(s string) vocab.Item {
	if s == "" {
		return nil
	}
	return vocab.IRI(s)
}

func imageItem(u, mediaType string) vocab.Item {
	if u == "" {
		return nil
	}
	return &vocab.Object{Type: vocab.ImageType, MediaType: vocab.MimeType(mediaType), URL: vocab.IRI(u)}
}

// tagJSON and attachmentJSON are the wire shapes of Mastodon's tags and
// attachments, emitted as-is: go-ap drops Hashtag, Emoji, PropertyValue's
// value and attachment blurhash/focalPoint/width/height, and collapses a
// one-element attachment array into an object.
type tagJSON struct {
	ID      string     `json:"id,omitempty"`
	Type    string     `json:"type"`
	Href    string     `json:"href,omitempty"`
	Name    string     `json:"name,omitempty"`
	Updated string     `json:"updated,omitempty"`
	Icon    *imageJSON `json:"icon,omitempty"`
}

type imageJSON struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType,omitempty"`
	URL       string `json:"url"`
}

type attachmentJSON struct {
	Type       string    `json:"type"`
	MediaType  string    `json:"mediaType,omitempty"`
	URL        string    `json:"url,omitempty"`
	Name       string    `json:"name,omitempty"`
	Value      string    `json:"value,omitempty"`
	Blurhash   string    `json:"blurhash,omitempty"`
	FocalPoint []float64 `json:"focalPoint,omitempty"`
	Width      int       `json:"width,omitempty"`
	Height     int       `json:"height,omitempty"`
}

func tagsJSON(tags []Tag) []tagJSON {
	out := make([]tagJSON, len(tags))
	for i, t := range tags {
		out[i] = tagJSON{ID: t.ID, Type: t.Type, Href: t.Href, Name: t.Name}
		if !t.Updated.IsZero() {
			out[i].Updated = t.Updated.UTC().Format(time.RFC3339)
		}
		if t.Icon != "" {
			out[i].Icon = &imageJSON{Type: "Image", MediaType: t.IconMediaType, URL: t.Icon}
		}
	}
	return out
}

func attachmentsJSON(as []Attachment) []attachmentJSON {
	out := make([]attachmentJSON, len(as))
	for i, a := range as {
		typ := a.Type
		if typ == "" {
			typ = TypeDocument
		}
		out[i] = attachmentJSON{
			Type: typ, MediaType: a.MediaType, URL: a.URL, Name: a.Name,
			Blurhash: a.Blurhash, FocalPoint: a.FocalPoint, Width: a.Width, Height: a.Height,
		}
	}
	return out
}
