package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/server"
)

func TestSetupFlow(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	resp, _ := c.get("/")
	wantRedirect(t, "home before setup", resp, "/setup")
	resp, _ = c.get("/login")
	wantRedirect(t, "login before setup", resp, "/setup")
	resp, body := c.get("/setup")
	wantStatus(t, "setup form", resp, body, 200)
	wantContains(t, "setup form", body, `name="org_name"`, `value="`+testHost+`"`, `name="csrf"`)

	// A typo in the confirmation keeps what was typed (but never the password).
	resp, body = c.post("/setup", url.Values{"org_name": {"Acme"}, "url": {testHost}, "username": {"admin"},
		"email": {"admin@acme.example"}, "password": {adminPassword}, "password_confirm": {"other password"}})
	wantStatus(t, "setup mismatch", resp, body, 422)
	wantContains(t, "setup mismatch", body, "the two passwords differ", `value="Acme"`, `value="admin@acme.example"`)
	if strings.Contains(body, adminPassword) {
		t.Fatal("the password was echoed into the page")
	}

	resp, body = c.post("/setup", url.Values{"org_name": {"Acme"}, "url": {testHost}, "allowed_domains": {"acme.example"},
		"username": {"admin"}, "email": {"admin@acme.example"}, "password": {adminPassword}, "password_confirm": {adminPassword}})
	wantRedirect(t, "setup", resp, "/admin/invitations")
	if c.cookie(server.SessionCookie) == "" {
		t.Fatalf("setup did not sign the admin in: %s", body)
	}
	resp, body = c.get("/admin/invitations")
	wantStatus(t, "after setup", resp, body, 200)
	wantContains(t, "after setup", body, "Your node is ready. Invite your colleagues.", "Acme")
	// The flash is shown once.
	_, body = c.get("/admin/invitations")
	if strings.Contains(body, "Your node is ready") {
		t.Fatal("flash shown twice")
	}

	// A second visitor cannot run setup again.
	other := e.client()
	resp, _ = other.get("/setup")
	wantRedirect(t, "setup page after setup", resp, "/login")
	resp, _ = other.post("/setup", url.Values{"org_name": {"Evil"}, "url": {testHost}, "username": {"mallory"},
		"email": {"m@evil.example"}, "password": {"mallory password"}, "password_confirm": {"mallory password"}})
	wantRedirect(t, "second setup", resp, "/login")
	if _, err := e.accounts.ByUsername(context.Background(), "mallory"); err == nil {
		t.Fatal("second setup created an account")
	}
	if org, _ := e.orgs.Get(context.Background()); org.Name != "Acme" {
		t.Fatalf("second setup renamed the organisation to %q", org.Name)
	}
}

func TestCSRFAndLogin(t *testing.T) {
	e := newEnv(t)
	e.setup()
	c := e.client()

	// Without the token the form is refused, before the password is even looked at.
	resp, body := c.postRaw("/login", url.Values{"login": {"admin"}, "password": {adminPassword}})
	wantStatus(t, "login without csrf", resp, body, http.StatusForbidden)
	if c.cookie(server.SessionCookie) != "" {
		t.Fatal("signed in without a CSRF token")
	}

	resp, body = c.post("/login", url.Values{"login": {"admin"}, "password": {"wrong password"}})
	wantStatus(t, "wrong password", resp, body, http.StatusUnauthorized)
	wantContains(t, "wrong password", body, "do not match", `value="admin"`)

	// next is honoured only for local paths.
	resp, _ = c.post("/login", url.Values{"login": {"admin"}, "password": {adminPassword}, "next": {"//evil.example/x"}})
	wantRedirect(t, "login with foreign next", resp, "/")
	if c.cookie(server.SessionCookie) == "" {
		t.Fatal("no session after login")
	}
	resp, body = c.get("/")
	wantStatus(t, "home", resp, body, 200)
	wantContains(t, "home", body, "Welcome, Ada", "% complete", "New colleagues", `aria-current="page"`)

	c2 := e.client()
	resp, _ = c2.post("/login", url.Values{"login": {"admin@acme.example"}, "password": {adminPassword}, "next": {"/people?q=x"}})
	wantRedirect(t, "login with local next", resp, "/people?q=x")

	resp, _ = c.post("/logout", nil)
	wantRedirect(t, "logout", resp, "/login")
	resp, _ = c.get("/people")
	wantRedirect(t, "people after logout", resp, "/login?next=%2Fpeople")
}

