package activity

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFixture(t testing.TB, name string) *Document {
	t.Helper()
	d, err := Decode(readFixture(t, name))
	if err != nil {
		t.Fatalf("Decode(%s): %v", name, err)
	}
	return d
}

func embedded(t testing.TB, d *Document) *Document {
	t.Helper()
	e, ok := d.EmbeddedObject()
	if !ok {
		t.Fatalf("%s %s: no embedded object", d.Type(), d.ID())
	}
	return e
}

func eq[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}
