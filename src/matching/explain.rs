//! How a hit explains itself: the words it matched, where, and a snippet.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// One rule that matched one article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The rule's id, as given to [`MatcherBuilder::add`](super::MatcherBuilder::add).
    pub rule_id: i64,
    /// The matched words as written in the article (whitespace collapsed),
    /// deduplicated, in order of appearance (title first).
    pub terms: Vec<String>,
    /// Original text around the first match.
    pub snippet: Snippet,
    /// Every occurrence of the matched words, in order of appearance (title
    /// first). Empty in hits stored before positions were recorded.
    #[serde(default)]
    pub positions: Vec<TermPosition>,
}

/// Why rules matched an article: shared by every rule that matched through
/// the same words (every chat's `country:Russia`), see
/// [`Matches`](super::Matches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// As [`Hit::terms`].
    pub terms: Vec<String>,
    /// As [`Hit::snippet`].
    pub snippet: Snippet,
    /// As [`Hit::positions`].
    pub positions: Vec<TermPosition>,
}

impl Explanation {
    /// The hit of rule `rule_id` with this explanation.
    pub fn to_hit(&self, rule_id: i64) -> Hit {
        Hit {
            rule_id,
            terms: self.terms.clone(),
            snippet: self.snippet.clone(),
            positions: self.positions.clone(),
        }
    }
}

/// Which text of an article a matched term is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The headline.
    Title,
    /// The text.
    Body,
    /// The feed's or outlet's name (`source:` in a query).
    Source,
}

/// Where one matched term is in the article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermPosition {
    /// The text it is in.
    pub field: Field,
    /// Byte range in that text as given in the [`Article`](super::Article).
    pub range: Range<usize>,
    /// Index of its first word in that text, counting words from 0 as
    /// matching does (`U.N.` is one word, `l'` before `ONU` none).
    pub word: u32,
    /// Its length in words.
    pub words: u32,
}

/// A short piece of original text around a match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snippet {
    /// About [`SNIPPET_CHARS`] characters around the first match, cut at word
    /// boundaries, whitespace collapsed; `…` marks where text was cut.
    pub text: String,
    /// Byte ranges in `text` of every match inside the snippet.
    pub highlights: Vec<Range<usize>>,
}

/// Target length of a snippet, in characters: about two lines in a chat.
pub const SNIPPET_CHARS: usize = 200;

/// How much of the snippet comes before the first match, in characters.
const CONTEXT_BEFORE: usize = 60;

