package app

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/collections"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/groupfed"
	"github.com/atrium-social/atrium/federation/inbox"
	"github.com/atrium-social/atrium/federation/outbox"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/orgs"
)

// buildFederation wires ActivityPub: the partner policy guards every request in and out; the
// signed reader (fetch) finds remote people; the outbox listens to posts and follows and
// hands activities to delivery; the inbox verifies, stores and applies what peers send.
func (n *Node) buildFederation() {
	n.Partners = orgs.NewPartners(n.DB, n.Clock, n.Cfg.FederationMode, n.URL)
	n.Groups.PartnerAllowed = n.Partners.Allowed
	scheme := "https"
	if n.Cfg.AllowInsecureHTTP {
		scheme = "http" // test networks and devnet serve plain HTTP
	}
	ua := "Atrium/" + Version + " (+" + n.defaultURL() + ")"
	n.Fetch = fetch.New(fetch.Deps{HTTP: n.Outbound, Keys: n.Keys, BaseURL: n.URL, Clock: n.Clock, Log: n.Log,
		Allowed: n.Partners.Allowed, Scheme: scheme})
	keyCache := &signature.KeyCache{Fetch: n.Fetch.Key, Clock: n.Clock.Now}
	n.RemoteMedia = remotemedia.New(remotemedia.Deps{DB: n.DB, Jobs: n.Jobs, HTTP: n.Outbound, Store: n.Media,
		Clock: n.Clock, Log: n.Log, Allowed: n.Partners.Allowed})
	n.People = &people.Resolver{Fetch: n.Fetch, Accounts: n.Accounts, Markup: n.Markup, Clock: n.Clock,
		QueueMedia: n.RemoteMedia.QueueNow}
	n.Delivery = delivery.New(delivery.Deps{DB: n.DB, Jobs: n.Jobs, Keys: n.Keys, HTTP: n.Outbound, Clock: n.Clock,
		Log: n.Log, Allowed: n.Partners.Allowed, UserAgent: ua})
	n.Outbox = outbox.New(outbox.Deps{DB: n.DB, Jobs: n.Jobs, Accounts: n.Accounts, Posts: n.Posts, Follows: n.Follows,
		Reports: n.Reports, Delivery: n.Delivery, People: n.People, Keys: n.Keys, Orgs: n.Orgs, Clock: n.Clock, Log: n.Log, BaseURL: n.URL})
	n.Posts.AddHook(n.Outbox)
	n.Accounts.Changed = n.Outbox.ProfileChanged
	// Every person gets an RSA-2048 key pair when their account is made. Generating one costs
	// ~100 ms of CPU, so it happens in a job queued with the account, not in the request.
	n.Accounts.Created = func(ctx context.Context, tx bun.IDB, userID string) error {
		return n.Jobs.Enqueue(ctx, tx, "actor_key", userID, jobs.Dedupe("actor_key:"+userID))
	}
	n.Jobs.Handle("actor_key", func(ctx context.Context, j *jobs.Job) error {
		var id string
		if err := j.Decode(&id); err != nil {
			return jobs.Permanent(err)
		}
		_, err := n.Keys.For(ctx, id)
		return err
	}, jobs.Concurrency(1))
	n.Follows.Remote = n.Outbox
	n.Reports.Forward = n.Outbox
	n.Follows.IsRemote = func(ctx context.Context, id string) (bool, error) {
		u, err := n.Accounts.Lookup(ctx, id)
		if err != nil {
			return false, err
		}
		return u.IsRemote(), nil
	}
	verifier := &signature.Verifier{Resolver: keyCache, Clock: n.Clock.Now, KeyAllowed: n.Partners.Allowed}
	collections.Register(collections.Deps{App: n.Server.App, DB: n.DB, Accounts: n.Accounts, Posts: n.Posts,
		Follows: n.Follows, BaseURL: n.URL, Verify: collections.VerifyWith(verifier)})
	// Groups across nodes (FEP-1b12 style): the group actor's routes come before the web's
	// group pages, which browsers reach through them.
	n.GroupFed = groupfed.New(groupfed.Deps{App: n.Server.App, DB: n.DB, Jobs: n.Jobs, Groups: n.Groups, Posts: n.Posts,
		Accounts: n.Accounts, People: n.People, Fetch: n.Fetch, Delivery: n.Delivery, Keys: n.Keys, Markup: n.Markup,
		Clock: n.Clock, Log: n.Log, BaseURL: n.URL, HTTP: n.Outbound, Verify: collections.VerifyWith(verifier)})
	n.Posts.AddHook(n.GroupFed)
	n.Groups.AddHook(n.GroupFed)
	n.Partners.Revoked = n.Groups.HostRemoved
	n.Inbox = inbox.Register(inbox.Deps{App: n.Server.App, DB: n.DB, Jobs: n.Jobs,
		Verifier: verifier, Accounts: n.Accounts, Posts: n.Posts,
		Follows: n.Follows, Reports: n.Reports, People: n.People, Delivery: n.Delivery, Markup: n.Markup, Clock: n.Clock, Log: n.Log,
		BaseURL: n.URL, Allowed: n.Partners.Allowed, Media: n.RemoteMedia, Groups: n.GroupFed})
}
