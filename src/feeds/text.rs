//! HTML to plain display text.
//!
//! Feed titles, summaries and bodies arrive as HTML fragments, HTML-escaped
//! text or plain text; matching and display want one clean line of words.
//! html5ever (through `scraper`) does the parsing and all entity decoding,
//! so no entity table lives here.
//!
//! html5ever's tree builder is quadratic on some hostile shapes (50,000
//! nested `<div>`s take seconds; unclosed formatting elements are re-opened
//! at every block and can multiply nodes). A cheap tag pre-scan spots those
//! shapes, and oversized input, and sends them down a flat path: tags are
//! dropped by a small tokenizer and html5ever only decodes the entities of
//! the remaining text, which is linear in time and memory.

use scraper::{ElementRef, Html, Node};

/// Input longer than this skips the tree builder (see the module docs).
const TREE_MAX_BYTES: usize = 256 * 1024;
/// Estimated nesting depth above which the tree builder is skipped.
const TREE_MAX_DEPTH: usize = 256;
/// Simultaneously open formatting elements above which the tree builder is
/// skipped (each may be re-opened at every later block).
const TREE_MAX_OPEN_FORMATTING: usize = 16;

/// HTML (or text with entities) to plain display text: tags removed,
/// script/style/head dropped, entities decoded, block elements turned into
/// spaces so that words never glue together, and every whitespace run
/// collapsed to one space (a single line). Attribute values never appear.
pub fn html_to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return collapse_whitespace(html);
    }
    if needs_flat_path(html) {
        return collapse_whitespace(&flat_text(html).text);
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    collect_text(fragment.root_element(), &mut out);
    collapse_whitespace(&out)
}

/// Collapse any run of Unicode whitespace to one ASCII space and trim.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// What `wirewatch check` and the "not a feed" error want from an HTML page.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HtmlPage {
    /// Text of the first `<title>`, if non-empty.
    pub title: Option<String>,
    /// Text of the first `<h1>`, if non-empty.
    pub first_heading: Option<String>,
    /// `<link rel="canonical">` href, else `og:url`, as written (maybe relative).
    pub canonical: Option<String>,
    /// `<meta name="description">` or `og:description`.
    pub description: Option<String>,
    /// `article:published_time` (or similar) as written.
    pub published: Option<String>,
    /// Feeds the page advertises (`<link rel="alternate" type="application/rss+xml">` ...).
    pub feed_links: Vec<String>,
    /// Visible text of the body.
    pub body_text: String,
}

