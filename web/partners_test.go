package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestPartnersPage drives /admin/partners on a whole node: an admin adds, lists, blocks and
// removes partners, each change reaching the federation check at once; members and
// anonymous visitors are kept out.
func TestPartnersPage(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	admin := person(t, n, "admin")
	ctx := t.Context()
	// allowed reads the stored policy as a fresh process would (no cache); the service's own
	// cache invalidation is tested in internal/orgs.
	allowed := func(host string) bool {
		return orgs.NewPartners(n.DB, n.Clock, n.Cfg.FederationMode, n.URL).Allowed(ctx, host)
	}

	resp, body := admin.Get("/admin/partners")
	if resp.StatusCode == http.StatusNotFound {
		t.Fatal("no /admin/partners: internal/app must pass web.Deps.Partners (and Health)")
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("partners page: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"Federation mode: allowlist", "--federation-mode", "administrators read what this node sends",
		`<label for="partner-host">Host</label>`, `<label for="partner-note">`, `name="csrf"`, "No partners yet",
		`href="/admin/partners" aria-current="page"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("partners page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
		t.Fatal("inline script on the partners page (the CSP forbids it)")
	}

	resp, body = admin.post("/admin/partners", url.Values{"host": {"https://Globex.example/about"}, "note": {"Project Falcon"},
		"action": {"allow"}}, "/admin/partners", false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/partners" {
		t.Fatalf("add: %d %s", resp.StatusCode, body)
	}
	if !allowed("globex.example") {
		t.Fatal("an added partner is not allowed")
	}
	_, body = admin.Get("/admin/partners")
	for _, want := range []string{"Partner added", "globex.example", "status-allowed", "Project Falcon", "no deliveries yet",
		`action="/admin/partners/remove"`, `data-confirm="Remove globex.example from the partner list? It loses access at once."`} {
		if !strings.Contains(body, want) {
			t.Fatalf("list after add lacks %q:\n%s", want, body)
		}
	}

	resp, _ = admin.post("/admin/partners", url.Values{"host": {"spam.example"}, "action": {"block"}}, "/admin/partners", false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block: %d", resp.StatusCode)
	}
	_, body = admin.Get("/admin/partners")
	if !strings.Contains(body, "status-blocked") || !strings.Contains(body, "spam.example") {
		t.Fatalf("blocked host not listed:\n%s", body)
	}

	// A bad host keeps what was typed and names the field.
	resp, body = admin.post("/admin/partners", url.Values{"host": {"not a host"}, "note": {"kept"}, "action": {"allow"}}, "/admin/partners", false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Host: &#34;not a host&#34; is not a host name") ||
		!strings.Contains(body, `value="kept"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad host: %d\n%s", resp.StatusCode, body)
	}

	// Members and anonymous visitors: no page, no changes.
	bob := person(t, n, "bob")
	resp, _ = bob.Get("/admin/partners")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("member sees the partners page: %d", resp.StatusCode)
	}
	for _, path := range []string{"/admin/partners", "/admin/partners/remove"} {
		resp, _ = bob.post(path, url.Values{"host": {"globex.example"}, "action": {"block"}}, "/admin/partners", false)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("member posts %s: %d", path, resp.StatusCode)
		}
	}
	resp, _ = n.Client(t).Get("/admin/partners")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !allowed("globex.example") {
		t.Fatal("a member's request changed the policy")
	}

	// Remove: access ends at once.
	resp, _ = admin.post("/admin/partners/remove", url.Values{"host": {"globex.example"}}, "/admin/partners", false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	if allowed("globex.example") {
		t.Fatal("a removed partner is still allowed")
	}
	_, body = admin.Get("/admin/partners")
	if !strings.Contains(body, "removed from the partner list") || strings.Contains(body, "globex.example</th>") {
		t.Fatalf("list after remove:\n%s", body)
	}
	resp, body = admin.post("/admin/partners/remove", url.Values{"host": {"globex.example"}}, "/admin/partners", false)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not on the partner list") {
		t.Fatalf("remove twice: %d\n%s", resp.StatusCode, body)
	}

	// The changes are in the audit log, by the admin.
	_, body = admin.Get("/admin/audit")
	for _, want := range []string{"partner.allow", "partner.block", "partner.remove", "globex.example"} {
		if !strings.Contains(body, want) {
			t.Fatalf("audit log lacks %q", want)
		}
	}
}
