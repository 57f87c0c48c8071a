//! The compiled matcher: every rule of every chat in one structure.
//!
//! Compilation turns each rule into normalised phrases and interns them in
//! one dictionary shared by all rules:
//!
//! - `words`: every distinct normalised word of every phrase → word id;
//! - a trie over word ids (`first` for the first word, `edges` after it):
//!   each node is a distinct phrase prefix, and `ends[node]` lists the
//!   patterns whose phrase ends there;
//! - a pattern is a phrase plus its spelling requirements (`UN` typed as an
//!   acronym and `un` typed in lower case are two patterns of one phrase),
//!   with postings to the rules that use it and, for gazetteer names, the
//!   countries it names.
//!
//! Matching an article cuts it into words once, looks each word up once, and
//! walks the trie from every word for as long as the following words extend a
//! known phrase: all occurrences of all phrases are found, overlapping ones
//! included (`Putin` and `Vladimir Putin`), and the work depends on the text
//! and the phrases present in it, not on how many rules there are. Only the
//! rules posted by a pattern that occurred (the candidates) are then looked
//! at: keyword and person rules match when any of their patterns occurred,
//! country rules when a name of the country occurred outside a longer place
//! name, and queries are evaluated on the set of patterns that occurred. A
//! query is posted only under a set of its terms one of which must occur for
//! it to be true (the idea of Lucene Monitor's presearcher), so its common
//! words and its NOT terms don't make it a candidate for every article.
//!
//! Rules are kept in the order they were added (their slot); hits are sorted
//! by rule id at the end, so that a later issue can add and remove single
//! rules without renumbering anything.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use super::explain::{self, Hit};
use super::gazetteer::{self, CountryId};
use super::query::Expr;
use super::rule::{Parsed, Phrase, RuleSpec};
use super::token::{BODY, CaseReq, TITLE, Tokens};

/// An article to match, as plain text (HTML already removed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Article<'a> {
    /// The headline.
    pub title: &'a str,
    /// The text: summary and/or content.
    pub body: &'a str,
    /// The feed or outlet name (not matched yet: issue 6's `source:`).
    pub source: &'a str,
}

/// Builds a [`Matcher`] from validated rules.
#[derive(Debug, Clone, Default)]
pub struct MatcherBuilder {
    matcher: Matcher,
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds rule `rule_id`. Specs come from [`RuleSpec::parse`], so this
    /// cannot fail. Ids are expected to be unique; a repeated id gives one hit
    /// per rule added.
    pub fn add(&mut self, rule_id: i64, spec: &RuleSpec) {
        self.matcher.add(rule_id, spec);
    }

    /// The finished matcher.
    pub fn build(self) -> Matcher {
        self.matcher
    }
}

/// Every rule compiled into one structure. `Send + Sync`: share it in an
/// `Arc` and swap in a new one when rules change.
#[derive(Clone, Default)]
pub struct Matcher {
    dict: Dictionary,
    patterns: Vec<Pattern>,
    rules: Vec<CompiledRule>,
    /// Country → slots of the country rules naming it; empty until the first
    /// country rule (the gazetteer's names are only interned then).
    country_rules: Vec<Vec<u32>>,
}

/// "No such entry" in the dense id tables.
const NONE: u32 = u32::MAX;

/// The phrase dictionary: word ids and a trie over them.
#[derive(Clone, Default)]
struct Dictionary {
    words: HashMap<Box<str>, u32, FxBuildHasher>,
    /// Word id → trie node of the one-word prefix, or [`NONE`].
    first: Vec<u32>,
    /// (node, next word id) → node.
    edges: HashMap<(u32, u32), u32, FxBuildHasher>,
    /// Node → patterns whose phrase ends at that node.
    ends: Vec<Vec<u32>>,
}

impl Dictionary {
    fn word_id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.words.get(word) {
            return id;
        }
        let id = to_u32(self.first.len());
        self.words.insert(word.into(), id);
        self.first.push(NONE);
        id
    }

    fn new_node(&mut self) -> u32 {
        self.ends.push(Vec::new());
        to_u32(self.ends.len() - 1)
    }

    /// The trie node for `words`, created if needed.
    fn node(&mut self, words: &[Box<str>]) -> u32 {
        let mut node = NONE;
        for (k, word) in words.iter().enumerate() {
            let id = self.word_id(word);
            node = if k == 0 {
                match self.first[id as usize] {
                    NONE => {
                        let n = self.new_node();
                        self.first[id as usize] = n;
                        n
                    }
                    n => n,
                }
            } else {
                match self.edges.get(&(node, id)) {
                    Some(&n) => n,
                    None => {
                        let n = self.new_node();
                        self.edges.insert((node, id), n);
                        n
                    }
                }
            };
        }
        node
    }
}

