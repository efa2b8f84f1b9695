package filters

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
)

// Mute hides an account's posts from the muter's timelines and, with Notifications, its
// notifications too, until ExpiresAt if set. Unlike a block, the muted account is not told
// and nothing changes for them.
type Mute struct {
	bun.BaseModel `bun:"table:mutes,alias:mu"`
	MuterID       string     `bun:"muter_id,pk"`
	MutedID       string     `bun:"muted_id,pk"`
	Notifications bool       `bun:"notifications"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	CreatedAt     time.Time  `bun:"created_at"`
}

// DomainBlock hides everything from accounts on a domain, for one person.
type DomainBlock struct {
	bun.BaseModel `bun:"table:domain_blocks,alias:db"`
	AccountID     string    `bun:"account_id,pk"`
	Domain        string    `bun:"domain,pk"`
	CreatedAt     time.Time `bun:"created_at"`
}

// MuteAccount mutes (or re-mutes with new settings) mutedID for muterID; duration 0 is for
// ever.
func (s *Service) MuteAccount(ctx context.Context, muterID, mutedID string, notifications bool, duration time.Duration) error {
	if muterID == mutedID {
		return errs.E(errs.Invalid, "you cannot mute yourself")
	}
	if duration < 0 {
		return errs.Field("duration", "give a positive number of seconds")
	}
	now := s.Clock.Now()
	m := &Mute{MuterID: muterID, MutedID: mutedID, Notifications: notifications, CreatedAt: now}
	if duration > 0 {
		t := now.Add(duration)
		m.ExpiresAt = &t
	}
	_, err := s.DB.NewInsert().Model(m).
		On("CONFLICT (muter_id, muted_id) DO UPDATE").Set("notifications = EXCLUDED.notifications, expires_at = EXCLUDED.expires_at").Exec(ctx)
	return err
}

// Unmute lifts a mute; none is no error.
func (s *Service) Unmute(ctx context.Context, muterID, mutedID string) error {
	_, err := s.DB.NewDelete().Model((*Mute)(nil)).Where("muter_id = ? AND muted_id = ?", muterID, mutedID).Exec(ctx)
	return err
}

// Mutes lists muterID's unexpired mutes by muted account id, descending, before maxID ("": from
// the top), for the paged /mutes list.
func (s *Service) Mutes(ctx context.Context, muterID, maxID string, limit int) ([]Mute, error) {
	out := []Mute{}
	q := s.DB.NewSelect().Model(&out).Where("muter_id = ?", muterID).
		Where("(expires_at IS NULL OR expires_at > ?)", s.Clock.Now()).OrderExpr("muted_id DESC").Limit(int64(limit))
	if maxID != "" {
		q = q.Where("muted_id < ?", maxID)
	}
	return out, q.Scan(ctx)
}

// Muting returns muterID's unexpired mutes, by muted account; ids nil means all of them.
func (s *Service) Muting(ctx context.Context, muterID string, ids []string) (map[string]Mute, error) {
	var rows []Mute
	q := s.DB.NewSelect().Model(&rows).Where("muter_id = ?", muterID).Where("(expires_at IS NULL OR expires_at > ?)", s.Clock.Now())
	if ids != nil {
		if len(ids) == 0 {
			return map[string]Mute{}, nil
		}
		q = q.Where("muted_id IN (?)", bun.In(ids))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]Mute, len(rows))
	for _, m := range rows {
		out[m.MutedID] = m
	}
	return out, nil
}

// NormalizeDomain lower-cases a host and strips what apps may add around it.
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
	d = strings.TrimSuffix(d, "/")
	if d == "" || strings.ContainsAny(d, " /@?#") || !strings.Contains(d, ".") {
		return "", errs.Field("domain", "give a domain such as social.example")
	}
	return d, nil
}

// BlockDomain hides accounts on domain from accountID; blocking twice is no error.
func (s *Service) BlockDomain(ctx context.Context, accountID, domain string) error {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return err
	}
	_, err = s.DB.NewInsert().Model(&DomainBlock{AccountID: accountID, Domain: d, CreatedAt: s.Clock.Now()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	return err
}

// UnblockDomain lifts a domain block; none is no error.
func (s *Service) UnblockDomain(ctx context.Context, accountID, domain string) error {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return err
	}
	_, err = s.DB.NewDelete().Model((*DomainBlock)(nil)).Where("account_id = ? AND domain = ?", accountID, d).Exec(ctx)
	return err
}

// BlockedDomains lists accountID's blocked domains in name order after afterDomain; limit
// <= 0 lists them all.
func (s *Service) BlockedDomains(ctx context.Context, accountID, afterDomain string, limit int) ([]string, error) {
	out := []string{}
	q := s.DB.NewSelect().Model((*DomainBlock)(nil)).Column("domain").Where("account_id = ?", accountID).Order("domain")
	if afterDomain != "" {
		q = q.Where("domain > ?", afterDomain)
	}
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	return out, q.Scan(ctx, &out)
}
