package mastodon

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Statuses are the bulk of what the API sends: a home page is 20 of them, ~45 KB. Encoding
// them with encoding/json's reflection was a sixth of a page's CPU, so they are written by
// hand below, field by field, into the response buffer. The output is byte for byte what
// encoding/json produces for the same values (same field order, omitempty, sorted map keys,
// HTML-safe escaping); TestStatusJSONMatchesEncodingJSON fills every field of every type
// involved, so a field added to these structs and not here fails it.

// appendStatuses appends list as a JSON array.
func appendStatuses(b []byte, list []Status) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStatus(b, &list[i])
	}
	return append(b, ']')
}

func appendStatus(b []byte, s *Status) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, s.URI)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, s.URL)
	b = append(b, `,"created_at":`...)
	b = appendJSONString(b, s.CreatedAt)
	b = append(b, `,"account":`...)
	b = appendAccount(b, &s.Account)
	b = append(b, `,"content":`...)
	b = appendJSONString(b, s.Content)
	b = append(b, `,"visibility":`...)
	b = appendJSONString(b, s.Visibility)
	b = append(b, `,"local_only":`...)
	b = strconv.AppendBool(b, s.LocalOnly)
	b = append(b, `,"sensitive":`...)
	b = strconv.AppendBool(b, s.Sensitive)
	b = append(b, `,"spoiler_text":`...)
	b = appendJSONString(b, s.SpoilerText)
	b = append(b, `,"media_attachments":`...)
	b = appendList(b, s.MediaAttachments, appendMedia)
	if s.Application != nil { // optional in Mastodon's Status, never null
		b = append(b, `,"application":`...)
		b = appendAny(b, s.Application)
	}
	b = append(b, `,"mentions":`...)
	b = appendList(b, s.Mentions, appendMention)
	b = append(b, `,"tags":`...)
	b = appendList(b, s.Tags, appendTag)
	b = append(b, `,"emojis":`...)
	b = appendAnyList(b, s.Emojis)
	b = append(b, `,"reblogs_count":`...)
	b = strconv.AppendInt(b, int64(s.ReblogsCount), 10)
	b = append(b, `,"favourites_count":`...)
	b = strconv.AppendInt(b, int64(s.FavouritesCount), 10)
	b = append(b, `,"replies_count":`...)
	b = strconv.AppendInt(b, int64(s.RepliesCount), 10)
	b = append(b, `,"in_reply_to_id":`...)
	b = appendOptString(b, s.InReplyToID)
	b = append(b, `,"in_reply_to_account_id":`...)
	b = appendOptString(b, s.InReplyToAccountID)
	b = append(b, `,"reblog":`...)
	if s.Reblog == nil {
		b = append(b, "null"...)
	} else {
		b = appendStatus(b, s.Reblog)
	}
	b = append(b, `,"poll":`...)
	if s.Poll == nil {
		b = append(b, "null"...)
	} else {
		b = appendAny(b, s.Poll) // rare: encoding/json is fast enough
	}
	b = append(b, `,"card":`...)
	b = appendCard(b, s.Card)
	b = append(b, `,"language":`...)
	b = appendOptString(b, s.Language)
	b = append(b, `,"text":`...)
	b = appendOptString(b, s.Text)
	b = append(b, `,"edited_at":`...)
	b = appendOptString(b, s.EditedAt)
	b = append(b, `,"favourited":`...)
	b = strconv.AppendBool(b, s.Favourited)
	b = append(b, `,"reblogged":`...)
	b = strconv.AppendBool(b, s.Reblogged)
	b = append(b, `,"muted":`...)
	b = strconv.AppendBool(b, s.Muted)
	b = append(b, `,"bookmarked":`...)
	b = strconv.AppendBool(b, s.Bookmarked)
	b = append(b, `,"pinned":`...)
	b = strconv.AppendBool(b, s.Pinned)
	b = append(b, `,"filtered":`...)
	b = appendAnyList(b, s.Filtered)
	b = append(b, `,"atrium":`...)
	b = appendStatusExtras(b, &s.Atrium)
	return append(b, '}')
}

