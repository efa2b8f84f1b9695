-- A person's profile cover (Mastodon's account header): the media key of the 1500×500
-- picture, its 600×200 thumbnail stored beside it (media.CoverThumbKey). NULL for none.
ALTER TABLE users ADD COLUMN header_key TEXT;
