package activity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits applied by Decode before any parser sees the input. They bound the
// CPU and memory one hostile document can cost (FEDERATION.md §8).
const (
	// MaxDocumentSize is the largest input Decode accepts (1 MiB, as Mastodon).
	MaxDocumentSize = 1 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted.
	MaxDepth = 32
	// MaxListEntries caps to, cc, bto, bcc, audience, tag and attachment at
	// any depth, and the number of objects in any one array: go-ap appends
	// each array element after a deep-equality check against all earlier
	// ones, so its cost is quadratic in objects per array (1000 small Notes
	// in one array took ~300 ms).
	MaxListEntries = 200
	// MaxArrayLen caps every other array (of strings, numbers...).
	MaxArrayLen = 1000
	// MaxObjects caps the number of JSON objects in one document, so that a
	// 1 MiB document of tiny objects cannot fan out into 100k go-ap structs.
	// A Mastodon outbox page of 20 Creates has about 200.
	MaxObjects = 1024
	// MaxObjectKeys caps the properties of one object (Mastodon's actor has
	// about 40).
	MaxObjectKeys = 256
	// MaxValues caps the JSON values (scalars, objects and arrays) in one
	// document. A Mastodon Create{Note} has about 100. Without it, 1 MiB of
	// "1," is 500k values, and go-ap's parser (fastjson, a fresh value cache
	// per call) allocated ~280 MB and ~260 ms decoding it.
	MaxValues = 16384
)

// Errors returned by Decode. Test with errors.Is.
var (
	ErrTooLarge       = errors.New("activity: document larger than 1 MiB")
	ErrTooDeep        = errors.New("activity: JSON nested too deeply")
	ErrTooManyEntries = errors.New("activity: too many entries")
	ErrNotObject      = errors.New("activity: top-level JSON value is not an object")
	ErrSyntax         = errors.New("activity: malformed JSON")
	ErrDuplicateKey   = errors.New("activity: duplicate key")
)

// cappedLists are the properties limited to MaxListEntries.
var cappedLists = map[string]bool{
	"to": true, "cc": true, "bto": true, "bcc": true,
	"audience": true, "tag": true, "attachment": true,
}

// frame is one open object or array during the preflight scan.
type frame struct {
	array     bool
	expectKey bool   // object: the next string token is a key
	key       string // object: the last key; array: the key that holds it
	n         int    // array: entries so far
	objs      int    // array: object entries so far
	nkeys     int    // object: keys so far
	keys      []string
	keySet    map[string]struct{}
}

// addKey records key in f and reports whether it was new. Keys are compared
// case-insensitively because encoding/json matches struct fields that way:
// "id" and "ID" in one object would otherwise be read differently by go-ap
// (exact, first wins) and by the side-car (folded, last wins).
func (f *frame) addKey(key string) bool {
	k := strings.ToLower(key)
	if f.keySet != nil {
		if _, ok := f.keySet[k]; ok {
			return false
		}
		f.keySet[k] = struct{}{}
		return true
	}
	for _, seen := range f.keys {
		if seen == k {
			return false
		}
	}
	f.keys = append(f.keys, k)
	if len(f.keys) > 16 {
		f.keySet = make(map[string]struct{}, 2*len(f.keys))
		for _, s := range f.keys {
			f.keySet[s] = struct{}{}
		}
		f.keys = nil
	}
	return true
}

// preflight validates raw with a streaming token scan before it is decoded:
// well-formed JSON, a single top-level object, no duplicate keys, and the
// depth, list and object-count limits above. It allocates per token but never
// builds a tree, so a hostile document is rejected at the first violation.
func preflight(raw []byte) error {
	if len(raw) > MaxDocumentSize {
		return ErrTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	stack := make([]frame, 0, 8)
	objects, values := 0, 0
	afterValue := func() {
		if n := len(stack); n > 0 && !stack[n-1].array {
			stack[n-1].expectKey = true
		}
	}
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF {
			if first {
				return ErrNotObject
			}
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return ErrNotObject
			}
		} else if len(stack) == 0 {
			return fmt.Errorf("%w: data after the top-level object", ErrSyntax)
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].expectKey {
			top := &stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				afterValue()
				continue
			}
			key, _ := tok.(string)
			if top.nkeys++; top.nkeys > MaxObjectKeys {
				return fmt.Errorf("%w: an object has more than %d keys", ErrTooManyEntries, MaxObjectKeys)
			}
			if !top.addKey(key) {
				return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
			}
			top.key = key
			top.expectKey = false
			continue
		}
		// tok is a value, or the ']' closing an array.
		if d, ok := tok.(json.Delim); ok && d == ']' {
			stack = stack[:len(stack)-1]
			afterValue()
			continue
		}
		if values++; values > MaxValues {
			return fmt.Errorf("%w: more than %d values", ErrTooManyEntries, MaxValues)
		}
		key := ""
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			key = top.key
			if top.array {
				top.n++
				if limit := arrayLimit(top.key); top.n > limit {
					if cappedLists[top.key] {
						return fmt.Errorf("%w: %q has more than %d entries", ErrTooManyEntries, top.key, limit)
					}
					return fmt.Errorf("%w: an array under %q has more than %d entries", ErrTooManyEntries, top.key, limit)
				}
			}
		}
		d, ok := tok.(json.Delim)
		if !ok { // scalar
			afterValue()
			continue
		}
		if len(stack) >= MaxDepth {
			return fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
		}
		if d == '{' {
			objects++
			if objects > MaxObjects {
				return fmt.Errorf("%w: more than %d objects", ErrTooManyEntries, MaxObjects)
			}
			if n := len(stack); n > 0 && stack[n-1].array {
				if stack[n-1].objs++; stack[n-1].objs > MaxListEntries {
					return fmt.Errorf("%w: an array under %q has more than %d objects", ErrTooManyEntries, key, MaxListEntries)
				}
			}
			stack = append(stack, frame{expectKey: true})
		} else {
			stack = append(stack, frame{array: true, key: key})
		}
	}
	return nil
}

func arrayLimit(key string) int {
	if cappedLists[key] {
		return MaxListEntries
	}
	return MaxArrayLen
}

// nulEscape is how a NUL character appears in valid JSON; a raw 0x00 byte is
// invalid JSON and already rejected by preflight.
var nulEscape = []byte(`\u0000`)

// stripNUL removes every \u0000 escape that is part of a JSON string (not an
// escaped backslash followed by the text "u0000"). Postgres text and jsonb
// refuse NUL, and bun passes it through. raw is returned unchanged (not
// copied) when it has no NUL escapes, which is the normal case.
func stripNUL(raw []byte) []byte {
	if !bytes.Contains(raw, nulEscape) {
		return raw
	}
	out := make([]byte, 0, len(raw))
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			out = append(out, c)
			continue
		}
		switch c {
		case '"':
			inString = false
			out = append(out, c)
		case '\\':
			if bytes.HasPrefix(raw[i:], nulEscape) {
				i += len(nulEscape) - 1
				continue
			}
			// Copy the escape and the escaped byte as a pair, so "\\" is
			// never mistaken for the start of another escape.
			out = append(out, c)
			if i+1 < len(raw) {
				i++
				out = append(out, raw[i])
			}
		default:
			out = append(out, c)
		}
	}
	return out
}
