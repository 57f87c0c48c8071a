//! Rule specs: `kind:text` as users type them, validated once.
//!
//! [`RuleSpec::parse`] checks everything a chat user can get wrong and says
//! how to fix it ([`RuleError`]); a spec that parsed compiles without errors.
//! The spec keeps the user's text (what `/rules` lists and the store saves)
//! next to the parsed form the matcher compiles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::acronyms;
use super::compiled::MAX_PATTERN_WORDS;
use super::gazetteer::{self, CountryId};
use super::names;
use super::query::{self, Expr, Fields, QueryError, RawTerm, RefKind};
use super::token::{CaseReq, Shape, Tokens};

/// The kinds of watch rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A word or phrase (`keyword:UN Security Council`).
    Keyword,
    /// A person, with aliases (`person:Olena Zelenska | Олена Зеленська`).
    Person,
    /// A country, through the gazetteer (`country:Russia`).
    Country,
    /// A boolean query (`query:"Security Council" AND Russia`).
    Query,
}

impl RuleKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [RuleKind; 4] = [
        RuleKind::Keyword,
        RuleKind::Person,
        RuleKind::Country,
        RuleKind::Query,
    ];

    /// The word users type for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Keyword => "keyword",
            RuleKind::Person => "person",
            RuleKind::Country => "country",
            RuleKind::Query => "query",
        }
    }

    /// Reads a kind word, in any case (`Country` from a phone keyboard).
    pub fn from_word(word: &str) -> Result<RuleKind, RuleError> {
        let word = word.trim();
        if let Some(kind) = RuleKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
        {
            return Ok(kind);
        }
        let lower = word.to_lowercase();
        let did_you_mean = RuleKind::ALL
            .into_iter()
            .map(|k| (strsim::jaro_winkler(&lower, k.as_str()), k))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k);
        Err(RuleError::UnknownKind {
            kind: word.to_string(),
            did_you_mean,
        })
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rule spec was refused. The `Display` text is a short message a chat
/// user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// No `kind:` in front of the text.
    #[error(
        "write a rule as kind:text, e.g. keyword:UN Security Council (kinds: keyword, person, country, query)"
    )]
    MissingKind,
    /// The kind word is not one of ours.
    #[error(
        "unknown rule kind \"{kind}\"{}; use keyword, person, country or query",
        did_you_mean.map(|k| format!(" (did you mean {k}?)")).unwrap_or_default()
    )]
    UnknownKind {
        /// What the user typed.
        kind: String,
        /// The closest kind, if one is close.
        did_you_mean: Option<RuleKind>,
    },
    /// Nothing after the kind.
    #[error("the {kind} rule is empty: write what to watch after \"{kind}\"")]
    EmptyText {
        /// The rule's kind.
        kind: RuleKind,
    },
    /// The text has nothing that can be matched.
    #[error("\"{text}\" has no letters or digits to match")]
    NothingToMatch {
        /// The offending text.
        text: String,
    },
    /// The text is longer than a rule may be.
    #[error("the rule is too long: at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// An empty alias in a `person:` rule (`A | | B`).
    #[error(
        "name {position} of the person is empty: separate names with |, e.g. Olena Zelenska | Олена Зеленська"
    )]
    EmptyAlias {
        /// 1-based position of the empty alias.
        position: usize,
    },
    /// The country is not in the gazetteer.
    #[error(
        "unknown country \"{name}\"{}",
        if suggestions.is_empty() {
            "; use its English name, e.g. Germany or United Kingdom".to_string()
        } else {
            format!(": did you mean {}?", suggestions.join(", "))
        }
    )]
    UnknownCountry {
        /// What the user typed.
        name: String,
        /// Up to three close names.
        suggestions: Vec<String>,
    },
    /// The name fits several countries equally well.
    #[error("\"{name}\" could be {}: write the country's name", candidates.join(" or "))]
    AmbiguousCountry {
        /// What the user typed.
        name: String,
        /// The countries it could mean.
        candidates: Vec<String>,
    },
    /// The query does not parse.
    #[error("query, {0}")]
    Query(#[from] QueryError),
    /// The query is true for a text that has none of its words.
    #[error(
        "the query has no word that must appear, so it would match almost every article: add one, e.g. Russia NOT football"
    )]
    QueryMatchesEverything,
    /// A `*` that is not a trailing wildcard, or a wildcard too short.
    #[error("{message}")]
    BadWildcard {
        /// What is wrong, with an example.
        message: String,
    },
    /// A `+option` the rule kind does not have.
    #[error(
        "unknown option \"{option}\" for a {kind} rule{}",
        if *kind == RuleKind::Country { ": country rules take +capital" } else { ": only country rules take options (+capital)" }
    )]
    UnknownOption {
        /// What the user typed.
        option: String,
        /// The rule's kind.
        kind: RuleKind,
    },
    /// The `NOT …` part of a person or country rule does not parse.
    #[error("in what to leave out, {0}")]
    Exclusion(QueryError),
    /// A phrase longer than the matcher takes.
    #[error("a phrase can have at most {max} words")]
    PhraseTooLong {
        /// The limit, in words.
        max: usize,
    },
    /// The part after the name is not a list of `NOT`s.
    #[error(
        "after the name, list what to leave out with NOT, e.g. country:Georgia NOT Atlanta NOT \"Peach State\""
    )]
    ExclusionNotNegative,
}

