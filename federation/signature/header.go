package signature

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Bounds on outside input. They are far above what Mastodon, GoToSocial or Atrium send and keep
// the parser's work (and the key fetches it can trigger) small.
const (
	maxHeaderLen      = 8 << 10 // whole Signature header
	maxKeyIDLen       = 2048
	maxParams         = 16
	maxSignedHeaders  = 32
	maxSignatureBytes = 1024 // an RSA-8192 signature
)

const (
	pseudoRequestTarget = "(request-target)"
	pseudoCreated       = "(created)"
	pseudoExpires       = "(expires)"
)

// params is a parsed draft-cavage Signature header.
type params struct {
	keyID      string
	algorithm  string   // lower case; "" when absent
	headers    []string // lower case, in signing order; ["date"] when the parameter is absent
	signature  string   // base64 as sent (validated)
	created    int64
	expires    int64
	hasCreated bool
	hasExpires bool
}

// parseSignatureHeader parses the value of a Signature header strictly. go-fed's own parser
// splits on every comma and trims every quote, so anything it could read differently from us
// (commas or quotes inside values, duplicate parameters) is rejected here; Verify then hands
// go-fed a canonical re-serialisation (canonical) of exactly what we checked.
func parseSignatureHeader(s string) (*params, error) {
	if len(s) > maxHeaderLen {
		return nil, fmt.Errorf("header is %d bytes, limit %d", len(s), maxHeaderLen)
	}
	p := &params{}
	seen := make(map[string]bool, 6)
	var hasHeaders bool
	i := 0
	for n := 0; ; n++ {
		i = skipOWS(s, i)
		if i == len(s) {
			if n == 0 {
				return nil, errors.New("empty header")
			}
			return nil, errors.New("trailing comma")
		}
		if n == maxParams {
			return nil, fmt.Errorf("more than %d parameters", maxParams)
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" || i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("parameter %d: expected name=value", n+1)
		}
		i++
		if seen[name] {
			// Peers differ on whether the first or the last wins; an attacker could exploit that.
			return nil, fmt.Errorf("duplicate parameter %q", name)
		}
		seen[name] = true
		var val string
		var quoted bool
		if i < len(s) && s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("parameter %q: unterminated quote", name)
			}
			val, quoted = s[i+1:i+1+end], true
			i += end + 2
		} else {
			start = i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			val = s[start:i]
		}
		if err := p.set(name, val, quoted); err != nil {
			return nil, err
		}
		if name == "headers" {
			hasHeaders = true
		}
		i = skipOWS(s, i)
		if i == len(s) {
			break
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("parameter %q: expected comma, got %q", name, s[i])
		}
		i++
	}
	return p, p.finish(hasHeaders)
}

// set stores one parameter. Unknown parameters are ignored, as the draft asks.
func (p *params) set(name, val string, quoted bool) error {
	if quoted {
		for j := 0; j < len(val); j++ {
			if c := val[j]; c < 0x20 || c > 0x7e || c == ',' || c == '\\' {
				return fmt.Errorf("parameter %q: forbidden byte %q in value", name, c)
			}
		}
	}
	switch name {
	case "keyid":
		if !quoted {
			return errors.New("keyId must be quoted")
		}
		p.keyID = val
	case "algorithm":
		if !quoted {
			return errors.New("algorithm must be quoted")
		}
		p.algorithm = strings.ToLower(val)
	case "headers":
		if !quoted {
			return errors.New("headers must be quoted")
		}
		return p.setHeaders(val)
	case "signature":
		if !quoted {
			return errors.New("signature must be quoted")
		}
		p.signature = val
	case "created", "expires":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("parameter %q: not a positive integer", name)
		}
		if name == "created" {
			p.created, p.hasCreated = n, true
		} else {
			p.expires, p.hasExpires = n, true
		}
	}
	return nil
}