/// A matched term as it reads in the text: whitespace runs (line breaks
/// inside a phrase) become one space.
pub(crate) fn term_text(original: &str) -> String {
    // Mostly one word, or words with one space between them.
    let odd = |b: u8| b.wrapping_sub(b'\t') < 5 || matches!(b, 0xC2 | 0xE1..=0xE3);
    if !original.bytes().any(odd) && !original.contains("  ") {
        return original.to_owned();
    }
    let mut out = String::with_capacity(original.len());
    for word in original.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The snippet of `text` around `first`, highlighting each of `highlights`
/// (byte ranges in `text`, `first` among them) that falls inside it.
pub(crate) fn snippet(text: &str, first: Range<usize>, highlights: &[Range<usize>]) -> Snippet {
    let (start, end) = window(text, first);
    let inside = || {
        highlights
            .iter()
            .filter(move |h| start <= h.start && h.end <= end && h.start < h.end)
    };
    ascii_snippet(text, start, end, inside())
        .unwrap_or_else(|| collapsed_snippet(text, start, end, inside()))
}

/// Bytes looked at together where whitespace is looked for: a test over a
/// whole chunk is one the compiler vectorises.
const CHUNK: usize = 16;

/// The snippet of window `start..end` of `text`, highlighting `inside`,
/// when the window's only whitespace is ASCII (most text): whitespace at
/// either end dropped, each run between words made one space, the text
/// between runs copied whole. `None` when there is other whitespace.
fn ascii_snippet<'h>(
    text: &str,
    start: usize,
    end: usize,
    inside: impl Iterator<Item = &'h Range<usize>>,
) -> Option<Snippet> {
    let window = &text[start..end];
    let trimmed = window.trim_start();
    let from = start + (window.len() - trimmed.len());
    let to = from + trimmed.trim_end().len();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(to - from + 6);
    if start > 0 {
        out.push('…');
    }
    let base = out.len();
    // Runs other than one space: (first byte, end, where their space is).
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    let mut copied = from;
    let mut i = from;
    while i < to {
        // Most chunks hold nothing but single spaces between words.
        let stop = (i + CHUNK).min(to);
        if stop < to && plain_chunk(&bytes[i..=stop]) {
            i = stop;
            continue;
        }
        while i < stop {
            // Most bytes: neither whitespace nor the lead byte of any.
            if (b'!'..0xC2).contains(&bytes[i]) {
                i += 1;
                continue;
            }
            match bytes[i] {
                b' ' if !matches!(bytes[i + 1], b'\t'..=b'\r' | b' ') => i += 1,
                b' ' | b'\t'..=b'\r' => {
                    let mut j = i + 1;
                    while j < to && matches!(bytes[j], b'\t'..=b'\r' | b' ') {
                        j += 1;
                    }
                    out.push_str(&text[copied..i]);
                    runs.push((i, j, out.len()));
                    out.push(' ');
                    copied = j;
                    i = j;
                }
                // The lead bytes of every other `char::is_whitespace`.
                0xC2 | 0xE1 | 0xE2 | 0xE3
                    if text[i..].chars().next().is_some_and(char::is_whitespace) =>
                {
                    return None;
                }
                _ => i += 1,
            }
        }
    }
    out.push_str(&text[copied..to]);
    if end < text.len() {
        out.push('…');
    }
    // An offset inside a run goes where its space is; any other moves with
    // the text copied after the last run before it.
    let at = |offset: usize| {
        let offset = offset.clamp(from, to);
        match runs.partition_point(|&(run, _, _)| run <= offset) {
            0 => base + offset - from,
            k => {
                let (_, run_end, space) = runs[k - 1];
                if offset < run_end {
                    space
                } else {
                    space + 1 + offset - run_end
                }
            }
        }
    };
    Some(Snippet {
        highlights: inside.map(|h| at(h.start)..at(h.end)).collect(),
        text: out,
    })
}

/// Whether the first [`CHUNK`] bytes of `chunk` (which has one more, to see
/// what follows a space) hold no whitespace but single spaces, and no lead
/// byte of non-ASCII whitespace.
fn plain_chunk(chunk: &[u8]) -> bool {
    let Ok(c) = <&[u8; CHUNK + 1]>::try_from(chunk) else {
        return false;
    };
    // `\t` to `\r`, and the lead bytes 0xC2 and 0xE1 to 0xE3.
    let control = |b: u8| b.wrapping_sub(b'\t') < 5;
    let odd = c[..CHUNK].iter().fold(false, |acc, &b| {
        acc | control(b) | (b == 0xC2) | (b.wrapping_sub(0xE1) < 3)
    });
    // Two spaces in a row: a byte's high bit marks a space, in the chunk
    // and in the chunk one byte on, sixteen bytes at a time.
    let spaces = |bytes: &[u8]| {
        let Ok(bytes) = <[u8; CHUNK]>::try_from(bytes) else {
            return 0;
        };
        let (low, high) = (
            u128::from_ne_bytes([0x7F; CHUNK]),
            u128::from_ne_bytes([0x80; CHUNK]),
        );
        let t = u128::from_ne_bytes(bytes) ^ u128::from_ne_bytes([b' '; CHUNK]);
        // A byte of `t` is zero where there is a space; no carry crosses bytes.
        !(((t & low) + low) | t) & high
    };
    let doubled = spaces(&c[..CHUNK]) & spaces(&c[1..]) != 0;
    !(odd | doubled | (c[CHUNK - 1] == b' ' && control(c[CHUNK])))
}

