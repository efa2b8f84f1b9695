package mastodon

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/posts"
)

// params reads a parameter however apps send it: query string, urlencoded or multipart
// form, or a JSON body; arrays as name[] (form) or a JSON array.
type params struct {
	c    *fiber.Ctx
	body map[string]any
}

func readParams(c *fiber.Ctx) (*params, error) {
	p := &params{c: c}
	if strings.HasPrefix(string(c.Request().Header.ContentType()), "application/json") && len(c.Body()) > 0 {
		if err := json.Unmarshal(c.Body(), &p.body); err != nil {
			return nil, errs.E(errs.Invalid, "the JSON body is malformed: %v", err)
		}
	}
	return p, nil
}

func (p *params) str(name string) string {
	if v, ok := p.body[name]; ok {
		return scalar(v)
	}
	if v := p.c.FormValue(name); v != "" {
		return v
	}
	return p.c.Query(name)
}

// scalar is a JSON string, number or boolean as text ("" for anything else).
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// nested reads a parameter inside objects, e.g. nested("subscription", "keys", "auth"):
// from a JSON body {"subscription": {"keys": {"auth": ...}}}, or named with brackets
// ("subscription[keys][auth]") in a form, the query or a flat JSON body, as Rails apps send.
func (p *params) nested(path ...string) string {
	var cur any = p.body
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		cur = m[k]
	}
	if cur != nil {
		return scalar(cur)
	}
	return p.str(bracketName(path))
}

// nestedKeys lists the names given inside an object parameter, e.g. nestedKeys("data",
// "alerts") → mention, follow...: so unknown names can be refused rather than ignored.
func (p *params) nestedKeys(path ...string) []string {
	var out []string
	var cur any = p.body
	for _, k := range path {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	if m, ok := cur.(map[string]any); ok {
		for k := range m {
			out = append(out, k)
		}
	}
	prefix := bracketName(path) + "["
	visit := func(k, _ []byte) {
		if name, ok := strings.CutPrefix(string(k), prefix); ok {
			if name, ok = strings.CutSuffix(name, "]"); ok && !strings.ContainsAny(name, "[]") {
				out = append(out, name)
			}
		}
	}
	for k := range p.body {
		visit([]byte(k), nil)
	}
	if form, err := p.c.MultipartForm(); err == nil && form != nil {
		for k := range form.Value {
			visit([]byte(k), nil)
		}
	}
	p.c.Request().PostArgs().VisitAll(visit)
	p.c.Context().QueryArgs().VisitAll(visit)
	return out
}

// bracketName is a nested parameter's form name: a, b, c → a[b][c].
func bracketName(path []string) string {
	name := path[0]
	for _, k := range path[1:] {
		name += "[" + k + "]"
	}
	return name
}

func (p *params) strs(name string) []string {
	if v, ok := p.body[name]; ok {
		var out []string
		if arr, ok := v.([]any); ok {
			for _, x := range arr {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	var out []string
	for _, key := range []string{name + "[]", name} {
		if form, err := p.c.MultipartForm(); err == nil && form != nil {
			out = append(out, form.Value[key]...)
		}
		for _, v := range p.c.Request().PostArgs().PeekMulti(key) {
			out = append(out, string(v))
		}
		for _, v := range p.c.Context().QueryArgs().PeekMulti(key) {
			out = append(out, string(v))
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}

// accountIDs reads id[] (or id), the accounts relationships-like endpoints ask about: at
// most 40, as on Mastodon.
func (p *params) accountIDs() ([]string, error) {
	ids := p.strs("id")
	if len(ids) > 40 {
		return nil, errs.Field("id", "ask for at most 40 accounts at a time")
	}
	return ids, nil
}

// has reports whether the request names a parameter at all (as name or name[]), even empty:
// an edit leaves what it does not name as it was, as Mastodon does.
func (p *params) has(name string) bool {
	if _, ok := p.body[name]; ok {
		return true
	}
	for _, key := range []string{name, name + "[]"} {
		if p.c.Request().PostArgs().Has(key) || p.c.Context().QueryArgs().Has(key) {
			return true
		}
		if form, err := p.c.MultipartForm(); err == nil && form != nil {
			if _, ok := form.Value[key]; ok {
				return true
			}
		}
	}
	return false
}

// boolean reads true/false/1/0; ok is false when absent.
func (p *params) boolean(name string) (value, ok bool, err error) {
	s := strings.ToLower(p.str(name))
	switch s {
	case "":
		return false, false, nil
	case "true", "1", "on", "yes":
		return true, true, nil
	case "false", "0", "off", "no":
		return false, true, nil
	}
	return false, false, errs.Field(name, "%q is not true or false", s)
}

// page reads Mastodon's pagination parameters.
func (p *params) page(def, max int) (posts.Page, error) {
	pg := posts.Page{MaxID: p.str("max_id"), SinceID: p.str("since_id"), MinID: p.str("min_id"), Limit: def}
	if l := p.str("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return pg, errs.Field("limit", "%q is not a positive number", l)
		}
		if n > max {
			n = max
		}
		pg.Limit = n
	}
	return pg, nil
}

// linkHeader sets Mastodon's pagination Link header for a newest-first page of ids.
func linkHeader(c *fiber.Ctx, base string, ids []string) {
	if len(ids) == 0 {
		return
	}
	u := base + c.Path() + "?"
	q := c.Context().QueryArgs()
	var keep []string
	q.VisitAll(func(k, v []byte) {
		switch string(k) {
		case "max_id", "min_id", "since_id":
		default:
			keep = append(keep, string(k)+"="+string(v))
		}
	})
	extra := strings.Join(keep, "&")
	if extra != "" {
		extra = "&" + extra
	}
	c.Set("Link", "<"+u+"max_id="+ids[len(ids)-1]+extra+">; rel=\"next\", <"+u+"min_id="+ids[0]+extra+">; rel=\"prev\"")
}

func errNotFound() error { return errs.E(errs.NotFound, "Record not found") }