/// A phrase with spelling requirements, and who uses it.
#[derive(Clone)]
struct Pattern {
    case: Box<[CaseReq]>,
    hard_ok: Box<[bool]>,
    /// Slots of keyword, person and query rules using it.
    rules: Vec<u32>,
    /// Countries it is a name of.
    countries: Vec<CountryId>,
    /// A place that is not a country (`Latin America`).
    blocker: bool,
}

impl Pattern {
    fn is_gazetteer(&self) -> bool {
        self.blocker || !self.countries.is_empty()
    }

    /// Whether words `start..end` of `tokens` are spelled as required.
    fn accepts(&self, tokens: &Tokens, start: usize, end: usize) -> bool {
        let words = &tokens.tokens[start..end];
        words
            .iter()
            .zip(self.case.iter())
            .all(|(t, req)| req.accepts(t.shape))
            && words
                .iter()
                .skip(1)
                .zip(self.hard_ok.iter())
                .all(|(t, ok)| !t.gap_hard || *ok)
    }
}

#[derive(Clone)]
struct CompiledRule {
    id: i64,
    body: Body,
}

#[derive(Clone)]
enum Body {
    /// Matches when any of these patterns occurs (keyword, person).
    AnyOf(Vec<u32>),
    /// Matches when a name of the country occurs.
    Country(CountryId),
    /// Matches when the query is true of the patterns that occurred.
    Query {
        expr: Expr<u32>,
        /// Patterns outside any NOT: what the hit reports.
        positive: Vec<u32>,
        /// Every pattern of the query.
        all: Vec<u32>,
    },
}

/// One occurrence of a pattern: words `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Occurrence {
    pattern: u32,
    start: u32,
    end: u32,
}

impl Occurrence {
    fn len(self) -> u32 {
        self.end - self.start
    }

    /// Strictly inside `other`: covered by it, and shorter.
    fn is_inside(self, other: Occurrence) -> bool {
        other.start <= self.start && self.end <= other.end && other.len() > self.len()
    }
}

impl Matcher {
    /// A matcher with no rules.
    pub fn empty() -> Matcher {
        Matcher::default()
    }

