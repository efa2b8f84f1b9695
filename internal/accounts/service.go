package accounts

import (
	"context"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/audit"
	"github.com/atrium-social/atrium/internal/cache"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	amail "github.com/atrium-social/atrium/internal/mail"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/ratelimit"
)

// Lifetimes of the secrets this package hands out.
const (
	SessionTTL    = 30 * 24 * time.Hour
	InvitationTTL = 14 * 24 * time.Hour
	ResetTTL      = time.Hour
)

// Deps are what the service needs from the node.
type Deps struct {
	DB     *db.DB
	Orgs   *orgs.Service
	Clock  clock.Clock
	Log    *slog.Logger
	Mail   amail.Sender
	Hasher *Hasher
	// BaseURL returns the node's public URL, for links in e-mails.
	BaseURL func(ctx context.Context) string
	// Changed, when set, is told inside the transaction that a person's public profile
	// changed or (gone=true) that they were deactivated: federation tells their followers.
	Changed func(ctx context.Context, tx bun.IDB, userID string, gone bool) error
	// Created, when set, is told inside the transaction that an account was made (federation
	// queues the person's key pair, so it exists before anyone asks for it).
	Created func(ctx context.Context, tx bun.IDB, userID string) error
}

func (s *Service) changed(ctx context.Context, tx bun.IDB, u *User, gone bool) error {
	if s.Changed == nil {
		return nil
	}
	return s.Changed(ctx, tx, u.ID, gone)
}

// Service is the accounts service.
type Service struct {
	Deps
	people      *peopleCache
	tokens      *cache.TTL[tokenOwner] // by token hash
	loginByName *ratelimit.Limiter
	loginByIP   *ratelimit.Limiter
	resetByIP   *ratelimit.Limiter
	// Returned, when set, is called when someone inactive for ActiveWindow uses the node
	// again (signs in, or a session or token is used), after that use was recorded; the
	// node rebuilds their home feed with it.
	Returned func(ctx context.Context, userID string) error
}

// New makes the service. Login limits: 10 failures per name and 30 per address in 15 minutes.
func New(d Deps) *Service {
	return &Service{
		Deps:        d,
		people:      newPeopleCache(),
		tokens:      cache.New[tokenOwner](tokenCacheTTL, tokenCacheMax),
		loginByName: ratelimit.New(d.Clock, 10, 15*time.Minute),
		loginByIP:   ratelimit.New(d.Clock, 30, 15*time.Minute),
		resetByIP:   ratelimit.New(d.Clock, 5, 15*time.Minute),
	}
}

// Actor is who performs an action: a signed-in user, or the command line (User nil, CLI true).
type Actor struct {
	User *User
	CLI  bool
	IP   string
}

// CLIActor is the actor for `atrium admin ...` commands: the person with shell access to the
// node is trusted as an administrator.
func CLIActor() Actor { return Actor{CLI: true} }

// UserActor wraps a signed-in user.
func UserActor(u *User, ip string) Actor { return Actor{User: u, IP: ip} }

func (a Actor) isAdmin() bool { return a.CLI || a.User.IsAdmin() }

func (a Actor) id() string {
	if a.User != nil {
		return a.User.ID
	}
	return ""
}

func (a Actor) name() string {
	if a.User != nil {
		return a.User.Username
	}
	return "cli"
}

func (s *Service) audit(ctx context.Context, tx bun.IDB, a Actor, action, target, detail string) error {
	return audit.Record(ctx, tx, audit.Entry{ActorID: a.id(), ActorName: a.name(), Action: action,
		Target: target, Detail: detail, IP: a.IP, CreatedAt: s.Clock.Now()})
}

func (s *Service) requireAdmin(a Actor) error {
	if !a.isAdmin() {
		return errs.E(errs.Forbidden, "only administrators can do this")
	}
	return nil
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9_]{1,30}$`)

// reservedNames may not be taken by people: they name node-level actors and routes.
var reservedNames = map[string]bool{"admin": false, "actor": true, "instance": true, "atrium": true,
	"root": true, "system": true, "relay": true, "inbox": true, "groups": true, "api": true}

func checkUsername(u string) error {
	if !usernameRE.MatchString(u) {
		return errs.Field("username", "use 1 to 30 letters, digits or underscores")
	}
	if reservedNames[strings.ToLower(u)] {
		return errs.Field("username", "%q is reserved; choose another", u)
	}
	return nil
}

func checkEmail(e string) (string, error) {
	e = strings.TrimSpace(e)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@'):], ".") || len(e) > 254 {
		return "", errs.Field("email", "%q is not an e-mail address like name@example.com", e)
	}
	return e, nil
}

func emailDomain(e string) string { return strings.ToLower(e[strings.LastIndexByte(e, '@')+1:]) }

// Get returns a user by id.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	u := new(User)
	if err := s.DB.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such person")
	}
	return u, s.loadSkills(ctx, u)
}

// bare loads a user without skills: authentication runs on every request and needs only
// the account row (Skills stays nil).
func (s *Service) bare(ctx context.Context, id string) (*User, error) {
	u := new(User)
	if err := s.DB.NewSelect().Model(u).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, db.Err(err, "no such person")
	}
	return u, nil
}

// ByUsername returns a user by username, case-insensitively.
func (s *Service) ByUsername(ctx context.Context, name string) (*User, error) {
	u := new(User)
	if err := s.DB.NewSelect().Model(u).Where("username_lower = ?", strings.ToLower(name)).Scan(ctx); err != nil {
		return nil, db.Err(err, "no person with the username "+name)
	}
	return u, s.loadSkills(ctx, u)
}

func (s *Service) loadSkills(ctx context.Context, u *User) error {
	var rows []skill
	if err := s.DB.NewSelect().Model(&rows).Where("user_id = ?", u.ID).Order("skill_lower").Scan(ctx); err != nil {
		return err
	}
	u.Skills = u.Skills[:0]
	for _, r := range rows {
		u.Skills = append(u.Skills, r.Skill)
	}
	return nil
}

// Count returns the number of active users.
func (s *Service) Count(ctx context.Context) (int, error) {
	n, err := s.DB.NewSelect().Model((*User)(nil)).Where("state = ?", StateActive).Count(ctx)
	return int(n), err
}

func newID(c clock.Clock) string { return ids.New(c.Now()) }

// GetMany loads people by id in one query; unknown ids are skipped.
func (s *Service) GetMany(ctx context.Context, idList []string) (map[string]*User, error) {
	out := map[string]*User{}
	now := s.Clock.Now()
	var missing []string
	for _, id := range idList {
		if _, done := out[id]; done {
			continue
		}
		if u, ok := s.people.get(id, now); ok {
			out[id] = u
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	var list []User
	if err := s.DB.NewSelect().Model(&list).Where("id IN (?)", bun.In(missing)).Scan(ctx); err != nil {
		return nil, err
	}
	if err := s.loadSkillsMany(ctx, list); err != nil {
		return nil, err
	}
	for i := range list {
		out[list[i].ID] = &list[i]
		s.people.put(&list[i], now)
	}
	if len(list) < len(missing) { // the rest may be people on other nodes
		var rest []string
		for _, id := range missing {
			if _, ok := out[id]; !ok {
				rest = append(rest, id)
			}
		}
		remote, err := s.remoteMany(ctx, rest)
		if err != nil {
			return nil, err
		}
		for _, u := range remote {
			out[u.ID] = u
			s.people.put(u, now)
		}
	}
	return out, nil
}
