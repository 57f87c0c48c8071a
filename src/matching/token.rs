//! Words: the unit that rules and articles are compared in.
//!
//! Text is folded with [`fold_char`](super::normalize::fold_char) and cut into
//! words (runs of letters and digits). Matching whole words at the token level
//! is what makes `UN` never match inside `fun` or `UNESCO`, and lets a phrase
//! span any run of whitespace, line breaks or hyphens.
//!
//! Each word keeps its byte range in the original text (for snippets and the
//! terms a hit reports), the spelling shape it had there (capitalised, all
//! capitals: for acronyms and names) and whether punctuation other than
//! whitespace, hyphens or apostrophes separates it from the word before (a
//! phrase does not run across `UN. Security Council`).
//!
//! A few spellings are joined or dropped after cutting:
//! - possessive `'s` is dropped, so `UN's` and `Putin’s` give `un`, `putin`;
//! - elided articles and prepositions of French and Italian are dropped, so
//!   `l'ONU`, `d’Ukraine` and `dell'Onu` give `onu`, `ukraine`, `onu`;
//! - dotted capitals become one word, so `U.S.` and `U.N.` equal `US`, `UN`;
//! - digit groups stay one word (`1,000`, `3.5`).
//!
//! A hyphenated word is its parts (`UN-backed` is `un`, `backed`) and, as an
//! alternative that matching also tries, the whole ([`Joined`]: `co-operation`
//! is also `cooperation`).
//!
//! Han and hiragana characters are one word each, because Chinese and
//! Japanese text has no spaces: a name in those scripts is then a phrase of
//! characters that matches inside running text. A run of katakana (the
//! script of foreign names in Japanese) is one word.

use std::ops::Range;

use unicode_normalization::char::is_combining_mark;

use super::normalize::fold_char;

/// Field index of an article title.
pub(crate) const TITLE: u8 = 0;
/// Field index of an article body.
pub(crate) const BODY: u8 = 1;
/// Field index of an article's source (feed or outlet name).
pub(crate) const SOURCE: u8 = 2;

/// Elided words (French, Italian) dropped before an apostrophe and a word:
/// `l'ONU` is `ONU`, `qu’il` is `il`, `dell'Ucraina` is `Ucraina`.
const ELISIONS: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "dell",
    "dall", "nell", "sull", "all", "quell", "un",
];

/// [`ASCII_WORD`] class of an upper-case letter.
const UPPER: u8 = 1;
/// [`ASCII_WORD`] class of a lower-case letter.
const LOWER: u8 = 2;
/// [`ASCII_WORD`] class of a digit.
const DIGIT: u8 = 4;

/// Byte → its class if it is an ASCII letter or digit, else 0.
static ASCII_WORD: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'A'..=b'Z' => UPPER,
            b'a'..=b'z' => LOWER,
            b'0'..=b'9' => DIGIT,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// How a word was spelled in the original text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The first letter or digit is an upper-case letter.
    pub first_upper: bool,
    /// Some letter is upper case.
    pub has_upper: bool,
    /// Some letter is lower case.
    pub has_lower: bool,
    /// Number of letters (not digits).
    pub letters: u16,
}

impl Shape {
    /// Written like a name: capitalised, all capitals, or in a script without
    /// case (where capitalisation carries no information).
    pub fn is_not_lower(self) -> bool {
        self.first_upper || !self.has_lower
    }

    /// Written in capitals only (and has at least one).
    pub fn is_all_caps(self) -> bool {
        self.has_upper && !self.has_lower
    }

    /// A short word typed all in capitals (`UN`, `NATO`, `U.S.`): an acronym.
    pub fn is_short_acronym(self) -> bool {
        self.is_all_caps() && (1..=4).contains(&self.letters)
    }
}

/// What one word of a rule term needs from the article's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum CaseReq {
    /// Any spelling.
    Any,
    /// Written as a name: not all lower case (`Cleverly`, `CLEVERLY`).
    NotLower,
    /// Written in capitals (`UN`, not `un` or `Un`).
    Acronym,
    /// Capitals, or capitalised as British house style writes longer
    /// acronyms (`Nato`, `Opec`): used for four-letter acronyms.
    AcronymOrTitle,
}

impl CaseReq {
    /// The requirement whose discriminant is the low two bits of `bits`.
    pub fn from_bits(bits: u64) -> CaseReq {
        match bits & 3 {
            0 => CaseReq::Any,
            1 => CaseReq::NotLower,
            2 => CaseReq::Acronym,
            _ => CaseReq::AcronymOrTitle,
        }
    }

    /// Whether a word spelled `shape` satisfies this requirement.
    pub fn accepts(self, shape: Shape) -> bool {
        match self {
            CaseReq::Any => true,
            CaseReq::NotLower => shape.is_not_lower(),
            CaseReq::Acronym => shape.is_all_caps(),
            CaseReq::AcronymOrTitle => shape.is_all_caps() || shape.first_upper,
        }
    }

