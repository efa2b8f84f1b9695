package signature

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// requestTarget returns the path and query of r exactly as they travel on the wire, still
// percent-encoded: that is what Mastodon and GoToSocial put into (request-target), while go-fed
// would use the decoded URL.Path. In order of preference:
//
//   - r.RequestURI when it is in origin form ("/path?query"): net/http servers set it verbatim
//     from the request line, and fasthttp's RequestURI() gives the same bytes;
//   - otherwise r.URL: Opaque when set (its path part), else URL.EscapedPath(), which returns
//     URL.RawPath when that is a valid encoding of URL.Path. This is also what net/http's client
//     writes on the wire (URL.RequestURI), so Sign and the peer agree.
func requestTarget(r *http.Request) (path, query string) {
	raw := r.RequestURI
	if raw == "" || raw[0] != '/' {
		u := r.URL
		if raw != "" { // absolute form, as sent to proxies
			if pu, err := url.ParseRequestURI(raw); err == nil && pu.Scheme != "" && pu.Host != "" {
				u = pu
			}
		}
		raw = wireURI(u)
	}
	path, query, _ = strings.Cut(raw, "?")
	if path == "" {
		path = "/"
	}
	return path, query
}

func wireURI(u *url.URL) string {
	if u == nil {
		return "/"
	}
	s := u.Opaque
	if s == "" {
		s = u.EscapedPath()
	} else if rest, ok := strings.CutPrefix(s, "//"); ok { // "//host/path": drop the authority
		s = "/"
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			s = rest[i:]
		}
	}
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// effectiveHost is the Host the peer sent: net/http moves it out of the header map into r.Host.
func effectiveHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	if r.URL != nil {
		return r.URL.Host
	}
	return ""
}

// maxDigestItems bounds the comma-separated list a Digest header may carry (RFC 3230).
const maxDigestItems = 8

// checkDigest compares the Digest header(s) with the body. Algorithm names are matched case
// insensitively (some peers send "sha-256="). SHA-256 and SHA-512 are understood; other entries
// are skipped, but at least one understood entry must be present and every understood entry
// must match, so a correct SHA-512 cannot hide a wrong SHA-256.
func checkDigest(values []string, body []byte) error {
	if len(values) == 0 {
		return errors.New("no Digest header")
	}
	items := strings.Split(strings.Join(values, ","), ",")
	if len(items) > maxDigestItems {
		return fmt.Errorf("more than %d digests", maxDigestItems)
	}
	checked := 0
	for _, item := range items {
		alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("malformed digest %q", item)
		}
		var sum []byte
		switch strings.ToLower(alg) {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		got, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return fmt.Errorf("%s digest is not base64", alg)
		}
		if !bytes.Equal(got, sum) {
			return fmt.Errorf("%s digest differs from the body", alg)
		}
		checked++
	}
	if checked == 0 {
		return errors.New("no SHA-256 or SHA-512 digest")
	}
	return nil
}
