package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

//go:embed templates
var templateFS embed.FS

// page is what every template gets: what the layout needs plus the page's own Data.
type page struct {
	Title    string
	Nav      string // the current navigation entry, for aria-current
	CSRF     string
	Me       *person // nil when nobody is signed in
	IsAdmin  bool
	Org      orgs.Org
	Flash    string
	Error    string // a form's failure, shown above the form
	ErrField string // the input at fault, marked aria-invalid
	CSS, JS  string
	Icon     string
	Unread   int  // unread notifications, for the bell's badge
	Groups   bool // the node has groups (the navigation links them)
	Data     any
}

// Invalid marks the input named field as the one at fault, for screen readers and styling.
func (p *page) Invalid(field string) template.HTMLAttr {
	if p.ErrField != "" && p.ErrField == field {
		return ` aria-invalid="true" aria-errormessage="form-error"`
	}
	return ""
}

// person is a user as pages show them: computed once per request so templates need no
// method calls or pointer juggling.
type person struct {
	ID, Username, Name, Initials string
	Color                        string // placeholder palette class, stable per username
	Avatar, Thumb                string // URLs; "" when the person has no picture
	Cover                        string // URL of the profile cover (1500×500); "" for none
	Title, Department, Location  string
	Skills                       []string
	Role, State                  string
	Email                        string
	// Link is the profile page here (people elsewhere have one too, with a link to theirs).
	Link string
	// Org labels people from partner nodes with whom they work for (or their host).
	Org string
}

func newPerson(u *accounts.User) *person {
	if u == nil {
		return nil
	}
	p := &person{ID: u.ID, Username: u.Username, Name: u.Name(), Initials: strings.ToUpper(u.Initials()),
		Color: colorClass(u.Username), Avatar: avatarURL(u, false), Thumb: avatarURL(u, true),
		Title: u.JobTitle, Department: u.Department, Location: u.Location, Skills: u.Skills,
		Role: u.Role, State: u.State, Email: u.Email, Link: "/people/" + u.Username}
	if u.HeaderKey != "" {
		p.Cover = "/media/" + u.HeaderKey // served by this node, as the CSP wants
	}
	if r := u.Remote; r != nil {
		// Remote pictures are not shown: the CSP keeps every image on this node, and remote
		// media is not cached here yet. Initials stand in.
		p.Username, p.Link, p.Org = u.Acct(), "/people/"+u.Acct(), r.OrgName
		if p.Org == "" {
			p.Org = r.Domain
		}
	}
	return p
}

func people(us []accounts.User) []*person {
	out := make([]*person, 0, len(us))
	for i := range us {
		out = append(out, newPerson(&us[i]))
	}
	return out
}

// colorClass picks one of eight placeholder colours from a hash of the username, so a
// person keeps the same colour everywhere without storing one.
func colorClass(username string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(username)))
	return fmt.Sprintf("av-c%d", h.Sum32()%8)
}

// avatarURL is the address of a person's picture, or "" when they have none. It takes a
// User or *User so templates can pass either.
func avatarURL(u any, thumb bool) string {
	var key string
	switch v := u.(type) {
	case *accounts.User:
		if v != nil {
			key = v.AvatarKey
		}
	case accounts.User:
		key = v.AvatarKey
	}
	if key == "" {
		return ""
	}
	if thumb {
		key = thumbKey(key)
	}
	return "/media/" + key
}

// thumbKey derives the thumbnail's key from the full picture's: same name, "-thumb" before
// the extension. Only the full key is stored on the user.
func thumbKey(full string) string { return media.AvatarThumbKey(full) }

// avatarView is the input of the "avatar" partial.
type avatarView struct {
	*person
	Size string // xs, sm, md, lg
	Src  string
	Px   int
}

func avatarOf(p *person, size string) avatarView {
	v := avatarView{person: p, Size: size, Src: p.Thumb}
	switch size {
	case "xs":
		v.Px = 32
	case "sm":
		v.Px = 40
	case "md":
		v.Px = 64
	default:
		v.Px, v.Src = 128, p.Avatar
	}
	return v
}

