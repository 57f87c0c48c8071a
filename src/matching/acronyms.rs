//! Well-known acronyms and their expansions: one term, whichever form a rule
//! or an article uses.
//!
//! The curated table `assets/acronyms.tsv` lists, one organisation a line,
//! the acronym (`UN`), its English expansions (`United Nations`) and the
//! names other languages use (`ONU`, `Nations unies`, `ООН`). A keyword or a
//! query term is expanded when compiled, never the article, so matching costs
//! nothing more:
//!
//! - a term that *is* a form of a line gets every form of that line:
//!   `keyword:UN` also matches `United Nations` and `l'ONU`;
//! - a term that *contains* an English form gets the other English forms in
//!   its place: `keyword:UN envoy` also matches `United Nations envoy` (but
//!   not a mixed-language `ONU envoy`).
//!
//! A form is found in a rule the way it would be found in an article, by its
//! own spelling requirements: `UN` typed in capitals is the acronym, `un`
//! typed in lower case is the French word and gets no expansion.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::rule::Phrase;
use super::token::Tokens;

/// The curated table (see the module documentation).
const TABLE: &str = include_str!("../../assets/acronyms.tsv");

/// Most variants one term expands to: a phrase naming several organisations
/// could otherwise multiply out.
const MAX_VARIANTS: usize = 32;

/// One line of the table.
#[derive(Debug)]
struct Group {
    /// Every form, the acronym first; `english` marks columns one and two.
    forms: Vec<(Phrase, bool)>,
}

/// The loaded table.
#[derive(Debug)]
pub(crate) struct Acronyms {
    groups: Vec<Group>,
    /// First normalised word of a form → (group, form).
    by_first_word: HashMap<Box<str>, Vec<(usize, usize)>>,
}

/// The table, loaded from the embedded file on first use.
pub(crate) fn get() -> &'static Acronyms {
    static ACRONYMS: OnceLock<Acronyms> = OnceLock::new();
    ACRONYMS.get_or_init(|| Acronyms::load(TABLE))
}

