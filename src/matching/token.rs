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
//! - dotted capitals become one word, so `U.S.` and `U.N.` equal `US`, `UN`;
//! - digit groups stay one word (`1,000`, `3.5`).
//!
//! Han and kana characters are one word each, because Chinese and Japanese
//! text has no spaces: a name in those scripts is then a phrase of characters
//! that matches inside running text.

use std::ops::Range;

use unicode_normalization::char::is_combining_mark;

use super::normalize::fold_char;

/// Field index of an article title.
pub(crate) const TITLE: u8 = 0;
/// Field index of an article body.
pub(crate) const BODY: u8 = 1;

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

/// One word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Byte range of the normalised word in [`Tokens::norm`].
    pub norm: Range<usize>,
    /// Byte range in the original text of its field.
    pub orig: Range<usize>,
    /// Which text the word comes from ([`TITLE`], [`BODY`]).
    pub field: u8,
    /// Punctuation other than whitespace, hyphens and apostrophes separates
    /// this word from the previous one (always true for a field's first word).
    pub gap_hard: bool,
    /// Spelling in the original text.
    pub shape: Shape,
}

/// The words of one or more texts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tokens {
    norm: String,
    /// The words, in order.
    pub tokens: Vec<Token>,
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
        &self.norm[self.tokens[i].norm.clone()]
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Appends the words of `text` as field `field`.
    pub fn push_field(&mut self, text: &str, field: u8) {
        let first = self.tokens.len();
        self.cut(text, field);
        let raw: Vec<Token> = self.tokens.drain(first..).collect();
        self.refine(text, field, raw);
    }

    /// First pass: cut folded text into runs of letters and digits.
    fn cut(&mut self, text: &str, field: u8) {
        self.norm.reserve(text.len());
        self.tokens.reserve(text.len() / 5);
        let mut cut = Cut {
            cur: None,
            cur_cjk: false,
            field,
        };
        let mut folded = String::new();
        for (at, c) in text.char_indices() {
            let end = at + c.len_utf8();
            if c.is_ascii() {
                // Most news text is ASCII: no folding tables, no scratch.
                let class = if c.is_ascii_alphanumeric() {
                    Class::Word { cjk: false }
                } else {
                    Class::Separator
                };
                let d = if c == '`' {
                    '\''
                } else {
                    c.to_ascii_lowercase()
                };
                self.feed(&mut cut, class, d, c, at..end);
                continue;
            }
            folded.clear();
            fold_char(c, &mut |d| folded.push(d));
            if folded.is_empty() {
                // A dropped diacritic written as its own character still
                // belongs to the word, so the word as written includes it.
                if let Some(t) = cut.cur.as_mut()
                    && is_combining_mark(c)
                {
                    t.orig.end = end;
                }
                continue;
            }
            for d in folded.chars() {
                self.feed(&mut cut, classify(d), d, c, at..end);
            }
        }
        self.finish(&mut cut.cur);
    }

    /// Adds folded character `d`, produced by source character `c` at `orig`.
    fn feed(&mut self, cut: &mut Cut, class: Class, d: char, c: char, orig: Range<usize>) {
        match class {
            Class::Word { cjk } => {
                if cut.cur.is_some() && (cjk || cut.cur_cjk) {
                    self.finish(&mut cut.cur);
                }
                if cut.cur.is_none() {
                    cut.cur_cjk = cjk;
                }
                let t = cut.cur.get_or_insert_with(|| Token {
                    norm: self.norm.len()..self.norm.len(),
                    orig: orig.clone(),
                    field: cut.field,
                    gap_hard: false,
                    shape: Shape {
                        first_upper: c.is_uppercase(),
                        ..Shape::default()
                    },
                });
                self.norm.push(d);
                t.orig.end = orig.end;
                t.shape.has_upper |= c.is_uppercase();
                t.shape.has_lower |= c.is_lowercase();
                if d.is_alphabetic() {
                    t.shape.letters = t.shape.letters.saturating_add(1);
                }
            }
            Class::Mark => {
                if let Some(t) = cut.cur.as_mut() {
                    self.norm.push(d);
                    t.orig.end = orig.end;
                }
            }
            Class::Separator => {
                self.finish(&mut cut.cur);
                // Kept in the buffer so digit groups can be re-joined as one
                // contiguous range.
                self.norm.push(d);
            }
        }
    }

    fn finish(&mut self, cur: &mut Option<Token>) {
        if let Some(mut t) = cur.take() {
            t.norm.end = self.norm.len();
            self.tokens.push(t);
        }
    }

    /// Second pass: join dotted acronyms and digit groups, drop possessive
    /// `'s`, and classify the gap before each word.
    fn refine(&mut self, text: &str, field: u8, raw: Vec<Token>) {
        let first = self.tokens.len();
        let mut i = 0;
        while i < raw.len() {
            let t = &raw[i];
            if self.is_initial(t) {
                let mut j = i;
                while j + 1 < raw.len()
                    && self.is_initial(&raw[j + 1])
                    && gap(text, &raw[j], &raw[j + 1]) == "."
                {
                    j += 1;
                }
                if j > i {
                    let letters: String = raw[i..=j]
                        .iter()
                        .map(|t| &self.norm[t.norm.clone()])
                        .collect();
                    let start = self.norm.len();
                    self.norm.push_str(&letters);
                    let mut end = raw[j].orig.end;
                    if text[end..].starts_with('.') {
                        end += 1;
                    }
                    let joined = Token {
                        norm: start..self.norm.len(),
                        orig: t.orig.start..end,
                        field,
                        gap_hard: false,
                        shape: Shape {
                            first_upper: true,
                            has_upper: true,
                            has_lower: false,
                            // Bounded by the tokens joined, far below u16::MAX
                            // in real text; saturate rather than wrap anyway.
                            letters: u16::try_from(j - i + 1).unwrap_or(u16::MAX),
                        },
                    };
                    self.push_refined(text, first, joined);
                    i = j + 1;
                    continue;
                }
            }
            let prev = self.tokens[first..].last();
            if let Some(prev) = prev {
                let between = gap(text, prev, t);
                if &self.norm[t.norm.clone()] == "s" && is_apostrophe(between) {
                    i += 1;
                    continue;
                }
                let prev_word = &self.norm[prev.norm.clone()];
                let word = &self.norm[t.norm.clone()];
                if (between == "," || between == ".")
                    && prev.norm.end + 1 == t.norm.start
                    && prev_word.ends_with(|c: char| c.is_ascii_digit())
                    && word.starts_with(|c: char| c.is_ascii_digit())
                {
                    let (norm_end, orig_end, letters) = (t.norm.end, t.orig.end, t.shape.letters);
                    if let Some(prev) = self.tokens.last_mut() {
                        prev.norm.end = norm_end;
                        prev.orig.end = orig_end;
                        prev.shape.letters = prev.shape.letters.saturating_add(letters);
                    }
                    i += 1;
                    continue;
                }
            }
            self.push_refined(text, first, t.clone());
            i += 1;
        }
    }

    fn push_refined(&mut self, text: &str, first: usize, mut t: Token) {
        t.gap_hard = match self.tokens[first..].last() {
            Some(prev) => gap_is_hard(gap(text, prev, &t)),
            None => true,
        };
        self.tokens.push(t);
    }

    /// A single capital letter: part of a dotted acronym such as `U.S.`.
    fn is_initial(&self, t: &Token) -> bool {
        let word = &self.norm[t.norm.clone()];
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

enum Class {
    Word { cjk: bool },
    Mark,
    Separator,
}

fn classify(d: char) -> Class {
    if d.is_ascii() {
        if d.is_ascii_alphanumeric() {
            Class::Word { cjk: false }
        } else {
            Class::Separator
        }
    } else if d.is_alphanumeric() {
        Class::Word { cjk: is_cjk(d) }
    } else if is_combining_mark(d) {
        Class::Mark
    } else {
        Class::Separator
    }
}

/// Han ideographs and kana: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// The original text between two words. Empty when both come from one
/// source character (`¼` folds to the words `1` and `4`).
fn gap<'t>(text: &'t str, before: &Token, after: &Token) -> &'t str {
    text.get(before.orig.end..after.orig.start)
        .unwrap_or_default()
}

/// One apostrophe and nothing else, as in `Putin’s`.
fn is_apostrophe(gap: &str) -> bool {
    let mut chars = gap.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => {
            let mut folded = None;
            fold_char(c, &mut |d| folded = Some(d));
            folded == Some('\'')
        }
        _ => false,
    }
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
    for c in gap.chars() {
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
        t.tokens.iter().map(|w| &text[w.orig.clone()]).collect()
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
        ("elision_split", "l'ONU", &["l", "onu"]),
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
        ("soft_hyphen_inside", "Secu\u{AD}rity", &["security"]),
        ("trademark_separates", "Acme™ rises", &["acme", "rises"]),
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

    #[test]
    fn keeps_original_spelling_ranges() {
        assert_eq!(originals("Bogotá’s mayor"), ["Bogotá", "mayor"]);
        assert_eq!(originals("Bogota\u{301} now"), ["Bogota\u{301}", "now"]);
        assert_eq!(originals("the U.S. said"), ["the", "U.S.", "said"]);
        assert_eq!(originals("UN-backed"), ["UN", "backed"]);
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
