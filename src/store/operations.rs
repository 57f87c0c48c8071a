//! What operators need from the store: feed health for `/feeds` and its
//! once-only notices, OPML import and export, and the gauges of `/metrics`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, StoreTx, parse_time, time_text};

/// One feed as `/feeds` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOverview {
    /// Row id.
    pub id: i64,
    /// Its URL.
    pub url: String,
    /// Display name, if one was given.
    pub name: Option<String>,
    /// When the current run of failures began; `None` while healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure, as the fetcher or parser put it.
    pub last_error: Option<String>,
    /// Last poll that worked.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last poll that found an item not seen before.
    pub last_new_item_at: Option<DateTime<Utc>>,
    /// Articles recorded since the `since` of the query.
    pub recent_items: i64,
}

/// A feed as OPML export writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFeed {
    /// Its URL.
    pub url: String,
    /// Display name.
    pub name: Option<String>,
    /// OPML folder path, outermost first (empty: top level).
    pub category: Vec<String>,
}

/// A feed to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFeed {
    /// Its URL, already checked.
    pub url: String,
    /// Display name.
    pub name: Option<String>,
    /// OPML folder path, outermost first (empty: top level).
    pub category: Vec<String>,
}

/// What happened to one imported feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportResult {
    /// A new feed row (or a removed one made active again).
    Added(i64),
    /// Already watched: left as it was.
    Exists(i64),
}

/// A change in a feed's health that its chats have to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthChange {
    /// Failing for longer than the threshold; not yet announced.
    Failing {
        /// Since when.
        since: DateTime<Utc>,
        /// The last error.
        error: Option<String>,
    },
    /// Announced as failing, and now working again.
    Recovered {
        /// When the failure was announced.
        announced_at: DateTime<Utc>,
    },
}

/// Store-wide numbers for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationsSnapshot {
    /// Active feeds.
    pub feeds: i64,
    /// Active feeds whose last poll failed.
    pub feeds_failing: i64,
    /// Creation time of the oldest undelivered message.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

/// A folder path as stored: a JSON array, NULL for the top level.
fn category_text(path: &[String]) -> Result<Option<String>, StoreError> {
    if path.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(path)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn category_from_text(text: Option<String>) -> Result<Vec<String>, StoreError> {
    text.map_or(Ok(Vec::new()), |t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("category {t:?}: {e}")))
    })
}

