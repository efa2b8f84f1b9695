package mastodon

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/markers"
	"github.com/atrium-social/atrium/internal/server"
)

// The endpoints apps call when they start (custom emojis, preferences, instance rules,
// markers): little data, but an app that gets an error or an HTML page here often refuses to
// open the account at all.
func (a *api) bootstrapRoutes(app *fiber.App) {
	app.Get("/api/v1/custom_emojis", a.customEmojis)
	app.Get("/api/v1/instance/rules", a.instanceRules)
	app.Get("/api/v1/preferences", server.RequireScope("read:accounts"), a.preferences)
	if a.Markers != nil {
		app.Get("/api/v1/markers", server.RequireScope("read:statuses"), a.getMarkers)
		app.Post("/api/v1/markers", server.RequireScope("write:statuses"), a.saveMarkers)
	}
}

// RegisterFallback answers every /api/ path no route matched with Mastodon's 404 JSON, which
// apps recognise as "not supported here" (rather than the web's 404 message). It must come
// after every package that mounts /api/ routes (this one, streaming) and before the web's
// catch-all, since fiber matches in registration order.
func RegisterFallback(s *server.Server) {
	s.App.All("/api/*", func(c *fiber.Ctx) error { return errNotFound() })
}

// defaultVisibility is what apps pre-select in their composer. A post's default audience
// here is the company, which has no Mastodon visibility: "public" would make apps send
// visibility=public and federate posts people meant for colleagues, so apps get the
// narrowest audience that stays inside the company (followers), as verify_credentials'
// source.privacy says.
const defaultVisibility = "private"

func (a *api) customEmojis(c *fiber.Ctx) error {
	return c.JSON([]any{}) // the node's reactions are Unicode; there are no custom emojis
}

func (a *api) instanceRules(c *fiber.Ctx) error {
	return c.JSON(instanceRules())
}

// instanceRules are the node's rules as Mastodon's Rule entities. Organisations have no rules
// setting yet (their policies live outside the node), so the list is empty.
func instanceRules() []fiber.Map { return []fiber.Map{} }

func (a *api) preferences(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"posting:default:visibility": defaultVisibility,
		"posting:default:sensitive":  false,
		"posting:default:language":   "en",
		"reading:expand:media":       "default",
		"reading:expand:spoilers":    false,
	})
}

// Marker is Mastodon's Marker entity.
type Marker struct {
	LastReadID string `json:"last_read_id"`
	Version    int    `json:"version"`
	UpdatedAt  string `json:"updated_at"`
}

func markerJSON(m markers.Marker) Marker {
	return Marker{LastReadID: m.LastReadID, Version: m.Version, UpdatedAt: mastodonTime(m.UpdatedAt)}
}

// getMarkers answers the asked timelines (timeline[]=home&timeline[]=notifications) that have
// a marker; without timeline, both.
func (a *api) getMarkers(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	names := p.strs("timeline")
	if len(names) == 0 {
		names = []string{"home", "notifications"}
	}
	got, err := a.Markers.Get(c.UserContext(), server.CurrentUser(c).ID, names)
	if err != nil {
		return err
	}
	out := map[string]Marker{}
	for name, m := range got {
		out[name] = markerJSON(m)
	}
	return c.JSON(out)
}

// saveMarkers takes home[last_read_id] and notifications[last_read_id], as a form, a query
// or JSON ({"home": {"last_read_id": "..."}}), and answers the markers it moved.
func (a *api) saveMarkers(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	out := map[string]Marker{}
	for _, name := range []string{"home", "notifications"} {
		id := p.str(name + "[last_read_id]")
		if obj, ok := p.body[name].(map[string]any); ok {
			id, _ = obj["last_read_id"].(string)
			if id == "" {
				return errs.Field(name+"[last_read_id]", "give the id of the last item read as a string")
			}
		}
		if id == "" {
			continue
		}
		m, err := a.Markers.Set(c.UserContext(), server.CurrentUser(c).ID, name, id)
		if err != nil {
			return err
		}
		out[name] = markerJSON(m)
	}
	if len(out) == 0 {
		return errs.Field("home[last_read_id]", "give home[last_read_id] or notifications[last_read_id]")
	}
	return c.JSON(out)
}