impl Acronyms {
    /// Parses `table`. Lines without an acronym are skipped; a test checks
    /// that the embedded table has none.
    fn load(table: &str) -> Acronyms {
        let mut groups = Vec::new();
        for line in table.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let acronym = cols.next().unwrap_or_default();
            let english = cols.next().unwrap_or_default();
            let other = cols.next().unwrap_or_default();
            let mut forms: Vec<(Phrase, bool)> = Vec::new();
            let all = std::iter::once((acronym, true))
                .chain(english.split('|').map(|f| (f, true)))
                .chain(other.split('|').map(|f| (f, false)));
            for (form, is_english) in all {
                let Some(phrase) = Phrase::keyword_form(form.trim()) else {
                    continue;
                };
                if !forms.iter().any(|(p, _)| *p == phrase) {
                    forms.push((phrase, is_english));
                }
            }
            if forms.len() > 1 {
                groups.push(Group { forms });
            }
        }
        let mut by_first_word: HashMap<Box<str>, Vec<(usize, usize)>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (f, (phrase, _)) in group.forms.iter().enumerate() {
                if let Some(first) = phrase.words.first() {
                    by_first_word.entry(first.clone()).or_default().push((g, f));
                }
            }
        }
        Acronyms {
            groups,
            by_first_word,
        }
    }

    /// `phrase` (the words of `tokens`, a term as typed) and the variants the
    /// table gives it, `phrase` first.
    pub fn variants(&self, tokens: &Tokens, phrase: &Phrase) -> Vec<Phrase> {
        let spans = self.find_forms(tokens, phrase);
        let mut out = vec![phrase.clone()];
        if spans.is_empty() {
            return out;
        }
        let whole = spans.len() == 1 && spans[0].1 == 0 && spans[0].2 == phrase.words.len();
        // Build the variants span by span, right to left so earlier
        // positions stay valid.
        for &(group, start, end) in spans.iter().rev() {
            let alternatives: Vec<&Phrase> = self.groups[group]
                .forms
                .iter()
                .filter(|(_, english)| whole || *english)
                .map(|(p, _)| p)
                .collect();
            let mut next = Vec::new();
            for base in &out {
                for alt in &alternatives {
                    if next.len() >= MAX_VARIANTS {
                        break;
                    }
                    let v = base.replace(start, end, alt);
                    if !next.contains(&v) {
                        next.push(v);
                    }
                }
            }
            out = next;
        }
        // The phrase as typed stays first (it is among the variants: the
        // form it contains is one of the alternatives).
        out.retain(|p| p != phrase);
        out.insert(0, phrase.clone());
        out.truncate(MAX_VARIANTS);
        out
    }

    /// Non-overlapping (group, start word, end word) spans of `phrase` that
    /// are a form of the table, longest first at each position.
    fn find_forms(&self, tokens: &Tokens, phrase: &Phrase) -> Vec<(usize, usize, usize)> {
        let n = phrase.words.len();
        if tokens.len() != n || phrase.words.iter().any(|w| w.ends_with('*')) {
            return Vec::new();
        }
        let mut spans = Vec::new();
        let mut start = 0;
        while start < n {
            let best = self
                .by_first_word
                .get(&phrase.words[start])
                .into_iter()
                .flatten()
                .filter_map(|&(g, f)| {
                    let form = &self.groups[g].forms[f].0;
                    let end = start + form.words.len();
                    let fits = end <= n
                        && form.words[..] == phrase.words[start..end]
                        && form
                            .case
                            .iter()
                            .zip(&tokens.tokens[start..end])
                            .all(|(req, t)| req.accepts(t.shape));
                    fits.then_some((g, end))
                })
                .max_by_key(|&(_, end)| end);
            match best {
                Some((g, end)) => {
                    spans.push((g, start, end));
                    start = end;
                }
                None => start += 1,
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(term: &str) -> Vec<String> {
        let phrase = Phrase::keyword_form(term).expect("a term");
        get()
            .variants(&Tokens::of(term), &phrase)
            .iter()
            .map(|p| p.words.join(" "))
            .collect()
    }

    #[test]
    fn embedded_table_loads_completely() {
        let lines = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(
            get().groups.len(),
            lines,
            "every line has two forms or more"
        );
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split('\t').count(), 3, "three columns: {line}");
        }
    }

    #[test]
    fn no_form_belongs_to_two_organisations() {
        let mut seen: HashMap<(Vec<Box<str>>, Vec<super::super::token::CaseReq>), usize> =
            HashMap::new();
        for (g, group) in get().groups.iter().enumerate() {
            for (phrase, _) in &group.forms {
                let key = (phrase.words.clone(), phrase.case.clone());
                if let Some(other) = seen.insert(key, g) {
                    assert_eq!(other, g, "{:?} in two lines", phrase.words);
                }
            }
        }
    }

    #[test]
    fn acronyms_are_typed_in_capitals() {
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let acronym = line.split('\t').next().unwrap_or_default();
            assert!(acronym.chars().all(|c| c.is_ascii_uppercase()), "{acronym}");
        }
    }

    /// (name, term, some variants it must have, variants it must not have)
    const CASES: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "acronym_gets_every_form",
            "UN",
            &["un", "united nations", "onu", "nations unies", "оон"],
            &[],
        ),
        (
            "expansion_gets_the_acronym",
            "United Nations",
            &["united nations", "un", "onu"],
            &[],
        ),
        ("lowercase_un_is_a_word", "un", &["un"], &["united nations"]),
        ("titlecase_un_is_a_word", "Un", &["un"], &["united nations"]),
        (
            "four_letter_house_style",
            "Nato",
            &["nato", "north atlantic treaty organization", "otan"],
            &[],
        ),
        (
            "longest_form_wins",
            "UN Security Council",
            &[
                "un security council",
                "unsc",
                "united nations security council",
                "совет безопасности оон",
            ],
            &["united nations security council un"],
        ),
        (
            "form_inside_a_phrase_english_only",
            "UN envoy",
            &["un envoy", "united nations envoy"],
            &["onu envoy"],
        ),
        (
            "two_forms_in_a_phrase",
            "EU and NATO talks",
            &[
                "eu and nato talks",
                "european union and nato talks",
                "eu and north atlantic treaty organisation talks",
            ],
            &[],
        ),
        ("no_form", "grain deal", &["grain deal"], &[]),
    ];

    #[test]
    fn wildcard_terms_are_not_expanded() {
        let term = super::super::rule::Term::parse("NATO*").expect("a term");
        let words: Vec<String> = term.variants.iter().map(|p| p.words.join(" ")).collect();
        assert_eq!(words, ["nato*"]);
    }

    #[test]
    fn case_names_are_unique() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn expands_each_case() {
        for (name, term, has, lacks) in CASES {
            let got = variants(term);
            assert_eq!(got.first(), has.first().map(|s| s.to_string()).as_ref());
            for want in *has {
                assert!(
                    got.iter().any(|g| g == want),
                    "case {name}: {got:?} lacks {want}"
                );
            }
            for not in *lacks {
                assert!(
                    !got.iter().any(|g| g == not),
                    "case {name}: {got:?} has {not}"
                );
            }
            assert!(got.len() <= MAX_VARIANTS, "case {name}");
        }
    }
}
