package app_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/previews"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// ---- The checker ----------------------------------------------------------------------

// conformanceCheck compares a decoded JSON value (decoded with UseNumber) with a type of the
// notation in conformance_entities_test.go and returns one line per problem: a required
// attribute missing, a value of the wrong type. Nested entities and arrays are followed;
// attributes the table does not know are allowed.
func conformanceCheck(v any, typ, path string) []string {
	var out []string
	checkValue(v, typ, path, &out)
	return out
}

func checkValue(v any, typ, path string, out *[]string) {
	bad := func(format string, args ...any) {
		*out = append(*out, fmt.Sprintf("%s: ", path)+fmt.Sprintf(format, args...))
	}
	if strings.HasPrefix(typ, "?") {
		if v == nil {
			return
		}
		typ = typ[1:]
	}
	if v == nil {
		bad("null, want %s", typ)
		return
	}
	if strings.HasPrefix(typ, "[]") {
		arr, ok := v.([]any)
		if !ok {
			bad("%s, want an array of %s", describe(v), typ[2:])
			return
		}
		for i, e := range arr {
			checkValue(e, typ[2:], fmt.Sprintf("%s[%d]", path, i), out)
		}
		return
	}
	if alts := strings.Split(typ, "|"); len(alts) > 1 {
		for _, alt := range alts {
			if len(conformanceCheck(v, alt, path)) == 0 {
				return
			}
		}
		bad("%s, want %s", describe(v), typ)
		return
	}
	if _, ok := mastodonEntities[typ]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			bad("%s, want a %s hash", describe(v), typ)
			return
		}
		for _, a := range entityAttrs(typ) {
			val, present := m[a.Name]
			if !present {
				if attrRequired(a) {
					bad("%s.%s missing (%s, %s)", typ, a.Name, a.Type, mastodonEntities[typ].Source)
				}
				continue
			}
			checkValue(val, a.Type, path+"."+a.Name, out)
		}
		return
	}
	s, isStr := v.(string)
	switch typ {
	case "any":
	case "hash":
		if _, ok := v.(map[string]any); !ok {
			bad("%s, want a hash", describe(v))
		}
	case "string":
		if !isStr {
			bad("%s, want a string", describe(v))
		}
	case "id":
		if !isStr || s == "" {
			bad("%s, want an id (a non-empty string)", describe(v))
		}
	case "url":
		u, err := url.Parse(s)
		// ws(s) for the streaming API's URL.
		if !isStr || err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("%s, want an absolute URL", describe(v))
		}
	case "datetime":
		if _, err := time.Parse(time.RFC3339Nano, s); !isStr || err != nil {
			bad("%s, want an ISO 8601 datetime", describe(v))
		}
	case "date":
		_, err1 := time.Parse(time.RFC3339Nano, s)
		_, err2 := time.Parse("2006-01-02", s)
		if !isStr || (err1 != nil && err2 != nil) {
			bad("%s, want an ISO 8601 date", describe(v))
		}
	case "intstr":
		if _, err := strconv.ParseInt(s, 10, 64); !isStr || err != nil {
			bad("%s, want a string holding an integer", describe(v))
		}
	case "int":
		n, ok := v.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
			bad("%s, want an integer", describe(v))
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			bad("%s, want a number", describe(v))
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			bad("%s, want a boolean", describe(v))
		}
	default:
		bad("the table has no type %q", typ)
	}
}

// entityAttrs lists an entity's attributes, those of the entity it extends first; a later
// attribute of the same name replaces the earlier (CredentialApplication's client_id).
func entityAttrs(name string) []attr {
	e := mastodonEntities[name]
	var out []attr
	if e.Extends != "" {
		out = entityAttrs(e.Extends)
	}
	for _, a := range e.Attrs {
		replaced := false
		for i := range out {
			if out[i].Name == a.Name {
				out[i], replaced = a, true
			}
		}
		if !replaced {
			out = append(out, a)
		}
	}
	return out
}

// attrRequired: neither optional nor added after the version we announce.
func attrRequired(a attr) bool {
	switch {
	case a.Opt == "":
		return true
	case strings.HasPrefix(a.Opt, "since "):
		return !versionAfter(strings.TrimPrefix(a.Opt, "since "), ourVersion)
	}
	return false
}

func versionAfter(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x > y
		}
	}
	return len(pa) > len(pb)
}

func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return fmt.Sprintf("string %q", t)
	case json.Number:
		return "number " + string(t)
	case bool:
		return fmt.Sprintf("boolean %v", t)
	case []any:
		return fmt.Sprintf("array of %d", len(t))
	case map[string]any:
		return "hash"
	}
	return fmt.Sprintf("%T", v)
}

