//! The `articles` and `hits` tables.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{StoreError, StoreTx, time_text};

/// An article to record.
#[derive(Debug, Clone)]
pub struct NewArticle<'a> {
    /// The feed it came from.
    pub feed_id: i64,
    /// Its guid, or its link when it has none: unique within the feed.
    pub item_key: &'a str,
    /// Its link.
    pub url: Option<&'a str>,
    /// Its link in canonical form, for cross-feed dedup.
    pub canonical_url: Option<&'a str>,
    /// Headline, plain text.
    pub title: &'a str,
    /// Summary or start of the content, plain text.
    pub summary: &'a str,
    /// Publication time, if the feed gave one.
    pub published_at: Option<DateTime<Utc>>,
    /// When wirewatch first saw it.
    pub fetched_at: DateTime<Utc>,
    /// The earlier article it repeats, if any.
    pub duplicate_of: Option<i64>,
}

impl StoreTx {
    /// An earlier article of another feed with the same canonical URL.
    pub async fn article_by_canonical_url(
        &mut self,
        canonical_url: &str,
        other_than_feed: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM articles WHERE canonical_url = ?1 AND feed_id != ?2
             ORDER BY id LIMIT 1",
        )
        .bind(canonical_url)
        .bind(other_than_feed)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Records an article; `None` when the feed already has this item.
    pub async fn insert_article(&mut self, a: &NewArticle<'_>) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO articles (feed_id, item_key, url, canonical_url, title, summary,
                                   published_at, fetched_at, duplicate_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (feed_id, item_key) DO NOTHING
             RETURNING id",
        )
        .bind(a.feed_id)
        .bind(a.item_key)
        .bind(a.url)
        .bind(a.canonical_url)
        .bind(a.title)
        .bind(a.summary)
        .bind(a.published_at.map(time_text))
        .bind(time_text(a.fetched_at))
        .bind(a.duplicate_of)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Records a hit; false when the rule is gone (removed since the
    /// matcher was built) or the hit exists already.
    pub async fn insert_hit(
        &mut self,
        rule_id: i64,
        article_id: i64,
        explanation_json: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO hits (rule_id, article_id, explanation, created_at)
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM rules WHERE id = ?1)
             ON CONFLICT (rule_id, article_id) DO NOTHING",
        )
        .bind(rule_id)
        .bind(article_id)
        .bind(explanation_json)
        .bind(time_text(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl super::Store {
    /// Which of `keys` this feed has already recorded.
    pub async fn known_item_keys(
        &self,
        feed_id: i64,
        keys: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let json = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let known: Vec<String> = sqlx::query_scalar(
            "SELECT item_key FROM articles
             WHERE feed_id = ?1 AND item_key IN (SELECT value FROM json_each(?2))",
        )
        .bind(feed_id)
        .bind(json)
        .fetch_all(&self.pool)
        .await?;
        Ok(known.into_iter().collect())
    }

    /// Number of recorded articles (for tests and metrics).
    pub async fn article_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM articles")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Number of recorded hits (for tests and metrics).
    pub async fn hit_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM hits")
            .fetch_one(&self.pool)
            .await?)
    }
}
