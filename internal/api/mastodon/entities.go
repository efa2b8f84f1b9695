package mastodon

import (
	"html"
	"strings"
	"time"

	"github.com/atrium-social/atrium/internal/accounts"
)

// Field is a profile field (name/value pairs shown on Mastodon profiles).
type Field struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// Source is the editable source of the signed-in account (verify_credentials only).
type Source struct {
	Privacy             string  `json:"privacy"`
	Sensitive           bool    `json:"sensitive"`
	Language            string  `json:"language"`
	Note                string  `json:"note"`
	Fields              []Field `json:"fields"`
	FollowRequestsCount int     `json:"follow_requests_count"`
}

// Role is the account's role in Mastodon 4.x shape.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Permissions string `json:"permissions"`
	Highlighted bool   `json:"highlighted"`
}

// WorkProfile is Atrium's extension of the Account entity.
type WorkProfile struct {
	JobTitle        string   `json:"job_title"`
	Department      string   `json:"department"`
	Location        string   `json:"location"`
	Phone           string   `json:"phone,omitempty"`
	Pronouns        string   `json:"pronouns"`
	TimeZone        string   `json:"time_zone"`
	Skills          []string `json:"skills"`
	ManagerID       *string  `json:"manager_id"`
	OpenToMoves     bool     `json:"open_to_internal_moves"`
	OpenToMovesNote string   `json:"open_to_internal_moves_note,omitempty"`
	// Organisation and Domain label people from partner nodes: whom they work for.
	Organisation string `json:"organisation,omitempty"`
	Domain       string `json:"domain,omitempty"`
}

// Account is Mastodon's Account entity.
type Account struct {
	ID             string       `json:"id"`
	Username       string       `json:"username"`
	Acct           string       `json:"acct"`
	DisplayName    string       `json:"display_name"`
	Locked         bool         `json:"locked"`
	Bot            bool         `json:"bot"`
	Discoverable   bool         `json:"discoverable"`
	Indexable      bool         `json:"indexable"`
	Group          bool         `json:"group"`
	CreatedAt      string       `json:"created_at"`
	Note           string       `json:"note"`
	URL            string       `json:"url"`
	URI            string       `json:"uri"`
	Avatar         string       `json:"avatar"`
	AvatarStatic   string       `json:"avatar_static"`
	Header         string       `json:"header"`
	HeaderStatic   string       `json:"header_static"`
	FollowersCount int          `json:"followers_count"`
	FollowingCount int          `json:"following_count"`
	StatusesCount  int          `json:"statuses_count"`
	LastStatusAt   *string      `json:"last_status_at"`
	HideCollection bool         `json:"hide_collections"`
	Emojis         []any        `json:"emojis"`
	Fields         []Field      `json:"fields"`
	Suspended      bool         `json:"suspended,omitempty"`
	Source         *Source      `json:"source,omitempty"`
	Role           *Role        `json:"role,omitempty"`
	Atrium         *WorkProfile `json:"atrium,omitempty"`
}

// mastodonTime formats times as Mastodon does (ISO 8601 with milliseconds, UTC). Every status
// shows two or three times, so the fixed layout is written digit by digit: time.Format,
// which interprets its layout on each call, was a tenth of rendering a status. Years
// outside 0-9999 (never seen in practice) go through time.Format.
func mastodonTime(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	var b [24]byte
	put := func(at, v, digits int) {
		for i := at + digits - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}

// noteHTML renders a plain-text bio as the HTML Mastodon clients expect.
func noteHTML(bio string) string {
	if strings.TrimSpace(bio) == "" {
		return ""
	}
	// The usual bio is one line with nothing to escape: one paragraph, without the
	// splitting and escaping below (rendered for every status of every page).
	if !strings.ContainsAny(bio, "\r\n<>&'\"") {
		return "<p>" + bio + "</p>"
	}
	var b strings.Builder
	for _, para := range strings.Split(strings.ReplaceAll(bio, "\r\n", "\n"), "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}

// workFields maps the work profile onto Mastodon profile fields, so apps show it.
func workFields(u *accounts.User) []Field {
	out := make([]Field, 0, 5) // sized once: every status of a page renders its author
	add := func(name, v string) {
		if v != "" {
			out = append(out, Field{Name: name, Value: html.EscapeString(v)})
		}
	}
	add("Title", u.JobTitle)
	add("Department", u.Department)
	add("Location", u.Location)
	add("Pronouns", u.Pronouns)
	if len(u.Skills) > 0 {
		add("Skills", strings.Join(u.Skills, ", "))
	}
	return out
}

func (a *api) account(u *accounts.User, base string) Account {
	if u.Remote != nil {
		return remoteAccount(u, base)
	}
	avatar := base + "/avatars/missing.png"
	if u.AvatarKey != "" {
		avatar = base + "/media/" + u.AvatarKey
	}
	header := base + "/headers/missing.png"
	if u.HeaderKey != "" {
		header = base + "/media/" + u.HeaderKey // full size: apps draw it across the profile
	}
	profile := base + "/people/" + u.Username
	return Account{
		ID: u.ID, Username: u.Username, Acct: u.Username, DisplayName: u.DisplayName,
		Discoverable: true, CreatedAt: mastodonTime(u.CreatedAt.Truncate(24 * time.Hour)),
		Note: noteHTML(u.Bio), URL: profile, URI: base + "/users/" + u.Username,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header,
		Emojis: []any{}, Fields: workFields(u), Suspended: !u.Active(),
		Atrium: &WorkProfile{JobTitle: u.JobTitle, Department: u.Department, Location: u.Location, Phone: u.Phone,
			Pronouns: u.Pronouns, TimeZone: u.TimeZone, Skills: nonNil(u.Skills), ManagerID: u.ManagerID,
			OpenToMoves: u.OpenToMoves, OpenToMovesNote: u.OpenToMovesNote},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// remoteAccount renders a person on another node: their acct has the host, their pages and
// pictures are their node's, and the organisation they work for rides in the atrium block.
func remoteAccount(u *accounts.User, base string) Account {
	r := u.Remote
	avatar, header := r.AvatarURL, r.HeaderURL
	if avatar == "" {
		avatar = base + "/avatars/missing.png"
	}
	if header == "" {
		header = base + "/headers/missing.png"
	}
	fields := []Field{}
	for _, f := range r.Fields {
		fields = append(fields, Field{Name: f.Name, Value: f.Value})
	}
	profile := r.URL
	if profile == "" {
		profile = r.URI
	}
	return Account{ID: u.ID, Username: u.Username, Acct: u.Acct(), DisplayName: u.DisplayName, Locked: r.Locked,
		Bot: r.Kind == "Service" || r.Kind == "Application", Group: r.Kind == "Group", Discoverable: true,
		CreatedAt: mastodonTime(u.CreatedAt.Truncate(24 * time.Hour)), Note: r.SummaryHTML, URL: profile, URI: r.URI,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header, Emojis: []any{}, Fields: fields,
		Suspended: !u.Active(), Atrium: &WorkProfile{Organisation: r.OrgName, Domain: r.Domain, Skills: []string{}}}
}
