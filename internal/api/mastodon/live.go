package mastodon

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/realtime"
)

// Live renders committed events in Mastodon's shapes once and publishes them to the
// realtime hub: the streaming API and the browser's websocket carry the same events.
type Live struct {
	api *api
	hub *realtime.Hub
	log *slog.Logger
}

// NewLive makes the publisher (notify.Live) for a node.
func NewLive(d Deps, hub *realtime.Hub, log *slog.Logger) *Live {
	return &Live{api: newAPI(d), hub: hub, log: log}
}

func (l *Live) publish(stream, kind, account string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		l.log.Error("live: encode", "kind", kind, "err", err)
		return
	}
	l.hub.Publish(realtime.Event{Stream: stream, Kind: kind, Payload: b, AccountID: account})
}

// Notified sends the notification to its recipient, with the new unread count for badges.
func (l *Live) Notified(n *notify.Notification) {
	if !l.hub.Listening(realtime.StreamUser, n.AccountID) && !l.hub.Listening(realtime.StreamNotification, n.AccountID) {
		return // nobody connected: rendering and counting unread would be wasted
	}
	ctx := context.Background()
	u, err := l.api.Accounts.Get(ctx, n.AccountID)
	if err != nil {
		return
	}
	// Render as the recipient sees it; a throwaway fiber context is not needed: the entity
	// builder only needs the viewer and the base URL.
	list, err := l.api.notificationsFor(ctx, posts.ViewerOf(u), []notify.Notification{*n})
	if err != nil || len(list) == 0 {
		return
	}
	// The recipient's mutes, blocked domains and notification filters, as on the list.
	if list, err = l.api.screenNotifications(ctx, n.AccountID, list); err != nil || len(list) == 0 {
		return
	}
	// Streams are exact, as in Mastodon: "user" carries everything, "user:notification"
	// only notifications; a client on both ignores the repeat by id.
	l.publish(realtime.StreamUser, realtime.KindNotification, n.AccountID, list[0])
	l.publish(realtime.StreamNotification, realtime.KindNotification, n.AccountID, list[0])
	if count, err := l.api.Notify.Unread(ctx, n.AccountID); err == nil {
		l.publish(realtime.StreamUser, realtime.KindBadge, n.AccountID, fiber.Map{"notifications": count})
	}
}

// NotifiedMany sends one event's notifications to many people, rendered once: the rendering
// carries a placeholder id that each recipient's copy replaces with their notification's id.
// Recipients' badges count up on the client (no per-person unread query).
func (l *Live) NotifiedMany(ns []*notify.Notification) {
	if len(ns) == 0 {
		return
	}
	ctx := context.Background()
	first, err := l.api.Accounts.Lookup(ctx, ns[0].AccountID)
	if err != nil {
		return
	}
	const placeholder = "ATRIUMNOTIFICATIONID"
	tmpl := *ns[0]
	tmpl.ID = placeholder
	list, err := l.api.notificationsFor(ctx, posts.ViewerOf(first), []notify.Notification{tmpl})
	if err != nil || len(list) == 0 {
		return
	}
	if g, ok := list[0]["group"].(Group); ok {
		// The membership is the first recipient's (their role); the others fetch their own.
		g.Membership = nil
		list[0]["group"] = g
	}
	b, err := json.Marshal(list[0])
	if err != nil {
		return
	}
	for _, n := range ns {
		if !l.hub.Listening(realtime.StreamUser, n.AccountID) && !l.hub.Listening(realtime.StreamNotification, n.AccountID) {
			continue
		}
		own := b
		if screened, err := l.api.screenNotifications(ctx, n.AccountID, []fiber.Map{maps.Clone(list[0])}); err != nil || len(screened) == 0 {
			continue // muted, a blocked domain, or a hide filter
		} else if st, ok := screened[0]["status"].(Status); ok && len(st.Filtered) > 0 {
			if own, err = json.Marshal(screened[0]); err != nil {
				continue
			}
		}
		payload := bytes.ReplaceAll(own, []byte(placeholder), []byte(n.ID))
		l.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindNotification, Payload: payload, AccountID: n.AccountID})
		l.hub.Publish(realtime.Event{Stream: realtime.StreamNotification, Kind: realtime.KindNotification, Payload: payload, AccountID: n.AccountID})
	}
}

// PostPublished sends a new post or share to the home streams of the people whose feed
// received it, and to the company, public and hashtag streams its audience allows.
func (l *Live) PostPublished(p *posts.Post, feedAccounts []string) {
	if !l.anyListening(p, feedAccounts) {
		return // nobody connected who would receive it: skip the rendering
	}
	ctx := context.Background()
	st, b, err := l.render(ctx, p)
	if err != nil {
		return
	}
	for _, id := range feedAccounts {
		if own := l.screened(ctx, id, "home", st, b); own != nil {
			l.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindUpdate, Payload: own, AccountID: id})
		}
	}
	if p.ReblogOfID != nil || p.InReplyToID != nil {
		return
	}
	switch p.Audience {
	case posts.Public:
		l.hub.Publish(realtime.Event{Stream: realtime.StreamPublic, Kind: realtime.KindUpdate, Payload: b})
		l.hub.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: b})
		for _, t := range p.Tags {
			l.hub.Publish(realtime.Event{Stream: realtime.HashtagStream(t), Kind: realtime.KindUpdate, Payload: b})
		}
	case posts.Company:
		// Only people signed in on this node can subscribe, so the local streams are safe.
		l.hub.Publish(realtime.Event{Stream: realtime.StreamPublicLocal, Kind: realtime.KindUpdate, Payload: b})
		for _, t := range p.Tags {
			l.hub.Publish(realtime.Event{Stream: realtime.LocalHashtagStream(t), Kind: realtime.KindUpdate, Payload: b})
		}
	}
}

