package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// oauthApp is an app client: no cookies, credentials in the requests.
type oauthApp struct {
	t                    *testing.T
	base                 string
	ID, ClientID, Secret string
}

func (a *oauthApp) send(method, path string, form url.Values, header ...string) (int, map[string]any, http.Header) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

func (a *oauthApp) token(form url.Values, header ...string) (int, map[string]any) {
	a.t.Helper()
	st, out, _ := a.send("POST", "/oauth/token", form, header...)
	return st, out
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func pkce(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// consent fetches the authorize page as a signed-in browser and answers it.
func consent(t *testing.T, b *nodetest.Client, q url.Values, decision string) (*http.Response, string) {
	t.Helper()
	resp, body := b.Get("/oauth/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	form := url.Values{"decision": {decision}}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"} {
		m := regexp.MustCompile(`name="` + k + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("consent form lacks %s", k)
		}
		form.Set(k, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	return b.PostForm("/oauth/authorize", form)
}

func TestOAuthFlow(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := n.NewUser(t, "alice")
	const cb = "https://app.example/callback"
	a := &oauthApp{t: t, base: n.HTTP.URL}

	// Register.
	st, reg, _ := a.send("POST", "/api/v1/apps", url.Values{"client_name": {"Pocket Atrium"},
		"redirect_uris": {cb + "\nurn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read write follow"}, "website": {"https://app.example"}})
	if st != http.StatusOK {
		t.Fatalf("register: %d %v", st, reg)
	}
	for _, k := range []string{"id", "name", "website", "redirect_uri", "client_id", "client_secret", "vapid_key"} {
		if _, ok := reg[k]; !ok {
			t.Errorf("application lacks %q: %v", k, reg)
		}
	}
	a.ID, a.ClientID, a.Secret = reg["id"].(string), reg["client_id"].(string), reg["client_secret"].(string)
	if st, out, _ := a.send("POST", "/api/v1/apps", url.Values{"client_name": {"x"}, "redirect_uris": {"https://a.example/#f"}}); st != 422 {
		t.Errorf("fragment in redirect URI: %d %v", st, out)
	}
	if st, meta, _ := a.send("GET", "/.well-known/oauth-authorization-server", nil); st != 200 ||
		meta["token_endpoint"] != n.HTTP.URL+"/oauth/token" || meta["code_challenge_methods_supported"].([]any)[0] != "S256" {
		t.Errorf("metadata: %d %v", st, meta)
	}

	// Authorize: sign in first, then consent.
	verifier := "this-is-a-pkce-verifier-of-sufficient-length-0123456789"
	q := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {cb}, "scope": {"read"},
		"state": {"s t&ate"}, "code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}}
	b := n.Client(t)
	resp, _ := b.Get("/oauth/authorize?" + q.Encode())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("unsigned authorize: %d %s", resp.StatusCode, loc)
	}
	next, _ := url.Parse(loc)
	resp, body := b.PostForm("/login", url.Values{"login": {"alice"}, "password": {"long password 123"}, "next": {next.Query().Get("next")}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/oauth/authorize?") {
		t.Fatalf("login back to authorize: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, page := b.Get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Pocket Atrium") || !strings.Contains(page, "read everything you can see") {
		t.Fatalf("consent page does not name the app and scopes: %s", page)
	}
	resp, body = consent(t, b, q, "approve")
	redirect, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || redirect.Host != "app.example" || redirect.Query().Get("state") != "s t&ate" {
		t.Fatalf("approve: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	code := redirect.Query().Get("code")

	// Bad exchanges leave the code usable.
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}, "code_verifier": {verifier},
		"client_id": {a.ClientID}, "client_secret": {a.Secret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range exchange {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		err    string
	}{
		{"wrong code", with("code", "nope"), 400, "invalid_grant"},
		{"mismatched redirect_uri", with("redirect_uri", "https://app.example/other"), 400, "invalid_grant"},
		{"PKCE failure", with("code_verifier", "another-verifier-of-sufficient-length-0123456789abc"), 400, "invalid_grant"},
		{"wrong client secret", with("client_secret", "guess"), 401, "invalid_client"},
		{"no client secret", with("client_secret", ""), 401, "invalid_client"},
		{"unknown grant", with("grant_type", "password"), 400, "unsupported_grant_type"},
	} {
		st, out := a.token(c.form)
		if st != c.status || out["error"] != c.err || out["error_description"] == "" {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
	}
	// The good exchange, with HTTP Basic client authentication.
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.ClientID) + ":" + url.QueryEscape(a.Secret)))
	noCreds := with("client_id", "")
	noCreds.Del("client_secret")
	st, tok := a.token(noCreds, "Authorization", "Basic "+basic)
	if st != 200 || tok["token_type"] != "Bearer" || tok["scope"] != "read" || tok["created_at"] == nil {
		t.Fatalf("token: %d %v", st, tok)
	}
	access := tok["access_token"].(string)

	// Call with it: read works, write is outside the scopes.
	st, me, _ := a.send("GET", "/api/v1/accounts/verify_credentials", nil, bearer(access)...)
	if st != 200 || me["username"] != "alice" {
		t.Fatalf("verify_credentials: %d %v", st, me)
	}
	st, out, _ := a.send("POST", "/api/v1/statuses", url.Values{"status": {"hello"}}, bearer(access)...)
	if st != 403 || out["error"] != "This action is outside the authorized scopes" {
		t.Errorf("write with a read token: %d %v", st, out)
	}
	if st, app, _ := a.send("GET", "/api/v1/apps/verify_credentials", nil, bearer(access)...); st != 200 || app["name"] != "Pocket Atrium" || app["client_secret"] != nil {
		t.Errorf("apps/verify_credentials: %d %v", st, app)
	}
	// Reused code: refused, and the token it became is revoked.
	if st, out := a.token(exchange); st != 400 || out["error"] != "invalid_grant" {
		t.Errorf("reused code: %d %v", st, out)
	}
	if st, _, _ := a.send("GET", "/api/v1/accounts/verify_credentials", nil, bearer(access)...); st != 401 {
		t.Errorf("token of a replayed code still works: %d", st)
	}

	// Scope beyond the app's goes back to the app as invalid_scope; an unregistered redirect
	// URI is never redirected to.
	bad := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {cb}, "scope": {"admin:read"}, "state": {"x"}}
	resp, _ = b.Get("/oauth/authorize?" + bad.Encode())
	if l, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != 303 || l.Host != "app.example" || l.Query().Get("error") != "invalid_scope" {
		t.Errorf("scope beyond the app's: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	bad.Set("scope", "read")
	bad.Set("redirect_uri", "https://app.example.evil/callback")
	if resp, _ := b.Get("/oauth/authorize?" + bad.Encode()); resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("unregistered redirect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Deny.
	deny := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {cb}, "scope": {"read"}, "state": {"d"}}
	resp, _ = consent(t, b, deny, "deny")
	if l, _ := url.Parse(resp.Header.Get("Location")); l == nil || l.Query().Get("error") != "access_denied" || l.Query().Get("state") != "d" {
		t.Errorf("deny: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The consent form needs the CSRF token.
	if resp, _ := b.PostForm("/oauth/authorize", url.Values{"csrf": {"forged"}, "decision": {"approve"}, "client_id": {a.ClientID},
		"redirect_uri": {cb}, "response_type": {"code"}}); resp.StatusCode != 403 {
		t.Errorf("forged consent: %d", resp.StatusCode)
	}

	// Out of band: the code is shown on a page; refresh, then revoke.
	oob := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "scope": {"read write"}}
	resp, body = consent(t, b, oob, "approve")
	m := regexp.MustCompile(`id="oauth-code" type="text" value="([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("oob page: %d %s", resp.StatusCode, body)
	}
	st, tok = a.token(url.Values{"grant_type": {"authorization_code"}, "code": {m[1]}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"},
		"client_id": {a.ClientID}, "client_secret": {a.Secret}})
	if st != 200 || tok["scope"] != "read write" {
		t.Fatalf("oob token: %d %v", st, tok)
	}
	st, tok = a.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
		"client_id": {a.ClientID}, "client_secret": {a.Secret}})
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, tok)
	}
	access = tok["access_token"].(string)
	if st, out, _ := a.send("POST", "/api/v1/statuses", url.Values{"status": {"from an app"}}, bearer(access)...); st != 200 {
		t.Fatalf("post with a write token: %d %v", st, out)
	}
	_, settings := b.Get("/settings/apps")
	if !strings.Contains(settings, "Pocket Atrium") || !strings.Contains(settings, "/settings/apps/"+a.ID+"/revoke") {
		t.Errorf("settings page does not list the app: %s", settings)
	}
	if st, out, _ := a.send("POST", "/oauth/revoke", url.Values{"token": {access}, "client_id": {a.ClientID}, "client_secret": {a.Secret}}); st != 200 || len(out) != 0 {
		t.Errorf("revoke: %d %v", st, out)
	}
	if st, _, _ := a.send("GET", "/api/v1/accounts/verify_credentials", nil, bearer(access)...); st != 401 {
		t.Errorf("revoked token: %d", st)
	}

	// client_credentials: the app itself, acting for nobody.
	st, tok = a.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.Secret}})
	if st != 200 {
		t.Fatalf("client_credentials: %d %v", st, tok)
	}
	appTok := tok["access_token"].(string)
	if st, _, _ := a.send("GET", "/api/v1/apps/verify_credentials", nil, bearer(appTok)...); st != 200 {
		t.Errorf("app token on apps/verify_credentials: %d", st)
	}
	if st, _, _ := a.send("GET", "/api/v1/accounts/verify_credentials", nil, bearer(appTok)...); st != 401 {
		t.Errorf("app token on accounts/verify_credentials: %d", st)
	}
	if st, out := a.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"push"}, "client_id": {a.ClientID}, "client_secret": {a.Secret}}); st != 400 || out["error"] != "invalid_scope" {
		t.Errorf("client_credentials beyond the app's scopes: %d %v", st, out)
	}
	// A personal token is not an app's.
	if st, _, _ := a.send("GET", "/api/v1/apps/verify_credentials", nil, bearer(alice.Token)...); st != 401 {
		t.Errorf("personal token on apps/verify_credentials: %d", st)
	}

	// Settings → Authorised apps → Revoke ends every token of the app for that person.
	resp, _ = consent(t, b, q, "approve")
	redirect, _ = url.Parse(resp.Header.Get("Location"))
	st, tok = a.token(url.Values{"grant_type": {"authorization_code"}, "code": {redirect.Query().Get("code")}, "redirect_uri": {cb},
		"code_verifier": {verifier}, "client_id": {a.ClientID}, "client_secret": {a.Secret}})
	if st != 200 {
		t.Fatalf("second token: %d %v", st, tok)
	}
	if resp, body := b.PostForm("/settings/apps/"+a.ID+"/revoke", nil); resp.StatusCode != 303 {
		t.Fatalf("settings revoke: %d %s", resp.StatusCode, body)
	}
	if st, _, _ := a.send("GET", "/api/v1/accounts/verify_credentials", nil, bearer(tok["access_token"].(string))...); st != 401 {
		t.Errorf("token of a revoked app: %d", st)
	}
	if _, settings := b.Get("/settings/apps"); strings.Contains(settings, "Pocket Atrium") || !strings.Contains(settings, "App signed out") {
		t.Errorf("revoked app still listed")
	}

	// force_login signs the person out and back in before the consent page.
	fl := url.Values{}
	for k, v := range q {
		fl[k] = v
	}
	fl.Set("force_login", "true")
	resp, _ = b.Get("/oauth/authorize?" + fl.Encode())
	loc = resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.HasPrefix(loc, "/login?next=") || strings.Contains(loc, "force_login") {
		t.Fatalf("force_login: %d %s", resp.StatusCode, loc)
	}
	if resp, _ := b.Get("/settings/apps"); resp.StatusCode != 303 {
		t.Errorf("still signed in after force_login: %d", resp.StatusCode)
	}
}

// A token with only the "profile" scope (apps that merely sign people in) reads the signed-in
// account and nothing else, as on Mastodon.
func TestProfileScopeOpensVerifyCredentialsOnly(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	alice := n.NewUser(t, "alice")
	tok, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), alice.User.ID, "sign-in only", "profile")
	if err != nil {
		t.Fatal(err)
	}
	profile := *alice
	profile.Token = tok
	var acc, e map[string]any
	if resp := profile.Call("GET", "/api/v1/accounts/verify_credentials", nil, &acc); resp.StatusCode != 200 || acc["id"] != alice.User.ID {
		t.Fatalf("verify_credentials with profile: %d %v", resp.StatusCode, acc)
	}
	for _, path := range []string{"/api/v1/timelines/home", "/api/v1/accounts/" + alice.User.ID, "/api/v1/notifications"} {
		if resp := profile.Call("GET", path, nil, &e); resp.StatusCode != 403 || e["error"] != "This action is outside the authorized scopes" {
			t.Fatalf("%s with profile only: %d %v", path, resp.StatusCode, e)
		}
	}
}
