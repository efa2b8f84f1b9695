package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/app"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
)

// devnetCompany is one node of the demo network.
type devnetCompany struct {
	Name, Slug string
	People     []devnetPerson
	Post       string
}

type devnetPerson struct{ Username, Name, Title, Department string }

var devnetCompanies = []devnetCompany{
	{Name: "Acme", Slug: "acme", Post: "Kick-off for the Falcon project with our partners at Globex and Initech next week. #falcon",
		People: []devnetPerson{{"alice", "Alice Archer", "Head of Engineering", "Engineering"}, {"arjun", "Arjun Rao", "Designer", "Product"}}},
	{Name: "Globex", Slug: "globex", Post: "Globex supply schedule for Falcon is ready for review. #falcon",
		People: []devnetPerson{{"bob", "Bob Barker", "Supply Chain Lead", "Operations"}, {"gina", "Gina Gold", "Account Manager", "Sales"}}},
	{Name: "Initech", Slug: "initech", Post: "Initech finished the security review for Falcon. #falcon",
		People: []devnetPerson{{"carol", "Carol Chen", "Security Engineer", "IT"}, {"ivan", "Ivan Ito", "Consultant", "Services"}}},
}

// devnetPassword is every demo person's password: this is a local demo network.
const devnetPassword = "devnet password"