/// Extract title, canonical link, advertised feeds and visible text from an
/// HTML page.
pub(crate) fn extract_html_page(html: &str) -> HtmlPage {
    if needs_flat_path(html) {
        let flat = flat_text(html);
        return HtmlPage {
            title: flat
                .title
                .map(|t| decode_text(&t))
                .filter(|t| !t.is_empty()),
            body_text: collapse_whitespace(&flat.text),
            ..HtmlPage::default()
        };
    }
    let document = Html::parse_document(html);
    let mut page = HtmlPage::default();
    let mut og_url = None;
    let mut og_description = None;
    // `nodes()` walks the arena in creation order without recursion.
    for node in document.tree.nodes() {
        let Some(element) = ElementRef::wrap(node) else {
            continue;
        };
        let value = element.value();
        match value.name() {
            "title" if page.title.is_none() => {
                page.title = Some(element_text(element)).filter(|t| !t.is_empty());
            }
            "h1" if page.first_heading.is_none() => {
                page.first_heading = Some(element_text(element)).filter(|t| !t.is_empty());
            }
            "body" => {
                let mut out = String::new();
                collect_text(element, &mut out);
                page.body_text = collapse_whitespace(&out);
            }
            "link" => {
                let rel = value.attr("rel").unwrap_or("").to_ascii_lowercase();
                let href = value.attr("href").map(str::trim).filter(|h| !h.is_empty());
                let Some(href) = href else { continue };
                let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
                if rels.contains(&"canonical") && page.canonical.is_none() {
                    page.canonical = Some(href.to_owned());
                }
                let kind = value.attr("type").unwrap_or("").to_ascii_lowercase();
                if rels.contains(&"alternate")
                    && (kind.contains("rss") || kind.contains("atom") || kind.contains("feed+json"))
                {
                    page.feed_links.push(href.to_owned());
                }
            }
            "meta" => {
                let key = value
                    .attr("property")
                    .or_else(|| value.attr("name"))
                    .or_else(|| value.attr("itemprop"))
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let content = value
                    .attr("content")
                    .map(collapse_whitespace)
                    .filter(|c| !c.is_empty());
                let Some(content) = content else { continue };
                match key.as_str() {
                    "og:url" if og_url.is_none() => og_url = Some(content),
                    "description" if page.description.is_none() => page.description = Some(content),
                    "og:description" if og_description.is_none() => og_description = Some(content),
                    "article:published_time" | "datepublished" | "date" | "dc.date"
                        if page.published.is_none() =>
                    {
                        page.published = Some(content)
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if page.canonical.is_none() {
        page.canonical = og_url;
    }
    if page.description.is_none() {
        page.description = og_description;
    }
    page
}

fn element_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    collect_text(element, &mut out);
    collapse_whitespace(&out)
}

/// Append the visible text under `root` to `out`, with a space around every
/// block element. Iterative, so deep trees cannot overflow the stack.
fn collect_text(root: ElementRef<'_>, out: &mut String) {
    let root_id = root.id();
    let mut node = *root;
    'walk: loop {
        let mut descend = false;
        match node.value() {
            Node::Text(text) => out.push_str(text),
            // The root is walked even when hidden (the text of a <title>).
            Node::Element(element) if node.id() == root_id || !is_hidden(element.name()) => {
                if is_block(element.name()) {
                    out.push(' ');
                }
                descend = true;
            }
            _ => {}
        }
        if descend && let Some(child) = node.first_child() {
            node = child;
            continue;
        }
        // `node` is finished: close it and every ancestor whose last child it was.
        loop {
            if let Node::Element(element) = node.value()
                && is_block(element.name())
                && !is_hidden(element.name())
            {
                out.push(' ');
            }
            if node.id() == root_id {
                break 'walk;
            }
            if let Some(sibling) = node.next_sibling() {
                node = sibling;
                continue 'walk;
            }
            match node.parent() {
                Some(parent) => node = parent,
                None => break 'walk,
            }
        }
    }
}

/// Elements whose content is never shown as text.
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "head"
            | "title"
            | "noscript"
            | "template"
            | "iframe"
            | "object"
            | "embed"
            | "svg"
            | "canvas"
            | "video"
            | "audio"
            | "frameset"
            | "noembed"
            | "noframes"
    )
}

/// Elements that separate words when rendered (blocks, line breaks, cells,
/// images and form controls).
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "body"
            | "br"
            | "button"
            | "caption"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "img"
            | "input"
            | "legend"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "option"
            | "p"
            | "pre"
            | "section"
            | "select"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "textarea"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// Elements the HTML parser never pushes on the stack of open elements.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Formatting elements, which the HTML parser re-opens after blocks.
fn is_formatting(name: &str) -> bool {
    matches!(
        name,
        "a" | "b"
            | "big"
            | "code"
            | "em"
            | "font"
            | "i"
            | "nobr"
            | "s"
            | "small"
            | "strike"
            | "strong"
            | "tt"
            | "u"
    )
}

/// Elements whose content is raw text up to their end tag (the flat path
/// skips them whole; `title` is kept aside for page titles).
fn is_raw_text(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "title"
            | "textarea"
            | "xmp"
            | "iframe"
            | "noembed"
            | "noframes"
            | "noscript"
            | "plaintext"
    )
}

/// Whether `html` should skip the tree builder (see the module docs).
fn needs_flat_path(html: &str) -> bool {
    if html.len() > TREE_MAX_BYTES {
        return true;
    }
    let mut depth = 0usize;
    let mut formatting = 0usize;
    for piece in HtmlPieces::new(html) {
        match piece {
            Piece::Start { name, self_closing } => {
                if self_closing || is_void(&name) {
                    continue;
                }
                depth += 1;
                if is_formatting(&name) {
                    formatting += 1;
                }
                if depth > TREE_MAX_DEPTH || formatting > TREE_MAX_OPEN_FORMATTING {
                    return true;
                }
            }
            Piece::End { name } => {
                depth = depth.saturating_sub(1);
                if is_formatting(&name) {
                    formatting = formatting.saturating_sub(1);
                }
            }
            Piece::Text(_) | Piece::Skipped { .. } => {}
        }
    }
    false
}

