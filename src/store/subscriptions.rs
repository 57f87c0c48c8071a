//! The `subscriptions` and `rules` tables: chats and their watch rules.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError, time_text};

/// A chat on a platform that receives alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Row id.
    pub id: i64,
    /// `console`, `telegram` or `discord`.
    pub platform: String,
    /// The platform's id of the chat.
    pub chat_id: String,
    /// Immediate alerts on (off: digest only).
    pub alerts_enabled: bool,
    /// Why delivery is paused (bot blocked, chat gone); `None` while active.
    pub paused_reason: Option<String>,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    /// Row id, shown to users as the rule's number.
    pub id: i64,
    /// The chat it belongs to.
    pub subscription_id: i64,
    /// The rule SPEC (`keyword:UN Security Council`).
    pub spec: String,
}

fn subscription_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: row.try_get("id")?,
        platform: row.try_get("platform")?,
        chat_id: row.try_get("chat_id")?,
        alerts_enabled: row.try_get("alerts_enabled")?,
        paused_reason: row.try_get("paused_reason")?,
    })
}

const SUBSCRIPTION_COLUMNS: &str = "id, platform, chat_id, alerts_enabled, paused_reason";

impl Store {
    /// The subscription of a chat, created on first use.
    pub async fn ensure_subscription(
        &self,
        platform: &str,
        chat_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Subscription, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO subscriptions (platform, chat_id, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (platform, chat_id) DO UPDATE SET platform = excluded.platform
             RETURNING {SUBSCRIPTION_COLUMNS}"
        )))
        .bind(platform)
        .bind(chat_id)
        .bind(time_text(now))
        .fetch_one(&self.pool)
        .await?;
        subscription_from_row(&row)
    }

    /// Every subscription.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    /// Stops delivery to a chat (its pending messages are kept).
    pub async fn pause_subscription(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE subscriptions SET paused_reason = ?2 WHERE id = ?1")
            .bind(id)
            .bind(reason)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Turns a chat's immediate alerts on or off.
    pub async fn set_alerts(&self, id: i64, enabled: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE subscriptions SET alerts_enabled = ?2 WHERE id = ?1")
            .bind(id)
            .bind(enabled)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Points a subscription at the chat's new id (a Telegram group that
    /// became a supergroup); its rules and pending messages move with it.
    pub async fn move_subscription(&self, id: i64, new_chat_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE subscriptions SET chat_id = ?2 WHERE id = ?1")
            .bind(id)
            .bind(new_chat_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a rule to a chat; returns its id and whether it is new (the
    /// same SPEC twice in one chat is one rule).
    pub async fn add_rule(
        &self,
        subscription_id: i64,
        spec: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO rules (subscription_id, spec, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (subscription_id, spec) DO NOTHING RETURNING id",
        )
        .bind(subscription_id)
        .bind(spec)
        .bind(time_text(now))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(id) = inserted {
            return Ok((id, true));
        }
        let id =
            sqlx::query_scalar("SELECT id FROM rules WHERE subscription_id = ?1 AND spec = ?2")
                .bind(subscription_id)
                .bind(spec)
                .fetch_one(&self.pool)
                .await?;
        Ok((id, false))
    }

    /// Removes a rule of this chat; false when the chat has no such rule
    /// (including another chat's rule: chats never touch each other's).
    pub async fn remove_rule(
        &self,
        subscription_id: i64,
        rule_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rules WHERE id = ?1 AND subscription_id = ?2")
            .bind(rule_id)
            .bind(subscription_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes a chat's config-given rules exactly `specs` (the console
    /// chat's `[[console.rules]]`); rules added from chat are left alone.
    /// Existing rules keep their ids and hits.
    pub async fn replace_config_rules(
        &self,
        subscription_id: i64,
        specs: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let listed =
            serde_json::to_string(specs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "DELETE FROM rules WHERE subscription_id = ?1 AND origin = 'config'
             AND spec NOT IN (SELECT value FROM json_each(?2))",
        )
        .bind(subscription_id)
        .bind(&listed)
        .execute(&mut *tx)
        .await?;
        for spec in specs {
            sqlx::query(
                "INSERT INTO rules (subscription_id, spec, origin, created_at) VALUES (?1, ?2, 'config', ?3)
                 ON CONFLICT (subscription_id, spec) DO UPDATE SET origin = 'config'",
            )
            .bind(subscription_id)
            .bind(spec)
            .bind(time_text(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A chat's rules, oldest first.
    pub async fn rules_of(&self, subscription_id: i64) -> Result<Vec<RuleRow>, StoreError> {
        self.rules_where("subscription_id = ?1", Some(subscription_id))
            .await
    }

    /// Every rule of every chat, for compiling the matcher.
    pub async fn all_rules(&self) -> Result<Vec<RuleRow>, StoreError> {
        self.rules_where("1 = 1", None).await
    }

    async fn rules_where(
        &self,
        filter: &str,
        bind: Option<i64>,
    ) -> Result<Vec<RuleRow>, StoreError> {
        let sql = format!("SELECT id, subscription_id, spec FROM rules WHERE {filter} ORDER BY id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(value) = bind {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(RuleRow {
                    id: row.try_get("id")?,
                    subscription_id: row.try_get("subscription_id")?,
                    spec: row.try_get("spec")?,
                })
            })
            .collect()
    }
}
