package filters

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/errs"
)

// V1 is a legacy (Mastodon v1) filter: one keyword of a v2 filter, seen with its filter's
// contexts, action and expiry, as Mastodon maps them. Its id is the keyword's.
type V1 struct {
	Keyword Keyword
	Filter  *Filter
}

// Irreversible is v1's name for the hide action.
func (f V1) Irreversible() bool { return f.Filter.Action == "hide" }

// V1Input creates or changes a legacy filter; nil fields stay as they are.
type V1Input struct {
	Phrase       *string
	Context      []string // nil: unchanged
	WholeWord    *bool
	Irreversible *bool
	// ExpiresIn in seconds, set with ExpiresSet; 0 means never.
	ExpiresIn  int
	ExpiresSet bool
}

func (in V1Input) filterInput() Input {
	fi := Input{Title: in.Phrase, Context: in.Context, ExpiresIn: in.ExpiresIn, ExpiresSet: in.ExpiresSet}
	if in.Irreversible != nil {
		a := "warn"
		if *in.Irreversible {
			a = "hide"
		}
		fi.Action = &a
	}
	return fi
}

// V1List lists owner's keywords as legacy filters, oldest filter first.
func (s *Service) V1List(ctx context.Context, ownerID string) ([]V1, error) {
	fs, err := s.All(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("legacy filters of %s: %w", ownerID, err)
	}
	out := []V1{}
	for _, f := range fs {
		for _, k := range f.Keywords {
			out = append(out, V1{Keyword: k, Filter: f})
		}
	}
	return out, nil
}

// V1Get returns one of owner's legacy filters by keyword id.
func (s *Service) V1Get(ctx context.Context, ownerID, id string) (V1, error) {
	k, err := s.Keyword(ctx, ownerID, id)
	if err != nil {
		return V1{}, err
	}
	f, err := s.Get(ctx, ownerID, k.FilterID)
	if err != nil {
		return V1{}, err
	}
	return V1{Keyword: *k, Filter: f}, nil
}

// V1Create makes a v2 filter titled with the phrase, holding the phrase as its one keyword
// (what Mastodon does for a v1 filter).
func (s *Service) V1Create(ctx context.Context, ownerID string, in V1Input) (V1, error) {
	if in.Phrase == nil {
		empty := ""
		in.Phrase = &empty
	}
	word, err := checkKeyword(*in.Phrase)
	if err != nil {
		return V1{}, v1Field(err)
	}
	in.Phrase = &word
	if in.Context == nil {
		in.Context = []string{}
	}
	f, err := s.Create(ctx, ownerID, with(in.filterInput(), KeywordChange{Keyword: word, WholeWord: in.WholeWord}))
	if err != nil {
		return V1{}, v1Field(err)
	}
	if len(f.Keywords) == 0 {
		return V1{}, fmt.Errorf("legacy filter %s has no keyword", f.ID)
	}
	return V1{Keyword: f.Keywords[0], Filter: f}, nil
}

func with(in Input, k KeywordChange) Input {
	in.Keywords = []KeywordChange{k}
	return in
}

// V1Update changes a legacy filter: its keyword, and its filter's contexts, action and expiry
// (which the filter's other keywords share, as on Mastodon). A filter made by V1Create is
// titled with its phrase, and keeps following it.
func (s *Service) V1Update(ctx context.Context, ownerID, id string, in V1Input) (V1, error) {
	cur, err := s.V1Get(ctx, ownerID, id)
	if err != nil {
		return V1{}, err
	}
	fi := in.filterInput()
	fi.Title = nil
	change := KeywordChange{ID: id, WholeWord: in.WholeWord}
	if in.Phrase != nil {
		word, err := checkKeyword(*in.Phrase)
		if err != nil {
			return V1{}, v1Field(err)
		}
		change.Keyword = word
		if cur.Filter.Title == cur.Keyword.Keyword && len(cur.Filter.Keywords) == 1 {
			fi.Title = &word
		}
	}
	if _, err := s.Update(ctx, ownerID, cur.Filter.ID, with(fi, change)); err != nil {
		return V1{}, v1Field(err)
	}
	return s.V1Get(ctx, ownerID, id)
}

// V1Delete removes a legacy filter's keyword, and its filter once it has no keyword left (an
// empty v2 filter would match nothing and only clutter the list).
func (s *Service) V1Delete(ctx context.Context, ownerID, id string) error {
	cur, err := s.V1Get(ctx, ownerID, id)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*Keyword)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("delete legacy filter %s: %w", id, err)
		}
		left, err := tx.NewSelect().Model((*Keyword)(nil)).Where("filter_id = ?", cur.Filter.ID).Exists(ctx)
		if err != nil || left {
			return err
		}
		if _, err := tx.NewDelete().Model((*Filter)(nil)).Where("id = ?", cur.Filter.ID).Exec(ctx); err != nil {
			return fmt.Errorf("delete the emptied filter %s: %w", cur.Filter.ID, err)
		}
		return nil
	})
}

// v1Field renames the v2 inputs at fault in err as v1 names them: a legacy filter's title
// and keyword are both its phrase.
func v1Field(err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		switch e.Field {
		case "title", "keyword", "keywords_attributes":
			c := *e
			c.Field = "phrase"
			return &c
		}
	}
	return err
}
