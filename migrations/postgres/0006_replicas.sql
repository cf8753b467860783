-- As migrations/sqlite/0005_replicas.sql: one row per live process, renewed
-- every few seconds; `seen_at` is the server's clock, `now()` in Unix seconds.
CREATE TABLE replicas (
    owner        TEXT             PRIMARY KEY,
    label        TEXT             NOT NULL,
    role         TEXT             NOT NULL CHECK (role IN ('leader', 'standby')),
    data_version TEXT             NOT NULL,
    seen_at      DOUBLE PRECISION NOT NULL
);
