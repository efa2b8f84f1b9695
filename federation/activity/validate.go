package activity

import (
	"fmt"
	"net/url"
	"unicode/utf8"

	vocab "github.com/go-ap/activitypub"
)

// checker collects the first validation error. required also checks the
// value is an IRI: every required field is one.
type checker struct{ err error }

func (c *checker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
}

func (c *checker) required(field, s string) {
	if s == "" {
		c.fail("%s is required", field)
	}
	c.iri(field, s)
}

// typ accepts ASCII letters only: go-ap writes types unescaped.
func (c *checker) typ(t string) {
	if t == "" {
		c.fail("type is required")
		return
	}
	for i := 0; i < len(t); i++ {
		if b := t[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') {
			c.fail("type %q", t)
			return
		}
	}
}

// iri accepts "" or an absolute http(s) URL with a host and without bytes
// that go-ap would write into JSON unescaped.
func (c *checker) iri(field, s string) {
	if s == "" {
		return
	}
	if !utf8.ValidString(s) {
		c.fail("%s is not UTF-8", field)
		return
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == '"' || b == '\\' || b == 0x7f {
			c.fail("%s %q contains a forbidden character", field, s)
			return
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.fail("%s %q is not an absolute http(s) URL", field, s)
	}
}

// addressing validates and normalises to and cc for go-ap.
func (c *checker) addressing(to, cc []string) (vocab.ItemCollection, vocab.ItemCollection) {
	conv := func(field string, in []string) vocab.ItemCollection {
		if len(in) == 0 {
			return nil
		}
		if len(in) > MaxListEntries {
			c.fail("%s has more than %d entries", field, MaxListEntries)
		}
		out := make(vocab.ItemCollection, 0, len(in))
		for _, s := range normalizeAddressing(in) {
			c.iri(field, s)
			out = append(out, vocab.IRI(s))
		}
		return out
	}
	return conv("to", to), conv("cc", cc)
}
