package mastodon

import (
	"context"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/filters"
	"github.com/atrium-social/atrium/internal/posts"
	"github.com/atrium-social/atrium/internal/server"
)

// FilterV2 is Mastodon's Filter entity (v2).
type FilterV2 struct {
	ID           string          `json:"id"`
	Title        string          `json:"title"`
	Context      []string        `json:"context"`
	ExpiresAt    *string         `json:"expires_at"`
	FilterAction string          `json:"filter_action"`
	Keywords     []FilterKeyword `json:"keywords"`
	Statuses     []any           `json:"statuses"`
}

// FilterKeyword is Mastodon's FilterKeyword entity.
type FilterKeyword struct {
	ID        string `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// FilterResult is Mastodon's FilterResult, what a status's `filtered` holds.
type FilterResult struct {
	Filter         FilterV2 `json:"filter"`
	KeywordMatches []string `json:"keyword_matches"`
	StatusMatches  []string `json:"status_matches"`
}

func filterEntity(f *filters.Filter) FilterV2 {
	out := FilterV2{ID: f.ID, Title: f.Title, Context: f.Context(), FilterAction: f.Action, Keywords: []FilterKeyword{}, Statuses: []any{}}
	if f.ExpiresAt != nil {
		s := mastodonTime(*f.ExpiresAt)
		out.ExpiresAt = &s
	}
	for _, k := range f.Keywords {
		out.Keywords = append(out.Keywords, keywordEntity(&k))
	}
	return out
}

func keywordEntity(k *filters.Keyword) FilterKeyword {
	return FilterKeyword{ID: k.ID, Keyword: k.Keyword, WholeWord: k.WholeWord}
}

func (a *api) filterRoutes(app *fiber.App) {
	if a.Filters == nil {
		return
	}
	r, w := server.RequireScope("read:filters"), server.RequireScope("write:filters")
	app.Get("/api/v2/filters", r, a.allFilters)
	app.Post("/api/v2/filters", w, a.saveFilter(true))
	app.Get("/api/v2/filters/:id", r, a.getFilter)
	app.Put("/api/v2/filters/:id", w, a.saveFilter(false))
	app.Delete("/api/v2/filters/:id", w, a.deleteFilter)
	app.Get("/api/v2/filters/:id/keywords", r, a.filterKeywords)
	app.Post("/api/v2/filters/:id/keywords", w, a.addFilterKeyword)
	app.Get("/api/v2/filter_keywords/:id", r, a.getFilterKeyword)
	app.Put("/api/v2/filter_keywords/:id", w, a.updateFilterKeyword)
	app.Delete("/api/v2/filter_keywords/:id", w, a.deleteFilterKeyword)
}

func (a *api) allFilters(c *fiber.Ctx) error {
	fs, err := a.Filters.All(c.UserContext(), server.CurrentUser(c).ID)
	if err != nil {
		return err
	}
	out := make([]FilterV2, len(fs))
	for i, f := range fs {
		out[i] = filterEntity(f)
	}
	return c.JSON(out)
}

func (a *api) getFilter(c *fiber.Ctx) error {
	f, err := a.Filters.Get(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(filterEntity(f))
}

func (a *api) saveFilter(create bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := readParams(c)
		if err != nil {
			return err
		}
		var in filters.Input
		if p.has("title") {
			t := p.str("title")
			in.Title = &t
		}
		if ctxs := p.strs("context"); len(ctxs) > 0 {
			in.Context = ctxs
		}
		if act := p.str("filter_action"); act != "" {
			in.Action = &act
		}
		if p.has("expires_in") {
			e := p.str("expires_in")
			in.ExpiresSet = true
			if e != "" {
				n, err := strconv.Atoi(e)
				if err != nil {
					return errs.Field("expires_in", "%q is not a number of seconds", e)
				}
				in.ExpiresIn = n
			}
		}
		if in.Keywords, err = keywordChanges(p); err != nil {
			return err
		}
		me := server.CurrentUser(c).ID
		var f *filters.Filter
		if create {
			if in.Title == nil {
				return errs.Field("title", "give the filter a title")
			}
			f, err = a.Filters.Create(c.UserContext(), me, in)
		} else {
			f, err = a.Filters.Update(c.UserContext(), me, c.Params("id"), in)
		}
		if err != nil {
			return err
		}
		return c.JSON(filterEntity(f))
	}
}

// keywordAttr matches Rails' nested form keys: keywords_attributes[][keyword] (each repeated
// field starts a new entry) or keywords_attributes[0][keyword] (indexed).
var keywordAttr = regexp.MustCompile(`^keywords_attributes\[(\d*)\]\[(id|keyword|whole_word|_destroy)\]$`)

// keywordChanges reads keywords_attributes[] as a JSON array of objects or as Rails-style
// form fields, which is how apps send them.
func keywordChanges(p *params) ([]filters.KeywordChange, error) {
	var raw []map[string]string
	if v, ok := p.body["keywords_attributes"]; ok {
		arr, ok := v.([]any)
		if !ok {
			if m, isMap := v.(map[string]any); isMap { // {"0": {...}, "1": {...}}
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sortNumeric(keys)
				for _, k := range keys {
					arr = append(arr, m[k])
				}
			} else {
				return nil, errs.Field("keywords_attributes", "send an array of keywords")
			}
		}
		for _, x := range arr {
			obj, ok := x.(map[string]any)
			if !ok {
				return nil, errs.Field("keywords_attributes", "send each keyword as an object")
			}
			e := map[string]string{}
			for k, v := range obj {
				switch t := v.(type) {
				case string:
					e[k] = t
				case bool:
					e[k] = strconv.FormatBool(t)
				case float64:
					e[k] = strconv.FormatFloat(t, 'f', -1, 64)
				}
			}
			raw = append(raw, e)
		}
	} else {
		indexed := map[string]map[string]string{}
		var order []string
		visit := func(k, v []byte) {
			m := keywordAttr.FindStringSubmatch(string(k))
			if m == nil {
				return
			}
			idx, field := m[1], m[2]
			if idx == "" { // unindexed: a field already set starts the next entry
				if len(raw) == 0 || raw[len(raw)-1][field] != "" {
					raw = append(raw, map[string]string{})
				}
				raw[len(raw)-1][field] = string(v)
				return
			}
			if indexed[idx] == nil {
				indexed[idx] = map[string]string{}
				order = append(order, idx)
			}
			indexed[idx][field] = string(v)
		}
		p.c.Request().PostArgs().VisitAll(visit)
		p.c.Context().QueryArgs().VisitAll(visit)
		if form, err := p.c.MultipartForm(); err == nil && form != nil {
			for k, vs := range form.Value {
				for _, v := range vs {
					visit([]byte(k), []byte(v))
				}
			}
		}
		sortNumeric(order)
		for _, idx := range order {
			raw = append(raw, indexed[idx])
		}
	}
	out := make([]filters.KeywordChange, 0, len(raw))
	for _, e := range raw {
		ch := filters.KeywordChange{ID: e["id"], Keyword: e["keyword"]}
		if ww, ok := e["whole_word"]; ok && ww != "" {
			b, err := strconv.ParseBool(ww)
			if err != nil {
				return nil, errs.Field("keywords_attributes", "whole_word %q is not true or false", ww)
			}
			ch.WholeWord = &b
		}
		if d := e["_destroy"]; d == "true" || d == "1" {
			ch.Destroy = true
		}
		out = append(out, ch)
	}
	return out, nil
}

// sortNumeric sorts index keys by number (insertion sort: a handful of keys).
func sortNumeric(keys []string) {
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && num(keys[j]) < num(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func (a *api) deleteFilter(c *fiber.Ctx) error {
	if err := a.Filters.Delete(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func (a *api) filterKeywords(c *fiber.Ctx) error {
	f, err := a.Filters.Get(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(filterEntity(f).Keywords)
}

// wholeWordParam reads whole_word; nil when absent.
func wholeWordParam(p *params) (*bool, error) {
	v, ok, err := p.boolean("whole_word")
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

func (a *api) addFilterKeyword(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ww, err := wholeWordParam(p)
	if err != nil {
		return err
	}
	k, err := a.Filters.AddKeyword(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"), p.str("keyword"), ww)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (a *api) getFilterKeyword(c *fiber.Ctx) error {
	k, err := a.Filters.Keyword(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (a *api) updateFilterKeyword(c *fiber.Ctx) error {
	p, err := readParams(c)
	if err != nil {
		return err
	}
	ww, err := wholeWordParam(p)
	if err != nil {
		return err
	}
	k, err := a.Filters.UpdateKeyword(c.UserContext(), server.CurrentUser(c).ID, c.Params("id"), p.str("keyword"), ww)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(k))
}

func (a *api) deleteFilterKeyword(c *fiber.Ctx) error {
	if err := a.Filters.DeleteKeyword(c.UserContext(), server.CurrentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// screen is what one viewer hides in one context: filters, mutes, blocked domains and (on
// home) members of exclusive lists. It is read once per page.
type screen struct {
	context   string
	matcher   *filters.Matcher
	muted     map[string]filters.Mute
	domains   map[string]bool
	exclusive map[string]bool
}

// timelineContext names the filter context of a timeline route, and whether mutes and domain
// blocks apply there ("" leaves the page as it is: favourites, which the viewer chose).
// An account's own timeline is read on purpose, so mutes do not hide it, as on Mastodon.
func timelineContext(route string) (context string, hideMuted bool) {
	switch route {
	case "/api/v1/timelines/home", "/api/v1/timelines/list/:id":
		return "home", true
	case "/api/v1/timelines/public", "/api/v1/timelines/tag/:tag":
		return "public", true
	case "/api/v1/accounts/:id/statuses":
		return "account", false
	case "/api/v1/statuses/:id/context":
		// As on Mastodon, a thread leaves out muted people's and blocked domains' replies and
		// applies "thread" filters; the status asked for is always shown.
		return "thread", true
	}
	return "", false
}

func (a *api) screenFor(ctx context.Context, viewerID, context string, hideMuted bool) (*screen, error) {
	s := &screen{context: context}
	if a.Filters == nil {
		return s, nil
	}
	var err error
	if s.matcher, err = a.Filters.MatcherFor(ctx, viewerID, context); err != nil {
		return nil, err
	}
	if !hideMuted {
		return s, nil
	}
	if s.muted, err = a.Filters.Muting(ctx, viewerID, nil); err != nil {
		return nil, err
	}
	doms, err := a.Filters.BlockedDomains(ctx, viewerID, "", 0)
	if err != nil {
		return nil, err
	}
	s.domains = make(map[string]bool, len(doms))
	for _, d := range doms {
		s.domains[d] = true
	}
	if context == "home" && a.Lists != nil {
		if s.exclusive, err = a.Lists.ExclusiveMembers(ctx, viewerID); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// hidesAccount reports whether the screen hides what acc posts or does.
func (s *screen) hidesAccount(acc *Account) bool {
	if _, ok := s.muted[acc.ID]; ok {
		return true
	}
	if i := strings.LastIndexByte(acc.Acct, '@'); i >= 0 && s.domains[strings.ToLower(acc.Acct[i+1:])] {
		return true
	}
	return false
}

// apply marks st with the filters it matches and reports whether it is to be dropped (a
// hide filter matched). A share is judged by what it shows, the original.
func (s *screen) apply(st *Status) (drop bool) {
	target := st
	if st.Reblog != nil {
		target = st.Reblog
	}
	if s.matcher.Empty() {
		return false
	}
	results := s.matcher.Match(statusText(target))
	if len(results) == 0 {
		return false
	}
	target.Filtered = make([]any, 0, len(results))
	for _, r := range results {
		if r.Filter.Action == "hide" {
			drop = true
		}
		target.Filtered = append(target.Filtered, FilterResult{Filter: filterEntity(r.Filter), KeywordMatches: r.KeywordMatches, StatusMatches: r.StatusMatchesID})
	}
	return drop
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// statusText is the plain text filters match: the content warning and the content without
// markup. Block-level tags become spaces so words of adjacent paragraphs stay apart.
func statusText(st *Status) string {
	return st.SpoilerText + "\n" + html.UnescapeString(tagRE.ReplaceAllString(st.Content, " "))
}

// ScreenStatuses is the one hook timelines call (timelines.go, timelineWithState): it applies
// the viewer's mutes, domain blocks, exclusive lists and filters to a rendered page, marking
// warn matches in `filtered` and dropping what the viewer hides, as Mastodon does at read
// time. Nothing is removed from the stored feeds, so unmuting brings everything back.
func (a *api) screenStatuses(c *fiber.Ctx, v *posts.Viewer, list []Status) ([]Status, error) {
	if v == nil || a.Filters == nil || len(list) == 0 {
		return list, nil
	}
	context, hideMuted := timelineContext(c.Route().Path)
	if context == "" {
		return list, nil
	}
	s, err := a.cachedScreenFor(c.UserContext(), v.ID, context, hideMuted)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for i := range list {
		st := list[i]
		if hideMuted && (s.hidesAccount(&st.Account) || (st.Reblog != nil && s.hidesAccount(&st.Reblog.Account))) {
			continue
		}
		if context == "home" && c.Route().Path == "/api/v1/timelines/home" && s.exclusive[st.Account.ID] {
			continue // read on its exclusive list instead
		}
		if s.apply(&st) {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// screenNotifications drops notifications from muted accounts (muted with notifications) and
// blocked domains, and those whose status a hide filter in the notifications context matches;
// warn matches are marked on the status. notificationsFor's maps are its input.
func (a *api) screenNotifications(ctx context.Context, viewerID string, list []fiber.Map) ([]fiber.Map, error) {
	if a.Filters == nil || len(list) == 0 {
		return list, nil
	}
	s, err := a.cachedScreenFor(ctx, viewerID, "notifications", true)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, m := range list {
		if acc, ok := m["account"].(Account); ok {
			if mu, muted := s.muted[acc.ID]; muted && mu.Notifications {
				continue
			}
			if _, muted := s.muted[acc.ID]; !muted && s.hidesAccount(&acc) {
				continue // a blocked domain
			}
		}
		if st, ok := m["status"].(Status); ok {
			if st.Reblog != nil { // apply marks the original: never one shared with others
				orig := *st.Reblog
				st.Reblog = &orig
			}
			if s.apply(&st) {
				continue
			}
			m["status"] = st
		}
		out = append(out, m)
	}
	return out, nil
}
