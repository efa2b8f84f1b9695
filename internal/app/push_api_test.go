package app_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

var b64url = base64.RawURLEncoding

// pushEngines runs body on both engines with a node on a test network (acme.test), whose
// outbound client reaches loopback push services over http.
func pushEngines(t *testing.T, body func(t *testing.T, n *nodetest.Node)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true, Host: "acme.test"}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			body(t, nodetest.Start(t, o))
		})
	}
}

// subscriber is a browser's side of a push subscription: its key pair and auth secret.
type subscriber struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newSubscriber(t *testing.T) *subscriber {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &subscriber{key: k, auth: auth}
}

func (s *subscriber) p256dh() string  { return b64url.EncodeToString(s.key.PublicKey().Bytes()) }
func (s *subscriber) authKey() string { return b64url.EncodeToString(s.auth) }

// decrypt opens an aes128gcm push message as a browser does (RFC 8291 section 3.4) and
// decodes its JSON.
func (s *subscriber) decrypt(t *testing.T, body []byte) map[string]any {
	t.Helper()
	if len(body) < 86 || body[20] != 65 || binary.BigEndian.Uint32(body[16:20]) != 4096 {
		t.Fatalf("not an aes128gcm push body: % x", body[:min(len(body), 24)])
	}
	salt, asPub := body[:16], body[21:86]
	as, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := s.key.ECDH(as)
	if err != nil {
		t.Fatal(err)
	}
	info := "WebPush: info\x00" + string(s.key.PublicKey().Bytes()) + string(asPub)
	ikm, _ := hkdf.Key(sha256.New, shared, s.auth, info, 32)
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, body[86:], nil)
	if err != nil {
		t.Fatalf("decrypt with the subscriber's key: %v", err)
	}
	if len(plain) == 0 || plain[len(plain)-1] != 0x02 {
		t.Fatalf("the single record must end with the 0x02 delimiter")
	}
	var m map[string]any
	if err := json.Unmarshal(plain[:len(plain)-1], &m); err != nil {
		t.Fatalf("push message is not JSON: %v: %s", err, plain)
	}
	return m
}

// pushService is a loopback push service. It answers with the queued statuses, then 201.
type pushService struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []pushRequest
	answers []int
}

type pushRequest struct {
	path   string
	header http.Header
	body   []byte
	status int
}

func newPushService(t *testing.T) *pushService {
	ps := &pushService{}
	ps.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		status := http.StatusCreated
		if len(ps.answers) > 0 {
			status, ps.answers = ps.answers[0], ps.answers[1:]
		}
		ps.got = append(ps.got, pushRequest{path: r.URL.Path, header: r.Header.Clone(), body: b, status: status})
		ps.mu.Unlock()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1") // so the retry comes within the test
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ps.srv.Close)
	return ps
}

// endpoint is a subscription URL on the test network (push.test resolves to loopback).
func (ps *pushService) endpoint(name string) string {
	_, port, _ := strings.Cut(strings.TrimPrefix(ps.srv.URL, "http://"), ":")
	return "http://push.test:" + port + "/wpush/" + name
}

func (ps *pushService) requests() []pushRequest {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]pushRequest(nil), ps.got...)
}

func (ps *pushService) answer(codes ...int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.answers = append(ps.answers, codes...)
}

