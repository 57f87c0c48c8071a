-- Stories: syndicated copies of one news story across outlets, so that a
-- chat gets one alert per story per rule, and later outlets are added to
-- that alert instead of alerting again.

CREATE TABLE stories (
    id               INTEGER PRIMARY KEY,
    -- the article that started the story
    first_article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
    -- articles that joined it, the first included
    articles         INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories (id) ON DELETE SET NULL;
-- The MinHash signature of the article's title and body (see
-- src/stories/signature.rs), kept to rebuild the in-memory index on start.
ALTER TABLE articles ADD COLUMN story_signature BLOB;
-- Why it joined its story ("same link as article 12", "text 64% similar
-- to article 12 ..."); NULL for the article that started the story.
ALTER TABLE articles ADD COLUMN story_reason TEXT;
CREATE INDEX articles_story ON articles (story_id) WHERE story_id IS NOT NULL;

-- The alert (outbox row) a chat got about a story, per rule: a rule
-- alerts once per story.
CREATE TABLE story_alerts (
    story_id        INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    rule_id         INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    outbox_id       INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    PRIMARY KEY (story_id, subscription_id, rule_id)
);
CREATE INDEX story_alerts_outbox ON story_alerts (outbox_id);
