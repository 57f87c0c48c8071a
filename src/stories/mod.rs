//! Stories: syndicated copies of one news story, clustered across outlets.
//!
//! Pure code: no I/O, no clock. Owns the decision "is this article a copy of
//! one seen in the last N hours, and of which story": the same canonical URL,
//! the same guid, or near-duplicate text ([`Signature`]: MinHash over word
//! shingles of the normalised title and body, with the title's words as a
//! secondary signal). Finding candidates goes through an LSH band index, so
//! the cost per article is bounded by constants ([`BANDS`],
//! [`BUCKET_SCAN`]), not by the number of articles in the window.
//!
//! It does not own story ids (the store allocates them), alerts (the
//! pipeline decides who is told) or persistence (the pipeline rebuilds the
//! index from the store on start with [`StoryIndex::insert`]).

mod signature;

use std::{
    collections::{HashMap, HashSet, VecDeque, hash_map::Entry},
    fmt,
    hash::{BuildHasherDefault, Hasher},
};

use chrono::{DateTime, Duration, Utc};

pub use signature::{HASHES, SHINGLE_WORDS, Signature, words};

/// LSH bands, over the first `BANDS * ROWS` hash values of a signature:
/// two texts become candidates when both rows of at least one band agree.
/// With 64 bands of 2 rows, a pair at Jaccard 0.2 is a candidate with
/// probability 0.93, at 0.3 with 0.998, at 0.05 with 0.15. More bands
/// would catch more borderline pairs at the price of memory: each band is
/// one bucket entry per article.
pub const BANDS: usize = 64;
/// Rows (hash values) per band.
pub const ROWS: usize = 2;
/// Most recent entries of one bucket looked at: a bucket that boilerplate
/// made huge costs no more than this.
pub const BUCKET_SCAN: usize = 32;
/// Fewest shingles a text needs to be compared by its words at all: a
/// headline or a one-line item ("The UN Security Council met again.") is
/// too short to tell a copy from another story on the same subject, so
/// such articles join a story only by URL or guid.
pub const MIN_SHINGLES: u32 = 12;
/// Entries one bucket keeps; older ones fall out of the bucket (not out of
/// the URL and guid maps).
const BUCKET_KEEP: usize = 256;

/// Similarity thresholds of "same story", tuned on the labelled fixture in
/// `tests/fixtures/stories/` (rewrites of one story score 0.21 and up,
/// different stories of one topic 0.19 at most and mostly under 0.15).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Text similarity at or above which two articles are one story.
    pub same: f32,
    /// Text similarity at or above which two articles are one story when
    /// their titles also share at least [`Thresholds::title`] of their words.
    pub likely: f32,
    /// Title word overlap (Jaccard) that confirms a likely match.
    pub title: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            same: 0.2,
            likely: 0.12,
            title: 0.5,
        }
    }
}

/// What the index needs to know of a new article.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// Its link in canonical form.
    pub canonical_url: Option<&'a str>,
    /// Its guid, when the feed gave one.
    pub guid: Option<&'a str>,
    /// Its fingerprint.
    pub signature: &'a Signature,
}

/// Why an article joined a story.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// An article of the story has the same canonical URL.
    SameUrl {
        /// That article.
        article_id: i64,
        /// The URL.
        url: String,
    },
    /// An article of the story has the same guid.
    SameGuid {
        /// That article.
        article_id: i64,
        /// The guid.
        guid: String,
    },
    /// The text is a near-duplicate of an article of the story.
    Similar {
        /// The most similar article.
        article_id: i64,
        /// Estimated similarity of the texts, 0 to 1 (the larger of
        /// Jaccard similarity and containment of the shorter text).
        score: f32,
        /// Word overlap of the titles, 0 to 1.
        title: f32,
    },
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::SameUrl { article_id, url } => {
                write!(f, "same link as article {article_id} ({url})")
            }
            Evidence::SameGuid { article_id, guid } => {
                write!(f, "same guid as article {article_id} ({guid})")
            }
            Evidence::Similar {
                article_id,
                score,
                title,
            } => write!(
                f,
                "text {:.0}% similar to article {article_id} (headline words {:.0}% shared)",
                score * 100.0,
                title * 100.0
            ),
        }
    }
}

/// An existing story an article belongs to, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    /// The story.
    pub story_id: i64,
    /// Why.
    pub evidence: Evidence,
}

struct Indexed {
    story_id: i64,
    signature: Signature,
    canonical_url: Option<String>,
    guid: Option<String>,
}

