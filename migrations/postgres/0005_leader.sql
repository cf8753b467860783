-- Who leads this database (PostgreSQL only: SQLite's leader writes it in its
-- lock file). Written by the process that holds the advisory lock, read by
-- `dhikra post` to hand its work over and by `/status`.
CREATE TABLE leader (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    holder  TEXT   NOT NULL CHECK (holder IN ('run', 'post')),
    pid     BIGINT NOT NULL,
    host    TEXT   NOT NULL
);
