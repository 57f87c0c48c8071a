//! Alerts: from hits to platform-neutral messages, and their plain-text form.
//!
//! Pure code: no I/O. It decides what an alert says (headline, link,
//! source, time, the rules and words that matched, a snippet); each chat
//! adapter decides how that looks on its platform. The plain rendering here
//! is the console's and the fallback of every platform. Digests are built
//! in [`digest`].

pub mod digest;

use std::fmt::Write;

use crate::{
    chat::{Alert, AlertMatch, Notice, Outgoing},
    matching::{Hit, Snippet},
};

/// The article an alert is about.
#[derive(Debug, Clone)]
pub struct AlertArticle<'a> {
    /// Its row id.
    pub id: i64,
    /// Headline.
    pub title: &'a str,
    /// Link.
    pub url: Option<&'a str>,
    /// The feed's name.
    pub source: &'a str,
    /// Publication time.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
}

/// One alert for one chat: the article and every hit of that chat's rules,
/// given as `(rule id, rule SPEC, hit)` in rule order.
pub fn build_alert(article: &AlertArticle<'_>, hits: &[(i64, &str, &Hit)]) -> Outgoing {
    Outgoing::Alert(Alert {
        article_id: article.id,
        headline: if article.title.trim().is_empty() {
            "(untitled)".to_owned()
        } else {
            article.title.to_owned()
        },
        url: article.url.map(str::to_owned),
        source: article.source.to_owned(),
        published: article.published,
        matches: hits
            .iter()
            .map(|(rule_id, spec, hit)| AlertMatch {
                rule_id: *rule_id,
                rule: (*spec).to_owned(),
                terms: hit.terms.clone(),
                snippet: hit.snippet.clone(),
            })
            .collect(),
        also: Vec::new(),
    })
}

/// A plain-text notice.
pub fn notice(text: impl Into<String>) -> Outgoing {
    Outgoing::Notice(Notice { text: text.into() })
}

/// The plain-text form of a message, as the console prints it: matches
/// in the snippet are marked `[[like this]]`.
pub fn render_plain(msg: &Outgoing) -> String {
    match msg {
        Outgoing::Notice(n) => n.text.clone(),
        Outgoing::Digest(d) => digest::render_plain(d),
        Outgoing::Alert(a) => {
            let mut out = String::new();
            let _ = writeln!(out, "ALERT  {}", a.headline);
            if let Some(url) = &a.url {
                let _ = writeln!(out, "       {url}");
            }
            let when = a
                .published
                .map(|t| t.format(" · %Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let _ = write!(out, "       {}{when}", a.source);
            if !a.also.is_empty() {
                let _ = write!(out, " (also: {})", a.also.join(", "));
            }
            for m in &a.matches {
                let _ = write!(
                    out,
                    "\n       rule #{} {} matched: {}",
                    m.rule_id,
                    m.rule,
                    m.terms.join(", ")
                );
            }
            for snippet in merged_snippets(&a.matches) {
                let _ = write!(out, "\n       “{}”", mark(&snippet, "[[", "]]"));
            }
            out
        }
    }
}

/// The alert's snippets with identical text merged into one carrying all
/// their highlights, so that three rules matching one sentence show it
/// once. Empty snippets are dropped; order is first appearance.
pub fn merged_snippets(matches: &[AlertMatch]) -> Vec<Snippet> {
    let mut merged: Vec<Snippet> = Vec::new();
    for m in matches.iter().filter(|m| !m.snippet.text.is_empty()) {
        match merged.iter_mut().find(|s| s.text == m.snippet.text) {
            Some(same) => same.highlights.extend(m.snippet.highlights.iter().cloned()),
            None => merged.push(m.snippet.clone()),
        }
    }
    merged
}

/// The snippet's text with every highlight wrapped in `open`/`close`.
/// Highlights that are out of range or not on character boundaries are
/// skipped rather than trusted.
pub fn mark(snippet: &Snippet, open: &str, close: &str) -> String {
    let text = &snippet.text;
    let mut ranges: Vec<_> = snippet
        .highlights
        .iter()
        .filter(|r| r.start < r.end && r.end <= text.len())
        .filter(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
        .cloned()
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len() + ranges.len() * (open.len() + close.len()));
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue; // overlapping highlight
        }
        out.push_str(&text[at..r.start]);
        out.push_str(open);
        out.push_str(&text[r.clone()]);
        out.push_str(close);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
// One-range highlight lists are the common case, not a typo for a range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn snippet(text: &str, highlights: &[std::ops::Range<usize>]) -> Snippet {
        Snippet {
            text: text.to_owned(),
            highlights: highlights.to_vec(),
        }
    }

    #[test]
    fn marking_wraps_each_highlight_and_skips_bad_ranges() {
        let cases = [
            ("one", snippet("the UN met", &[4..6]), "the [[UN]] met"),
            ("two", snippet("a b c", &[0..1, 4..5]), "[[a]] b [[c]]"),
            ("unsorted", snippet("a b c", &[4..5, 0..1]), "[[a]] b [[c]]"),
            ("overlap", snippet("abcdef", &[0..3, 2..4]), "[[abc]]def"),
            ("out of range", snippet("abc", &[2..9]), "abc"),
            ("inside a char", snippet("é!", &[1..2]), "é!"),
            ("none", snippet("plain", &[]), "plain"),
        ];
        for (name, s, want) in cases {
            assert_eq!(mark(&s, "[[", "]]"), want, "{name}");
        }
    }

    #[test]
    fn snippets_with_the_same_text_are_shown_once_with_all_highlights() {
        let m = |rule_id, text: &str, r: std::ops::Range<usize>| AlertMatch {
            rule_id,
            rule: format!("keyword:{rule_id}"),
            terms: vec![],
            snippet: snippet(text, &[r]),
        };
        let merged = merged_snippets(&[
            m(1, "a b c", 0..1),
            m(2, "other", 0..5),
            m(3, "a b c", 4..5),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(mark(&merged[0], "[[", "]]"), "[[a]] b [[c]]");
        assert_eq!(mark(&merged[1], "[[", "]]"), "[[other]]");
    }

    #[test]
    fn a_plain_alert_shows_headline_link_source_rule_words_and_snippet() {
        let hit = Hit {
            rule_id: 3,
            terms: vec!["UN Security Council".to_owned()],
            snippet: snippet("the UN Security Council met", &[4..23]),
            positions: Vec::new(),
        };
        let article = AlertArticle {
            id: 1,
            title: "Council meets",
            url: Some("https://example.org/a"),
            source: "Example News",
            published: None,
        };
        let text = render_plain(&build_alert(
            &article,
            &[(3, "keyword:UN Security Council", &hit)],
        ));
        for needle in [
            "Council meets",
            "https://example.org/a",
            "Example News",
            "rule #3 keyword:UN Security Council",
            "matched: UN Security Council",
            "the [[UN Security Council]] met",
        ] {
            assert!(text.contains(needle), "{text:?} lacks {needle:?}");
        }
    }
}
