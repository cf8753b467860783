-- Targets: configured channels and chats that subscribed. A row is never deleted:
-- a target Telegram refuses is disabled with its reason, and can be enabled again.
CREATE TABLE targets (
    id              INTEGER PRIMARY KEY,
    chat_key        TEXT    NOT NULL UNIQUE,  -- the chat as first known: '-100123' or '@name'
    chat_id         INTEGER,                  -- current numeric id (NULL until an @name is resolved)
    source          TEXT    NOT NULL CHECK (source IN ('config', 'subscription')),
    kind            TEXT,                     -- channel, group, supergroup, private (when known)
    topic_id        INTEGER,
    post_time       TEXT,                     -- HH:MM override of the config's post_time
    removed         INTEGER NOT NULL DEFAULT 0,  -- no longer in the config / unsubscribed
    enabled         INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    disabled_at     TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX targets_chat_id ON targets (chat_id);

-- The delivery log: one row per (target, local date, part). A row is claimed by
-- inserting it; only the process whose insert succeeded sends that part.
-- 'claimed': owned, no request made yet (safe to resend if the owner dies);
-- 'sending': a request is on the wire (if the owner dies, Telegram may or may not
-- have it: the row becomes 'unknown' and waits for an admin).
CREATE TABLE deliveries (
    target_id   INTEGER NOT NULL REFERENCES targets (id),
    local_date  TEXT    NOT NULL,            -- YYYY-MM-DD in the configured timezone, or a repost key
    part        INTEGER NOT NULL,            -- 1-based
    parts       INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('claimed', 'sending', 'sent', 'retry', 'failed', 'unknown')),
    message_id  INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    owner       TEXT,                        -- host:pid:nonce of the process holding 'claimed' or 'sending'
    lease_until TEXT,
    not_before  TEXT,                        -- for 'retry'
    alerted     INTEGER NOT NULL DEFAULT 0,
    claimed_at  TEXT    NOT NULL,
    sent_at     TEXT,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (target_id, local_date, part)
);
CREATE INDEX deliveries_status ON deliveries (status);

-- Admin actions and refused attempts.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT    NOT NULL,
    user_id  INTEGER,
    action   TEXT    NOT NULL,
    detail   TEXT,
    result   TEXT    NOT NULL
);
