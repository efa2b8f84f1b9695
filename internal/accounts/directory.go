package accounts

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
)

// DirectoryQuery filters the people directory.
type DirectoryQuery struct {
	Q          string // free text over name, username, title, department, location, skills
	Department string
	Skill      string
	After      string // username_lower of the last person on the previous page
	Limit      int
}

// Directory lists active people matching q, by username, a page at a time.
func (s *Service) Directory(ctx context.Context, q DirectoryQuery) ([]User, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 30
	}
	var out []User
	sel := s.DB.NewSelect().Model(&out).Where("?TableAlias.state = ?", StateActive).OrderExpr("?TableAlias.username_lower").Limit(int64(q.Limit))
	for _, word := range strings.Fields(strings.ToLower(q.Q)) {
		sel = sel.Where("?TableAlias.search_text LIKE ? ESCAPE '\\'", "%"+db.LikeEscape(word)+"%")
	}
	if d := strings.TrimSpace(q.Department); d != "" {
		sel = sel.Where("LOWER(?TableAlias.department) = ?", strings.ToLower(d))
	}
	if sk := strings.TrimSpace(q.Skill); sk != "" {
		sel = sel.Where("EXISTS (SELECT 1 FROM user_skills s WHERE s.user_id = ?TableAlias.id AND s.skill_lower = ?)", strings.ToLower(sk))
	}
	if q.After != "" {
		sel = sel.Where("?TableAlias.username_lower > ?", q.After)
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, err
	}
	return out, s.loadSkillsMany(ctx, out)
}

func (s *Service) loadSkillsMany(ctx context.Context, users []User) error {
	if len(users) == 0 {
		return nil
	}
	idx := map[string]*User{}
	idList := make([]string, 0, len(users))
	for i := range users {
		idx[users[i].ID] = &users[i]
		idList = append(idList, users[i].ID)
	}
	var rows []skill
	if err := s.DB.NewSelect().Model(&rows).Where("user_id IN (?)", bun.In(idList)).Order("skill_lower").Scan(ctx); err != nil {
		return err
	}
	for _, r := range rows {
		idx[r.UserID].Skills = append(idx[r.UserID].Skills, r.Skill)
	}
	return nil
}

// Departments lists the distinct departments of active people, for the directory filter.
func (s *Service) Departments(ctx context.Context) ([]string, error) {
	var out []string
	err := s.DB.NewSelect().Table("users").ColumnExpr("DISTINCT department").
		Where("state = ? AND department <> ''", StateActive).OrderExpr("department").Scan(ctx, &out)
	return out, err
}

// OrgChart is a person's place in the organisation.
type OrgChart struct {
	Person  *User
	Chain   []User // managers, nearest first
	Reports []User // direct reports
	Peers   int    // how many others share the manager
}

// Chart returns the manager chain up and the direct reports down for a person.
func (s *Service) Chart(ctx context.Context, userID string) (*OrgChart, error) {
	p, err := s.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	oc := &OrgChart{Person: p}
	seen := map[string]bool{p.ID: true}
	cur := p.ManagerID
	for cur != nil && !seen[*cur] && len(oc.Chain) < 50 {
		m, err := s.Get(ctx, *cur)
		if err != nil {
			break
		}
		seen[m.ID] = true
		oc.Chain = append(oc.Chain, *m)
		cur = m.ManagerID
	}
	if err := s.DB.NewSelect().Model(&oc.Reports).Where("manager_id = ? AND state = ?", p.ID, StateActive).
		Order("username_lower").Limit(500).Scan(ctx); err != nil {
		return nil, err
	}
	if p.ManagerID != nil {
		n, err := s.DB.NewSelect().Model((*User)(nil)).Where("manager_id = ? AND id <> ? AND state = ?", *p.ManagerID, p.ID, StateActive).Count(ctx)
		if err != nil {
			return nil, err
		}
		oc.Peers = int(n)
	}
	return oc, nil
}

// TopOfOrg lists active people with no manager who manage someone: the roots of org charts.
func (s *Service) TopOfOrg(ctx context.Context) ([]User, error) {
	var out []User
	err := s.DB.NewSelect().Model(&out).
		Where("?TableAlias.state = ? AND ?TableAlias.manager_id IS NULL", StateActive).
		Where("EXISTS (SELECT 1 FROM users r WHERE r.manager_id = ?TableAlias.id)").
		OrderExpr("?TableAlias.username_lower").Limit(100).Scan(ctx)
	return out, err
}
