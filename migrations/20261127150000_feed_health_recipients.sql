-- The chats told that a feed is failing. Its "recovered" notice goes to
-- them and to no other chat: not to one that started using the feed after
-- the "failing" notice went out.

CREATE TABLE feed_health_recipients (
    feed_id         INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    PRIMARY KEY (feed_id, subscription_id)
);

-- Feeds announced as failing before this table existed: their chats as
-- the notice found them (those with hits from the feed).
INSERT INTO feed_health_recipients (feed_id, subscription_id)
SELECT DISTINCT a.feed_id, r.subscription_id
FROM hits h
JOIN articles a ON a.id = h.article_id
JOIN rules r ON r.id = h.rule_id
JOIN feeds f ON f.id = a.feed_id
WHERE f.failing_notice_at IS NOT NULL;
