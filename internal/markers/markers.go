// Package markers keeps where each person stopped reading a timeline (Mastodon's markers:
// "home" and "notifications"), so all their apps open at the same place.
package markers

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// maxIDLen bounds a stored id; ids on this node are far shorter.
const maxIDLen = 64

// Marker is one person's read position in one timeline.
type Marker struct {
	bun.BaseModel `bun:"table:markers"`
	AccountID     string    `bun:"account_id,pk"`
	Timeline      string    `bun:"timeline,pk"`
	LastReadID    string    `bun:"last_read_id"`
	Version       int       `bun:"version"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// Service reads and moves markers.
type Service struct {
	DB    *db.DB
	Clock clock.Clock
}

// Valid reports whether name is a timeline that has a marker: the two Mastodon defines;
// others are refused so the table stays small.
func Valid(name string) bool { return name == "home" || name == "notifications" }

// Get returns the person's markers for the named timelines that have one; unknown names are
// skipped, as Mastodon does.
func (s *Service) Get(ctx context.Context, accountID string, timelines []string) (map[string]Marker, error) {
	var names []string
	for _, t := range timelines {
		if Valid(t) {
			names = append(names, t)
		}
	}
	out := map[string]Marker{}
	if len(names) == 0 {
		return out, nil
	}
	var rows []Marker
	if err := s.DB.NewSelect().Model(&rows).Where("account_id = ?", accountID).
		Where("timeline IN (?)", bun.In(names)).Scan(ctx); err != nil {
		return nil, err
	}
	for _, m := range rows {
		out[m.Timeline] = m
	}
	return out, nil
}

// Set moves the person's marker in a timeline to lastReadID, counting the update.
func (s *Service) Set(ctx context.Context, accountID, timeline, lastReadID string) (Marker, error) {
	lastReadID = strings.TrimSpace(lastReadID)
	if !Valid(timeline) {
		return Marker{}, errs.Field("timeline", "%q is not home or notifications", timeline)
	}
	if lastReadID == "" || len(lastReadID) > maxIDLen {
		return Marker{}, errs.Field(timeline+"[last_read_id]", "give the id of the last item read")
	}
	// One upsert, so two devices saving at once both count and neither fails on the key.
	m := Marker{AccountID: accountID, Timeline: timeline, LastReadID: lastReadID, Version: 1, UpdatedAt: s.Clock.Now()}
	err := s.DB.NewInsert().Model(&m).ModelTableExpr("markers AS m").
		On("CONFLICT (account_id, timeline) DO UPDATE").
		Set("last_read_id = EXCLUDED.last_read_id, version = m.version + 1, updated_at = EXCLUDED.updated_at").
		Returning("*").Scan(ctx)
	return m, err
}
