-- Finding who has a post in their feed (live updates, deletes) must not scan every feed.
CREATE INDEX home_feed_post_idx ON home_feed (post_id);