struct FlatText {
    /// Visible text, entities decoded, whitespace not yet collapsed.
    text: String,
    /// Raw (still escaped) content of the first `<title>`.
    title: Option<String>,
}

/// Tag-dropping text extraction that never builds a tree.
fn flat_text(html: &str) -> FlatText {
    let mut escaped = String::with_capacity(html.len());
    let mut title = None;
    for piece in HtmlPieces::new(html) {
        match piece {
            Piece::Text(text) => push_escaped(&mut escaped, text),
            Piece::Start { name, .. } | Piece::End { name } => {
                if is_block(&name) {
                    escaped.push(' ');
                }
            }
            Piece::Skipped { name, content } => {
                if name == "title" && title.is_none() {
                    title = Some(content.to_owned());
                }
                // A textarea shows its text; the other raw-text elements are
                // hidden and, as on the tree path, add no separator.
                if !is_hidden(&name) && name != "title" {
                    escaped.push(' ');
                    push_escaped(&mut escaped, content);
                    escaped.push(' ');
                }
            }
        }
    }
    FlatText {
        text: decode_text(&escaped),
        title,
    }
}

/// Append `text` with every '<' escaped: the result goes back through
/// html5ever for its entities, where a stray '<' must not start a tag.
fn push_escaped(out: &mut String, text: &str) {
    for (i, part) in text.split('<').enumerate() {
        if i > 0 {
            out.push_str("&lt;");
        }
        out.push_str(part);
    }
}

/// Decode the entities of tag-free text (a stray '<' is kept literally).
fn decode_text(text: &str) -> String {
    if !text.contains(['<', '&']) {
        return text.to_owned();
    }
    let escaped = text.replace('<', "&lt;");
    let fragment = Html::parse_fragment(&escaped);
    let mut out = String::with_capacity(escaped.len());
    for node in fragment.tree.nodes() {
        if let Node::Text(t) = node.value() {
            out.push_str(t);
        }
    }
    out
}

/// One piece of HTML as the flat path sees it.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    /// A start tag; `name` is lower-cased.
    Start {
        name: String,
        self_closing: bool,
    },
    End {
        name: String,
    },
    /// A raw-text element (script, style, title, ...) with its content.
    Skipped {
        name: String,
        content: &'a str,
    },
}

/// A forgiving HTML tokenizer: comments, doctypes and processing
/// instructions vanish, tags lose their attributes, raw-text elements are
/// skipped whole. Linear in the input.
struct HtmlPieces<'a> {
    html: &'a str,
    pos: usize,
}

impl<'a> HtmlPieces<'a> {
    fn new(html: &'a str) -> Self {
        HtmlPieces { html, pos: 0 }
    }

    /// Byte index just past the `>` closing a tag whose name ends at `from`,
    /// honouring quoted attribute values; the end of input if unclosed.
    fn tag_end(&self, from: usize) -> usize {
        let bytes = self.html.as_bytes();
        let mut i = from;
        let mut quote: Option<u8> = None;
        let mut after_equals = false;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'>' => return i + 1,
                    b'"' | b'\'' if after_equals => quote = Some(b),
                    b'=' => {
                        after_equals = true;
                        i += 1;
                        continue;
                    }
                    b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                        i += 1;
                        continue;
                    }
                    _ => {}
                },
            }
            after_equals = false;
            i += 1;
        }
        bytes.len()
    }
}

