-- `dhikra post` while a `dhikra run` leads the database: the post hands its
-- request to the leader, the only process that sends, so the two never pace
-- themselves apart (Telegram's 30 msg/s is per bot, not per process).
CREATE TABLE post_requests (
    id          INTEGER PRIMARY KEY,
    date        TEXT    NOT NULL,            -- YYYY-MM-DD, the day whose post is sent
    target      TEXT,                        -- NULL: every enabled target
    force       INTEGER NOT NULL DEFAULT 0,  -- a repost under a key of its own
    created_at  TEXT    NOT NULL,
    started_at  TEXT,
    done_at     TEXT,
    summary     TEXT,                        -- the report's summary line
    failed      INTEGER                      -- targets failed or unknown
);
