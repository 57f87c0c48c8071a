//! Daily digests: when each chat's digest is due, and making it.
//!
//! Owns the schedule (a local time in the chat's zone, DST rules in
//! [`schedule`]), the promise that each due time gives one digest even
//! across downtime, and turning a chat's unreported hits into outbox rows.
//! It does not own what a digest says ([`crate::alerts::digest`]), its SQL
//! ([`crate::store`]) or sending ([`crate::delivery`]).
//!
//! Exactly once: a chat's schedule stands at the last due instant dealt
//! with. A step ([`DigestScheduler::run_due`]) that finds the next due
//! instant passed moves it to the latest passed one — so a process down
//! for three days sends one digest, not three — and, in the same
//! transaction, claims the chat's unreported hits and queues the messages.
//! A crash leaves all of that or none of it; each hit belongs to one digest.
//!
//! Time is passed in (`now`), never read inside a step: tests drive the
//! steps through days and clock changes without waiting.

pub mod schedule;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::{
    alerts::digest::{DigestHit, DigestInput, build_digest, part_budget},
    chat::Platform,
    config::DigestSettings,
    store::{DigestChat, DigestChoice, DigestHitRow, DigestKind, Store, StoreError},
};
pub use schedule::DailyTime;

/// What a chat's first digest reaches back to: digests begin with the day
/// before they were turned on, not with the chat's whole history.
const FIRST_LOOKBACK: chrono::Duration = chrono::Duration::hours(24);

/// Longest sleep between steps; a wall clock that jumps (a suspended
/// machine) is noticed within it.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Shortest pause between steps, so that a failing store is not spun on.
const MIN_SLEEP: Duration = Duration::from_secs(1);

/// What a step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestRunReport {
    /// Chats whose digests began (their schedule starts now).
    pub begun: usize,
    /// Digests made.
    pub made: Vec<DigestMade>,
    /// Due chats with no rules: their schedule moved on, nothing sent.
    pub skipped: usize,
    /// Chats whose digest failed (logged; retried on the next step).
    pub failed: usize,
}

/// One digest made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMade {
    /// The chat.
    pub subscription_id: i64,
    /// The digest's row.
    pub digest_id: i64,
    /// The scheduled instant it stands for (`None`: `/digest now`).
    pub due_at: Option<DateTime<Utc>>,
    /// Start of the period it covers.
    pub since: DateTime<Utc>,
    /// Hits it reports.
    pub hits: usize,
    /// Messages queued (0: a quiet chat on a day when nothing matched).
    pub parts: usize,
}

/// A chat's digest setting as it applies, for `/digest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestStatus {
    /// When digests are due; `None`: off.
    pub schedule: Option<DailyTime>,
    /// The schedule is the configured default, not the chat's choice.
    pub from_default: bool,
    /// The chat's zone (its own, or the default).
    pub zone: Tz,
    /// No message on days when nothing matched.
    pub quiet: bool,
    /// When the next digest is due (at or before now: being sent).
    pub next_due: Option<DateTime<Utc>>,
}

/// Digest defaults from the config (`[digest]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestDefaults {
    /// Time for chats that chose none; `None`: no digest unless chosen.
    pub time: Option<NaiveTime>,
    /// Zone for chats that chose none.
    pub zone: Tz,
}

impl From<&DigestSettings> for DigestDefaults {
    fn from(s: &DigestSettings) -> Self {
        Self {
            time: s.time.map(|t| t.0),
            zone: s.zone.0,
        }
    }
}

/// Makes digests when they fall due; cheap to clone into commands.
#[derive(Clone)]
pub struct DigestScheduler {
    store: Store,
    defaults: DigestDefaults,
    outbox_ready: Arc<Notify>,
    changed: Arc<Notify>,
}

impl DigestScheduler {
    /// A scheduler over the store's chats; `outbox_ready` is notified when
    /// digest messages are queued.
    pub fn new(store: Store, defaults: DigestDefaults, outbox_ready: Arc<Notify>) -> Self {
        Self {
            store,
            defaults,
            outbox_ready,
            changed: Arc::new(Notify::new()),
        }
    }

