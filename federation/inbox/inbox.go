// Package inbox is the receiving half of federation: the inbox routes (the shared /inbox,
// each person's /users/:name/inbox and the instance actor's) and the job that applies what
// arrives.
//
// # Intake: answer fast, lose nothing
//
// A POST is checked in this order, each failure answered at once and logged: an
// ActivityStreams Content-Type and no Content-Encoding (415; a compressed body is refused
// rather than inflated), at most 1 MiB (413), a valid HTTP signature (401, per
// federation/signature, so double-knocking peers fall back), a decodable activity with an
// id, a type and an actor (400), the signing key's owner is the actor and the activity's id
// has the actor's origin (401: Mastodon's first origin rule; relayed, LD-signed activities
// are not accepted), and the actor's host is a partner (403). What passes is stored raw in
// inbox_activities, deduplicated by activity id, together with an "inbox" job in the same
// transaction, and answered 202. A redelivery is answered 202 and stored once.
//
// One special case comes first: a Delete of an actor by that actor, whose key now answers
// 410, is answered 202 without further work (FEDERATION.md §2): every account deletion
// anywhere would otherwise cost a failed key fetch per receiving inbox.
//
// # Processing
//
// The job (process.go; the queue hands over up to 32 at a time, and the new notes of a batch
// are stored in one commit with their outcomes, see batch.go) decodes the stored activity
// again, makes sure its actor is a stored
// remote account, and dispatches by type to the same services the UI calls, with the remote
// account as the acting party. Refusals (origin, visibility, unknown objects) are permanent
// and recorded as the row's outcome; failures to reach a peer are retried. Unsupported
// types are recorded as ignored: a peer never sees a 5xx for sending something new.
package inbox

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/federation/delivery"
	"github.com/atrium-social/atrium/federation/people"
	"github.com/atrium-social/atrium/federation/remotemedia"
	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/follows"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/markup"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/reports"
)

// JobKind is the job that applies a stored activity.
const JobKind = "inbox"

// Deps are the inbox's collaborators.
type Deps struct {
	App      *fiber.App
	DB       *db.DB
	Jobs     *jobs.Queue
	Verifier *signature.Verifier
	Accounts *accounts.Service
	Posts    *posts.Service
	Follows  *follows.Service
	Reports  *reports.Service // nil: reports from partners are logged and ignored
	People   *people.Resolver
	Delivery *delivery.Service
	Markup   *markup.Renderer
	Clock    clock.Clock
	Log      *slog.Logger
	BaseURL  func(ctx context.Context) string
	// Allowed is the partner policy (nil: everyone).
	Allowed func(ctx context.Context, host string) bool
	// Media copies the images of relevant notes to this node (nil: attachments stay links).
	Media *remotemedia.Cache
	// Groups applies activities that concern a group (federation/groupfed); nil: none do.
	Groups Handler
	// Chats applies activities that concern a chat (federation/chatfed); nil: none do, and
	// direct notes are direct posts.
	Chats Handler
}

// Handler applies the activities of one feature (groups, chats), reporting false for the
// others.
type Handler interface {
	Handle(ctx context.Context, actor *accounts.User, d *activity.Document) (bool, error)
}

// Inbox receives and applies activities.
type Inbox struct {
	Deps

	heardMu sync.Mutex
	heard   map[string]time.Time // host -> last RecordReceived (see recordReceived)
}

// Row is one received activity.
type Row struct {
	bun.BaseModel `bun:"table:inbox_activities"`
	ID            string     `bun:"id,pk"`
	ActivityURI   string     `bun:"activity_uri"`
	Kind          string     `bun:"kind"`
	Actor         string     `bun:"actor"`
	Host          string     `bun:"host"`
	Raw           string     `bun:"raw"`
	ReceivedAt    time.Time  `bun:"received_at"`
	ProcessedAt   *time.Time `bun:"processed_at"`
	Outcome       string     `bun:"outcome"`
}

// Register mounts the inbox routes and the processing job.
func Register(d Deps) *Inbox {
	in := &Inbox{Deps: d}
	d.App.Post("/inbox", in.receive)
	d.App.Post("/users/:username/inbox", in.receive)
	d.App.Post("/actor/inbox", in.receive)
	d.App.Post("/groups/:handle/inbox", in.receive)
	d.Jobs.HandleBatch(JobKind, in.processBatch, batchSize, jobs.Concurrency(4), jobs.MaxAttempts(8))
	return in
}

