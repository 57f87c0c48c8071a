//! Discord messages: alerts as embeds, everything else as content, every
//! piece of feed or user text escaped, every one of Discord's limits kept.
//!
//! Pure code: [`Outgoing`] in, [`DiscordMessage`] values out; the adapter
//! turns them into serenity builders. Lengths are counted in characters
//! (Unicode scalar values), as Discord counts them.

use crate::{
    alerts::{mark, merged_snippets, render_plain},
    chat::{Alert, Outgoing},
    matching::Snippet,
};

/// Most characters of a message's content.
pub const MAX_CONTENT: usize = 2000;
/// Most characters of an embed title.
pub const MAX_TITLE: usize = 256;
/// Most characters of an embed description.
pub const MAX_DESCRIPTION: usize = 4096;
/// Most characters of an embed field name.
pub const MAX_FIELD_NAME: usize = 256;
/// Most characters of an embed field value.
pub const MAX_FIELD_VALUE: usize = 1024;
/// Most characters of an embed footer.
pub const MAX_FOOTER: usize = 2048;
/// Most fields in one embed.
pub const MAX_FIELDS: usize = 25;
/// Most characters of all embeds of one message together.
pub const MAX_EMBED_TOTAL: usize = 6000;

/// Rules shown as fields of one alert; the rest are counted in the footer.
const MAX_RULE_FIELDS: usize = 10;
/// Snippets shown in one alert.
const MAX_SNIPPETS: usize = 3;
/// Outlets named after "also:".
const MAX_ALSO: usize = 10;
/// The embed colour of alerts (a calm blue).
const ALERT_COLOUR: u32 = 0x3B82F6;

/// One Discord message, ready for the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiscordMessage {
    /// Markdown content, escaped; may be empty when there are embeds.
    pub content: String,
    /// Embeds: one per alert, at most [`MAX_EMBEDS`] and
    /// [`MAX_EMBED_TOTAL`] characters together.
    pub embeds: Vec<Embed>,
}

/// An embed, every text already escaped and within its limit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Embed {
    /// Title (the headline).
    pub title: String,
    /// Where the title links to; only `http(s)` URLs.
    pub url: Option<String>,
    /// Description (the snippets).
    pub description: String,
    /// `(name, value)` fields.
    pub fields: Vec<(String, String)>,
    /// Footer text (source, "also:" outlets).
    pub footer: String,
    /// RFC 3339 time shown by Discord in the reader's zone.
    pub timestamp: Option<String>,
    /// Side colour.
    pub colour: u32,
}

