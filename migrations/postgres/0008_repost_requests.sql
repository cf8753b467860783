-- As migrations/sqlite/0007_repost_requests.sql.
ALTER TABLE post_requests ADD COLUMN confirmation TEXT;
ALTER TABLE post_requests ADD COLUMN sent BIGINT;
