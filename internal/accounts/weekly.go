package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Week is one week of the node's activity (Mastodon's instance activity).
type Week struct {
	Start         time.Time // Monday 00:00 UTC
	Statuses      int       // posts and comments written here
	Logins        int       // distinct people who signed in or used the node
	Registrations int       // people who joined
}

// ActivityWeeks is how many weeks Activity reports, as Mastodon does.
const ActivityWeeks = 12

// Activity counts the node's last ActivityWeeks weeks, this week first, from the posts,
// sessions, tokens and people themselves. Logins are people with a session or token
// created or used in the week: the node keeps when each was last used, not every use, so a
// person active in several weeks counts in the week they signed in and the one they were
// last seen.
func (s *Service) Activity(ctx context.Context) ([]Week, error) {
	now := s.Clock.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	weeks := make([]Week, ActivityWeeks)
	for i := range weeks {
		weeks[i].Start = monday.AddDate(0, 0, -7*i)
	}
	since := weeks[ActivityWeeks-1].Start
	bucket := func(t time.Time) int {
		t = t.UTC()
		if t.Before(since) {
			return -1
		}
		return int(monday.AddDate(0, 0, 7).Sub(t)-1) / int(7*24*time.Hour)
	}
	// Posts: one aggregate statement, a column per week, over the posts of the period (ids
	// are ULIDs, so the id bound is a time bound on the primary key) by people of this node.
	cols := make([]string, ActivityWeeks)
	args := []any{}
	for i := range weeks {
		cols[i] = fmt.Sprintf("COALESCE(SUM(CASE WHEN p.created_at >= ? AND p.created_at < ? THEN 1 ELSE 0 END), 0) AS w%d", i)
		args = append(args, weeks[i].Start, weeks[i].Start.AddDate(0, 0, 7))
	}
	args = append(args, ulidFloor(since), since)
	counts := make([]int64, ActivityWeeks)
	dest := make([]any, ActivityWeeks)
	for i := range counts {
		dest[i] = &counts[i]
	}
	err := s.DB.NewRaw(`SELECT `+strings.Join(cols, ", ")+` FROM posts p JOIN users u ON u.id = p.author_id
		WHERE p.id >= ? AND p.created_at >= ? AND p.deleted_at IS NULL AND p.reblog_of_id IS NULL`, args...).Scan(ctx, dest...)
	if err != nil {
		return nil, fmt.Errorf("weekly posts: %w", err)
	}
	for i := range weeks {
		weeks[i].Statuses = int(counts[i])
	}
	var joined []time.Time
	if err := s.DB.NewSelect().Model((*User)(nil)).Column("created_at").Where("created_at >= ?", since).Scan(ctx, &joined); err != nil {
		return nil, fmt.Errorf("weekly registrations: %w", err)
	}
	for _, t := range joined {
		if i := bucket(t); i >= 0 && i < ActivityWeeks {
			weeks[i].Registrations++
		}
	}
	var uses []struct {
		UserID string     `bun:"user_id"`
		First  time.Time  `bun:"first"`
		Last   *time.Time `bun:"last"`
	}
	err = s.DB.NewRaw(`SELECT user_id, created_at AS first, last_seen_at AS last FROM sessions WHERE created_at >= ? OR last_seen_at >= ?
		UNION ALL SELECT user_id, created_at, last_used_at FROM tokens WHERE user_id IS NOT NULL AND (created_at >= ? OR last_used_at >= ?)`,
		since, since, since, since).Scan(ctx, &uses)
	if err != nil {
		return nil, fmt.Errorf("weekly logins: %w", err)
	}
	seen := make([]map[string]bool, ActivityWeeks)
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	for _, u := range uses {
		for _, t := range []*time.Time{&u.First, u.Last} {
			if t == nil {
				continue
			}
			if i := bucket(*t); i >= 0 && i < ActivityWeeks {
				seen[i][u.UserID] = true
			}
		}
	}
	for i := range weeks {
		weeks[i].Logins = len(seen[i])
	}
	return weeks, nil
}

// ulidFloor is the smallest ULID of time t: every id made at t or later sorts after it.
func ulidFloor(t time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	ms := uint64(t.UnixMilli())
	var b [26]byte
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		b[i] = '0'
	}
	return string(b[:])
}