    /// The requirement for a word typed as `shape` in a keyword or query: a
    /// short word typed all in capitals is an acronym, anything else matches
    /// in any case.
    pub fn for_typed_keyword(shape: Shape) -> CaseReq {
        if !shape.is_short_acronym() {
            CaseReq::Any
        } else if shape.letters == 4 {
            CaseReq::AcronymOrTitle
        } else {
            CaseReq::Acronym
        }
    }

    /// The requirement for a word of a proper name as spelled in a reference
    /// (the gazetteer, a person's surname): acronyms as for keywords, other
    /// capitalised words must be written as names, lower-case words (`of`,
    /// `al-`) may be anything.
    pub fn for_proper_name(shape: Shape) -> CaseReq {
        if shape.is_short_acronym() {
            CaseReq::for_typed_keyword(shape)
        } else if shape.first_upper {
            CaseReq::NotLower
        } else {
            CaseReq::Any
        }
    }
}

/// A byte range as two `u32`s: half the size of a `Range<usize>`, and
/// wirewatch's texts are far below 4 GB (bodies are capped at a few MB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span of `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: to_u32(start),
            end: to_u32(end),
        }
    }

    /// As a range, for slicing.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }
}

/// One word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    /// Byte range of the normalised word in [`Tokens::norm`].
    pub norm: Span,
    /// Byte range in the original text of its field.
    pub orig: Span,
    /// Which text the word comes from ([`TITLE`], [`BODY`], [`SOURCE`]).
    pub field: u8,
    /// Punctuation other than whitespace, hyphens and apostrophes separates
    /// this word from the previous one (always true for a field's first word).
    pub gap_hard: bool,
    /// One hyphen and nothing else separates this word from the previous
    /// one: the two are parts of one hyphenated word.
    pub hyphen_before: bool,
    /// First word of its field or of a sentence (after `.`, `!`, `?`, `:`,
    /// `;` or a line break): its capital letter says nothing.
    pub sentence_start: bool,
    /// A possessive `'s` followed it and was dropped (`Russia's`).
    pub possessive: bool,
    /// Spelling in the original text.
    pub shape: Shape,
    /// [`word_hash`] of the normalised word.
    pub hash: u64,
}

/// A hyphenated word as a whole: words `start..end`, joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    /// First word.
    pub start: u32,
    /// One past the last word.
    pub end: u32,
    /// Byte range of the joined normalised word in [`Tokens::norm`].
    pub norm: Span,
    /// Spelling of the whole.
    pub shape: Shape,
    /// [`word_hash`] of the joined word.
    pub hash: u64,
}

/// The words of one or more texts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tokens {
    norm: String,
    /// The words, in order.
    pub tokens: Vec<Token>,
    /// Hyphenated words as wholes, by first word.
    pub joined: Vec<Joined>,
    /// (field, index of its first word, written in title case), in the
    /// order fields were pushed.
    fields: Vec<(u8, usize, bool)>,
}

impl Tokens {
    /// Words of a single text (field [`TITLE`]).
    pub fn of(text: &str) -> Tokens {
        let mut tokens = Tokens::default();
        tokens.push_field(text, TITLE);
        tokens
    }

    /// The normalised spelling of word `i`.
    pub fn word(&self, i: usize) -> &str {
        &self.norm[self.tokens[i].norm.range()]
    }

    /// [`Tokens::word`] as bytes, sliced with no check for character
    /// boundaries: the matcher's scan reads every word this way.
    pub(crate) fn word_bytes(&self, i: usize) -> &[u8] {
        &self.norm.as_bytes()[self.tokens[i].norm.range()]
    }

    /// The normalised text from the first byte of word `i` on: the word
    /// and what follows it, for loads of a fixed width.
    pub(crate) fn bytes_from(&self, i: usize) -> &[u8] {
        &self.norm.as_bytes()[self.tokens[i].norm.start as usize..]
    }

