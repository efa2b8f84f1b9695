package fedtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/groups"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// TestGroupAuthorizationMatrix checks every route that can show group material, for every
// kind of viewer, for every visibility, and fails on any cell that shows more than the rules
// allow (PRODUCT.md "Visibility, precisely"). Viewers:
//
//	member      alice, on the group's node (acme)
//	nonmember   erin, on acme
//	pmember     bob, a member on a partner node (globex)
//	pnonmember  dave, on globex, not a member
//	unrelated   carol, on initech: a partner of both, with no member
//	anonymous   no session, no token, no signature
//
// Each cell says whether the viewer may see the group's content ("word", a unique string in
// its posts), its existence, or nothing. Who may see what: open groups are readable by people
// signed in on the home node and on nodes the group federates with; closed groups show their
// profile to everyone and content to members; secret groups show nothing to non-members.
func TestGroupAuthorizationMatrix(t *testing.T) {
	ctx := context.Background()
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	globex := nodetest.Start(t, nodetest.Options{Setup: true, Host: "globex.test", OrgName: "Globex", Manual: true})
	initech := nodetest.Start(t, nodetest.Options{Setup: true, Host: "initech.test", OrgName: "Initech", Manual: true})
	nodetest.Partner(t, acme, globex, initech)
	all := []*nodetest.Node{acme, globex, initech}
	alice, erin := acme.NewUser(t, "alice"), acme.NewUser(t, "erin")
	bob, dave := globex.NewUser(t, "bob"), globex.NewUser(t, "dave")
	carol := initech.NewUser(t, "carol")
	erinWeb := acme.Client(t)
	erinWeb.Login("erin", "long password 123")
	anonWeb := acme.Client(t)
	globexName, _, _ := strings.Cut(globex.Host(), ":")
	bobOnAcme := remoteAccount(t, acme, "bob@"+globex.Host())

	for _, vis := range []groups.Visibility{groups.Open, groups.Closed, groups.Secret} {
		t.Run(string(vis), func(t *testing.T) {
			word := "zebra" + string(vis) + "quokka"
			g, err := acme.Groups.Create(ctx, alice.User, groups.NewGroup{DisplayName: "Matrix " + string(vis), Visibility: vis})
			if err != nil {
				t.Fatal(err)
			}
			// Bob joins from globex: open at once, closed by approval, secret by invitation.
			if vis != groups.Open {
				if err := acme.Groups.AddPartner(ctx, alice.User, g.ID, globexName, true); err != nil {
					t.Fatal(err)
				}
			}
			if vis == groups.Secret {
				if _, err := acme.Groups.Invite(ctx, alice.User, g.ID, bobOnAcme); err != nil {
					t.Fatal(err)
				}
				nodetest.Settle(t, all...)
			}
			mirror, err := globex.GroupFed.ByURI(ctx, g.URI)
			if err != nil {
				t.Fatalf("globex mirrors the group: %v", err)
			}
			if _, err := globex.Groups.Join(ctx, bob.User, mirror.ID, ""); err != nil {
				t.Fatal(err)
			}
			nodetest.Settle(t, all...)
			if vis == groups.Closed {
				if _, err := acme.Groups.Authorize(ctx, alice.User, g.ID, bobOnAcme.ID); err != nil {
					t.Fatal(err)
				}
				nodetest.Settle(t, all...)
			}
			if m, _ := globex.Groups.MembershipOf(ctx, mirror.ID, bob.User.ID); !m.Active() {
				t.Fatalf("bob is not a member: %+v", m)
			}
			// Content: alice's post mentions erin (not a member); bob posts from globex.
			ap, err := acme.Posts.Create(ctx, alice.User, posts.NewPost{Text: word + " from alice, cc @erin", GroupID: g.ID})
			if err != nil {
				t.Fatal(err)
			}
			bp, err := globex.Posts.Create(ctx, bob.User, posts.NewPost{Text: word + " from bob", GroupID: mirror.ID})
			if err != nil {
				t.Fatal(err)
			}
			nodetest.Settle(t, all...)
			apOnGlobex, err := globex.Posts.ByURI(ctx, ap.URI)
			if err != nil {
				t.Fatalf("alice's post on globex: %v", err)
			}
			bpOnAcme, err := acme.Posts.ByURI(ctx, bp.URI)
			if err != nil {
				t.Fatalf("bob's post on acme: %v", err)
			}

			open, secret := vis == groups.Open, vis == groups.Secret
			type cell struct {
				name string
				got  bool // the viewer saw it
				may  bool // the rules allow it
			}
			var cells []cell
			check := func(name string, got, may bool) { cells = append(cells, cell{name, got, may}) }

			// JSON API on the home node.
			apiSees := func(api *nodetest.API, path string) bool {
				var raw any
				resp := api.Call("GET", path, nil, &raw)
				b := fmt.Sprint(raw)
				return resp.StatusCode == 200 && strings.Contains(b, word)
			}
			apiKnows := func(api *nodetest.API, path string) bool {
				resp := api.Call("GET", path, nil, nil)
				return resp.StatusCode == 200
			}
			for _, v := range []struct {
				who      string
				api      *nodetest.API
				member   bool
				readable bool
			}{{"member", alice, true, true}, {"nonmember", erin, false, open}} {
				check(v.who+" api group", apiKnows(v.api, "/api/v1/groups/"+g.ID), v.member || !secret)
				check(v.who+" api group timeline", apiSees(v.api, "/api/v1/timelines/group/"+g.ID), v.readable)
				check(v.who+" api status (local author)", apiSees(v.api, "/api/v1/statuses/"+ap.ID), v.readable)
				check(v.who+" api status (partner author)", apiSees(v.api, "/api/v1/statuses/"+bpOnAcme.ID), v.readable)
				check(v.who+" api members", apiKnows(v.api, "/api/v1/groups/"+g.ID+"/members"), v.readable)
				check(v.who+" api search", apiSees(v.api, "/api/v2/search?type=statuses&q="+word), v.readable)
				check(v.who+" api directory", apiKnows(v.api, "/api/v1/groups?filter=directory") &&
					apiSeesText(v.api, "/api/v1/groups?filter=directory", g.Handle), v.member || !secret)
				check(v.who+" api home", apiSees(v.api, "/api/v1/timelines/home"), v.member)
				check(v.who+" api notifications", apiSees(v.api, "/api/v1/notifications"), v.readable && !v.member)
				check(v.who+" api as account", apiKnows(v.api, "/api/v1/accounts/"+g.ID), v.member || !secret)
			}
			// Anonymous on the API: nothing without a token.
			for _, path := range []string{"/api/v1/groups/" + g.ID, "/api/v1/timelines/group/" + g.ID, "/api/v1/statuses/" + ap.ID} {
				resp, err := http.Get(acme.HTTP.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				check("anonymous api "+path, resp.StatusCode == 200 || strings.Contains(string(b), word), false)
			}

			// Web pages on the home node.
			_, body := erinWeb.Get("/groups/" + g.Handle)
			check("nonmember web group page", strings.Contains(body, word), open)
			check("nonmember web group page names it", strings.Contains(body, g.DisplayName), !secret)
			_, body = erinWeb.Get("/groups")
			check("nonmember web directory", strings.Contains(body, g.DisplayName), !secret)
			_, body = erinWeb.Get("/posts/" + ap.ID)
			check("nonmember web post page", strings.Contains(body, word), open)
			_, body = erinWeb.Get("/")
			check("nonmember web home", strings.Contains(body, word), false)
			_, body = erinWeb.Get("/notifications")
			check("nonmember web notifications", strings.Contains(body, word), open)
			for _, path := range []string{"/groups/" + g.Handle, "/groups", "/posts/" + ap.ID} {
				_, body = anonWeb.Get(path)
				check("anonymous web "+path, strings.Contains(body, word) || strings.Contains(body, g.DisplayName), false)
			}

			// WebFinger and ActivityPub, unsigned (anonymous), and signed by each node.
			resp, err := http.Get(acme.HTTP.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+g.Handle+"@"+acme.Host()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			check("anonymous webfinger", resp.StatusCode == 200, !secret)
			apGet := func(u string) (int, string) {
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Accept", "application/activity+json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			code, _ := apGet(strings.Replace(g.URI, "http://"+acme.Host(), acme.HTTP.URL, 1))
			check("anonymous ap actor", code == 200, !secret)
			code, body = apGet(strings.Replace(g.URI, "http://"+acme.Host(), acme.HTTP.URL, 1) + "/followers")
			check("anonymous ap followers count", code == 200, !secret)
			check("anonymous ap followers list", strings.Contains(body, "/users/"), false)
			code, body = apGet(strings.Replace(ap.URI, "http://"+acme.Host(), acme.HTTP.URL, 1))
			check("anonymous ap post", code == 200 || strings.Contains(body, word), false)
			for _, n := range []struct {
				who    string
				node   *nodetest.Node
				member bool
			}{{"pmember-node", globex, true}, {"unrelated-node", initech, false}} {
				_, err := n.node.Fetch.Get(ctx, g.URI)
				check(n.who+" signed ap actor", err == nil, n.member || !secret)
				doc, err := n.node.Fetch.Get(ctx, g.URI+"/followers")
				check(n.who+" signed ap followers list", err == nil && strings.Contains(string(doc.Raw), "/users/"), n.member)
				doc, err = n.node.Fetch.Get(ctx, ap.URI)
				check(n.who+" signed ap post", err == nil && strings.Contains(string(doc.Raw), word), false)
			}

			// The partner node: its member reads; its non-member reads only an open group.
			check("pmember api status", apiSees(bob, "/api/v1/statuses/"+apOnGlobex.ID), true)
			check("pmember api group timeline", apiSees(bob, "/api/v1/timelines/group/"+mirror.ID), true)
			check("pmember api home", apiSees(bob, "/api/v1/timelines/home"), true)
			check("pnonmember api status", apiSees(dave, "/api/v1/statuses/"+apOnGlobex.ID), open)
			check("pnonmember api group", apiKnows(dave, "/api/v1/groups/"+mirror.ID), !secret)
			check("pnonmember api group timeline", apiSees(dave, "/api/v1/timelines/group/"+mirror.ID), open)
			check("pnonmember api search", apiSees(dave, "/api/v2/search?type=statuses&q="+word), open)
			check("pnonmember api home", apiSees(dave, "/api/v1/timelines/home"), false)
			check("pnonmember api directory", apiSeesText(dave, "/api/v1/groups?filter=directory", g.Handle), false)

			// The unrelated node received nothing and can find no content.
			for _, uri := range []string{ap.URI, bp.URI} {
				_, err := initech.Posts.ByURI(ctx, uri)
				check("unrelated node stored "+uri, err == nil, false)
			}
			check("unrelated api search", apiSees(carol, "/api/v2/search?type=statuses&resolve=true&q="+url.QueryEscape(ap.URI)), false)
			check("unrelated api group lookup", apiKnows(carol, "/api/v1/groups/lookup?resolve=true&acct="+url.QueryEscape(g.Handle+"@"+acme.Host())), !secret)

			if len(cells) < 50 {
				t.Fatalf("only %d cells checked", len(cells))
			}
			for _, c := range cells {
				if c.got && !c.may {
					t.Errorf("LEAK %s %s: shown, but the rules do not allow it", vis, c.name)
				} else if !c.got && c.may {
					t.Errorf("%s %s: hidden, but the rules allow it", vis, c.name)
				}
			}
		})
	}
}

func apiSeesText(api *nodetest.API, path, text string) bool {
	var raw any
	resp := api.Call("GET", path, nil, &raw)
	return resp.StatusCode == 200 && strings.Contains(fmt.Sprint(raw), text)
}