func (s *site) funcs() template.FuncMap {
	return template.FuncMap{
		"avatar":    avatarOf,
		"copybox":   func(id, label, value string) copyBox { return copyBox{ID: id, Label: label, Value: value} },
		"avatarURL": avatarURL,
		"date":      func(t time.Time) string { return t.Format("2 Jan 2006") },
		"datetime":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":       func(t time.Time) string { return ago(t, s.Accounts.Clock.Now()) },
		"join":      strings.Join,
		"tel":       telURL,
		"size":      fileSize,
		"plural":    plural,
		"reactions": posts.ReactionSet,
		"emojiName": emojiName,
	}
}

// telURL builds a tel: link. html/template refuses tel: URLs it cannot vet, and the phone
// number is checked by accounts to hold only digits, spaces and + - ( ) . / x; keeping only
// digits and a leading plus leaves nothing that could be a different scheme or markup.
func telURL(phone string) template.URL {
	var b strings.Builder
	for i, r := range phone {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return template.URL("tel:" + b.String())
}

// pageSet holds the parsed pages. Every page is parsed once at start, so a broken template
// stops the node from starting instead of failing a request later, but only the pages people
// actually open are kept: each page is its own copy of the layout and partials (so every page
// can define its own "content" block), and holding all of them costs an idle node several MB
// of the 40 MB P1 budget for pages that an API-only or quiet node never draws.
type pageSet struct {
	// base is the layout and partials alone, for HTML fragments. pristine is the same, never
	// executed: html/template refuses to Clone a template once it has run, and pages are
	// cloned lazily.
	base, pristine *template.Template
	files          map[string]string // page name -> template file

	mu     sync.Mutex
	parsed map[string]*template.Template
}

// get returns the page's template, parsing it on first use.
func (ps *pageSet) get(name string) (*template.Template, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if t, ok := ps.parsed[name]; ok {
		return t, nil
	}
	f, ok := ps.files[name]
	if !ok {
		return nil, fmt.Errorf("web: no template %q", name)
	}
	t, err := ps.parse(f)
	if err != nil {
		return nil, err
	}
	ps.parsed[name] = t
	return t, nil
}

func (ps *pageSet) parse(file string) (*template.Template, error) {
	t, err := ps.pristine.Clone()
	if err == nil {
		t, err = t.ParseFS(templateFS, file)
	}
	if err != nil {
		return nil, fmt.Errorf("web: parse %s: %w", file, err)
	}
	return t, nil
}

// parseTemplates parses the layout, the partials and every page, keeping the parsed pages
// only for the error page (which must render even when little else works).
func (s *site) parseTemplates() (*pageSet, error) {
	base, err := template.New("base").Funcs(s.funcs()).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	fragments, err := base.Clone()
	if err != nil {
		return nil, fmt.Errorf("web: copy layout: %w", err)
	}
	ps := &pageSet{base: fragments, pristine: base, files: make(map[string]string, len(files)), parsed: map[string]*template.Template{}}
	for _, f := range files {
		if _, err := ps.parse(f); err != nil {
			return nil, err
		}
		ps.files[strings.TrimSuffix(path.Base(f), ".html")] = f
	}
	if _, err := ps.get("error"); err != nil {
		return nil, fmt.Errorf("web: templates/pages/error.html is missing")
	}
	// The partials must escape cleanly on their own: fail at start, not on a request.
	for _, name := range []string{"post-card", "cards", "follow-box", "form-alert", "edit-form"} {
		if base.Lookup(name) == nil {
			return nil, fmt.Errorf("web: partial %q is missing", name)
		}
	}
	return ps, nil
}

// fragment draws one partial template, without the layout, for the page's script to put in
// place (a re-rendered post card, the next page of a feed, a form's error).
func (s *site) fragment(c *fiber.Ctx, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages.base.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render fragment %s: %w", name, err)
	}
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// render draws a page inside the layout. The page is executed into a buffer first, so a
// template error becomes a clean error page rather than half a page.
func (s *site) render(c *fiber.Ctx, status int, name string, p *page) error {
	pt, err := s.pages.get(name)
	if err != nil {
		return err
	}
	org, err := s.Orgs.Get(c.UserContext())
	if err != nil {
		return err
	}
	s.fill(c, p, org)
	p.Flash = s.takeFlash(c)
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	// Pages carry the CSRF token and personal data: never keep them in shared caches.
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

func (s *site) fill(c *fiber.Ctx, p *page, org orgs.Org) {
	u := server.CurrentUser(c)
	p.Me, p.IsAdmin, p.Org, p.CSRF = newPerson(u), u.IsAdmin(), org, server.CSRFToken(c)
	p.CSS, p.JS, p.Icon = s.assets["app.css"].url, s.assets["app.js"].url, s.assets["favicon.svg"].url
	p.Groups = s.Groups != nil
	if u != nil {
		// The badge is a nicety: a failure to count must not take the page down with it.
		if n, err := s.Notify.Unread(c.UserContext(), u.ID); err == nil {
			p.Unread = n
		}
	}
	if p.Org.Name == "" {
		p.Org.Name = "Atrium"
	}
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// renderError is the server's error page for browsers. It must not fail on the errors it
// reports (a database outage included), so it falls back to plain text as a last resort.
func (s *site) renderError(c *fiber.Ctx, status int, msg string) error {
	org, err := s.Orgs.Get(c.UserContext())
	if err != nil {
		org = orgs.Org{}
	}
	p := &page{Title: headingFor(status), Data: errorData{Status: status, Heading: headingFor(status), Message: sentence(msg)}}
	s.fill(c, p, org)
	var buf bytes.Buffer
	pt, err := s.pages.get("error")
	if err == nil {
		err = pt.ExecuteTemplate(&buf, "layout", p)
	}
	if err != nil {
		s.Log.Error("error page failed", "err", err)
		return c.Status(status).SendString(msg)
	}
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

func headingFor(status int) string {
	switch status {
	case 404:
		return "Page not found"
	case 403:
		return "Not allowed"
	case 401:
		return "Please sign in"
	case 413:
		return "Too large"
	case 429:
		return "Slow down"
	case 422, 409, 400:
		return "That did not work"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return "Error"
}

// sentence capitalises a service message, which is written to fit after "error: ".
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// formError re-renders a form page with the service's message for people; the handler has
// put what they typed in p.Data, so nothing is lost. Internal errors go to the error page and
// the log instead, where their details belong.
func (s *site) formError(c *fiber.Ctx, err error, name string, p *page) error {
	k := errs.KindOf(err)
	if k == errs.Internal {
		return err
	}
	if k == errs.TooMany {
		c.Set("Retry-After", "60")
	}
	p.Error, p.ErrField = describe(err)
	return s.render(c, k.Status(), name, p)
}

// describe turns a classified error into a sentence naming the field in words people use.
func describe(err error) (msg, field string) {
	var e *errs.Error
	if !errors.As(err, &e) {
		return errs.Message(err), ""
	}
	if e.Field == "" {
		return sentence(e.Msg), ""
	}
	return fieldLabel(e.Field) + ": " + e.Msg, e.Field
}

func fieldLabel(f string) string {
	switch f {
	case "org_name":
		return "Organisation name"
	case "url":
		return "Public URL"
	case "allowed_domains":
		return "Allowed e-mail domains"
	case "email":
		return "E-mail"
	case "password", "new_password":
		return "Password"
	case "password_confirm", "new_password_confirm":
		return "Password confirmation"
	case "current_password":
		return "Current password"
	case "display_name":
		return "Display name"
	case "job_title":
		return "Job title"
	case "time_zone":
		return "Time zone"
	case "open_to_moves_note":
		return "Note on internal moves"
	case "status":
		return "Post"
	case "visibility":
		return "Audience"
	case "recipients":
		return "People"
	case "media_ids", "files":
		return "Attachments"
	case "important_until":
		return "End date"
	case "emoji":
		return "Reaction"
	}
	return sentence(strings.ReplaceAll(f, "_", " "))
}

// flashCookie carries a code, never text: the page maps it to a fixed message, so nothing a
// link or another site puts in the cookie or URL is ever echoed into the page.
const flashCookie = "atrium_flash"

func flashText(code string) string {
	switch code {
	case "setup_done":
		return "Your node is ready. Invite your colleagues."
	case "signed_out":
		return "You are signed out."
	case "welcome":
		return "Welcome! Tell your colleagues who you are: add a picture, your title and your skills."
	case "password_reset":
		return "Your password was changed. Sign in with the new one."
	case "password_changed":
		return "Your password was changed. Your other sessions were signed out."
	case "profile_saved":
		return "Profile saved."
	case "avatar_saved":
		return "Picture updated."
	case "header_saved":
		return "Cover picture updated."
	case "header_removed":
		return "Cover picture removed."
	case "token_revoked":
		return "Token revoked. Apps using it can no longer sign in."
	case "user_created":
		return "Account created."
	case "role_changed":
		return "Role changed."
	case "user_deactivated":
		return "Account deactivated. Their sessions and tokens stopped working."
	case "user_reactivated":
		return "Account reactivated."
	case "invitation_revoked":
		return "Invitation revoked."
	case "settings_saved":
		return "Organisation settings saved."
	case "partner_added":
		return "Partner added. Its administrators can read what this node sends to it."
	case "partner_blocked":
		return "Host blocked. Its requests are refused and nothing more is sent to it."
	case "partner_removed":
		return "Host removed from the partner list."
	case "posted":
		return "Posted."
	case "post_deleted":
		return "Post deleted."
	case "post_edited":
		return "Post updated."
	case "app_revoked":
		return "App signed out. It can no longer act for you; signing in again would ask you once more."
	}
	return groupFlashText(code)
}

func (s *site) setFlash(c *fiber.Ctx, code string) {
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: code, Path: "/", HTTPOnly: true, Secure: s.Server.Secure(),
		SameSite: fiber.CookieSameSiteLaxMode, MaxAge: 60})
}

func (s *site) takeFlash(c *fiber.Ctx) string {
	code := c.Cookies(flashCookie)
	if code == "" {
		return ""
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", HTTPOnly: true, Secure: s.Server.Secure(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(1, 0), MaxAge: -1})
	return flashText(code)
}

// redirect sends the browser on after a successful post (303, so a reload does not resend
// the form), with a flash message code.
func (s *site) redirect(c *fiber.Ctx, to, flash string) error {
	if flash != "" {
		s.setFlash(c, flash)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// fv, qv and pv read a form value, query value or route parameter as a copy. Fiber's strings
// point into buffers reused by the next request; services may keep what they are given
// (rate limiter keys, caches), so nothing borrowed may reach them.
func fv(c *fiber.Ctx, k string) string { return strings.Clone(c.FormValue(k)) }
func qv(c *fiber.Ctx, k string) string { return strings.Clone(c.Query(k)) }
func pv(c *fiber.Ctx, k string) string { return strings.Clone(c.Params(k)) }

// safeNext accepts only a path on this site: "/x" but not "//host" or "/\host", which
// browsers treat as another site.
func safeNext(v string) string {
	if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") ||
		strings.ContainsAny(v, "\\\r\n\t") {
		return ""
	}
	return v
}

func orHome(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// setupDone reports whether first-run setup happened; most pages send people to /setup
// until it has.
func (s *site) setupDone(c *fiber.Ctx) (bool, error) {
	org, err := s.Orgs.Get(c.UserContext())
	return org.SetupDone, err
}

// copyBox is a secret shown once with a Copy button (invitation links, new tokens).
type copyBox struct{ ID, Label, Value string }
