package app_test

// Mastodon's client API entities, as data, for the conformance suite (conformance_test.go).
//
// The table is our own reading of the Mastodon documentation (the mastodon/documentation
// repository, content/en/entities/*.md and content/en/methods/*.md; the file each entity
// comes from is named above it). Types are written in a small notation:
//
//	string    any JSON string          id        a non-empty string (ids are never numbers)
//	url       an absolute http(s) URL  datetime  an ISO 8601 / RFC 3339 date and time string
//	date      an ISO 8601 date, or a datetime (last_status_at became a date in 3.1)
//	intstr    a string holding an integer (trend histories count in strings)
//	int       a JSON integer           number    any JSON number
//	bool      true or false            hash      any JSON object
//	any       anything
//	Name      the entity Name (a JSON object checked attribute by attribute)
//	[]T       an array of T            ?T        T or null ("nullable" in the docs)
//	T|U       either
//
// An attribute's Opt is "" when the documentation always sends it, "optional" when marked
// {{%optional%}} (or sent only in some cases the docs describe), or "since X.Y.Z" when it was
// added after the API version we announce (4.3.0, mastodon.Version): such attributes are not
// required yet. Attributes the docs mark removed are left out. Extra attributes are allowed:
// Atrium adds its own (the "atrium" work profile, group fields, ...).

// ourVersion is the Mastodon API version Atrium announces; attributes added later are optional.
const ourVersion = "4.3.0"

type attr struct {
	Name, Type, Opt string
}

type entity struct {
	Source string // the documentation file it was read from
	Attrs  []attr
	// Extends names an entity whose attributes come first (CredentialAccount extends Account).
	Extends string
}

// Frequently used attribute spellings.
const (
	opt = "optional"
)

