package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
	"github.com/atrium-social/atrium/internal/testutil/pgtest"
)

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return m
}

func token(t *testing.T, n *nodetest.Node, user, scopes string) string {
	t.Helper()
	u, err := n.Accounts.ByUsername(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), u.ID, "test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func TestOperationsAndAPI(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			o := nodetest.Options{Setup: true}
			if engine == "postgres" {
				o.DB = pgtest.DSN(t)
			}
			n := nodetest.Start(t, o)
			c := n.Client(t)

			resp, body := c.Get("/healthz")
			if resp.StatusCode != 200 || decode(t, body)["database"] != "ok" {
				t.Fatalf("healthz: %d %s", resp.StatusCode, body)
			}
			resp, body = c.Get("/metrics")
			if resp.StatusCode != 200 || !strings.Contains(body, "atrium_http_requests_total") || !strings.Contains(body, "go_goroutines") {
				t.Fatalf("metrics: %d", resp.StatusCode)
			}

			admin, _ := n.Accounts.ByUsername(context.Background(), "admin")
			if _, err := n.Accounts.UpdateProfile(context.Background(), accounts.CLIActor(), admin.ID, accounts.Profile{Skills: []string{"Go"}}); err != nil {
				t.Fatal(err)
			}
			tok := token(t, n, "admin", "read write follow")
			resp, body = n.Client(t).Get("/api/v1/accounts/verify_credentials", "Authorization", "Bearer "+tok)
			if resp.StatusCode != 200 {
				t.Fatalf("verify_credentials: %d %s", resp.StatusCode, body)
			}
			if len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("a bearer-token API response sets cookies: %v", resp.Header.Values("Set-Cookie"))
			}
			if !strings.Contains(body, `"skills":["Go"]`) {
				t.Errorf("verify_credentials lacks the work-profile skills: %s", body)
			}
			acc := decode(t, body)
			for _, k := range []string{"id", "username", "acct", "display_name", "locked", "bot", "group", "created_at", "note",
				"url", "avatar", "avatar_static", "header", "followers_count", "following_count", "statuses_count", "emojis", "fields", "source"} {
				if _, ok := acc[k]; !ok {
					t.Errorf("account lacks %q", k)
				}
			}
			if acc["username"] != "admin" || acc["acct"] != "admin" {
				t.Fatalf("wrong account: %v", acc)
			}
			id := acc["id"].(string)

			resp, body = c.Get("/api/v1/accounts/"+id, "Authorization", "Bearer "+tok)
			if resp.StatusCode != 200 || decode(t, body)["id"] != id {
				t.Fatalf("account by id: %d %s", resp.StatusCode, body)
			}
			resp, body = c.Get("/api/v1/accounts/01NOPE", "Authorization", "Bearer "+tok)
			if resp.StatusCode != 404 || decode(t, body)["error"] != "Record not found" {
				t.Fatalf("unknown account: %d %s", resp.StatusCode, body)
			}
			resp, body = c.Get("/api/v1/accounts/verify_credentials", "Authorization", "Bearer wrong")
			if resp.StatusCode != 401 || decode(t, body)["error"] == nil {
				t.Fatalf("bad token: %d %s", resp.StatusCode, body)
			}
			resp, _ = c.Get("/api/v1/accounts/verify_credentials")
			if resp.StatusCode != 401 {
				t.Fatalf("anonymous: %d", resp.StatusCode)
			}
			narrow := token(t, n, "admin", "follow")
			resp, body = c.Get("/api/v1/accounts/verify_credentials", "Authorization", "Bearer "+narrow)
			if resp.StatusCode != 403 {
				t.Fatalf("scope: %d %s", resp.StatusCode, body)
			}

			for _, p := range []string{"/api/v1/instance", "/api/v2/instance"} {
				resp, body = c.Get(p)
				m := decode(t, body)
				if resp.StatusCode != 200 || m["title"] != "Acme" || m["configuration"] == nil {
					t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
				}
			}
			resp, body = c.Get("/avatars/missing.png")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
				t.Fatalf("placeholder avatar: %d", resp.StatusCode)
			}
		})
	}
}

func TestDeactivatedTokenStopsWorking(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	ctx := context.Background()
	u, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "bob", Email: "bob@acme.example", Password: "bob password 1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := token(t, n, "bob", "read")
	c := n.Client(t)
	if resp, _ := c.Get("/api/v1/accounts/verify_credentials", "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	if err := n.Accounts.SetActive(ctx, accounts.CLIActor(), u.ID, false); err != nil {
		t.Fatal(err)
	}
	if resp, body := c.Get("/api/v1/accounts/verify_credentials", "Authorization", "Bearer "+tok); resp.StatusCode != 401 {
		t.Fatalf("after deactivation: %d %s", resp.StatusCode, body)
	}
}

func TestCSRFOnCookieWrites(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	c := n.Client(t)
	c.Login("admin", nodetest.AdminPassword)
	// A form post without the token is refused and changes nothing.
	req, _ := http.NewRequest("POST", n.HTTP.URL+"/admin/invitations", strings.NewReader(url.Values{"email": {"x@acme.example"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := c.Do(req)
	if resp.StatusCode != 403 {
		t.Fatalf("missing CSRF: %d", resp.StatusCode)
	}
	invs, err := n.Accounts.Invitations(context.Background(), accounts.CLIActor(), 10)
	if err != nil || len(invs) != 0 {
		t.Fatalf("invitation created despite CSRF failure: %v %d", err, len(invs))
	}
	// A form from another origin is refused even with a token.
	req, _ = http.NewRequest("POST", n.HTTP.URL+"/admin/invitations", strings.NewReader(url.Values{"csrf": {c.CSRF()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := c.Do(req); resp.StatusCode != 403 {
		t.Fatalf("cross-origin: %d", resp.StatusCode)
	}
	if resp, body := c.PostForm("/admin/invitations", url.Values{"email": {"x@acme.example"}}); resp.StatusCode >= 400 {
		t.Fatalf("with CSRF: %d %s", resp.StatusCode, body)
	}
}

func TestIdentityCannotChangeAfterSetup(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	cfg := n.Cfg
	n.Close()
	cfg.SetURLExplicit("https://other.example")
	_, err := app.New(context.Background(), cfg, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "--url") || !strings.Contains(err.Error(), n.Cfg.URL) {
		t.Fatalf("want a --url identity error, got %v", err)
	}
}
