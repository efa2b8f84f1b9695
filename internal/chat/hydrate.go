package chat

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/previews"
)

// hydrate loads the attachments, reaction counts, the viewer's reaction (viewerID "" for
// none), the link cards and the answered messages of ms, a query each.
func (s *Service) hydrate(ctx context.Context, idb bun.IDB, viewerID string, ms []*Message) error {
	if len(ms) == 0 {
		return nil
	}
	idList := make([]string, 0, len(ms))
	byID := make(map[string]*Message, len(ms))
	var links, parents []string
	for _, m := range ms {
		idList = append(idList, m.ID)
		byID[m.ID] = m
		m.Attachments, m.Reactions, m.MyReaction, m.Card, m.ReplyTo = nil, map[string]int{}, "", nil, nil
		if m.LinkURL != "" {
			links = append(links, m.LinkURL)
		}
		if m.InReplyToID != nil {
			parents = append(parents, *m.InReplyToID)
		}
	}
	var atts []Attachment
	if err := idb.NewSelect().Model(&atts).Where("message_id IN (?)", bun.In(idList)).Order("message_id", "position").Scan(ctx); err != nil {
		return err
	}
	for _, a := range atts {
		byID[a.MessageID].Attachments = append(byID[a.MessageID].Attachments, a)
	}
	var rs []Reaction
	if err := idb.NewSelect().Model(&rs).Where("message_id IN (?)", bun.In(idList)).Scan(ctx); err != nil {
		return err
	}
	for _, r := range rs {
		m := byID[r.MessageID]
		m.Reactions[r.Emoji]++
		if r.AccountID == viewerID {
			m.MyReaction = r.Emoji
		}
	}
	if len(links) > 0 {
		var cards []*previews.Preview
		if err := idb.NewSelect().Model(&cards).Where("url IN (?) AND status = ?", bun.In(links), previews.StatusOK).Scan(ctx); err != nil {
			return err
		}
		byURL := make(map[string]*previews.Preview, len(cards))
		for _, c := range cards {
			byURL[c.URL] = c
		}
		for _, m := range ms {
			if m.DeletedAt == nil {
				m.Card = byURL[m.LinkURL]
			}
		}
	}
	if len(parents) > 0 {
		var ps []*Message
		if err := idb.NewSelect().Model(&ps).Where("id IN (?)", bun.In(parents)).Scan(ctx); err != nil {
			return err
		}
		byParent := make(map[string]*Message, len(ps))
		for _, p := range ps {
			byParent[p.ID] = p
		}
		for _, m := range ms {
			if m.InReplyToID != nil {
				m.ReplyTo = byParent[*m.InReplyToID]
			}
		}
	}
	return nil
}
