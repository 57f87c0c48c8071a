//! Recently stored articles, read back to try a rule on them before it is
//! saved (`/test --history`, `wirewatch check --history`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{StoreError, parse_time, time_text};

/// An article as stored: what matching needs, and what a reply shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArticle {
    /// Row id.
    pub id: i64,
    /// Headline, plain text.
    pub title: String,
    /// Summary or start of the content, plain text.
    pub summary: String,
    /// Its link.
    pub url: Option<String>,
    /// The feed's name, or its URL when it has none.
    pub source: String,
    /// When wirewatch first saw it.
    pub fetched_at: DateTime<Utc>,
}

impl super::Store {
    /// Articles first seen at or after `since`, newest first, at most
    /// `limit`; copies of another feed's article (same canonical URL) left
    /// out, as they were never matched on their own.
    pub async fn articles_since(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.title, a.summary, a.url, COALESCE(f.name, f.url) AS source,
                    a.fetched_at
             FROM articles a JOIN feeds f ON f.id = a.feed_id
             WHERE a.fetched_at >= ?1 AND a.duplicate_of IS NULL
             ORDER BY a.fetched_at DESC, a.id DESC
             LIMIT ?2",
        )
        .bind(time_text(since))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredArticle {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    summary: row.try_get("summary")?,
                    url: row.try_get("url")?,
                    source: row.try_get("source")?,
                    fetched_at: parse_time(row.try_get("fetched_at")?)?.ok_or_else(|| {
                        StoreError::Corrupt("article without a fetch time".into())
                    })?,
                })
            })
            .collect()
    }
}
