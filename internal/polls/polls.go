// Package polls holds polls attached to posts and statuses scheduled for later, the two
// parts of the Mastodon client API that ride on creating a post. Polls are local: they are
// not federated as ActivityPub Questions, so partners see the post's text without the poll.
package polls

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/clock"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/posts"
)

// Mastodon's limits, also reported by the instance endpoint's configuration.
const (
	MinOptions   = 2
	MaxOptions   = 4
	MaxOptionLen = 50
	MinExpiry    = 5 * time.Minute
	MaxExpiry    = 7 * 24 * time.Hour
)

// Service stores polls and votes and publishes scheduled statuses.
type Service struct {
	DB       *db.DB
	Clock    clock.Clock
	Posts    *posts.Service
	Accounts *accounts.Service
	Jobs     *jobs.Queue // publishes scheduled statuses; nil refuses scheduling
	// Ended tells the voters and the author that the poll of post p ended (Mastodon's "poll"
	// notification), in the job's transaction; nil: nobody is told.
	Ended func(ctx context.Context, tx bun.IDB, p *posts.Post, voters []string) error
}

// JobEnded is the job that tells people a poll ended; it runs at the poll's end.
const JobEnded = "polls.ended"

type endedJob struct {
	PollID string `json:"poll_id"`
}

// Spec is a poll as submitted with a post.
type Spec struct {
	Options    []string      `json:"options"`
	ExpiresIn  time.Duration `json:"-"`
	ExpiresSec int           `json:"expires_in"` // ExpiresIn in seconds, as Mastodon's params show it
	Multiple   bool          `json:"multiple"`
	HideTotals bool          `json:"hide_totals"`
}

// Validate checks a spec against Mastodon's limits, with the field at fault.
func (sp *Spec) Validate() error {
	if sp.ExpiresIn == 0 && sp.ExpiresSec != 0 {
		sp.ExpiresIn = time.Duration(sp.ExpiresSec) * time.Second
	}
	sp.ExpiresSec = int(sp.ExpiresIn / time.Second)
	if len(sp.Options) < MinOptions || len(sp.Options) > MaxOptions {
		return errs.Field("poll[options]", "a poll has %d to %d options; this one has %d", MinOptions, MaxOptions, len(sp.Options))
	}
	seen := map[string]bool{}
	for i, o := range sp.Options {
		o = strings.TrimSpace(o)
		if o == "" {
			return errs.Field("poll[options]", "option %d is empty", i+1)
		}
		if n := utf8.RuneCountInString(o); n > MaxOptionLen {
			return errs.Field("poll[options]", "options are limited to %d characters; option %d has %d", MaxOptionLen, i+1, n)
		}
		if seen[o] {
			return errs.Field("poll[options]", "option %q appears twice", o)
		}
		seen[o] = true
		sp.Options[i] = o
	}
	if sp.ExpiresIn < MinExpiry || sp.ExpiresIn > MaxExpiry {
		return errs.Field("poll[expires_in]", "a poll runs from 300 seconds (5 minutes) to 604800 seconds (7 days)")
	}
	return nil
}

// Poll is a stored poll.
type Poll struct {
	bun.BaseModel `bun:"table:polls"`
	ID            string    `bun:"id,pk"`
	PostID        string    `bun:"post_id"`
	AuthorID      string    `bun:"author_id"`
	OptionsJSON   string    `bun:"options"`
	ExpiresAt     time.Time `bun:"expires_at"`
	Multiple      bool      `bun:"multiple"`
	HideTotals    bool      `bun:"hide_totals"`
	VotesCount    int       `bun:"votes_count"`
	VotersCount   int       `bun:"voters_count"`
	CreatedAt     time.Time `bun:"created_at"`
}

// View is a poll as one viewer sees it.
type View struct {
	Poll
	Options  []string
	Counts   []int // per option
	Expired  bool
	Voted    bool  // the viewer has voted
	OwnVotes []int // the viewer's choices
	// Mine is true when the viewer wrote the poll: authors see hidden totals.
	Mine bool
}

// extra writes a poll with its post (posts.Extra), and removes the scheduled status being
// published, when there is one, in the same transaction.
type extra struct {
	s         *Service
	spec      *Spec
	scheduled *ScheduledStatus
}

func (e *extra) HasPoll() bool { return e.spec != nil }

func (e *extra) Write(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	if e.scheduled != nil {
		// Deleting the row in the post's transaction makes publishing happen once: a retry of
		// the job, or a DELETE from the person meanwhile, finds nothing and posts nothing.
		res, err := tx.NewDelete().Model((*ScheduledStatus)(nil)).Where("id = ? AND version = ?", e.scheduled.ID, e.scheduled.Version).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errGone{}
		}
	}
	if e.spec == nil {
		return nil
	}
	return e.s.insert(ctx, tx, p, e.spec, p.CreatedAt)
}

