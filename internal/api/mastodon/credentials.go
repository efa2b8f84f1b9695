package mastodon

import (
	"context"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/media"
	"github.com/atrium-social/atrium/internal/server"
)

// maxProfileFields is Mastodon's default limit on profile fields; apps offer that many rows.
const maxProfileFields = 4

// fieldAttr names the work-profile attribute an account field edits. The names are those
// workFields shows (plus the two it keeps off the public profile), so an app sending back
// what it was shown round-trips.
func fieldAttr(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "title", "job title":
		return "title", true
	case "department", "location", "pronouns", "skills", "phone":
		return strings.ToLower(name), true
	case "time zone", "timezone":
		return "time_zone", true
	}
	return "", false
}

// allowedFieldsMsg explains the mapping in the 422 apps show to people.
const allowedFieldsMsg = "profile fields map onto your work profile: use the names Title, Department, Location, Pronouns, Skills, Phone or Time zone"

func (a *api) credentialRoutes(app *fiber.App) {
	app.Patch("/api/v1/accounts/update_credentials", server.RequireScope("write:accounts"), a.updateCredentials)
	app.Delete("/api/v1/profile/header", server.RequireScope("write:accounts"), a.deleteHeader)
}

// updateCredentials edits the signed-in person's profile the way the web's profile settings
// do: through accounts.UpdateProfile, SetAvatar and SetHeader, so the audit and the federation
// Update{Person} hook see the change. Everything is checked (the picture processed too)
// before anything is written, so a bad field never leaves half an update behind.
func (a *api) updateCredentials(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := readParams(c)
	if err != nil {
		return err
	}
	me := server.CurrentUser(c)
	u, err := a.Accounts.Get(ctx, me.ID) // with skills, which ProfileOf carries over
	if err != nil {
		return err
	}
	// Atrium accounts are never locked and never bots (everyone is a colleague), and all
	// are in the directory; apps send these switches on every save, so they are read (and
	// must be booleans) but change nothing.
	for _, name := range []string{"locked", "bot", "discoverable", "hide_collections", "indexable"} {
		if _, _, err := p.boolean(name); err != nil {
			return err
		}
	}
	prof := a.Accounts.ProfileOf(ctx, u)
	changed := false
	if p.has("display_name") {
		prof.DisplayName, changed = p.str("display_name"), true
	}
	if p.has("note") {
		prof.Bio, changed = p.str("note"), true
	}
	fields, present, err := p.fieldsAttributes()
	if err != nil {
		return err
	}
	if present {
		if err := applyFields(&prof, fields); err != nil {
			return err
		}
		changed = true
	}
	var avatar *media.Avatar
	if fh, err := c.FormFile("avatar"); err == nil {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		avatar, err = media.ProcessAvatar(f, media.DefaultLimits())
		f.Close()
		if err != nil {
			return avatarFieldError(err)
		}
	}
	// header: the profile cover, processed as group covers are (media.ProcessCover: 3:1,
	// 1500×500); a file that is not a picture is a 422 on header.
	var header *media.Cover
	if fh, err := c.FormFile("header"); err == nil {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		header, err = media.ProcessCover(f, "header")
		f.Close()
		if err != nil {
			return headerFieldError(err)
		}
	}
	actor := accounts.UserActor(me, c.IP())
	if changed {
		if _, err := a.Accounts.UpdateProfile(ctx, actor, me.ID, prof); err != nil {
			return err
		}
	}
	if avatar != nil {
		if err := a.saveAvatar(ctx, actor, me.ID, avatar); err != nil {
			return err
		}
	}
	if header != nil {
		if _, err := a.Accounts.SetHeader(ctx, actor, me.ID, a.Posts.Media, header); err != nil {
			return err
		}
	}
	return a.verifyCredentials(c)
}

// deleteHeader is Mastodon 4.2's DELETE /api/v1/profile/header: the profile cover is removed
// (its files too) and the answer is the CredentialAccount, as verify_credentials gives it.
// Removing a cover that is not there succeeds.
func (a *api) deleteHeader(c *fiber.Ctx) error {
	me := server.CurrentUser(c)
	if _, err := a.Accounts.ClearHeader(c.UserContext(), accounts.UserActor(me, c.IP()), me.ID, a.Posts.Media); err != nil {
		return err
	}
	return a.verifyCredentials(c)
}

// applyFields maps Mastodon's name/value rows onto the fixed work profile. Mastodon replaces
// the whole list on each save, so the four shown fields an app leaves out are cleared;
// Skills, Phone and Time zone change only when named, because apps offering four rows cannot
// send back a fifth and Phone and Time zone are not shown as fields at all.
func applyFields(prof *accounts.Profile, rows []Field) error {
	named := 0
	seen := map[string]bool{}
	set := map[string]string{}
	for _, r := range rows {
		name, value := strings.TrimSpace(r.Name), strings.TrimSpace(r.Value)
		if name == "" && value == "" {
			continue // the empty rows apps send for unused slots
		}
		named++
		attr, ok := fieldAttr(name)
		if !ok {
			return errs.Field("fields_attributes", "%q is not a work-profile field; %s", name, allowedFieldsMsg)
		}
		if seen[attr] {
			return errs.Field("fields_attributes", "%q is given twice", name)
		}
		seen[attr] = true
		set[attr] = value
	}
	if named > maxProfileFields {
		return errs.Field("fields_attributes", "send at most %d fields", maxProfileFields)
	}
	prof.JobTitle, prof.Department, prof.Location, prof.Pronouns = set["title"], set["department"], set["location"], set["pronouns"]
	if v, ok := set["skills"]; ok {
		prof.Skills = []string{v} // UpdateProfile splits on commas and checks each skill
		if v == "" {
			prof.Skills = nil
		}
	}
	if v, ok := set["phone"]; ok {
		prof.Phone = v
	}
	if v, ok := set["time_zone"]; ok {
		prof.TimeZone = v
	}
	return nil
}

