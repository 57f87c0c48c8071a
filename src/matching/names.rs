//! Whether a surname found alone is the person a rule means.
//!
//! A `person:` rule matches the surname alone (`Mr Cleverly`, `Obama said`)
//! because that is how news refers to people after the first mention. Two
//! things go wrong with it, and this module holds the checks for both:
//!
//! - someone else of the same name: `Michelle Obama` is not Barack Obama.
//!   A surname right after another capitalised name, in running text (not a
//!   headline in title case, not at the start of a sentence), is someone
//!   else's, unless that name is a title (`President Obama`), an initial
//!   (`Vladimir V. Putin`), a possessive (`Russia's Putin`) or one of the
//!   person's own given names, in any spelling close to it (`Wladimir
//!   Putin`);
//! - a surname that is also a common capitalised word (`May`, the month):
//!   alone it only counts right after a title (`Mrs May`, `PM May`).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use super::compiled::HashedKey;
use super::token::{Tokens, word_hash};

/// Titles, offices and honorifics that may stand before a surname,
/// normalised (lower case, no diacritics), in the languages of the feeds.
const TITLE_WORDS: &[&str] = &[
    // English
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "dame",
    "lord",
    "lady",
    "president",
    "premier",
    "pm",
    "minister",
    "chancellor",
    "secretary",
    "senator",
    "sen",
    "rep",
    "representative",
    "congressman",
    "congresswoman",
    "governor",
    "gov",
    "mayor",
    "general",
    "gen",
    "admiral",
    "colonel",
    "captain",
    "judge",
    "justice",
    "king",
    "queen",
    "prince",
    "princess",
    "emperor",
    "pope",
    "cardinal",
    "archbishop",
    "bishop",
    "rabbi",
    "imam",
    "sheikh",
    "emir",
    "sultan",
    "ayatollah",
    "ambassador",
    "envoy",
    "leader",
    "chairman",
    "chairwoman",
    "chief",
    "former",
    "late",
    "vice",
    "deputy",
    "acting",
    "candidate",
    "nominee",
    "spokesman",
    "spokeswoman",
    "elect",
    "coach",
    "manager",
    // German
    "herr",
    "frau",
    "kanzler",
    "kanzlerin",
    "bundeskanzler",
    "bundeskanzlerin",
    "prasident",
    "prasidentin",
    "ministerprasident",
    "ministerin",
    // French, Spanish, Italian, Portuguese
    "monsieur",
    "madame",
    "mme",
    "ministre",
    "chancelier",
    "chanceliere",
    "presidente",
    "ministro",
    "ministra",
    "primer",
    "senor",
    "senora",
    "sr",
    "sra",
    "don",
    "dona",
    "signor",
    "signora",
    // Russian, Ukrainian
    "пан",
    "пані",
    "пани",
    "господин",
    "госпожа",
    "президент",
    "премьер",
    "министр",
    "канцлер",
    "президента",
];

/// Words that start sentences, normalised: capitalised there, they are no
/// name, so a surname after one is not someone else's (`Then Obama said`).
/// Any other capitalised word right before a surname, even at the start of
/// a sentence, is taken for a first name (`Michelle Obama praises …`).
const SENTENCE_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "also",
    "an",
    "and",
    "as",
    "at",
    "because",
    "before",
    "both",
    "but",
    "by",
    "did",
    "do",
    "does",
    "even",
    "for",
    "from",
    "has",
    "have",
    "he",
    "her",
    "here",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "instead",
    "it",
    "its",
    "last",
    "later",
    "meanwhile",
    "my",
    "now",
    "of",
    "on",
    "once",
    "only",
    "or",
    "our",
    "she",
    "since",
    "so",
    "still",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "to",
    "today",
    "under",
    "until",
    "we",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "without",
    "would",
    "yesterday",
    "yet",
    "you",
    "your",
    // German, French, Spanish, Italian, Portuguese
    "auch",
    "aber",
    "als",
    "am",
    "an",
    "auf",
    "aus",
    "bei",
    "das",
    "dem",
    "den",
    "der",
    "die",
    "doch",
    "ein",
    "eine",
    "für",
    "fur",
    "im",
    "mit",
    "nach",
    "nun",
    "und",
    "von",
    "vor",
    "wie",
    "wenn",
    "zu",
    "ce",
    "dans",
    "de",
    "des",
    "du",
    "en",
    "et",
    "la",
    "le",
    "les",
    "mais",
    "ou",
    "par",
    "pour",
    "pourquoi",
    "quand",
    "selon",
    "sur",
    "un",
    "une",
    "con",
    "el",
    "ella",
    "en",
    "los",
    "las",
    "para",
    "pero",
    "por",
    "según",
    "segun",
    "sin",
    "y",
    "il",
    "lo",
    "nel",
    "per",
    "con",
    "o",
    "os",
    "as",
    "com",
    "em",
    "no",
    "na",
    "mas",
    "segundo",
];

