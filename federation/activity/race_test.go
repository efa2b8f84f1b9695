package activity

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentUse runs Encode and Decode on many goroutines at once and
// checks every result against a serial baseline. Under -race it proves the
// codec shares no mutable state (no jsonld.WithContext, no go-ap hooks).
func TestConcurrentUse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	inputs := make([][]byte, len(files))
	want := make([]Extensions, len(files))
	for i, f := range files {
		if inputs[i], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
		d, err := Decode(inputs[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d.Ext
	}
	cases := encodeCases()
	encoded := make([][]byte, len(cases))
	for i, c := range cases {
		if encoded[i], err = Encode(c.v); err != nil {
			t.Fatal(err)
		}
	}

	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				i := (w + r) % len(inputs)
				d, err := Decode(inputs[i])
				if err != nil || !reflect.DeepEqual(d.Ext, want[i]) {
					errs <- "decode differs: " + files[i]
				}
				if e, ok := d.EmbeddedObject(); ok {
					_, _ = e.AsNote()
					_, _ = e.AsActor()
				}
				j := (w*7 + r) % len(cases)
				b, err := Encode(cases[j].v)
				if err != nil || !bytes.Equal(b, encoded[j]) {
					errs <- "encode differs: " + cases[j].name
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