/// The snippet of window `start..end` of `text` with its whitespace
/// collapsed, highlighting `inside`.
fn collapsed_snippet<'h>(
    text: &str,
    start: usize,
    end: usize,
    inside: impl Iterator<Item = &'h Range<usize>>,
) -> Snippet {
    // Original offsets whose place in the snippet is needed, sorted, with
    // (highlight, is its end) for each.
    let mut wanted: Vec<(usize, usize, bool)> = inside
        .enumerate()
        .flat_map(|(k, h)| [(h.start, k, false), (h.end, k, true)])
        .collect();
    wanted.sort_unstable();
    let mut mapped = vec![0..0; wanted.len() / 2];
    let mut next = 0;
    let mut out = String::with_capacity(end - start + 8);
    if start > 0 {
        out.push('…');
    }
    // Whitespace runs become one space; none at the very start. Text goes
    // over a word at a time; a wanted offset inside a word lands at the same
    // distance from the word's start in the snippet, and one inside a
    // whitespace run where the run's space goes.
    let mut pending_space = false;
    let mut has_content = false;
    let mut place = |upto: usize, at: &dyn Fn(usize) -> usize, next: &mut usize| {
        while let Some(&(offset, k, is_end)) = wanted.get(*next) {
            if offset >= upto {
                break;
            }
            if is_end {
                mapped[k].end = at(offset);
            } else {
                mapped[k].start = at(offset);
            }
            *next += 1;
        }
    };
    let slice = &text[start..end];
    let mut pos = 0;
    while pos < slice.len() {
        let rest = &slice[pos..];
        let blank = run_len(rest, true);
        if blank > 0 {
            let here = out.len();
            place(start + pos + blank, &|_| here, &mut next);
            pending_space = has_content;
            pos += blank;
            continue;
        }
        let word = run_len(rest, false);
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        let (base, from) = (out.len(), start + pos);
        place(
            start + pos + word,
            &|offset| base + offset - from,
            &mut next,
        );
        out.push_str(&rest[..word]);
        has_content = true;
        pos += word;
    }
    let here = out.len();
    place(usize::MAX, &|_| here, &mut next);
    if end < text.len() {
        out.push('…');
    }
    Snippet {
        text: out,
        highlights: mapped,
    }
}

/// Byte window of about [`SNIPPET_CHARS`] characters holding `first`, with
/// [`CONTEXT_BEFORE`] characters before it where there are, cut at word
/// boundaries (or at the match itself when a side has no boundary).
fn window(text: &str, first: Range<usize>) -> (usize, usize) {
    // ASCII text (most of it) is counted in bytes, not decoded.
    let back = first.start.saturating_sub(CONTEXT_BEFORE);
    let mut start = if text.as_bytes()[back..first.start].is_ascii() {
        back
    } else {
        chars_back(text, first.start, CONTEXT_BEFORE)
    };
    let ahead = (start + SNIPPET_CHARS).min(text.len());
    let (mut end, taken) = if text.as_bytes()[start..ahead].is_ascii() {
        (ahead, ahead - start)
    } else {
        chars_ahead(text, start, SNIPPET_CHARS)
    };
    end = end.max(first.end);
    // Near the end of the text, use the room before the match instead.
    if taken < SNIPPET_CHARS {
        start = chars_back(text, start, SNIPPET_CHARS - taken);
    }
    if start > 0 && !ends_with_space(&text[..start]) {
        start = match text[start..first.start].find(char::is_whitespace) {
            Some(p) => start + p,
            None => first.start,
        };
    }
    if end < text.len() && !text[end..].starts_with(char::is_whitespace) {
        end = match text[first.end..end].rfind(char::is_whitespace) {
            Some(p) => first.end + p,
            None => first.end,
        };
    }
    (start, end)
}

/// The offset `n` characters before `at` in `text` (0 if there are fewer),
/// counted on the bytes: a character starts at every byte that is not a
/// UTF-8 continuation byte, so nothing is decoded.
fn chars_back(text: &str, at: usize, n: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut k) = (at, 0);
    // A chunk at a time while the n-th character is before it.
    while i >= CHUNK {
        let starts = char_starts(&bytes[i - CHUNK..i]);
        if k + starts >= n {
            break;
        }
        k += starts;
        i -= CHUNK;
    }
    while i > 0 && k < n {
        i -= 1;
        if bytes[i] & 0xC0 != 0x80 {
            k += 1;
        }
    }
    i
}

/// The offset after `n` characters from `from` in `text` (its end if there
/// are fewer), and how many characters that is; counted as [`chars_back`].
fn chars_ahead(text: &str, from: usize, n: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (mut i, mut taken) = (from, 0);
    // A chunk at a time while the character after the n-th is past it.
    while let Some(chunk) = bytes.get(i..i + CHUNK) {
        let starts = char_starts(chunk);
        if taken + starts > n {
            break;
        }
        taken += starts;
        i += CHUNK;
    }
    for (k, &b) in bytes[i..].iter().enumerate() {
        if b & 0xC0 != 0x80 {
            if taken == n {
                return (i + k, taken);
            }
            taken += 1;
        }
    }
    (text.len(), taken)
}