    /// The schedule, zone and origin that apply to a chat.
    fn schedule_of(&self, chat: &DigestChat) -> (Option<DailyTime>, bool, Tz) {
        let zone = match chat.zone.as_deref().map(str::parse::<Tz>) {
            None => self.defaults.zone,
            Some(Ok(zone)) => zone,
            Some(Err(e)) => {
                warn!(subscription_id = chat.subscription_id, error = %e, "stored digest zone is unknown; using the default");
                self.defaults.zone
            }
        };
        let daily = |time| Some(DailyTime { time, zone });
        match chat.choice {
            DigestChoice::Default => (self.defaults.time.and_then(daily), true, zone),
            DigestChoice::Off => (None, false, zone),
            DigestChoice::At(time) => (daily(time), false, zone),
        }
    }

    /// Makes every digest due at `now`, once: the scheduler's step, also
    /// called by tests with any `now`.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DigestRunReport, StoreError> {
        let mut report = DigestRunReport::default();
        for chat in self.store.digest_chats().await? {
            let (Some(daily), _, zone) = self.schedule_of(&chat) else {
                continue;
            };
            if chat.paused {
                // Kept due: one digest goes out if the chat comes back.
                continue;
            }
            let Some(state) = chat.state else {
                if self
                    .store
                    .begin_digests(chat.subscription_id, now - FIRST_LOOKBACK, now)
                    .await?
                {
                    info!(subscription_id = chat.subscription_id, "digests begin");
                    report.begun += 1;
                }
                continue;
            };
            if daily.next_after(state.last_due_at) > now {
                continue;
            }
            // Missed days fold into one digest, standing for the latest.
            let due = daily.last_at_or_before(now);
            let step = Some((state.last_due_at, due));
            let outcome = if chat.rules == 0 {
                self.skip(chat.subscription_id, state.last_due_at, due)
                    .await
                    .map(|moved| {
                        report.skipped += usize::from(moved);
                        None
                    })
            } else {
                self.make(&chat, zone, DigestKind::Scheduled, step, now)
                    .await
            };
            match outcome {
                Ok(Some(made)) => report.made.push(made),
                Ok(None) => {}
                Err(e) => {
                    error!(subscription_id = chat.subscription_id, error = %e, "digest failed; will retry");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Moves a chat's schedule on without a digest.
    async fn skip(
        &self,
        subscription_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let moved = tx
            .advance_digest_schedule(subscription_id, from, to)
            .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Makes one digest of a chat in one transaction: moves its schedule
    /// (`step`: from, to) if scheduled, claims its unreported hits, queues
    /// the messages. `None` when the schedule had moved already.
    async fn make(
        &self,
        chat: &DigestChat,
        zone: Tz,
        kind: DigestKind,
        step: Option<(DateTime<Utc>, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Result<Option<DigestMade>, StoreError> {
        let id = chat.subscription_id;
        let mut tx = self.store.begin().await?;
        if let Some((from, to)) = step
            && !tx.advance_digest_schedule(id, from, to).await?
        {
            return Ok(None);
        }
        let due_at = step.map(|(_, to)| to);
        let (digest_id, since) = tx.open_digest(id, kind, due_at, now).await?;
        let hits: Vec<DigestHit> = tx
            .claim_digest_hits(id, digest_id)
            .await?
            .into_iter()
            .map(digest_hit)
            .collect();
        // Unknown platforms get the smallest limit.
        let platform = chat.platform.parse().unwrap_or(Platform::Discord);
        let messages = build_digest(&DigestInput {
            hits: &hits,
            since,
            until: now,
            zone,
            // Asked for with /digest now, a digest always answers.
            quiet: chat.quiet && kind == DigestKind::Scheduled,
            budget: part_budget(platform),
        });
        for message in &messages {
            let payload =
                serde_json::to_string(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.enqueue(id, &payload, now).await?;
        }
        tx.close_digest(digest_id, hits.len(), messages.len())
            .await?;
        tx.commit().await?;
        if !messages.is_empty() {
            self.outbox_ready.notify_one();
        }
        info!(
            subscription_id = id,
            digest_id,
            hits = hits.len(),
            parts = messages.len(),
            due_at = ?due_at,
            "digest queued"
        );
        Ok(Some(DigestMade {
            subscription_id: id,
            digest_id,
            due_at,
            since,
            hits: hits.len(),
            parts: messages.len(),
        }))
    }

    async fn chat(&self, subscription_id: i64) -> Result<DigestChat, StoreError> {
        self.store
            .digest_chat(subscription_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no subscription {subscription_id}")))
    }

    /// `/digest now`: a digest of the chat's hits since its previous one,
    /// at once. The next scheduled digest covers what comes after.
    pub async fn make_now(
        &self,
        subscription_id: i64,
        now: DateTime<Utc>,
    ) -> Result<DigestMade, StoreError> {
        self.store
            .begin_digests(subscription_id, now - FIRST_LOOKBACK, now)
            .await?;
        let chat = self.chat(subscription_id).await?;
        let (_, _, zone) = self.schedule_of(&chat);
        self.make(&chat, zone, DigestKind::Now, None, now)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an unscheduled digest was not made".to_owned()))
    }

    /// A chat's digest setting and when its next digest is due.
    pub async fn status(
        &self,
        subscription_id: i64,
        now: DateTime<Utc>,
    ) -> Result<DigestStatus, StoreError> {
        let chat = self.chat(subscription_id).await?;
        let (schedule, from_default, zone) = self.schedule_of(&chat);
        let next_due = schedule.map(|daily| match chat.state {
            Some(state) => daily.next_after(state.last_due_at),
            None => daily.next_after(now),
        });
        Ok(DigestStatus {
            schedule,
            from_default,
            zone,
            quiet: chat.quiet,
            next_due,
        })
    }

    /// `/digest HH:MM [Zone]`: daily at `time` in `zone` (`None`: the
    /// chat's zone), from `now` on.
    pub async fn set_time(
        &self,
        subscription_id: i64,
        time: NaiveTime,
        zone: Option<Tz>,
        now: DateTime<Utc>,
    ) -> Result<DigestStatus, StoreError> {
        self.store
            .set_digest_choice(
                subscription_id,
                DigestChoice::At(time),
                zone.map(|z| z.name()),
            )
            .await?;
        if !self
            .store
            .begin_digests(subscription_id, now - FIRST_LOOKBACK, now)
            .await?
        {
            self.store
                .restart_digest_schedule(subscription_id, now)
                .await?;
        }
        self.changed.notify_one();
        self.status(subscription_id, now).await
    }

    /// `/digest off`.
    pub async fn turn_off(&self, subscription_id: i64) -> Result<(), StoreError> {
        self.store
            .set_digest_choice(subscription_id, DigestChoice::Off, None)
            .await?;
        self.store.end_digests(subscription_id).await?;
        self.changed.notify_one();
        Ok(())
    }

    /// `/digest quiet`: toggles the one-line "nothing matched" digest;
    /// returns whether the chat is now quiet.
    pub async fn toggle_quiet(&self, subscription_id: i64) -> Result<bool, StoreError> {
        let quiet = !self.chat(subscription_id).await?.quiet;
        self.store.set_digest_quiet(subscription_id, quiet).await?;
        Ok(quiet)
    }

    /// When a step next has something to do, if ever.
    pub async fn next_wake(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
        let chats = self.store.digest_chats().await?;
        Ok(chats
            .iter()
            .filter(|chat| !chat.paused)
            .filter_map(|chat| {
                let (daily, _, _) = self.schedule_of(chat);
                let daily = daily?;
                Some(match chat.state {
                    Some(state) => daily.next_after(state.last_due_at),
                    None => now,
                })
            })
            .min())
    }

    /// Makes digests as they fall due until `shutdown`; a digest being
    /// made is finished first.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) {
        loop {
            match self.run_due(Utc::now()).await {
                Ok(report) if report.failed > 0 => {
                    warn!(failed = report.failed, "some digests failed")
                }
                Ok(_) => {}
                Err(e) => error!(error = %e, "digest step failed"),
            }
            let wait = match self.next_wake(Utc::now()).await {
                Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or_default(),
                Ok(None) => MAX_SLEEP,
                Err(e) => {
                    error!(error = %e, "cannot read digest schedules");
                    MAX_SLEEP
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(wait.clamp(MIN_SLEEP, MAX_SLEEP)) => {}
            }
        }
        info!("digests stopped");
    }
}

/// A stored hit as the digest builder sees it.
fn digest_hit(row: DigestHitRow) -> DigestHit {
    DigestHit {
        rule_id: row.rule_id,
        rule: row.rule,
        article_id: row.article_id,
        headline: row.title,
        url: row.url,
        source: row.feed_name.unwrap_or_else(|| outlet(&row.feed_url)),
        time: row.published_at.unwrap_or(row.fetched_at),
        also: row.also.iter().map(|o| outlet(o)).collect(),
        story_id: row.story_id,
    }
}

/// A feed's name for display: the host of a feed known only by its URL.
fn outlet(name_or_url: &str) -> String {
    url::Url::parse(name_or_url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_owned())
        })
        .unwrap_or_else(|| name_or_url.to_owned())
}
