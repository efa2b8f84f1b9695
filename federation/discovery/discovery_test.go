package discovery_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

func TestDiscovery(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	c := n.Client(t)
	base := n.URL(context.Background())
	host := strings.TrimPrefix(base, "http://")

	get := func(path string, out any) int {
		t.Helper()
		resp, body := c.Get(path)
		if out != nil && resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), out); err != nil {
				t.Fatalf("%s: %v: %s", path, err, body)
			}
		}
		return resp.StatusCode
	}
	// acct: and actor-URL lookups answer the same subject and self link (round trip).
	var byAcct, byURL struct {
		Subject string
		Links   []struct{ Rel, Type, Href string }
	}
	if code := get("/.well-known/webfinger?resource=acct:admin@"+host, &byAcct); code != 200 {
		t.Fatalf("webfinger acct: %d", code)
	}
	if byAcct.Subject != "acct:admin@"+host || byAcct.Links[0].Rel != "self" || byAcct.Links[0].Type != "application/activity+json" {
		t.Fatalf("webfinger: %+v", byAcct)
	}
	if code := get("/.well-known/webfinger?resource="+url.QueryEscape(byAcct.Links[0].Href), &byURL); code != 200 || byURL.Subject != byAcct.Subject {
		t.Fatalf("webfinger by actor URL: %d %+v", code, byURL)
	}
	for _, bad := range []string{"acct:nobody@" + host, "acct:admin@elsewhere.example", "https://elsewhere.example/users/admin", ""} {
		if code := get("/.well-known/webfinger?resource="+url.QueryEscape(bad), nil); code != 404 && code != 422 {
			t.Errorf("webfinger %q: %d", bad, code)
		}
	}
	// Deactivated people are not discoverable.
	u, _ := n.Accounts.Create(context.Background(), accounts.CLIActor(), accounts.NewUser{Username: "gone", Email: "gone@acme.example", Password: "long password 1"})
	n.Accounts.SetActive(context.Background(), accounts.CLIActor(), u.ID, false)
	if code := get("/.well-known/webfinger?resource=acct:gone@"+host, nil); code != 404 {
		t.Errorf("deactivated person: %d", code)
	}
	var inst struct{ Subject string }
	if code := get("/.well-known/webfinger?resource=acct:instance@"+host, &inst); code != 200 {
		t.Errorf("instance actor: %d", code)
	}

	resp, body := c.Get("/.well-known/host-meta")
	if resp.StatusCode != 200 || !strings.Contains(body, base+"/.well-known/webfinger?resource={uri}") {
		t.Fatalf("host-meta: %d %s", resp.StatusCode, body)
	}
	var links struct{ Links []struct{ Rel, Href string } }
	if code := get("/.well-known/nodeinfo", &links); code != 200 || len(links.Links) != 2 {
		t.Fatalf("nodeinfo links: %d %+v", code, links)
	}
	for _, v := range []string{"2.0", "2.1"} {
		var ni map[string]any
		if code := get("/nodeinfo/"+v, &ni); code != 200 {
			t.Fatalf("nodeinfo %s: %d", v, code)
		}
		if ni["version"] != v || ni["software"].(map[string]any)["name"] != "atrium" {
			t.Errorf("nodeinfo %s: %v", v, ni)
		}
		users := ni["usage"].(map[string]any)["users"].(map[string]any)
		if len(users) != 0 {
			t.Errorf("usage counts published by default: %v", users)
		}
	}
}
