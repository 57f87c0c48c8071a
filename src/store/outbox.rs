//! The `outbox` table: every message is a row before it is a send.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, StoreTx, parse_time, time_text};

/// A message waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Row id.
    pub id: i64,
    /// The chat it goes to.
    pub subscription_id: i64,
    /// The chat's platform.
    pub platform: String,
    /// The chat's id on that platform.
    pub chat_id: String,
    /// The platform-neutral message, JSON.
    pub payload: String,
    /// Failed attempts so far (rate-limit waits do not count).
    pub attempts: u32,
}

/// When and why to try a message again.
#[derive(Debug, Clone)]
pub struct Redelivery<'a> {
    /// Not before this instant.
    pub at: DateTime<Utc>,
    /// What went wrong, for the operator.
    pub error: &'a str,
    /// Whether this counts as a failed attempt (a rate-limit wait does not).
    pub count_attempt: bool,
}

impl StoreTx {
    /// Queues a message for a chat; it is sent after the commit.
    pub async fn enqueue(
        &mut self,
        subscription_id: i64,
        payload_json: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO outbox (subscription_id, payload, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?3) RETURNING id",
        )
        .bind(subscription_id)
        .bind(payload_json)
        .bind(time_text(now))
        .fetch_one(&mut *self.tx)
        .await?)
    }
}

/// Pending rows of chats that are not paused.
const PENDING: &str = "o.sent_at IS NULL AND o.failed_at IS NULL AND s.paused_reason IS NULL";

impl Store {
    /// Queues one message outside a poll (command replies, notices).
    pub async fn enqueue(
        &self,
        subscription_id: i64,
        payload_json: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(subscription_id, payload_json, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Messages due at `now`, oldest first.
    pub async fn due_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT o.id, o.subscription_id, s.platform, s.chat_id, o.payload, o.attempts
             FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id
             WHERE {PENDING} AND o.next_attempt_at <= ?1
             ORDER BY o.id LIMIT ?2"
        )))
        .bind(time_text(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxMessage {
                    id: row.try_get("id")?,
                    subscription_id: row.try_get("subscription_id")?,
                    platform: row.try_get("platform")?,
                    chat_id: row.try_get("chat_id")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX.into()) as u32,
                })
            })
            .collect()
    }

    /// When the earliest pending message falls due, if any is pending.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT MIN(o.next_attempt_at) FROM outbox o
             JOIN subscriptions s ON s.id = o.subscription_id WHERE {PENDING}"
        )))
        .fetch_one(&self.pool)
        .await?;
        parse_time(next)
    }

    /// Number of messages not yet delivered (paused chats included).
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records a delivery.
    pub async fn mark_sent(
        &self,
        id: i64,
        now: DateTime<Utc>,
        platform_message_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET sent_at = ?2, platform_message_id = ?3 WHERE id = ?1")
            .bind(id)
            .bind(time_text(now))
            .bind(platform_message_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that several messages went out as one platform message
    /// (a coalesced burst of alerts): all of them or none.
    pub async fn mark_sent_together(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        platform_message_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let listed = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE outbox SET sent_at = ?2, platform_message_id = ?3
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(listed)
        .bind(time_text(now))
        .bind(platform_message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a message back in the queue for later. The chat's later
    /// pending messages wait at least as long, so that none overtakes it
    /// (the parts of a digest, a run of alerts stay in order).
    pub async fn redeliver(&self, id: i64, plan: &Redelivery<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3,
                 attempts = attempts + ?4 WHERE id = ?1",
        )
        .bind(id)
        .bind(time_text(plan.at))
        .bind(plan.error)
        .bind(i64::from(plan.count_attempt))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = ?2
             WHERE subscription_id = (SELECT subscription_id FROM outbox WHERE id = ?1)
               AND id > ?1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at < ?2",
        )
        .bind(id)
        .bind(time_text(plan.at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives up on a message the platform refuses for good; the row stays
    /// for the operator to inspect.
    pub async fn mark_failed(
        &self,
        id: i64,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET failed_at = ?2, last_error = ?3 WHERE id = ?1")
            .bind(id)
            .bind(time_text(now))
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sent messages of a chat, oldest first (JSON payloads).
    pub async fn sent_payloads(&self, subscription_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE subscription_id = ?1 AND sent_at IS NOT NULL ORDER BY id",
        )
        .bind(subscription_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