var mastodonEntities = map[string]entity{
	// content/en/entities/Account.md
	"Account": {Source: "entities/Account.md", Attrs: []attr{
		{"id", "id", ""},
		{"username", "string", ""},
		{"acct", "string", ""},
		{"url", "url", ""},
		{"display_name", "string", ""},
		{"note", "string", ""},
		{"avatar", "url", ""},
		{"avatar_static", "url", ""},
		{"header", "url", ""},
		{"header_static", "url", ""},
		{"locked", "bool", ""},
		{"fields", "[]Field", ""},
		{"emojis", "[]CustomEmoji", ""},
		{"bot", "bool", ""},
		{"group", "bool", ""},
		{"discoverable", "?bool", ""},
		{"noindex", "?bool", opt},
		{"moved", "?Account", opt},
		{"suspended", "bool", opt},
		{"limited", "bool", opt},
		{"created_at", "datetime", ""},
		{"last_status_at", "?date", ""},
		{"statuses_count", "int", ""},
		{"followers_count", "int", ""},
		{"following_count", "int", ""},
	}},
	// content/en/entities/Account.md (#CredentialAccount): verify_credentials, update_credentials.
	"CredentialAccount": {Source: "entities/Account.md#CredentialAccount", Extends: "Account", Attrs: []attr{
		{"source", "Source", ""},
		{"role", "Role", ""},
	}},
	// content/en/entities/Account.md (#MutedAccount): GET /api/v1/mutes.
	"MutedAccount": {Source: "entities/Account.md#MutedAccount", Extends: "Account", Attrs: []attr{
		{"mute_expires_at", "?datetime", ""},
	}},
	// content/en/entities/Account.md (#source)
	"Source": {Source: "entities/Account.md#source", Attrs: []attr{
		{"note", "string", ""},
		{"fields", "[]Field", ""},
		{"privacy", "string", ""},
		{"sensitive", "bool", ""},
		{"language", "string", ""},
		{"follow_requests_count", "int", ""},
	}},
	// content/en/entities/Account.md (#Field)
	"Field": {Source: "entities/Account.md#Field", Attrs: []attr{
		{"name", "string", ""},
		{"value", "string", ""},
		{"verified_at", "?datetime", ""},
	}},
	// content/en/entities/Role.md (the CredentialAccount's role)
	"Role": {Source: "entities/Role.md", Attrs: []attr{
		{"id", "id", ""},
		{"name", "string", ""},
		{"color", "string", ""},
		{"permissions", "intstr", ""},
		{"highlighted", "bool", ""},
	}},
	// content/en/entities/CustomEmoji.md
	"CustomEmoji": {Source: "entities/CustomEmoji.md", Attrs: []attr{
		{"shortcode", "string", ""},
		{"url", "url", ""},
		{"static_url", "url", ""},
		{"visible_in_picker", "bool", ""},
		{"category", "?string", ""},
	}},

	// content/en/entities/Status.md
	"Status": {Source: "entities/Status.md", Attrs: []attr{
		{"id", "id", ""},
		{"uri", "string", ""},
		{"created_at", "datetime", ""},
		{"account", "Account", ""},
		{"content", "string", ""},
		{"visibility", "string", ""},
		{"sensitive", "bool", ""},
		{"spoiler_text", "string", ""},
		{"media_attachments", "[]MediaAttachment", ""},
		{"application", "Status::Application", opt},
		{"mentions", "[]Status::Mention", ""},
		{"tags", "[]Status::Tag", ""},
		{"emojis", "[]CustomEmoji", ""},
		{"reblogs_count", "int", ""},
		{"favourites_count", "int", ""},
		{"replies_count", "int", ""},
		{"url", "?url", ""},
		{"in_reply_to_id", "?id", ""},
		{"in_reply_to_account_id", "?id", ""},
		{"reblog", "?Status", ""},
		{"poll", "?Poll", ""},
		{"card", "?PreviewCard", ""},
		{"language", "?string", ""},
		// Listed without the optional marker, but Mastodon's serializer sends it only for
		// a deleted status (redraft): optional in practice.
		{"text", "?string", opt},
		{"edited_at", "?datetime", ""},
		{"quote", "?hash", "since 4.4.0"},
		{"favourited", "bool", opt},
		{"reblogged", "bool", opt},
		{"muted", "bool", opt},
		{"bookmarked", "bool", opt},
		{"pinned", "bool", opt},
		{"filtered", "[]FilterResult", opt},
	}},
	// content/en/entities/Status.md (#application)
	"Status::Application": {Source: "entities/Status.md#application", Attrs: []attr{
		{"name", "string", ""},
		{"website", "?url", ""},
	}},
	// content/en/entities/Status.md (#Mention)
	"Status::Mention": {Source: "entities/Status.md#Mention", Attrs: []attr{
		{"id", "id", ""},
		{"username", "string", ""},
		{"url", "url", ""},
		{"acct", "string", ""},
	}},
	// content/en/entities/Status.md (#Tag)
	"Status::Tag": {Source: "entities/Status.md#Tag", Attrs: []attr{
		{"name", "string", ""},
		{"url", "url", ""},
	}},
	// content/en/entities/MediaAttachment.md
	"MediaAttachment": {Source: "entities/MediaAttachment.md", Attrs: []attr{
		{"id", "id", ""},
		{"type", "string", ""},
		{"url", "url", ""},
		{"preview_url", "?url", ""},
		{"remote_url", "?url", ""},
		{"meta", "hash", ""},
		{"description", "?string", ""},
		{"blurhash", "?string", ""},
	}},
	// content/en/entities/Poll.md
	"Poll": {Source: "entities/Poll.md", Attrs: []attr{
		{"id", "id", ""},
		{"expires_at", "?datetime", ""},
		{"expired", "bool", ""},
		{"multiple", "bool", ""},
		{"votes_count", "int", ""},
		{"voters_count", "?int", ""},
		{"options", "[]Poll::Option", ""},
		{"emojis", "[]CustomEmoji", ""},
		{"voted", "bool", opt},
		{"own_votes", "[]int", opt},
	}},
	// content/en/entities/Poll.md (#Option)
	"Poll::Option": {Source: "entities/Poll.md#Option", Attrs: []attr{
		{"title", "string", ""},
		{"votes_count", "?int", ""},
	}},
	// content/en/entities/PreviewCard.md. author_url, provider_url and embed_url are
	// documented as URLs but Mastodon sends "" when unknown, so any string passes.
	"PreviewCard": {Source: "entities/PreviewCard.md", Attrs: []attr{
		{"url", "url", ""},
		{"title", "string", ""},
		{"description", "string", ""},
		{"type", "string", ""},
		{"authors", "[]PreviewCardAuthor", ""},
		{"author_name", "string", ""},
		{"author_url", "string", ""},
		{"provider_name", "string", ""},
		{"provider_url", "string", ""},
		{"html", "string", ""},
		{"width", "int", ""},
		{"height", "int", ""},
		{"image", "?url", ""},
		{"embed_url", "string", ""},
		{"blurhash", "?string", ""},
	}},
	// content/en/entities/PreviewCardAuthor.md
	"PreviewCardAuthor": {Source: "entities/PreviewCardAuthor.md", Attrs: []attr{
		{"name", "string", ""},
		{"url", "string", ""},
		{"account", "?Account", ""},
	}},
	// content/en/entities/PreviewCard.md (#trends-link): GET /api/v1/trends/links.
	"Trends::Link": {Source: "entities/PreviewCard.md#trends-link", Extends: "PreviewCard", Attrs: []attr{
		{"history", "[]History", ""},
	}},
	// content/en/entities/Tag.md (#history), also PreviewCard.md (#history)
	"History": {Source: "entities/Tag.md#history", Attrs: []attr{
		{"day", "intstr", ""},
		{"uses", "intstr", ""},
		{"accounts", "intstr", ""},
	}},
	// content/en/entities/Tag.md
	"Tag": {Source: "entities/Tag.md", Attrs: []attr{
		{"name", "string", ""},
		{"url", "url", ""},
		{"history", "[]History", ""},
		{"following", "bool", opt},
	}},
	// content/en/entities/FilterResult.md
	"FilterResult": {Source: "entities/FilterResult.md", Attrs: []attr{
		{"filter", "Filter", ""},
		{"keyword_matches", "?[]string", ""},
		{"status_matches", "?[]id", ""},
	}},
	// content/en/entities/Filter.md
	"Filter": {Source: "entities/Filter.md", Attrs: []attr{
		{"id", "id", ""},
		{"title", "string", ""},
		{"context", "[]string", ""},
		{"expires_at", "?datetime", ""},
		{"filter_action", "string", ""},
		{"keywords", "[]FilterKeyword", opt}, // omitted inside a FilterResult
		{"statuses", "[]FilterStatus", opt},
	}},
	// content/en/entities/FilterKeyword.md
	"FilterKeyword": {Source: "entities/FilterKeyword.md", Attrs: []attr{
		{"id", "id", ""},
		{"keyword", "string", ""},
		{"whole_word", "bool", ""},
	}},
	// content/en/entities/FilterStatus.md
	"FilterStatus": {Source: "entities/FilterStatus.md", Attrs: []attr{
		{"id", "id", ""},
		{"status_id", "id", ""},
	}},
	// content/en/entities/V1_Filter.md (GET /api/v1/filters, deprecated since 4.0)
	"V1::Filter": {Source: "entities/V1_Filter.md", Attrs: []attr{
		{"id", "id", ""},
		{"phrase", "string", ""},
		{"context", "[]string", ""},
		{"expires_at", "?datetime", ""},
		{"irreversible", "bool", ""},
		{"whole_word", "bool", ""},
	}},
	// content/en/entities/StatusEdit.md
	"StatusEdit": {Source: "entities/StatusEdit.md", Attrs: []attr{
		{"content", "string", ""},
		{"spoiler_text", "string", ""},
		{"sensitive", "bool", ""},
		{"created_at", "datetime", ""},
		{"account", "Account", ""},
		{"poll", "StatusEdit::Poll", opt},
		{"media_attachments", "[]MediaAttachment", ""},
		{"emojis", "[]CustomEmoji", ""},
		{"quote", "?hash", "since 4.4.0"},
	}},
	// content/en/entities/StatusEdit.md (#poll)
	"StatusEdit::Poll": {Source: "entities/StatusEdit.md#poll", Attrs: []attr{
		{"options", "[]StatusEdit::PollOption", ""},
	}},
	"StatusEdit::PollOption": {Source: "entities/StatusEdit.md#poll-options", Attrs: []attr{
		{"title", "string", ""},
	}},
	// content/en/entities/StatusSource.md
	"StatusSource": {Source: "entities/StatusSource.md", Attrs: []attr{
		{"id", "id", ""},
		{"text", "string", ""},
		{"spoiler_text", "string", ""},
	}},
	// content/en/entities/Context.md
	"Context": {Source: "entities/Context.md", Attrs: []attr{
		{"ancestors", "[]Status", ""},
		{"descendants", "[]Status", ""},
	}},

	// content/en/entities/Notification.md
	"Notification": {Source: "entities/Notification.md", Attrs: []attr{
		{"id", "id", ""},
		{"type", "string", ""},
		{"group_key", "string", ""},
		{"created_at", "datetime", ""},
		{"account", "Account", ""},
		{"status", "Status", opt},
		{"report", "Report", opt},
		{"event", "hash", opt},
		{"moderation_warning", "hash", opt},
	}},
	// content/en/methods/grouped_notifications.md (#GroupedNotificationsResults)
	"GroupedNotificationsResults": {Source: "methods/grouped_notifications.md#GroupedNotificationsResults", Attrs: []attr{
		{"accounts", "[]Account", ""},
		{"partial_accounts", "[]PartialAccountWithAvatar", opt},
		{"statuses", "[]Status", ""},
		{"notification_groups", "[]NotificationGroup", ""},
	}},
	// content/en/methods/grouped_notifications.md (#NotificationGroup)
	"NotificationGroup": {Source: "methods/grouped_notifications.md#NotificationGroup", Attrs: []attr{
		{"group_key", "string", ""},
		{"notifications_count", "int", ""},
		{"type", "string", ""},
		{"most_recent_notification_id", "id", ""},
		{"page_min_id", "id", opt},
		{"page_max_id", "id", opt},
		{"latest_page_notification_at", "datetime", opt},
		{"sample_account_ids", "[]id", ""},
		{"status_id", "?id", opt},
		{"report", "Report", opt},
		{"event", "hash", opt},
		{"moderation_warning", "hash", opt},
	}},
	// content/en/methods/grouped_notifications.md (#PartialAccountWithAvatar)
	"PartialAccountWithAvatar": {Source: "methods/grouped_notifications.md#PartialAccountWithAvatar", Attrs: []attr{
		{"id", "id", ""},
		{"acct", "string", ""},
		{"url", "url", ""},
		{"avatar", "url", ""},
		{"avatar_static", "url", ""},
		{"locked", "bool", ""},
		{"bot", "bool", ""},
	}},
	// GET /api/v1/notifications/unread_count, /api/v2/notifications/unread_count:
	// content/en/methods/notifications.md (#unread-count) — a hash with one count.
	"UnreadCount": {Source: "methods/notifications.md#unread-count", Attrs: []attr{
		{"count", "int", ""},
	}},
	// content/en/entities/Relationship.md
	"Relationship": {Source: "entities/Relationship.md", Attrs: []attr{
		{"id", "id", ""},
		{"following", "bool", ""},
		{"showing_reblogs", "bool", ""},
		{"notifying", "bool", ""},
		{"languages", "?[]string", ""}, // documented as an array; Mastodon sends null for "all languages"
		{"followed_by", "bool", ""},
		{"blocking", "bool", ""},
		{"blocked_by", "bool", ""},
		{"muting", "bool", ""},
		{"muting_notifications", "bool", ""},
		{"requested", "bool", ""},
		{"requested_by", "bool", opt}, // 4.1.0; not in every revision of the page
		{"domain_blocking", "bool", ""},
		{"endorsed", "bool", ""},
		{"note", "string", ""},
	}},

	// content/en/entities/Instance.md (v2)
	"Instance": {Source: "entities/Instance.md", Attrs: []attr{
		{"domain", "string", ""},
		{"title", "string", ""},
		{"version", "string", ""},
		{"source_url", "url", ""},
		{"description", "string", ""},
		{"usage", "Instance::Usage", ""},
		{"thumbnail", "Instance::Thumbnail", ""},
		{"icon", "[]hash", opt}, // 4.3.0; absent from the stored revision of the page
		{"languages", "[]string", ""},
		{"configuration", "Instance::Configuration", ""},
		{"registrations", "Instance::Registrations", ""},
		{"api_versions", "hash", opt}, // 4.3.0; absent from the stored revision of the page
		{"contact", "Instance::Contact", ""},
		{"rules", "[]Rule", ""},
	}},
	"Instance::Usage": {Source: "entities/Instance.md#usage", Attrs: []attr{
		{"users", "Instance::UsageUsers", ""},
	}},
	"Instance::UsageUsers": {Source: "entities/Instance.md#users", Attrs: []attr{
		{"active_month", "int", ""},
	}},
	"Instance::Thumbnail": {Source: "entities/Instance.md#thumbnail", Attrs: []attr{
		{"url", "url", ""},
		{"blurhash", "string", opt},
		{"versions", "hash", opt},
	}},
	"Instance::Configuration": {Source: "entities/Instance.md#configuration", Attrs: []attr{
		{"urls", "Instance::URLs", ""},
		{"vapid", "Instance::Vapid", ""}, // 4.3.0
		{"accounts", "Instance::ConfAccounts", ""},
		{"statuses", "Instance::ConfStatuses", ""},
		{"media_attachments", "Instance::ConfMedia", ""},
		{"polls", "Instance::ConfPolls", ""},
		{"translation", "Instance::ConfTranslation", ""},
	}},
	"Instance::URLs": {Source: "entities/Instance.md#urls", Attrs: []attr{
		{"streaming", "url", ""},
	}},
	"Instance::Vapid": {Source: "entities/Instance.md#vapid_public_key", Attrs: []attr{
		{"public_key", "string", ""},
	}},
	"Instance::ConfAccounts": {Source: "entities/Instance.md#accounts", Attrs: []attr{
		{"max_featured_tags", "int", ""},
	}},
	"Instance::ConfStatuses": {Source: "entities/Instance.md#statuses", Attrs: []attr{
		{"max_characters", "int", ""},
		{"max_media_attachments", "int", ""},
		{"characters_reserved_per_url", "int", ""},
	}},
	"Instance::ConfMedia": {Source: "entities/Instance.md#media_attachments", Attrs: []attr{
		{"supported_mime_types", "[]string", ""},
		{"image_size_limit", "int", ""},
		{"image_matrix_limit", "int", ""},
		{"video_size_limit", "int", ""},
		{"video_frame_rate_limit", "int", ""},
		{"video_matrix_limit", "int", ""},
	}},
	"Instance::ConfPolls": {Source: "entities/Instance.md#polls", Attrs: []attr{
		{"max_options", "int", ""},
		{"max_characters_per_option", "int", ""},
		{"min_expiration", "int", ""},
		{"max_expiration", "int", ""},
	}},
	"Instance::ConfTranslation": {Source: "entities/Instance.md#translation", Attrs: []attr{
		{"enabled", "bool", ""},
	}},
	"Instance::Registrations": {Source: "entities/Instance.md#registrations", Attrs: []attr{
		{"enabled", "bool", ""},
		{"approval_required", "bool", ""},
		{"message", "?string", ""},
	}},
	"Instance::Contact": {Source: "entities/Instance.md#contact", Attrs: []attr{
		{"email", "string", ""},
		{"account", "?Account", ""},
	}},
	// content/en/entities/V1_Instance.md
	"V1::Instance": {Source: "entities/V1_Instance.md", Attrs: []attr{
		{"uri", "string", ""},
		{"title", "string", ""},
		{"short_description", "string", ""},
		{"description", "string", ""},
		{"email", "string", ""},
		{"version", "string", ""},
		{"urls", "V1::Instance::URLs", ""},
		{"stats", "V1::Instance::Stats", ""},
		{"thumbnail", "?url", ""},
		{"languages", "[]string", ""},
		{"registrations", "bool", ""},
		{"approval_required", "bool", ""},
		{"invites_enabled", "bool", ""},
		{"configuration", "V1::Instance::Configuration", ""},
		{"contact_account", "?Account", ""},
		{"rules", "[]Rule", ""},
	}},
	"V1::Instance::URLs": {Source: "entities/V1_Instance.md#urls", Attrs: []attr{
		{"streaming_api", "url", ""},
	}},
	"V1::Instance::Stats": {Source: "entities/V1_Instance.md#stats", Attrs: []attr{
		{"user_count", "int", ""},
		{"status_count", "int", ""},
		{"domain_count", "int", ""},
	}},
	"V1::Instance::Configuration": {Source: "entities/V1_Instance.md#configuration", Attrs: []attr{
		{"accounts", "Instance::ConfAccounts", opt}, // 4.0.0, optional in the V1 page
		{"statuses", "Instance::ConfStatuses", ""},
		{"media_attachments", "Instance::ConfMedia", ""},
		{"polls", "Instance::ConfPolls", ""},
	}},
	// content/en/entities/Rule.md
	"Rule": {Source: "entities/Rule.md", Attrs: []attr{
		{"id", "id", ""},
		{"text", "string", ""},
		{"hint", "string", ""}, // 4.3.0
	}},

	// content/en/entities/List.md
	"List": {Source: "entities/List.md", Attrs: []attr{
		{"id", "id", ""},
		{"title", "string", ""},
		{"replies_policy", "string", ""},
		{"exclusive", "bool", ""}, // 4.2.0
	}},
	// content/en/entities/Marker.md
	"Marker": {Source: "entities/Marker.md", Attrs: []attr{
		{"last_read_id", "id", ""},
		{"version", "int", ""},
		{"updated_at", "datetime", ""},
	}},
	// content/en/methods/markers.md: GET/POST /api/v1/markers answer a hash of timeline -> Marker.
	"Markers": {Source: "methods/markers.md", Attrs: []attr{
		{"home", "Marker", opt},
		{"notifications", "Marker", opt},
	}},
	// content/en/entities/Conversation.md
	"Conversation": {Source: "entities/Conversation.md", Attrs: []attr{
		{"id", "id", ""},
		{"unread", "bool", ""},
		{"accounts", "[]Account", ""},
		{"last_status", "?Status", ""},
	}},
	// content/en/entities/ScheduledStatus.md
	"ScheduledStatus": {Source: "entities/ScheduledStatus.md", Attrs: []attr{
		{"id", "id", ""},
		{"scheduled_at", "datetime", ""},
		{"params", "ScheduledStatus::Params", ""},
		{"media_attachments", "[]MediaAttachment", ""},
	}},
	// content/en/entities/ScheduledStatus.md (#params)
	"ScheduledStatus::Params": {Source: "entities/ScheduledStatus.md#params", Attrs: []attr{
		{"text", "string", ""},
		{"poll", "?ScheduledStatus::Poll", ""},
		{"media_ids", "?[]id", ""},
		{"sensitive", "?bool", ""},
		{"spoiler_text", "?string", ""},
		{"visibility", "string", ""},
		// Documented as a nullable Integer; Mastodon stores what the app sent (ids are strings).
		{"in_reply_to_id", "?id|int", ""},
		{"language", "?string", ""},
		{"application_id", "int", "optional"}, // deprecated, "can be ignored"
		{"scheduled_at", "?datetime", ""},     // always null
		{"idempotency", "?string", ""},
		{"with_rate_limit", "bool", "optional"}, // deprecated, "can be ignored"
		{"quoted_status_id", "?id", "since 4.5.0"},
		{"quote_approval_policy", "string", "since 4.5.0"},
	}},
	"ScheduledStatus::Poll": {Source: "entities/ScheduledStatus.md#params-poll", Attrs: []attr{
		{"options", "[]string", ""},
		{"expires_in", "int|intstr", ""}, // Integer; Mastodon keeps an app's string as sent
		{"multiple", "bool", opt},
		{"hide_totals", "bool", opt},
	}},
	// content/en/entities/Announcement.md
	"Announcement": {Source: "entities/Announcement.md", Attrs: []attr{
		{"id", "id", ""},
		{"content", "string", ""},
		{"starts_at", "?datetime", ""},
		{"ends_at", "?datetime", ""},
		{"all_day", "bool", ""},
		{"published_at", "datetime", ""},
		{"updated_at", "datetime", ""},
		{"read", "bool", opt},
		{"mentions", "[]Announcement::Account", ""},
		{"statuses", "[]Announcement::Status", ""},
		{"tags", "[]Status::Tag", ""},
		{"emojis", "[]CustomEmoji", ""},
		{"reactions", "[]Reaction", ""},
	}},
	"Announcement::Account": {Source: "entities/Announcement.md#Account", Attrs: []attr{
		{"id", "id", ""},
		{"username", "string", ""},
		{"url", "url", ""},
		{"acct", "string", ""},
	}},
	"Announcement::Status": {Source: "entities/Announcement.md#Status", Attrs: []attr{
		{"id", "id", ""},
		{"url", "url", ""},
	}},
	// content/en/entities/Reaction.md (announcement reactions)
	"Reaction": {Source: "entities/Reaction.md", Attrs: []attr{
		{"name", "string", ""},
		{"count", "int", ""},
		{"me", "bool", opt}, // only with a user token
		{"url", "url", opt}, // custom emoji only
		{"static_url", "url", opt},
	}},
	// content/en/entities/Application.md
	"Application": {Source: "entities/Application.md", Attrs: []attr{
		{"name", "string", ""},
		{"website", "?url", opt},
		{"vapid_key", "string", ""}, // deprecated in 4.3.0, still sent
		{"client_id", "string", opt},
		{"client_secret", "string", opt},
	}},
	// content/en/entities/Application.md (#CredentialApplication): POST /api/v1/apps.
	"CredentialApplication": {Source: "entities/Application.md#CredentialApplication", Extends: "Application", Attrs: []attr{
		{"client_id", "string", ""},
		{"client_secret", "string", ""},
	}},
	// content/en/entities/Token.md: POST /oauth/token.
	"Token": {Source: "entities/Token.md", Attrs: []attr{
		{"access_token", "string", ""},
		{"token_type", "string", ""},
		{"scope", "string", ""},
		{"created_at", "int", ""}, // a UNIX timestamp, not a datetime string
	}},
	// content/en/entities/Preferences.md (keys contain colons; values typed per the docs)
	"Preferences": {Source: "entities/Preferences.md", Attrs: []attr{
		{"posting:default:visibility", "string", ""},
		{"posting:default:sensitive", "bool", ""},
		{"posting:default:language", "?string", ""},
		{"reading:expand:media", "string", ""},
		{"reading:expand:spoilers", "bool", ""},
	}},
	// content/en/entities/Search.md
	"Search": {Source: "entities/Search.md", Attrs: []attr{
		{"accounts", "[]Account", ""},
		{"statuses", "[]Status", ""},
		{"hashtags", "[]Tag", ""},
	}},
	// content/en/entities/Suggestion.md (GET /api/v2/suggestions)
	"Suggestion": {Source: "entities/Suggestion.md", Attrs: []attr{
		{"source", "string", ""}, // deprecated in 4.3.0, still sent
		{"sources", "[]string", ""},
		{"account", "Account", ""},
	}},
	// content/en/entities/FeaturedTag.md
	"FeaturedTag": {Source: "entities/FeaturedTag.md", Attrs: []attr{
		{"id", "id", ""},
		{"name", "string", ""},
		{"url", "url", ""},
		{"statuses_count", "int|intstr", ""}, // documented as Integer; Mastodon 4.x sends a string
		{"last_status_at", "?date", ""},
	}},
	// content/en/entities/Report.md
	"Report": {Source: "entities/Report.md", Attrs: []attr{
		{"id", "id", ""},
		{"action_taken", "bool", ""},
		{"action_taken_at", "?datetime", ""},
		{"category", "string", ""},
		{"comment", "string", ""},
		{"forwarded", "bool", ""},
		{"created_at", "datetime", ""},
		{"status_ids", "?[]id", ""},
		{"rule_ids", "?[]id", ""},
		{"target_account", "Account", ""},
	}},
	// content/en/entities/Admin_Report.md (GET /api/v1/admin/reports). Its account,
	// target_account, assigned_account and action_taken_by_account are Admin::Account
	// entities; only the attributes shared with Report are checked here (see notes in the
	// endpoint table).
	"Admin::Report": {Source: "entities/Admin_Report.md", Attrs: []attr{
		{"id", "id", ""},
		{"action_taken", "bool", ""},
		{"action_taken_at", "?datetime", ""},
		{"category", "string", ""},
		{"comment", "string", ""},
		{"forwarded", "bool", ""},
		{"created_at", "datetime", ""},
		{"updated_at", "datetime", ""},
		{"account", "Admin::Account", ""},
		{"target_account", "Admin::Account", ""},
		{"assigned_account", "?Admin::Account", ""},
		{"action_taken_by_account", "?Admin::Account", ""},
		{"statuses", "[]Status", ""},
		{"rules", "[]Rule", ""},
	}},
	// content/en/entities/Admin_Account.md (the attributes clients rely on)
	"Admin::Account": {Source: "entities/Admin_Account.md", Attrs: []attr{
		{"id", "id", ""},
		{"username", "string", ""},
		{"domain", "?string", ""},
		{"created_at", "datetime", ""},
		{"email", "string", ""},
		{"ip", "?string", ""},
		{"ips", "[]hash", ""},
		{"locale", "string", ""},
		{"invite_request", "?string", ""},
		{"role", "Role", ""},
		{"confirmed", "bool", ""},
		{"approved", "bool", ""},
		{"disabled", "bool", ""},
		{"silenced", "bool", ""},
		{"suspended", "bool", ""},
		{"account", "Account", ""},
	}},
	// content/en/entities/WebPushSubscription.md
	"WebPushSubscription": {Source: "entities/WebPushSubscription.md", Attrs: []attr{
		{"id", "id", ""},
		{"endpoint", "url", ""},
		{"standard", "bool", "since 4.4.0"},
		{"server_key", "string", ""},
		{"alerts", "WebPushSubscription::Alerts", ""},
		{"policy", "string", opt}, // in newer revisions of the page; not in the stored one
	}},
	// content/en/entities/WebPushSubscription.md (#alerts)
	"WebPushSubscription::Alerts": {Source: "entities/WebPushSubscription.md#alerts", Attrs: []attr{
		{"mention", "bool", ""},
		{"status", "bool", ""},
		{"reblog", "bool", ""},
		{"follow", "bool", ""},
		{"follow_request", "bool", ""},
		{"favourite", "bool", ""},
		{"poll", "bool", ""},
		{"update", "bool", ""},
		{"admin.sign_up", "bool", ""},
		{"admin.report", "bool", ""},
	}},
	// content/en/entities/IdentityProof.md (removed in 3.5; the endpoint answers [])
	"IdentityProof": {Source: "entities/IdentityProof.md", Attrs: []attr{
		{"provider", "string", ""},
		{"provider_username", "string", ""},
		{"profile_url", "url", ""},
		{"proof_url", "url", ""},
		{"updated_at", "datetime", ""},
	}},
	// content/en/entities/FamiliarFollowers.md
	"FamiliarFollowers": {Source: "entities/FamiliarFollowers.md", Attrs: []attr{
		{"id", "id", ""},
		{"accounts", "[]Account", ""},
	}},
	// content/en/entities/Activity.md (GET /api/v1/instance/activity)
	"Activity": {Source: "entities/Activity.md", Attrs: []attr{
		{"week", "intstr", ""}, // a UNIX timestamp
		{"statuses", "intstr", ""},
		{"logins", "intstr", ""},
		{"registrations", "intstr", ""},
	}},
	// content/en/entities/DomainBlock.md (GET /api/v1/instance/domain_blocks)
	"DomainBlock": {Source: "entities/DomainBlock.md", Attrs: []attr{
		{"domain", "string", ""},
		{"digest", "string", ""},
		{"severity", "string", ""},
		{"comment", "string", opt},
	}},
	// content/en/entities/ExtendedDescription.md
	"ExtendedDescription": {Source: "entities/ExtendedDescription.md", Attrs: []attr{
		{"updated_at", "datetime", ""},
		{"content", "string", ""},
	}},
	// content/en/entities/PrivacyPolicy.md
	"PrivacyPolicy": {Source: "entities/PrivacyPolicy.md", Attrs: []attr{
		{"updated_at", "datetime", ""},
		{"content", "string", ""},
	}},
	// content/en/entities/TermsOfService.md (4.4.0)
	"TermsOfService": {Source: "entities/TermsOfService.md", Attrs: []attr{
		{"effective_date", "date", ""},
		{"effective", "bool", ""},
		{"content", "string", ""},
		{"succeeded_by", "?date", ""},
	}},
	// content/en/entities/Error.md
	"Error": {Source: "entities/Error.md", Attrs: []attr{
		{"error", "string", ""},
		{"error_description", "string", opt},
	}},
	// Endpoints documented to answer an empty hash (content/en/methods/*.md, "Returns: Empty").
	"Empty": {Source: "methods/*.md (Returns: Empty)", Attrs: nil},
}
