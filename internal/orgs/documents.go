package orgs

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Setting keys of the node's public documents and disclosure choices (Mastodon's instance
// endpoints). Set them with Service.Set; an empty document is "none".
const (
	KeyExtendedDescription = "instance.extended_description" // HTML
	KeyPrivacyPolicy       = "instance.privacy_policy"       // HTML
	KeyTermsOfService      = "instance.terms_of_service"     // HTML
	// KeyShowPartners ("true") lets GET /api/v1/instance/peers list allowed partner hosts.
	KeyShowPartners = "instance.show_partners"
	// KeyShowBlockedHosts ("true" for everyone, "members" for signed-in people) lets
	// GET /api/v1/instance/domain_blocks list the hosts the node blocks.
	KeyShowBlockedHosts = "instance.show_blocked_hosts"
)

// Document is one of the node's public texts.
type Document struct {
	HTML      string
	UpdatedAt time.Time
}

// Documents are the node's public texts and what it discloses about its partners.
type Documents struct {
	ExtendedDescription, PrivacyPolicy, TermsOfService Document
	ShowPartners                                       bool
	ShowBlockedHosts                                   string // "", "members" or "true"
	// DescriptionUpdatedAt is when the organisation's name or description last changed (the
	// extended description falls back to the description).
	DescriptionUpdatedAt time.Time
}

// Documents reads the node's public texts and disclosure settings.
func (s *Service) Documents(ctx context.Context) (Documents, error) {
	var rows []setting
	keys := []string{KeyExtendedDescription, KeyPrivacyPolicy, KeyTermsOfService, KeyShowPartners, KeyShowBlockedHosts,
		"org.name", "org.description"}
	if err := s.db.NewSelect().Model(&rows).Where("key IN (?)", bun.In(keys)).Scan(ctx); err != nil {
		return Documents{}, fmt.Errorf("instance documents: %w", err)
	}
	var d Documents
	for _, r := range rows {
		doc := Document{HTML: r.Value, UpdatedAt: r.UpdatedAt}
		switch r.Key {
		case "org.name", "org.description":
			if r.UpdatedAt.After(d.DescriptionUpdatedAt) {
				d.DescriptionUpdatedAt = r.UpdatedAt
			}
		case KeyExtendedDescription:
			d.ExtendedDescription = doc
		case KeyPrivacyPolicy:
			d.PrivacyPolicy = doc
		case KeyTermsOfService:
			d.TermsOfService = doc
		case KeyShowPartners:
			d.ShowPartners = r.Value == "true"
		case KeyShowBlockedHosts:
			if r.Value == "true" || r.Value == "members" {
				d.ShowBlockedHosts = r.Value
			}
		}
	}
	return d, nil
}
