//! Digests: each chat's digest setting (`subscriptions.digest_*`), where
//! its schedule stands (`digest_state`), the digests made (`digests`) and
//! which digest reported each hit (`hits.digest_id`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::{AssertSqlSafe, Row, sqlite::SqliteRow};

use super::{Store, StoreError, StoreTx, parse_time, time_text};

/// What a chat chose for its digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestChoice {
    /// Nothing chosen: the configured default applies.
    Default,
    /// No scheduled digests (`/digest off`).
    Off,
    /// Daily at this local time.
    At(NaiveTime),
}

/// A chat with its digest setting and, once its digests have begun, their
/// state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChat {
    /// The subscription.
    pub subscription_id: i64,
    /// Its platform (`console`, `telegram`, `discord`).
    pub platform: String,
    /// Delivery to the chat is paused (chat gone).
    pub paused: bool,
    /// How many rules the chat has.
    pub rules: i64,
    /// The chat's choice of time.
    pub choice: DigestChoice,
    /// The chat's zone (IANA name), if it chose one.
    pub zone: Option<String>,
    /// No message on days when nothing matched.
    pub quiet: bool,
    /// Where its schedule stands; `None` until its digests begin.
    pub state: Option<DigestState>,
}

/// Where a chat's digest schedule stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestState {
    /// Hits recorded before this were set aside when digests began.
    pub baseline_at: DateTime<Utc>,
    /// The last scheduled instant dealt with.
    pub last_due_at: DateTime<Utc>,
}

/// Why a digest was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    /// At the chat's scheduled time (or when the process came back).
    Scheduled,
    /// `/digest now`.
    Now,
}

impl DigestKind {
    fn as_str(self) -> &'static str {
        match self {
            DigestKind::Scheduled => "scheduled",
            DigestKind::Now => "now",
        }
    }
}

/// A digest that was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRecord {
    /// Row id.
    pub id: i64,
    /// Why it was made.
    pub kind: DigestKind,
    /// The scheduled instant it was for.
    pub due_at: Option<DateTime<Utc>>,
    /// Start of the period covered.
    pub covers_from: DateTime<Utc>,
    /// End of the period covered (when it was made).
    pub covers_to: DateTime<Utc>,
    /// Hits it reported.
    pub hits: i64,
    /// Messages it queued.
    pub parts: i64,
}

/// A hit claimed by a digest, with what the digest shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestHitRow {
    /// The hit.
    pub hit_id: i64,
    /// Its rule.
    pub rule_id: i64,
    /// The rule SPEC.
    pub rule: String,
    /// The article.
    pub article_id: i64,
    /// Headline.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// The feed's name, if it has one.
    pub feed_name: Option<String>,
    /// The feed's URL.
    pub feed_url: String,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// When wirewatch recorded the article.
    pub fetched_at: DateTime<Utc>,
    /// Names (or URLs) of other feeds that carried the same article or
    /// story.
    pub also: Vec<String>,
    /// The story the article belongs to.
    pub story_id: Option<i64>,
}

fn time_col(row: &SqliteRow, name: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_time(Some(row.try_get(name)?))?
        .ok_or_else(|| StoreError::Corrupt(format!("{name} is empty")))
}

fn chat_from_row(row: &SqliteRow) -> Result<DigestChat, StoreError> {
    let time: Option<String> = row.try_get("digest_time")?;
    let choice = match time.as_deref() {
        None => DigestChoice::Default,
        Some("off") => DigestChoice::Off,
        Some(t) => DigestChoice::At(
            NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|e| StoreError::Corrupt(format!("digest_time {t:?}: {e}")))?,
        ),
    };
    let state = match (
        parse_time(row.try_get("baseline_at")?)?,
        parse_time(row.try_get("last_due_at")?)?,
    ) {
        (Some(baseline_at), Some(last_due_at)) => Some(DigestState {
            baseline_at,
            last_due_at,
        }),
        _ => None,
    };
    Ok(DigestChat {
        subscription_id: row.try_get("id")?,
        platform: row.try_get("platform")?,
        paused: row.try_get("paused")?,
        rules: row.try_get("rules")?,
        choice,
        zone: row.try_get("digest_zone")?,
        quiet: row.try_get("digest_quiet")?,
        state,
    })
}

