package activity

import (
	"mime"
	"slices"
	"strings"
)

// Profile is the ActivityStreams profile that makes application/ld+json mean AS2.
const Profile = "https://www.w3.org/ns/activitystreams"

// IsMediaType is Mastodon's test of a document's Content-Type
// (JsonLdHelper#valid_activitypub_content_type?): application/activity+json, or
// application/ld+json with the AS2 profile. With lenient, application/ld+json without a
// profile passes too (what some servers POST to inboxes); fetched documents are held to the
// strict rule, so a user-uploaded .json on a partner's media host never passes for a document.
func IsMediaType(ct string, lenient bool) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		return slices.Contains(strings.Fields(params["profile"]), Profile) || lenient && params["profile"] == ""
	}
	return false
}
