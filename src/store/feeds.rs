//! The `feeds` table: sources and their fetch state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, StoreTx, parse_time, time_text};
use crate::{config::Backfill, feeds::fetch::Validators};

/// Who added a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOrigin {
    /// The operator, in the config file.
    Operator,
    /// A chat user, with `/feed add`.
    Chat,
}

impl FeedOrigin {
    fn as_str(self) -> &'static str {
        match self {
            FeedOrigin::Operator => "operator",
            FeedOrigin::Chat => "chat",
        }
    }
}

/// A feed with its fetch state.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Row id.
    pub id: i64,
    /// Where it is fetched from.
    pub url: String,
    /// Display name, if one was given.
    pub name: Option<String>,
    /// Who added it.
    pub origin: FeedOrigin,
    /// False once removed from the config or from chat.
    pub active: bool,
    /// Its own cron schedule, overriding the default.
    pub schedule: Option<String>,
    /// What its first poll alerts on.
    pub backfill: Backfill,
    /// Conditional GET validators from the last 200.
    pub validators: Validators,
    /// False until the first successful poll recorded its items.
    pub seeded: bool,
    /// When the current run of failures began; `None` while healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure, in plain words.
    pub last_error: Option<String>,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// No poll before this instant (backoff).
    pub retry_at: Option<DateTime<Utc>>,
    /// Last poll that worked (200 or 304).
    pub last_success_at: Option<DateTime<Utc>>,
}

impl Feed {
    /// The name to show: the configured name or the URL.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.url)
    }
}

/// A feed to register.
#[derive(Debug, Clone)]
pub struct NewFeed {
    /// Its URL.
    pub url: String,
    /// Display name.
    pub name: Option<String>,
    /// Its own schedule.
    pub schedule: Option<String>,
    /// First-poll behaviour.
    pub backfill: Backfill,
}

/// The result of adding a feed from chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedRegistration {
    /// A new feed row.
    Added(i64),
    /// The URL was already watched.
    Exists(i64),
}

fn backfill_text(backfill: Backfill) -> String {
    match backfill {
        Backfill::None => "none".to_owned(),
        Backfill::All => "all".to_owned(),
        Backfill::Within(age) => age.as_secs().to_string(),
    }
}

fn backfill_from_text(text: &str) -> Result<Backfill, StoreError> {
    match text {
        "none" => Ok(Backfill::None),
        "all" => Ok(Backfill::All),
        secs => secs
            .parse()
            .map(|s| Backfill::Within(Duration::from_secs(s)))
            .map_err(|_| StoreError::Corrupt(format!("backfill {text:?}"))),
    }
}

const FEED_COLUMNS: &str = "id, url, name, origin, active, schedule, backfill, etag, last_modified, \
     seeded_at, failing_since, last_error, consecutive_failures, retry_at, last_success_at";

fn feed_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Feed, StoreError> {
    let origin: String = row.try_get("origin")?;
    let backfill: String = row.try_get("backfill")?;
    let seeded_at: Option<String> = row.try_get("seeded_at")?;
    Ok(Feed {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        name: row.try_get("name")?,
        origin: if origin == "chat" {
            FeedOrigin::Chat
        } else {
            FeedOrigin::Operator
        },
        active: row.try_get("active")?,
        schedule: row.try_get("schedule")?,
        backfill: backfill_from_text(&backfill)?,
        validators: Validators {
            etag: row.try_get("etag")?,
            last_modified: row.try_get("last_modified")?,
        },
        seeded: seeded_at.is_some(),
        failing_since: parse_time(row.try_get("failing_since")?)?,
        last_error: row.try_get("last_error")?,
        consecutive_failures: row
            .try_get::<i64, _>("consecutive_failures")?
            .clamp(0, u32::MAX.into()) as u32,
        retry_at: parse_time(row.try_get("retry_at")?)?,
        last_success_at: parse_time(row.try_get("last_success_at")?)?,
    })
}

