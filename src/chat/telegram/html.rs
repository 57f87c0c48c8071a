//! Telegram's HTML parse mode: alerts and notices as HTML, every piece of
//! feed or user text escaped, cut into messages Telegram accepts.
//!
//! Pure code. Text is first laid out as lines of styled pieces of *plain*
//! text; escaping and tags are added only when a finished message is
//! written out, so a cut can never fall inside a tag or an entity. Lengths
//! are counted as Telegram counts them: UTF-16 code units of the text
//! after entity parsing (the tags do not count, `&amp;` counts as one).

use std::fmt::Write;

use crate::{
    alerts::merged_snippets,
    chat::{Alert, Outgoing},
    matching::Snippet,
};

/// Most UTF-16 code units Telegram accepts in one message's text, counted
/// after entity parsing.
pub const MAX_MESSAGE_UNITS: usize = 4096;

/// Longest headline shown, in characters.
const HEADLINE_CHARS: usize = 300;
/// Longest source name shown.
const SOURCE_CHARS: usize = 100;
/// Longest rule SPEC shown.
const RULE_CHARS: usize = 120;
/// Longest list of matched words shown (joined).
const TERMS_CHARS: usize = 120;
/// Longest snippet shown.
const SNIPPET_CHARS: usize = 400;
/// Rules listed in one alert; more are counted ("and 3 more rules").
const MAX_MATCH_LINES: usize = 8;
/// Snippets shown in one alert.
const MAX_SNIPPETS: usize = 2;

/// How one piece of text looks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Style {
    bold: bool,
    italic: bool,
    code: bool,
    link: Option<String>,
}

/// Plain text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    text: String,
    style: Style,
}

impl Piece {
    fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style::default(),
        }
    }
    fn bold(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style {
                bold: true,
                ..Style::default()
            },
        }
    }
    fn italic(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style {
                italic: true,
                ..Style::default()
            },
        }
    }
    fn code(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: Style {
                code: true,
                ..Style::default()
            },
        }
    }
}

/// One line of a message (no newline inside its pieces).
type Line = Vec<Piece>;

/// Lines that belong together (one alert); packing keeps a block in one
/// message whenever it fits in one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Block {
    lines: Vec<Line>,
}

/// Whether Telegram may show a link preview under a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    /// No preview (lists, replies).
    Off,
    /// A preview of this URL (a single alert's article).
    Of(String),
}

/// One Telegram message, ready to send with `parse_mode=HTML`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlMessage {
    /// The HTML text.
    pub html: String,
    /// Link preview choice.
    pub preview: Preview,
}

/// The messages that carry `msg`: one, unless the text is longer than
/// Telegram allows, then parts cut at line boundaries (or, for a single
/// over-long line, between words).
pub fn render(msg: &Outgoing) -> Vec<HtmlMessage> {
    match msg {
        Outgoing::Alert(alert) => {
            let preview = alert
                .url
                .as_deref()
                .filter(|u| is_web_link(u))
                .map_or(Preview::Off, |u| Preview::Of(u.to_owned()));
            let parts = pack(&[alert_block(alert)], 0, MAX_MESSAGE_UNITS);
            let single = parts.len() == 1;
            parts
                .into_iter()
                .map(|html| HtmlMessage {
                    html,
                    preview: if single {
                        preview.clone()
                    } else {
                        Preview::Off
                    },
                })
                .collect()
        }
        // Notices, and any message kind added later: their plain form,
        // escaped. A new kind is never refused for want of HTML here.
        other => render_text(&crate::alerts::render_plain(other)),
    }
}

/// Plain text (a command reply) as messages, previews off.
pub fn render_text(text: &str) -> Vec<HtmlMessage> {
    let blocks: Vec<Block> = text
        .trim()
        .lines()
        .map(|l| Block {
            lines: vec![vec![Piece::plain(l.trim_end())]],
        })
        .collect();
    pack(&blocks, 0, MAX_MESSAGE_UNITS)
        .into_iter()
        .map(|html| HtmlMessage {
            html,
            preview: Preview::Off,
        })
        .collect()
}