/// Longest rule text accepted, in characters: long enough for any real
/// query, short enough that one rule cannot bloat the compiled matcher.
const MAX_TEXT_CHARS: usize = 1000;

/// Fewest letters or digits before a trailing `*`: `sa*` would match a
/// large part of any language.
const MIN_WILDCARD_CHARS: usize = 3;

/// A validated watch rule: its kind and the user's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    kind: RuleKind,
    text: String,
    parsed: Parsed,
}

/// What a spec compiles from: its terms, already normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// One term.
    Keyword(Term),
    /// A person, and what to leave out.
    Person {
        /// The names the person is matched by.
        person: Person,
        /// `NOT …` after the names: an article with one of these is left out.
        exclude: Vec<Expr<Atom>>,
    },
    /// A gazetteer entry, and what to leave out.
    Country {
        /// The country, and whether its capital and seats count.
        country: CountryRef,
        /// `NOT …` after the name.
        exclude: Vec<Expr<Atom>>,
    },
    /// A query.
    Query(Expr<Atom>),
}

/// A keyword or query term: the phrase as typed, and the variants that are
/// the same term (acronym table, a hyphenated word as a whole), any of which
/// may occur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// The phrase as typed first.
    pub variants: Vec<Phrase>,
}

/// A country, as a rule or a query reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CountryRef {
    /// The gazetteer entry.
    pub id: CountryId,
    /// `+capital`: the capital and seats of government count too.
    pub capital: bool,
}

/// A person, as a `person:` rule or a query reference names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    /// Each alias in full, in any case; a hyphenated one also joined.
    pub full: Vec<Phrase>,
    /// Each surname alone, written as a name (`Cleverly`, `von der Leyen`).
    pub surnames: Vec<Phrase>,
    /// Surnames that are also common words (`May`): alone, they only count
    /// right after a title (see `names.rs`).
    pub strict: Vec<Phrase>,
    /// The other words of the aliases (given and middle names), normalised:
    /// a surname right after another name is someone else's.
    pub given: Vec<Box<str>>,
}

/// One term of a query, compiled from a [`RawTerm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Atom {
    /// Any of these phrases (a keyword's variants).
    Phrases {
        /// The phrases.
        phrases: Vec<Phrase>,
        /// Where they count.
        fields: Fields,
    },
    /// A person.
    Person {
        /// The person.
        person: Person,
        /// Where their names count.
        fields: Fields,
    },
    /// A name of a country.
    Country {
        /// The country.
        country: CountryRef,
        /// Where it counts.
        fields: Fields,
    },
}

impl RuleSpec {
    /// Parses `kind:text` (`keyword:UN Security Council`,
    /// `person:Olena Zelenska | Олена Зеленська`, `country:Russia +capital`,
    /// `query:"Security Council" AND (Russia OR Ukraine) NOT football`),
    /// validating the text fully.
    pub fn parse(spec: &str) -> Result<RuleSpec, RuleError> {
        let Some((kind, text)) = spec.split_once(':') else {
            return Err(RuleError::MissingKind);
        };
        if kind.trim().is_empty() {
            return Err(RuleError::MissingKind);
        }
        RuleSpec::from_parts(kind, text)
    }

