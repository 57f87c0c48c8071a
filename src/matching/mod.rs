//! Matching: the rule language, text normalisation, the compiled matcher and
//! the explanation of each hit. Pure code: no I/O, no async, no SDK types.
//!
//! What it owns:
//! - rule specs as users type them (`keyword:`, `person:`, `country:`,
//!   `query:`), validated with messages a chat user can act on
//!   ([`RuleSpec`], [`RuleError`]);
//! - the one normalisation for rule terms and article text ([`normalize`]):
//!   NFKC-style compatibility folding, full case folding, diacritics removed,
//!   apostrophes and dashes unified, invisible characters dropped, with a map
//!   back to the original text;
//! - the country gazetteer with capitals and seats of government, derived
//!   from mledoze/countries (ODbL-1.0, see `assets/gazetteer/README.md`),
//!   and the curated acronym table (`assets/acronyms.tsv`);
//! - one [`Matcher`] compiled from every rule of every chat, whose cost per
//!   article grows with the text, not with the number of rules, and that
//!   takes single rules in and out ([`Matcher::add_rule`],
//!   [`Matcher::remove_rule`]);
//! - [`Hit`]s that explain themselves: the words matched, as written, where
//!   ([`TermPosition`]), and a snippet with highlights; grouped per distinct
//!   rule in [`Matches`] when thousands of chats watch the same thing.
//!
//! What it doesn't: turning HTML into text (`feeds`), storing rules and hits
//! (`store`), deciding who gets an alert (`alerts`, `pipeline`), and swapping
//! a new matcher in when rules change (whoever holds the `Arc<Matcher>`).
//!
//! ```
//! use wirewatch::matching::{Article, MatcherBuilder, RuleSpec};
//!
//! let mut builder = MatcherBuilder::new();
//! builder.add(1, &RuleSpec::parse("keyword:UN Security Council")?);
//! builder.add(2, &RuleSpec::parse("country:Russia")?);
//! let matcher = builder.build();
//! let article = Article {
//!     title: "Russian envoy walks out",
//!     body: "Members of the UN Security Council met on Friday.",
//!     source: "Example News",
//! };
//! let hits = matcher.find(&article);
//! assert_eq!(hits.len(), 2);
//! assert_eq!(hits[0].terms, ["UN Security Council"]);
//! assert_eq!(hits[1].terms, ["Russian"]);
//! # Ok::<(), wirewatch::matching::RuleError>(())
//! ```
//!
//! How matching decides, rule by rule:
//! - words match whole words only, after normalisation; a phrase matches
//!   across any whitespace, line breaks, hyphens or apostrophes, but not
//!   across other punctuation unless the rule has it too; possessive `'s` is
//!   ignored (`UN's`), French and Italian elisions are split off (`l'ONU`),
//!   hyphenated words are their parts (`UN-backed`) and their whole
//!   (`co-operation` = `cooperation`), dotted capitals are one word
//!   (`U.S.` = `US`); a word ending in `*` matches every word it starts;
//! - `keyword:` a short word (up to four letters) typed all in capitals is an
//!   acronym and matches only in capitals (`UN` not in `un accord`); a
//!   four-letter one also matches capitalised, as British style writes
//!   `Nato`; anything else matches in any case; an acronym or expansion of
//!   the acronym table also matches its other forms (`UN` = `United
//!   Nations` = `l'ONU`);
//! - `person:` each `|`-separated alias in full, in any case, and the last
//!   word of each alias (the surname) alone when written as a name:
//!   capitalised or in capitals (`Mr Cleverly`, `CLEVERLY`), not `cleverly`;
//!   a one-word alias is matched like a surname;
//! - `country:` names, short forms, demonyms and names in the country's own
//!   languages from the gazetteer, written as proper nouns, not counted
//!   inside a longer name of another place; with `+capital` its capitals and
//!   seats of government too (`Moscow`, `the Kremlin`);
//! - a person or country rule may end with `NOT` terms (`country:Georgia NOT
//!   Atlanta`): an article with one of them is left out;
//! - `query:` AND, OR, NOT, NEAR/n and parentheses over terms matched like
//!   keywords, `title:`/`body:`/`source:` qualifiers, and `person:`,
//!   `country:` and `keyword:` references matched like those rules.

mod acronyms;
mod compiled;
mod explain;
mod gazetteer;
mod names;
mod normalize;
mod query;
mod rule;
mod token;
mod trial;

#[cfg(test)]
mod tests;

pub use compiled::{Analyzed, Article, Matcher, MatcherBuilder, MatcherStats, Matches};
pub use explain::{Explanation, Field, Hit, SNIPPET_CHARS, Snippet, TermPosition};
pub use normalize::{Normalized, normalize};
pub use query::QueryError;
pub use rule::{RuleError, RuleKind, RuleSpec};
pub use trial::{Trial, try_rule};

/// Common names of the gazetteer's countries for autocompletion: those
/// starting with `typed` (case-insensitive) first, then those containing
/// it, at most `limit`.
pub fn country_suggestions(typed: &str, limit: usize) -> Vec<&'static str> {
    let typed = typed.trim().to_lowercase();
    let countries = &gazetteer::get().countries;
    let mut starts: Vec<&'static str> = Vec::new();
    let mut contains: Vec<&'static str> = Vec::new();
    for c in countries {
        let name = c.common.to_lowercase();
        if name.starts_with(&typed) {
            starts.push(c.common);
        } else if name.contains(&typed) {
            contains.push(c.common);
        }
    }
    starts.sort_unstable();
    contains.sort_unstable();
    starts.into_iter().chain(contains).take(limit).collect()
}
