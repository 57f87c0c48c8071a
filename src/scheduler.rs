//! Polling on schedule: one task per feed, each computing its next tick
//! from the feed's cron schedule after the previous poll has finished.
//!
//! Computing the next tick after the poll (rather than keeping an
//! interval) means a slow poll never piles up ticks, and one task per feed
//! means a feed is never polled twice at once. A failing feed waits out its
//! backoff: its next tick is the first one after `retry_at`. Every feed is
//! polled once at start, so a new install shows alerts at once.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::Rng;
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info};

use crate::{
    config::CronSchedule,
    pipeline::{Pipeline, PollOutcome},
    store::{Feed, Store},
};

/// How often the feed list is read again for feeds added by another
/// process; feeds added from chat are picked up at once.
const FEED_RESCAN: Duration = Duration::from_secs(300);

/// Runs every active feed on its schedule.
pub struct Scheduler {
    pipeline: Arc<Pipeline>,
    store: Store,
    default_schedule: CronSchedule,
    jitter: Duration,
    feeds_changed: Arc<Notify>,
}

impl Scheduler {
    /// A scheduler over the store's active feeds. Notify `feeds_changed`
    /// after adding a feed so that it gets a task.
    pub fn new(
        pipeline: Arc<Pipeline>,
        store: Store,
        default_schedule: CronSchedule,
        jitter: Duration,
        feeds_changed: Arc<Notify>,
    ) -> Self {
        Self {
            pipeline,
            store,
            default_schedule,
            jitter,
            feeds_changed,
        }
    }

    /// Polls until `shutdown` is cancelled; polls in flight finish first.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut tasks = JoinSet::new();
        let mut running = HashSet::new();
        loop {
            match this.store.active_feeds().await {
                Ok(feeds) => {
                    for feed in feeds {
                        if running.insert(feed.id) {
                            let this = this.clone();
                            let shutdown = shutdown.clone();
                            tasks.spawn(async move { this.run_feed(feed.id, shutdown).await });
                        }
                    }
                }
                Err(e) => error!(error = %e, "cannot list feeds"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = this.feeds_changed.notified() => {}
                // Feeds added by another process (`wirewatch feeds import`).
                () = tokio::time::sleep(FEED_RESCAN) => {}
                Some(done) = tasks.join_next() => {
                    if let Ok(feed_id) = done {
                        running.remove(&feed_id);
                    }
                }
            }
        }
        while tasks.join_next().await.is_some() {}
        info!("scheduler stopped");
    }

    /// One feed's loop; returns the feed id when the feed is gone.
    async fn run_feed(&self, feed_id: i64, shutdown: CancellationToken) -> i64 {
        let mut first = true;
        loop {
            let feed = match self.store.feed(feed_id).await {
                Ok(Some(feed)) if feed.active => feed,
                Ok(_) => return feed_id,
                Err(e) => {
                    error!(feed_id, error = %e, "cannot load feed");
                    return feed_id;
                }
            };
            let now = Utc::now();
            let due = if first && feed.retry_at.is_none_or(|r| r <= now) {
                now
            } else {
                next_tick(&self.default_schedule, &feed, now)
            };
            first = false;
            let wait = (due - now).to_std().unwrap_or_default() + self.random_jitter();
            debug!(feed_id, %due, "next poll");
            tokio::select! {
                () = shutdown.cancelled() => return feed_id,
                () = tokio::time::sleep(wait) => {}
            }
            // Not cancelled once started: the poll's transaction finishes.
            match self.pipeline.poll(&feed, Utc::now()).await {
                Ok(
                    PollOutcome::Failed { .. }
                    | PollOutcome::NotModified
                    | PollOutcome::Ingested(_),
                ) => {}
                Err(e) => error!(feed_id, error = %e, "poll could not be stored"),
            }
        }
    }

    fn random_jitter(&self) -> Duration {
        if self.jitter.is_zero() {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::rng().random_range(0..=self.jitter.as_millis() as u64))
    }
}

