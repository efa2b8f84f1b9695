package mastodon

import (
	"bytes"
	"encoding/json"
	"html"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStatusJSONMatchesEncodingJSON proves the hand-written status encoder equal to
// encoding/json, byte for byte: statuses are filled by reflection, so every field of every
// type reachable from Status is covered (a field added to one of them and not to the
// encoder fails here), each field set or left zero at random (omitempty, null), with strings
// that need escaping (quotes, control characters, HTML, U+2028, invalid UTF-8).
func TestStatusJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var list []Status
	full := Status{}
	fill(reflect.ValueOf(&full).Elem(), rng, 1.0, 0)
	list = append(list, full, Status{})
	for range 300 {
		var s Status
		fill(reflect.ValueOf(&s).Elem(), rng, 0.5, 0)
		list = append(list, s)
	}
	for i := range list {
		want, err := json.Marshal(&list[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStatus(nil, &list[i]); !bytes.Equal(got, want) {
			t.Fatalf("status %d:\nencoding/json: %s\nappendStatus:  %s\nfirst difference at byte %d", i, want, got, diffAt(got, want))
		}
	}
	want, _ := json.Marshal(list)
	if got := appendStatuses(nil, list); !bytes.Equal(got, want) {
		t.Fatalf("list: first difference at byte %d", diffAt(got, want))
	}
	if got := appendStatuses(nil, nil); string(got) != "null" {
		t.Fatalf("nil list: %s", got)
	}
	if got := appendStatuses(nil, []Status{}); string(got) != "[]" {
		t.Fatalf("empty list: %s", got)
	}
}

var trickyStrings = []string{"", "plain", `<p>Hi &amp; "bye"</p>`, "line\nbreak\ttab\r\b\f\x00\x1f\x7f", `back\slash`,
	"caf\u00e9 \U0001f389", "sep\u2028arators\u2029", "bad \xff\xfe utf-8 \xe2\x82", "https://acme.example/@a?b=1&c=<2>"}

// fill sets v's fields at random: each is set with probability p (always at depth 0 when p is
// 1), recursively; a nested Status (a reblog) only one level deep.
func fill(v reflect.Value, rng *rand.Rand, p float64, depth int) {
	if rng.Float64() >= p && depth > 0 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(trickyStrings[rng.IntN(len(trickyStrings))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int64:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Float64:
		v.SetFloat(rng.NormFloat64() * 1000)
	case reflect.Pointer:
		if v.Type().Elem() == reflect.TypeFor[Status]() && depth > 1 {
			return
		}
		n := reflect.New(v.Type().Elem())
		fill(n.Elem(), rng, p, depth+1)
		v.Set(n)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), rng, p, depth+1)
			}
		}
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), rng.IntN(3), 3)
		for i := range n.Len() {
			fill(n.Index(i), rng, 1, depth+1)
		}
		v.Set(n)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(4) {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, rng, 1, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, rng, 1, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		// What the API puts in untyped fields: nothing, or free-form JSON values.
		switch rng.IntN(3) {
		case 0:
			v.Set(reflect.ValueOf(map[string]any{"width": rng.IntN(4000), "aspect": rng.Float64(), "size": "640x480"}))
		case 1:
			v.Set(reflect.ValueOf(trickyStrings[rng.IntN(len(trickyStrings))]))
		}
	default:
		panic("fill: no values for " + v.Type().String() + ": teach the test (and the encoder) this type")
	}
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// BenchmarkStatusJSON compares the hand-written encoder with encoding/json on a home page's
// worth of statuses shaped like the seeded company's (PERFORMANCE.md P3).
func BenchmarkStatusJSON(b *testing.B) {
	page := make([]Status, 20)
	for i := range page {
		page[i] = benchStatus(i)
	}
	b.Run("appendStatuses", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendStatuses(buf[:0], page)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = json.NewEncoder(&buf).Encode(page)
		}
		b.SetBytes(int64(buf.Len()))
	})
}

func benchStatus(i int) Status {
	base := "http://127.0.0.1:18080"
	id, user := "01JB3M6S0C8QZ7T6Y3W9XK4N2D", "user01234"
	manager := "01JA0000000000000000000000"
	title := "Software Engineer"
	return Status{ID: id, URI: base + "/users/" + user + "/statuses/" + id, URL: base + "/posts/" + id, CreatedAt: "2026-11-20T10:11:12.000Z",
		Account: Account{ID: "01JA1111111111111111111111", Username: user, Acct: user, DisplayName: "Maya Okafor", Discoverable: true,
			CreatedAt: "2025-10-01T00:00:00.000Z", Note: "<p>" + title + " in Engineering, based in Lyon.</p>", URL: base + "/people/" + user,
			URI: base + "/users/" + user, Avatar: base + "/avatars/missing.png", AvatarStatic: base + "/avatars/missing.png",
			Header: base + "/headers/missing.png", HeaderStatic: base + "/headers/missing.png", Emojis: []any{},
			Fields: []Field{{Name: "Title", Value: title}, {Name: "Department", Value: "Engineering"}, {Name: "Location", Value: "Lyon"}, {Name: "Pronouns", Value: "she/her"}},
			Atrium: &WorkProfile{JobTitle: title, Department: "Engineering", Location: "Lyon", Pronouns: "she/her", TimeZone: "Europe/Paris", Skills: []string{}, ManagerID: &manager}},
		Content:    `<p>Heads up: the staging cluster is ready for review. Details in the doc. <a href="` + base + `/tags/infra" class="mention hashtag" rel="tag">#<span>infra</span></a></p>`,
		Visibility: "public", LocalOnly: i%3 == 0, MediaAttachments: []MediaAttachment{}, Mentions: []StatusMention{},
		Tags: []Tag{{Name: "infra", URL: base + "/tags/infra"}}, Emojis: []any{}, ReblogsCount: i, FavouritesCount: 2 * i, Filtered: []any{},
		Atrium: StatusExtras{Audience: "company", Reactions: map[string]int{"🎉": i}, ThreadID: id}}
}

// TestMastodonTimeAndNote: the hand-written time format and the bio fast path give what
// time.Format and the general bio rendering give.
func TestMastodonTimeAndNote(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -8*3600)}
	for i := range 20000 {
		sec := rng.Int64N(400*365*24*3600) - 100*365*24*3600 // 1870 to 2270
		if i%100 == 0 {
			sec = rng.Int64N(1<<62) - 1<<61 // years far outside 0-9999
		}
		tm := time.Unix(sec, rng.Int64N(1e9)).In(zones[i%len(zones)])
		if got, want := mastodonTime(tm), tm.UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Fatalf("%v: %s, want %s", tm, got, want)
		}
	}
	for _, bio := range []string{"", "  ", "Engineer in Lyon.", "Line one\nline two", "Tom & Jerry", "<b>bold</b>", `"quoted" it's`,
		"para\n\npara", "crlf\r\nend", "café 🎉"} {
		want := ""
		if strings.TrimSpace(bio) != "" {
			var b strings.Builder
			for _, para := range strings.Split(strings.ReplaceAll(bio, "\r\n", "\n"), "\n\n") {
				b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br>") + "</p>")
			}
			want = b.String()
		}
		if got := noteHTML(bio); got != want {
			t.Fatalf("noteHTML(%q) = %q, want %q", bio, got, want)
		}
	}
}