/// The articles of the last N hours, indexed for finding their story.
pub struct StoryIndex {
    window: Duration,
    thresholds: Thresholds,
    entries: HashMap<i64, Indexed>,
    /// Article ids by the time they were seen, oldest first.
    order: VecDeque<(DateTime<Utc>, i64)>,
    buckets: HashMap<u64, Bucket, BuildHasherDefault<KeyHasher>>,
    urls: HashMap<String, i64>,
    guids: HashMap<String, i64>,
}

impl fmt::Debug for StoryIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoryIndex")
            .field("window", &self.window)
            .field("articles", &self.entries.len())
            .field("buckets", &self.buckets.len())
            .finish()
    }
}

impl StoryIndex {
    /// An empty index keeping articles for `window`.
    pub fn new(window: std::time::Duration) -> Self {
        Self::with_thresholds(window, Thresholds::default())
    }

    /// An empty index with explicit thresholds (for tuning and tests).
    pub fn with_thresholds(window: std::time::Duration, thresholds: Thresholds) -> Self {
        Self {
            window: Duration::from_std(window).unwrap_or(Duration::MAX),
            thresholds,
            entries: HashMap::new(),
            order: VecDeque::new(),
            buckets: HashMap::default(),
            urls: HashMap::new(),
            guids: HashMap::new(),
        }
    }

    /// The window.
    pub fn window(&self) -> std::time::Duration {
        self.window.to_std().unwrap_or_default()
    }

    /// Articles in the index.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the index holds no article.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The story of an indexed article.
    pub fn story_of(&self, article_id: i64) -> Option<i64> {
        self.entries.get(&article_id).map(|e| e.story_id)
    }

    /// The story `probe` belongs to, if any of the window's articles is the
    /// same article (URL, guid) or a near-duplicate of it.
    pub fn find(&self, probe: &Probe<'_>) -> Option<Joined> {
        if let Some(url) = probe.canonical_url
            && let Some((&article_id, entry)) = self.entry_by(&self.urls, url)
        {
            return Some(Joined {
                story_id: entry.story_id,
                evidence: Evidence::SameUrl {
                    article_id,
                    url: url.to_owned(),
                },
            });
        }
        if let Some(guid) = probe.guid
            && let Some((&article_id, entry)) = self.entry_by(&self.guids, guid)
        {
            return Some(Joined {
                story_id: entry.story_id,
                evidence: Evidence::SameGuid {
                    article_id,
                    guid: guid.to_owned(),
                },
            });
        }
        self.most_similar(probe.signature)
    }

    fn entry_by<'a>(
        &'a self,
        map: &'a HashMap<String, i64>,
        key: &str,
    ) -> Option<(&'a i64, &'a Indexed)> {
        let id = map.get(key)?;
        Some((id, self.entries.get(id)?))
    }

    fn most_similar(&self, signature: &Signature) -> Option<Joined> {
        if signature.shingles < MIN_SHINGLES {
            return None;
        }
        let mut seen: HashSet<i64> = HashSet::new();
        let mut best: Option<(f32, f32, i64, i64)> = None;
        for band in 0..BANDS {
            let Some(bucket) = self.buckets.get(&band_key(signature, band)) else {
                continue;
            };
            for &article_id in bucket.as_slice().iter().rev().take(BUCKET_SCAN) {
                if !seen.insert(article_id) {
                    continue;
                }
                let Some(entry) = self.entries.get(&article_id) else {
                    continue;
                };
                let score = similarity(signature, &entry.signature);
                let title = signature.title_similarity(&entry.signature);
                let t = self.thresholds;
                if score >= t.same || (score >= t.likely && title >= t.title) {
                    let better = best.is_none_or(|(s, ti, _, _)| (score, title) > (s, ti));
                    if better {
                        best = Some((score, title, article_id, entry.story_id));
                    }
                }
            }
        }
        best.map(|(score, title, article_id, story_id)| Joined {
            story_id,
            evidence: Evidence::Similar {
                article_id,
                score,
                title,
            },
        })
    }

    /// Adds an article of `story_id`, seen at `at`; an article already in
    /// the index is replaced.
    pub fn insert(
        &mut self,
        article_id: i64,
        story_id: i64,
        at: DateTime<Utc>,
        canonical_url: Option<&str>,
        guid: Option<&str>,
        signature: Signature,
    ) {
        self.remove(article_id);
        if signature.shingles >= MIN_SHINGLES {
            for band in 0..BANDS {
                match self.buckets.entry(band_key(&signature, band)) {
                    Entry::Occupied(mut bucket) => bucket.get_mut().push(article_id),
                    Entry::Vacant(slot) => {
                        slot.insert(Bucket::One(article_id));
                    }
                }
            }
        }
        // The first article with a URL or guid keeps it: it is the one
        // later copies are explained by.
        if let Some(url) = canonical_url {
            self.urls.entry(url.to_owned()).or_insert(article_id);
        }
        if let Some(guid) = guid {
            self.guids.entry(guid.to_owned()).or_insert(article_id);
        }
        self.entries.insert(
            article_id,
            Indexed {
                story_id,
                signature,
                canonical_url: canonical_url.map(str::to_owned),
                guid: guid.map(str::to_owned),
            },
        );
        self.order.push_back((at, article_id));
    }

    /// Removes an article (e.g. its transaction was rolled back).
    pub fn remove(&mut self, article_id: i64) {
        let Some(entry) = self.entries.remove(&article_id) else {
            return;
        };
        for band in 0..BANDS {
            let key = band_key(&entry.signature, band);
            if let Some(bucket) = self.buckets.get_mut(&key)
                && bucket.remove(article_id)
            {
                self.buckets.remove(&key);
            }
        }
        if let Some(url) = &entry.canonical_url
            && self.urls.get(url) == Some(&article_id)
        {
            self.urls.remove(url);
        }
        if let Some(guid) = &entry.guid
            && self.guids.get(guid) == Some(&article_id)
        {
            self.guids.remove(guid);
        }
        // Its place in `order` is skipped when it comes up for eviction.
    }

    /// Drops the articles seen before `now - window`; returns how many.
    pub fn evict(&mut self, now: DateTime<Utc>) -> usize {
        let cutoff = now - self.window;
        let mut evicted = 0;
        while let Some(&(at, article_id)) = self.order.front() {
            if at >= cutoff {
                break;
            }
            self.order.pop_front();
            if self.entries.contains_key(&article_id) {
                self.remove(article_id);
                evicted += 1;
            }
        }
        evicted
    }
}