// TestConformanceChecker: the checker itself finds what it should, so a passing suite means
// something.
func TestConformanceChecker(t *testing.T) {
	decodeN := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := `{"id":"1","title":"t","context":["home"],"expires_at":null,"filter_action":"warn","atrium":{"x":1},
		"keywords":[{"id":"2","keyword":"k","whole_word":true}]}`
	if p := conformanceCheck(decodeN(good), "Filter", "$"); len(p) != 0 {
		t.Errorf("a good filter: %v", p)
	}
	for _, c := range []struct{ json, typ, want string }{
		{`{"id":1,"title":"t","context":[],"expires_at":null,"filter_action":"warn"}`, "Filter", "$.id: number 1, want an id"},
		{`{"id":"1","context":[],"expires_at":null,"filter_action":"warn"}`, "Filter", "$: Filter.title missing"},
		{`{"id":"1","title":"t","context":[],"expires_at":"yesterday","filter_action":"warn"}`, "Filter", "$.expires_at: string \"yesterday\", want an ISO 8601 datetime"},
		{`{"id":"1","title":"t","context":[],"expires_at":null,"filter_action":"warn","keywords":[{"id":"2","keyword":"k","whole_word":"no"}]}`,
			"Filter", "$.keywords[0].whole_word: string \"no\", want a boolean"},
		{`{"id":"1","title":"t","context":null,"expires_at":null,"filter_action":"warn"}`, "Filter", "$.context: null, want []string"},
		{`{"name":"x","url":"/tags/x","history":[]}`, "Tag", "$.url: string \"/tags/x\", want an absolute URL"},
		{`{"count":1.5}`, "UnreadCount", "$.count: number 1.5, want an integer"},
		{`[{"count":"1"}]`, "[]UnreadCount", "$[0].count: string \"1\", want an integer"},
	} {
		p := conformanceCheck(decodeN(c.json), c.typ, "$")
		if len(p) == 0 || !strings.HasPrefix(p[0], c.want) {
			t.Errorf("%s as %s: %v, want %q", c.json, c.typ, p, c.want)
		}
	}
	// Every type the table names is known.
	for name, e := range mastodonEntities {
		for _, a := range entityAttrs(name) {
			for _, part := range strings.Split(strings.TrimLeft(a.Type, "?[]"), "|") {
				part = strings.TrimLeft(part, "?[]")
				switch part {
				case "any", "hash", "string", "id", "url", "datetime", "date", "intstr", "int", "number", "bool":
				default:
					if _, ok := mastodonEntities[part]; !ok {
						t.Errorf("%s.%s: unknown type %q (%s)", name, a.Name, part, e.Source)
					}
				}
			}
		}
	}
}

// ---- The endpoints ----------------------------------------------------------------------

// call is one request of the suite. Paths name the fixtures in braces ({status}); as is the
// caller ("alice" when empty; "bob", "admin", "app" for the OAuth app's token, "anon").
type call struct {
	method, path string
	body         map[string]any
	entity       string // the Mastodon entity answered ("string" for domain blocks)
	array        bool
	as           string
	code         int // 200 when 0
	// known names a difference we keep on purpose (a design question): the problems are
	// logged, not failed, so the lead sees them.
	known string
	// save keeps the answer's id as the fixture of that name, for later lines.
	save string
	// empty says why an empty list is the right answer here (otherwise an empty list
	// fails: it checks nothing).
	empty string
}

// knownGaps are single problems (by their text's start) not fixed yet, with the reason:
// logged, not failed.
// (None today: the extended description's updated_at, the last one, is now the time the
// organisation's description changed.)
var knownGaps = map[string]string{}

