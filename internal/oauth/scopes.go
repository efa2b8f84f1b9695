package oauth

import (
	"strings"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
)

// scopeWords are Mastodon's scopes (4.3) with what each lets an app do, in the words the
// consent page shows. The order is the order of scopes_supported and of the consent list.
var scopeWords = [][2]string{
	{"read", "read everything you can see: posts, people, notifications, lists and more"},
	{"write", "post, edit and delete as you, react, upload files and change your profile"},
	{"follow", "follow and unfollow people, and manage your blocks and mutes"},
	{"push", "send you push notifications"},
	{"profile", "see your basic profile"},
	{"read:accounts", "see people's profiles and your own"},
	{"read:blocks", "see whom you block"},
	{"read:bookmarks", "see your bookmarks"},
	{"read:favourites", "see the posts you reacted to"},
	{"read:filters", "see your filters"},
	{"read:follows", "see whom you follow"},
	{"read:lists", "see your lists"},
	{"read:mutes", "see whom you mute"},
	{"read:notifications", "see your notifications"},
	{"read:search", "search as you"},
	{"read:statuses", "see the posts you can see"},
	{"write:accounts", "change your profile"},
	{"write:blocks", "block and unblock people"},
	{"write:bookmarks", "bookmark posts"},
	{"write:conversations", "manage your conversations"},
	{"write:favourites", "react to posts"},
	{"write:filters", "change your filters"},
	{"write:follows", "follow and unfollow people"},
	{"write:lists", "change your lists"},
	{"write:media", "upload files"},
	{"write:mutes", "mute and unmute people"},
	{"write:notifications", "dismiss your notifications"},
	{"write:reports", "report posts and people"},
	{"write:statuses", "post, edit and delete posts as you"},
	{"admin:read", "read all administrative data (administrators only)"},
	{"admin:write", "take any administrative action (administrators only)"},
	{"admin:read:accounts", "read administrative data about accounts"},
	{"admin:read:reports", "read reports"},
	{"admin:read:domain_allows", "read allowed domains"},
	{"admin:read:domain_blocks", "read blocked domains"},
	{"admin:read:ip_blocks", "read blocked addresses"},
	{"admin:read:email_domain_blocks", "read blocked e-mail domains"},
	{"admin:read:canonical_email_blocks", "read blocked e-mail addresses"},
	{"admin:write:accounts", "moderate accounts"},
	{"admin:write:reports", "handle reports"},
	{"admin:write:domain_allows", "change allowed domains"},
	{"admin:write:domain_blocks", "change blocked domains"},
	{"admin:write:ip_blocks", "change blocked addresses"},
	{"admin:write:email_domain_blocks", "change blocked e-mail domains"},
	{"admin:write:canonical_email_blocks", "change blocked e-mail addresses"},
}

// Scopes lists every scope this server knows, for the metadata document.
func Scopes() []string {
	out := make([]string, len(scopeWords))
	for i, w := range scopeWords {
		out[i] = w[0]
	}
	return out
}

// Scope is one granted scope and what it allows, for the consent and settings pages.
type Scope struct {
	Name  string
	Words string
}

// Describe turns a space-separated scope list into words, in the list's order.
func Describe(scopes string) []Scope {
	var out []Scope
	for _, sc := range strings.Fields(scopes) {
		for _, w := range scopeWords {
			if w[0] == sc {
				out = append(out, Scope{Name: sc, Words: w[1]})
			}
		}
	}
	return out
}

func knownScope(sc string) bool {
	for _, w := range scopeWords {
		if w[0] == sc {
			return true
		}
	}
	return false
}

// parseScopes validates a scope list as apps send it (spaces, or '+' from hand-built URLs
// that were not decoded) and returns it deduplicated; empty means def, as Mastodon does.
func parseScopes(v, def string) (string, error) {
	seen := map[string]bool{}
	var out []string
	for _, sc := range strings.Fields(strings.NewReplacer("+", " ", ",", " ").Replace(v)) {
		if !knownScope(sc) {
			return "", oauthErr(InvalidScope, errs.Invalid, "%q is not a scope this server knows", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return def, nil
	}
	return strings.Join(out, " "), nil
}

// within reports whether every scope in want is covered by allowed, following Mastodon's
// hierarchy (an app registered for "read" may ask for "read:statuses").
func within(want, allowed string) (string, bool) {
	for _, sc := range strings.Fields(want) {
		if !accounts.HasScope(allowed, sc) {
			return sc, false
		}
	}
	return "", true
}
