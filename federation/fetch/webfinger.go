package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/outbound"
)

const (
	// maxJRDBytes caps a WebFinger answer. Real ones are under 2 KB; the cap leaves room for
	// long alias lists while keeping a hostile answer cheap.
	maxJRDBytes = 256 << 10
	acceptJRD   = "application/jrd+json, application/json;q=0.9"
)

// jrd is the part of a JSON Resource Descriptor we read.
type jrd struct {
	Subject string `json:"subject"`
	Links   []struct {
		Rel  string `json:"rel"`
		Type string `json:"type"`
		Href string `json:"href"`
	} `json:"links"`
}

// finger is one WebFinger answer: the subject it claims and its ActivityPub self link.
type finger struct {
	subject string
	self    string
}

// WebFinger looks up acct ("user@host"; a leading "@" and an "acct:" prefix are tolerated) at
// Scheme://host/.well-known/webfinger and returns the href of its rel="self" link of type
// application/activity+json (or ld+json with the AS2 profile). The request is unsigned:
// WebFinger is public everywhere. Both host and the actor's host must pass the partner policy.
//
// The answer is only a pointer: nothing about the actor is verified. Use Resolve to turn a
// handle into an actor.
func (c *Client) WebFinger(ctx context.Context, acct string) (string, error) {
	user, host, err := parseAcct(acct)
	if err != nil {
		return "", fmt.Errorf("fetch: webfinger %q: %w", acct, err)
	}
	f, err := c.finger(ctx, user, host)
	if err != nil {
		return "", fmt.Errorf("fetch: %w", err)
	}
	return f.self, nil
}

// Resolve turns a handle into a verified actor: WebFinger, Actor, then Mastodon's round trip
// (ActivityPub::ProcessAccountService#check_webfinger!): preferredUsername@<actor host> must
// WebFinger back to the actor's id. That lookup may answer with a subject on another domain
// (a server whose handles use example.com while the actors live on social.example.com); then
// the subject is looked up once more, must keep its subject (one hop, no chains) and must point
// to the actor too. Lookups already made are reused, so a handle on the actor's own host costs
// one WebFinger request.
//
// The actor returned is the one its own server vouches for, whatever handle was typed: show
// its preferredUsername and host, not the input.
func (c *Client) Resolve(ctx context.Context, acct string) (*activity.Actor, error) {
	user, host, err := parseAcct(acct)
	if err != nil {
		return nil, fmt.Errorf("fetch: resolve %q: %w", acct, err)
	}
	first, err := c.finger(ctx, user, host)
	if err != nil {
		return nil, fmt.Errorf("fetch: resolve %s@%s: %w", user, host, err)
	}
	_, a, err := c.actor(ctx, first.self)
	if err != nil {
		return nil, fmt.Errorf("fetch: resolve %s@%s: %w", user, host, err)
	}
	lookup := func(u, h string) (*finger, error) {
		if strings.EqualFold(u, user) && strings.EqualFold(h, host) {
			return first, nil
		}
		return c.finger(ctx, u, h)
	}
	if err := c.roundTrip(ctx, a, lookup); err != nil {
		return nil, fmt.Errorf("fetch: resolve %s@%s: %w", user, host, err)
	}
	return a, nil
}

// roundTrip is the check described at Resolve.
func (c *Client) roundTrip(ctx context.Context, a *activity.Actor, lookup func(user, host string) (*finger, error)) error {
	au, err := url.Parse(a.ID)
	if err != nil {
		return fmt.Errorf("%w: actor id %q", ErrBadDocument, a.ID)
	}
	user, host := a.PreferredUsername, strings.ToLower(au.Host)
	f, err := lookup(user, host)
	if err != nil {
		return fmt.Errorf("round trip: %w", err)
	}
	sUser, sHost, err := parseAcct(f.subject)
	if err != nil || (strings.EqualFold(sUser, user) && strings.EqualFold(sHost, host)) {
		// The subject confirms the handle (or says nothing usable; the self link decides).
		if f.self != a.ID {
			return fmt.Errorf("%w: %s@%s points to %s, not to %s", ErrOrigin, user, host, f.self, a.ID)
		}
		return nil
	}
	c.log.DebugContext(ctx, "fetch: webfinger canonical domain", "acct", user+"@"+host, "subject", sUser+"@"+sHost)
	g, err := lookup(sUser, sHost)
	if err != nil {
		return fmt.Errorf("round trip: %w", err)
	}
	if gUser, gHost, err := parseAcct(g.subject); err == nil && !(strings.EqualFold(gUser, sUser) && strings.EqualFold(gHost, sHost)) {
		return fmt.Errorf("%w: %s@%s redirects again, to %s@%s", ErrOrigin, sUser, sHost, gUser, gHost)
	}
	if g.self != a.ID {
		return fmt.Errorf("%w: %s@%s points to %s, not to %s", ErrOrigin, sUser, sHost, g.self, a.ID)
	}
	return nil
}