/// As many leading alerts of `alerts` as fit in one message, as a list
/// under a count (previews off), with how many were taken (at least one).
/// A single alert is rendered as [`render`] does, with its preview.
pub fn render_alert_list(alerts: &[&Alert]) -> (usize, HtmlMessage) {
    let Some(first) = alerts.first() else {
        return (
            0,
            HtmlMessage {
                html: String::new(),
                preview: Preview::Off,
            },
        );
    };
    let blocks: Vec<Block> = alerts.iter().map(|a| list_item_block(a)).collect();
    // Room for the header line ("99 new alerts") and its blank line.
    let header_room = 24;
    let mut used = header_room;
    let mut taken = 0;
    for block in &blocks {
        let add = block_units(block) + if taken == 0 { 0 } else { 2 };
        if used + add > MAX_MESSAGE_UNITS {
            break;
        }
        used += add;
        taken += 1;
    }
    if taken <= 1 {
        let mut single = render(&Outgoing::Alert((*first).clone()));
        if single.len() == 1 {
            return (1, single.remove(0));
        }
        // Cannot happen with the caps above; fall back to the list form
        // of the first alert, cut to size.
        let html = pack(&blocks[..1], 0, MAX_MESSAGE_UNITS)
            .into_iter()
            .next()
            .unwrap_or_default();
        return (
            1,
            HtmlMessage {
                html,
                preview: Preview::Off,
            },
        );
    }
    let mut html = format!("<b>{taken} new alerts</b>\n\n");
    for (i, block) in blocks[..taken].iter().enumerate() {
        if i > 0 {
            html.push_str("\n\n");
        }
        html.push_str(&write_block(block));
    }
    (
        taken,
        HtmlMessage {
            html,
            preview: Preview::Off,
        },
    )
}

/// The full form of one alert.
fn alert_block(alert: &Alert) -> Block {
    let mut lines = vec![vec![headline(alert)]];
    let mut source = vec![Piece::italic(source_line(alert))];
    if !alert.also.is_empty() {
        source.push(Piece::plain(format!(
            " (also: {})",
            clip(&alert.also.join(", "), SOURCE_CHARS)
        )));
    }
    lines.push(source);
    for m in alert.matches.iter().take(MAX_MATCH_LINES) {
        lines.push(vec![
            Piece::plain(format!("#{} ", m.rule_id)),
            Piece::code(clip(&m.rule, RULE_CHARS)),
            Piece::plain(" matched: "),
            Piece::bold(clip(&m.terms.join(", "), TERMS_CHARS)),
        ]);
    }
    if alert.matches.len() > MAX_MATCH_LINES {
        lines.push(vec![Piece::italic(format!(
            "and {} more rules",
            alert.matches.len() - MAX_MATCH_LINES
        ))]);
    }
    for snippet in merged_snippets(&alert.matches).iter().take(MAX_SNIPPETS) {
        lines.push(snippet_line(snippet));
    }
    Block { lines }
}

/// The short form of one alert inside a list.
fn list_item_block(alert: &Alert) -> Block {
    let mut lines = vec![vec![
        headline(alert),
        Piece::plain(" — "),
        Piece::italic(source_line(alert)),
    ]];
    let shown: Vec<String> = alert
        .matches
        .iter()
        .take(MAX_MATCH_LINES)
        .map(|m| format!("#{} {}", m.rule_id, clip(&m.rule, RULE_CHARS)))
        .collect();
    let terms: Vec<&str> = alert
        .matches
        .iter()
        .flat_map(|m| m.terms.iter().map(String::as_str))
        .collect();
    lines.push(vec![
        Piece::plain(format!("{}: ", shown.join(", "))),
        Piece::bold(clip(&terms.join(", "), TERMS_CHARS)),
    ]);
    if let Some(snippet) = merged_snippets(&alert.matches).first() {
        lines.push(snippet_line(snippet));
    }
    Block { lines }
}