    /// The normalised spelling of hyphenated word `j` as a whole.
    pub fn joined_word(&self, j: usize) -> &str {
        &self.norm[self.joined[j].norm.range()]
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the field of word `i` is written in headline style, most
    /// words capitalised.
    pub fn in_title_case(&self, i: usize) -> bool {
        let field = self.tokens[i].field;
        self.fields
            .iter()
            .rev()
            .find(|(f, start, _)| *f == field && *start <= i)
            .is_some_and(|(_, _, title_case)| *title_case)
    }

    /// Position of word `i` within its field, counting from 0.
    pub fn position_in_field(&self, i: usize) -> usize {
        let field = self.tokens[i].field;
        let first = self
            .fields
            .iter()
            .rev()
            .find(|(f, start, _)| *f == field && *start <= i)
            .map_or(0, |(_, start, _)| *start);
        i - first
    }

    /// Appends the words of `text` as field `field`.
    pub fn push_field(&mut self, text: &str, field: u8) {
        let first = self.tokens.len();
        self.fields.push((field, first, false));
        self.cut(text, field);
        self.refine(text, field, first);
        let joined = self.joined.len();
        self.join_hyphenated(first);
        let (mut long, mut capitalised) = (0usize, 0usize);
        for t in &mut self.tokens[first..] {
            t.hash = word_hash(&self.norm[t.norm.range()]);
            if t.shape.letters >= 4 && t.shape.has_lower && !t.sentence_start {
                long += 1;
                capitalised += usize::from(t.shape.first_upper);
            }
        }
        // Headline style (`Obama Reports For Jury Duty`): two thirds of the
        // longer words capitalised, so a capital says little about a word
        // being a name.
        if let Some(last) = self.fields.last_mut() {
            last.2 = long >= 4 && capitalised * 3 >= long * 2;
        }
        for j in &mut self.joined[joined..] {
            j.hash = word_hash(&self.norm[j.norm.range()]);
        }
    }

    /// Records every run of hyphen-joined words from word `first` on as a
    /// [`Joined`] whole.
    fn join_hyphenated(&mut self, first: usize) {
        let mut i = first;
        while i < self.tokens.len() {
            let mut j = i + 1;
            while j < self.tokens.len() && self.tokens[j].hyphen_before {
                j += 1;
            }
            if j - i > 1 {
                let start = self.norm.len();
                let mut shape = self.tokens[i].shape;
                for k in i..j {
                    let t = &self.tokens[k];
                    let part = t.norm.range();
                    shape.has_upper |= t.shape.has_upper;
                    shape.has_lower |= t.shape.has_lower;
                    if k > i {
                        shape.letters = shape.letters.saturating_add(t.shape.letters);
                    }
                    self.norm.extend_from_within(part);
                }
                self.joined.push(Joined {
                    start: to_u32(i),
                    end: to_u32(j),
                    norm: Span::new(start, self.norm.len()),
                    shape,
                    hash: 0,
                });
            }
            i = j;
        }
    }

    /// First pass: cut folded text into runs of letters and digits.
    fn cut(&mut self, text: &str, field: u8) {
        self.norm.reserve(text.len());
        self.tokens.reserve(text.len() / 6);
        let mut cut = Cut {
            cur: None,
            cur_cjk: false,
            field,
        };
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let b = bytes[at];
            if ASCII_WORD[usize::from(b)] != 0 {
                // Most news text is ASCII: whole runs of it at once, no
                // folding tables, spelling read in the same pass.
                let (mut end, mut classes, mut letters) = (at, 0, 0u32);
                while let Some(&c) = bytes.get(end) {
                    let k = ASCII_WORD[usize::from(c)];
                    if k == 0 {
                        break;
                    }
                    classes |= k;
                    letters += u32::from(k & (UPPER | LOWER) != 0);
                    end += 1;
                }
                let shape = Shape {
                    first_upper: ASCII_WORD[usize::from(b)] & UPPER != 0,
                    has_upper: classes & UPPER != 0,
                    has_lower: classes & LOWER != 0,
                    letters: u16::try_from(letters).unwrap_or(u16::MAX),
                };
                self.push_ascii_run(&mut cut, &text[at..end], at, shape);
                at = end;
                continue;
            }
            if b.is_ascii() {
                self.finish(&mut cut.cur);
                // Kept in the buffer so digit groups can be re-joined as one
                // contiguous range.
                self.norm.push(if b == b'`' { '\'' } else { char::from(b) });
                at += 1;
                continue;
            }
            let Some(c) = text[at..].chars().next() else {
                break;
            };
            // Text decoded with the wrong charset (`Ã©` for `é`, `â€™` for
            // `’`) is matched as what it was meant to say.
            let (c, orig) = match mojibake_at(text, at, c) {
                Some((meant, end)) => (meant, at..end),
                None => (c, at..at + c.len_utf8()),
            };
            at = orig.end;
            let entry = FOLDS.with_borrow_mut(|cache| cache.get(c));
            if entry.long {
                // Folds to more than a cache entry holds (`ﷺ`): fold again.
                let mut folded = Vec::new();
                fold_char(c, &mut |d| folded.push(d));
                for d in folded {
                    self.feed(&mut cut, classify(d), d, entry.case, orig.clone());
                }
                continue;
            }
            if entry.len == 0 {
                // A dropped diacritic written as its own character still
                // belongs to the word, so the word as written includes it.
                if let Some(t) = cut.cur.as_mut()
                    && entry.mark
                {
                    t.orig.end = to_u32(orig.end);
                }
                continue;
            }
            for k in 0..usize::from(entry.len) {
                self.feed(
                    &mut cut,
                    entry.class[k],
                    entry.out[k],
                    entry.case,
                    orig.clone(),
                );
            }
        }
        self.finish(&mut cut.cur);
    }

