package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/notify"
	"github.com/atrium-social/atrium/internal/outbound"
)

// The job kinds.
const (
	// KindFanOut turns a batch of new notifications into one KindSend job per subscription.
	KindFanOut = "push_fanout"
	// KindSend encrypts and sends one notification to one subscription.
	KindSend = "push_send"
)

// Limits.
const (
	// inListMax is the largest batch looked up with account_id IN (...); a larger one (an
	// announcement to the whole company) reads the subscribed accounts instead, which grows
	// with the subscriptions on the node rather than with the recipients.
	inListMax = 500
	// fanOutChunk bounds the notification ids in one push_fanout payload.
	fanOutChunk = 500
	bodyMax     = 140
	// pushTTL is how long a push service keeps a message for an offline device (2 days,
	// as Mastodon asks).
	pushTTL = "172800"
	// maxRetryAfter caps the wait a push service may ask for, so a job is not parked for
	// days by a bad header.
	maxRetryAfter = time.Hour
	sendAttempts  = 8
)

type fanOutJob struct {
	N []string `json:"n"` // notification ids
}

type sendJob struct {
	S string `json:"s"` // subscription id
	N string `json:"n"` // notification id
}

// RegisterJobs registers the push job kinds on q.
func (s *Service) RegisterJobs(q *jobs.Queue) {
	q.Handle(KindFanOut, s.fanOut, jobs.Concurrency(2))
	// Few attempts: a push a day late is noise, and a dead endpoint answers 404/410 anyway.
	q.Handle(KindSend, s.send, jobs.Concurrency(16), jobs.MaxAttempts(sendAttempts))
}

// Notified implements notify's Push seam: inside the transaction that wrote ns, it queues
// push work for the recipients who have a subscription. It is one indexed query per call
// whatever the batch size, and enqueues nothing when no recipient subscribed; the per-
// subscription work happens in the background.
func (s *Service) Notified(ctx context.Context, tx bun.IDB, ns []*notify.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	q := tx.NewSelect().Table("push_subscriptions").ColumnExpr("DISTINCT account_id")
	if len(ns) <= inListMax {
		to := make([]string, 0, len(ns))
		for _, n := range ns {
			to = append(to, n.AccountID)
		}
		q = q.Where("account_id IN (?)", bun.In(to))
	}
	var subscribed []string
	if err := q.Scan(ctx, &subscribed); err != nil {
		return fmt.Errorf("push: find subscribed recipients: %w", err)
	}
	if len(subscribed) == 0 {
		return nil
	}
	has := make(map[string]bool, len(subscribed))
	for _, id := range subscribed {
		has[id] = true
	}
	var picked []string
	for _, n := range ns {
		if has[n.AccountID] {
			picked = append(picked, n.ID)
		}
	}
	for start := 0; start < len(picked); start += fanOutChunk {
		chunk := picked[start:min(start+fanOutChunk, len(picked))]
		// Notification ids are unique, so the first names the batch: enqueueing it again
		// (a retried caller) is a no-op.
		if err := s.Jobs.Enqueue(ctx, tx, KindFanOut, fanOutJob{N: chunk}, jobs.Dedupe(KindFanOut+":"+chunk[0])); err != nil {
			return fmt.Errorf("push: queue the push of %d notifications: %w", len(chunk), err)
		}
	}
	if len(picked) > 0 {
		db.AfterCommit(ctx, s.Jobs.Wake)
	}
	return nil
}

// fanOut queues one send per (subscription, notification) whose alerts want it, all in one
// transaction. Each send carries a dedupe key naming that pair, so a fan-out run twice (a
// crash after its commit) does not queue a second send while the first is stored.
func (s *Service) fanOut(ctx context.Context, j *jobs.Job) error {
	var f fanOutJob
	if err := j.Decode(&f); err != nil {
		return jobs.Permanent(err)
	}
	if len(f.N) == 0 {
		return nil
	}
	var pairs []struct {
		NID      string `bun:"nid"`
		Kind     string `bun:"kind"`
		SID      string `bun:"sid"`
		Endpoint string `bun:"endpoint"`
		Alerts   string `bun:"alerts"`
	}
	err := s.DB.NewSelect().TableExpr("notifications AS n").Join("JOIN push_subscriptions AS s ON s.account_id = n.account_id").
		ColumnExpr("n.id AS nid, n.kind AS kind, s.id AS sid, s.endpoint AS endpoint, s.alerts AS alerts").
		Where("n.id IN (?)", bun.In(f.N)).Scan(ctx, &pairs)
	if err != nil {
		return fmt.Errorf("push: read subscriptions for %d notifications: %w", len(f.N), err)
	}
	queued := 0
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, p := range pairs {
			sub := Subscription{AlertsJSON: p.Alerts}
			if !sub.Wants(s.mastodonType(p.Kind)) {
				continue
			}
			opts := []jobs.EnqueueOption{jobs.Dedupe(KindSend + ":" + p.NID + ":" + p.SID)}
			if u, err := url.Parse(p.Endpoint); err == nil {
				opts = append(opts, jobs.Partition("push:"+u.Host)) // one slow push service holds only its own slots
			}
			if err := s.Jobs.Enqueue(ctx, tx, KindSend, sendJob{S: p.SID, N: p.NID}, opts...); err != nil {
				return err
			}
			queued++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("push: queue sends: %w", err)
	}
	if queued > 0 {
		s.Jobs.Wake()
	}
	return nil
}