func TestSignupByInvitation(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()

	resp, body := admin.post("/admin/invitations", url.Values{"email": {"bea@acme.example"}, "role": {"member"}})
	wantStatus(t, "invite", resp, body, http.StatusCreated)
	m := inviteRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no invitation link in the page:\n%s", body)
	}
	wantContains(t, "invite", body, testHost+"/signup?invite="+m[1], "open")
	// The link is shown once: the list page does not repeat it.
	_, again := admin.get("/admin/invitations")
	if strings.Contains(again, m[1]) {
		t.Fatal("invitation token shown again")
	}

	bea := e.client()
	resp, body = bea.get("/signup?invite=" + m[1])
	wantStatus(t, "signup page", resp, body, 200)
	wantContains(t, "signup page", body, `value="bea@acme.example" readonly`)

	resp, body = bea.post("/signup", url.Values{"invite": {m[1]}, "username": {"bea"}, "display_name": {"Bea Baker"},
		"password": {memberPass}, "password_confirm": {memberPass}})
	wantRedirect(t, "signup", resp, "/settings/profile")
	resp, body = bea.get("/")
	wantStatus(t, "home after signup", resp, body, 200)
	wantContains(t, "home after signup", body, "Welcome, Bea Baker")

	// The link worked once.
	resp, body = e.client().get("/signup?invite=" + m[1])
	wantStatus(t, "used link", resp, body, 422)
	wantContains(t, "used link", body, "used already")

	// Without an invitation, the page names the allowed domains.
	_, body = e.client().get("/signup")
	wantContains(t, "open signup", body, "acme.example")
}

func TestAccessControl(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.member("bob", "Bob Builder")

	anon := e.client()
	resp, _ := anon.get("/admin/users")
	wantRedirect(t, "anonymous admin", resp, "/login?next=%2Fadmin%2Fusers")
	resp, _ = anon.get("/")
	wantRedirect(t, "anonymous home", resp, "/login")

	bob := e.client()
	bob.login("bob", memberPass)
	resp, body := bob.get("/admin/users")
	wantStatus(t, "member admin", resp, body, http.StatusForbidden)
	wantContains(t, "member admin", body, "administrators", "<html")
	resp, body = bob.post("/admin/invitations", url.Values{"email": {"x@acme.example"}})
	wantStatus(t, "member invite", resp, body, http.StatusForbidden)
	// A member may not edit another person's profile.
	resp, body = bob.get("/settings/profile?user=admin")
	wantStatus(t, "member edits admin", resp, body, http.StatusForbidden)
	if strings.Contains(body, `href="/admin"`) {
		t.Fatal("admin link shown to a member")
	}
}