    /// Adds a run of ASCII letters and digits starting at byte `at`,
    /// spelled `shape`.
    fn push_ascii_run(&mut self, cut: &mut Cut, run: &str, at: usize, shape: Shape) {
        if cut.cur.is_some() && cut.cur_cjk {
            self.finish(&mut cut.cur);
        }
        let start = self.norm.len();
        self.norm.push_str(run);
        self.norm[start..].make_ascii_lowercase();
        let end = at + run.len();
        match cut.cur.as_mut() {
            Some(t) => {
                t.orig.end = to_u32(end);
                t.shape.has_upper |= shape.has_upper;
                t.shape.has_lower |= shape.has_lower;
                t.shape.letters = t.shape.letters.saturating_add(shape.letters);
            }
            None => {
                cut.cur_cjk = false;
                cut.cur = Some(Token {
                    norm: Span::new(start, start),
                    orig: Span::new(at, end),
                    field: cut.field,
                    gap_hard: false,
                    hyphen_before: false,
                    sentence_start: false,
                    possessive: false,
                    shape,
                    hash: 0,
                });
            }
        }
    }

    /// Adds folded character `d`, produced by a source character spelled
    /// `case` at `orig`.
    fn feed(&mut self, cut: &mut Cut, class: Class, d: char, case: Case, orig: Range<usize>) {
        match class {
            Class::Word { cjk, alpha } => {
                if cut.cur.is_some() && (cjk || cut.cur_cjk) {
                    self.finish(&mut cut.cur);
                }
                if cut.cur.is_none() {
                    cut.cur_cjk = cjk;
                }
                let t = cut.cur.get_or_insert_with(|| Token {
                    norm: Span::new(self.norm.len(), self.norm.len()),
                    orig: Span::new(orig.start, orig.end),
                    field: cut.field,
                    gap_hard: false,
                    hyphen_before: false,
                    sentence_start: false,
                    possessive: false,
                    shape: Shape {
                        first_upper: case.upper,
                        ..Shape::default()
                    },
                    hash: 0,
                });
                self.norm.push(d);
                t.orig.end = to_u32(orig.end);
                t.shape.has_upper |= case.upper;
                t.shape.has_lower |= case.lower;
                if alpha {
                    t.shape.letters = t.shape.letters.saturating_add(1);
                }
            }
            Class::Mark => {
                if let Some(t) = cut.cur.as_mut() {
                    self.norm.push(d);
                    t.orig.end = to_u32(orig.end);
                }
            }
            Class::Separator => {
                self.finish(&mut cut.cur);
                self.norm.push(d);
            }
        }
    }

    fn finish(&mut self, cur: &mut Option<Token>) {
        if let Some(mut t) = cur.take() {
            t.norm.end = to_u32(self.norm.len());
            self.tokens.push(t);
        }
    }

    /// Second pass, in place over the words of the field from `first` on:
    /// join dotted acronyms and digit groups, drop possessive `'s` and
    /// elided articles, and classify the gap before each word.
    fn refine(&mut self, text: &str, field: u8, first: usize) {
        let end = self.tokens.len();
        // Words kept so far are `first..kept`; never more than read.
        let mut kept = first;
        let mut i = first;
        while i < end {
            let t = self.tokens[i];
            if self.is_initial(&t) {
                let mut j = i;
                while j + 1 < end
                    && self.is_initial(&self.tokens[j + 1])
                    && gap(text, &self.tokens[j], &self.tokens[j + 1]) == "."
                {
                    j += 1;
                }
                if j > i {
                    let letters: String = self.tokens[i..=j]
                        .iter()
                        .map(|t| &self.norm[t.norm.range()])
                        .collect();
                    let start = self.norm.len();
                    self.norm.push_str(&letters);
                    let mut last = self.tokens[j].orig.end as usize;
                    if text[last..].starts_with('.') {
                        last += 1;
                    }
                    let joined = Token {
                        norm: Span::new(start, self.norm.len()),
                        orig: Span::new(t.orig.start as usize, last),
                        field,
                        gap_hard: false,
                        hyphen_before: false,
                        sentence_start: false,
                        possessive: false,
                        shape: Shape {
                            first_upper: true,
                            has_upper: true,
                            has_lower: false,
                            // Bounded by the tokens joined, far below u16::MAX
                            // in real text; saturate rather than wrap anyway.
                            letters: u16::try_from(j - i + 1).unwrap_or(u16::MAX),
                        },
                        hash: 0,
                    };
                    self.keep(text, first, &mut kept, joined);
                    i = j + 1;
                    continue;
                }
            }
            if i + 1 < end && self.is_elision(text, &t, &self.tokens[i + 1]) {
                i += 1;
                continue;
            }
            if kept > first {
                let prev = self.tokens[kept - 1];
                let between = gap(text, &prev, &t);
                if t.norm.len() == 1 && &self.norm[t.norm.range()] == "s" && is_apostrophe(between)
                {
                    self.tokens[kept - 1].possessive = true;
                    i += 1;
                    continue;
                }
                if (between == "," || between == ".")
                    && prev.norm.end + 1 == t.norm.start
                    && self.norm[prev.norm.range()].ends_with(|c: char| c.is_ascii_digit())
                    && self.norm[t.norm.range()].starts_with(|c: char| c.is_ascii_digit())
                {
                    let joined = &mut self.tokens[kept - 1];
                    joined.norm.end = t.norm.end;
                    joined.orig.end = t.orig.end;
                    joined.shape.letters = joined.shape.letters.saturating_add(t.shape.letters);
                    i += 1;
                    continue;
                }
            }
            self.keep(text, first, &mut kept, t);
            i += 1;
        }
        self.tokens.truncate(kept);
    }

