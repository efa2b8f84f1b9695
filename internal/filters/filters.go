// Package filters keeps what a person chooses not to see (Mastodon's filters v2, mutes and
// domain blocks). It only stores choices and answers whether a text matches; the API applies
// them when it reads timelines and notifications, so nothing here changes what the fan-out
// writes or what anybody else sees, and undoing a choice brings everything back.
package filters

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
)

// Contexts where a filter applies, and its actions, as Mastodon names them.
var (
	Contexts = []string{"home", "notifications", "public", "thread", "account"}
	Actions  = []string{"warn", "hide"}
)

// Limits keep one person's filters cheap to apply on every page.
const (
	MaxTitle    = 256
	MaxKeyword  = 256
	MaxKeywords = 100 // per filter
	MaxFilters  = 100 // per person
)

// Filter is one keyword filter.
type Filter struct {
	bun.BaseModel `bun:"table:filters,alias:f"`
	ID            string     `bun:"id,pk"`
	OwnerID       string     `bun:"owner_id"`
	Title         string     `bun:"title"`
	ContextList   string     `bun:"contexts"` // comma-separated; use Context
	Action        string     `bun:"action"`
	ExpiresAt     *time.Time `bun:"expires_at"`
	CreatedAt     time.Time  `bun:"created_at"`
	Keywords      []Keyword  `bun:"-"`
}

// Context lists where the filter applies.
func (f *Filter) Context() []string {
	if f.ContextList == "" {
		return []string{}
	}
	return strings.Split(f.ContextList, ",")
}

// Active reports whether the filter has not expired at now.
func (f *Filter) Active(now time.Time) bool { return f.ExpiresAt == nil || f.ExpiresAt.After(now) }

// Keyword is one word or phrase of a filter.
type Keyword struct {
	bun.BaseModel `bun:"table:filter_keywords,alias:k"`
	ID            string `bun:"id,pk"`
	FilterID      string `bun:"filter_id"`
	Keyword       string `bun:"keyword"`
	WholeWord     bool   `bun:"whole_word"`
}

// Service stores filters, mutes and domain blocks.
type Service struct {
	DB    *db.DB
	Clock clock.Clock
}

func notFound() error { return errs.E(errs.NotFound, "Record not found") }

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// KeywordChange adds (ID ""), changes or (Destroy) removes a keyword, as Mastodon's
// keywords_attributes[] do.
type KeywordChange struct {
	ID        string
	Keyword   string
	WholeWord *bool // nil: true for a new keyword, unchanged otherwise
	Destroy   bool
}

// Input creates or changes a filter; nil fields stay as they are.
type Input struct {
	Title   *string
	Context []string // nil: unchanged
	Action  *string
	// ExpiresIn in seconds; set with ExpiresSet. 0 (or "") means never.
	ExpiresIn  int
	ExpiresSet bool
	Keywords   []KeywordChange
}

func (s *Service) apply(f *Filter, in Input) error {
	if in.Title != nil {
		f.Title = strings.TrimSpace(*in.Title)
	}
	if f.Title == "" {
		return errs.Field("title", "give the filter a title")
	}
	if utf8.RuneCountInString(f.Title) > MaxTitle {
		return errs.Field("title", "use at most %d characters", MaxTitle)
	}
	if in.Context != nil {
		var ctxs []string
		for _, c := range in.Context {
			if !slices.Contains(Contexts, c) {
				return errs.Field("context", "%q is not one of %s", c, strings.Join(Contexts, ", "))
			}
			if !slices.Contains(ctxs, c) {
				ctxs = append(ctxs, c)
			}
		}
		f.ContextList = strings.Join(ctxs, ",")
	}
	if f.ContextList == "" {
		return errs.Field("context", "say where the filter applies (%s)", strings.Join(Contexts, ", "))
	}
	if in.Action != nil && *in.Action != "" {
		if !slices.Contains(Actions, *in.Action) {
			return errs.Field("filter_action", "%q is not warn or hide", *in.Action)
		}
		f.Action = *in.Action
	}
	if in.ExpiresSet {
		if in.ExpiresIn < 0 {
			return errs.Field("expires_in", "give a positive number of seconds")
		}
		f.ExpiresAt = nil
		if in.ExpiresIn > 0 {
			t := s.Clock.Now().Add(time.Duration(in.ExpiresIn) * time.Second)
			f.ExpiresAt = &t
		}
	}
	return nil
}

func checkKeyword(k string) (string, error) {
	k = strings.TrimSpace(k)
	if k == "" {
		return "", errs.Field("keyword", "give a keyword")
	}
	if utf8.RuneCountInString(k) > MaxKeyword {
		return "", errs.Field("keyword", "use at most %d characters", MaxKeyword)
	}
	return k, nil
}

