package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// rawCall sends body as it is (a form, or nothing) with the API client's token, and returns
// the status, the Content-Type and the body.
func rawCall(t *testing.T, n *nodetest.Node, token, method, path, contentType, body string, header ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, n.HTTP.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// lookupPath walks a decoded JSON document along dotted keys.
func lookupPath(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func checkShape(t *testing.T, what string, m map[string]any, want map[string]string) {
	t.Helper()
	for path, typ := range want {
		v, ok := lookupPath(m, path)
		if !ok {
			t.Errorf("%s lacks %s", what, path)
			continue
		}
		if got := jsonType(v); !strings.Contains("|"+typ+"|", "|"+got+"|") {
			t.Errorf("%s %s is %s (%v), want %s", what, path, got, v, typ)
		}
	}
}

// Apps probe for endpoints and treat Mastodon's 404 JSON as "not supported"; an HTML page
// or another message breaks them. Routes mounted after the API (streaming) must still work.
func TestUnknownAPIEndpointsAnswerMastodon404(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := n.NewUser(t, "alice")
	for _, tc := range []struct{ method, path, token string }{
		{"GET", "/api/v1/no_such_thing", alice.Token},
		{"POST", "/api/v1/push/subscription_nope", alice.Token},
		{"DELETE", "/api/v3/whatever/1", ""},
		{"GET", "/api/v1/instance/nope", ""},
	} {
		status, ctype, body := rawCall(t, n, tc.token, tc.method, tc.path, "", "", "Accept", "text/html")
		if status != 404 || !strings.HasPrefix(ctype, "application/json") || strings.TrimSpace(body) != `{"error":"Record not found"}` {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, status, ctype, body)
		}
	}
	if status, _, body := rawCall(t, n, "", "GET", "/api/v1/streaming/health", "", ""); status != 200 {
		t.Errorf("streaming health shadowed by the fallback: %d %s", status, body)
	}
	// Pages keep the web's HTML 404.
	if status, ctype, _ := rawCall(t, n, "", "GET", "/no-such-page", "", "", "Accept", "text/html"); status != 404 || !strings.HasPrefix(ctype, "text/html") {
		t.Errorf("web 404: %d %s", status, ctype)
	}
}

func TestInstancePreferencesAndEmojisAPI(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := n.NewUser(t, "alice")

	var v2 map[string]any
	if resp := alice.Call("GET", "/api/v2/instance", nil, &v2); resp.StatusCode != 200 {
		t.Fatalf("v2: %d", resp.StatusCode)
	}
	// Mastodon's Instance entity (docs.joinmastodon.org/entities/Instance).
	checkShape(t, "v2 instance", v2, map[string]string{
		"domain": "string", "title": "string", "version": "string", "source_url": "string", "description": "string",
		"usage.users.active_month": "number", "thumbnail.url": "string", "icon": "array", "languages": "array",
		"configuration.urls.streaming":                           "string",
		"configuration.accounts.max_featured_tags":               "number",
		"configuration.accounts.max_pinned_statuses":             "number",
		"configuration.statuses.max_characters":                  "number",
		"configuration.statuses.max_media_attachments":           "number",
		"configuration.statuses.characters_reserved_per_url":     "number",
		"configuration.media_attachments.supported_mime_types":   "array",
		"configuration.media_attachments.description_limit":      "number",
		"configuration.media_attachments.image_size_limit":       "number",
		"configuration.media_attachments.image_matrix_limit":     "number",
		"configuration.media_attachments.video_size_limit":       "number",
		"configuration.media_attachments.video_frame_rate_limit": "number",
		"configuration.media_attachments.video_matrix_limit":     "number",
		"configuration.polls.max_options":                        "number",
		"configuration.polls.max_characters_per_option":          "number",
		"configuration.polls.min_expiration":                     "number",
		"configuration.polls.max_expiration":                     "number",
		"configuration.translation.enabled":                      "bool",
		"registrations.enabled":                                  "bool",
		"registrations.approval_required":                        "bool",
		"registrations.message":                                  "string|null",
		"contact.email":                                          "string",
		"contact.account":                                        "object|null",
		"rules":                                                  "array",
		"api_versions.mastodon":                                  "number",
	})
	if v, _ := lookupPath(v2, "api_versions.mastodon"); v != float64(2) {
		t.Errorf("api_versions.mastodon = %v", v)
	}
	if v, _ := lookupPath(v2, "configuration.statuses.max_characters"); v != float64(5000) {
		t.Errorf("max_characters = %v", v)
	}
	// The test node serves plain HTTP, so its streaming API is ws://, on this very server.
	wantStream := "ws://" + strings.TrimPrefix(n.HTTP.URL, "http://")
	if v, _ := lookupPath(v2, "configuration.urls.streaming"); v != wantStream {
		t.Errorf("streaming = %v, want %s", v, wantStream)
	}

	var v1 map[string]any
	alice.Call("GET", "/api/v1/instance", nil, &v1)
	checkShape(t, "v1 instance", v1, map[string]string{
		"uri": "string", "title": "string", "short_description": "string", "description": "string", "email": "string",
		"version": "string", "urls.streaming_api": "string", "stats.user_count": "number", "stats.status_count": "number",
		"stats.domain_count": "number", "thumbnail": "string|null", "languages": "array", "registrations": "bool",
		"approval_required": "bool", "invites_enabled": "bool", "contact_account": "object|null", "rules": "array",
		"configuration.statuses.max_characters": "number", "configuration.media_attachments.supported_mime_types": "array",
		"configuration.polls.max_options": "number", "configuration.accounts.max_featured_tags": "number",
	})
	if v1["urls"].(map[string]any)["streaming_api"] != wantStream {
		t.Errorf("v1 streaming_api = %v", v1["urls"])
	}

	// Public, like Mastodon's: apps read them before signing in.
	for _, p := range []string{"/api/v1/instance/rules", "/api/v1/custom_emojis"} {
		status, ctype, body := rawCall(t, n, "", "GET", p, "", "")
		if status != 200 || !strings.HasPrefix(ctype, "application/json") || strings.TrimSpace(body) != "[]" {
			t.Errorf("%s: %d %s %s", p, status, ctype, body)
		}
	}

	var prefs map[string]any
	if resp := alice.Call("GET", "/api/v1/preferences", nil, &prefs); resp.StatusCode != 200 {
		t.Fatalf("preferences: %d", resp.StatusCode)
	}
	checkShape(t, "preferences", prefs, map[string]string{
		"posting:default:visibility": "string", "posting:default:sensitive": "bool", "posting:default:language": "string|null",
		"reading:expand:media": "string", "reading:expand:spoilers": "bool",
	})
	// The composer's default must match what verify_credentials tells apps that read that
	// instead, and never be "public", which would federate a post meant for colleagues.
	var me struct {
		Source struct{ Privacy string } `json:"source"`
	}
	alice.Call("GET", "/api/v1/accounts/verify_credentials", nil, &me)
	if vis := prefs["posting:default:visibility"]; vis != me.Source.Privacy || vis == "public" {
		t.Errorf("default visibility %v, source.privacy %q", vis, me.Source.Privacy)
	}
	if m := prefs["reading:expand:media"]; m != "default" && m != "show_all" && m != "hide_all" {
		t.Errorf("reading:expand:media = %v", m)
	}
	if status, _, body := rawCall(t, n, "", "GET", "/api/v1/preferences", "", ""); status != 401 {
		t.Errorf("preferences without a token: %d %s", status, body)
	}
}

func TestMarkersAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		type marker struct {
			LastReadID string `json:"last_read_id"`
			Version    int    `json:"version"`
			UpdatedAt  string `json:"updated_at"`
		}
		get := func(api *nodetest.API, query string) map[string]marker {
			t.Helper()
			var out map[string]marker
			if resp := api.Call("GET", "/api/v1/markers"+query, nil, &out); resp.StatusCode != 200 {
				t.Fatalf("GET markers%s: %d", query, resp.StatusCode)
			}
			return out
		}
		if got := get(alice, "?timeline[]=home&timeline[]=notifications"); len(got) != 0 {
			t.Fatalf("before any save: %v", got)
		}

		// A form, as Tusky sends it.
		form := url.Values{"home[last_read_id]": {"1000"}}.Encode()
		status, _, body := rawCall(t, n, alice.Token, "POST", "/api/v1/markers", "application/x-www-form-urlencoded", form)
		var saved map[string]marker
		if err := json.Unmarshal([]byte(body), &saved); status != 200 || err != nil {
			t.Fatalf("form save: %d %s", status, body)
		}
		if h := saved["home"]; h.LastReadID != "1000" || h.Version != 1 || h.UpdatedAt == "" || len(saved) != 1 {
			t.Fatalf("form save answered %v", saved)
		}

		// JSON, as masto.js sends it: both timelines; home's version counts the second update.
		saved = nil
		resp := alice.Call("POST", "/api/v1/markers", map[string]any{
			"home": map[string]string{"last_read_id": "2000"}, "notifications": map[string]string{"last_read_id": "77"}}, &saved)
		if resp.StatusCode != 200 || saved["home"].Version != 2 || saved["home"].LastReadID != "2000" ||
			saved["notifications"].Version != 1 || saved["notifications"].LastReadID != "77" {
			t.Fatalf("JSON save: %d %v", resp.StatusCode, saved)
		}

		got := get(alice, "?timeline[]=home")
		if len(got) != 1 || got["home"].LastReadID != "2000" || got["home"].Version != 2 {
			t.Fatalf("home only: %v", got)
		}
		got = get(alice, "?timeline[]=home&timeline[]=notifications&timeline[]=bogus")
		if len(got) != 2 || got["notifications"].LastReadID != "77" {
			t.Fatalf("both: %v", got)
		}
		if got := get(bob, ""); len(got) != 0 {
			t.Fatalf("bob sees alice's markers: %v", got)
		}

		// Bad input: nothing to save, a non-string id, a malformed body.
		for _, tc := range []struct{ ctype, body string }{
			{"application/x-www-form-urlencoded", ""},
			{"application/json", `{"home":{"last_read_id":5}}`},
			{"application/json", `{"home":`},
		} {
			if status, _, body := rawCall(t, n, alice.Token, "POST", "/api/v1/markers", tc.ctype, tc.body); status != 422 || !strings.Contains(body, `"error"`) {
				t.Errorf("POST %q: %d %s", tc.body, status, body)
			}
		}
		if got := get(alice, ""); got["home"].Version != 2 {
			t.Errorf("a refused save changed the marker: %v", got)
		}
		if status, _, _ := rawCall(t, n, "", "GET", "/api/v1/markers", "", ""); status != 401 {
			t.Errorf("markers without a token: %d", status)
		}
	})
}