    /// The same from the chat form, where the kind word and the text come
    /// separately (`/watch country Russia`).
    pub fn from_parts(kind: &str, text: &str) -> Result<RuleSpec, RuleError> {
        let kind = RuleKind::from_word(kind)?;
        // Line breaks and tabs become spaces, one for one, so the spec stays
        // one line (rules files hold one spec a line) and query columns hold.
        let text: String = text
            .trim()
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        if text.is_empty() {
            return Err(RuleError::EmptyText { kind });
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(RuleError::TooLong {
                max: MAX_TEXT_CHARS,
            });
        }
        let parsed = match kind {
            RuleKind::Keyword => Parsed::Keyword(Term::parse(&text)?),
            RuleKind::Person => {
                let (names, exclude) = split_exclusions(&text)?;
                if names.is_empty() {
                    return Err(RuleError::EmptyText { kind });
                }
                if let Some(option) = names.split_whitespace().find(|w| w.starts_with('+')) {
                    return Err(RuleError::UnknownOption {
                        option: option.to_string(),
                        kind,
                    });
                }
                Parsed::Person {
                    person: Person::parse(names)?,
                    exclude,
                }
            }
            RuleKind::Country => {
                let (name, exclude) = split_exclusions(&text)?;
                if name.is_empty() {
                    return Err(RuleError::EmptyText { kind });
                }
                Parsed::Country {
                    country: country_ref(name)?,
                    exclude,
                }
            }
            RuleKind::Query => Parsed::Query(query_atoms(&text)?),
        };
        Ok(RuleSpec { kind, text, parsed })
    }

    /// The rule's kind.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }

    /// The user's text, after the kind.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn parsed(&self) -> &Parsed {
        &self.parsed
    }
}

impl fmt::Display for RuleSpec {
    /// `kind:text`, which [`RuleSpec::parse`] reads back to an equal spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.text)
    }
}

impl FromStr for RuleSpec {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<RuleSpec, RuleError> {
        RuleSpec::parse(s)
    }
}

fn nothing(text: &str) -> RuleError {
    RuleError::NothingToMatch {
        text: text.to_string(),
    }
}

/// A sequence of normalised words, with what each needs from the text.
///
/// A word ending in `*` is a wildcard: any word starting with the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Phrase {
    /// Normalised words.
    pub words: Vec<Box<str>>,
    /// Spelling requirement of each word.
    pub case: Vec<CaseReq>,
    /// `hard_ok[k]`: the rule itself has punctuation between words `k` and
    /// `k + 1`, so the text may have some there too (`Yes, Minister`).
    pub hard_ok: Vec<bool>,
}

impl Phrase {
    /// Words of `text`, each word's requirement chosen from its typed shape.
    pub fn with_case(text: &str, case: impl Fn(Shape) -> CaseReq) -> Option<Phrase> {
        Phrase::of_tokens(&Tokens::of(text), case)
    }

    fn of_tokens(tokens: &Tokens, case: impl Fn(Shape) -> CaseReq) -> Option<Phrase> {
        if tokens.len() == 0 {
            return None;
        }
        Some(Phrase {
            words: (0..tokens.len()).map(|i| tokens.word(i).into()).collect(),
            case: tokens.tokens.iter().map(|t| case(t.shape)).collect(),
            hard_ok: tokens.tokens.iter().skip(1).map(|t| t.gap_hard).collect(),
        })
    }

    /// A keyword as typed, without wildcards or variants: how the acronym
    /// table reads its forms.
    pub fn keyword_form(text: &str) -> Option<Phrase> {
        Phrase::with_case(text, CaseReq::for_typed_keyword)
    }

    /// The phrase with words `start..end` replaced by `with`.
    pub fn replace(&self, start: usize, end: usize, with: &Phrase) -> Phrase {
        let mut words = self.words[..start].to_vec();
        words.extend_from_slice(&with.words);
        words.extend_from_slice(&self.words[end..]);
        let mut case = self.case[..start].to_vec();
        case.extend_from_slice(&with.case);
        case.extend_from_slice(&self.case[end..]);
        // Gaps: those before `start`, the one into the replacement, the
        // replacement's own, the one out of it, those after.
        let mut hard_ok = self.hard_ok[..start.saturating_sub(1)].to_vec();
        if start > 0 {
            hard_ok.push(self.hard_ok[start - 1]);
        }
        hard_ok.extend_from_slice(&with.hard_ok);
        if end < self.words.len() {
            hard_ok.extend_from_slice(&self.hard_ok[end - 1..]);
        }
        Phrase {
            words,
            case,
            hard_ok,
        }
    }