// Create makes a filter with its keywords.
func (s *Service) Create(ctx context.Context, ownerID string, in Input) (*Filter, error) {
	now := s.Clock.Now()
	f := &Filter{ID: ids.New(now), OwnerID: ownerID, Action: "warn", CreatedAt: now}
	if err := s.apply(f, in); err != nil {
		return nil, err
	}
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*Filter)(nil)).Where("owner_id = ?", ownerID).Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxFilters {
			return errs.E(errs.Invalid, "you have %d filters already, the most one can have", n)
		}
		if _, err := tx.NewInsert().Model(f).Exec(ctx); err != nil {
			return err
		}
		return s.changeKeywords(ctx, tx, f.ID, in.Keywords)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, ownerID, f.ID)
}

// Update changes one of owner's filters and its keywords.
func (s *Service) Update(ctx context.Context, ownerID, id string, in Input) (*Filter, error) {
	f, err := s.Get(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(f, in); err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model(f).Column("title", "contexts", "action", "expires_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.changeKeywords(ctx, tx, f.ID, in.Keywords)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, ownerID, id)
}

func (s *Service) changeKeywords(ctx context.Context, tx bun.IDB, filterID string, changes []KeywordChange) error {
	for _, ch := range changes {
		if ch.ID == "" {
			if ch.Destroy {
				continue
			}
			word, err := checkKeyword(ch.Keyword)
			if err != nil {
				return err
			}
			k := &Keyword{ID: ids.New(s.Clock.Now()), FilterID: filterID, Keyword: word, WholeWord: ch.WholeWord == nil || *ch.WholeWord}
			if _, err := tx.NewInsert().Model(k).Exec(ctx); err != nil {
				return err
			}
			continue
		}
		k := new(Keyword)
		if err := tx.NewSelect().Model(k).Where("id = ? AND filter_id = ?", ch.ID, filterID).Scan(ctx); err != nil {
			if noRows(err) {
				return errs.Field("keywords_attributes", "keyword %s is not one of this filter's", ch.ID)
			}
			return err
		}
		if ch.Destroy {
			if _, err := tx.NewDelete().Model(k).WherePK().Exec(ctx); err != nil {
				return err
			}
			continue
		}
		if ch.Keyword != "" {
			word, err := checkKeyword(ch.Keyword)
			if err != nil {
				return err
			}
			k.Keyword = word
		}
		if ch.WholeWord != nil {
			k.WholeWord = *ch.WholeWord
		}
		if _, err := tx.NewUpdate().Model(k).Column("keyword", "whole_word").WherePK().Exec(ctx); err != nil {
			return err
		}
	}
	n, err := tx.NewSelect().Model((*Keyword)(nil)).Where("filter_id = ?", filterID).Count(ctx)
	if err != nil {
		return err
	}
	if n > MaxKeywords {
		return errs.Field("keywords_attributes", "a filter holds at most %d keywords", MaxKeywords)
	}
	return nil
}

// Get returns one of owner's filters with its keywords.
func (s *Service) Get(ctx context.Context, ownerID, id string) (*Filter, error) {
	f := new(Filter)
	if err := s.DB.NewSelect().Model(f).Where("id = ? AND owner_id = ?", id, ownerID).Scan(ctx); err != nil {
		if noRows(err) {
			return nil, notFound()
		}
		return nil, err
	}
	return f, s.withKeywords(ctx, []*Filter{f})
}

// All returns owner's filters with their keywords, oldest first; expired ones too, as
// Mastodon lists them (apps show them as expired).
func (s *Service) All(ctx context.Context, ownerID string) ([]*Filter, error) {
	var out []*Filter
	if err := s.DB.NewSelect().Model(&out).Where("owner_id = ?", ownerID).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	return out, s.withKeywords(ctx, out)
}

func (s *Service) withKeywords(ctx context.Context, fs []*Filter) error {
	if len(fs) == 0 {
		return nil
	}
	idx := map[string]*Filter{}
	var idList []string
	for _, f := range fs {
		f.Keywords = []Keyword{}
		idx[f.ID] = f
		idList = append(idList, f.ID)
	}
	var ks []Keyword
	if err := s.DB.NewSelect().Model(&ks).Where("filter_id IN (?)", bun.In(idList)).Order("id").Scan(ctx); err != nil {
		return err
	}
	for _, k := range ks {
		idx[k.FilterID].Keywords = append(idx[k.FilterID].Keywords, k)
	}
	return nil
}

// Delete removes one of owner's filters.
func (s *Service) Delete(ctx context.Context, ownerID, id string) error {
	if _, err := s.Get(ctx, ownerID, id); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Keyword)(nil)).Where("filter_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*Filter)(nil)).Where("id = ?", id).Exec(ctx)
		return err
	})
}

