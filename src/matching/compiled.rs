//! The compiled matcher: every rule of every chat in one structure.
//!
//! Compilation turns each rule into normalised phrases and interns them in
//! one dictionary shared by all rules:
//!
//! - `words`: every distinct normalised word of every phrase → word id; a
//!   wildcard word (`sanction*`) is a word too, found through its prefix;
//! - a trie over word ids (`first` for the first word, `edges` after it):
//!   each node is a distinct phrase prefix, and `ends[node]` lists the
//!   patterns whose phrase ends there;
//! - a pattern is a phrase plus its spelling requirements (`UN` typed as an
//!   acronym and `un` typed in lower case are two patterns of one phrase),
//!   with postings to the rule groups that use it and, for gazetteer names,
//!   the countries it names or is the capital of;
//! - a group is one distinct compiled rule: every chat's `country:Russia` is
//!   one group holding many rule ids, evaluated and explained once.
//!
//! Matching an article cuts it into words once ([`Analyzed`]), looks each word
//! up once (having first read where every word's lookup will land, so that at
//! 100,000 rules the cache misses overlap), and walks the trie from every word
//! for as long as the following words extend a known phrase (a hyphenated word
//! is tried both as its parts and as a whole): all occurrences of all phrases
//! are found, overlapping ones included (`Putin` and `Vladimir Putin`), and the
//! work depends on the text and the phrases present in it, not on how many
//! rules there are. Only the groups posted by a pattern or country that
//! occurred (the candidates) are then looked at: keyword and person rules match
//! when any of their patterns occurred in the title or body, country rules when
//! a name of the country (or, with `+capital`, a capital or seat) occurred
//! outside a longer name of another place, and queries are evaluated on the
//! occurrences, NEAR on their word positions. A query is posted only under a
//! set of its terms one of which must occur for it to be true (the idea of
//! Lucene Monitor's presearcher), so its common words and its NOT terms don't
//! make it a candidate for every article; a query with no such set would be
//! evaluated for every article and is counted in
//! [`MatcherStats::always_evaluated`] (parsing refuses them, so it stays 0). A
//! query posted under one part of an AND or NEAR also carries, in its posting,
//! the most selective other part ([`Posting::filter`]): a bit test on what
//! occurred drops it before the group is read, which at 100,000 rules is most
//! of the queries a common word posts.
//!
//! Deciding is kept apart from explaining: rules that matched the same
//! words share one explanation, built when first asked for.
//!
//! Rules are added and removed one at a time ([`Matcher::add_rule`],
//! [`Matcher::remove_rule`]) without touching the others. A removed rule's
//! patterns leave the trie when no rule uses them any more; its words and
//! trie nodes stay (they cost a little memory, no matching time) until the
//! next full build.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::hint::black_box;
use std::ops::Range;

use super::explain::{self, Explanation, Field, Hit, OddWhitespace, TermPosition};
use super::gazetteer::{self, CountryId};
use super::names;
use super::query::{Expr, Fields};
use super::rule::{Atom, CountryRef, Parsed, Person, Phrase, RuleSpec};
use super::token::{BODY, CaseReq, SOURCE, Shape, TITLE, Tokens, avalanche, to_u32, word_hash};

/// An article to match, as plain text (HTML already removed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Article<'a> {
    /// The headline.
    pub title: &'a str,
    /// The text: summary and/or content.
    pub body: &'a str,
    /// The feed or outlet name (matched only by `source:` in a query).
    pub source: &'a str,
}

/// An article normalised and cut into words: the part of matching that does
/// not depend on the rules. [`Matcher::find`] does it for you; analyse once
/// yourself to match one article against several matchers.
#[derive(Debug, Clone)]
pub struct Analyzed<'a> {
    article: Article<'a>,
    tokens: Tokens,
}

impl<'a> Analyzed<'a> {
    /// Normalises and cuts `article` (title, body and source).
    pub fn new(article: &Article<'a>) -> Analyzed<'a> {
        let mut tokens = Tokens::default();
        tokens.push_field(article.title, TITLE);
        tokens.push_field(article.body, BODY);
        tokens.push_field(article.source, SOURCE);
        Analyzed {
            article: *article,
            tokens,
        }
    }

    /// Number of words, all fields together.
    pub fn word_count(&self) -> usize {
        self.tokens.len()
    }

    fn field_text(&self, field: u8) -> &'a str {
        match field {
            TITLE => self.article.title,
            BODY => self.article.body,
            _ => self.article.source,
        }
    }
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
        self.matcher.add_rule(rule_id, spec);
    }

    /// The finished matcher.
    pub fn build(self) -> Matcher {
        self.matcher
    }
}

/// Every rule compiled into one structure. `Send + Sync`: share it in an
/// `Arc`; change it with [`Matcher::add_rule`] and [`Matcher::remove_rule`]
/// (through `Arc::make_mut`, which copies it only while a reader still holds
/// the old one), or build a new one.
#[derive(Clone, Default)]
pub struct Matcher {
    dict: Dictionary,
    patterns: Vec<Pattern>,
    /// Pattern id → its [`Spelling`], apart so that the walk's checks stay
    /// in few cache lines.
    spellings: Vec<Spelling>,
    /// Pattern id → its first posting ([`NO_POSTING`] for none) and how
    /// many it has ([`Pattern::groups`]): most patterns that occur are
    /// posted under once, and that posting is read here, 16 bytes per
    /// pattern, without reading the pattern (88) and then its postings.
    first_postings: Vec<(Posting, u32)>,
    free_patterns: Vec<u32>,
    groups: Vec<Group>,
    free_groups: Vec<u32>,
    group_of_body: HashMap<Body, u32, FxBuildHasher>,
    /// Rule id → its groups (one entry per time the id was added).
    groups_of_id: HashMap<i64, Vec<u32>, FxBuildHasher>,
    /// Country → groups posted under it; empty until the first rule that
    /// needs the gazetteer (its names are only interned then).
    country_groups: Vec<Vec<Posting>>,
    /// A bit per pattern id that is a place ([`Pattern::is_place`]): most
    /// patterns that occur are none, and are told so without reading them.
    places: Vec<u64>,
    /// Pattern sets that [`Posting::filter`]s name ([`FILTER_SET`]), one
    /// after the other, each its length then its patterns: one read finds
    /// a set. Kept until the next full build, as words are.
    filter_sets: Vec<u32>,
    /// Groups with no term to post them under, evaluated for every article.
    always: Vec<u32>,
    rule_count: usize,
}

/// Counts that describe a compiled matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatcherStats {
    /// Rules added and not removed.
    pub rules: usize,
    /// Distinct compiled rules: identical rules of several chats count once.
    pub distinct_rules: usize,
    /// Distinct phrases with their spelling requirements.
    pub patterns: usize,
    /// Distinct normalised words.
    pub words: usize,
    /// Distinct rules that no term posts, evaluated for every article.
    pub always_evaluated: usize,
}

/// "No such entry" in the dense id tables.
const NONE: u32 = u32::MAX;

/// The phrase dictionary: word ids and a trie over them.
#[derive(Clone, Default)]
struct Dictionary {
    /// Word → its id, by [`word_hash`]. Articles come with their words'
    /// hashes, so a lookup hashes nothing; a hit is checked against the word
    /// its [`Slot`] holds.
    ids: Table<Slot>,
    /// Word id → where its text is in `text`, and its one-word trie node.
    words: Vec<WordEntry>,
    /// Every word, one after the other.
    text: String,
    /// [`edge_hash`] of (node, next word id) → node.
    edges: Table<u32>,
    nodes: Vec<Node>,
    /// [`PrefixHash`] of a wildcard's prefix → the slot of the wildcard
    /// word (`sanction*`): its id and first node, with the prefix (not the
    /// word) to check a hit against.
    prefixes: Table<Slot>,
    /// Distinct prefix lengths in bytes, ascending.
    prefix_lens: Vec<usize>,
    /// Bit per [`PrefixHash`] of a prefix ([`PREFIX_GATE_BITS`] of them):
    /// a word's own prefixes are looked up only when their bit is set.
    prefix_gate: Vec<u64>,
    /// Bit per [`PrefixHash`] of the first [`PREFIX_START`] bytes (at most
    /// the shortest prefix's length) of a prefix: most words start like no
    /// prefix, and are done with after one load.
    start_gate: Vec<u64>,
}

/// How many first bytes of a word [`Dictionary::start_gate`] looks at.
const PREFIX_START: usize = 4;

/// Bits of [`Dictionary::prefix_gate`]: 8 KB, which stays in cache.
const PREFIX_GATE_BITS: usize = 1 << 16;

/// One word of the dictionary.
#[derive(Clone, Copy)]
struct WordEntry {
    start: u32,
    len: u32,
    /// Trie node of the one-word prefix, or [`NONE`].
    first: u32,
}

/// A word's id in a [`Dictionary`] table, with the word's length and
/// [`WordKey`]: an article's word is checked against most words without
/// reading other memory (at 100,000 rules, reading it was one cache miss
/// per word of an article).
#[derive(Clone, Copy)]
struct Slot {
    id: u32,
    /// The word's [`WordEntry::first`] (in [`Dictionary::prefixes`], the
    /// wildcard word's), kept here for the same reason, or a [`Sole`]
    /// instead where the node holds one pattern and nothing else.
    first: u32,
    len: u32,
    /// The word's [`WordKey`], in two fields so that the slot stays 24 bytes.
    tail: u32,
    head: u64,
}

/// A hash table in one array, probed in order from where a hash points
/// (open addressing), for the lookups of every word of an article: a
/// word absent from the dictionary, as most are, costs one read where the
/// hash points, and that place is known before the lookup, so that
/// [`Table::touch`] can fetch it for every word of an article at once.
/// Entries are never removed.
#[derive(Clone)]
struct Table<T> {
    /// (hash, value); [`Vacant::VACANT`] where none is. A power of two
    /// long, at least twice as long as it holds, so that most probes end
    /// at the first place or the next.
    entries: Vec<(u64, T)>,
    len: usize,
}

/// A value of a [`Table`], with one that marks an empty place.
trait Vacant: Copy {
    const VACANT: Self;
    fn is_vacant(&self) -> bool;
}

impl Vacant for Slot {
    const VACANT: Slot = Slot {
        id: NONE,
        first: NONE,
        len: 0,
        tail: 0,
        head: 0,
    };

    fn is_vacant(&self) -> bool {
        self.id == NONE
    }
}

impl Vacant for u32 {
    const VACANT: u32 = NONE;

