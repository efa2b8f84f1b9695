// Package push sends Web Push notifications to the browsers and apps that subscribed through
// the Mastodon client API (POST /api/v1/push/subscription): subscriptions, the node's VAPID
// key, RFC 8291 message encryption, RFC 8292 signing, and delivery through the job queue.
//
// A notification written by the notify package reaches Notified in the same transaction;
// Notified costs one indexed query per batch of notifications and enqueues nothing when no
// recipient has a subscription. Work is split in two job kinds: push_fanout (one per batch,
// in the writing transaction) turns notifications into one push_send job per subscription
// and notification, so one failing push service retries alone and never holds up the rest.
//
// Every push goes to a URL a client chose, so it is sent through the node's SSRF-safe
// outbound client, and it never carries the subscriber's access token (see payload).
package push

import (
	"context"
	"crypto/ecdh"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/outbound"
)

// Alerts are Mastodon's notification types a subscription may ask for, in Mastodon's order.
var Alerts = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
	"admin.sign_up", "admin.report"}

// Policies say whose notifications are pushed: everyone's, those of people the subscriber
// follows, of their followers, or nobody's.
var Policies = []string{"all", "followed", "follower", "none"}

// Service keeps subscriptions and delivers pushes. No package-level state: each node has its
// own (several run in one test process).
type Service struct {
	DB       *db.DB
	Clock    clock.Clock
	Log      *slog.Logger
	Jobs     *jobs.Queue
	HTTP     *outbound.Client // the SSRF-safe client; pushes go to URLs clients chose
	Accounts *accounts.Service
	BaseURL  func(ctx context.Context) string
	// Type maps an Atrium notification kind to Mastodon's type name; the client API owns
	// that mapping (its notifications list uses the same), so it is passed in.
	Type func(kind string) string
	// AllowHTTP accepts http:// endpoints: only on test networks, where the outbound client
	// also reaches private addresses.
	AllowHTTP bool

	keyMu sync.Mutex
	key   *vapidKey
}

// Subscription is one stored push subscription.
type Subscription struct {
	bun.BaseModel `bun:"table:push_subscriptions"`
	ID            string    `bun:"id,pk"`
	TokenID       string    `bun:"token_id"`
	AccountID     string    `bun:"account_id"`
	Endpoint      string    `bun:"endpoint"`
	P256DH        string    `bun:"p256dh"`
	Auth          string    `bun:"auth"`
	AlertsJSON    string    `bun:"alerts"`
	Policy        string    `bun:"policy"`
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// Alerts is every known alert with whether the subscription wants it.
func (sub *Subscription) Alerts() map[string]bool {
	stored := map[string]bool{}
	_ = json.Unmarshal([]byte(sub.AlertsJSON), &stored) // written by this package only
	out := make(map[string]bool, len(Alerts))
	for _, a := range Alerts {
		out[a] = stored[a]
	}
	return out
}

// Wants reports whether the subscription asked for notifications of Mastodon type t.
func (sub *Subscription) Wants(t string) bool { return sub.Alerts()[t] }

// Data is what a subscriber may change: alerts (only those named change) and the policy
// ("" keeps it).
type Data struct {
	Alerts map[string]bool
	Policy string
}

// NewSubscription is a subscription as a client submits it.
type NewSubscription struct {
	Endpoint string
	P256DH   string // base64url of the 65-byte uncompressed P-256 point
	Auth     string // base64url of 16 bytes
	Data     Data
}

// validate checks what Mastodon checks and what this node needs to deliver: an https URL,
// a usable public key and auth secret, known alerts and policy.
func (s *Service) validate(in *NewSubscription) error {
	u, err := url.Parse(in.Endpoint)
	switch {
	case in.Endpoint == "":
		return errs.Field("subscription[endpoint]", "Validation failed: Endpoint can't be blank")
	case err != nil || u.Host == "" || u.User != nil || len(in.Endpoint) > 2048:
		return errs.Field("subscription[endpoint]", "Validation failed: Endpoint is not a valid URL")
	case u.Scheme == "https", u.Scheme == "http" && s.AllowHTTP:
	default:
		return errs.Field("subscription[endpoint]", "Validation failed: Endpoint must be an https URL")
	}
	key, err := decodeB64(in.P256DH)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(key) // also refuses points off the curve
	}
	if err != nil || len(key) != 65 {
		return errs.Field("subscription[keys][p256dh]", "Validation failed: Key p256dh must be a base64url uncompressed P-256 public key (65 bytes)")
	}
	if auth, err := decodeB64(in.Auth); err != nil || len(auth) != 16 {
		return errs.Field("subscription[keys][auth]", "Validation failed: Key auth must be a base64url 16-byte secret")
	}
	return validateData(in.Data)
}