// finger does one WebFinger request for user@host.
func (c *Client) finger(ctx context.Context, user, host string) (*finger, error) {
	acct := user + "@" + host
	u := &url.URL{Scheme: c.scheme, Host: host, Path: "/.well-known/webfinger",
		RawQuery: url.Values{"resource": {"acct:" + acct}}.Encode()}
	if err := c.allow(ctx, u); err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", acct, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("webfinger %s: %w: %v", acct, ErrBadURL, err)
	}
	req.Header.Set("Accept", acceptJRD)
	resp, err := c.httpClient(false).Do(req)
	if err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", acct, requestError(u, err))
	}
	if err := checkStatus(resp); err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", acct, err)
	}
	// No Content-Type check: servers send jrd+json, json or nothing useful, and the answer is
	// only a pointer that Actor and the round trip verify.
	body, err := outbound.ReadLimited(resp, maxJRDBytes)
	if err != nil {
		if errors.Is(err, outbound.ErrTooLarge) || errors.Is(err, outbound.ErrContentEncoding) {
			return nil, fmt.Errorf("webfinger %s: %w: %w", acct, ErrBadDocument, err)
		}
		return nil, fmt.Errorf("webfinger %s: %w", acct, err)
	}
	var j jrd
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("webfinger %s: %w: %v", acct, ErrBadDocument, err)
	}
	for _, l := range j.Links {
		if l.Rel != "self" || !isActivityStreamsLink(l.Type) {
			continue
		}
		su, err := url.Parse(l.Href)
		if err != nil || checkHTTPURL(su) != nil {
			return nil, fmt.Errorf("webfinger %s: %w: self link %q is not an http(s) URL", acct, ErrBadDocument, l.Href)
		}
		if err := c.allow(ctx, su); err != nil {
			return nil, fmt.Errorf("webfinger %s: actor %s: %w", acct, l.Href, err)
		}
		return &finger{subject: j.Subject, self: l.Href}, nil
	}
	return nil, fmt.Errorf("webfinger %s: %w: no ActivityPub self link", acct, ErrBadDocument)
}

// isActivityStreamsLink accepts the link types Mastodon accepts for rel="self".
func isActivityStreamsLink(t string) bool {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	if mt == "application/ld+json" {
		return activity.IsMediaType(t, false)
	}
	return mt == "application/activity+json"
}

// parseAcct splits "user@host" (also "@user@host", "acct:user@host") and checks both parts:
// the user like a preferredUsername, the host as an ASCII host name with an optional port
// (internationalised names must be given in their xn-- form).
func parseAcct(s string) (user, host string, err error) {
	s = strings.TrimSpace(s)
	if len(s) >= 5 && strings.EqualFold(s[:5], "acct:") {
		s = s[5:]
	}
	s = strings.TrimPrefix(s, "@")
	user, host, ok := strings.Cut(s, "@")
	if !ok || user == "" || host == "" {
		return "", "", fmt.Errorf("%w: %q is not user@host", ErrBadURL, s)
	}
	if err := checkUsername(user); err != nil {
		return "", "", fmt.Errorf("%w: user: %w", ErrBadURL, err)
	}
	host = strings.ToLower(host)
	if !validHost(host) {
		return "", "", fmt.Errorf("%w: %q is not a host name", ErrBadURL, host)
	}
	return user, host, nil
}

// validHost accepts name or name:port with letters, digits, dots and dashes.
func validHost(h string) bool {
	name := h
	if strings.Contains(h, ":") {
		n, p, err := net.SplitHostPort(h)
		if err != nil || p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
			return false
		}
		name = n
	}
	if name == "" || len(name) > 253 || name[0] == '.' || name[0] == '-' || strings.Contains(name, "..") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}