// settlePush waits until the node has no push job left (sent, given up or filtered out).
func settlePush(t *testing.T, n *nodetest.Node) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := n.DB.NewSelect().Table("jobs").Where("kind IN ('push_fanout', 'push_send') AND state = 'pending'").Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d push jobs still pending", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendForm sends an urlencoded form with the API's token.
func sendForm(t *testing.T, n *nodetest.Node, api *nodetest.API, method, path string, form url.Values, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, n.HTTP.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+api.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

func subscribeJSON(endpoint string, s *subscriber, alerts map[string]any, policy string) map[string]any {
	return map[string]any{
		"subscription": map[string]any{"endpoint": endpoint, "keys": map[string]any{"p256dh": s.p256dh(), "auth": s.authKey()}},
		"data":         map[string]any{"alerts": alerts, "policy": policy},
	}
}

func TestPushSubscriptionAPI(t *testing.T) {
	pushEngines(t, func(t *testing.T, n *nodetest.Node) {
		c := caller{t}
		alice := n.NewUser(t, "alice")
		ps := newPushService(t)
		sub := newSubscriber(t)
		const path = "/api/v1/push/subscription"

		// Nothing yet.
		var e map[string]any
		c.expect(alice.Call("GET", path, nil, &e), 404, e, "GET before subscribing")

		// JSON, nested objects.
		var got map[string]any
		resp := alice.Call("POST", path, subscribeJSON(ps.endpoint("a1"), sub, map[string]any{"mention": true, "follow": true}, "all"), &got)
		c.expect(resp, 200, got, "POST JSON")
		checkShape(t, "WebPushSubscription", got, map[string]string{"id": "string", "endpoint": "string", "standard": "bool",
			"alerts": "object", "policy": "string", "server_key": "string"})
		alerts := got["alerts"].(map[string]any)
		if got["endpoint"] != ps.endpoint("a1") || got["standard"] != true || got["policy"] != "all" ||
			alerts["mention"] != true || alerts["follow"] != true || alerts["favourite"] != false || alerts["admin.sign_up"] != false {
			t.Fatalf("subscription %v", got)
		}
		key, err := b64url.DecodeString(got["server_key"].(string))
		if err != nil || len(key) != 65 || key[0] != 4 {
			t.Fatalf("server_key %v is not a base64url uncompressed P-256 point", got["server_key"])
		}
		// The same key everywhere apps look for it.
		var inst map[string]any
		mustCall(t, alice, "GET", "/api/v2/instance", nil, &inst, 200)
		if v := inst["configuration"].(map[string]any)["vapid"].(map[string]any)["public_key"]; v != got["server_key"] {
			t.Fatalf("instance vapid key %v, subscription server_key %v", v, got["server_key"])
		}
		var app map[string]any
		mustCall(t, alice, "POST", "/api/v1/apps", map[string]any{"client_name": "Pusher", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
			"scopes": "read push"}, &app, 200)
		if app["vapid_key"] != got["server_key"] {
			t.Fatalf("app vapid_key %v, want %v", app["vapid_key"], got["server_key"])
		}
		firstID := got["id"].(string)
		var again map[string]any
		mustCall(t, alice, "GET", path, nil, &again, 200)
		if again["id"] != firstID || again["endpoint"] != ps.endpoint("a1") {
			t.Fatalf("GET %v", again)
		}

		// A form POST replaces the token's subscription (one per token).
		form := url.Values{"subscription[endpoint]": {ps.endpoint("a2")}, "subscription[keys][p256dh]": {sub.p256dh()},
			"subscription[keys][auth]": {sub.authKey()}, "data[alerts][favourite]": {"true"}, "data[policy]": {"follower"}}
		var replaced map[string]any
		if code := sendForm(t, n, alice, "POST", path, form, &replaced); code != 200 {
			t.Fatalf("POST form: %d %v", code, replaced)
		}
		ra := replaced["alerts"].(map[string]any)
		if replaced["id"] == firstID || replaced["endpoint"] != ps.endpoint("a2") || replaced["policy"] != "follower" ||
			ra["favourite"] != true || ra["mention"] != false {
			t.Fatalf("replaced %v", replaced)
		}
		if c, _ := n.DB.NewSelect().Table("push_subscriptions").Where("account_id = ?", alice.User.ID).Count(context.Background()); c != 1 {
			t.Fatalf("%d subscriptions for one token, want 1", c)
		}

		// PUT changes the data only: named alerts and the policy.
		var updated map[string]any
		mustCall(t, alice, "PUT", path, map[string]any{"data": map[string]any{"alerts": map[string]any{"mention": true}, "policy": "followed"},
			"subscription": map[string]any{"endpoint": "https://elsewhere.example/x"}}, &updated, 200)
		ua := updated["alerts"].(map[string]any)
		if updated["id"] != replaced["id"] || updated["endpoint"] != ps.endpoint("a2") || updated["policy"] != "followed" ||
			ua["mention"] != true || ua["favourite"] != true {
			t.Fatalf("updated %v", updated)
		}
		if code := sendForm(t, n, alice, "PUT", path, url.Values{"data[alerts][favourite]": {"false"}, "data[policy]": {"none"}}, &updated); code != 200 ||
			updated["policy"] != "none" || updated["alerts"].(map[string]any)["favourite"] != false {
			t.Fatalf("PUT form: %d %v", code, updated)
		}
		var bad map[string]any
		c.expect(alice.Call("PUT", path, map[string]any{"data": map[string]any{"policy": "friends"}}, &bad), 422, bad, "PUT bad policy")

		// Validation, Mastodon-style 422s.
		for name, body := range map[string]map[string]any{
			"short p256dh": {"subscription": map[string]any{"endpoint": ps.endpoint("x"), "keys": map[string]any{"p256dh": b64url.EncodeToString([]byte("short")), "auth": sub.authKey()}}},
			"long auth":    {"subscription": map[string]any{"endpoint": ps.endpoint("x"), "keys": map[string]any{"p256dh": sub.p256dh(), "auth": b64url.EncodeToString(make([]byte, 17))}}},
			"ftp endpoint": {"subscription": map[string]any{"endpoint": "ftp://push.test/x", "keys": map[string]any{"p256dh": sub.p256dh(), "auth": sub.authKey()}}},
			"no endpoint":  {"subscription": map[string]any{"keys": map[string]any{"p256dh": sub.p256dh(), "auth": sub.authKey()}}},
			"bad policy":   subscribeJSON(ps.endpoint("x"), sub, map[string]any{"mention": true}, "friends"),
			"bad alert":    subscribeJSON(ps.endpoint("x"), sub, map[string]any{"chat": true}, "all"),
		} {
			var e map[string]any
			c.expect(alice.Call("POST", path, body, &e), 422, e, "POST "+name)
		}
		if code := sendForm(t, n, alice, "POST", path, url.Values{"subscription[endpoint]": {ps.endpoint("x")},
			"subscription[keys][p256dh]": {sub.p256dh()}, "subscription[keys][auth]": {"tooshort"}}, &bad); code != 422 {
			t.Fatalf("form with a bad auth: %d", code)
		}

		// The push scope is required.
		plain, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), alice.User.ID, "no push", "read write")
		if err != nil {
			t.Fatal(err)
		}
		noPush := &nodetest.API{}
		*noPush = *alice
		noPush.Token = plain
		c.expect(noPush.Call("GET", path, nil, &bad), 403, bad, "GET without the push scope")
		c.expect(noPush.Call("POST", path, subscribeJSON(ps.endpoint("y"), sub, nil, "all"), &bad), 403, bad, "POST without the push scope")

		// DELETE answers {} and the subscription is gone.
		var empty map[string]any
		mustCall(t, alice, "DELETE", path, nil, &empty, 200)
		if len(empty) != 0 {
			t.Fatalf("DELETE answered %v", empty)
		}
		c.expect(alice.Call("GET", path, nil, &bad), 404, bad, "GET after DELETE")
	})
}