impl Store {
    /// Makes the operator's feeds match the config: new ones added, changed
    /// ones updated, ones no longer listed deactivated (their articles and
    /// hits stay). Returns the ids of the configured feeds, in order.
    pub async fn sync_operator_feeds(
        &self,
        feeds: &[NewFeed],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(feeds.len());
        for feed in feeds {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO feeds (url, name, origin, schedule, backfill, active, created_at)
                 VALUES (?1, ?2, 'operator', ?3, ?4, 1, ?5)
                 ON CONFLICT (url) DO UPDATE SET
                     name = excluded.name, origin = 'operator', schedule = excluded.schedule,
                     backfill = excluded.backfill, active = 1
                 RETURNING id",
            )
            .bind(&feed.url)
            .bind(&feed.name)
            .bind(&feed.schedule)
            .bind(backfill_text(feed.backfill))
            .bind(time_text(now))
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        let listed = serde_json::to_string(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE feeds SET active = 0
             WHERE origin = 'operator' AND id NOT IN (SELECT value FROM json_each(?1))",
        )
        .bind(listed)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Adds a feed on a chat user's request (the URL is already checked).
    pub async fn add_chat_feed(
        &self,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedRegistration, StoreError> {
        if let Some(id) =
            sqlx::query_scalar::<_, i64>("SELECT id FROM feeds WHERE url = ?1 AND active = 1")
                .bind(url)
                .fetch_optional(&self.pool)
                .await?
        {
            return Ok(FeedRegistration::Exists(id));
        }
        let id = sqlx::query_scalar(
            "INSERT INTO feeds (url, origin, backfill, active, created_at)
             VALUES (?1, ?2, 'none', 1, ?3)
             ON CONFLICT (url) DO UPDATE SET active = 1
             RETURNING id",
        )
        .bind(url)
        .bind(FeedOrigin::Chat.as_str())
        .bind(time_text(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(FeedRegistration::Added(id))
    }

    /// Stops polling a feed; its articles and hits are kept.
    pub async fn deactivate_feed(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE feeds SET active = 0 WHERE id = ?1 AND active = 1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every feed being polled, by id.
    pub async fn active_feeds(&self) -> Result<Vec<Feed>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FEED_COLUMNS} FROM feeds WHERE active = 1 ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(feed_from_row).collect()
    }

    /// One feed, active or not.
    pub async fn feed(&self, id: i64) -> Result<Option<Feed>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FEED_COLUMNS} FROM feeds WHERE id = ?1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(feed_from_row).transpose()
    }

    /// Records a failed poll and when to try again.
    pub async fn record_poll_failure(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE feeds SET last_polled_at = ?2, last_error = ?3,
                 failing_since = COALESCE(failing_since, ?2),
                 consecutive_failures = consecutive_failures + 1, retry_at = ?4
             WHERE id = ?1",
        )
        .bind(id)
        .bind(time_text(now))
        .bind(error)
        .bind(time_text(retry_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a 304: the feed is healthy and unchanged.
    pub async fn record_not_modified(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE feeds SET {HEALTHY} WHERE id = ?1"
        )))
        .bind(id)
        .bind(time_text(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Columns set by every successful poll (`?2` is now).
const HEALTHY: &str = "last_polled_at = ?2, last_success_at = ?2, failing_since = NULL, \
     last_error = NULL, consecutive_failures = 0, retry_at = NULL";

impl StoreTx {
    /// Records a successful fetch and parse: new validators, healthy state,
    /// and the feed marked as seeded.
    pub async fn record_poll_success(
        &mut self,
        id: i64,
        validators: &Validators,
        new_items: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE feeds SET {HEALTHY}, etag = ?3, last_modified = ?4,
                 seeded_at = COALESCE(seeded_at, ?2),
                 last_new_item_at = CASE WHEN ?5 THEN ?2 ELSE last_new_item_at END
             WHERE id = ?1"
        )))
        .bind(id)
        .bind(time_text(now))
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .bind(new_items)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
