//! MinHash signatures over word shingles of normalised text.
//!
//! Text goes through [`crate::matching::normalize`] (case, accents, NFKC,
//! typographic punctuation), is cut into words (letters and digits), and
//! every run of [`SHINGLE_WORDS`] consecutive words is one shingle. Two
//! texts' signatures agree at a position with probability equal to the
//! Jaccard similarity of their shingle sets, so comparing two signatures
//! costs [`HASHES`] integer comparisons whatever the texts' lengths.

use crate::matching::normalize;

/// Words per shingle, counted after stop words are dropped. Pairs of
/// content words ("security council", "grain ships") survive a rewrite's
/// rephrasing of the little words between them, while two different
/// stories on one topic share names but few pairs: on the labelled fixture
/// this separates the two better than runs of three words with stop words.
pub const SHINGLE_WORDS: usize = 2;
/// Hash functions per signature (the standard error of a similarity
/// estimate is about `sqrt(J(1-J)/HASHES)`, 0.025 at 0.2).
pub const HASHES: usize = 256;

/// Seeds of the [`HASHES`] hash functions, fixed so that signatures stored
/// in the database stay comparable across restarts and builds.
const SEEDS: [u64; HASHES] = seeds();

const fn seeds() -> [u64; HASHES] {
    let mut out = [0u64; HASHES];
    let mut state: u64 = 0x7769_7265_7761_7463; // "wirewatc"
    let mut i = 0;
    while i < HASHES {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out[i] = mix(state);
        i += 1;
    }
    out
}

/// The splitmix64 finaliser: a cheap, well-spread 64-bit mixer.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes: stable across platforms and Rust versions (unlike
/// `std`'s hasher), which stored signatures need.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// An article's fingerprint: the MinHash of its title and body, the size
/// of its shingle set, and the words of its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The minimum of each hash function over the shingles.
    pub mins: Box<[u32; HASHES]>,
    /// Number of distinct shingles (for containment estimates).
    pub shingles: u32,
    /// Hashes of the title's distinct words, sorted.
    pub title_words: Vec<u64>,
}

