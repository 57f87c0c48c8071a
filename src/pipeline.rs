//! One poll of one feed: fetch, parse, dedup, match, and store the articles,
//! hits and outbox rows in one transaction.
//!
//! [`Pipeline::poll`] is the step the scheduler runs on every tick and that
//! tests call directly. The rule set every poll matches against is compiled
//! at start-up and after bulk changes ([`Pipeline::reload_rules`]); a chat's
//! single rule goes in or out without recompiling the others
//! ([`Pipeline::add_rule`], [`Pipeline::remove_rule`]). Polls never wait
//! for either: they match against the set they started with.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};
use url::Url;

use crate::{
    alerts::{AlertArticle, build_alert},
    chat::Outgoing,
    config::Backfill,
    delivery::EditEntry,
    feeds::{
        fetch::{FetchOutcome, Fetcher, Trust, Validators},
        parse::{FeedItem, parse_feed},
    },
    health::FeedHealth,
    matching::{Analyzed, Article, Explanation, Hit, Matcher, MatcherBuilder, RuleSpec},
    metrics::Metrics,
    store::{Feed, FeedOrigin, NewArticle, RuleRow, Store, StoreError, StoreTx, Subscription},
    stories::{Joined, Probe, Signature, StoryIndex},
};

/// First wait after a failed poll; doubled on each further failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an article's text is stored as its summary.
const SUMMARY_CHARS: usize = 600;
/// The story window when the config does not set one.
const DEFAULT_STORY_WINDOW: Duration = Duration::from_secs(48 * 3600);

/// Why a poll did not complete.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The store failed; the poll's writes were rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The matcher panicked (a bug); nothing of the poll was stored.
    #[error("matching failed: {0}")]
    Matching(String),
}

/// What a poll did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// 304: nothing parsed.
    NotModified,
    /// The feed was read.
    Ingested(IngestReport),
    /// Fetching or parsing failed; the feed is retried at `retry_at`.
    Failed {
        /// What went wrong, in plain words.
        error: String,
        /// Next attempt.
        retry_at: DateTime<Utc>,
    },
}

/// Counts of one ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Items in the document.
    pub items: usize,
    /// Items not seen before, now recorded.
    pub new_articles: usize,
    /// New items that repeat another feed's article (same canonical URL).
    pub duplicates: usize,
    /// Hits recorded.
    pub hits: usize,
    /// Alert messages queued.
    pub alerts: usize,
    /// New articles that joined a story already in the window.
    pub joined_stories: usize,
    /// Alerts given another outlet ("also: …"): edits queued for sent ones.
    pub story_updates: usize,
}

/// Every rule of every chat, compiled, with what delivery needs to know.
#[derive(Debug, Clone)]
pub struct RuleSet {
    matcher: Matcher,
    rules: HashMap<i64, RuleRow>,
    subscriptions: HashMap<i64, Subscription>,
}

impl RuleSet {
    /// An empty rule set.
    pub fn empty() -> Self {
        Self {
            matcher: Matcher::empty(),
            rules: HashMap::new(),
            subscriptions: HashMap::new(),
        }
    }

    /// Compiles stored rules. A stored rule that no longer parses (the
    /// language changed under it) is skipped with a warning, not fatal.
    pub fn build(rules: Vec<RuleRow>, subscriptions: Vec<Subscription>) -> Self {
        let mut builder = MatcherBuilder::new();
        let mut kept = HashMap::with_capacity(rules.len());
        for rule in rules {
            match RuleSpec::parse(&rule.spec) {
                Ok(spec) => {
                    builder.add(rule.id, &spec);
                    kept.insert(rule.id, rule);
                }
                Err(error) => {
                    warn!(rule_id = rule.id, spec = %rule.spec, %error, "skipping stored rule")
                }
            }
        }
        Self {
            matcher: builder.build(),
            rules: kept,
            subscriptions: subscriptions.into_iter().map(|s| (s.id, s)).collect(),
        }
    }

    /// Adds one stored rule of `subscription`'s chat, leaving the other
    /// rules compiled as they are. False, changing nothing, when the rule is
    /// in already or its spec no longer parses.
    pub fn add_rule(&mut self, rule: RuleRow, subscription: Subscription) -> bool {
        if self.rules.contains_key(&rule.id) {
            return false;
        }
        let spec = match RuleSpec::parse(&rule.spec) {
            Ok(spec) => spec,
            Err(error) => {
                warn!(rule_id = rule.id, spec = %rule.spec, %error, "skipping stored rule");
                return false;
            }
        };
        self.matcher.add_rule(rule.id, &spec);
        self.subscriptions.insert(subscription.id, subscription);
        self.rules.insert(rule.id, rule);
        true
    }

