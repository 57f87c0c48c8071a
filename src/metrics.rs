//! The operator's numbers: counters and histograms that the pipeline and
//! delivery update as they work, and gauges read from the store when
//! `/metrics` is scraped.
//!
//! Built on `prometheus-client` (the Prometheus project's own Rust client):
//! it gets the text format, label escaping, `_total` suffixes and histogram
//! buckets right, which a hand-rolled registry of atomics would have to
//! re-derive and test. [`Metrics`] is one registry per [`crate::app::App`],
//! not a process global, so that tests running several apps in one process
//! see exactly their own counts. It is cheap to clone; every clone updates
//! the same numbers.
//!
//! It owns no policy: callers say what happened (`record_*`, `observe_*`).

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use prometheus_client::{
    encoding::prometheus_text,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{
    chat::Platform,
    pipeline::{PollError, PollOutcome},
};

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// One label, with a value from a fixed set.
type Label = [(&'static str, &'static str); 1];

/// Values read from the store at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StoreGauges {
    /// Articles stored.
    pub articles: i64,
    /// Hits stored.
    pub hits: i64,
    /// Messages waiting in the outbox.
    pub outbox_pending: i64,
    /// Age of the oldest waiting message, in seconds (0 when none waits).
    pub outbox_oldest_age_secs: f64,
    /// Active feeds.
    pub feeds: i64,
    /// Active feeds whose last poll failed.
    pub feeds_failing: i64,
}

/// The registry and every metric in it; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    polls: Family<Label, Counter>,
    fetch_seconds: Histogram,
    parse_seconds: Histogram,
    match_seconds: Histogram,
    articles: Counter,
    hits: Family<Label, Counter>,
    sent: Family<Label, Counter>,
    failed: Family<Label, Counter>,
    send_errors: Family<Label, Counter>,
    rate_limit_waits: Family<Label, Counter>,
    rate_limit_wait_seconds: Family<Label, Counter<f64, AtomicU64>>,
    not_modified_ratio: Gauge<f64, AtomicU64>,
    articles_stored: Gauge,
    hits_stored: Gauge,
    outbox_pending: Gauge,
    outbox_oldest_age: Gauge<f64, AtomicU64>,
    feeds: Gauge,
    feeds_failing: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Latency buckets from 1 ms to about 33 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("wirewatch");
        let polls = Family::<Label, Counter>::default();
        registry.register(
            "polls",
            "Feed polls by outcome: ok (read and stored), not_modified (304), failed (fetch or parse), error (store)",
            polls.clone(),
        );
        let fetch_seconds = latency();
        registry.register(
            "fetch_duration_seconds",
            "Time to fetch a feed (request to last byte)",
            fetch_seconds.clone(),
        );
        let parse_seconds = latency();
        registry.register(
            "parse_duration_seconds",
            "Time to parse a fetched feed document",
            parse_seconds.clone(),
        );
        let match_seconds = latency();
        registry.register(
            "match_duration_seconds",
            "Time to match one poll's new articles against every rule",
            match_seconds.clone(),
        );
        let articles = Counter::default();
        registry.register(
            "articles_ingested",
            "New articles recorded",
            articles.clone(),
        );
        let hits = Family::<Label, Counter>::default();
        registry.register(
            "hits",
            "Hits recorded, by rule kind (person, country, keyword, query)",
            hits.clone(),
        );
        let sent = Family::<Label, Counter>::default();
        registry.register(
            "messages_sent",
            "Outbox messages delivered, by platform",
            sent.clone(),
        );
        let failed = Family::<Label, Counter>::default();
        registry.register(
            "messages_failed",
            "Outbox messages the platform refused for good, by platform",
            failed.clone(),
        );
        let send_errors = Family::<Label, Counter>::default();
        registry.register(
            "send_errors",
            "Sends that failed and will be retried, by platform",
            send_errors.clone(),
        );
        let rate_limit_waits = Family::<Label, Counter>::default();
        registry.register(
            "rate_limit_waits",
            "Times a send waited for a platform's rate limits (its 429 answer, or our pacing within its published limits), by platform",
            rate_limit_waits.clone(),
        );
        let rate_limit_wait_seconds = Family::<Label, Counter<f64, AtomicU64>>::default();
        registry.register(
            "rate_limit_wait_seconds",
            "Seconds sends waited for platforms' rate limits (asked for, or paced), by platform",
            rate_limit_wait_seconds.clone(),
        );
        let not_modified_ratio = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "poll_not_modified_ratio",
            "Share of completed polls answered 304 Not Modified since start",
            not_modified_ratio.clone(),
        );
        let articles_stored = Gauge::default();
        registry.register(
            "articles_stored",
            "Articles in the store",
            articles_stored.clone(),
        );
        let hits_stored = Gauge::default();
        registry.register("hits_stored", "Hits in the store", hits_stored.clone());
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Messages waiting to be delivered",
            outbox_pending.clone(),
        );
        let outbox_oldest_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be delivered (0 when none waits)",
            outbox_oldest_age.clone(),
        );
        let feeds = Gauge::default();
        registry.register("feeds", "Feeds being polled", feeds.clone());
        let feeds_failing = Gauge::default();
        registry.register(
            "feeds_failing",
            "Feeds whose last poll failed",
            feeds_failing.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                polls,
                fetch_seconds,
                parse_seconds,
                match_seconds,
                articles,
                hits,
                sent,
                failed,
                send_errors,
                rate_limit_waits,
                rate_limit_wait_seconds,
                not_modified_ratio,
                articles_stored,
                hits_stored,
                outbox_pending,
                outbox_oldest_age,
                feeds,
                feeds_failing,
            }),
        }
    }

    /// Counts a finished poll by its outcome.
    pub fn record_poll(&self, outcome: &Result<PollOutcome, PollError>) {
        let label = match outcome {
            Ok(PollOutcome::Ingested(_)) => "ok",
            Ok(PollOutcome::NotModified) => "not_modified",
            Ok(PollOutcome::Failed { .. }) => "failed",
            Err(_) => "error",
        };
        self.inner.polls.get_or_create(&[("outcome", label)]).inc();
    }

    /// Times one fetch.
    pub fn observe_fetch(&self, took: Duration) {
        self.inner.fetch_seconds.observe(took.as_secs_f64());
    }

    /// Times one parse.
    pub fn observe_parse(&self, took: Duration) {
        self.inner.parse_seconds.observe(took.as_secs_f64());
    }

    /// Times the matching of one poll's new articles.
    pub fn observe_match(&self, took: Duration) {
        self.inner.match_seconds.observe(took.as_secs_f64());
    }

    /// Counts what one committed ingest recorded: `articles` new articles
    /// and a hit for each rule SPEC in `hit_specs`.
    pub fn record_ingest<'a>(&self, articles: usize, hit_specs: impl IntoIterator<Item = &'a str>) {
        self.inner.articles.inc_by(articles as u64);
        for spec in hit_specs {
            self.inner
                .hits
                .get_or_create(&[("kind", rule_kind(spec))])
                .inc();
        }
    }

    /// Counts `count` messages delivered on `platform`.
    pub fn record_sent(&self, platform: Platform, count: usize) {
        self.inner
            .sent
            .get_or_create(&[("platform", platform.as_str())])
            .inc_by(count as u64);
    }

    /// Counts a message given up on (refused for good, or undecodable).
    pub fn record_failed(&self, platform: &str) {
        self.inner
            .failed
            .get_or_create(&[("platform", platform_label(platform))])
            .inc();
    }

    /// Counts a send that failed and will be retried.
    pub fn record_send_error(&self, platform: Platform) {
        self.inner
            .send_errors
            .get_or_create(&[("platform", platform.as_str())])
            .inc();
    }

    /// Counts a rate-limit answer and the wait it asked for.
    pub fn record_rate_limit(&self, platform: Platform, wait: Duration) {
        let label = [("platform", platform.as_str())];
        self.inner.rate_limit_waits.get_or_create(&label).inc();
        self.inner
            .rate_limit_wait_seconds
            .get_or_create(&label)
            .inc_by(wait.as_secs_f64());
    }

    /// Current value of a per-outcome poll counter (tests, `doctor`).
    pub fn polls(&self, outcome: &'static str) -> u64 {
        self.inner
            .polls
            .get(&[("outcome", outcome)])
            .map_or(0, |c| c.get())
    }

    /// Writes every metric in the Prometheus text format, with the store's
    /// gauges set to `store`.
    pub fn encode(&self, store: &StoreGauges) -> Result<String, std::fmt::Error> {
        let inner = &self.inner;
        inner.articles_stored.set(store.articles);
        inner.hits_stored.set(store.hits);
        inner.outbox_pending.set(store.outbox_pending);
        inner.outbox_oldest_age.set(store.outbox_oldest_age_secs);
        inner.feeds.set(store.feeds);
        inner.feeds_failing.set(store.feeds_failing);
        let not_modified = self.polls("not_modified");
        let completed = not_modified + self.polls("ok");
        inner.not_modified_ratio.set(if completed == 0 {
            0.0
        } else {
            not_modified as f64 / completed as f64
        });
        let mut out = String::new();
        prometheus_text::encode(&mut out, &inner.registry)?;
        Ok(out)
    }
}