/// The similarity of two texts used for "same story": their estimated
/// Jaccard similarity, or, when one text is much shorter than the other (a
/// summary against the full article, a copy cut to its first paragraphs),
/// the estimated share of the shorter text's shingles found in the longer
/// one, discounted because that estimate is noisier. Containment is not
/// used for very short texts: a sentence inside a long article is weak
/// evidence.
pub fn similarity(a: &Signature, b: &Signature) -> f32 {
    let j = a.jaccard(b);
    let (small, large) = if a.shingles <= b.shingles {
        (a.shingles as f32, b.shingles as f32)
    } else {
        (b.shingles as f32, a.shingles as f32)
    };
    if small < 15.0 || j <= 0.0 || small / large > 0.6 {
        return j;
    }
    // |A ∩ B| = J / (1 + J) · (|A| + |B|).
    let contained = (j / (1.0 + j) * (small + large) / small).min(1.0);
    j.max(contained * 0.5)
}

/// The articles of one LSH bucket, most recent last. Most buckets hold a
/// single article: that case needs no allocation of its own.
enum Bucket {
    One(i64),
    Many(Vec<i64>),
}

impl Bucket {
    fn as_slice(&self) -> &[i64] {
        match self {
            Bucket::One(id) => std::slice::from_ref(id),
            Bucket::Many(ids) => ids,
        }
    }

    fn push(&mut self, article_id: i64) {
        match self {
            Bucket::One(id) => *self = Bucket::Many(vec![*id, article_id]),
            Bucket::Many(ids) => {
                if ids.len() >= BUCKET_KEEP {
                    ids.remove(0);
                }
                ids.push(article_id);
            }
        }
    }

    /// Takes an article out; true when the bucket is empty now.
    fn remove(&mut self, article_id: i64) -> bool {
        match self {
            Bucket::One(id) => *id == article_id,
            Bucket::Many(ids) => {
                if let Some(at) = ids.iter().position(|&id| id == article_id) {
                    ids.remove(at);
                }
                match ids.as_slice() {
                    [] => return true,
                    [only] => *self = Bucket::One(*only),
                    _ => {}
                }
                false
            }
        }
    }
}

/// Bucket keys are already well-mixed hashes: the map uses them as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The bucket key of one band of a signature.
fn band_key(signature: &Signature, band: usize) -> u64 {
    let rows = &signature.mins[band * ROWS..(band + 1) * ROWS];
    let mut h = (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for r in rows {
        h = (h ^ u64::from(*r)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
    }
    h
}

/// The "also" line of an alert: up to `shown` outlets by name, then "+N".
pub fn also_line(outlets: &[String], shown: usize) -> String {
    let mut line = outlets
        .iter()
        .take(shown)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if outlets.len() > shown {
        line.push_str(&format!(", +{}", outlets.len() - shown));
    }
    line
}

#[cfg(test)]
mod tests;
