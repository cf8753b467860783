-- Pending admin confirmations (/repost). A confirmation is used by flipping it from
-- 'pending' to 'done' in one UPDATE, so a double press or two admins at once
-- start exactly one repost; its id is also the repost's delivery key.
CREATE TABLE confirmations (
    id          TEXT    PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    date        TEXT    NOT NULL,            -- the day whose post is reposted
    event_id    TEXT,                        -- or one event only
    target      TEXT,                        -- NULL: every enabled target
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    result      TEXT
);
