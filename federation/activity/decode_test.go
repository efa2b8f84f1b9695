package activity

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestDecodeMastodonPerson(t *testing.T) {
	d := decodeFixture(t, "mastodon_person.json")
	a, err := d.AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "id", a.ID, "https://mastodon.example/users/alice")
	eq(t, "type", a.Type, TypePerson)
	eq(t, "preferredUsername", a.PreferredUsername, "alice")
	eq(t, "name", a.Name, "Alice :blobcat:")
	eq(t, "summary keeps the backslash", strings.Contains(a.Summary, `C:\temp paths`), true)
	eq(t, "inbox", a.Inbox, "https://mastodon.example/users/alice/inbox")
	eq(t, "outbox", a.Outbox, "https://mastodon.example/users/alice/outbox")
	eq(t, "followers", a.Followers, "https://mastodon.example/users/alice/followers")
	eq(t, "following", a.Following, "https://mastodon.example/users/alice/following")
	eq(t, "sharedInbox", a.SharedInbox, "https://mastodon.example/inbox")
	eq(t, "url", a.URL, "https://mastodon.example/@alice")
	eq(t, "icon", a.Icon, "https://files.mastodon.example/accounts/avatars/000/000/001/original/4f1c.png")
	eq(t, "icon type", a.IconMediaType, "image/png")
	eq(t, "image", a.Image, "https://files.mastodon.example/accounts/headers/000/000/001/original/9a2b.jpg")
	eq(t, "published", a.Published, time.Date(2022, 11, 5, 0, 0, 0, 0, time.UTC))
	// Dropped by go-ap:
	eq(t, "manuallyApprovesFollowers", a.ManuallyApprovesFollowers, false)
	eq(t, "discoverable", a.Discoverable, true)
	eq(t, "indexable", a.Indexable, true)
	eq(t, "featured", a.Featured, "https://mastodon.example/users/alice/collections/featured")
	eq(t, "featuredTags", a.FeaturedTags, "https://mastodon.example/users/alice/collections/tags")
	eq(t, "alsoKnownAs", a.AlsoKnownAs, []string{"https://old.example/users/alice"})
	eq(t, "fields", len(a.Fields), 2)
	eq(t, "field 0 name", a.Fields[0].Name, "Website")
	eq(t, "field 0 value", strings.HasPrefix(a.Fields[0].Value, `<a href="https://alice.example"`), true)
	eq(t, "field 1", a.Fields[1], PropertyValue{Name: "Pronouns", Value: "she/her"})
	eq(t, "emojis", len(a.Emojis), 1)
	eq(t, "emoji", a.Emojis[0], Tag{
		Type: TypeEmoji, Name: ":blobcat:", ID: "https://mastodon.example/emojis/4242",
		Icon:          "https://files.mastodon.example/custom_emojis/images/000/004/242/original/blobcat.png",
		IconMediaType: "image/png", Updated: time.Date(2023, 1, 15, 10, 20, 30, 0, time.UTC),
	})
	eq(t, "hashtag kept in Ext.Tags", d.Ext.Tags[1], Tag{Type: TypeHashtag, Name: "#golang", Href: "https://mastodon.example/tags/golang"})
	eq(t, "@context kept", strings.Contains(string(d.Ext.LDContext), "toot:featured"), true)
	eq(t, "key id", a.PublicKey.ID, "https://mastodon.example/users/alice#main-key")
	eq(t, "key owner", a.PublicKey.Owner, a.ID)
	block, _ := pem.Decode([]byte(a.PublicKey.PublicKeyPem))
	if block == nil {
		t.Fatal("publicKeyPem is not PEM")
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Errorf("publicKeyPem: %v", err)
	}
	if _, err := d.AsNote(); err == nil {
		t.Error("AsNote on a Person succeeded")
	}
	eq(t, "IsActor", d.IsActor(), true)
	eq(t, "IsActivity", d.IsActivity(), false)
}

func TestDecodeMastodonApplication(t *testing.T) {
	a, err := decodeFixture(t, "mastodon_application.json").AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "type", a.Type, TypeApplication)
	eq(t, "locked", a.ManuallyApprovesFollowers, true)
	eq(t, "url with query", a.URL, "https://mastodon.example/about/more?instance_actor=true")
	eq(t, "key", a.PublicKey.ID, "https://mastodon.example/actor#main-key")
}

