package activity

import (
	"errors"
	"fmt"

	vocab "github.com/go-ap/activitypub"
)

// ErrWrongType is returned by the As* accessors when the document is not of a
// fitting type.
var ErrWrongType = errors.New("activity: wrong type")

var activityTypes = map[string]bool{
	"Accept": true, "Add": true, "Announce": true, "Arrive": true, "Block": true,
	"Create": true, "Delete": true, "Dislike": true, "EmojiReact": true, "Flag": true,
	"Follow": true, "Ignore": true, "Invite": true, "Join": true, "Leave": true,
	"Like": true, "Listen": true, "Move": true, "Offer": true, "Question": false,
	"Read": true, "Reject": true, "Remove": true, "TentativeAccept": true,
	"TentativeReject": true, "Travel": true, "Undo": true, "Update": true, "View": true,
}

var actorTypes = map[string]bool{
	"Person": true, "Group": true, "Service": true, "Application": true, "Organization": true,
}

var nonContentTypes = map[string]bool{
	"Tombstone": true, "Collection": true, "OrderedCollection": true,
	"CollectionPage": true, "OrderedCollectionPage": true, "Link": true,
	"Mention": true, "Hashtag": true, "Emoji": true, "PropertyValue": true,
}

// ID is the document's id.
func (d *Document) ID() string { return d.Ext.ID }

// Type is the document's type (the first one when it has several).
func (d *Document) Type() string { return d.Ext.Type }

// IsActivity reports whether the type is an activity type.
func (d *Document) IsActivity() bool { return activityTypes[d.Ext.Type] }

// IsActor reports whether the type is an actor type.
func (d *Document) IsActor() bool { return actorTypes[d.Ext.Type] }

// Actor is the activity's actor IRI (the id when the actor is embedded).
func (d *Document) Actor() string { return d.Ext.Actor }

// ObjectIDs are the ids of the activity's object: one for most activities,
// several for Flag, none when absent.
func (d *Document) ObjectIDs() []string { return d.Ext.ObjectIDs }

// ObjectID is the first of ObjectIDs, or "".
func (d *Document) ObjectID() string {
	if len(d.Ext.ObjectIDs) == 0 {
		return ""
	}
	return d.Ext.ObjectIDs[0]
}

// Target is the activity's target IRI (Move: the new account).
func (d *Document) Target() string { return d.Ext.Target }

// EmbeddedObject returns the activity's object when it is embedded as a JSON
// object (Create{Note}, Announce{Create}, Undo{Follow}, Accept{Follow},
// Delete{Tombstone}, Update{Person}); false when the object is an IRI, an
// array or absent. Per FEDERATION.md §2, an embedded object from another
// origin than the activity must not be trusted without a re-fetch.
func (d *Document) EmbeddedObject() (*Document, bool) {
	if d.object == nil {
		return nil, false
	}
	var inner vocab.Item
	if a, ok := d.Item.(*vocab.Activity); ok && a != nil {
		inner = a.Object
	}
	switch inner.(type) {
	case vocab.IRI, vocab.ItemCollection, *vocab.Link:
		inner = nil
	}
	w := d.object
	return &Document{Raw: d.Ext.Object, Item: inner, Ext: w.extensions(), object: w.Object.inner}, true
}

// AsNote returns the document as a Note. It accepts Note and the other
// content types (Article, Page, Question, Event, Video, ...), and fails for
// activities, actors, collections and Tombstones. Like AsActor, the result's
// slices and maps are shared with d.Ext: copy them before modifying.
func (d *Document) AsNote() (*Note, error) {
	e := &d.Ext
	if e.Type == "" || activityTypes[e.Type] || actorTypes[e.Type] || nonContentTypes[e.Type] {
		return nil, fmt.Errorf("%w: %q is not a content object", ErrWrongType, e.Type)
	}
	n := &Note{
		ID:            e.ID,
		Type:          e.Type,
		Name:          firstNonEmpty(e.Name, langPick(e.NameMap)),
		Content:       firstNonEmpty(e.Content, langPick(e.ContentMap)),
		ContentMap:    e.ContentMap,
		Summary:       firstNonEmpty(e.Summary, langPick(e.SummaryMap)),
		Sensitive:     e.Sensitive,
		InReplyTo:     e.InReplyTo,
		URL:           e.URL,
		Published:     e.Published,
		Updated:       e.Updated,
		To:            e.To,
		Cc:            e.Cc,
		Conversation:  e.Conversation,
		Context:       e.Context,
		Quote:         e.Quote,
		DirectMessage: e.DirectMessage,
		Tags:          e.Tags,
		Attachments:   e.Attachments,
	}
	if len(e.AttributedTo) > 0 {
		n.AttributedTo = e.AttributedTo[0]
	}
	if len(e.Audience) > 0 {
		n.Audience = e.Audience[0]
	}
	return n, nil
}

// AsActor returns the document as an Actor (Person, Group, Service,
// Application, Organization). PublicKey is the key owned by the actor when
// publicKey is an array.
func (d *Document) AsActor() (*Actor, error) {
	e := &d.Ext
	if !actorTypes[e.Type] {
		return nil, fmt.Errorf("%w: %q is not an actor", ErrWrongType, e.Type)
	}
	a := &Actor{
		ID:                        e.ID,
		Type:                      e.Type,
		PreferredUsername:         e.PreferredUsername,
		Name:                      firstNonEmpty(e.Name, langPick(e.NameMap)),
		Summary:                   firstNonEmpty(e.Summary, langPick(e.SummaryMap)),
		URL:                       e.URL,
		Icon:                      e.Icon,
		IconMediaType:             e.IconMediaType,
		Image:                     e.Image,
		ImageMediaType:            e.ImageMediaType,
		Inbox:                     e.Inbox,
		Outbox:                    e.Outbox,
		Followers:                 e.Followers,
		Following:                 e.Following,
		Featured:                  e.Featured,
		FeaturedTags:              e.FeaturedTags,
		SharedInbox:               e.SharedInbox,
		Published:                 e.Published,
		ManuallyApprovesFollowers: e.ManuallyApprovesFollowers,
		Discoverable:              e.Discoverable,
		Indexable:                 e.Indexable,
		Memorial:                  e.Memorial,
		Suspended:                 e.Suspended,
		Fields:                    e.Fields,
		AlsoKnownAs:               e.AlsoKnownAs,
		MovedTo:                   e.MovedTo,
		AttributedTo:              e.AttributedTo,
	}
	for _, t := range e.Tags {
		if t.Type == TypeEmoji {
			a.Emojis = append(a.Emojis, t)
		}
	}
	for i, k := range e.PublicKeys {
		if i == 0 || (k.Owner == e.ID && a.PublicKey.Owner != e.ID) {
			a.PublicKey = k
		}
	}
	return a, nil
}

// AsTombstone returns the document as a Tombstone.
func (d *Document) AsTombstone() (*Tombstone, error) {
	if d.Ext.Type != TypeTombstone {
		return nil, fmt.Errorf("%w: %q is not a Tombstone", ErrWrongType, d.Ext.Type)
	}
	return &Tombstone{ID: d.Ext.ID, FormerType: d.Ext.FormerType, Deleted: d.Ext.Deleted}, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func langPick(m map[string]string) string { return langMap(m).pick() }
