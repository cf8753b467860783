-- Every process that may claim deliveries renews its row every few seconds, so
-- a claim's owner is known dead when its row stops being renewed (issue 13):
-- not by hostname and pid, which containers share. `seen_at` is the database's
-- clock (Unix seconds), never a process's, so replicas whose clocks differ agree.
CREATE TABLE replicas (
    owner        TEXT    PRIMARY KEY,      -- as written on the deliveries it claims
    label        TEXT    NOT NULL,         -- the host name, for people
    role         TEXT    NOT NULL CHECK (role IN ('leader', 'standby')),
    data_version TEXT    NOT NULL,         -- a hash of the events it serves
    seen_at      REAL    NOT NULL
);