/// The kind of a rule SPEC (`keyword:UN Security Council` is a keyword).
fn rule_kind(spec: &str) -> &'static str {
    match spec.split_once(':').map(|(kind, _)| kind.trim()) {
        Some("person") => "person",
        Some("country") => "country",
        Some("keyword") => "keyword",
        Some("query") => "query",
        _ => "other",
    }
}

/// A stored platform name as a label from the fixed set.
fn platform_label(platform: &str) -> &'static str {
    platform
        .parse::<Platform>()
        .map_or("unknown", Platform::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_kinds_come_from_the_spec_prefix() {
        let cases = [
            ("person:James Cleverly", "person"),
            ("country:Russia", "country"),
            ("keyword:UN Security Council", "keyword"),
            ("query:\"Security Council\" AND Russia", "query"),
            ("nonsense", "other"),
        ];
        for (spec, kind) in cases {
            assert_eq!(rule_kind(spec), kind, "{spec}");
        }
    }

    #[test]
    fn the_text_format_has_prefixed_conventional_names() {
        let metrics = Metrics::new();
        metrics.record_ingest(3, ["keyword:UN", "country:Russia", "keyword:NATO"]);
        metrics.record_sent(Platform::Console, 2);
        metrics.record_rate_limit(Platform::Telegram, Duration::from_millis(1500));
        metrics.observe_fetch(Duration::from_millis(20));
        let text = metrics
            .encode(&StoreGauges {
                outbox_pending: 4,
                ..StoreGauges::default()
            })
            .unwrap();
        for line in [
            "wirewatch_articles_ingested_total 3",
            "wirewatch_hits_total{kind=\"keyword\"} 2",
            "wirewatch_hits_total{kind=\"country\"} 1",
            "wirewatch_messages_sent_total{platform=\"console\"} 2",
            "wirewatch_rate_limit_waits_total{platform=\"telegram\"} 1",
            "wirewatch_rate_limit_wait_seconds_total{platform=\"telegram\"} 1.5",
            "wirewatch_fetch_duration_seconds_count 1",
            "wirewatch_outbox_pending 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
