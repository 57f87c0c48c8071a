//! The one text normalisation used for rule terms and article text alike.
//!
//! Every character goes through [`fold_char`]: Unicode compatibility
//! decomposition (the "K" of NFKC: full-width letters, ligatures), full
//! case folding as Unicode's `CaseFolding.txt` defines it (`ß` and `ẞ` →
//! `ss`, final sigma, iota subscript → `ι`, Cherokee to capitals) plus the
//! dotless `ı` folded to `i`, diacritics removed
//! (`Bogotá` = `Bogota`), typographic apostrophes and dashes unified to `'`
//! and `-`, soft hyphens and zero-width characters dropped.
//!
//! Folding is done one source character at a time, so every normalised
//! character knows which original character produced it: that is the map back
//! to the original text that snippets and highlighted terms need.

use std::ops::Range;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Text after normalisation, with a map back to the original byte offsets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    text: String,
    /// One entry per source character that produced output:
    /// (start in `text`, byte range in the original).
    spans: Vec<(usize, Range<usize>)>,
}

impl Normalized {
    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The original byte range that produced the normalised byte range `norm`
    /// (a normalised range that starts or ends inside the output of one source
    /// character covers that whole character).
    pub fn original_range(&self, norm: Range<usize>) -> Range<usize> {
        if self.spans.is_empty() {
            return 0..0;
        }
        // The span holding byte `at` is the last one starting at or before it.
        let holder = |at: usize| {
            self.spans
                .partition_point(|(s, _)| *s <= at)
                .saturating_sub(1)
        };
        let first = &self.spans[holder(norm.start)].1;
        if norm.end <= norm.start {
            return first.start..first.start;
        }
        let last = &self.spans[holder(norm.end - 1)].1;
        first.start..last.end
    }
}

/// Normalises `text` for matching (see the module documentation).
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len()),
        spans: Vec::new(),
    };
    for (at, c) in text.char_indices() {
        let start = out.text.len();
        fold_char(c, &mut |d| out.text.push(d));
        if out.text.len() > start {
            out.spans.push((start, at..at + c.len_utf8()));
        }
    }
    out
}

/// Folds one source character, calling `emit` for each normalised character.
///
/// Letters and digits are decomposed and folded; other characters
/// (punctuation, symbols) are kept as they are, so that e.g. `™` does not turn
/// into the letters `tm` and glue itself to the word before it.
pub(crate) fn fold_char(c: char, emit: &mut impl FnMut(char)) {
    if c.is_ascii() {
        // Most news text is ASCII: skip the Unicode tables.
        match c {
            '`' => emit('\''),
            _ => emit(c.to_ascii_lowercase()),
        }
        return;
    }
    if !(c.is_alphanumeric() || is_combining_mark(c)) || is_apostrophe_letter(c) {
        fold_other(c, emit);
        return;
    }
    decompose_compatible(c, |d| {
        // Full case folding maps the iota subscript to iota (`ᾳ` = `αι`): a
        // letter to keep, not a diacritic to drop.
        if d == '\u{345}' {
            emit('ι');
            return;
        }
        if is_diacritic(d) {
            return;
        }
        // A compatibility form of punctuation inside a letter (`ŉ` is `ʼn`).
        if !(d.is_alphanumeric() || is_combining_mark(d)) || is_apostrophe_letter(d) {
            fold_other(d, emit);
            return;
        }
        // Cherokee is the one script that case-folds to capitals.
        if is_cherokee(d) {
            d.to_uppercase().for_each(&mut *emit);
            return;
        }
        for l in d.to_lowercase() {
            match l {
                'ß' => {
                    emit('s');
                    emit('s');
                }
                'ς' => emit('σ'),
                'ı' => emit('i'),
                // Old Cyrillic letter forms fold to the ordinary letters.
                '\u{1C80}' => emit('в'),
                '\u{1C81}' => emit('д'),
                '\u{1C82}' => emit('о'),
                '\u{1C83}' => emit('с'),
                '\u{1C84}' | '\u{1C85}' => emit('т'),
                '\u{1C86}' => emit('ъ'),
                '\u{1C87}' => emit('ѣ'),
                '\u{1C88}' => emit('ꙋ'),
                _ if is_diacritic(l) => {}
                _ => emit(l),
            }
        }
    });
}

/// Modifier letters written as apostrophes (Ukrainian, Hawaiian, Samoan).
fn is_apostrophe_letter(c: char) -> bool {
    matches!(c, '\u{02BB}' | '\u{02BC}')
}

/// Folds a character that is neither a letter, a digit nor a mark (or is a
/// letter used as an apostrophe).
fn fold_other(c: char, emit: &mut impl FnMut(char)) {
    match c {
        // Invisible: soft hyphen, zero-width space/joiners, word joiner, BOM,
        // Mongolian vowel separator. Dropping them keeps `Secu\u{AD}rity` one word.
        '\u{AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' => {}
        // Typographic apostrophes, including the modifier letters used as
        // apostrophes in Ukrainian and Hawaiian/Samoan spellings.
        '`' | '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{02BB}' | '\u{02BC}'
        | '\u{00B4}' | '\u{FF07}' => emit('\''),
        // Hyphens and dashes of every width, and the minus sign.
        '\u{2010}'..='\u{2015}'
        | '\u{2043}'
        | '\u{2212}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}' => emit('-'),
        _ if c.is_whitespace() => emit(' '),
        _ => emit(c),
    }
}

