//! The `stories` and `story_alerts` tables, and the story columns of
//! `articles`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoreTx, parse_time, time_text};

/// An article of the story window, as the story index needs it on start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryArticle {
    /// The article.
    pub article_id: i64,
    /// Its story.
    pub story_id: i64,
    /// When wirewatch saw it.
    pub fetched_at: DateTime<Utc>,
    /// Its canonical link.
    pub canonical_url: Option<String>,
    /// Its key within its feed (`guid:…`, `link:…`).
    pub item_key: String,
    /// Its headline.
    pub title: String,
    /// Its stored signature.
    pub signature: Vec<u8>,
}

/// An article of a story as chat users are shown it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryMember {
    /// The article.
    pub article_id: i64,
    /// Its headline.
    pub title: String,
    /// The outlet that carried it: its feed's name, else the feed's URL.
    pub outlet: String,
}

impl StoryMember {
    /// The distinct outlets of `members`, in their order.
    pub fn outlets(members: &[StoryMember]) -> Vec<String> {
        let mut outlets: Vec<String> = Vec::new();
        for member in members {
            if !outlets
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&member.outlet))
            {
                outlets.push(member.outlet.clone());
            }
        }
        outlets
    }
}

/// Articles of a story read to name it and its outlets.
const STORY_MEMBERS_READ: i64 = 200;

/// An alert already queued for a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryAlertMessage {
    /// The outbox row.
    pub outbox_id: i64,
    /// The chat.
    pub subscription_id: i64,
    /// Its payload (the alert as it reads now), JSON.
    pub payload: String,
    /// Whether it has been delivered (later changes need an edit).
    pub sent: bool,
}

/// The sent message an edit applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditTarget {
    /// What the platform called the message; `None` when it gave no id.
    pub platform_message_id: Option<String>,
    /// Whether the message was delivered.
    pub sent: bool,
    /// Whether the platform message carried other outbox rows too (a
    /// coalesced burst): editing it would drop them.
    pub shared: bool,
}