fn headline(alert: &Alert) -> Piece {
    let text = clip(&alert.headline, HEADLINE_CHARS);
    let link = alert
        .url
        .as_deref()
        .filter(|u| is_web_link(u))
        .map(str::to_owned);
    Piece {
        text,
        style: Style {
            bold: true,
            link,
            ..Style::default()
        },
    }
}

fn source_line(alert: &Alert) -> String {
    let mut text = clip(&alert.source, SOURCE_CHARS);
    if let Some(t) = alert.published {
        let _ = write!(text, " · {}", t.format("%Y-%m-%d %H:%M UTC"));
    }
    text
}

/// `“…text with the matches in bold…”`, clipped; highlights past the cut
/// or not on character boundaries are dropped, never trusted.
fn snippet_line(snippet: &Snippet) -> Line {
    let text = &snippet.text;
    let cut = text
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let mut ranges: Vec<_> = snippet
        .highlights
        .iter()
        .filter(|r| r.start < r.end && r.end <= cut)
        .filter(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
        .cloned()
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut line = vec![Piece::plain("“")];
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue;
        }
        line.push(Piece::plain(&text[at..r.start]));
        line.push(Piece::bold(&text[r.clone()]));
        at = r.end;
    }
    line.push(Piece::plain(&text[at..cut]));
    line.push(Piece::plain(if cut < text.len() {
        "…”"
    } else {
        "”"
    }));
    line.retain(|p| !p.text.is_empty());
    // Feed text may carry newlines; a line has none.
    for piece in &mut line {
        if piece.text.contains(['\n', '\r']) {
            piece.text = piece.text.replace(['\n', '\r'], " ");
        }
    }
    line
}

/// `s` cut to `max` characters (with `…`), newlines folded to spaces.
fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    let folded: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    match folded.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if folded.chars().count() > max => format!("{}…", &folded[..i]),
        _ => folded,
    }
}

fn is_web_link(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Telegram's count of a text: UTF-16 code units.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

fn line_units(line: &Line) -> usize {
    line.iter().map(|p| units(&p.text)).sum()
}

fn block_units(block: &Block) -> usize {
    block.lines.iter().map(line_units).sum::<usize>() + block.lines.len().saturating_sub(1)
}

/// Escapes text for Telegram HTML: the three characters the parser
/// treats specially, plus `"` inside attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn write_piece(out: &mut String, piece: &Piece) {
    let s = &piece.style;
    if s.bold {
        out.push_str("<b>");
    }
    if s.italic {
        out.push_str("<i>");
    }
    if let Some(link) = &s.link {
        let _ = write!(out, "<a href=\"{}\">", escape(link));
    }
    if s.code {
        out.push_str("<code>");
    }
    out.push_str(&escape(&piece.text));
    if s.code {
        out.push_str("</code>");
    }
    if s.link.is_some() {
        out.push_str("</a>");
    }
    if s.italic {
        out.push_str("</i>");
    }
    if s.bold {
        out.push_str("</b>");
    }
}

fn write_lines(lines: &[Line]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for piece in line.iter().filter(|p| !p.text.is_empty()) {
            write_piece(&mut out, piece);
        }
    }
    out
}

fn write_block(block: &Block) -> String {
    write_lines(&block.lines)
}

