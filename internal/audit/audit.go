// Package audit records what administrators do (roles, deactivations, invitations, settings)
// in the same transaction as the change itself, so the log can never miss an action that
// took effect.
package audit

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/ids"
)

// Entry is one recorded action.
type Entry struct {
	bun.BaseModel `bun:"table:audit_log"`
	ID            string    `bun:"id,pk"`
	ActorID       string    `bun:"actor_id"`
	ActorName     string    `bun:"actor_name"` // "cli" for actions from the command line
	Action        string    `bun:"action"`     // e.g. user.deactivate
	Target        string    `bun:"target"`
	Detail        string    `bun:"detail"`
	IP            string    `bun:"ip"`
	CreatedAt     time.Time `bun:"created_at"`
}

// Record writes e inside tx.
func Record(ctx context.Context, tx bun.IDB, e Entry) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	e.ID = ids.New(e.CreatedAt)
	_, err := tx.NewInsert().Model(&e).Exec(ctx)
	return err
}

// List returns up to limit entries, newest first, older than the entry id before (if set).
func List(ctx context.Context, db bun.IDB, before string, limit int) ([]Entry, error) {
	var out []Entry
	q := db.NewSelect().Model(&out).Order("id DESC").Limit(int64(limit))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	return out, q.Scan(ctx)
}