func TestProfileAvatarDirectoryAndChart(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.member("bob", "Bob Builder")
	e.member("carol", "Carol Chen")

	bob := e.client()
	bob.login("bob", memberPass)
	resp, body := bob.get("/settings/profile")
	wantStatus(t, "profile form", resp, body, 200)
	wantContains(t, "profile form", body, `<datalist id="people-list">`, `<option value="admin">`, "Europe/Berlin")

	resp, body = bob.post("/settings/profile", url.Values{"display_name": {"Bob Builder"}, "job_title": {"Engineering lead"},
		"department": {"Engineering"}, "manager": {"admin"}, "skills": {"Go, Kubernetes"}, "time_zone": {"Europe/Berlin"},
		"phone": {"+49 30 1234"}, "bio": {"Line one\nLine <two>"}, "open_to_moves": {"1"}, "open_to_moves_note": {"Platform teams"}})
	wantRedirect(t, "save profile", resp, "/people/bob")
	resp, body = bob.get("/people/bob")
	wantStatus(t, "profile", resp, body, 200)
	wantContains(t, "profile", body, "Profile saved.", "Engineering lead", "Kubernetes", `href="tel:&#43;49301234"`,
		"mailto:bob@acme.example", "Open to internal moves", "Platform teams", "Line one\nLine &lt;two&gt;",
		`href="/people/admin"`, `href="/settings/profile"`, "Europe/Berlin")

	// Unknown manager: an error naming the field, with everything typed kept.
	resp, body = bob.post("/settings/profile", url.Values{"job_title": {"Chief Tinkerer"}, "manager": {"nobody"},
		"skills": {"Go, Welding"}})
	wantStatus(t, "unknown manager", resp, body, 422)
	wantContains(t, "unknown manager", body, `nobody here has the username &#34;nobody&#34;`, `value="Chief Tinkerer"`,
		`value="Go, Welding"`, `id="manager" name="manager" type="text" value="nobody" list="people-list" autocapitalize="none" spellcheck="false" aria-describedby="manager-hint" aria-invalid="true" aria-errormessage="form-error"`)
	if u, _ := e.accounts.ByUsername(context.Background(), "bob"); u.JobTitle != "Engineering lead" {
		t.Fatalf("failed save changed the profile: %q", u.JobTitle)
	}

	// Avatar: upload, shown on the profile, served from /media with long caching.
	resp, body = bob.upload("/settings/avatar", "avatar", "me.png", testPNG(t, 300, 200), nil)
	wantRedirect(t, "avatar", resp, "/settings/profile")
	_, body = bob.get("/people/bob")
	m := mediaRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no avatar on the profile:\n%s", body)
	}
	first := m[1]
	resp, img := bob.get(first)
	wantStatus(t, "avatar file", resp, "", 200)
	if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" && ct != "image/png" {
		t.Fatalf("avatar content type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Fatalf("avatar cache control %q", cc)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || len(img) < 100 {
		t.Fatalf("avatar headers or body wrong: %v %d bytes", resp.Header, len(img))
	}
	if resp, _ := bob.get(thumbKeyURL(first)); resp.StatusCode != 200 {
		t.Fatalf("thumbnail: %d", resp.StatusCode)
	}
	// A second upload replaces the first and removes its files.
	resp, _ = bob.upload("/settings/avatar", "avatar", "me2.png", testPNG(t, 64, 64), nil)
	wantRedirect(t, "second avatar", resp, "/settings/profile")
	if resp, _ := bob.get(first); resp.StatusCode != 404 {
		t.Fatalf("old avatar still served: %d", resp.StatusCode)
	}
	if resp, _ := bob.get(thumbKeyURL(first)); resp.StatusCode != 404 {
		t.Fatalf("old thumbnail still served: %d", resp.StatusCode)
	}
	// Not an image: the form says so.
	resp, body = bob.upload("/settings/avatar", "avatar", "x.png", []byte("<html>not an image</html>"), nil)
	wantStatus(t, "bad avatar", resp, body, 422)
	wantContains(t, "bad avatar", body, "not an image")
	resp, _ = bob.get("/media/avatars/nothing-here.jpg")
	wantStatus(t, "missing media", resp, "", 404)
	resp, _ = bob.get("/media/..%2f..%2fetc/passwd")
	wantStatus(t, "bad media key", resp, "", 404)

	// Directory: search by skill and by free text.
	resp, body = bob.get("/people?skill=kubernetes")
	wantStatus(t, "skill search", resp, body, 200)
	wantContains(t, "skill search", body, `href="/people/bob"`)
	if strings.Contains(body, `href="/people/carol"`) {
		t.Fatal("skill filter let carol through")
	}
	_, body = bob.get("/people?q=engineering+lead")
	wantContains(t, "text search", body, "Bob Builder")
	_, body = bob.get("/people")
	wantContains(t, "directory", body, "Carol Chen", "Bob Builder", "Ada Admin", `<option value="Engineering">`)

	// Org chart: carol reports to bob, bob to admin.
	resp, _ = admin.post("/settings/profile?user=carol", url.Values{"manager": {"bob"}, "job_title": {"Engineer"}})
	wantRedirect(t, "admin edits carol", resp, "/people/carol")
	resp, _ = admin.upload("/settings/avatar?user=carol", "avatar", "c.png", testPNG(t, 120, 120), nil)
	wantRedirect(t, "admin sets carol's picture", resp, "/settings/profile?user=carol")
	if u := mustUser(t, e, "carol"); !strings.HasPrefix(u.AvatarKey, "avatars/"+strings.ToLower(u.ID)+"/") {
		t.Fatalf("carol's avatar key %q", u.AvatarKey)
	}
	resp, _ = bob.upload("/settings/avatar?user=carol", "avatar", "c.png", testPNG(t, 120, 120), nil)
	wantStatus(t, "member sets another's picture", resp, "", http.StatusForbidden)
	resp, body = bob.get("/orgchart/carol")
	wantStatus(t, "chart", resp, body, 200)
	body = body[strings.Index(body, `class="chain"`):] // past the top bar, which names the viewer
	iAdmin, iBob, iCarol := strings.Index(body, "Ada Admin"), strings.Index(body, "Bob Builder"), strings.Index(body, `aria-current="true"`)
	if iAdmin < 0 || iBob < 0 || iCarol < 0 || !(iAdmin < iBob && iBob < iCarol) {
		t.Fatalf("chain not shown top down (admin %d, bob %d, carol %d):\n%s", iAdmin, iBob, iCarol, body)
	}
	_, body = bob.get("/orgchart/bob")
	wantContains(t, "bob's chart", body, "Direct reports", `href="/orgchart/carol"`)
	if _, err := e.accounts.TopOfOrg(context.Background()); err != nil {
		t.Logf("skipping /orgchart: accounts.TopOfOrg itself fails (%v)", err)
	} else {
		resp, body = bob.get("/orgchart")
		wantStatus(t, "chart roots", resp, body, 200)
		wantContains(t, "chart roots", body, `href="/orgchart/admin"`, `href="/orgchart/bob"`)
	}

	// Deactivated people: a note for admins, 404 for members.
	carol, _ := e.accounts.ByUsername(context.Background(), "carol")
	resp, _ = admin.post("/admin/users/"+carol.ID+"/active", url.Values{"active": {"false"}})
	wantRedirect(t, "deactivate", resp, "/admin/users")
	resp, _ = bob.get("/people/carol")
	wantStatus(t, "member sees deactivated", resp, "", 404)
	resp, body = admin.get("/people/carol")
	wantStatus(t, "admin sees deactivated", resp, body, 200)
	wantContains(t, "admin sees deactivated", body, "Deactivated")
}