    fn is_vacant(&self) -> bool {
        *self == NONE
    }
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            entries: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Vacant> Table<T> {
    /// The place of the first value under `hash` that `is` accepts.
    fn find(&self, hash: u64, is: impl Fn(&T) -> bool) -> Option<usize> {
        let mask = self.entries.len().checked_sub(1)?;
        let mut at = hash as usize & mask;
        loop {
            let (h, value) = &self.entries[at];
            if value.is_vacant() {
                return None;
            }
            if *h == hash && is(value) {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Reads the place where a lookup of `hash` begins, returning a value
    /// to fold into one that is kept: reads done one after the other in a
    /// loop of their own wait on memory together rather than in turn.
    fn touch(&self, hash: u64) -> u64 {
        let mask = self.entries.len().wrapping_sub(1);
        self.entries.get(hash as usize & mask).map_or(0, |e| e.0)
    }

    /// Every value.
    fn values(&self) -> impl Iterator<Item = &T> {
        self.entries
            .iter()
            .map(|(_, v)| v)
            .filter(|v| !v.is_vacant())
    }

    /// Adds `value` (not in the table) under `hash`.
    fn insert(&mut self, hash: u64, value: T) {
        if 2 * (self.len + 1) > self.entries.len() {
            let grown = vec![(0, T::VACANT); (2 * self.entries.len()).max(64)];
            let old = std::mem::replace(&mut self.entries, grown);
            self.len = 0;
            for (h, v) in old.into_iter().filter(|(_, v)| !v.is_vacant()) {
                self.insert(h, v);
            }
        }
        let mask = self.entries.len() - 1;
        let mut at = hash as usize & mask;
        while !self.entries[at].1.is_vacant() {
            at = (at + 1) & mask;
        }
        self.entries[at] = (hash, value);
        self.len += 1;
    }
}

/// The [`Table`] hash of the trie edge from `node` on word `word`: a
/// bijection, so that the hash alone tells edges apart.
fn edge_hash(node: u32, word: u32) -> u64 {
    avalanche(u64::from(node) << 32 | u64::from(word))
}

/// Bytes of a word in its [`WordKey`].
const HEAD: usize = 12;

/// A word's first [`HEAD`] bytes, little-endian and zero-padded, as two
/// numbers: what a [`Slot`] compares, and what wildcard prefixes are
/// hashed from. Words hold no zero bytes, so the padding tells lengths
/// apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WordKey {
    /// Bytes 0 to 7 ([`head`]).
    head: u64,
    /// Bytes 8 to 11.
    tail: u32,
}

impl WordKey {
    fn of(word: &[u8]) -> WordKey {
        WordKey {
            head: head(word),
            // The low 4 bytes of the rest's head: bytes 8 to 11.
            tail: head(word.get(8..).unwrap_or_default()) as u32,
        }
    }

    /// The key of the `len`-byte word `bytes` starts with (other text
    /// follows it): where [`HEAD`] bytes are there, two loads and two
    /// masks, with no branch on the word's length for the processor to
    /// guess.
    #[inline]
    fn at(bytes: &[u8], len: usize) -> WordKey {
        match (
            bytes.first_chunk::<8>(),
            bytes.get(8..).and_then(<[u8]>::first_chunk::<4>),
        ) {
            (Some(head), Some(tail)) => WordKey {
                head: u64::from_le_bytes(*head),
                tail: u32::from_le_bytes(*tail),
            }
            .prefix(len),
            _ => WordKey::of(&bytes[..len]),
        }
    }

    /// The key of the first `len` bytes of its word.
    #[inline]
    fn prefix(self, len: usize) -> WordKey {
        WordKey {
            head: self.head & low_bytes(len),
            // The low 4 bytes of the mask.
            tail: self.tail & low_bytes(len.saturating_sub(8)) as u32,
        }
    }
}

impl Slot {
    fn new(id: u32, word: &[u8]) -> Slot {
        let key = WordKey::of(word);
        Slot {
            id,
            first: NONE,
            len: to_u32(word.len()),
            tail: key.tail,
            head: key.head,
        }
    }

    /// Whether `word` (whose key is `key`) is this slot's word; `whole`
    /// gives all of it, and is called only for words longer than [`HEAD`]
    /// bytes.
    fn holds<'a>(&self, word: &[u8], key: WordKey, whole: impl FnOnce() -> &'a [u8]) -> bool {
        let n = word.len();
        // One test, with no branch on the length, for words of up to HEAD
        // bytes (most of them).
        let same = (self.len as usize == n) & (self.head == key.head) & (self.tail == key.tail);
        same && (n <= HEAD || whole()[HEAD..] == word[HEAD..])
    }
}

/// A [`Slot::first`] that stands for a one-word node holding one pattern,
/// which no phrase continues, and nothing else (in the benchmark at
/// 100,000 rules, about half of the words an article has in the
/// dictionary): the pattern and what its word's spelling must be, so that
/// the scan records it without reading the node. Node ids stay below
/// [`Sole::TAG`] (that would be 64 GB of nodes).
#[derive(Clone, Copy)]
struct Sole {
    pattern: u32,
    case: CaseReq,
}

impl Sole {
    const TAG: u32 = 1 << 31;
    const PATTERN: u32 = (1 << 29) - 1;

    /// The [`Slot::first`] that stands for `n`'s pattern, if `n` holds a
    /// [`Sole`] one (whose id leaves room for the tag: [`NONE`] has every
    /// bit set).
    fn encode(n: &Node) -> Option<u32> {
        (n.children == 0 && n.more.is_none() && n.one < Sole::PATTERN)
            .then_some(Sole::TAG | ((n.one_spelling.case & 3) as u32) << 29 | n.one)
    }

    /// The [`Sole`] a [`Slot::first`] stands for, if it stands for one.
    fn decode(first: u32) -> Option<Sole> {
        (first & Sole::TAG != 0 && first != NONE).then(|| Sole {
            pattern: first & Sole::PATTERN,
            case: CaseReq::from_bits(u64::from(first >> 29)),
        })
    }
}

/// One trie node: a distinct phrase prefix. 32 bytes: the scan reads one
/// for most words an article has in the dictionary, and at 100,000 rules
/// a smaller node is a cache miss less often.
#[derive(Clone, Default)]
struct Node {
    /// A pattern whose phrase ends here, or [`NONE`]; most nodes have at
    /// most one, kept inline with its spelling so that the walk reads no
    /// other memory.
    one: u32,
    /// The [`Spelling`] of `one`.
    one_spelling: Spelling,
    /// The others, if any: behind a thin pointer, as few nodes have them.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<u32>>>,
    /// A bit per word some phrase continues with after this node
    /// ([`Node::child_bit`]): most words that follow one have none set,
    /// and the edges are not looked up for them.
    children: u32,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Node>() == 32);

impl Node {
    fn child_bit(word: u32) -> u32 {
        1 << (word.wrapping_mul(0x9e37_79b9) >> 27)
    }

    fn patterns(&self) -> impl Iterator<Item = u32> + '_ {
        (self.one != NONE)
            .then_some(self.one)
            .into_iter()
            .chain(self.more.iter().flat_map(|more| more.iter().copied()))
    }
}

impl Dictionary {
    fn word(&self, id: u32) -> &str {
        let w = self.words[id as usize];
        &self.text[w.start as usize..(w.start + w.len) as usize]
    }

    /// The id of `word` (whose [`word_hash`] is `hash`), or [`NONE`].
    fn lookup(&self, word: &str, hash: u64) -> u32 {
        let word = word.as_bytes();
        self.lookup_first(word, WordKey::of(word), hash).0
    }

    /// The id of `word` (whose key is `key`) and its [`Slot::first`] (a
    /// node or a [`Sole`]), or [`NONE`] for both.
    fn lookup_first(&self, word: &[u8], key: WordKey, hash: u64) -> (u32, u32) {
        match self.slot_of(word, key, hash) {
            Some(at) => {
                let slot = &self.ids.entries[at].1;
                (slot.id, slot.first)
            }
            None => (NONE, NONE),
        }
    }

    /// The trie node after `node` on word `word`, if there is one.
    fn child(&self, node: u32, word: u32) -> Option<u32> {
        let at = self.edges.find(edge_hash(node, word), |_| true)?;
        Some(self.edges.entries[at].1)
    }

    /// Where `word` (whose key is `key`) is in [`Dictionary::ids`].
    fn slot_of(&self, word: &[u8], key: WordKey, hash: u64) -> Option<usize> {
        self.ids.find(hash, |slot| {
            slot.holds(word, key, || self.word(slot.id).as_bytes())
        })
    }

    fn word_id(&mut self, word: &str) -> u32 {
        let hash = word_hash(word);
        let found = self.lookup(word, hash);
        if found != NONE {
            return found;
        }
        let id = to_u32(self.words.len());
        self.words.push(WordEntry {
            start: to_u32(self.text.len()),
            len: to_u32(word.len()),
            first: NONE,
        });
        self.text.push_str(word);
        self.ids.insert(hash, Slot::new(id, word.as_bytes()));
        if let Some(prefix) = word.strip_suffix('*') {
            self.prefixes.insert(
                PrefixHash::of(prefix.as_bytes()),
                Slot::new(id, prefix.as_bytes()),
            );
            let start_len = self.start_len();
            if let Err(at) = self.prefix_lens.binary_search(&prefix.len()) {
                self.prefix_lens.insert(at, prefix.len());
            }
            if self.prefix_gate.is_empty() || self.start_len() < start_len {
                // A shorter prefix: the start gate looks at fewer bytes.
                self.prefix_gate = vec![0; PREFIX_GATE_BITS / 64];
                self.start_gate = vec![0; PREFIX_GATE_BITS / 64];
                let ids: Vec<u32> = self.prefixes.values().map(|s| s.id).collect();
                for id in ids {
                    self.gate_prefix(id);
                }
            } else {
                self.gate_prefix(id);
            }
        }
        id
    }

    /// Bytes the start gate looks at (see [`Dictionary::start_gate`]).
    fn start_len(&self) -> usize {
        self.prefix_lens.first().map_or(0, |&l| l.min(PREFIX_START))
    }

