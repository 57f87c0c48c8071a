//! Rule specs: `kind:text` as users type them, validated once.
//!
//! [`RuleSpec::parse`] checks everything a chat user can get wrong and says
//! how to fix it ([`RuleError`]); a spec that parsed compiles without errors.
//! The spec keeps the user's text (what `/rules` lists and the store saves)
//! next to the parsed form the matcher compiles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gazetteer::{self, CountryId};
use super::query::{self, Expr, QueryError};
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
}

/// Longest rule text accepted, in characters: long enough for any real
/// query, short enough that one rule cannot bloat the compiled matcher.
const MAX_TEXT_CHARS: usize = 1000;

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
    /// One phrase.
    Keyword(Phrase),
    /// Full names and surnames; any of them.
    Person(Vec<Phrase>),
    /// A gazetteer entry.
    Country(CountryId),
    /// A boolean query over phrases.
    Query(Expr<Phrase>),
}

impl RuleSpec {
    /// Parses `kind:text` (`keyword:UN Security Council`,
    /// `person:Olena Zelenska | Олена Зеленська`, `country:Russia`,
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
            RuleKind::Keyword => {
                Parsed::Keyword(Phrase::keyword(&text).ok_or_else(|| nothing(&text))?)
            }
            RuleKind::Person => Parsed::Person(person_phrases(&text)?),
            RuleKind::Country => Parsed::Country(gazetteer::get().lookup(&text)?),
            RuleKind::Query => Parsed::Query(query_phrases(&text)?),
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
        let tokens = Tokens::of(text);
        if tokens.len() == 0 {
            return None;
        }
        Some(Phrase {
            words: (0..tokens.len()).map(|i| tokens.word(i).into()).collect(),
            case: tokens.tokens.iter().map(|t| case(t.shape)).collect(),
            hard_ok: tokens.tokens.iter().skip(1).map(|t| t.gap_hard).collect(),
        })
    }

    /// A keyword or query term: case-insensitive except typed acronyms.
    pub fn keyword(text: &str) -> Option<Phrase> {
        Phrase::with_case(text, CaseReq::for_typed_keyword)
    }
}

/// Suffixes that are not a surname (`Martin Luther King Jr`).
const NAME_SUFFIXES: &[&str] = &["jr", "sr", "ii", "iii", "iv"];

/// The phrases of a `person:` rule: each alias in full (any case), and the
/// surname alone (the alias's last word) when written like a name.
fn person_phrases(text: &str) -> Result<Vec<Phrase>, RuleError> {
    let mut phrases: Vec<Phrase> = Vec::new();
    for (i, alias) in text.split('|').enumerate() {
        let alias = alias.trim();
        if alias.is_empty() {
            return Err(RuleError::EmptyAlias { position: i + 1 });
        }
        let full = Phrase::with_case(alias, |_| CaseReq::Any).ok_or_else(|| nothing(alias))?;
        let mut words: Vec<&str> = alias.split_whitespace().collect();
        // A one-word alias is its own surname: only the name-cased form.
        if words.len() > 1 {
            push_unique(&mut phrases, full);
        }
        while words.len() > 1
            && words.last().is_some_and(|w| {
                NAME_SUFFIXES.contains(&w.trim_end_matches(['.', ',']).to_lowercase().as_str())
            })
        {
            words.pop();
        }
        let surname = words.last().copied().unwrap_or(alias);
        if let Some(mut short) = Phrase::with_case(surname, CaseReq::for_proper_name) {
            // The surname alone must be written like a name even when the
            // user typed it in lower case: that is what tells `Mr Cleverly`
            // from `cleverly worded`.
            if let Some(last) = short.case.last_mut() {
                *last = CaseReq::NotLower;
            }
            if short
                .words
                .iter()
                .any(|w| w.chars().any(char::is_alphabetic))
            {
                push_unique(&mut phrases, short);
            }
        }
    }
    if phrases.is_empty() {
        return Err(nothing(text));
    }
    Ok(phrases)
}

fn push_unique(phrases: &mut Vec<Phrase>, p: Phrase) {
    if !phrases.contains(&p) {
        phrases.push(p);
    }
}

fn query_phrases(text: &str) -> Result<Expr<Phrase>, RuleError> {
    let raw = query::parse_query(text)?;
    let expr = raw.try_map(&mut |term| {
        Phrase::keyword(&term.text).ok_or_else(|| QueryError {
            column: term.column,
            message: format!("\"{}\" has no letters or digits to match", term.text),
        })
    })?;
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
            "country:Rusia",
            "unknown country \"Rusia\": did you mean Russia",
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
            Parsed::Person(ps) => ps
                .into_iter()
                .map(|p| (p.words.join(" "), p.case))
                .collect(),
            _ => unreachable!("person rule"),
        }
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
            person("Bashar al-Assad")[1],
            ("al assad".into(), vec![Any, NotLower])
        );
    }
}
