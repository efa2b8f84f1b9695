package activity

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
}

func list(key string, n int, elem string) string {
	return fmt.Sprintf(`{"type":"Note","%s":[%s]}`, key, strings.TrimSuffix(strings.Repeat(elem+",", n), ","))
}

func TestDecodeLimits(t *testing.T) {
	big := `{"type":"Note","content":"` + strings.Repeat("x", MaxDocumentSize) + `"}`
	for _, c := range []struct {
		name string
		in   string
		want error // nil: accepted
	}{
		{"too large", big, ErrTooLarge},
		{"depth at the limit", nested(MaxDepth), nil},
		{"too deep", nested(MaxDepth + 1), ErrTooDeep},
		{"too deep in arrays", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, ErrTooDeep},
		{"deep bomb", strings.Repeat("[", 100000), ErrNotObject},
		{"object bomb", `{"a":` + strings.Repeat(`{"a":`, 100000), ErrTooDeep},
		{"to at the limit", list("to", MaxListEntries, `"https://a.example/u"`), nil},
		{"to too long", list("to", MaxListEntries+1, `"https://a.example/u"`), ErrTooManyEntries},
		{"cc too long", list("cc", MaxListEntries+1, `"https://a.example/u"`), ErrTooManyEntries},
		{"tag too long", list("tag", MaxListEntries+1, `{}`), ErrTooManyEntries},
		{"attachment too long", list("attachment", MaxListEntries+1, `1`), ErrTooManyEntries},
		{"nested tag too long", `{"type":"Create","object":` + list("tag", MaxListEntries+1, `{}`) + `}`, ErrTooManyEntries},
		{"other array at its limit", list("items", MaxArrayLen, `1`), nil},
		{"too many values", `{"a":[` + strings.Repeat(`{"b":[`+strings.Repeat("1,", 99)+`1]},`, MaxValues/100) + `{}]}`, ErrTooManyEntries},
		{"other array too long", list("items", MaxArrayLen+1, `1`), ErrTooManyEntries},
		{"objects in an array at the limit", list("items", MaxListEntries, `{}`), nil},
		{"too many objects in an array", list("items", MaxListEntries+1, `{}`), ErrTooManyEntries},
		{"too many objects", `{"a":[` + strings.Repeat(`{"b":[{},{},{},{},{},{},{},{},{},{}]},`, 100) + `{}]}`, ErrTooManyEntries},
		{"array", `[{"type":"Note"}]`, ErrNotObject},
		{"string", `"https://a.example/x"`, ErrNotObject},
		{"null", `null`, ErrNotObject},
		{"number", `42`, ErrNotObject},
		{"empty", ``, ErrNotObject},
		{"whitespace", " \n\t", ErrNotObject},
		{"truncated", `{"type":"Note"`, ErrSyntax},
		{"trailing value", `{"type":"Note"} {}`, ErrSyntax},
		{"trailing garbage", `{"type":"Note"}x`, ErrSyntax},
		{"raw NUL", "{\"type\":\"No\x00te\"}", ErrSyntax},
		{"bad escape", `{"type":"\x"}`, ErrSyntax},
		{"duplicate key", `{"id":"https://a.example/1","id":"https://b.example/2"}`, ErrDuplicateKey},
		{"duplicate key in other case", `{"id":"https://a.example/1","ID":"https://b.example/2"}`, ErrDuplicateKey},
		{"duplicate in a large object", `{` + manyKeys(40) + `,"k7":1}`, ErrDuplicateKey},
		{"same key in sibling objects", `{"a":{"id":1},"b":{"id":2},"id":3}`, nil},
		{"keys at the limit", `{` + manyKeys(MaxObjectKeys) + `}`, nil},
		{"too many keys", `{` + manyKeys(MaxObjectKeys+1) + `}`, ErrTooManyEntries},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode([]byte(c.in))
			if c.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}

// TestDecodeLenient: values of unexpected shapes are skipped, never fatal.
func TestDecodeLenient(t *testing.T) {
	d, err := Decode([]byte(`{
		"id": "https://odd.example/n/1", "type": ["Note", "odd:Thing"],
		"sensitive": 1, "to": 5, "cc": [["nested"], 7, {"id": "https://odd.example/u"}],
		"tag": "https://odd.example/tags/x", "content": {"x": 1},
		"attachment": [1, "a", {"type": "Document", "width": "100", "height": 7.0, "url": {"href": "https://odd.example/m.png"}, "focalPoint": "centre"}],
		"published": "yesterday", "attributedTo": [{"id": "https://odd.example/u"}, "https://odd.example/g"],
		"publicKey": "https://odd.example/key", "endpoints": "https://odd.example/e", "icon": [],
		"inReplyTo": null, "summary": null, "contentMap": {"en": 5, "de": "hallo"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.AsNote()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "type", n.Type, "Note")
	eq(t, "to", n.To, []string(nil))
	eq(t, "cc", n.Cc, []string{"https://odd.example/u"})
	eq(t, "tags", len(n.Tags), 0)
	eq(t, "content from contentMap", n.Content, "hallo")
	eq(t, "attachments", n.Attachments, []Attachment{{Type: "Document", URL: "https://odd.example/m.png", Width: 100, Height: 7}})
	eq(t, "published", n.Published.IsZero(), true)
	eq(t, "attributedTo", n.AttributedTo, "https://odd.example/u")
}

func TestDecodeUnknownType(t *testing.T) {
	d, err := Decode([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://misskey.example/likes/1","type":"EmojiReact","actor":"https://misskey.example/users/1","object":"https://atrium.example/notes/1","content":"🐹"}`))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "go-ap item", d.Item, nil)
	eq(t, "type", d.Type(), "EmojiReact")
	eq(t, "actor", d.Actor(), "https://misskey.example/users/1")
	eq(t, "object", d.ObjectID(), "https://atrium.example/notes/1")
	eq(t, "is activity", d.IsActivity(), true)
}

func TestIsMediaType(t *testing.T) {
	for _, c := range []struct {
		ct            string
		strict, loose bool
	}{
		{"application/activity+json", true, true},
		{"application/activity+json; charset=utf-8", true, true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, true, true},
		{"application/ld+json", false, true},
		{`application/ld+json; profile="https://example.com/other"`, false, false},
		{"application/json", false, false},
		{"text/html", false, false},
		{"", false, false},
	} {
		if got := IsMediaType(c.ct, false); got != c.strict {
			t.Errorf("IsMediaType(%q, strict) = %v", c.ct, got)
		}
		if got := IsMediaType(c.ct, true); got != c.loose {
			t.Errorf("IsMediaType(%q, lenient) = %v", c.ct, got)
		}
	}
}
