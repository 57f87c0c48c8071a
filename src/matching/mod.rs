//! Matching: the rule language, text normalisation, the compiled matcher and
//! the explanation of each hit. Pure code: no I/O, no async, no SDK types.
//!
//! What it owns:
//! - rule specs as users type them (`keyword:`, `person:`, `country:`,
//!   `query:`), validated with messages a chat user can act on
//!   ([`RuleSpec`], [`RuleError`]);
//! - the one normalisation for rule terms and article text ([`normalize`]):
//!   NFKC-style compatibility folding, case folding, diacritics removed,
//!   apostrophes and dashes unified, invisible characters dropped, with a map
//!   back to the original text;
//! - the country gazetteer, derived from mledoze/countries (ODbL-1.0, see
//!   `assets/gazetteer/README.md`);
//! - one [`Matcher`] compiled from every rule of every chat, whose cost per
//!   article grows with the text, not with the number of rules;
//! - [`Hit`]s that explain themselves: the words matched, as written, and a
//!   snippet with highlights.
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
//!   ignored (`UN's`), hyphenated words are their parts (`UN-backed`), dotted
//!   capitals are one word (`U.S.` = `US`);
//! - `keyword:` a short word (up to four letters) typed all in capitals is an
//!   acronym and matches only in capitals (`UN` not in `un accord`); a
//!   four-letter one also matches capitalised, as British style writes
//!   `Nato`; anything else matches in any case;
//! - `person:` each `|`-separated alias in full, in any case, and the last
//!   word of each alias (the surname) alone when written as a name:
//!   capitalised or in capitals (`Mr Cleverly`, `CLEVERLY`), not `cleverly`;
//!   a one-word alias is matched like a surname;
//! - `country:` names, short forms and demonyms from the gazetteer, written
//!   as proper nouns, not counted inside a longer place name;
//! - `query:` AND, OR, NOT and parentheses over terms matched like keywords.

mod compiled;
mod explain;
mod gazetteer;
mod normalize;
mod query;
mod rule;
mod token;

#[cfg(test)]
mod tests;

pub use compiled::{Article, Matcher, MatcherBuilder};
pub use explain::{Hit, SNIPPET_CHARS, Snippet};
pub use normalize::{Normalized, normalize};
pub use query::QueryError;
pub use rule::{RuleError, RuleKind, RuleSpec};