func thumbKeyURL(u string) string { return thumbKey(u) }

func TestAdminPages(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()

	resp, body := admin.get("/admin")
	wantStatus(t, "admin home", resp, body, 200)
	wantContains(t, "admin home", body, "active person")

	resp, _ = admin.post("/admin/users", url.Values{"username": {"dan"}, "email": {"dan@acme.example"},
		"password": {memberPass}, "role": {"member"}})
	wantRedirect(t, "create user", resp, "/admin/users")
	resp, body = admin.post("/admin/users", url.Values{"username": {"dan"}, "email": {"dan2@acme.example"},
		"password": {memberPass}, "display_name": {"Dan Two"}})
	wantStatus(t, "duplicate user", resp, body, 409)
	wantContains(t, "duplicate user", body, "is taken", `value="Dan Two"`)

	resp, body = admin.get("/admin/settings")
	wantContains(t, "settings form", body, `name="partner_fields" value="title" checked`, `name="partner_fields" value="location">`)
	resp, _ = admin.post("/admin/settings", url.Values{"org_name": {"Acme Corp"}, "description": {"We make things."},
		"allowed_domains": {"acme.example, acme.org"}, "partner_fields": {"location", "title", "phone"}, "publish_usage": {"on"}})
	wantRedirect(t, "settings", resp, "/admin/settings")
	if org, _ := e.orgs.Get(context.Background()); org.Name != "Acme Corp" || len(org.AllowedDomains) != 2 ||
		strings.Join(org.PartnerFields, ",") != "title,location" || !org.PublishUsage {
		t.Fatalf("settings not saved (phone is never offered): %+v", org)
	}
	resp, body = admin.post("/admin/settings", url.Values{"org_name": {"Acme Corp"}, "allowed_domains": {"not a domain"}})
	wantStatus(t, "bad domain", resp, body, 422)
	wantContains(t, "bad domain", body, "Allowed e-mail domains", `value="not a domain"`)
	resp, body = admin.get("/admin/audit")
	wantStatus(t, "audit", resp, body, 200)
	wantContains(t, "audit", body, "org.update", "user.create", "node.setup")

	// Tokens: shown once after creation, then only listed.
	resp, body = admin.post("/settings/tokens", url.Values{"name": {"CI"}, "scope_read": {"1"}, "scope_write": {"1"}})
	wantStatus(t, "create token", resp, body, 201)
	tok := regexp.MustCompile(`id="new-token" type="text" value="([A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
	if tok == nil {
		t.Fatalf("token not shown:\n%s", body)
	}
	if _, _, err := e.accounts.TokenUser(context.Background(), tok[1]); err != nil {
		t.Fatalf("shown token does not work: %v", err)
	}
	_, body = admin.get("/settings/tokens")
	if strings.Contains(body, tok[1]) {
		t.Fatal("token shown twice")
	}
	wantContains(t, "token list", body, "read write")
	toks, _ := e.accounts.Tokens(context.Background(), mustUser(t, e, "admin").ID)
	resp, _ = admin.post("/settings/tokens/"+toks[0].ID+"/revoke", nil)
	wantRedirect(t, "revoke token", resp, "/settings/tokens")
	if _, _, err := e.accounts.TokenUser(context.Background(), tok[1]); err == nil {
		t.Fatal("revoked token still works")
	}
}

func mustUser(t *testing.T, e *env, name string) *accounts.User {
	t.Helper()
	u, err := e.accounts.ByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNotFoundHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()

	resp, body := e.client().get("/no/such/page")
	wantStatus(t, "unknown route", resp, body, 404)
	wantContains(t, "unknown route", body, "Page not found", "<html", `href="/"`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("404 content type %q", ct)
	}
	resp, body = admin.get("/people/nobody")
	wantStatus(t, "unknown person", resp, body, 404)

	resp, body = e.client().get("/login")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
		t.Fatalf("CSP missing: %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers missing: %v", resp.Header)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pages must not be cached: %q", resp.Header.Get("Cache-Control"))
	}

	// The CSP forbids inline code: check that no page relies on it.
	css := regexp.MustCompile(`/static/app\.css\?v=[0-9a-f]+`).FindString(body)
	js := regexp.MustCompile(`/static/app\.js\?v=[0-9a-f]+`).FindString(body)
	if css == "" || js == "" {
		t.Fatalf("versioned assets not linked:\n%s", body)
	}
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)
	pages := []string{"/", "/people", "/settings/profile", "/settings/tokens", "/admin", "/admin/users",
		"/admin/invitations", "/admin/settings", "/admin/audit", "/people/admin", "/orgchart/admin", "/settings/password"}
	if _, err := e.accounts.TopOfOrg(context.Background()); err == nil {
		pages = append(pages, "/orgchart")
	} else {
		t.Logf("not checking /orgchart: accounts.TopOfOrg itself fails (%v)", err)
	}
	for _, p := range pages {
		resp, body := admin.get(p)
		wantStatus(t, p, resp, body, 200)
		if loc := inline.FindStringIndex(body); loc != nil {
			t.Fatalf("%s has inline code: %q", p, body[loc[0]:min(loc[1]+40, len(body))])
		}
		checkPage(t, p, body)
	}
	anon := e.client()
	for _, p := range []string{"/login", "/signup", "/forgot", "/reset?token=x", "/no/such/page"} {
		_, body := anon.get(p)
		if loc := inline.FindStringIndex(body); loc != nil {
			t.Fatalf("%s has inline code: %q", p, body[loc[0]:min(loc[1]+40, len(body))])
		}
		checkPage(t, p, body)
	}

	total := 0
	for _, p := range []string{css, js} {
		resp, body := e.client().get(p)
		wantStatus(t, p, resp, "", 200)
		if resp.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Fatalf("%s cache control %q", p, resp.Header.Get("Cache-Control"))
		}
		total += len(body)
	}
	if total > 100<<10 {
		t.Fatalf("CSS+JS are %d bytes, over the 100 KB budget", total)
	}
	if resp, _ := e.client().get("/static/app.css"); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("css content type %q", resp.Header.Get("Content-Type"))
	}
}

func TestForgotAndReset(t *testing.T) {
	e := newEnv(t)
	e.setup()
	c := e.client()

	// The same answer for a known and an unknown address.
	_, known := c.post("/forgot", url.Values{"email": {"admin@acme.example"}})
	_, unknown := c.post("/forgot", url.Values{"email": {"nobody@acme.example"}})
	wantContains(t, "forgot", known, "If an account uses that address")
	wantContains(t, "forgot unknown", unknown, "If an account uses that address")
	e.mail.mu.Lock()
	msgs := append([]string(nil), func() []string {
		var out []string
		for _, m := range e.mail.msgs {
			out = append(out, m.Body)
		}
		return out
	}()...)
	e.mail.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("want one reset e-mail, got %d", len(msgs))
	}
	tok := regexp.MustCompile(`/reset\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(msgs[0])
	if tok == nil {
		t.Fatalf("no reset link in %q", msgs[0])
	}
	resp, body := c.get("/reset?token=" + tok[1])
	wantStatus(t, "reset form", resp, body, 200)
	resp, body = c.post("/reset", url.Values{"token": {tok[1]}, "new_password": {"short"}, "new_password_confirm": {"short"}})
	wantStatus(t, "short password", resp, body, 422)
	wantContains(t, "short password", body, "at least 10 characters")
	resp, _ = c.post("/reset", url.Values{"token": {tok[1]}, "new_password": {"a brand new password"}, "new_password_confirm": {"a brand new password"}})
	wantRedirect(t, "reset", resp, "/login")
	c.login("admin", "a brand new password")
}

// checkPage catches template mistakes that still render: a value html/template refused
// (ZgotmplZ) and a POST form without its CSRF field.
func checkPage(t *testing.T, p, body string) {
	t.Helper()
	if strings.Contains(body, "ZgotmplZ") {
		t.Fatalf("%s: html/template refused a value (ZgotmplZ)", p)
	}
	for _, form := range regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`).FindAllString(body, -1) {
		if !regexp.MustCompile(`name="csrf" value="[^"]+"`).MatchString(form) {
			t.Fatalf("%s: a POST form without the CSRF field:\n%s", p, form)
		}
	}
}