func TestDecodeGoToSocialPerson(t *testing.T) {
	d := decodeFixture(t, "gts_person.json")
	a, err := d.AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "key id without fragment", a.PublicKey.ID, "https://gts.example/users/bob/main-key")
	eq(t, "key owner", a.PublicKey.Owner, "https://gts.example/users/bob")
	eq(t, "no sharedInbox", a.SharedInbox, "")
	eq(t, "locked", a.ManuallyApprovesFollowers, true)
	eq(t, "discoverable", a.Discoverable, true)
	eq(t, "featured", a.Featured, "https://gts.example/users/bob/collections/featured")
	// GtS sends a single PropertyValue as a bare object.
	eq(t, "fields", a.Fields, []PropertyValue{{Name: "Matrix", Value: "@bob:matrix.example"}})
	eq(t, "icon", a.IconMediaType, "image/webp")
	eq(t, "no emojis", len(a.Emojis), 0)
}

func TestDecodeMastodonCreateNote(t *testing.T) {
	d := decodeFixture(t, "mastodon_create_note.json")
	eq(t, "type", d.Type(), TypeCreate)
	eq(t, "actor", d.Actor(), "https://mastodon.example/users/alice")
	eq(t, "object id", d.ObjectIDs(), []string{"https://mastodon.example/users/alice/statuses/113456789012345678"})
	eq(t, "LD signature", d.Ext.HasSignature, true)
	eq(t, "activity to", d.Ext.To, []string{Public})
	n, err := embedded(t, d).AsNote()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "id", n.ID, "https://mastodon.example/users/alice/statuses/113456789012345678")
	eq(t, "attributedTo", n.AttributedTo, d.Actor())
	eq(t, "inReplyTo", n.InReplyTo, "https://gts.example/users/bob/statuses/01JD0AAAAAAAAAAAAAAAAAAAAA")
	eq(t, "url", n.URL, "https://mastodon.example/@alice/113456789012345678")
	eq(t, "summary", n.Summary, "Go internals")
	eq(t, "published", n.Published, time.Date(2024, 11, 20, 14, 3, 12, 0, time.UTC))
	eq(t, "to", n.To, []string{Public})
	eq(t, "cc", n.Cc, []string{"https://mastodon.example/users/alice/followers", "https://gts.example/users/bob"})
	// go-ap un-escapes "\t" and "\n" a second time; the side-car does not.
	eq(t, "content backslashes", strings.Contains(n.Content, `path is C:\temp\new — see`), true)
	// Dropped by go-ap:
	eq(t, "sensitive", n.Sensitive, true)
	eq(t, "contentMap", n.ContentMap["en"], n.Content)
	eq(t, "conversation", n.Conversation, "tag:mastodon.example,2024-11-20:objectId=987654:objectType=Conversation")
	eq(t, "tags", n.Tags, []Tag{
		{Type: TypeMention, Name: "@bob@gts.example", Href: "https://gts.example/users/bob"},
		{Type: TypeHashtag, Name: "#golang", Href: "https://mastodon.example/tags/golang"},
		{Type: TypeEmoji, Name: ":blobcat:", ID: "https://mastodon.example/emojis/4242",
			Icon:          "https://files.mastodon.example/custom_emojis/images/000/004/242/original/blobcat.png",
			IconMediaType: "image/png", Updated: time.Date(2023, 1, 15, 10, 20, 30, 0, time.UTC)},
	})
	eq(t, "attachments", n.Attachments, []Attachment{{
		Type: TypeDocument, MediaType: "image/jpeg",
		URL:  "https://files.mastodon.example/media_attachments/files/113/456/789/012/345/678/original/5e1d2c3b4a596877.jpg",
		Name: "A gopher at a standing desk", Blurhash: "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
		FocalPoint: []float64{-0.25, 0.5}, Width: 1920, Height: 1080,
	}})
}

