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
    let bytes = original.as_bytes();
    if !bytes.iter().any(|&b| odd(b)) && !bytes.windows(2).any(|w| w[0] == b' ' && w[1] == b' ') {
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

/// Where the whitespace of a text is other than one ASCII space between
/// words: every run of two or more whitespace characters and every other
/// whitespace character, as byte ranges in order. A snippet makes each of
/// them one space. Found once per text for all of its snippets, and only
/// as far into the text as a snippet has needed.
#[derive(Debug, Default)]
pub(crate) struct OddWhitespace {
    runs: Vec<Range<usize>>,
    /// Bytes before this have been looked at.
    scanned: usize,
}

impl OddWhitespace {
    /// The runs that start before byte `end` of `text` (always the same
    /// text), looking at the text that far first.
    pub fn upto(&mut self, text: &str, end: usize) -> &[Range<usize>] {
        let bytes = text.as_bytes();
        let mut at = self.scanned;
        // Where the next run may start: the end of the last one.
        let mut resume = at;
        while at < end {
            // A block at a time: most blocks hold nothing that could start
            // a run but single spaces.
            let Some(block) = bytes.get(at..at + SCAN) else {
                for p in at..bytes.len() {
                    if p >= resume {
                        resume = push_run(text, p, &mut self.runs);
                    }
                }
                at = bytes.len().max(resume);
                break;
            };
            let next = bytes.get(at + SCAN).copied().unwrap_or(0);
            let mut starts = run_starts(block, next);
            while starts != 0 {
                let p = at + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                if p >= resume {
                    resume = push_run(text, p, &mut self.runs);
                }
            }
            at = (at + SCAN).max(resume);
        }
        self.scanned = at;
        &self.runs[..self.runs.partition_point(|r| r.start < end)]
    }
}

/// Bytes [`OddWhitespace`] looks at in one step.
const SCAN: usize = 32;

/// A bit set for each byte of `block` ([`SCAN`] bytes, followed by `next`)
/// where a run of [`OddWhitespace`] may start: a byte below `!` or a lead
/// byte of non-ASCII whitespace, but not a space followed by neither.
/// Written byte by byte for the compiler to vectorise: comparisons of a
/// whole block at once.
fn run_starts(block: &[u8], next: u8) -> u32 {
    // Below `!`; 0xC2; 0xE0 to 0xE3 (0xE0 leads no whitespace, and is let
    // through for a cheaper test).
    let candidate = |b: u8| b < b'!' || b == 0xC2 || b & 0xFC == 0xE0;
    let (mut here, mut spaces) = (0u32, 0u32);
    for (k, &b) in block.iter().take(SCAN).enumerate() {
        here |= u32::from(candidate(b)) << k;
        spaces |= u32::from(b == b' ') << k;
    }
    // The same for the byte that follows each.
    let following = (here >> 1) | u32::from(candidate(next)) << (SCAN - 1);
    here & !(spaces & !following)
}

/// Records the run of whitespace at byte `at` of `text`, if there is one
/// and it is not one space; returns where it ends (`at` for none).
fn push_run(text: &str, at: usize, runs: &mut Vec<Range<usize>>) -> usize {
    let mut end = at;
    while let Some(len) = whitespace_at(text, end) {
        end += len;
    }
    if end > at && !(end == at + 1 && text.as_bytes()[at] == b' ') {
        runs.push(at..end);
    }
    end
}

/// The length of the whitespace character at byte `at` of `text`, if one
/// starts there.
fn whitespace_at(text: &str, at: usize) -> Option<usize> {
    match text.as_bytes().get(at)? {
        b' ' | b'\t'..=b'\r' => Some(1),
        // The lead bytes of every other `char::is_whitespace`.
        0xC2 | 0xE1..=0xE3 => text[at..]
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
            .map(char::len_utf8),
        _ => None,
    }
}

/// Bytes whose characters are counted together: a count the compiler
/// vectorises.
const CHUNK: usize = 16;

/// The snippet of `text` around `first`, highlighting each of `highlights`
/// (byte ranges in `text`, `first` among them) that falls inside it. `odd`
/// is the [`OddWhitespace`] of `text`: whitespace at either end of the
/// window is dropped, each of its runs becomes one space, and the text
/// between them is copied whole.
pub(crate) fn snippet(
    text: &str,
    first: Range<usize>,
    highlights: impl Iterator<Item = Range<usize>>,
    odd: &mut OddWhitespace,
) -> Snippet {
    let (start, end) = window(text, first);
    let window = &text[start..end];
    let from = start + (window.len() - window.trim_start().len());
    let to = from + text[from..end].trim_end().len();
    // No run straddles `from` or `to`: both are next to non-whitespace.
    let odd = odd.upto(text, to);
    let runs = &odd[odd.partition_point(|r| r.start < from)..];
    let mut out = String::with_capacity(to - from + 6);
    if start > 0 {
        out.push('…');
    }
    let base = out.len();
    let mut copied = from;
    for run in runs {
        out.push_str(&text[copied..run.start]);
        out.push(' ');
        copied = run.end;
    }
    out.push_str(&text[copied..to]);
    if end < text.len() {
        out.push('…');
    }
    // An offset inside a run goes where its space is; any other moves left
    // by what the runs before it lost.
    let at = |offset: usize| {
        let offset = offset.clamp(from, to);
        let mut lost = 0;
        for run in runs.iter().take_while(|r| r.start <= offset) {
            if offset < run.end {
                return base + run.start - from - lost;
            }
            lost += run.len() - 1;
        }
        base + offset - from - lost
    };
    Snippet {
        highlights: highlights
            .filter(|h| start <= h.start && h.end <= end && h.start < h.end)
            .map(|h| at(h.start)..at(h.end))
            .collect(),
        text: out,
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

fn ends_with_space(s: &str) -> bool {
    s.chars().next_back().is_some_and(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// [`snippet`] of a text no snippet was made of before.
    fn snip(text: &str, first: Range<usize>, highlights: &[Range<usize>]) -> Snippet {
        snippet(
            text,
            first,
            highlights.iter().cloned(),
            &mut OddWhitespace::default(),
        )
    }

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
        let s = snip(text, first.clone(), &[first]);
        assert_eq!(s.text, text);
        assert_eq!(highlighted(&s), ["UN Security Council"]);
    }

    #[test]
    fn long_text_is_cut_at_word_boundaries_with_ellipses() {
        let before = "word ".repeat(100);
        let after = " more".repeat(100);
        let text = format!("{before}Cleverly spoke{after}");
        let first = range_of(&text, "Cleverly");
        let s = snip(&text, first.clone(), &[first]);
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
        let s = snip(text, first.clone(), &[first]);
        assert_eq!(s.text, "Members of the UN Security Council said");
        assert_eq!(highlighted(&s), ["UN Security Council"]);
    }

    #[test]
    fn match_near_the_end_takes_context_from_before() {
        let text = format!("{}Russia", "lorem ipsum ".repeat(40));
        let first = range_of(&text, "Russia");
        let s = snip(&text, first.clone(), &[first]);
        assert!(s.text.starts_with('…'));
        assert!(s.text.ends_with("Russia"));
        assert!(s.text.chars().count() > 150);
    }

    #[test]
    fn highlights_every_match_inside_and_none_outside() {
        let text = format!("Russia and Russia{}Russia", " filler".repeat(80));
        let second = 11..17;
        let last = text.len() - 6..text.len();
        let s = snip(&text, 0..6, &[0..6, second, last]);
        assert_eq!(highlighted(&s), ["Russia", "Russia"]);
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let text = format!("{}Зеленська{}", "слово ".repeat(60), " ще".repeat(90));
        let first = range_of(&text, "Зеленська");
        let s = snip(&text, first.clone(), &[first]);
        assert_eq!(highlighted(&s), ["Зеленська"]);
    }

    #[test]
    fn whitespace_is_collapsed_as_a_word_by_word_copy_does() {
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
            assert_eq!(odd_whitespace(text), decoded_runs(text), "{text:?}");
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
                assert_eq!(snip(text, first, &all), general, "{text:?}");
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

    fn odd_whitespace(text: &str) -> Vec<Range<usize>> {
        OddWhitespace::default().upto(text, text.len()).to_vec()
    }

    /// [`odd_whitespace`] the slow way: every character decoded.
    fn decoded_runs(text: &str) -> Vec<Range<usize>> {
        let mut runs: Vec<Range<usize>> = Vec::new();
        let mut current: Option<Range<usize>> = None;
        for (i, c) in text.char_indices().chain([(text.len(), 'x')]) {
            match (&mut current, c.is_whitespace()) {
                (Some(run), true) => run.end = i + c.len_utf8(),
                (None, true) => current = Some(i..i + c.len_utf8()),
                (Some(_), false) => {
                    let run = current.take().unwrap_or_default();
                    if &text[run.clone()] != " " {
                        runs.push(run);
                    }
                }
                (None, false) => {}
            }
        }
        runs
    }

    #[test]
    fn whitespace_is_found_wherever_it_falls_in_a_chunk() {
        // Each kind of whitespace at every offset of a chunk, in a text
        // that otherwise has single spaces only.
        for gap in [
            "  ",
            "\n",
            "\t",
            " \r\n ",
            "\u{0B}",
            "\u{A0}",
            " \u{A0}",
            "\u{2009} ",
            " \u{3000}",
            " \u{201c}",
            "\u{0}\u{1F} ",
            " ",
        ] {
            for offset in 0..=2 * SCAN {
                let text = format!("{}Russia{gap}Paris and more words here", "a".repeat(offset));
                let first = range_of(&text, "Paris");
                let (start, end) = window(&text, first.clone());
                let all = [first.clone()];
                let general = collapsed_snippet(&text, start, end, all.iter());
                assert_eq!(snip(&text, first, &all), general, "{text:?}");
                assert_eq!(odd_whitespace(&text), decoded_runs(&text), "{text:?}");
                // Found a few bytes further each time, as snippets ask.
                let mut odd = OddWhitespace::default();
                for end in (0..text.len()).step_by(3) {
                    let found = odd.upto(&text, end).to_vec();
                    let want: Vec<_> = decoded_runs(&text)
                        .into_iter()
                        .filter(|r| r.start < end)
                        .collect();
                    assert_eq!(found, want, "{text:?} to {end}");
                }
            }
        }
        // Quotes and dashes start like non-ASCII whitespace and are not.
        let text = "He said \u{201c}no\u{201d} \u{2014} twice, Путин заявил, ".repeat(4);
        assert!(odd_whitespace(&text).is_empty());
        assert_eq!(odd_whitespace("a\u{A0}b  c\n"), [1..3, 4..6, 7..8]);
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
