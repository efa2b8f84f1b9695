package groupfed

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
)

// Mastodon and GoToSocial ignore Announce{Create} and drop boosts of non-public posts
// (FEDERATION.md §3.2), so their people, following an open or closed group, would see
// nothing. For them the group writes its own followers-only copy of each post (the "compat
// relay" of §3.3): a Note attributed to the group, addressed to its followers, naming the
// author and mentioning the group, so replies come back to it. Atrium nodes get the
// Announce only, and a host whose software is unknown gets both: Atrium ignores the copy
// and Mastodon the Announce, so nobody misses a post while a NodeInfo lookup fails.

// softwareTTL is how long a host's NodeInfo answer is trusted.
const softwareTTL = 7 * 24 * time.Hour

// unknownTTL is how soon a host that did not answer is asked again.
const unknownTTL = time.Hour

type peerSoftware struct {
	bun.BaseModel `bun:"table:peer_software"`

	Host      string    `bun:"host,pk"`
	Software  string    `bun:"software"`
	CheckedAt time.Time `bun:"checked_at"`
}

// software returns the lower-case software name the host at origin (scheme://host[:port])
// reports in NodeInfo, "" when it did not say.
func (f *Fed) software(ctx context.Context, origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Host)
	var row peerSoftware
	err = f.DB.NewSelect().Model(&row).Where("host = ?", host).Scan(ctx)
	now := f.Clock.Now()
	if err == nil {
		ttl := softwareTTL
		if row.Software == "" {
			ttl = unknownTTL
		}
		if now.Sub(row.CheckedAt) < ttl {
			return row.Software
		}
	}
	name := f.nodeInfo(ctx, u.Scheme+"://"+u.Host)
	row = peerSoftware{Host: host, Software: name, CheckedAt: now}
	if _, err := f.DB.NewInsert().Model(&row).On("CONFLICT (host) DO UPDATE").Set("software = EXCLUDED.software").
		Set("checked_at = EXCLUDED.checked_at").Exec(ctx); err != nil {
		f.Log.Warn("groupfed: remember peer software", "host", host, "err", err)
	}
	return name
}

// nodeInfo reads software.name through the well-known NodeInfo links (any 2.x schema).
func (f *Fed) nodeInfo(ctx context.Context, origin string) string {
	if f.HTTP == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, _, err := f.HTTP.GetBody(ctx, origin+"/.well-known/nodeinfo", "application/json")
	if err != nil {
		f.Log.Debug("groupfed: nodeinfo links", "origin", origin, "err", err)
		return ""
	}
	var links struct {
		Links []struct{ Rel, Href string } `json:"links"`
	}
	if json.Unmarshal(body, &links) != nil {
		return ""
	}
	for _, l := range links.Links {
		if !strings.HasPrefix(l.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") {
			continue
		}
		// The document must live on the host asked: a link elsewhere could name anything.
		if h, err := url.Parse(l.Href); err != nil || !strings.EqualFold(h.Scheme+"://"+h.Host, origin) {
			continue
		}
		doc, _, err := f.HTTP.GetBody(ctx, l.Href, "application/json")
		if err != nil {
			return ""
		}
		var ni struct {
			Software struct{ Name string } `json:"software"`
		}
		if json.Unmarshal(doc, &ni) != nil {
			return ""
		}
		name := strings.ToLower(strings.TrimSpace(ni.Software.Name))
		if len(name) > 50 {
			name = name[:50]
		}
		return name
	}
	return ""
}

// splitInboxes sorts the member nodes' inboxes: Atrium nodes get the Announce, others the
// group's copy, unknown ones both.
func (f *Fed) splitInboxes(ctx context.Context, inboxes []string) (announce, relay []string) {
	for _, in := range inboxes {
		u, err := url.Parse(in)
		if err != nil {
			continue
		}
		switch f.software(ctx, u.Scheme+"://"+u.Host) {
		case "atrium":
			announce = append(announce, in)
		case "":
			announce, relay = append(announce, in), append(relay, in)
		default:
			relay = append(relay, in)
		}
	}
	return announce, relay
}

// relayID is the id of the group's copy of a post: stable, so edits and deletions of the
// post reach the same copy, and a reply to the copy can be traced back to the post.
func relayID(g *groups.Group, postID string) string { return g.URI + "/relay/" + postID }

// relayedPost returns the post id a relay copy of a group hosted here stands for.
func (f *Fed) relayedPost(ctx context.Context, uri string) (string, *groups.Group) {
	rest, ok := strings.CutPrefix(uri, f.base(ctx)+"/groups/")
	if !ok {
		return "", nil
	}
	handle, postID, ok := strings.Cut(rest, "/relay/")
	if !ok || postID == "" || strings.ContainsAny(postID, "/#?") {
		return "", nil
	}
	g, err := f.local(ctx, handle)
	if err != nil || g == nil {
		return "", nil
	}
	return postID, g
}

// relayNote writes the group's copy of a post.
func (f *Fed) relayNote(ctx context.Context, g *groups.Group, p *posts.Post, n *activity.Note, author *accounts.User) *activity.Note {
	c := f.conv(ctx)
	r := *n
	r.ID, r.AttributedTo, r.Audience = relayID(g, p.ID), g.URI, g.URI
	r.To, r.Cc = []string{g.URI + "/followers"}, nil
	r.URL = f.base(ctx) + "/posts/" + p.ID
	if p.InReplyToID != nil {
		r.InReplyTo = relayID(g, *p.InReplyToID)
	}
	name := author.DisplayName
	if name == "" {
		name = author.Username
	}
	profile := c.ActorURI(author)
	if author.IsRemote() && author.Remote.URL != "" {
		profile = author.Remote.URL
	}
	r.Content = fmt.Sprintf(`<p><a href="%s">%s</a> (@%s) in %s:</p>%s`, html.EscapeString(profile), html.EscapeString(name),
		html.EscapeString(c.Acct(author)), html.EscapeString(g.DisplayName), n.Content)
	r.ContentMap = nil
	r.DirectMessage = false
	return &r
}

// sendRelay sends the group's copy of a post (kind create, update or delete) to inboxes.
func (f *Fed) sendRelay(ctx context.Context, g *groups.Group, p *posts.Post, n *activity.Note, author *accounts.User, kind string, at time.Time, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	r := f.relayNote(ctx, g, p, n, author)
	c := f.conv(ctx)
	var a *activity.Activity
	switch kind {
	case "create":
		a = c.Create(r)
		a.Actor = g.URI
	case "update":
		a = c.Update(r, g.URI, at)
		a.To = r.To
	case "delete":
		a = activity.NewDelete(r.ID+"#delete", g.URI, &activity.Tombstone{ID: r.ID})
		a.To = r.To
	}
	return f.fromGroup(ctx, g, a, r.ID, inboxes)
}