func appendStatusExtras(b []byte, x *StatusExtras) []byte {
	b = append(b, `{"audience":`...)
	b = appendJSONString(b, x.Audience)
	b = append(b, `,"important":`...)
	b = strconv.AppendBool(b, x.Important)
	b = append(b, `,"important_until":`...)
	b = appendOptString(b, x.ImportantUntil)
	b = append(b, `,"reactions":`...)
	if x.Reactions == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		keys := make([]string, 0, len(x.Reactions))
		for k := range x.Reactions {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts map keys
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(x.Reactions[k]), 10)
		}
		b = append(b, '}')
	}
	b = append(b, `,"my_reaction":`...)
	b = appendOptString(b, x.MyReaction)
	b = append(b, `,"thread_id":`...)
	b = appendJSONString(b, x.ThreadID)
	b = append(b, `,"group":`...)
	if g := x.Group; g == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"id":`...)
		b = appendJSONString(b, g.ID)
		b = append(b, `,"handle":`...)
		b = appendJSONString(b, g.Handle)
		b = append(b, `,"acct":`...)
		b = appendJSONString(b, g.Acct)
		b = append(b, `,"display_name":`...)
		b = appendJSONString(b, g.DisplayName)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendAccount(b []byte, a *Account) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.ID)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, a.Username)
	b = append(b, `,"acct":`...)
	b = appendJSONString(b, a.Acct)
	b = append(b, `,"display_name":`...)
	b = appendJSONString(b, a.DisplayName)
	b = append(b, `,"locked":`...)
	b = strconv.AppendBool(b, a.Locked)
	b = append(b, `,"bot":`...)
	b = strconv.AppendBool(b, a.Bot)
	b = append(b, `,"discoverable":`...)
	b = strconv.AppendBool(b, a.Discoverable)
	b = append(b, `,"indexable":`...)
	b = strconv.AppendBool(b, a.Indexable)
	b = append(b, `,"group":`...)
	b = strconv.AppendBool(b, a.Group)
	b = append(b, `,"created_at":`...)
	b = appendJSONString(b, a.CreatedAt)
	b = append(b, `,"note":`...)
	b = appendJSONString(b, a.Note)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, a.URL)
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, a.URI)
	b = append(b, `,"avatar":`...)
	b = appendJSONString(b, a.Avatar)
	b = append(b, `,"avatar_static":`...)
	b = appendJSONString(b, a.AvatarStatic)
	b = append(b, `,"header":`...)
	b = appendJSONString(b, a.Header)
	b = append(b, `,"header_static":`...)
	b = appendJSONString(b, a.HeaderStatic)
	b = append(b, `,"followers_count":`...)
	b = strconv.AppendInt(b, int64(a.FollowersCount), 10)
	b = append(b, `,"following_count":`...)
	b = strconv.AppendInt(b, int64(a.FollowingCount), 10)
	b = append(b, `,"statuses_count":`...)
	b = strconv.AppendInt(b, int64(a.StatusesCount), 10)
	b = append(b, `,"last_status_at":`...)
	b = appendOptString(b, a.LastStatusAt)
	b = append(b, `,"hide_collections":`...)
	b = strconv.AppendBool(b, a.HideCollection)
	b = append(b, `,"emojis":`...)
	b = appendAnyList(b, a.Emojis)
	b = append(b, `,"fields":`...)
	b = appendList(b, a.Fields, appendField)
	if a.Suspended {
		b = append(b, `,"suspended":true`...)
	}
	if a.Source != nil {
		b = append(b, `,"source":`...)
		b = appendSource(b, a.Source)
	}
	if a.Role != nil {
		b = append(b, `,"role":`...)
		b = appendRole(b, a.Role)
	}
	if a.Atrium != nil {
		b = append(b, `,"atrium":`...)
		b = appendWorkProfile(b, a.Atrium)
	}
	return append(b, '}')
}

func appendField(b []byte, f *Field) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, f.Name)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, f.Value)
	b = append(b, `,"verified_at":`...)
	b = appendOptString(b, f.VerifiedAt)
	return append(b, '}')
}

func appendSource(b []byte, s *Source) []byte {
	b = append(b, `{"privacy":`...)
	b = appendJSONString(b, s.Privacy)
	b = append(b, `,"sensitive":`...)
	b = strconv.AppendBool(b, s.Sensitive)
	b = append(b, `,"language":`...)
	b = appendJSONString(b, s.Language)
	b = append(b, `,"note":`...)
	b = appendJSONString(b, s.Note)
	b = append(b, `,"fields":`...)
	b = appendList(b, s.Fields, appendField)
	b = append(b, `,"follow_requests_count":`...)
	b = strconv.AppendInt(b, int64(s.FollowRequestsCount), 10)
	return append(b, '}')
}

func appendRole(b []byte, r *Role) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.Name)
	b = append(b, `,"color":`...)
	b = appendJSONString(b, r.Color)
	b = append(b, `,"permissions":`...)
	b = appendJSONString(b, r.Permissions)
	b = append(b, `,"highlighted":`...)
	b = strconv.AppendBool(b, r.Highlighted)
	return append(b, '}')
}

func appendWorkProfile(b []byte, w *WorkProfile) []byte {
	b = append(b, `{"job_title":`...)
	b = appendJSONString(b, w.JobTitle)
	b = append(b, `,"department":`...)
	b = appendJSONString(b, w.Department)
	b = append(b, `,"location":`...)
	b = appendJSONString(b, w.Location)
	if w.Phone != "" {
		b = append(b, `,"phone":`...)
		b = appendJSONString(b, w.Phone)
	}
	b = append(b, `,"pronouns":`...)
	b = appendJSONString(b, w.Pronouns)
	b = append(b, `,"time_zone":`...)
	b = appendJSONString(b, w.TimeZone)
	b = append(b, `,"skills":`...)
	if w.Skills == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range w.Skills {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"manager_id":`...)
	b = appendOptString(b, w.ManagerID)
	b = append(b, `,"open_to_internal_moves":`...)
	b = strconv.AppendBool(b, w.OpenToMoves)
	if w.OpenToMovesNote != "" {
		b = append(b, `,"open_to_internal_moves_note":`...)
		b = appendJSONString(b, w.OpenToMovesNote)
	}
	if w.Organisation != "" {
		b = append(b, `,"organisation":`...)
		b = appendJSONString(b, w.Organisation)
	}
	if w.Domain != "" {
		b = append(b, `,"domain":`...)
		b = appendJSONString(b, w.Domain)
	}
	return append(b, '}')
}