func TestPushDelivery(t *testing.T) {
	pushEngines(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob, carol := n.NewUser(t, "alice"), n.NewUser(t, "bob"), n.NewUser(t, "carol")
		ps := newPushService(t)
		sub := newSubscriber(t)
		const path = "/api/v1/push/subscription"
		var s map[string]any
		mustCall(t, alice, "POST", path, subscribeJSON(ps.endpoint("alice"), sub, map[string]any{"mention": true, "favourite": true}, "all"), &s, 200)

		// A mention reaches the push service, signed, encrypted for alice's browser only.
		postID := discoverPost(t, bob, map[string]any{"status": "@alice lunch at noon? The new place on the corner has great soup."})
		settlePush(t, n)
		reqs := ps.requests()
		if len(reqs) != 1 {
			t.Fatalf("push service got %d requests, want 1", len(reqs))
		}
		r := reqs[0]
		if r.path != "/wpush/alice" || r.header.Get("Content-Encoding") != "aes128gcm" || r.header.Get("TTL") != "172800" ||
			r.header.Get("Urgency") != "normal" {
			t.Fatalf("push request %s %v", r.path, r.header)
		}
		if a := r.header.Get("Authorization"); !strings.HasPrefix(a, "vapid t=") || !strings.HasSuffix(a, ", k="+s["server_key"].(string)) {
			t.Fatalf("Authorization %q", a)
		}
		msg := sub.decrypt(t, r.body)
		var notes []map[string]any
		mustCall(t, alice, "GET", "/api/v1/notifications", nil, &notes, 200)
		if len(notes) != 1 || notes[0]["status"].(map[string]any)["id"] != postID {
			t.Fatalf("alice's notifications %v", notes)
		}
		if msg["notification_type"] != "mention" || msg["notification_id"] != notes[0]["id"] || msg["title"] != "bob mentioned you" ||
			!strings.Contains(msg["body"].(string), "lunch at noon") || msg["access_token"] != "" || msg["preferred_locale"] != "en" {
			t.Fatalf("push message %v", msg)
		}
		if icon, _ := msg["icon"].(string); !strings.HasPrefix(icon, "http") {
			t.Fatalf("icon %q", icon)
		}

		// Alerts off for mentions: a mention sends nothing, a favourite still does.
		mustCall(t, alice, "PUT", path, map[string]any{"data": map[string]any{"alerts": map[string]any{"mention": false}}}, nil, 200)
		discoverPost(t, carol, map[string]any{"status": "@alice are you coming?"})
		own := discoverPost(t, alice, map[string]any{"status": "My post"})
		mustCall(t, carol, "POST", "/api/v1/statuses/"+own+"/favourite", nil, nil, 200)
		settlePush(t, n)
		reqs = ps.requests()
		if len(reqs) != 2 {
			t.Fatalf("push service got %d requests, want 2 (the favourite only)", len(reqs))
		}
		if m := sub.decrypt(t, reqs[1].body); m["notification_type"] != "favourite" {
			t.Fatalf("second push %v, want the favourite", m)
		}

		// policy=followed: only people alice follows.
		mustCall(t, alice, "PUT", path, map[string]any{"data": map[string]any{"alerts": map[string]any{"mention": true}, "policy": "followed"}}, nil, 200)
		discoverPost(t, carol, map[string]any{"status": "@alice ping from someone you do not follow"})
		settlePush(t, n)
		if got := len(ps.requests()); got != 2 {
			t.Fatalf("a mention by someone alice does not follow was pushed (%d requests)", got)
		}
		mustCall(t, alice, "POST", "/api/v1/accounts/"+bob.User.ID+"/follow", nil, nil, 200)
		discoverPost(t, bob, map[string]any{"status": "@alice from someone you follow"})
		settlePush(t, n)
		reqs = ps.requests()
		if len(reqs) != 3 || !strings.Contains(sub.decrypt(t, reqs[2].body)["body"].(string), "someone you follow") {
			t.Fatalf("a mention by someone alice follows: %d requests", len(reqs))
		}

		// A 503 is retried (after the Retry-After asked for), then delivered.
		ps.answer(http.StatusServiceUnavailable)
		discoverPost(t, bob, map[string]any{"status": "@alice retry me"})
		settlePush(t, n)
		reqs = ps.requests()
		if len(reqs) != 5 || reqs[3].status != 503 || reqs[4].status != 201 {
			t.Fatalf("after a 503: %d requests", len(reqs))
		}
		if m := sub.decrypt(t, reqs[4].body); !strings.Contains(m["body"].(string), "retry me") {
			t.Fatalf("retried push %v", m)
		}

		// An announcement notifies the whole company in one batch (notify's addMany): one push
		// to the one subscriber, typed "status" as the notifications API types it.
		admin, err := n.Accounts.ByUsername(context.Background(), "admin")
		if err != nil {
			t.Fatal(err)
		}
		mustCall(t, alice, "PUT", path, map[string]any{"data": map[string]any{"alerts": map[string]any{"status": true}, "policy": "all"}}, nil, 200)
		discoverPost(t, n.APIFor(t, admin), map[string]any{"status": "Office closed Friday", "important": true})
		settlePush(t, n)
		reqs = ps.requests()
		if len(reqs) != 6 {
			t.Fatalf("after an announcement: %d requests, want 6", len(reqs))
		}
		if m := sub.decrypt(t, reqs[5].body); m["notification_type"] != "status" || m["title"] != "admin posted an announcement" {
			t.Fatalf("announcement push %v", m)
		}

		// A 410 means the browser unsubscribed: the subscription is deleted.
		ps.answer(http.StatusGone)
		discoverPost(t, bob, map[string]any{"status": "@alice are you still there?"})
		settlePush(t, n)
		if got := len(ps.requests()); got != 7 {
			t.Fatalf("%d requests, want 7", got)
		}
		var e map[string]any
		caller{t}.expect(alice.Call("GET", path, nil, &e), 404, e, "GET after a 410")
		discoverPost(t, bob, map[string]any{"status": "@alice nobody listens"})
		settlePush(t, n)
		if got := len(ps.requests()); got != 7 {
			t.Fatalf("pushed to a deleted subscription (%d requests)", got)
		}
	})
}

