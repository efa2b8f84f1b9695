package web

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/server"
)

type profileForm struct {
	Target    *person
	Self      bool
	Action    string // where the profile form posts (keeps ?user=)
	Upload    string // where the picture form posts (keeps ?user=)
	Profile   accounts.Profile
	Skills    string
	People    []string // usernames for the manager <datalist>
	Zones     []string
	MaxUpload int64
	// HeaderUpload and HeaderRemove are the cover picture's forms; CoverMB and CoverSize its hint.
	HeaderUpload, HeaderRemove string
	CoverMB                    int64
	CoverSize                  string
}

// editTarget is whose profile the settings page edits: one's own, or, for admins, the
// person named by ?user= (or the form's user field).
func (s *site) editTarget(c *fiber.Ctx) (*accounts.User, error) {
	me := server.CurrentUser(c)
	name := strings.TrimSpace(qv(c, "user"))
	if name == "" {
		name = strings.TrimSpace(fv(c, "user"))
	}
	if name == "" || strings.EqualFold(name, me.Username) {
		return me, nil
	}
	if !me.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "you can only edit your own profile")
	}
	return s.Accounts.ByUsername(c.UserContext(), name)
}

// profileForm fills what the settings page shows around the profile fields.
func (s *site) profileForm(c *fiber.Ctx, target *accounts.User, p accounts.Profile) (profileForm, error) {
	f := profileForm{Target: newPerson(target), Self: target.ID == server.CurrentUser(c).ID, Profile: p,
		Skills: strings.Join(p.Skills, ", "), Zones: commonZones(), MaxUpload: s.MaxUpload >> 20, Action: "/settings/profile", Upload: "/settings/avatar",
		HeaderUpload: "/settings/header", HeaderRemove: "/settings/header/remove",
		CoverMB: min(media.CoverMaxBytes, s.MaxUpload) >> 20, CoverSize: fmt.Sprintf("%d×%d", media.CoverWidth, media.CoverHeight)}
	if !f.Self {
		q := "?user=" + url.QueryEscape(target.Username)
		f.Action, f.Upload = f.Action+q, f.Upload+q
		f.HeaderUpload, f.HeaderRemove = f.HeaderUpload+q, f.HeaderRemove+q
	}
	var err error
	f.People, err = s.usernames(c, target.ID)
	return f, err
}

// usernames lists colleagues for the manager field's suggestions, up to five directory pages;
// beyond that the field still accepts any username, it just stops suggesting.
func (s *site) usernames(c *fiber.Ctx, except string) ([]string, error) {
	var out []string
	after := ""
	for range 5 {
		list, err := s.Accounts.Directory(c.UserContext(), accounts.DirectoryQuery{After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, u := range list {
			if u.ID != except {
				out = append(out, u.Username)
			}
		}
		if len(list) < 100 {
			break
		}
		after = list[len(list)-1].UsernameLower
	}
	return out, nil
}

func (s *site) profileSettingsPage(c *fiber.Ctx) error {
	target, err := s.editTarget(c)
	if err != nil {
		return err
	}
	f, err := s.profileForm(c, target, s.Accounts.ProfileOf(c.UserContext(), target))
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "settings_profile", &page{Title: "Edit profile", Nav: "settings", Data: f})
}

func (s *site) saveProfile(c *fiber.Ctx) error {
	target, err := s.editTarget(c)
	if err != nil {
		return err
	}
	in := accounts.Profile{DisplayName: fv(c, "display_name"), JobTitle: fv(c, "job_title"), Department: fv(c, "department"),
		Location: fv(c, "location"), Phone: fv(c, "phone"), ManagerUsername: fv(c, "manager"), Bio: fv(c, "bio"),
		Pronouns: fv(c, "pronouns"), TimeZone: strings.TrimSpace(fv(c, "time_zone")), OpenToMoves: c.FormValue("open_to_moves") != "",
		OpenToMovesNote: fv(c, "open_to_moves_note")}
	skills := fv(c, "skills")
	if strings.TrimSpace(skills) != "" {
		in.Skills = []string{skills} // accounts splits on commas
	}
	f, err := s.profileForm(c, target, in)
	if err != nil {
		return err
	}
	f.Skills = skills
	p := &page{Title: "Edit profile", Nav: "settings", Data: f}
	u, err := s.Accounts.UpdateProfile(c.UserContext(), server.Actor(c), target.ID, in)
	if err != nil {
		return s.formError(c, err, "settings_profile", p)
	}
	return s.redirect(c, "/people/"+url.PathEscape(u.Username), "profile_saved")
}

func (s *site) uploadAvatar(c *fiber.Ctx) error {
	target, err := s.editTarget(c)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f, ferr := s.profileForm(c, target, s.Accounts.ProfileOf(c.UserContext(), target))
		if ferr != nil {
			return ferr
		}
		return s.formError(c, err, "settings_profile", &page{Title: "Edit profile", Nav: "settings", Data: f})
	}
	body, err := s.readUpload(c, "avatar")
	if err != nil {
		return fail(err)
	}
	if err := s.saveAvatar(c.UserContext(), server.Actor(c), target.ID, body); err != nil {
		return fail(err)
	}
	to := "/settings/profile"
	if target.ID != server.CurrentUser(c).ID {
		to += "?user=" + url.QueryEscape(target.Username)
	}
	return s.redirect(c, to, "avatar_saved")
}