func (s *Service) mastodonType(kind string) string {
	if s.Type == nil {
		return kind
	}
	return s.Type(kind)
}

// send delivers one notification to one subscription. It re-reads both: the subscription
// may be gone or changed, the notification withdrawn (its post deleted), the token revoked.
func (s *Service) send(ctx context.Context, j *jobs.Job) error {
	var p sendJob
	if err := j.Decode(&p); err != nil {
		return jobs.Permanent(err)
	}
	sub := new(Subscription)
	if err := s.DB.NewSelect().Model(sub).Where("id = ?", p.S).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil // unsubscribed since
		}
		return fmt.Errorf("push: read subscription %s: %w", p.S, err)
	}
	// Revoking a token ends its subscription, as in Mastodon.
	live, err := s.DB.NewSelect().Table("tokens").Where("id = ? AND revoked_at IS NULL", sub.TokenID).Exists(ctx)
	if err != nil {
		return fmt.Errorf("push: check the token of subscription %s: %w", sub.ID, err)
	}
	if !live {
		return s.remove(ctx, sub, "its access token was revoked")
	}
	n := new(notify.Notification)
	if err := s.DB.NewSelect().Model(n).Where("id = ?", p.N).Scan(ctx); err != nil {
		if db.IsNotFound(err) {
			return nil // withdrawn
		}
		return fmt.Errorf("push: read notification %s: %w", p.N, err)
	}
	t := s.mastodonType(n.Kind)
	if n.AccountID != sub.AccountID || !sub.Wants(t) {
		return nil
	}
	if ok, err := s.policyAllows(ctx, sub, n.FromID); err != nil || !ok {
		return err
	}
	msg, err := s.message(ctx, n, t)
	if err != nil {
		return err
	}
	return s.deliver(ctx, sub, msg)
}

// policyAllows applies the subscription's policy to the notification's author.
func (s *Service) policyAllows(ctx context.Context, sub *Subscription, from string) (bool, error) {
	var follower, followee string
	switch sub.Policy {
	case "none":
		return false, nil
	case "followed": // people the subscriber follows
		follower, followee = sub.AccountID, from
	case "follower": // the subscriber's followers
		follower, followee = from, sub.AccountID
	default:
		return true, nil
	}
	ok, err := s.DB.NewSelect().Table("follows").Where("follower_id = ? AND followee_id = ?", follower, followee).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("push: apply policy %s to subscription %s: %w", sub.Policy, sub.ID, err)
	}
	return ok, nil
}

