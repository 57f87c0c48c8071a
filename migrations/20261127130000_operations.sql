-- Operating wirewatch: OPML categories, and the once-only feed-health
-- notices.

-- The OPML folders a feed was imported from, as a JSON array
-- (["News","World"]), kept for export; NULL at the top level.
ALTER TABLE feeds ADD COLUMN category TEXT;
-- When the chats using a failing feed were told it is failing; cleared, and
-- a "recovered" notice sent, once it works again. Once per failure run.
ALTER TABLE feeds ADD COLUMN failing_notice_at TEXT;

-- `/feeds` counts each feed's items of the last 24 hours.
CREATE INDEX articles_feed_fetched_at ON articles (feed_id, fetched_at);

-- `/readyz` inserts a row here and rolls it back: proof that the database
-- file takes writes.
CREATE TABLE write_probe (id INTEGER PRIMARY KEY);
