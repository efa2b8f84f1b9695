package accounts

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
)

// Profile is the editable part of a work profile.
type Profile struct {
	DisplayName     string
	JobTitle        string
	Department      string
	Location        string
	Phone           string
	ManagerUsername string // "" clears the manager
	Skills          []string
	Bio             string
	Pronouns        string
	TimeZone        string
	OpenToMoves     bool
	OpenToMovesNote string
}

// ProfileOf returns the editable profile of u.
func (s *Service) ProfileOf(ctx context.Context, u *User) Profile {
	p := Profile{DisplayName: u.DisplayName, JobTitle: u.JobTitle, Department: u.Department, Location: u.Location,
		Phone: u.Phone, Skills: u.Skills, Bio: u.Bio, Pronouns: u.Pronouns, TimeZone: u.TimeZone,
		OpenToMoves: u.OpenToMoves, OpenToMovesNote: u.OpenToMovesNote}
	if u.ManagerID != nil {
		if m, err := s.Get(ctx, *u.ManagerID); err == nil {
			p.ManagerUsername = m.Username
		}
	}
	return p
}

func checkText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > max {
		return "", errs.Field(field, "use at most %d characters", max)
	}
	if strings.ContainsRune(v, 0) {
		return "", errs.Field(field, "contains a NUL character")
	}
	return v, nil
}

// UpdateProfile changes a work profile. People edit their own; admins anyone's. The manager
// must be an existing person, not the person themselves, and must not create a cycle.
func (s *Service) UpdateProfile(ctx context.Context, a Actor, userID string, p Profile) (*User, error) {
	defer s.forgetUser(userID) // timelines show the change at once
	if !a.isAdmin() && (a.User == nil || a.User.ID != userID) {
		return nil, errs.E(errs.Forbidden, "you can only edit your own profile")
	}
	var err error
	fields := []struct {
		name string
		v    *string
		max  int
	}{
		{"display_name", &p.DisplayName, 100}, {"job_title", &p.JobTitle, 100}, {"department", &p.Department, 100},
		{"location", &p.Location, 100}, {"phone", &p.Phone, 40}, {"bio", &p.Bio, 2000}, {"pronouns", &p.Pronouns, 40},
		{"time_zone", &p.TimeZone, 64}, {"open_to_moves_note", &p.OpenToMovesNote, 500},
	}
	for _, f := range fields {
		if *f.v, err = checkText(f.name, *f.v, f.max); err != nil {
			return nil, err
		}
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			return nil, errs.Field("time_zone", "%q is not a time zone like Europe/Berlin", p.TimeZone)
		}
	}
	for _, r := range p.Phone {
		if !strings.ContainsRune("0123456789+-() ./x", r) {
			return nil, errs.Field("phone", "use digits, spaces and + - ( ) only")
		}
	}
	skills, err := cleanSkills(p.Skills)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u = new(User)
		if err := tx.NewSelect().Model(u).Where("id = ?", userID).Scan(ctx); err != nil {
			return db.Err(err, "no such person")
		}
		var managerID *string
		if m := strings.TrimPrefix(strings.TrimSpace(p.ManagerUsername), "@"); m != "" {
			mgr := new(User)
			if err := tx.NewSelect().Model(mgr).Where("username_lower = ?", strings.ToLower(m)).Scan(ctx); err != nil {
				if db.IsNotFound(err) {
					return errs.Field("manager", "nobody here has the username %q", m)
				}
				return err
			}
			if mgr.ID == userID {
				return errs.Field("manager", "a person cannot be their own manager")
			}
			if err := checkNoCycle(ctx, tx, userID, mgr.ID); err != nil {
				return err
			}
			managerID = &mgr.ID
		}
		u.DisplayName, u.JobTitle, u.Department, u.Location, u.Phone = p.DisplayName, p.JobTitle, p.Department, p.Location, p.Phone
		u.Bio, u.Pronouns, u.TimeZone, u.OpenToMoves, u.OpenToMovesNote = p.Bio, p.Pronouns, p.TimeZone, p.OpenToMoves, p.OpenToMovesNote
		u.ManagerID, u.Skills, u.UpdatedAt = managerID, skills, s.Clock.Now()
		u.SearchText = searchText(u)
		if _, err := tx.NewUpdate().Model(u).WherePK().ExcludeColumn("password_hash", "role", "state", "created_at", "deactivated_at", "avatar_key", "header_key").Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*skill)(nil)).Where("user_id = ?", u.ID).Exec(ctx); err != nil {
			return err
		}
		for _, sk := range skills {
			if _, err := tx.NewInsert().Model(&skill{UserID: u.ID, Skill: sk, SkillLower: strings.ToLower(sk)}).Exec(ctx); err != nil {
				return err
			}
		}
		if err := s.changed(ctx, tx, u, false); err != nil {
			return err
		}
		if a.User == nil || a.User.ID != userID {
			return s.audit(ctx, tx, a, "user.edit_profile", u.Username, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// checkNoCycle walks up from the proposed manager; meeting the person means a loop.
func checkNoCycle(ctx context.Context, tx bun.IDB, userID, managerID string) error {
	cur := managerID
	for depth := 0; depth < 1000 && cur != ""; depth++ {
		if cur == userID {
			return errs.Field("manager", "that would make a loop in the reporting chain")
		}
		var next *string
		if err := tx.NewSelect().Table("users").Column("manager_id").Where("id = ?", cur).Scan(ctx, &next); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		cur = *next
	}
	return nil
}

func cleanSkills(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" || seen[strings.ToLower(part)] {
				continue
			}
			if utf8.RuneCountInString(part) > 50 {
				return nil, errs.Field("skills", "keep each skill under 50 characters")
			}
			seen[strings.ToLower(part)] = true
			out = append(out, part)
		}
	}
	if len(out) > 50 {
		return nil, errs.Field("skills", "list at most 50 skills")
	}
	return out, nil
}

// searchText is what the directory's free-text search matches against.
func searchText(u *User) string {
	return strings.ToLower(strings.Join(append([]string{u.Username, u.DisplayName, u.JobTitle, u.Department, u.Location}, u.Skills...), " \u0001 "))
}

// SetAvatar stores a new avatar key for a person (the image was processed by the caller
// through the media package). People change their own; admins anyone's.
func (s *Service) SetAvatar(ctx context.Context, a Actor, userID, key string) (old string, err error) {
	defer s.forgetUser(userID) // timelines show the change at once
	if !a.isAdmin() && (a.User == nil || a.User.ID != userID) {
		return "", errs.E(errs.Forbidden, "you can only change your own picture")
	}
	u := new(User)
	if err := s.DB.NewSelect().Model(u).Where("id = ?", userID).Scan(ctx); err != nil {
		return "", db.Err(err, "no such person")
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(u).Set("avatar_key = ?", key).Set("updated_at = ?", s.Clock.Now()).WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.changed(ctx, tx, u, false)
	})
	return u.AvatarKey, err
}