// Nodes where nobody subscribed queue no push work at all, and a batch of notifications (an
// announcement to everyone) queues one fan-out job, not one per person. Manual nodes keep
// the queued jobs for counting.
func TestPushQueuesPerBatch(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true, Host: "acme.test", Manual: true}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			n := nodetest.Start(t, o)
			admin, err := n.Accounts.ByUsername(context.Background(), "admin")
			if err != nil {
				t.Fatal(err)
			}
			boss := n.APIFor(t, admin)
			alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
			for i := 0; i < 5; i++ {
				n.NewUser(t, "person"+string(rune('a'+i)))
			}
			count := func(kind string) int {
				c, err := n.DB.NewSelect().Table("jobs").Where("kind = ?", kind).Count(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return int(c)
			}
			discoverPost(t, bob, map[string]any{"status": "@alice hello"})
			discoverPost(t, boss, map[string]any{"status": "All hands at 3", "important": true})
			if c := count("push_fanout"); c != 0 {
				t.Fatalf("%d push jobs queued on a node without subscriptions", c)
			}
			sub := newSubscriber(t)
			ps := newPushService(t)
			mustCall(t, alice, "POST", "/api/v1/push/subscription", subscribeJSON(ps.endpoint("a"), sub, map[string]any{"status": true}, "all"), nil, 200)
			discoverPost(t, boss, map[string]any{"status": "Office closed Friday", "important": true})
			if c := count("push_fanout"); c != 1 {
				t.Fatalf("an announcement to 8 people queued %d fan-out jobs, want 1", c)
			}
			nodetest.Settle(t, n)
			if got := len(ps.requests()); got != 1 {
				t.Fatalf("push service got %d requests, want 1", got)
			}
		})
	}
}
