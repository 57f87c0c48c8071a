//! The matching engine against 100, 10,000 and 100,000 rules, over a corpus
//! of real news text, with a one-regex-per-rule baseline in the same run.
//!
//! Corpus: at least 1,000 article texts of 3–8 KB, built from the real feeds
//! in `../shared/data/feeds/real` (English, German, French, Italian,
//! Portuguese, Spanish, Russian, Slovak, Urdu, Chinese, Japanese…): each
//! article is a headline and a run of consecutive items of one feed, joined
//! until the article reaches its drawn size. Nothing is copied into the
//! repository; the feeds are read at bench time.
//!
//! Rules: drawn with Zipf-skewed popularity (rank r with probability ∝ 1/r)
//! from pools of countries, persons (names harvested from the corpus, world
//! leaders with their native-script names, and made-up names for the long
//! tail) and keywords (frequent corpus words and word pairs, acronyms, made-up
//! words): about 35% persons and 25% countries (60% entities), 25% keywords
//! and phrases, 15% boolean queries of which a third use NEAR (some with
//! wildcards, `title:` or references). Popular rules repeat, as they do when
//! many chats watch the same thing.
//!
//! First a report table is printed (what the issue asks for: p50/p99 per
//! article, normalisation and matching apart, build time, one-rule add time,
//! heap size, regex baseline); then criterion measures the same operations.
//! Run: `cargo bench --bench matching` (add `-- --quick` to shorten the
//! criterion part). CI only compiles this. With `MATCHING_PROFILE=100000`
//! it only analyses and matches the corpus against that many rules for ten
//! seconds and prints the mean per article: something for `perf record` to
//! look at
//! (add `MATCHING_ROUNDS=1` for a fixed number of passes instead, for
//! `valgrind --tool=callgrind`, whose instruction counts don't move with
//! the noise of a shared machine).

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use regex::Regex;
use wirewatch::feeds::parse::parse_feed;
use wirewatch::matching::{Analyzed, Article, Matcher, MatcherBuilder, RuleSpec, normalize};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::live_bytes;

const FEEDS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/feeds/real");
const LEADERS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/gazetteer/world_leaders_g20_asean_snapshot_2026-08-22.json"
);

const ARTICLES: usize = 1000;
const MIN_BYTES: usize = 3 * 1024;
const MAX_BYTES: usize = 8 * 1024;
const SIZES: [usize; 3] = [100, 10_000, 100_000];
/// Articles the regex baseline runs over (it is slow by design).
const BASELINE_ARTICLES: usize = 100;

/// A small deterministic generator (xorshift64*), so every run is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An article of the corpus.
struct Doc {
    title: String,
    body: String,
    source: String,
}

impl Doc {
    fn article(&self) -> Article<'_> {
        Article {
            title: &self.title,
            body: &self.body,
            source: &self.source,
        }
    }

    fn bytes(&self) -> usize {
        self.title.len() + self.body.len()
    }
}

/// Item texts of every real feed that has some: (feed name, titles, texts).
fn feed_texts() -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut paths: Vec<_> = std::fs::read_dir(FEEDS_DIR)
        .unwrap_or_else(|e| panic!("{FEEDS_DIR}: {e} (the benchmark needs ../shared/data)"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    paths.sort();
    let mut feeds = Vec::new();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(feed) = parse_feed(&bytes, None, None) else {
            continue;
        };
        let mut titles = Vec::new();
        let mut texts = Vec::new();
        for item in &feed.items {
            let text = format!("{} {}", item.summary, item.content);
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !item.title.trim().is_empty() {
                titles.push(item.title.trim().to_string());
            }
            if text.len() >= 40 {
                texts.push(format!("{}. {text}", item.title.trim()));
            }
        }
        let total: usize = texts.iter().map(String::len).sum();
        if total >= 1500 && !titles.is_empty() {
            let name = feed
                .title
                .clone()
                .unwrap_or_else(|| file_stem(&path).to_string());
            feeds.push((name, titles, texts));
        }
    }
    feeds
}

fn file_stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("feed")
}

