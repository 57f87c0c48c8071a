//! Delivery: the outbox worker. Every message is a row before it is a send;
//! this module turns due rows into sends and decides what each failure
//! means, once for every platform:
//!
//! - rate limited: wait as long as the platform says, then retry (never drop);
//! - chat gone: pause the subscription, keep its messages;
//! - chat migrated: move the subscription and retry at once;
//! - rejected for good: keep the row, marked failed, and log why;
//! - anything else: retry with exponential backoff.

use std::{collections::HashMap, collections::HashSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::{
    chat::{Chat, ChatTarget, Outgoing, Platform, SendError},
    store::{OutboxMessage, Redelivery, Store, StoreError},
};

/// Messages read from the outbox per round.
const BATCH: u32 = 100;
/// Longest wait between retries of a message that keeps failing.
const MAX_RETRY: Duration = Duration::from_secs(600);
/// How long the worker sleeps when nothing is pending (new rows wake it).
const IDLE: Duration = Duration::from_secs(60);

/// What one delivery round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages sent.
    pub sent: usize,
    /// Messages put back for later (rate limit, error, no adapter yet).
    pub deferred: usize,
    /// Messages the platform refused for good.
    pub failed: usize,
}

/// The outbox worker.
pub struct Delivery {
    store: Store,
    chats: HashMap<Platform, Arc<dyn Chat>>,
    ready: Arc<Notify>,
}

impl Delivery {
    /// A worker sending through `chats`; notify `ready` after queueing.
    pub fn new(store: Store, chats: Vec<Arc<dyn Chat>>, ready: Arc<Notify>) -> Self {
        Self {
            store,
            chats: chats.into_iter().map(|c| (c.platform(), c)).collect(),
            ready,
        }
    }

    /// Sends every message due at `now`, once: the worker's step.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // A chat that was rate limited gets nothing more this round, so
        // its messages stay in order.
        let mut held: HashSet<i64> = HashSet::new();
        for msg in self.store.due_messages(now, BATCH).await? {
            if held.contains(&msg.subscription_id) {
                continue;
            }
            match self.deliver(&msg, now).await? {
                Delivered::Sent => report.sent += 1,
                Delivered::Failed => report.failed += 1,
                Delivered::HoldChat => {
                    report.deferred += 1;
                    held.insert(msg.subscription_id);
                }
            }
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        msg: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> Result<Delivered, StoreError> {
        let Some(chat) = msg
            .platform
            .parse::<Platform>()
            .ok()
            .and_then(|p| self.chats.get(&p))
        else {
            // The adapter is off; the message waits until it is on again.
            debug!(message_id = msg.id, platform = %msg.platform, "no adapter for platform");
            self.store
                .redeliver(
                    msg.id,
                    &Redelivery {
                        at: now + IDLE,
                        error: "platform adapter is off",
                        count_attempt: false,
                    },
                )
                .await?;
            return Ok(Delivered::HoldChat);
        };
        let outgoing: Outgoing = match serde_json::from_str(&msg.payload) {
            Ok(o) => o,
            Err(e) => {
                error!(message_id = msg.id, error = %e, "undecodable outbox payload");
                self.store
                    .mark_failed(msg.id, now, &format!("undecodable payload: {e}"))
                    .await?;
                return Ok(Delivered::Failed);
            }
        };
        let target = ChatTarget {
            platform: chat.platform(),
            chat_id: msg.chat_id.clone(),
        };
        match chat.send(&target, &outgoing).await {
            Ok(sent) => {
                self.store
                    .mark_sent(msg.id, Utc::now(), sent.message_id.as_deref())
                    .await?;
                debug!(
                    message_id = msg.id,
                    subscription_id = msg.subscription_id,
                    "sent"
                );
                Ok(Delivered::Sent)
            }
            Err(SendError::RateLimited(wait)) => {
                info!(message_id = msg.id, ?wait, "rate limited; waiting");
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
                self.store
                    .redeliver(
                        msg.id,
                        &Redelivery {
                            at,
                            error: "rate limited",
                            count_attempt: false,
                        },
                    )
                    .await?;
                Ok(Delivered::HoldChat)
            }
            Err(SendError::ChatGone(reason)) => {
                warn!(subscription_id = msg.subscription_id, %reason, "chat gone; pausing its subscription");
                self.store
                    .pause_subscription(msg.subscription_id, &reason)
                    .await?;
                Ok(Delivered::HoldChat)
            }
            Err(SendError::Migrated(to)) => {
                info!(subscription_id = msg.subscription_id, new_chat_id = %to.chat_id, "chat migrated");
                self.store
                    .move_subscription(msg.subscription_id, &to.chat_id)
                    .await?;
                Ok(Delivered::HoldChat)
            }
            Err(SendError::Rejected(reason)) => {
                error!(message_id = msg.id, %reason, "message rejected by the platform");
                self.store.mark_failed(msg.id, now, &reason).await?;
                Ok(Delivered::Failed)
            }
            Err(SendError::Unexpected(e)) => {
                let wait = retry_delay(msg.attempts + 1);
                warn!(message_id = msg.id, error = %e, ?wait, "send failed; will retry");
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
                self.store
                    .redeliver(
                        msg.id,
                        &Redelivery {
                            at,
                            error: &e.to_string(),
                            count_attempt: true,
                        },
                    )
                    .await?;
                Ok(Delivered::HoldChat)
            }
        }
    }

    /// Delivers as messages fall due until `shutdown`; a send in progress
    /// finishes first.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) {
        loop {
            let now = Utc::now();
            if let Err(e) = self.deliver_due(now).await {
                error!(error = %e, "delivery round failed");
            }
            let wait = match self.store.next_due_at().await {
                Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or_default().min(IDLE),
                Ok(None) => IDLE,
                Err(e) => {
                    error!(error = %e, "cannot read the outbox");
                    IDLE
                }
            };
            if wait.is_zero() {
                // Due now (e.g. the batch limit was hit): go again, but
                // yield so shutdown is seen.
                tokio::task::yield_now().await;
                if shutdown.is_cancelled() {
                    break;
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.ready.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        info!("delivery stopped");
    }

    /// Delivers until nothing is due within `patience` (`run --once`):
    /// rate-limit waits shorter than that are waited out.
    pub async fn drain(&self, patience: Duration) -> Result<DeliveryReport, StoreError> {
        let mut total = DeliveryReport::default();
        loop {
            let round = self.deliver_due(Utc::now()).await?;
            total.sent += round.sent;
            total.failed += round.failed;
            let Some(next) = self.store.next_due_at().await? else {
                return Ok(total);
            };
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            if wait > patience {
                total.deferred += 1;
                return Ok(total);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

enum Delivered {
    Sent,
    Failed,
    HoldChat,
}

/// Wait before the `attempt`-th retry of a failing send: 5 s doubling,
/// capped at ten minutes.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(5)
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        assert_eq!(retry_delay(1), Duration::from_secs(5));
        assert_eq!(retry_delay(3), Duration::from_secs(20));
        assert_eq!(retry_delay(50), MAX_RETRY);
    }
}
