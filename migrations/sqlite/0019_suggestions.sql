-- What people choose to show or hide about discovery (the Mastodon client API): suggestions
-- they dismissed, hashtags they feature on their profile, and people they endorse. Each row
-- belongs to one person and changes nothing anyone else sees in feeds.

-- account_id no longer wants dismissed_id suggested (DELETE /api/v1/suggestions/:id).
CREATE TABLE suggestion_dismissals (
    account_id   TEXT NOT NULL,
    dismissed_id TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, dismissed_id)
);

-- A hashtag featured on account_id's profile; name is lower case, as post_tags stores tags.
CREATE TABLE featured_tags (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX featured_tags_account_name_idx ON featured_tags (account_id, name);

-- account_id endorses (Mastodon's "feature on profile") endorsed_id, someone they follow.
-- Rows outlive an unfollow; reads keep only people still followed.
CREATE TABLE endorsements (
    account_id  TEXT NOT NULL,
    endorsed_id TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, endorsed_id)
);