/// [`ARTICLES`] articles of 3–8 KB from the real feeds.
fn corpus() -> (Vec<Doc>, usize) {
    let feeds = feed_texts();
    let mut rng = Rng(0x5eed_c0de);
    let mut docs = Vec::with_capacity(ARTICLES);
    for k in 0..ARTICLES {
        let (source, titles, texts) = &feeds[k % feeds.len()];
        let target = MIN_BYTES + rng.below(MAX_BYTES - MIN_BYTES);
        let title = titles[rng.below(titles.len())].clone();
        let mut body = String::with_capacity(target + 512);
        let mut i = rng.below(texts.len());
        while body.len() + title.len() < target {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            body.push_str(&texts[i % texts.len()]);
            i += 1;
        }
        // Cut at a word boundary so that the whole article is at most 8 KB.
        let limit = MAX_BYTES.saturating_sub(title.len());
        if body.len() > limit {
            let mut cut = limit;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            let cut = body[..cut].rfind(char::is_whitespace).unwrap_or(cut);
            body.truncate(cut);
        }
        docs.push(Doc {
            title,
            body,
            source: source.clone(),
        });
    }
    (docs, feeds.len())
}

/// Countries, roughly by how often news names them.
const COUNTRIES: &[&str] = &[
    "Russia",
    "Ukraine",
    "United States",
    "China",
    "Israel",
    "Iran",
    "Germany",
    "France",
    "United Kingdom",
    "India",
    "Japan",
    "Turkey",
    "Brazil",
    "Mexico",
    "Canada",
    "Italy",
    "Spain",
    "Poland",
    "Syria",
    "Saudi Arabia",
    "North Korea",
    "South Korea",
    "Taiwan",
    "Pakistan",
    "Afghanistan",
    "Egypt",
    "Iraq",
    "Lebanon",
    "Venezuela",
    "Argentina",
    "Australia",
    "South Africa",
    "Nigeria",
    "Ethiopia",
    "Sudan",
    "Yemen",
    "Qatar",
    "Belarus",
    "Georgia",
    "Armenia",
    "Azerbaijan",
    "Hungary",
    "Netherlands",
    "Belgium",
    "Sweden",
    "Finland",
    "Norway",
    "Denmark",
    "Greece",
    "Serbia",
    "Kosovo",
    "Romania",
    "Moldova",
    "Czech Republic",
    "Austria",
    "Switzerland",
    "Portugal",
    "Ireland",
    "Indonesia",
    "Philippines",
    "Vietnam",
    "Thailand",
    "Myanmar",
    "Bangladesh",
    "Sri Lanka",
    "Nepal",
    "Kazakhstan",
    "Uzbekistan",
    "Colombia",
    "Chile",
    "Peru",
    "Cuba",
    "Haiti",
    "Libya",
    "Tunisia",
    "Algeria",
    "Morocco",
    "Kenya",
    "Somalia",
    "Mali",
    "Niger",
    "Chad",
    "Jordan",
    "Kuwait",
    "Bahrain",
    "Oman",
    "United Arab Emirates",
    "New Zealand",
    "Singapore",
    "Malaysia",
    "Mongolia",
    "Cambodia",
    "Laos",
    "Iceland",
    "Estonia",
    "Latvia",
    "Lithuania",
    "Slovakia",
    "Slovenia",
    "Croatia",
    "Albania",
    "North Macedonia",
    "Bulgaria",
    "Cyprus",
    "Malta",
    "Luxembourg",
    "Ecuador",
    "Bolivia",
    "Paraguay",
    "Uruguay",
    "Panama",
    "Honduras",
    "Guatemala",
    "Nicaragua",
    "Jamaica",
    "Ghana",
    "Senegal",
    "Zimbabwe",
    "Zambia",
    "Uganda",
    "Tanzania",
    "Rwanda",
    "Mozambique",
    "Angola",
];

const ACRONYMS: &[&str] = &[
    "UN", "EU", "NATO", "IMF", "WHO", "WTO", "IAEA", "ECB", "OPEC", "OSCE", "OECD", "UNHCR",
    "UNICEF", "G7", "G20", "BRICS", "FBI", "CIA", "UNSC",
];

/// Topics a newsroom watches.
const TOPICS: &[&str] = &[
    "sanctions",
    "UN Security Council",
    "climate change",
    "ceasefire",
    "inflation",
    "election",
    "grain deal",
    "interest rates",
    "nuclear",
    "refugees",
    "cyberattack",
    "earthquake",
    "drought",
    "protests",
    "coup",
    "tariffs",
    "oil prices",
    "artificial intelligence",
    "vaccine",
    "wildfire",
];

const STOPWORDS: &[&str] = &[
    "about", "after", "again", "against", "also", "because", "been", "before", "being", "could",
    "does", "during", "each", "from", "have", "having", "into", "more", "most", "other", "over",
    "said", "same", "should", "some", "such", "than", "that", "their", "them", "then", "there",
    "these", "they", "this", "those", "through", "under", "until", "very", "were", "what", "when",
    "where", "which", "while", "will", "with", "would", "your", "with", "und", "der", "die", "das",
    "des", "dem", "den", "eine", "einer", "nicht", "auch", "pour", "dans", "avec", "sont", "plus",
    "della", "nella", "para", "como",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ras", "tov", "vel", "zan", "bor", "dri", "fen", "gul", "hak", "jor",
    "kes", "lin", "mar", "nov", "pol", "quin", "rek", "sol", "tam", "ur", "vin", "wes", "yar",
    "zor", "bel", "cor",
];

