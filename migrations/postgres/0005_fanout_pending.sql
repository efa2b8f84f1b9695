-- Posts whose followers' feeds are still to be written. Large audiences are fanned out in the
-- background in batches; the row is written with the post, so a crash delays the fan-out but
-- never loses it.
CREATE TABLE fanout_pending (
    post_id    TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
