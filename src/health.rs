//! Feed health as chats see it: the `/feeds` listing, and the notices that
//! tell the chats using a feed, once, that it has been failing for a while,
//! and once more when it works again.
//!
//! The decision "has this been said already" lives in the store
//! ([`crate::store::StoreTx::claim_health_change`]), in the same
//! transaction that queues the notices, so a restart or two polls at once
//! can neither repeat nor lose one. The wording lives here, as pure code.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tracing::{error, info};

use crate::{
    alerts::notice,
    store::{FeedOverview, HealthChange, Store, StoreError},
};

/// Default of `polling.unhealthy_after_secs`.
pub const DEFAULT_UNHEALTHY_AFTER: Duration = Duration::from_secs(3600);
/// Longest error text shown in chat.
const MAX_ERROR_CHARS: usize = 160;

/// Watches feed health after each poll and tells the chats concerned.
#[derive(Debug, Clone)]
pub struct FeedHealth {
    unhealthy_after: Duration,
}

impl Default for FeedHealth {
    fn default() -> Self {
        Self::new(DEFAULT_UNHEALTHY_AFTER)
    }
}

impl FeedHealth {
    /// Reports feeds failing for longer than `unhealthy_after`.
    pub fn new(unhealthy_after: Duration) -> Self {
        Self { unhealthy_after }
    }

    /// After a poll of feed `feed_id`: queues the "failing" notice to the
    /// chats whose rules have hits from it, or the "recovered" notice to
    /// the chats that got the "failing" one, if one is due.
    /// Returns how many notices were queued.
    pub async fn check(
        &self,
        store: &Store,
        feed_id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let threshold =
            chrono::Duration::from_std(self.unhealthy_after).unwrap_or(chrono::Duration::MAX / 2);
        let failing_before = now - threshold;
        if !store.health_change_due(feed_id, failing_before).await? {
            return Ok(0);
        }
        let mut tx = store.begin().await?;
        let Some(change) = tx.claim_health_change(feed_id, failing_before, now).await? else {
            return Ok(0);
        };
        let text = health_notice(feed_id, name, &change, now);
        // "Recovered" goes to the chats told "failing", and to no other:
        // a chat that started using the feed since never heard of it.
        let chats = match &change {
            HealthChange::Failing { .. } => {
                let chats = tx.chats_using_feed(feed_id).await?;
                tx.record_health_recipients(feed_id, &chats).await?;
                chats
            }
            HealthChange::Recovered { .. } => tx.take_health_recipients(feed_id).await?,
        };
        for &subscription_id in &chats {
            let payload = serde_json::to_string(&notice(text.clone()))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let message_id = tx.enqueue(subscription_id, &payload, now).await?;
            info!(
                feed_id,
                subscription_id, message_id, "feed health notice queued"
            );
        }
        tx.commit().await?;
        Ok(chats.len())
    }

    /// [`FeedHealth::check`] for the pipeline: a failure is logged, never
    /// fails the poll; `ready` is notified when notices were queued.
    pub async fn check_after_poll(
        &self,
        store: &Store,
        feed_id: i64,
        name: &str,
        now: DateTime<Utc>,
        ready: &Arc<Notify>,
    ) {
        match self.check(store, feed_id, name, now).await {
            Ok(0) => {}
            Ok(_) => ready.notify_one(),
            Err(e) => error!(feed_id, error = %e, "cannot record feed health"),
        }
    }
}

/// The notice a chat gets about a feed's health.
pub fn health_notice(
    feed_id: i64,
    name: &str,
    change: &HealthChange,
    now: DateTime<Utc>,
) -> String {
    match change {
        HealthChange::Failing { since, error } => {
            let why = error
                .as_deref()
                .map(|e| format!(" Last error: {}.", plain_error(e)))
                .unwrap_or_default();
            format!(
                "Feed #{feed_id} {name} is failing: nothing could be read from it for {}.{why} Its new articles will be matched as soon as it works again; you will be told.",
                ago(now, *since)
            )
        }
        HealthChange::Recovered { announced_at } => format!(
            "Feed #{feed_id} {name} has recovered and is being read again (it was reported failing {} ago).",
            ago(now, *announced_at)
        ),
    }
}

/// The `/feeds` reply: every source with its health.
pub fn render_feed_list(feeds: &[FeedOverview], now: DateTime<Utc>) -> String {
    if feeds.is_empty() {
        return "No feeds are being watched. Admins can add one with /feed add <url>.".to_owned();
    }
    let failing = feeds.iter().filter(|f| f.failing_since.is_some()).count();
    let sources = match feeds.len() {
        1 => "1 source".to_owned(),
        n => format!("{n} sources"),
    };
    let mut text = match failing {
        0 => format!("{sources}, all ok:\n"),
        n => format!("{sources}, {n} failing:\n"),
    };
    for feed in feeds {
        let name = feed.name.as_deref().unwrap_or(&feed.url);
        let status = match (feed.failing_since, &feed.last_error) {
            (Some(since), error) => format!(
                "FAILING for {} — {}",
                ago(now, since),
                plain_error(error.as_deref().unwrap_or("unknown error"))
            ),
            (None, _) if feed.last_success_at.is_none() => "not read yet".to_owned(),
            (None, _) => "ok".to_owned(),
        };
        let items = match feed.recent_items {
            1 => "1 item in 24 h".to_owned(),
            n => format!("{n} items in 24 h"),
        };
        let last_new = match feed.last_new_item_at {
            Some(at) => format!("last new item {} ago", ago(now, at)),
            None => "no new item yet".to_owned(),
        };
        text.push_str(&format!(
            "#{} {name} — {status}; {items}; {last_new}\n",
            feed.id
        ));
    }
    text.trim_end().to_owned()
}