    /// Sets the gate bits of wildcard word `id`.
    fn gate_prefix(&mut self, id: u32) {
        let n = self.start_len();
        let prefix = self.word(id).trim_end_matches('*').as_bytes();
        let hashes = (PrefixHash::of(&prefix[..n]), PrefixHash::of(prefix));
        for (gate, hash) in [
            (&mut self.start_gate, hashes.0),
            (&mut self.prefix_gate, hashes.1),
        ] {
            let bit = PrefixHash::gate_bit(hash);
            gate[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn new_node(&mut self) -> u32 {
        self.nodes.push(Node {
            one: NONE,
            ..Node::default()
        });
        to_u32(self.nodes.len() - 1)
    }

    /// The trie node for `words`, created if needed, and the id of the
    /// first word.
    fn node(&mut self, words: &[Box<str>]) -> (u32, u32) {
        let (mut node, mut first_word) = (NONE, NONE);
        for (k, word) in words.iter().enumerate() {
            let id = self.word_id(word);
            node = if k == 0 {
                first_word = id;
                match self.words[id as usize].first {
                    NONE => {
                        let n = self.new_node();
                        self.words[id as usize].first = n;
                        // The word's slots are set by the `add_end` that
                        // follows ([`Dictionary::refresh_first`]).
                        n
                    }
                    n => n,
                }
            } else {
                match self.child(node, id) {
                    Some(n) => n,
                    None => {
                        let n = self.new_node();
                        self.edges.insert(edge_hash(node, id), n);
                        self.nodes[node as usize].children |= Node::child_bit(id);
                        n
                    }
                }
            };
        }
        (node, first_word)
    }

    /// Sets the [`Slot::first`] of word `id` in [`Dictionary::ids`] from
    /// its one-word node, after every change to that node: the only
    /// writer of it ([`Dictionary::node`] is always followed by an
    /// [`Dictionary::add_end`]).
    fn refresh_first(&mut self, id: u32) {
        let Some(&WordEntry { first, .. }) = self.words.get(id as usize) else {
            return;
        };
        let first = match self.nodes.get(first as usize) {
            Some(n) => Sole::encode(n).unwrap_or(first),
            None => first,
        };
        // The word's slot, and a wildcard's prefix slot too: a word matched
        // by it is begun from there.
        let word = self.word(id);
        let hash = word_hash(word);
        let prefix = word.strip_suffix('*').map(|p| PrefixHash::of(p.as_bytes()));
        for (table, hash) in [(&mut self.ids, Some(hash)), (&mut self.prefixes, prefix)] {
            if let Some(at) = hash.and_then(|h| table.find(h, |s| s.id == id)) {
                table.entries[at].1.first = first;
            }
        }
    }

    /// Adds pattern `p` to `node`, a phrase of `first_word`.
    fn add_end(&mut self, node: u32, p: u32, spelling: Spelling, first_word: u32) {
        let n = &mut self.nodes[node as usize];
        if n.one == NONE {
            n.one = p;
            n.one_spelling = spelling;
        } else {
            n.more.get_or_insert_default().push(p);
        }
        self.refresh_first(first_word);
    }

    /// Removes pattern `p` from `node`, a phrase of `first_word`;
    /// `spellings` are every pattern's.
    fn remove_end(&mut self, node: u32, p: u32, spellings: &[Spelling], first_word: u32) {
        let n = &mut self.nodes[node as usize];
        // `more` is there only when it holds a pattern.
        match (n.one == p, n.more.as_mut()) {
            (true, Some(more)) => {
                n.one = more.remove(0);
                n.one_spelling = spellings[n.one as usize];
            }
            (true, None) => {
                n.one = NONE;
                n.one_spelling = Spelling::default();
            }
            (false, Some(more)) => more.retain(|&q| q != p),
            (false, None) => {}
        }
        if n.more.as_ref().is_some_and(|more| more.is_empty()) {
            n.more = None;
        }
        self.refresh_first(first_word);
    }

    /// Whether a word (whose key is `key`) of `len` bytes passes the start
    /// gate of the wildcards, as most words don't: computed with no branch.
    fn may_match_wildcard(&self, len: usize, key: WordKey) -> bool {
        let shortest = self.prefix_lens.first().copied().unwrap_or(usize::MAX);
        let start = mix(key.head & low_bytes(self.start_len()));
        (shortest <= len) & PrefixHash::gate_has(&self.start_gate, start)
    }

    /// Calls `found` with the word id and [`WordEntry::first`] of every
    /// wildcard matching `word` (whose key is `key`): most words fail the
    /// start gate; the others' prefixes of every wildcard length are hashed
    /// from the key, and only those whose gate bit is set looked up.
    fn wildcards_of(&self, word: &[u8], key: WordKey, found: &mut impl FnMut(u32, u32)) {
        if self.may_match_wildcard(word.len(), key) {
            self.wildcards_past_gate(word, key, found);
        }
    }

    /// [`Dictionary::wildcards_of`] a word that passed the start gate.
    fn wildcards_past_gate(&self, word: &[u8], key: WordKey, found: &mut impl FnMut(u32, u32)) {
        for &len in &self.prefix_lens {
            if len > word.len() {
                return;
            }
            let hash = PrefixHash::of_prefix(word, key.head, len);
            if !PrefixHash::gate_has(&self.prefix_gate, hash) {
                continue;
            }
            let (prefix, key) = (&word[..len], key.prefix(len));
            let at = self.prefixes.find(hash, |slot| {
                slot.holds(prefix, key, || &self.word(slot.id).as_bytes()[..len])
            });
            if let Some(at) = at {
                let slot = &self.prefixes.entries[at].1;
                found(slot.id, slot.first);
            }
        }
    }
}

/// A hasher for keys that are hashes already ([`word_hash`]).
#[derive(Default, Clone, Copy)]
pub(crate) struct HashedKey(u64);

impl Hasher for HashedKey {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Up to the first 8 bytes of `bytes`, little-endian, zero-padded: every
/// prefix of up to 8 bytes is this masked ([`low_bytes`]), with no byte
/// loop (words hold no zero bytes, so the padding tells lengths apart).
fn head(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    match (
        bytes.first_chunk::<8>(),
        bytes.first_chunk::<4>(),
        bytes.last_chunk::<4>(),
    ) {
        (Some(first), _, _) => u64::from_le_bytes(*first),
        // Two loads that overlap: most words are this long.
        (None, Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first))
                | u64::from(u32::from_le_bytes(*last)) << (8 * (n - 4))
        }
        _ => bytes.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    }
}

/// The mask of the low `len` bytes of a [`head`], with no branch: one
/// load from a table that stays in cache.
fn low_bytes(len: usize) -> u64 {
    const MASKS: [u64; 9] = {
        let mut masks = [u64::MAX; 9];
        let mut n = 0;
        while n < 8 {
            masks[n] = (1 << (8 * n)) - 1;
            n += 1;
        }
        masks
    };
    MASKS[len.min(8)]
}

/// A hash of a [`head`], its high bits (the gates', [`PrefixHash::gate_bit`])
/// folded into the low ones (the hash map's bucket).
fn mix(key: u64) -> u64 {
    let x = key.wrapping_mul(FX_SEED);
    x ^ x >> 29
}

/// Hashes of wildcard prefixes, for [`Dictionary::prefixes`] and the gates
/// in front of it: a prefix of up to 8 bytes is hashed from its word's
/// [`head`] in a few instructions, however many prefix lengths are tried.
struct PrefixHash;

impl PrefixHash {
    fn of(bytes: &[u8]) -> u64 {
        let mut hash = mix(head(bytes));
        for chunk in bytes.get(8..).unwrap_or_default().chunks(8) {
            hash = mix(hash ^ head(chunk));
        }
        hash
    }

    /// [`PrefixHash::of`] the first `len` bytes of `word`, whose [`head`] is
    /// `head`.
    fn of_prefix(word: &[u8], head: u64, len: usize) -> u64 {
        match len {
            ..=8 => mix(head & low_bytes(len)),
            _ => PrefixHash::of(&word[..len]),
        }
    }

    fn gate_bit(hash: u64) -> usize {
        (hash >> 48) as usize % PREFIX_GATE_BITS
    }

    fn gate_has(gate: &[u64], hash: u64) -> bool {
        has_bit(gate, PrefixHash::gate_bit(hash))
    }
}

/// Whether bit `i` of the bit set `words` is set (none past its end).
fn has_bit(words: &[u64], i: usize) -> bool {
    words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Longest phrase a pattern holds, in words (rule parsing refuses longer).
pub(crate) const MAX_PATTERN_WORDS: usize = 32;

/// What a pattern needs from the words it matches, packed so that checking
/// it reads one small record: two bits of [`CaseReq`] per word, one bit per
/// gap that may hold punctuation.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Spelling {
    case: u64,
    hard_ok: u32,
    len: u8,
}

impl Spelling {
    fn of(phrase: &Phrase) -> Spelling {
        let mut s = Spelling {
            len: u8::try_from(phrase.words.len().min(MAX_PATTERN_WORDS)).unwrap_or(0),
            ..Spelling::default()
        };
        for (k, req) in phrase.case.iter().take(MAX_PATTERN_WORDS).enumerate() {
            s.case |= (*req as u64) << (2 * k);
        }
        for (k, ok) in phrase
            .hard_ok
            .iter()
            .take(MAX_PATTERN_WORDS - 1)
            .enumerate()
        {
            s.hard_ok |= u32::from(*ok) << k;
        }
        s
    }

    fn req(self, k: usize) -> CaseReq {
        CaseReq::from_bits(self.case >> (2 * k))
    }

    /// Whether the units of `path` are spelled and separated as required.
    fn accepts(self, path: &[Unit]) -> bool {
        for (k, u) in path.iter().enumerate() {
            if !self.req(k).accepts(u.shape) {
                return false;
            }
            if k > 0 && u.gap_hard && self.hard_ok & (1 << (k - 1)) == 0 {
                return false;
            }
        }
        true
    }
}

/// A phrase with spelling requirements, and who uses it.
#[derive(Clone, Default)]
struct Pattern {
    /// Its trie node.
    node: u32,
    /// The word id of its first word.
    first_word: u32,
    /// Groups posted under it.
    groups: Vec<Posting>,
    /// Groups whose rule uses it (posted or not).
    refs: u32,
    /// Countries it is a name of.
    countries: Vec<CountryId>,
    /// Countries it is a capital or seat of.
    capital_of: Vec<CountryId>,
    /// A place that is not a country (`Latin America`).
    blocker: bool,
    /// From the gazetteer: never freed.
    gazetteer: bool,
    /// How rarely it should occur, for choosing what a query is posted
    /// under: more words first, then a longer longest word (long words are
    /// rarer than short ones).
    rarity: u16,
}

impl Pattern {
    fn is_place(&self) -> bool {
        self.blocker || !self.countries.is_empty() || !self.capital_of.is_empty()
    }

    fn names(&self, country: CountryId) -> bool {
        self.countries.contains(&country) || self.capital_of.contains(&country)
    }
}

/// One distinct compiled rule and the ids of the rules that compiled to it.
#[derive(Clone)]
struct Group {
    body: Body,
    /// Rule ids, ascending (an id added twice is here twice).
    ids: Box<[i64]>,
}

// One cache line (on 64-bit targets): every candidate group of an
// article is read, and at 100,000 rules most of those reads are cache
// misses.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Group>() == 64);

/// A compiled rule.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Body {
    /// Matches when any of these patterns occurs in the title or body
    /// (keyword, person); sorted.
    AnyOf(Box<[u32]>),
    /// Matches when a name of the person occurs in the title or body.
    Person(Box<PersonTerm>),
    /// Matches when a name of the country occurs in the title or body.
    Country(CountryRef),
    /// Matches when the query is true of the occurrences (also person and
    /// country rules with `NOT …`).
    Query(Expr<Term>),
}

/// A compiled query term.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Term {
    /// Any of these patterns (sorted), in these fields.
    Patterns(Box<[u32]>, Fields),
    /// A name of the person, in these fields.
    Person(Box<PersonTerm>, Fields),
    /// A name of the country, in these fields.
    Country(CountryRef, Fields),
}

impl Term {
    fn patterns(&self) -> Vec<u32> {
        match self {
            Term::Patterns(ps, _) => ps.to_vec(),
            Term::Person(p, _) => p.patterns().collect(),
            Term::Country(..) => Vec::new(),
        }
    }
}

/// A compiled person (see [`Person`]): patterns sorted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PersonTerm {
    full: Box<[u32]>,
    surnames: Box<[u32]>,
    strict: Box<[u32]>,
    given: Box<[Box<str>]>,
}

impl PersonTerm {
    fn patterns(&self) -> impl Iterator<Item = u32> + '_ {
        self.full
            .iter()
            .chain(self.surnames.iter())
            .chain(self.strict.iter())
            .copied()
    }
}

/// What the presearcher posts a group under.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Pattern(u32),
    Country(CountryId),
}

/// A group posted under a key, with a second condition that must hold for
/// it to match, checked on a bit of the article's summary before the group
/// itself is read: most queries posted under a word that occurs lack their
/// other part, and reading thousands of them costs a cache miss each.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Posting {
    group: u32,
    /// [`NONE`], or a pattern id (that pattern or `or`), or [`FILTER_SET`]
    /// | where a set starts in [`Matcher::filter_sets`] (one of those
    /// patterns), or [`FILTER_COUNTRY`] | a country id (named in the
    /// article).
    filter: u32,
    /// With a pattern `filter`, another pattern that will do as well, or
    /// [`NONE`]: a person's full name and surname need no set.
    or: u32,
}

/// [`Matcher::first_postings`] of a pattern with no postings.
const NO_POSTING: Posting = Posting {
    group: NONE,
    filter: NONE,
    or: NONE,
};

/// How good a set of keys is to post or filter under: its least selective
/// term's selectivity, then fewer keys.
type Rank = (usize, std::cmp::Reverse<usize>);

/// Words `start..end` of an analysed article.
type WordSpan = (u32, u32);

/// Tag of a [`Posting::filter`] naming a set of patterns.
const FILTER_SET: u32 = 1 << 30;
/// Tag of a [`Posting::filter`] naming a country.
const FILTER_COUNTRY: u32 = 2 << 30;
/// The value part of a [`Posting::filter`].
const FILTER_VALUE: u32 = (1 << 30) - 1;

/// A word, or a hyphenated word as a whole, that a phrase word can match.
#[derive(Debug, Clone, Copy)]
struct Unit {
    id: u32,
    start: u32,
    end: u32,
    shape: Shape,
    gap_hard: bool,
}

/// One occurrence of a pattern: words `start..end` of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Occurrence {
    pattern: u32,
    start: u32,
    end: u32,
    field: u8,
}

impl Occurrence {
    fn len(self) -> u32 {
        self.end - self.start
    }

    /// Strictly inside `other`: covered by it, and shorter.
    fn is_inside(self, other: Occurrence) -> bool {
        other.start <= self.start && self.end <= other.end && other.len() > self.len()
    }

    /// Words between the two, 0 when they touch or overlap.
    fn distance(self, other: Occurrence) -> u32 {
        other
            .start
            .saturating_sub(self.end)
            .max(self.start.saturating_sub(other.end))
    }
}

impl Matcher {
    /// A matcher with no rules.
    pub fn empty() -> Matcher {
        Matcher::default()
    }

    /// Number of rules compiled in.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// Counts that describe the compiled structure.
    pub fn stats(&self) -> MatcherStats {
        MatcherStats {
            rules: self.rule_count,
            distinct_rules: self.group_of_body.len(),
            patterns: self.patterns.len() - self.free_patterns.len(),
            words: self.dict.words.len(),
            always_evaluated: self.always.len(),
        }
    }

