-- Following with notifications (Mastodon's follow notify=true, the profile's bell): the
-- follower hears of each new post of the followee. The partial index lists the few followers
-- who asked, so a post by someone nobody rang the bell on costs one empty index probe.
ALTER TABLE follows ADD COLUMN notify BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX follows_notify_idx ON follows (followee_id) WHERE notify;