// uploadHeader makes the uploaded picture the person's profile cover (accounts.SetHeader,
// after media.ProcessCover: the one implementation group covers use).
func (s *site) uploadHeader(c *fiber.Ctx) error {
	target, err := s.editTarget(c)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if k := errs.KindOf(err); k == errs.Forbidden || k == errs.NotFound || k == errs.Internal {
			return err
		}
		f, ferr := s.profileForm(c, target, s.Accounts.ProfileOf(c.UserContext(), target))
		if ferr != nil {
			return ferr
		}
		return s.formError(c, err, "settings_profile", &page{Title: "Edit profile", Nav: "settings", Data: f})
	}
	// Not readUpload, which buffers the whole file: ProcessCover reads no more than its limit.
	fh, err := c.FormFile("header")
	if err != nil || fh.Size == 0 {
		return fail(errs.Field("header", "choose a picture to upload: a JPEG, PNG, GIF or WebP image"))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	cover, err := media.ProcessCover(f, "header")
	if err != nil {
		return fail(err)
	}
	if _, err := s.Accounts.SetHeader(c.UserContext(), server.Actor(c), target.ID, s.Media, cover); err != nil {
		return fail(err)
	}
	return s.redirect(c, s.settingsLink(c, target), "header_saved")
}

// removeHeader removes the person's profile cover and its files.
func (s *site) removeHeader(c *fiber.Ctx) error {
	target, err := s.editTarget(c)
	if err != nil {
		return err
	}
	if _, err := s.Accounts.ClearHeader(c.UserContext(), server.Actor(c), target.ID, s.Media); err != nil {
		return err
	}
	return s.redirect(c, s.settingsLink(c, target), "header_removed")
}

// settingsLink is the profile settings page of target, as its forms come back to it.
func (s *site) settingsLink(c *fiber.Ctx, target *accounts.User) string {
	to := "/settings/profile"
	if target.ID != server.CurrentUser(c).ID {
		to += "?user=" + url.QueryEscape(target.Username)
	}
	return to
}

// readUpload reads one uploaded file, refusing it past MaxUpload. The declared size is
// checked first for a quick answer, the bytes read are checked too because the declaration
// comes from the client.
func (s *site) readUpload(c *fiber.Ctx, field string) ([]byte, error) {
	fh, err := c.FormFile(field)
	if err != nil {
		return nil, errs.Field(field, "choose an image file to upload")
	}
	tooBig := errs.E(errs.TooLarge, "the file is larger than %d MB; choose a smaller one", s.MaxUpload>>20)
	tooBig.Field = field
	if fh.Size > s.MaxUpload {
		return nil, tooBig
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, s.MaxUpload+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > s.MaxUpload {
		return nil, tooBig
	}
	return body, nil
}

func (s *site) passwordPage(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "settings_password", &page{Title: "Password", Nav: "settings"})
}

