// Package remotemedia copies the images of partner nodes (post attachments, avatars,
// headers) to this node, so that pages and apps only ever load images from here.
//
// # Why copy at all
//
// The browser app's Content-Security-Policy keeps every image on this node: hotlinking would
// tell every partner's server which of our people read what, and when. So a remote image is
// fetched once, by the node, and served from /media like an upload.
//
// # Why it is careful
//
// The URL comes from another server, so everything about the fetch is hostile until proven
// otherwise (FEDERATION.md §8):
//
//   - only http(s) URLs of hosts the partner policy allows (Deps.Allowed) are fetched, and a
//     redirect must land on an allowed host too, so a non-partner is never contacted;
//   - the request goes through internal/outbound, whose dialer refuses private, loopback and
//     link-local addresses after resolution (redirects and DNS rebinding included);
//   - the body is capped (Deps.MaxBytes, 10 MiB by default): an honest Content-Length over the
//     cap is refused unread, a dishonest or absent one is cut off while streaming;
//   - a Content-Encoding is refused rather than inflated (no gzip bombs);
//   - the type is sniffed from the bytes (http.DetectContentType), never taken from the
//     header: HTML served as image/jpeg is refused;
//   - images are decoded with internal/media's guards (declared pixel count checked before
//     any buffer exists) and re-encoded, which drops EXIF and every other metadata block,
//     bounds the size and makes the thumbnail. Anything that is not an image is refused for
//     now: documents of remote posts stay links to their origin.
//
// # Keys, rows and jobs
//
// Key(url) is "remote/" plus the SHA-256 of the URL, so the key is known before the fetch has
// run and a post can be stored pointing at it. The key carries no extension: the Store keeps
// the sniffed content type beside the blob, and the type is only known after the fetch. Unlike
// upload keys, these are not secret, but they add no exposure: computing one needs the remote
// URL, and whoever has that can fetch the original from its origin.
//
// The remote_media table has one row per URL with its status (pending, ok, failed). Queue
// records the row and enqueues one fetch job (deduplicated by key) in the caller's
// transaction. The job is idempotent: it does nothing once the row is ok or failed, and
// writing a blob twice writes the same bytes. A URL that failed stays failed (renderers show
// the remote link instead); it is not fetched again when queued again.
//
// # Limits
//
// Fetches are jobs of kind Kind, partitioned by host ("media:"+host), so one slow or hostile
// host holds at most jobs.Options.PartitionLimit fetches per process, and the kind runs at
// most Deps.Concurrency at once (decoding a large image costs a few hundred MB for a moment).
// Transient failures are retried MaxAttempts times with the queue's backoff; 4xx answers,
// oversized bodies, encodings, blocked addresses and non-images fail at once.
//
// The total size of the cache is not bounded yet: a partner's images are kept for as long as
// the node runs. That is fine at partner scale (a known, small set of companies); an
// eviction of old, unreferenced rows can come later without changing keys.
package remotemedia