impl Embed {
    /// Characters Discord counts towards the 6000 limit.
    pub fn total_chars(&self) -> usize {
        chars(&self.title)
            + chars(&self.description)
            + chars(&self.footer)
            + self
                .fields
                .iter()
                .map(|(n, v)| chars(n) + chars(v))
                .sum::<usize>()
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The messages that carry `msg`, in order: one for an alert; one or
/// more for long text.
pub fn render(msg: &Outgoing) -> Vec<DiscordMessage> {
    match msg {
        Outgoing::Alert(alert) => vec![DiscordMessage {
            content: String::new(),
            embeds: vec![alert_embed(alert)],
        }],
        Outgoing::Notice(n) => text_messages(&n.text),
        other => text_messages(&render_plain(other)),
    }
}

/// Most embeds in one message.
pub const MAX_EMBEDS: usize = 10;

/// Leading alerts of `alerts` as the embeds of one message: as many as fit
/// in [`MAX_EMBEDS`] and [`MAX_EMBED_TOTAL`] (at least one).
pub fn alert_embeds(alerts: &[&Alert]) -> Vec<Embed> {
    let mut out: Vec<Embed> = Vec::new();
    let mut total = 0;
    for alert in alerts.iter().take(MAX_EMBEDS) {
        let embed = alert_embed(alert);
        let n = embed.total_chars();
        if !out.is_empty() && total + n > MAX_EMBED_TOTAL {
            break;
        }
        total += n;
        out.push(embed);
    }
    out
}

/// Plain text as escaped content, cut at line ends into messages of at
/// most [`MAX_CONTENT`] characters.
pub fn text_messages(text: &str) -> Vec<DiscordMessage> {
    split_escaped(text, MAX_CONTENT)
        .into_iter()
        .map(|content| DiscordMessage {
            content,
            embeds: Vec::new(),
        })
        .collect()
}

/// Escapes `text` and cuts it into pieces of at most `limit` characters,
/// at line ends where possible, never inside an escape.
pub fn split_escaped(text: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split('\n') {
        let escaped = escape(line);
        let len = chars(&escaped);
        let sep = usize::from(!current.is_empty());
        if current_len + sep + len <= limit {
            if sep == 1 {
                current.push('\n');
            }
            current.push_str(&escaped);
            current_len += sep + len;
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if len <= limit {
            current = escaped;
            current_len = len;
            continue;
        }
        // A line too long alone is cut between escaped characters.
        for c in line.chars() {
            let piece = escape(c.encode_utf8(&mut [0; 4]));
            let n = chars(&piece);
            if current_len + n > limit {
                out.push(std::mem::take(&mut current));
                current_len = 0;
            }
            current.push_str(&piece);
            current_len += n;
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    if out.is_empty() {
        out.push("(empty)".to_owned());
    }
    out
}

/// Text with Discord markdown made literal and mentions made inert: a
/// backslash before every markdown character, a zero-width space after
/// `@` (so `@everyone` neither pings nor looks like a mention; pings are
/// also switched off with `allowed_mentions` on every message). A web
/// address standing as its own word is kept whole as `<url>` (a link
/// without a preview): backslashes inside it would break the link.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        match link(word) {
            Some(url) => {
                out.push('<');
                out.push_str(url.as_str());
                out.push('>');
            }
            None => escape_markdown(word, &mut out),
        }
        let space_end = after
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(after.len());
        out.push_str(&after[..space_end]);
        rest = &after[space_end..];
    }
    out
}

/// `word` as an absolute http(s) URL, when it is one.
fn link(word: &str) -> Option<url::Url> {
    if !(word.starts_with("https://") || word.starts_with("http://")) {
        return None;
    }
    url::Url::parse(word).ok().filter(|u| u.host().is_some())
}

fn escape_markdown(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '-' | '[' | ']' | '(' | ')' | '<'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
}

/// The escaped form of `text` cut to at most `limit` characters, with `…`
/// where it was cut.
fn escape_within(text: &str, limit: usize) -> String {
    let escaped = escape(text);
    if chars(&escaped) <= limit {
        return escaped;
    }
    let mut out = String::new();
    let mut len = 0;
    for c in text.chars() {
        let piece = escape(c.encode_utf8(&mut [0; 4]));
        let n = chars(&piece);
        if len + n + 1 > limit {
            break;
        }
        out.push_str(&piece);
        len += n;
    }
    out.push('…');
    out
}

/// Cuts already-formatted text at a line end so it fits `limit`.
fn fit_lines(text: &str, limit: usize) -> String {
    if chars(text) <= limit {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut len = 0;
    for line in text.split('\n') {
        let n = chars(line) + usize::from(!out.is_empty());
        if len + n + 2 > limit {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        len += n;
    }
    out.push_str("\n…");
    out
}

/// The snippet escaped, with its highlights in bold.
fn bold_snippet(snippet: &Snippet) -> String {
    const OPEN: char = '\u{E000}';
    const CLOSE: char = '\u{E001}';
    // The markers are private-use characters: any in the feed text become
    // U+FFFD first (same UTF-8 length, so the byte ranges stay right).
    let cleaned = Snippet {
        text: snippet.text.replace([OPEN, CLOSE], "\u{FFFD}"),
        highlights: snippet.highlights.clone(),
    };
    let marked = mark(&cleaned, "\u{E000}", "\u{E001}");
    escape(&marked).replace([OPEN, CLOSE], "**")
}

fn http_url(url: Option<&str>) -> Option<String> {
    let url = url?;
    let parsed = url::Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && url.len() <= 2048).then(|| parsed.to_string())
}

/// One alert as an embed: the headline linked, snippets with the matches
/// in bold, one field per matched rule, source and outlets in the footer.
pub fn alert_embed(alert: &Alert) -> Embed {
    let title = escape_within(alert.headline.trim(), MAX_TITLE);
    let snippets: Vec<String> = merged_snippets(&alert.matches)
        .iter()
        .take(MAX_SNIPPETS)
        .map(|s| format!("> {}", bold_snippet(s)))
        .collect();
    let description = fit_lines(&snippets.join("\n"), MAX_DESCRIPTION);
    let mut fields: Vec<(String, String)> = alert
        .matches
        .iter()
        .take(MAX_RULE_FIELDS.min(MAX_FIELDS))
        .map(|m| {
            let name = escape_within(&format!("rule #{} {}", m.rule_id, m.rule), MAX_FIELD_NAME);
            let words = if m.terms.is_empty() {
                "(no single words: the query as a whole)".to_owned()
            } else {
                m.terms.join(", ")
            };
            let value = escape_within(&format!("matched: {words}"), MAX_FIELD_VALUE);
            (name, value)
        })
        .collect();
    let hidden = alert.matches.len().saturating_sub(fields.len());
    let mut footer = alert.source.trim().to_owned();
    if !alert.also.is_empty() {
        let mut also: Vec<&str> = alert
            .also
            .iter()
            .map(String::as_str)
            .take(MAX_ALSO)
            .collect();
        let more = alert.also.len() - also.len();
        let more_text = format!("{more} more");
        if more > 0 {
            also.push(&more_text);
        }
        footer.push_str(&format!(" · also: {}", also.join(", ")));
    }
    if hidden > 0 {
        footer.push_str(&format!(" · and {hidden} more rules"));
    }
    // Footers are shown without markdown: escaping would show backslashes.
    let footer = cut_plain(&footer.replace('@', "@\u{200B}"), MAX_FOOTER);
    let mut embed = Embed {
        title,
        url: http_url(alert.url.as_deref()),
        description,
        fields: Vec::new(),
        footer,
        timestamp: alert.published.map(|t| t.to_rfc3339()),
        colour: ALERT_COLOUR,
    };
    // Keep the 6000 total: drop fields from the end, then shorten the
    // description.
    while embed.total_chars()
        + fields
            .iter()
            .map(|(n, v)| chars(n) + chars(v))
            .sum::<usize>()
        > MAX_EMBED_TOTAL
        && !fields.is_empty()
    {
        fields.pop();
    }
    embed.fields = fields;
    if embed.total_chars() > MAX_EMBED_TOTAL {
        let room = MAX_EMBED_TOTAL - (embed.total_chars() - chars(&embed.description));
        embed.description = fit_lines(&embed.description, room);
    }
    embed
}

fn cut_plain(text: &str, limit: usize) -> String {
    if chars(text) <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{AlertMatch, Notice};

    fn alert(headline: &str, rules: usize, also: usize) -> Alert {
        let text = "The UN Security Council met on Friday.".to_owned();
        let start = text.find("UN").unwrap();
        let matched = start..start + "UN Security Council".len();
        Alert {
            article_id: 1,
            headline: headline.to_owned(),
            url: Some("https://news.example/a".to_owned()),
            source: "Loopback News".to_owned(),
            published: None,
            matches: (0..rules)
                .map(|i| AlertMatch {
                    rule_id: i as i64 + 1,
                    rule: format!("keyword:UN Security Council {}", "x".repeat(300)),
                    terms: vec!["UN Security Council".to_owned()],
                    snippet: Snippet {
                        text: format!("{text} {i}"),
                        highlights: vec![matched.clone()],
                    },
                })
                .collect(),
            also: (0..also).map(|i| format!("Outlet {i}")).collect(),
        }
    }

    #[test]
    fn markdown_and_mentions_are_made_inert() {
        assert_eq!(
            escape("**bold** @everyone"),
            "\\*\\*bold\\*\\* @\u{200B}everyone"
        );
        assert_eq!(escape("<@123> [x](y)"), "\\<@\u{200B}123\\> \\[x\\]\\(y\\)");
        assert_eq!(escape("plain words"), "plain words");
        assert_eq!(
            escape("read https://news.example/a_b-c:d?x=1 now_"),
            "read <https://news.example/a_b-c:d?x=1> now\\_"
        );
        assert_eq!(escape("https:// alone"), "https\\:// alone");
    }

    #[test]
    fn a_line_that_opens_a_new_message_is_escaped_whole_not_cut() {
        let first = "a".repeat(20);
        let parts = split_escaped(&format!("{first}\nhttps://x.example/a_b"), 30);
        assert_eq!(parts, [first, "<https://x.example/a_b>".to_owned()]);
    }

    #[test]
    fn an_alert_is_one_embed_with_the_match_in_bold_and_a_link() {
        let msgs = render(&Outgoing::Alert(alert("**Big** news @everyone", 1, 2)));
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].embeds.len(), 1);
        let embed = &msgs[0].embeds[0];
        assert_eq!(embed.title, "\\*\\*Big\\*\\* news @\u{200B}everyone");
        assert_eq!(embed.url.as_deref(), Some("https://news.example/a"));
        assert!(
            embed.description.contains("**UN Security Council**"),
            "{}",
            embed.description
        );
        assert!(
            embed.footer.contains("also: Outlet 0, Outlet 1"),
            "{}",
            embed.footer
        );
        assert_eq!(embed.fields.len(), 1);
        assert!(embed.fields[0].1.contains("UN Security Council"));
    }

    #[test]
    fn every_limit_holds_for_huge_alerts() {
        let huge = alert(&"H*".repeat(400), 40, 200);
        let embed = alert_embed(&huge);
        assert!(chars(&embed.title) <= MAX_TITLE);
        assert!(chars(&embed.description) <= MAX_DESCRIPTION);
        assert!(chars(&embed.footer) <= MAX_FOOTER);
        assert!(embed.fields.len() <= MAX_FIELDS);
        for (n, v) in &embed.fields {
            assert!(chars(n) <= MAX_FIELD_NAME && chars(v) <= MAX_FIELD_VALUE);
        }
        assert!(embed.total_chars() <= MAX_EMBED_TOTAL);
        assert!(embed.footer.contains("more rules"), "{}", embed.footer);
    }

    #[test]
    fn a_burst_of_alerts_fills_one_message_within_the_embed_limits() {
        let small: Vec<Alert> = (0..12)
            .map(|i| alert(&format!("Story {i}"), 1, 0))
            .collect();
        let refs: Vec<&Alert> = small.iter().collect();
        assert_eq!(alert_embeds(&refs).len(), MAX_EMBEDS);
        let big: Vec<Alert> = (0..5).map(|_| alert(&"H".repeat(300), 25, 50)).collect();
        let refs: Vec<&Alert> = big.iter().collect();
        let embeds = alert_embeds(&refs);
        assert!(!embeds.is_empty() && embeds.len() < 5, "{}", embeds.len());
        assert!(embeds.iter().map(Embed::total_chars).sum::<usize>() <= MAX_EMBED_TOTAL);
    }

    #[test]
    fn long_notices_are_cut_into_messages_within_the_content_limit() {
        let text = format!("{}\n{}", "a_b ".repeat(600), "line\n".repeat(500));
        let msgs = render(&Outgoing::Notice(Notice { text }));
        assert!(msgs.len() > 1);
        for m in &msgs {
            assert!(chars(&m.content) <= MAX_CONTENT, "{}", chars(&m.content));
            assert!(!m.content.ends_with('\\'));
        }
    }
}