    /// Keeps `t` as word `kept` (of the field starting at `first`), with the
    /// gap before it classified.
    fn keep(&mut self, text: &str, first: usize, kept: &mut usize, mut t: Token) {
        (t.gap_hard, t.hyphen_before, t.sentence_start) = if *kept > first {
            let between = gap(text, &self.tokens[*kept - 1], &t);
            // Most words: one space after the last.
            if between == " " {
                (false, false, false)
            } else {
                let hard = gap_is_hard(between);
                let sentence = hard
                    && between.contains(['.', '!', '?', ':', ';', '\n', '…', '。', '！', '？']);
                (hard, is_hyphen(between), sentence)
            }
        } else {
            (true, false, true)
        };
        self.tokens[*kept] = t;
        *kept += 1;
    }

    /// `t` is an elided word (`l` of `l'ONU`): one of [`ELISIONS`], then an
    /// apostrophe, then a word starting with a letter. Not a possessive
    /// (`un's`), and not an acronym of two letters or more (`UN's`).
    fn is_elision(&self, text: &str, t: &Token, next: &Token) -> bool {
        if t.norm.len() > 6 || next.orig.start == t.orig.end {
            return false;
        }
        let next_word = &self.norm[next.norm.range()];
        ELISIONS.contains(&&self.norm[t.norm.range()])
            && !(t.shape.is_all_caps() && t.shape.letters > 1)
            && next_word != "s"
            && next_word.chars().next().is_some_and(char::is_alphabetic)
            && is_apostrophe(gap(text, t, next))
    }

    /// A single capital letter: part of a dotted acronym such as `U.S.`.
    fn is_initial(&self, t: &Token) -> bool {
        if t.shape.letters != 1 || !t.shape.has_upper {
            return false;
        }
        let word = &self.norm[t.norm.range()];
        let mut chars = word.chars();
        matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
            && t.shape.has_upper
    }
}

/// State of the first pass.
struct Cut {
    /// The word being read.
    cur: Option<Token>,
    /// Whether `cur` is a Han/kana character, which stands alone.
    cur_cjk: bool,
    field: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word { cjk: bool, alpha: bool },
    Mark,
    Separator,
}

/// How a source character is spelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Case {
    upper: bool,
    lower: bool,
}

/// A source character's folding, remembered: text in a non-Latin script
/// repeats a few dozen (Cyrillic) to a few thousand (Chinese) characters,
/// and folding one takes several Unicode table lookups.
#[derive(Debug, Clone, Copy)]
struct FoldEntry {
    c: char,
    /// Folded characters, `len` of them.
    out: [char; 4],
    class: [Class; 4],
    len: u8,
    /// Folds to more than four characters: not stored, fold again.
    long: bool,
    case: Case,
    /// A combining mark (dropped when it is a diacritic).
    mark: bool,
}

/// A direct-mapped cache of [`FoldEntry`]s, one per thread, warm from one
/// article to the next.
struct FoldCache {
    slots: Vec<FoldEntry>,
}

thread_local! {
    static FOLDS: std::cell::RefCell<FoldCache> = std::cell::RefCell::new(FoldCache::new());
}

impl FoldCache {
    const SLOTS: usize = 1024;

    fn new() -> FoldCache {
        FoldCache {
            slots: vec![
                FoldEntry {
                    // An ASCII character is never looked up: an empty slot.
                    c: '\0',
                    out: ['\0'; 4],
                    class: [Class::Separator; 4],
                    len: 0,
                    long: false,
                    case: Case::default(),
                    mark: false,
                };
                Self::SLOTS
            ],
        }
    }

    /// The folding of non-ASCII `c`.
    fn get(&mut self, c: char) -> FoldEntry {
        let slot = (c as usize).wrapping_mul(0x9E37_79B9) >> 7 & (Self::SLOTS - 1);
        if self.slots[slot].c == c {
            return self.slots[slot];
        }
        let mut entry = FoldEntry {
            c,
            out: ['\0'; 4],
            class: [Class::Separator; 4],
            len: 0,
            long: false,
            case: Case {
                upper: c.is_uppercase(),
                lower: c.is_lowercase(),
            },
            mark: is_combining_mark(c),
        };
        fold_char(c, &mut |d| {
            let k = usize::from(entry.len);
            if k < 4 {
                entry.out[k] = d;
                entry.class[k] = classify(d);
                entry.len += 1;
            } else {
                entry.long = true;
            }
        });
        self.slots[slot] = entry;
        entry
    }
}