func (s *site) changePassword(c *fiber.Ctx) error {
	p := &page{Title: "Password", Nav: "settings"}
	next := fv(c, "new_password")
	if next != fv(c, "new_password_confirm") {
		return s.formError(c, errs.Field("new_password_confirm", "the two passwords differ"), "settings_password", p)
	}
	err := s.Accounts.ChangePassword(c.UserContext(), server.CurrentUser(c), fv(c, "current_password"), next,
		server.SessionToken(c))
	if err != nil {
		return s.formError(c, err, "settings_password", p)
	}
	return s.redirect(c, "/settings/password", "password_changed")
}

// tokenScopes are the scopes offered on the tokens page, with what each lets an app do.
func tokenScopes() [][2]string {
	return [][2]string{{"read", "Read your data"}, {"write", "Post and change data as you"},
		{"follow", "Follow and unfollow"}, {"push", "Receive push notifications"}}
}

type tokensData struct {
	Tokens   []accounts.Token
	Scopes   [][2]string
	Checked  map[string]bool
	Name     string
	NewToken string // shown once, right after creation
	NewName  string
}

func (s *site) tokensData(c *fiber.Ctx) (tokensData, error) {
	list, err := s.Accounts.Tokens(c.UserContext(), server.CurrentUser(c).ID)
	return tokensData{Tokens: list, Scopes: tokenScopes(), Checked: map[string]bool{"read": true}}, err
}

func (s *site) tokensPage(c *fiber.Ctx) error {
	d, err := s.tokensData(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "settings_tokens", &page{Title: "Access tokens", Nav: "settings", Data: d})
}

func (s *site) createToken(c *fiber.Ctx) error {
	checked := map[string]bool{}
	var scopes []string
	for _, sc := range tokenScopes() {
		if c.FormValue("scope_"+sc[0]) != "" {
			checked[sc[0]] = true
			scopes = append(scopes, sc[0])
		}
	}
	name := strings.TrimSpace(fv(c, "name"))
	plain, tok, err := s.Accounts.CreateToken(c.UserContext(), server.Actor(c), server.CurrentUser(c).ID, name,
		strings.Join(scopes, " "))
	d, lerr := s.tokensData(c)
	if lerr != nil {
		return lerr
	}
	p := &page{Title: "Access tokens", Nav: "settings", Data: d}
	if err != nil {
		d.Name, d.Checked = name, checked
		p.Data = d
		return s.formError(c, err, "settings_tokens", p)
	}
	d.NewToken, d.NewName = plain, tok.Name
	p.Data = d
	return s.render(c, fiber.StatusCreated, "settings_tokens", p)
}

func (s *site) revokeToken(c *fiber.Ctx) error {
	if err := s.Accounts.RevokeToken(c.UserContext(), server.Actor(c), pv(c, "id")); err != nil {
		return err
	}
	return s.redirect(c, "/settings/tokens", "token_revoked")
}

// commonZones are the time zones offered as suggestions; any IANA name is accepted.
func commonZones() []string {
	return []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
		"Europe/Amsterdam", "Europe/Brussels", "Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Vienna",
		"Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen", "Europe/Helsinki", "Europe/Warsaw", "Europe/Prague",
		"Europe/Athens", "Europe/Istanbul", "Europe/Kyiv", "Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos",
		"Africa/Nairobi", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong",
		"Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "America/St_Johns",
		"America/Halifax", "America/New_York", "America/Toronto", "America/Chicago", "America/Mexico_City",
		"America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
		"America/Sao_Paulo", "America/Buenos_Aires", "America/Bogota", "America/Santiago"}
}
