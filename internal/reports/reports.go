// Package reports keeps reports of accounts (and some of their posts) for the node's admins:
// filed here by people, or received from partner nodes (ActivityPub Flag). A report about a
// remote account can be forwarded to its node, through the Forward hook (the federation
// outbox), in the transaction that stores it.
package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// MaxComment bounds a report's comment (Mastodon allows 1,000 characters).
const MaxComment = 1000

// Report is one row.
type Report struct {
	bun.BaseModel `bun:"table:reports"`
	ID            string    `bun:"id,pk"`
	ReporterID    string    `bun:"reporter_id"`
	TargetID      string    `bun:"target_id"`
	PostIDsJSON   string    `bun:"post_ids"` // JSON array; use PostIDs
	Comment       string    `bun:"comment"`
	Forwarded     bool      `bun:"forwarded"`
	ActivityURI   string    `bun:"activity_uri"` // the Flag's id for a report from a partner
	CreatedAt     time.Time `bun:"created_at"`
}

// PostIDs are the reported posts.
func (r *Report) PostIDs() []string {
	var out []string
	_ = json.Unmarshal([]byte(r.PostIDsJSON), &out)
	return out
}

func (r *Report) setPostIDs(list []string) {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(list)
	r.PostIDsJSON = string(b)
}

// Forward is told, inside the transaction that stores it, of a report to forward to the
// target's node (the federation outbox sends Flag).
type Forward interface {
	ReportForwarded(ctx context.Context, tx bun.IDB, r *Report) error
}

// Service stores and lists reports.
type Service struct {
	DB      *db.DB
	Clock   clock.Clock
	Forward Forward // nil on a node that does not federate: nothing is forwarded
}

// New is a report filed by a person here.
type New struct {
	ReporterID   string
	ReporterName string // for the audit log
	IP           string
	TargetID     string
	PostIDs      []string
	Comment      string
	Forward      bool // forward to the target's node (the caller says only for remote targets)
}

// File stores a report and records it in the audit log; when asked, the target's node hears
// of it too.
func (s *Service) File(ctx context.Context, n New) (*Report, error) {
	n.Comment = strings.TrimSpace(n.Comment)
	if len([]rune(n.Comment)) > MaxComment {
		return nil, errs.Field("comment", "use at most %d characters", MaxComment)
	}
	if n.TargetID == "" {
		return nil, errs.Field("account_id", "say whom you report")
	}
	if n.TargetID == n.ReporterID {
		return nil, errs.Field("account_id", "you cannot report yourself")
	}
	now := s.Clock.Now()
	r := &Report{ID: ids.New(now), ReporterID: n.ReporterID, TargetID: n.TargetID, Comment: n.Comment,
		Forwarded: n.Forward && s.Forward != nil, CreatedAt: now}
	r.setPostIDs(n.PostIDs)
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return err
		}
		detail := fmt.Sprintf("posts %s, forwarded %t", r.PostIDsJSON, r.Forwarded)
		if err := audit.Record(ctx, tx, audit.Entry{ActorID: n.ReporterID, ActorName: n.ReporterName, Action: "report.create",
			Target: n.TargetID, Detail: detail, IP: n.IP, CreatedAt: now}); err != nil {
			return err
		}
		if r.Forwarded {
			return s.Forward.ReportForwarded(ctx, tx, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Received stores a report a partner node sent (Flag), once per activity id.
func (s *Service) Received(ctx context.Context, reporterID, targetID string, postIDs []string, comment, activityURI string) error {
	if runes := []rune(strings.TrimSpace(comment)); len(runes) > MaxComment {
		comment = string(runes[:MaxComment])
	}
	now := s.Clock.Now()
	r := &Report{ID: ids.New(now), ReporterID: reporterID, TargetID: targetID, Comment: strings.TrimSpace(comment),
		ActivityURI: activityURI, CreatedAt: now}
	r.setPostIDs(postIDs)
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(r).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{ActorID: reporterID, ActorName: "federation", Action: "report.receive",
			Target: targetID, Detail: activityURI, CreatedAt: now})
	})
}

// Get returns one report.
func (s *Service) Get(ctx context.Context, id string) (*Report, error) {
	r := new(Report)
	if err := s.DB.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such report")
	}
	return r, nil
}

// List returns up to limit reports, newest first, older than the report id before (if set).
func (s *Service) List(ctx context.Context, before string, limit int) ([]Report, error) {
	var out []Report
	q := s.DB.NewSelect().Model(&out).Order("id DESC").Limit(int64(limit))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	return out, q.Scan(ctx)
}