    /// The phrase with each hyphenated word of `tokens` joined into one
    /// (`co-operation` → `cooperation`), if it has any.
    fn joined(tokens: &Tokens, case: impl Fn(Shape) -> CaseReq) -> Option<Phrase> {
        if tokens.joined.is_empty() {
            return None;
        }
        let mut phrase = Phrase {
            words: Vec::new(),
            case: Vec::new(),
            hard_ok: Vec::new(),
        };
        let mut runs = tokens.joined.iter().enumerate().peekable();
        let mut i = 0;
        while i < tokens.len() {
            let (word, shape, end): (&str, Shape, usize) = match runs.peek() {
                Some((j, run)) if run.start as usize == i => {
                    let j = *j;
                    let end = run.end as usize;
                    let shape = run.shape;
                    runs.next();
                    (tokens.joined_word(j), shape, end)
                }
                _ => (tokens.word(i), tokens.tokens[i].shape, i + 1),
            };
            if i > 0 {
                phrase.hard_ok.push(tokens.tokens[i].gap_hard);
            }
            phrase.words.push(word.into());
            phrase.case.push(case(shape));
            i = end;
        }
        Some(phrase)
    }
}

impl Term {
    /// A keyword or query term as typed: words, quoted phrases, trailing
    /// wildcards (`sanction*`), with the acronym table's variants and
    /// hyphenated words also as a whole.
    pub fn parse(text: &str) -> Result<Term, RuleError> {
        check_wildcards(text)?;
        let tokens = Tokens::of(text);
        let mut phrase =
            Phrase::of_tokens(&tokens, CaseReq::for_typed_keyword).ok_or_else(|| nothing(text))?;
        check_length(&phrase)?;
        let mut wildcard = false;
        for (k, t) in tokens.tokens.iter().enumerate() {
            if text[t.orig.end as usize..].starts_with('*') {
                let word = tokens.word(k);
                if word.chars().count() < MIN_WILDCARD_CHARS {
                    return Err(RuleError::BadWildcard {
                        message: format!(
                            "\"{}*\" is too short: put at least {MIN_WILDCARD_CHARS} letters before the *",
                            &text[t.orig.range()]
                        ),
                    });
                }
                phrase.words[k] = format!("{word}*").into();
                phrase.case[k] = CaseReq::Any;
                wildcard = true;
            }
        }
        if wildcard {
            return Ok(Term {
                variants: vec![phrase],
            });
        }
        let mut variants = acronyms::get().variants(&tokens, &phrase);
        if let Some(joined) = Phrase::joined(&tokens, CaseReq::for_typed_keyword)
            && !variants.contains(&joined)
        {
            variants.push(joined);
        }
        // An expansion may make a long phrase too long: that variant goes.
        variants.retain(|v| v.words.len() <= MAX_PATTERN_WORDS);
        Ok(Term { variants })
    }
}

fn check_length(phrase: &Phrase) -> Result<(), RuleError> {
    if phrase.words.len() > MAX_PATTERN_WORDS {
        return Err(RuleError::PhraseTooLong {
            max: MAX_PATTERN_WORDS,
        });
    }
    Ok(())
}

/// A `*` is only allowed right after a letter or digit and before the end
/// of the word.
fn check_wildcards(text: &str) -> Result<(), RuleError> {
    for (i, c) in text.char_indices() {
        if c != '*' {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + 1..].chars().next();
        let ends_word = after.is_none_or(|a| {
            a.is_whitespace() || matches!(a, ')' | ',' | ';' | '"' | '”' | '»' | '.')
        });
        if !(before.is_some_and(char::is_alphanumeric) && ends_word) {
            return Err(RuleError::BadWildcard {
                message: "a wildcard goes at the end of a word, e.g. sanction* for sanctions and sanctioned".into(),
            });
        }
    }
    Ok(())
}

/// Suffixes that are not a surname (`Martin Luther King Jr`).
const NAME_SUFFIXES: &[&str] = &["jr", "sr", "ii", "iii", "iv"];

/// Words that belong to the surname after them (`von der Leyen`, `da
/// Silva`, `Le Pen`), normalised.
const SURNAME_PARTICLES: &[&str] = &[
    "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du", "la", "le",
    "ten", "ter", "van", "von", "zu", "bin", "ibn", "al", "el",
];

