package orgs

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Federation modes, as --federation-mode (ATRIUM_FEDERATION_MODE) names them.
const (
	// ModeAllowlist federates only with hosts an administrator allowed.
	ModeAllowlist = "allowlist"
	// ModeOpen federates with every host that is not blocked.
	ModeOpen = "open"
)

// Partner states, as stored in partners.state.
const (
	PartnerAllowed = "allowed"
	PartnerBlocked = "blocked"
)

// maxNote bounds the administrator's note on a partner: a reminder, not a document.
const maxNote = 500

// Partner is one row of the partner policy: a host an administrator allowed or blocked.
type Partner struct {
	bun.BaseModel `bun:"table:partners"`
	Host          string    `bun:"host,pk"` // a host name without port: see NormalizeHost
	State         string    `bun:"state"`   // PartnerAllowed or PartnerBlocked
	Note          string    `bun:"note"`
	CreatedBy     string    `bun:"created_by,nullzero"` // user id; NULL when added from the command line
	CreatedAt     time.Time `bun:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// Actor is who changes the partner policy. It is this package's own small type because
// accounts imports orgs; callers fill it from the signed-in user (or use CLIActor).
type Actor struct {
	ID    string // user id; "" for the command line
	Name  string // username, or "cli"
	IP    string
	Admin bool // only administrators may change the policy
}

// CLIActor is the actor for `atrium admin partner ...`: shell access to the node is trusted
// as an administrator, as for the other admin commands.
func CLIActor() Actor { return Actor{Name: "cli", Admin: true} }

// Partners keeps the partner policy and answers, on the federation hot path, whether a host
// may federate with this node. Reads come from an immutable in-process snapshot, so Allowed
// costs a host normalisation and a map lookup; this process's own changes replace the
// snapshot as soon as they commit, and another process's changes (several nodes on one
// PostgreSQL) show after at most cacheTTL.
type Partners struct {
	db      *db.DB
	clock   clock.Clock
	mode    string
	baseURL func(ctx context.Context) string

	// Revoked is told, inside the transaction, that host may no longer federate (blocked, or
	// removed from the allowlist): groups end its people's memberships at once.
	Revoked func(ctx context.Context, tx bun.IDB, host string) error

	snap atomic.Pointer[partnerSnapshot]
	// loadMu lets one caller reload at a time, and makes invalidate wait for a reload in
	// flight: a reload that read the table before a change committed must not be able to
	// store its stale snapshot after the change cleared the cache.
	loadMu sync.Mutex
}

// partnerSnapshot is the whole policy at one moment; it is never modified once stored.
type partnerSnapshot struct {
	state map[string]string // host -> PartnerAllowed or PartnerBlocked
	self  string            // this node's own host, never a partner
	at    time.Time
}

// NewPartners makes the partner service. mode is config.FederationMode; anything but
// ModeOpen is treated as ModeAllowlist, so a mistake fails closed. baseURL returns the node's
// public URL, whose host can never be added as a partner.
func NewPartners(d *db.DB, c clock.Clock, mode string, baseURL func(ctx context.Context) string) *Partners {
	if mode != ModeOpen {
		mode = ModeAllowlist
	}
	return &Partners{db: d, clock: c, mode: mode, baseURL: baseURL}
}

// Mode is the federation mode in force: ModeAllowlist or ModeOpen.
func (p *Partners) Mode() string { return p.mode }

// Allowed reports whether this node may exchange activities with host: accept its inbound
// requests, fetch from it, deliver to it. host is a host name ("acme.test", as
// url.URL.Hostname gives it), a host with a port (url.URL.Host; the port is ignored) or a
// whole URL. In allowlist mode the host must be allowed; in open mode it must not be blocked.
// The node's own host and anything that is not a valid host are never allowed. If the policy
// cannot be read at all, nothing is allowed.
func (p *Partners) Allowed(ctx context.Context, host string) bool {
	h, err := NormalizeHost(host)
	if err != nil {
		return false
	}
	s, err := p.snapshot(ctx)
	if err != nil || h == s.self {
		return false
	}
	st := s.state[h]
	if p.mode == ModeOpen {
		return st != PartnerBlocked
	}
	return st == PartnerAllowed
}

// snapshot returns the cached policy, reloading it when older than cacheTTL.
func (p *Partners) snapshot(ctx context.Context) (*partnerSnapshot, error) {
	if s := p.snap.Load(); s != nil && p.clock.Now().Sub(s.at) < cacheTTL {
		return s, nil
	}
	p.loadMu.Lock()
	defer p.loadMu.Unlock()
	old := p.snap.Load()
	if old != nil && p.clock.Now().Sub(old.at) < cacheTTL {
		return old, nil // another caller reloaded while this one waited
	}
	var rows []Partner
	if err := p.db.NewSelect().Model(&rows).Column("host", "state").Scan(ctx); err != nil {
		if old != nil {
			// A database hiccup should not cut every partner off; the next call tries again.
			return old, nil
		}
		return nil, fmt.Errorf("partners: load policy: %w", err)
	}
	s := &partnerSnapshot{state: make(map[string]string, len(rows)), at: p.clock.Now()}
	for _, r := range rows {
		s.state[r.Host] = r.State
	}
	if p.baseURL != nil {
		// An unset or odd URL (before setup) simply matches no host.
		s.self, _ = NormalizeHost(config.Host(p.baseURL(ctx)))
	}
	p.snap.Store(s)
	return s, nil
}

// invalidate drops the snapshot after a change committed, so the next check sees it.
func (p *Partners) invalidate() {
	p.loadMu.Lock()
	p.snap.Store(nil)
	p.loadMu.Unlock()
}

// List returns the whole policy, allowed hosts first, then by host.
func (p *Partners) List(ctx context.Context) ([]Partner, error) {
	var out []Partner
	if err := p.db.NewSelect().Model(&out).OrderExpr("state ASC, host ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("partners: list: %w", err)
	}
	return out, nil
}

// Add allows host (in allowlist mode it may now federate); a blocked host is unblocked.
// An empty note keeps the note the host already has.
func (p *Partners) Add(ctx context.Context, a Actor, host, note string) (*Partner, error) {
	return p.set(ctx, a, host, note, PartnerAllowed)
}

// Block blocks host in both modes: its requests are refused and nothing is sent to it, at
// once on this process. An empty note keeps the note the host already has.
func (p *Partners) Block(ctx context.Context, a Actor, host, note string) (*Partner, error) {
	return p.set(ctx, a, host, note, PartnerBlocked)
}

// set writes host's state and the audit entry in one transaction.
func (p *Partners) set(ctx context.Context, a Actor, host, note, state string) (*Partner, error) {
	if !a.Admin {
		return nil, errs.E(errs.Forbidden, "only administrators can change partners")
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	if note, err = checkNote(note); err != nil {
		return nil, err
	}
	if err := p.notSelf(ctx, h); err != nil {
		return nil, err
	}
	now := p.clock.Now()
	var out Partner
	err = p.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var cur Partner
		err := tx.NewSelect().Model(&cur).Where("host = ?", h).Scan(ctx)
		exists := err == nil
		if err != nil && !db.IsNotFound(err) {
			return err
		}
		if note == "" && exists {
			note = cur.Note
		}
		if exists && cur.State == state && cur.Note == note {
			out = cur // nothing changes: nothing to write or audit
			return nil
		}
		out = Partner{Host: h, State: state, Note: note, CreatedBy: a.ID, CreatedAt: now, UpdatedAt: now}
		if exists {
			out.CreatedBy, out.CreatedAt = cur.CreatedBy, cur.CreatedAt
		}
		// An upsert rather than insert-or-update, so two admins adding the same host at once
		// both succeed instead of one seeing a duplicate-key error.
		if _, err := tx.NewInsert().Model(&out).On("CONFLICT (host) DO UPDATE").
			Set("state = EXCLUDED.state, note = EXCLUDED.note, updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return err
		}
		action, detail := "partner.allow", "note="+note
		if state == PartnerBlocked {
			action = "partner.block"
			if p.Revoked != nil {
				if err := p.Revoked(ctx, tx, h); err != nil {
					return err
				}
			}
		}
		if exists && cur.State != state {
			detail = "was " + cur.State + "; " + detail
		}
		return p.audit(ctx, tx, a, action, h, detail, now)
	})
	p.invalidate()
	if err != nil {
		return nil, fmt.Errorf("partners: %s %s: %w", state, h, err)
	}
	return &out, nil
}

// Remove deletes host from the policy. In allowlist mode it may no longer federate, at once on
// this process; in open mode a removed block lets it federate again.
func (p *Partners) Remove(ctx context.Context, a Actor, host string) error {
	if !a.Admin {
		return errs.E(errs.Forbidden, "only administrators can change partners")
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return err
	}
	err = p.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var cur Partner
		if err := tx.NewSelect().Model(&cur).Where("host = ?", h).Scan(ctx); err != nil {
			return db.Err(err, h+" is not on the partner list")
		}
		if _, err := tx.NewDelete().Model((*Partner)(nil)).Where("host = ?", h).Exec(ctx); err != nil {
			return err
		}
		if p.mode != ModeOpen && cur.State == PartnerAllowed && p.Revoked != nil {
			if err := p.Revoked(ctx, tx, h); err != nil {
				return err
			}
		}
		return p.audit(ctx, tx, a, "partner.remove", h, "was "+cur.State, p.clock.Now())
	})
	p.invalidate()
	if err != nil {
		return fmt.Errorf("partners: remove %s: %w", h, err)
	}
	return nil
}

func (p *Partners) audit(ctx context.Context, tx bun.IDB, a Actor, action, host, detail string, at time.Time) error {
	name := a.Name
	if name == "" {
		name = "cli"
	}
	return audit.Record(ctx, tx, audit.Entry{ActorID: a.ID, ActorName: name, Action: action, Target: host,
		Detail: detail, IP: a.IP, CreatedAt: at})
}

// notSelf refuses the node's own host: it is not a partner of itself, and an entry for it
// would only confuse the federation checks.
func (p *Partners) notSelf(ctx context.Context, h string) error {
	if p.baseURL == nil {
		return nil
	}
	if self, err := NormalizeHost(config.Host(p.baseURL(ctx))); err == nil && self == h {
		return errs.Field("host", "%s is this node's own host, not a partner", h)
	}
	return nil
}

func checkNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if len([]rune(note)) > maxNote {
		return "", errs.Field("note", "keep the note under %d characters", maxNote)
	}
	for _, r := range note {
		if unicode.IsControl(r) {
			return "", errs.Field("note", "keep the note to one line of text")
		}
	}
	return note, nil
}

// NormalizeHost turns what an administrator typed or a peer's URL named into the policy's key:
// a lower-case ASCII host name (an internationalised name in its xn-- form). The policy names
// companies' hosts, and the port a peer serves on does not change who it is, so a port is
// checked and then dropped ("acme.test:8080" is "acme.test"), as is everything around the host
// in a pasted URL ("https://acme.test/about" is "acme.test"). IP addresses are accepted, for
// test networks, in url.URL.Hostname's form (IPv6 without brackets). Anything else is an
// errs.Invalid error about the field "host".
func NormalizeHost(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errs.Field("host", "enter a host name like partner.example")
	}
	bad := func() (string, error) {
		return "", errs.Field("host", "%q is not a host name like partner.example", clip(s))
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", errs.Field("host", "%q is not an http(s) address; give the host, like partner.example", clip(s))
		}
		if u.User != nil {
			return bad()
		}
		s = u.Host
	} else if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i] // "acme.test/about" pasted without its scheme
	}
	if strings.Contains(s, "@") {
		return "", errs.Field("host", "%q looks like an account address; give only the host after the @", clip(s))
	}
	name, port := s, ""
	switch {
	case strings.HasPrefix(s, "["): // [v6] or [v6]:port
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad()
		}
		name, port = s[1:end], s[end+1:]
		if port != "" {
			if port[0] != ':' {
				return bad()
			}
			port = port[1:]
		}
	case strings.Count(s, ":") == 1:
		h, pt, err := net.SplitHostPort(s)
		if err != nil {
			return bad()
		}
		name, port = h, pt
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", errs.Field("host", "%q has a port that is not a number from 1 to 65535", clip(s))
		}
	}
	name = strings.TrimSuffix(name, ".")
	var out string
	if ip, ok := parseIP(name); ok {
		if ip.Zone() != "" {
			return bad()
		}
		out = ip.Unmap().String()
	} else {
		if strings.Contains(name, ":") {
			return bad()
		}
		// Plain lower-casing: golang.org/x/net/idna would need golang.org/x/text in go.mod.
		// Until then an internationalised name must be given in its xn-- (punycode) form.
		for _, r := range name {
			if r > unicode.MaxASCII {
				return "", errs.Field("host", "%q is not ASCII; give the xn-- form of the name, as a browser's address bar shows it", clip(s))
			}
		}
		a := strings.ToLower(name)
		if !validHostName(a) {
			return bad()
		}
		out = a
	}
	return out, nil
}

// parseIP parses name as an IP address. Only names that could be one are tried: a failed
// parse allocates its error, and Allowed runs this on every request.
func parseIP(name string) (netip.Addr, bool) {
	if !strings.Contains(name, ":") && (name == "" || name[len(name)-1] < '0' || name[len(name)-1] > '9') {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(name)
	return ip, err == nil
}

// validHostName checks an ASCII host name: DNS lengths, letters, digits and inner hyphens,
// and at least two labels (or "localhost", for test networks), so a stray word is refused.
func validHostName(h string) bool {
	if h == "localhost" {
		return true
	}
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	// Walked by hand rather than with strings.Split: Allowed runs this on every request.
	for rest := h; ; {
		l, tail, more := strings.Cut(rest, ".")
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		if !more {
			return true
		}
		rest = tail
	}
}

// clip keeps an echoed input short, so one line of error stays one line.
func clip(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}