    /// Adds rule `rule_id`, leaving every other rule as it is. A repeated id
    /// gives one hit per time it was added.
    pub fn add_rule(&mut self, rule_id: i64, spec: &RuleSpec) {
        let body = self.compile(spec);
        let group = match self.group_of_body.get(&body) {
            Some(&g) => {
                // `compile` took references for this copy of the body.
                self.release_body(&body);
                g
            }
            None => self.new_group(body),
        };
        let ids = &mut self.groups[group as usize].ids;
        let mut grown = std::mem::take(ids).into_vec();
        grown.insert(grown.partition_point(|&id| id <= rule_id), rule_id);
        *ids = grown.into_boxed_slice();
        self.groups_of_id.entry(rule_id).or_default().push(group);
        self.rule_count += 1;
    }

    /// Removes every rule added as `rule_id`; false if there was none.
    pub fn remove_rule(&mut self, rule_id: i64) -> bool {
        let Some(groups) = self.groups_of_id.remove(&rule_id) else {
            return false;
        };
        for g in groups {
            let group = &mut self.groups[g as usize];
            if let Ok(at) = group.ids.binary_search(&rule_id) {
                let mut ids = std::mem::take(&mut group.ids).into_vec();
                ids.remove(at);
                group.ids = ids.into_boxed_slice();
                self.rule_count -= 1;
            }
            if group.ids.is_empty() {
                self.drop_group(g);
            }
        }
        true
    }

    /// The body of `spec`, with its patterns interned and referenced.
    fn compile(&mut self, spec: &RuleSpec) -> Body {
        match spec.parsed() {
            Parsed::Keyword(term) => Body::AnyOf(self.intern_all(&term.variants)),
            Parsed::Person { person, exclude } if exclude.is_empty() => {
                Body::Person(Box::new(self.compile_person(person)))
            }
            Parsed::Country { country, exclude } if exclude.is_empty() => {
                self.intern_gazetteer();
                Body::Country(*country)
            }
            Parsed::Person { person, exclude } => {
                let me = Expr::Term(Atom::Person {
                    person: person.clone(),
                    fields: Fields::CONTENT,
                });
                Body::Query(self.compile_query(&with_exclusions(me, exclude)))
            }
            Parsed::Country { country, exclude } => {
                let me = Expr::Term(Atom::Country {
                    country: *country,
                    fields: Fields::CONTENT,
                });
                Body::Query(self.compile_query(&with_exclusions(me, exclude)))
            }
            Parsed::Query(expr) => Body::Query(self.compile_query(expr)),
        }
    }

    fn compile_query(&mut self, expr: &Expr<Atom>) -> Expr<Term> {
        let mapped = expr
            .clone()
            .try_map::<Term, std::convert::Infallible>(&mut |atom| {
                Ok(match atom {
                    Atom::Phrases { phrases, fields } => {
                        Term::Patterns(self.intern_all(&phrases), fields)
                    }
                    Atom::Person { person, fields } => {
                        Term::Person(Box::new(self.compile_person(&person)), fields)
                    }
                    Atom::Country { country, fields } => {
                        self.intern_gazetteer();
                        Term::Country(country, fields)
                    }
                })
            });
        match mapped {
            Ok(e) => e,
            Err(never) => match never {},
        }
    }

    fn compile_person(&mut self, person: &Person) -> PersonTerm {
        let mut given: Vec<Box<str>> = person.given.clone();
        given.sort_unstable();
        PersonTerm {
            full: self.intern_all(&person.full),
            surnames: self.intern_all(&person.surnames),
            strict: self.intern_all(&person.strict),
            given: given.into_boxed_slice(),
        }
    }

    /// Interns each phrase and takes one reference on each distinct pattern.
    fn intern_all(&mut self, phrases: &[Phrase]) -> Box<[u32]> {
        let mut ids: Vec<u32> = phrases.iter().map(|p| self.intern(p)).collect();
        ids.sort_unstable();
        ids.dedup();
        for &p in &ids {
            self.patterns[p as usize].refs += 1;
        }
        ids.into_boxed_slice()
    }

    /// Gives back the references `compile` took for `body`.
    fn release_body(&mut self, body: &Body) {
        let release = |m: &mut Matcher, ps: &[u32]| {
            for &p in ps {
                let pat = &mut m.patterns[p as usize];
                pat.refs -= 1;
                if pat.refs == 0 && !pat.gazetteer {
                    m.free_pattern(p);
                }
            }
        };
        match body {
            Body::AnyOf(ps) => release(self, ps),
            Body::Person(p) => {
                for ps in [&p.full, &p.surnames, &p.strict] {
                    release(self, ps);
                }
            }
            Body::Country(_) => {}
            Body::Query(expr) => {
                let mut lists = Vec::new();
                expr.visit_terms(true, &mut |t, _| match t {
                    Term::Person(p, _) => {
                        lists.extend([p.full.to_vec(), p.surnames.to_vec(), p.strict.to_vec()])
                    }
                    _ => lists.push(t.patterns()),
                });
                for ps in lists {
                    release(self, &ps);
                }
            }
        }
    }

    fn free_pattern(&mut self, p: u32) {
        let Pattern {
            node, first_word, ..
        } = self.patterns[p as usize];
        self.dict.remove_end(node, p, &self.spellings, first_word);
        self.patterns[p as usize] = Pattern::default();
        self.spellings[p as usize] = Spelling::default();
        self.first_postings[p as usize] = (NO_POSTING, 0);
        self.free_patterns.push(p);
    }

    fn new_group(&mut self, body: Body) -> u32 {
        let keys = match &body {
            Body::AnyOf(ps) => Some(ps.iter().map(|&p| Key::Pattern(p)).collect()),
            Body::Person(p) => {
                let mut keys: Vec<Key> = p.patterns().map(Key::Pattern).collect();
                keys.sort_unstable();
                keys.dedup();
                Some(keys)
            }
            Body::Country(c) => Some(vec![Key::Country(c.id)]),
            Body::Query(expr) => {
                required_terms(expr, false, &|t: &Term| self.selectivity(t)).map(|terms| {
                    let mut keys: Vec<Key> = terms.iter().flat_map(Term::keys).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    keys
                })
            }
        };
        let (filter, or) = match (&body, &keys) {
            (Body::Query(expr), Some(posted)) => self.query_filter(expr, posted),
            _ => (NONE, NONE),
        };
        let group = Group {
            body: body.clone(),
            ids: Box::default(),
        };
        let g = match self.free_groups.pop() {
            Some(g) => {
                self.groups[g as usize] = group;
                g
            }
            None => {
                self.groups.push(group);
                to_u32(self.groups.len() - 1)
            }
        };
        match keys {
            Some(keys) => {
                let posting = Posting {
                    group: g,
                    filter,
                    or,
                };
                for key in keys {
                    match key {
                        Key::Pattern(p) => {
                            self.patterns[p as usize].groups.push(posting);
                            self.update_first_posting(p);
                        }
                        Key::Country(c) => {
                            if let Some(gs) = self.country_groups.get_mut(usize::from(c)) {
                                gs.push(posting);
                            }
                        }
                    }
                }
            }
            None => self.always.push(g),
        }
        self.group_of_body.insert(body, g);
        g
    }

    fn drop_group(&mut self, g: u32) {
        let group = std::mem::replace(
            &mut self.groups[g as usize],
            Group {
                body: Body::AnyOf(Box::new([])),
                ids: Box::default(),
            },
        );
        self.group_of_body.remove(&group.body);
        // Empty but for rules with no positive term, which parsing refuses.
        self.always.retain(|&a| a != g);
        // A group is posted under a subset of its body's keys: clean all.
        let mut keys: Vec<Key> = Vec::new();
        match &group.body {
            Body::AnyOf(ps) => keys.extend(ps.iter().map(|&p| Key::Pattern(p))),
            Body::Person(p) => keys.extend(p.patterns().map(Key::Pattern)),
            Body::Country(c) => keys.push(Key::Country(c.id)),
            Body::Query(expr) => expr.visit_terms(true, &mut |t, _| keys.extend(t.keys())),
        }
        for key in keys {
            match key {
                Key::Pattern(p) => {
                    self.patterns[p as usize].groups.retain(|q| q.group != g);
                    self.update_first_posting(p);
                }
                Key::Country(c) => {
                    if let Some(gs) = self.country_groups.get_mut(usize::from(c)) {
                        gs.retain(|q| q.group != g);
                    }
                }
            }
        }
        self.release_body(&group.body);
        self.free_groups.push(g);
    }

    /// Updates [`Matcher::first_postings`] after pattern `p`'s postings
    /// changed.
    fn update_first_posting(&mut self, p: u32) {
        let groups = &self.patterns[p as usize].groups;
        self.first_postings[p as usize] = (
            groups.first().copied().unwrap_or(NO_POSTING),
            to_u32(groups.len()),
        );
    }

