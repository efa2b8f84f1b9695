package app_test

// What real Mastodon apps call, replayed against a node.
//
// Each sequence below is what one app or library sends after sign-in and on its main
// screens (home, notifications, a thread, a profile, compose with media and a poll, search,
// lists, filters, followed tags, trends/explore, push registration, streaming), in that
// app's own parameter forms: Tusky's Retrofit query strings and urlencoded forms, masto.js's
// JSON bodies and rails-style query strings with raw brackets, Ice Cubes' query items even
// on POST and PUT, Mastodon.py's `requests` forms with name[] arrays and '1'/'0' booleans.
//
// Sources (public repositories, read for this test):
//   - Tusky: tuskyapp/Tusky app/src/main/java/com/keylesspalace/tusky/network/MastodonApi.kt
//     (Retrofit interface: @Query/@Field names such as exclude_types[], timeline[], id[],
//     choices[], account_ids[], subscription[keys][p256dh], data[alerts][mention]; statuses
//     are a JSON @Body with an Idempotency-Key header).
//   - masto.js: neet/masto.js src/adapters/action/dispatcher-http-hook-mastodon.ts (every
//     write is JSON except media, update_credentials, featured_tag: multipart; after
//     POST /api/v2/media it polls GET /api/v1/media/:id until url is set),
//     src/adapters/serializers/rails-query-string.ts (arrays as name[]=v, brackets raw),
//     src/adapters/clients.ts + src/adapters/config/web-socket-config.ts (one websocket on
//     /api/v1/streaming, the token as Sec-WebSocket-Protocol, then {"type":"subscribe"}).
//   - Elk: elk-zone/elk composables/users.ts (loginTo: /nodeinfo/2.0, verify_credentials,
//     preferences, GET push/subscription expecting 404 when none), composables/masto/masto.ts
//     (v1 instance in the background, streaming URL from instance.urls.streaming_api).
//   - Phanpy: cheeaun/phanpy src/utils/api.js (initInstance: v2 instance then v1 fallback,
//     configuration.urls.streaming; initAccount: verify_credentials; initPreferences),
//     src/pages/notifications.jsx (v1 notifications limit 80 exclude_types[]=follow_request
//     or v2 grouped limit 20, markers create, follow_requests limit 80, announcements,
//     v2 notifications/policy, v1 notifications/requests).
//   - Ice Cubes: Dimillian/IceCubesApp Packages/Network/Sources/Network/Endpoint/
//     Accounts.swift (follow with notify/reblogs query items, familiar_followers id[],
//     statuses only_media/exclude_replies/exclude_reblogs/pinned), Notifications.swift
//     (exclude_types[], v2 grouped_types[], policy, requests, unread_count),
//     Push.swift (POST push/subscription with every field as query items), Statuses.swift
//     (StatusData JSON: status, visibility, media_ids, poll{options,multiple,expires_in}),
//     Media.swift (PUT media/:id?description=), Timelines.swift, Trends.swift,
//     Instances.swift (instance, instance/peers), Markers.swift (timeline[]=home,
//     timeline[]=notifications).
//   - Mastodon.py: halcy/Mastodon.py mastodon/internals.py (__api_request: GET params in the
//     query, other methods as a urlencoded form unless use_json; __generate_params: bools as
//     '1'/'0', lists renamed name[]), mastodon/instance.py (GET /api/v1/instance/ and
//     /api/v2/instance/ with a trailing slash), mastodon/statuses.py (status_post: a form,
//     JSON when a poll is attached), mastodon/push.py (push_subscription_set: form fields,
//     keys in standard base64 with padding, policy at the top level).
//
// Every call must answer 2xx (or the documented Mastodon status for the case) with JSON of
// the right top-level kind, never HTML. Calls the node does not implement are listed per app
// in notImplemented, with the reason, and must answer Mastodon's 404 {"error": ...} so the
// app falls back; the test fails if one of them starts working (move it out of the list)
// or if a listed call is never made. Known differences inside answers that would mislead an
// app are recorded with appSession.gap: logged as KNOWN GAP (see go test -v), and failing once
// fixed so they become checks.

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// missingCall is an endpoint an app calls that the node does not implement.
type missingCall struct {
	method, pattern, reason string // pattern: a path whose :name segments match any segment
}

// appSession replays one app's calls with one token.
type appSession struct {
	t       *testing.T
	n       *nodetest.Node
	app     string
	token   string
	missing []missingCall
	used    map[int]bool
	log     []string // every call made, for the test log
}

// upload is a multipart body with one file.
type upload struct {
	fields url.Values
	field  string // the file's field name
	name   string
	data   []byte
}

func newAppSession(t *testing.T, n *nodetest.Node, api *nodetest.API, app string, missing []missingCall) *appSession {
	tok := n.APIFor(t, api.User).Token // a fresh sign-in: the app's own token
	return &appSession{t: t, n: n, app: app, token: tok, missing: missing, used: map[int]bool{}}
}

