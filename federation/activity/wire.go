package activity

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The wire types below are the side-car: encoding/json reads the same bytes
// as go-ap into these. Every one is lenient: a value of an unexpected shape
// (a number where a string belongs, an object where an IRI belongs) is
// skipped, never an error, so that one odd property from one odd server does
// not lose the whole activity. Only malformed JSON fails, and preflight has
// already ruled that out.

// first returns the first non-space byte of b, or 0.
func first(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// str is a string that ignores non-string values.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	if first(b) == '"' {
		*s = str(jsonString(b))
	}
	return nil
}

// jsonString decodes the JSON string literal b (already validated by
// encoding/json, which calls UnmarshalJSON only with valid values). The
// common case, no escapes and valid UTF-8, is a plain copy; anything else
// goes through encoding/json, which also replaces invalid UTF-8 with U+FFFD.
func jsonString(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		plain := true
		for _, c := range b[1 : len(b)-1] {
			if c < 0x20 || c == '"' {
				plain = false
				break
			}
		}
		if plain {
			return string(b[1 : len(b)-1])
		}
	}
	var v string
	_ = json.Unmarshal(b, &v)
	return v
}

// typ is an AS2 type: a string, or the first string of an array.
type typ string

func (t *typ) UnmarshalJSON(b []byte) error {
	switch first(b) {
	case '"':
		var s str
		_ = s.UnmarshalJSON(b)
		*t = typ(s)
	case '[':
		var all []str
		if json.Unmarshal(b, &all) == nil {
			for _, s := range all {
				if s != "" {
					*t = typ(s)
					break
				}
			}
		}
	}
	return nil
}

// boolish is a boolean that also accepts "true"/"false" strings.
type boolish bool

func (f *boolish) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(b), `"`))
	*f = boolish(s == "true")
	return nil
}

// count is a non-negative integer that also accepts floats and numeric
// strings; anything else is 0.
type count int

func (c *count) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(b), `"`))
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1<<31 {
		*c = count(f)
	}
	return nil
}

// ref is the part of a linked object or Link needed to name it.
type ref struct {
	ID   str `json:"id"`
	Href str `json:"href"`
}

// iriList is one or more IRIs: a string, an object with id (or, for a
// Link, href), or an array of those. Other values are skipped.
type iriList []string

func (l *iriList) UnmarshalJSON(b []byte) error {
	switch first(b) {
	case '[':
		var items []iriElem
		_ = json.Unmarshal(b, &items)
		for _, it := range items {
			if it != "" {
				*l = append(*l, string(it))
			}
		}
	case '"', '{':
		var it iriElem
		_ = it.UnmarshalJSON(b)
		if it != "" {
			*l = append(*l, string(it))
		}
	}
	return nil
}

// iriElem is one element of an iriList; nested arrays are skipped.
type iriElem string

func (e *iriElem) UnmarshalJSON(b []byte) error {
	switch first(b) {
	case '"':
		*e = iriElem(jsonString(b))
	case '{':
		var r ref
		if json.Unmarshal(b, &r) == nil {
			if r.ID != "" {
				*e = iriElem(r.ID)
			} else {
				*e = iriElem(r.Href)
			}
		}
	}
	return nil
}

func (l iriList) first() string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// link is a URL-valued property (url, icon, image): a string, a Link with
// href, an object whose url is one of those, or an array (first usable wins).
type link struct {
	URL       string
	MediaType string
}

func (k *link) UnmarshalJSON(b []byte) error {
	switch first(b) {
	case '"':
		var s str
		_ = s.UnmarshalJSON(b)
		k.URL = string(s)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return nil
		}
		for _, it := range items {
			var c link
			if _ = c.UnmarshalJSON(it); c.URL != "" {
				*k = c
				return nil
			}
		}
	case '{':
		var o struct {
			Href      str  `json:"href"`
			URL       link `json:"url"`
			MediaType str  `json:"mediaType"`
		}
		if json.Unmarshal(b, &o) != nil {
			return nil
		}
		k.MediaType = string(o.MediaType)
		if o.Href != "" {
			k.URL = string(o.Href)
		} else {
			k.URL = o.URL.URL
			if k.MediaType == "" {
				k.MediaType = o.URL.MediaType
			}
		}
	}
	return nil
}

// langMap is a contentMap/summaryMap/nameMap; non-string values are dropped.
type langMap map[string]string

func (m *langMap) UnmarshalJSON(b []byte) error {
	if first(b) != '{' {
		return nil
	}
	var all map[string]str
	if json.Unmarshal(b, &all) != nil {
		return nil
	}
	for k, v := range all {
		if v == "" {
			continue
		}
		if *m == nil {
			*m = make(langMap, len(all))
		}
		(*m)[k] = string(v)
	}
	return nil
}

// pick returns the value of the smallest key, so the choice is deterministic.
func (m langMap) pick() string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m[keys[0]]
}

// many is one object or an array of objects; other elements are skipped.
// GoToSocial sends a single Mention as a bare object under tag.
type many[T interface{ empty() bool }] []T

func (m *many[T]) UnmarshalJSON(b []byte) error {
	switch first(b) {
	case '{':
		var v T
		if json.Unmarshal(b, &v) == nil {
			*m = append(*m, v)
		}
	case '[':
		// Decoding straight into []T: a non-object element is a type error
		// that encoding/json records and skips, leaving a zero T there.
		var all []T
		_ = json.Unmarshal(b, &all)
		for _, v := range all {
			if !v.empty() {
				*m = append(*m, v)
			}
		}
	}
	return nil
}