/// The normalised words of `text`.
pub fn words(text: &str) -> Vec<String> {
    let norm = normalize(text);
    norm.as_str()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Signature {
    /// The signature of an article's title and body.
    pub fn of(title: &str, body: &str) -> Signature {
        let title_words = words(title);
        let body_words = words(body);
        let all: Vec<&String> = title_words
            .iter()
            .chain(body_words.iter())
            .filter(|w| !is_stop_word(w))
            .collect();
        let mut shingles: Vec<u64> = if all.len() < SHINGLE_WORDS {
            all.iter().map(|w| fnv1a(w.as_bytes(), 0)).collect()
        } else {
            all.windows(SHINGLE_WORDS)
                .map(|run| {
                    run.iter()
                        .fold(0u64, |h, w| mix(h ^ fnv1a(w.as_bytes(), h)))
                })
                .collect()
        };
        shingles.sort_unstable();
        shingles.dedup();
        let mut mins = Box::new([u32::MAX; HASHES]);
        for s in &shingles {
            for (min, seed) in mins.iter_mut().zip(SEEDS.iter()) {
                // The high half of the mix: one hash function per seed.
                let h = (mix(s ^ seed) >> 32) as u32;
                if h < *min {
                    *min = h;
                }
            }
        }
        let mut title_words: Vec<u64> = title_words
            .iter()
            .filter(|w| !is_stop_word(w))
            .map(|w| fnv1a(w.as_bytes(), 0))
            .collect();
        title_words.sort_unstable();
        title_words.dedup();
        Signature {
            mins,
            shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
            title_words,
        }
    }

    /// True when the text had no words at all (nothing to compare).
    pub fn is_empty(&self) -> bool {
        self.shingles == 0
    }

    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn jaccard(&self, other: &Signature) -> f32 {
        if self.is_empty() || other.is_empty() {
            return 0.0;
        }
        let same = self
            .mins
            .iter()
            .zip(other.mins.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f32 / HASHES as f32
    }

    /// Jaccard similarity of the two titles' word sets (stop words left out).
    pub fn title_similarity(&self, other: &Signature) -> f32 {
        let (a, b) = (&self.title_words, &other.title_words);
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        let (mut i, mut j, mut common) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        common as f32 / (a.len() + b.len() - common) as f32
    }

    /// The signature as bytes, for storage (little-endian minima, then the
    /// shingle count).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HASHES * 4 + 4);
        for m in self.mins.iter() {
            out.extend_from_slice(&m.to_le_bytes());
        }
        out.extend_from_slice(&self.shingles.to_le_bytes());
        out
    }

    /// Reads what [`Signature::to_bytes`] wrote; the title words are
    /// recomputed from the stored title. `None` for a blob of the wrong size.
    pub fn from_bytes(bytes: &[u8], title: &str) -> Option<Signature> {
        if bytes.len() != HASHES * 4 + 4 {
            return None;
        }
        let mut mins = Box::new([0u32; HASHES]);
        for (min, chunk) in mins.iter_mut().zip(bytes.chunks_exact(4)) {
            *min = u32::from_le_bytes(chunk.try_into().ok()?);
        }
        let shingles = u32::from_le_bytes(bytes[HASHES * 4..].try_into().ok()?);
        let mut title_words: Vec<u64> = words(title)
            .iter()
            .filter(|w| !is_stop_word(w))
            .map(|w| fnv1a(w.as_bytes(), 0))
            .collect();
        title_words.sort_unstable();
        title_words.dedup();
        Some(Signature {
            mins,
            shingles,
            title_words,
        })
    }
}

/// Words too common in English news text to say two texts are alike.
fn is_stop_word(w: &str) -> bool {
    matches!(
        w,
        "a" | "about"
            | "after"
            | "also"
            | "an"
            | "and"
            | "are"
            | "as"
            | "at"
            | "be"
            | "been"
            | "but"
            | "by"
            | "for"
            | "from"
            | "had"
            | "has"
            | "have"
            | "he"
            | "her"
            | "his"
            | "in"
            | "into"
            | "is"
            | "it"
            | "its"
            | "more"
            | "new"
            | "not"
            | "of"
            | "on"
            | "or"
            | "out"
            | "over"
            | "s"
            | "said"
            | "says"
            | "she"
            | "than"
            | "that"
            | "the"
            | "their"
            | "they"
            | "this"
            | "to"
            | "up"
            | "was"
            | "were"
            | "which"
            | "who"
            | "will"
            | "with"
            | "would"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_have_identical_signatures_and_different_ones_do_not() {
        let a = Signature::of("Title", "the quick brown fox jumps over the lazy dog");
        let b = Signature::of("TITLE", "The Quick Brown Fox jumps over the lazy dog.");
        assert_eq!(a, b);
        assert!((a.jaccard(&b) - 1.0).abs() < f32::EPSILON);
        let c = Signature::of(
            "Other",
            "an entirely unrelated sentence about markets and rates",
        );
        assert!(a.jaccard(&c) < 0.1);
    }

    #[test]
    fn the_estimate_follows_the_true_jaccard_similarity() {
        // 100 words; the second text shares the first 60 and ends differently.
        let base: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let mut other = base[..60].to_vec();
        other.extend((0..40).map(|i| format!("x{i}")));
        let a = Signature::of("", &base.join(" "));
        let b = Signature::of("", &other.join(" "));
        // Shingles: 98 each, 58 shared: J = 58 / 138 = 0.42.
        let j = a.jaccard(&b);
        assert!((0.30..=0.55).contains(&j), "{j}");
    }

    #[test]
    fn signatures_survive_storage() {
        let a = Signature::of("Russia vetoes grain deal", "one two three four five six");
        let back = Signature::from_bytes(&a.to_bytes(), "Russia vetoes grain deal");
        assert_eq!(back.as_ref(), Some(&a));
        assert_eq!(Signature::from_bytes(&[1, 2, 3], "x"), None);
    }

    #[test]
    fn empty_text_is_similar_to_nothing() {
        let e = Signature::of("", "  ");
        assert!(e.is_empty());
        assert_eq!(e.jaccard(&e), 0.0);
    }

    #[test]
    fn title_similarity_ignores_case_accents_and_stop_words() {
        let a = Signature::of("The Président of France", "x");
        let b = Signature::of("president FRANCE", "y");
        assert!((a.title_similarity(&b) - 1.0).abs() < f32::EPSILON);
    }
}
