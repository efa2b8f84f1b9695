package delivery

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/federation/activity"
	"github.com/atrium-social/atrium/internal/jobs"
)

// SendEncoded encodes a and stores it with its deliveries to inboxes, signed by signerID's
// key (published as keyID), in one transaction of its own: a crash half-way would make the
// calling job run again and send again to inboxes already served. objectURI names what the
// activity is about, for CancelObject. An activity that cannot be encoded is a permanent
// failure of the calling job. Nothing is stored when inboxes is empty.
func (s *Service) SendEncoded(ctx context.Context, a *activity.Activity, signerID, keyID, objectURI string, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	body, err := activity.Encode(a)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("encode %s: %w", a.ID, err))
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.Send(ctx, tx, Activity{URI: a.ID, Kind: a.Type, SignerID: signerID, KeyID: keyID, ObjectURI: objectURI, Body: body}, inboxes)
	})
}
