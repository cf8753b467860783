-- A confirmed `/repost` handled by a standby (webhook replicas, issue 13) is
-- handed to the leader as a request naming its confirmation; `sent` is how
-- many targets got it, for the admin's report.
ALTER TABLE post_requests ADD COLUMN confirmation TEXT;
ALTER TABLE post_requests ADD COLUMN sent BIGINT;