/// Cherokee letters, capital and small (full case folding maps the small
/// ones to the capitals).
fn is_cherokee(c: char) -> bool {
    matches!(c, '\u{13A0}'..='\u{13FD}' | '\u{AB70}'..='\u{ABBF}')
}

/// Marks that are diacritics to drop: the generic combining diacritics used
/// with Latin, Greek and Cyrillic letters, Arabic harakat and Hebrew points.
/// Marks that are part of a script's spelling (Indic vowel signs, Japanese
/// voicing marks) are kept, or distinct words would collapse into one.
pub(crate) fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{05BF}'
        | '\u{05C1}'..='\u{05C2}'
        | '\u{05C4}'..='\u{05C5}'
        | '\u{05C7}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, input, normalised)
    const CASES: &[(&str, &str, &str)] = &[
        (
            "ascii_lowercased",
            "UN Security Council",
            "un security council",
        ),
        ("acute_removed", "Bogotá", "bogota"),
        ("decomposed_acute_removed", "Bogota\u{301}", "bogota"),
        (
            "cedilla_and_circumflex",
            "Côte d'Ivoire Curaçao",
            "cote d'ivoire curacao",
        ),
        ("sharp_s_folded", "Straße", "strasse"),
        ("capital_sharp_s_folded", "STRAẞE", "strasse"),
        ("final_sigma", "ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
        ("turkish_dotted_capital", "İstanbul", "istanbul"),
        ("turkish_dotless", "Kıbrıs", "kibris"),
        ("fullwidth_letters", "ＵＮ", "un"),
        ("ligature", "ﬁnance", "finance"),
        ("curly_apostrophe", "Putin’s", "putin's"),
        ("modifier_apostrophe", "Putinʼs", "putin's"),
        ("backtick_apostrophe", "Putin`s", "putin's"),
        ("en_dash", "Russia–Ukraine", "russia-ukraine"),
        ("em_dash", "Russia—Ukraine", "russia-ukraine"),
        ("minus_sign", "−5", "-5"),
        ("soft_hyphen_dropped", "Secu\u{AD}rity", "security"),
        ("zero_width_dropped", "Secu\u{200B}rity", "security"),
        ("nbsp_is_space", "UN\u{A0}Security", "un security"),
        ("cyrillic_lowercased", "Олена Зеленська", "олена зеленська"),
        ("cyrillic_yo_is_ye", "Ёлка", "елка"),
        ("trademark_kept_as_symbol", "Acme™", "acme™"),
        ("arabic_harakat_dropped", "مُحَمَّد", "محمد"),
        ("iota_subscript_is_iota", "ᾳ", "αι"),
        ("prosgegrammeni_is_iota", "ᾼ", "αι"),
        ("lunate_sigma", "ϲ", "σ"),
        ("long_s", "ſ", "s"),
        ("kelvin_sign", "\u{212A}", "k"),
        ("old_cyrillic_forms", "\u{1C80}\u{1C82}\u{1C85}", "вот"),
        ("cherokee_small_to_capital", "\u{AB70}", "\u{13A0}"),
        ("armenian_ligature", "\u{587}", "եւ"),
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
    fn normalises_each_case() {
        for (name, input, want) in CASES {
            assert_eq!(normalize(input).as_str(), *want, "case {name}");
        }
    }

    /// Folding folded text changes nothing: rule terms and article text,
    /// each folded once, compare equal whichever was folded first.
    #[test]
    fn folding_is_idempotent_for_every_character() {
        let mut once = String::new();
        let mut twice = String::new();
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            once.clear();
            twice.clear();
            fold_char(c, &mut |d| once.push(d));
            for d in once.chars() {
                fold_char(d, &mut |e| twice.push(e));
            }
            assert_eq!(once, twice, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn maps_normalised_ranges_back_to_the_original() {
        let text = "Visit Bogotá’s Straße";
        let n = normalize(text);
        let norm = n.as_str();
        let at = norm.find("bogota").expect("folded word present");
        let orig = n.original_range(at..at + "bogota".len());
        assert_eq!(&text[orig], "Bogotá");
        let at = norm.find("strasse").expect("folded word present");
        let orig = n.original_range(at..at + "strasse".len());
        assert_eq!(&text[orig], "Straße");
        // Half of the `ss` from `ß` still maps to the whole `ß`.
        let orig = n.original_range(at + 4..at + 5);
        assert_eq!(&text[orig], "ß");
    }

    #[test]
    fn dropped_characters_produce_no_output_and_no_span() {
        let n = normalize("a\u{AD}\u{301}b");
        assert_eq!(n.as_str(), "ab");
        assert_eq!(n.original_range(1..2), 5..6);
    }
}