// anyListening reports whether PostPublished would reach anyone: a person whose feed got
// the post, or a reader of a shared stream it goes to.
func (l *Live) anyListening(p *posts.Post, feedAccounts []string) bool {
	for _, id := range feedAccounts {
		if l.hub.Listening(realtime.StreamUser, id) {
			return true
		}
	}
	if p.ReblogOfID != nil || p.InReplyToID != nil {
		return false
	}
	var shared []string
	switch p.Audience {
	case posts.Public:
		shared = []string{realtime.StreamPublic, realtime.StreamPublicLocal}
		for _, t := range p.Tags {
			shared = append(shared, realtime.HashtagStream(t))
		}
	case posts.Company:
		shared = []string{realtime.StreamPublicLocal}
		for _, t := range p.Tags {
			shared = append(shared, realtime.LocalHashtagStream(t))
		}
	}
	for _, st := range shared {
		if l.hub.Listening(st, "") {
			return true
		}
	}
	return false
}

// Connected lists the people with an open home stream, when there are at most max of them.
func (l *Live) Connected(max int) ([]string, bool) {
	return l.hub.ListeningAccounts(realtime.StreamUser, max)
}

// liveLookupMax bounds the connected people a post's audience is looked up among (as in
// notify): beyond it, the whole audience is read and Publish skips those not connected.
const liveLookupMax = 256

// PostDeleted tells the people whose feeds held a post (or its thread) that it is gone.
func (l *Live) PostDeleted(p *posts.Post, feedAccounts []string) {
	for _, id := range feedAccounts {
		l.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindDelete, Payload: []byte(p.ID), AccountID: id})
	}
}

// PostChanged tells the people who can see a post about an edit, a new comment or a
// deletion, so open pages update in place.
func (l *Live) PostChanged(p *posts.Post, deleted bool) {
	ctx := context.Background()
	// The thread's root decides who may see the change (comments share its audience).
	root := p
	if p.ThreadID != p.ID {
		root = &posts.Post{}
		if err := l.api.Posts.DB.NewSelect().Model(root).Where("id = ?", p.ThreadID).Scan(ctx); err != nil {
			return
		}
	}
	// Only connected people can receive the event: look for them among the audience rather
	// than reading all of it (a reaction to a post with 300 followers read all 300).
	var audience []string
	var err error
	if connected, complete := l.Connected(liveLookupMax); complete {
		audience, err = l.api.Posts.FeedAudienceAmong(ctx, l.api.Posts.DB, root, connected)
	} else {
		audience, err = l.api.Posts.FeedAudience(ctx, l.api.Posts.DB, root)
	}
	if err != nil {
		return
	}
	if len(audience) == 0 {
		return // nobody connected who would receive it: skip the rendering
	}
	if deleted {
		for _, id := range audience {
			l.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: realtime.KindDelete, Payload: []byte(p.ID), AccountID: id})
		}
		return
	}
	st, b, err := l.render(ctx, p)
	if err != nil {
		return
	}
	kind := realtime.KindStatusUpdate
	for _, id := range audience {
		// "thread": an edit or comment updates an open thread as well as the feed.
		if own := l.screened(ctx, id, "thread", st, b); own != nil {
			l.hub.Publish(realtime.Event{Stream: realtime.StreamUser, Kind: kind, Payload: own, AccountID: id})
		}
	}
}

// render is a post as every viewer sees it: rendered for its author, without the author's own
// reaction, share and bookmark marks (a live event goes to many people at once).
func (l *Live) render(ctx context.Context, p *posts.Post) (*Status, []byte, error) {
	author, err := l.api.Accounts.Lookup(ctx, p.AuthorID)
	if err != nil {
		return nil, nil, err
	}
	st, err := l.api.status(ctx, posts.ViewerOf(author), p)
	if err != nil {
		return nil, nil, err
	}
	// The author's own marks are theirs, not the recipients'.
	st.Reblogged, st.Favourited, st.Bookmarked, st.Pinned, st.Muted = false, false, false, false, false
	b, err := json.Marshal(st)
	return &st, b, err
}

// screened is what a status event carries to one recipient, as their timeline page would
// show it (filters.go): the shared rendering, a copy marked `filtered` when a warn filter
// matches, or nil when their mutes, blocked domains, exclusive lists or a hide filter leave
// it out. Only connected recipients are screened; their screens are cached (screencache.go),
// so an event costs no query for people whose screen was built in the last 10 s.
func (l *Live) screened(ctx context.Context, accountID, context string, st *Status, shared []byte) []byte {
	if l.api.Filters == nil || !l.hub.Listening(realtime.StreamUser, accountID) {
		return shared
	}
	s, err := l.api.cachedScreenFor(ctx, accountID, context, true)
	if err != nil {
		l.log.Warn("live: screen", "account", accountID, "err", err)
		return shared // filters and mutes are preferences; the event is still the viewer's to see
	}
	if s.hidesAccount(&st.Account) || (st.Reblog != nil && s.hidesAccount(&st.Reblog.Account)) {
		return nil
	}
	if context == "home" && s.exclusive[st.Account.ID] {
		return nil // read on its exclusive list instead
	}
	if s.matcher.Empty() {
		return shared
	}
	own := *st // apply marks what it matches: never on the shared rendering
	if own.Reblog != nil {
		orig := *own.Reblog
		own.Reblog = &orig
	}
	if s.apply(&own) {
		return nil
	}
	if len(own.Filtered) == 0 && (own.Reblog == nil || len(own.Reblog.Filtered) == 0) {
		return shared
	}
	b, err := json.Marshal(own)
	if err != nil {
		return nil
	}
	return b
}
