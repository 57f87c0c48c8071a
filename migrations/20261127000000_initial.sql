-- wirewatch's first schema: feeds and their fetch state, articles, chats
-- (subscriptions) and their rules, hits, and the outbox of messages.

CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT NOT NULL UNIQUE,
    name                 TEXT,
    -- 'operator' (config file) or 'chat' (added with /feed add)
    origin               TEXT NOT NULL CHECK (origin IN ('operator', 'chat')),
    schedule             TEXT,
    -- 'none', 'all' or an age in seconds ('86400')
    backfill             TEXT NOT NULL DEFAULT 'none',
    active               INTEGER NOT NULL DEFAULT 1,
    etag                 TEXT,
    last_modified        TEXT,
    -- set once the first poll has recorded the feed's existing items
    seeded_at            TEXT,
    last_polled_at       TEXT,
    last_success_at      TEXT,
    last_new_item_at     TEXT,
    failing_since        TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    retry_at             TEXT,
    created_at           TEXT NOT NULL
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    -- the item's guid, or its link when it has none
    item_key      TEXT NOT NULL,
    url           TEXT,
    canonical_url TEXT,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    published_at  TEXT,
    fetched_at    TEXT NOT NULL,
    -- the earlier article (other feed, same canonical URL) this one repeats
    duplicate_of  INTEGER REFERENCES articles (id) ON DELETE SET NULL,
    UNIQUE (feed_id, item_key)
);
CREATE INDEX articles_canonical_url ON articles (canonical_url);
CREATE INDEX articles_fetched_at ON articles (fetched_at);

CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY,
    platform       TEXT NOT NULL,
    chat_id        TEXT NOT NULL,
    title          TEXT,
    alerts_enabled INTEGER NOT NULL DEFAULT 1,
    digest_time    TEXT,
    digest_zone    TEXT,
    -- why delivery stopped (bot blocked, chat gone); NULL while active
    paused_reason  TEXT,
    created_at     TEXT NOT NULL,
    UNIQUE (platform, chat_id)
);

CREATE TABLE rules (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    spec            TEXT NOT NULL,
    -- 'config' (the console's [[console.rules]]) or 'chat' (/watch)
    origin          TEXT NOT NULL DEFAULT 'chat' CHECK (origin IN ('config', 'chat')),
    created_at      TEXT NOT NULL,
    UNIQUE (subscription_id, spec)
);

CREATE TABLE hits (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- the matcher's explanation (terms, snippet), JSON
    explanation TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (rule_id, article_id)
);
CREATE INDEX hits_article ON hits (article_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- the platform-neutral message, JSON
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT,
    -- set when the platform refused the message for good; the row stays
    failed_at       TEXT,
    -- what the platform called the message, for later edits
    platform_message_id TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