    /// Number of rules compiled in.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    fn add(&mut self, rule_id: i64, spec: &RuleSpec) {
        let slot = to_u32(self.rules.len());
        let body = match spec.parsed() {
            Parsed::Keyword(p) => Body::AnyOf(vec![self.intern_for_rule(p, slot)]),
            Parsed::Person(phrases) => {
                let mut ids: Vec<u32> = phrases
                    .iter()
                    .map(|p| self.intern_for_rule(p, slot))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                Body::AnyOf(ids)
            }
            Parsed::Country(country) => {
                self.intern_gazetteer();
                if let Some(slots) = self.country_rules.get_mut(usize::from(*country)) {
                    slots.push(slot);
                }
                Body::Country(*country)
            }
            Parsed::Query(expr) => {
                let expr: Expr<u32> = match expr
                    .clone()
                    .try_map::<u32, std::convert::Infallible>(&mut |p| Ok(self.intern(&p)))
                {
                    Ok(e) => e,
                    Err(never) => match never {},
                };
                let (mut positive, mut all) = (Vec::new(), Vec::new());
                expr.visit_terms(true, &mut |p, is_positive| {
                    all.push(*p);
                    if is_positive {
                        positive.push(*p);
                    }
                });
                for v in [&mut positive, &mut all] {
                    v.sort_unstable();
                    v.dedup();
                }
                // Post the rule only under terms one of which must occur for
                // the query to be true, so that a common word in one branch
                // (`grain AND …`) does not make it a candidate everywhere.
                // Parsing refused queries true of an empty text, so such a
                // set exists; `all` is a safe fallback regardless.
                let posted =
                    required_terms(&expr, false, &|p| self.patterns[p as usize].case.len())
                        .unwrap_or_else(|| all.clone());
                for &p in &posted {
                    let rules = &mut self.patterns[p as usize].rules;
                    if rules.last() != Some(&slot) {
                        rules.push(slot);
                    }
                }
                Body::Query {
                    expr,
                    positive,
                    all,
                }
            }
        };
        self.rules.push(CompiledRule { id: rule_id, body });
    }

    /// The pattern for `phrase`, created if needed.
    fn intern(&mut self, phrase: &Phrase) -> u32 {
        let node = self.dict.node(&phrase.words);
        let found = self.dict.ends[node as usize].iter().copied().find(|&p| {
            let pat = &self.patterns[p as usize];
            *pat.case == *phrase.case && *pat.hard_ok == *phrase.hard_ok
        });
        if let Some(p) = found {
            return p;
        }
        let p = to_u32(self.patterns.len());
        self.patterns.push(Pattern {
            case: phrase.case.clone().into_boxed_slice(),
            hard_ok: phrase.hard_ok.clone().into_boxed_slice(),
            rules: Vec::new(),
            countries: Vec::new(),
            blocker: false,
        });
        self.dict.ends[node as usize].push(p);
        p
    }

    fn intern_for_rule(&mut self, phrase: &Phrase, slot: u32) -> u32 {
        let p = self.intern(phrase);
        let rules = &mut self.patterns[p as usize].rules;
        if rules.last() != Some(&slot) {
            rules.push(slot);
        }
        p
    }

    /// Interns every gazetteer name (once): the names of countries no rule
    /// watches are still needed to tell `Guinea` from `Equatorial Guinea`.
    fn intern_gazetteer(&mut self) {
        if !self.country_rules.is_empty() {
            return;
        }
        let gaz = gazetteer::get();
        for (index, phrases) in gaz.phrases.iter().enumerate() {
            // The table has a few hundred entries, far below u16::MAX.
            let country = CountryId::try_from(index).unwrap_or(CountryId::MAX);
            for phrase in phrases {
                let p = self.intern(phrase);
                let countries = &mut self.patterns[p as usize].countries;
                if !countries.contains(&country) {
                    countries.push(country);
                }
            }
        }
        for phrase in &gaz.blockers {
            let p = self.intern(phrase);
            self.patterns[p as usize].blocker = true;
        }
        self.country_rules = vec![Vec::new(); gaz.countries.len()];
    }

    /// Every rule that matches `article`, in rule id order.
    pub fn find(&self, article: &Article) -> Vec<Hit> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let mut tokens = Tokens::default();
        tokens.push_field(article.title, TITLE);
        tokens.push_field(article.body, BODY);
        let occurrences = self.scan(&tokens);
        if occurrences.is_empty() {
            return Vec::new();
        }
        let by_pattern = Postings::new(
            occurrences
                .iter()
                .enumerate()
                .map(|(i, o)| (o.pattern, to_u32(i))),
        );
        let by_country = Postings::new(self.countries_in(&occurrences));

        let mut candidates: Vec<u32> = Vec::new();
        for p in by_pattern.keys() {
            candidates.extend_from_slice(&self.patterns[p as usize].rules);
        }
        for c in by_country.keys() {
            if let Some(slots) = self.country_rules.get(c as usize) {
                candidates.extend_from_slice(slots);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();

        let mut hits: Vec<(i64, u32, Hit)> = Vec::new();
        let mut found: Vec<u32> = Vec::new();
        // Many rules match through the same occurrences (every
        // `country:Russia` of every chat): explain each set once.
        let mut explained: HashMap<Vec<u32>, Hit, FxBuildHasher> = HashMap::default();
        for slot in candidates {
            let rule = &self.rules[slot as usize];
            found.clear();
            match &rule.body {
                Body::AnyOf(patterns) => {
                    for &p in patterns {
                        found.extend(by_pattern.get(p));
                    }
                }
                Body::Country(c) => found.extend(by_country.get(u32::from(*c))),
                Body::Query {
                    expr,
                    positive,
                    all,
                } => {
                    if !expr.eval(&mut |p| by_pattern.get(*p).next().is_some()) {
                        continue;
                    }
                    for &p in positive {
                        found.extend(by_pattern.get(p));
                    }
                    // A true query whose positive terms are all absent (only
                    // possible with nested NOTs) still shows what it saw.
                    if found.is_empty() {
                        for &p in all {
                            found.extend(by_pattern.get(p));
                        }
                    }
                }
            }
            if found.is_empty() {
                continue;
            }
            found.sort_unstable();
            found.dedup();
            let hit = match explained.get(&found) {
                Some(known) => Hit {
                    rule_id: rule.id,
                    ..known.clone()
                },
                None => {
                    let hit = explain_hit(rule.id, article, &tokens, &occurrences, &found);
                    explained.insert(found.clone(), hit.clone());
                    hit
                }
            };
            hits.push((rule.id, slot, hit));
        }
        hits.sort_by_key(|(id, slot, _)| (*id, *slot));
        hits.into_iter().map(|(_, _, hit)| hit).collect()
    }

    /// All occurrences of all patterns, by start word then length.
    fn scan(&self, tokens: &Tokens) -> Vec<Occurrence> {
        let n = tokens.len();
        let ids: Vec<u32> = (0..n)
            .map(|i| self.dict.words.get(tokens.word(i)).copied().unwrap_or(NONE))
            .collect();
        let mut out = Vec::new();
        for start in 0..n {
            let id = ids[start];
            if id == NONE {
                continue;
            }
            let mut node = self.dict.first[id as usize];
            let field = tokens.tokens[start].field;
            let mut end = start + 1;
            while node != NONE {
                for &p in &self.dict.ends[node as usize] {
                    if self.patterns[p as usize].accepts(tokens, start, end) {
                        out.push(Occurrence {
                            pattern: p,
                            start: to_u32(start),
                            end: to_u32(end),
                        });
                    }
                }
                if end >= n || tokens.tokens[end].field != field || ids[end] == NONE {
                    break;
                }
                node = self
                    .dict
                    .edges
                    .get(&(node, ids[end]))
                    .copied()
                    .unwrap_or(NONE);
                end += 1;
            }
        }
        out
    }

    /// (country, occurrence index) for every gazetteer name that occurred
    /// outside a longer gazetteer name.
    fn countries_in(&self, occurrences: &[Occurrence]) -> Vec<(u32, u32)> {
        if self.country_rules.is_empty() {
            return Vec::new();
        }
        let places: Vec<(usize, Occurrence)> = occurrences
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, o)| self.patterns[o.pattern as usize].is_gazetteer())
            .collect();
        let mut out = Vec::new();
        for &(i, o) in &places {
            let countries = &self.patterns[o.pattern as usize].countries;
            if countries.is_empty() || places.iter().any(|&(_, q)| o.is_inside(q)) {
                continue;
            }
            out.extend(countries.iter().map(|&c| (u32::from(c), to_u32(i))));
        }
        out
    }
}