// devnet runs three partner company nodes in this process, on 127.0.0.11-13, with demo
// people and posts that already federate: what a newcomer wants to see of federation.
func devnet(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("atrium devnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "atrium-devnet", "directory for the three nodes' data (reused on the next run)")
	port := fs.Int("port", 8080, "port every node listens on (each node has its own address 127.0.0.11-13)")
	first := fs.String("first-ip", "127.0.0.11", "address of the first node; the others follow it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ip, err := netip.ParseAddr(*first)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return fmt.Errorf("--first-ip: %q is not an IPv4 loopback address like 127.0.0.11", *first)
	}
	if *port < 1 || *port > 65535 {
		return fmt.Errorf("--port: %d is not a TCP port", *port)
	}
	log := newLogger(config.Default(), io.Discard)
	type running struct {
		node *app.Node
		ln   net.Listener
		co   devnetCompany
	}
	var nodes []running
	fresh := false
	defer func() {
		for _, r := range nodes {
			r.node.Close()
		}
	}()
	for i, co := range devnetCompanies {
		addr := netip.AddrPortFrom(ip, uint16(*port))
		ip = ip.Next()
		cfg := config.Default()
		cfg.DataDir = filepath.Join(*dir, co.Slug)
		cfg.SetURLExplicit("http://" + addr.String())
		cfg.AllowInsecureHTTP = true
		cfg.AllowPrivateNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			return fmt.Errorf("devnet: node %d (%s) cannot listen on %s: %v", i+1, co.Name, addr, err)
		}
		n, err := app.New(ctx, cfg, app.Options{Log: log})
		if err != nil {
			ln.Close()
			return fmt.Errorf("devnet: start %s: %w", co.Name, err)
		}
		nodes = append(nodes, running{n, ln, co})
		fmt.Fprintf(stdout, "Starting %s at %s ...\n", co.Name, n.URL(ctx))
		f, err := devnetSeed(ctx, n, co)
		if err != nil {
			return fmt.Errorf("devnet: demo content for %s: %w", co.Name, err)
		}
		fresh = fresh || f
	}
	errc := make(chan error, len(nodes))
	for _, r := range nodes {
		go func(r running) { errc <- r.node.Serve(ctx, r.ln) }(r)
	}
	// Partners and cross-company follows need every node up; the first run sets them.
	for _, a := range nodes {
		for _, b := range nodes {
			if a.node != b.node {
				if _, err := a.node.Partners.Add(ctx, orgs.CLIActor(), config.Host(b.node.URL(ctx)), "devnet partner"); err != nil &&
					!errors.Is(err, context.Canceled) {
					return fmt.Errorf("devnet: partner %s with %s: %w", a.co.Name, b.co.Name, err)
				}
			}
		}
	}
	for _, a := range nodes {
		follower, err := a.node.Accounts.ByUsername(ctx, a.co.People[0].Username)
		if err != nil {
			return err
		}
		for _, b := range nodes {
			if a.node == b.node {
				continue
			}
			acct := b.co.People[0].Username + "@" + config.Host(b.node.URL(ctx))
			u, err := a.node.People.ByAcct(ctx, acct)
			if err != nil {
				return fmt.Errorf("devnet: %s cannot find %s: %w", a.co.Name, acct, err)
			}
			if _, err := a.node.Follows.Follow(ctx, follower.ID, u.ID); err != nil {
				return err
			}
		}
	}
	if fresh {
		// Accepts travel through each node's job queue: give them a moment, then post.
		deadline := time.Now().Add(10 * time.Second)
		for _, r := range nodes {
			u, _ := r.node.Accounts.ByUsername(ctx, r.co.People[0].Username)
			for u != nil && time.Now().Before(deadline) {
				if _, following, _ := r.node.Follows.Counts(ctx, u.ID); following >= len(nodes)-1 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		for _, r := range nodes {
			if err := devnetPublic(ctx, r.node, r.co); err != nil {
				return fmt.Errorf("devnet: public post on %s: %w", r.co.Name, err)
			}
		}
	}
	fmt.Fprintf(stdout, "\nThree partner companies are running and federating (password for everyone: %q):\n\n", devnetPassword)
	for _, r := range nodes {
		fmt.Fprintf(stdout, "  %-8s %s\n", r.co.Name, r.node.URL(ctx))
		fmt.Fprintf(stdout, "           sign in as admin or %s / %s\n", r.co.People[0].Username, r.co.People[1].Username)
	}
	fmt.Fprintf(stdout, "\nTry: sign in to %s as %s, follow @%s@%s from the search box, post something public.\nCtrl-C stops all three.\n",
		nodes[0].co.Name, nodes[0].co.People[1].Username, nodes[1].co.People[1].Username, config.Host(nodes[1].node.URL(ctx)))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	for range nodes {
		<-errc
	}
	return nil
}

// devnetSeed sets up a fresh node: the organisation, its admin, two people and a post.
// A node that was set up on an earlier run is left as it is.
func devnetSeed(ctx context.Context, n *app.Node, co devnetCompany) (fresh bool, err error) {
	org, err := n.Orgs.Get(ctx)
	if err != nil || org.SetupDone {
		return false, err
	}
	_, err = n.Accounts.RunSetup(ctx, accounts.Setup{OrgName: co.Name, URL: n.URL(ctx),
		Admin: accounts.NewUser{Username: "admin", Email: "admin@" + co.Slug + ".example", Password: devnetPassword}}, "devnet")
	if err != nil {
		return false, err
	}
	var first *accounts.User
	for _, p := range co.People {
		u, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: p.Username, DisplayName: p.Name,
			Email: p.Username + "@" + co.Slug + ".example", Password: devnetPassword})
		if err != nil {
			return false, err
		}
		if _, err := n.Accounts.UpdateProfile(ctx, accounts.CLIActor(), u.ID, accounts.Profile{DisplayName: p.Name,
			JobTitle: p.Title, Department: p.Department}); err != nil {
			return false, err
		}
		if first == nil {
			first = u
		}
	}
	_, err = n.Posts.Create(ctx, first, posts.NewPost{Text: "Welcome to " + co.Name + "'s Atrium: this post stays inside the company."})
	return err == nil, err
}

// devnetPublic posts each company's public news once the follows are accepted, so it
// reaches the partners' feeds.
func devnetPublic(ctx context.Context, n *app.Node, co devnetCompany) error {
	u, err := n.Accounts.ByUsername(ctx, co.People[0].Username)
	if err != nil {
		return err
	}
	_, err = n.Posts.Create(ctx, u, posts.NewPost{Text: co.Post, Audience: posts.Public})
	return err
}