impl<'a> Iterator for HtmlPieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let html = self.html;
        let bytes = html.as_bytes();
        loop {
            if self.pos >= bytes.len() {
                return None;
            }
            let start = self.pos;
            if bytes[start] != b'<' {
                let end = html[start..].find('<').map_or(html.len(), |i| start + i);
                self.pos = end;
                return Some(Piece::Text(&html[start..end]));
            }
            let rest = &html[start..];
            if let Some(comment) = rest.strip_prefix("<!--") {
                self.pos = comment
                    .find("-->")
                    .map_or(html.len(), |i| start + 4 + i + 3);
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                self.pos = rest.find('>').map_or(html.len(), |i| start + i + 1);
                continue;
            }
            let is_end = rest.starts_with("</");
            let name_start = start + if is_end { 2 } else { 1 };
            let name_len = bytes[name_start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_'))
                .count();
            if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
                // Not a tag: a literal '<'.
                self.pos = start + 1;
                return Some(Piece::Text(&html[start..start + 1]));
            }
            let name = html[name_start..name_start + name_len].to_ascii_lowercase();
            let end = self.tag_end(name_start + name_len);
            self.pos = end;
            if is_end {
                return Some(Piece::End { name });
            }
            let self_closing = html[..end].ends_with("/>");
            if is_raw_text(&name) && !self_closing {
                let content_start = end;
                let close = find_end_tag(&html[content_start..], &name);
                let (content_end, after) = match close {
                    Some(i) => {
                        let tag_at = content_start + i;
                        (tag_at, self.tag_end(tag_at + 2 + name.len()))
                    }
                    None => (html.len(), html.len()),
                };
                self.pos = after;
                return Some(Piece::Skipped {
                    name,
                    content: &html[content_start..content_end],
                });
            }
            return Some(Piece::Start { name, self_closing });
        }
    }
}