fn classify(d: char) -> Class {
    if d.is_ascii() {
        if d.is_ascii_alphanumeric() {
            Class::Word {
                cjk: false,
                alpha: d.is_ascii_alphabetic(),
            }
        } else {
            Class::Separator
        }
    } else if d.is_alphanumeric() {
        Class::Word {
            cjk: is_cjk(d),
            alpha: d.is_alphabetic(),
        }
    } else if is_combining_mark(d) {
        Class::Mark
    } else {
        Class::Separator
    }
}

/// Han ideographs and hiragana: scripts written without spaces between
/// words, one word per character here. Katakana is not among them: it
/// spells loanwords and foreign names, and a run of it is one word (`ロシア`
/// is Russia, and `タイ`, Thailand, is not in `タイム`, time).
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{309F}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// The characters of `text` as meant, mojibake repaired (see
/// [`mojibake_at`]).
fn meant_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let c = text[at..].chars().next()?;
        match mojibake_at(text, at, c) {
            Some((meant, end)) => {
                at = end;
                Some(meant)
            }
            None => {
                at += c.len_utf8();
                Some(c)
            }
        }
    })
}

/// The character that UTF-8 text decoded as Windows-1252 (the commonest
/// mojibake) shows as `c` and the characters after it, and where those end:
/// `Ã©` is `é`, `â€™` is `’`. A lead byte's character followed by the right
/// number of continuation bytes' characters is all it takes; real text has
/// no such sequences (`SÃO` has a letter after `Ã`, not a continuation).
fn mojibake_at(text: &str, at: usize, c: char) -> Option<(char, usize)> {
    let lead = u32::from(c);
    let continuations = match lead {
        0xC2..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0..=0xF4 => 3,
        _ => return None,
    };
    let mut bytes = [0u8; 4];
    bytes[0] = u8::try_from(lead).ok()?;
    let mut end = at + c.len_utf8();
    let mut rest = text[end..].chars();
    for slot in bytes.iter_mut().skip(1).take(continuations) {
        let next = rest.next()?;
        let byte = windows_1252_byte(next)?;
        if !(0x80..=0xBF).contains(&byte) {
            return None;
        }
        *slot = byte;
        end += next.len_utf8();
    }
    let meant = std::str::from_utf8(&bytes[..=continuations]).ok()?;
    meant.chars().next().map(|m| (m, end))
}

/// The Windows-1252 byte that decodes to `c`, for bytes 0x80 to 0xBF.
fn windows_1252_byte(c: char) -> Option<u8> {
    Some(match c {
        '\u{A0}'..='\u{BF}' => u8::try_from(u32::from(c)).ok()?,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        // Undefined in Windows-1252, passed through as C1 controls by
        // decoders that follow the WHATWG table.
        '\u{81}' | '\u{8D}' | '\u{8F}' | '\u{90}' | '\u{9D}' => u8::try_from(u32::from(c)).ok()?,
        _ => return None,
    })
}

/// The original text between two words. Empty when both come from one
/// source character (`¼` folds to the words `1` and `4`).
fn gap<'t>(text: &'t str, before: &Token, after: &Token) -> &'t str {
    text.get(before.orig.end as usize..after.orig.start as usize)
        .unwrap_or_default()
}

/// One apostrophe and nothing else, as in `Putin’s`.
fn is_apostrophe(gap: &str) -> bool {
    let mut chars = meant_chars(gap);
    match (chars.next(), chars.next()) {
        (Some(c), None) => {
            let mut folded = None;
            fold_char(c, &mut |d| folded = Some(d));
            folded == Some('\'')
        }
        _ => false,
    }
}

/// One hyphen or dash and nothing else, as in `UN-backed`.
fn is_hyphen(gap: &str) -> bool {
    if gap.is_ascii() {
        return gap == "-";
    }
    let mut chars = meant_chars(gap);
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_ascii() => {
            let mut folded = None;
            fold_char(c, &mut |d| folded = Some(d));
            folded == Some('-')
        }
        _ => false,
    }
}