    /// The [`Posting::filter`] of a query posted under `posted`: another
    /// part of a top-level AND or NEAR, all of which must hold, that needs
    /// one of its own terms to occur; the most selective such part.
    fn query_filter(&mut self, expr: &Expr<Term>, posted: &[Key]) -> (u32, u32) {
        let (Expr::And(parts) | Expr::Near(parts, _)) = expr else {
            return (NONE, NONE);
        };
        let score = |t: &Term| self.selectivity(t);
        // (least selectivity, fewer keys first) of the best part, its keys.
        let mut best: Option<(Rank, Vec<Key>)> = None;
        let mut skipped_posted = false;
        for part in parts {
            let Some(terms) = required_terms(part, false, &score) else {
                continue;
            };
            let mut keys: Vec<Key> = terms.iter().flat_map(Term::keys).collect();
            keys.sort_unstable();
            keys.dedup();
            if !skipped_posted && keys == posted {
                skipped_posted = true;
                continue;
            }
            let least = terms.iter().map(score).min().unwrap_or(0);
            let rank = (least, std::cmp::Reverse(keys.len()));
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, keys));
            }
        }
        let Some((_, keys)) = best else {
            return (NONE, NONE);
        };
        match keys[..] {
            [Key::Country(c)] => (FILTER_COUNTRY | u32::from(c), NONE),
            [Key::Pattern(p)] if p <= FILTER_VALUE => (p, NONE),
            [Key::Pattern(p), Key::Pattern(q)] if p <= FILTER_VALUE => (p, q),
            _ => {
                let patterns: Option<Vec<u32>> = keys
                    .iter()
                    .map(|k| match k {
                        Key::Pattern(p) => Some(*p),
                        Key::Country(_) => None,
                    })
                    .collect();
                match patterns {
                    Some(ps) if self.filter_sets.len() + ps.len() < FILTER_VALUE as usize => {
                        let start = to_u32(self.filter_sets.len());
                        self.filter_sets.push(to_u32(ps.len()));
                        self.filter_sets.extend_from_slice(&ps);
                        (FILTER_SET | start, NONE)
                    }
                    _ => (NONE, NONE),
                }
            }
        }
    }

    /// The filter set that starts at `start` in [`Matcher::filter_sets`].
    fn filter_set(&self, start: usize) -> &[u32] {
        let len = self.filter_sets[start] as usize;
        &self.filter_sets[start + 1..start + 1 + len]
    }

    /// How rare a term's occurrences are: its commonest pattern's
    /// [`Pattern::rarity`]; a country counts as a two-word phrase.
    fn selectivity(&self, term: &Term) -> usize {
        match term {
            Term::Patterns(ps, _) => ps
                .iter()
                .map(|&p| usize::from(self.patterns[p as usize].rarity))
                .min()
                .unwrap_or(0),
            Term::Person(p, _) => p
                .patterns()
                .map(|q| usize::from(self.patterns[q as usize].rarity))
                .min()
                .unwrap_or(0),
            Term::Country(..) => 2 << 6,
        }
    }

    /// The pattern for `phrase`, created if needed (no reference taken).
    fn intern(&mut self, phrase: &Phrase) -> u32 {
        let (node, first_word) = self.dict.node(&phrase.words);
        let spelling = Spelling::of(phrase);
        let found = self.dict.nodes[node as usize]
            .patterns()
            .find(|&p| self.spellings[p as usize] == spelling);
        if let Some(p) = found {
            return p;
        }
        let longest = phrase
            .words
            .iter()
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        let pattern = Pattern {
            node,
            first_word,
            rarity: u16::try_from(
                (phrase.words.len().min(MAX_PATTERN_WORDS) << 6) | longest.min(63),
            )
            .unwrap_or(u16::MAX),
            ..Pattern::default()
        };
        let p = match self.free_patterns.pop() {
            Some(p) => {
                self.patterns[p as usize] = pattern;
                self.spellings[p as usize] = spelling;
                p
            }
            None => {
                self.patterns.push(pattern);
                self.spellings.push(spelling);
                self.first_postings.push((NO_POSTING, 0));
                to_u32(self.patterns.len() - 1)
            }
        };
        self.dict.add_end(node, p, spelling, first_word);
        p
    }

    /// Interns every gazetteer name (once): the names of countries no rule
    /// watches are still needed to tell `Guinea` from `Equatorial Guinea`.
    fn intern_gazetteer(&mut self) {
        if !self.country_groups.is_empty() {
            return;
        }
        let gaz = gazetteer::get();
        for (index, (names, capitals)) in gaz.phrases.iter().zip(&gaz.capital_phrases).enumerate() {
            // The table has a few hundred entries, far below u16::MAX.
            let country = CountryId::try_from(index).unwrap_or(CountryId::MAX);
            for (phrase, is_capital) in names
                .iter()
                .map(|p| (p, false))
                .chain(capitals.iter().map(|p| (p, true)))
            {
                let p = self.intern(phrase);
                let pat = &mut self.patterns[p as usize];
                pat.gazetteer = true;
                let list = if is_capital {
                    &mut pat.capital_of
                } else {
                    &mut pat.countries
                };
                if !list.contains(&country) {
                    list.push(country);
                }
            }
        }
        for phrase in &gaz.blockers {
            let p = self.intern(phrase);
            let pat = &mut self.patterns[p as usize];
            pat.blocker = true;
            pat.gazetteer = true;
        }
        // Gazetteer patterns are never freed: their ids stay places.
        self.places = vec![0; self.patterns.len().div_ceil(64)];
        for (p, pat) in self.patterns.iter().enumerate() {
            if pat.is_place() {
                self.places[p / 64] |= 1 << (p % 64);
            }
        }
        self.country_groups = vec![Vec::new(); gaz.countries.len()];
    }

    /// Every rule that matches `article`, in rule id order.
    pub fn find(&self, article: &Article) -> Vec<Hit> {
        if self.rule_count == 0 {
            return Vec::new();
        }
        self.find_in(&Analyzed::new(article)).into_hits()
    }

    /// Every rule that matches an analysed article, grouped: rules that
    /// compiled to the same thing share one explanation, so the cost does
    /// not grow with how many chats watch the same thing. Deciding which
    /// rules match, and on which words, is done here; the explanations'
    /// text (terms as written, snippets) is built when first asked for.
    pub fn find_in<'m, 'd>(&'m self, doc: &'d Analyzed<'d>) -> Matches<'m, 'd> {
        let mut matches = Matches {
            doc,
            groups: Vec::new(),
            sets: Vec::new(),
            found: Vec::new(),
            explanations: Vec::new(),
            odd_whitespace: Default::default(),
        };
        if self.rule_count == 0 {
            return matches;
        }
        // The working vectors of the last article on this thread, reused:
        // at 100,000 rules allocating and growing them anew cost a tenth of
        // the time.
        SCRATCH.with(|cell| {
            let mut scratch = cell.take();
            self.decide(doc, &mut scratch, &mut matches);
            scratch.reset();
            cell.replace(scratch);
        });
        matches
    }

    /// [`Matcher::find_in`]'s work, in `scratch`.
    fn decide<'m, 'd>(
        &'m self,
        doc: &'d Analyzed<'d>,
        scratch: &mut Scratch,
        matches: &mut Matches<'m, 'd>,
    ) {
        let Scratch {
            scan,
            occurrences,
            by_pattern,
            bits,
            candidates,
            by_set,
            found,
            sorted,
            spans,
            sets_by_hash,
            same_hash,
        } = scratch;
        self.scan(&doc.tokens, scan, occurrences);
        if occurrences.is_empty() && self.always.is_empty() {
            return;
        }
        by_pattern.fill(occurrences);
        // Two bits per pattern: occurred in the title or body, and occurred
        // anywhere.
        bits.resize((2 * self.patterns.len()).div_ceil(64), 0);
        for o in occurrences.iter() {
            let at = 2 * o.pattern as usize;
            bits[at / 64] |= (1 | u64::from(Fields::CONTENT.contains(o.field)) << 1) << (at % 64);
        }
        let seen = Seen {
            tokens: &doc.tokens,
            by_pattern,
            places: self.places_in(occurrences),
            in_content: bits,
            occurrences,
        };
        let mut countries = vec![0u64; self.country_groups.len().div_ceil(64)];
        for &(c, _, _) in &seen.places {
            countries[usize::from(c) / 64] |= 1 << (c % 64);
        }
        let passes = |posting: &Posting| match posting.filter & !FILTER_VALUE {
            _ if posting.filter == NONE => true,
            0 => seen.occurred(posting.filter) || (posting.or != NONE && seen.occurred(posting.or)),
            FILTER_SET => self
                .filter_set((posting.filter & FILTER_VALUE) as usize)
                .iter()
                .any(|&p| seen.occurred(p)),
            _ => has_bit(&countries, (posting.filter & FILTER_VALUE) as usize),
        };

        candidates.extend_from_slice(&self.always);
        // The first postings of the patterns that occurred, gathered in a
        // pass of their own: the reads don't wait on each other there, so
        // a big matcher's cache misses overlap instead of stalling the loop
        // below one after the other (as in [`Matcher::scan`]).
        let firsts: Vec<(u32, (Posting, u32))> = seen
            .by_pattern
            .patterns
            .iter()
            .map(|&p| (p, self.first_postings[p as usize]))
            .collect();
        // Postings filtered on a set of patterns: (group, set), their sets
        // read below in passes of their own.
        let mut post = |posting: &Posting| {
            if posting.filter != NONE && posting.filter & !FILTER_VALUE == FILTER_SET {
                by_set.push((posting.group, posting.filter & FILTER_VALUE));
            } else if passes(posting) {
                candidates.push(posting.group);
            }
        };
        for (p, (first, n)) in firsts {
            let rest = match n {
                0 | 1 => &[][..],
                _ => &self.patterns[p as usize].groups[1..],
            };
            std::iter::once(&first)
                .take(n as usize)
                .chain(rest)
                .for_each(&mut post);
        }
        let mut last_country = None;
        for &(c, _, _) in &seen.places {
            if last_country != Some(c) {
                last_country = Some(c);
                if let Some(gs) = self.country_groups.get(usize::from(c)) {
                    gs.iter().for_each(&mut post);
                }
            }
        }
        let sets: Vec<&[u32]> = by_set
            .iter()
            .map(|&(_, s)| self.filter_set(s as usize))
            .collect();
        black_box(
            sets.iter()
                .fold(0u32, |acc, s| acc ^ s.first().copied().unwrap_or(0)),
        );
        for (&(g, _), set) in by_set.iter().zip(&sets) {
            if set.iter().any(|&p| seen.occurred(p)) {
                candidates.push(g);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        // The groups read in a pass of their own, for the same reason.
        candidates.retain(|&g| !self.groups[g as usize].ids.is_empty());
        // What the groups point to, read ahead in a loop of its own, then
        // looked at in a third pass: a keyword or person
        // rule whose patterns occurred only outside the title and body
        // (where they don't count) is dropped here already.
        black_box(candidates.iter().fold(0, |acc, &g| {
            acc ^ match &self.groups[g as usize].body {
                Body::AnyOf(ps) => ps.first().copied().unwrap_or(0),
                Body::Person(p) => p.patterns().next().unwrap_or(0),
                _ => 0,
            }
        }));
        candidates.retain(|&g| match &self.groups[g as usize].body {
            Body::AnyOf(ps) => ps.iter().any(|&p| seen.in_content(p)),
            Body::Person(p) => p.patterns().any(|q| seen.in_content(q)),
            _ => true,
        });

        matches.groups.reserve(candidates.len());
        matches.sets.reserve(candidates.len());
        // Different rules may match through the same occurrences
        // (`keyword:Russia` and `country:Russia`): one explanation per set.
        // Hash → the last set with it; each set → the one before with the
        // same hash ([`NONE`] for none).
        for &g in candidates.iter() {
            let group = &self.groups[g as usize];
            if group.ids.is_empty() {
                continue;
            }
            found.clear();
            let mut anchor = None;
            let matched = match &group.body {
                Body::AnyOf(ps) => {
                    for &p in ps.iter() {
                        if seen.in_content(p) {
                            found.extend(seen.in_fields(p, Fields::CONTENT));
                        }
                    }
                    !found.is_empty()
                }
                Body::Person(p) => {
                    seen.person_occurrences(p, Fields::CONTENT, found);
                    !found.is_empty()
                }
                Body::Country(c) => {
                    found.extend(seen.of_country(*c, Fields::CONTENT));
                    !found.is_empty()
                }
                Body::Query(expr) => {
                    let matched = seen.eval(expr, true, &mut anchor);
                    if matched {
                        expr.visit_terms(true, &mut |t, positive| {
                            if positive {
                                seen.occurrences_of(t, found);
                            }
                        });
                        // A true query whose positive terms are all absent
                        // (only possible with nested NOTs) still shows what
                        // it saw.
                        if found.is_empty() {
                            expr.visit_terms(true, &mut |t, _| seen.occurrences_of(t, found));
                        }
                    }
                    matched
                }
            };
            if !matched {
                continue;
            }
            // The explanation depends only on the words matched: rules
            // that matched the same words through different patterns
            // (`keyword:Russia`, `country:Russia`) share one.
            outermost_spans(seen.occurrences, found, sorted, spans);
            let anchor = anchor.map(|a| {
                let o = seen.occurrences[a as usize];
                (o.start, o.end)
            });
            // A cheap key; sets that share it are told apart by comparing.
            let hash = {
                let mut h = FxHasher::default();
                h.add(spans.len() as u64);
                let (first, last) = (spans.first(), spans.last());
                h.add(first.map_or(0, |&(s, e)| u64::from(s) << 32 | u64::from(e)));
                h.add(last.map_or(0, |&(s, e)| u64::from(s) << 32 | u64::from(e)));
                h.add(anchor.map_or(u64::MAX, |(s, e)| u64::from(s) << 32 | u64::from(e)));
                h.finish()
            };
            let mut existing = None;
            let mut m = sets_by_hash.get(&hash).copied().unwrap_or(NONE);
            while m != NONE {
                let (range, a) = &matches.sets[m as usize];
                if *a == anchor
                    && matches.found[range.start as usize..range.end as usize] == spans[..]
                {
                    existing = Some(m);
                    break;
                }
                m = same_hash[m as usize];
            }
            let set = match existing {
                Some(m) => m,
                None => {
                    let start = to_u32(matches.found.len());
                    matches.found.extend_from_slice(spans);
                    let m = to_u32(matches.sets.len());
                    matches
                        .sets
                        .push((start..to_u32(matches.found.len()), anchor));
                    same_hash.push(sets_by_hash.insert(hash, m).unwrap_or(NONE));
                    m
                }
            };
            matches.groups.push((&group.ids, set));
        }
        matches.explanations = vec![OnceCell::new(); matches.sets.len()];
    }

    /// All occurrences of all patterns, by start word then length.
    fn scan(&self, tokens: &Tokens, scratch: &mut ScanScratch, out: &mut Vec<Occurrence>) {
        let n = tokens.len();
        if self.dict.words.is_empty() {
            return;
        }
        let ScanScratch {
            ids,
            starts,
            wild,
            path,
            extra,
        } = scratch;
        ids.clear();
        // The words that begin a pattern, with their first trie node, and
        // the words past the wildcards' start gate (most are neither),
        // listed without a branch per word: whether a word is in the
        // dictionary is a guess the processor often gets wrong.
        starts.resize(n, (0, NONE));
        wild.resize(n, 0);
        // Every word's slot read first, in a loop of its own: the reads
        // don't wait on each other there, so at 100,000 rules the cache
        // misses overlap instead of stalling the lookups one after the other.
        black_box((0..n).fold(0, |acc, i| acc ^ self.dict.ids.touch(tokens.tokens[i].hash)));
        let (mut k, mut w) = (0, 0);
        for i in 0..n {
            let word = tokens.word_bytes(i);
            let key = WordKey::at(tokens.bytes_from(i), word.len());
            let (id, first) = self.dict.lookup_first(word, key, tokens.tokens[i].hash);
            ids.push(id);
            starts[k] = (to_u32(i), first);
            k += usize::from(first != NONE);
            wild[w] = to_u32(i);
            w += usize::from(self.dict.may_match_wildcard(word.len(), key));
        }
        starts.truncate(k);
        wild.truncate(w);
        // The same for the trie nodes those words begin, and for the edge
        // to the next word where a phrase may go on with it.
        black_box(starts.iter().fold(0, |acc, &(i, first)| {
            let next = ids.get(i as usize + 1).copied().unwrap_or(NONE);
            match self.dict.nodes.get(first as usize) {
                Some(n) if n.children & Node::child_bit(next) != 0 => {
                    acc ^ self.dict.edges.touch(edge_hash(first, next))
                }
                Some(n) => acc ^ u64::from(n.children),
                None => acc,
            }
        }));
        self.extra_units(tokens, wild, extra);
        // And the trie nodes of the other units (wildcards matched,
        // hyphenated words as a whole): read ahead the same way.
        black_box(extra.first.iter().fold(0, |acc, &first| {
            acc ^ self
                .dict
                .nodes
                .get(first as usize)
                .map_or(0, |n| u64::from(n.children))
        }));
        let cx = ScanCx { tokens, ids, extra };
        // Each word's own unit, then the other units that start there
        // (wildcards, hyphenated wholes), word by word.
        let others = &extra.units;
        let mut next = 0;
        for &(start, first) in starts.iter() {
            while let Some(u) = others.get(next).filter(|u| u.start < start) {
                self.begin(&cx, *u, extra.first[next], path, out);
                next += 1;
            }
            if let Some(unit) = cx.own(start as usize) {
                self.begin(&cx, unit, first, path, out);
            }
        }
        for (u, &first) in others[next..].iter().zip(&extra.first[next..]) {
            self.begin(&cx, *u, first, path, out);
        }
    }

    /// Records the patterns that begin with `unit`, one word long or
    /// longer. `first` is its word's [`Slot::first`]: a trie node, or a
    /// [`Sole`] pattern recorded without reading the node.
    fn begin(
        &self,
        cx: &ScanCx,
        unit: Unit,
        first: u32,
        path: &mut Vec<Unit>,
        out: &mut Vec<Occurrence>,
    ) {
        let field = cx.tokens.tokens[unit.start as usize].field;
        if let Some(sole) = Sole::decode(first) {
            if sole.case.accepts(unit.shape) {
                out.push(Occurrence {
                    pattern: sole.pattern,
                    start: unit.start,
                    end: unit.end,
                    field,
                });
            }
            return;
        }
        let node = first;
        if node == NONE {
            return;
        }
        // Most words are one-word patterns and begin no phrase: no walk for
        // them (a node that removed rules left with neither records
        // nothing).
        let n = &self.dict.nodes[node as usize];
        if n.children == 0 {
            self.record_ends(n, &[unit], field, out);
            return;
        }
        path.clear();
        path.push(unit);
        self.walk(cx, node, path, out);
    }

    /// Extends `path` (ending at trie node `node`) as far as the text and the
    /// trie allow, recording every pattern that ends on the way.
    fn walk(&self, cx: &ScanCx, node: u32, path: &mut Vec<Unit>, out: &mut Vec<Occurrence>) {
        let (first, last) = match (path.first(), path.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return,
        };
        let field = cx.tokens.tokens[first.start as usize].field;
        let n = &self.dict.nodes[node as usize];
        self.record_ends(n, path, field, out);
        let next = last.end as usize;
        if n.children == 0 || next >= cx.tokens.len() || cx.tokens.tokens[next].field != field {
            return;
        }
        for unit in cx.units_at(next) {
            if n.children & Node::child_bit(unit.id) != 0
                && let Some(child) = self.dict.child(node, unit.id)
            {
                path.push(unit);
                self.walk(cx, child, path, out);
                path.pop();
            }
        }
    }

    /// Records each pattern ending at node `n` that `path` (words of
    /// `field`) spells as the pattern requires.
    fn record_ends(&self, n: &Node, path: &[Unit], field: u8, out: &mut Vec<Occurrence>) {
        let (Some(first), Some(last)) = (path.first(), path.last()) else {
            return;
        };
        let mut record = |pattern| {
            out.push(Occurrence {
                pattern,
                start: first.start,
                end: last.end,
                field,
            })
        };
        if n.one != NONE && n.one_spelling.accepts(path) {
            record(n.one);
        }
        if let Some(more) = &n.more {
            for &p in more.iter() {
                if self.spellings[p as usize].accepts(path) {
                    record(p);
                }
            }
        }
    }

    /// Units other than each word's own: wildcards a word matches, and
    /// hyphenated words as a whole (with their wildcards); by start word.
    /// `wild`: the words past the wildcards' start gate. Into `extra`,
    /// emptied first.
    fn extra_units(&self, tokens: &Tokens, wild: &[u32], extra: &mut ExtraUnits) {
        let ExtraUnits { units, first, from } = extra;
        units.clear();
        first.clear();
        from.clear();
        // Hyphenated wholes starting before word `end`, in order.
        let mut joined = tokens.joined.iter().enumerate().peekable();
        let mut wholes_before = |end: usize, units: &mut Vec<Unit>, first: &mut Vec<u32>| {
            while let Some((j, run)) = joined.peek()
                && (run.start as usize) < end
            {
                let word = tokens.joined_word(*j).as_bytes();
                let key = WordKey::of(word);
                let unit = |id| Unit {
                    id,
                    start: run.start,
                    end: run.end,
                    shape: run.shape,
                    gap_hard: tokens.tokens[run.start as usize].gap_hard,
                };
                let mut found = |id, node| {
                    units.push(unit(id));
                    first.push(node);
                };
                let (id, node) = self.dict.lookup_first(word, key, run.hash);
                if id != NONE {
                    found(id, node);
                }
                self.dict.wildcards_of(word, key, &mut found);
                joined.next();
            }
        };
        for &i in wild {
            let i = i as usize;
            wholes_before(i, units, first);
            let t = &tokens.tokens[i];
            let word = tokens.word_bytes(i);
            let key = WordKey::at(tokens.bytes_from(i), word.len());
            self.dict.wildcards_past_gate(word, key, &mut |id, node| {
                units.push(Unit {
                    id,
                    start: to_u32(i),
                    end: to_u32(i + 1),
                    shape: t.shape,
                    gap_hard: t.gap_hard,
                });
                first.push(node);
            });
        }
        wholes_before(usize::MAX, units, first);
        if units.is_empty() {
            return;
        }
        from.resize(tokens.len() + 1, 0);
        for u in units.iter() {
            from[u.start as usize + 1] += 1;
        }
        for i in 0..tokens.len() {
            from[i + 1] += from[i];
        }
    }

    /// (country, is a capital, occurrence index) for every gazetteer name
    /// that occurred outside a longer name of another place, by country.
    fn places_in(&self, occurrences: &[Occurrence]) -> Vec<(CountryId, bool, u32)> {
        if self.country_groups.is_empty() {
            return Vec::new();
        }
        let places: Vec<(usize, Occurrence)> = occurrences
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, o)| has_bit(&self.places, o.pattern as usize))
            .collect();
        let mut out = Vec::new();
        for &(i, o) in &places {
            let pat = &self.patterns[o.pattern as usize];
            let named = pat
                .countries
                .iter()
                .map(|&c| (c, false))
                .chain(pat.capital_of.iter().map(|&c| (c, true)));
            for (c, capital) in named {
                let blocked = places
                    .iter()
                    .any(|&(_, q)| o.is_inside(q) && !self.patterns[q.pattern as usize].names(c));
                if !blocked {
                    out.push((c, capital, to_u32(i)));
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// Wraps a person or country term in its exclusions: `me AND NOT x …`.
fn with_exclusions(me: Expr<Atom>, exclude: &[Expr<Atom>]) -> Expr<Atom> {
    let mut parts = vec![me];
    parts.extend(exclude.iter().map(|e| Expr::Not(Box::new(e.clone()))));
    Expr::And(parts)
}

impl Term {
    fn keys(&self) -> Vec<Key> {
        match self {
            Term::Patterns(ps, _) => ps.iter().map(|&p| Key::Pattern(p)).collect(),
            Term::Person(p, _) => p.patterns().map(Key::Pattern).collect(),
            Term::Country(c, _) => vec![Key::Country(c.id)],
        }
    }
}

/// Per-article view of the words, for the trie walk.
struct ScanCx<'t> {
    tokens: &'t Tokens,
    /// Word id of each word, or [`NONE`].
    ids: &'t [u32],
    extra: &'t ExtraUnits,
}

impl ScanCx<'_> {
    /// Every unit starting at word `i`.
    fn units_at(&self, i: usize) -> impl Iterator<Item = Unit> + '_ {
        self.own(i)
            .into_iter()
            .chain(self.extra_at(i).iter().copied())
    }

    /// Word `i` as a unit, if it is in the dictionary.
    fn own(&self, i: usize) -> Option<Unit> {
        let t = &self.tokens.tokens[i];
        (self.ids[i] != NONE).then(|| Unit {
            id: self.ids[i],
            start: to_u32(i),
            end: to_u32(i + 1),
            shape: t.shape,
            gap_hard: t.gap_hard,
        })
    }

    /// The other units starting at word `i`.
    fn extra_at(&self, i: usize) -> &[Unit] {
        match (self.extra.from.get(i), self.extra.from.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.extra.units[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Units by start word, in CSR form (`from[i]..from[i + 1]`).
#[derive(Default)]
struct ExtraUnits {
    units: Vec<Unit>,
    /// Each unit's [`WordEntry::first`].
    first: Vec<u32>,
    from: Vec<u32>,
}

/// What [`Matcher::find_in`] works in, kept per thread between articles
/// so that it is allocated once ([`SCRATCH`]). Between articles every
/// vector is empty, `bits` all zero and `by_pattern` clear.
#[derive(Default)]
struct Scratch {
    scan: ScanScratch,
    occurrences: Vec<Occurrence>,
    by_pattern: ByPattern,
    bits: Vec<u64>,
    candidates: Vec<u32>,
    by_set: Vec<(u32, u32)>,
    found: Vec<u32>,
    sorted: Vec<(u32, std::cmp::Reverse<u32>)>,
    spans: Vec<WordSpan>,
    sets_by_hash: HashMap<u64, u32, FxBuildHasher>,
    same_hash: Vec<u32>,
}

impl Scratch {
    /// Readies it for the next article.
    fn reset(&mut self) {
        for o in &self.occurrences {
            if let Some(word) = self.bits.get_mut(2 * o.pattern as usize / 64) {
                *word = 0;
            }
        }
        self.by_pattern.clear();
        self.occurrences.clear();
        self.candidates.clear();
        self.by_set.clear();
        self.found.clear();
        self.sets_by_hash.clear();
        self.same_hash.clear();
    }
}

/// What [`Matcher::scan`] works in.
#[derive(Default)]
struct ScanScratch {
    ids: Vec<u32>,
    starts: Vec<(u32, u32)>,
    /// The words past the wildcards' start gate.
    wild: Vec<u32>,
    path: Vec<Unit>,
    extra: ExtraUnits,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

struct Seen<'t> {
    tokens: &'t Tokens,
    occurrences: &'t [Occurrence],
    by_pattern: &'t ByPattern,
    /// Two bits per pattern id: it occurred anywhere (bit `2p`), in the
    /// title or body (bit `2p + 1`). Most terms are looked for in the title
    /// and body, and a bit test beats a search of the postings.
    in_content: &'t [u64],
    /// (country, is a capital, occurrence), sorted.
    places: Vec<(CountryId, bool, u32)>,
}

impl Seen<'_> {
    /// Occurrences of pattern `p` in `fields`.
    fn in_fields(&self, p: u32, fields: Fields) -> impl Iterator<Item = u32> + '_ {
        self.by_pattern
            .get(p)
            .filter(move |&o| fields.contains(self.occurrences[o as usize].field))
    }

    /// Occurrences naming country `c` (capitals too with `+capital`).
    fn of_country(&self, c: CountryRef, fields: Fields) -> impl Iterator<Item = u32> + '_ {
        let from = self.places.partition_point(|&(k, _, _)| k < c.id);
        self.places[from..]
            .iter()
            .take_while(move |&&(k, _, _)| k == c.id)
            .filter(move |&&(_, capital, o)| {
                (c.capital || !capital) && fields.contains(self.occurrences[o as usize].field)
            })
            .map(|&(_, _, o)| o)
    }

    fn occurrences_of(&self, term: &Term, out: &mut Vec<u32>) {
        match term {
            Term::Patterns(ps, fields) => {
                for &p in ps.iter() {
                    out.extend(self.in_fields(p, *fields));
                }
            }
            Term::Person(p, fields) => self.person_occurrences(p, *fields, out),
            Term::Country(c, fields) => out.extend(self.of_country(*c, *fields)),
        }
    }

    /// Occurrences of the person's names in `fields`: full names, and
    /// surnames alone that stand for them (see `names.rs`).
    fn person_occurrences(&self, p: &PersonTerm, fields: Fields, out: &mut Vec<u32>) {
        for &q in p.full.iter() {
            out.extend(self.in_fields(q, fields));
        }
        for (list, strict) in [(&p.surnames, false), (&p.strict, true)] {
            for &q in list.iter() {
                for o in self.in_fields(q, fields) {
                    let start = self.occurrences[o as usize].start as usize;
                    if names::surname_stands_for(self.tokens, start, &p.given, strict) {
                        out.push(o);
                    }
                }
            }
        }
    }

    fn in_content(&self, p: u32) -> bool {
        has_bit(self.in_content, 2 * p as usize + 1)
    }

    /// Whether pattern `p` occurred in any field.
    fn occurred(&self, p: u32) -> bool {
        has_bit(self.in_content, 2 * p as usize)
    }

    fn present(&self, term: &Term) -> bool {
        match term {
            Term::Patterns(ps, Fields::CONTENT) => ps.iter().any(|&p| self.in_content(p)),
            Term::Patterns(ps, fields) => ps
                .iter()
                .any(|&p| self.in_fields(p, *fields).next().is_some()),
            Term::Person(p, fields) => {
                if *fields == Fields::CONTENT && !p.patterns().any(|q| self.in_content(q)) {
                    return false;
                }
                let mut found = Vec::new();
                self.person_occurrences(p, *fields, &mut found);
                !found.is_empty()
            }
            Term::Country(c, fields) => self.of_country(*c, *fields).next().is_some(),
        }
    }

    /// Evaluates `expr`; the first NEAR that holds in a positive position
    /// leaves the occurrence the snippet should show in `anchor`.
    fn eval(&self, expr: &Expr<Term>, positive: bool, anchor: &mut Option<u32>) -> bool {
        match expr {
            Expr::Term(t) => self.present(t),
            Expr::Not(e) => !self.eval(e, !positive, anchor),
            Expr::And(es) => es.iter().all(|e| self.eval(e, positive, anchor)),
            Expr::Or(es) => es.iter().any(|e| self.eval(e, positive, anchor)),
            Expr::Near(parts, slop) => match self.near(parts, slop) {
                Some(witness) => {
                    if positive && anchor.is_none() {
                        *anchor = Some(witness);
                    }
                    true
                }
                None => false,
            },
        }
    }

    /// Whether a chain of occurrences, one per part, has each next to the
    /// one before within its slop; the earliest occurrence of the last link.
    fn near(&self, parts: &[Expr<Term>], slop: &[u16]) -> Option<u32> {
        // Most NEARs fail because a part is missing: find that out first.
        if !parts.iter().all(|p| p.eval(&mut |t| self.present(t))) {
            return None;
        }
        let occurrences_of_part = |part: &Expr<Term>| {
            let mut out = Vec::new();
            match part {
                Expr::Term(t) => self.occurrences_of(t, &mut out),
                Expr::Or(es) => {
                    for e in es {
                        if let Expr::Term(t) = e {
                            self.occurrences_of(t, &mut out);
                        }
                    }
                }
                _ => {}
            }
            out.sort_unstable();
            out.dedup();
            out
        };
        let mut reached = occurrences_of_part(parts.first()?);
        let mut witness = None;
        for (part, &n) in parts[1..].iter().zip(slop) {
            let mut next = Vec::new();
            witness = None;
            for o in occurrences_of_part(part) {
                let b = self.occurrences[o as usize];
                let partner = reached.iter().copied().find(|&r| {
                    let a = self.occurrences[r as usize];
                    a.field == b.field
                        && (a.start, a.end) != (b.start, b.end)
                        && a.distance(b) <= u32::from(n)
                });
                if let Some(r) = partner {
                    next.push(o);
                    let earlier = if self.occurrences[r as usize].start < b.start {
                        r
                    } else {
                        o
                    };
                    witness = witness.or(Some(earlier));
                }
            }
            if next.is_empty() {
                return None;
            }
            reached = next;
        }
        witness
    }
}

/// Patterns at least one of which occurs whenever `expr` (negated if
/// `negated`) is true, or `None` if it can be true with none of its terms.
/// Where an AND offers a choice, the most selective part is taken: the one
/// whose least selective term scores highest, then the one with fewer terms.
fn required_terms<T: Clone + Ord>(
    expr: &Expr<T>,
    negated: bool,
    score: &impl Fn(&T) -> usize,
) -> Option<Vec<T>> {
    // NOT pushed inwards: NOT (a AND b) = NOT a OR NOT b, and so on. NEAR is
    // an AND with a condition on top: as an AND it needs all its parts, but
    // negated it is not an OR of negated parts, so it gives no terms.
    let (parts, all_of) = match (expr, negated) {
        (Expr::Term(t), false) => return Some(vec![t.clone()]),
        (Expr::Term(_), true) | (Expr::Near(..), true) => return None,
        (Expr::Not(inner), _) => return required_terms(inner, !negated, score),
        (Expr::And(parts) | Expr::Near(parts, _), false) | (Expr::Or(parts), true) => (parts, true),
        (Expr::Or(parts), false) | (Expr::And(parts), true) => (parts, false),
    };
    let sets = parts.iter().map(|p| required_terms(p, negated, score));
    if all_of {
        // Conjunction: any one part's set will do; take the most selective.
        let rank = |set: &Vec<T>| {
            let least = set.iter().map(score).min().unwrap_or(0);
            (least, std::cmp::Reverse(set.len()))
        };
        sets.flatten().max_by_key(rank)
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
        let stats = self.stats();
        f.debug_struct("Matcher")
            .field("rules", &stats.rules)
            .field("distinct_rules", &stats.distinct_rules)
            .field("words", &stats.words)
            .field("phrases", &self.dict.nodes.len())
            .field("patterns", &stats.patterns)
            .field("always_evaluated", &stats.always_evaluated)
            .finish()
    }
}

/// The rules that matched one article, grouped: identical rules of many
/// chats come as one entry holding all their ids, and every entry that
/// matched through the same words shares one [`Explanation`], built the
/// first time it is asked for. Building this costs the same for one chat's
/// `country:Russia` as for ten thousand.
#[derive(Debug)]
pub struct Matches<'m, 'd> {
    doc: &'d Analyzed<'d>,
    /// (rule ids, match set), ids ascending within each entry.
    groups: Vec<(&'m [i64], u32)>,
    /// Distinct match sets: the words they matched (a range of `found`)
    /// and the words a snippet should show, if a NEAR chose them.
    sets: Vec<(Range<u32>, Option<WordSpan>)>,
    /// Word spans (start, end) as [`outermost_spans`] gives them.
    found: Vec<WordSpan>,
    explanations: Vec<OnceCell<Explanation>>,
    /// Per field, its whitespace runs, found once for every snippet in it
    /// (explanations are built one at a time: never borrowed twice).
    odd_whitespace: [RefCell<OddWhitespace>; 3],
}

impl Matches<'_, '_> {
    /// Number of (rule, article) hits.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|(ids, _)| ids.len()).sum()
    }

    /// True when no rule matched.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Every rule id that matched, grouped (not in id order).
    pub fn rule_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.groups.iter().flat_map(|(ids, _)| ids.iter().copied())
    }

    /// Number of distinct explanations (at most one per distinct rule).
    pub fn explanation_count(&self) -> usize {
        self.sets.len()
    }

    /// Explanation `i` (`0..explanation_count()`), built on first use.
    pub fn explanation(&self, i: usize) -> &Explanation {
        self.explanations[i].get_or_init(|| {
            let (range, anchor) = &self.sets[i];
            explain_hit(
                self.doc,
                &self.found[range.start as usize..range.end as usize],
                *anchor,
                &self.odd_whitespace,
            )
        })
    }

    /// Each set of rules that matched through the same words: their ids
    /// (ascending) and the index of the explanation they share.
    pub fn groups(&self) -> impl Iterator<Item = (&[i64], usize)> + '_ {
        self.groups.iter().map(|(ids, set)| (*ids, *set as usize))
    }

    /// Every explanation, in index order, owned: to keep them once the
    /// article is gone.
    pub fn into_explanations(self) -> Vec<Explanation> {
        for i in 0..self.explanation_count() {
            self.explanation(i);
        }
        self.explanations
            .into_iter()
            .filter_map(OnceCell::into_inner)
            .collect()
    }

    /// Every (rule id, explanation), grouped (not in rule id order).
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Explanation)> + '_ {
        self.groups.iter().flat_map(move |(ids, set)| {
            let e = self.explanation(*set as usize);
            ids.iter().map(move |&id| (id, e))
        })
    }

    /// One [`Hit`] per rule, in rule id order.
    pub fn into_hits(self) -> Vec<Hit> {
        // Sort small (id, explanation) pairs, not the hits themselves.
        let mut order: Vec<(i64, u32)> = Vec::with_capacity(self.len());
        for (ids, set) in &self.groups {
            order.extend(ids.iter().map(|&id| (id, *set)));
        }
        order.sort_by_key(|&(id, _)| id);
        order
            .into_iter()
            .map(|(id, set)| self.explanation(set as usize).to_hit(id))
            .collect()
    }
}