impl Person {
    /// The names of a `person:` rule: each `|`-separated alias in full (any
    /// case), and its surname alone when written like a name (the last
    /// word, with the particles before it); a hyphenated name also whole.
    pub fn parse(text: &str) -> Result<Person, RuleError> {
        let mut person = Person {
            full: Vec::new(),
            surnames: Vec::new(),
            strict: Vec::new(),
            given: Vec::new(),
        };
        for (i, alias) in text.split('|').enumerate() {
            let alias = alias.trim();
            if alias.is_empty() {
                return Err(RuleError::EmptyAlias { position: i + 1 });
            }
            let tokens = Tokens::of(alias);
            let full =
                Phrase::of_tokens(&tokens, |_| CaseReq::Any).ok_or_else(|| nothing(alias))?;
            check_length(&full)?;
            let mut words: Vec<&str> = alias.split_whitespace().collect();
            // A one-word alias is its own surname: only the name-cased form.
            if words.len() > 1 {
                push_unique(&mut person.full, full);
                if let Some(joined) = Phrase::joined(&tokens, |_| CaseReq::Any) {
                    push_unique(&mut person.full, joined);
                }
            }
            while words.len() > 1
                && words.last().is_some_and(|w| {
                    NAME_SUFFIXES.contains(&w.trim_end_matches(['.', ',']).to_lowercase().as_str())
                })
            {
                words.pop();
            }
            let mut first = words.len().saturating_sub(1);
            while first > 1 && SURNAME_PARTICLES.contains(&lookup_word(words[first - 1]).as_str()) {
                first -= 1;
            }
            for w in &words[..first] {
                let given = lookup_word(w);
                if !given.is_empty() && !person.given.iter().any(|g| **g == *given) {
                    person.given.push(given.into());
                }
            }
            let surname = words[first..].join(" ");
            let surname_tokens = Tokens::of(&surname);
            let Some(mut short) = Phrase::of_tokens(&surname_tokens, CaseReq::for_proper_name)
            else {
                continue;
            };
            // The surname alone must be written like a name even when the
            // user typed it in lower case: that is what tells `Mr Cleverly`
            // from `cleverly worded`.
            if let Some(last) = short.case.last_mut() {
                *last = CaseReq::NotLower;
            }
            if !short
                .words
                .iter()
                .any(|w| w.chars().any(char::is_alphabetic))
            {
                continue;
            }
            let strict = short.words.len() == 1 && names::is_ambiguous_surname(&short.words[0]);
            let list = if strict {
                &mut person.strict
            } else {
                &mut person.surnames
            };
            push_unique(list, short);
            if let Some(joined) = Phrase::joined(&surname_tokens, |_| CaseReq::NotLower) {
                push_unique(list, joined);
            }
        }
        if person.full.is_empty() && person.surnames.is_empty() && person.strict.is_empty() {
            return Err(nothing(text));
        }
        Ok(person)
    }
}

/// A word of a name, normalised (`Inácio` → `inacio`).
fn lookup_word(word: &str) -> String {
    let tokens = Tokens::of(word);
    (0..tokens.len()).map(|i| tokens.word(i)).collect()
}

fn push_unique(phrases: &mut Vec<Phrase>, p: Phrase) {
    if !phrases.contains(&p) {
        phrases.push(p);
    }
}

/// A country name with options (`Russia +capital`).
fn country_ref(text: &str) -> Result<CountryRef, RuleError> {
    let mut capital = false;
    let mut name = Vec::new();
    for word in text.split_whitespace() {
        match word.strip_prefix('+') {
            Some(option) if option.eq_ignore_ascii_case("capital") => capital = true,
            Some(option) if option.eq_ignore_ascii_case("capitals") => capital = true,
            Some(_) => {
                return Err(RuleError::UnknownOption {
                    option: word.to_string(),
                    kind: RuleKind::Country,
                });
            }
            None => name.push(word),
        }
    }
    let name = name.join(" ");
    if name.is_empty() {
        return Err(RuleError::EmptyText {
            kind: RuleKind::Country,
        });
    }
    Ok(CountryRef {
        id: gazetteer::get().lookup(&name)?,
        capital,
    })
}

/// Splits a person or country rule at its first upper-case `NOT` outside
/// quotes: the name part, and what to leave out.
fn split_exclusions(text: &str) -> Result<(&str, Vec<Expr<Atom>>), RuleError> {
    let Some(at) = first_not(text) else {
        return Ok((text, Vec::new()));
    };
    let name = text[..at].trim();
    // Blanks in place of the name keep the columns of errors (and of the
    // columns mentioned in their messages) those of the whole rule text.
    let padded = format!("{}{}", " ".repeat(text[..at].chars().count()), &text[at..]);
    let expr = query::parse_query(&padded).map_err(RuleError::Exclusion)?;
    let parts = match expr {
        Expr::And(parts) => parts,
        other => vec![other],
    };
    let mut exclude = Vec::with_capacity(parts.len());
    for part in parts {
        let Expr::Not(inner) = part else {
            return Err(RuleError::ExclusionNotNegative);
        };
        exclude.push(inner.try_map(&mut atom).map_err(RuleError::Exclusion)?);
    }
    Ok((name, exclude))
}

