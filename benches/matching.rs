//! Per-article match time against 100 to 100,000 rules.
//!
//! Two rule sets per size, both matching one realistic ~600-word news article:
//!
//! - `flat_hits`: rules of every kind whose words are mostly the article's
//!   own words combined into phrases that are not in it, plus ten planted
//!   rules that match. The number of hits is the same at every size, so the
//!   time shows the engine's own cost as rules grow: it should stay flat.
//! - `zipf`: rules drawn with Zipf-skewed popularity from a pool of real
//!   names and words, some in the article, as a newsroom's rules would be.
//!   Hits grow with the rule count (each hit is built and explained), so the
//!   time grows with the hits, not with the rules; the id shows the hits.
//!
//! Also: normalisation of the article alone, and building the matcher.
//! Run: `cargo bench --bench matching -- --quick`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wirewatch::matching::{Article, Matcher, MatcherBuilder, RuleSpec, normalize};

const TITLE: &str = "Security Council split as Russia blocks Ukraine grain corridor resolution";

const BODY: &str = "\
NEW YORK — The UN Security Council failed on Friday to adopt a resolution that would have \
guaranteed safe passage for grain ships leaving Ukraine's Black Sea ports, after Russia cast \
its veto and China abstained, deepening a rift that diplomats say has paralysed the body \
since the full-scale invasion began.

Thirteen of the council's fifteen members voted in favour of the text, which was drafted by \
the United Kingdom and France and co-sponsored by more than forty states. It called for an \
immediate halt to strikes on port infrastructure in Odesa and Izmail, and for a monitoring \
mission led by the UN's humanitarian office.

Britain's foreign secretary, James Cleverly, who flew to New York to chair the session, \
accused Moscow of \"weaponising hunger\" and said the veto would be felt most keenly in \
import-dependent countries in Africa and the Middle East. \"Every ship that cannot sail is \
bread that does not reach a family in Egypt, in Kenya, in Lebanon,\" Cleverly told reporters \
outside the chamber.

Russia's ambassador, Vasily Nebenzia, dismissed the draft as \"a propaganda exercise\" and \
said Western sanctions on Russian banks and fertiliser exporters were the real obstacle to \
global food security. He said Moscow remained open to talks on a renewed arrangement \
brokered by Türkiye, but only if restrictions on the Russian Agricultural Bank were lifted.

Foreign Minister Sergei Lavrov, speaking in Moscow, said the resolution had been designed \
to fail. \"Our Western colleagues knew the text was unacceptable,\" Lavrov said, according \
to the state news agency. Cleverly is due to meet Lavrov's deputy later this month in Geneva, \
officials said, though neither side expects a breakthrough.

Ukrainian officials said more than sixty vessels were waiting to leave port. President \
Volodymyr Zelensky said in his nightly address that Ukraine would continue exports \
\"with or without the Kremlin's permission\", pointing to a temporary corridor along the \
coasts of Romania and Bulgaria that has so far carried about 1,000 tonnes a day.

The United States envoy, Linda Thomas-Greenfield, said Washington would work with partners \
in the General Assembly, where no country holds a veto, to keep pressure on Russia. A \
General Assembly vote is expected within ten days under a procedure adopted in 2022 that \
requires the assembly to debate any use of the veto.

China's representative, Fu Cong, said Beijing had abstained because the text \"did not \
reflect the legitimate concerns of all parties\" and urged both sides to return to \
negotiations. India, the United Arab Emirates and Brazil, which have sought to keep channels \
open to Moscow, voted in favour but called for a broader settlement.

Secretary-General António Guterres said he was \"deeply disappointed\" and warned that \
wheat prices, which rose nearly 9% on the news in Chicago, could climb further before \
the northern hemisphere harvest. The World Food Programme said it had enough stocks for \
three months in its most vulnerable operations, in Sudan, Yemen and Afghanistan.

Analysts said the vote underlined how little room remained for compromise. \"The Black Sea \
is now the frontline of a second, economic war,\" said a researcher at a London think tank. \
\"Nato navies cannot escort merchant ships without risking a direct clash, and Moscow knows it.\"

Shipping insurers in London raised war-risk premiums for the region again on Friday. \
Several Greek and Maltese owners said they would not send vessels to Ukrainian ports \
until a new agreement was in place, and the European Union said it would expand its \
\"solidarity lanes\" by rail and river through Poland and along the Danube.