// missingFor returns the index of the notImplemented entry matching the call, or -1.
func (s *appSession) missingFor(method, path string) int {
	path, _, _ = strings.Cut(path, "?")
	got := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for i, m := range s.missing {
		if m.method != method {
			continue
		}
		want := strings.Split(m.pattern, "/")
		if len(want) != len(got) {
			continue
		}
		ok := true
		for j := range want {
			if !strings.HasPrefix(want[j], ":") && want[j] != got[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// get is a GET with the app's query (encoded by url.Values, as OkHttp, Foundation and
// requests do; masto.js-style raw brackets are written into the path by the caller).
func (s *appSession) get(path string, q url.Values, kind string) any {
	s.t.Helper()
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return s.do(0, "GET", path, "", nil, kind)
}

// send makes a call with params in form: "" (none), "query", "json", "form" or "multipart".
func (s *appSession) send(method, path, form string, params any, kind string, header ...string) any {
	s.t.Helper()
	return s.do(0, method, path, form, params, kind, header...)
}

// do sends one call and checks the answer: want (0: any 2xx) or, for a notImplemented call,
// 404 with {"error": "..."}; always JSON, never HTML, of the top-level kind asked ("object",
// "array"). It returns the decoded body.
func (s *appSession) do(want int, method, path, form string, params any, kind string, header ...string) any {
	s.t.Helper()
	var body io.Reader
	ctype := ""
	target := s.n.HTTP.URL + path
	switch form {
	case "":
	case "query":
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		target += sep + params.(url.Values).Encode()
	case "json":
		b, err := json.Marshal(params)
		if err != nil {
			s.t.Fatal(err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case "form":
		body, ctype = strings.NewReader(params.(url.Values).Encode()), "application/x-www-form-urlencoded"
	case "multipart":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		var fields url.Values
		switch p := params.(type) {
		case url.Values:
			fields = p
		case upload:
			fields = p.fields
			fw, _ := w.CreateFormFile(p.field, p.name)
			fw.Write(p.data)
		}
		for k, vs := range fields {
			for _, v := range vs {
				w.WriteField(k, v)
			}
		}
		w.Close()
		body, ctype = &buf, w.FormDataContentType()
	default:
		s.t.Fatalf("unknown form %q", form)
	}
	req, _ := http.NewRequest(method, target, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json, text/plain, */*")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s: %s %s: %v", s.app, method, path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	what := fmt.Sprintf("%s: %s %s", s.app, method, path)
	s.log = append(s.log, fmt.Sprintf("%s %s -> %d", method, path, resp.StatusCode))

	if strings.HasPrefix(strings.TrimSpace(string(raw)), "<") || strings.Contains(resp.Header.Get("Content-Type"), "html") {
		s.t.Errorf("%s answered HTML (%d %s): %.200s", what, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		return nil
	}
	if i := s.missingFor(method, path); i >= 0 {
		s.used[i] = true
		var e map[string]any
		if resp.StatusCode != 404 || json.Unmarshal(raw, &e) != nil || e["error"] == nil || e["error"] == "" {
			s.t.Errorf("%s is listed as not implemented (%s) but answered %d %.200s; if it works now, take it off the list",
				what, s.missing[i].reason, resp.StatusCode, raw)
		}
		return nil
	}
	okStatus := resp.StatusCode >= 200 && resp.StatusCode < 300
	if want != 0 {
		okStatus = resp.StatusCode == want
	}
	if !okStatus {
		s.t.Errorf("%s: status %d, want %s: %.300s", what, resp.StatusCode, map[bool]string{true: fmt.Sprint(want), false: "2xx"}[want != 0], raw)
		return nil
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		s.t.Errorf("%s: Content-Type %q, want application/json: %.200s", what, resp.Header.Get("Content-Type"), raw)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Errorf("%s: %d, body is not JSON: %v: %.200s", what, resp.StatusCode, err, raw)
		return nil
	}
	if got := jsonType(out); kind != "" && got != kind {
		s.t.Errorf("%s: top-level %s, want %s: %.200s", what, got, kind, raw)
	}
	if want >= 400 {
		if e, _ := out.(map[string]any); e == nil || e["error"] == nil {
			s.t.Errorf("%s: error answer without \"error\": %.200s", what, raw)
		}
	}
	return out
}

// finish checks that every notImplemented call was made (the list stays honest).
func (s *appSession) finish() {
	s.t.Helper()
	for i, m := range s.missing {
		if !s.used[i] {
			s.t.Errorf("%s: notImplemented lists %s %s, but the sequence never calls it", s.app, m.method, m.pattern)
		}
	}
	s.t.Logf("%s replayed %d calls:\n  %s", s.app, len(s.log), strings.Join(s.log, "\n  "))
}

// check asserts that the answer honoured a parameter: the value at a dotted path (or, for
// "len(path)", the length of the array there) prints as want.
func (s *appSession) check(v any, path string, want any) {
	s.t.Helper()
	m, _ := v.(map[string]any)
	if m == nil {
		return // the call already failed
	}
	got, ok := answerValue(m, path)
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		s.t.Errorf("%s: the app's parameters were not honoured: %s = %v, want %v (in %.300v)", s.app, path, got, want, m)
	}
}

// answerValue is the value at a dotted path, or for "len(path)" the length of the array there.
func answerValue(m map[string]any, path string) (any, bool) {
	p, length := path, false
	if strings.HasPrefix(path, "len(") {
		p, length = strings.TrimSuffix(strings.TrimPrefix(path, "len("), ")"), true
	}
	got, ok := lookupPath(m, p)
	if length {
		l, _ := got.([]any)
		got = len(l)
	}
	return got, ok
}

// gap records a known difference from Mastodon that breaks or misleads an app: the value at
// path should be want but is not yet. The test logs it (go test -v shows every gap) and
// fails once the node gets it right, so the gap can become a check.
func (s *appSession) gap(v any, path string, want any, why string) {
	s.t.Helper()
	m, _ := v.(map[string]any)
	if m == nil {
		return
	}
	got, _ := answerValue(m, path)
	if fmt.Sprint(got) == fmt.Sprint(want) {
		s.t.Errorf("%s: known gap fixed (%s): %s is now %v; turn the gap into a check", s.app, why, path, want)
		return
	}
	s.t.Logf("KNOWN GAP %s: %s = %v, Mastodon gives %v: %s", s.app, path, got, want, why)
}

func str(v any, key string) string {
	m, _ := v.(map[string]any)
	s, _ := m[key].(string)
	return s
}

func firstID(v any) string {
	l, _ := v.([]any)
	if len(l) == 0 {
		return ""
	}
	return str(l[0], "id")
}

// waitMediaReady polls GET /api/v1/media/:id as masto.js and Tusky do after a v2 upload
// until the attachment has its url (200; 206 while processing).
func (s *appSession) waitMediaReady(id string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := s.get("/api/v1/media/"+id, nil, "object")
		if str(m, "url") != "" || time.Now().After(deadline) {
			if str(m, "url") == "" {
				s.t.Errorf("%s: media %s has no url after 10s", s.app, id)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pushKeys is a browser's or app's Web Push key pair and auth secret, raw.
func pushKeys(t *testing.T) (pub, auth []byte) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth = make([]byte, 16)
	rand.Read(auth)
	return k.PublicKey().Bytes(), auth
}

// appWorld is the realistic data every app signs in to.
type appWorld struct {
	alice, bob                         *nodetest.API
	alicePost, bobPost, mention, reply string
	listID                             string
}

func buildAppWorld(t *testing.T, n *nodetest.Node) *appWorld {
	w := &appWorld{alice: n.NewUser(t, "alice"), bob: n.NewUser(t, "bob")}
	alice, bob := w.alice, w.bob
	mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/accounts/"+alice.User.ID+"/follow", nil, nil, 200)
	w.alicePost = discoverPost(t, alice, map[string]any{"status": "Shipping the release today #atrium", "visibility": "public"})
	w.bobPost = discoverPost(t, bob, map[string]any{"status": "Good morning, team #atrium", "visibility": "public"})
	w.mention = discoverPost(t, bob, map[string]any{"status": "@alice lunch at noon?"})
	w.reply = discoverPost(t, bob, map[string]any{"status": "@alice congratulations!", "in_reply_to_id": w.alicePost})
	mustCall(t, alice, "POST", "/api/v1/statuses/"+w.bobPost+"/favourite", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/statuses/"+w.alicePost+"/favourite", nil, nil, 200)
	mustCall(t, bob, "POST", "/api/v1/statuses/"+w.alicePost+"/reblog", nil, nil, 200)
	var list map[string]any
	mustCall(t, alice, "POST", "/api/v1/lists", map[string]any{"title": "Team"}, &list, 200)
	w.listID = list["id"].(string)
	mustCall(t, alice, "POST", "/api/v1/lists/"+w.listID+"/accounts", map[string]any{"account_ids": []string{bob.User.ID}}, nil, 200)
	mustCall(t, alice, "POST", "/api/v2/filters", map[string]any{"title": "Spoilers", "context": []string{"home", "notifications"},
		"filter_action": "warn", "keywords_attributes": []map[string]any{{"keyword": "spoiler", "whole_word": true}}}, nil, 200)
	return w
}

// newPoll is a poll of bob's for one app's account to vote in.
func (w *appWorld) newPoll(t *testing.T) string {
	var poll map[string]any
	mustCall(t, w.bob, "POST", "/api/v1/statuses", map[string]any{"status": "Offsite: where?",
		"poll": map[string]any{"options": []string{"Lisbon", "Oslo"}, "expires_in": 86400, "multiple": true}}, &poll, 200)
	return poll["poll"].(map[string]any)["id"].(string)
}

// TestAppStartupSequences replays, per app, the calls it makes at start-up and on its main
// screens, in its own parameter forms (see the sources at the top of this file).
func TestAppStartupSequences(t *testing.T) {
	eachEngineWith(t, nodetest.Options{Setup: true, Serve: true}, func(t *testing.T, n *nodetest.Node) {
		w := buildAppWorld(t, n)
		t.Run("Elk", func(t *testing.T) { replayElk(t, n, w) })
		t.Run("Phanpy", func(t *testing.T) { replayPhanpy(t, n, w) })
		t.Run("IceCubes", func(t *testing.T) { replayIceCubes(t, n, w) })
		t.Run("MastodonPy", func(t *testing.T) { replayMastodonPy(t, n, w) })
		t.Run("Tusky", func(t *testing.T) { replayTusky(t, n, w) }) // last: it clears the notifications
	})
}

// Tusky (Android): Retrofit; GET parameters as @Query (arrays as name[]), writes as
// @FormUrlEncoded fields, the status as a JSON @Body, media as @Multipart.
func replayTusky(t *testing.T, n *nodetest.Node, w *appWorld) {
	var notImplemented []missingCall // everything this sequence calls is implemented
	s := newAppSession(t, n, w.alice, "Tusky", notImplemented)
	bob, pollID := w.bob.User.ID, w.newPoll(t)
	// Start-up (MainActivity, account manager, instance info, filters, tabs).
	me := s.get("/api/v1/accounts/verify_credentials", nil, "object")
	if str(me, "id") != w.alice.User.ID {
		t.Errorf("verify_credentials = %v", me)
	}
	s.get("/api/v1/instance", nil, "object")
	s.get("/api/v1/custom_emojis", nil, "array")
	s.get("/api/v2/filters", nil, "array")
	s.get("/api/v1/filters", nil, "array") // older Tusky, and the fallback
	s.get("/api/v1/lists", nil, "array")
	s.get("/api/v1/announcements", url.Values{"with_dismissed": {"true"}}, "array")
	// Home and notifications.
	home := s.get("/api/v1/timelines/home", url.Values{"limit": {"30"}}, "array")
	if firstID(home) == "" {
		t.Errorf("Tusky: empty home timeline")
	}
	s.get("/api/v1/timelines/home", url.Values{"since_id": {w.alicePost}, "limit": {"30"}}, "array")
	notes := s.get("/api/v1/notifications", url.Values{"limit": {"30"}, "exclude_types[]": {"follow_request", "poll"}}, "array")
	if firstID(notes) == "" {
		t.Errorf("Tusky: no notifications")
	}
	s.get("/api/v1/markers", url.Values{"timeline[]": {"notifications"}}, "object")
	s.get("/api/v1/notifications", url.Values{"since_id": {"0"}}, "array") // NotificationFetcher
	// A thread.
	s.get("/api/v1/statuses/"+w.alicePost, nil, "object")
	s.get("/api/v1/statuses/"+w.alicePost+"/context", nil, "object")
	s.get("/api/v1/statuses/"+w.alicePost+"/favourited_by", nil, "array")
	s.get("/api/v1/statuses/"+w.alicePost+"/reblogged_by", nil, "array")
	s.send("POST", "/api/v1/statuses/"+w.reply+"/favourite", "", nil, "object")
	s.send("POST", "/api/v1/statuses/"+w.reply+"/bookmark", "", nil, "object")
	s.send("POST", "/api/v1/statuses/"+w.reply+"/unbookmark", "", nil, "object")
	// A profile.
	s.get("/api/v1/accounts/"+bob, nil, "object")
	s.get("/api/v1/accounts/relationships", url.Values{"id[]": {bob}}, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"limit": {"30"}, "exclude_replies": {"true"}}, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"pinned": {"true"}}, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"only_media": {"true"}}, "array")
	s.get("/api/v1/accounts/"+bob+"/followers", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/following", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/lists", nil, "array")
	rel := s.send("POST", "/api/v1/accounts/"+bob+"/follow", "form", url.Values{"reblogs": {"true"}, "notify": {"false"}}, "object")
	s.check(rel, "following", true)
	s.check(rel, "notifying", false)
	rel = s.send("POST", "/api/v1/accounts/"+bob+"/note", "form", url.Values{"comment": {"Runs the offsite"}}, "object")
	s.check(rel, "note", "Runs the offsite")
	// Compose: mention autocomplete, media, a post with media, a post with a poll, a vote.
	s.get("/api/v1/accounts/search", url.Values{"q": {"bo"}, "resolve": {"false"}, "limit": {"10"}}, "array")
	m := s.send("POST", "/api/v2/media", "multipart", upload{fields: url.Values{"description": {"A chart"}, "focus": {"0.0,0.0"}},
		field: "file", name: "chart.png", data: testPNG()}, "object")
	mediaID := str(m, "id")
	if mediaID != "" {
		s.waitMediaReady(mediaID)
		m = s.send("PUT", "/api/v1/media/"+mediaID, "form", url.Values{"description": {"A bar chart"}, "focus": {"0.1,-0.2"}}, "object")
		s.check(m, "description", "A bar chart")
	}
	st := s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Numbers are in", "spoiler_text": "", "visibility": "public",
		"sensitive": false, "media_ids": []string{mediaID}, "language": "en"}, "object", "Idempotency-Key", "tusky-1")
	if atts, _ := st.(map[string]any)["media_attachments"].([]any); len(atts) != 1 {
		t.Errorf("Tusky: post with media has attachments %v", st)
	}
	st = s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Lunch?", "visibility": "private", "sensitive": false,
		"media_ids": []string{}, "poll": map[string]any{"options": []string{"Pizza", "Sushi"}, "expires_in": 3600, "multiple": false}},
		"object", "Idempotency-Key", "tusky-2")
	s.check(st, "visibility", "private")
	s.check(st, "len(poll.options)", 2)
	again := s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Lunch?", "visibility": "private", "sensitive": false,
		"media_ids": []string{}, "poll": map[string]any{"options": []string{"Pizza", "Sushi"}, "expires_in": 3600, "multiple": false}},
		"object", "Idempotency-Key", "tusky-2") // a retry after a dropped connection
	s.check(again, "id", str(st, "id")) // Idempotency-Key: the retry answers with the first post
	poll := s.send("POST", "/api/v1/polls/"+pollID+"/votes", "form", url.Values{"choices[]": {"0"}}, "object")
	s.check(poll, "voted", true)
	s.check(poll, "own_votes", []any{float64(0)})
	// Search, lists, followed tags, explore.
	s.get("/api/v2/search", url.Values{"q": {"bob"}, "type": {"accounts"}, "resolve": {"true"}, "limit": {"20"}, "offset": {"0"}}, "object")
	s.get("/api/v2/search", url.Values{"q": {"#atrium"}, "type": {"hashtags"}, "limit": {"20"}}, "object")
	s.get("/api/v1/timelines/list/"+w.listID, url.Values{"limit": {"30"}}, "array")
	l := s.send("POST", "/api/v1/lists", "form", url.Values{"title": {"Tusky list"}}, "object")
	if id := str(l, "id"); id != "" {
		s.send("POST", "/api/v1/lists/"+id+"/accounts", "form", url.Values{"account_ids[]": {bob}}, "object")
		s.get("/api/v1/lists/"+id+"/accounts", url.Values{"limit": {"0"}}, "array")
		s.send("DELETE", "/api/v1/lists/"+id+"/accounts", "form", url.Values{"account_ids[]": {bob}}, "object")
		s.send("PUT", "/api/v1/lists/"+id, "form", url.Values{"title": {"Renamed"}}, "object")
		s.send("DELETE", "/api/v1/lists/"+id, "", nil, "object")
	}
	s.get("/api/v1/tags/atrium", nil, "object")
	s.send("POST", "/api/v1/tags/atrium/follow", "", nil, "object")
	s.get("/api/v1/followed_tags", nil, "array")
	s.get("/api/v1/timelines/tag/atrium", url.Values{"any[]": {"release"}, "limit": {"30"}}, "array")
	s.get("/api/v1/timelines/public", url.Values{"local": {"true"}, "limit": {"30"}}, "array")
	s.get("/api/v1/trends/tags", nil, "array")
	s.get("/api/v1/favourites", url.Values{"limit": {"30"}}, "array")
	s.get("/api/v1/bookmarks", url.Values{"limit": {"30"}}, "array")
	s.get("/api/v1/scheduled_statuses", url.Values{"limit": {"30"}}, "array")
	s.get("/api/v1/conversations", url.Values{"limit": {"30"}}, "array")
	s.get("/api/v1/follow_requests", nil, "array")
	s.get("/api/v1/domain_blocks", url.Values{"limit": {"30"}}, "array")
	f := s.send("POST", "/api/v1/filters", "form", url.Values{"phrase": {"crypto"}, "context[]": {"home", "public"},
		"irreversible": {"false"}, "whole_word": {"true"}, "expires_in": {""}}, "object")
	s.check(f, "len(context)", 2)
	s.check(f, "whole_word", true)
	// Push registration (UnifiedPush): urlencoded, keys as unpadded URL-safe base64.
	pub, auth := pushKeys(t)
	sub := s.send("POST", "/api/v1/push/subscription", "form", url.Values{
		"subscription[endpoint]":     {"https://push.example.net/up/tusky"},
		"subscription[keys][p256dh]": {base64.RawURLEncoding.EncodeToString(pub)},
		"subscription[keys][auth]":   {base64.RawURLEncoding.EncodeToString(auth)},
		"data[alerts][mention]":      {"true"}, "data[alerts][favourite]": {"true"}, "data[alerts][reblog]": {"true"},
		"data[alerts][follow]": {"true"}, "data[alerts][poll]": {"true"}, "data[alerts][status]": {"false"},
		"data[alerts][follow_request]": {"true"}, "data[alerts][update]": {"false"}, "data[policy]": {"all"},
	}, "object")
	if str(sub, "server_key") == "" {
		t.Errorf("Tusky: push subscription without server_key: %v", sub)
	}
	s.check(sub, "alerts.mention", true)
	s.check(sub, "alerts.status", false)
	s.check(sub, "policy", "all")
	sub = s.send("PUT", "/api/v1/push/subscription", "form", url.Values{"data[alerts][mention]": {"false"}}, "object")
	s.check(sub, "alerts.mention", false)
	s.send("DELETE", "/api/v1/push/subscription", "", nil, "object")
	s.send("POST", "/api/v1/notifications/clear", "", nil, "object")
	s.finish()
}

// Elk (web, masto.js): JSON writes, rails query strings with raw brackets, one websocket
// with the token as its protocol.
func replayElk(t *testing.T, n *nodetest.Node, w *appWorld) {
	var notImplemented []missingCall // everything this sequence calls is implemented
	s := newAppSession(t, n, w.alice, "Elk", notImplemented)
	bob, pollID := w.bob.User.ID, w.newPoll(t)
	// Sign-in: nodeinfo (GoToSocial detection), v1 instance, account, preferences, push.
	s.do(0, "GET", "/nodeinfo/2.0", "", nil, "object")
	inst := s.get("/api/v1/instance", nil, "object")
	if u, _ := inst.(map[string]any)["urls"].(map[string]any); u == nil || u["streaming_api"] == nil {
		t.Errorf("Elk: v1 instance has no urls.streaming_api, so Elk never streams: %v", inst)
	}
	s.get("/api/v1/accounts/verify_credentials", nil, "object")
	s.get("/api/v1/preferences", nil, "object")
	s.do(404, "GET", "/api/v1/push/subscription", "", nil, "object") // "we get 404 response instead empty data"
	s.get("/api/v1/custom_emojis", nil, "array")
	// Streaming first, as the home page does.
	stream := dialMastoJS(t, n, s.token)
	stream.subscribe(t, "user")
	// Home, notifications (v1; Elk groups them itself), markers.
	s.get("/api/v1/timelines/home?limit=20", nil, "array")
	s.get("/api/v1/notifications?limit=30", nil, "array")
	s.get("/api/v1/notifications?limit=30&types[]=mention", nil, "array")
	s.get("/api/v1/markers?timeline[]=notifications", nil, "object")
	lastNote := firstID(s.get("/api/v1/notifications?limit=1", nil, "array"))
	mk := s.send("POST", "/api/v1/markers", "json", map[string]any{"notifications": map[string]any{"last_read_id": lastNote}}, "object")
	s.check(mk, "notifications.last_read_id", lastNote)
	s.get("/api/v1/lists", nil, "array")
	s.get("/api/v2/filters", nil, "array")
	s.get("/api/v1/followed_tags", nil, "array")
	// Thread, profile.
	s.get("/api/v1/statuses/"+w.alicePost, nil, "object")
	s.get("/api/v1/statuses/"+w.alicePost+"/context", nil, "object")
	s.get("/api/v1/accounts/lookup?acct=bob", nil, "object")
	s.get("/api/v1/accounts/"+bob, nil, "object")
	s.get("/api/v1/accounts/relationships?id[]="+bob, nil, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses?limit=20&exclude_replies=true", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses?pinned=true", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/featured_tags", nil, "array")
	// Compose: media (multipart, then polling), a post with media and one with a poll (JSON).
	m := s.send("POST", "/api/v2/media", "multipart", upload{fields: url.Values{"description": {"A chart"}}, field: "file",
		name: "chart.png", data: testPNG()}, "object")
	mediaID := str(m, "id")
	if mediaID != "" {
		s.waitMediaReady(mediaID)
		s.send("PUT", "/api/v1/media/"+mediaID, "json", map[string]any{"description": "A bar chart"}, "object")
	}
	s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "From Elk", "visibility": "public", "media_ids": []string{mediaID},
		"sensitive": false, "spoiler_text": "", "language": "en"}, "object")
	st := s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Elk poll", "visibility": "unlisted",
		"poll": map[string]any{"options": []string{"Yes", "No"}, "expires_in": 300, "multiple": true, "hide_totals": false}}, "object")
	s.check(st, "poll.multiple", true)
	s.check(st, "visibility", "public") // by design unlisted is public here (audienceParam in statuses.go)
	poll := s.send("POST", "/api/v1/polls/"+pollID+"/votes", "json", map[string]any{"choices": []string{"0", "1"}}, "object")
	s.check(poll, "own_votes", []any{float64(0), float64(1)})
	s.send("POST", "/api/v1/statuses/"+w.bobPost+"/reblog", "json", map[string]any{}, "object")
	s.send("POST", "/api/v1/statuses/"+w.bobPost+"/unreblog", "", nil, "object")
	// Search, explore.
	s.get("/api/v2/search?q=bob&resolve=true&limit=10", nil, "object")
	s.get("/api/v2/search?q=atrium&type=hashtags&limit=10", nil, "object")
	s.get("/api/v1/trends/statuses?limit=20", nil, "array")
	s.get("/api/v1/trends/tags?limit=20", nil, "array")
	s.get("/api/v1/trends/links?limit=20", nil, "array")
	s.get("/api/v2/suggestions?limit=20", nil, "array")
	s.get("/api/v1/timelines/public?local=true&limit=20", nil, "array")
	s.get("/api/v1/timelines/tag/atrium?limit=20", nil, "array")
	s.get("/api/v1/tags/atrium", nil, "object")
	s.get("/api/v1/timelines/list/"+w.listID+"?limit=20", nil, "array")
	s.get("/api/v1/lists/"+w.listID+"/accounts?limit=0", nil, "array")
	s.get("/api/v1/conversations?limit=20", nil, "array")
	// Push (PWA): JSON body.
	pub, auth := pushKeys(t)
	s.send("POST", "/api/v1/push/subscription", "json", map[string]any{
		"subscription": map[string]any{"endpoint": "https://push.example.net/wp/elk",
			"keys": map[string]any{"p256dh": base64.RawURLEncoding.EncodeToString(pub), "auth": base64.RawURLEncoding.EncodeToString(auth)}},
		"data": map[string]any{"alerts": map[string]any{"follow": true, "favourite": true, "reblog": true, "mention": true, "poll": true},
			"policy": "all"}}, "object")
	sub := s.get("/api/v1/push/subscription", nil, "object")
	s.check(sub, "alerts.poll", true)
	s.check(sub, "endpoint", "https://push.example.net/wp/elk")
	// The stream delivers a followed person's post.
	discoverPost(t, w.bob, map[string]any{"status": "live for Elk"})
	stream.waitUpdate(t, "live for Elk")
	s.finish()
}

// Phanpy (web, masto.js): v2 instance first, grouped notifications, policy and requests.
func replayPhanpy(t *testing.T, n *nodetest.Node, w *appWorld) {
	notImplemented := []missingCall{
		{"GET", "/api/v2/notifications/policy", "notification filtering (Mastodon 4.3) is not implemented; Phanpy ignores the failure"},
		{"GET", "/api/v1/notifications/requests", "filtered-notification requests are not implemented; Phanpy shows none"},
	}
	s := newAppSession(t, n, w.alice, "Phanpy", notImplemented)
	bob := w.bob.User.ID
	inst := s.get("/api/v2/instance", nil, "object")
	if c, _ := inst.(map[string]any)["configuration"].(map[string]any); c == nil {
		t.Errorf("Phanpy: v2 instance without configuration")
	}
	s.get("/api/v1/accounts/verify_credentials", nil, "object")
	s.get("/api/v1/preferences", nil, "object")
	s.get("/api/v1/lists", nil, "array")
	s.get("/api/v1/followed_tags", nil, "array")
	s.get("/api/v2/filters", nil, "array")
	s.get("/api/v1/markers?timeline[]=notifications", nil, "object")
	s.get("/api/v1/timelines/home?limit=20", nil, "array")
	// Notifications page.
	s.get("/api/v1/notifications?limit=80&exclude_types[]=follow_request", nil, "array")
	g := s.get("/api/v2/notifications?limit=20&exclude_types[]=follow_request", nil, "object")
	if gm, _ := g.(map[string]any); gm == nil || gm["notification_groups"] == nil {
		t.Errorf("Phanpy: grouped notifications = %v", g)
	}
	s.send("POST", "/api/v1/markers", "json", map[string]any{"notifications": map[string]any{"last_read_id": "0"}}, "object")
	s.get("/api/v1/follow_requests?limit=80", nil, "array")
	s.get("/api/v1/announcements", nil, "array")
	s.get("/api/v2/notifications/policy", nil, "object")
	s.get("/api/v1/notifications/requests", nil, "array")
	s.get("/api/v2/notifications/unread_count", nil, "object")
	// Thread and profile.
	s.get("/api/v1/statuses/"+w.reply, nil, "object")
	s.get("/api/v1/statuses/"+w.reply+"/context", nil, "object")
	s.get("/api/v1/accounts/"+bob, nil, "object")
	s.get("/api/v1/accounts/relationships?id[]="+bob, nil, "array")
	s.get("/api/v1/accounts/familiar_followers?id[]="+bob, nil, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses?limit=20&exclude_replies=true&exclude_reblogs=false", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/featured_tags", nil, "array")
	// Compose with a poll, edit, and the edit history.
	st := s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Phanpy poll", "visibility": "public", "language": "en",
		"poll": map[string]any{"options": []string{"A", "B", "C"}, "expires_in": 86400, "multiple": false}}, "object",
		"Idempotency-Key", "phanpy-1")
	if id := str(st, "id"); id != "" {
		s.get("/api/v1/statuses/"+id+"/source", nil, "object")
		ed := s.send("PUT", "/api/v1/statuses/"+id, "json", map[string]any{"status": "Phanpy poll (edited)", "language": "en",
			"poll": map[string]any{"options": []string{"A", "B"}, "expires_in": 86400, "multiple": false}}, "object")
		s.check(ed, "len(poll.options)", 2) // the edit's poll replaces the old one
		s.get("/api/v1/statuses/"+id+"/history", nil, "array")
	}
	// Search, explore, lists, followed tags.
	s.get("/api/v2/search?q=good&type=statuses&limit=20", nil, "object")
	s.get("/api/v2/search?q=bob&type=accounts&limit=5&resolve=false", nil, "object")
	s.get("/api/v1/trends/tags", nil, "array")
	s.get("/api/v1/trends/statuses?limit=20", nil, "array")
	s.get("/api/v1/trends/links?limit=20", nil, "array")
	s.get("/api/v1/timelines/public?local=true&limit=20", nil, "array")
	s.get("/api/v1/timelines/list/"+w.listID+"?limit=20", nil, "array")
	s.get("/api/v1/tags/atrium", nil, "object")
	s.send("POST", "/api/v1/tags/atrium/follow", "", nil, "object")
	s.send("POST", "/api/v1/tags/atrium/unfollow", "", nil, "object")
	s.send("POST", "/api/v1/lists", "json", map[string]any{"title": "Phanpy", "replies_policy": "list", "exclusive": false}, "object")
	s.send("POST", "/api/v1/statuses/"+w.bobPost+"/bookmark", "", nil, "object")
	s.get("/api/v1/bookmarks?limit=20", nil, "array")
	s.finish()
}

// Ice Cubes (iOS): Foundation URLQueryItems, also on POST and PUT; statuses as snake_case JSON.
func replayIceCubes(t *testing.T, n *nodetest.Node, w *appWorld) {
	notImplemented := []missingCall{
		{"GET", "/api/v1/notifications/policy", "notification filtering (Mastodon 4.3) is not implemented; Ice Cubes hides the filter banner"},
		{"GET", "/api/v2/notifications/:group_key/accounts", "the accounts of a notification group are not listed separately; grouped notifications carry sample_account_ids"},
		{"POST", "/api/v1/statuses/:id/translate", "no server-side translation (configuration.translation.enabled is false); Ice Cubes offers DeepL instead"},
	}
	s := newAppSession(t, n, w.alice, "IceCubes", notImplemented)
	bob := w.bob.User.ID
	s.get("/api/v1/instance", nil, "object")
	s.get("/api/v1/accounts/verify_credentials", nil, "object")
	s.get("/api/v1/custom_emojis", nil, "array")
	s.get("/api/v1/lists", nil, "array")
	s.get("/api/v1/followed_tags", nil, "array")
	s.get("/api/v2/filters", nil, "array")
	s.get("/api/v1/preferences", nil, "object")
	s.get("/api/v1/markers", url.Values{"timeline[]": {"home", "notifications"}}, "object")
	// Streaming with the stream named on the URL and the token in the query
	// (/api/v1/streaming?stream=user&access_token=). Ice Cubes opens /api/v1/streaming
	// (Streaming.swift) and subscribes by message, the form the Elk check covers.
	frames := openUserStream(t, n, s.token)
	s.get("/api/v1/timelines/home", nil, "array")
	mk := s.send("POST", "/api/v1/markers", "json", map[string]any{"home": map[string]any{"last_read_id": w.bobPost}}, "object")
	s.check(mk, "home.last_read_id", w.bobPost)
	s.get("/api/v1/notifications", url.Values{"limit": {"40"}, "exclude_types[]": {"follow_request"}}, "array")
	g := s.get("/api/v2/notifications", url.Values{"types[]": {"mention", "favourite", "reblog", "follow"},
		"grouped_types[]": {"favourite", "reblog", "follow"}, "expand_accounts": {"partial_avatars"}}, "object")
	s.get("/api/v2/notifications/unread_count", url.Values{"limit": {"100"}, "grouped_types[]": {"favourite", "reblog", "follow"}}, "object")
	s.get("/api/v1/notifications/policy", nil, "object")
	groupKey := "favourite-1"
	if gm, _ := g.(map[string]any); gm != nil {
		if gs, _ := gm["notification_groups"].([]any); len(gs) > 0 {
			groupKey = str(gs[0], "group_key")
		}
	}
	s.get("/api/v2/notifications/"+url.PathEscape(groupKey)+"/accounts", nil, "array")
	// Thread, profile.
	s.get("/api/v1/statuses/"+w.alicePost+"/context", nil, "object")
	s.get("/api/v1/statuses/"+w.alicePost+"/favourited_by", nil, "array")
	s.send("POST", "/api/v1/statuses/"+w.bobPost+"/translate", "query", url.Values{"lang": {"fr"}}, "object")
	s.get("/api/v1/accounts/"+bob, nil, "object")
	s.get("/api/v1/accounts/relationships", url.Values{"id[]": {bob}}, "array")
	s.get("/api/v1/accounts/familiar_followers", url.Values{"id[]": {bob}}, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"only_media": {"false"}, "exclude_replies": {"true"},
		"exclude_reblogs": {"false"}, "pinned": {"true"}}, "array")
	s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"only_media": {"false"}, "exclude_replies": {"true"},
		"exclude_reblogs": {"false"}}, "array")
	s.get("/api/v1/accounts/"+bob+"/featured_tags", nil, "array")
	s.get("/api/v1/accounts/"+bob+"/lists", nil, "array")
	rel := s.send("POST", "/api/v1/accounts/"+bob+"/follow", "query", url.Values{"notify": {"true"}, "reblogs": {"true"}}, "object")
	s.check(rel, "notifying", true) // the bell sticks
	s.send("POST", "/api/v1/accounts/"+bob+"/note", "json", map[string]any{"comment": "Offsite lead"}, "object")
	// Compose: media, description via query items on PUT, then a post with media and a poll.
	m := s.send("POST", "/api/v2/media", "multipart", upload{field: "file", name: "file.jpg", data: testPNG()}, "object")
	mediaID := str(m, "id")
	if mediaID != "" {
		s.waitMediaReady(mediaID)
		m = s.send("PUT", "/api/v1/media/"+mediaID, "query", url.Values{"description": {"A chart"}}, "object")
		s.check(m, "description", "A chart")
	}
	s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "From Ice Cubes", "visibility": "public",
		"media_ids": []string{mediaID}}, "object")
	s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Ice poll", "visibility": "private",
		"poll": map[string]any{"options": []string{"Yes", "No"}, "multiple": false, "expires_in": 3600}}, "object")
	s.send("POST", "/api/v1/statuses/"+w.alicePost+"/pin", "", nil, "object")
	s.send("POST", "/api/v1/statuses/"+w.alicePost+"/unpin", "", nil, "object")
	// Explore and search.
	s.get("/api/v1/trends/tags", nil, "array")
	s.get("/api/v1/trends/statuses", url.Values{"offset": {"0"}}, "array")
	s.get("/api/v1/trends/links", nil, "array")
	s.get("/api/v2/suggestions", nil, "array")
	s.get("/api/v1/instance/peers", nil, "array")
	s.get("/api/v2/search", url.Values{"q": {"atrium"}, "resolve": {"true"}}, "object")
	s.get("/api/v1/timelines/public", url.Values{"local": {"true"}}, "array")
	s.get("/api/v1/timelines/tag/atrium", url.Values{"any[]": {"release"}}, "array")
	s.get("/api/v1/timelines/list/"+w.listID, nil, "array")
	s.get("/api/v1/conversations", nil, "array")
	// Push: every field as a query item on the POST.
	pub, auth := pushKeys(t)
	sub := s.send("POST", "/api/v1/push/subscription", "query", url.Values{
		"subscription[endpoint]":     {"https://push.example.net/apns/icecubes"},
		"subscription[keys][p256dh]": {base64.RawURLEncoding.EncodeToString(pub)},
		"subscription[keys][auth]":   {base64.RawURLEncoding.EncodeToString(auth)},
		"data[alerts][mention]":      {"true"}, "data[alerts][status]": {"true"}, "data[alerts][follow]": {"true"},
		"data[alerts][reblog]": {"true"}, "data[alerts][favourite]": {"true"}, "data[alerts][poll]": {"true"},
		"policy": {"all"},
	}, "object")
	s.check(sub, "alerts.status", true)
	s.check(sub, "endpoint", "https://push.example.net/apns/icecubes")
	discoverPost(t, w.bob, map[string]any{"status": "live for Ice Cubes"})
	frames.waitStatus(t, "update", "live for Ice Cubes")
	s.finish()
}

// Mastodon.py: GET parameters in the query, other methods as urlencoded forms, lists as
// name[], booleans as '1'/'0'; JSON only for a status with a poll.
func replayMastodonPy(t *testing.T, n *nodetest.Node, w *appWorld) {
	notImplemented := []missingCall{
		{"GET", "/api/v1/instance/languages", "instance_languages(): the list of supported locales is not served; the library raises MastodonNotFoundError"},
	}
	s := newAppSession(t, n, w.alice, "Mastodon.py", notImplemented)
	bob, pollID := w.bob.User.ID, w.newPoll(t)
	// Mastodon(...) checks the version; log_in-free scripts then call verify_credentials.
	s.get("/api/v1/instance/", nil, "object")
	s.get("/api/v2/instance/", nil, "object")
	s.get("/api/v1/accounts/verify_credentials", nil, "object")
	s.get("/api/v1/timelines/home", url.Values{"limit": {"40"}}, "array")
	for _, nt := range s.get("/api/v1/notifications", url.Values{"types[]": {"mention"}, "limit": {"40"}}, "array").([]any) {
		s.check(nt, "type", "mention")
	}
	s.get("/api/v1/notifications", url.Values{"exclude_types[]": {"follow"}}, "array")
	s.get("/api/v1/markers", url.Values{"timeline[]": {"home"}}, "object")
	mk := s.send("POST", "/api/v1/markers", "form", url.Values{"home[last_read_id]": {w.bobPost}}, "object")
	s.check(mk, "home.last_read_id", w.bobPost)
	s.get("/api/v1/statuses/"+w.alicePost+"/context", nil, "object")
	for _, st := range s.get("/api/v1/accounts/"+bob+"/statuses", url.Values{"exclude_replies": {"1"}, "limit": {"40"}}, "array").([]any) {
		s.check(st, "in_reply_to_id", nil)
	}
	s.get("/api/v1/accounts/relationships", url.Values{"id[]": {bob}}, "array")
	s.get("/api/v1/accounts/search", url.Values{"q": {"bob"}, "limit": {"40"}, "following": {"0"}}, "array")
	s.get("/api/v2/search", url.Values{"q": {"atrium"}, "resolve": {"0"}, "exclude_unreviewed": {"1"}}, "object")
	// media_post then status_post (a form with media_ids[]), then a poll (JSON).
	m := s.send("POST", "/api/v2/media", "multipart", upload{fields: url.Values{"description": {"A chart"}, "focus": {"0.0,0.0"}},
		field: "file", name: "mastodonpyupload_1.png", data: testPNG()}, "object")
	mediaID := str(m, "id")
	if mediaID != "" {
		s.waitMediaReady(mediaID)
	}
	st := s.send("POST", "/api/v1/statuses", "form", url.Values{"status": {"From Mastodon.py"}, "visibility": {"unlisted"},
		"media_ids[]": {mediaID}, "sensitive": {"1"}}, "object")
	s.check(st, "visibility", "public") // by design unlisted is public here (audienceParam in statuses.go)
	s.check(st, "sensitive", true)
	s.check(st, "len(media_attachments)", 1)
	if id := str(st, "id"); id != "" { // status_update(id, status=...): media_ids None is left out of the form
		ed := s.send("PUT", "/api/v1/statuses/"+id, "form", url.Values{"status": {"From Mastodon.py (edited)"}}, "object")
		s.check(ed, "len(media_attachments)", 1) // absent keys leave the media and the flag as they were
		s.check(ed, "sensitive", true)
	}
	st = s.send("POST", "/api/v1/statuses", "form", url.Values{"status": {"@bob reply from a script"}, "in_reply_to_id": {w.mention}}, "object")
	s.check(st, "in_reply_to_id", w.mention)
	s.send("POST", "/api/v1/statuses", "json", map[string]any{"status": "Script poll",
		"poll": map[string]any{"options": []string{"a", "b"}, "expires_in": 600, "multiple": false, "hide_totals": false}}, "object")
	s.send("POST", "/api/v1/polls/"+pollID+"/votes", "form", url.Values{"choices[]": {"1"}}, "object")
	s.get("/api/v1/polls/"+pollID, nil, "object")
	if id := str(st, "id"); id != "" {
		s.send("DELETE", "/api/v1/statuses/"+id, "form", url.Values{}, "object")
	}
	s.send("POST", "/api/v1/statuses/"+w.bobPost+"/favourite", "form", url.Values{}, "object")
	// Lists, filters, followed tags, trends, suggestions.
	l := s.send("POST", "/api/v1/lists", "form", url.Values{"title": {"From Python"}, "replies_policy": {"list"}}, "object")
	if id := str(l, "id"); id != "" {
		s.send("POST", "/api/v1/lists/"+id+"/accounts", "form", url.Values{"account_ids[]": {bob}}, "object")
		s.get("/api/v1/lists/"+id+"/accounts", nil, "array")
		s.get("/api/v1/timelines/list/"+id, nil, "array")
	}
	s.get("/api/v2/filters", nil, "array")
	f := s.send("POST", "/api/v2/filters", "form", url.Values{"title": {"Python filter"}, "context[]": {"home", "public"},
		"filter_action": {"warn"}, "keywords_attributes[][keyword]": {"spam"}, "keywords_attributes[][whole_word]": {"1"}}, "object")
	s.check(f, "len(context)", 2)
	s.check(f, "len(keywords)", 1)
	s.get("/api/v1/followed_tags", nil, "array")
	s.send("POST", "/api/v1/tags/python/follow", "form", url.Values{}, "object")
	s.get("/api/v1/trends/tags", url.Values{"limit": {"10"}}, "array")
	s.get("/api/v1/trends/statuses", nil, "array")
	s.get("/api/v2/suggestions", nil, "array")
	s.get("/api/v1/directory", url.Values{"local": {"1"}, "order": {"active"}}, "array")
	s.get("/api/v1/instance/activity", nil, "array")
	s.get("/api/v1/instance/peers", nil, "array")
	s.get("/api/v1/instance/rules", nil, "array")
	s.get("/api/v1/instance/languages", nil, "array")
	s.get("/api/v1/custom_emojis", nil, "array")
	// instance_nodeinfo(): the well-known document, then the 2.0 schema it links to.
	links, _ := s.get("/.well-known/nodeinfo", nil, "object").(map[string]any)["links"].([]any)
	href := ""
	for _, l := range links {
		if str(l, "rel") == "http://nodeinfo.diaspora.software/ns/schema/2.0" {
			href = str(l, "href")
		}
	}
	if u, err := url.Parse(href); err != nil || href == "" {
		t.Errorf("Mastodon.py: /.well-known/nodeinfo links no 2.0 schema: %v", links)
	} else {
		s.get(u.Path, nil, "object")
	}
	// instance_health(): Mastodon answers GET /health with "OK"; outside the API, so not JSON.
	if code, ctype, body := rawCall(t, n, "", "GET", "/health", "", ""); code != 200 || strings.TrimSpace(body) != "OK" {
		t.Errorf("Mastodon.py: GET /health -> %d %s %q, want 200 \"OK\" (instance_health())", code, ctype, body)
	}
	// push_subscription_set: a form; keys in standard base64 with padding; policy on top.
	pub, auth := pushKeys(t)
	sub := s.send("POST", "/api/v1/push/subscription", "form", url.Values{
		"subscription[endpoint]":     {"https://push.example.net/py"},
		"subscription[keys][p256dh]": {base64.StdEncoding.EncodeToString(pub)},
		"subscription[keys][auth]":   {base64.StdEncoding.EncodeToString(auth)},
		"policy":                     {"all"},
		"data[alerts][follow]":       {"1"}, "data[alerts][favourite]": {"1"}, "data[alerts][mention]": {"1"}, "data[alerts][reblog]": {"0"},
	}, "object")
	s.check(sub, "alerts.follow", true)
	s.check(sub, "alerts.reblog", false)
	s.get("/api/v1/push/subscription", nil, "object")
	sub = s.send("PUT", "/api/v1/push/subscription", "form", url.Values{"policy": {"followed"}, "data[alerts][reblog]": {"1"}}, "object")
	s.check(sub, "alerts.reblog", true) // Mastodon.py's top-level policy is ignored, by Mastodon too (it reads data[policy])
	s.send("DELETE", "/api/v1/push/subscription", "form", url.Values{}, "object")
	s.finish()
}

// mastoStream is masto.js's streaming client: one websocket on /api/v1/streaming, the token
// as Sec-WebSocket-Protocol, streams chosen with {"type":"subscribe"} messages.
type mastoStream struct {
	conn   *websocket.Conn
	mu     sync.Mutex
	frames []map[string]any
	done   chan struct{}
}

func dialMastoJS(t *testing.T, n *nodetest.Node, token string) *mastoStream {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{token}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws://"+n.HTTP.Listener.Addr().String()+"/api/v1/streaming", nil)
	if err != nil {
		t.Fatalf("masto.js websocket: %v (%v)", err, resp)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != token {
		t.Errorf("the handshake did not accept the token protocol (browsers then fail): %q", got)
	}
	s := &mastoStream{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			var f map[string]any
			if err := conn.ReadJSON(&f); err != nil {
				return
			}
			s.mu.Lock()
			s.frames = append(s.frames, f)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

func (s *mastoStream) subscribe(t *testing.T, stream string) {
	if err := s.conn.WriteJSON(map[string]any{"type": "subscribe", "stream": stream}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // no acknowledgement in Mastodon's protocol: let it land
}

func (s *mastoStream) waitUpdate(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, f := range s.frames {
			p, _ := f["payload"].(string)
			if f["event"] == "update" && strings.Contains(p, text) {
				st, _ := f["stream"].([]any)
				if len(st) == 0 || st[0] != "user" {
					t.Errorf("update frame names stream %v, want [user]", f["stream"])
				}
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no update with %q on the masto.js stream within 10s; frames: %v", text, s.frames)
}