impl StoreTx {
    /// Starts a story with its first article; returns the story's id.
    pub async fn create_story(
        &mut self,
        article_id: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO stories (first_article_id, created_at, updated_at)
             VALUES (?1, ?2, ?2) RETURNING id",
        )
        .bind(article_id)
        .bind(time_text(now))
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Counts one more article in a story.
    pub async fn grow_story(
        &mut self,
        story_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE stories SET articles = articles + 1, updated_at = ?2 WHERE id = ?1")
            .bind(story_id)
            .bind(time_text(now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records an article's story, its signature and why it joined.
    pub async fn set_article_story(
        &mut self,
        article_id: i64,
        story_id: i64,
        signature: &[u8],
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE articles SET story_id = ?2, story_signature = ?3, story_reason = ?4
             WHERE id = ?1",
        )
        .bind(article_id)
        .bind(story_id)
        .bind(signature)
        .bind(reason)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The rules of a chat that already alerted on a story.
    pub async fn story_alerted_rules(
        &mut self,
        story_id: i64,
        subscription_id: i64,
    ) -> Result<HashSet<i64>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT rule_id FROM story_alerts WHERE story_id = ?1 AND subscription_id = ?2",
        )
        .bind(story_id)
        .bind(subscription_id)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(ids.into_iter().collect())
    }

    /// Records that `outbox_id` is a chat's alert about a story for a rule.
    pub async fn record_story_alert(
        &mut self,
        story_id: i64,
        subscription_id: i64,
        rule_id: i64,
        outbox_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO story_alerts (story_id, subscription_id, rule_id, outbox_id)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )
        .bind(story_id)
        .bind(subscription_id)
        .bind(rule_id)
        .bind(outbox_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Every alert queued about a story, oldest first.
    pub async fn story_alert_messages(
        &mut self,
        story_id: i64,
    ) -> Result<Vec<StoryAlertMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.subscription_id, o.payload, o.sent_at IS NOT NULL AS sent
             FROM outbox o
             WHERE o.id IN (SELECT outbox_id FROM story_alerts WHERE story_id = ?1)
               AND o.failed_at IS NULL
             ORDER BY o.id",
        )
        .bind(story_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoryAlertMessage {
                    outbox_id: row.try_get("id")?,
                    subscription_id: row.try_get("subscription_id")?,
                    payload: row.try_get("payload")?,
                    sent: row.try_get("sent")?,
                })
            })
            .collect()
    }

    /// The newest edit entry of a message that is still waiting to be
    /// sent: a later change rewrites it rather than queueing another edit.
    pub async fn pending_edit_of(&mut self, outbox_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT e.id FROM outbox e
             WHERE e.subscription_id = (SELECT subscription_id FROM outbox WHERE id = ?1)
               AND e.sent_at IS NULL AND e.failed_at IS NULL AND e.attempts = 0
               AND json_valid(e.payload)
               AND json_extract(e.payload, '$.type') = 'edit'
               AND json_extract(e.payload, '$.of') = ?1
             ORDER BY e.id DESC LIMIT 1",
        )
        .bind(outbox_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Replaces what a queued message says (an unsent alert gets the
    /// outlets that joined its story before it went out).
    pub async fn set_outbox_payload(
        &mut self,
        outbox_id: i64,
        payload_json: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET payload = ?2 WHERE id = ?1")
            .bind(outbox_id)
            .bind(payload_json)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The articles seen since `since` that have a story and a signature,
    /// oldest first: what the story index is rebuilt from on start.
    pub async fn story_window(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoryArticle>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, story_id, fetched_at, canonical_url, item_key, title, story_signature
             FROM articles
             WHERE fetched_at >= ?1 AND story_id IS NOT NULL AND story_signature IS NOT NULL
             ORDER BY fetched_at, id",
        )
        .bind(time_text(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoryArticle {
                    article_id: row.try_get("id")?,
                    story_id: row.try_get("story_id")?,
                    fetched_at: parse_time(Some(row.try_get("fetched_at")?))?.unwrap_or(since),
                    canonical_url: row.try_get("canonical_url")?,
                    item_key: row.try_get("item_key")?,
                    title: row.try_get("title")?,
                    signature: row.try_get("story_signature")?,
                })
            })
            .collect()
    }

    /// The articles of a story, oldest first, with their outlets; at most
    /// [`STORY_MEMBERS_READ`] of them.
    pub async fn story_members(&self, story_id: i64) -> Result<Vec<StoryMember>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.title, COALESCE(f.name, f.url) AS outlet
             FROM articles a JOIN feeds f ON f.id = a.feed_id
             WHERE a.story_id = ?1
             ORDER BY a.fetched_at, a.id LIMIT ?2",
        )
        .bind(story_id)
        .bind(STORY_MEMBERS_READ)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoryMember {
                    article_id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    outlet: row.try_get("outlet")?,
                })
            })
            .collect()
    }

    /// The story of an article and why it joined, if it has one.
    pub async fn story_of_article(
        &self,
        article_id: i64,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT story_id, story_reason FROM articles WHERE id = ?1 AND story_id IS NOT NULL",
        )
        .bind(article_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("story_id")?, r.try_get("story_reason")?)))
            .transpose()
    }

    /// The message an edit entry applies to; `None` when the row is gone.
    pub async fn edit_target(&self, outbox_id: i64) -> Result<Option<EditTarget>, StoreError> {
        let row = sqlx::query(
            "SELECT o.platform_message_id, o.sent_at IS NOT NULL AS sent,
                    (SELECT COUNT(*) FROM outbox s
                     WHERE s.subscription_id = o.subscription_id
                       AND s.platform_message_id = o.platform_message_id
                       AND NOT (json_valid(s.payload)
                                AND json_extract(s.payload, '$.type') IS 'edit')) AS sharing
             FROM outbox o WHERE o.id = ?1",
        )
        .bind(outbox_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(EditTarget {
                platform_message_id: r.try_get("platform_message_id")?,
                sent: r.try_get("sent")?,
                shared: r.try_get::<i64, _>("sharing")? > 1,
            })
        })
        .transpose()
    }
}