// AddKeyword adds a keyword to one of owner's filters.
func (s *Service) AddKeyword(ctx context.Context, ownerID, filterID, keyword string, wholeWord *bool) (*Keyword, error) {
	if _, err := s.Get(ctx, ownerID, filterID); err != nil {
		return nil, err
	}
	word, err := checkKeyword(keyword)
	if err != nil {
		return nil, err
	}
	k := &Keyword{ID: ids.New(s.Clock.Now()), FilterID: filterID, Keyword: word, WholeWord: wholeWord == nil || *wholeWord}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*Keyword)(nil)).Where("filter_id = ?", filterID).Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxKeywords {
			return errs.Field("keyword", "a filter holds at most %d keywords", MaxKeywords)
		}
		_, err = tx.NewInsert().Model(k).Exec(ctx)
		return err
	})
	return k, err
}

// Keyword returns one keyword of owner's filters.
func (s *Service) Keyword(ctx context.Context, ownerID, id string) (*Keyword, error) {
	k := new(Keyword)
	err := s.DB.NewSelect().Model(k).Where("k.id = ?", id).
		Where("EXISTS (SELECT 1 FROM filters f WHERE f.id = k.filter_id AND f.owner_id = ?)", ownerID).Scan(ctx)
	if noRows(err) {
		return nil, notFound()
	}
	return k, err
}

// UpdateKeyword changes one keyword of owner's filters.
func (s *Service) UpdateKeyword(ctx context.Context, ownerID, id, keyword string, wholeWord *bool) (*Keyword, error) {
	k, err := s.Keyword(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	if keyword != "" {
		if k.Keyword, err = checkKeyword(keyword); err != nil {
			return nil, err
		}
	}
	if wholeWord != nil {
		k.WholeWord = *wholeWord
	}
	_, err = s.DB.NewUpdate().Model(k).Column("keyword", "whole_word").WherePK().Exec(ctx)
	return k, err
}

// DeleteKeyword removes one keyword of owner's filters.
func (s *Service) DeleteKeyword(ctx context.Context, ownerID, id string) error {
	k, err := s.Keyword(ctx, ownerID, id)
	if err != nil {
		return err
	}
	_, err = s.DB.NewDelete().Model(k).WherePK().Exec(ctx)
	return err
}

// Matcher applies a person's active filters for one context to texts.
type Matcher struct {
	filters []*Filter
	res     [][]*regexp.Regexp // per filter, per keyword
}

// Result is a filter that matched a text, with the keywords that did.
type Result struct {
	Filter          *Filter
	KeywordMatches  []string
	StatusMatchesID []string // Mastodon's status_matches (filters on posts); always empty here
}

// MatcherFor compiles owner's unexpired filters that apply in context.
func (s *Service) MatcherFor(ctx context.Context, ownerID, context string) (*Matcher, error) {
	all, err := s.All(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	m := &Matcher{}
	for _, f := range all {
		if !f.Active(now) || !slices.Contains(f.Context(), context) || len(f.Keywords) == 0 {
			continue
		}
		var res []*regexp.Regexp
		for _, k := range f.Keywords {
			res = append(res, keywordRegexp(k))
		}
		m.filters, m.res = append(m.filters, f), append(m.res, res)
	}
	return m, nil
}

// Empty reports whether no filter applies, so callers can skip the work.
func (m *Matcher) Empty() bool { return m == nil || len(m.filters) == 0 }

// Match returns the filters matching text (plain text), in the filters' order.
func (m *Matcher) Match(text string) []Result {
	if m.Empty() {
		return nil
	}
	var out []Result
	for i, f := range m.filters {
		var hits []string
		for j, re := range m.res[i] {
			if re.MatchString(text) {
				hits = append(hits, f.Keywords[j].Keyword)
			}
		}
		if len(hits) > 0 {
			out = append(out, Result{Filter: f, KeywordMatches: hits, StatusMatchesID: []string{}})
		}
	}
	return out
}

// keywordRegexp matches a keyword case-insensitively. A whole-word keyword is bounded only
// on sides that are word characters, as Mastodon does, so "#tag" or "c++" still match as
// whole words. The bounds are written out rather than \b, which in Go knows only ASCII
// letters and would make "café" never match as a whole word.
func keywordRegexp(k Keyword) *regexp.Regexp {
	expr := regexp.QuoteMeta(k.Keyword)
	if k.WholeWord {
		first, _ := utf8.DecodeRuneInString(k.Keyword)
		last, _ := utf8.DecodeLastRuneInString(k.Keyword)
		if isWord(first) {
			expr = `(?:^|[^\p{L}\p{N}_])` + expr
		}
		if isWord(last) {
			expr += `(?:$|[^\p{L}\p{N}_])`
		}
	}
	return regexp.MustCompile(`(?i)` + expr)
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
