package mastodon

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/config"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/polls"
)

// Limits apps read to size their composers; they match what the node enforces.
const (
	maxChars        = 5000
	maxMedia        = 4
	maxImageBytes   = 8 << 20
	maxImagePixels  = 40_000_000
	charsPerURL     = 23
	maxPollOptions  = polls.MaxOptions
	pollOptionChars = polls.MaxOptionLen
	maxDescription  = 1500 // an attachment's alt text (posts.Attachments)
)

// instanceFacts is what both instance endpoints report.
type instanceFacts struct {
	org         orgs.Org
	base, host  string
	activeUsers int
}

func (a *api) instanceFacts(ctx context.Context) (instanceFacts, error) {
	org, err := a.Orgs.Get(ctx)
	if err != nil {
		return instanceFacts{}, err
	}
	users, err := a.Accounts.Count(ctx)
	if err != nil {
		return instanceFacts{}, err
	}
	base := a.BaseURL(ctx)
	return instanceFacts{org: org, base: base, host: config.Host(base), activeUsers: users}, nil
}

func (a *api) instanceV1(c *fiber.Ctx) error {
	f, err := a.instanceFacts(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"uri": f.host, "title": f.org.Name, "short_description": f.org.Description, "description": f.org.Description,
		"email": "", "version": Version, "urls": fiber.Map{"streaming_api": streamingURL(f.base)},
		"stats":     fiber.Map{"user_count": f.activeUsers, "status_count": 0, "domain_count": 0},
		"thumbnail": f.base + "/avatars/missing.png", "languages": []string{"en"},
		"registrations": false, "approval_required": true, "invites_enabled": true,
		"configuration":   configuration(),
		"contact_account": nil, "rules": instanceRules(),
	})
}

func (a *api) instanceV2(c *fiber.Ctx) error {
	f, err := a.instanceFacts(c.UserContext())
	if err != nil {
		return err
	}
	cfg := configuration()
	cfg["urls"] = fiber.Map{"streaming": streamingURL(f.base)}
	cfg["translation"] = fiber.Map{"enabled": false}
	cfg["vapid"] = fiber.Map{"public_key": a.vapidKey(c.UserContext())} // Web Push (push.go)
	return c.JSON(fiber.Map{
		"domain": f.host, "title": f.org.Name, "version": Version, "source_url": "https://github.com/atrium-social/atrium",
		"description":   f.org.Description,
		"usage":         fiber.Map{"users": fiber.Map{"active_month": f.activeUsers}},
		"thumbnail":     fiber.Map{"url": f.base + "/avatars/missing.png"},
		"icon":          []any{},
		"languages":     []string{"en"},
		"configuration": cfg,
		"registrations": fiber.Map{"enabled": false, "approval_required": true, "message": "Accounts are by invitation from " + f.org.Name + "."},
		"contact":       fiber.Map{"email": "", "account": nil},
		"rules":         instanceRules(),
		// API version 2 is Mastodon 4.3's; apps gate newer calls on it rather than on the
		// version string.
		"api_versions": fiber.Map{"mastodon": 2},
	})
}

func configuration() fiber.Map {
	return fiber.Map{
		"accounts": fiber.Map{"max_featured_tags": 10, "max_pinned_statuses": 5},
		"statuses": fiber.Map{"max_characters": maxChars, "max_media_attachments": maxMedia, "characters_reserved_per_url": charsPerURL},
		"media_attachments": fiber.Map{
			"supported_mime_types": []string{"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"},
			"image_size_limit":     maxImageBytes, "description_limit": maxDescription, "image_matrix_limit": maxImagePixels,
			"video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0,
		},
		"polls": fiber.Map{"max_options": maxPollOptions, "max_characters_per_option": pollOptionChars,
			"min_expiration": int(polls.MinExpiry.Seconds()), "max_expiration": int(polls.MaxExpiry.Seconds())},
	}
}

// streamingURL is where the streaming API listens: this server, over a websocket with the
// node's own scheme (a node served over plain HTTP in development has no wss://).
func streamingURL(base string) string {
	if strings.HasPrefix(base, "http://") {
		return "ws://" + strings.TrimPrefix(base, "http://")
	}
	return "wss://" + strings.TrimPrefix(base, "https://")
}