// fieldKey matches the form spellings of fields_attributes: [0][name] (indexed, as Mastodon's
// web and most apps send) and [][name] (Rails' array form).
var fieldKey = regexp.MustCompile(`^fields_attributes\[(\d*)\]\[(name|value)\]$`)

// fieldsAttributes reads fields_attributes in every shape apps send it: a JSON array or an
// object keyed by index, or form keys fields_attributes[i][name]. present is false when the
// request does not mention fields at all (they are then left alone).
func (p *params) fieldsAttributes() (rows []Field, present bool, err error) {
	if p.body != nil {
		v, ok := p.body["fields_attributes"]
		if !ok {
			return nil, false, nil
		}
		bad := errs.Field("fields_attributes", "send an array of {name, value} objects")
		var items []any
		switch t := v.(type) {
		case []any:
			items = t
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return indexLess(keys[i], keys[j]) })
			for _, k := range keys {
				items = append(items, t[k])
			}
		case nil:
			return nil, true, nil
		default:
			return nil, false, bad
		}
		for _, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				return nil, false, bad
			}
			name, ok1 := obj["name"].(string)
			value, ok2 := obj["value"].(string)
			if (obj["name"] != nil && !ok1) || (obj["value"] != nil && !ok2) {
				return nil, false, bad
			}
			rows = append(rows, Field{Name: name, Value: value})
		}
		return rows, true, nil
	}
	// Forms: gather every key/value pair, urlencoded and multipart alike, and the query string
	// (Rails reads parameters there for any method, and some apps send them so).
	var pairs [][2]string
	p.c.Request().PostArgs().VisitAll(func(k, v []byte) { pairs = append(pairs, [2]string{string(k), string(v)}) })
	p.c.Context().QueryArgs().VisitAll(func(k, v []byte) { pairs = append(pairs, [2]string{string(k), string(v)}) })
	if form, err := p.c.MultipartForm(); err == nil && form != nil {
		for k, vs := range form.Value {
			for _, v := range vs {
				pairs = append(pairs, [2]string{k, v})
			}
		}
	}
	byIndex := map[string]*Field{}
	var order []string
	counts := map[string]int{} // for [] keys: the n-th name pairs with the n-th value
	for _, kv := range pairs {
		m := fieldKey.FindStringSubmatch(kv[0])
		if m == nil {
			continue
		}
		present = true
		idx := m[1]
		if idx == "" {
			idx = "a" + strconv.Itoa(counts[m[2]])
			counts[m[2]]++
		}
		f := byIndex[idx]
		if f == nil {
			f = &Field{}
			byIndex[idx] = f
			order = append(order, idx)
		}
		if m[2] == "name" {
			f.Name = kv[1]
		} else {
			f.Value = kv[1]
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return indexLess(order[i], order[j]) })
	for _, idx := range order {
		rows = append(rows, *byIndex[idx])
	}
	return rows, present, nil
}

// indexLess orders "2" before "10"; non-numbers keep their order after numbers.
func indexLess(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x < y
	}
	return errA == nil && errB != nil
}

// saveAvatar makes a processed picture the person's avatar, the way the web's profile
// settings do (media.SaveAvatar), in the store posts write attachments to.
func (a *api) saveAvatar(ctx context.Context, actor accounts.Actor, userID string, av *media.Avatar) error {
	// An old file left behind is an orphan, not a failure of the update.
	_, err := media.SaveAvatar(ctx, a.Posts.Media, userID, av, func(ctx context.Context, key string) (string, error) {
		return a.Accounts.SetAvatar(ctx, actor, userID, key)
	})
	return err
}

// avatarFieldError answers a picture the media package refused with Mastodon's 422 on the
// avatar field (Mastodon answers 422 for a too-large avatar too, not 413).
func avatarFieldError(err error) error {
	if errors.Is(err, media.ErrTooLarge) || errors.Is(err, media.ErrUnsupported) || errs.Is(err, errs.Invalid) {
		return errs.Field("avatar", "%s", errs.Message(err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.Field("avatar", "the picture is truncated")
	}
	return err
}

// headerFieldError answers a cover the media package refused with Mastodon's 422 on the
// header field (a too-large file too, as Mastodon does).
func headerFieldError(err error) error {
	if errors.Is(err, media.ErrTooLarge) || errors.Is(err, media.ErrUnsupported) || errs.Is(err, errs.Invalid) || errs.Is(err, errs.TooLarge) {
		return errs.Field("header", "%s", errs.Message(err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errs.Field("header", "the picture is truncated")
	}
	return err
}
