CREATE TABLE confirmations (
    id          TEXT    PRIMARY KEY,
    admin_id    BIGINT  NOT NULL,
    date        TEXT    NOT NULL,
    event_id    TEXT,
    target      TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'cancelled')),
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    result      TEXT
);
