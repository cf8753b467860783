-- How posts go to each target (issue 14). Configured targets take these from the
-- config at every start; a subscribed chat's administrators set them (/settings).
-- The defaults are the behaviour before pictures, plus the picture.
ALTER TABLE targets ADD COLUMN image        INTEGER NOT NULL DEFAULT 1;  -- the day's card opens the post
ALTER TABLE targets ADD COLUMN silent       INTEGER NOT NULL DEFAULT 0;  -- send without notification
ALTER TABLE targets ADD COLUMN pin          INTEGER NOT NULL DEFAULT 0;  -- pin the day's first message
ALTER TABLE targets ADD COLUMN link_preview INTEGER NOT NULL DEFAULT 0;  -- show a preview of the first link