/// A fetch or parse error as a chat user can read it: the technical tail
/// of connection errors dropped, long texts cut.
pub fn plain_error(error: &str) -> String {
    let first = error.lines().next().unwrap_or("").trim();
    let plain = if let Some(status) = first.strip_prefix("server answered ") {
        format!("the server answered {status}")
    } else if let Some(after) = first.strip_prefix("timed out after ") {
        format!("no complete answer within {after}")
    } else if first.starts_with("could not connect") {
        "the server could not be reached".to_owned()
    } else if first.starts_with("transfer failed") {
        "the connection broke off during the download".to_owned()
    } else if let Some(why) = first.strip_prefix("not a usable feed: ") {
        format!("what it sends is not a readable feed ({why})")
    } else {
        first.to_owned()
    };
    if plain.chars().count() > MAX_ERROR_CHARS {
        let cut: String = plain.chars().take(MAX_ERROR_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        plain
    }
}

/// A duration in the words `/feeds` uses.
fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let minutes = (now - then).num_minutes().max(0);
    match minutes {
        0 => "less than a minute".to_owned(),
        1 => "1 min".to_owned(),
        2..=119 => format!("{minutes} min"),
        _ if minutes < 48 * 60 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / (24 * 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn errors_read_as_plain_words() {
        let cases = [
            (
                "server answered 500 Internal Server Error",
                "the server answered 500 Internal Server Error",
            ),
            (
                "could not connect: error sending request: tcp connect error: Connection refused (os error 111)",
                "the server could not be reached",
            ),
            (
                "not a usable feed: not a feed: an HTML page",
                "what it sends is not a readable feed (not a feed: an HTML page)",
            ),
            ("timed out after 20 s", "no complete answer within 20 s"),
            ("file not found: /x.xml", "file not found: /x.xml"),
        ];
        for (raw, plain) in cases {
            assert_eq!(plain_error(raw), plain, "{raw}");
        }
        assert_eq!(
            plain_error(&"x".repeat(500)).chars().count(),
            MAX_ERROR_CHARS
        );
    }

    #[test]
    fn the_feed_list_shows_status_recent_items_and_last_new_item() {
        let now = at("2026-11-27T12:00:00Z");
        let feeds = [
            FeedOverview {
                id: 1,
                url: "https://feeds.bbci.co.uk/news/world/rss.xml".into(),
                name: Some("BBC World".into()),
                failing_since: None,
                last_error: None,
                last_success_at: Some(at("2026-11-27T11:58:00Z")),
                last_new_item_at: Some(at("2026-11-27T11:40:00Z")),
                recent_items: 42,
            },
            FeedOverview {
                id: 2,
                url: "https://news.un.org/feed/rss".into(),
                name: None,
                failing_since: Some(at("2026-11-27T09:00:00Z")),
                last_error: Some("server answered 503 Service Unavailable".into()),
                last_success_at: Some(at("2026-11-27T08:55:00Z")),
                last_new_item_at: Some(at("2026-11-26T20:00:00Z")),
                recent_items: 1,
            },
            FeedOverview {
                id: 3,
                url: "https://example.org/new.xml".into(),
                name: Some("New".into()),
                failing_since: None,
                last_error: None,
                last_success_at: None,
                last_new_item_at: None,
                recent_items: 0,
            },
        ];
        assert_eq!(
            render_feed_list(&feeds, now),
            "3 sources, 1 failing:\n\
             #1 BBC World — ok; 42 items in 24 h; last new item 20 min ago\n\
             #2 https://news.un.org/feed/rss — FAILING for 3 h — the server answered 503 Service Unavailable; 1 item in 24 h; last new item 16 h ago\n\
             #3 New — not read yet; 0 items in 24 h; no new item yet"
        );
    }

    #[test]
    fn notices_say_what_failed_and_that_it_recovered() {
        let now = at("2026-11-27T12:00:00Z");
        let failing = HealthChange::Failing {
            since: at("2026-11-27T10:30:00Z"),
            error: Some("server answered 500 Internal Server Error".into()),
        };
        assert_eq!(
            health_notice(4, "UN News", &failing, now),
            "Feed #4 UN News is failing: nothing could be read from it for 90 min. Last error: the server answered 500 Internal Server Error. Its new articles will be matched as soon as it works again; you will be told."
        );
        let recovered = HealthChange::Recovered {
            announced_at: at("2026-11-27T09:00:00Z"),
        };
        assert_eq!(
            health_notice(4, "UN News", &recovered, now),
            "Feed #4 UN News has recovered and is being read again (it was reported failing 3 h ago)."
        );
    }
}