// payload is Mastodon's Web Push message (app/serializers/web/notification_serializer.rb).
//
// access_token is always empty: Mastodon puts the subscriber's bearer token there so a
// service worker can fetch more, but the message passes through a third party (Google,
// Mozilla, Apple) and the token would be as good as the person's password to anyone who
// can read it at the subscriber's end. Apps fetch with the token they already hold.
type payload struct {
	AccessToken      string `json:"access_token"`
	PreferredLocale  string `json:"preferred_locale"`
	NotificationID   string `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// message builds the JSON for n, of Mastodon type t.
func (s *Service) message(ctx context.Context, n *notify.Notification, t string) ([]byte, error) {
	base := s.BaseURL(ctx)
	name, icon, handle := "Someone", base+"/avatars/missing.png", ""
	people, err := s.Accounts.GetMany(ctx, []string{n.FromID})
	if err != nil {
		return nil, fmt.Errorf("push: read the author of notification %s: %w", n.ID, err)
	}
	if u := people[n.FromID]; u != nil {
		name, icon, handle = u.Name(), avatarOf(u, base), "@"+u.Acct()
	}
	body := handle
	if n.PostID != nil {
		var post struct {
			Text    string `bun:"content_text"`
			Spoiler string `bun:"spoiler_text"`
		}
		err := s.DB.NewSelect().Table("posts").Column("content_text", "spoiler_text").Where("id = ?", *n.PostID).Scan(ctx, &post)
		if err != nil && !db.IsNotFound(err) {
			return nil, fmt.Errorf("push: read the post of notification %s: %w", n.ID, err)
		}
		// A content warning stands in for the text, as on Mastodon: the excerpt shows on
		// lock screens.
		body = post.Text
		if post.Spoiler != "" {
			body = post.Spoiler
		}
	}
	b, err := json.Marshal(payload{AccessToken: "", PreferredLocale: "en", NotificationID: n.ID, NotificationType: t,
		Icon: icon, Title: title(n, name), Body: excerpt(body, bodyMax)})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// avatarOf is the picture apps show for u (the client API's account entity rule).
func avatarOf(u *accounts.User, base string) string {
	switch {
	case u.Remote != nil && u.Remote.AvatarURL != "":
		return u.Remote.AvatarURL
	case u.Remote == nil && u.AvatarKey != "":
		return base + "/media/" + u.AvatarKey
	}
	return base + "/avatars/missing.png"
}

// title says what happened, by Atrium's kind (richer than Mastodon's type: a comment is a
// "mention" to apps).
func title(n *notify.Notification, name string) string {
	switch n.Kind {
	case notify.Mention:
		return name + " mentioned you"
	case notify.Comment:
		return name + " commented"
	case notify.Reaction:
		if n.Emoji != "" {
			return name + " reacted " + n.Emoji + " to your post"
		}
		return name + " favourited your post"
	case notify.Share:
		return name + " shared your post"
	case notify.Follow:
		return name + " is now following you"
	case notify.Announcement:
		return name + " posted an announcement"
	case notify.Poll:
		return "A poll by " + name + " has ended"
	}
	return name + ": new notification"
}

// excerpt is s on one line, cut to at most max characters (an ellipsis included).
func excerpt(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// deliver encrypts msg for sub and POSTs it with a VAPID signature through the SSRF-safe
// client. 2xx is done; 404 and 410 mean the subscription expired (removed); 429, 5xx and
// network failures retry with the queue's backoff (or the Retry-After asked for); any other
// answer is a permanent failure a retry cannot fix.
func (s *Service) deliver(ctx context.Context, sub *Subscription, msg []byte) error {
	uaPublic, err := decodeB64(sub.P256DH)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("push: subscription %s: p256dh: %w", sub.ID, err))
	}
	auth, err := decodeB64(sub.Auth)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("push: subscription %s: auth: %w", sub.ID, err))
	}
	body, err := Encrypt(msg, uaPublic, auth)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("push: subscription %s: %w", sub.ID, err))
	}
	key, err := s.vapid(ctx)
	if err != nil {
		return err
	}
	authz, err := vapidAuthorization(key, sub.Endpoint, s.subject(ctx), s.Clock.Now())
	if err != nil {
		return jobs.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("push: subscription %s: %w", sub.ID, err))
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", pushTTL)
	req.Header.Set("Urgency", "normal")
	req.Header.Set("Authorization", authz)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, outbound.ErrBlocked) || errors.Is(err, outbound.ErrScheme) {
			return jobs.Permanent(fmt.Errorf("push: subscription %s: %w", sub.ID, err))
		}
		return fmt.Errorf("push: send to subscription %s: %w", sub.ID, err)
	}
	_, _ = outbound.ReadLimited(resp, 4<<10) // drained so the connection is reused
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return s.remove(ctx, sub, fmt.Sprintf("the push service answered %d", code))
	case code == http.StatusTooManyRequests || code >= 500:
		err := fmt.Errorf("push: send to subscription %s: the push service answered %d", sub.ID, code)
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs >= 0 {
			return jobs.RetryAfter(err, min(time.Duration(secs)*time.Second, maxRetryAfter))
		}
		return err
	default:
		s.Log.Warn("push: the push service refused a message", "subscription", sub.ID, "status", code)
		return jobs.Permanent(fmt.Errorf("push: send to subscription %s: the push service answered %d", sub.ID, code))
	}
}

// remove deletes a subscription that can no longer receive pushes.
func (s *Service) remove(ctx context.Context, sub *Subscription, why string) error {
	if _, err := s.DB.NewDelete().Model((*Subscription)(nil)).Where("id = ?", sub.ID).Exec(ctx); err != nil {
		return fmt.Errorf("push: remove subscription %s (%s): %w", sub.ID, why, err)
	}
	s.Log.Info("push: subscription removed", "subscription", sub.ID, "why", why)
	return nil
}

// subject is the VAPID contact (RFC 8292 section 2.1): the first administrator's address,
// which push services use to reach the node's operator; the node's URL when there is none.
func (s *Service) subject(ctx context.Context) string {
	var email string
	err := s.DB.NewSelect().Table("users").Column("email").Where("role = ? AND state = ?", accounts.RoleAdmin, accounts.StateActive).
		OrderExpr("created_at").Limit(1).Scan(ctx, &email)
	if err == nil && email != "" {
		return "mailto:" + email
	}
	return s.BaseURL(ctx)
}
