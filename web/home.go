package web

import (
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
)

// completeness says how much of a work profile is filled in and what is missing, in the
// words the home page uses ("Add ...").
func completeness(u *accounts.User) (int, []string) {
	checks := []struct {
		ok   bool
		what string
	}{
		{u.AvatarKey != "", "a picture"}, {u.DisplayName != "", "your full name"}, {u.JobTitle != "", "your job title"},
		{u.Department != "", "your department"}, {u.Location != "", "your location"}, {u.ManagerID != nil, "your manager"},
		{len(u.Skills) > 0, "your skills"}, {u.Bio != "", "a short bio"}, {u.TimeZone != "", "your time zone"},
	}
	var missing []string
	for _, ch := range checks {
		if !ch.ok {
			missing = append(missing, ch.what)
		}
	}
	return (len(checks) - len(missing)) * 100 / len(checks), missing
}

// newcomers are the most recently joined colleagues. The directory lists by username, so
// this takes its first page and sorts by join date: exact for nodes of up to 100 people,
// an approximation beyond (accounts has no newest-first listing yet).
func (s *site) newcomers(c *fiber.Ctx, except string, n int) ([]*person, error) {
	list, err := s.Accounts.Directory(c.UserContext(), accounts.DirectoryQuery{Limit: 100})
	if err != nil {
		return nil, err
	}
	list = slices.DeleteFunc(list, func(u accounts.User) bool { return u.ID == except })
	slices.SortStableFunc(list, func(a, b accounts.User) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(list) > n {
		list = list[:n]
	}
	return people(list), nil
}