/// A made-up word of two to four syllables: plausible, almost never in text.
fn made_up(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Fisher–Yates, with the bench's generator.
fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Items ranked by count, most frequent first (ties by text, for stability).
fn ranked(counts: HashMap<String, usize>, min: usize) -> Vec<String> {
    let mut v: Vec<(String, usize)> = counts.into_iter().filter(|(_, n)| *n >= min).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(s, _)| s).collect()
}

/// Pools of rule texts by popularity rank.
struct Pools {
    persons: Vec<String>,
    keywords: Vec<String>,
    /// Lower-case corpus words, for wildcards and queries.
    words: Vec<String>,
}

const POOL_SIZE: usize = 40_000;

fn pools(docs: &[Doc]) -> Pools {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut words: HashMap<String, usize> = HashMap::new();
    let mut pairs: HashMap<String, usize> = HashMap::new();
    for doc in docs.iter().step_by(3) {
        let tokens: Vec<&str> = doc
            .body
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .collect();
        for w in tokens.windows(2) {
            let is_name = |s: &str| {
                s.len() > 2
                    && s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && s.chars().skip(1).all(|c| c.is_ascii_lowercase())
            };
            if is_name(w[0]) && is_name(w[1]) {
                *names.entry(format!("{} {}", w[0], w[1])).or_default() += 1;
            }
            let lower = |s: &str| s.chars().all(|c| c.is_alphabetic() && c.is_lowercase());
            if w[0].len() >= 4 && w[1].len() >= 4 && lower(w[0]) && lower(w[1]) {
                *pairs.entry(format!("{} {}", w[0], w[1])).or_default() += 1;
            }
            if w[0].chars().count() >= 5 && lower(w[0]) && !STOPWORDS.contains(&w[0]) {
                *words.entry(w[0].to_string()).or_default() += 1;
            }
        }
    }
    let mut rng = Rng(0x5eed_0003);
    // Popular first: world leaders, the newsroom's topics. Then names and
    // words of the corpus in an order unrelated to how often they occur (how
    // many chats watch a word has nothing to do with how common it is: the
    // commonest words are watched by nobody), mixed with made-up ones for a
    // long tail that rarely occurs.
    let mut persons: Vec<String> = leaders();
    let mut tail = ranked(names, 2);
    tail.extend((0..POOL_SIZE).map(|_| {
        let (first, last) = (
            capitalised(&made_up(&mut rng)),
            capitalised(&made_up(&mut rng)),
        );
        if rng.below(5) == 0 {
            format!(
                "{first} {last} | {first} {}",
                capitalised(&made_up(&mut rng))
            )
        } else {
            format!("{first} {last}")
        }
    }));
    shuffle(&mut tail, &mut rng);
    persons.extend(tail);
    persons.truncate(POOL_SIZE);

    let words = ranked(words, 2);
    let mut keywords: Vec<String> = ACRONYMS
        .iter()
        .chain(TOPICS)
        .map(|s| s.to_string())
        .collect();
    let mut tail: Vec<String> = words.iter().cloned().chain(ranked(pairs, 2)).collect();
    tail.extend((0..POOL_SIZE).map(|_| {
        if rng.below(2) == 0 {
            made_up(&mut rng)
        } else {
            format!("{} {}", made_up(&mut rng), made_up(&mut rng))
        }
    }));
    shuffle(&mut tail, &mut rng);
    keywords.extend(tail);
    keywords.truncate(POOL_SIZE);
    Pools {
        persons,
        keywords,
        words,
    }
}

/// The world leaders of the shared snapshot, with their native-script names.
fn leaders() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(LEADERS) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let countries = json["countries"].as_object().cloned().unwrap_or_default();
    for (_, c) in countries {
        for role in ["head_of_state", "head_of_government"] {
            let holder = &c["positions"][role]["current_holder"];
            let Some(name) = holder["name_en"].as_str() else {
                continue;
            };
            let spec = match holder["name_local"].as_str() {
                Some(local) if local != name && !local.contains('|') => format!("{name} | {local}"),
                _ => name.to_string(),
            };
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
    }
    out
}

/// Zipf sampler over ranks `0..n` (probability ∝ 1 / (rank + 1)).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|c| *c < x)
            .min(self.cumulative.len() - 1)
    }
}

