package fedtest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestBrowserFindsFollowsAndReadsAPartner drives the pages: the people search resolves
// @bob@globex, the follow button asks globex, and bob's post arrives labelled "Globex".
func TestBrowserFindsFollowsAndReadsAPartner(t *testing.T) {
	acme, globex := pair(t)
	alice := acme.NewUser(t, "alice")
	bob := globex.NewUser(t, "bob")
	_ = alice
	web := acme.Client(t)
	web.Login("alice", "long password 123")
	acct := "bob@" + globex.Host()

	_, page := web.Get("/people?q=" + url.QueryEscape("@"+acct))
	if !strings.Contains(page, `href="/people/`+acct+`"`) || !strings.Contains(page, "Globex") {
		t.Fatalf("search for @%s did not show him with his organisation:\n%.2000s", acct, page)
	}
	resp, _ := web.PostForm("/people/"+acct+"/follow", nil)
	if resp.StatusCode >= 400 {
		t.Fatalf("follow: %d", resp.StatusCode)
	}
	_, page = web.Get("/people/" + acct)
	if !strings.Contains(page, ">Requested<") || !strings.Contains(page, "Works at Globex") {
		i := strings.Index(page, "<main")
		t.Fatalf("profile before Accept:\n%.3000s", page[max(i, 0):])
	}
	nodetest.Settle(t, acme, globex)
	_, page = web.Get("/people/" + acct)
	if !strings.Contains(page, ">Following<") {
		t.Fatalf("profile after Accept lacks Following:\n%.3000s", page)
	}

	post(t, bob, map[string]any{"status": "Shipping plan for Falcon", "visibility": "public"})
	nodetest.Settle(t, acme, globex)
	_, page = web.Get("/")
	if !strings.Contains(page, "Shipping plan for Falcon") || !strings.Contains(page, `class="org-label"`) {
		t.Fatalf("home page lacks bob's labelled post:\n%.3000s", page)
	}

	// Blocking from the profile page ends the follow and tells globex.
	if resp, _ := web.PostForm("/people/"+acct+"/block", nil); resp.StatusCode >= 400 {
		t.Fatalf("block: %d", resp.StatusCode)
	}
	_, page = web.Get("/people/" + acct)
	if !strings.Contains(page, ">Unblock<") || !strings.Contains(page, "You block") || strings.Contains(page, ">Following<") {
		t.Fatalf("profile after blocking:\n%.3000s", page)
	}
	nodetest.Settle(t, acme, globex)
	var blocks int
	if err := globex.DB.NewSelect().Table("blocks").ColumnExpr("COUNT(*)").Where("blocked_id = ?", bob.User.ID).Scan(t.Context(), &blocks); err != nil || blocks != 1 {
		t.Fatalf("globex recorded %d blocks of bob (%v), want 1", blocks, err)
	}

	// A non-partner is explained, not hidden.
	_, page = web.Get("/people?q=" + url.QueryEscape("@eve@initech.test"))
	if !strings.Contains(page, "not a partner of this node") {
		t.Fatalf("non-partner search gave no reason:\n%.2000s", page)
	}
}