func (p *params) setHeaders(val string) error {
	fields := strings.Fields(val)
	if len(fields) == 0 {
		return errors.New("headers is empty")
	}
	if len(fields) > maxSignedHeaders {
		return fmt.Errorf("more than %d signed headers", maxSignedHeaders)
	}
	p.headers = make([]string, 0, len(fields))
	for _, f := range fields {
		h := strings.ToLower(f)
		switch {
		case h == pseudoRequestTarget || h == pseudoCreated || h == pseudoExpires:
		case h == "signature":
			return errors.New("headers lists the signature header itself")
		case !isToken(h):
			return fmt.Errorf("headers: invalid name %q", f)
		}
		for _, prev := range p.headers {
			if prev == h {
				return fmt.Errorf("headers: %q listed twice", h)
			}
		}
		p.headers = append(p.headers, h)
	}
	return nil
}

// finish applies the cross-parameter rules once everything is read.
func (p *params) finish(hasHeaders bool) error {
	if err := checkKeyID(p.keyID); err != nil {
		return err
	}
	if p.signature == "" {
		return errors.New("missing signature parameter")
	}
	if base64.StdEncoding.DecodedLen(len(p.signature)) > maxSignatureBytes+2 {
		return errors.New("signature too long")
	}
	if _, err := base64.StdEncoding.DecodeString(p.signature); err != nil {
		return errors.New("signature is not base64")
	}
	switch p.algorithm {
	case "", "hs2019", "rsa-sha256", "rsa-sha512", "ed25519":
	default:
		return fmt.Errorf("unsupported algorithm %q", p.algorithm)
	}
	if !hasHeaders {
		p.headers = []string{"date"} // the draft's default
	}
	if p.signs(pseudoCreated) && !p.hasCreated {
		return errors.New("(created) signed but created parameter missing")
	}
	if p.signs(pseudoExpires) && !p.hasExpires {
		return errors.New("(expires) signed but expires parameter missing")
	}
	return nil
}

func (p *params) signs(h string) bool {
	for _, x := range p.headers {
		if x == h {
			return true
		}
	}
	return false
}

// canonical re-serialises the parameters in the one shape go-fed parses unambiguously.
// created/expires go along only when signed: go-fed checks them against the real clock with
// 10 s of slack, which would override our own (injectable, MaxSkew-wide) check otherwise.
func (p *params) canonical() string {
	var b strings.Builder
	b.Grow(len(p.keyID) + len(p.signature) + 96)
	b.WriteString(`keyId="`)
	b.WriteString(p.keyID)
	b.WriteString(`",`)
	if p.signs(pseudoCreated) {
		b.WriteString("created=" + strconv.FormatInt(p.created, 10) + ",")
	}
	if p.signs(pseudoExpires) {
		b.WriteString("expires=" + strconv.FormatInt(p.expires, 10) + ",")
	}
	b.WriteString(`headers="`)
	b.WriteString(strings.Join(p.headers, " "))
	b.WriteString(`",signature="`)
	b.WriteString(p.signature)
	b.WriteString(`"`)
	return b.String()
}

// checkKeyID accepts absolute http(s) URLs without the characters that break header parsing
// (comma, quote, backslash, whitespace). Both Mastodon's "https://h/users/a#main-key" and
// GoToSocial's "https://h/users/a/main-key" pass; acct: keyIds (pre-2018 Mastodon) do not.
func checkKeyID(id string) error {
	if id == "" {
		return errors.New("missing keyId parameter")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("keyId longer than %d bytes", maxKeyIDLen)
	}
	for j := 0; j < len(id); j++ {
		if c := id[j]; c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '\\' {
			return fmt.Errorf("keyId contains forbidden byte %q", c)
		}
	}
	u, err := url.Parse(id)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("keyId %q is not an absolute http(s) URL", id)
	}
	return nil
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar reports RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for j := 0; j < len(s); j++ {
		if !isTokenChar(s[j]) {
			return false
		}
	}
	return true
}
