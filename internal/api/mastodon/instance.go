package mastodon

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// Limits apps read to size their composers; they match what the node enforces.
const (
	maxChars        = 5000
	maxMedia        = 4
	maxImageBytes   = 8 << 20
	maxImagePixels  = 40_000_000
	charsPerURL     = 23
	maxPollOptions  = 4
	pollOptionChars = 50
)

func (a *api) instanceV1(c *fiber.Ctx) error {
	ctx := c.UserContext()
	org, err := a.Orgs.Get(ctx)
	if err != nil {
		return err
	}
	base := a.BaseURL(ctx)
	u, _ := url.Parse(base)
	users, err := a.Accounts.Count(ctx)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{
		"uri": u.Host, "title": org.Name, "short_description": org.Description, "description": org.Description,
		"email": "", "version": Version, "urls": fiber.Map{"streaming_api": "wss://" + u.Host},
		"stats":     fiber.Map{"user_count": users, "status_count": 0, "domain_count": 0},
		"thumbnail": base + "/avatars/missing.png", "languages": []string{"en"},
		"registrations": false, "approval_required": true, "invites_enabled": true,
		"configuration":   configuration(),
		"contact_account": nil, "rules": []any{},
	})
}

func (a *api) instanceV2(c *fiber.Ctx) error {
	ctx := c.UserContext()
	org, err := a.Orgs.Get(ctx)
	if err != nil {
		return err
	}
	base := a.BaseURL(ctx)
	u, _ := url.Parse(base)
	users, err := a.Accounts.Count(ctx)
	if err != nil {
		return err
	}
	cfg := configuration()
	cfg["urls"] = fiber.Map{"streaming": "wss://" + u.Host}
	cfg["translation"] = fiber.Map{"enabled": false}
	return c.JSON(fiber.Map{
		"domain": u.Host, "title": org.Name, "version": Version, "source_url": "https://github.com/atrium-social/atrium",
		"description":   org.Description,
		"usage":         fiber.Map{"users": fiber.Map{"active_month": users}},
		"thumbnail":     fiber.Map{"url": base + "/avatars/missing.png"},
		"languages":     []string{"en"},
		"configuration": cfg,
		"registrations": fiber.Map{"enabled": false, "approval_required": true, "message": "Accounts are by invitation from " + org.Name + "."},
		"contact":       fiber.Map{"email": "", "account": nil},
		"rules":         []any{},
	})
}

func configuration() fiber.Map {
	return fiber.Map{
		"accounts": fiber.Map{"max_featured_tags": 10, "max_pinned_statuses": 5},
		"statuses": fiber.Map{"max_characters": maxChars, "max_media_attachments": maxMedia, "characters_reserved_per_url": charsPerURL},
		"media_attachments": fiber.Map{
			"supported_mime_types": []string{"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"},
			"image_size_limit":     maxImageBytes, "image_matrix_limit": maxImagePixels,
			"video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0,
		},
		"polls": fiber.Map{"max_options": maxPollOptions, "max_characters_per_option": pollOptionChars,
			"min_expiration": 300, "max_expiration": 2629746},
	}
}