/// Offset of `</name` (ASCII case-insensitive) in `haystack`.
fn find_end_tag(haystack: &str, name: &str) -> Option<usize> {
    let bytes = haystack.as_bytes();
    let mut from = 0;
    while let Some(i) = haystack[from..].find("</") {
        let at = from + i;
        let candidate = &bytes[at + 2..];
        if candidate.len() >= name.len()
            && candidate[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// (case name, input, expected output)
    const HTML_TO_TEXT: &[(&str, &str, &str)] = &[
        (
            "plain text passes through",
            "Security Council meets",
            "Security Council meets",
        ),
        ("whitespace runs collapse", "  a\t\tb \n\n c  ", "a b c"),
        (
            "named entities decode",
            "AT&amp;T &lt;b&gt; caf&eacute; &hellip;",
            "AT&T <b> café …",
        ),
        (
            "numeric entities decode",
            "&#8216;quoted&#8217; &#x20AC;5",
            "\u{2018}quoted\u{2019} €5",
        ),
        (
            "html5-only named entity",
            "&NotNestedGreaterGreater; &bigstar;",
            "\u{2AA2}\u{338} \u{2605}",
        ),
        ("nbsp is whitespace", "a&nbsp;&nbsp;b", "a b"),
        (
            "inline tags do not add spaces",
            "<b>Bold</b>face and <em>em</em>phasis",
            "Boldface and emphasis",
        ),
        (
            "paragraphs separate words",
            "<p>one</p><p>two</p>",
            "one two",
        ),
        (
            "br separates words",
            "line<br>break<br/>again",
            "line break again",
        ),
        (
            "list items separate words",
            "<ul><li>alpha</li><li>beta</li></ul>",
            "alpha beta",
        ),
        (
            "headings and divs separate words",
            "<h1>Title</h1><div>body</div>text",
            "Title body text",
        ),
        (
            "table cells separate words",
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
            "a b c",
        ),
        (
            "script is dropped",
            "before<script>var x = '<p>hidden</p>';</script>after",
            "beforeafter",
        ),
        (
            "style is dropped",
            "<style>p { color: red }</style>visible",
            "visible",
        ),
        (
            "head is dropped",
            "<html><head><title>T</title><meta name=x content=y></head><body>B</body></html>",
            "B",
        ),
        ("comments are dropped", "a<!-- hidden -->b", "ab"),
        (
            "attribute values never leak",
            r#"<a href="http://evil.example/" title="TITLE">link</a><img alt="ALT" src="x.png">"#,
            "link",
        ),
        (
            "attribute with a > inside",
            r#"<span data-x="a>b">text</span>"#,
            "text",
        ),
        (
            "escaped markup decodes to text, once",
            "&amp;lt;b&amp;gt;",
            "&lt;b&gt;",
        ),
        (
            "lone ampersand and angle bracket",
            "Q&A: a < b",
            "Q&A: a < b",
        ),
        ("empty input", "", ""),
        ("only markup", "<p><br></p>", ""),
        ("cdata-looking text in html", "x <![CDATA[y]]> z", "x z"),
    ];

    #[test]
    fn html_to_text_cases() {
        for (name, input, expected) in HTML_TO_TEXT {
            assert_eq!(html_to_text(input), *expected, "case {name:?}");
        }
    }

    #[test]
    fn html_to_text_case_names_are_unique() {
        let mut names: Vec<_> = HTML_TO_TEXT.iter().map(|c| c.0).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn collapse_whitespace_handles_unicode_spaces() {
        let cases = [
            ("a\u{00A0}\u{2003}b", "a b"),
            ("\u{3000}x\u{2028}y\u{0085}", "x y"),
            ("", ""),
            ("   ", ""),
            ("one", "one"),
        ];
        for (input, expected) in cases {
            assert_eq!(collapse_whitespace(input), expected, "input {input:?}");
        }
    }

    /// The flat path must give the same words as the tree path on ordinary
    /// HTML, so that switching paths never changes what a rule matches.
    #[test]
    fn flat_path_agrees_with_tree_path_on_ordinary_html() {
        for (name, input, expected) in HTML_TO_TEXT {
            let flat = collapse_whitespace(&flat_text(input).text);
            assert_eq!(flat, *expected, "case {name:?}");
        }
    }

    #[test]
    fn hostile_nesting_takes_the_flat_path_and_stays_fast() {
        let cases = [
            ("deep divs", "<div>".repeat(50_000) + "deep text"),
            ("deep list", "<ul><li>".repeat(20_000) + "deep text"),
            (
                "reopened formatting",
                (0..2_000)
                    .map(|i| format!("<b id={i}>"))
                    .collect::<String>()
                    + "</p><p>deep text</p>"
                    + &"<p>x</p>".repeat(20_000),
            ),
        ];
        for (name, input) in cases {
            assert!(needs_flat_path(&input), "case {name}");
            let started = Instant::now();
            let text = html_to_text(&input);
            assert!(
                text.starts_with("deep text"),
                "case {name}: {:?}",
                &text[..text.len().min(40)]
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "case {name} took {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn ordinary_html_takes_the_tree_path() {
        let html =
            "<div><p>Hello <b>world</b></p><ul><li><a href='x'>link</a></li></ul></div>".repeat(50);
        assert!(!needs_flat_path(&html));
    }

    #[test]
    fn html_page_extraction() {
        let html = r#"<!DOCTYPE html><html><head>
            <title>Page &amp; title</title>
            <link rel="canonical" href="/story/1">
            <link rel="alternate" type="application/rss+xml" href="/feed.xml">
            <meta property="og:url" content="https://example.com/og">
            <meta name="description" content="A short description">
            <meta property="article:published_time" content="2025-01-06T10:00:00Z">
            <script>ignored()</script>
            </head><body><h1>Heading</h1><p>First paragraph.</p><p>Second.</p></body></html>"#;
        let page = extract_html_page(html);
        assert_eq!(page.title.as_deref(), Some("Page & title"));
        assert_eq!(page.first_heading.as_deref(), Some("Heading"));
        assert_eq!(page.canonical.as_deref(), Some("/story/1"));
        assert_eq!(page.feed_links, vec!["/feed.xml".to_owned()]);
        assert_eq!(page.description.as_deref(), Some("A short description"));
        assert_eq!(page.published.as_deref(), Some("2025-01-06T10:00:00Z"));
        assert_eq!(page.body_text, "Heading First paragraph. Second.");
    }

    #[test]
    fn html_page_extraction_falls_back_to_og_url() {
        let page = extract_html_page(
            r#"<html><head><meta property="og:url" content="https://e.com/a"></head><body>x</body></html>"#,
        );
        assert_eq!(page.canonical.as_deref(), Some("https://e.com/a"));
    }

    #[test]
    fn pieces_skip_raw_text_and_keep_title() {
        let flat = flat_text("<title>A &amp; B</title><script>if (a<b) {}</script><p>x</p>");
        assert_eq!(flat.title.as_deref(), Some("A &amp; B"));
        assert_eq!(collapse_whitespace(&flat.text), "x");
    }
}