/// The first tick of the feed's schedule (its own, else `default`) after
/// `now` and after its backoff. Computed after each poll, so ticks missed
/// while a poll was slow are skipped, never queued.
pub fn next_tick(default: &CronSchedule, feed: &Feed, now: DateTime<Utc>) -> DateTime<Utc> {
    let own = feed
        .schedule
        .as_deref()
        .and_then(|s| s.parse::<CronSchedule>().ok());
    let schedule = own.as_ref().unwrap_or(default);
    let from = feed.retry_at.map_or(now, |r| r.max(now));
    schedule
        .schedule()
        .after(&from)
        .next()
        .unwrap_or(from + chrono::Duration::hours(1))
}

/// Polls every active feed once, `concurrency` at a time (`run --once`).
pub async fn poll_all_once(
    pipeline: &Pipeline,
    store: &Store,
    concurrency: usize,
) -> anyhow::Result<PollSummary> {
    let feeds = store.active_feeds().await?;
    let outcomes: Vec<_> = futures::stream::iter(feeds.iter())
        .map(|feed| pipeline.poll(feed, Utc::now()))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut summary = PollSummary::default();
    for outcome in outcomes {
        match outcome {
            Ok(PollOutcome::NotModified) => summary.not_modified += 1,
            Ok(PollOutcome::Ingested(r)) => {
                summary.ok += 1;
                summary.new_articles += r.new_articles;
                summary.hits += r.hits;
            }
            Ok(PollOutcome::Failed { .. }) => summary.failed += 1,
            Err(e) => {
                // Nothing of this poll was stored; the next run retries it.
                error!(error = %e, "poll could not be stored");
                summary.failed += 1;
            }
        }
    }
    Ok(summary)
}

/// Totals of [`poll_all_once`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollSummary {
    /// Feeds read.
    pub ok: usize,
    /// Feeds unchanged (304).
    pub not_modified: usize,
    /// Feeds that failed.
    pub failed: usize,
    /// New articles over all feeds.
    pub new_articles: usize,
    /// Hits over all feeds.
    pub hits: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Backfill, feeds::fetch::Validators, store::FeedOrigin};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn feed(schedule: Option<&str>, retry_at: Option<DateTime<Utc>>) -> Feed {
        Feed {
            id: 1,
            url: "https://a.example/".into(),
            name: None,
            origin: FeedOrigin::Operator,
            active: true,
            schedule: schedule.map(str::to_owned),
            backfill: Backfill::None,
            validators: Validators::default(),
            seeded: true,
            failing_since: None,
            last_error: None,
            consecutive_failures: 0,
            retry_at,
            last_success_at: None,
        }
    }

    #[test]
    fn the_next_tick_follows_the_feed_schedule_and_skips_missed_ticks() {
        let every_5_min: CronSchedule = "0 */5 * * * *".parse().unwrap();
        let cases = [
            (
                "default schedule",
                feed(None, None),
                "2026-11-27T10:01:30Z",
                "2026-11-27T10:05:00Z",
            ),
            (
                "own schedule",
                feed(Some("0 */2 * * * *"), None),
                "2026-11-27T10:01:30Z",
                "2026-11-27T10:02:00Z",
            ),
            // A poll that ran from 10:01 to 10:17 resumes at 10:20, not 10:05.
            (
                "after a slow poll",
                feed(None, None),
                "2026-11-27T10:17:00Z",
                "2026-11-27T10:20:00Z",
            ),
            (
                "exactly on a tick",
                feed(None, None),
                "2026-11-27T10:05:00Z",
                "2026-11-27T10:10:00Z",
            ),
            (
                "backoff",
                feed(None, Some(at("2026-11-27T10:31:00Z"))),
                "2026-11-27T10:01:30Z",
                "2026-11-27T10:35:00Z",
            ),
            (
                "backoff over",
                feed(None, Some(at("2026-11-27T09:00:00Z"))),
                "2026-11-27T10:01:30Z",
                "2026-11-27T10:05:00Z",
            ),
        ];
        for (name, feed, now, want) in cases {
            assert_eq!(next_tick(&every_5_min, &feed, at(now)), at(want), "{name}");
        }
    }
}