/// Byte offset of the first standalone `NOT` outside quotes.
fn first_not(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        if matches!(c, '"' | '“' | '”' | '„' | '«' | '»') {
            quoted = !quoted;
        }
        if !quoted
            && prev_space
            && text[i..].starts_with("NOT")
            && text[i + 3..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == '"')
        {
            return Some(i);
        }
        prev_space = c.is_whitespace();
    }
    None
}

/// Compiles one query term.
fn atom(term: RawTerm) -> Result<Atom, QueryError> {
    let at = |e: RuleError| QueryError::new(term.column, e.to_string());
    let fields = term.fields.unwrap_or(Fields::CONTENT);
    match term.reference {
        Some(RefKind::Person) => Ok(Atom::Person {
            person: Person::parse(&term.text).map_err(at)?,
            fields,
        }),
        Some(RefKind::Country) => Ok(Atom::Country {
            country: country_ref(&term.text).map_err(at)?,
            fields,
        }),
        Some(RefKind::Keyword) | None => Ok(Atom::Phrases {
            phrases: Term::parse(&term.text).map_err(at)?.variants,
            fields,
        }),
    }
}

fn query_atoms(text: &str) -> Result<Expr<Atom>, RuleError> {
    let raw = query::parse_query(text)?;
    let expr = raw.try_map(&mut atom)?;
    if expr.matches_empty_text() {
        return Err(RuleError::QueryMatchesEverything);
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, spec, kind, text)
    const VALID: &[(&str, &str, RuleKind, &str)] = &[
        (
            "keyword",
            "keyword:UN Security Council",
            RuleKind::Keyword,
            "UN Security Council",
        ),
        (
            "keyword_trimmed",
            "  keyword :  NATO  ",
            RuleKind::Keyword,
            "NATO",
        ),
        ("kind_any_case", "Keyword:NATO", RuleKind::Keyword, "NATO"),
        (
            "newline_to_space",
            "keyword:UN\nSecurity",
            RuleKind::Keyword,
            "UN Security",
        ),
        (
            "person_aliases",
            "person:Olena Zelenska | Olena Zelenskaya | Олена Зеленська",
            RuleKind::Person,
            "Olena Zelenska | Olena Zelenskaya | Олена Зеленська",
        ),
        ("country", "country:Russia", RuleKind::Country, "Russia"),
        (
            "country_lower_kept",
            "country:russia",
            RuleKind::Country,
            "russia",
        ),
        (
            "country_official",
            "country:Russian Federation",
            RuleKind::Country,
            "Russian Federation",
        ),
        ("country_short_form", "country:UK", RuleKind::Country, "UK"),
        (
            "country_turkey",
            "country:Turkey",
            RuleKind::Country,
            "Turkey",
        ),
        (
            "country_demonym",
            "country:Ukrainians",
            RuleKind::Country,
            "Ukrainians",
        ),
        (
            "query",
            "query:\"Security Council\" AND (Russia OR Ukraine) NOT football",
            RuleKind::Query,
            "\"Security Council\" AND (Russia OR Ukraine) NOT football",
        ),
        (
            "query_colon_kept",
            "query:\"10:30\" meeting",
            RuleKind::Query,
            "\"10:30\" meeting",
        ),
        (
            "query_near_fields_refs_wildcard",
            "query:person:\"Vladimir Putin\" NEAR/5 title:sanction* source:Reuters",
            RuleKind::Query,
            "person:\"Vladimir Putin\" NEAR/5 title:sanction* source:Reuters",
        ),
        (
            "country_capital",
            "country:Russia +capital",
            RuleKind::Country,
            "Russia +capital",
        ),
        (
            "country_exclusions",
            "country:Georgia NOT Atlanta NOT \"Peach State\"",
            RuleKind::Country,
            "Georgia NOT Atlanta NOT \"Peach State\"",
        ),
        (
            "person_exclusion",
            "person:Michael Jordan NOT basketball",
            RuleKind::Person,
            "Michael Jordan NOT basketball",
        ),
        (
            "keyword_wildcard",
            "keyword:sanction*",
            RuleKind::Keyword,
            "sanction*",
        ),
    ];

    #[test]
    fn valid_case_names_are_unique() {
        let mut names: Vec<_> = VALID.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn parses_valid_specs_and_round_trips_them() {
        for (name, spec, kind, text) in VALID {
            let parsed = RuleSpec::parse(spec).unwrap_or_else(|e| panic!("case {name}: {e}"));
            assert_eq!(parsed.kind(), *kind, "case {name}");
            assert_eq!(parsed.text(), *text, "case {name}");
            let shown = parsed.to_string();
            assert_eq!(
                RuleSpec::parse(&shown).as_ref(),
                Ok(&parsed),
                "case {name}: {shown}"
            );
        }
    }

    #[test]
    fn from_parts_matches_parse() {
        assert_eq!(
            RuleSpec::from_parts("country", "Russia"),
            RuleSpec::parse("country:Russia")
        );
        assert_eq!(
            RuleSpec::from_parts("query", "a:b c"),
            RuleSpec::parse("query:a:b c")
        );
    }

    /// (name, spec, part of the message)
    const INVALID: &[(&str, &str, &str)] = &[
        ("no_kind", "UN Security Council", "kind:text"),
        ("empty_kind", ":Russia", "kind:text"),
        (
            "unknown_kind_lists_kinds",
            "topic:Russia",
            "use keyword, person, country or query",
        ),
        (
            "unknown_kind_suggests",
            "keywrod:UN",
            "did you mean keyword?",
        ),
        ("empty_keyword", "keyword:", "the keyword rule is empty"),
        ("blank_person", "person:   ", "the person rule is empty"),
        ("punctuation_only", "keyword:!!!", "no letters or digits"),
        (
            "empty_alias",
            "person:Olena Zelenska || Олена Зеленська",
            "name 2 of the person is empty",
        ),
        (
            "unknown_country",
            "country:Russsia",
            "unknown country \"Russsia\": did you mean Russia",
        ),
        (
            "unknown_country_no_close_name",
            "country:Xqzzyv",
            "use its English name",
        ),
        ("ambiguous_demonym", "country:Congolese", "could be"),
        (
            "bare_code_not_a_country_name",
            "country:Narnia",
            "unknown country",
        ),
        (
            "query_syntax_column",
            "query:Russia AND",
            "query, column 11: expected a word, a quoted phrase or ( after AND",
        ),
        (
            "query_only_not",
            "query:NOT football",
            "no word that must appear",
        ),
        (
            "query_or_not",
            "query:Russia OR NOT football",
            "no word that must appear",
        ),
        (
            "query_term_without_letters",
            "query:Russia \"--\"",
            "query, column 8:",
        ),
        (
            "query_unknown_country_reference",
            "query:grain country:Narnia",
            "query, column 15: unknown country \"Narnia\"",
        ),
        (
            "query_wildcard_too_short",
            "query:grain sa*",
            "query, column 7: \"sa*\" is too short",
        ),
        (
            "query_wildcard_inside_word",
            "query:sanc*tion",
            "query, column 1: a wildcard goes at the end of a word",
        ),
        (
            "keyword_leading_wildcard",
            "keyword:*tion",
            "at the end of a word",
        ),
        ("keyword_lone_star", "keyword:*", "at the end of a word"),
        (
            "country_unknown_option",
            "country:Russia +capitol",
            "unknown option \"+capitol\" for a country rule: country rules take +capital",
        ),
        (
            "person_option",
            "person:Vladimir Putin +capital",
            "only country rules take options",
        ),
        (
            "country_exclusion_syntax_column",
            "country:Georgia NOT (Atlanta",
            "in what to leave out, column 21: expected ) to close the ( from column 13",
        ),
        (
            "country_exclusion_not_negative",
            "country:Georgia NOT Atlanta OR Savannah",
            "list what to leave out with NOT",
        ),
        (
            "country_only_exclusion",
            "country:NOT Atlanta",
            "the country rule is empty",
        ),
        (
            "country_only_option",
            "country:+capital",
            "the country rule is empty",
        ),
    ];

    #[test]
    fn invalid_case_names_are_unique() {
        let mut names: Vec<_> = INVALID.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn refuses_invalid_specs_with_actionable_messages() {
        for (name, spec, part) in INVALID {
            let err = RuleSpec::parse(spec).expect_err(name).to_string();
            assert!(err.contains(part), "case {name}: {err}");
        }
    }

    #[test]
    fn refuses_overlong_text() {
        let spec = format!("keyword:{}", "a ".repeat(600));
        assert_eq!(
            RuleSpec::parse(&spec),
            Err(RuleError::TooLong {
                max: MAX_TEXT_CHARS
            })
        );
    }

    #[test]
    fn kind_serialises_as_its_word() {
        let json = serde_json::to_string(&RuleKind::Country).expect("serialises");
        assert_eq!(json, "\"country\"");
        let back: RuleKind = serde_json::from_str("\"query\"").expect("deserialises");
        assert_eq!(back, RuleKind::Query);
    }

    fn person(text: &str) -> Vec<(String, Vec<CaseReq>)> {
        match RuleSpec::from_parts("person", text).expect("valid").parsed {
            Parsed::Person { person, .. } => person
                .full
                .into_iter()
                .chain(person.surnames)
                .chain(person.strict)
                .map(|p| (p.words.join(" "), p.case))
                .collect(),
            _ => unreachable!("person rule"),
        }
    }

    fn variants(spec: &str) -> Vec<String> {
        match RuleSpec::parse(spec).expect("valid").parsed {
            Parsed::Keyword(term) => term.variants.iter().map(|p| p.words.join(" ")).collect(),
            _ => unreachable!("keyword rule"),
        }
    }

    #[test]
    fn keywords_have_acronym_and_hyphen_variants() {
        let un = variants("keyword:UN");
        assert_eq!(un[0], "un");
        assert!(un.contains(&"united nations".to_string()), "{un:?}");
        assert_eq!(
            variants("keyword:co-operation"),
            ["co operation", "cooperation"]
        );
        assert_eq!(variants("keyword:sanction*"), ["sanction*"]);
        assert_eq!(
            variants("keyword:\"UN-backed\" sanction*"),
            ["un backed sanction*"]
        );
    }

    #[test]
    fn wildcard_words_match_any_case() {
        let Parsed::Keyword(term) = RuleSpec::parse("keyword:NATO*").expect("valid").parsed else {
            unreachable!("keyword rule")
        };
        assert_eq!(term.variants[0].case, [CaseReq::Any]);
    }

    #[test]
    fn country_rules_keep_options_and_exclusions() {
        let spec = RuleSpec::parse("country:Georgia +capital NOT Atlanta NOT \"Peach State\"")
            .expect("valid");
        let Parsed::Country { country, exclude } = spec.parsed else {
            unreachable!("country rule")
        };
        assert!(country.capital);
        assert_eq!(
            gazetteer::get().countries[usize::from(country.id)].code,
            "GE"
        );
        assert_eq!(exclude.len(), 2);
    }

    #[test]
    fn person_rules_have_full_names_and_name_cased_surnames() {
        use CaseReq::*;
        assert_eq!(
            person("James Cleverly"),
            [
                ("james cleverly".into(), vec![Any, Any]),
                ("cleverly".into(), vec![NotLower])
            ]
        );
        assert_eq!(
            person("james cleverly")[1],
            ("cleverly".into(), vec![NotLower])
        );
        assert_eq!(person("Lula"), [("lula".into(), vec![NotLower])]);
        assert_eq!(
            person("Martin Luther King Jr."),
            [
                ("martin luther king jr".into(), vec![Any, Any, Any, Any]),
                ("king".into(), vec![NotLower])
            ]
        );
        assert_eq!(
            person("Bashar al-Assad")[2],
            ("al assad".into(), vec![Any, NotLower])
        );
        assert_eq!(
            person("Bashar al-Assad")[1],
            ("bashar alassad".into(), vec![Any, Any]),
            "a hyphenated name is also one word"
        );
        assert_eq!(
            person("Michael Jordan NOT basketball"),
            [
                ("michael jordan".into(), vec![Any, Any]),
                ("jordan".into(), vec![NotLower])
            ]
        );
        assert_eq!(
            person("Ursula von der Leyen")[1],
            ("von der leyen".into(), vec![Any, Any, NotLower]),
            "particles belong to the surname"
        );
    }

    #[test]
    fn person_rules_know_given_names_and_ambiguous_surnames() {
        let parsed = |text: &str| match RuleSpec::from_parts("person", text).expect("valid").parsed
        {
            Parsed::Person { person, .. } => person,
            _ => unreachable!("person rule"),
        };
        let may = parsed("Theresa May | Тереза Мэй");
        let words =
            |ps: &[Phrase]| -> Vec<String> { ps.iter().map(|p| p.words.join(" ")).collect() };
        assert_eq!(words(&may.strict), ["may"]);
        assert_eq!(words(&may.surnames), ["мэи"]);
        assert_eq!(may.given, ["theresa".into(), "тереза".into()]);
        let lula = parsed("Luiz Inácio Lula da Silva");
        assert_eq!(words(&lula.surnames), ["da silva"]);
        assert_eq!(lula.given, ["luiz".into(), "inacio".into(), "lula".into()]);
    }
}
