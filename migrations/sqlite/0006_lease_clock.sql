-- Leases by the database's clock (issue 13): `lease_expires` is Unix seconds by
-- the database's `julianday('now')`, as `replicas.seen_at` is, so a process
-- whose clock runs ahead cannot cut another's lease short. It replaces
-- `lease_until`, an RFC 3339 time from the claiming process's clock.
ALTER TABLE deliveries ADD COLUMN lease_expires REAL;
UPDATE deliveries SET lease_expires = (julianday(lease_until) - 2440587.5) * 86400.0
    WHERE lease_until IS NOT NULL;
ALTER TABLE deliveries DROP COLUMN lease_until;