/// `n` rule specs with the mix described in the module documentation.
fn rules(pools: &Pools, n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let persons = Zipf::new(pools.persons.len());
    let keywords = Zipf::new(pools.keywords.len());
    let countries = Zipf::new(COUNTRIES.len());
    let words = Zipf::new(pools.words.len().max(1));
    let person = |rng: &mut Rng| pools.persons[persons.draw(rng)].clone();
    let keyword = |rng: &mut Rng| pools.keywords[keywords.draw(rng)].clone();
    let country = |rng: &mut Rng| COUNTRIES[countries.draw(rng)];
    let word = |rng: &mut Rng| pools.words[words.draw(rng)].clone();
    let quoted = |s: String| format!("\"{s}\"");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let spec = match rng.below(100) {
            0..35 => format!("person:{}", person(&mut rng)),
            35..60 => match rng.below(20) {
                0 => format!("country:{} +capital", country(&mut rng)),
                1 => "country:Georgia NOT Atlanta".to_string(),
                _ => format!("country:{}", country(&mut rng)),
            },
            60..85 => format!("keyword:{}", keyword(&mut rng)),
            _ => match rng.below(10) {
                0..=2 => format!(
                    "query:{} NEAR/{} {}",
                    quoted(keyword(&mut rng)),
                    1 + rng.below(8),
                    quoted(keyword(&mut rng))
                ),
                3 => format!(
                    "query:person:{} NEAR/10 country:{}",
                    quoted(
                        person(&mut rng)
                            .split('|')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_string()
                    ),
                    quoted(country(&mut rng).to_string())
                ),
                4 => {
                    let w = word(&mut rng);
                    let stem: String = w.chars().take(4 + rng.below(3)).collect();
                    format!("query:{stem}* AND {}", quoted(keyword(&mut rng)))
                }
                5 => format!(
                    "query:title:{} AND {}",
                    quoted(keyword(&mut rng)),
                    quoted(keyword(&mut rng))
                ),
                6 => format!(
                    "query:country:{} AND {} NOT {}",
                    quoted(country(&mut rng).to_string()),
                    quoted(keyword(&mut rng)),
                    quoted(keyword(&mut rng))
                ),
                _ => format!(
                    "query:{} AND ({} OR {}) NOT {}",
                    quoted(keyword(&mut rng)),
                    quoted(keyword(&mut rng)),
                    quoted(keyword(&mut rng)),
                    quoted(keyword(&mut rng))
                ),
            },
        };
        out.push(spec);
    }
    out
}

/// Parses generated specs; a generated spec that a rule would refuse (a
/// harvested "name" that is not one, a wildcard stem too short) is skipped
/// and replaced by the next.
fn parse_all(specs: &[String], n: usize) -> Vec<RuleSpec> {
    specs
        .iter()
        .filter_map(|s| RuleSpec::parse(s).ok())
        .take(n)
        .collect()
}

fn compile(specs: &[RuleSpec]) -> Matcher {
    let mut builder = MatcherBuilder::new();
    for (id, spec) in specs.iter().enumerate() {
        builder.add(id as i64, spec);
    }
    builder.build()
}

/// One regex per rule, as filter bots do: every name, alias, phrase or
/// query term of the rule as a case-insensitive whole-word alternation.
/// (For queries this only tests that one of the terms occurs, which is less
/// work than the query itself.)
fn regex_of(spec: &str) -> Option<Regex> {
    let (kind, text) = spec.split_once(':')?;
    let mut terms: Vec<String> = match kind {
        "person" | "keyword" => text.split('|').map(|s| s.trim().to_string()).collect(),
        "country" => {
            let name = text
                .split(" NOT ")
                .next()
                .unwrap_or(text)
                .replace("+capital", "");
            let name = name.trim().to_string();
            vec![name.clone(), format!("{name}n"), format!("{name}ns")]
        }
        _ => text
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    };
    terms.retain(|t| !t.is_empty());
    if terms.is_empty() {
        return None;
    }
    let alternation = terms
        .iter()
        .map(|t| regex::escape(t))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(r"(?i)\b(?:{alternation})\b")).ok()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * p) / 100]
}

fn micros(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 100.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.1} µs")
    }
}

/// p50 and p99 of per-article times scaled to a 5 KB article.
fn per_5kb(times: &[(Duration, usize)]) -> (Duration, Duration) {
    let mut scaled: Vec<Duration> = times
        .iter()
        .map(|(t, bytes)| t.mul_f64(5120.0 / *bytes as f64))
        .collect();
    scaled.sort();
    (percentile(&scaled, 50), percentile(&scaled, 99))
}

