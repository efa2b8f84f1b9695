package web

import (
	"context"
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/server"
)

// directoryPage is how many people one directory page shows.
const directoryPage = 24

type directoryData struct {
	Q, Department, Skill string
	Departments          []string
	People               []*person
	Next                 string // URL of the next page, "" on the last
	Filtered             bool
	// Remote is a person on a partner node found by user@host; RemoteError says why not.
	Remote      *person
	RemoteError string
}

func (s *site) directory(c *fiber.Ctx) error {
	q := accounts.DirectoryQuery{Q: strings.TrimSpace(qv(c, "q")), Department: strings.TrimSpace(qv(c, "department")),
		Skill: strings.TrimSpace(qv(c, "skill")), After: strings.ToLower(qv(c, "after")), Limit: directoryPage + 1}
	list, err := s.Accounts.Directory(c.UserContext(), q)
	if err != nil {
		return err
	}
	depts, err := s.Accounts.Departments(c.UserContext())
	if err != nil {
		return err
	}
	d := directoryData{Q: q.Q, Department: q.Department, Skill: q.Skill, Departments: depts,
		Filtered: q.Q != "" || q.Department != "" || q.Skill != ""}
	// One extra row tells whether a next page exists without counting the whole directory.
	if len(list) > directoryPage {
		list = list[:directoryPage]
		v := url.Values{}
		for k, val := range map[string]string{"q": q.Q, "department": q.Department, "skill": q.Skill} {
			if val != "" {
				v.Set(k, val)
			}
		}
		v.Set("after", list[len(list)-1].UsernameLower)
		d.Next = "/people?" + v.Encode()
	}
	d.People = people(list)
	if acct := strings.TrimPrefix(q.Q, "@"); strings.Count(acct, "@") == 1 && !strings.ContainsAny(acct, " /") && s.ResolveAccount != nil {
		// @bob@globex.example: ask their node (through the partner policy).
		if u, err := s.ResolveAccount(c.UserContext(), acct); err == nil {
			d.Remote = newPerson(u)
		} else {
			d.RemoteError = errs.Message(err)
		}
	}
	return s.render(c, fiber.StatusOK, "people", &page{Title: "People", Nav: "people", Data: d})
}

type profileData struct {
	P           *person
	Pronouns    string
	Phone       string
	Bio         string
	TimeZone    string
	LocalTime   string
	OpenToMoves bool
	MovesNote   string
	Manager     *person
	Reports     []*person
	Deactivated bool
	IsMe        bool
	EditURL     string // "" when the viewer may not edit
	ChatURL     string // starts a chat with them; "" for oneself, the deactivated, or no chat
	Follow      followView
	Feed        feedView
	// People from partner nodes: their home page there, and what their node says of them.
	Home    string
	BioHTML template.HTML
	Fields  []remoteField
}

type remoteField struct {
	Name  string
	Value template.HTML
}

// visiblePerson finds a person by username as the viewer may see them: deactivated people
// exist only for admins; members get the same 404 as for a name nobody has.
func (s *site) visiblePerson(c *fiber.Ctx) (*accounts.User, error) {
	name := pv(c, "username")
	u, err := s.personByName(c.UserContext(), name)
	if err != nil {
		return nil, err
	}
	if !u.Active() && !server.CurrentUser(c).IsAdmin() {
		return nil, errs.E(errs.NotFound, "no person with the username %s", name)
	}
	return u, nil
}

// personByName finds a colleague by username, or a person on a partner node this node knows
// by user@host.
func (s *site) personByName(ctx context.Context, name string) (*accounts.User, error) {
	if strings.Contains(name, "@") {
		return s.Accounts.RemoteByAcct(ctx, name)
	}
	return s.Accounts.ByUsername(ctx, name)
}

func (s *site) profile(c *fiber.Ctx) error {
	u, err := s.visiblePerson(c)
	if err != nil {
		return err
	}
	me := server.CurrentUser(c)
	d := profileData{P: newPerson(u), Pronouns: u.Pronouns, Phone: u.Phone, Bio: u.Bio, TimeZone: u.TimeZone,
		OpenToMoves: u.OpenToMoves, MovesNote: u.OpenToMovesNote, Deactivated: !u.Active(), IsMe: me.ID == u.ID}
	if s.Chat != nil && me.ID != u.ID && u.Active() {
		d.ChatURL = "/chat/new?to=" + url.QueryEscape(d.P.Username) // user@host for partners' people
	}
	if r := u.Remote; r != nil {
		d.Home, d.BioHTML = r.URL, template.HTML(r.SummaryHTML) // sanitised when it arrived
		if d.Home == "" {
			d.Home = r.URI
		}
		for _, f := range r.Fields {
			d.Fields = append(d.Fields, remoteField{Name: f.Name, Value: template.HTML(f.Value)})
		}
	}
	if u.TimeZone != "" {
		if loc, err := time.LoadLocation(u.TimeZone); err == nil {
			d.LocalTime = s.Accounts.Clock.Now().In(loc).Format("15:04 (Mon)")
		}
	}
	if u.ManagerID != nil {
		if m, err := s.Accounts.Get(c.UserContext(), *u.ManagerID); err == nil && (m.Active() || me.IsAdmin()) {
			d.Manager = newPerson(m)
		}
	}
	if u.Remote == nil { // the org chart is this company's
		chart, err := s.Accounts.Chart(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		d.Reports = people(chart.Reports)
	}
	switch {
	case d.IsMe:
		d.EditURL = "/settings/profile"
	case me.IsAdmin():
		d.EditURL = "/settings/profile?user=" + url.QueryEscape(u.Username)
	}
	if d.Follow, err = s.followView(c, u); err != nil {
		return err
	}
	if d.Feed, err = s.timeline(c, timelineQuery{Feed: "profile", Arg: u.Acct(), MaxID: qv(c, "max_id")}); err != nil {
		return err
	}
	d.Feed.Empty = u.Name() + " has not posted anything you can see yet."
	return s.render(c, fiber.StatusOK, "profile", &page{Title: u.Name(), Nav: "people", Data: d})
}

type orgchartData struct {
	Roots []*person
	Me    *person
}

func (s *site) orgchart(c *fiber.Ctx) error {
	roots, err := s.Accounts.TopOfOrg(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "orgchart", &page{Title: "Org chart", Nav: "orgchart",
		Data: orgchartData{Roots: people(roots), Me: newPerson(server.CurrentUser(c))}})
}

type chartData struct {
	Chain   []*person // from the top of the organisation down to the person's manager
	Person  *person
	Reports []*person
	Peers   int
}

func (s *site) chart(c *fiber.Ctx) error {
	u, err := s.visiblePerson(c)
	if err != nil {
		return err
	}
	oc, err := s.Accounts.Chart(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	chain := people(oc.Chain)
	slices.Reverse(chain) // Chart lists nearest manager first; the page reads top down
	return s.render(c, fiber.StatusOK, "chart", &page{Title: "Org chart: " + u.Name(), Nav: "orgchart",
		Data: chartData{Chain: chain, Person: newPerson(oc.Person), Reports: people(oc.Reports), Peers: oc.Peers}})
}
