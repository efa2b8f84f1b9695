package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// paramForms are the ways apps send parameters: Mastodon (Rails) reads them all alike.
var paramForms = []string{"json", "form", "multipart", "query"}

// railsEncode flattens params the way Rails apps send them in forms and query strings:
// arrays as name[]=v, objects as name[key]=v, arrays of objects as name[][key]=v.
func railsEncode(prefix string, v any, out url.Values) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := k
			if prefix != "" {
				name = prefix + "[" + k + "]"
			}
			railsEncode(name, t[k], out)
		}
	case []any:
		for _, x := range t {
			railsEncode(prefix+"[]", x, out)
		}
	case []string:
		for _, x := range t {
			out.Add(prefix+"[]", x)
		}
	case nil:
		out.Add(prefix, "")
	default:
		out.Add(prefix, fmt.Sprint(t))
	}
}

// sendIn sends params in one form and returns the status and the decoded body (nil when the
// body is not JSON).
func sendIn(t *testing.T, n *nodetest.Node, token, form, method, path string, params map[string]any) (int, map[string]any, string) {
	t.Helper()
	var body io.Reader
	ctype := ""
	target := n.HTTP.URL + path
	switch form {
	case "json":
		b, _ := json.Marshal(params)
		body, ctype = bytes.NewReader(b), "application/json"
	case "form":
		vals := url.Values{}
		railsEncode("", params, vals)
		body, ctype = strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"
	case "multipart":
		vals := url.Values{}
		railsEncode("", params, vals)
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, vs := range vals {
			for _, v := range vs {
				_ = w.WriteField(k, v)
			}
		}
		w.Close()
		body, ctype = &buf, w.FormDataContentType()
	case "query":
		vals := url.Values{}
		railsEncode("", params, vals)
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		target += sep + vals.Encode()
	}
	req, _ := http.NewRequest(method, target, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

// TestMalformedParametersInEveryForm sends wrong parameters to the endpoints apps write to,
// in each form apps use (JSON, urlencoded and multipart forms, the query string, arrays as
// name[]), and expects Mastodon's error shape every time: the status Mastodon gives, and
// {"error": "..."} naming what is wrong, never a 500, an HTML page or a silent success.
func TestMalformedParametersInEveryForm(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	c := caller{t}
	alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
	var st, poll, list map[string]any
	c.expect(bob.Call("POST", "/api/v1/statuses", map[string]any{"status": "Lunch?",
		"poll": map[string]any{"options": []string{"Pizza", "Salad"}, "expires_in": 3600}}, &st), 200, nil, "poll")
	poll = st["poll"].(map[string]any)
	c.expect(alice.Call("POST", "/api/v1/lists", map[string]any{"title": "Team"}, &list), 200, nil, "list")
	statusID, pollID, listID := st["id"].(string), poll["id"].(string), list["id"].(string)

	cases := []struct {
		name, method, path string
		params             map[string]any
		code               int
		mention            string // a word the error must contain (the field at fault)
	}{
		{"visibility unknown", "POST", "/api/v1/statuses", map[string]any{"status": "x", "visibility": "everyone"}, 422, "visibility"},
		{"empty status", "POST", "/api/v1/statuses", map[string]any{"status": ""}, 422, ""},
		{"unknown media", "POST", "/api/v1/statuses", map[string]any{"status": "x", "media_ids": []string{"nope"}}, 422, "media"},
		{"sensitive not boolean", "POST", "/api/v1/statuses", map[string]any{"status": "x", "sensitive": "maybe"}, 422, "sensitive"},
		{"poll expiry not a number", "POST", "/api/v1/statuses", map[string]any{"status": "x",
			"poll": map[string]any{"options": []string{"a", "b"}, "expires_in": "soon"}}, 422, "expires_in"},
		{"poll with one option", "POST", "/api/v1/statuses", map[string]any{"status": "x",
			"poll": map[string]any{"options": []string{"a"}, "expires_in": 3600}}, 422, "options"},
		{"scheduled_at not a time", "POST", "/api/v1/statuses", map[string]any{"status": "x", "scheduled_at": "tomorrow"}, 422, "scheduled_at"},
		{"reply to nothing", "POST", "/api/v1/statuses", map[string]any{"status": "x", "in_reply_to_id": "01NOSUCHPOST"}, 404, ""},
		{"limit not a number", "GET", "/api/v1/timelines/home", map[string]any{"limit": "many"}, 422, "limit"},
		{"negative limit", "GET", "/api/v1/notifications", map[string]any{"limit": "-5"}, 422, "limit"},
		{"vote not a number", "POST", "/api/v1/polls/" + pollID + "/votes", map[string]any{"choices": []string{"first"}}, 422, "choices"},
		{"vote out of range", "POST", "/api/v1/polls/" + pollID + "/votes", map[string]any{"choices": []string{"7"}}, 422, "choices"},
		{"no vote", "POST", "/api/v1/polls/" + pollID + "/votes", map[string]any{}, 422, "choices"},
		{"list without title", "POST", "/api/v1/lists", map[string]any{"title": ""}, 422, "title"},
		{"list replies_policy unknown", "PUT", "/api/v1/lists/" + listID, map[string]any{"title": "T", "replies_policy": "some"}, 422, "replies_policy"},
		{"list exclusive not boolean", "PUT", "/api/v1/lists/" + listID, map[string]any{"title": "T", "exclusive": "perhaps"}, 422, "exclusive"},
		{"filter context unknown", "POST", "/api/v2/filters", map[string]any{"title": "x", "context": []string{"everywhere"}}, 422, "context"},
		{"filter expiry not a number", "POST", "/api/v2/filters", map[string]any{"title": "x", "context": []string{"home"}, "expires_in": "later"}, 422, "expires_in"},
		{"marker without id", "POST", "/api/v1/markers", map[string]any{"home": map[string]any{"last_read_id": ""}}, 422, ""},
		{"mute duration not a number", "POST", "/api/v1/accounts/" + bob.User.ID + "/mute", map[string]any{"duration": "a while"}, 422, "duration"},
		{"mute notifications not boolean", "POST", "/api/v1/accounts/" + bob.User.ID + "/mute", map[string]any{"notifications": "kinda"}, 422, "notifications"},
		{"report without account", "POST", "/api/v1/reports", map[string]any{"comment": "spam"}, 422, "account"},
		{"profile field unknown", "PATCH", "/api/v1/accounts/update_credentials", map[string]any{
			"fields_attributes": map[string]any{"0": map[string]any{"name": "Favourite colour", "value": "blue"}}}, 422, "Favourite colour"},
		{"app without name", "POST", "/api/v1/apps", map[string]any{"redirect_uris": "https://app.example/cb"}, 422, "client_name"},
		{"app redirect not a URI", "POST", "/api/v1/apps", map[string]any{"client_name": "x", "redirect_uris": "javascript:alert(1)"}, 422, "redirect"},
		{"app scope unknown", "POST", "/api/v1/apps", map[string]any{"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read everything"}, 422, "scope"},
		{"reaction not offered", "POST", "/api/v1/statuses/" + statusID + "/react", map[string]any{"emoji": "🦄"}, 422, "emoji"},
		{"schedule in the past", "POST", "/api/v1/statuses", map[string]any{"status": "x", "scheduled_at": "2001-01-01T00:00:00Z"}, 422, "scheduled_at"},
	}
	for _, tc := range cases {
		for _, form := range paramForms {
			if tc.method == "GET" && form != "query" {
				continue // GET parameters travel in the query string only
			}
			code, body, raw := sendIn(t, n, alice.Token, form, tc.method, tc.path, tc.params)
			if code != tc.code {
				t.Errorf("%s (%s): status %d, want %d: %.300s", tc.name, form, code, tc.code, raw)
				continue
			}
			msg, _ := body["error"].(string)
			if msg == "" {
				t.Errorf("%s (%s): no Mastodon error body: %.300s", tc.name, form, raw)
				continue
			}
			if tc.mention != "" && !strings.Contains(strings.ToLower(raw), strings.ToLower(tc.mention)) {
				t.Errorf("%s (%s): error %q does not name %q", tc.name, form, raw, tc.mention)
			}
		}
	}

	// Bodies that are not what they claim to be.
	for _, raw := range []string{`{"status":`, `["status"]`, `"status"`, `{"status": {"nested": true}}`} {
		req, _ := http.NewRequest("POST", n.HTTP.URL+"/api/v1/statuses", strings.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e map[string]any
		if resp.StatusCode != 422 && resp.StatusCode != 400 || json.Unmarshal(b, &e) != nil || e["error"] == nil {
			t.Errorf("JSON body %s: %d %s, want 400/422 with an error", raw, resp.StatusCode, b)
		}
	}

	// Arrays as ids[]: unknown and malformed ids are left out, as Mastodon does, not errors.
	var rels []map[string]any
	if resp := alice.Call("GET", "/api/v1/accounts/relationships?id[]="+bob.User.ID+"&id[]=nonsense&id[]=%27%3B--", nil, &rels); resp.StatusCode != 200 ||
		len(rels) != 1 || rels[0]["id"] != bob.User.ID {
		t.Fatalf("relationships with malformed ids: %d %v", resp.StatusCode, rels)
	}
}
