package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// postWithKey sends a status with an Idempotency-Key and returns the status code and id.
func postWithKey(t *testing.T, n *nodetest.Node, a *nodetest.API, key, text string) (int, string) {
	b, _ := json.Marshal(map[string]any{"status": text})
	req, _ := http.NewRequest("POST", n.HTTP.URL+"/api/v1/statuses", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var st map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&st)
	id, _ := st["id"].(string)
	return resp.StatusCode, id
}

// A status resent with the same Idempotency-Key (an app retrying after a dropped
// connection) is the first one, even when the copies arrive at once; another key, another
// person, or a deleted first post make a new one.
func TestIdempotencyKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, n *nodetest.Node) {
		alice, bob := n.NewUser(t, "alice"), n.NewUser(t, "bob")
		const copies = 8
		ids := make([]string, copies)
		var wg sync.WaitGroup
		for i := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, id := postWithKey(t, n, alice, "send-1", "Hello once")
				if code != 200 {
					t.Errorf("copy %d: status %d", i, code)
				}
				ids[i] = id
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] || id == "" {
				t.Fatalf("the same key made different posts: %v", ids)
			}
		}
		var mine []map[string]any
		alice.Call("GET", "/api/v1/accounts/"+alice.User.ID+"/statuses", nil, &mine)
		if len(mine) != 1 {
			t.Fatalf("alice has %d posts after %d copies, want 1", len(mine), copies)
		}
		if _, other := postWithKey(t, n, alice, "send-2", "Hello again"); other == ids[0] {
			t.Fatal("another key answered with the first post")
		}
		if _, bobs := postWithKey(t, n, bob, "send-1", "Bob's own"); bobs == ids[0] || bobs == "" {
			t.Fatal("bob's post with alice's key answered with alice's post")
		}
		alice.Call("DELETE", "/api/v1/statuses/"+ids[0], nil, nil)
		if code, again := postWithKey(t, n, alice, "send-1", "Hello once"); code != 200 || again == ids[0] || again == "" {
			t.Fatalf("after deleting the first post, the key answered %d %q", code, again)
		}
	})
}
