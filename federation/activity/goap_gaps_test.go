package activity

import (
	"strings"
	"testing"

	vocab "github.com/go-ap/activitypub"
)

// TestGoAPKnownGaps pins the go-ap behaviours this package works around
// (LIBRARIES.md §4, §10.2). If one of these starts failing after the go-ap
// pin moves, go-ap changed: re-check the workaround named in the message
// (it may now be unnecessary, or go-ap may have grown a new problem).
func TestGoAPKnownGaps(t *testing.T) {
	changed := func(what, workaround string) {
		t.Helper()
		t.Errorf("go-ap behaviour changed: %s; revisit %s", what, workaround)
	}
	note := func(t *testing.T, file string) *vocab.Object {
		t.Helper()
		act, ok := decodeFixture(t, file).Item.(*vocab.Activity)
		if !ok {
			t.Fatalf("%s: go-ap item is not an activity", file)
		}
		o, err := vocab.ToObject(act.Object)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}

	t.Run("Hashtag and Emoji tags dropped", func(t *testing.T) {
		if n := len(note(t, "mastodon_create_note.json").Tag); n != 1 {
			changed("Create{Note} kept "+string(rune('0'+n))+" tags, not just the Mention", "the side-car tag decoding")
		}
	})
	t.Run("single-object tag dropped", func(t *testing.T) {
		if n := len(note(t, "gts_create_note.json").Tag); n != 0 {
			changed("a GtS single-object tag survives", "many[T] in wire.go")
		}
	})
	t.Run("backslash escapes decoded twice", func(t *testing.T) {
		c := note(t, "mastodon_create_note.json").Content.String()
		if !strings.Contains(c, "C:\temp\new") { // a real tab and newline
			changed("content backslashes survive decoding", "reading text from the side-car")
		}
	})
	t.Run("contentMap ignored", func(t *testing.T) {
		it, _ := vocab.UnmarshalJSON([]byte(`{"type":"Note","id":"https://a.example/1","contentMap":{"en":"hi","de":"hallo"}}`))
		if o, _ := vocab.ToObject(it); o == nil || len(o.Content) != 0 {
			changed("contentMap is read", "the side-car contentMap")
		}
	})
	t.Run("short Public forms dropped in arrays", func(t *testing.T) {
		o, _ := vocab.ToObject(decodeFixture(t, "synthetic_public_forms.json").Item)
		if o == nil || len(o.To) != 1 {
			changed("as:Public survives inside to", "normalizeAddressing")
		}
	})
	t.Run("publicKey array dropped", func(t *testing.T) {
		a, _ := vocab.ToActor(decodeFixture(t, "synthetic_actor_key_array.json").Item)
		if a == nil || a.PublicKey.ID != "" {
			changed("a publicKey array is read", "many[wireKey]")
		}
	})
	t.Run("PropertyValue attachments dropped", func(t *testing.T) {
		a, _ := vocab.ToActor(decodeFixture(t, "mastodon_person.json").Item)
		if a == nil {
			t.Fatal("go-ap did not decode the Person")
		}
		col, _ := a.Attachment.(vocab.ItemCollection)
		if a.Attachment == nil || len(col) != 0 {
			changed("PropertyValue attachments are kept", "Extensions.Fields")
		}
	})
	t.Run("unknown top-level type is nil without error", func(t *testing.T) {
		it, err := vocab.UnmarshalJSON([]byte(`{"type":"EmojiReact","id":"https://a.example/1","actor":"https://a.example/u"}`))
		if it != nil || err != nil {
			changed("unknown types decode or error", "Document.Item may be nil")
		}
	})
	t.Run("IRIs written unescaped", func(t *testing.T) {
		if _, err := vocab.MarshalJSON(&vocab.Object{ID: `https://a.example/"x`, Type: vocab.NoteType}); err == nil {
			changed("IRIs are escaped", "checker.iri")
		}
	})
	t.Run("backslash escapes re-interpreted on marshal", func(t *testing.T) {
		b, _ := vocab.MarshalJSON(&vocab.Object{Type: vocab.NoteType, Content: vocab.DefaultNaturalLanguageValue(`C:\temp`)})
		if !strings.Contains(string(b), `C:\temp`) || strings.Contains(string(b), `C:\\temp`) {
			changed("content is marshalled faithfully", "splicing text in encode.go")
		}
	})
	t.Run("publicKey with only an id dropped", func(t *testing.T) {
		// PublicKey.MarshalJSON clears its notEmpty flag after writing id.
		b, _ := vocab.MarshalJSON(&vocab.Actor{ID: "https://a.example/u", Type: vocab.PersonType,
			PublicKey: vocab.PublicKey{ID: "https://a.example/u#main-key"}})
		if strings.Contains(string(b), "publicKey") {
			changed("an id-only publicKey is emitted", "defaulting Owner in encode.go")
		}
	})
	t.Run("boolean written as a string", func(t *testing.T) {
		b, _ := vocab.MarshalJSON(&vocab.Question{ID: "https://a.example/q", Type: vocab.QuestionType})
		if !strings.Contains(string(b), `"closed":"false"`) {
			changed("Question.closed is a JSON boolean", "nothing yet (we do not emit Question)")
		}
	})
}
