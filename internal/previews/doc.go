// Package previews builds link preview cards (title, description, image, site name) for the
// links in posts and caches them in the link_previews table.
//
// # Why a cache and a job
//
// A preview needs a request to a server the author chose, which may be slow, down or
// hostile. Doing that while a post is being created would make posting as slow as the
// slowest linked site, so Fetch runs from a background job after the post is committed and
// ForPosts, used when posts are shown, only reads what is stored and never fetches. A URL
// is fetched at most once per TTL (OKTTL for pages that answered, ErrorTTL for failures),
// however many posts link it: a viral link posted by a hundred people costs its site one
// request a day, not a hundred.
//
// # Why so defensive
//
// Everything a page says about itself is attacker-controlled. Requests go through the
// SSRF-safe outbound client, so a link to an internal address is never dialled. Only
// responses that declare an HTML content type are read, and at most MaxPageBytes of them:
// the metadata lives in <head>, at the start of the document, so a larger page is cut, not
// refused. The parser is the x/net/html tokenizer rather than a tree builder, so memory
// stays proportional to one token and it stops at the end of <head>. Text is
// entity-decoded, stripped of control and bidi-override characters, collapsed to single
// spaces and capped in length, and only absolute http(s) image URLs survive, so a stored
// preview can be rendered (escaped, as always) without further checks: no javascript: or
// data: image, no title that spans a screen or reverses the text around it.
//
// # Statuses
//
// A stored row has status "ok" (something usable was found; ForPosts shows it), "none" (the
// page answered but is not HTML or carries no usable metadata; not retried for OKTTL) or
// "error" (the fetch failed: network error, refused address, non-2xx status; retried after
// ErrorTTL). Remote failures are results, not errors: Fetch records them and returns nil,
// so the job queue does not retry sooner than ErrorTTL would allow anyway.
package previews