const CHATS: &str = "SELECT s.id, s.platform, s.paused_reason IS NOT NULL AS paused,
        s.digest_time, s.digest_zone, s.digest_quiet,
        (SELECT COUNT(*) FROM rules r WHERE r.subscription_id = s.id) AS rules,
        d.baseline_at, d.last_due_at
     FROM subscriptions s LEFT JOIN digest_state d ON d.subscription_id = s.id";

impl Store {
    /// Every chat with its digest setting and state.
    pub async fn digest_chats(&self) -> Result<Vec<DigestChat>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("{CHATS} ORDER BY s.id")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(chat_from_row).collect()
    }

    /// One chat's digest setting and state.
    pub async fn digest_chat(
        &self,
        subscription_id: i64,
    ) -> Result<Option<DigestChat>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("{CHATS} WHERE s.id = ?1")))
            .bind(subscription_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(chat_from_row).transpose()
    }

    /// Records a chat's choice of digest time and zone (`None`: keep the
    /// zone it has).
    pub async fn set_digest_choice(
        &self,
        subscription_id: i64,
        choice: DigestChoice,
        zone: Option<&str>,
    ) -> Result<(), StoreError> {
        let time = match choice {
            DigestChoice::Default => None,
            DigestChoice::Off => Some("off".to_owned()),
            DigestChoice::At(t) => Some(t.format("%H:%M").to_string()),
        };
        sqlx::query(
            "UPDATE subscriptions SET digest_time = ?2, digest_zone = COALESCE(?3, digest_zone)
             WHERE id = ?1",
        )
        .bind(subscription_id)
        .bind(time)
        .bind(zone)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Turns a chat's one-line "nothing matched" digests off (`quiet`) or on.
    pub async fn set_digest_quiet(
        &self,
        subscription_id: i64,
        quiet: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE subscriptions SET digest_quiet = ?2 WHERE id = ?1")
            .bind(subscription_id)
            .bind(quiet)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Begins a chat's digests, unless they have begun: its schedule
    /// starts from `last_due_at`, and its unreported hits recorded before
    /// `baseline_at` are set aside (a chat turning digests on does not get
    /// its whole history). True when they began now.
    pub async fn begin_digests(
        &self,
        subscription_id: i64,
        baseline_at: DateTime<Utc>,
        last_due_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let begun = sqlx::query(
            "INSERT INTO digest_state (subscription_id, baseline_at, last_due_at)
             VALUES (?1, ?2, ?3) ON CONFLICT (subscription_id) DO NOTHING",
        )
        .bind(subscription_id)
        .bind(time_text(baseline_at))
        .bind(time_text(last_due_at))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if begun {
            let baseline: i64 = sqlx::query_scalar(
                "INSERT INTO digests (subscription_id, kind, covers_from, covers_to)
                 VALUES (?1, 'baseline', ?2, ?2) RETURNING id",
            )
            .bind(subscription_id)
            .bind(time_text(baseline_at))
            .fetch_one(&mut *tx)
            .await?;
            let set_aside = sqlx::query(
                "UPDATE hits SET digest_id = ?2 WHERE digest_id IS NULL AND created_at < ?3
                 AND rule_id IN (SELECT id FROM rules WHERE subscription_id = ?1)",
            )
            .bind(subscription_id)
            .bind(baseline)
            .bind(time_text(baseline_at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if set_aside == 0 {
                sqlx::query("DELETE FROM digests WHERE id = ?1")
                    .bind(baseline)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("UPDATE digests SET hits = ?2 WHERE id = ?1")
                    .bind(baseline)
                    .bind(i64::try_from(set_aside).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(begun)
    }

    /// Restarts a chat's schedule from `now` (its time or zone changed):
    /// the next digest is the next one after `now`, not one missed.
    pub async fn restart_digest_schedule(
        &self,
        subscription_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE digest_state SET last_due_at = ?2 WHERE subscription_id = ?1")
            .bind(subscription_id)
            .bind(time_text(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a chat's digests (`/digest off`); turned on again, they begin
    /// afresh.
    pub async fn end_digests(&self, subscription_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM digest_state WHERE subscription_id = ?1")
            .bind(subscription_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The digests made for a chat, oldest first (set-aside baselines
    /// excluded).
    pub async fn digests_of(&self, subscription_id: i64) -> Result<Vec<DigestRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, due_at, covers_from, covers_to, hits, parts FROM digests
             WHERE subscription_id = ?1 AND kind != 'baseline' ORDER BY id",
        )
        .bind(subscription_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(DigestRecord {
                    id: row.try_get("id")?,
                    kind: match kind.as_str() {
                        "now" => DigestKind::Now,
                        _ => DigestKind::Scheduled,
                    },
                    due_at: parse_time(row.try_get("due_at")?)?,
                    covers_from: time_col(row, "covers_from")?,
                    covers_to: time_col(row, "covers_to")?,
                    hits: row.try_get("hits")?,
                    parts: row.try_get("parts")?,
                })
            })
            .collect()
    }

    /// The ids of the hits a digest reported.
    pub async fn hits_of_digest(&self, digest_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM hits WHERE digest_id = ?1 ORDER BY id")
                .bind(digest_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

impl StoreTx {
    /// Moves a chat's schedule from `from` to `to`; false (and nothing
    /// done) when it no longer stands at `from` (someone else moved it).
    pub async fn advance_digest_schedule(
        &mut self,
        subscription_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE digest_state SET last_due_at = ?3
             WHERE subscription_id = ?1 AND last_due_at = ?2",
        )
        .bind(subscription_id)
        .bind(time_text(from))
        .bind(time_text(to))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Opens a digest of a chat made at `now`: it covers the time since the
    /// previous digest (or since its baseline). Returns its id and the
    /// start of its period.
    pub async fn open_digest(
        &mut self,
        subscription_id: i64,
        kind: DigestKind,
        due_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(i64, DateTime<Utc>), StoreError> {
        // Write first: a transaction that only read before its first write
        // could not take the write lock if another committed meanwhile.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO digests (subscription_id, kind, due_at, covers_from, covers_to)
             VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        )
        .bind(subscription_id)
        .bind(kind.as_str())
        .bind(due_at.map(time_text))
        .bind(time_text(now))
        .fetch_one(&mut *self.tx)
        .await?;
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT MAX(covers_to) FROM digests
             WHERE subscription_id = ?1 AND kind != 'baseline' AND id != ?2",
        )
        .bind(subscription_id)
        .bind(id)
        .fetch_one(&mut *self.tx)
        .await?;
        let baseline: Option<String> =
            sqlx::query_scalar("SELECT baseline_at FROM digest_state WHERE subscription_id = ?1")
                .bind(subscription_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        let from = parse_time(previous)?
            .into_iter()
            .chain(parse_time(baseline)?)
            .max()
            .unwrap_or(now)
            .min(now);
        sqlx::query("UPDATE digests SET covers_from = ?2 WHERE id = ?1")
            .bind(id)
            .bind(time_text(from))
            .execute(&mut *self.tx)
            .await?;
        Ok((id, from))
    }

    /// Claims every unreported hit of the chat for the digest and returns
    /// them, oldest first.
    pub async fn claim_digest_hits(
        &mut self,
        subscription_id: i64,
        digest_id: i64,
    ) -> Result<Vec<DigestHitRow>, StoreError> {
        sqlx::query(
            "UPDATE hits SET digest_id = ?2 WHERE digest_id IS NULL
             AND rule_id IN (SELECT id FROM rules WHERE subscription_id = ?1)",
        )
        .bind(subscription_id)
        .bind(digest_id)
        .execute(&mut *self.tx)
        .await?;
        let rows = sqlx::query(
            "SELECT h.id AS hit_id, h.rule_id, r.spec, a.id AS article_id, a.title, a.url,
                    a.published_at, a.fetched_at, a.feed_id, f.name AS feed_name,
                    f.url AS feed_url, a.story_id
             FROM hits h
             JOIN rules r ON r.id = h.rule_id
             JOIN articles a ON a.id = h.article_id
             JOIN feeds f ON f.id = a.feed_id
             WHERE h.digest_id = ?1 ORDER BY h.id",
        )
        .bind(digest_id)
        .fetch_all(&mut *self.tx)
        .await?;
        // Other outlets, read once per story and per duplicated article
        // rather than once per hit: a story can gather many articles.
        let by_story = self
            .outlets(
                "a2.story_id",
                "SELECT a.story_id FROM hits h JOIN articles a ON a.id = h.article_id
                 WHERE h.digest_id = ?1 AND a.story_id IS NOT NULL",
                digest_id,
            )
            .await?;
        let by_duplicate = self
            .outlets(
                "a2.duplicate_of",
                "SELECT h.article_id FROM hits h WHERE h.digest_id = ?1",
                digest_id,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let article_id: i64 = row.try_get("article_id")?;
                let feed_id: i64 = row.try_get("feed_id")?;
                let story_id: Option<i64> = row.try_get("story_id")?;
                let mut also: Vec<String> = Vec::new();
                let outlets = story_id
                    .and_then(|s| by_story.get(&s))
                    .into_iter()
                    .chain(by_duplicate.get(&article_id))
                    .flatten();
                for (feed, outlet) in outlets {
                    if *feed != feed_id && !also.contains(outlet) {
                        also.push(outlet.clone());
                    }
                }
                Ok(DigestHitRow {
                    hit_id: row.try_get("hit_id")?,
                    rule_id: row.try_get("rule_id")?,
                    rule: row.try_get("spec")?,
                    article_id,
                    title: row.try_get("title")?,
                    url: row.try_get("url")?,
                    feed_name: row.try_get("feed_name")?,
                    feed_url: row.try_get("feed_url")?,
                    published_at: parse_time(row.try_get("published_at")?)?,
                    fetched_at: time_col(row, "fetched_at")?,
                    also,
                    story_id,
                })
            })
            .collect()
    }

    /// The feeds (id, name or URL) of the articles whose `key_column` is
    /// one of the keys `keys_sql` selects for the digest, by key.
    async fn outlets(
        &mut self,
        key_column: &str,
        keys_sql: &str,
        digest_id: i64,
    ) -> Result<HashMap<i64, Vec<(i64, String)>>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {key_column} AS key, a2.feed_id, COALESCE(f2.name, f2.url) AS outlet
             FROM articles a2 JOIN feeds f2 ON f2.id = a2.feed_id
             WHERE {key_column} IN ({keys_sql})
             GROUP BY {key_column}, a2.feed_id ORDER BY {key_column}, MIN(a2.id)"
        )))
        .bind(digest_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut outlets: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        for row in &rows {
            outlets
                .entry(row.try_get("key")?)
                .or_default()
                .push((row.try_get("feed_id")?, row.try_get("outlet")?));
        }
        Ok(outlets)
    }

    /// Records what a digest reported and how many messages it queued.
    pub async fn close_digest(
        &mut self,
        digest_id: i64,
        hits: usize,
        parts: usize,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE digests SET hits = ?2, parts = ?3 WHERE id = ?1")
            .bind(digest_id)
            .bind(i64::try_from(hits).unwrap_or(i64::MAX))
            .bind(i64::try_from(parts).unwrap_or(i64::MAX))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
