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
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    hash::{BuildHasher, RandomState},
};

use chrono::{DateTime, Duration, Utc};
use hashbrown::HashTable;

pub use signature::{HASHES, SHINGLE_WORDS, Signature, words};

/// LSH bands, over the first `BANDS * ROWS` hash values of a signature:
/// two texts become candidates when both rows of at least one band agree.
/// With 64 bands of 2 rows, a pair at Jaccard 0.2 is a candidate with
/// probability 0.93, at 0.3 with 0.998, at 0.05 with 0.15. More bands
/// would catch more borderline pairs at the price of memory: each band
/// costs about 5 bytes per article (see [`StoryIndex`]).
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

impl Evidence {
    /// The article of the story that the evidence points to.
    pub fn article_id(&self) -> i64 {
        match self {
            Evidence::SameUrl { article_id, .. }
            | Evidence::SameGuid { article_id, .. }
            | Evidence::Similar { article_id, .. } => *article_id,
        }
    }

    /// The evidence in words, with the article named by `article`
    /// (`Display` says "article 12").
    pub fn describe(&self, article: &str) -> String {
        match self {
            Evidence::SameUrl { url, .. } => format!("same link as {article} ({url})"),
            Evidence::SameGuid { guid, .. } => format!("same guid as {article} ({guid})"),
            Evidence::Similar { score, title, .. } => format!(
                "text {:.0}% similar to {article} (headline words {:.0}% shared)",
                score * 100.0,
                title * 100.0
            ),
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&format!("article {}", self.article_id())))
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

/// An article in the index.
struct Indexed {
    article_id: i64,
    story_id: i64,
    signature: Signature,
    canonical_url: Option<Box<str>>,
    guid: Option<Box<str>>,
}

/// The articles of the last N hours, indexed for finding their story.
///
/// Memory is what bounds the window (a 48-hour window may hold 100,000
/// articles), so the articles live in a slab of slots addressed by `u32`,
/// and the LSH, URL and guid tables hold only slot numbers: a table entry's
/// key (a band's rows, a URL) is read from its article when needed, never
/// stored twice. An article costs its signature (1 KB of minima) and about
/// 5 bytes per band.
pub struct StoryIndex {
    window: Duration,
    thresholds: Thresholds,
    /// Articles by slot; a removed article's slot is reused.
    slots: Vec<Option<Indexed>>,
    free_slots: Vec<u32>,
    /// Slot of each article id.
    ids: HashMap<i64, u32>,
    /// Article ids by the time they were seen, oldest first.
    order: VecDeque<(DateTime<Utc>, i64)>,
    /// One table per band: the buckets of articles agreeing on the band.
    bands: Vec<HashTable<Bucket>>,
    /// Members of the buckets holding more than one article.
    lists: Vec<Vec<u32>>,
    free_lists: Vec<u32>,
    /// Slot of the first article with each URL, and with each guid.
    urls: HashTable<u32>,
    guids: HashTable<u32>,
    /// Hashes URLs and guids for their tables.
    text_hasher: RandomState,
}

impl fmt::Debug for StoryIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoryIndex")
            .field("window", &self.window)
            .field("articles", &self.ids.len())
            .field(
                "buckets",
                &self.bands.iter().map(HashTable::len).sum::<usize>(),
            )
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
            slots: Vec::new(),
            free_slots: Vec::new(),
            ids: HashMap::new(),
            order: VecDeque::new(),
            bands: (0..BANDS).map(|_| HashTable::new()).collect(),
            lists: Vec::new(),
            free_lists: Vec::new(),
            urls: HashTable::new(),
            guids: HashTable::new(),
            text_hasher: RandomState::new(),
        }
    }

    /// The window.
    pub fn window(&self) -> std::time::Duration {
        self.window.to_std().unwrap_or_default()
    }

    /// Articles in the index.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the index holds no article.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The story of an indexed article.
    pub fn story_of(&self, article_id: i64) -> Option<i64> {
        let slot = *self.ids.get(&article_id)?;
        self.article(slot).map(|a| a.story_id)
    }

    /// The story `probe` belongs to, if any of the window's articles is the
    /// same article (URL, guid) or a near-duplicate of it.
    pub fn find(&self, probe: &Probe<'_>) -> Option<Joined> {
        if let Some(url) = probe.canonical_url
            && let Some(entry) = self.first_with(&self.urls, url, |a| a.canonical_url.as_deref())
        {
            return Some(Joined {
                story_id: entry.story_id,
                evidence: Evidence::SameUrl {
                    article_id: entry.article_id,
                    url: url.to_owned(),
                },
            });
        }
        if let Some(guid) = probe.guid
            && let Some(entry) = self.first_with(&self.guids, guid, |a| a.guid.as_deref())
        {
            return Some(Joined {
                story_id: entry.story_id,
                evidence: Evidence::SameGuid {
                    article_id: entry.article_id,
                    guid: guid.to_owned(),
                },
            });
        }
        self.most_similar(probe.signature)
    }

    fn article(&self, slot: u32) -> Option<&Indexed> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The article `table` holds for `key`, which `field` reads.
    fn first_with(
        &self,
        table: &HashTable<u32>,
        key: &str,
        field: impl Fn(&Indexed) -> Option<&str>,
    ) -> Option<&Indexed> {
        let hash = self.text_hasher.hash_one(key);
        let &slot = table.find(hash, |&s| self.article(s).and_then(&field) == Some(key))?;
        self.article(slot)
    }

    fn most_similar(&self, signature: &Signature) -> Option<Joined> {
        if signature.shingles < MIN_SHINGLES {
            return None;
        }
        let mut seen: HashSet<u32> = HashSet::new();
        let mut best: Option<(f32, f32, &Indexed)> = None;
        for (band, table) in self.bands.iter().enumerate() {
            let rows = band_rows(signature, band);
            let Some(bucket) = table.find(band_key(signature, band), |b| {
                self.bucket_rows(b, band) == Some(rows)
            }) else {
                continue;
            };
            for &slot in self.members(bucket).iter().rev().take(BUCKET_SCAN) {
                if !seen.insert(slot) {
                    continue;
                }
                let Some(entry) = self.article(slot) else {
                    continue;
                };
                let score = similarity(signature, &entry.signature);
                let title = signature.title_similarity(&entry.signature);
                let t = self.thresholds;
                if score >= t.same || (score >= t.likely && title >= t.title) {
                    let better = best.is_none_or(|(s, ti, _)| (score, title) > (s, ti));
                    if better {
                        best = Some((score, title, entry));
                    }
                }
            }
        }
        best.map(|(score, title, entry)| Joined {
            story_id: entry.story_id,
            evidence: Evidence::Similar {
                article_id: entry.article_id,
                score,
                title,
            },
        })
    }

    /// The slots of a bucket's articles, most recent last.
    fn members<'a>(&'a self, bucket: &'a Bucket) -> &'a [u32] {
        members(&self.lists, bucket)
    }

    /// The rows of `band` that the articles of `bucket` share.
    fn bucket_rows(&self, bucket: &Bucket, band: usize) -> Option<&[u32]> {
        let &first = self.members(bucket).first()?;
        Some(band_rows(&self.article(first)?.signature, band))
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
        mut signature: Signature,
    ) {
        self.remove(article_id);
        signature.title_words.shrink_to_fit();
        let indexed = Some(Indexed {
            article_id,
            story_id,
            signature,
            canonical_url: canonical_url.map(Box::from),
            guid: guid.map(Box::from),
        });
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.slots[slot as usize] = indexed;
                slot
            }
            None => {
                // 2^31 articles would need terabytes: the index never gets there.
                let slot = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s < MANY)
                    .expect("fewer than 2^31 articles in the index");
                self.slots.push(indexed);
                slot
            }
        };
        self.ids.insert(article_id, slot);
        let Self {
            slots,
            bands,
            lists,
            free_lists,
            ..
        } = self;
        let signature = &slots[slot as usize]
            .as_ref()
            .expect("the slot was just filled")
            .signature;
        if signature.shingles >= MIN_SHINGLES {
            for (band, table) in bands.iter_mut().enumerate() {
                let rows = band_rows(signature, band);
                let rows_of = |b: &Bucket| {
                    let first = members(lists, b).first()?;
                    Some(band_rows(&slots[*first as usize].as_ref()?.signature, band))
                };
                match table.find_mut(band_key(signature, band), |b| rows_of(b) == Some(rows)) {
                    Some(bucket) if bucket.0 & MANY != 0 => {
                        let ids = &mut lists[(bucket.0 & !MANY) as usize];
                        if ids.len() >= BUCKET_KEEP {
                            ids.remove(0);
                        }
                        ids.push(slot);
                    }
                    Some(bucket) => {
                        let pair = vec![bucket.0, slot];
                        let list = match free_lists.pop() {
                            Some(list) => {
                                lists[list as usize] = pair;
                                list
                            }
                            None => {
                                lists.push(pair);
                                // Fewer lists than slots, which are fewer than 2^31.
                                u32::try_from(lists.len() - 1).expect("fewer lists than slots")
                            }
                        };
                        *bucket = Bucket(list | MANY);
                    }
                    None => {
                        table.insert_unique(band_key(signature, band), Bucket(slot), |b| {
                            let first = members(lists, b).first().copied().unwrap_or(slot);
                            slots[first as usize]
                                .as_ref()
                                .map_or(0, |a| band_key(&a.signature, band))
                        });
                    }
                }
            }
        }
        // The first article with a URL or guid keeps it: it is the one
        // later copies are explained by.
        let (slots, hasher) = (&self.slots, &self.text_hasher);
        if let Some(url) = canonical_url {
            index_text(&mut self.urls, hasher, slots, url, slot, |a| {
                a.canonical_url.as_deref()
            });
        }
        if let Some(guid) = guid {
            index_text(&mut self.guids, hasher, slots, guid, slot, |a| {
                a.guid.as_deref()
            });
        }
        self.order.push_back((at, article_id));
    }

    /// Removes an article (e.g. its transaction was rolled back).
    pub fn remove(&mut self, article_id: i64) {
        let Some(slot) = self.ids.remove(&article_id) else {
            return;
        };
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        // The article's keys are read from `entry`; its slot is empty now,
        // so other entries' keys are read from their own articles.
        for (band, table) in self.bands.iter_mut().enumerate() {
            let rows = band_rows(&entry.signature, band);
            let (slots, lists) = (&self.slots, &mut self.lists);
            let rows_of = |b: &Bucket| {
                let first = *members(lists, b).iter().find(|&&s| s != slot)?;
                Some(band_rows(&slots[first as usize].as_ref()?.signature, band))
            };
            let Ok(found) = table.find_entry(band_key(&entry.signature, band), |b| {
                // The article's own single-member bucket.
                *b == Bucket(slot) || rows_of(b) == Some(rows)
            }) else {
                continue;
            };
            let bucket = *found.get();
            if bucket == Bucket(slot) {
                found.remove();
            } else if bucket.0 & MANY != 0 {
                let list = bucket.0 & !MANY;
                let ids = &mut lists[list as usize];
                if let Some(at) = ids.iter().position(|&s| s == slot) {
                    ids.remove(at);
                }
                match ids.as_slice() {
                    [] => {
                        found.remove();
                    }
                    &[only] => {
                        *found.into_mut() = Bucket(only);
                    }
                    _ => continue,
                }
                lists[list as usize] = Vec::new();
                self.free_lists.push(list);
            }
        }
        let hasher = &self.text_hasher;
        if let Some(url) = entry.canonical_url.as_deref()
            && let Ok(found) = self.urls.find_entry(hasher.hash_one(url), |&s| s == slot)
        {
            found.remove();
        }
        if let Some(guid) = entry.guid.as_deref()
            && let Ok(found) = self.guids.find_entry(hasher.hash_one(guid), |&s| s == slot)
        {
            found.remove();
        }
        self.free_slots.push(slot);
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
            if self.ids.contains_key(&article_id) {
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

/// A bucket of one band's table: the slot of its one article (most
/// buckets hold a single article, which needs no list), or, with [`MANY`]
/// set, the number of the list of its articles in `StoryIndex::lists`
/// (most recent last, at most [`BUCKET_KEEP`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Bucket(u32);

/// The bit of a [`Bucket`] that says it is a list.
const MANY: u32 = 1 << 31;

/// The slots of a bucket's articles, most recent last.
fn members<'a>(lists: &'a [Vec<u32>], bucket: &'a Bucket) -> &'a [u32] {
    if bucket.0 & MANY == 0 {
        std::slice::from_ref(&bucket.0)
    } else {
        lists
            .get((bucket.0 & !MANY) as usize)
            .map_or(&[], Vec::as_slice)
    }
}

/// Puts `slot` in a URL or guid table under `key` (which `field` reads
/// from an article), unless an article already has it there.
fn index_text(
    table: &mut HashTable<u32>,
    hasher: &RandomState,
    slots: &[Option<Indexed>],
    key: &str,
    slot: u32,
    field: impl Fn(&Indexed) -> Option<&str>,
) {
    let text_of = |s: u32| slots.get(s as usize)?.as_ref().and_then(&field);
    let hash = hasher.hash_one(key);
    if table.find(hash, |&s| text_of(s) == Some(key)).is_none() {
        table.insert_unique(hash, slot, |&s| {
            text_of(s).map_or(0, |text| hasher.hash_one(text))
        });
    }
}

/// The rows of one band of a signature.
fn band_rows(signature: &Signature, band: usize) -> &[u32] {
    &signature.mins[band * ROWS..(band + 1) * ROWS]
}

/// The bucket key of one band of a signature.
fn band_key(signature: &Signature, band: usize) -> u64 {
    let mut h = (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for r in band_rows(signature, band) {
        h = (h ^ u64::from(*r)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
    }
    h
}

/// Outlets named before "+N" where a story is described (`/test`, `check`).
pub const OUTLETS_SHOWN: usize = 5;

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