/// Patterns at least one of which occurs whenever `expr` (negated if
/// `negated`) is true, or `None` if it can be true with none of its terms.
/// Where an AND offers a choice, the most selective part is taken: the one
/// whose least specific term has the most words (phrases are rarer than
/// words), then the one with fewer terms.
fn required_terms(
    expr: &Expr<u32>,
    negated: bool,
    words: &impl Fn(u32) -> usize,
) -> Option<Vec<u32>> {
    // NOT pushed inwards: NOT (a AND b) = NOT a OR NOT b, and so on.
    let (parts, all_of) = match (expr, negated) {
        (Expr::Term(p), false) => return Some(vec![*p]),
        (Expr::Term(_), true) => return None,
        (Expr::Not(inner), _) => return required_terms(inner, !negated, words),
        (Expr::And(parts), false) | (Expr::Or(parts), true) => (parts, true),
        (Expr::Or(parts), false) | (Expr::And(parts), true) => (parts, false),
    };
    let sets = parts.iter().map(|p| required_terms(p, negated, words));
    if all_of {
        // Conjunction: any one part's set will do; take the most selective.
        let score = |set: &Vec<u32>| {
            let least = set.iter().map(|&p| words(p)).min().unwrap_or(0);
            (least, std::cmp::Reverse(set.len()))
        };
        sets.flatten().max_by_key(score)
    } else {
        // Disjunction: every part must contribute.
        let mut union = Vec::new();
        for set in sets {
            union.extend(set?);
        }
        union.sort_unstable();
        union.dedup();
        Some(union)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("rules", &self.rules.len())
            .field("words", &self.dict.words.len())
            .field("phrases", &self.dict.ends.len())
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

/// (key, occurrence index) pairs sorted by key, for per-article lookups.
struct Postings(Vec<(u32, u32)>);

impl Postings {
    fn new(pairs: impl IntoIterator<Item = (u32, u32)>) -> Postings {
        let mut v: Vec<(u32, u32)> = pairs.into_iter().collect();
        v.sort_unstable();
        Postings(v)
    }

    /// Distinct keys.
    fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(i, (k, _))| *i == 0 || self.0[i - 1].0 != *k)
            .map(|(_, (k, _))| *k)
    }

    /// Occurrence indices for `key`.
    fn get(&self, key: u32) -> impl Iterator<Item = u32> + '_ {
        let from = self.0.partition_point(|(k, _)| *k < key);
        self.0[from..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, o)| *o)
    }
}

