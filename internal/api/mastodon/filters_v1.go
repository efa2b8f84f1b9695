package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/filters"
	"github.com/atrium-social/atrium/internal/server"
)

// FilterV1 is Mastodon's legacy V1::Filter entity: one keyword of a v2 filter.
type FilterV1 struct {
	ID           string   `json:"id"`
	Phrase       string   `json:"phrase"`
	Context      []string `json:"context"`
	WholeWord    bool     `json:"whole_word"`
	ExpiresAt    *string  `json:"expires_at"`
	Irreversible bool     `json:"irreversible"`
}

func filterV1Entity(f filters.V1) FilterV1 {
	out := FilterV1{ID: f.Keyword.ID, Phrase: f.Keyword.Keyword, Context: f.Filter.Context(), WholeWord: f.Keyword.WholeWord,
		Irreversible: f.Irreversible()}
	if f.Filter.ExpiresAt != nil {
		t := mastodonTime(*f.Filter.ExpiresAt)
		out.ExpiresAt = &t
	}
	return out
}

func (a *api) filterV1Routes(app *fiber.App) {
	if a.Filters == nil {
		return
	}
	rf, wf := server.RequireScope("read:filters"), server.RequireScope("write:filters")
	app.Get("/api/v1/filters", rf, a.filtersV1)
	app.Post("/api/v1/filters", wf, a.saveFilterV1(true))
	app.Get("/api/v1/filters/:id", rf, a.filterV1)
	app.Put("/api/v1/filters/:id", wf, a.saveFilterV1(false))
	app.Delete("/api/v1/filters/:id", wf, a.deleteFilterV1)
}

func (a *api) filtersV1(c *fiber.Ctx) error {
	list, err := a.Filters.V1List(c.UserContext(), server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]FilterV1, len(list))
	for i, f := range list {
		out[i] = filterV1Entity(f)
	}
	return c.JSON(out)
}

func (a *api) filterV1(c *fiber.Ctx) error {
	f, err := a.Filters.V1Get(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(filterV1Entity(f))
}

// filterV1Input reads phrase, context[], whole_word, irreversible and expires_in; a JSON
// value of the wrong type is a 422 naming the field.
func filterV1Input(c *fiber.Ctx, create bool) (filters.V1Input, error) {
	var in filters.V1Input
	p, err := readParams(c)
	if err != nil {
		return in, err
	}
	if v, ok := p.body["phrase"]; ok && v != nil {
		if _, isString := v.(string); !isString {
			return in, errs.Field("phrase", "give phrase as a string")
		}
	}
	if v, ok := p.body["expires_in"]; ok && v != nil {
		switch v.(type) {
		case string, float64:
		default:
			return in, errs.Field("expires_in", "give expires_in as a number of seconds")
		}
	}
	if v, ok := p.body["context"]; ok {
		if _, isList := v.([]any); !isList {
			return in, errs.Field("context", "give context as a list of %s", "home, notifications, public, thread, account")
		}
	}
	if s := p.str("phrase"); s != "" || create {
		in.Phrase = &s
	}
	if ctxs := p.strs("context"); len(ctxs) > 0 || create {
		if create && len(ctxs) == 0 {
			return in, errs.Field("context", "say where the filter applies (home, notifications, public, thread, account)")
		}
		in.Context = ctxs
	}
	for _, name := range []string{"whole_word", "irreversible"} {
		b, ok, err := p.boolean(name)
		if err != nil {
			return in, err
		}
		if ok {
			v := b
			if name == "whole_word" {
				in.WholeWord = &v
			} else {
				in.Irreversible = &v
			}
		}
	}
	_, present := p.body["expires_in"]
	if s := p.str("expires_in"); s != "" || present {
		in.ExpiresSet = true
		if s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return in, errs.Field("expires_in", "%q is not a number of seconds", s)
			}
			in.ExpiresIn = n
		}
	}
	return in, nil
}

func (a *api) saveFilterV1(create bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		in, err := filterV1Input(c, create)
		if err != nil {
			return err
		}
		me := server.CurrentUser(c).ID
		var f filters.V1
		if create {
			f, err = a.Filters.V1Create(c.UserContext(), me, in)
		} else {
			f, err = a.Filters.V1Update(c.UserContext(), me, c.Params("id"), in)
		}
		if err != nil {
			return err
		}
		return c.JSON(filterV1Entity(f))
	}
}

func (a *api) deleteFilterV1(c *fiber.Ctx) error {
	if err := a.Filters.V1Delete(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}