func appendMedia(b []byte, m *MediaAttachment) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, m.Type)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, m.URL)
	b = append(b, `,"preview_url":`...)
	b = appendOptString(b, m.PreviewURL)
	b = append(b, `,"remote_url":`...)
	b = appendOptString(b, m.RemoteURL)
	b = append(b, `,"text_url":`...)
	b = appendOptString(b, m.TextURL)
	b = append(b, `,"meta":`...)
	if m.Meta == nil {
		b = append(b, "null"...)
	} else {
		b = appendAny(b, m.Meta) // free-form sizes: rare, so encoding/json's
	}
	b = append(b, `,"description":`...)
	b = appendOptString(b, m.Description)
	b = append(b, `,"blurhash":`...)
	b = appendOptString(b, m.Blurhash)
	if m.FileName != "" {
		b = append(b, `,"atrium_file_name":`...)
		b = appendJSONString(b, m.FileName)
	}
	if m.SizeBytes != 0 {
		b = append(b, `,"atrium_size_bytes":`...)
		b = strconv.AppendInt(b, m.SizeBytes, 10)
	}
	return append(b, '}')
}

func appendMention(b []byte, m *StatusMention) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.ID)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, m.Username)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, m.URL)
	b = append(b, `,"acct":`...)
	b = appendJSONString(b, m.Acct)
	return append(b, '}')
}

func appendTag(b []byte, t *Tag) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, t.URL)
	return append(b, '}')
}

func appendCard(b []byte, c *Card) []byte {
	if c == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"url":`...)
	b = appendJSONString(b, c.URL)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, c.Title)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, c.Description)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, c.Type)
	b = append(b, `,"authors":`...)
	b = appendAnyList(b, c.Authors)
	b = append(b, `,"author_name":`...)
	b = appendJSONString(b, c.AuthorName)
	b = append(b, `,"author_url":`...)
	b = appendJSONString(b, c.AuthorURL)
	b = append(b, `,"provider_name":`...)
	b = appendJSONString(b, c.ProviderName)
	b = append(b, `,"provider_url":`...)
	b = appendJSONString(b, c.ProviderURL)
	b = append(b, `,"html":`...)
	b = appendJSONString(b, c.HTML)
	b = append(b, `,"width":`...)
	b = strconv.AppendInt(b, int64(c.Width), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(c.Height), 10)
	b = append(b, `,"image":`...)
	b = appendOptString(b, c.Image)
	b = append(b, `,"embed_url":`...)
	b = appendJSONString(b, c.EmbedURL)
	b = append(b, `,"blurhash":`...)
	b = appendOptString(b, c.Blurhash)
	return append(b, '}')
}

// appendList appends a slice of structs through their append function (nil is null).
func appendList[T any](b []byte, list []T, each func([]byte, *T) []byte) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, &list[i])
	}
	return append(b, ']')
}

// appendAnyList appends a []any; the lists typed so (emojis, filters) are empty here.
func appendAnyList(b []byte, list []any) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAny(b, v)
	}
	return append(b, ']')
}

// appendAny appends a value of no fixed type (application, poll, media sizes) through
// encoding/json: these are nil or rare.
func appendAny(b []byte, v any) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...) // the values put here always encode
	}
	return append(b, out...)
}

// jsonSafe marks (1) the ASCII bytes a JSON string carries as they are: printable, and
// neither a quote, a backslash nor <, > or &.
const jsonSafe = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x01\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONString appends s as a JSON string escaped as encoding/json escapes it by default:
// quotes, backslashes and control characters, <, > and & (HTML-safe), U+2028 and U+2029,
// and invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] == 1 {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