/// The hash of a normalised word that the matcher's dictionary is keyed
/// by: computed once per word when an article is cut, so matching against a
/// big dictionary hashes nothing. FxHash over 8-byte chunks, then a final
/// avalanche so that every bit of the result depends on every byte.
pub(crate) fn word_hash(word: &str) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h: u64 = word.len() as u64;
    let mut chunks = word.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        if let Ok(w) = <[u8; 8]>::try_from(chunk) {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Little-endian, as the chunks, without a variable-length copy.
        let w = rest
            .iter()
            .enumerate()
            .fold(0u64, |w, (k, b)| w | u64::from(*b) << (8 * k));
        h = (h.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
    avalanche(h)
}

/// murmur3's 64-bit finaliser: every bit of the result depends on every
/// bit of `h`, and no two inputs give the same result (a bijection).
pub(crate) fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Word and token counts are far below `u32::MAX` for any text wirewatch
/// accepts (bodies are capped in bytes); saturate rather than wrap anyway.
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Whether the text between two words holds punctuation that ends a phrase:
/// anything but whitespace, hyphens, apostrophes and invisible characters.
/// (Letters only appear here when a possessive `s` was dropped.)
pub(crate) fn gap_is_hard(gap: &str) -> bool {
    if gap.is_ascii() {
        return gap.bytes().any(|b| {
            !(b.is_ascii_whitespace()
                || b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'\'' | b'`'))
        });
    }
    let mut hard = false;
    for c in meant_chars(gap) {
        fold_char(c, &mut |d| {
            let soft = d.is_whitespace()
                || d == '-'
                || d == '\''
                || d.is_alphanumeric()
                || is_combining_mark(d);
            hard |= !soft;
        });
        if hard {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let t = Tokens::of(text);
        (0..t.len()).map(|i| t.word(i).to_string()).collect()
    }

    fn originals(text: &str) -> Vec<&str> {
        let t = Tokens::of(text);
        t.tokens.iter().map(|w| &text[w.orig.range()]).collect()
    }

    /// (name, text, words)
    const WORD_CASES: &[(&str, &str, &[&str])] = &[
        (
            "spaces_and_punctuation",
            "UN, fun; UNESCO!",
            &["un", "fun", "unesco"],
        ),
        (
            "line_breaks",
            "Security\n\n  Council",
            &["security", "council"],
        ),
        ("possessive_straight", "UN's vote", &["un", "vote"]),
        ("possessive_curly", "Putin’s war", &["putin", "war"]),
        (
            "plural_possessive",
            "Ukrainians' homes",
            &["ukrainians", "homes"],
        ),
        ("hyphenated", "UN-backed talks", &["un", "backed", "talks"]),
        ("elision_dropped", "l'ONU", &["onu"]),
        ("elision_curly_dropped", "d’Ukraine", &["ukraine"]),
        ("elision_capital_dropped", "L'ONU", &["onu"]),
        (
            "elision_italian",
            "dell'Onu e all'Ucraina",
            &["onu", "e", "ucraina"],
        ),
        ("elision_qu", "qu'il", &["il"]),
        ("elision_then_dotted_acronym", "l'O.N.U.", &["onu"]),
        ("possessive_not_elision", "UN's vote", &["un", "vote"]),
        (
            "lowercase_possessive_not_elision",
            "all's well",
            &["all", "well"],
        ),
        ("apostrophe_name_kept", "O'Brien", &["o", "brien"]),
        ("english_contraction_kept", "don't", &["don", "t"]),
        (
            "dotted_acronym",
            "the U.S. and U.N.",
            &["the", "us", "and", "un"],
        ),
        ("dotted_acronym_three", "U.S.A. today", &["usa", "today"]),
        (
            "initial_with_space_stays",
            "George W. Bush",
            &["george", "w", "bush"],
        ),
        ("lowercase_dots_stay", "e.g. this", &["e", "g", "this"]),
        (
            "digit_groups",
            "1,000 troops and 3.5%",
            &["1,000", "troops", "and", "3.5"],
        ),
        (
            "sentence_after_number",
            "in 2024. Then",
            &["in", "2024", "then"],
        ),
        (
            "han_one_per_character",
            "中国外交部",
            &["中", "国", "外", "交", "部"],
        ),
        ("cyrillic", "Олена Зеленська", &["олена", "зеленська"]),
        (
            "katakana_run_is_one_word",
            "ロシア語とタイム",
            &["ロシア", "語", "と", "タイム"],
        ),
        ("soft_hyphen_inside", "Secu\u{AD}rity", &["security"]),
        ("trademark_separates", "Acme™ rises", &["acme", "rises"]),
        (
            "mojibake_letters",
            "PrÃ¤sidenten KÃ¶ln",
            &["prasidenten", "koln"],
        ),
        (
            "mojibake_apostrophe",
            "Japanâ€™s subway",
            &["japan", "subway"],
        ),
        ("portuguese_not_mojibake", "SÃO PAULO", &["sao", "paulo"]),
    ];

    #[test]
    fn word_case_names_are_unique() {
        let mut names: Vec<_> = WORD_CASES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn cuts_each_case_into_words() {
        for (name, text, want) in WORD_CASES {
            assert_eq!(words(text), *want, "case {name}");
        }
    }

    fn joined(text: &str) -> Vec<(String, u32, u32)> {
        let t = Tokens::of(text);
        (0..t.joined.len())
            .map(|j| {
                (
                    t.joined_word(j).to_string(),
                    t.joined[j].start,
                    t.joined[j].end,
                )
            })
            .collect()
    }

    #[test]
    fn hyphenated_words_are_also_whole() {
        assert_eq!(joined("co-operation"), [("cooperation".into(), 0, 2)]);
        assert_eq!(joined("a UN-backed plan"), [("unbacked".into(), 1, 3)]);
        assert_eq!(
            joined("Guinea-Bissau and Jean-Marie Le Pen"),
            [("guineabissau".into(), 0, 2), ("jeanmarie".into(), 3, 5)]
        );
        assert_eq!(joined("Russia–Ukraine"), [("russiaukraine".into(), 0, 2)]);
        assert_eq!(
            joined("mother-in-law"),
            [("motherinlaw".into(), 0, 3)],
            "one whole for a run"
        );
        assert!(joined("Russia - Ukraine").is_empty(), "spaced dash");
        assert!(joined("Russia--Ukraine").is_empty(), "double hyphen");
        let t = Tokens::of("Pérez-Castejón");
        let shape = t.joined[0].shape;
        assert!(shape.first_upper && shape.has_lower && shape.letters == 13);
    }

    #[test]
    fn marks_sentence_starts_and_headline_style() {
        let t = Tokens::of(
            "Obama spoke on Monday. Then his wife Michelle Obama addressed the crowd; \"Bill\" said",
        );
        let starts: Vec<usize> = (0..t.len())
            .filter(|&i| t.tokens[i].sentence_start)
            .collect();
        assert_eq!(starts, [0, 4, 12]);
        assert!(!t.in_title_case(0));
        let t = Tokens::of("Obama Reports For Jury Duty In Chicago");
        assert!(t.in_title_case(0));
    }

    #[test]
    fn positions_count_words_within_each_field() {
        let mut t = Tokens::default();
        t.push_field("Russia warns", TITLE);
        t.push_field("Moscow said l'ONU", BODY);
        let positions: Vec<usize> = (0..t.len()).map(|i| t.position_in_field(i)).collect();
        assert_eq!(positions, [0, 1, 0, 1, 2]);
    }

    #[test]
    fn keeps_original_spelling_ranges() {
        assert_eq!(originals("Bogotá’s mayor"), ["Bogotá", "mayor"]);
        assert_eq!(originals("Bogota\u{301} now"), ["Bogota\u{301}", "now"]);
        assert_eq!(originals("the U.S. said"), ["the", "U.S.", "said"]);
        assert_eq!(originals("UN-backed"), ["UN", "backed"]);
        assert_eq!(originals("l’ONU said"), ["ONU", "said"]);
        assert_eq!(originals("KÃ¶ln"), ["KÃ¶ln"]);
    }

    #[test]
    fn marks_hard_gaps() {
        let t = Tokens::of("UN. Security Council-backed, 'UN's' view");
        let hard: Vec<bool> = t.tokens.iter().map(|w| w.gap_hard).collect();
        // UN | . Security | Council | - backed | , ' UN | 's' view
        assert_eq!(hard, [true, true, false, false, true, false]);
    }

    #[test]
    fn records_spelling_shapes() {
        let t = Tokens::of("UN Nato cleverly Cleverly CLEVERLY Россия 中");
        let s: Vec<Shape> = t.tokens.iter().map(|w| w.shape).collect();
        assert!(s[0].is_short_acronym());
        assert!(!s[1].is_all_caps() && s[1].first_upper);
        assert!(!s[2].is_not_lower());
        assert!(s[3].is_not_lower());
        assert!(s[4].is_not_lower());
        assert!(s[5].is_not_lower());
        assert!(
            s[6].is_not_lower(),
            "uncased scripts count as written like a name"
        );
    }

    /// (name, requirement, text word, accepted)
    const CASE_REQ_CASES: &[(&str, CaseReq, &str, bool)] = &[
        ("any_lower", CaseReq::Any, "un", true),
        ("acronym_caps", CaseReq::Acronym, "UN", true),
        ("acronym_lower", CaseReq::Acronym, "un", false),
        ("acronym_title", CaseReq::Acronym, "Un", false),
        ("acronym_dotted", CaseReq::Acronym, "U.N.", true),
        ("four_letter_title", CaseReq::AcronymOrTitle, "Nato", true),
        ("four_letter_lower", CaseReq::AcronymOrTitle, "nato", false),
        ("name_title", CaseReq::NotLower, "Cleverly", true),
        ("name_caps", CaseReq::NotLower, "CLEVERLY", true),
        ("name_lower", CaseReq::NotLower, "cleverly", false),
        ("name_uncased_script", CaseReq::NotLower, "普京", true),
    ];

    #[test]
    fn case_req_case_names_are_unique() {
        let mut names: Vec<_> = CASE_REQ_CASES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn case_requirements_accept_the_right_spellings() {
        for (name, req, word, want) in CASE_REQ_CASES {
            let t = Tokens::of(word);
            assert_eq!(req.accepts(t.tokens[0].shape), *want, "case {name}");
        }
    }

    #[test]
    fn typed_keywords_become_acronyms_only_when_short_and_capitalised() {
        let req = |w: &str| CaseReq::for_typed_keyword(Tokens::of(w).tokens[0].shape);
        assert_eq!(req("UN"), CaseReq::Acronym);
        assert_eq!(req("US"), CaseReq::Acronym);
        assert_eq!(req("NATO"), CaseReq::AcronymOrTitle);
        assert_eq!(req("UNESCO"), CaseReq::Any);
        assert_eq!(req("Un"), CaseReq::Any);
        assert_eq!(req("un"), CaseReq::Any);
        assert_eq!(req("G7"), CaseReq::Acronym);
    }
}