/// Each pattern's occurrences, in text order, as lists threaded through
/// the occurrences: no sorting, and a lookup is a probe or two of a table
/// sized to the article (one sized to the matcher's patterns was a cache
/// miss per pattern that occurred, at 100,000 rules).
#[derive(Default)]
struct ByPattern {
    /// (pattern, its first occurrence), by [`ByPattern::slot`] with linear
    /// probing; [`NONE`] patterns are free. At least twice as long as the
    /// article's occurrences, and a power of two.
    table: Vec<(u32, u32)>,
    /// Occurrence → the next occurrence of its pattern, or [`NONE`].
    next: Vec<u32>,
    /// The patterns that occurred.
    patterns: Vec<u32>,
}

impl ByPattern {
    fn fill(&mut self, occurrences: &[Occurrence]) {
        self.table.clear();
        self.table.resize(
            (2 * occurrences.len()).next_power_of_two().max(16),
            (NONE, NONE),
        );
        self.next.clear();
        self.next.resize(occurrences.len(), NONE);
        for (i, o) in occurrences.iter().enumerate().rev() {
            let at = self.slot(o.pattern);
            let entry = &mut self.table[at];
            if entry.0 == NONE {
                *entry = (o.pattern, NONE);
                self.patterns.push(o.pattern);
            }
            self.next[i] = entry.1;
            entry.1 = to_u32(i);
        }
    }

