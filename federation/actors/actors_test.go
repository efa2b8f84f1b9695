package actors_test

import (
	"context"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

func TestActorDocuments(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Setup: true})
	ctx := context.Background()
	base := n.URL(ctx)
	admin, _ := n.Accounts.ByUsername(ctx, "admin")
	if _, err := n.Accounts.UpdateProfile(ctx, accounts.CLIActor(), admin.ID, accounts.Profile{DisplayName: "Ada Admin",
		JobTitle: "Head of IT", Phone: "+49 30 1234", Location: "Berlin"}); err != nil {
		t.Fatal(err)
	}
	c := n.Client(t)
	fetch := func(path string) *activity.Actor {
		t.Helper()
		resp, body := c.Get(path, "Accept", "application/activity+json")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/activity+json") {
			t.Fatalf("%s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if !strings.Contains(body, "https://www.w3.org/ns/activitystreams") || !strings.Contains(body, "https://w3id.org/security/v1") {
			t.Fatalf("%s lacks Mastodon's @context: %s", path, body)
		}
		doc, err := activity.Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		a, err := doc.AsActor()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	p := fetch("/users/admin")
	if p.ID != base+"/users/admin" || p.PreferredUsername != "admin" || p.Name != "Ada Admin" || p.SharedInbox != base+"/inbox" {
		t.Errorf("person: %+v", p)
	}
	if p.PublicKey.ID != p.ID+"#main-key" || p.PublicKey.Owner != p.ID {
		t.Errorf("key: %+v", p.PublicKey)
	}
	if _, err := signature.ParsePublicKeyPEM(p.PublicKey.PublicKeyPem); err != nil {
		t.Errorf("public key does not parse: %v", err)
	}
	fields := map[string]string{}
	for _, f := range p.Fields {
		fields[f.Name] = f.Value
	}
	if fields["Title"] != "Head of IT" || fields["Phone"] != "" || fields["Location"] != "" {
		t.Errorf("partner fields %v: title shown, phone and location kept inside the company", fields)
	}
	// The organisation chooses what partners see: location on, title off.
	if err := n.Orgs.Set(ctx, n.DB, map[string]string{"federation.partner_fields": "location"}); err != nil {
		t.Fatal(err)
	}
	n.Orgs.Invalidate()
	fields = map[string]string{}
	for _, f := range fetch("/users/admin").Fields {
		fields[f.Name] = f.Value
	}
	if fields["Location"] != "Berlin" || fields["Title"] != "" || fields["Phone"] != "" || fields["Organisation"] == "" {
		t.Errorf("partner fields under the policy \"location\": %v", fields)
	}
	if again := fetch("/users/admin"); again.PublicKey.PublicKeyPem != p.PublicKey.PublicKeyPem {
		t.Error("the key changed between fetches")
	}
	inst := fetch("/actor")
	if inst.ID != base+"/actor" || inst.PublicKey.PublicKeyPem == "" || inst.PublicKey.PublicKeyPem == p.PublicKey.PublicKeyPem {
		t.Errorf("instance actor: %+v", inst)
	}
	// Browsers are sent to the profile page; unknown and deactivated people are 404.
	resp, _ := c.Get("/users/admin", "Accept", "text/html")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != base+"/people/admin" {
		t.Errorf("browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.Get("/users/nobody", "Accept", "application/activity+json"); resp.StatusCode != 404 {
		t.Errorf("unknown: %d", resp.StatusCode)
	}
	gone, _ := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: "gone", Email: "gone@acme.example", Password: "long password 1"})
	n.Accounts.SetActive(ctx, accounts.CLIActor(), gone.ID, false)
	// Still served, marked suspended: the Delete{Person} sent for them must verify.
	if resp, body := c.Get("/users/gone", "Accept", "application/activity+json"); resp.StatusCode != 200 || !strings.Contains(body, `"suspended":true`) {
		t.Errorf("deactivated: %d %s", resp.StatusCode, body)
	}
}
