package orgs_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/dbtest"
)

func selfURL(context.Context) string { return "https://our.example" }

var admin = orgs.Actor{ID: "01ADMIN", Name: "ada", IP: "192.0.2.1", Admin: true}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"acme.test":                       "acme.test",
		"  ACME.Test.  ":                  "acme.test",
		"acme.test:8080":                  "acme.test",
		"acme.test:443":                   "acme.test",
		"https://Acme.test/about?x=1#top": "acme.test",
		"http://acme.test:8080/":          "acme.test",
		"https://acme.test:443":           "acme.test",
		"acme.test/users/alice":           "acme.test",
		"xn--bcher-kva.example":           "xn--bcher-kva.example",
		"127.0.0.1:41234":                 "127.0.0.1",
		"[::1]:8080":                      "::1",
		"2001:db8::1":                     "2001:db8::1",
		"[::ffff:192.0.2.7]":              "192.0.2.7",
		"localhost:3000":                  "localhost",
		"sub-domain.partner-corp.example": "sub-domain.partner-corp.example",
	} {
		got, err := orgs.NormalizeHost(in)
		if err != nil || got != want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":                      "enter a host name",
		"acme":                  "not a host name",
		"acme..test":            "not a host name",
		"-acme.test":            "not a host name",
		"acme_corp.test":        "not a host name",
		"acme.test:0":           "port",
		"acme.test:99999":       "port",
		"acme.test:http":        "port",
		"ftp://acme.test":       "not an http(s) address",
		"alice@acme.test":       "account address",
		"https://u:p@acme.test": "not a host name",
		"bücher.example":        "xn--",
		"acme test":             "not a host name",
		"[::1":                  "not a host name",
		"fe80::1%eth0":          "not a host name",
	} {
		_, err := orgs.NormalizeHost(in)
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "host" || !strings.Contains(errs.Message(err), msg) {
			t.Errorf("NormalizeHost(%q): %v; want an invalid host error mentioning %q", in, err, msg)
		}
	}
}

func TestPartnersPolicy(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		p := orgs.NewPartners(d, clk, orgs.ModeAllowlist, selfURL)
		if p.Mode() != orgs.ModeAllowlist {
			t.Fatalf("mode %q", p.Mode())
		}
		if p.Allowed(ctx, "acme.test") {
			t.Fatal("an unknown host is allowed in allowlist mode")
		}
		got, err := p.Add(ctx, admin, "https://ACME.test/", "project Falcon")
		if err != nil {
			t.Fatal(err)
		}
		if got.Host != "acme.test" || got.State != orgs.PartnerAllowed || got.Note != "project Falcon" || got.CreatedBy != admin.ID {
			t.Fatalf("added %+v", got)
		}
		// This process's own change shows at once, without waiting for the cache to expire.
		// The port does not matter: the policy names hosts, as fetch (Hostname) and delivery (Host) pass them.
		for _, h := range []string{"acme.test", "ACME.TEST", "https://acme.test/inbox", "acme.test:443", "acme.test:8080"} {
			if !p.Allowed(ctx, h) {
				t.Errorf("%q not allowed after Add", h)
			}
		}
		if p.Allowed(ctx, "other.test") || p.Allowed(ctx, "sub.acme.test") || p.Allowed(ctx, "not a host") {
			t.Error("a host that was not added is allowed")
		}

		// Block: refused at once, in both modes; the note is kept when none is given.
		if _, err := p.Block(ctx, admin, "acme.test", ""); err != nil {
			t.Fatal(err)
		}
		if p.Allowed(ctx, "acme.test") {
			t.Fatal("a blocked host is still allowed")
		}
		open := orgs.NewPartners(d, clk, orgs.ModeOpen, selfURL)
		if open.Allowed(ctx, "acme.test") || !open.Allowed(ctx, "anyone.test") {
			t.Fatal("open mode: blocked host allowed or unknown host refused")
		}
		// The own host is never allowed, not even in open mode, and cannot be added.
		if open.Allowed(ctx, "our.example") || open.Allowed(ctx, "our.example:8443") {
			t.Fatal("own host allowed")
		}
		if _, err := p.Add(ctx, admin, "https://our.example/", ""); !errs.Is(err, errs.Invalid) || !strings.Contains(errs.Message(err), "own host") {
			t.Fatalf("adding the own host: %v", err)
		}
		// Only administrators change the policy.
		if _, err := p.Add(ctx, orgs.Actor{ID: "01BOB", Name: "bob"}, "evil.test", ""); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member adds a partner: %v", err)
		}
		if err := p.Remove(ctx, orgs.Actor{ID: "01BOB", Name: "bob"}, "acme.test"); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("member removes a partner: %v", err)
		}
		if _, err := p.Add(ctx, admin, "beta.test", strings.Repeat("x", 501)); errs.FieldOf(err) != "note" {
			t.Fatalf("long note: %v", err)
		}
		if _, err := p.Add(ctx, admin, "beta.test", "two\nlines"); errs.FieldOf(err) != "note" {
			t.Fatalf("multi-line note: %v", err)
		}

		// Unblocking by Add keeps the original creation.
		again, err := p.Add(ctx, admin, "acme.test", "")
		if err != nil || again.State != orgs.PartnerAllowed || again.Note != "project Falcon" || !again.CreatedAt.Equal(got.CreatedAt) {
			t.Fatalf("re-allow: %+v %v", again, err)
		}
		if _, err := p.Add(ctx, orgs.CLIActor(), "beta.test", "from the shell"); err != nil {
			t.Fatal(err)
		}
		list, err := p.List(ctx)
		if err != nil || len(list) != 2 || list[0].Host != "acme.test" || list[1].Host != "beta.test" || list[1].CreatedBy != "" {
			t.Fatalf("list: %+v %v", list, err)
		}

		// Remove: access ends at once; removing again says what is wrong.
		if err := p.Remove(ctx, admin, "ACME.test"); err != nil {
			t.Fatal(err)
		}
		if p.Allowed(ctx, "acme.test") {
			t.Fatal("a removed partner is still allowed")
		}
		if err := p.Remove(ctx, admin, "acme.test"); !errs.Is(err, errs.NotFound) || !strings.Contains(errs.Message(err), "not on the partner list") {
			t.Fatalf("remove twice: %v", err)
		}

		// Every change is in the audit log, with who did it; a no-op is not.
		if _, err := p.Add(ctx, admin, "beta.test", ""); err != nil {
			t.Fatal(err)
		}
		entries, err := audit.List(ctx, d, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		// The fake clock stands still, so entries share a millisecond: compare them as a set.
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.ActorName+" "+e.Action+" "+e.Target)
		}
		want := []string{"ada partner.allow acme.test", "ada partner.allow acme.test", "ada partner.block acme.test",
			"ada partner.remove acme.test", "cli partner.allow beta.test"}
		sort.Strings(actions)
		if strings.Join(actions, "|") != strings.Join(want, "|") {
			t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
		}
	})
}

