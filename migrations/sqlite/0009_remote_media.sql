-- Remote media: the images that partners' posts attach and their people's avatars and
-- headers, copied here through the SSRF-safe client (FEDERATION.md §8) so that pages only
-- ever load images from this node. One row per remote URL. file_key and thumb_key are
-- derived from the URL (federation/remotemedia.Key), so a post can point at the key before
-- the fetch has run; status says whether the blob is there yet.
CREATE TABLE remote_media (
    url          TEXT PRIMARY KEY,
    file_key     TEXT NOT NULL UNIQUE,
    thumb_key    TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    size_bytes   INTEGER NOT NULL DEFAULT 0,
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'pending',
    error        TEXT NOT NULL DEFAULT '',
    fetched_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
