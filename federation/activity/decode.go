package activity

import (
	"encoding/json"
	"fmt"
	"time"

	vocab "github.com/go-ap/activitypub"
)

// Document is one decoded ActivityStreams document.
//
// Item is go-ap's view with all of go-ap's losses (see the package comment);
// Ext is the side-car read by encoding/json from the same bytes, normalised.
// The accessors read Ext only, so that both views never have to be merged.
// A Document is immutable after Decode and safe for concurrent readers.
type Document struct {
	// Raw is the input with \u0000 escapes removed: byte-identical to what
	// was received unless it contained NULs. Keep it to forward activities
	// carrying LD signatures and to re-parse later.
	Raw []byte
	// Item is go-ap's decoding; nil for types go-ap does not know (e.g.
	// EmojiReact, ChatMessage). Treat as read-only.
	Item vocab.Item
	// Ext is the side-car.
	Ext Extensions

	object *wire // the embedded object's side-car, already decoded
}

// Extensions is the side-car: every property the accessors need, read with
// encoding/json, including all that go-ap drops or mangles. IRI-valued
// properties given as objects are reduced to their id; one-or-many
// properties are slices; absent values are zero.
type Extensions struct {
	LDContext json.RawMessage // "@context", verbatim
	ID        string
	Type      string // first type when an array

	Actor     string          // activity actor
	ObjectIDs []string        // ids of the object(s), embedded or referenced
	Object    json.RawMessage // "object", verbatim
	Target    string

	AttributedTo []string
	Name         string
	NameMap      map[string]string
	Content      string
	ContentMap   map[string]string
	Summary      string
	SummaryMap   map[string]string
	MediaType    string
	InReplyTo    string
	URL          string
	Published    time.Time // zero when absent or not RFC 3339
	Updated      time.Time
	Deleted      time.Time
	FormerType   string

	// Addressing, deduplicated, with every form of Public made the full IRI.
	To, Cc, Bto, Bcc, Audience []string

	Tags        []Tag           // Mention, Hashtag, Emoji and others, by Type
	Attachments []Attachment    // media attachments
	Fields      []PropertyValue // PropertyValue attachments

	Sensitive     bool
	DirectMessage bool
	Conversation  string
	Context       string // AS2 context, not @context
	Quote         string // quote, quoteUrl, quoteUri or _misskey_quote
	HasSignature  bool   // an LD signature object is present
	HasProof      bool   // an FEP-8b32 proof is present

	PreferredUsername         string
	Inbox, Outbox             string
	Followers, Following      string
	Featured, FeaturedTags    string
	SharedInbox               string
	PublicKeys                []PublicKey
	Icon, IconMediaType       string
	Image, ImageMediaType     string
	ManuallyApprovesFollowers bool
	Discoverable              bool
	Indexable                 bool
	Memorial                  bool
	Suspended                 bool
	AlsoKnownAs               []string
	MovedTo                   string
}

// Decode checks raw against the limits (size, depth, list lengths, one
// top-level object, no duplicate keys), removes NUL characters, and decodes
// it twice: with go-ap into Item and with encoding/json into Ext.
func Decode(raw []byte) (*Document, error) {
	if err := preflight(raw); err != nil {
		return nil, err
	}
	return decodeChecked(stripNUL(raw))
}

// decodeChecked decodes bytes that passed preflight.
func decodeChecked(raw []byte) (d *Document, err error) {
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	// go-ap (fastjson) is not hardened against hostile input the way
	// encoding/json is; a panic there must not take the inbox down.
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("activity: go-ap panicked: %v", r)
		}
	}()
	item, err := vocab.UnmarshalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: go-ap: %v", ErrSyntax, err)
	}
	return &Document{Raw: raw, Item: item, Ext: w.extensions(), object: w.Object.inner}, nil
}