fn raw(times: &[(Duration, usize)]) -> (Duration, Duration) {
    let mut v: Vec<Duration> = times.iter().map(|(t, _)| *t).collect();
    v.sort();
    (percentile(&v, 50), percentile(&v, 99))
}

/// Everything the bench needs, built once.
struct Setup {
    docs: Vec<Doc>,
    feeds: usize,
    pools: Pools,
    specs: Vec<(usize, Vec<String>, Vec<RuleSpec>)>,
}

fn setup() -> Setup {
    // Load the gazetteer and acronym table before any heap measurement.
    let _ = RuleSpec::parse("country:Russia");
    let (docs, feeds) = corpus();
    let pools = pools(&docs);
    let specs = SIZES
        .iter()
        .map(|&n| {
            // Some generated specs are refused; draw a few more.
            let texts = rules(&pools, n + n / 10 + 10, 0x5eed_0100 + n as u64);
            let parsed = parse_all(&texts, n);
            assert_eq!(parsed.len(), n, "enough valid generated rules");
            (n, texts, parsed)
        })
        .collect();
    Setup {
        docs,
        feeds,
        pools,
        specs,
    }
}

/// Per-article times of `op`, each the median of three passes over the
/// corpus in order: no article is timed twice in a row, so caches are as
/// cold as a stream of new articles leaves them.
fn per_article(n: usize, mut op: impl FnMut(usize)) -> Vec<Duration> {
    let [times] = interleaved(n, 3, [&mut op]);
    medians(times)
}

/// Times of each of `ops` on articles `0..n`, per article, `passes`
/// times: each article through every op one right after the other, in
/// an order that turns around from one article to the next, so that a
/// slow spell of the shared machine weighs on all of them alike. Per op,
/// per article, one time per pass.
fn interleaved<const K: usize>(
    n: usize,
    passes: usize,
    ops: [&mut dyn FnMut(usize); K],
) -> [Vec<Vec<Duration>>; K] {
    // One entry per pass and article, in the order run.
    let mut runs: Vec<[Duration; K]> = Vec::with_capacity(passes * n);
    for pass in 0..passes {
        for i in 0..n {
            let mut run = [Duration::ZERO; K];
            for step in 0..K {
                let k = if (pass + i) % 2 == 0 {
                    step
                } else {
                    K - 1 - step
                };
                let start = Instant::now();
                ops[k](i);
                run[k] = start.elapsed();
            }
            runs.push(run);
        }
    }
    std::array::from_fn(|k| {
        (0..n)
            .map(|i| (0..passes).map(|pass| runs[pass * n + i][k]).collect())
            .collect()
    })
}

