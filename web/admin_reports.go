package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/reports"
)

const reportsPage = 50

type reportRow struct {
	Report   reports.Report
	Reporter *person
	Target   *person
	Posts    []string // links to the reported posts that still exist here
	Received bool     // filed on a partner node (a Flag), not by someone here
}

type reportsData struct {
	Rows  []reportRow
	Older string
}

// adminReports lists reports, newest first: filed here (and whether they were forwarded to the
// reported person's node) or received from partners.
func (s *site) adminReports(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, err := s.Reports.List(ctx, qv(c, "before"), reportsPage+1)
	if err != nil {
		return err
	}
	d := reportsData{}
	if len(list) > reportsPage {
		list = list[:reportsPage]
		d.Older = "/admin/reports?before=" + list[reportsPage-1].ID
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ReporterID, r.TargetID)
	}
	people, err := s.Accounts.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range list {
		row := reportRow{Report: r, Reporter: newPerson(people[r.ReporterID]), Target: newPerson(people[r.TargetID]),
			Received: r.ActivityURI != ""}
		for _, id := range r.PostIDs() {
			row.Posts = append(row.Posts, "/posts/"+id)
		}
		d.Rows = append(d.Rows, row)
	}
	return s.render(c, fiber.StatusOK, "admin_reports", &page{Title: "Reports", Nav: "admin", Data: d})
}
