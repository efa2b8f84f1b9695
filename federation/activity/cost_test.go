package activity

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hostileInputs are the most expensive documents the limits still accept
// (or that come closest), one per limit.
func hostileInputs() map[string]string {
	note := `{"id":"https://x.example/1","type":"Note","content":"` + strings.Repeat("x", 300) +
		`","to":["https://a.example/1","https://a.example/2"],"tag":[{"type":"Mention","href":"https://x.example/u"}]}`
	notes := strings.TrimSuffix(strings.Repeat(note+",", MaxListEntries), ",")
	// Arrays of objects of arrays of IRIs: as many values as MaxValues
	// allows, in about 1 MiB.
	iri := `"https://x.example/users/` + strings.Repeat("a", 30) + `"`
	iris := "[" + strings.TrimSuffix(strings.Repeat(iri+",", MaxArrayLen), ",") + "]"
	var wide strings.Builder
	wide.WriteString(`{"type":"Note"`)
	for i := 0; i < (MaxValues-100)/(MaxArrayLen+2); i++ {
		fmt.Fprintf(&wide, `,"x%d":{"a":%s}`, i, iris)
	}
	wide.WriteString("}")
	return map[string]string{
		"1 MiB of text":           `{"type":"Note","content":"` + strings.Repeat("é", MaxDocumentSize/2-20) + `"}`,
		"1 MiB of NUL escapes":    `{"type":"Note","content":"` + strings.Repeat(`\u0000`, MaxDocumentSize/6-10) + `"}`,
		"objects in arrays":       `{"type":"OrderedCollection","orderedItems":[` + notes + `],"items":[` + notes + `]}`,
		"values up to the limit":  wide.String(),
		"max lists, short Public": list("to", MaxListEntries, `"as:Public"`),
		"deep and wide":           strings.Repeat(`{"a":[1,2,3],"b":`, MaxDepth-1) + `{}` + strings.Repeat("}", MaxDepth-1),
	}
}

// TestHostileInputCost bounds CPU time and allocation per document. The
// bounds are loose (CI machines are slow, -race is slower still); they catch
// a lost limit or a quadratic path, not a few percent.
func TestHostileInputCost(t *testing.T) {
	for name, in := range hostileInputs() {
		t.Run(name, func(t *testing.T) {
			if len(in) > MaxDocumentSize {
				t.Fatalf("input is %d bytes", len(in))
			}
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			start := time.Now()
			_, err := Decode([]byte(in))
			elapsed := time.Since(start)
			runtime.ReadMemStats(&m1)
			alloc := (m1.TotalAlloc - m0.TotalAlloc) >> 20
			t.Logf("%d KiB in %v, %d MiB allocated, err=%v", len(in)>>10, elapsed, alloc, err)
			if elapsed > 3*time.Second || alloc > 64 {
				t.Errorf("too expensive: %v, %d MiB", elapsed, alloc)
			}
		})
	}
}