/// Packs blocks into messages of at most `limit` units, `gap` blank lines
/// between blocks. A block that fits is never cut; a longer one is cut at
/// line ends, and a longer line between words (or, for one endless
/// word, between characters). Returns the messages as HTML.
fn pack(blocks: &[Block], gap: usize, limit: usize) -> Vec<String> {
    let mut messages: Vec<Vec<Line>> = Vec::new();
    let mut current: Vec<Line> = Vec::new();
    let mut used = 0;
    let flush = |current: &mut Vec<Line>, used: &mut usize, messages: &mut Vec<Vec<Line>>| {
        while current.last().is_some_and(|l| line_units(l) == 0) {
            current.pop();
        }
        if !current.is_empty() {
            messages.push(std::mem::take(current));
        }
        current.clear();
        *used = 0;
    };
    for block in blocks {
        let size = block_units(block);
        let sep = if current.is_empty() { 0 } else { 1 + gap };
        if used + sep + size <= limit {
            if !current.is_empty() {
                current.extend(std::iter::repeat_n(Vec::new(), gap));
            }
            current.extend(block.lines.iter().cloned());
            used += sep + size;
            continue;
        }
        if size <= limit {
            flush(&mut current, &mut used, &mut messages);
            current.extend(block.lines.iter().cloned());
            used = size;
            continue;
        }
        // Too long for any message: line by line.
        for line in &block.lines {
            for part in split_line(line, limit) {
                let size = line_units(&part);
                let sep = usize::from(!current.is_empty());
                if used + sep + size > limit {
                    flush(&mut current, &mut used, &mut messages);
                }
                if !current.is_empty() {
                    used += 1;
                }
                used += size;
                current.push(part);
            }
        }
    }
    flush(&mut current, &mut used, &mut messages);
    messages
        .iter()
        .map(|lines| write_lines(lines))
        .filter(|html| !html.trim().is_empty())
        .collect()
}

