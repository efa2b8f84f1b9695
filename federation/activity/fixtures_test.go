package activity

import "time"

// Our own objects, as the rest of Atrium would build them. Times are whole
// seconds: go-ap writes RFC 3339 without fractions.

var (
	t0 = time.Date(2024, 11, 20, 14, 3, 12, 0, time.UTC)
	t1 = time.Date(2024, 11, 20, 14, 9, 40, 0, time.UTC)
)

const (
	carol     = "https://atrium.example/users/carol"
	carolFols = "https://atrium.example/users/carol/followers"
	alice     = "https://mastodon.example/users/alice"
	group     = "https://atrium.example/groups/platform"
)

func ourNote() *Note {
	return &Note{
		ID:           "https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA",
		AttributedTo: carol,
		Content: `<p><span class="h-card"><a href="https://mastodon.example/@alice" class="u-url mention">@<span>alice</span></a></span> ` +
			`the config lives in C:\temp\new &amp; "quotes" survive <a href="https://atrium.example/tags/golang" class="mention hashtag" rel="tag">#<span>golang</span></a> :atrium:</p>`,
		ContentMap:   map[string]string{"en": `<p>C:\temp\new</p>`},
		Summary:      "Windows paths",
		Sensitive:    true,
		InReplyTo:    "https://mastodon.example/users/alice/statuses/113456789012345678",
		URL:          "https://atrium.example/@carol/01JD5NOTEAAAAAAAAAAAAAAAAA",
		Published:    t0,
		To:           []string{"as:Public"},
		Cc:           []string{carolFols, alice},
		Conversation: "https://atrium.example/contexts/01JD5CTXAAAAAAAAAAAAAAAAAA",
		Context:      "https://atrium.example/contexts/01JD5CTXAAAAAAAAAAAAAAAAAA",
		Tags: []Tag{
			{Type: TypeMention, Href: alice, Name: "@alice@mastodon.example"},
			{Type: TypeHashtag, Href: "https://atrium.example/tags/golang", Name: "#golang"},
			{Type: TypeEmoji, ID: "https://atrium.example/emojis/atrium", Name: ":atrium:",
				Icon: "https://atrium.example/media/emojis/atrium.png", IconMediaType: "image/png", Updated: t0},
		},
		Attachments: []Attachment{{
			Type: TypeDocument, MediaType: "image/jpeg",
			URL:  "https://atrium.example/media/01JD5MEDIAAAAAAAAAAAAAAAAA.jpg",
			Name: "Screenshot of an <xml> config", Blurhash: "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
			FocalPoint: []float64{-0.25, 0.5}, Width: 1920, Height: 1080,
		}},
	}
}

func ourGroupNote() *Note {
	return &Note{
		ID:           "https://atrium.example/notes/01JD6GROUPAAAAAAAAAAAAAAAA",
		AttributedTo: carol,
		Content:      "<p>Quarterly planning thread</p>",
		Published:    t0,
		To:           []string{group},
		Cc:           []string{group + "/followers"},
		Audience:     group,
		Context:      group + "/threads/01JD6THREADAAAAAAAAAAAAAAA",
		Tags:         []Tag{{Type: TypeMention, Href: group, Name: "@platform@atrium.example"}},
	}
}

func ourDirectNote() *Note {
	return &Note{
		ID:            "https://atrium.example/notes/01JD7DMAAAAAAAAAAAAAAAAAAA",
		AttributedTo:  carol,
		Content:       `<p><span class="h-card"><a href="https://gts.example/@bob" class="u-url mention">@<span>bob</span></a></span> lunch?</p>`,
		Published:     t0,
		To:            []string{"https://gts.example/users/bob"},
		Tags:          []Tag{{Type: TypeMention, Href: "https://gts.example/users/bob", Name: "@bob@gts.example"}},
		DirectMessage: true,
		Conversation:  "https://atrium.example/contexts/01JD7CTXAAAAAAAAAAAAAAAAAA",
	}
}

const testPEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApNMlpmWe+DkiK7sYVo4K\nyzF7R7xSR2dZhIC7g9ysxV6JLq8LlaBETr9O3Gq8WBE3c6k555r2XJhsGouxAray\nUjaJuLbdXabGIuNTFSp8E2TkKexyiDGvzI66Wv4KT5wsCNEFomdol7QEE/cAnoF2\ndUn6QyxHToEsVVMWTxglhR2e/jnXBsW9I3q1i2nQXwV1jIqkDj3Tol5+xF//R8OY\nJbBWtdLqc+MrcN3nPPkbFEo6M3dpTfoJC24u2yozyvVp8/bPZk489Pj4iaMSQ82v\n2VXMy1F2xbV4p5i30uBgeDuEEXHiSw/pdxL2ePQZ9yHgc14LNOWhfRvEjXTIGjHO\newIDAQAB\n-----END PUBLIC KEY-----\n"

