package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current encoder")

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// TestEncodeGolden compares each encoded case with testdata/golden/<name>.json
// (indented for review). Run with -update after an intended change.
func TestEncodeGolden(t *testing.T) {
	for _, c := range encodeCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.v)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Encode(c.v)
			if !bytes.Equal(b, again) {
				t.Fatal("output is not deterministic")
			}
			got := indent(t, b)
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update if intended):\n%s", path, got)
			}
		})
	}
}

// TestEncodeContext checks that every encoded document carries what Mastodon
// needs in @context (FEDERATION.md §1.3).
func TestEncodeContext(t *testing.T) {
	terms := map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"Hashtag":                   "as:Hashtag",
		"toot":                      "http://joinmastodon.org/ns#",
		"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		"Emoji":                     "toot:Emoji",
		"blurhash":                  "toot:blurhash",
		"focalPoint":                map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
		"schema":                    "http://schema.org#",
		"PropertyValue":             "schema:PropertyValue",
		"value":                     "schema:value",
	}
	for _, c := range encodeCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := Encode(c.v)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Context []json.RawMessage `json:"@context"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || len(doc.Context) < 2 {
				t.Fatalf("@context is not an array of at least two: %v %s", err, b)
			}
			var first string
			_ = json.Unmarshal(doc.Context[0], &first)
			eq(t, "first entry", first, "https://www.w3.org/ns/activitystreams")
			var inline map[string]any
			if err := json.Unmarshal(doc.Context[len(doc.Context)-1], &inline); err != nil {
				t.Fatalf("last entry is not the term object: %v", err)
			}
			for k, v := range terms {
				eq(t, "term "+k, inline[k], v)
			}
			_, isActor := c.v.(*Actor)
			if a, ok := c.v.(*Activity); ok {
				_, isActor = a.Object.(*Actor)
			}
			hasSecurity := bytes.Contains(doc.Context[1], []byte("https://w3id.org/security/v1"))
			eq(t, "security/v1 present iff an actor is embedded", hasSecurity, isActor)
			if bytes.Contains(b, []byte(`\u003c`)) || bytes.Contains(b, []byte(`\u0026`)) {
				t.Error("HTML is escaped")
			}
			if bytes.Contains(b, []byte(`"as:Public"`)) {
				t.Error("short Public form emitted")
			}
		})
	}
}

// TestRoundTrip encodes our objects, decodes them, and compares.
func TestRoundTrip(t *testing.T) {
	for _, n := range []*Note{ourNote(), ourGroupNote(), ourDirectNote()} {
		b, err := Encode(NewCreate(n.ID+"/activity", n))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "create actor", d.Actor(), n.AttributedTo)
		got, err := embedded(t, d).AsNote()
		if err != nil {
			t.Fatal(err)
		}
		want := *n
		want.Type = TypeNote
		want.To = normalizeAddressing(n.To)
		eq(t, "note "+n.ID, got, &want)
	}
	for _, a := range []*Actor{ourPerson(), ourGroup(), ourInstanceActor()} {
		b, err := Encode(a)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.AsActor()
		if err != nil {
			t.Fatal(err)
		}
		want := *a
		want.PublicKey.Owner = a.ID
		eq(t, "actor "+a.ID, got, &want)
	}
	for _, c := range encodeCases() {
		b, err := Encode(c.v)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a, ok := c.v.(*Activity)
		if !ok {
			continue
		}
		eq(t, c.name+" id", d.ID(), a.ID)
		eq(t, c.name+" type", d.Type(), a.Type)
		eq(t, c.name+" actor", d.Actor(), a.Actor)
		eq(t, c.name+" to", d.Ext.To, normalizeAddressing(a.To))
		eq(t, c.name+" cc", d.Ext.Cc, normalizeAddressing(a.Cc))
		switch o := a.Object.(type) {
		case IRI:
			eq(t, c.name+" object", d.ObjectIDs(), []string{string(o)})
		case IRIs:
			eq(t, c.name+" objects", d.ObjectIDs(), []string(o))
		case *Activity:
			e := embedded(t, d)
			eq(t, c.name+" inner type", e.Type(), o.Type)
			eq(t, c.name+" inner actor", e.Actor(), o.Actor)
		}
		if d.Item == nil {
			t.Errorf("%s: go-ap could not read our own output", c.name)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	for name, v := range map[string]Object{
		"nil note":          (*Note)(nil),
		"bare IRI":          IRI(alice),
		"note without id":   &Note{Content: "x"},
		"quote in IRI":      &Note{ID: `https://a.example/n/"1`},
		"backslash in IRI":  &Note{ID: `https://a.example/n/\1`},
		"relative IRI":      &Note{ID: "/notes/1"},
		"non-http IRI":      &Note{ID: "javascript:alert(1)"},
		"space in cc":       &Note{ID: "https://a.example/n/1", Cc: []string{"https://a.example/ x"}},
		"bad type":          &Note{ID: "https://a.example/n/1", Type: `Note","x":"`},
		"activity no actor": &Activity{ID: "https://a.example/a/1", Type: TypeLike, Object: IRI(alice)},
		"activity no obj":   &Activity{ID: "https://a.example/a/1", Type: TypeLike, Actor: carol},
		"too many to":       &Note{ID: "https://a.example/n/1", To: make([]string, MaxListEntries+1)},
		"bad nested":        NewCreate("https://a.example/a/1", &Note{ID: "https://a.example/n/1", AttributedTo: "x"}),
		"nan focal point":   &Note{ID: "https://a.example/n/1", Attachments: []Attachment{{FocalPoint: []float64{nan(), 0}}}},
	} {
		if _, err := Encode(v); err == nil {
			t.Errorf("%s: Encode succeeded", name)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", name, err)
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestEncodeKeepsText(t *testing.T) {
	text := "<p>a\\nb \\t \\\\ \"q\" </p>\u2028 é 🐹 & <script>"
	b, err := Encode(&Note{ID: "https://a.example/n/1", Content: text, Summary: text, Name: text})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := d.AsNote()
	eq(t, "content", n.Content, text)
	eq(t, "summary", n.Summary, text)
	eq(t, "name", n.Name, text)
	if !strings.Contains(string(b), "<script>") {
		t.Error("HTML escaped")
	}
}

// TestPublishedKeepsMilliseconds: go-ap writes whole seconds, but chat messages are ordered by
// their time to the millisecond on every node, so the fraction must survive a round trip.
func TestPublishedKeepsMilliseconds(t *testing.T) {
	n := ourDirectNote()
	n.Published = n.Published.Add(678 * time.Millisecond)
	b, err := Encode(NewCreate(n.ID+"/activity", n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := embedded(t, mustDecode(t, b)).AsNote()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Published.Equal(n.Published) {
		t.Errorf("published %v came back as %v", n.Published, got.Published)
	}
}

func mustDecode(t *testing.T, b []byte) *Document {
	t.Helper()
	d, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
