//! Time to assign one article to a story with 10,000 and 100,000 articles
//! in the window.
//!
//! The window is filled with synthetic articles: each one draws ~120 words
//! from a 20,000-word vocabulary with Zipf-like skew (so that common words
//! and pairs put many articles in some LSH buckets, as boilerplate and
//! frequent names do), and one in five is a trimmed copy of an earlier one
//! (a syndicated story). The timed step is what the pipeline does per new
//! article: compute its signature, find its story, insert it. The cost
//! should not depend on the window's size.
//!
//! Before criterion runs, the heap the index holds is printed per indexed
//! article (live bytes counted by a global allocator, the texts excluded).
//! Run: `cargo bench --bench stories -- --quick`.

use std::{hint::black_box, time::Duration};

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wirewatch::stories::{Probe, Signature, StoryIndex};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::live_bytes;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Zipf-ish: small indexes much more often than large ones.
    fn word(&mut self, vocabulary: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((vocabulary as f64).powf(u) as usize).saturating_sub(1)
    }
}

fn article(rng: &mut Rng, words: usize) -> String {
    (0..words)
        .map(|_| format!("w{}", rng.word(20_000)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn filled(size: usize, rng: &mut Rng) -> (StoryIndex, Vec<String>) {
    // The texts first, so that the heap the index holds can be told apart.
    let mut texts: Vec<String> = Vec::with_capacity(size);
    for i in 0..size {
        let text = if i % 5 == 4 && !texts.is_empty() {
            let of = &texts[(rng.next() as usize) % texts.len()];
            of.split(' ').take(90).collect::<Vec<_>>().join(" ")
        } else {
            article(rng, 120)
        };
        texts.push(text);
    }
    let before = live_bytes();
    let mut index = StoryIndex::new(Duration::from_secs(48 * 3600));
    let t = Utc
        .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
        .single()
        .expect("time");
    let mut joined = 0usize;
    for (i, text) in texts.iter().enumerate() {
        let id = i64::try_from(i).expect("fits");
        let sig = Signature::of("", text);
        // Links and guids of the length real feeds give.
        let url = format!(
            "https://www.outlet-{}.example/world/2026/11/27/story-{i}",
            i % 50
        );
        let guid = format!("urn:uuid:6f1c2a4e-0000-4000-8000-{i:012}");
        let story = index
            .find(&Probe {
                canonical_url: Some(&url),
                guid: Some(&guid),
                signature: &sig,
            })
            .map_or(id, |j| j.story_id);
        joined += usize::from(story != id);
        index.insert(id, story, t, Some(&url), Some(&guid), sig);
    }
    let heap = live_bytes().saturating_sub(before);
    println!(
        "stories/index {size}: {:.1} MB heap, {} bytes per article ({joined} joined a story)",
        heap as f64 / 1e6,
        heap / size
    );
    (index, texts)
}

fn assignment(c: &mut Criterion) {
    let mut group = c.benchmark_group("stories/assign");
    group.throughput(Throughput::Elements(1));
    for size in [10_000usize, 100_000] {
        let mut rng = Rng(0x5eed_0000 + size as u64);
        let (mut index, texts) = filled(size, &mut rng);
        // New articles: half fresh, half copies of articles in the window.
        let probes: Vec<String> = (0..256)
            .map(|i| {
                if i % 2 == 0 {
                    article(&mut rng, 120)
                } else {
                    let of = &texts[(rng.next() as usize) % texts.len()];
                    format!("{of} sign up for our newsletter")
                }
            })
            .collect();
        let t = Utc
            .with_ymd_and_hms(2026, 11, 27, 1, 0, 0)
            .single()
            .expect("time");
        let mut next_id = i64::try_from(size).expect("fits");
        let mut n = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                let text = &probes[n % probes.len()];
                n += 1;
                let sig = Signature::of("", text);
                let joined = index.find(&Probe {
                    canonical_url: None,
                    guid: None,
                    signature: &sig,
                });
                let story = joined.as_ref().map_or(next_id, |j| j.story_id);
                // Insert and take out again, so the window keeps its size.
                index.insert(next_id, story, t, None, None, sig);
                index.remove(next_id);
                next_id += 1;
                black_box(joined)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = assignment
}
criterion_main!(benches);