Diplomats expect the council to return to the issue next month, when Malta holds the \
rotating presidency. Until then, they said, the ships will wait.";

fn article() -> Article<'static> {
    Article {
        title: TITLE,
        body: BODY,
        source: "Bench Wire",
    }
}

/// A small deterministic generator (xorshift64*), so every run compiles the
/// same rules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ras", "tov", "vel", "zan", "bor", "dri", "fen", "gul", "hak", "jor",
    "kes", "lin", "mar", "nov", "pol", "quin", "rek", "sol", "tam", "ur", "vin", "wes", "yar",
    "zor", "bel", "cor",
];

/// A made-up word of two to four syllables: plausible text, rarely in the article.
fn made_up(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    (0..n).map(|_| rng.pick(SYLLABLES)).collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Lower-case words of the article, so that rule phrases start on words the
/// article has and the trie walk does real work before failing.
fn article_words() -> Vec<String> {
    let mut words: Vec<String> = BODY
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(str::to_lowercase)
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Countries the article does not mention.
const ABSENT_COUNTRIES: &[&str] = &[
    "Argentina",
    "Australia",
    "Austria",
    "Belgium",
    "Bolivia",
    "Canada",
    "Chile",
    "Colombia",
    "Croatia",
    "Cuba",
    "Denmark",
    "Ecuador",
    "Estonia",
    "Finland",
    "Germany",
    "Ghana",
    "Hungary",
    "Iceland",
    "Indonesia",
    "Ireland",
    "Italy",
    "Jamaica",
    "Japan",
    "Laos",
    "Latvia",
    "Mexico",
    "Mongolia",
    "Nepal",
    "Norway",
    "Peru",
    "Portugal",
    "Senegal",
    "Spain",
    "Sweden",
    "Switzerland",
    "Thailand",
    "Uruguay",
    "Vietnam",
    "Zambia",
    "Zimbabwe",
];

/// Ten rules that match the article, in every size of the flat set.
const PLANTED: &[&str] = &[
    "keyword:UN Security Council",
    "keyword:Black Sea",
    "keyword:NATO",
    "person:James Cleverly",
    "person:Sergei Lavrov",
    "person:Vasily Nebenzia | Василий Небензя",
    "country:Russia",
    "country:Ukraine",
    "query:\"Security Council\" AND (Russia OR Ukraine) NOT football",
    "query:grain AND (veto OR sanctions)",
];

/// `n` rules of which exactly the [`PLANTED`] ones match the article.
fn flat_rules(n: usize) -> Vec<RuleSpec> {
    let mut rng = Rng(0x5eed_0001);
    let words = article_words();
    let word = |rng: &mut Rng| words[rng.below(words.len())].clone();
    let mut specs: Vec<String> = PLANTED.iter().map(|s| s.to_string()).collect();
    while specs.len() < n {
        let spec = match rng.below(20) {
            // 35% keywords: an article word followed by a made-up one, or made-up words.
            0..=6 => match rng.below(3) {
                0 => format!("keyword:{} {}", word(&mut rng), made_up(&mut rng)),
                1 => format!("keyword:{}", made_up(&mut rng)),
                _ => format!(
                    "keyword:{} {} {}",
                    word(&mut rng),
                    word(&mut rng),
                    made_up(&mut rng)
                ),
            },
            // 30% persons with made-up names, some with an alias.
            7..=12 => {
                let (first, last) = (
                    capitalised(&made_up(&mut rng)),
                    capitalised(&made_up(&mut rng)),
                );
                if rng.below(4) == 0 {
                    format!(
                        "person:{first} {last} | {first} {}",
                        capitalised(&made_up(&mut rng))
                    )
                } else {
                    format!("person:{first} {last}")
                }
            }
            // 15% countries the article does not name.
            13..=15 => format!("country:{}", rng.pick(ABSENT_COUNTRIES)),
            // 20% queries: a phrase not in the article AND words that are.
            _ => format!(
                "query:\"{} {}\" AND ({} OR {}) NOT {}",
                word(&mut rng),
                made_up(&mut rng),
                word(&mut rng),
                made_up(&mut rng),
                made_up(&mut rng)
            ),
        };
        specs.push(spec);
    }
    specs
        .iter()
        .map(|s| RuleSpec::parse(s).unwrap_or_else(|e| panic!("generated rule {s}: {e}")))
        .collect()
}

/// A popularity-ranked pool: the first entries are the newsroom's favourites
/// (several in the article), the long tail is rarely watched.
fn zipf_pool(rng: &mut Rng) -> Vec<String> {
    let mut pool: Vec<String> = [
        "country:Russia",
        "country:Ukraine",
        "country:United States",
        "country:China",
        "keyword:UN Security Council",
        "person:Volodymyr Zelensky | Володимир Зеленський",
        "country:Israel",
        "person:Sergei Lavrov",
        "keyword:sanctions",
        "country:Iran",
        "keyword:NATO",
        "person:James Cleverly",
        "country:Germany",
        "keyword:grain deal",
        "query:\"Security Council\" AND (Russia OR Ukraine) NOT football",
        "country:India",
        "keyword:Black Sea",
        "person:António Guterres",
        "country:France",
        "query:wheat AND (prices OR exports)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let words = article_words();
    for (i, country) in ABSENT_COUNTRIES.iter().enumerate() {
        pool.push(format!("country:{country}"));
        pool.push(format!(
            "keyword:{} {}",
            words[(i * 7) % words.len()],
            made_up(rng)
        ));
    }
    while pool.len() < 5000 {
        let spec = match rng.below(4) {
            0 => format!("keyword:{}", made_up(rng)),
            1 => format!(
                "person:{} {}",
                capitalised(&made_up(rng)),
                capitalised(&made_up(rng))
            ),
            2 => format!("keyword:{} {}", words[rng.below(words.len())], made_up(rng)),
            _ => format!(
                "query:{} AND {}",
                made_up(rng),
                words[rng.below(words.len())]
            ),
        };
        pool.push(spec);
    }
    pool
}

/// `n` rules drawn from [`zipf_pool`] with probability ∝ 1 / rank.
fn zipf_rules(n: usize) -> Vec<RuleSpec> {
    let mut rng = Rng(0x5eed_0002);
    let pool = zipf_pool(&mut rng);
    let parsed: Vec<RuleSpec> = pool
        .iter()
        .map(|s| RuleSpec::parse(s).unwrap_or_else(|e| panic!("pool rule {s}: {e}")))
        .collect();
    let mut cumulative = Vec::with_capacity(parsed.len());
    let mut total = 0.0;
    for rank in 1..=parsed.len() {
        total += 1.0 / rank as f64;
        cumulative.push(total);
    }
    (0..n)
        .map(|_| {
            let x = rng.unit() * total;
            let i = cumulative.partition_point(|c| *c < x).min(parsed.len() - 1);
            parsed[i].clone()
        })
        .collect()
}

fn compile(specs: &[RuleSpec]) -> Matcher {
    let mut builder = MatcherBuilder::new();
    for (id, spec) in specs.iter().enumerate() {
        builder.add(id as i64, spec);
    }
    builder.build()
}

const SIZES: &[usize] = &[100, 1_000, 10_000, 100_000];

fn bench_find(c: &mut Criterion) {
    let article = article();
    let mut group = c.benchmark_group("find_600_words");
    group.throughput(Throughput::Bytes((TITLE.len() + BODY.len()) as u64));
    for &n in SIZES {
        let matcher = compile(&flat_rules(n));
        let hits = matcher.find(&article).len();
        assert_eq!(hits, PLANTED.len(), "only the planted rules match");
        group.bench_with_input(BenchmarkId::new("flat_hits", n), &matcher, |b, m| {
            b.iter(|| m.find(black_box(&article)))
        });
    }
    for &n in SIZES {
        let matcher = compile(&zipf_rules(n));
        let hits = matcher.find(&article).len();
        group.bench_with_input(
            BenchmarkId::new("zipf", format!("{n}_rules_{hits}_hits")),
            &matcher,
            |b, m| b.iter(|| m.find(black_box(&article))),
        );
    }
    group.finish();
}

fn bench_normalize(c: &mut Criterion) {
    c.bench_function("normalize_600_words", |b| {
        b.iter(|| normalize(black_box(BODY)))
    });
}

fn bench_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for &n in &[10_000, 100_000] {
        let specs = flat_rules(n);
        group.bench_with_input(BenchmarkId::new("flat", n), &specs, |b, specs| {
            b.iter(|| compile(specs))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_find, bench_normalize, bench_build);
criterion_main!(benches);
