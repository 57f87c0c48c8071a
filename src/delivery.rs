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
    chat::{Chat, ChatTarget, Outgoing, Platform, SendError, Sent},
    metrics::Metrics,
    store::{OutboxMessage, Redelivery, Store, StoreError},
};

/// Messages read from the outbox per round.
const BATCH: u32 = 100;
/// Longest wait between retries of a message that keeps failing.
const MAX_RETRY: Duration = Duration::from_secs(600);
/// How long the worker sleeps when nothing is pending (new rows wake it).
const IDLE: Duration = Duration::from_secs(60);
/// Pending messages of one chat offered to its adapter at once, which may
/// merge several into one platform message (a burst of alerts).
const MAX_COALESCED: usize = 50;

/// An outbox entry that edits a message already sent instead of sending
/// a new one: the message of outbox row `of` is to read `message` now (a
/// story's alert that gained outlets). Stored as `{"type":"edit",…}`, which
/// never decodes as an [`Outgoing`], so it is never merged into a burst.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename = "edit")]
pub struct EditEntry {
    /// The outbox row whose platform message is edited.
    pub of: i64,
    /// What that message is to say now.
    pub message: Outgoing,
}

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
    metrics: Metrics,
}

impl Delivery {
    /// A worker sending through `chats`; notify `ready` after queueing.
    pub fn new(store: Store, chats: Vec<Arc<dyn Chat>>, ready: Arc<Notify>) -> Self {
        Self {
            store,
            chats: chats.into_iter().map(|c| (c.platform(), c)).collect(),
            ready,
            metrics: Metrics::default(),
        }
    }

    /// Counts sends, failures and rate-limit waits into `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sends every message due at `now`, once: the worker's step.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // A chat that was rate limited gets nothing more this round, so
        // its messages stay in order.
        let mut held: HashSet<i64> = HashSet::new();
        // Rows already sent this round as part of a coalesced message.
        let mut carried: HashSet<i64> = HashSet::new();
        let due = self.store.due_messages(now, BATCH).await?;
        for (i, msg) in due.iter().enumerate() {
            if held.contains(&msg.subscription_id) || carried.contains(&msg.id) {
                continue;
            }
            // The chat's next due messages, in order: the adapter may send
            // a burst of them as one message.
            let burst: Vec<&OutboxMessage> = std::iter::once(msg)
                .chain(
                    due[i + 1..]
                        .iter()
                        .filter(|m| m.subscription_id == msg.subscription_id),
                )
                .take(MAX_COALESCED)
                .collect();
            match self.deliver(&burst, now).await? {
                Delivered::Sent(count) => {
                    report.sent += count;
                    carried.extend(burst.iter().take(count).map(|m| m.id));
                }
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
        burst: &[&OutboxMessage],
        now: DateTime<Utc>,
    ) -> Result<Delivered, StoreError> {
        let msg = burst[0];
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
        let edit = serde_json::from_str::<EditEntry>(&msg.payload).ok();
        let decoded = match &edit {
            Some(edit) => Ok(edit.message.clone()),
            None => serde_json::from_str(&msg.payload),
        };
        let outgoing: Outgoing = match decoded {
            Ok(o) => o,
            Err(e) => {
                error!(message_id = msg.id, error = %e, "undecodable outbox payload");
                self.store
                    .mark_failed(msg.id, now, &format!("undecodable payload: {e}"))
                    .await?;
                self.metrics.record_failed(&msg.platform);
                return Ok(Delivered::Failed);
            }
        };
        let target = ChatTarget {
            platform: chat.platform(),
            chat_id: msg.chat_id.clone(),
        };
        // Followers that do not decode are left for their own turn.
        let outgoings: Vec<Outgoing> = std::iter::once(outgoing)
            .chain(
                burst[1..]
                    .iter()
                    .map_while(|m| serde_json::from_str::<Outgoing>(&m.payload).ok()),
            )
            .collect();
        let result = match &edit {
            Some(edit) => self
                .edit(chat.as_ref(), &target, edit)
                .await?
                .map(|s| (1, s)),
            None => chat.send_coalesced(&target, &outgoings).await,
        };
        match result {
            Ok((count, sent)) => {
                let count = count.clamp(1, outgoings.len());
                if count == 1 {
                    self.store
                        .mark_sent(msg.id, Utc::now(), sent.message_id.as_deref())
                        .await?;
                } else {
                    let ids: Vec<i64> = burst[..count].iter().map(|m| m.id).collect();
                    self.store
                        .mark_sent_together(&ids, Utc::now(), sent.message_id.as_deref())
                        .await?;
                }
                debug!(
                    message_id = msg.id,
                    subscription_id = msg.subscription_id,
                    messages = count,
                    "sent"
                );
                self.metrics.record_sent(chat.platform(), count);
                Ok(Delivered::Sent(count))
            }
            Err(SendError::RateLimited(wait)) => {
                info!(message_id = msg.id, ?wait, "rate limited; waiting");
                self.metrics.record_rate_limit(chat.platform(), wait);
                // Counted from the answer, not from the start of the round.
                let at = answered(now)
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
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
                    .move_subscription_merging(msg.subscription_id, &to.chat_id)
                    .await?;
                Ok(Delivered::HoldChat)
            }
            Err(SendError::Rejected(reason)) => {
                error!(message_id = msg.id, %reason, "message rejected by the platform");
                self.store.mark_failed(msg.id, now, &reason).await?;
                self.metrics.record_failed(&msg.platform);
                Ok(Delivered::Failed)
            }
            Err(SendError::Unexpected(e)) => {
                let wait = retry_delay(msg.attempts + 1);
                warn!(message_id = msg.id, error = %e, ?wait, "send failed; will retry");
                self.metrics.record_send_error(chat.platform());
                let at = answered(now)
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
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

    /// Applies an edit entry through the platform. An edit that cannot
    /// apply (the original is gone, was never sent, or went out merged with
    /// other alerts, which the edit would erase) is refused like a message
    /// the platform rejects.
    async fn edit(
        &self,
        chat: &dyn Chat,
        target: &ChatTarget,
        edit: &EditEntry,
    ) -> Result<Result<Sent, SendError>, StoreError> {
        let refuse = |why: &str| Ok(Err(SendError::Rejected(why.to_owned())));
        let Some(original) = self.store.edit_target(edit.of).await? else {
            return refuse("the edited message is gone");
        };
        if !original.sent {
            return refuse("the edited message was never sent");
        }
        if original.shared {
            return refuse("the edited message went out merged with others");
        }
        let message_id = original.platform_message_id.unwrap_or_default();
        Ok(chat.edit(target, &message_id, &edit.message).await)
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
    /// This many messages of the burst went out (as one).
    Sent(usize),
    Failed,
    HoldChat,
}

/// When a send's answer came: the clock's time, or the round's `now` if
/// that is later (a test may run a round in the future).
fn answered(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(now)
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