/// The [`Hit`] of one rule: `found` holds the indices of its occurrences,
/// sorted and without repeats.
fn explain_hit(
    rule_id: i64,
    article: &Article,
    tokens: &Tokens,
    occurrences: &[Occurrence],
    found: &[u32],
) -> Hit {
    let mine: Vec<Occurrence> = found.iter().map(|&i| occurrences[i as usize]).collect();
    // A shorter match inside a longer one of the same rule (`Cleverly` in
    // `James Cleverly`) adds nothing to the explanation.
    let mut spans: Vec<(u32, u32)> = mine
        .iter()
        .filter(|o| !mine.iter().any(|q| o.is_inside(*q)))
        .map(|o| (o.start, o.end))
        .collect();
    spans.sort_unstable();
    spans.dedup();

    let field_text = |field: u8| {
        if field == TITLE {
            article.title
        } else {
            article.body
        }
    };
    let located: Vec<(u8, std::ops::Range<usize>)> = spans
        .iter()
        .map(|&(start, end)| {
            let first = &tokens.tokens[start as usize];
            let last = &tokens.tokens[end as usize - 1];
            (first.field, first.orig.start..last.orig.end)
        })
        .collect();

    let mut terms: Vec<String> = Vec::new();
    for (field, range) in &located {
        let term = explain::term_text(&field_text(*field)[range.clone()]);
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    // The snippet comes from the body when the body matched: alerts show the
    // headline anyway, and the body says more about the match.
    let snippet_field = if located.iter().any(|(f, _)| *f == BODY) {
        BODY
    } else {
        TITLE
    };
    let in_field: Vec<std::ops::Range<usize>> = located
        .iter()
        .filter(|(f, _)| *f == snippet_field)
        .map(|(_, r)| r.clone())
        .collect();
    let snippet = match in_field.first() {
        Some(first) => explain::snippet(field_text(snippet_field), first.clone(), &in_field),
        None => explain::Snippet {
            text: String::new(),
            highlights: Vec::new(),
        },
    };
    Hit {
        rule_id,
        terms,
        snippet,
    }
}

/// Ids are dense indices of in-memory tables; u32 is plenty (four billion
/// rules or words would not fit in memory anyway).
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(NONE)
}

/// The Fx hash (as in rustc): much faster than SipHash on the short keys
/// looked up for every word of every article. Its keys are rule words and
/// trie edges, which come from analysts, not from feeds, so flooding one
/// bucket would take a hostile analyst.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

type FxBuildHasher = BuildHasherDefault<FxHasher>;

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: u32) -> Expr<u32> {
        Expr::Term(p)
    }

    fn not(e: Expr<u32>) -> Expr<u32> {
        Expr::Not(Box::new(e))
    }

    /// (name, query, terms it is posted under)
    type RequiredCase = (&'static str, Expr<u32>, Option<Vec<u32>>);

    /// Patterns 0..10 are one word long, 10.. are two words.
    fn words(p: u32) -> usize {
        if p < 10 { 1 } else { 2 }
    }

    #[test]
    fn queries_are_posted_under_terms_that_must_occur() {
        let cases: &[RequiredCase] = &[
            ("term", t(1), Some(vec![1])),
            ("not_alone", not(t(1)), None),
            ("double_not", not(not(t(1))), Some(vec![1])),
            (
                "or_needs_all_parts",
                Expr::Or(vec![t(1), t(2)]),
                Some(vec![1, 2]),
            ),
            ("or_with_not_part", Expr::Or(vec![t(1), not(t(2))]), None),
            (
                "and_takes_the_phrase",
                Expr::And(vec![t(1), t(10)]),
                Some(vec![10]),
            ),
            (
                "and_skips_not",
                Expr::And(vec![t(1), not(t(2))]),
                Some(vec![1]),
            ),
            (
                "and_prefers_smaller_set",
                Expr::And(vec![Expr::Or(vec![t(1), t(2)]), t(3)]),
                Some(vec![3]),
            ),
            (
                "brief_example",
                Expr::And(vec![t(10), Expr::Or(vec![t(1), t(2)]), not(t(3))]),
                Some(vec![10]),
            ),
            (
                "de_morgan",
                not(Expr::And(vec![not(t(1)), not(t(2))])),
                Some(vec![1, 2]),
            ),
        ];
        for (name, expr, want) in cases {
            assert_eq!(required_terms(expr, false, &words), *want, "case {name}");
        }
    }
}
