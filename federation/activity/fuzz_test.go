package activity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds hostile bytes to Decode: it must never panic, must stay
// within the limits, and every accessor must be safe on what it accepts.
// Seeds: every fixture, plus the shapes the limits exist for.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		nested(MaxDepth), nested(MaxDepth + 1),
		strings.Repeat("[", 5000), `{"a":` + strings.Repeat(`{"a":`, 5000),
		list("to", MaxListEntries+1, `"as:Public"`),
		list("tag", 3, `{"type":"Hashtag","name":"#x"}`),
		`{"type":"Create","object":{"type":"Create","object":{"type":"Note","tag":{"type":"Mention"}}}}`,
		`{"id":"a","ID":"b"}`, `{"type":"Note","content":"\u0000\\u0000\\\u0000"}`,
		`{"type":"Person","publicKey":[{"id":1},{"owner":{}}],"endpoints":[],"icon":[[[]]]}`,
		`{"type":"Note","attachment":{"type":"Document","focalPoint":[1e400,-1e400],"width":-1}}`,
		`{"type":"Question","oneOf":[{"type":"Note","name":"a","replies":{"totalItems":1e99}}]}`,
		`{"type":"Note","published":"9999-99-99T99:99:99Z","url":{"url":{"url":{"href":"x"}}}}`,
		"{\"type\":\"Note\",\"content\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		start := time.Now()
		d, err := Decode(raw)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Decode took %v on %d bytes", elapsed, len(raw))
		}
		if err != nil {
			return
		}
		if len(raw) > MaxDocumentSize {
			t.Fatal("accepted an oversized document")
		}
		if len(d.Ext.To) > MaxListEntries || len(d.Ext.Cc) > MaxListEntries ||
			len(d.Ext.Tags) > MaxListEntries || len(d.Ext.Attachments)+len(d.Ext.Fields) > MaxListEntries {
			t.Fatal("a list over the limit was accepted")
		}
		if strings.Contains(string(d.Raw), `\u0000`) && !strings.Contains(string(d.Raw), `\\u0000`) {
			t.Fatal("NUL escape left in Raw")
		}
		if strings.ContainsRune(d.Ext.Content, 0) || strings.ContainsRune(d.Ext.Name, 0) {
			t.Fatal("NUL in decoded text")
		}
		_, _ = d.AsNote()
		_, _ = d.AsActor()
		_, _ = d.AsTombstone()
		_ = d.ObjectIDs()
		for e, ok := d.EmbeddedObject(); ok; e, ok = e.EmbeddedObject() {
			_, _ = e.AsNote()
			_, _ = e.AsActor()
		}
	})
}
