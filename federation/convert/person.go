package convert

import (
	"html"
	"strings"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/accounts"
)

// Person is a local person's actor document. org is the organisation's name: it rides as an
// "Organisation" profile field, which Atrium nodes read to label partners' people and
// Mastodon shows as a field.
func (c Converter) Person(u *accounts.User, publicPEM, org string) *activity.Actor {
	id := c.ActorURI(u)
	a := &activity.Actor{ID: id, Type: activity.TypePerson, PreferredUsername: u.Username, Name: u.Name(),
		Summary: bioHTML(u.Bio), URL: c.Base + "/people/" + u.Username, Inbox: id + "/inbox", Outbox: id + "/outbox",
		Followers: id + "/followers", Following: id + "/following", Featured: id + "/collections/featured",
		SharedInbox: c.Base + "/inbox", Published: u.CreatedAt, Discoverable: true,
		PublicKey: activity.PublicKey{ID: c.KeyID(u), Owner: id, PublicKeyPem: publicPEM},
		Fields:    partnerFields(u, org)}
	if u.AvatarKey != "" {
		a.Icon, a.IconMediaType = c.Base+"/media/"+u.AvatarKey, mediaType(u.AvatarKey)
	}
	return a
}

// partnerFields are the work-profile fields partners see: what a person's role is, whom they
// work for and how to address them, not where they sit or how to phone them (the
// organisation's default policy).
func partnerFields(u *accounts.User, org string) []activity.PropertyValue {
	var out []activity.PropertyValue
	add := func(name, v string) {
		if v != "" {
			out = append(out, activity.PropertyValue{Name: name, Value: html.EscapeString(v)})
		}
	}
	add("Organisation", org)
	add("Title", u.JobTitle)
	add("Department", u.Department)
	add("Pronouns", u.Pronouns)
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