func (w *wire) extensions() Extensions {
	e := Extensions{
		LDContext:    w.LDContext,
		ID:           string(w.ID),
		Type:         string(w.Type),
		Actor:        w.Actor.first(),
		Object:       w.Object.raw,
		ObjectIDs:    w.Object.ids,
		Target:       w.Target.first(),
		AttributedTo: w.AttributedTo,
		Name:         string(w.Name),
		NameMap:      w.NameMap,
		Content:      string(w.Content),
		ContentMap:   w.ContentMap,
		Summary:      string(w.Summary),
		SummaryMap:   w.SummaryMap,
		MediaType:    string(w.MediaType),
		InReplyTo:    w.InReplyTo.first(),
		URL:          w.URL.URL,
		Published:    parseTime(string(w.Published)),
		Updated:      parseTime(string(w.Updated)),
		Deleted:      parseTime(string(w.Deleted)),
		FormerType:   string(w.FormerType),

		To:       normalizeAddressing(w.To),
		Cc:       normalizeAddressing(w.Cc),
		Bto:      normalizeAddressing(w.Bto),
		Bcc:      normalizeAddressing(w.Bcc),
		Audience: normalizeAddressing(w.Audience),

		Sensitive:     bool(w.Sensitive),
		DirectMessage: bool(w.DirectMessage),
		Conversation:  w.Conversation.first(),
		Context:       w.Context.first(),
		HasSignature:  isObjectJSON(w.Signature),
		HasProof:      first(w.Proof) == '{' || first(w.Proof) == '[',

		PreferredUsername:         string(w.PreferredUsername),
		Inbox:                     w.Inbox.first(),
		Outbox:                    w.Outbox.first(),
		Followers:                 w.Followers.first(),
		Following:                 w.Following.first(),
		Featured:                  w.Featured.first(),
		FeaturedTags:              w.FeaturedTags.first(),
		SharedInbox:               string(w.Endpoints.SharedInbox),
		Icon:                      w.Icon.URL,
		IconMediaType:             w.Icon.MediaType,
		Image:                     w.Image.URL,
		ImageMediaType:            w.Image.MediaType,
		ManuallyApprovesFollowers: bool(w.ManuallyApprovesFollowers),
		Discoverable:              bool(w.Discoverable),
		Indexable:                 bool(w.Indexable),
		Memorial:                  bool(w.Memorial),
		Suspended:                 bool(w.Suspended),
		AlsoKnownAs:               w.AlsoKnownAs,
		MovedTo:                   w.MovedTo.first(),
	}
	for _, q := range []iriList{w.Quote, w.QuoteURL, w.QuoteURI, w.MisskeyQuote} {
		if e.Quote = q.first(); e.Quote != "" {
			break
		}
	}
	for _, t := range w.Tag {
		e.Tags = append(e.Tags, Tag{
			Type:          string(t.Type),
			Name:          string(t.Name),
			Href:          string(t.Href),
			ID:            string(t.ID),
			Icon:          t.Icon.URL,
			IconMediaType: t.Icon.MediaType,
			Updated:       parseTime(string(t.Updated)),
		})
	}
	for _, a := range w.Attachment {
		if string(a.Type) == TypePropertyValue {
			e.Fields = append(e.Fields, PropertyValue{Name: string(a.Name), Value: string(a.Value)})
			continue
		}
		at := Attachment{
			Type:       string(a.Type),
			MediaType:  string(a.MediaType),
			URL:        a.URL.URL,
			Name:       string(a.Name),
			Blurhash:   string(a.Blurhash),
			FocalPoint: a.FocalPoint,
			Width:      int(a.Width),
			Height:     int(a.Height),
		}
		if at.URL == "" {
			at.URL = string(a.Href)
		}
		if at.MediaType == "" {
			at.MediaType = a.URL.MediaType
		}
		if at.Name == "" { // some servers put alt text in summary
			at.Name = string(a.Summary)
		}
		e.Attachments = append(e.Attachments, at)
	}
	for _, k := range w.PublicKey {
		e.PublicKeys = append(e.PublicKeys, PublicKey{
			ID: string(k.ID), Owner: string(k.Owner), PublicKeyPem: string(k.PublicKeyPem),
		})
	}
	return e
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// NormalizePublic returns Public for "as:Public", "Public" and the full IRI,
// and iri unchanged otherwise.
func NormalizePublic(iri string) string {
	switch iri {
	case "as:Public", "Public", Public:
		return Public
	}
	return iri
}

// normalizeAddressing makes every Public form the full IRI and removes
// duplicates, keeping the first occurrence.
func normalizeAddressing(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = NormalizePublic(s)
		dup := false
		for _, o := range out {
			if o == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}