// mastodonCalls: every Mastodon endpoint we implement, in an order that leaves fixtures in
// place for later lines (destructive calls come last). Adding an endpoint is one line.
var mastodonCalls = []call{
	// Instance and bootstrap
	{method: "GET", path: "/api/v1/instance", entity: "V1::Instance", as: "anon"},
	{method: "GET", path: "/api/v2/instance", entity: "Instance", as: "anon"},
	{method: "GET", path: "/api/v1/instance/rules", entity: "Rule", array: true, as: "anon", empty: "no server rules are configured"},
	{method: "GET", path: "/api/v1/custom_emojis", entity: "CustomEmoji", array: true, as: "anon", empty: "Atrium has no custom emoji"},
	{method: "GET", path: "/api/v1/preferences", entity: "Preferences"},
	{method: "GET", path: "/api/v1/markers?timeline[]=home&timeline[]=notifications", entity: "Markers"},
	{method: "POST", path: "/api/v1/markers", body: map[string]any{"notifications": map[string]any{"last_read_id": "{notification}"}}, entity: "Markers"},
	{method: "GET", path: "/api/v1/announcements", entity: "Announcement", array: true},

	// Accounts
	{method: "GET", path: "/api/v1/accounts/verify_credentials", entity: "CredentialAccount"},
	{method: "PATCH", path: "/api/v1/accounts/update_credentials", body: map[string]any{"note": "Builds things"}, entity: "CredentialAccount"},
	{method: "DELETE", path: "/api/v1/profile/header", entity: "CredentialAccount"},
	{method: "GET", path: "/api/v1/accounts/{bob}", entity: "Account"},
	{method: "GET", path: "/api/v1/accounts/lookup?acct=bob", entity: "Account"},
	{method: "GET", path: "/api/v1/accounts/relationships?id[]={bob}&id[]={carol}", entity: "Relationship", array: true},
	{method: "GET", path: "/api/v1/accounts/{bob}/followers", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/accounts/{bob}/following", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/accounts/{alice}/statuses", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/accounts/{alice}/featured_tags", entity: "FeaturedTag", array: true},
	{method: "GET", path: "/api/v1/accounts/{bob}/lists", entity: "List", array: true},
	{method: "POST", path: "/api/v1/accounts/{bob}/follow", entity: "Relationship"},
	{method: "POST", path: "/api/v1/accounts/{bob}/pin", entity: "Relationship"},
	{method: "GET", path: "/api/v1/endorsements", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/follow_requests", entity: "Account", array: true, empty: "Atrium accounts are never locked"},
	{method: "GET", path: "/api/v1/mutes", entity: "MutedAccount", array: true},
	{method: "GET", path: "/api/v1/blocks", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/domain_blocks", entity: "string", array: true},
	{method: "GET", path: "/api/v1/suggestions", entity: "Account", array: true},
	{method: "GET", path: "/api/v2/suggestions", entity: "Suggestion", array: true},

	// Statuses
	{method: "GET", path: "/api/v1/statuses/{status}", entity: "Status"},
	{method: "GET", path: "/api/v1/statuses/{status}", entity: "Status", as: "anon"},
	{method: "GET", path: "/api/v1/statuses/{reply}", entity: "Status"},
	{method: "GET", path: "/api/v1/statuses/{poll_status}", entity: "Status"},
	{method: "GET", path: "/api/v1/statuses/{status}/context", entity: "Context"},
	{method: "GET", path: "/api/v1/statuses/{status}/history", entity: "StatusEdit", array: true},
	{method: "GET", path: "/api/v1/statuses/{status}/source", entity: "StatusSource"},
	{method: "GET", path: "/api/v1/statuses/{status}/favourited_by", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/statuses/{status}/reblogged_by", entity: "Account", array: true},
	{method: "POST", path: "/api/v1/statuses", body: map[string]any{"status": "Conformance #golang @bob", "visibility": "public"}, entity: "Status"},
	{method: "POST", path: "/api/v1/statuses", body: map[string]any{"status": "Later", "scheduled_at": "{in_an_hour}"}, entity: "ScheduledStatus"},
	{method: "PUT", path: "/api/v1/statuses/{status}", body: map[string]any{"status": "Edited again #golang @bob", "media_ids": []string{"{media}"}}, entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/favourite", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/reblog", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/bookmark", entity: "Status"},
	{method: "GET", path: "/api/v1/favourites", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/bookmarks", entity: "Status", array: true},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/unbookmark", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/unreblog", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{bob_status}/unfavourite", entity: "Status"},
	{method: "GET", path: "/api/v1/polls/{poll}", entity: "Poll"},
	{method: "POST", path: "/api/v1/polls/{poll}/votes", body: map[string]any{"choices": []string{"1"}}, entity: "Poll", as: "carol"},

	// Media
	{method: "POST", path: "/api/v2/media", entity: "MediaAttachment", save: "media2"}, // multipart, see fixtures.do
	{method: "POST", path: "/api/v1/media", entity: "MediaAttachment"},
	{method: "GET", path: "/api/v1/media/{media2}", entity: "MediaAttachment"},
	{method: "PUT", path: "/api/v1/media/{media2}", body: map[string]any{"description": "A gradient"}, entity: "MediaAttachment"},

	// Timelines
	{method: "GET", path: "/api/v1/timelines/home", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/timelines/public", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/timelines/public", entity: "Status", array: true, as: "anon"},
	{method: "GET", path: "/api/v1/timelines/tag/golang", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/timelines/list/{list}", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/timelines/group/{group}", entity: "Status", array: true},

	// Notifications
	{method: "GET", path: "/api/v1/notifications", entity: "Notification", array: true},
	{method: "GET", path: "/api/v1/notifications/{notification}", entity: "Notification"},
	{method: "GET", path: "/api/v1/notifications/unread_count", entity: "UnreadCount"},
	{method: "GET", path: "/api/v2/notifications", entity: "GroupedNotificationsResults"},
	{method: "GET", path: "/api/v2/notifications?expand_accounts=partial_avatars", entity: "GroupedNotificationsResults"},
	{method: "GET", path: "/api/v2/notifications/{group_key}", entity: "GroupedNotificationsResults"},
	{method: "GET", path: "/api/v2/notifications/unread_count", entity: "UnreadCount"},

	// Search, trends
	{method: "GET", path: "/api/v2/search?q=bob", entity: "Search"},
	{method: "GET", path: "/api/v2/search?q=golang", entity: "Search"},
	{method: "GET", path: "/api/v2/search?q=Conformance&type=statuses", entity: "Search"},
	{method: "GET", path: "/api/v1/trends", entity: "Tag", array: true},
	{method: "GET", path: "/api/v1/trends/tags", entity: "Tag", array: true},
	{method: "GET", path: "/api/v1/trends/statuses", entity: "Status", array: true},
	{method: "GET", path: "/api/v1/trends/links", entity: "Trends::Link", array: true, empty: "link trends are not implemented (always [])"},

	// Lists
	{method: "GET", path: "/api/v1/lists", entity: "List", array: true},
	{method: "GET", path: "/api/v1/lists/{list}", entity: "List"},
	{method: "PUT", path: "/api/v1/lists/{list}", body: map[string]any{"title": "Core team"}, entity: "List"},
	{method: "GET", path: "/api/v1/lists/{list}/accounts", entity: "Account", array: true},
	{method: "POST", path: "/api/v1/lists", body: map[string]any{"title": "Scratch"}, entity: "List"},

	// Filters
	{method: "GET", path: "/api/v2/filters", entity: "Filter", array: true},
	{method: "GET", path: "/api/v2/filters/{filter}", entity: "Filter"},
	{method: "PUT", path: "/api/v2/filters/{filter}", body: map[string]any{"title": "Spoilers!"}, entity: "Filter"},
	{method: "GET", path: "/api/v2/filters/{filter}/keywords", entity: "FilterKeyword", array: true},
	{method: "POST", path: "/api/v2/filters/{filter}/keywords", body: map[string]any{"keyword": "finale", "whole_word": true}, entity: "FilterKeyword"},
	{method: "GET", path: "/api/v2/filter_keywords/{keyword}", entity: "FilterKeyword"},
	{method: "PUT", path: "/api/v2/filter_keywords/{keyword}", body: map[string]any{"keyword": "ending"}, entity: "FilterKeyword"},
	{method: "GET", path: "/api/v1/timelines/home", entity: "Status", array: true, as: "bob"},
	{method: "POST", path: "/api/v2/filters", body: map[string]any{"title": "Scratch", "context": []string{"home"}, "expires_in": 3600}, entity: "Filter"},

	// Scheduled statuses
	{method: "GET", path: "/api/v1/scheduled_statuses", entity: "ScheduledStatus", array: true},
	{method: "GET", path: "/api/v1/scheduled_statuses/{scheduled}", entity: "ScheduledStatus"},
	{method: "PUT", path: "/api/v1/scheduled_statuses/{scheduled}", body: map[string]any{"scheduled_at": "{in_two_hours}"}, entity: "ScheduledStatus"},

	// Featured tags
	{method: "GET", path: "/api/v1/featured_tags", entity: "FeaturedTag", array: true},
	{method: "GET", path: "/api/v1/featured_tags/suggestions", entity: "Tag", array: true},
	{method: "POST", path: "/api/v1/featured_tags", body: map[string]any{"name": "rust"}, entity: "FeaturedTag"},

	// Conversations (direct chats)
	{method: "GET", path: "/api/v1/conversations", entity: "Conversation", array: true},
	{method: "POST", path: "/api/v1/conversations/{conversation}/read", entity: "Conversation"},

	// Reports
	{method: "POST", path: "/api/v1/reports", body: map[string]any{"account_id": "{dave}", "status_ids": []string{"{dave_status}"}, "comment": "Spam", "category": "spam"}, entity: "Report"},
	{method: "GET", path: "/api/v1/admin/reports", entity: "Admin::Report", array: true, as: "admin",
		known: "Admin::Report's account and target_account are Account, not Admin::Account (no e-mail, IPs, role flags): a design question for the admin API"},

	// Apps and OAuth
	{method: "POST", path: "/api/v1/apps", body: map[string]any{"client_name": "Conformance", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write", "website": "https://app.example"}, entity: "CredentialApplication", as: "anon"},
	{method: "POST", path: "/oauth/token", body: map[string]any{"grant_type": "client_credentials", "client_id": "{client_id}", "client_secret": "{client_secret}", "scope": "read"}, entity: "Token", as: "anon"},
	{method: "GET", path: "/api/v1/apps/verify_credentials", entity: "Application", as: "app"},

	// Moderation, relationships: state changes
	{method: "POST", path: "/api/v1/accounts/{carol}/mute", entity: "Relationship"},
	{method: "POST", path: "/api/v1/accounts/{carol}/unmute", entity: "Relationship"},
	{method: "POST", path: "/api/v1/accounts/{dave}/block", entity: "Relationship"},
	{method: "POST", path: "/api/v1/accounts/{dave}/unblock", entity: "Relationship"},
	{method: "POST", path: "/api/v1/domain_blocks", body: map[string]any{"domain": "other.example"}, entity: "Empty"},
	{method: "DELETE", path: "/api/v1/domain_blocks", body: map[string]any{"domain": "other.example"}, entity: "Empty"},
	// Atrium accounts are never locked: there is never a request to answer (404, an Error).
	{method: "POST", path: "/api/v1/follow_requests/{erin}/authorize", entity: "Error", code: 404},
	{method: "POST", path: "/api/v1/follow_requests/{frank}/reject", entity: "Error", code: 404},
	{method: "DELETE", path: "/api/v1/suggestions/{carol}", entity: "Empty"},
	{method: "POST", path: "/api/v1/announcements/{announcement}/dismiss", entity: "Empty"},

	// Web Push (push.go)
	{method: "POST", path: "/api/v1/push/subscription", body: map[string]any{
		"subscription": map[string]any{"endpoint": "https://push.example/send/1", "keys": map[string]any{"p256dh": "{p256dh}", "auth": "{auth}"}},
		"data":         map[string]any{"alerts": map[string]any{"mention": true, "favourite": true}, "policy": "all"}}, entity: "WebPushSubscription"},
	{method: "GET", path: "/api/v1/push/subscription", entity: "WebPushSubscription"},
	{method: "PUT", path: "/api/v1/push/subscription", body: map[string]any{"data": map[string]any{"alerts": map[string]any{"follow": true}}}, entity: "WebPushSubscription"},

	// Followed tags, tags (tags.go)
	{method: "POST", path: "/api/v1/tags/golang/follow", entity: "Tag"},
	{method: "GET", path: "/api/v1/tags/golang", entity: "Tag"},
	{method: "GET", path: "/api/v1/followed_tags", entity: "Tag", array: true},
	{method: "POST", path: "/api/v1/tags/golang/unfollow", entity: "Tag"},

	// V1 filters (filters_v1.go; deprecated in Mastodon 4.0, still used by older apps)
	{method: "POST", path: "/api/v1/filters", body: map[string]any{"phrase": "cliffhanger", "context": []string{"home"}, "whole_word": true}, entity: "V1::Filter", save: "v1filter"},
	{method: "GET", path: "/api/v1/filters", entity: "V1::Filter", array: true},
	{method: "GET", path: "/api/v1/filters/{v1filter}", entity: "V1::Filter"},
	{method: "PUT", path: "/api/v1/filters/{v1filter}", body: map[string]any{"phrase": "cliffhangers", "context": []string{"home", "public"}}, entity: "V1::Filter"},

	// Added alongside the suite (statuses_extra.go and others)
	{method: "GET", path: "/api/v1/accounts/{bob}/identity_proofs", entity: "IdentityProof", array: true, empty: "identity proofs were removed from Mastodon (3.5); always []"},
	{method: "GET", path: "/api/v1/accounts/familiar_followers?id[]={bob}", entity: "FamiliarFollowers", array: true},
	{method: "GET", path: "/api/v1/accounts/search?q=bo", entity: "Account", array: true},
	{method: "GET", path: "/api/v1/directory", entity: "Account", array: true},
	{method: "POST", path: "/api/v1/accounts/{bob}/note", body: map[string]any{"comment": "Owns the gradient"}, entity: "Relationship"},
	// Activity is for colleagues only (visitors get 401): a deliberate difference from Mastodon.
	{method: "GET", path: "/api/v1/instance/activity", entity: "Activity", array: true},
	{method: "GET", path: "/api/v1/instance/activity", entity: "Error", as: "anon", code: 401},
	{method: "GET", path: "/api/v1/instance/domain_blocks", entity: "DomainBlock", array: true, as: "anon", empty: "the node blocks no partner hosts"},
	{method: "GET", path: "/api/v1/instance/extended_description", entity: "ExtendedDescription", as: "anon"},
	{method: "GET", path: "/api/v1/instance/peers", entity: "string", array: true, as: "anon", empty: "a node without partners has no peers"},
	{method: "GET", path: "/api/v1/instance/privacy_policy", entity: "PrivacyPolicy", as: "anon"},
	{method: "GET", path: "/api/v1/instance/terms_of_service", entity: "TermsOfService", as: "anon"},
	{method: "GET", path: "/api/v1/instance/translation_languages", entity: "hash", as: "anon"},
	{method: "POST", path: "/api/v1/statuses/{status}/pin", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{status}/mute", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{status}/unmute", entity: "Status"},
	{method: "POST", path: "/api/v1/statuses/{status}/unpin", entity: "Status"},

	// Destructive: last
	{method: "DELETE", path: "/api/v1/filters/{v1filter}", entity: "Empty"},
	{method: "DELETE", path: "/api/v1/push/subscription", entity: "Empty"},
	{method: "POST", path: "/api/v1/notifications/{notification}/dismiss", entity: "Empty"},
	{method: "POST", path: "/api/v2/notifications/{group_key}/dismiss", entity: "Empty"},
	{method: "POST", path: "/api/v1/notifications/clear", entity: "Empty"},
	{method: "DELETE", path: "/api/v1/lists/{list}/accounts?account_ids[]={bob}", entity: "Empty"},
	{method: "POST", path: "/api/v1/lists/{list}/accounts", body: map[string]any{"account_ids": []string{"{bob}"}}, entity: "Empty"},
	{method: "DELETE", path: "/api/v1/lists/{list}", entity: "Empty"},
	{method: "DELETE", path: "/api/v2/filter_keywords/{keyword}", entity: "Empty"},
	{method: "DELETE", path: "/api/v2/filters/{filter}", entity: "Empty"},
	{method: "DELETE", path: "/api/v1/scheduled_statuses/{scheduled}", entity: "Empty"},
	{method: "DELETE", path: "/api/v1/featured_tags/{featured}", entity: "Empty"},
	{method: "DELETE", path: "/api/v1/conversations/{conversation}", entity: "Empty"},
	{method: "POST", path: "/api/v1/accounts/{bob}/unpin", entity: "Relationship"},
	{method: "POST", path: "/api/v1/accounts/{bob}/unfollow", entity: "Relationship"},
	{method: "DELETE", path: "/api/v1/statuses/{status}", entity: "Status"},
}

// notMastodon are the /api routes with no Mastodon entity to compare with: Atrium's own
// APIs (groups, chats, reactions, read receipts) and the OAuth revocation.
var notMastodon = map[string]string{
	"POST /oauth/revoke":    "answers {} per RFC 7009; no entity",
	"GET /oauth/authorize":  "the consent page (HTML)",
	"POST /oauth/authorize": "the consent form (redirects)",
	// The streaming API sends events (entities as JSON strings in the payload), not an entity.
	"GET /api/v1/streaming":                   "streaming (SSE/WebSocket)",
	"GET /api/v1/streaming/health":            "streaming health check (plain OK)",
	"GET /api/v1/streaming/user":              "streaming (SSE)",
	"GET /api/v1/streaming/user/notification": "streaming (SSE)",
	"GET /api/v1/streaming/public":            "streaming (SSE)",
	"GET /api/v1/streaming/public/local":      "streaming (SSE)",
	"GET /api/v1/streaming/public/remote":     "streaming (SSE)",
	"GET /api/v1/streaming/hashtag":           "streaming (SSE)",
	"GET /api/v1/streaming/hashtag/local":     "streaming (SSE)",
	"GET /api/v1/streaming/list":              "streaming (SSE)",
	"GET /api/v1/streaming/direct":            "streaming (SSE)",
	// Reactions and read receipts extend statuses (Atrium).
	"GET /api/v1/statuses/:id/reactions": "Atrium reactions",
	"POST /api/v1/statuses/:id/react":    "Atrium reactions",
	"POST /api/v1/statuses/:id/unreact":  "Atrium reactions",
	"GET /api/v1/statuses/:id/receipts":  "Atrium read receipts",
	"POST /api/v1/statuses/:id/read":     "Atrium read receipts (important posts)",
	// Groups (Atrium; shaped after Mastodon accounts where it can).
	"GET /api/v1/groups":                                                "Atrium groups",
	"POST /api/v1/groups":                                               "Atrium groups",
	"GET /api/v1/groups/lookup":                                         "Atrium groups",
	"GET /api/v1/groups/:id":                                            "Atrium groups",
	"PATCH /api/v1/groups/:id":                                          "Atrium groups",
	"DELETE /api/v1/groups/:id":                                         "Atrium groups",
	"GET /api/v1/groups/:id/files":                                      "Atrium groups",
	"GET /api/v1/groups/:id/members":                                    "Atrium groups",
	"DELETE /api/v1/groups/:id/members/:account_id":                     "Atrium groups",
	"POST /api/v1/groups/:id/members/:account_id/role":                  "Atrium groups",
	"GET /api/v1/groups/:id/membership_requests":                        "Atrium groups",
	"POST /api/v1/groups/:id/membership_requests/:account_id/authorize": "Atrium groups",
	"POST /api/v1/groups/:id/membership_requests/:account_id/reject":    "Atrium groups",
	"GET /api/v1/groups/:id/partners":                                   "Atrium groups",
	"POST /api/v1/groups/:id/partners":                                  "Atrium groups",
	"DELETE /api/v1/groups/:id/partners/:host":                          "Atrium groups",
	"GET /api/v1/groups/:id/pins":                                       "Atrium groups",
	"POST /api/v1/groups/:id/pins/:status_id":                           "Atrium groups",
	"DELETE /api/v1/groups/:id/pins/:status_id":                         "Atrium groups",
	"POST /api/v1/groups/:id/invite":                                    "Atrium groups",
	"POST /api/v1/groups/:id/join":                                      "Atrium groups",
	"POST /api/v1/groups/:id/leave":                                     "Atrium groups",
	"POST /api/v1/groups/:id/notify":                                    "Atrium groups",
	"GET /api/v1/chats":                                                 "Atrium chat",
	"POST /api/v1/chats":                                                "Atrium chat",
	"GET /api/v1/chats/unread_count":                                    "Atrium chat",
	"GET /api/v1/chats/:id":                                             "Atrium chat",
	"PATCH /api/v1/chats/:id":                                           "Atrium chat",
	"GET /api/v1/chats/:id/search":                                      "Atrium chat",
	"POST /api/v1/chats/:id/read":                                       "Atrium chat",
	"POST /api/v1/chats/:id/typing":                                     "Atrium chat",
	"POST /api/v1/chats/:id/members":                                    "Atrium chat",
	"DELETE /api/v1/chats/:id/members/:account_id":                      "Atrium chat",
	"POST /api/v1/chats/:id/members/:account_id/role":                   "Atrium chat",
	"GET /api/v1/chats/:id/messages":                                    "Atrium chat",
	"POST /api/v1/chats/:id/messages":                                   "Atrium chat",
	"GET /api/v1/chats/:id/messages/:mid":                               "Atrium chat",
	"PUT /api/v1/chats/:id/messages/:mid":                               "Atrium chat",
	"DELETE /api/v1/chats/:id/messages/:mid":                            "Atrium chat",
	"POST /api/v1/chats/:id/messages/:mid/reactions/:emoji":             "Atrium chat",
	"DELETE /api/v1/chats/:id/messages/:mid/reactions/:emoji":           "Atrium chat",
}

// routeKey turns "GET /api/v1/statuses/{status}?x=1" and "GET /api/v1/statuses/:id" into the
// same "GET /api/v1/statuses/:" so the table can be matched with the route table.
func routeKey(method, path string) string {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "{") {
			segs[i] = ":"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// Paths of our table that are literal where the route has a parameter.
var literalParams = regexp.MustCompile(`^(/api/v1/timelines/tag|/api/v1/tags)/[^/]+`)

func callKey(c call) string {
	p, _, _ := strings.Cut(c.path, "?")
	if m := literalParams.FindString(p); m != "" {
		p = m[:strings.LastIndex(m, "/")] + "/:" + p[len(m):]
	}
	return routeKey(c.method, p)
}

// ---- The test ---------------------------------------------------------------------------

func TestMastodonConformance(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		fx := conformanceFixtures(t, n)

		// Every /api (and /oauth) route is in the table or in notMastodon.
		covered, registered := map[string]bool{}, map[string]bool{}
		for _, c := range mastodonCalls {
			covered[callKey(c)] = true
		}
		for _, r := range n.Server.App.GetRoutes(true) {
			registered[routeKey(r.Method, r.Path)] = true
		}
		for k := range notMastodon {
			m, p, _ := strings.Cut(k, " ")
			covered[routeKey(m, p)] = true
		}
		var uncovered []string
		for _, r := range n.Server.App.GetRoutes(true) {
			if (!strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Path, "/oauth/")) || strings.HasSuffix(r.Path, "*") {
				continue
			}
			switch r.Method {
			case "GET", "POST", "PUT", "PATCH", "DELETE":
			default:
				continue
			}
			if !covered[routeKey(r.Method, r.Path)] {
				uncovered = append(uncovered, r.Method+" "+r.Path)
			}
		}
		sort.Strings(uncovered)
		uncovered = compactStrings(uncovered)
		if len(uncovered) > 0 {
			t.Errorf("routes neither in mastodonCalls nor in notMastodon (add a line):\n  %s", strings.Join(uncovered, "\n  "))
		}

		for _, c := range mastodonCalls {
			label := c.method + " " + c.path
			if c.as != "" {
				label += " as " + c.as
			}
			if !registered[callKey(c)] {
				// Another engineer's endpoint, not mounted yet (or gone): say so, loudly.
				t.Logf("%s: SKIPPED, no such route is registered", label)
				continue
			}
			code, body := fx.do(t, c)
			if os.Getenv("CONFORMANCE_DUMP") != "" { // see what each line answered
				t.Logf("%s: %d %s", label, code, body)
			}
			want := c.code
			if want == 0 {
				want = 200
			}
			if code != want {
				t.Errorf("%s: status %d, want %d: %.300s", label, code, want, body)
				continue
			}
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			var v any
			if err := d.Decode(&v); err != nil {
				t.Errorf("%s: not JSON: %v: %.200s", label, err, body)
				continue
			}
			typ := c.entity
			if c.array {
				typ = "[]" + typ
				if arr, ok := v.([]any); ok && len(arr) == 0 && c.empty == "" {
					t.Errorf("%s: an empty list checks nothing; the fixtures should give it an entry", label)
				}
			}
			problems := conformanceCheck(v, typ, "$")
			if c.entity == "Empty" {
				if m, ok := v.(map[string]any); !ok || len(m) != 0 {
					problems = append(problems, fmt.Sprintf("$: %s, want {}", describe(v)))
				}
			}
			var left []string
			for _, p := range problems {
				gap := ""
				for k, why := range knownGaps {
					if strings.HasPrefix(p, k) {
						gap = why
					}
				}
				if gap != "" {
					t.Logf("%s: known gap (%s): %s", label, gap, p)
				} else {
					left = append(left, p)
				}
			}
			problems = left
			if len(problems) == 0 {
				continue
			}
			if c.known != "" {
				t.Logf("%s: known difference (%s):\n  %s", label, c.known, strings.Join(dedupe(problems), "\n  "))
				continue
			}
			t.Errorf("%s (%s):\n  %s", label, typ, strings.Join(dedupe(problems), "\n  "))
		}
		// Errors are Mastodon's Error entity too.
		for _, c := range []call{
			{method: "GET", path: "/api/v1/statuses/nope", code: 404},
			{method: "GET", path: "/api/v1/accounts/verify_credentials", as: "anon", code: 401},
			{method: "POST", path: "/api/v1/lists", body: map[string]any{}, code: 422},
		} {
			code, body := fx.do(t, c)
			var v any
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			if code != c.code || d.Decode(&v) != nil {
				t.Errorf("%s %s: %d %.200s, want %d", c.method, c.path, code, body, c.code)
				continue
			}
			if p := conformanceCheck(v, "Error", "$"); len(p) > 0 {
				t.Errorf("%s %s (Error): %v", c.method, c.path, p)
			}
		}
	})
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// dedupe folds the same problem in many array elements into one line with a count.
func dedupe(problems []string) []string {
	idx := regexp.MustCompile(`\[\d+\]`)
	count := map[string]int{}
	var order []string
	for _, p := range problems {
		k := idx.ReplaceAllString(p, "[]")
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	for i, k := range order {
		if count[k] > 1 {
			order[i] = fmt.Sprintf("%s (×%d)", k, count[k])
		}
	}
	return order
}

// fixtures are the people, tokens and ids the table's paths name.
type fixtures struct {
	n      *nodetest.Node
	tokens map[string]string // caller -> bearer token
	ids    map[string]string // fixture -> id
}

func (f *fixtures) expand(s string) string {
	for k, v := range f.ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (f *fixtures) expandAny(v any) any {
	switch t := v.(type) {
	case string:
		return f.expand(t)
	case []string:
		out := make([]string, len(t))
		for i, s := range t {
			out[i] = f.expand(s)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			out[k] = f.expandAny(x)
		}
		return out
	}
	return v
}

func (f *fixtures) do(t *testing.T, c call) (int, []byte) {
	t.Helper()
	as := c.as
	if as == "" {
		as = "alice"
	}
	path := f.expand(c.path)
	if strings.Contains(path, "{") {
		t.Fatalf("%s: unknown fixture in %s", c.path, path)
	}
	var req *http.Request
	if c.method == "POST" && (path == "/api/v2/media" || path == "/api/v1/media") {
		ct, body := multipartBody(map[string]string{"description": "A gradient"}, map[string][]byte{"file": testPNG()})
		req, _ = http.NewRequest("POST", f.n.HTTP.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
	} else {
		var r io.Reader
		if c.body != nil {
			b, _ := json.Marshal(f.expandAny(c.body))
			r = bytes.NewReader(b)
		}
		req, _ = http.NewRequest(c.method, f.n.HTTP.URL+path, r)
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if tok := f.tokens[as]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The app's registration and token feed the next lines.
	if resp.StatusCode == 200 && path == "/api/v1/apps" {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		f.ids["client_id"], _ = m["client_id"].(string)
		f.ids["client_secret"], _ = m["client_secret"].(string)
	}
	if resp.StatusCode == 200 && path == "/oauth/token" {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		f.tokens["app"], _ = m["access_token"].(string)
	}
	if resp.StatusCode == 200 && c.save != "" {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		f.ids[c.save], _ = m["id"].(string)
	}
	return resp.StatusCode, b
}

// conformanceFixtures sets up realistic data: two colleagues following each other, a status
// with media, a mention, a hashtag, an edit, a reply, a favourite, a reblog, a poll, a list,
// a filter with keywords, a marker, a scheduled status, a featured tag, an endorsement, a
// report, an important post (an announcement), a mute, a domain block, a group, a direct
// chat (a conversation).
func conformanceFixtures(t *testing.T, n *nodetest.Node) *fixtures {
	t.Helper()
	ctx := context.Background()
	alice, bob, carol, dave := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol"), n.NewUser(t, "dave")
	erin, frank := n.NewUser(t, "erin"), n.NewUser(t, "frank")
	admin, err := n.Accounts.ByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	boss := n.APIFor(t, admin)
	f := &fixtures{n: n, tokens: map[string]string{
		"alice": alice.Token, "bob": bob.Token, "carol": carol.Token, "dave": dave.Token,
		"admin": token(t, n, "admin", "read write follow admin:read"),
	}, ids: map[string]string{
		"alice": alice.User.ID, "bob": bob.User.ID, "carol": carol.User.ID, "dave": dave.User.ID,
		"erin": erin.User.ID, "frank": frank.User.ID,
		"in_an_hour":   time.Now().UTC().Add(time.Hour).Format(time.RFC3339),
		"in_two_hours": time.Now().UTC().Add(2 * time.Hour).Format(time.RFC3339),
	}}
	var m map[string]any
	id := func() string { return m["id"].(string) }
	// A browser's push keys: an uncompressed P-256 public key and a 16-byte secret.
	pk, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	f.ids["p256dh"] = base64.RawURLEncoding.EncodeToString(pk.PublicKey().Bytes())
	f.ids["auth"] = base64.RawURLEncoding.EncodeToString(secret)

	mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil, 200)
	mustCall(t, carol, "POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil, 200)

	if resp := alice.Upload("gradient.png", testPNG(), "A gradient", &m); resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, m)
	}
	f.ids["media"] = id()
	mustCall(t, alice, "POST", "/api/v1/statuses", map[string]any{"status": "Shipping the gradient #golang with @bob",
		"media_ids": []string{f.ids["media"]}, "visibility": "public", "language": "en"}, &m, 200)
	f.ids["status"] = id()
	mustCall(t, alice, "PUT", "/api/v1/statuses/"+f.ids["status"], map[string]any{"status": "Shipped the gradient #golang with @bob",
		"media_ids": []string{f.ids["media"]}}, &m, 200)
	mustCall(t, bob, "POST", "/api/v1/statuses", map[string]any{"status": "@alice looks great", "in_reply_to_id": f.ids["status"]}, &m, 200)
	f.ids["reply"] = id()
	// A link whose preview is already stored (fresh), so the status has a card without the
	// network.
	if _, err := n.DB.NewInsert().Model(&previews.Preview{URL: "https://news.example/launch", Status: previews.StatusOK,
		Title: "Launch", Description: "It launched", ImageURL: "https://news.example/launch.png", SiteName: "News",
		FetchedAt: time.Now().UTC().Truncate(time.Microsecond)}).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	mustCall(t, bob, "POST", "/api/v1/statuses", map[string]any{"status": "Bob's own news #golang https://news.example/launch", "visibility": "public"}, &m, 200)
	f.ids["bob_status"] = id()
	mustCall(t, bob, "POST", "/api/v1/statuses/"+f.ids["status"]+"/favourite", nil, nil, 200)
	mustCall(t, carol, "POST", "/api/v1/statuses/"+f.ids["status"]+"/favourite", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/statuses/"+f.ids["status"]+"/reblog", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/statuses/"+f.ids["status"]+"/bookmark", nil, nil, 200)
	mustCall(t, alice, "POST", "/api/v1/statuses/"+f.ids["reply"]+"/favourite", nil, nil, 200)
	mustCall(t, alice, "POST", "/api/v1/statuses", map[string]any{"status": "Lunch? #design", "visibility": "public",
		"poll": map[string]any{"options": []string{"Pizza", "Sushi"}, "expires_in": 3600, "multiple": true}}, &m, 200)
	f.ids["poll_status"] = id()
	f.ids["poll"] = m["poll"].(map[string]any)["id"].(string)
	mustCall(t, bob, "POST", "/api/v1/polls/"+f.ids["poll"]+"/votes", map[string]any{"choices": []string{"0"}}, nil, 200)

	mustCall(t, alice, "POST", "/api/v1/lists", map[string]any{"title": "Team"}, &m, 200)
	f.ids["list"] = id()
	mustCall(t, alice, "POST", "/api/v1/lists/"+f.ids["list"]+"/accounts", map[string]any{"account_ids": []string{bob.User.ID}}, nil, 200)

	// bob's filter matches alice's post, so bob's home timeline shows Status.filtered.
	mustCall(t, alice, "POST", "/api/v2/filters", map[string]any{"title": "Spoilers", "context": []string{"home", "notifications"},
		"keywords_attributes": []map[string]any{{"keyword": "finale"}, {"keyword": "ending", "whole_word": false}}}, &m, 200)
	f.ids["filter"] = id()
	f.ids["keyword"] = m["keywords"].([]any)[0].(map[string]any)["id"].(string)
	mustCall(t, bob, "POST", "/api/v2/filters", map[string]any{"title": "Gradients", "context": []string{"home"},
		"keywords_attributes": []map[string]any{{"keyword": "golang"}}}, nil, 200)

	mustCall(t, alice, "POST", "/api/v1/markers", map[string]any{"home": map[string]any{"last_read_id": f.ids["bob_status"]}}, nil, 200)
	mustCall(t, alice, "POST", "/api/v1/statuses", map[string]any{"status": "Scheduled #golang", "scheduled_at": f.ids["in_an_hour"],
		"media_ids": []string{}, "poll": map[string]any{"options": []string{"a", "b"}, "expires_in": 600}}, &m, 200)
	f.ids["scheduled"] = id()
	mustCall(t, alice, "POST", "/api/v1/featured_tags", map[string]any{"name": "golang"}, &m, 200)
	f.ids["featured"] = id()
	mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/pin", nil, nil, 200)

	mustCall(t, dave, "POST", "/api/v1/statuses", map[string]any{"status": "Buy now", "visibility": "public"}, &m, 200)
	f.ids["dave_status"] = id()
	mustCall(t, alice, "POST", "/api/v1/reports", map[string]any{"account_id": dave.User.ID, "status_ids": []string{f.ids["dave_status"]},
		"comment": "Spam"}, nil, 200)

	mustCall(t, boss, "POST", "/api/v1/statuses", map[string]any{"status": "Office closed Friday #news", "important": true}, &m, 200)
	f.ids["announcement"] = id()

	mustCall(t, alice, "POST", "/api/v1/accounts/"+carol.User.ID+"/mute", map[string]any{"duration": 86400}, nil, 200)
	mustCall(t, alice, "POST", "/api/v1/accounts/"+frank.User.ID+"/block", nil, nil, 200)
	mustCall(t, alice, "POST", "/api/v1/domain_blocks", map[string]any{"domain": "spam.example"}, nil, 200)

	// The node's public documents (orgs.KeyPrivacyPolicy and friends; literal keys here so
	// the suite does not depend on those names), and the blocked-hosts disclosure.
	if err := n.Orgs.Set(ctx, n.DB, map[string]string{"instance.privacy_policy": "<p>We keep little.</p>",
		"instance.terms_of_service": "<p>Be kind.</p>", "instance.show_blocked_hosts": "true"}); err != nil {
		t.Fatal(err)
	}

	mustCall(t, alice, "POST", "/api/v1/groups", map[string]any{"display_name": "Design Team"}, &m, 200)
	f.ids["group"] = id()
	mustCall(t, alice, "POST", "/api/v1/statuses", map[string]any{"status": "Group news", "group_id": f.ids["group"]}, &m, 200)

	mustCall(t, alice, "POST", "/api/v1/chats", map[string]any{"participants": []string{"bob"}}, &m, 200)
	f.ids["conversation"] = id()
	mustCall(t, bob, "POST", "/api/v1/chats/"+f.ids["conversation"]+"/messages", map[string]any{"text": "Hi Alice"}, nil, 200)

	var notes []map[string]any
	mustCall(t, alice, "GET", "/api/v1/notifications", nil, &notes, 200)
	if len(notes) == 0 {
		t.Fatal("alice has no notifications")
	}
	f.ids["notification"] = notes[len(notes)-1]["id"].(string)
	var grouped map[string]any
	mustCall(t, alice, "GET", "/api/v2/notifications", nil, &grouped, 200)
	groups := grouped["notification_groups"].([]any)
	f.ids["group_key"] = groups[0].(map[string]any)["group_key"].(string)
	return f
}