/// The median of each article's times.
fn medians(times: Vec<Vec<Duration>>) -> Vec<Duration> {
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

fn with_bytes(times: Vec<Duration>, bytes: &[usize]) -> Vec<(Duration, usize)> {
    times.into_iter().zip(bytes.iter().copied()).collect()
}

fn report(setup: &Setup) {
    let docs = &setup.docs;
    let bytes: Vec<usize> = docs.iter().map(Doc::bytes).collect();
    let total: usize = bytes.iter().sum();
    println!(
        "\ncorpus: {} articles from {} real feeds, {:.1}–{:.1} KB (mean {:.1} KB)",
        docs.len(),
        setup.feeds,
        *bytes.iter().min().unwrap_or(&0) as f64 / 1024.0,
        *bytes.iter().max().unwrap_or(&0) as f64 / 1024.0,
        total as f64 / docs.len() as f64 / 1024.0
    );

    // Normalisation alone: the same for every rule set.
    let analysed: Vec<Analyzed> = docs.iter().map(|d| Analyzed::new(&d.article())).collect();
    let analyse = with_bytes(
        per_article(docs.len(), |i| {
            black_box(Analyzed::new(black_box(&docs[i].article())));
        }),
        &bytes,
    );
    let display = with_bytes(
        per_article(docs.len(), |i| {
            black_box(normalize(black_box(&docs[i].body)));
        }),
        &bytes,
    );
    let (a50, a99) = raw(&analyse);
    let (s50, s99) = per_5kb(&analyse);
    let (d50, _) = raw(&display);
    let words: usize = analysed.iter().map(Analyzed::word_count).sum();
    println!(
        "normalisation (fold + cut into words; rules not involved): p50 {} p99 {} per article, {} / {} per 5 KB ({} words on average); normalize() for display alone: p50 {}",
        micros(a50),
        micros(a99),
        micros(s50),
        micros(s99),
        words / docs.len(),
        micros(d50)
    );

    println!(
        "\n| rules | distinct | build | heap | match p50 | match p99 | + explain p50 | + explain p99 | Vec<Hit> p50 | Vec<Hit> p99 | match + explain p50 / 5 KB | match + explain p99 / 5 KB | grouped total p50 / 5 KB | grouped total p99 / 5 KB | Vec<Hit> total p50 / 5 KB | Vec<Hit> total p99 / 5 KB | hits / article | explanations / article |"
    );
    println!(
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut p50_by_size = Vec::new();
    let mut matchers: Vec<(usize, Matcher)> = Vec::new();
    for (n, _, specs) in &setup.specs {
        let before = live_bytes();
        let start = Instant::now();
        let matcher = compile(specs);
        let build = start.elapsed();
        let heap = live_bytes().saturating_sub(before);
        let stats = matcher.stats();

        let decide = with_bytes(
            per_article(docs.len(), |i| {
                black_box(matcher.find_in(black_box(&analysed[i])));
            }),
            &bytes,
        );
        let explain = with_bytes(
            per_article(docs.len(), |i| {
                let m = matcher.find_in(black_box(&analysed[i]));
                for e in 0..m.explanation_count() {
                    black_box(m.explanation(e));
                }
            }),
            &bytes,
        );
        let find = with_bytes(
            per_article(docs.len(), |i| {
                black_box(matcher.find_in(black_box(&analysed[i])).into_hits());
            }),
            &bytes,
        );
        let total: Vec<(Duration, usize)> = analyse
            .iter()
            .zip(&find)
            .map(|((a, b), (f, _))| (*a + *f, *b))
            .collect();
        let grouped: Vec<(Duration, usize)> = analyse
            .iter()
            .zip(&explain)
            .map(|((a, b), (e, _))| (*a + *e, *b))
            .collect();
        let (mut hits, mut explanations) = (0usize, 0usize);
        for a in &analysed {
            let m = matcher.find_in(a);
            hits += m.len();
            explanations += m.explanation_count();
        }
        let (m50, m99) = raw(&decide);
        let (e50, e99) = raw(&explain);
        let (f50, f99) = raw(&find);
        let (t50, t99) = per_5kb(&total);
        let (g50, g99) = per_5kb(&grouped);
        let (x50, x99) = per_5kb(&explain);
        p50_by_size.push((*n, t50, g50, x50));
        println!(
            "| {n} | {} | {} | {:.1} MB | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            stats.distinct_rules,
            micros(build),
            heap as f64 / 1e6,
            micros(m50),
            micros(m99),
            micros(e50),
            micros(e99),
            micros(f50),
            micros(f99),
            micros(x50),
            micros(x99),
            micros(g50),
            micros(g99),
            micros(t50),
            micros(t99),
            hits as f64 / docs.len() as f64,
            explanations as f64 / docs.len() as f64,
        );
        matchers.push((*n, matcher));
    }
    println!(
        "(match: Matcher::find_in on an analysed article: which rules match and on which words, identical rules grouped; + explain: and every distinct explanation's terms and snippet built; Vec<Hit>: and one owned Hit per rule, in id order, which is Matcher::find; match + explain: what matching costs once the article is normalised, per 5 KB; grouped total: normalisation + match + explain, per 5 KB; Vec<Hit> total: normalisation + Vec<Hit>, per 5 KB; always-evaluated rules: {})",
        matchers
            .iter()
            .map(|(_, m)| m.stats().always_evaluated)
            .sum::<usize>()
    );
    if let (Some((_, small, small_g, small_x)), Some((_, big, big_g, big_x))) =
        (p50_by_size.first(), p50_by_size.last())
    {
        println!(
            "p50 at {} rules / p50 at {} rules, from the table's rows (timed apart: the paired ratio below is the one to go by): grouped total {:.2}, match + explain alone {:.2}, Vec<Hit> total {:.2}",
            SIZES[SIZES.len() - 1],
            SIZES[0],
            big_g.as_secs_f64() / small_g.as_secs_f64(),
            big_x.as_secs_f64() / small_x.as_secs_f64(),
            big.as_secs_f64() / small.as_secs_f64()
        );
    }

    // The same ratio measured paired: each article through the smallest
    // and the largest matcher one right after the other, the order
    // alternating, so that a slow spell of the shared machine weighs on
    // both alike (the table's rows are minutes apart).
    if let (Some((small_n, small)), Some((big_n, big))) = (matchers.first(), matchers.last()) {
        let run = |matcher: &Matcher, i: usize| {
            let analysed = Analyzed::new(black_box(&docs[i].article()));
            let m = matcher.find_in(&analysed);
            for e in 0..m.explanation_count() {
                black_box(m.explanation(e));
            }
        };
        let times = interleaved(
            docs.len(),
            3,
            [&mut |i| run(small, i), &mut |i| run(big, i)],
        );
        // Every pass's time counts, each scaled by its article's size.
        let [(small_50, small_99), (big_50, big_99)] = times.map(|per_doc| {
            let sized: Vec<(Duration, usize)> = per_doc
                .into_iter()
                .zip(&bytes)
                .flat_map(|(ts, &b)| ts.into_iter().map(move |t| (t, b)))
                .collect();
            per_5kb(&sized)
        });
        println!(
            "paired, normalisation + match + explain per 5 KB: {small_n} rules p50 {} p99 {}; {big_n} rules p50 {} p99 {}; p50 ratio {:.2}",
            micros(small_50),
            micros(small_99),
            micros(big_50),
            micros(big_99),
            big_50.as_secs_f64() / small_50.as_secs_f64()
        );
    }

    // One rule in and out of the biggest matcher.
    if let Some((n, mut matcher)) = matchers.pop() {
        let extra = rules(&setup.pools, 1200, 0x5eed_0999);
        let extra = parse_all(&extra, 1000);
        let mut adds = Vec::with_capacity(extra.len());
        let mut removes = Vec::with_capacity(extra.len());
        for (k, spec) in extra.iter().enumerate() {
            let id = 10_000_000 + k as i64;
            let start = Instant::now();
            matcher.add_rule(id, spec);
            adds.push(start.elapsed());
            let start = Instant::now();
            matcher.remove_rule(id);
            removes.push(start.elapsed());
        }
        adds.sort();
        removes.sort();
        println!(
            "\none rule added to / removed from the {n}-rule matcher ({} rules): add p50 {} p99 {} max {}; remove p50 {} p99 {} max {}",
            adds.len(),
            micros(percentile(&adds, 50)),
            micros(percentile(&adds, 99)),
            micros(adds[adds.len() - 1]),
            micros(percentile(&removes, 50)),
            micros(percentile(&removes, 99)),
            micros(removes[removes.len() - 1]),
        );
        matchers.push((n, matcher));
    }

    // The regex baseline, on the same articles.
    println!(
        "\nbaseline: one regex per rule (case-insensitive, whole words), {BASELINE_ARTICLES} articles"
    );
    println!(
        "| rules | regex build | regex p50 | regex p99 | engine p50, Matcher::find | regex / find | engine p50, grouped (normalise + find_in + explanations) | regex / grouped |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ((n, texts, specs), (_, matcher)) in setup.specs.iter().zip(&matchers) {
        if *n > 10_000 {
            continue;
        }
        let start = Instant::now();
        let regexes: Vec<Regex> = texts
            .iter()
            .filter(|t| RuleSpec::parse(t).is_ok())
            .take(specs.len())
            .filter_map(|t| regex_of(t))
            .collect();
        let build = start.elapsed();
        // Both from the raw article: the regexes read it as is, the engine
        // normalises it first (Matcher::find).
        let sample: Vec<&Doc> = docs.iter().take(BASELINE_ARTICLES).collect();
        let texts: Vec<String> = sample
            .iter()
            .map(|d| format!("{}\n{}", d.title, d.body))
            .collect();
        // Interleaved, as the paired ratio above: at 10,000 rules one
        // article takes the regexes 20 ms, the engine 0.2 ms, and a slow
        // spell of the machine in the engine's few milliseconds would
        // otherwise weigh on it alone.
        let times = interleaved(
            sample.len(),
            3,
            [
                &mut |i| {
                    black_box(regexes.iter().filter(|r| r.is_match(&texts[i])).count());
                },
                &mut |i| {
                    black_box(matcher.find(black_box(&sample[i].article())));
                },
                &mut |i| {
                    let doc = Analyzed::new(black_box(&sample[i].article()));
                    let m = matcher.find_in(&doc);
                    for e in 0..m.explanation_count() {
                        black_box(m.explanation(e));
                    }
                },
            ],
        );
        let [mut regex_times, mut engine_times, mut grouped_times] = times.map(medians);
        regex_times.sort();
        engine_times.sort();
        grouped_times.sort();
        let g50 = percentile(&grouped_times, 50);
        let (r50, e50) = (percentile(&regex_times, 50), percentile(&engine_times, 50));
        println!(
            "| {n} | {} | {} | {} | {} | {:.0}× | {} | {:.0}× |",
            micros(build),
            micros(r50),
            micros(percentile(&regex_times, 99)),
            micros(e50),
            r50.as_secs_f64() / e50.as_secs_f64(),
            micros(g50),
            r50.as_secs_f64() / g50.as_secs_f64()
        );
    }
    println!();
}

/// `MATCHING_PROFILE=<rules>`: analyse and match the corpus against that
/// many rules (one of [`SIZES`]) for ten seconds and nothing else, for a
/// profiler.
fn profile(setup: &Setup, n: usize) {
    let Some((_, _, specs)) = setup.specs.iter().find(|(k, _, _)| *k == n) else {
        eprintln!("MATCHING_PROFILE: no rule set of {n} rules (sizes: {SIZES:?})");
        return;
    };
    let matcher = compile(specs);
    let docs = &setup.docs;
    let (mut groups, mut explanations) = (0, 0);
    for d in docs {
        let a = Analyzed::new(&d.article());
        let m = matcher.find_in(&a);
        groups += m.groups().count();
        explanations += m.explanation_count();
    }
    eprintln!(
        "{n} rules: {:.1} groups and {:.1} explanations per article",
        groups as f64 / docs.len() as f64,
        explanations as f64 / docs.len() as f64
    );
    let start = Instant::now();
    let mut rounds = 0;
    // MATCHING_ROUNDS=<n>: that many passes instead, for a profiler that
    // counts instructions (valgrind) and runs 50 times slower.
    let fixed: Option<usize> = std::env::var("MATCHING_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok());
    while fixed.map_or(start.elapsed() < Duration::from_secs(10), |f| rounds < f) {
        // Each article analysed right before it is matched, as in the
        // pipeline and the paired measurement: its words are in cache.
        for d in docs {
            let a = Analyzed::new(black_box(&d.article()));
            let m = matcher.find_in(&a);
            for e in 0..m.explanation_count() {
                black_box(m.explanation(e));
            }
        }
        rounds += 1;
    }
    let per = start.elapsed() / (rounds * docs.len()) as u32;
    eprintln!("{n} rules: {rounds} rounds, {} per article", micros(per));
}

fn benches(c: &mut Criterion) {
    let setup = setup();
    if let Some(n) = std::env::var("MATCHING_PROFILE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        profile(&setup, n);
        return;
    }
    report(&setup);

    let docs: Vec<&Doc> = setup.docs.iter().take(100).collect();
    let analysed: Vec<Analyzed> = docs.iter().map(|d| Analyzed::new(&d.article())).collect();

    let mut group = c.benchmark_group("normalise_100_articles");
    group.sample_size(10);
    group.bench_function("analyse", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(Analyzed::new(black_box(&d.article())));
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("match_100_articles");
    group.sample_size(10);
    for (n, _, specs) in &setup.specs {
        let matcher = compile(specs);
        group.bench_with_input(BenchmarkId::new("find_in", n), &matcher, |b, m| {
            b.iter(|| {
                for a in &analysed {
                    black_box(m.find_in(black_box(a)));
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("find", n), &matcher, |b, m| {
            b.iter(|| {
                for d in &docs {
                    black_box(m.find(black_box(&d.article())));
                }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for (n, _, specs) in &setup.specs {
        group.bench_with_input(BenchmarkId::from_parameter(n), specs, |b, specs| {
            b.iter(|| compile(black_box(specs)))
        });
    }
    group.finish();

    if let Some((n, _, specs)) = setup.specs.last() {
        let mut matcher = compile(specs);
        let extra = parse_all(&rules(&setup.pools, 200, 0x5eed_0998), 100);
        let mut group = c.benchmark_group("one_rule");
        group.bench_function(BenchmarkId::new("add_remove", n), |b| {
            let mut k = 0usize;
            b.iter(|| {
                let spec = &extra[k % extra.len()];
                k += 1;
                matcher.add_rule(-1, black_box(spec));
                matcher.remove_rule(-1);
            })
        });
        group.finish();
    }

    let mut group = c.benchmark_group("regex_baseline_10_articles");
    group.sample_size(10);
    for (n, texts, specs) in setup.specs.iter().filter(|(n, _, _)| *n <= 10_000) {
        let regexes: Vec<Regex> = texts
            .iter()
            .filter(|t| RuleSpec::parse(t).is_ok())
            .take(specs.len())
            .filter_map(|t| regex_of(t))
            .collect();
        let texts: Vec<String> = docs
            .iter()
            .take(10)
            .map(|d| format!("{}\n{}", d.title, d.body))
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(n), &regexes, |b, rs| {
            b.iter(|| {
                for t in &texts {
                    black_box(rs.iter().filter(|r| r.is_match(t)).count());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(matching, benches);
criterion_main!(matching);