func ourPerson() *Actor {
	return &Actor{
		ID:                carol,
		Type:              TypePerson,
		PreferredUsername: "carol",
		Name:              "Carol :atrium:",
		Summary:           `<p>SRE. Paths like C:\new are fine here.</p>`,
		URL:               "https://atrium.example/@carol",
		Icon:              "https://atrium.example/media/avatars/carol.png",
		IconMediaType:     "image/png",
		Image:             "https://atrium.example/media/headers/carol.jpg",
		ImageMediaType:    "image/jpeg",
		Inbox:             carol + "/inbox",
		Outbox:            carol + "/outbox",
		Followers:         carolFols,
		Following:         carol + "/following",
		Featured:          carol + "/collections/featured",
		FeaturedTags:      carol + "/collections/tags",
		SharedInbox:       "https://atrium.example/inbox",
		Published:         time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Discoverable:      true,
		Indexable:         true,
		PublicKey:         PublicKey{ID: carol + "#main-key", Owner: carol, PublicKeyPem: testPEM},
		Fields: []PropertyValue{
			{Name: "Team", Value: "Platform & Infra"},
			{Name: "Website", Value: `<a href="https://carol.example" rel="nofollow noopener noreferrer me">carol.example</a>`},
		},
		Emojis: []Tag{{Type: TypeEmoji, ID: "https://atrium.example/emojis/atrium", Name: ":atrium:",
			Icon: "https://atrium.example/media/emojis/atrium.png", IconMediaType: "image/png", Updated: t0}},
		AlsoKnownAs: []string{"https://old.example/users/carol"},
	}
}

func ourGroup() *Actor {
	return &Actor{
		ID:                        group,
		Type:                      TypeGroup,
		PreferredUsername:         "platform",
		Name:                      "Platform team",
		Summary:                   "<p>Closed group for the platform team.</p>",
		URL:                       "https://atrium.example/g/platform",
		Inbox:                     group + "/inbox",
		Outbox:                    group + "/outbox",
		Followers:                 group + "/followers",
		Following:                 group + "/following",
		SharedInbox:               "https://atrium.example/inbox",
		ManuallyApprovesFollowers: true,
		PublicKey:                 PublicKey{ID: group + "#main-key", PublicKeyPem: testPEM},
		AttributedTo:              []string{carol},
	}
}

func ourInstanceActor() *Actor {
	const id = "https://atrium.example/actor"
	return &Actor{
		ID:                        id,
		Type:                      TypeApplication,
		PreferredUsername:         "atrium.example",
		URL:                       "https://atrium.example/about",
		Inbox:                     id + "/inbox",
		Outbox:                    id + "/outbox",
		SharedInbox:               "https://atrium.example/inbox",
		ManuallyApprovesFollowers: true,
		PublicKey:                 PublicKey{ID: id + "#main-key", Owner: id, PublicKeyPem: testPEM},
	}
}

// encodeCases are the golden cases: name -> value.
func encodeCases() []struct {
	name string
	v    Object
} {
	follow := NewFollow("https://atrium.example/activities/01JD8FOLLOWAAAAAAAAAAAAAAA", carol, alice)
	remoteFollow := &Activity{ID: "https://mastodon.example/8f2d7c1e-4b5a-4c3d-9e8f-0a1b2c3d4e5f",
		Type: TypeFollow, Actor: alice, Object: IRI(group)}
	like := NewLike("https://atrium.example/activities/01JD9LIKEAAAAAAAAAAAAAAAAA", carol,
		"https://mastodon.example/users/alice/statuses/113456789012345678")
	create := NewCreate("https://atrium.example/notes/01JD6GROUPAAAAAAAAAAAAAAAA/activity", ourGroupNote())
	edited := ourNote()
	edited.Updated = t1
	return []struct {
		name string
		v    Object
	}{
		{"note", ourNote()},
		{"person", ourPerson()},
		{"group", ourGroup()},
		{"instance_actor", ourInstanceActor()},
		{"create_note", NewCreate("https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA/activity", ourNote())},
		{"create_direct_note", NewCreate("https://atrium.example/notes/01JD7DMAAAAAAAAAAAAAAAAAAA/activity", ourDirectNote())},
		{"update_note", NewUpdate("https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA#updates/1732111780", carol, edited)},
		{"update_person", NewUpdate(carol+"#updates/1732111780", carol, ourPerson())},
		{"delete_note", NewDelete("https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA#delete", carol,
			&Tombstone{ID: "https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA"})},
		{"delete_actor", NewDeleteActor(carol+"#delete", carol)},
		{"follow", follow},
		{"accept_follow", NewAccept(group+"#accepts/follows/01JDA", group, remoteFollow)},
		{"reject_follow", NewReject(group+"#rejects/follows/01JDB", group, remoteFollow)},
		{"undo_follow", NewUndo(follow.ID+"/undo", carol, follow)},
		{"like", like},
		{"undo_like", NewUndo(like.ID+"/undo", carol, like)},
		{"announce", NewAnnounce("https://atrium.example/activities/01JDCBOOSTAAAAAAAAAAAAAAAA", carol,
			"https://mastodon.example/users/alice/statuses/113456789012345678",
			[]string{Public}, []string{alice, carolFols}, t0)},
		{"group_create_note", create},
		{"group_announce_create", &Activity{ID: group + "/announces/01JDD", Type: TypeAnnounce, Actor: group,
			Object: create, To: []string{group + "/followers"}, Audience: group, Published: t0}},
		{"block", NewBlock("https://atrium.example/activities/01JDEBLOCKAAAAAAAAAAAAAAAA", carol, "https://spam.example/users/x")},
		{"flag", NewFlag("https://atrium.example/activities/01JDFFLAGAAAAAAAAAAAAAAAAA", "https://atrium.example/actor",
			"Spam links in replies", "https://spam.example/users/x", "https://spam.example/statuses/1")},
	}
}
