// Package orgs keeps this node's organisation: its name, public URL (the node's identity),
// allowed sign-up domains and whether first-run setup is done. The values live in the
// settings table; a short in-process cache keeps the hot path (every page shows the name)
// off the database, and a local write clears it at once.
package orgs

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Org is the organisation that runs this node.
type Org struct {
	Name           string
	URL            string // public base URL chosen at setup
	Description    string
	AllowedDomains []string // e-mail domains that may sign up without an invitation
	SetupDone      bool
	// PublishUsage lets NodeInfo show user and public-post counts (hidden by default).
	PublishUsage bool
	// PartnerFields are the work-profile fields partner nodes see in people's actor documents
	// (see PartnerFieldChoices); the name and organisation are always shown.
	PartnerFields []string
}

// PartnerFieldChoices are the profile fields an organisation may show partners, in display
// order, with their labels. Phone and e-mail are never offered: they stay inside the company.
func PartnerFieldChoices() []PartnerField {
	return []PartnerField{{"title", "Job title"}, {"department", "Department"}, {"pronouns", "Pronouns"},
		{"location", "Location"}, {"time_zone", "Time zone"}, {"skills", "Skills"}, {"bio", "Bio"}}
}

// PartnerField is one choice: its stored key and its label.
type PartnerField struct{ Key, Label string }

// defaultPartnerFields is what partners see until an admin chooses: what a person does and how
// to address them, not where they sit.
const defaultPartnerFields = "title,department,pronouns"

// CleanPartnerFields keeps the known keys of v, in display order.
func CleanPartnerFields(v []string) []string {
	want := map[string]bool{}
	for _, k := range v {
		want[strings.TrimSpace(k)] = true
	}
	out := []string{}
	for _, c := range PartnerFieldChoices() {
		if want[c.Key] {
			out = append(out, c.Key)
		}
	}
	return out
}

// Shows reports whether partners see field k.
func (o Org) Shows(k string) bool {
	for _, f := range o.PartnerFields {
		if f == k {
			return true
		}
	}
	return false
}

// setting is one row of the settings table.
type setting struct {
	bun.BaseModel `bun:"table:settings"`
	Key           string    `bun:"key,pk"`
	Value         string    `bun:"value"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// Service reads and writes the organisation.
type Service struct {
	db    *db.DB
	clock clock.Clock

	mu       sync.Mutex
	cached   *Org
	cachedAt time.Time
}

// New makes the service.
func New(d *db.DB, c clock.Clock) *Service { return &Service{db: d, clock: c} }

// cacheTTL bounds how stale another process's change can look on this one.
const cacheTTL = 5 * time.Second

// Get returns the organisation (zero values before setup).
func (s *Service) Get(ctx context.Context) (Org, error) {
	s.mu.Lock()
	if s.cached != nil && s.clock.Now().Sub(s.cachedAt) < cacheTTL {
		o := *s.cached
		s.mu.Unlock()
		return o, nil
	}
	s.mu.Unlock()
	var rows []setting
	if err := s.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return Org{}, err
	}
	m := map[string]string{}
	for _, r := range rows {
		m[r.Key] = r.Value
	}
	o := Org{Name: m["org.name"], URL: m["org.url"], Description: m["org.description"], SetupDone: m["org.setup_done"] == "true",
		PublishUsage: m["federation.publish_usage"] == "true"}
	o.AllowedDomains = SplitDomains(m["org.allowed_domains"])
	fields, ok := m["federation.partner_fields"]
	if !ok {
		fields = defaultPartnerFields
	}
	o.PartnerFields = CleanPartnerFields(strings.Split(fields, ","))
	s.mu.Lock()
	s.cached, s.cachedAt = &o, s.clock.Now()
	s.mu.Unlock()
	return o, nil
}

// Invalidate drops the cache (after a change made elsewhere in this process).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
}

// Update changes the editable fields inside tx (the caller audits).
func (s *Service) Update(ctx context.Context, tx bun.IDB, name, description string, domains []string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return errs.Field("org_name", "give the organisation a name of 1 to 100 characters")
	}
	if len(description) > 2000 {
		return errs.Field("description", "keep the description under 2000 characters")
	}
	for _, d := range domains {
		if !validDomain(d) {
			return errs.Field("allowed_domains", "%q is not a domain like example.com", d)
		}
	}
	defer s.Invalidate()
	return s.Set(ctx, tx, map[string]string{
		"org.name": name, "org.description": description, "org.allowed_domains": strings.Join(domains, ","),
	})
}

// Set writes raw settings inside tx (upsert on both engines).
func (s *Service) Set(ctx context.Context, tx bun.IDB, kv map[string]string) error {
	now := s.clock.Now()
	for k, v := range kv {
		row := &setting{Key: k, Value: v, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(row).On("CONFLICT (key) DO UPDATE").
			Set("value = EXCLUDED.value, updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return err
		}
	}
	s.Invalidate()
	return nil
}

// SplitDomains parses a comma- or space-separated list of e-mail domains.
func SplitDomains(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		f = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(f), "@"))
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