// Another process's change (several processes on one PostgreSQL) shows within the cache's
// lifetime; this process's reads in between stay off the database.
func TestPartnersSeeOtherProcessesAfterTTL(t *testing.T) {
	d := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	reader := orgs.NewPartners(d, clk, orgs.ModeAllowlist, selfURL)
	writer := orgs.NewPartners(d, clk, orgs.ModeAllowlist, selfURL)
	if reader.Allowed(ctx, "acme.test") {
		t.Fatal("allowed before any change")
	}
	if _, err := writer.Add(ctx, admin, "acme.test", ""); err != nil {
		t.Fatal(err)
	}
	if reader.Allowed(ctx, "acme.test") {
		t.Fatal("the other process's cache was not used")
	}
	clk.Advance(6 * time.Second)
	if !reader.Allowed(ctx, "acme.test") {
		t.Fatal("the other process's change never showed")
	}
	if err := writer.Remove(ctx, admin, "acme.test"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(6 * time.Second)
	if reader.Allowed(ctx, "acme.test") {
		t.Fatal("a removed partner stays allowed on the other process")
	}
}

// Allowed runs on every federation request: hammer it while the policy changes, for -race.
func TestPartnersConcurrentChecks(t *testing.T) {
	d := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	p := orgs.NewPartners(d, clock.System{}, orgs.ModeAllowlist, selfURL)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					p.Allowed(ctx, "acme.test")
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if _, err := p.Add(ctx, admin, "acme.test", ""); err != nil {
			t.Fatal(err)
		}
		if !p.Allowed(ctx, "acme.test") {
			t.Fatal("not allowed right after Add")
		}
		if err := p.Remove(ctx, admin, "acme.test"); err != nil {
			t.Fatal(err)
		}
		if p.Allowed(ctx, "acme.test") {
			t.Fatal("allowed right after Remove")
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkAllowed(b *testing.B) {
	d := dbtest.Open(b, "sqlite")
	ctx := context.Background()
	p := orgs.NewPartners(d, clock.System{}, orgs.ModeAllowlist, selfURL)
	if _, err := p.Add(ctx, admin, "acme.test", ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allowed(ctx, "acme.test") {
			b.Fatal("not allowed")
		}
	}
}
