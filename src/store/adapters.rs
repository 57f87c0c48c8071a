//! The `adapter_state` table, and the chat-lifecycle writes that chat
//! adapters make while receiving: handling an incoming update exactly once,
//! resuming a chat that talks to the bot again, and following a chat that
//! moved (a Telegram group upgraded to a supergroup).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, time_text};

/// What handling one incoming update leaves behind, written together.
#[derive(Debug, Clone)]
pub struct HandledUpdate<'a> {
    /// The `adapter_state` key of the adapter's position
    /// (`telegram.update_offset`).
    pub key: &'a str,
    /// The position after this update (Telegram: its `update_id` + 1).
    pub next: i64,
    /// A reply to queue in the outbox: subscription id and JSON payload.
    pub reply: Option<(i64, &'a str)>,
}

/// How a chat move ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatMove {
    /// No subscription had the old chat id.
    NothingToMove,
    /// The subscription now has the new chat id.
    Moved,
    /// A subscription already had the new chat id: its rules and pending
    /// messages were merged into the moved one, and it was removed.
    Merged,
}

impl Store {
    /// A stored adapter value, e.g. the Telegram update offset.
    pub async fn adapter_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM adapter_state WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records that an incoming update was handled: the adapter's new
    /// position and the reply (if any) are committed in one transaction,
    /// so that after a crash the update is either handled again in full
    /// (position not moved, no reply queued) or not at all.
    pub async fn record_handled_update(
        &self,
        update: &HandledUpdate<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let reply_id = match update.reply {
            Some((subscription_id, payload)) => {
                Some(tx.enqueue(subscription_id, payload, now).await?)
            }
            None => None,
        };
        sqlx::query(
            "INSERT INTO adapter_state (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(update.key)
        .bind(update.next.to_string())
        .bind(time_text(now))
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(reply_id)
    }

    /// Resumes delivery to a chat that was paused (the user unblocked the
    /// bot, or it was added back to the group). True if it was paused.
    pub async fn resume_subscription(
        &self,
        platform: &str,
        chat_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET paused_reason = NULL
             WHERE platform = ?1 AND chat_id = ?2 AND paused_reason IS NOT NULL",
        )
        .bind(platform)
        .bind(chat_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Pauses delivery to a chat by its platform id (the bot was removed or
    /// blocked). True if a subscription was paused.
    pub async fn pause_chat(
        &self,
        platform: &str,
        chat_id: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET paused_reason = ?3
             WHERE platform = ?1 AND chat_id = ?2 AND paused_reason IS NULL",
        )
        .bind(platform)
        .bind(chat_id)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the subscription of `old_chat_id` to `new_chat_id`, keeping
    /// its id, rules, hits and pending messages. If the new chat already
    /// has a subscription (someone used the bot there before the move was
    /// seen), that one's rules (unless already present) and pending
    /// messages are merged in and it is removed, so the move never fails
    /// on the unique chat id.
    pub async fn move_chat(
        &self,
        platform: &str,
        old_chat_id: &str,
        new_chat_id: &str,
    ) -> Result<ChatMove, StoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM subscriptions WHERE platform = ?1 AND chat_id = ?2")
                .bind(platform)
                .bind(old_chat_id)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            None => Ok(ChatMove::NothingToMove),
            Some(id) => self.move_subscription_merging(id, new_chat_id).await,
        }
    }

    /// [`Store::move_chat`] for a known subscription id (the delivery
    /// worker's case: a send answered "migrated").
    pub async fn move_subscription_merging(
        &self,
        subscription_id: i64,
        new_chat_id: &str,
    ) -> Result<ChatMove, StoreError> {
        let mut tx = self.pool.begin().await?;
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT o.id FROM subscriptions o JOIN subscriptions s ON s.platform = o.platform
             WHERE s.id = ?1 AND o.chat_id = ?2 AND o.id <> s.id",
        )
        .bind(subscription_id)
        .bind(new_chat_id)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = if let Some(other) = other {
            sqlx::query(
                "UPDATE rules SET subscription_id = ?1 WHERE subscription_id = ?2
                 AND spec NOT IN (SELECT spec FROM rules WHERE subscription_id = ?1)",
            )
            .bind(subscription_id)
            .bind(other)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE outbox SET subscription_id = ?1 WHERE subscription_id = ?2
                 AND sent_at IS NULL AND failed_at IS NULL",
            )
            .bind(subscription_id)
            .bind(other)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM subscriptions WHERE id = ?1")
                .bind(other)
                .execute(&mut *tx)
                .await?;
            ChatMove::Merged
        } else {
            ChatMove::Moved
        };
        sqlx::query("UPDATE subscriptions SET chat_id = ?2 WHERE id = ?1")
            .bind(subscription_id)
            .bind(new_chat_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> Store {
        Store::open("sqlite::memory:").await.unwrap()
    }

    #[tokio::test]
    async fn a_handled_update_moves_the_position_and_queues_its_reply_together() {
        let store = store().await;
        let now = Utc::now();
        assert_eq!(store.adapter_state("t.offset").await.unwrap(), None);
        let sub = store
            .ensure_subscription("telegram", "42", now)
            .await
            .unwrap();
        let reply = store
            .record_handled_update(
                &HandledUpdate {
                    key: "t.offset",
                    next: 8,
                    reply: Some((sub.id, "{\"type\":\"notice\",\"text\":\"hi\"}")),
                },
                now,
            )
            .await
            .unwrap();
        assert!(reply.is_some());
        assert_eq!(
            store.adapter_state("t.offset").await.unwrap().as_deref(),
            Some("8")
        );
        assert_eq!(store.pending_count().await.unwrap(), 1);
        store
            .record_handled_update(
                &HandledUpdate {
                    key: "t.offset",
                    next: 9,
                    reply: None,
                },
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            store.adapter_state("t.offset").await.unwrap().as_deref(),
            Some("9")
        );
        assert_eq!(store.pending_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_chat_that_moves_keeps_its_rules_and_merges_a_newer_twin() {
        let store = store().await;
        let now = Utc::now();
        let old = store
            .ensure_subscription("telegram", "-1", now)
            .await
            .unwrap();
        store.add_rule(old.id, "country:Russia", now).await.unwrap();
        assert_eq!(
            store.move_chat("telegram", "-1", "-1001").await.unwrap(),
            ChatMove::Moved
        );
        let subs = store.subscriptions().await.unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!((subs[0].id, subs[0].chat_id.as_str()), (old.id, "-1001"));

        // A twin at the new id (used before the move was seen) is merged.
        let twin = store
            .ensure_subscription("telegram", "-2002", now)
            .await
            .unwrap();
        store
            .add_rule(twin.id, "country:Russia", now)
            .await
            .unwrap();
        store
            .add_rule(twin.id, "country:France", now)
            .await
            .unwrap();
        assert_eq!(
            store.move_chat("telegram", "-1001", "-2002").await.unwrap(),
            ChatMove::Merged
        );
        let subs = store.subscriptions().await.unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!((subs[0].id, subs[0].chat_id.as_str()), (old.id, "-2002"));
        let specs: Vec<String> = store
            .rules_of(old.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.spec)
            .collect();
        assert_eq!(specs, ["country:Russia", "country:France"]);
        assert_eq!(
            store.move_chat("telegram", "-404", "-405").await.unwrap(),
            ChatMove::NothingToMove
        );
    }

    #[tokio::test]
    async fn pausing_and_resuming_by_chat_id_report_whether_anything_changed() {
        let store = store().await;
        let now = Utc::now();
        store
            .ensure_subscription("telegram", "7", now)
            .await
            .unwrap();
        assert!(!store.resume_subscription("telegram", "7").await.unwrap());
        assert!(store.pause_chat("telegram", "7", "blocked").await.unwrap());
        assert!(!store.pause_chat("telegram", "7", "blocked").await.unwrap());
        assert!(store.resume_subscription("telegram", "7").await.unwrap());
        assert!(!store.pause_chat("telegram", "8", "gone").await.unwrap());
    }
}