func validateData(d Data) error {
	for a := range d.Alerts {
		if !known(Alerts, a) {
			return errs.Field("data[alerts]", "Validation failed: %q is not a notification type (%s)", a, strings.Join(Alerts, ", "))
		}
	}
	if d.Policy != "" && !known(Policies, d.Policy) {
		return errs.Field("data[policy]", "Validation failed: policy must be one of %s", strings.Join(Policies, ", "))
	}
	return nil
}

func known(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Subscribe stores the token's subscription, replacing any it had (Mastodon keeps one per
// access token). Alerts not named are off, as in Mastodon.
func (s *Service) Subscribe(ctx context.Context, tokenID, accountID string, in NewSubscription) (*Subscription, error) {
	if tokenID == "" || accountID == "" {
		return nil, errs.E(errs.Forbidden, "Push subscriptions belong to an access token of a person")
	}
	if err := s.validate(&in); err != nil {
		return nil, err
	}
	alerts := map[string]bool{}
	for a, on := range in.Data.Alerts {
		alerts[a] = on
	}
	b, err := json.Marshal(alerts)
	if err != nil {
		return nil, err
	}
	policy := in.Data.Policy
	if policy == "" {
		policy = "all"
	}
	now := s.Clock.Now()
	sub := &Subscription{ID: ids.New(now), TokenID: tokenID, AccountID: accountID, Endpoint: in.Endpoint,
		P256DH: stripPadding(in.P256DH), Auth: stripPadding(in.Auth), AlertsJSON: string(b), Policy: policy, CreatedAt: now, UpdatedAt: now}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Subscription)(nil)).Where("token_id = ?", tokenID).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(sub).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push: subscribe token %s: %w", tokenID, err)
	}
	return sub, nil
}

// Get returns the token's subscription (NotFound when it has none).
func (s *Service) Get(ctx context.Context, tokenID string) (*Subscription, error) {
	sub := new(Subscription)
	err := s.DB.NewSelect().Model(sub).Where("token_id = ?", tokenID).Scan(ctx)
	if db.IsNotFound(err) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, fmt.Errorf("push: read the subscription of token %s: %w", tokenID, err)
	}
	return sub, nil
}

// Update changes the alerts named in d and the policy when given; the endpoint and keys
// never change (a new endpoint is a new subscription).
func (s *Service) Update(ctx context.Context, tokenID string, d Data) (*Subscription, error) {
	if err := validateData(d); err != nil {
		return nil, err
	}
	var sub *Subscription
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		sub = new(Subscription)
		if err := tx.NewSelect().Model(sub).Where("token_id = ?", tokenID).Scan(ctx); err != nil {
			return db.Err(err, "Record not found")
		}
		alerts := map[string]bool{}
		_ = json.Unmarshal([]byte(sub.AlertsJSON), &alerts)
		for a, on := range d.Alerts {
			alerts[a] = on
		}
		b, err := json.Marshal(alerts)
		if err != nil {
			return err
		}
		sub.AlertsJSON = string(b)
		if d.Policy != "" {
			sub.Policy = d.Policy
		}
		sub.UpdatedAt = s.Clock.Now()
		_, err = tx.NewUpdate().Model(sub).Column("alerts", "policy", "updated_at").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe removes the token's subscription; removing none is not an error (Mastodon
// answers {} either way).
func (s *Service) Unsubscribe(ctx context.Context, tokenID string) error {
	if _, err := s.DB.NewDelete().Model((*Subscription)(nil)).Where("token_id = ?", tokenID).Exec(ctx); err != nil {
		return fmt.Errorf("push: unsubscribe token %s: %w", tokenID, err)
	}
	return nil
}
