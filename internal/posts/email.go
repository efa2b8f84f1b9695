package posts

import (
	"context"
	"fmt"

	"github.com/atrium-social/atrium/internal/jobs"
	"github.com/atrium-social/atrium/internal/mail"
)

// Job kinds the social core queues.
const (
	JobAnnouncementEmail = "announcement_email" // payload: post id; fans out to one job a person
	JobAnnouncementMail1 = "announcement_email_one"
)

type mailOne struct {
	PostID, UserID string
}

// RegisterJobs installs the handlers for the core's jobs. Sending is split into one job per
// person, deduplicated by (post, person), so a crash mid-way resends to nobody twice and a
// bad address does not hold up the rest.
func (s *Service) RegisterJobs(q *jobs.Queue, sender mail.Sender) {
	q.Handle(JobAnnouncementEmail, func(ctx context.Context, j *jobs.Job) error {
		var id string
		if err := j.Decode(&id); err != nil {
			return jobs.Permanent(err)
		}
		p, err := s.load(ctx, s.DB, id)
		if err != nil || p.DeletedAt != nil {
			return jobs.Permanent(fmt.Errorf("announcement %s is gone", id))
		}
		people, err := s.Audience(ctx, s.DB, p)
		if err != nil {
			return err
		}
		for _, u := range people {
			if u.ID == p.AuthorID {
				continue
			}
			if err := q.Enqueue(ctx, s.DB, JobAnnouncementMail1, mailOne{PostID: p.ID, UserID: u.ID},
				jobs.Dedupe("annmail:"+p.ID+":"+u.ID)); err != nil {
				return err
			}
		}
		q.Wake()
		return nil
	})
	q.Handle(JobAnnouncementMail1, func(ctx context.Context, j *jobs.Job) error {
		var m mailOne
		if err := j.Decode(&m); err != nil {
			return jobs.Permanent(err)
		}
		p, err := s.load(ctx, s.DB, m.PostID)
		if err != nil || p.DeletedAt != nil {
			return nil // withdrawn before it was sent
		}
		u, err := s.Accounts.Get(ctx, m.UserID)
		if err != nil || !u.Active() {
			return nil
		}
		author, err := s.Accounts.Get(ctx, p.AuthorID)
		if err != nil {
			return err
		}
		link := s.BaseURL(ctx) + "/posts/" + p.ID
		return sender.Send(ctx, mail.Message{To: u.Email, Subject: "Announcement from " + author.Name(),
			Body: fmt.Sprintf("%s posted an announcement:\n\n%s\n\nRead it and mark it as read: %s\n", author.Name(), p.ContentText, link)})
	}, jobs.Concurrency(2))
}