    /// Removes one rule, leaving the others compiled as they are; false
    /// when it was not in.
    pub fn remove_rule(&mut self, rule_id: i64) -> bool {
        if self.rules.remove(&rule_id).is_none() {
            return false;
        }
        self.matcher.remove_rule(rule_id);
        true
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The ingest stage, shared by the scheduler's tasks.
pub struct Pipeline {
    store: Store,
    fetcher: Fetcher,
    rules: RwLock<Arc<RuleSet>>,
    /// Held while the rule set changes, so that a rule added or removed
    /// during a rebuild is applied to the rebuilt set, not lost with the old.
    rule_changes: tokio::sync::Mutex<()>,
    /// Full rebuilds so far ([`Pipeline::rule_set_builds`]).
    rule_set_builds: AtomicU64,
    outbox_ready: Arc<Notify>,
    max_backoff: Duration,
    metrics: Metrics,
    health: FeedHealth,
    /// The story index of the last `story_window`; loaded from the store
    /// on first use. Held for a whole ingest, so that polls of different
    /// feeds see each other's articles in order.
    stories: tokio::sync::Mutex<Option<StoryIndex>>,
    story_window: Duration,
}

impl Pipeline {
    /// A pipeline with an empty rule set; call [`Pipeline::reload_rules`].
    pub fn new(
        store: Store,
        fetcher: Fetcher,
        outbox_ready: Arc<Notify>,
        max_backoff: Duration,
    ) -> Self {
        Self {
            store,
            fetcher,
            rules: RwLock::new(Arc::new(RuleSet::empty())),
            rule_changes: tokio::sync::Mutex::new(()),
            rule_set_builds: AtomicU64::new(0),
            outbox_ready,
            max_backoff,
            metrics: Metrics::default(),
            health: FeedHealth::default(),
            stories: tokio::sync::Mutex::new(None),
            story_window: DEFAULT_STORY_WINDOW,
        }
    }

    /// Compares new articles with those of the last `window` to find their
    /// story (`[stories] window_hours`).
    pub fn with_story_window(mut self, window: Duration) -> Self {
        self.story_window = window;
        self
    }

    /// Counts into `metrics` and reports feeds failing for longer than
    /// `unhealthy_after` to their chats.
    pub fn with_operations(mut self, metrics: Metrics, unhealthy_after: Duration) -> Self {
        self.metrics = metrics;
        self.health = FeedHealth::new(unhealthy_after);
        self
    }

    /// The metrics this pipeline counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Recompiles the rule set from the store and swaps it in: at start-up
    /// and after changes to many rules or to chats.
    pub async fn reload_rules(&self) -> Result<usize, StoreError> {
        let _changing = self.rule_changes.lock().await;
        let rules = self.store.all_rules().await?;
        let subscriptions = self.store.subscriptions().await?;
        let set = tokio::task::spawn_blocking(move || RuleSet::build(rules, subscriptions))
            .await
            .map_err(|e| StoreError::Corrupt(format!("rule compilation panicked: {e}")))?;
        let count = set.len();
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        self.rule_set_builds.fetch_add(1, Ordering::Relaxed);
        info!(rules = count, "rule set compiled");
        Ok(count)
    }

    /// Adds one rule, just stored for `subscription`'s chat, to the rule set
    /// without recompiling the others. False when it was in already (a
    /// rebuild since it was stored picked it up) or does not parse.
    pub async fn add_rule(
        &self,
        rule: RuleRow,
        subscription: Subscription,
    ) -> Result<bool, StoreError> {
        let rule_id = rule.id;
        let added = self
            .change_rules(move |set| set.add_rule(rule, subscription))
            .await?;
        debug!(rule_id, added, "rule added to the rule set");
        Ok(added)
    }

    /// Removes one rule from the rule set without recompiling the others.
    /// False when it was not in.
    pub async fn remove_rule(&self, rule_id: i64) -> Result<bool, StoreError> {
        let removed = self
            .change_rules(move |set| set.remove_rule(rule_id))
            .await?;
        debug!(rule_id, removed, "rule removed from the rule set");
        Ok(removed)
    }

    /// How many times the whole rule set was compiled ([`Self::reload_rules`]);
    /// single-rule changes don't count.
    pub fn rule_set_builds(&self) -> u64 {
        self.rule_set_builds.load(Ordering::Relaxed)
    }

    /// Applies `change` to the rule set: in place when no poll holds the
    /// current set, else to a copy that is then swapped in (polls keep the
    /// set they started with).
    async fn change_rules(
        &self,
        change: impl FnOnce(&mut RuleSet) -> bool + Send + 'static,
    ) -> Result<bool, StoreError> {
        let _changing = self.rule_changes.lock().await;
        {
            let mut current = self.rules.write().unwrap_or_else(|p| p.into_inner());
            if let Some(set) = Arc::get_mut(&mut current) {
                return Ok(change(set));
            }
        }
        // Copying a big set takes a while: off the async threads, and
        // without holding the lock polls take it through.
        let current = self.rule_set();
        let (set, changed) = tokio::task::spawn_blocking(move || {
            let mut set = RuleSet::clone(&current);
            let changed = change(&mut set);
            (set, changed)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("rule change panicked: {e}")))?;
        if changed {
            *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        }
        Ok(changed)
    }

    /// The shared fetcher (for `/test` with a URL).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// How far back new articles are compared to find their story.
    pub fn story_window(&self) -> Duration {
        self.story_window
    }

    /// The stored story `item` would join (or joined, if it is stored: then
    /// by its own URL or guid), and why; `None`: it would start a new one.
    /// Probes the running story index (loaded from the store if no poll
    /// has yet) without adding to it, so `/test` sees what polls see.
    pub async fn find_story(
        &self,
        item: &FeedItem,
        now: DateTime<Utc>,
    ) -> Result<Option<Joined>, StoreError> {
        let signature = Signature::of(&item.title, &join_text(&item.summary, &item.content));
        let canonical = item.link.as_deref().and_then(canonical_url);
        let guid = item
            .guid
            .as_deref()
            .map(str::trim)
            .filter(|g| is_global_guid(g));
        let mut slot = self.stories.lock().await;
        let index = match &mut *slot {
            Some(index) => index,
            None => slot.insert(load_story_index(&self.store, self.story_window, now).await?),
        };
        index.evict(now);
        Ok(index.find(&Probe {
            canonical_url: canonical.as_deref(),
            guid,
            signature: &signature,
        }))
    }

    fn rule_set(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Polls one feed once: the scheduler's step, also called by tests.
    /// Counts the outcome and tells the feed's chats when its health changed.
    #[tracing::instrument(name = "poll", skip_all, fields(feed_id = feed.id))]
    pub async fn poll(&self, feed: &Feed, now: DateTime<Utc>) -> Result<PollOutcome, PollError> {
        let outcome = self.poll_feed(feed, now).await;
        self.metrics.record_poll(&outcome);
        let name = feed.display_name();
        self.health
            .check_after_poll(&self.store, feed.id, name, now, &self.outbox_ready)
            .await;
        outcome
    }

    async fn poll_feed(&self, feed: &Feed, now: DateTime<Utc>) -> Result<PollOutcome, PollError> {
        let url = match Url::parse(&feed.url) {
            Ok(url) => url,
            Err(e) => return self.fail(feed, format!("invalid URL: {e}"), now).await,
        };
        let trust = match feed.origin {
            FeedOrigin::Operator => Trust::Operator,
            FeedOrigin::Chat => Trust::Chat,
        };
        let started = std::time::Instant::now();
        let fetched = self.fetcher.fetch(&url, &feed.validators, trust).await;
        self.metrics.observe_fetch(started.elapsed());
        let body = match fetched {
            Ok(FetchOutcome::NotModified) => {
                self.store.record_not_modified(feed.id, now).await?;
                debug!(feed_id = feed.id, "not modified");
                return Ok(PollOutcome::NotModified);
            }
            Ok(FetchOutcome::Fetched(body)) => body,
            Err(e) => return self.fail(feed, e.to_string(), now).await,
        };
        let final_url = body.final_url.clone();
        let started = std::time::Instant::now();
        let parsed = tokio::task::spawn_blocking(move || {
            parse_feed(&body.bytes, body.charset.as_deref(), Some(&final_url))
        })
        .await;
        self.metrics.observe_parse(started.elapsed());
        let parsed = match parsed {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(e)) => {
                return self
                    .fail(feed, format!("not a usable feed: {e}"), now)
                    .await;
            }
            Err(e) => return self.fail(feed, format!("parser failed: {e}"), now).await,
        };
        if parsed.items.is_empty() {
            info!(feed_id = feed.id, url = %feed.url, "feed has no items");
        }
        let source = feed
            .name
            .clone()
            .or(parsed.title.clone().filter(|t| !t.trim().is_empty()))
            .unwrap_or_else(|| url.host_str().unwrap_or("local feed").to_owned());
        match self
            .ingest(feed, &source, &parsed.items, &body.validators, now)
            .await
        {
            Ok(report) => Ok(PollOutcome::Ingested(report)),
            Err(PollError::Matching(e)) => {
                self.fail(feed, format!("matching failed: {e}"), now).await
            }
            Err(e) => Err(e),
        }
    }

    async fn fail(
        &self,
        feed: &Feed,
        error: String,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, PollError> {
        let retry_at = now + backoff(feed.consecutive_failures + 1, self.max_backoff);
        warn!(feed_id = feed.id, url = %feed.url, %error, %retry_at, "poll failed");
        self.store
            .record_poll_failure(feed.id, &error, now, retry_at)
            .await?;
        Ok(PollOutcome::Failed { error, retry_at })
    }

    /// Records a feed's items: new ones become articles, matching ones get
    /// hits and alerts, all in one transaction with the feed's new state.
    pub async fn ingest(
        &self,
        feed: &Feed,
        source: &str,
        items: &[FeedItem],
        validators: &Validators,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, PollError> {
        let rules = self.rule_set();
        let mut report = IngestReport {
            items: items.len(),
            ..IngestReport::default()
        };
        let keyed: Vec<(String, &FeedItem)> = items.iter().map(|i| (item_key(i), i)).collect();
        let keys: Vec<&str> = keyed.iter().map(|(k, _)| k.as_str()).collect();
        let known = self.store.known_item_keys(feed.id, &keys).await?;
        let fresh: Vec<(&str, &FeedItem, String)> = keyed
            .iter()
            .filter(|(k, _)| !known.contains(k))
            .map(|(k, item)| (k.as_str(), *item, join_text(&item.summary, &item.content)))
            .collect();
        // Matching is CPU work: off the async threads, and a bug in it
        // fails this poll (retried with backoff) instead of the process.
        let to_match: Vec<Option<(String, String)>> = fresh
            .iter()
            .map(|(_, item, body)| {
                alerts_on_item(feed, item, now).then(|| (item.title.clone(), body.clone()))
            })
            .collect();
        let matcher_rules = rules.clone();
        let source_name = source.to_owned();
        let started = std::time::Instant::now();
        let all_hits = tokio::task::spawn_blocking(move || {
            to_match
                .iter()
                .map(|doc| match doc {
                    Some((title, body)) => ArticleHits::of(
                        &matcher_rules.matcher,
                        &Article {
                            title,
                            body,
                            source: &source_name,
                        },
                    ),
                    None => Ok(ArticleHits::default()),
                })
                .collect::<Result<Vec<ArticleHits>, serde_json::Error>>()
        })
        .await;
        self.metrics.observe_match(started.elapsed());
        let all_hits = match all_hits {
            Ok(Ok(hits)) => hits,
            Ok(Err(e)) => return Err(StoreError::Corrupt(e.to_string()).into()),
            Err(e) => {
                error!(feed_id = feed.id, error = %e, "matching failed");
                return Err(PollError::Matching(e.to_string()));
            }
        };
        let signatures = story_signatures(&fresh).await?;
        let mut story_index = self.stories.lock().await;
        let mut stories =
            StoryDesk::open(&mut story_index, &self.store, self.story_window, now).await?;
        let mut hit_specs: Vec<&str> = Vec::new();
        let mut tx = self.store.begin().await?;
        for (((key, item, body), hits), signature) in fresh.iter().zip(&all_hits).zip(signatures) {
            let canonical = item.link.as_deref().and_then(canonical_url);
            let duplicate_of = match &canonical {
                Some(c) => tx.article_by_canonical_url(c, feed.id).await?,
                None => None,
            };
            let summary: String = body.chars().take(SUMMARY_CHARS).collect();
            let Some(article_id) = tx
                .insert_article(&NewArticle {
                    feed_id: feed.id,
                    item_key: key,
                    url: item.link.as_deref(),
                    canonical_url: canonical.as_deref(),
                    title: &item.title,
                    summary: &summary,
                    published_at: item.published.or(item.updated),
                    fetched_at: now,
                    duplicate_of,
                })
                .await?
            else {
                continue; // the same item twice in one document
            };
            report.new_articles += 1;
            let story = stories
                .assign(
                    &mut tx,
                    article_id,
                    item,
                    canonical.as_deref(),
                    signature,
                    now,
                )
                .await?;
            if story.joined {
                report.joined_stories += 1;
                // A new feed's backlog is recorded quietly, updates included.
                if alerts_on_item(feed, item, now) {
                    report.story_updates +=
                        add_outlet_to_story_alerts(&mut tx, story.id, article_id, source, now)
                            .await?;
                }
            }
            if duplicate_of.is_some() {
                report.duplicates += 1;
                continue;
            }
            // Group by chat so that each chat gets one alert per article.
            let mut by_chat: BTreeMap<i64, Vec<(i64, &str, &Explanation)>> = BTreeMap::new();
            for &(rule_id, e) in &hits.hits {
                let Some(rule) = rules.rules.get(&rule_id) else {
                    continue;
                };
                let (explanation, json) = &hits.explanations[e];
                if tx
                    .insert_hit(rule.id, article_id, &hit_json(rule.id, json), now)
                    .await?
                {
                    report.hits += 1;
                    hit_specs.push(rule.spec.as_str());
                    debug!(article_id, rule_id = rule.id, "hit");
                    by_chat.entry(rule.subscription_id).or_default().push((
                        rule.id,
                        rule.spec.as_str(),
                        explanation,
                    ));
                }
            }
            let article = AlertArticle {
                id: article_id,
                title: &item.title,
                url: item.link.as_deref(),
                source,
                published: item.published.or(item.updated),
            };
            for (subscription_id, chat_hits) in by_chat {
                let wants_alerts = rules
                    .subscriptions
                    .get(&subscription_id)
                    .is_some_and(|s| s.alerts_enabled && s.paused_reason.is_none());
                if !wants_alerts {
                    continue;
                }
                // One alert per story per rule: only rules that have not
                // alerted on this story yet.
                let chat_hits =
                    new_story_rules(&mut tx, story.id, subscription_id, chat_hits).await?;
                if chat_hits.is_empty() {
                    continue;
                }
                let owned: Vec<Hit> = chat_hits.iter().map(|(id, _, e)| e.to_hit(*id)).collect();
                let alert_hits: Vec<(i64, &str, &Hit)> = chat_hits
                    .iter()
                    .zip(&owned)
                    .map(|((id, spec, _), hit)| (*id, *spec, hit))
                    .collect();
                let payload = serde_json::to_string(&build_alert(&article, &alert_hits))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let message_id = tx.enqueue(subscription_id, &payload, now).await?;
                for (rule_id, _, _) in &chat_hits {
                    tx.record_story_alert(story.id, subscription_id, *rule_id, message_id)
                        .await?;
                }
                debug!(article_id, subscription_id, message_id, "alert queued");
                report.alerts += 1;
            }
        }
        tx.record_poll_success(feed.id, validators, report.new_articles > 0, now)
            .await?;
        tx.commit().await?;
        stories.keep();
        self.metrics.record_ingest(report.new_articles, hit_specs);
        if report.alerts > 0 || report.story_updates > 0 {
            self.outbox_ready.notify_one();
        }
        info!(
            feed_id = feed.id,
            items = report.items,
            new = report.new_articles,
            duplicates = report.duplicates,
            hits = report.hits,
            alerts = report.alerts,
            joined_stories = report.joined_stories,
            story_updates = report.story_updates,
            "feed ingested"
        );
        Ok(report)
    }
}

/// The story an ingested article belongs to.
#[derive(Debug, Clone, Copy)]
struct StoryAssignment {
    id: i64,
    /// It joined a story that was already in the window.
    joined: bool,
}

/// The story index during one ingest: assigns articles to stories, and
/// takes them out again unless the ingest's transaction committed.
struct StoryDesk<'a> {
    index: &'a mut StoryIndex,
    added: Vec<i64>,
    kept: bool,
}

impl<'a> StoryDesk<'a> {
    /// The index in `slot`, loaded from the store if it is not yet, with
    /// articles older than the window dropped.
    async fn open(
        slot: &'a mut Option<StoryIndex>,
        store: &Store,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<StoryDesk<'a>, StoreError> {
        let index = match slot {
            Some(index) => index,
            None => slot.insert(load_story_index(store, window, now).await?),
        };
        index.evict(now);
        Ok(StoryDesk {
            index,
            added: Vec::new(),
            kept: false,
        })
    }

    /// Finds the article's story (or starts one) and records it.
    async fn assign(
        &mut self,
        tx: &mut StoreTx,
        article_id: i64,
        item: &FeedItem,
        canonical: Option<&str>,
        signature: Signature,
        now: DateTime<Utc>,
    ) -> Result<StoryAssignment, StoreError> {
        let guid = item
            .guid
            .as_deref()
            .map(str::trim)
            .filter(|g| is_global_guid(g));
        let joined = self.index.find(&Probe {
            canonical_url: canonical,
            guid,
            signature: &signature,
        });
        let bytes = signature.to_bytes();
        let assignment = match joined {
            Some(joined) => {
                let reason = joined.evidence.to_string();
                debug!(article_id, story_id = joined.story_id, %reason, "article joined a story");
                tx.grow_story(joined.story_id, now).await?;
                tx.set_article_story(article_id, joined.story_id, &bytes, Some(&reason))
                    .await?;
                StoryAssignment {
                    id: joined.story_id,
                    joined: true,
                }
            }
            None => {
                let id = tx.create_story(article_id, now).await?;
                tx.set_article_story(article_id, id, &bytes, None).await?;
                StoryAssignment { id, joined: false }
            }
        };
        self.index
            .insert(article_id, assignment.id, now, canonical, guid, signature);
        self.added.push(article_id);
        Ok(assignment)
    }

    /// The transaction committed: the articles stay in the index.
    fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for StoryDesk<'_> {
    fn drop(&mut self) {
        if !self.kept {
            for article_id in self.added.drain(..) {
                self.index.remove(article_id);
            }
        }
    }
}

/// A guid that names one article across outlets (a URL or URN). Plain
/// numbers and short tokens are only unique within their feed.
fn is_global_guid(guid: &str) -> bool {
    guid.len() >= 12
        && (guid.contains("://") || guid.starts_with("urn:") || guid.starts_with("tag:"))
}

/// The story index of the window before `now`, from the stored signatures.
pub(crate) async fn load_story_index(
    store: &Store,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<StoryIndex, StoreError> {
    let since = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(48));
    let rows = store.story_window(since).await?;
    let mut index = StoryIndex::new(window);
    for row in rows {
        let Some(signature) = Signature::from_bytes(&row.signature, &row.title) else {
            warn!(
                article_id = row.article_id,
                "unreadable story signature; skipped"
            );
            continue;
        };
        let guid = row
            .item_key
            .strip_prefix("guid:")
            .filter(|g| is_global_guid(g));
        index.insert(
            row.article_id,
            row.story_id,
            row.fetched_at,
            row.canonical_url.as_deref(),
            guid,
            signature,
        );
    }
    info!(
        articles = index.len(),
        window_hours = window.as_secs() / 3600,
        "story index loaded"
    );
    Ok(index)
}

/// What matched one article: every distinct explanation once, shared by
/// the rules that matched through the same words (every chat's
/// `country:Russia`), so the cost follows the distinct rules, not the chats.
#[derive(Debug, Default)]
struct ArticleHits {
    /// (rule id, index in `explanations`), in rule id order.
    hits: Vec<(i64, usize)>,
    /// Each explanation, with its JSON (what [`hit_json`] completes).
    explanations: Vec<(Explanation, String)>,
}

impl ArticleHits {
    /// Normalises `article` once and matches it against `matcher`.
    fn of(matcher: &Matcher, article: &Article) -> Result<ArticleHits, serde_json::Error> {
        if matcher.rule_count() == 0 {
            return Ok(ArticleHits::default());
        }
        let doc = Analyzed::new(article);
        let matches = matcher.find_in(&doc);
        let mut hits: Vec<(i64, usize)> = matches
            .groups()
            .flat_map(|(ids, e)| ids.iter().map(move |&id| (id, e)))
            .collect();
        // Stable, as `Matcher::find`'s order is.
        hits.sort_by_key(|&(id, _)| id);
        let explanations = matches
            .into_explanations()
            .into_iter()
            .map(|e| serde_json::to_string(&e).map(|json| (e, json)))
            .collect::<Result<_, _>>()?;
        Ok(ArticleHits { hits, explanations })
    }
}

/// The JSON of `explanation.to_hit(rule_id)` made from the explanation's
/// JSON, byte for byte: [`Hit`] is the rule id followed by the
/// explanation's fields.
fn hit_json(rule_id: i64, explanation_json: &str) -> String {
    let fields = explanation_json
        .strip_prefix('{')
        .unwrap_or(explanation_json);
    format!("{{\"rule_id\":{rule_id},{fields}")
}

/// The signatures of new items, computed off the async threads.
async fn story_signatures(
    fresh: &[(&str, &FeedItem, String)],
) -> Result<Vec<Signature>, PollError> {
    let texts: Vec<(String, String)> = fresh
        .iter()
        .map(|(_, item, body)| (item.title.clone(), body.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        texts
            .iter()
            .map(|(title, body)| Signature::of(title, body))
            .collect()
    })
    .await
    .map_err(|e| PollError::Matching(format!("story signatures: {e}")))
}

/// The hits of rules that have not yet alerted this chat on this story.
async fn new_story_rules<'h, T>(
    tx: &mut StoreTx,
    story_id: i64,
    subscription_id: i64,
    hits: Vec<(i64, &'h str, T)>,
) -> Result<Vec<(i64, &'h str, T)>, StoreError> {
    let alerted = tx.story_alerted_rules(story_id, subscription_id).await?;
    Ok(hits
        .into_iter()
        .filter(|(rule_id, _, _)| !alerted.contains(rule_id))
        .collect())
}

/// Adds `source` to the "also" outlets of every alert about a story: an
/// alert not yet sent is rewritten in place, a sent one gets an edit entry
/// in the outbox. Returns how many alerts changed.
async fn add_outlet_to_story_alerts(
    tx: &mut StoreTx,
    story_id: i64,
    article_id: i64,
    source: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    let mut changed = 0;
    for queued in tx.story_alert_messages(story_id).await? {
        let Ok(Outgoing::Alert(mut alert)) = serde_json::from_str::<Outgoing>(&queued.payload)
        else {
            continue;
        };
        let known = alert.source.eq_ignore_ascii_case(source)
            || alert.also.iter().any(|o| o.eq_ignore_ascii_case(source));
        if alert.article_id == article_id || known {
            continue; // an update of the same outlet's item adds no outlet
        }
        alert.also.push(source.to_owned());
        let updated = Outgoing::Alert(alert);
        tx.set_outbox_payload(
            queued.outbox_id,
            &serde_json::to_string(&updated).map_err(corrupt)?,
        )
        .await?;
        if queued.sent {
            let edit = EditEntry {
                of: queued.outbox_id,
                message: updated,
            };
            let json = serde_json::to_string(&edit).map_err(corrupt)?;
            // Outlets that arrive before the edit is sent go into that edit.
            match tx.pending_edit_of(queued.outbox_id).await? {
                Some(pending) => tx.set_outbox_payload(pending, &json).await?,
                None => {
                    tx.enqueue(queued.subscription_id, &json, now).await?;
                }
            }
        }
        debug!(story_id, outbox_id = queued.outbox_id, %source, sent = queued.sent, "alert gets another outlet");
        changed += 1;
    }
    Ok(changed)
}

/// Wait before the `failures`-th retry: 30 s doubling, capped.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    FIRST_BACKOFF.saturating_mul(factor).min(max)
}

/// Whether an item of this poll may alert: a feed's first poll only
/// records what is already there, unless its backfill says otherwise.
fn alerts_on_item(feed: &Feed, item: &FeedItem, now: DateTime<Utc>) -> bool {
    if feed.seeded {
        return true;
    }
    match feed.backfill {
        Backfill::None => false,
        Backfill::All => true,
        Backfill::Within(age) => item.published.or(item.updated).is_some_and(|t| {
            now.signed_duration_since(t)
                .to_std()
                .map_or(true, |d| d <= age)
        }),
    }
}

/// The key that identifies an item within its feed: its guid, else its
/// link, else its title and date.
fn item_key(item: &FeedItem) -> String {
    if let Some(guid) = item.guid.as_deref().filter(|g| !g.trim().is_empty()) {
        return format!("guid:{}", guid.trim());
    }
    if let Some(link) = item.link.as_deref().filter(|l| !l.trim().is_empty()) {
        return format!("link:{}", link.trim());
    }
    let when = item
        .published
        .or(item.updated)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    format!("title:{}|{when}", item.title.trim())
}

fn join_text(summary: &str, content: &str) -> String {
    match (summary.trim(), content.trim()) {
        ("", c) => c.to_owned(),
        (s, "") => s.to_owned(),
        // Many feeds repeat the summary as the start of the content.
        (s, c) if c.starts_with(s) => c.to_owned(),
        (s, c) => format!("{s}\n{c}"),
    }
}

/// Query parameters that only track the reader, never identify the article.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "ocid",
    "cmpid",
    "mc_cid",
    "mc_eid",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "at_medium",
    "at_campaign",
    "CMP",
];

/// The form of a link used to recognise one article across feeds: https,
/// host without `www.`, no fragment, no tracking parameters, no trailing
/// slash. `None` for links that are not http(s).
pub fn canonical_url(link: &str) -> Option<String> {
    let mut url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    let path = url.path().trim_end_matches('/').to_owned();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("https://{host}{path}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_urls_ignore_what_does_not_identify_an_article() {
        let cases = [
            (
                "https://www.bbc.co.uk/news/world-1?utm_source=rss#top",
                Some("https://bbc.co.uk/news/world-1"),
            ),
            (
                "http://BBC.co.uk/news/world-1/",
                Some("https://bbc.co.uk/news/world-1"),
            ),
            (
                "https://example.com/a?id=7&utm_medium=x&fbclid=y",
                Some("https://example.com/a?id=7"),
            ),
            (
                "https://example.com/a?id=7",
                Some("https://example.com/a?id=7"),
            ),
            ("mailto:desk@example.com", None),
            ("not a url", None),
        ];
        for (input, want) in cases {
            assert_eq!(canonical_url(input).as_deref(), want, "{input}");
        }
        assert_ne!(
            canonical_url("https://example.com/a?id=7"),
            canonical_url("https://example.com/a?id=8")
        );
    }

    #[test]
    fn backoff_doubles_and_stops_at_the_cap() {
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, max), Duration::from_secs(30));
        assert_eq!(backoff(2, max), Duration::from_secs(60));
        assert_eq!(backoff(5, max), Duration::from_secs(480));
        assert_eq!(backoff(12, max), max);
        assert_eq!(backoff(u32::MAX, max), max);
    }

    fn item(guid: Option<&str>, link: Option<&str>, published: Option<DateTime<Utc>>) -> FeedItem {
        FeedItem {
            guid: guid.map(str::to_owned),
            title: "t".to_owned(),
            link: link.map(str::to_owned),
            published,
            updated: None,
            summary: String::new(),
            content: String::new(),
            categories: vec![],
            authors: vec![],
        }
    }

    #[test]
    fn item_keys_prefer_guid_then_link() {
        assert_eq!(
            item_key(&item(Some("g1"), Some("https://a/"), None)),
            "guid:g1"
        );
        assert_eq!(
            item_key(&item(None, Some("https://a/"), None)),
            "link:https://a/"
        );
        assert_eq!(item_key(&item(Some("  "), None, None)), "title:t|");
    }

    #[test]
    fn first_poll_alerts_only_as_backfill_allows() {
        let now = Utc::now();
        let mut feed = Feed {
            id: 1,
            url: "file:///x".into(),
            name: None,
            origin: FeedOrigin::Operator,
            active: true,
            schedule: None,
            backfill: Backfill::None,
            validators: Validators::default(),
            seeded: false,
            failing_since: None,
            last_error: None,
            consecutive_failures: 0,
            retry_at: None,
            last_success_at: None,
        };
        let fresh = item(Some("a"), None, Some(now - chrono::Duration::hours(1)));
        let old = item(Some("b"), None, Some(now - chrono::Duration::hours(30)));
        let undated = item(Some("c"), None, None);
        assert!(!alerts_on_item(&feed, &fresh, now));
        feed.backfill = Backfill::Within(Duration::from_secs(24 * 3600));
        assert!(alerts_on_item(&feed, &fresh, now));
        assert!(!alerts_on_item(&feed, &old, now));
        assert!(!alerts_on_item(&feed, &undated, now));
        feed.backfill = Backfill::All;
        assert!(alerts_on_item(&feed, &old, now));
        feed.backfill = Backfill::None;
        feed.seeded = true;
        assert!(alerts_on_item(&feed, &old, now));
    }
    fn rule(id: i64, subscription_id: i64, spec: &str) -> RuleRow {
        RuleRow {
            id,
            subscription_id,
            spec: spec.to_owned(),
        }
    }

    fn chat(id: i64) -> Subscription {
        Subscription {
            id,
            platform: "console".to_owned(),
            chat_id: format!("chat-{id}"),
            alerts_enabled: true,
            paused_reason: None,
        }
    }

    const ARTICLE: Article<'static> = Article {
        title: "Russian envoy walks out",
        body: "Members of the UN Security Council met in Moscow on Friday.",
        source: "Example News",
    };

    fn matched(set: &RuleSet) -> Vec<i64> {
        ArticleHits::of(&set.matcher, &ARTICLE)
            .unwrap()
            .hits
            .iter()
            .map(|&(id, _)| id)
            .collect()
    }

    #[test]
    fn hits_are_stored_as_the_same_json_as_before_grouping() {
        let set = RuleSet::build(
            vec![
                rule(1, 1, "country:Russia"),
                rule(2, 2, "country:Russia"),
                rule(3, 2, "keyword:UN Security Council"),
                rule(4, 1, "keyword:nothing here"),
            ],
            vec![chat(1), chat(2)],
        );
        let grouped = ArticleHits::of(&set.matcher, &ARTICLE).unwrap();
        let hits = set.matcher.find(&ARTICLE);
        assert_eq!(hits.len(), 3);
        assert_eq!(grouped.hits.len(), hits.len());
        // Two chats' `country:Russia` share one explanation.
        assert_eq!(grouped.explanations.len(), 2);
        for (hit, &(id, e)) in hits.iter().zip(&grouped.hits) {
            assert_eq!(hit.rule_id, id);
            let (explanation, json) = &grouped.explanations[e];
            assert_eq!(&explanation.to_hit(id), hit);
            assert_eq!(hit_json(id, json), serde_json::to_string(hit).unwrap());
        }
    }

    #[test]
    fn one_rule_goes_in_and_out_of_a_rule_set_without_a_rebuild() {
        let mut set = RuleSet::build(vec![rule(1, 1, "keyword:ceasefire")], vec![chat(1)]);
        assert!(matched(&set).is_empty());

        assert!(set.add_rule(rule(7, 2, "country:Russia"), chat(2)));
        assert_eq!(matched(&set), [7]);
        assert_eq!(set.len(), 2);
        assert!(set.subscriptions.contains_key(&2), "the new chat is known");
        assert!(
            !set.add_rule(rule(7, 2, "country:Russia"), chat(2)),
            "a rule already in is not added twice"
        );
        assert_eq!(matched(&set), [7], "still one hit for it");
        assert!(!set.add_rule(rule(8, 2, "keyword:"), chat(2)), "unparsable");

        assert!(set.remove_rule(7));
        assert!(matched(&set).is_empty());
        assert!(!set.remove_rule(7));
        assert_eq!(set.len(), 1);
    }
}