// insert stores the poll of spec for post p, running from start, and queues its end.
func (s *Service) insert(ctx context.Context, tx bun.IDB, p *posts.Post, spec *Spec, start time.Time) error {
	opts, err := json.Marshal(spec.Options)
	if err != nil {
		return err
	}
	pl := &Poll{ID: ids.New(start), PostID: p.ID, AuthorID: p.AuthorID, OptionsJSON: string(opts),
		ExpiresAt: start.Add(spec.ExpiresIn).UTC(), Multiple: spec.Multiple, HideTotals: spec.HideTotals, CreatedAt: start}
	if _, err = tx.NewInsert().Model(pl).Exec(ctx); err != nil {
		return err
	}
	if s.Jobs == nil || s.Ended == nil {
		return nil
	}
	// Queued with the poll, so the notice is as durable as the poll; dedupe by poll.
	return s.Jobs.Enqueue(ctx, tx, JobEnded, endedJob{PollID: pl.ID}, jobs.RunAt(pl.ExpiresAt), jobs.Dedupe("poll-ended:"+pl.ID))
}

// editExtra rewrites a post's poll on an edit (posts.Change.Extra).
type editExtra struct {
	s    *Service
	spec *Spec // nil: the edit has no poll
}

// ForEdit is what posts.Change.Extra needs for an edit that states the poll spec (nil: none),
// as Mastodon treats it: the same options (and choice mode) keep the poll, its votes and its
// end, changing only whether totals are hidden; other options replace it, and the votes on
// the old options go with it; no poll removes it.
func (s *Service) ForEdit(spec *Spec) posts.Extra { return &editExtra{s: s, spec: spec} }

func (e *editExtra) HasPoll() bool { return e.spec != nil }

func (e *editExtra) Write(ctx context.Context, tx bun.IDB, p *posts.Post) error {
	old := new(Poll)
	err := tx.NewSelect().Model(old).Where("post_id = ?", p.ID).Scan(ctx)
	exists := err == nil
	if err != nil && !errs.Is(db.Err(err, "poll"), errs.NotFound) {
		return err
	}
	if exists && e.spec != nil && old.Multiple == e.spec.Multiple && slices.Equal(old.options(), e.spec.Options) {
		_, err := tx.NewUpdate().Model(old).Set("hide_totals = ?", e.spec.HideTotals).WherePK().Exec(ctx)
		return err
	}
	if exists {
		if _, err := tx.NewDelete().Table("poll_votes").Where("poll_id = ?", old.ID).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(old).WherePK().Exec(ctx); err != nil {
			return err
		}
	}
	if e.spec == nil {
		return nil
	}
	return e.s.insert(ctx, tx, p, e.spec, e.s.Clock.Now())
}

// options decodes the stored options (nil when unreadable).
func (pl *Poll) options() []string {
	var out []string
	_ = json.Unmarshal([]byte(pl.OptionsJSON), &out)
	return out
}

// ended tells the voters and the author that a poll ended. A poll deleted with its post
// meanwhile tells nobody; the notifications are written once, with the job's completion.
func (s *Service) ended(ctx context.Context, ej endedJob) error {
	return s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		pl := new(Poll)
		if err := tx.NewSelect().Model(pl).Where("id = ?", ej.PollID).Scan(ctx); err != nil {
			if errs.Is(db.Err(err, "poll"), errs.NotFound) {
				return nil
			}
			return err
		}
		p := new(posts.Post)
		if err := tx.NewSelect().Model(p).Where("id = ?", pl.PostID).Scan(ctx); err != nil {
			if errs.Is(db.Err(err, "post"), errs.NotFound) {
				return nil
			}
			return err
		}
		// A job that ran but was not marked done (a crash between) runs again: the author's
		// notice, always written, says it already ran.
		told, err := tx.NewSelect().Table("notifications").Where("account_id = ? AND kind = 'poll' AND post_id = ?", p.AuthorID, p.ID).Exists(ctx)
		if err != nil || told {
			return err
		}
		var voters []string
		if err := tx.NewSelect().Table("poll_votes").ColumnExpr("DISTINCT account_id").Where("poll_id = ?", pl.ID).
			Scan(ctx, &voters); err != nil {
			return err
		}
		return s.Ended(ctx, tx, p, voters)
	})
}

// WithPost returns what posts.NewPost.Extra needs to create the poll of spec (already
// validated) with its post.
func (s *Service) WithPost(spec *Spec) posts.Extra { return &extra{s: s, spec: spec} }

func notFound() error { return errs.E(errs.NotFound, "Record not found") }