func TestDecodeGoToSocialCreateNote(t *testing.T) {
	d := decodeFixture(t, "gts_create_note.json")
	eq(t, "cc as a bare string", d.Ext.Cc, []string{"https://gts.example/users/bob/followers"})
	eq(t, "no LD signature", d.Ext.HasSignature, false)
	n, err := embedded(t, d).AsNote()
	if err != nil {
		t.Fatal(err)
	}
	// The single-object tag go-ap decodes to zero tags.
	eq(t, "single-object tag", n.Tags, []Tag{{Type: TypeMention, Name: "@alice@mastodon.example", Href: "https://mastodon.example/users/alice"}})
	eq(t, "empty attachment array", len(n.Attachments), 0)
	eq(t, "to", n.To, []string{Public, "https://mastodon.example/users/alice"})
	eq(t, "cc", n.Cc, []string{"https://gts.example/users/bob/followers"})
	eq(t, "sensitive", n.Sensitive, false)
	eq(t, "summary empty", n.Summary, "")
}

func TestDecodeSimpleActivities(t *testing.T) {
	for _, c := range []struct {
		file, typ, actor string
		objects          []string
		embedded         string // type of the embedded object, if any
	}{
		{"mastodon_announce.json", TypeAnnounce, "https://mastodon.example/users/alice",
			[]string{"https://gts.example/users/bob/statuses/01JD1234ABCDEFGHJKMNPQRSTV"}, ""},
		{"mastodon_follow.json", TypeFollow, "https://mastodon.example/users/alice",
			[]string{"https://atrium.example/users/carol"}, ""},
		{"mastodon_accept_follow.json", TypeAccept, "https://mastodon.example/users/alice",
			[]string{"https://atrium.example/activities/01JD2FOLLOWAAAAAAAAAAAAAAA"}, TypeFollow},
		{"mastodon_undo_like.json", TypeUndo, "https://mastodon.example/users/alice",
			[]string{"https://mastodon.example/users/alice#likes/4242"}, TypeLike},
		{"mastodon_delete_tombstone.json", TypeDelete, "https://mastodon.example/users/alice",
			[]string{"https://mastodon.example/users/alice/statuses/113456789012345678"}, TypeTombstone},
		{"mastodon_flag.json", TypeFlag, "https://mastodon.example/actor",
			[]string{"https://atrium.example/users/spammer", "https://atrium.example/notes/01JD4SPAMAAAAAAAAAAAAAAAAA"}, ""},
		{"mastodon_move.json", TypeMove, "https://old.example/users/alice",
			[]string{"https://old.example/users/alice"}, ""},
		{"mastodon_update_person.json", TypeUpdate, "https://mastodon.example/users/alice",
			[]string{"https://mastodon.example/users/alice"}, TypePerson},
	} {
		t.Run(c.file, func(t *testing.T) {
			d := decodeFixture(t, c.file)
			eq(t, "type", d.Type(), c.typ)
			eq(t, "IsActivity", d.IsActivity(), true)
			eq(t, "actor", d.Actor(), c.actor)
			eq(t, "objects", d.ObjectIDs(), c.objects)
			e, ok := d.EmbeddedObject()
			eq(t, "embedded", ok, c.embedded != "")
			if ok {
				eq(t, "embedded type", e.Type(), c.embedded)
				eq(t, "embedded id", e.ID(), c.objects[0])
			}
		})
	}
}

func TestDecodeActivityDetails(t *testing.T) {
	d := decodeFixture(t, "mastodon_announce.json")
	eq(t, "announce cc", d.Ext.Cc, []string{"https://gts.example/users/bob", "https://mastodon.example/users/alice/followers"})
	eq(t, "announce published", d.Ext.Published, time.Date(2024, 11, 20, 16, 0, 0, 0, time.UTC))

	d = decodeFixture(t, "mastodon_undo_like.json")
	like := embedded(t, d)
	eq(t, "inner like actor", like.Actor(), "https://mastodon.example/users/alice")
	eq(t, "inner like object", like.ObjectID(), "https://atrium.example/notes/01JD3NOTEAAAAAAAAAAAAAAAAA")

	d = decodeFixture(t, "mastodon_accept_follow.json")
	follow := embedded(t, d)
	eq(t, "accepted follow actor", follow.Actor(), "https://atrium.example/users/carol")
	eq(t, "accepted follow object", follow.ObjectID(), "https://mastodon.example/users/alice")

	d = decodeFixture(t, "mastodon_delete_tombstone.json")
	ts, err := embedded(t, d).AsTombstone()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "tombstone", ts.ID, "https://mastodon.example/users/alice/statuses/113456789012345678")
	eq(t, "delete signed", d.Ext.HasSignature, true)

	d = decodeFixture(t, "mastodon_flag.json")
	eq(t, "flag comment", d.Ext.Content, "Spam links in replies")

	d = decodeFixture(t, "mastodon_move.json")
	eq(t, "move target", d.Target(), "https://mastodon.example/users/alice")

	d = decodeFixture(t, "mastodon_update_person.json")
	a, err := embedded(t, d).AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "updated actor key", a.PublicKey.Owner, d.Actor())
	eq(t, "updated actor fields", len(a.Fields), 2)
}

