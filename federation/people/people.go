// Package people turns remote actors into accounts this node can show, follow and deliver to:
// it fetches them (signed, through federation/fetch), sanitises what they say about
// themselves once, and stores them through the accounts service. Everything else in
// federation asks it for "the account behind this actor URI" or "behind @bob@globex.example".
//
// Stored actors are refreshed when older than RefreshAfter (GoToSocial refreshes accounts
// after 6 h; a day is plenty for work profiles, and an Update{Person} refreshes at once).
package people

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/fetch"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/markup"
)

// RefreshAfter is how old a stored actor may be before it is fetched again on use.
const RefreshAfter = 24 * time.Hour

// Resolver finds and stores remote accounts.
type Resolver struct {
	Fetch    *fetch.Client
	Accounts *accounts.Service
	Markup   *markup.Renderer
	Clock    clock.Clock
	// QueueMedia copies a picture (avatar, header) to this node; remotemedia.Cache.QueueNow
	// fits. nil leaves remote pictures uncached. The page or API finds the copy under
	// remotemedia.Key(Remote.AvatarURL), so accounts store nothing new.
	QueueMedia func(ctx context.Context, url string) (string, error)
}

// ByURI returns the account of the actor with this id, fetching it when unknown or stale.
// A stale copy is still returned when the refresh fails: a peer's hiccup must not make its
// people vanish.
func (r *Resolver) ByURI(ctx context.Context, uri string) (*accounts.User, error) {
	u, err := r.Accounts.RemoteByURI(ctx, uri)
	if err == nil && r.Clock.Now().Sub(u.Remote.FetchedAt) < RefreshAfter {
		return u, nil
	}
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	a, ferr := r.Fetch.Actor(ctx, uri)
	if ferr != nil {
		if u != nil && !errors.Is(ferr, fetch.ErrGone) {
			return u, nil
		}
		return nil, UserError(ferr, uri)
	}
	return r.Store(ctx, a)
}

// Refresh fetches an actor again (after Update{Person}) and stores what it says now.
func (r *Resolver) Refresh(ctx context.Context, uri string) (*accounts.User, error) {
	a, err := r.Fetch.Actor(ctx, uri)
	if err != nil {
		return nil, UserError(err, uri)
	}
	return r.Store(ctx, a)
}

// Known returns the stored account for an actor id without fetching (nil when unknown).
func (r *Resolver) Known(ctx context.Context, uri string) (*accounts.User, error) {
	u, err := r.Accounts.RemoteByURI(ctx, uri)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return u, err
}

// ByAcct resolves user@host through WebFinger (known accounts are answered from storage).
func (r *Resolver) ByAcct(ctx context.Context, acct string) (*accounts.User, error) {
	if u, err := r.Accounts.RemoteByAcct(ctx, acct); err == nil && r.Clock.Now().Sub(u.Remote.FetchedAt) < RefreshAfter {
		return u, nil
	}
	a, err := r.Fetch.Resolve(ctx, acct)
	if err != nil {
		return nil, UserError(err, acct)
	}
	return r.Store(ctx, a)
}

// Store saves an actor document that has passed fetch's checks (or arrived in an
// origin-checked Update), sanitising its HTML.
func (r *Resolver) Store(ctx context.Context, a *activity.Actor) (*accounts.User, error) {
	u, err := url.Parse(a.ID)
	if err != nil || u.Host == "" {
		return nil, errs.E(errs.Invalid, "the actor id %s is not a URL", a.ID)
	}
	p := accounts.RemoteProfile{Username: a.PreferredUsername, DisplayName: plain(a.Name, 100)}
	p.URI, p.Domain, p.Kind, p.URL = a.ID, strings.ToLower(u.Host), a.Type, a.URL
	p.SummaryHTML = r.Markup.SanitizeRemote(a.Summary)
	p.AvatarURL, p.HeaderURL = httpURL(a.Icon), httpURL(a.Image)
	p.Inbox, p.SharedInbox, p.Outbox = a.Inbox, a.SharedInbox, a.Outbox
	p.FollowersURL, p.FollowingURL = a.Followers, a.Following
	p.KeyID, p.PublicKeyPEM, p.Locked = a.PublicKey.ID, a.PublicKey.PublicKeyPem, a.ManuallyApprovesFollowers
	for i, f := range a.Fields {
		if i == 8 {
			break
		}
		name := plain(f.Name, 100)
		if strings.EqualFold(name, "organisation") || strings.EqualFold(name, "organization") {
			p.OrgName = plain(markup.PlainText(f.Value), 100)
		}
		p.Fields = append(p.Fields, accounts.RemoteField{Name: name, Value: r.Markup.SanitizeRemote(f.Value)})
	}
	p.FetchedAt = r.Clock.Now()
	stored, err := r.Accounts.UpsertRemote(ctx, p)
	if err != nil || r.QueueMedia == nil {
		return stored, err
	}
	// Queued after the account is stored: a failure here is retried by whoever stores the
	// actor again (the inbox job, or the next refresh), and queueing is idempotent.
	for _, pic := range []string{p.AvatarURL, p.HeaderURL} {
		if pic == "" {
			continue
		}
		if _, err := r.QueueMedia(ctx, pic); err != nil && !errors.Is(err, remotemedia.ErrURL) {
			return nil, fmt.Errorf("people: queue picture of %s: %w", a.ID, err)
		}
	}
	return stored, nil
}

// UserError turns a fetch failure into the one message a person can act on.
func UserError(err error, what string) error {
	var na *fetch.NotAllowedError
	switch {
	case errors.As(err, &na):
		return errs.E(errs.Forbidden, "%s is not a partner of this node; an administrator can add it under Admin → Partners", na.Host)
	case errors.Is(err, fetch.ErrGone), errors.Is(err, fetch.ErrNotFound):
		return errs.E(errs.NotFound, "nobody is known as %s", what)
	case errors.Is(err, fetch.ErrBadURL):
		return errs.E(errs.Invalid, "%s is not an address like @name@company.example", what)
	case errors.Is(err, fetch.ErrOrigin), errors.Is(err, fetch.ErrBadDocument):
		return errs.E(errs.Unavailable, "the server of %s answered with something this node cannot trust", what)
	}
	return errs.Wrap(errs.Unavailable, err, "the server of %s could not be reached; try again later", what)
}

// plain strips markup from a name and bounds it.
func plain(s string, n int) string {
	s = strings.TrimSpace(markup.PlainText(s))
	if r := []rune(s); len(r) > n {
		s = string(r[:n])
	}
	return s
}

func httpURL(s string) string {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}