/// Number of characters that start in `bytes`.
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// Length in bytes of the run of whitespace (`whitespace`) or of anything
/// else at the start of `s`, as `char::is_whitespace` tells them apart;
/// ASCII, most of any text, is told apart without decoding.
fn run_len(s: &str, whitespace: bool) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (is_space, len) = if b.is_ascii() {
            (matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' '), 1)
        } else {
            match s[i..].chars().next() {
                Some(c) => (c.is_whitespace(), c.len_utf8()),
                None => break,
            }
        };
        if is_space != whitespace {
            return i;
        }
        i += len;
    }
    bytes.len()
}

fn ends_with_space(s: &str) -> bool {
    s.chars().next_back().is_some_and(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range_of(text: &str, word: &str) -> Range<usize> {
        let at = text.find(word).expect("word in text");
        at..at + word.len()
    }

    fn highlighted(s: &Snippet) -> Vec<&str> {
        s.highlights.iter().map(|h| &s.text[h.clone()]).collect()
    }

    #[test]
    fn short_text_is_whole_and_uncut() {
        let text = "The UN Security Council met on Friday.";
        let first = range_of(text, "UN Security Council");
        let s = snippet(text, first.clone(), &[first]);
        assert_eq!(s.text, text);
        assert_eq!(highlighted(&s), ["UN Security Council"]);
    }

    #[test]
    fn long_text_is_cut_at_word_boundaries_with_ellipses() {
        let before = "word ".repeat(100);
        let after = " more".repeat(100);
        let text = format!("{before}Cleverly spoke{after}");
        let first = range_of(&text, "Cleverly");
        let s = snippet(&text, first.clone(), &[first]);
        assert!(s.text.starts_with("…word "), "{}", s.text);
        assert!(s.text.ends_with("more…"), "{}", s.text);
        let chars = s.text.chars().count();
        assert!((150..=SNIPPET_CHARS + 2).contains(&chars), "{chars}");
        assert_eq!(highlighted(&s), ["Cleverly"]);
        let before_match = s.text.split("Cleverly").next().unwrap_or_default();
        assert!(before_match.chars().count() <= CONTEXT_BEFORE + 1);
    }

    #[test]
    fn whitespace_is_collapsed_and_highlights_follow() {
        let text = "Members of the UN\n\nSecurity   Council said";
        let first = range_of(text, "UN\n\nSecurity   Council");
        let s = snippet(text, first.clone(), &[first]);
        assert_eq!(s.text, "Members of the UN Security Council said");
        assert_eq!(highlighted(&s), ["UN Security Council"]);
    }

    #[test]
    fn match_near_the_end_takes_context_from_before() {
        let text = format!("{}Russia", "lorem ipsum ".repeat(40));
        let first = range_of(&text, "Russia");
        let s = snippet(&text, first.clone(), &[first]);
        assert!(s.text.starts_with('…'));
        assert!(s.text.ends_with("Russia"));
        assert!(s.text.chars().count() > 150);
    }

    #[test]
    fn highlights_every_match_inside_and_none_outside() {
        let text = format!("Russia and Russia{}Russia", " filler".repeat(80));
        let second = 11..17;
        let last = text.len() - 6..text.len();
        let s = snippet(&text, 0..6, &[0..6, second, last]);
        assert_eq!(highlighted(&s), ["Russia", "Russia"]);
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = format!("{}Зеленська{}", "слово ".repeat(60), " ще".repeat(90));
        let first = range_of(&text, "Зеленська");
        let s = snippet(&text, first.clone(), &[first]);
        assert_eq!(highlighted(&s), ["Зеленська"]);
    }

    #[test]
    fn ascii_whitespace_is_collapsed_as_the_general_way_does() {
        let texts = [
            "A plain sentence about Russia and the UN Security Council.".to_owned(),
            format!(
                "{}Зеленська «цитата» — “quoted” text{}",
                "слово ".repeat(60),
                " ще".repeat(90)
            ),
            format!(
                "{}Cleverly spoke in Paris{}",
                "word ".repeat(100),
                " more".repeat(100)
            ),
            format!(
                "{}item one ends.\n\nRussia  and\tParis \r\n met\u{0B}{}",
                "lead ".repeat(30),
                " tail".repeat(50)
            ),
            "  Russia\n\n".to_owned(),
            format!(
                "Paris{}Russia\u{A0}Cleverly{}",
                " x".repeat(20),
                " y".repeat(20)
            ),
            format!("Paris \u{2009} Russia{}", " z".repeat(70)),
        ];
        for text in &texts {
            for word in ["Russia", "Зеленська", "Cleverly", "Paris", "quoted", "met"] {
                let Some(at) = text.find(word) else {
                    continue;
                };
                let first = at..at + word.len();
                // The second starts in the whitespace before the word.
                let before = text[..at].char_indices().next_back().map_or(0, |(i, _)| i);
                let all = [
                    first.clone(),
                    before..first.end,
                    0..1,
                    text.len() - 2..text.len(),
                ];
                let (start, end) = window(text, first.clone());
                let inside = || {
                    all.iter()
                        .filter(|h| start <= h.start && h.end <= end && h.start < h.end)
                };
                let general = collapsed_snippet(text, start, end, inside());
                assert_eq!(snippet(text, first, &all), general, "{text:?}");
                if !text.contains(['\u{A0}', '\u{2009}']) {
                    assert_eq!(
                        ascii_snippet(text, start, end, inside()),
                        Some(general),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn runs_split_where_char_is_whitespace_says() {
        for text in [
            "",
            "ab c",
            " \t\u{0B}x",
            "é\u{A0}\u{2003}z",
            "\u{85}\u{3000}",
            "日本 語",
        ] {
            let mut pos = 0;
            let mut blank = text.starts_with(char::is_whitespace);
            while pos < text.len() {
                let rest = &text[pos..];
                let want = if blank {
                    rest.find(|c: char| !c.is_whitespace())
                } else {
                    rest.find(char::is_whitespace)
                };
                let n = run_len(rest, blank);
                assert_eq!(n, want.unwrap_or(rest.len()), "{text:?} at {pos}");
                pos += n;
                blank = !blank;
            }
        }
    }

    #[test]
    fn characters_are_counted_as_decoding_counts_them() {
        let text = "Путин — 東京 e\u{301} ok, Россия ".repeat(3);
        let text = text.as_str();
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for n in [0, 1, 3, 7, 100] {
                let back = text[..at]
                    .char_indices()
                    .rev()
                    .take(n)
                    .last()
                    .map_or(at, |(i, _)| i);
                assert_eq!(chars_back(text, at, n), back, "back {at} {n}");
                let ahead: Vec<(usize, char)> = text[at..].char_indices().take(n).collect();
                let end = ahead.last().map_or(at, |&(i, c)| at + i + c.len_utf8());
                assert_eq!(
                    chars_ahead(text, at, n),
                    (end, ahead.len()),
                    "ahead {at} {n}"
                );
            }
        }
    }

    #[test]
    fn whitespace_is_found_wherever_it_falls_in_a_chunk() {
        // Each kind of whitespace at every offset of a chunk, in a window
        // that otherwise has single spaces only.
        for gap in [
            "  ", "\n", "\t", " \r\n ", "\u{0B}", "\u{A0}", "\u{2009}", "\u{3000}",
        ] {
            for offset in 0..=2 * CHUNK {
                let text = format!("{}Russia{gap}Paris and more words here", "a".repeat(offset));
                let (start, end) = (0, text.len());
                let all = [range_of(&text, "Paris")];
                let general = collapsed_snippet(&text, start, end, all.iter());
                let fast = ascii_snippet(&text, start, end, all.iter());
                if gap.is_ascii() {
                    assert_eq!(fast, Some(general), "{text:?}");
                } else {
                    assert_eq!(fast, None, "{text:?}");
                }
            }
        }
        // Quotes and dashes start like non-ASCII whitespace and are not.
        let text = "He said \u{201c}no\u{201d} \u{2014} twice, Путин заявил, ".repeat(4);
        let highlights = [range_of(&text, "said")];
        let s = ascii_snippet(&text, 0, text.len(), highlights.iter());
        assert_eq!(s.map(|s| s.text), Some(text.trim_end().to_owned()));
    }

    #[test]
    fn term_text_collapses_whitespace() {
        assert_eq!(term_text("UN\n Security\tCouncil"), "UN Security Council");
        assert_eq!(
            term_text("UN  Security\u{A0}Council"),
            "UN Security Council"
        );
        assert_eq!(term_text("UN Security Council"), "UN Security Council");
        assert_eq!(term_text("«Россия»"), "«Россия»");
    }
}