/// Surnames that are also common capitalised words, normalised: alone they
/// only count after a title.
const AMBIGUOUS_SURNAMES: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Whether `surname` (normalised) is also a common capitalised word.
pub(crate) fn is_ambiguous_surname(surname: &str) -> bool {
    AMBIGUOUS_SURNAMES.contains(&surname)
}

/// [`TITLE_WORDS`] and [`SENTENCE_WORDS`] as sets: asked for every surname
/// found alone, by every rule of a person with that surname.
static TITLES: LazyLock<WordSet> = LazyLock::new(|| WordSet::of(TITLE_WORDS));
static SENTENCE_STARTS: LazyLock<WordSet> = LazyLock::new(|| WordSet::of(SENTENCE_WORDS));

/// Words looked up by the [`word_hash`] an article's words come with: no
/// hashing per lookup. No two of them share a hash (a test checks).
struct WordSet(HashMap<u64, &'static str, BuildHasherDefault<HashedKey>>);

impl WordSet {
    fn of(words: &[&'static str]) -> WordSet {
        WordSet(words.iter().map(|&w| (word_hash(w), w)).collect())
    }

    fn contains(&self, word: &str, hash: u64) -> bool {
        self.0.get(&hash).is_some_and(|&w| w == word)
    }
}

/// Whether the surname found alone at word `start` of `tokens` stands for
/// the person whose given names (normalised) are `given`; `strict` when the
/// surname is also a common word (see the module documentation).
pub(crate) fn surname_stands_for(
    tokens: &Tokens,
    start: usize,
    given: &[Box<str>],
    strict: bool,
) -> bool {
    let t = &tokens.tokens[start];
    let prev =
        (start > 0 && !t.gap_hard && !t.hyphen_before && tokens.tokens[start - 1].field == t.field)
            .then(|| start - 1);
    let Some(p) = prev else {
        return !strict;
    };
    let word = tokens.word(p);
    let before = &tokens.tokens[p];
    if TITLES.contains(word, before.hash) || given.iter().any(|g| is_close(g, word)) {
        return true;
    }
    if strict {
        return false;
    }
    !before.shape.first_upper
        || before.possessive
        || (before.sentence_start && SENTENCE_STARTS.contains(word, before.hash))
        || before.shape.letters <= 1
        || before.shape.is_all_caps()
        || tokens.in_title_case(start)
}

/// The same given name in another spelling (`Wladimir`, `Vladimir`).
fn is_close(given: &str, word: &str) -> bool {
    given == word || (may_be_close(given, word) && strsim::jaro_winkler(given, word) >= 0.85)
}

/// False when `a` and `b` cannot be 0.85 close, decided without the Jaro
/// measure: that needs a Jaro similarity of at least 0.75 (the prefix bonus
/// adds at most 0.4 of the rest), and Jaro is at most
/// (m/|a| + m/|b| + 1) / 3 where m, the matching characters, are at most
/// the characters the two words have in common. ASCII words only; any
/// other pair may be close.
fn may_be_close(a: &str, b: &str) -> bool {
    if !a.is_ascii() || !b.is_ascii() || a.is_empty() || b.is_empty() {
        return true;
    }
    let mut counts = [0u8; 128];
    for c in a.bytes() {
        counts[usize::from(c)] = counts[usize::from(c)].saturating_add(1);
    }
    let mut common = 0usize;
    for c in b.bytes() {
        if counts[usize::from(c)] > 0 {
            counts[usize::from(c)] -= 1;
            common += 1;
        }
    }
    // m/|a| + m/|b| >= 1.25, in integers.
    4 * common * (a.len() + b.len()) >= 5 * a.len() * b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_title_or_sentence_words_share_a_hash() {
        for words in [TITLE_WORDS, SENTENCE_WORDS] {
            let set = WordSet::of(words);
            let distinct: std::collections::HashSet<&str> = words.iter().copied().collect();
            assert_eq!(set.0.len(), distinct.len());
            assert!(words.iter().all(|w| set.contains(w, word_hash(w))));
            assert!(!set.contains("zzz", word_hash("zzz")));
        }
    }

    #[test]
    fn the_cheap_bound_never_refuses_a_close_pair() {
        let words = [
            "vladimir",
            "wladimir",
            "volodymyr",
            "barack",
            "barak",
            "michelle",
            "michel",
            "keir",
            "kier",
            "rishi",
            "emmanuel",
            "emanuel",
            "joe",
            "joseph",
            "donald",
            "don",
            "olaf",
            "xi",
            "li",
            "said",
            "president",
            "minister",
            "the",
            "a",
            "mohammed",
            "muhammad",
            "mohamed",
            "sergei",
            "sergey",
            "serhiy",
            "aleksandr",
            "alexander",
            "alexandre",
        ];
        for a in words {
            for b in words {
                if strsim::jaro_winkler(a, b) >= 0.85 {
                    assert!(may_be_close(a, b), "{a} / {b}");
                }
            }
        }
        assert!(!may_be_close("vladimir", "said"));
        assert!(!may_be_close("barack", "president"));
    }

    /// (name, text, index of the surname word, given names, strict, stands for)
    type Case = (
        &'static str,
        &'static str,
        usize,
        &'static [&'static str],
        bool,
        bool,
    );

    const CASES: &[Case] = &[
        ("alone", "Obama said", 0, &["barack"], false, true),
        (
            "after_lowercase",
            "said Obama today",
            1,
            &["barack"],
            false,
            true,
        ),
        (
            "after_title",
            "President Obama said",
            1,
            &["barack"],
            false,
            true,
        ),
        (
            "other_first_name",
            "then Michelle Obama said",
            2,
            &["barack"],
            false,
            false,
        ),
        (
            "own_first_name",
            "then Barack Obama said",
            2,
            &["barack"],
            false,
            true,
        ),
        (
            "first_name_spelling",
            "the Wladimir Putin era",
            2,
            &["vladimir"],
            false,
            true,
        ),
        (
            "initial",
            "Vladimir V. Putin",
            2,
            &["vladimir"],
            false,
            true,
        ),
        (
            "possessive",
            "Russia's Putin said",
            1,
            &["vladimir"],
            false,
            true,
        ),
        (
            "sentence_start_word",
            "He left. Then Obama spoke",
            3,
            &["barack"],
            false,
            true,
        ),
        (
            "sentence_start_first_name",
            "Michelle Obama praises diversity in a speech",
            1,
            &["barack"],
            false,
            false,
        ),
        (
            "headline_title_case",
            "Kerry Lists Obama Era Diplomatic Successes",
            2,
            &["barack"],
            false,
            true,
        ),
        (
            "after_comma",
            "Clinton, Obama and",
            1,
            &["barack"],
            false,
            true,
        ),
        ("hyphen", "anti-Obama protest", 1, &["barack"], false, true),
        (
            "strict_alone",
            "in May the council",
            1,
            &["theresa"],
            true,
            false,
        ),
        (
            "strict_sentence_start",
            "May said",
            0,
            &["theresa"],
            true,
            false,
        ),
        ("strict_title", "PM May said", 1, &["theresa"], true, true),
        (
            "strict_honorific",
            "then Mrs May said",
            2,
            &["theresa"],
            true,
            true,
        ),
        (
            "german_title",
            "Kanzlerin Merkel sagte",
            1,
            &["angela"],
            false,
            true,
        ),
    ];

    #[test]
    fn case_names_are_unique() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn decides_each_case() {
        for (name, text, at, given, strict, want) in CASES {
            let tokens = Tokens::of(text);
            let given: Vec<Box<str>> = given.iter().map(|g| (*g).into()).collect();
            assert_eq!(
                surname_stands_for(&tokens, *at, &given, *strict),
                *want,
                "case {name}: word {:?}",
                tokens.word(*at)
            );
        }
    }

    #[test]
    fn months_and_days_are_ambiguous_surnames() {
        assert!(is_ambiguous_surname("may"));
        assert!(is_ambiguous_surname("august"));
        assert!(!is_ambiguous_surname("obama"));
    }
}