// objectField is an activity's object: kept verbatim, its ids extracted,
// and, when it is an embedded object, decoded in the same pass (so that
// EmbeddedObject does not parse it again).
type objectField struct {
	raw   json.RawMessage
	ids   iriList
	inner *wire
}

func (o *objectField) UnmarshalJSON(b []byte) error {
	o.raw = append(json.RawMessage(nil), b...)
	if first(b) == '{' {
		o.inner = new(wire)
		if json.Unmarshal(b, o.inner) != nil {
			o.inner = nil
			return nil
		}
		if o.inner.ID != "" {
			o.ids = iriList{string(o.inner.ID)}
		}
		return nil
	}
	return o.ids.UnmarshalJSON(b)
}

// points is a focalPoint: an array of numbers.
type points []float64

func (p *points) UnmarshalJSON(b []byte) error {
	var v []float64
	if first(b) == '[' && json.Unmarshal(b, &v) == nil {
		*p = v
	}
	return nil
}

type wireTag struct {
	Type    typ  `json:"type"`
	ID      str  `json:"id"`
	Name    str  `json:"name"`
	Href    str  `json:"href"`
	Icon    link `json:"icon"`
	Updated str  `json:"updated"`
}

type wireAttachment struct {
	Type       typ    `json:"type"`
	MediaType  str    `json:"mediaType"`
	URL        link   `json:"url"`
	Href       str    `json:"href"`
	Name       str    `json:"name"`
	Value      str    `json:"value"`
	Summary    str    `json:"summary"`
	Blurhash   str    `json:"blurhash"`
	FocalPoint points `json:"focalPoint"`
	Width      count  `json:"width"`
	Height     count  `json:"height"`
}

func (t wireTag) empty() bool { return t.Type == "" && t.Name == "" && t.Href == "" }

func (a wireAttachment) empty() bool {
	return a.Type == "" && a.URL.URL == "" && a.Href == "" && a.Name == "" && a.Value == ""
}

func (k wireKey) empty() bool { return k.ID == "" && k.PublicKeyPem == "" }

type wireKey struct {
	ID           str `json:"id"`
	Owner        str `json:"owner"`
	PublicKeyPem str `json:"publicKeyPem"`
}

type wireEndpoints struct {
	SharedInbox str `json:"sharedInbox"`
}

func (e *wireEndpoints) UnmarshalJSON(b []byte) error {
	if first(b) == '{' {
		var v struct {
			SharedInbox str `json:"sharedInbox"`
		}
		if json.Unmarshal(b, &v) == nil {
			e.SharedInbox = v.SharedInbox
		}
	}
	return nil
}

// wire is the whole side-car document.
type wire struct {
	LDContext json.RawMessage `json:"@context"`
	ID        str             `json:"id"`
	Type      typ             `json:"type"`

	// Activity.
	Actor  iriList     `json:"actor"`
	Object objectField `json:"object"`
	Target iriList     `json:"target"`

	// Object.
	AttributedTo iriList `json:"attributedTo"`
	Name         str     `json:"name"`
	NameMap      langMap `json:"nameMap"`
	Content      str     `json:"content"`
	ContentMap   langMap `json:"contentMap"`
	Summary      str     `json:"summary"`
	SummaryMap   langMap `json:"summaryMap"`
	MediaType    str     `json:"mediaType"`
	InReplyTo    iriList `json:"inReplyTo"`
	URL          link    `json:"url"`
	Published    str     `json:"published"`
	Updated      str     `json:"updated"`
	Deleted      str     `json:"deleted"`
	FormerType   typ     `json:"formerType"`

	To       iriList `json:"to"`
	Cc       iriList `json:"cc"`
	Bto      iriList `json:"bto"`
	Bcc      iriList `json:"bcc"`
	Audience iriList `json:"audience"`

	Tag        many[wireTag]        `json:"tag"`
	Attachment many[wireAttachment] `json:"attachment"`

	Sensitive     boolish `json:"sensitive"`
	DirectMessage boolish `json:"directMessage"`
	Conversation  iriList `json:"conversation"`
	Context       iriList `json:"context"`
	Quote         iriList `json:"quote"`
	QuoteURL      iriList `json:"quoteUrl"`
	QuoteURI      iriList `json:"quoteUri"`
	MisskeyQuote  iriList `json:"_misskey_quote"`

	Signature json.RawMessage `json:"signature"`
	Proof     json.RawMessage `json:"proof"`

	// Actor.
	PreferredUsername         str           `json:"preferredUsername"`
	Inbox                     iriList       `json:"inbox"`
	Outbox                    iriList       `json:"outbox"`
	Followers                 iriList       `json:"followers"`
	Following                 iriList       `json:"following"`
	Featured                  iriList       `json:"featured"`
	FeaturedTags              iriList       `json:"featuredTags"`
	Endpoints                 wireEndpoints `json:"endpoints"`
	PublicKey                 many[wireKey] `json:"publicKey"`
	Icon                      link          `json:"icon"`
	Image                     link          `json:"image"`
	ManuallyApprovesFollowers boolish       `json:"manuallyApprovesFollowers"`
	Discoverable              boolish       `json:"discoverable"`
	Indexable                 boolish       `json:"indexable"`
	Memorial                  boolish       `json:"memorial"`
	Suspended                 boolish       `json:"suspended"`
	AlsoKnownAs               iriList       `json:"alsoKnownAs"`
	MovedTo                   iriList       `json:"movedTo"`
}

// isObjectJSON reports whether raw holds a JSON object (an LD signature or
// proof, an embedded object).
func isObjectJSON(raw json.RawMessage) bool { return first(raw) == '{' }
