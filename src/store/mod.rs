//! The store: every SQL statement of wirewatch, behind typed functions.
//!
//! Owns the SQLite pool, the migrations in `migrations/` and the queries,
//! one file per table group. Nothing outside this module writes SQL, so that
//! another backend can be added here without touching the pipeline. It does
//! not decide anything: what to alert on and how to render it belong to
//! [`crate::pipeline`] and [`crate::alerts`].
//!
//! Durability: SQLite in WAL mode with `synchronous = FULL`; every poll's
//! articles, hits and outbox rows are written in one transaction, so a kill
//! at any point leaves either all of them or none (and the next poll sees
//! the items again).

mod adapters;
mod articles;
mod digests;
mod feeds;
mod history;
mod operations;
mod outbox;
mod stories;
mod subscriptions;

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{
    Sqlite, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub use adapters::{ChatMove, HandledUpdate};
pub use articles::NewArticle;
pub use digests::{DigestChat, DigestChoice, DigestHitRow, DigestKind, DigestRecord, DigestState};
pub use feeds::{Feed, FeedOrigin, FeedRegistration, NewFeed};
pub use history::StoredArticle;
pub use operations::{
    ExportedFeed, FeedOverview, HealthChange, ImportResult, ImportedFeed, OperationsSnapshot,
};
pub use outbox::{OutboxMessage, Redelivery};
pub use stories::{EditTarget, StoryAlertMessage, StoryArticle, StoryMember};
pub use subscriptions::{RuleRow, Subscription};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open database {url}: {source}")]
    Open {
        /// The configured URL.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// The SQLite store, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

/// The migrations in `migrations/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (creating if needed) the database at `url` and applies
    /// pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let open_error = |source| StoreError::Open {
            url: url.to_owned(),
            source,
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| open_error(sqlx::Error::Io(e)))?;
        }
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database exists once per connection.
            .max_connections(if in_memory { 1 } else { 4 })
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database at `url` only if it is a file that exists
    /// (`None` otherwise): for tools that read what a running wirewatch
    /// stored and must not leave an empty database behind.
    pub async fn open_existing(url: &str) -> Result<Option<Store>, StoreError> {
        if url.contains(":memory:") {
            return Ok(None);
        }
        let options = SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Open {
            url: url.to_owned(),
            source,
        })?;
        if !options.get_filename().is_file() {
            return Ok(None);
        }
        Store::open(url).await.map(Some)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Starts a transaction for one poll's writes.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        // IMMEDIATE takes the write lock up front: a deferred transaction
        // that reads first and writes later cannot wait for another writer
        // (SQLite answers "database is locked" at once), so concurrent polls
        // would fail instead of queueing behind each other.
        Ok(StoreTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// True when a write to the database file succeeds (for readiness
    /// checks). The probe row is rolled back; a TEMP table would not do,
    /// as it lives outside the database file and stays writable when the
    /// file is not.
    pub async fn is_writable(&self) -> bool {
        let probe = async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query("INSERT INTO write_probe DEFAULT VALUES")
                .execute(&mut *tx)
                .await?;
            tx.rollback().await
        };
        probe.await.is_ok()
    }

    /// Closes the pool, waiting for in-flight queries.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// One transaction: the writes of one poll, committed together or not at all.
pub struct StoreTx {
    tx: Transaction<'static, Sqlite>,
}

impl StoreTx {
    /// Makes every write of this transaction durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Reads an optional RFC 3339 column.
fn parse_time(value: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
        })
        .transpose()
}

/// Timestamps are stored as RFC 3339 UTC text with a fixed width, so that
/// SQL string comparison orders them correctly.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamps_sort_as_text_in_time_order() {
        let a = DateTime::parse_from_rfc3339("2026-01-01T09:59:59.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(time_text(a) < time_text(b));
        assert_eq!(parse_time(Some(time_text(b))).unwrap(), Some(b));
    }
}