/// Cuts a line longer than `limit` into lines that fit, between words
/// where there is a space in reach. Pieces keep their style on both sides.
fn split_line(line: &Line, limit: usize) -> Vec<Line> {
    if line_units(line) <= limit {
        return vec![line.clone()];
    }
    let mut out: Vec<Line> = Vec::new();
    let mut current: Line = Vec::new();
    let mut used = 0;
    for piece in line {
        let mut rest = piece.text.as_str();
        while !rest.is_empty() {
            let room = limit - used;
            if units(rest) <= room {
                used += units(rest);
                current.push(Piece {
                    text: rest.to_owned(),
                    style: piece.style.clone(),
                });
                break;
            }
            // The longest prefix within `room` units, cut after a space if
            // there is one.
            let mut end = 0;
            let mut count = 0;
            for (i, c) in rest.char_indices() {
                if count + c.len_utf16() > room {
                    break;
                }
                count += c.len_utf16();
                end = i + c.len_utf8();
            }
            let cut = rest[..end]
                .rfind(' ')
                .map(|i| i + 1)
                .filter(|&i| i > 0)
                .unwrap_or(end);
            if cut == 0 {
                // No room left on this line at all: start a new one.
                if current.is_empty() {
                    // A single character wider than the limit; impossible
                    // for limits of 2 and more.
                    break;
                }
                out.push(std::mem::take(&mut current));
                used = 0;
                continue;
            }
            current.push(Piece {
                text: rest[..cut].to_owned(),
                style: piece.style.clone(),
            });
            out.push(std::mem::take(&mut current));
            used = 0;
            rest = &rest[cut..];
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
// One-range highlight lists are the common case, not a typo for a range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use crate::chat::{AlertMatch, Notice};

    fn alert(
        headline: &str,
        url: Option<&str>,
        snippet: &str,
        hl: &[std::ops::Range<usize>],
    ) -> Alert {
        Alert {
            article_id: 1,
            headline: headline.to_owned(),
            url: url.map(str::to_owned),
            source: "Loopback <News> & Co".to_owned(),
            published: None,
            matches: vec![AlertMatch {
                rule_id: 3,
                rule: "keyword:UN Security Council".to_owned(),
                terms: vec!["UN Security Council".to_owned()],
                snippet: Snippet {
                    text: snippet.to_owned(),
                    highlights: hl.to_vec(),
                },
            }],
            also: vec![],
        }
    }

    /// Telegram's reading of our HTML: the text after entity parsing, or
    /// why it would be refused. Only what we emit is understood.
    fn parse(html: &str) -> Result<String, String> {
        let mut text = String::new();
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                let end = rest.find('>').ok_or("unclosed tag")?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!("unexpected end tag {name}"));
                    }
                } else {
                    let name = tag.split(' ').next().unwrap_or("");
                    if !["b", "i", "a", "code"].contains(&name) {
                        return Err(format!("unsupported tag {name}"));
                    }
                    open.push(name.to_owned());
                }
                rest = &rest[end + 1..];
            } else if c == '&' {
                let end = rest.find(';').ok_or("bare &")?;
                text.push(match &rest[..=end] {
                    "&amp;" => '&',
                    "&lt;" => '<',
                    "&gt;" => '>',
                    "&quot;" => '"',
                    other => return Err(format!("unknown entity {other}")),
                });
                rest = &rest[end + 1..];
            } else if c == '>' {
                return Err("bare >".into());
            } else {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if open.is_empty() {
            Ok(text)
        } else {
            Err(format!("unclosed {open:?}"))
        }
    }

    #[test]
    fn feed_text_is_escaped_everywhere() {
        let a = alert(
            "<b>&</b> \"quoted\"",
            Some("https://news.example/a?x=1&y=\"2\""),
            "x < y & z",
            &[],
        );
        let msgs = render(&Outgoing::Alert(a));
        assert_eq!(msgs.len(), 1);
        let html = &msgs[0].html;
        assert!(html.contains("&lt;b&gt;&amp;&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("href=\"https://news.example/a?x=1&amp;y=&quot;2&quot;\""),
            "{html}"
        );
        assert!(html.contains("Loopback &lt;News&gt; &amp; Co"), "{html}");
        let text = parse(html).unwrap();
        assert!(text.contains("<b>&</b> \"quoted\""), "{text}");
        assert!(text.contains("x < y & z"), "{text}");
    }

    #[test]
    fn a_single_alert_links_its_headline_marks_its_words_and_previews_its_link() {
        let a = alert(
            "Council meets",
            Some("https://news.example/a"),
            "the UN Security Council met",
            &[4..23],
        );
        let msgs = render(&Outgoing::Alert(a));
        assert_eq!(
            msgs[0].preview,
            Preview::Of("https://news.example/a".into())
        );
        let html = &msgs[0].html;
        for needle in [
            "<b><a href=\"https://news.example/a\">Council meets</a></b>",
            "<code>keyword:UN Security Council</code>",
            "“the <b>UN Security Council</b> met”",
        ] {
            assert!(html.contains(needle), "{html} lacks {needle}");
        }
        parse(html).unwrap();
    }

    #[test]
    fn a_link_that_is_not_http_is_not_made_a_link() {
        let a = alert("x", Some("javascript:alert(1)"), "s", &[]);
        let msgs = render(&Outgoing::Alert(a));
        assert!(!msgs[0].html.contains("href"), "{}", msgs[0].html);
        assert_eq!(msgs[0].preview, Preview::Off);
    }

    #[test]
    fn highlights_that_do_not_fit_the_text_are_ignored() {
        let a = alert("x", None, "é!", &[1..2, 0..40, 2..3]);
        let html = &render(&Outgoing::Alert(a))[0].html;
        assert!(html.contains("“é<b>!</b>”"), "{html}");
        parse(html).unwrap();
    }

    #[test]
    fn the_largest_possible_alert_still_fits_one_message() {
        let long = "word ".repeat(2000);
        let mut a = alert(&long, Some("https://news.example/a"), &long, &[0..4]);
        a.source = long.clone();
        a.also = vec![long.clone(); 3];
        let one = a.matches[0].clone();
        a.matches = (0..40)
            .map(|i| AlertMatch {
                rule_id: i,
                rule: long.clone(),
                terms: vec![long.clone()],
                snippet: Snippet {
                    text: format!("{i} {long}"),
                    highlights: vec![0..1],
                },
            })
            .collect();
        a.matches.push(one);
        let msgs = render(&Outgoing::Alert(a));
        assert_eq!(msgs.len(), 1);
        let text = parse(&msgs[0].html).unwrap();
        assert!(units(&text) <= MAX_MESSAGE_UNITS, "{}", units(&text));
        assert!(text.contains("and 33 more rules"), "{text}");
    }

    #[test]
    fn long_notices_are_cut_at_line_ends_into_messages_telegram_accepts() {
        // 300 lines of 30 characters with characters outside the BMP
        // (two UTF-16 units each) and characters that need escaping.
        let line = "rule 𝕏 <a> & \"b\" ≠ c 𝕐 ok";
        let text: String = (0..300).map(|i| format!("{i:03} {line}\n")).collect();
        let msgs = render(&Outgoing::Notice(Notice { text: text.clone() }));
        assert!(msgs.len() >= 3, "{}", msgs.len());
        let mut rebuilt = Vec::new();
        for m in &msgs {
            assert_eq!(m.preview, Preview::Off);
            let plain = parse(&m.html).unwrap();
            assert!(units(&plain) <= MAX_MESSAGE_UNITS, "{}", units(&plain));
            assert!(!plain.starts_with('\n') && !plain.ends_with('\n'));
            rebuilt.extend(plain.lines().map(str::to_owned));
        }
        let want: Vec<&str> = text.lines().collect();
        assert_eq!(rebuilt, want, "every line once, whole, in order");
    }

    #[test]
    fn a_line_longer_than_a_message_is_cut_between_words_or_characters() {
        for (name, text) in [
            ("words", "lorem ipsum & dolor ".repeat(600)),
            ("one word", "𝕏&".repeat(3000)),
        ] {
            let msgs = render_text(&text);
            assert!(msgs.len() >= 2, "{name}");
            let mut joined = String::new();
            for m in &msgs {
                let plain = parse(&m.html).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(units(&plain) <= MAX_MESSAGE_UNITS, "{name}");
                joined.push_str(&plain);
            }
            assert_eq!(joined, text.trim(), "{name}: nothing lost or repeated");
        }
    }

    #[test]
    fn a_burst_of_alerts_becomes_one_list_without_previews() {
        let alerts: Vec<Alert> = (0..5)
            .map(|i| {
                alert(
                    &format!("Story {i} <x>"),
                    Some(&format!("https://news.example/{i}")),
                    "the UN Security Council met",
                    &[4..23],
                )
            })
            .collect();
        let refs: Vec<&Alert> = alerts.iter().collect();
        let (taken, msg) = render_alert_list(&refs);
        assert_eq!(taken, 5);
        assert_eq!(msg.preview, Preview::Off);
        let text = parse(&msg.html).unwrap();
        assert!(text.starts_with("5 new alerts"), "{text}");
        for i in 0..5 {
            assert!(text.contains(&format!("Story {i} <x>")), "{text}");
            assert!(msg.html.contains(&format!("https://news.example/{i}")));
        }
    }

    #[test]
    fn a_burst_larger_than_one_message_takes_what_fits_and_leaves_the_rest() {
        let long = "word ".repeat(80);
        let alerts: Vec<Alert> = (0..40)
            .map(|i| {
                alert(
                    &format!("Story {i} {long}"),
                    Some("https://news.example/x"),
                    &long,
                    &[0..4],
                )
            })
            .collect();
        let refs: Vec<&Alert> = alerts.iter().collect();
        let (taken, msg) = render_alert_list(&refs);
        assert!(taken > 1 && taken < 40, "{taken}");
        let text = parse(&msg.html).unwrap();
        assert!(units(&text) <= MAX_MESSAGE_UNITS);
        assert!(text.contains(&format!("Story {}", taken - 1)));
        assert!(!text.contains(&format!("Story {taken} ")));
        // The rest goes in later messages.
        let (next, _) = render_alert_list(&refs[taken..]);
        assert!(next >= 1);
    }

    #[test]
    fn one_alert_in_a_list_is_sent_as_a_single_alert_with_its_preview() {
        let a = alert("Only", Some("https://news.example/1"), "s", &[]);
        let (taken, msg) = render_alert_list(&[&a]);
        assert_eq!(taken, 1);
        assert_eq!(msg.preview, Preview::Of("https://news.example/1".into()));
    }
}
