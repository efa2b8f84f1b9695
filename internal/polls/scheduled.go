package polls

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/db"
	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/ids"
	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/posts"
)

// JobPublish publishes a scheduled status when it is due.
const JobPublish = "publish_scheduled_status"

// MinScheduleAhead is how far ahead a status must be scheduled, as on Mastodon.
const MinScheduleAhead = 5 * time.Minute

// errGone stops publishing a scheduled status deleted or rescheduled meanwhile.
type errGone struct{}

func (errGone) Error() string { return "the scheduled status is gone or was rescheduled" }

// Params is what a scheduled status will post: Mastodon's ScheduledStatus params, plus the
// Atrium fields a post can carry (under atrium_*). It is stored as JSON, so the names are
// the stored format: add fields, never rename them.
type Params struct {
	Text           string         `json:"text"`
	Visibility     string         `json:"visibility"`
	Audience       posts.Audience `json:"atrium_audience"`
	InReplyToID    *string        `json:"in_reply_to_id"`
	MediaIDs       []string       `json:"media_ids"`
	Sensitive      bool           `json:"sensitive"`
	SpoilerText    string         `json:"spoiler_text"`
	Language       *string        `json:"language"`
	Poll           *Spec          `json:"poll"`
	Recipients     []string       `json:"atrium_recipients,omitempty"`
	GroupID        string         `json:"atrium_group_id,omitempty"`
	Important      bool           `json:"atrium_important,omitempty"`
	ImportantUntil *time.Time     `json:"atrium_important_until,omitempty"`
}

// ParamsOf records a submission; visibility is the Mastodon name of its audience.
func ParamsOf(in posts.NewPost, poll *Spec, visibility string) Params {
	p := Params{Text: in.Text, Visibility: visibility, Audience: in.Audience, MediaIDs: in.AttachmentIDs,
		Sensitive: in.Sensitive, SpoilerText: in.SpoilerText, Poll: poll, Recipients: in.Recipients, GroupID: in.GroupID,
		Important: in.Important, ImportantUntil: in.ImportantUntil}
	if p.MediaIDs == nil {
		p.MediaIDs = []string{}
	}
	if in.InReplyToID != "" {
		p.InReplyToID = &in.InReplyToID
	}
	if in.Language != "" {
		p.Language = &in.Language
	}
	return p
}

func (p Params) newPost() posts.NewPost {
	in := posts.NewPost{Text: p.Text, Audience: p.Audience, AttachmentIDs: p.MediaIDs, Sensitive: p.Sensitive,
		SpoilerText: p.SpoilerText, Recipients: p.Recipients, GroupID: p.GroupID, Important: p.Important, ImportantUntil: p.ImportantUntil}
	if p.InReplyToID != nil {
		in.InReplyToID = *p.InReplyToID
	}
	if p.Language != nil {
		in.Language = *p.Language
	}
	return in
}

// ScheduledStatus is a status waiting for its time.
type ScheduledStatus struct {
	bun.BaseModel `bun:"table:scheduled_statuses"`
	ID            string    `bun:"id,pk"`
	AccountID     string    `bun:"account_id"`
	ScheduledAt   time.Time `bun:"scheduled_at"`
	ParamsJSON    string    `bun:"params"`
	Version       int       `bun:"version"`
	CreatedAt     time.Time `bun:"created_at"`

	Params Params `bun:"-"`
}

type publishJob struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// checkTime refuses times too soon: Mastodon's rule, so that a status is never "scheduled"
// for a moment already past by the time the job runs.
func (s *Service) checkTime(at time.Time) error {
	if at.Before(s.Clock.Now().Add(MinScheduleAhead)) {
		return errs.Field("scheduled_at", "schedule a status at least 5 minutes ahead")
	}
	return nil
}

// Schedule stores a status to publish at at, and queues the job that will, in the same
// transaction.
func (s *Service) Schedule(ctx context.Context, u *accounts.User, at time.Time, p Params) (*ScheduledStatus, error) {
	if s.Jobs == nil {
		return nil, errs.E(errs.Unavailable, "scheduling is not set up on this node")
	}
	if !u.Active() {
		return nil, errs.E(errs.Forbidden, "your account is deactivated")
	}
	if err := s.checkTime(at); err != nil {
		return nil, err
	}
	if p.Text == "" && len(p.MediaIDs) == 0 {
		return nil, errs.Field("status", "write something or attach a file")
	}
	if p.Poll != nil {
		if err := p.Poll.Validate(); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	ss := &ScheduledStatus{ID: ids.New(now), AccountID: u.ID, ScheduledAt: at.UTC(), ParamsJSON: string(b), CreatedAt: now, Params: p}
	err = s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(ss).Exec(ctx); err != nil {
			return err
		}
		return s.Jobs.Enqueue(ctx, tx, JobPublish, publishJob{ID: ss.ID, Version: ss.Version}, jobs.RunAt(ss.ScheduledAt))
	})
	if err != nil {
		return nil, err
	}
	return ss, nil
}

func (s *Service) decode(ss *ScheduledStatus) error {
	return json.Unmarshal([]byte(ss.ParamsJSON), &ss.Params)
}

