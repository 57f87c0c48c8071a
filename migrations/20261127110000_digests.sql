-- Daily digests. A chat's schedule is in subscriptions.digest_time and
-- digest_zone (NULL: the config's default; digest_time 'off': none).
--
-- Every hit is reported by at most one digest: hits.digest_id says which.
-- A digest claims the chat's unreported hits in the same transaction that
-- queues its messages, so two digests never share a hit and none is lost
-- between them, whatever the order in which polls commit.

ALTER TABLE subscriptions ADD COLUMN digest_quiet INTEGER NOT NULL DEFAULT 0;

CREATE TABLE digests (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- 'scheduled', 'now' (/digest now) or 'baseline' (hits from before the
    -- chat's digests began, set aside unreported)
    kind            TEXT NOT NULL CHECK (kind IN ('scheduled', 'now', 'baseline')),
    -- the scheduled instant it was for (kind 'scheduled')
    due_at          TEXT,
    -- the period covered: from the previous digest to when this one was made
    covers_from     TEXT NOT NULL,
    covers_to       TEXT NOT NULL,
    hits            INTEGER NOT NULL DEFAULT 0,
    -- messages queued in the outbox
    parts           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX digests_subscription ON digests (subscription_id, id);

-- Per chat whose digests have begun.
CREATE TABLE digest_state (
    subscription_id INTEGER PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- hits recorded before this instant were set aside when digests began
    baseline_at     TEXT NOT NULL,
    -- the last scheduled instant dealt with (sent, or started from): the
    -- next digest is due at the first scheduled instant after it
    last_due_at     TEXT NOT NULL
);

ALTER TABLE hits ADD COLUMN digest_id INTEGER REFERENCES digests (id);
CREATE INDEX hits_digest ON hits (digest_id);
CREATE INDEX hits_unreported ON hits (rule_id) WHERE digest_id IS NULL;

-- "also carried by": the duplicates of an article.
CREATE INDEX articles_duplicate_of ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;
