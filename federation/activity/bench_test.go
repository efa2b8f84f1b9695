package activity

import (
	"testing"

	vocab "github.com/go-ap/activitypub"
)

// Compare with LIBRARIES.md §5: go-ap UnmarshalJSON of a 3.5 KB Create{Note}
// ~55 µs; unmarshal plus WithContext.Marshal ~86 µs; marshal only ~35 µs.

func BenchmarkDecodeCreateNote(b *testing.B) {
	raw := readFixture(b, "mastodon_create_note.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := d.EmbeddedObject(); !ok {
			b.Fatal("no object")
		}
	}
}

func BenchmarkEncodeCreateNote(b *testing.B) {
	create := NewCreate("https://atrium.example/notes/01JD5NOTEAAAAAAAAAAAAAAAAA/activity", ourNote())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(create); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEncodeCreateNote is the LIBRARIES.md "decode + re-encode"
// figure: Decode a Mastodon Create{Note}, read it, encode it as ours.
func BenchmarkDecodeEncodeCreateNote(b *testing.B) {
	raw := readFixture(b, "mastodon_create_note.json")
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		e, _ := d.EmbeddedObject()
		n, err := e.AsNote()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Encode(NewCreate(d.ID(), n)); err != nil {
			b.Fatal(err)
		}
	}
}

// Parts, to see where the time goes.
func BenchmarkPreflight(b *testing.B) {
	raw := readFixture(b, "mastodon_create_note.json")
	for b.Loop() {
		if err := preflight(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoAPUnmarshalCreateNote is go-ap alone on the same input: the
// LIBRARIES.md baseline, measured on this machine.
func BenchmarkGoAPUnmarshalCreateNote(b *testing.B) {
	raw := readFixture(b, "mastodon_create_note.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vocab.UnmarshalJSON(raw); err != nil {
			b.Fatal(err)
		}
	}
}
