package convert

import (
	"html"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/orgs"
)

// Person is a local person's actor document, showing partners what the organisation's policy
// allows. The organisation's name rides as an "Organisation" profile field, which Atrium
// nodes read to label partners' people and Mastodon shows as a field.
func (c Converter) Person(u *accounts.User, publicPEM string, org orgs.Org) *activity.Actor {
	id := c.ActorURI(u)
	summary := ""
	if org.Shows("bio") {
		summary = bioHTML(u.Bio)
	}
	a := &activity.Actor{ID: id, Type: activity.TypePerson, PreferredUsername: u.Username, Name: u.Name(),
		Summary: summary, URL: c.Base + "/people/" + u.Username, Inbox: id + "/inbox", Outbox: id + "/outbox",
		Followers: id + "/followers", Following: id + "/following", Featured: id + "/collections/featured",
		SharedInbox: c.Base + "/inbox", Published: u.CreatedAt, Discoverable: true,
		PublicKey: activity.PublicKey{ID: c.KeyID(u), Owner: id, PublicKeyPem: publicPEM},
		Fields:    partnerFields(u, org)}
	if u.AvatarKey != "" {
		a.Icon, a.IconMediaType = c.Base+"/media/"+u.AvatarKey, mediaType(u.AvatarKey)
	}
	if u.HeaderKey != "" { // the profile cover, Mastodon's header
		a.Image, a.ImageMediaType = c.Base+"/media/"+u.HeaderKey, mediaType(u.HeaderKey)
	}
	return a
}

// partnerFields are the work-profile fields the organisation shows partners (Admin →
// Settings), after whom the person works for. Phone and e-mail never leave the node.
func partnerFields(u *accounts.User, org orgs.Org) []activity.PropertyValue {
	var out []activity.PropertyValue
	add := func(key, name, v string) {
		if v != "" && (key == "" || org.Shows(key)) {
			out = append(out, activity.PropertyValue{Name: name, Value: html.EscapeString(v)})
		}
	}
	add("", "Organisation", org.Name)
	add("title", "Title", u.JobTitle)
	add("department", "Department", u.Department)
	add("pronouns", "Pronouns", u.Pronouns)
	add("location", "Location", u.Location)
	add("time_zone", "Time zone", u.TimeZone)
	add("skills", "Skills", strings.Join(u.Skills, ", "))
	return out
}

func bioHTML(bio string) string {
	if strings.TrimSpace(bio) == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(bio), "\n", "<br>") + "</p>"
}

func mediaType(key string) string {
	if strings.HasSuffix(key, ".png") {
		return "image/png"
	}
	return "image/jpeg"
}
