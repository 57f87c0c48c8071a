//! Chats: the one trait every platform implements, and the platform-neutral
//! message model it carries.
//!
//! Adapters (console now; Telegram and Discord next) only translate between
//! [`Outgoing`] and their SDK. The delivery policy — waiting out rate
//! limits, retrying, pausing chats that are gone — is written once, in
//! [`crate::delivery`], and acts on the [`SendError`] an adapter returns.
//! Nothing outside this module names an SDK type.

pub mod console;
pub mod discord;
mod message;
pub mod telegram;

use std::{collections::HashMap, fmt, str::FromStr, sync::Mutex, time::Duration};

use async_trait::async_trait;

pub use message::{Alert, AlertMatch, Digest, DigestGroup, DigestItem, Notice, Outgoing};

/// A chat platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// stdout.
    Console,
    /// Telegram Bot API.
    Telegram,
    /// Discord.
    Discord,
}

impl Platform {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "console" => Ok(Platform::Console),
            "telegram" => Ok(Platform::Telegram),
            "discord" => Ok(Platform::Discord),
            other => Err(format!("unknown platform {other:?}")),
        }
    }
}

/// A chat to send to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatTarget {
    /// Its platform.
    pub platform: Platform,
    /// The platform's id of the chat (a Telegram chat id, a Discord channel id).
    pub chat_id: String,
}

/// What a platform said about a delivered message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The platform's id of the message, for later edits.
    pub message_id: Option<String>,
}

/// How far each message sent in several parts got, so that a retry
/// resumes after the last part that went out instead of repeating the
/// first ones. Keyed by a hash of the chat and the parts.
#[derive(Debug, Default)]
pub(crate) struct PartsSent(Mutex<HashMap<u64, usize>>);

impl PartsSent {
    /// The first part to send of the message `key` names: after the parts
    /// an earlier attempt got out.
    pub(crate) fn resume_at(&self, key: u64) -> usize {
        self.progress().get(&key).copied().unwrap_or(0)
    }

    /// Records how sending part `index` went and passes the result on. A
    /// failure that is retried as such (rate limit, unexpected) keeps the
    /// progress; any other forgets it.
    pub(crate) fn record<T>(
        &self,
        key: u64,
        index: usize,
        result: Result<T, SendError>,
    ) -> Result<T, SendError> {
        match &result {
            Ok(_) => {
                self.progress().insert(key, index + 1);
            }
            Err(SendError::RateLimited(_) | SendError::Unexpected(_)) => {}
            Err(_) => {
                self.progress().remove(&key);
            }
        }
        result
    }

    /// Forgets the message `key` names: every part went out.
    pub(crate) fn finish(&self, key: u64) {
        let mut progress = self.progress();
        progress.remove(&key);
        if progress.len() > 1000 {
            progress.clear(); // abandoned half-sent messages; never grows unbounded
        }
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, HashMap<u64, usize>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a send failed; the delivery policy decides what each means.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Wait this long, then try again; never a reason to drop a message.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// The chat no longer accepts messages from the bot (blocked, kicked,
    /// deleted): pause the subscription.
    #[error("chat is gone: {0}")]
    ChatGone(String),
    /// The chat moved (Telegram group upgraded to a supergroup).
    #[error("chat moved to {}", .0.chat_id)]
    Migrated(ChatTarget),
    /// The platform refuses this message for good.
    #[error("message rejected: {0}")]
    Rejected(String),
    /// Anything else (network, 5xx): retry with backoff.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The alerts at the head of a burst, up to the first message that is not
/// an alert: what an adapter may merge into one platform message.
pub fn leading_alerts(msgs: &[Outgoing]) -> Vec<&Alert> {
    msgs.iter()
        .map_while(|m| match m {
            Outgoing::Alert(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// A chat platform that messages can be sent to.
#[async_trait]
pub trait Chat: Send + Sync {
    /// Which platform this is.
    fn platform(&self) -> Platform;

    /// Whether the adapter is connected to its platform right now (for
    /// `/readyz`). Adapters without a connection of their own say yes.
    fn is_connected(&self) -> bool {
        true
    }
    /// Sends one message.
    async fn send(&self, to: &ChatTarget, msg: &Outgoing) -> Result<Sent, SendError>;

    /// Sends the first of `msgs` (a chat's pending messages, in order) or,
    /// where the platform can, several leading ones merged into one
    /// platform message (a burst of alerts becomes one list). Returns how
    /// many of `msgs` the sent message carried: at least one, delivered
    /// together. The default sends only the first.
    async fn send_coalesced(
        &self,
        to: &ChatTarget,
        msgs: &[Outgoing],
    ) -> Result<(usize, Sent), SendError> {
        match msgs.first() {
            Some(first) => Ok((1, self.send(to, first).await?)),
            None => Ok((0, Sent::default())),
        }
    }

    /// Replaces what a message sent earlier says with `msg` (a story's
    /// alert that gained outlets). `message_id` is the [`Sent::message_id`]
    /// of that send, empty when the platform gave none. The default
    /// refuses: the platform cannot edit.
    async fn edit(
        &self,
        to: &ChatTarget,
        message_id: &str,
        msg: &Outgoing,
    ) -> Result<Sent, SendError> {
        let _ = (to, message_id, msg);
        Err(SendError::Rejected(format!(
            "{} messages cannot be edited",
            self.platform()
        )))
    }
}