// Scheduled lists u's scheduled statuses, newest first, after the Mastodon page bounds.
func (s *Service) Scheduled(ctx context.Context, u *accounts.User, pg posts.Page) ([]*ScheduledStatus, error) {
	var out []*ScheduledStatus
	q := s.DB.NewSelect().Model(&out).Where("account_id = ?", u.ID)
	if pg.MaxID != "" {
		q = q.Where("id < ?", pg.MaxID)
	}
	if pg.SinceID != "" {
		q = q.Where("id > ?", pg.SinceID)
	}
	if pg.MinID != "" {
		q = q.Where("id > ?", pg.MinID).Order("id ASC")
	} else {
		q = q.Order("id DESC")
	}
	if err := q.Limit(int64(pg.Limit)).Scan(ctx); err != nil {
		return nil, err
	}
	if pg.MinID != "" { // read oldest first to page forward; shown newest first
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for _, ss := range out {
		if err := s.decode(ss); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScheduledStatus returns one of u's scheduled statuses; anyone else's is not found.
func (s *Service) ScheduledStatus(ctx context.Context, u *accounts.User, id string) (*ScheduledStatus, error) {
	return s.scheduledIn(ctx, s.DB, u, id)
}

func (s *Service) scheduledIn(ctx context.Context, idb bun.IDB, u *accounts.User, id string) (*ScheduledStatus, error) {
	ss := new(ScheduledStatus)
	if err := idb.NewSelect().Model(ss).Where("id = ? AND account_id = ?", id, u.ID).Scan(ctx); err != nil {
		if errs.Is(db.Err(err, "Record not found"), errs.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	return ss, s.decode(ss)
}

// Reschedule moves a scheduled status to at. The job queued for the old time stays and
// finds a newer version when it runs, so it does nothing; a new one is queued for at.
func (s *Service) Reschedule(ctx context.Context, u *accounts.User, id string, at time.Time) (*ScheduledStatus, error) {
	if err := s.checkTime(at); err != nil {
		return nil, err
	}
	var ss *ScheduledStatus
	err := s.DB.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if ss, err = s.scheduledIn(ctx, tx, u, id); err != nil {
			return err
		}
		ss.ScheduledAt, ss.Version = at.UTC(), ss.Version+1
		if _, err := tx.NewUpdate().Model(ss).Column("scheduled_at", "version").WherePK().Exec(ctx); err != nil {
			return err
		}
		return s.Jobs.Enqueue(ctx, tx, JobPublish, publishJob{ID: ss.ID, Version: ss.Version}, jobs.RunAt(ss.ScheduledAt))
	})
	return ss, err
}

// Unschedule deletes a scheduled status; its job then finds nothing to publish.
func (s *Service) Unschedule(ctx context.Context, u *accounts.User, id string) error {
	res, err := s.DB.NewDelete().Model((*ScheduledStatus)(nil)).Where("id = ? AND account_id = ?", id, u.ID).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound()
	}
	return nil
}

// RegisterJobs installs the publishing job and the poll-ended job. PostCreated is called with each published post
// (link previews, as the API does after creating one); nil skips it.
func (s *Service) RegisterJobs(q *jobs.Queue, postCreated func(ctx context.Context, p *posts.Post)) {
	q.Handle(JobEnded, func(ctx context.Context, j *jobs.Job) error {
		var ej endedJob
		if err := j.Decode(&ej); err != nil {
			return jobs.Permanent(err)
		}
		if s.Ended == nil {
			return nil
		}
		return s.ended(ctx, ej)
	})
	q.Handle(JobPublish, func(ctx context.Context, j *jobs.Job) error {
		var pj publishJob
		if err := j.Decode(&pj); err != nil {
			return jobs.Permanent(err)
		}
		p, err := s.publish(ctx, pj)
		if err != nil || p == nil {
			return err
		}
		if postCreated != nil {
			postCreated(ctx, p)
		}
		return nil
	})
}

// publish posts a due scheduled status through posts.Create, as if its author posted it now;
// the row is deleted in the post's transaction. Nothing happens for a row deleted or
// rescheduled since the job was queued. A status that can no longer be posted (the reply's
// post was deleted, the author left) is dropped: retrying would fail the same way.
func (s *Service) publish(ctx context.Context, pj publishJob) (*posts.Post, error) {
	ss := new(ScheduledStatus)
	err := s.DB.NewSelect().Model(ss).Where("id = ? AND version = ?", pj.ID, pj.Version).Scan(ctx)
	if err != nil {
		if errs.Is(db.Err(err, "gone"), errs.NotFound) {
			return nil, nil
		}
		return nil, err
	}
	if err := s.decode(ss); err != nil {
		return nil, jobs.Permanent(err)
	}
	u, err := s.Accounts.Get(ctx, ss.AccountID)
	drop := func(cause error) (*posts.Post, error) {
		if _, err := s.DB.NewDelete().Model(ss).WherePK().Exec(ctx); err != nil {
			return nil, err
		}
		return nil, jobs.Permanent(cause)
	}
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return drop(err)
		}
		return nil, err
	}
	in := ss.Params.newPost()
	in.Extra = &extra{s: s, spec: ss.Params.Poll, scheduled: ss}
	if ss.Params.Poll != nil {
		if err := ss.Params.Poll.Validate(); err != nil { // restores ExpiresIn from the seconds stored
			return drop(err)
		}
	}
	p, err := s.Posts.Create(ctx, u, in)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, errGone{}):
		return nil, nil
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Forbidden), errs.Is(err, errs.NotFound):
		return drop(err)
	}
	return nil, err
}