    /// Where pattern `p` is in the table, or the free entry where it would
    /// go.
    fn slot(&self, p: u32) -> usize {
        let mask = self.table.len() - 1;
        // Fibonacci hashing: the product's high bits, as many as the
        // table's length has.
        let bits = self.table.len().trailing_zeros();
        let mut at = (u64::from(p).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize;
        while self.table[at].0 != p && self.table[at].0 != NONE {
            at = (at + 1) & mask;
        }
        at
    }

    /// Empties it for the next article.
    fn clear(&mut self) {
        self.patterns.clear();
    }

    /// Occurrence indices of pattern `p`.
    fn get(&self, p: u32) -> impl Iterator<Item = u32> + '_ {
        let head = if self.table.is_empty() {
            NONE
        } else {
            self.table[self.slot(p)].1
        };
        std::iter::successors((head != NONE).then_some(head), |&i| {
            let n = self.next[i as usize];
            (n != NONE).then_some(n)
        })
    }
}

/// The word spans (start, end) of the occurrences `found` (indices in
/// `occurrences`), in order, without repeats and without a shorter match
/// inside a longer one (`Cleverly` in `James Cleverly`): it adds nothing to
/// the explanation. `sorted` is scratch space.
fn outermost_spans(
    occurrences: &[Occurrence],
    found: &[u32],
    sorted: &mut Vec<(u32, std::cmp::Reverse<u32>)>,
    spans: &mut Vec<WordSpan>,
) {
    // Longest first at each start, so that one sweep drops the others.
    sorted.clear();
    sorted.extend(found.iter().map(|&i| {
        let o = occurrences[i as usize];
        (o.start, std::cmp::Reverse(o.end))
    }));
    // One pattern's occurrences (most groups') come in order already.
    if !sorted.is_sorted() {
        sorted.sort_unstable();
    }
    sorted.dedup();
    spans.clear();
    let mut reach = 0;
    for &(start, std::cmp::Reverse(end)) in sorted.iter() {
        // Every span before this one starts at or before it and, at the
        // same start, is longer: one that reaches as far contains it.
        if end > reach || spans.is_empty() {
            spans.push((start, end));
            reach = reach.max(end);
        }
    }
}