impl Store {
    /// Every active feed with its health and the number of its articles
    /// recorded since `since`, by id.
    pub async fn feed_overview(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<FeedOverview>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.url, f.name, f.failing_since, f.last_error, f.last_success_at,
                    f.last_new_item_at,
                    (SELECT COUNT(*) FROM articles a
                     WHERE a.feed_id = f.id AND a.fetched_at >= ?1) AS recent_items
             FROM feeds f WHERE f.active = 1 ORDER BY f.id",
        )
        .bind(time_text(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FeedOverview {
                    id: row.try_get("id")?,
                    url: row.try_get("url")?,
                    name: row.try_get("name")?,
                    failing_since: parse_time(row.try_get("failing_since")?)?,
                    last_error: row.try_get("last_error")?,
                    last_success_at: parse_time(row.try_get("last_success_at")?)?,
                    last_new_item_at: parse_time(row.try_get("last_new_item_at")?)?,
                    recent_items: row.try_get("recent_items")?,
                })
            })
            .collect()
    }

    /// Whether [`StoreTx::claim_health_change`] may find something to say
    /// about the feed: a cheap read, so that most polls take no write lock
    /// for it.
    pub async fn health_change_due(
        &self,
        feed_id: i64,
        failing_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM feeds WHERE id = ?1 AND (
                 (active = 1 AND failing_notice_at IS NULL
                  AND failing_since IS NOT NULL AND failing_since <= ?2)
                 OR (failing_since IS NULL AND failing_notice_at IS NOT NULL)))",
        )
        .bind(feed_id)
        .bind(time_text(failing_before))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Numbers for the `/metrics` gauges.
    pub async fn operations_snapshot(&self) -> Result<OperationsSnapshot, StoreError> {
        let row = sqlx::query(
            "SELECT
                 (SELECT COUNT(*) FROM feeds WHERE active = 1) AS feeds,
                 (SELECT COUNT(*) FROM feeds WHERE active = 1 AND failing_since IS NOT NULL)
                     AS feeds_failing,
                 (SELECT MIN(created_at) FROM outbox
                  WHERE sent_at IS NULL AND failed_at IS NULL) AS oldest_pending_at",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(OperationsSnapshot {
            feeds: row.try_get("feeds")?,
            feeds_failing: row.try_get("feeds_failing")?,
            oldest_pending_at: parse_time(row.try_get("oldest_pending_at")?)?,
        })
    }

    /// Active feeds for OPML export, by category then name.
    pub async fn exported_feeds(&self) -> Result<Vec<ExportedFeed>, StoreError> {
        let rows =
            sqlx::query("SELECT url, name, category FROM feeds WHERE active = 1 ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut feeds = rows
            .iter()
            .map(|row| {
                Ok(ExportedFeed {
                    url: row.try_get("url")?,
                    name: row.try_get("name")?,
                    category: category_from_text(row.try_get("category")?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        feeds.sort_by(|a, b| a.category.cmp(&b.category));
        Ok(feeds)
    }

    /// Adds imported feeds in one transaction: all of them or, on any
    /// error, none. Feeds already watched are left alone. Imported feeds
    /// are managed like feeds added from chat: `/feed remove` can drop
    /// them, and the config file does not deactivate them.
    pub async fn import_feeds(
        &self,
        feeds: &[ImportedFeed],
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportResult>, StoreError> {
        let mut tx = self.begin().await?;
        let mut results = Vec::with_capacity(feeds.len());
        for feed in feeds {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM feeds WHERE url = ?1 AND active = 1")
                    .bind(&feed.url)
                    .fetch_optional(&mut *tx.tx)
                    .await?;
            if let Some(id) = existing {
                results.push(ImportResult::Exists(id));
                continue;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO feeds (url, name, category, origin, backfill, active, created_at)
                 VALUES (?1, ?2, ?3, 'chat', 'none', 1, ?4)
                 ON CONFLICT (url) DO UPDATE SET active = 1,
                     name = COALESCE(excluded.name, name),
                     category = COALESCE(excluded.category, category)
                 RETURNING id",
            )
            .bind(&feed.url)
            .bind(&feed.name)
            .bind(category_text(&feed.category)?)
            .bind(time_text(now))
            .fetch_one(&mut *tx.tx)
            .await?;
            results.push(ImportResult::Added(id));
        }
        tx.commit().await?;
        Ok(results)
    }
}

impl StoreTx {
    /// Decides whether a feed's chats must hear about its health, and
    /// records that they will (so it is said once): a feed failing since
    /// before `failing_before` that was not yet announced, or an announced
    /// feed that works again.
    pub async fn claim_health_change(
        &mut self,
        feed_id: i64,
        failing_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<HealthChange>, StoreError> {
        let failing = sqlx::query(
            "UPDATE feeds SET failing_notice_at = ?3
             WHERE id = ?1 AND active = 1 AND failing_notice_at IS NULL
                   AND failing_since IS NOT NULL AND failing_since <= ?2
             RETURNING failing_since, last_error",
        )
        .bind(feed_id)
        .bind(time_text(failing_before))
        .bind(time_text(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        if let Some(row) = failing {
            let since = parse_time(row.try_get("failing_since")?)?.unwrap_or(now);
            return Ok(Some(HealthChange::Failing {
                since,
                error: row.try_get("last_error")?,
            }));
        }
        // RETURNING gives the new (NULL) value, so read the old one first.
        let announced: Option<Option<String>> = sqlx::query_scalar(
            "SELECT failing_notice_at FROM feeds
             WHERE id = ?1 AND failing_since IS NULL AND failing_notice_at IS NOT NULL",
        )
        .bind(feed_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(announced_at) = parse_time(announced.flatten())? else {
            return Ok(None);
        };
        sqlx::query("UPDATE feeds SET failing_notice_at = NULL WHERE id = ?1")
            .bind(feed_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(Some(HealthChange::Recovered { announced_at }))
    }

    /// Remembers that `chats` were told feed `feed_id` is failing (and
    /// forgets whoever was told about an earlier run of failures).
    pub async fn record_health_recipients(
        &mut self,
        feed_id: i64,
        chats: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM feed_health_recipients WHERE feed_id = ?1")
            .bind(feed_id)
            .execute(&mut *self.tx)
            .await?;
        for &subscription_id in chats {
            sqlx::query(
                "INSERT INTO feed_health_recipients (feed_id, subscription_id)
                 VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .bind(feed_id)
            .bind(subscription_id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// The chats told that feed `feed_id` was failing, not paused since,
    /// and forgets them all: who gets its "recovered" notice.
    pub async fn take_health_recipients(&mut self, feed_id: i64) -> Result<Vec<i64>, StoreError> {
        let chats = sqlx::query_scalar(
            "SELECT n.subscription_id FROM feed_health_recipients n
             JOIN subscriptions s ON s.id = n.subscription_id
             WHERE n.feed_id = ?1 AND s.paused_reason IS NULL
             ORDER BY n.subscription_id",
        )
        .bind(feed_id)
        .fetch_all(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM feed_health_recipients WHERE feed_id = ?1")
            .bind(feed_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(chats)
    }

    /// The chats (subscription ids) whose rules have hits on the feed's
    /// articles, not paused.
    pub async fn chats_using_feed(&mut self, feed_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT r.subscription_id FROM hits h
             JOIN articles a ON a.id = h.article_id
             JOIN rules r ON r.id = h.rule_id
             JOIN subscriptions s ON s.id = r.subscription_id
             WHERE a.feed_id = ?1 AND s.paused_reason IS NULL
             ORDER BY r.subscription_id",
        )
        .bind(feed_id)
        .fetch_all(&mut *self.tx)
        .await?)
    }
}