// load returns a poll whose post the viewer may see; any other is not found, so a 404 never
// confirms that a hidden poll exists.
func (s *Service) load(ctx context.Context, idb bun.IDB, v *posts.Viewer, id string) (*Poll, error) {
	pl := new(Poll)
	if err := idb.NewSelect().Model(pl).Where("id = ?", id).Scan(ctx); err != nil {
		if e := db.Err(err, "Record not found"); errs.Is(e, errs.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	// The post's visibility is the poll's (posts.Get applies the one rule).
	if _, err := s.Posts.Get(ctx, v, pl.PostID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	return pl, nil
}

// Get returns a poll the viewer may see.
func (s *Service) Get(ctx context.Context, v *posts.Viewer, id string) (*View, error) {
	pl, err := s.load(ctx, s.DB, v, id)
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, v, []*Poll{pl})
	if err != nil {
		return nil, err
	}
	return views[pl.ID], nil
}

// ForPosts returns the polls of the posts of a page by post id, for a viewer who may see
// the posts. Posts without HasPoll are skipped, so a page without polls costs no query.
func (s *Service) ForPosts(ctx context.Context, v *posts.Viewer, ps []*posts.Post) (map[string]*View, error) {
	var postIDs []string
	for _, p := range ps {
		if p.HasPoll {
			postIDs = append(postIDs, p.ID)
		}
	}
	if len(postIDs) == 0 {
		return nil, nil
	}
	var pls []*Poll
	if err := s.DB.NewSelect().Model(&pls).Where("post_id IN (?)", bun.In(postIDs)).Scan(ctx); err != nil {
		return nil, err
	}
	byID, err := s.views(ctx, v, pls)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*View, len(byID))
	for _, pv := range byID {
		out[pv.PostID] = pv
	}
	return out, nil
}

// views adds counts and the viewer's votes to polls, in one query.
func (s *Service) views(ctx context.Context, v *posts.Viewer, pls []*Poll) (map[string]*View, error) {
	now := s.Clock.Now()
	out := make(map[string]*View, len(pls))
	pollIDs := make([]string, 0, len(pls))
	viewerID := ""
	if v != nil {
		viewerID = v.ID
	}
	for _, pl := range pls {
		pv := &View{Poll: *pl, Expired: !now.Before(pl.ExpiresAt), Mine: pl.AuthorID == viewerID}
		if err := json.Unmarshal([]byte(pl.OptionsJSON), &pv.Options); err != nil {
			return nil, err
		}
		pv.Counts = make([]int, len(pv.Options))
		out[pl.ID] = pv
		pollIDs = append(pollIDs, pl.ID)
	}
	var rows []struct {
		PollID string `bun:"poll_id"`
		Choice int    `bun:"choice"`
		N      int    `bun:"n"`
		Mine   int    `bun:"mine"`
	}
	err := s.DB.NewSelect().Table("poll_votes").Column("poll_id", "choice").ColumnExpr("COUNT(*) AS n").
		ColumnExpr("SUM(CASE WHEN account_id = ? THEN 1 ELSE 0 END) AS mine", viewerID).
		Where("poll_id IN (?)", bun.In(pollIDs)).Group("poll_id", "choice").Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		pv := out[r.PollID]
		if pv == nil || r.Choice < 0 || r.Choice >= len(pv.Counts) {
			continue
		}
		pv.Counts[r.Choice] = r.N
		if r.Mine > 0 {
			pv.Voted = true
			pv.OwnVotes = append(pv.OwnVotes, r.Choice)
		}
	}
	for _, pv := range out {
		slices.Sort(pv.OwnVotes)
	}
	return out, nil
}

// Vote records u's choices (0-based) in a poll they may see: once per person, before the
// poll ends, never on their own poll, one choice unless the poll allows several.
func (s *Service) Vote(ctx context.Context, u *accounts.User, pollID string, choices []int) (*View, error) {
	v := posts.ViewerOf(u)
	if v == nil {
		return nil, errs.E(errs.Forbidden, "your account is deactivated")
	}
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		pl, err := s.load(ctx, tx, v, pollID)
		if err != nil {
			return err
		}
		var titles []string
		if err := json.Unmarshal([]byte(pl.OptionsJSON), &titles); err != nil {
			return err
		}
		opts := len(titles)
		now := s.Clock.Now()
		switch {
		case !now.Before(pl.ExpiresAt):
			return errs.Field("choices", "this poll has ended")
		case pl.AuthorID == u.ID:
			return errs.Field("choices", "you cannot vote in your own poll")
		case len(choices) == 0:
			return errs.Field("choices", "choose an option")
		case len(choices) > 1 && !pl.Multiple:
			return errs.Field("choices", "this poll allows one choice")
		}
		seen := map[int]bool{}
		for _, c := range choices {
			if c < 0 || c >= opts {
				return errs.Field("choices", "%d is not an option: choose from 0 to %d", c, opts-1)
			}
			if seen[c] {
				return errs.Field("choices", "option %d is chosen twice", c)
			}
			seen[c] = true
		}
		// The voters row decides: a second vote, even one sent at the same time, inserts
		// nothing and is refused.
		res, err := tx.NewRaw("INSERT INTO poll_voters (poll_id, account_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			pl.ID, u.ID, now.UTC()).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Field("choices", "you have already voted in this poll")
		}
		for _, c := range choices {
			if _, err := tx.NewRaw("INSERT INTO poll_votes (poll_id, account_id, choice) VALUES (?, ?, ?)", pl.ID, u.ID, c).Exec(ctx); err != nil {
				return err
			}
		}
		_, err = tx.NewUpdate().Model((*Poll)(nil)).Set("votes_count = votes_count + ?", len(choices)).
			Set("voters_count = voters_count + 1").Where("id = ?", pl.ID).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, v, pollID)
}