/// The explanation of one match: `spans` are the words it matched, as
/// [`outermost_spans`] gives them; `anchor`, the words the snippet should
/// show (a NEAR's), if any.
fn explain_hit(
    doc: &Analyzed,
    spans: &[WordSpan],
    anchor: Option<WordSpan>,
    odd_whitespace: &[RefCell<OddWhitespace>; 3],
) -> Explanation {
    let tokens = &doc.tokens;
    let field_of = |f: Field| match f {
        Field::Title => TITLE,
        Field::Body => BODY,
        Field::Source => SOURCE,
    };
    let positions: Vec<TermPosition> = spans
        .iter()
        .map(|&(start, end)| {
            let first = &tokens.tokens[start as usize];
            let last = &tokens.tokens[end as usize - 1];
            TermPosition {
                field: match first.field {
                    TITLE => Field::Title,
                    BODY => Field::Body,
                    _ => Field::Source,
                },
                range: first.orig.start as usize..last.orig.end as usize,
                word: to_u32(tokens.position_in_field(start as usize)),
                words: end - start,
            }
        })
        .collect();

    let mut terms: Vec<String> = Vec::new();
    for p in &positions {
        let written = &doc.field_text(field_of(p.field))[p.range.clone()];
        // A term is mostly seen again as written: no copy to find that out.
        if terms.iter().any(|t| t == written) {
            continue;
        }
        let term = explain::term_text(written);
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    // The snippet comes from the body when the body matched: alerts show the
    // headline anyway, and the body says more about the match. A NEAR's
    // witness goes first.
    let anchor = anchor.filter(|&(start, _)| tokens.tokens[start as usize].field != SOURCE);
    let snippet_field = match anchor {
        Some((start, _)) => tokens.tokens[start as usize].field,
        None if positions.iter().any(|p| p.field == Field::Body) => BODY,
        None => TITLE,
    };
    let in_field = positions
        .iter()
        .filter(|p| field_of(p.field) == snippet_field)
        .map(|p| p.range.clone());
    let first = match anchor {
        Some((start, end)) => Some(
            tokens.tokens[start as usize].orig.start as usize
                ..tokens.tokens[end as usize - 1].orig.end as usize,
        ),
        None => in_field.clone().next(),
    };
    let snippet = match first {
        Some(first) => explain::snippet(
            doc.field_text(snippet_field),
            first,
            in_field,
            &mut odd_whitespace[usize::from(snippet_field)].borrow_mut(),
        ),
        None => explain::snippet(
            doc.field_text(TITLE),
            0..0,
            std::iter::empty(),
            &mut odd_whitespace[usize::from(TITLE)].borrow_mut(),
        ),
    };
    Explanation {
        terms,
        snippet,
        positions,
    }
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
            if let Ok(word) = <[u8; 8]>::try_from(chunk) {
                self.add(u64::from_le_bytes(word));
            }
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

    fn write_u16(&mut self, i: u16) {
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

    #[test]
    fn a_slot_holds_its_word_and_no_other() {
        let alphabet = "abcdefghijklmnopqrstuvwxyzäöü";
        for n in 0..=20 {
            let word: Vec<u8> = alphabet.bytes().cycle().take(n).collect();
            let slot = Slot::new(7, &word);
            assert!(slot.holds(&word, WordKey::of(&word), || &word), "{n} bytes");
            // Every byte counts, inside the head and after it.
            for k in 0..n {
                let mut other = word.clone();
                other[k] ^= 1;
                assert!(
                    !slot.holds(&other, WordKey::of(&other), || &word),
                    "{n} bytes, byte {k}"
                );
            }
            // So does the length.
            let longer = [&word[..], b"a"].concat();
            assert!(
                !slot.holds(&longer, WordKey::of(&longer), || &word),
                "{n} bytes and one"
            );
            if let Some(shorter) = word.get(..n.saturating_sub(1)) {
                assert!(
                    n == 0 || !slot.holds(shorter, WordKey::of(shorter), || &word),
                    "{n} bytes less one"
                );
            }
        }
    }

    #[test]
    fn words_that_share_a_hash_are_told_apart() {
        // Long words alike in their first 12 bytes among them.
        let mut words: Vec<String> = (0..200).map(|k| format!("word{k}")).collect();
        words.extend(["internationalism", "internationalist", "internationally"].map(String::from));
        let hash = |id: usize| id as u64 % 3;
        let mut table = Table::default();
        // Under three hashes, most words share theirs with many others; the
        // table grows several times on the way.
        for (id, w) in words.iter().enumerate() {
            table.insert(hash(id), Slot::new(to_u32(id), w.as_bytes()));
        }
        let find = |word: &str, hash: u64| {
            let key = WordKey::of(word.as_bytes());
            table
                .find(hash, |s| {
                    s.holds(word.as_bytes(), key, || words[s.id as usize].as_bytes())
                })
                .map(|at| table.entries[at].1.id)
        };
        for (id, w) in words.iter().enumerate() {
            assert_eq!(find(w, hash(id)), Some(to_u32(id)), "{w}");
            // Under another hash, not found.
            assert_eq!(find(w, hash(id) + 1), None, "{w}");
        }
        for absent in ["word200", "internationalise", "wor"] {
            for h in 0..4 {
                assert_eq!(find(absent, h), None, "{absent}");
            }
        }
        assert_eq!(Table::<u32>::default().find(0, |_| true), None);
    }

    #[test]
    fn a_word_has_the_same_key_alone_as_in_its_text() {
        let alphabet = "abcdefghijklmnopqrstuvwxyzäöü";
        for n in 0..=20 {
            let word: Vec<u8> = alphabet.bytes().cycle().take(n).collect();
            let key = WordKey::of(&word);
            // The first 12 bytes, zero-padded.
            let mut padded = [0; HEAD];
            let k = n.min(HEAD);
            padded[..k].copy_from_slice(&word[..k]);
            assert_eq!(
                (key.head.to_le_bytes(), key.tail.to_le_bytes()),
                (
                    *padded.first_chunk::<8>().unwrap(),
                    *padded.last_chunk::<4>().unwrap()
                ),
                "{n} bytes"
            );
            // Followed by nothing, by a little text, by much.
            for after in ["", " x", " and more text after it"] {
                let text = [&word[..], after.as_bytes()].concat();
                assert_eq!(WordKey::at(&text, n), key, "{n} bytes, then {after:?}");
            }
            for len in 0..=n {
                assert_eq!(key.prefix(len), WordKey::of(&word[..len]), "{len} of {n}");
            }
        }
    }

    #[test]
    fn a_prefix_hashes_the_same_from_its_word_as_alone() {
        let alphabet = "abcdefghijklmnopqrstuvwxyzäöü";
        for n in 0..=20 {
            let word: Vec<u8> = alphabet.bytes().cycle().take(n).collect();
            // The head is the first bytes, little-endian, zero-padded.
            let mut padded = [0; 8];
            let k = n.min(8);
            padded[..k].copy_from_slice(&word[..k]);
            assert_eq!(head(&word), u64::from_le_bytes(padded), "{n} bytes");
            for len in 1..=n {
                assert_eq!(
                    PrefixHash::of_prefix(&word, head(&word), len),
                    PrefixHash::of(&word[..len]),
                    "{len} of {n} bytes"
                );
            }
            // Prefixes of different lengths hash apart.
            let hashes: std::collections::HashSet<u64> =
                (1..=n).map(|len| PrefixHash::of(&word[..len])).collect();
            assert_eq!(hashes.len(), n, "{n} bytes");
        }
    }

    /// (name, query, terms it is posted under)
    type RequiredCase = (&'static str, Expr<u32>, Option<Vec<u32>>);

    /// Patterns 0..10 are one word long, 10.. are two words.
    fn words(p: &u32) -> usize {
        if *p < 10 { 1 } else { 2 }
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
            (
                "near_is_an_and",
                Expr::Near(vec![t(1), t(11)], vec![3]),
                Some(vec![11]),
            ),
            (
                "not_near_gives_nothing",
                not(Expr::Near(vec![t(1), t(2)], vec![3])),
                None,
            ),
        ];
        let mut names: Vec<_> = cases.iter().map(|c| c.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "case names are unique");
        for (name, expr, want) in cases {
            assert_eq!(required_terms(expr, false, &words), *want, "case {name}");
        }
    }

    /// Every hit of `matcher` on `article`, with its explanation's terms.
    fn hits(matcher: &Matcher, article: &Article) -> Vec<(i64, Vec<String>)> {
        let doc = Analyzed::new(article);
        let found = matcher.find_in(&doc);
        let mut hits: Vec<(i64, Vec<String>)> =
            found.iter().map(|(id, e)| (id, e.terms.clone())).collect();
        hits.sort();
        hits
    }

    #[test]
    fn what_a_thread_matched_before_changes_nothing() {
        let spec = |text: &str| RuleSpec::parse(text).expect("valid rule");
        let mut big = MatcherBuilder::new();
        let big_rules = [
            "country:Russia +capital",
            "keyword:sanction*",
            "person:\"Vladimir Putin\"",
            "query:Kremlin NEAR/3 talks",
            "keyword:gas",
        ];
        for (id, text) in big_rules.iter().enumerate() {
            big.add(id as i64, &spec(text));
        }
        let big = big.build();
        let mut small = MatcherBuilder::new();
        small.add(1, &spec("keyword:talks"));
        small.add(2, &spec("country:Ukraine"));
        let small = small.build();
        let first = Article {
            title: "Putin and the Kremlin",
            body: "Moscow said sanctions on Russia's gas hold; Kremlin peace talks next week.",
            source: "",
        };
        let second = Article {
            title: "Ukraine",
            body: "Talks in Kyiv. Ukraine said the talks go on.",
            source: "",
        };
        // On a thread of its own the small matcher starts from nothing.
        let (s, b) = (&small, &big);
        let fresh = std::thread::scope(|scope| {
            scope
                .spawn(|| (hits(s, &second), hits(b, &first)))
                .join()
                .expect("no panic")
        });
        // Here it comes after the big one, whose scratch was larger.
        let big_first = hits(&big, &first);
        let small_after = hits(&small, &second);
        assert_eq!(small_after, fresh.0);
        assert_eq!(hits(&big, &first), big_first);
        assert_eq!(big_first, fresh.1);
        assert_eq!(small_after.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(big_first.len(), 5, "{big_first:?}");
    }
}
