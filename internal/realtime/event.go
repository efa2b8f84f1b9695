package realtime

import "strings"

// Event is one live update. Publishers encode the payload once; every matching subscriber
// receives the same bytes, so fan-out to a thousand clients costs no extra encoding.
type Event struct {
	// Stream names the timeline: "user", "user:notification", "direct", "public",
	// "public:local", "hashtag:go", "list:<id>". Build hashtag and list names with
	// HashtagStream, LocalHashtagStream and ListStream so publishers and subscribers agree.
	Stream string
	// Kind is the Mastodon event name: "update", "notification", "delete", "status.update",
	// "conversation", "announcement", or an Atrium extension such as "atrium.badge".
	Kind string
	// Payload is exactly what Mastodon carries as the event's payload: a JSON document for
	// most kinds, the bare status id for "delete". Subscribers must not modify it: it is
	// shared by every recipient.
	Payload []byte
	// AccountID says whose per-user stream (user, user:notification, direct, list) this is.
	// It is ignored for shared streams (public, hashtag).
	AccountID string
}

// Stream names. Per-user streams only reach subscriptions of the event's AccountID; the
// others reach every subscription to that name.
const (
	StreamUser         = "user"
	StreamNotification = "user:notification"
	StreamDirect       = "direct"
	StreamPublic       = "public"
	StreamPublicLocal  = "public:local"
	StreamPublicRemote = "public:remote"
)

// Event kinds, as Mastodon names them (plus Atrium's namespaced extensions, which Mastodon
// clients ignore).
const (
	KindUpdate       = "update"
	KindNotification = "notification"
	KindDelete       = "delete"
	KindStatusUpdate = "status.update"
	KindConversation = "conversation"
	KindAnnouncement = "announcement"
	KindBadge        = "atrium.badge"
)

// HashtagStream is the stream of public posts tagged tag (any case, with or without '#').
func HashtagStream(tag string) string { return "hashtag:" + normalizeTag(tag) }

// LocalHashtagStream is HashtagStream restricted to this organisation's own posts.
func LocalHashtagStream(tag string) string { return "hashtag:local:" + normalizeTag(tag) }

// ListStream is the per-user stream of one of the owner's lists.
func ListStream(listID string) string { return "list:" + listID }

// normalizeTag folds case as Mastodon does, so #Go and #go are one stream.
func normalizeTag(tag string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(tag), "#"))
}

// PerUser reports whether stream is private to one account, and so routed by AccountID.
func PerUser(stream string) bool {
	switch stream {
	case StreamUser, StreamNotification, StreamDirect:
		return true
	}
	return strings.HasPrefix(stream, "list:")
}

// routeKey is the index key: a per-user stream is keyed by (stream, account), a shared one by
// (stream, ""). A struct key spares Publish a string concatenation per call.
type routeKey struct{ stream, account string }

func routeFor(stream, account string) (routeKey, bool) {
	if stream == "" {
		return routeKey{}, false
	}
	if PerUser(stream) {
		if account == "" {
			return routeKey{}, false // nobody owns it: it could only leak
		}
		return routeKey{stream, account}, true
	}
	return routeKey{stream: stream}, true
}