// The node's important posts are Mastodon announcements; dismissing one is the web's "Mark
// as read", so it leaves the list everywhere.
func TestAnnouncementsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		admin, err := n.Accounts.ByUsername(context.Background(), "admin")
		if err != nil {
			t.Fatal(err)
		}
		boss, alice := n.APIFor(t, admin), n.NewUser(t, "alice")
		var ann, plain struct{ ID string }
		if resp := boss.Call("POST", "/api/v1/statuses", map[string]any{"status": "Office closed Friday", "important": true}, &ann); resp.StatusCode != 200 {
			t.Fatalf("announce: %d", resp.StatusCode)
		}
		boss.Call("POST", "/api/v1/statuses", map[string]any{"status": "just a post"}, &plain)

		var list []map[string]any
		if resp := alice.Call("GET", "/api/v1/announcements", nil, &list); resp.StatusCode != 200 || len(list) != 1 {
			t.Fatalf("announcements: %d %v", resp.StatusCode, list)
		}
		checkShape(t, "announcement", list[0], map[string]string{"id": "string", "content": "string", "starts_at": "string|null",
			"ends_at": "string|null", "all_day": "bool", "published_at": "string", "updated_at": "string", "read": "bool",
			"mentions": "array", "statuses": "array", "tags": "array", "emojis": "array", "reactions": "array"})
		if list[0]["id"] != ann.ID || !strings.Contains(list[0]["content"].(string), "Office closed Friday") || list[0]["read"] != false {
			t.Fatalf("announcement: %v", list[0])
		}

		if resp := alice.Call("POST", "/api/v1/announcements/"+plain.ID+"/dismiss", nil, nil); resp.StatusCode != 422 {
			t.Errorf("dismissing a plain post: %d", resp.StatusCode)
		}
		if resp := alice.Call("POST", "/api/v1/announcements/nope/dismiss", nil, nil); resp.StatusCode != 404 {
			t.Errorf("dismissing an unknown id: %d", resp.StatusCode)
		}
		if resp := alice.Call("POST", "/api/v1/announcements/"+ann.ID+"/dismiss", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("dismiss: %d", resp.StatusCode)
		}
		list = nil
		alice.Call("GET", "/api/v1/announcements", nil, &list)
		if len(list) != 0 {
			t.Fatalf("dismissed announcement still listed: %v", list)
		}
		// The same read state as the web and /statuses/:id/read: the receipts count alice.
		var rc map[string]any
		boss.Call("GET", "/api/v1/statuses/"+ann.ID+"/receipts", nil, &rc)
		if !strings.Contains(fmt.Sprint(rc["read"]), "alice") {
			t.Errorf("receipts after dismiss: %v", rc)
		}
		// Another person still has it.
		var other []map[string]any
		n.NewUser(t, "bob").Call("GET", "/api/v1/announcements", nil, &other)
		if len(other) != 1 {
			t.Errorf("bob's announcements: %v", other)
		}
	})
}
