-- As migrations/sqlite/0006_lease_clock.sql: leases in Unix seconds by the
-- server's `now()`, replacing `lease_until` (the claiming process's clock).
ALTER TABLE deliveries ADD COLUMN lease_expires DOUBLE PRECISION;
UPDATE deliveries SET lease_expires = extract(epoch from lease_until::timestamptz)
    WHERE lease_until IS NOT NULL;
ALTER TABLE deliveries DROP COLUMN lease_until;