// problem answers a refused POST: the status, a short reason for the peer's logs, and a log
// line here. Nothing is stored.
func (in *Inbox) problem(c *fiber.Ctx, status int, reason string, attrs ...any) error {
	in.Log.Info("inbox: refused", append([]any{"status", status, "reason", reason, "ip", c.IP(), "path", c.Path()}, attrs...)...)
	return c.Status(status).JSON(fiber.Map{"error": reason})
}

func (in *Inbox) receive(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if !activity.IsMediaType(c.Get(fiber.HeaderContentType), true) {
		return in.problem(c, fiber.StatusUnsupportedMediaType, "Content-Type must be application/activity+json or application/ld+json")
	}
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return in.problem(c, fiber.StatusUnsupportedMediaType, "compressed bodies are not accepted")
	}
	body := c.BodyRaw() // raw bytes: never inflated, exactly what was signed
	if len(body) > activity.MaxDocumentSize {
		return in.problem(c, fiber.StatusRequestEntityTooLarge, "activities are limited to 1 MiB")
	}
	body = append([]byte(nil), body...) // fasthttp reuses its buffers after the handler
	verified, verr := in.Verifier.Verify(ctx, request(c), body)
	doc, derr := activity.Decode(body)
	if verr != nil {
		if errors.Is(verr, signature.ErrKeyGone) && derr == nil && doc.Type() == activity.TypeDelete &&
			doc.ObjectID() == doc.Actor() {
			// The account is gone and so is its key: nothing to verify, nothing to do.
			return c.SendStatus(fiber.StatusAccepted)
		}
		if errors.Is(verr, signature.ErrKeyNotAllowed) {
			return in.problem(c, fiber.StatusForbidden, "this node does not federate with the signer's host", "err", verr)
		}
		return in.problem(c, fiber.StatusUnauthorized, "invalid HTTP signature", "err", verr)
	}
	if derr != nil {
		return in.problem(c, fiber.StatusBadRequest, "not an ActivityStreams activity", "err", derr)
	}
	if doc.ID() == "" || doc.Type() == "" || doc.Actor() == "" {
		return in.problem(c, fiber.StatusBadRequest, "an activity needs an id, a type and an actor")
	}
	if verified.Owner != doc.Actor() {
		return in.problem(c, fiber.StatusUnauthorized, "the signing key does not belong to the activity's actor",
			"key_owner", verified.Owner, "actor", doc.Actor())
	}
	if !sameOrigin(doc.ID(), doc.Actor()) {
		return in.problem(c, fiber.StatusUnauthorized, "the activity id and its actor have different origins", "id", doc.ID())
	}
	host := hostOf(doc.Actor())
	if in.Allowed != nil && !in.Allowed(ctx, host) {
		return in.problem(c, fiber.StatusForbidden, "this node does not federate with "+host)
	}
	stored, err := in.store(ctx, doc, host, body)
	if err != nil {
		return err
	}
	if !stored {
		in.Log.Debug("inbox: duplicate", "id", doc.ID())
	}
	return c.SendStatus(fiber.StatusAccepted)
}

// store keeps the raw activity and queues its processing, once per activity id.
func (in *Inbox) store(ctx context.Context, doc *activity.Document, host string, body []byte) (bool, error) {
	now := in.Clock.Now()
	r := &Row{ID: ids.New(now), ActivityURI: doc.ID(), Kind: doc.Type(), Actor: doc.Actor(), Host: host,
		Raw: string(doc.Raw), ReceivedAt: now}
	stored := false
	err := in.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(r).On("CONFLICT (activity_uri) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		stored = true
		if err := in.Jobs.Enqueue(ctx, tx, JobKind, r.ID); err != nil {
			return err
		}
		db.AfterCommit(ctx, in.Jobs.Wake)
		return nil
	})
	return stored, err
}

// request builds the *http.Request signature.Verify reads (see its doc.go): the raw request
// line, every header (repeats kept), the Host as sent. Strings are copied, never aliased.
func request(c *fiber.Ctx) *http.Request {
	h := make(http.Header)
	c.Request().Header.VisitAll(func(k, v []byte) { h.Add(string(k), string(v)) })
	return &http.Request{Method: c.Method(), RequestURI: string(c.Request().Header.RequestURI()),
		Host: string(c.Request().Host()), Header: h}
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname()) // the partner policy is by host name, whatever the port
}

// sameOrigin compares scheme, host and port.
func sameOrigin(a, b string) bool {
	pa, err1 := url.Parse(a)
	pb, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && pa.Host != "" && strings.EqualFold(pa.Scheme, pb.Scheme) && strings.EqualFold(pa.Host, pb.Host)
}