func TestDecodeLemmy(t *testing.T) {
	g, err := decodeFixture(t, "lemmy_group.json").AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "type", g.Type, TypeGroup)
	eq(t, "featured", g.Featured, "https://lemmy.example/c/gophers/featured")
	eq(t, "sharedInbox", g.SharedInbox, "https://lemmy.example/inbox")
	eq(t, "icon", g.Icon, "https://lemmy.example/pictrs/image/5d3f2a1b-gopher.png")
	eq(t, "published with microseconds", g.Published, time.Date(2023, 6, 1, 10, 0, 0, 0, time.UTC))
	eq(t, "discoverable", g.Discoverable, true)

	d := decodeFixture(t, "lemmy_announce_create_note.json")
	eq(t, "announce audience", d.Ext.Audience, []string{"https://lemmy.example/c/gophers"})
	eq(t, "announce cc", d.Ext.Cc, []string{"https://lemmy.example/c/gophers/followers"})
	create := embedded(t, d)
	eq(t, "create type", create.Type(), TypeCreate)
	eq(t, "create actor", create.Actor(), "https://lemmy.example/u/dave")
	n, err := embedded(t, create).AsNote()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "note audience", n.Audience, "https://lemmy.example/c/gophers")
	eq(t, "note inReplyTo", n.InReplyTo, "https://lemmy.example/post/777")
	eq(t, "note content", n.Content, "<p>Agreed, generics made this much nicer.</p>\n")
	eq(t, "note published", n.Published, time.Date(2024, 11, 20, 15, 0, 0, 123456000, time.UTC))
	eq(t, "note mention", n.Tags, []Tag{{Type: TypeMention, Name: "@erin@lemmy.example", Href: "https://lemmy.example/u/erin"}})
	if create.Item == nil {
		t.Error("go-ap view of the nested Create is nil")
	}
}

func TestDecodeNormalisation(t *testing.T) {
	d := decodeFixture(t, "synthetic_public_forms.json")
	n, err := d.AsNote()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "to", n.To, []string{Public, "https://legacy.example/users/zed/followers"})
	eq(t, "cc (deduplicated)", n.Cc, []string{Public, "https://legacy.example/users/amy"})
	eq(t, "NUL stripped", n.Content, "Three ways to say Public, one NUL")
	eq(t, "Raw has no NUL", strings.Contains(string(d.Raw), `\u0000`), false)
	eq(t, "attributedTo object", n.AttributedTo, "https://legacy.example/users/zed")
	eq(t, "single Hashtag object", n.Tags, []Tag{{Type: TypeHashtag, Name: "#solo", Href: "https://legacy.example/tags/solo"}})
	eq(t, "sensitive as string", n.Sensitive, true)
	eq(t, "url from Link array", n.URL, "https://legacy.example/@zed/1")
	eq(t, "quoteUrl", n.Quote, "https://mastodon.example/users/alice/statuses/113456789012345678")

	a, err := decodeFixture(t, "synthetic_actor_key_array.json").AsActor()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "key owned by the actor", a.PublicKey.ID, "https://multi.example/users/kim#main-key")
}

func TestStripNUL(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"x\u0000y"}`:          `{"a":"xy"}`,
		`{"a":"x\\u0000y"}`:         `{"a":"x\\u0000y"}`, // an escaped backslash, then text
		`{"a":"x\\\u0000y"}`:        `{"a":"x\\y"}`,
		`{"a\u0000b":"\u0000"}`:     `{"ab":""}`,
		`{"a":"\"\u0000\""}`:        `{"a":"\"\""}`,
		`{"a":"no nul"}`:            `{"a":"no nul"}`,
		`{"a":"\u00000"}`:           `{"a":"0"}`,
		`{"a":["\u0000","\u0000"]}`: `{"a":["",""]}`,
	} {
		eq(t, in, string(stripNUL([]byte(in))), want)
	}
}
