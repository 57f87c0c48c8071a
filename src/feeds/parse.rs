//! Parse: the defensive layer in front of feed-rs.
//!
//! feed-rs stays the parser for RSS 0.9x/1.0/2.0, Atom and JSON Feed. This
//! layer turns arbitrary bytes into something it can digest, contains its
//! failures, and says in plain words what is wrong with a document.
//!
//! 1. **Encoding** (`sniff`): a BOM (UTF-8/16/32, LE/BE) wins; without one,
//!    UTF-16/32 is recognised from the byte pattern of the first `<` (a
//!    declaration contradicting that pattern is refused); otherwise the XML
//!    declaration's encoding, then the HTTP charset hint (then, for
//!    `parse_document` only, an HTML `<meta charset>`), then UTF-8. The
//!    document's own declaration beats the HTTP hint because servers send
//!    default charsets far more often than documents lie. Unknown labels are
//!    ignored (next source, finally UTF-8) rather than refused, so a feed with
//!    `encoding="bogus"` still parses; labels that WHATWG maps to the
//!    "replacement" encoding (ISO-2022-KR, HZ, ...) are refused. A declared
//!    single-byte encoding is ignored when the bytes are valid, non-ASCII
//!    UTF-8 (a common publishing mistake; miniflux does the same). Where
//!    UTF-8 is assumed but the bytes are not valid UTF-8, the document is
//!    read as windows-1252 when invalid sequences dominate (a legacy 8-bit
//!    feed), otherwise only the stray invalid bytes are (a UTF-8 feed with a
//!    few broken bytes): lossy, but no text is lost. UTF-32 is decoded by
//!    hand since `encoding_rs` lacks it.
//! 2. **Characters**: C0 controls other than tab, CR and LF are illegal in
//!    XML and are removed; C1 controls (U+0080..U+009F) are the classic
//!    windows-1252 mix-up and become the characters meant (U+0092 -> ’).
//! 3. **Structure** (`xml`): a linear scan classifies the document (empty,
//!    comments only, HTML page, unknown root, plain text, JSON), refuses DTD
//!    entity declarations (no expansion, no file or network access, ever)
//!    and nesting deeper than [`MAX_DEPTH`], reports truncation and
//!    mismatched tags with a position, and escapes bare `&`. The prolog
//!    (BOM, blank lines, comments, DOCTYPE, stray processing instructions)
//!    is replaced by a UTF-8 declaration, and the root is rewritten where
//!    feed-rs would otherwise find no items: RSS 0.93/0.94 or version-less
//!    `<rss>` become 2.0, a default namespace on `<rss>` is dropped, an
//!    `<rss>` without `<channel>` gets one, the RSS 0.90 namespace becomes
//!    RSS 1.0's, and Atom 0.3 is mapped onto Atom 1.0 (namespace, element
//!    names, text types). A second `<?xml ...?>` inside the document is
//!    removed: it makes feed-rs 3.0 panic.
//! 4. **feed-rs** runs under `catch_unwind` (so does the whole parse,
//!    html5ever included). Where feed-rs fails a whole feed over one part
//!    (an empty `<media:description/>`, an unknown text `type`, an
//!    unparsable `xml:base`), every such part is dropped and the parse
//!    retried, at most [`MAX_REPAIRS`] times.
//! 5. **JSON Feed**: parsed as `serde_json::Value` first, so that wrong
//!    types become skipped fields or items instead of a failed feed, and the
//!    version strings feed-rs rejects (`http://`, bare `1.1`) are accepted.
//! 6. **Items**: text goes through [`html_to_text`] (Atom `type="text"` is
//!    taken as plain text), links are resolved to absolute http(s) URLs
//!    (xml:base and the feed URL inside feed-rs, then the feed's own link)
//!    and dropped when over [`MAX_LINK_BYTES`]; `guid` is only what the feed
//!    gave, never a generated hash.
//!
//! Time and memory are linear in the input: no entity is ever expanded,
//! depth is capped before feed-rs runs, and html5ever's quadratic shapes
//! are avoided in `text`.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Utc};
use feed_rs::model;
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use url::Url;

use crate::feeds::text::{collapse_whitespace, extract_html_page, html_to_text};

/// Elements nested deeper than this are refused before feed-rs runs.
pub const MAX_DEPTH: usize = 512;
/// Links longer than this are dropped (no browser or chat accepts them).
pub const MAX_LINK_BYTES: usize = 8 * 1024;
/// How many repair-and-retry rounds feed-rs gets before the document is
/// given up (each round fixes every element of one kind).
const MAX_REPAIRS: usize = 16;

/// One article from a feed, an HTML page or a text file, as plain text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeedItem {
    /// The entry id when the feed gave one (never a generated hash).
    pub guid: Option<String>,
    /// Plain text, may be empty.
    pub title: String,
    /// Absolute http(s) URL.
    pub link: Option<String>,
    /// When the item was first published.
    pub published: Option<DateTime<Utc>>,
    /// When the item was last updated.
    pub updated: Option<DateTime<Utc>>,
    /// Plain text summary, may be empty.
    pub summary: String,
    /// Plain text of the full content (empty when none).
    pub content: String,
    /// Category terms or labels.
    pub categories: Vec<String>,
    /// Author names.
    pub authors: Vec<String>,
}

/// A parsed feed: its title and items (possibly none).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    /// The feed's title as plain text.
    pub title: Option<String>,
    /// The items in document order.
    pub items: Vec<FeedItem>,
}

/// What is wrong with a document, in words a chat user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// No bytes, or only whitespace.
    #[error("empty document")]
    Empty,
    /// Only comments, processing instructions or a DOCTYPE.
    #[error(
        "no root element: the document contains only comments, processing instructions or a DOCTYPE"
    )]
    NoRootElement,
    /// An HTML page where a feed was expected.
    #[error("not a feed: an HTML page{}", describe_page(.title, .feed_url))]
    HtmlPage {
        /// The page's `<title>`.
        title: Option<String>,
        /// A feed the page advertises, if any.
        feed_url: Option<String>,
    },
    /// Well-formed XML of some other kind.
    #[error("not a feed: root element <{name}>{}", root_hint(.name))]
    UnknownRoot {
        /// The root element's name as written.
        name: String,
    },
    /// Neither markup nor JSON.
    #[error("not a feed: plain text, neither XML nor JSON")]
    PlainText,
    /// An encoding label that names no usable encoding.
    #[error("unsupported or invalid encoding \"{0}\"")]
    UnsupportedEncoding(String),
    /// The bytes are UTF-16/32 but the declaration says otherwise.
    #[error(
        "encoding mismatch: the bytes are {detected} but the document declares encoding \"{declared}\""
    )]
    EncodingMismatch {
        /// What the byte pattern shows.
        detected: &'static str,
        /// What the XML declaration says.
        declared: String,
    },
    /// A DTD with `<!ENTITY>` declarations or parameter entities.
    #[error("document uses DTD entity declarations, which are refused (entity expansion attack?)")]
    EntityDeclarations,
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("elements nested more than {limit} deep, refused")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Not well-formed XML, with a position in the document decoded to UTF-8.
    #[error("malformed XML at byte {offset} (line {line}): {message}")]
    MalformedXml {
        /// Byte offset in the decoded (UTF-8) document.
        offset: usize,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Not well-formed XML, as reported by feed-rs (no position known).
    #[error("malformed XML: {0}")]
    XmlSyntax(String),
    /// The document stops in the middle.
    #[error("truncated document: {0}")]
    Truncated(String),
    /// JSON that does not parse.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde_json says.
        message: String,
    },
    /// JSON that parses but is not a JSON Feed.
    #[error("not a JSON Feed: {0}")]
    NotJsonFeed(String),
    /// A feed that feed-rs rejects for another reason.
    #[error("invalid feed: {0}")]
    InvalidFeed(String),
    /// feed-rs or quick-xml panicked; the panic was contained.
    #[error("parser crashed on this document")]
    Panicked,
}

fn describe_page(title: &Option<String>, feed_url: &Option<String>) -> String {
    let mut out = String::new();
    if let Some(title) = title {
        out.push_str(&format!(" (title \"{title}\")"));
    }
    if let Some(url) = feed_url {
        out.push_str(&format!("; the page advertises a feed at {url}"));
    }
    out
}

fn root_hint(name: &str) -> &'static str {
    match name.rsplit(':').next().unwrap_or(name) {
        "opml" => " (an OPML subscription list: import it with `wirewatch feeds import`)",
        "urlset" | "sitemapindex" => " (a sitemap)",
        _ => "",
    }
}

/// Parse a feed (RSS, Atom or JSON Feed) from raw bytes.
///
/// `charset_hint`: charset from the HTTP Content-Type, if any. `base`: the
/// feed's URL, for relative links. A feed without items is `Ok` with empty
/// `items`.
pub fn parse_feed(
    bytes: &[u8],
    charset_hint: Option<&str>,
    base: Option<&url::Url>,
) -> Result<ParsedFeed, ParseError> {
    contained(|| try_parse_feed(bytes, charset_hint, web_base(base)))
}

fn try_parse_feed(
    bytes: &[u8],
    charset_hint: Option<&str>,
    base: Option<&Url>,
) -> Result<ParsedFeed, ParseError> {
    let decoded = sniff::decode(bytes, charset_hint, false)?;
    tracing::trace!(encoding = decoded.encoding, "feed decoded");
    let text = clean_chars(&decoded.text);
    let start = text.trim_start_matches(is_leading_junk);
    match start.as_bytes().first() {
        None => Err(ParseError::Empty),
        Some(b'<') => parse_xml(&text, base),
        Some(b'{' | b'[') => parse_json(start, base),
        Some(_) => Err(ParseError::PlainText),
    }
}

/// Parse whatever `wirewatch check` is given: a feed (all its items), an
/// HTML page (one item: `<title>` or first `<h1>`, visible body text,
/// canonical link or og:url or `base`) or plain text (one item: first line
/// as title, the rest as content). Broken feeds and non-feed XML or JSON
/// are errors, not text.
pub fn parse_document(
    bytes: &[u8],
    charset_hint: Option<&str>,
    base: Option<&url::Url>,
) -> Result<Vec<FeedItem>, ParseError> {
    contained(|| try_parse_document(bytes, charset_hint, web_base(base)))
}

fn try_parse_document(
    bytes: &[u8],
    charset_hint: Option<&str>,
    base: Option<&Url>,
) -> Result<Vec<FeedItem>, ParseError> {
    let decoded = sniff::decode(bytes, charset_hint, true)?;
    let text = clean_chars(&decoded.text);
    let start = text.trim_start_matches(is_leading_junk);
    match start.as_bytes().first() {
        None => Err(ParseError::Empty),
        Some(b'<') => match parse_xml(&text, base) {
            Ok(feed) => Ok(feed.items),
            Err(ParseError::HtmlPage { .. }) => Ok(vec![html_item(&text, base)]),
            Err(ParseError::MalformedXml { .. } | ParseError::Truncated(_))
                if looks_like_html(&text) =>
            {
                Ok(vec![html_item(&text, base)])
            }
            Err(e) => Err(e),
        },
        Some(b'{' | b'[') => parse_json(start, base).map(|feed| feed.items),
        Some(_) => Ok(vec![text_item(start, base)]),
    }
}

/// Only an http(s) base can make links users can open: a `file://` feed
/// resolves its relative links against its own link instead.
fn web_base(base: Option<&Url>) -> Option<&Url> {
    base.filter(|b| matches!(b.scheme(), "http" | "https"))
}

/// Last line of defence: a panic anywhere below (feed-rs, html5ever, this
/// layer) becomes an error for this one document, not a dead poller.
fn contained<T>(parse: impl FnOnce() -> Result<T, ParseError>) -> Result<T, ParseError> {
    catch_unwind(AssertUnwindSafe(parse)).unwrap_or_else(|_| {
        tracing::warn!("parser panicked; panic contained");
        Err(ParseError::Panicked)
    })
}

fn is_leading_junk(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Remove C0 controls (but tab, CR, LF) and non-characters, and turn C1
/// controls into the windows-1252 characters they stand for.
fn clean_chars(text: &str) -> Cow<'_, str> {
    fn is_dirty(c: char) -> bool {
        matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{80}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
    }
    if !text.chars().any(is_dirty) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !is_dirty(c) {
            out.push(c);
        } else if let '\u{80}'..='\u{9F}' = c {
            // encoding_rs maps the five bytes windows-1252 leaves undefined
            // to the C1 control itself: those are dropped.
            let Ok(byte) = u8::try_from(u32::from(c)) else {
                continue;
            };
            let bytes = [byte];
            let (mapped, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes);
            if mapped.chars().all(|m| m != c) {
                out.push_str(&mapped);
            }
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------

fn parse_xml(text: &str, base: Option<&Url>) -> Result<ParsedFeed, ParseError> {
    let analysis = match xml::analyse(text) {
        Ok(analysis) => analysis,
        Err(ParseError::HtmlPage { .. }) => return Err(html_page_error(text, base)),
        Err(e) => return Err(e),
    };
    tracing::trace!(root = ?analysis.kind, edits = analysis.edit_count(), "feed normalised");
    let normalised = analysis.normalised(text);
    let feed = run_feed_rs(normalised, base)?;
    Ok(convert(feed, base))
}

fn html_page_error(text: &str, base: Option<&Url>) -> ParseError {
    let page = extract_html_page(text);
    ParseError::HtmlPage {
        title: page.title,
        feed_url: page
            .feed_links
            .first()
            .and_then(|href| resolve_link(href, base)),
    }
}

/// Run feed-rs, retrying after dropping elements it rejects.
fn run_feed_rs(mut document: String, base: Option<&Url>) -> Result<model::Feed, ParseError> {
    let mut repairs = 0;
    loop {
        let error = match parse_contained(document.as_bytes(), base)? {
            Ok(feed) => return Ok(feed),
            Err(error) => error,
        };
        if repairs >= MAX_REPAIRS {
            return Err(map_feed_rs_error(error));
        }
        let fixed = match &error {
            // feed-rs fails the whole feed on an xml:base it cannot parse
            // (as "no feed root" when it sits on the root element).
            ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
                repair::strip_xml_base(&document)
            }
            ParseFeedError::XmlReader(e) if e.to_string().starts_with("Url error") => {
                repair::strip_xml_base(&document)
            }
            ParseFeedError::ParseError(kind) => repair::apply(&document, kind),
            _ => None,
        };
        match fixed {
            Some(fixed) => {
                tracing::debug!(%error, "feed-rs rejected part of the document; repaired and retrying");
                document = fixed;
                repairs += 1;
            }
            None => return Err(map_feed_rs_error(error)),
        }
    }
}

/// One feed-rs run with panics contained.
fn parse_contained(
    bytes: &[u8],
    base: Option<&Url>,
) -> Result<Result<model::Feed, ParseFeedError>, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(base.map(Url::as_str))
        // An empty id marks "the feed gave none", so that `guid` never holds
        // feed-rs's generated hash or UUID.
        .id_generator(|_, _, _| String::new())
        .build();
    catch_unwind(AssertUnwindSafe(|| parser.parse(bytes))).map_err(|_| {
        tracing::warn!("feed-rs panicked; panic contained");
        ParseError::Panicked
    })
}

fn map_feed_rs_error(error: ParseFeedError) -> ParseError {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            ParseError::InvalidFeed("feed-rs found no feed root element".to_owned())
        }
        ParseFeedError::ParseError(kind) => ParseError::InvalidFeed(kind.to_string()),
        ParseFeedError::XmlReader(e) => ParseError::XmlSyntax(e.to_string()),
        ParseFeedError::JsonSerde(e) => ParseError::NotJsonFeed(e.to_string()),
        ParseFeedError::JsonUnsupportedVersion(v) => {
            ParseError::NotJsonFeed(format!("unsupported version {v:?}"))
        }
        ParseFeedError::IoError(e) => ParseError::InvalidFeed(e.to_string()),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Repairs for the elements feed-rs 3.0 rejects outright (failing the whole
/// feed): it reports the byte just past the offending start tag.
mod repair {
    use super::xml::{Token, Tokenizer, attributes};
    use feed_rs::parser::ParseErrorKind;
    use std::ops::Range;

    /// The document with the offending element fixed, or `None` if the
    /// error is not one we can locate and repair. Every element of the same
    /// kind is fixed at once (a feed with fifty empty `<media:description/>`
    /// needs one retry, not fifty).
    pub(super) fn apply(document: &str, kind: &ParseErrorKind) -> Option<String> {
        let (position, drop_type) = match kind {
            ParseErrorKind::MissingContent { position, .. } => (*position, false),
            ParseErrorKind::UnknownMimeType { position, .. } => (*position, true),
            _ => return None,
        };
        let tag = start_tag_ending_at(document, usize::try_from(position).ok()?)?;
        let name = tag_name(document, tag.clone());
        let mut removals = Vec::new();
        if drop_type && let Some(value) = type_value(document, tag.clone()) {
            for token in Tokenizer::new(document, 0) {
                if let Token::Start { range, name: n, .. } = token.ok()?
                    && &document[n] == name
                    && let Some(attr) = attributes(document, range)
                        .into_iter()
                        .find(|a| &document[a.name.clone()] == "type")
                    && &document[attr.value.clone()] == value
                {
                    removals.push(attr.whole);
                }
            }
        } else {
            removals = empty_elements(document, name)?;
            if !removals.iter().any(|r| r.start == tag.start) {
                removals = vec![element_range(document, tag)?];
            }
        }
        Some(remove_ranges(document, removals))
    }

    /// The document without any `xml:base` attribute (`None` if it has none).
    pub(super) fn strip_xml_base(document: &str) -> Option<String> {
        let mut removals = Vec::new();
        for token in Tokenizer::new(document, 0) {
            if let Token::Start { range, .. } = token.ok()? {
                removals.extend(
                    attributes(document, range)
                        .into_iter()
                        .filter(|a| &document[a.name.clone()] == "xml:base")
                        .map(|a| a.whole),
                );
            }
        }
        if removals.is_empty() {
            return None;
        }
        Some(remove_ranges(document, removals))
    }

    /// `document` without the given (sorted, disjoint) ranges.
    fn remove_ranges(document: &str, removals: Vec<Range<usize>>) -> String {
        let mut fixed = String::with_capacity(document.len());
        let mut at = 0;
        for range in removals {
            fixed.push_str(&document[at..range.start]);
            at = range.end;
        }
        fixed.push_str(&document[at..]);
        fixed
    }

    fn tag_name(document: &str, tag: Range<usize>) -> &str {
        let rest = &document[tag.start + 1..tag.end];
        let len = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        &rest[..len]
    }

    fn type_value(document: &str, tag: Range<usize>) -> Option<&str> {
        let attrs = attributes(document, tag);
        let attr = attrs.iter().find(|a| &document[a.name.clone()] == "type")?;
        Some(&document[attr.value.clone()])
    }

    /// Every `<name/>` and `<name></name>` (whitespace inside) in document order.
    fn empty_elements(document: &str, name: &str) -> Option<Vec<Range<usize>>> {
        let mut found = Vec::new();
        let mut tokens = Tokenizer::new(document, 0).peekable();
        while let Some(token) = tokens.next() {
            let Token::Start {
                range,
                name: n,
                self_closing,
            } = token.ok()?
            else {
                continue;
            };
            if &document[n] != name {
                continue;
            }
            if self_closing {
                found.push(range);
                continue;
            }
            while let Some(Ok(Token::Text(text))) = tokens.peek() {
                if !document[text.clone()].trim().is_empty() {
                    break;
                }
                tokens.next();
            }
            if let Some(Ok(Token::End {
                range: end,
                name: closing,
            })) = tokens.peek()
                && &document[closing.clone()] == name
            {
                found.push(range.start..end.end);
                tokens.next();
            }
        }
        Some(found)
    }

    fn start_tag_ending_at(document: &str, end: usize) -> Option<Range<usize>> {
        if end > document.len()
            || !document.is_char_boundary(end)
            || !document[..end].ends_with('>')
        {
            return None;
        }
        // '<' cannot occur inside attribute values, so the last one opens the tag.
        let start = document[..end].rfind('<')?;
        let next = document.as_bytes().get(start + 1)?;
        if matches!(next, b'/' | b'!' | b'?') {
            return None;
        }
        Some(start..end)
    }

    /// The whole element whose start tag is `tag`, end tag included.
    fn element_range(document: &str, tag: Range<usize>) -> Option<Range<usize>> {
        if document[tag.clone()].ends_with("/>") {
            return Some(tag);
        }
        let mut depth = 1usize;
        for token in Tokenizer::new(document, tag.end) {
            match token.ok()? {
                Token::Start {
                    self_closing: false,
                    ..
                } => depth += 1,
                Token::End { range, .. } => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(tag.start..range.end);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// A linear, allocation-light XML scanner: enough to classify a document,
/// check its shape and rewrite a few tags, never to build a tree.
mod xml {
    use super::{MAX_DEPTH, ParseError, line_of};
    use std::ops::Range;

    /// Atom 1.0's namespace.
    const ATOM_10_NS: &str = "http://www.w3.org/2005/Atom";
    /// Atom 0.3's namespace.
    const ATOM_03_NS: &str = "http://purl.org/atom/ns#";
    /// RSS 1.0's namespace, which feed-rs also uses for RSS 0.90.
    const RSS_10_NS: &str = "http://purl.org/rss/1.0/";
    /// Namespaces RSS 0.90 documents use for their elements.
    const RSS_090_NS: &[&str] = &[
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://channel.netscape.com/rdf/simple/0.9/",
    ];
    /// Atom 0.3 element names and their Atom 1.0 equivalents.
    const ATOM_03_RENAMES: &[(&str, &str)] = &[
        ("tagline", "subtitle"),
        ("copyright", "rights"),
        ("modified", "updated"),
        ("issued", "published"),
        ("url", "uri"),
    ];
    /// Atom 0.3 elements whose `type` is a MIME type where Atom 1.0 wants
    /// text/html/xhtml.
    const ATOM_03_TEXT_CONSTRUCTS: &[&str] = &[
        "title",
        "tagline",
        "subtitle",
        "summary",
        "content",
        "copyright",
        "rights",
        "info",
    ];

    /// One lexical unit of XML; ranges index the scanned text.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Token {
        /// `<name ...>` or `<name .../>`.
        Start {
            range: Range<usize>,
            name: Range<usize>,
            self_closing: bool,
        },
        /// `</name>`.
        End {
            range: Range<usize>,
            name: Range<usize>,
        },
        /// Character data between tags.
        Text(Range<usize>),
        /// `<!-- ... -->` or `<![CDATA[ ... ]]>`.
        Opaque,
        /// `<?target ...?>`.
        Pi {
            range: Range<usize>,
            target: Range<usize>,
        },
        /// `<!DOCTYPE ...>`; `subset` is the internal subset between `[` and `]`.
        Doctype {
            name: Range<usize>,
            subset: Option<Range<usize>>,
        },
    }

    /// Why scanning stopped.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum ScanError {
        /// The input ended inside a construct.
        Truncated(&'static str),
        /// A '<' that starts nothing.
        Malformed { offset: usize, message: String },
    }

    impl ScanError {
        fn into_parse_error(self, text: &str) -> ParseError {
            match self {
                ScanError::Truncated(what) => {
                    ParseError::Truncated(format!("the document ends {what}"))
                }
                ScanError::Malformed { offset, message } => ParseError::MalformedXml {
                    offset,
                    line: line_of(text, offset),
                    message,
                },
            }
        }
    }

    /// Iterator over the tokens of `text` from a byte offset.
    pub(super) struct Tokenizer<'a> {
        text: &'a str,
        pos: usize,
        done: bool,
    }

    impl<'a> Tokenizer<'a> {
        /// Tokens of `text` starting at byte `pos` (which must start a token).
        pub(super) fn new(text: &'a str, pos: usize) -> Self {
            Tokenizer {
                text,
                pos,
                done: false,
            }
        }

        fn find_from(&self, from: usize, needle: &str) -> Option<usize> {
            self.text.get(from..)?.find(needle).map(|i| from + i)
        }

        /// End (exclusive) of a tag whose name ends at `from`: the first '>'
        /// outside quotes.
        fn tag_end(&self, from: usize) -> Option<usize> {
            let bytes = self.text.as_bytes();
            let mut quote = None;
            for (i, &b) in bytes.iter().enumerate().skip(from) {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => return Some(i + 1),
                    None => {}
                }
            }
            None
        }

        fn doctype(&self, start: usize) -> Result<(usize, Token), ScanError> {
            let bytes = self.text.as_bytes();
            let name_start = start + "<!DOCTYPE".len();
            let name_start = name_start
                + bytes[name_start..]
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
            let name_len = bytes[name_start..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'['))
                .count();
            let name = name_start..name_start + name_len;
            let mut i = name.end;
            let mut quote = None;
            let mut subset_start = None;
            let mut subset = None;
            while i < bytes.len() {
                let b = bytes[i];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None => match b {
                        b'"' | b'\'' => quote = Some(b),
                        b'[' if subset_start.is_none() => subset_start = Some(i + 1),
                        b'<' if subset_start.is_some()
                            && subset.is_none()
                            && bytes[i..].starts_with(b"<!--") =>
                        {
                            // Comments in the subset may hold quotes and brackets.
                            i = self
                                .find_from(i + 4, "-->")
                                .ok_or(ScanError::Truncated("inside a comment in the DOCTYPE"))?
                                + 3;
                            continue;
                        }
                        b']' if subset.is_none() => {
                            if let Some(s) = subset_start {
                                subset = Some(s..i);
                            }
                        }
                        b'>' if subset_start.is_none() || subset.is_some() => {
                            return Ok((i + 1, Token::Doctype { name, subset }));
                        }
                        _ => {}
                    },
                }
                i += 1;
            }
            Err(ScanError::Truncated("inside the DOCTYPE"))
        }

        fn next_token(&mut self) -> Result<Option<Token>, ScanError> {
            let text = self.text;
            let bytes = text.as_bytes();
            let start = self.pos;
            if start >= bytes.len() {
                return Ok(None);
            }
            if bytes[start] != b'<' {
                let end = self.find_from(start, "<").unwrap_or(text.len());
                self.pos = end;
                return Ok(Some(Token::Text(start..end)));
            }
            let rest = &bytes[start..];
            if rest.starts_with(b"<!--") {
                let end = self
                    .find_from(start + 4, "-->")
                    .ok_or(ScanError::Truncated("inside a comment"))?;
                self.pos = end + 3;
                return Ok(Some(Token::Opaque));
            }
            if rest.starts_with(b"<![") {
                let end = self
                    .find_from(start + 3, "]]>")
                    .ok_or(ScanError::Truncated("inside a CDATA section"))?;
                if !rest.starts_with(b"<![CDATA[") || end < start + 9 {
                    return Err(ScanError::Malformed {
                        offset: start,
                        message: "'<![' that does not start a CDATA section".to_owned(),
                    });
                }
                self.pos = end + 3;
                return Ok(Some(Token::Opaque));
            }
            if rest.len() >= 9 && rest[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
                let (end, token) = self.doctype(start)?;
                self.pos = end;
                return Ok(Some(token));
            }
            if rest.starts_with(b"<!") {
                let end = self
                    .tag_end(start + 2)
                    .ok_or(ScanError::Truncated("inside a markup declaration"))?;
                self.pos = end;
                return Ok(Some(Token::Opaque));
            }
            if rest.starts_with(b"<?") {
                let end = self
                    .find_from(start + 2, "?>")
                    .ok_or(ScanError::Truncated("inside a processing instruction"))?;
                let target_len = bytes[start + 2..end]
                    .iter()
                    .take_while(|b| !b.is_ascii_whitespace())
                    .count();
                self.pos = end + 2;
                return Ok(Some(Token::Pi {
                    range: start..end + 2,
                    target: start + 2..start + 2 + target_len,
                }));
            }
            let is_end = rest.starts_with(b"</");
            let name_start = start + if is_end { 2 } else { 1 };
            let first = bytes.get(name_start).copied();
            let name_ok = first
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80);
            if !name_ok {
                if first.is_none() {
                    return Err(ScanError::Truncated("inside a tag"));
                }
                return Err(ScanError::Malformed {
                    offset: start,
                    message: "'<' that does not start a tag (unescaped '<' in text?)".to_owned(),
                });
            }
            let name_len = bytes[name_start..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'/'))
                .count();
            let name = name_start..name_start + name_len;
            let end = self.tag_end(name.end).ok_or(if is_end {
                ScanError::Truncated("inside an end tag")
            } else {
                ScanError::Truncated("inside a start tag")
            })?;
            self.pos = end;
            if is_end {
                Ok(Some(Token::End {
                    range: start..end,
                    name,
                }))
            } else {
                let self_closing = bytes[..end].ends_with(b"/>");
                Ok(Some(Token::Start {
                    range: start..end,
                    name,
                    self_closing,
                }))
            }
        }
    }

    impl Iterator for Tokenizer<'_> {
        type Item = Result<Token, ScanError>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.done {
                return None;
            }
            match self.next_token() {
                Ok(Some(token)) => Some(Ok(token)),
                Ok(None) => {
                    self.done = true;
                    None
                }
                Err(e) => {
                    self.done = true;
                    Some(Err(e))
                }
            }
        }
    }

    /// One attribute of a start tag.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct Attribute {
        /// The qualified name.
        pub name: Range<usize>,
        /// The value without its quotes, still escaped.
        pub value: Range<usize>,
        /// From the whitespace before the name to the closing quote.
        pub whole: Range<usize>,
    }

    /// The attributes of the start tag at `tag` (malformed ones are skipped).
    pub(super) fn attributes(text: &str, tag: Range<usize>) -> Vec<Attribute> {
        let bytes = text.as_bytes();
        let mut attrs = Vec::new();
        let mut i = tag.start + 1;
        i += bytes[i..tag.end]
            .iter()
            .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'/'))
            .count();
        loop {
            let ws_start = i;
            i += bytes[i..tag.end]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            if i >= tag.end || matches!(bytes[i], b'>' | b'/') {
                return attrs;
            }
            let name_start = i;
            i += bytes[i..tag.end]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
                .count();
            let name = name_start..i;
            i += bytes[i..tag.end]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            if i >= tag.end || bytes[i] != b'=' {
                if name.is_empty() {
                    i += 1;
                }
                continue;
            }
            i += 1;
            i += bytes[i..tag.end]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let Some(&quote) = bytes.get(i).filter(|b| matches!(b, b'"' | b'\'')) else {
                continue;
            };
            let value_start = i + 1;
            let Some(len) = bytes[value_start..tag.end].iter().position(|&b| b == quote) else {
                return attrs;
            };
            i = value_start + len + 1;
            attrs.push(Attribute {
                name,
                value: value_start..value_start + len,
                whole: ws_start..i,
            });
        }
    }

    /// What kind of feed the root element announces.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(super) enum RootKind {
        Rss,
        Rdf,
        Atom,
    }

    /// The result of scanning: where the root starts and what to rewrite.
    #[derive(Debug)]
    pub(super) struct Analysis {
        /// The feed format the root announces.
        pub kind: RootKind,
        root_start: usize,
        /// Non-overlapping replacements, in document order.
        edits: Vec<(Range<usize>, String)>,
    }

    impl Analysis {
        /// How many rewrites the document needs.
        pub(super) fn edit_count(&self) -> usize {
            self.edits.len()
        }

        /// The document feed-rs gets: a UTF-8 declaration, then the root
        /// element onwards with the edits applied.
        pub(super) fn normalised(&self, text: &str) -> String {
            let mut out = String::with_capacity(text.len() - self.root_start + 64);
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let mut at = self.root_start;
            for (range, replacement) in &self.edits {
                out.push_str(&text[at..range.start]);
                out.push_str(replacement);
                at = range.end;
            }
            out.push_str(&text[at..]);
            out
        }
    }

    fn local_name(name: &str) -> &str {
        name.rsplit(':').next().unwrap_or(name)
    }

    fn prefix_of(name: &str) -> &str {
        name.rsplit_once(':').map_or("", |(prefix, _)| prefix)
    }

    /// Scan a decoded XML document: classify it, check its shape and plan
    /// the rewrites that feed-rs needs.
    pub(super) fn analyse(text: &str) -> Result<Analysis, ParseError> {
        let mut stack: Vec<Range<usize>> = Vec::new();
        let mut root: Option<(RootKind, usize)> = None;
        let mut root_closed = false;
        let mut html_doctype = false;
        let mut atom03_prefix: Option<String> = None;
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        // RSS without <channel> (items straight under <rss>, or nothing at
        // all): feed-rs finds "no feed root", so a channel is wrapped in.
        let mut rss_needs_channel: Option<usize> = None;
        let mut root_end_tag: Option<usize> = None;

        for token in Tokenizer::new(text, 0) {
            let token = token.map_err(|e| e.into_parse_error(text))?;
            match token {
                Token::Start {
                    range,
                    name,
                    self_closing,
                } => {
                    let tag_name = &text[name.clone()];
                    if root_closed {
                        return Err(malformed(
                            text,
                            range.start,
                            format!(
                                "a second root element <{tag_name}> after the first one closed"
                            ),
                        ));
                    }
                    if root.is_none() {
                        let (kind, rewritten, prefix) =
                            classify_root(text, range.clone(), tag_name, html_doctype)?;
                        root = Some((kind, range.start));
                        atom03_prefix = prefix;
                        if let Some(tag) = rewritten {
                            edits.push((range.clone(), tag));
                        }
                        if kind == RootKind::Rss && !self_closing {
                            rss_needs_channel = Some(range.end);
                        }
                        root_closed = self_closing;
                    } else if let Some(prefix) = &atom03_prefix {
                        atom03_start_edits(text, range.clone(), name.clone(), prefix, &mut edits);
                    }
                    if stack.len() == 1 && local_name(tag_name) == "channel" {
                        rss_needs_channel = None;
                    }
                    if !self_closing {
                        stack.push(name);
                        if stack.len() > MAX_DEPTH {
                            return Err(ParseError::TooDeep { limit: MAX_DEPTH });
                        }
                    }
                }
                Token::End { range, name } => {
                    let closing = &text[name.clone()];
                    match stack.pop() {
                        None => {
                            return Err(malformed(
                                text,
                                range.start,
                                format!("end tag </{closing}> without a start tag"),
                            ));
                        }
                        Some(open) if &text[open.clone()] != closing => {
                            let open = &text[open];
                            return Err(malformed(
                                text,
                                range.start,
                                format!("end tag </{closing}> where </{open}> was expected"),
                            ));
                        }
                        Some(_) => {}
                    }
                    if stack.is_empty() {
                        root_closed = true;
                        root_end_tag = Some(range.start);
                    }
                    if let Some(prefix) = &atom03_prefix {
                        atom03_rename(text, name, prefix, &mut edits);
                    }
                }
                Token::Text(range) => {
                    if stack.is_empty() {
                        if let Some(offset) = text[range.clone()]
                            .find(|c: char| !c.is_whitespace() && c != '\u{FEFF}')
                        {
                            let offset = range.start + offset;
                            let place = if root.is_some() {
                                "after the root element"
                            } else {
                                "before the root element"
                            };
                            return Err(malformed(text, offset, format!("text {place}")));
                        }
                    } else {
                        escape_bare_ampersands(text, range, &mut edits);
                    }
                }
                Token::Pi { range, target } => {
                    // Only the prolog's declaration is legal, and the prolog is
                    // replaced; one later on makes feed-rs 3.0 panic.
                    if root.is_some() && text[target].eq_ignore_ascii_case("xml") {
                        edits.push((range, String::new()));
                    }
                }
                Token::Doctype { name, subset } => {
                    if let Some(subset) = subset {
                        let subset = &text[subset];
                        // Entity declarations, or parameter-entity references
                        // (`%name;`, which pull in external DTDs).
                        let parameter_reference = subset.match_indices('%').any(|(i, _)| {
                            subset[i + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_')
                        });
                        if subset.contains("<!ENTITY") || parameter_reference {
                            return Err(ParseError::EntityDeclarations);
                        }
                    }
                    if root.is_some() {
                        return Err(malformed(
                            text,
                            name.start,
                            "DOCTYPE inside the document".to_owned(),
                        ));
                    }
                    html_doctype = text[name].eq_ignore_ascii_case("html");
                }
                Token::Opaque => {}
            }
        }

        let Some((kind, root_start)) = root else {
            if html_doctype {
                return Err(ParseError::HtmlPage {
                    title: None,
                    feed_url: None,
                });
            }
            return Err(ParseError::NoRootElement);
        };
        if let Some(innermost) = stack.last() {
            let outermost = &text[stack[0].clone()];
            let innermost = &text[innermost.clone()];
            return Err(ParseError::Truncated(format!(
                "the document ends inside <{innermost}> ({} elements still open, the outermost <{outermost}>)",
                stack.len()
            )));
        }
        if let (Some(open), Some(close)) = (rss_needs_channel, root_end_tag) {
            edits.push((open..open, "<channel>".to_owned()));
            edits.push((close..close, "</channel>".to_owned()));
        }
        // An insertion sorts before a replacement starting at the same byte.
        edits.sort_by_key(|(range, _)| (range.start, range.end));
        Ok(Analysis {
            kind,
            root_start,
            edits,
        })
    }

    fn malformed(text: &str, offset: usize, message: String) -> ParseError {
        ParseError::MalformedXml {
            offset,
            line: line_of(text, offset),
            message,
        }
    }

    /// Decide whether the root is a feed, and how to rewrite its start tag.
    /// Returns the kind, the replacement tag (if any) and, for Atom 0.3, the
    /// prefix its elements use.
    fn classify_root(
        text: &str,
        tag: Range<usize>,
        name: &str,
        html_doctype: bool,
    ) -> Result<(RootKind, Option<String>, Option<String>), ParseError> {
        let attrs = attributes(text, tag.clone());
        let self_closing = text[tag].ends_with("/>");
        let rebuild = |changes: &dyn Fn(&str, &str) -> Option<Option<String>>,
                       extra: &str,
                       close: &str| {
            let mut out = format!("<{name}");
            for attr in &attrs {
                let attr_name = &text[attr.name.clone()];
                let value = &text[attr.value.clone()];
                match changes(attr_name, value) {
                    None => out.push_str(&text[attr.whole.clone()]),
                    Some(Some(new_value)) => out.push_str(&format!(" {attr_name}=\"{new_value}\"")),
                    Some(None) => {}
                }
            }
            out.push_str(extra);
            out.push_str(close);
            out
        };
        let close = if self_closing { "/>" } else { ">" };
        match local_name(name) {
            "rss" => {
                // feed-rs knows 0.91, 0.92 and 2.0; 0.93, 0.94 and a missing
                // version are RSS 2.0 for all it matters. A default namespace
                // hides every RSS element from feed-rs.
                let has_version = attrs.iter().any(|a| &text[a.name.clone()] == "version");
                let tag = rebuild(
                    &|attr, value| match attr {
                        "version" => Some(Some(rss_version(value).to_owned())),
                        "xmlns" => Some(None),
                        _ => None,
                    },
                    if has_version { "" } else { " version=\"2.0\"" },
                    &if self_closing {
                        format!("><channel></channel></{name}>")
                    } else {
                        ">".to_owned()
                    },
                );
                Ok((RootKind::Rss, Some(tag), None))
            }
            "RDF" => {
                let tag = rebuild(
                    &|attr, value| {
                        let is_ns = attr == "xmlns" || attr.starts_with("xmlns:");
                        (is_ns && RSS_090_NS.contains(&value)).then(|| Some(RSS_10_NS.to_owned()))
                    },
                    "",
                    close,
                );
                Ok((RootKind::Rdf, Some(tag), None))
            }
            "feed" | "entry" => {
                let atom03 = attrs.iter().find_map(|a| {
                    let attr = &text[a.name.clone()];
                    let is_ns = attr == "xmlns" || attr.starts_with("xmlns:");
                    (is_ns && &text[a.value.clone()] == ATOM_03_NS)
                        .then(|| attr.strip_prefix("xmlns:").unwrap_or("").to_owned())
                });
                if atom03.is_none() {
                    return Ok((RootKind::Atom, None, None));
                }
                let tag = rebuild(
                    &|attr, value| {
                        let is_ns = attr == "xmlns" || attr.starts_with("xmlns:");
                        (is_ns && value == ATOM_03_NS).then(|| Some(ATOM_10_NS.to_owned()))
                    },
                    "",
                    close,
                );
                Ok((RootKind::Atom, Some(tag), atom03))
            }
            local => {
                if html_doctype || super::is_html_element(local) {
                    Err(ParseError::HtmlPage {
                        title: None,
                        feed_url: None,
                    })
                } else {
                    Err(ParseError::UnknownRoot {
                        name: name.to_owned(),
                    })
                }
            }
        }
    }

    fn rss_version(value: &str) -> &'static str {
        match value.trim() {
            v if v.starts_with("0.91") => "0.91",
            v if v.starts_with("0.92") => "0.92",
            _ => "2.0",
        }
    }

    /// Rename an Atom 0.3 element to its Atom 1.0 name.
    fn atom03_rename(
        text: &str,
        name: Range<usize>,
        prefix: &str,
        edits: &mut Vec<(Range<usize>, String)>,
    ) {
        let full = &text[name.clone()];
        if prefix_of(full) != prefix {
            return;
        }
        let local = local_name(full);
        if let Some((_, new)) = ATOM_03_RENAMES.iter().find(|(old, _)| *old == local) {
            let local_start = name.end - local.len();
            edits.push((local_start..name.end, (*new).to_owned()));
        }
    }

    /// Atom 0.3 start tags: rename, and turn MIME `type`s of text constructs
    /// into Atom 1.0's text/html/xhtml (unknown ones are dropped, meaning text).
    fn atom03_start_edits(
        text: &str,
        tag: Range<usize>,
        name: Range<usize>,
        prefix: &str,
        edits: &mut Vec<(Range<usize>, String)>,
    ) {
        atom03_rename(text, name.clone(), prefix, edits);
        let full = &text[name];
        if prefix_of(full) != prefix || !ATOM_03_TEXT_CONSTRUCTS.contains(&local_name(full)) {
            return;
        }
        let attrs = attributes(text, tag);
        let Some(attr) = attrs.iter().find(|a| &text[a.name.clone()] == "type") else {
            return;
        };
        let value = text[attr.value.clone()].trim().to_ascii_lowercase();
        let replacement = match value.as_str() {
            "text" | "html" | "xhtml" => return,
            "text/plain" => " type=\"text\"".to_owned(),
            "text/html" => " type=\"html\"".to_owned(),
            "application/xhtml+xml" => " type=\"xhtml\"".to_owned(),
            _ => String::new(),
        };
        edits.push((attr.whole.clone(), replacement));
    }

    /// Plan `&amp;` for every '&' in character data that starts no valid
    /// reference (a common publishing error that quick-xml rejects).
    fn escape_bare_ampersands(
        text: &str,
        range: Range<usize>,
        edits: &mut Vec<(Range<usize>, String)>,
    ) {
        let chunk = &text[range.clone()];
        for (i, _) in chunk.match_indices('&') {
            if !is_valid_reference(&chunk[i + 1..]) {
                let at = range.start + i;
                edits.push((at..at + 1, "&amp;".to_owned()));
            }
        }
    }

    /// Whether `rest` (what follows a '&') is a well-formed entity or
    /// character reference that quick-xml will accept.
    pub(super) fn is_valid_reference(rest: &str) -> bool {
        let Some(end) = rest.find(';') else {
            return false;
        };
        let body = &rest[..end];
        if let Some(number) = body.strip_prefix('#') {
            let code = match number.strip_prefix('x') {
                Some(hex)
                    if !hex.is_empty()
                        && hex.len() <= 8
                        && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    u32::from_str_radix(hex, 16).ok()
                }
                None if !number.is_empty()
                    && number.len() <= 10
                    && number.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    number.parse().ok()
                }
                _ => None,
            };
            return code.and_then(char::from_u32).is_some_and(|c| {
                matches!(c, '\t' | '\n' | '\r')
                    || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
            });
        }
        let mut chars = body.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
    }
}

// ---------------------------------------------------------------------------
// JSON Feed
// ---------------------------------------------------------------------------

fn parse_json(text: &str, base: Option<&Url>) -> Result<ParsedFeed, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => ParseError::Truncated(format!(
            "the JSON ends before it is complete (line {}, column {})",
            e.line(),
            e.column()
        )),
        _ => ParseError::MalformedJson {
            line: e.line(),
            column: e.column(),
            message: json_message(&e),
        },
    })?;
    let value = jsonfeed::normalise(value)?;
    let bytes = serde_json::to_vec(&value).map_err(|e| ParseError::NotJsonFeed(e.to_string()))?;
    let feed = parse_contained(&bytes, base)?.map_err(map_feed_rs_error)?;
    Ok(convert(feed, base))
}

/// serde_json's message without its trailing " at line L column C".
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    }
}

/// Makes a JSON value digestible for feed-rs's strict serde structs:
/// structural faults are errors, wrongly typed fields are dropped (or, for
/// ids and titles, numbers become strings), non-object items are skipped.
mod jsonfeed {
    use super::ParseError;
    use serde_json::{Map, Value};

    const ITEM_STRINGS: &[&str] = &[
        "url",
        "external_url",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
        "image",
        "banner_image",
        "language",
    ];
    const FEED_STRINGS: &[&str] = &[
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
        "next_url",
    ];

    fn kind(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Whether a version string names JSON Feed 1.x, in any of the
    /// spellings found in the wild.
    pub(super) fn is_supported_version(version: &str) -> bool {
        let v = version.trim().trim_end_matches('/');
        let v = [
            "https://jsonfeed.org/version/",
            "http://jsonfeed.org/version/",
            "https://www.jsonfeed.org/version/",
        ]
        .iter()
        .find_map(|prefix| v.strip_prefix(prefix))
        .unwrap_or(v);
        v == "1"
            || v.strip_prefix("1.")
                .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The feed with its version spelled as feed-rs wants and every field
    /// of the wrong type removed, or why it is not a JSON Feed.
    pub(super) fn normalise(value: Value) -> Result<Value, ParseError> {
        let Value::Object(mut top) = value else {
            return Err(ParseError::NotJsonFeed(format!(
                "the top level is {}, not an object",
                kind(&value)
            )));
        };
        match top.get("version") {
            None if top.contains_key("rss") => {
                return Err(ParseError::NotJsonFeed(
                    "no \"version\" field (this looks like RSS converted to JSON)".to_owned(),
                ));
            }
            None => return Err(ParseError::NotJsonFeed("no \"version\" field".to_owned())),
            Some(Value::String(v)) if is_supported_version(v) => {}
            Some(Value::String(v)) => {
                return Err(ParseError::NotJsonFeed(format!(
                    "unsupported version {v:?}"
                )));
            }
            Some(other) => {
                return Err(ParseError::NotJsonFeed(format!(
                    "\"version\" is {}, not a string",
                    kind(other)
                )));
            }
        }
        // feed-rs only accepts the https:// spelling.
        top.insert(
            "version".to_owned(),
            Value::String("https://jsonfeed.org/version/1.1".to_owned()),
        );

        let items = match top.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(ParseError::NotJsonFeed(format!(
                    "\"items\" is {}, not an array",
                    kind(&other)
                )));
            }
        };
        let title = match top.remove("title") {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        top.insert("title".to_owned(), Value::String(title));
        keep_strings(&mut top, FEED_STRINGS);
        sanitise_authors(&mut top);

        let total = items.len();
        let items: Vec<Value> = items.into_iter().filter_map(sanitise_item).collect();
        if items.len() < total {
            tracing::debug!(
                skipped = total - items.len(),
                "JSON Feed items that are not objects skipped"
            );
        }
        top.insert("items".to_owned(), Value::Array(items));
        Ok(Value::Object(top))
    }

    fn keep_strings(object: &mut Map<String, Value>, keys: &[&str]) {
        for key in keys {
            if object.get(*key).is_some_and(|v| !v.is_string()) {
                object.remove(*key);
            }
        }
    }

    fn string_or_number(object: &mut Map<String, Value>, key: &str) {
        match object.remove(key) {
            Some(Value::String(s)) => {
                object.insert(key.to_owned(), Value::String(s));
            }
            Some(Value::Number(n)) => {
                object.insert(key.to_owned(), Value::String(n.to_string()));
            }
            _ => {}
        }
    }

    fn sanitise_author(value: Value) -> Option<Value> {
        let Value::Object(mut author) = value else {
            return None;
        };
        keep_strings(&mut author, &["name", "url", "avatar"]);
        Some(Value::Object(author))
    }

    fn sanitise_authors(object: &mut Map<String, Value>) {
        if let Some(author) = object.remove("author").and_then(sanitise_author) {
            object.insert("author".to_owned(), author);
        }
        if let Some(Value::Array(authors)) = object.remove("authors") {
            let authors = authors.into_iter().filter_map(sanitise_author).collect();
            object.insert("authors".to_owned(), Value::Array(authors));
        }
    }

    fn sanitise_item(value: Value) -> Option<Value> {
        let Value::Object(mut item) = value else {
            return None;
        };
        string_or_number(&mut item, "id");
        string_or_number(&mut item, "title");
        keep_strings(&mut item, ITEM_STRINGS);
        sanitise_authors(&mut item);
        if let Some(Value::Array(tags)) = item.remove("tags") {
            let tags = tags
                .into_iter()
                .filter_map(|t| match t {
                    Value::String(s) => Some(Value::String(s)),
                    Value::Number(n) => Some(Value::String(n.to_string())),
                    _ => None,
                })
                .collect();
            item.insert("tags".to_owned(), Value::Array(tags));
        }
        if let Some(Value::Array(attachments)) = item.remove("attachments") {
            let attachments = attachments
                .into_iter()
                .filter_map(|a| {
                    let Value::Object(mut a) = a else { return None };
                    if !a.get("url").is_some_and(Value::is_string)
                        || !a.get("mime_type").is_some_and(Value::is_string)
                    {
                        return None;
                    }
                    keep_strings(&mut a, &["title"]);
                    if a.get("size_in_bytes").is_some_and(|v| !v.is_u64()) {
                        a.remove("size_in_bytes");
                    }
                    Some(Value::Object(a))
                })
                .collect();
            item.insert("attachments".to_owned(), Value::Array(attachments));
        }
        Some(Value::Object(item))
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Byte-level encoding detection and transcoding to UTF-8 (policy in the
/// module docs).
mod sniff {
    use super::ParseError;
    use encoding_rs::{Encoding, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

    /// A document transcoded to UTF-8 (BOM removed).
    #[derive(Debug)]
    pub(super) struct Decoded {
        /// The document as UTF-8.
        pub text: String,
        /// The encoding the bytes were read as.
        pub encoding: &'static str,
    }

    /// Multi-byte encodings that an ASCII-compatible sniff cannot read.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(super) enum Wide {
        Utf16Le,
        Utf16Be,
        Utf32Le,
        Utf32Be,
    }

    impl Wide {
        fn name(self) -> &'static str {
            match self {
                Wide::Utf16Le => "UTF-16LE",
                Wide::Utf16Be => "UTF-16BE",
                Wide::Utf32Le => "UTF-32LE",
                Wide::Utf32Be => "UTF-32BE",
            }
        }

        fn unit_len(self) -> usize {
            match self {
                Wide::Utf16Le | Wide::Utf16Be => 2,
                Wide::Utf32Le | Wide::Utf32Be => 4,
            }
        }

        fn unit(self, b: &[u8]) -> u32 {
            match self {
                Wide::Utf16Le => u32::from(u16::from_le_bytes([b[0], b[1]])),
                Wide::Utf16Be => u32::from(u16::from_be_bytes([b[0], b[1]])),
                Wide::Utf32Le => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                Wide::Utf32Be => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            }
        }

        fn decode(self, bytes: &[u8]) -> String {
            match self {
                Wide::Utf16Le => UTF_16LE.decode_without_bom_handling(bytes).0.into_owned(),
                Wide::Utf16Be => UTF_16BE.decode_without_bom_handling(bytes).0.into_owned(),
                Wide::Utf32Le | Wide::Utf32Be => {
                    let chunks = bytes.chunks_exact(4);
                    let partial = !chunks.remainder().is_empty();
                    let mut out: String = chunks
                        .map(|c| {
                            char::from_u32(self.unit(c)).unwrap_or(char::REPLACEMENT_CHARACTER)
                        })
                        .collect();
                    if partial {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                    out
                }
            }
        }

        /// Whether an encoding label belongs to this family.
        fn accepts_label(self, label: &str) -> bool {
            let label = label.trim().to_ascii_lowercase();
            match self {
                Wide::Utf16Le | Wide::Utf16Be => [
                    "utf-16",
                    "utf16",
                    "ucs-2",
                    "ucs2",
                    "unicode",
                    "iso-10646-ucs-2",
                ]
                .iter()
                .any(|p| label.starts_with(p)),
                Wide::Utf32Le | Wide::Utf32Be => {
                    ["utf-32", "utf32", "ucs-4", "ucs4", "iso-10646-ucs-4"]
                        .iter()
                        .any(|p| label.starts_with(p))
                }
            }
        }
    }

    enum Bom {
        Utf8,
        Wide(Wide),
    }

    fn bom(bytes: &[u8]) -> Option<(Bom, usize)> {
        // UTF-32LE's BOM starts with UTF-16LE's: test it first.
        if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) {
            Some((Bom::Wide(Wide::Utf32Le), 4))
        } else if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
            Some((Bom::Wide(Wide::Utf32Be), 4))
        } else if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            Some((Bom::Utf8, 3))
        } else if bytes.starts_with(&[0xFF, 0xFE]) {
            Some((Bom::Wide(Wide::Utf16Le), 2))
        } else if bytes.starts_with(&[0xFE, 0xFF]) {
            Some((Bom::Wide(Wide::Utf16Be), 2))
        } else {
            None
        }
    }

    /// UTF-16/32 without a BOM, recognised when the first non-blank code
    /// unit is '<' followed by a tag's first character (or '{' for JSON),
    /// each with zero high bytes; no 8-bit document looks like that.
    pub(super) fn sniff_wide(bytes: &[u8]) -> Option<Wide> {
        [Wide::Utf32Be, Wide::Utf32Le, Wide::Utf16Be, Wide::Utf16Le]
            .into_iter()
            .find(|&wide| {
                let mut units = bytes
                    .chunks_exact(wide.unit_len())
                    .take(256)
                    .map(|c| wide.unit(c));
                let first = units
                    .by_ref()
                    .find(|u| !matches!(u, 0x20 | 0x09 | 0x0A | 0x0D));
                let second = units.next();
                match (first, second) {
                    (Some(0x3C), Some(s)) => {
                        s == u32::from(b'?')
                            || s == u32::from(b'!')
                            || s == u32::from(b'_')
                            || u8::try_from(s).is_ok_and(|b| b.is_ascii_alphabetic())
                    }
                    (Some(0x7B | 0x5B), Some(s)) => s != 0 && s < 0x80,
                    _ => false,
                }
            })
    }

    /// The `encoding` of an XML declaration near the start (a comment may
    /// precede it), as written.
    pub(super) fn declared_encoding(bytes: &[u8]) -> Option<String> {
        let head = &bytes[..bytes.len().min(1024)];
        let start = head.windows(5).position(|w| w == b"<?xml")?;
        let decl = &head[start + 5..];
        if !decl.first().is_some_and(u8::is_ascii_whitespace) {
            return None;
        }
        let end = decl
            .windows(2)
            .position(|w| w == b"?>")
            .unwrap_or(decl.len());
        let decl = &decl[..end];
        let at = decl.windows(8).position(|w| w == b"encoding")? + 8;
        let rest = &decl[at..];
        let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let rest = rest.strip_prefix(b"=")?;
        let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        let (&quote, rest) = rest.split_first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let len = rest.iter().position(|&b| b == quote)?;
        Some(String::from_utf8_lossy(&rest[..len]).into_owned())
    }

    /// `charset=` in an HTML `<meta>` near the start.
    fn meta_charset(bytes: &[u8]) -> Option<String> {
        let head = bytes[..bytes.len().min(2048)].to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = head[from..].windows(5).position(|w| w == b"<meta") {
            let tag_start = from + i;
            let tag_end = head[tag_start..]
                .iter()
                .position(|&b| b == b'>')
                .map_or(head.len(), |e| tag_start + e);
            let tag = &head[tag_start..tag_end];
            if let Some(at) = tag.windows(8).position(|w| w == b"charset=") {
                let value = &tag[at + 8..];
                let value = value
                    .strip_prefix(b"\"")
                    .or_else(|| value.strip_prefix(b"'"))
                    .unwrap_or(value);
                let len = value
                    .iter()
                    .take_while(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
                    })
                    .count();
                if len > 0 {
                    return Some(String::from_utf8_lossy(&value[..len]).into_owned());
                }
            }
            from = tag_end;
        }
        None
    }

    /// The encoding a label names, if it can apply to an 8-bit document.
    /// `Ok(None)`: unknown or inapplicable, try the next source.
    fn usable(label: &str) -> Result<Option<&'static Encoding>, ParseError> {
        let trimmed = label.trim().trim_matches(|c| c == '"' || c == '\'');
        match Encoding::for_label(trimmed.as_bytes()) {
            None => {
                tracing::debug!(label = trimmed, "unknown encoding label ignored");
                Ok(None)
            }
            Some(e) if e == REPLACEMENT => Err(ParseError::UnsupportedEncoding(trimmed.to_owned())),
            // The bytes are ASCII-compatible (else `sniff_wide` had caught
            // them): a UTF-16 label is simply wrong.
            Some(e) if e == UTF_16LE || e == UTF_16BE => Ok(None),
            Some(e) => Ok(Some(e)),
        }
    }

    /// Decode `bytes` to UTF-8 text (policy in the module docs). `html`
    /// allows an HTML `<meta charset>` as the last source.
    pub(super) fn decode(
        bytes: &[u8],
        hint: Option<&str>,
        html: bool,
    ) -> Result<Decoded, ParseError> {
        match bom(bytes) {
            Some((Bom::Utf8, n)) => {
                return Ok(Decoded {
                    text: decode_utf8(&bytes[n..], true).0,
                    encoding: "UTF-8",
                });
            }
            Some((Bom::Wide(wide), n)) => {
                return Ok(Decoded {
                    text: wide.decode(&bytes[n..]),
                    encoding: wide.name(),
                });
            }
            None => {}
        }
        if let Some(wide) = sniff_wide(bytes) {
            let text = wide.decode(bytes);
            if let Some(declared) = declared_encoding(text.as_bytes())
                && !wide.accepts_label(&declared)
            {
                return Err(ParseError::EncodingMismatch {
                    detected: wide.name(),
                    declared,
                });
            }
            return Ok(Decoded {
                text,
                encoding: wide.name(),
            });
        }

        let mut encoding = match declared_encoding(bytes) {
            Some(label) => usable(&label)?,
            None => None,
        };
        if encoding.is_none()
            && let Some(hint) = hint
        {
            encoding = usable(hint)?;
        }
        if encoding.is_none()
            && html
            && let Some(label) = meta_charset(bytes)
        {
            encoding = usable(&label)?;
        }
        match encoding {
            None => {
                let (text, encoding) = decode_utf8(bytes, false);
                Ok(Decoded { text, encoding })
            }
            Some(e) if e == UTF_8 => {
                let (text, encoding) = decode_utf8(bytes, false);
                Ok(Decoded { text, encoding })
            }
            Some(e) => {
                if e.is_single_byte() && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
                    tracing::debug!(
                        declared = e.name(),
                        "declared single-byte encoding but the bytes are UTF-8; reading UTF-8"
                    );
                    return Ok(Decoded {
                        text: String::from_utf8_lossy(bytes).into_owned(),
                        encoding: "UTF-8",
                    });
                }
                Ok(Decoded {
                    text: e.decode_without_bom_handling(bytes).0.into_owned(),
                    encoding: e.name(),
                })
            }
        }
    }

    /// UTF-8 with a windows-1252 fallback: the whole document when invalid
    /// bytes dominate (and there is no BOM), else byte by byte.
    pub(super) fn decode_utf8(bytes: &[u8], has_bom: bool) -> (String, &'static str) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return (text.to_owned(), "UTF-8");
        }
        let (mut valid_non_ascii, mut invalid) = (0usize, 0usize);
        for chunk in bytes.utf8_chunks() {
            valid_non_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
            invalid += chunk.invalid().len();
        }
        if !has_bom && invalid > valid_non_ascii {
            tracing::debug!(invalid, valid_non_ascii, "not UTF-8; reading windows-1252");
            return (
                WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned(),
                "windows-1252",
            );
        }
        tracing::debug!(
            invalid,
            valid_non_ascii,
            "stray invalid UTF-8 bytes read as windows-1252"
        );
        let mut out = String::with_capacity(bytes.len() + invalid * 2);
        for chunk in bytes.utf8_chunks() {
            out.push_str(chunk.valid());
            out.push_str(&WINDOWS_1252.decode_without_bom_handling(chunk.invalid()).0);
        }
        (out, "UTF-8")
    }
}

// ---------------------------------------------------------------------------
// feed-rs model to items
// ---------------------------------------------------------------------------

fn convert(feed: model::Feed, base: Option<&Url>) -> ParsedFeed {
    let is_atom = feed.feed_type == model::FeedType::Atom;
    // Last resort for relative links: the feed's own link, itself resolved
    // against its rel="self" link when relative.
    let self_link = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"))
        .and_then(|l| Url::parse(l.href.trim()).ok());
    let own_link = pick_link(&feed.links).and_then(|href| match Url::parse(href) {
        Ok(url) => Some(url),
        Err(_) => self_link.as_ref()?.join(href).ok(),
    });
    let link_base = base.or(own_link.as_ref()).or(self_link.as_ref());
    let title = feed
        .title
        .as_ref()
        .map(|t| text_of(t, is_atom))
        .filter(|t| !t.is_empty());
    let items = feed
        .entries
        .into_iter()
        .map(|entry| convert_entry(entry, is_atom, link_base))
        .collect();
    ParsedFeed { title, items }
}

fn convert_entry(entry: model::Entry, is_atom: bool, base: Option<&Url>) -> FeedItem {
    let guid = Some(entry.id.trim().to_owned()).filter(|id| !id.is_empty());
    let mut link = pick_link(&entry.links).and_then(|href| resolve_link(href, base));
    if link.is_none() {
        // An RSS guid is a permalink unless it says otherwise, and is often
        // the only link an item has.
        link = guid
            .as_deref()
            .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
            .and_then(|g| resolve_link(g, None));
    }
    let mut summary = entry
        .summary
        .as_ref()
        .map(|t| text_of(t, is_atom))
        .unwrap_or_default();
    if summary.is_empty()
        && let Some(description) = entry.media.iter().find_map(|m| m.description.as_ref())
    {
        summary = text_of(description, is_atom);
    }
    let content = entry
        .content
        .as_ref()
        .and_then(|c| {
            let kind = c.content_type.to_string();
            let body = c.body.as_deref()?;
            let textual =
                kind.starts_with("text/") || kind.contains("html") || kind.contains("xml");
            textual.then(|| {
                if is_atom && kind.starts_with("text/plain") {
                    collapse_whitespace(body)
                } else {
                    html_to_text(body)
                }
            })
        })
        .unwrap_or_default();
    let mut categories: Vec<String> = Vec::new();
    for category in &entry.categories {
        let label = category
            .label
            .as_deref()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or(&category.term);
        let label = collapse_whitespace(label);
        if !label.is_empty() && !categories.contains(&label) {
            categories.push(label);
        }
    }
    let mut authors: Vec<String> = Vec::new();
    for person in &entry.authors {
        let name = collapse_whitespace(person.name.as_deref().unwrap_or(""));
        if !name.is_empty() && !authors.contains(&name) {
            authors.push(name);
        }
    }
    FeedItem {
        guid,
        title: entry
            .title
            .as_ref()
            .map(|t| text_of(t, is_atom))
            .unwrap_or_default(),
        link,
        published: entry.published,
        updated: entry.updated,
        summary,
        content,
        categories,
        authors,
    }
}

/// Plain text of a feed-rs text construct: Atom's `type="text"` is plain
/// text by its spec; everything else may hold markup or entities.
fn text_of(text: &model::Text, is_atom: bool) -> String {
    if is_atom && text.content_type.to_string().starts_with("text/plain") {
        collapse_whitespace(&text.content)
    } else {
        html_to_text(&text.content)
    }
}

/// The link that points at the article itself: `alternate` (or no rel)
/// first, never comments, self, edit, enclosure or hub links.
fn pick_link(links: &[model::Link]) -> Option<&str> {
    let candidates = || {
        links
            .iter()
            .filter(|l| l.target.is_none() && !l.href.trim().is_empty())
    };
    candidates()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| {
            candidates().find(|l| {
                !matches!(
                    l.rel.as_deref(),
                    Some(
                        "self"
                            | "edit"
                            | "edit-media"
                            | "enclosure"
                            | "replies"
                            | "hub"
                            | "license"
                    )
                )
            })
        })
        .map(|l| l.href.as_str())
}

/// An absolute http(s) URL for `href`, resolving a relative one against
/// `base`; `None` for other schemes, junk and absurd lengths.
fn resolve_link(href: &str, base: Option<&Url>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.len() > MAX_LINK_BYTES {
        return None;
    }
    let url = match Url::parse(href) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    (matches!(url.scheme(), "http" | "https") && url.as_str().len() <= MAX_LINK_BYTES)
        .then(|| url.into())
}

// ---------------------------------------------------------------------------
// Documents that are not feeds (for `wirewatch check`)
// ---------------------------------------------------------------------------

/// Root element names that mean an HTML page or fragment, not a feed.
fn is_html_element(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "html"
            | "head"
            | "body"
            | "div"
            | "p"
            | "span"
            | "article"
            | "section"
            | "main"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "a"
            | "b"
            | "i"
            | "em"
            | "strong"
            | "ul"
            | "ol"
            | "li"
            | "table"
            | "blockquote"
            | "pre"
            | "figure"
            | "img"
            | "br"
            | "title"
            | "meta"
            | "link"
            | "script"
            | "style"
    )
}

/// Markup that is HTML even though it is not well-formed XML.
fn looks_like_html(text: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(4096)];
    let head = head.to_ascii_lowercase();
    [&b"<!doctype html"[..], b"<html", b"<body", b"<head"]
        .iter()
        .any(|needle| head.windows(needle.len()).any(|w| w == *needle))
}

fn html_item(text: &str, base: Option<&Url>) -> FeedItem {
    let page = extract_html_page(text);
    let link = page
        .canonical
        .as_deref()
        .and_then(|href| resolve_link(href, base))
        .or_else(|| base.and_then(|b| resolve_link(b.as_str(), None)));
    let published = page.published.as_deref().and_then(parse_date);
    FeedItem {
        guid: None,
        title: page.title.or(page.first_heading).unwrap_or_default(),
        link,
        published,
        updated: None,
        summary: page.description.unwrap_or_default(),
        content: page.body_text,
        categories: Vec::new(),
        authors: Vec::new(),
    }
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn text_item(text: &str, base: Option<&Url>) -> FeedItem {
    let text = text.trim();
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    FeedItem {
        guid: None,
        title: collapse_whitespace(first),
        link: base.and_then(|b| resolve_link(b.as_str(), None)),
        published: None,
        updated: None,
        summary: String::new(),
        content: collapse_whitespace(rest),
        categories: Vec::new(),
        authors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    fn utf16be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }
    fn utf32le(s: &str) -> Vec<u8> {
        s.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect()
    }
    fn utf32be(s: &str) -> Vec<u8> {
        s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()
    }
    fn with_prefix(prefix: &[u8], body: Vec<u8>) -> Vec<u8> {
        let mut out = prefix.to_vec();
        out.extend(body);
        out
    }
    fn feed(items: &str) -> String {
        format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
    }
    fn parse(doc: &str) -> Result<ParsedFeed, ParseError> {
        parse_feed(doc.as_bytes(), None, None)
    }
    fn titles(feed: &ParsedFeed) -> Vec<&str> {
        feed.items.iter().map(|i| i.title.as_str()).collect()
    }

    /// (case, bytes, HTTP hint, encoding read as, text expected in the result)
    type SniffCase<'a> = (&'a str, Vec<u8>, Option<&'a str>, &'a str, &'a str);

    #[test]
    fn sniffing_and_transcoding() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss><t>Привет €</t></rss>";
        let xml32 = "<?xml version=\"1.0\" encoding=\"utf-32\"?><rss><t>Привет €</t></rss>";
        let cp1251 = encoding_rs::WINDOWS_1251
            .encode("<?xml version=\"1.0\" encoding=\"windows-1251\"?><t>Привет</t>")
            .0
            .into_owned();
        let big5 = encoding_rs::BIG5
            .encode("<?xml version='1.0' encoding = 'big5' ?><t>中文新聞</t>")
            .0
            .into_owned();
        let cases: Vec<SniffCase> = vec![
            (
                "utf-8 bom",
                with_prefix(&[0xEF, 0xBB, 0xBF], b"<t>caf\xC3\xA9</t>".to_vec()),
                None,
                "UTF-8",
                "<t>café</t>",
            ),
            (
                "utf-16le bom",
                with_prefix(&[0xFF, 0xFE], utf16le(xml)),
                None,
                "UTF-16LE",
                "Привет €",
            ),
            (
                "utf-16be bom",
                with_prefix(&[0xFE, 0xFF], utf16be(xml)),
                None,
                "UTF-16BE",
                "Привет €",
            ),
            (
                "utf-32le bom",
                with_prefix(&[0xFF, 0xFE, 0, 0], utf32le(xml32)),
                None,
                "UTF-32LE",
                "Привет €",
            ),
            (
                "utf-32be bom",
                with_prefix(&[0, 0, 0xFE, 0xFF], utf32be(xml32)),
                None,
                "UTF-32BE",
                "Привет €",
            ),
            (
                "utf-16le pattern",
                utf16le(xml),
                None,
                "UTF-16LE",
                "Привет €",
            ),
            (
                "utf-16be pattern",
                utf16be(xml),
                None,
                "UTF-16BE",
                "Привет €",
            ),
            (
                "utf-32le pattern",
                utf32le(xml32),
                None,
                "UTF-32LE",
                "Привет €",
            ),
            (
                "utf-32be pattern",
                utf32be(xml32),
                None,
                "UTF-32BE",
                "Привет €",
            ),
            (
                "utf-16 pattern after blank lines",
                utf16le("\n\n<rss>ü</rss>"),
                None,
                "UTF-16LE",
                "<rss>ü</rss>",
            ),
            (
                "declared windows-1251",
                cp1251.clone(),
                None,
                "windows-1251",
                "<t>Привет</t>",
            ),
            (
                "declared big5 with spaces around =",
                big5,
                None,
                "Big5",
                "中文新聞",
            ),
            (
                "declaration beats the HTTP hint",
                cp1251,
                Some("utf-8"),
                "windows-1251",
                "Привет",
            ),
            (
                "iso-8859-1 is read as windows-1252",
                b"<?xml version='1.0' encoding='ISO-8859-1'?><t>\xE9\x80</t>".to_vec(),
                None,
                "windows-1252",
                "é€",
            ),
            (
                "HTTP hint without a declaration",
                b"<t>\xE9</t>".to_vec(),
                Some("iso-8859-15"),
                "ISO-8859-15",
                "<t>é</t>",
            ),
            (
                "quoted HTTP hint",
                b"<t>\xE9</t>".to_vec(),
                Some("\"latin1\""),
                "windows-1252",
                "<t>é</t>",
            ),
            (
                "unknown declared label falls back to UTF-8",
                b"<?xml version='1.0' encoding='bogus'?><t>caf\xC3\xA9</t>".to_vec(),
                None,
                "UTF-8",
                "café",
            ),
            (
                "unknown hint is ignored",
                b"<t>caf\xC3\xA9</t>".to_vec(),
                Some("x-nonsense"),
                "UTF-8",
                "café",
            ),
            (
                "utf-16 label on 8-bit bytes is ignored",
                b"<?xml version='1.0' encoding='utf-16'?><t>caf\xC3\xA9</t>".to_vec(),
                None,
                "UTF-8",
                "café",
            ),
            (
                "invalid UTF-8 throughout is windows-1252",
                b"<t>Ana\xEFs J\xFCrgen \x93q\x94</t>".to_vec(),
                None,
                "windows-1252",
                "Anaïs Jürgen \u{201C}q\u{201D}",
            ),
            (
                "a stray byte in UTF-8 keeps the UTF-8",
                b"<t>\xC3\xA9t\xC3\xA9 \xE9t\xC3\xA9</t>".to_vec(),
                None,
                "UTF-8",
                "été été",
            ),
            (
                "UTF-8 declared as latin-1 is read as UTF-8",
                b"<?xml version='1.0' encoding='iso-8859-1'?><t>caf\xC3\xA9</t>".to_vec(),
                None,
                "UTF-8",
                "café",
            ),
            (
                "ASCII declared as latin-1 keeps the label",
                b"<?xml version='1.0' encoding='iso-8859-1'?><t>cafe</t>".to_vec(),
                None,
                "windows-1252",
                "cafe",
            ),
        ];
        let mut names: Vec<_> = cases.iter().map(|c| c.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "case names must be unique");
        for (name, bytes, hint, encoding, expected) in cases {
            let decoded =
                sniff::decode(&bytes, hint, false).unwrap_or_else(|e| panic!("case {name:?}: {e}"));
            assert_eq!(decoded.encoding, encoding, "case {name:?}");
            assert!(
                decoded.text.contains(expected),
                "case {name:?}: {:?}",
                decoded.text
            );
            assert!(
                !decoded.text.starts_with('\u{FEFF}'),
                "case {name:?}: BOM kept"
            );
        }
    }

    #[test]
    fn sniffing_refusals() {
        let mismatch = sniff::decode(
            &utf16le("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>"),
            None,
            false,
        );
        assert!(
            matches!(&mismatch, Err(ParseError::EncodingMismatch { detected: "UTF-16LE", declared }) if declared == "UTF-8"),
            "{mismatch:?}"
        );
        let replacement = sniff::decode(
            b"<?xml version='1.0' encoding='iso-2022-kr'?><rss/>",
            None,
            false,
        );
        assert_eq!(
            replacement.map(|d| d.text).unwrap_err().to_string(),
            "unsupported or invalid encoding \"iso-2022-kr\""
        );
    }

    #[test]
    fn html_meta_charset_only_for_documents() {
        let page = b"<html><head><meta charset=\"windows-1251\"></head><body>\xCF\xF0\xE8\xE2\xE5\xF2</body></html>";
        assert!(
            sniff::decode(page, None, true)
                .map(|d| d.text)
                .unwrap_or_default()
                .contains("Привет")
        );
        assert_eq!(
            sniff::decode(page, None, false).map(|d| d.encoding).ok(),
            Some("windows-1252")
        );
    }

    #[test]
    fn declared_encoding_parsing() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
                Some("ISO-8859-1"),
            ),
            (
                b"<?xml version='1.0' encoding = 'koi8-r' standalone='yes'?>",
                Some("koi8-r"),
            ),
            (
                b"<!-- c -->\n<?xml version=\"1.0\" encoding=\"big5\"?>",
                Some("big5"),
            ),
            (b"<?xml version=\"1.0\"?><rss encoding=\"x\">", None),
            (b"<?xml-stylesheet href=\"s.xsl\"?>", None),
            (b"<rss/>", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                sniff::declared_encoding(bytes).as_deref(),
                *expected,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn control_characters_are_cleaned() {
        let cases = [
            ("Before\0After", "BeforeAfter"),
            ("ab\u{8}cd\u{B}\u{C}\u{1F}", "abcd"),
            ("tab\tcr\rlf\n", "tab\tcr\rlf\n"),
            (
                "don\u{92}t \u{93}q\u{94} \u{80}5",
                "don\u{2019}t \u{201C}q\u{201D} €5",
            ),
            ("undefined \u{81}\u{8D}\u{8F}\u{90}\u{9D}c1", "undefined c1"),
            ("nonchar\u{FFFE}\u{FFFF}", "nonchar"),
            ("clean", "clean"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_chars(input), expected, "input {input:?}");
        }
        assert!(matches!(clean_chars("clean"), Cow::Borrowed(_)));
    }

    /// Documents feed-rs 3.0 rejects or empties, and what we get after
    /// normalising: (case, document, expected item titles).
    #[test]
    fn normalisations_make_feed_rs_find_the_items() {
        let cases: Vec<(&str, String, Vec<&str>)> = vec![
            ("blank lines before the declaration", format!("\n\n \t<?xml version=\"1.0\"?>{}", feed("<item><title>a</title></item>")), vec!["a"]),
            ("BOM then comment then root", format!("\u{FEFF}<!-- c -->\n{}", feed("<item><title>a</title></item>")), vec!["a"]),
            ("comment before the declaration", format!("<!-- c --><?xml version=\"1.0\"?>{}", feed("<item><title>a</title></item>")), vec!["a"]),
            (
                "rss 0.93",
                "<rss version=\"0.93\"><channel><title>T</title><item><title>a</title></item></channel></rss>".to_owned(),
                vec!["a"],
            ),
            (
                "rss 0.94",
                "<rss version=\"0.94\"><channel><title>T</title><item><title>a</title></item></channel></rss>".to_owned(),
                vec!["a"],
            ),
            ("rss without version", "<rss><channel><item><title>a</title></item></channel></rss>".to_owned(), vec!["a"]),
            (
                "rss with a default namespace",
                "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel><item><title>a</title></item></channel></rss>".to_owned(),
                vec!["a"],
            ),
            ("rss without channel", "<rss version=\"2.0\"><item><title>a</title></item><item><title>b</title></item></rss>".to_owned(), vec!["a", "b"]),
            ("empty rss", "<rss></rss>".to_owned(), vec![]),
            ("self-closing rss", "<rss/>".to_owned(), vec![]),
            (
                "rss 0.90 rdf",
                "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><channel><title>T</title></channel><item><title>a</title><link>http://e.com/a</link></item></rdf:RDF>".to_owned(),
                vec!["a"],
            ),
            (
                "external DOCTYPE is stripped, never fetched",
                format!("<?xml version=\"1.0\"?><!DOCTYPE rss PUBLIC \"-//Netscape//DTD RSS 0.91//EN\" \"http://127.0.0.1:9/rss.dtd\">{}", feed("<item><title>a</title></item>")),
                vec!["a"],
            ),
            ("bare ampersands are escaped", feed("<item><title>Q&A & more &amp; &#38; &#x26; &nbsp;end</title></item>"), vec!["Q&A & more & & & end"]),
            ("invalid character reference is kept as text", feed("<item><title>x &#0; y</title></item>"), vec!["x \u{FFFD} y"]),
            (
                "a second XML declaration inside the document",
                format!("<?xml version=\"1.0\"?>{}", feed("<item><title>a</title></item>\n<?xml version=\"1.0\" encoding=\"windows-1252\"?><item><title>b</title></item>")),
                vec!["a", "b"],
            ),
            (
                "empty media:description elements",
                feed(&"<item xmlns:media=\"http://search.yahoo.com/mrss/\"><title>m</title><media:description/><media:description>\n</media:description><media:title></media:title></item>".repeat(20)),
                vec!["m"; 20],
            ),
            ("control characters", feed("<item><title>ab\u{8}cd\0</title></item>"), vec!["abcd"]),
            ("HTML in titles becomes text", feed("<item><title>&lt;b&gt;Bold&lt;/b&gt; news</title></item>"), vec!["Bold news"]),
            (
                "atom unknown text type",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title type=\"text/plain\">a</title></entry><entry><title type=\"text/plain\">b</title></entry></feed>".to_owned(),
                vec!["a", "b"],
            ),
            (
                "atom type=text is plain text",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title>x &lt;y&gt; &amp;amp;</title></entry></feed>".to_owned(),
                vec!["x <y> &amp;"],
            ),
        ];
        for (name, doc, expected) in cases {
            let parsed = parse(&doc).unwrap_or_else(|e| panic!("case {name:?}: {e}"));
            assert_eq!(titles(&parsed), expected, "case {name:?}");
        }
    }

    #[test]
    fn atom_03_is_read_as_atom_10() {
        let doc = r#"<?xml version="1.0" encoding="utf-8"?>
            <feed version="0.3" xmlns="http://purl.org/atom/ns#">
              <title>Old feed</title>
              <tagline>Tag line</tagline>
              <modified>2004-01-01T00:00:00Z</modified>
              <entry>
                <title type="text/html" mode="escaped">&lt;b&gt;Hello&lt;/b&gt; world</title>
                <link rel="alternate" type="text/html" href="http://example.com/1"/>
                <id>tag:example.com,2004:1</id>
                <author><name>Ann</name><url>http://example.com/ann</url></author>
                <issued>2004-01-02T10:00:00Z</issued>
                <modified>2004-01-03T10:00:00Z</modified>
                <summary type="weird^type">Short</summary>
                <content type="text/plain" mode="escaped">Body text</content>
              </entry>
            </feed>"#;
        let parsed = parse(doc).expect("atom 0.3 parses");
        assert_eq!(parsed.title.as_deref(), Some("Old feed"));
        let item = &parsed.items[0];
        assert_eq!(item.title, "Hello world");
        assert_eq!(item.link.as_deref(), Some("http://example.com/1"));
        assert_eq!(item.guid.as_deref(), Some("tag:example.com,2004:1"));
        assert_eq!(item.authors, vec!["Ann".to_owned()]);
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2004-01-02T10:00:00+00:00")
        );
        assert_eq!(
            item.updated.map(|d| d.to_rfc3339()).as_deref(),
            Some("2004-01-03T10:00:00+00:00")
        );
        assert_eq!(item.summary, "Short");
        assert_eq!(item.content, "Body text");
    }

    /// JSON Feed: (case, document, expected titles).
    #[test]
    fn json_feed_versions_and_lenient_fields() {
        let item = r#"{"id": "1", "title": "a", "url": "https://e.com/a"}"#;
        let cases: Vec<(&str, String, Vec<&str>)> = vec![
            ("https 1.1", format!(r#"{{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [{item}]}}"#), vec!["a"]),
            ("http 1", format!(r#"{{"version": "http://jsonfeed.org/version/1", "title": "T", "items": [{item}]}}"#), vec!["a"]),
            ("bare 1.1", format!(r#"{{"version": "1.1", "title": "T", "items": [{item}]}}"#), vec!["a"]),
            ("trailing slash", format!(r#"{{"version": "https://jsonfeed.org/version/1/", "title": "T", "items": [{item}]}}"#), vec!["a"]),
            ("missing title and items", r#"{"version": "https://jsonfeed.org/version/1"}"#.to_owned(), vec![]),
            (
                "wrong item field types",
                r#"{"version": "1.1", "title": 5, "home_page_url": [1], "author": "x", "items": [
                    {"id": 7, "title": null, "url": 3, "tags": ["t", 2, {}], "attachments": [{"url": "u"}, 4], "content_html": "<p>x</p>"},
                    "not an item",
                    {"id": "2", "title": 2025, "date_published": "yesterday-ish"}
                ]}"#
                .to_owned(),
                vec!["", "2025"],
            ),
        ];
        for (name, doc, expected) in cases {
            let parsed = parse(&doc).unwrap_or_else(|e| panic!("case {name:?}: {e}"));
            assert_eq!(titles(&parsed), expected, "case {name:?}");
        }
        let parsed = parse(r#"{"version": "1.1", "items": [{"id": 7, "tags": ["t", 2, {}], "content_html": "<p>x</p>"}]}"#).expect("parses");
        assert_eq!(parsed.items[0].guid.as_deref(), Some("7"));
        assert_eq!(
            parsed.items[0].categories,
            vec!["t".to_owned(), "2".to_owned()]
        );
        assert_eq!(parsed.items[0].content, "x");
    }

    #[test]
    fn json_feed_version_strings() {
        let cases = [
            ("https://jsonfeed.org/version/1", true),
            ("https://jsonfeed.org/version/1.1", true),
            ("http://jsonfeed.org/version/1", true),
            ("1.1", true),
            ("1", true),
            ("https://jsonfeed.org/version/2", false),
            ("https://jsonfeed.org/version/1.x", false),
            ("2.0", false),
            ("", false),
        ];
        for (version, expected) in cases {
            assert_eq!(
                jsonfeed::is_supported_version(version),
                expected,
                "{version:?}"
            );
        }
    }

    /// Refusals: (case, document, start of the error message).
    #[test]
    fn errors_say_what_is_wrong() {
        let deep = format!("<rss><channel>{}", "<x>".repeat(MAX_DEPTH + 10));
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", b"".to_vec(), "empty document"),
            ("whitespace only", b" \n\t ".to_vec(), "empty document"),
            ("BOM only", b"\xEF\xBB\xBF".to_vec(), "empty document"),
            ("comment only", b"<!-- nothing -->\r\n".to_vec(), "no root element"),
            ("declaration only", b"<?xml version=\"1.0\"?>".to_vec(), "no root element"),
            ("html page", b"<!DOCTYPE html><html><head><title>Moved</title></head><body>x</body></html>".to_vec(), "not a feed: an HTML page (title \"Moved\")"),
            (
                "html page advertising a feed",
                b"<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"https://e.com/rss\"></head></html>".to_vec(),
                "not a feed: an HTML page; the page advertises a feed at https://e.com/rss",
            ),
            ("html fragments as roots", b"<head><title>x</title></head><body>y</body>".to_vec(), "not a feed: an HTML page"),
            ("unknown root", b"<note><to>x</to></note>".to_vec(), "not a feed: root element <note>"),
            ("opml", b"<opml version=\"2.0\"><body/></opml>".to_vec(), "not a feed: root element <opml> (an OPML"),
            ("plain text", b"Hello, world".to_vec(), "not a feed: plain text"),
            ("entity declarations", b"<!DOCTYPE rss [<!ENTITY a \"b\">]><rss>&a;</rss>".to_vec(), "document uses DTD entity declarations"),
            ("parameter entity", b"<!DOCTYPE feed [ %remote; ]><feed/>".to_vec(), "document uses DTD entity declarations"),
            ("percent in an attribute default is no entity", b"<!DOCTYPE x [<!ATTLIST x w CDATA \"100%\">]><x/>".to_vec(), "not a feed: root element <x>"),
            ("too deep", deep.into_bytes(), "elements nested more than 512 deep"),
            ("truncated in a tag", b"<rss><channel><item att=\"x".to_vec(), "truncated document: the document ends inside a start tag"),
            ("truncated in an element", b"<rss><channel><item>".to_vec(), "truncated document: the document ends inside <item>"),
            ("truncated in CDATA", b"<rss><channel><![CDATA[x".to_vec(), "truncated document: the document ends inside a CDATA section"),
            ("truncated in a comment", b"<rss><!-- x".to_vec(), "truncated document: the document ends inside a comment"),
            ("mismatched end tag", b"<rss>\n<channel></item></rss>".to_vec(), "malformed XML at byte 15 (line 2): end tag </item> where </channel> was expected"),
            ("stray <", b"<rss><channel><title>a < b</title></channel></rss>".to_vec(), "malformed XML at byte 23 (line 1): '<' that does not start a tag"),
            ("two roots", b"<rss></rss><rss></rss>".to_vec(), "malformed XML at byte 11 (line 1): a second root element"),
            ("text after the root", b"<rss></rss>junk".to_vec(), "malformed XML at byte 11 (line 1): text after the root element"),
            ("utf-16 declared utf-8", utf16le("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>"), "encoding mismatch: the bytes are UTF-16LE"),
            ("truncated JSON", b"{\"version\": \"1.1\", \"items\": [".to_vec(), "truncated document: the JSON ends"),
            ("malformed JSON", b"{\"version\": 1.1.1}".to_vec(), "malformed JSON at line 1, column"),
            ("JSON array", b"[1, 2]".to_vec(), "not a JSON Feed: the top level is an array"),
            ("JSON without version", b"{\"title\": \"x\", \"items\": []}".to_vec(), "not a JSON Feed: no \"version\" field"),
            ("RSS in JSON", b"{\"rss\": {\"channel\": {}}}".to_vec(), "not a JSON Feed: no \"version\" field (this looks like RSS"),
            ("JSON Feed 2", b"{\"version\": \"https://jsonfeed.org/version/2\", \"items\": []}".to_vec(), "not a JSON Feed: unsupported version"),
            ("items not an array", b"{\"version\": \"1\", \"items\": {}}".to_vec(), "not a JSON Feed: \"items\" is an object"),
            ("deeply nested JSON", format!("{{\"version\": \"1\", \"x\": {}}}", "[".repeat(100_000)).into_bytes(), "malformed JSON"),
        ];
        for (name, bytes, expected) in cases {
            match parse_feed(&bytes, None, None) {
                Ok(feed) => panic!(
                    "case {name:?}: expected an error, got {} items",
                    feed.items.len()
                ),
                Err(e) => assert!(e.to_string().starts_with(expected), "case {name:?}: {e}"),
            }
        }
    }

    #[test]
    fn parse_error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<ParseError>();
    }

    #[test]
    fn feed_rs_panics_are_contained() {
        // feed-rs 3.0 panics (in quick-xml's DecodingReader) on a second XML
        // declaration naming another encoding; `parse_feed` removes it, so
        // feed the raw document to the contained call directly.
        let doc = format!(
            "{}{}",
            "<rss version=\"2.0\"><channel>",
            "<?xml version=\"1.0\" encoding=\"windows-1252\"?></channel></rss>"
        );
        let padded = doc.replace("<channel>", &format!("<channel>{}", " ".repeat(20_000)));
        let result = parse_contained(padded.as_bytes(), None);
        assert!(
            matches!(result, Err(ParseError::Panicked)),
            "{:?}",
            result.map(|r| r.is_ok())
        );
        assert_eq!(
            ParseError::Panicked.to_string(),
            "parser crashed on this document"
        );
        // ... and through the public API the same document parses.
        assert!(parse(&padded).is_ok());
    }

    #[test]
    fn links_are_absolute_http_urls() {
        let base = Url::parse("https://news.example/feeds/world.xml").ok();
        let cases: &[(&str, Option<&str>)] = &[
            ("https://e.com/a", Some("https://e.com/a")),
            ("  http://e.com/a b  ", Some("http://e.com/a%20b")),
            ("/story/1", Some("https://news.example/story/1")),
            ("story/2", Some("https://news.example/feeds/story/2")),
            ("javascript:alert(1)", None),
            ("mailto:a@e.com", None),
            ("", None),
            ("http://[bad", None),
        ];
        for (href, expected) in cases {
            assert_eq!(
                resolve_link(href, base.as_ref()).as_deref(),
                *expected,
                "href {href:?}"
            );
        }
        assert_eq!(resolve_link("/story/1", None), None);
        let huge = format!("https://e.com/{}", "a".repeat(MAX_LINK_BYTES));
        assert_eq!(resolve_link(&huge, None), None);
    }

    #[test]
    fn relative_links_resolve_against_xml_base_feed_url_and_own_link() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom">
            <link href="/blog/"/><link rel="self" href="https://self.example/blog/feed.xml"/>
            <entry><title>a</title><link href="/blog/a"/></entry>
            <entry xml:base="https://base.example/dir/"><title>b</title><link href="b"/></entry>
        </feed>"#;
        let own = parse(doc).expect("parses");
        assert_eq!(
            own.items[0].link.as_deref(),
            Some("https://self.example/blog/a")
        );
        assert_eq!(
            own.items[1].link.as_deref(),
            Some("https://base.example/dir/b")
        );
        let base = Url::parse("https://fetched.example/feed").ok();
        let fetched = parse_feed(doc.as_bytes(), None, base.as_ref()).expect("parses");
        assert_eq!(
            fetched.items[0].link.as_deref(),
            Some("https://fetched.example/blog/a")
        );
        let file = Url::parse("file:///srv/feeds/feed.xml").ok();
        let local = parse_feed(doc.as_bytes(), None, file.as_ref()).expect("parses");
        assert_eq!(
            local.items[0].link.as_deref(),
            Some("https://self.example/blog/a")
        );
        assert_eq!(
            fetched.items[1].link.as_deref(),
            Some("https://base.example/dir/b")
        );
    }

    #[test]
    fn an_unparsable_xml_base_is_dropped_not_fatal() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://exa mple.com/">
            <entry xml:base="http://[bad/"><title>a</title><link href="https://e.com/a"/></entry></feed>"#;
        let parsed = parse(doc).expect("parses");
        assert_eq!(parsed.items[0].link.as_deref(), Some("https://e.com/a"));
    }

    #[test]
    fn guid_is_only_what_the_feed_gave() {
        let parsed = parse(&feed(
            "<item><title>no guid</title><link>http://e.com/1</link></item>\
             <item><title>guid</title><guid isPermaLink=\"false\">abc-1</guid></item>\
             <item><title>permalink guid</title><guid>https://e.com/2</guid></item>",
        ))
        .expect("parses");
        let guids: Vec<_> = parsed.items.iter().map(|i| i.guid.as_deref()).collect();
        assert_eq!(guids, vec![None, Some("abc-1"), Some("https://e.com/2")]);
        let links: Vec<_> = parsed.items.iter().map(|i| i.link.as_deref()).collect();
        assert_eq!(
            links,
            vec![Some("http://e.com/1"), None, Some("https://e.com/2")]
        );
    }

    #[test]
    fn item_fields_are_plain_text() {
        let parsed = parse(&feed(
            "<item xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
               <title>A &amp;amp; B</title>\
               <description>&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &lt;img alt=&quot;ALT&quot; src=&quot;x&quot;&gt;&lt;/p&gt;</description>\
               <content:encoded><![CDATA[<div><script>bad()</script><h2>Head</h2>Body&nbsp;text</div>]]></content:encoded>\
               <category>World</category><category>World</category><category> Europe </category>\
               <dc:creator>Jane  Doe</dc:creator>\
               <pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate>\
             </item>",
        ))
        .expect("parses");
        let item = &parsed.items[0];
        assert_eq!(item.title, "A & B");
        assert_eq!(item.summary, "First second");
        assert_eq!(item.content, "Head Body text");
        assert_eq!(
            item.categories,
            vec!["World".to_owned(), "Europe".to_owned()]
        );
        assert_eq!(item.authors, vec!["Jane Doe".to_owned()]);
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-01-06T10:00:00+00:00")
        );
    }

    #[test]
    fn valid_references() {
        let cases = [
            ("amp;", true),
            ("nbsp; x", true),
            ("#38;", true),
            ("#x26;", true),
            ("#x1F600;", true),
            ("#0;", false),
            ("#xD800;", false),
            ("#x110000;", false),
            ("#;", false),
            ("#x;", false),
            ("bar=2", false),
            (" x;", false),
            ("", false),
            ("9a;", false),
        ];
        for (rest, expected) in cases {
            assert_eq!(xml::is_valid_reference(rest), expected, "&{rest}");
        }
    }

    #[test]
    fn tokenizer_covers_the_constructs() {
        let doc = "<?xml version=\"1.0\"?><!DOCTYPE r [<!-- ] > --><!ELEMENT r ANY>]><r a='>' b=\"x\"><!-- c --><![CDATA[<no>]]>t&amp;<e/></r>";
        let tokens: Vec<_> = xml::Tokenizer::new(doc, 0)
            .collect::<Result<_, _>>()
            .expect("tokenizes");
        let kinds: Vec<&str> = tokens
            .iter()
            .map(|t| match t {
                xml::Token::Start {
                    self_closing: true, ..
                } => "empty",
                xml::Token::Start { .. } => "start",
                xml::Token::End { .. } => "end",
                xml::Token::Text(_) => "text",
                xml::Token::Opaque => "opaque",
                xml::Token::Pi { .. } => "pi",
                xml::Token::Doctype {
                    subset: Some(_), ..
                } => "doctype+subset",
                xml::Token::Doctype { .. } => "doctype",
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                "pi",
                "doctype+subset",
                "start",
                "opaque",
                "opaque",
                "text",
                "empty",
                "end"
            ]
        );
        let attrs = xml::attributes(
            doc,
            match &tokens[2] {
                xml::Token::Start { range, .. } => range.clone(),
                _ => 0..0,
            },
        );
        let values: Vec<&str> = attrs.iter().map(|a| &doc[a.value.clone()]).collect();
        assert_eq!(values, vec![">", "x"]);
    }

    #[test]
    fn documents_for_check() {
        let base = Url::parse("https://news.example/story").ok();
        let page = b"<!DOCTYPE html><html><head><title>Page title</title><link rel=canonical href=\"/canonical\"></head>\
                     <body><h1>Heading</h1><p>UN Security Council meets.</p><script>x()</script></body></html>";
        let items = parse_document(page, None, base.as_ref()).expect("html page");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "Page title");
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://news.example/canonical")
        );
        assert_eq!(items[0].content, "Heading UN Security Council meets.");

        let untitled = parse_document(
            b"<html><body><h1>Only heading</h1>text</body></html>",
            None,
            base.as_ref(),
        )
        .expect("html");
        assert_eq!(untitled[0].title, "Only heading");
        assert_eq!(
            untitled[0].link.as_deref(),
            Some("https://news.example/story")
        );

        let sloppy =
            parse_document(b"<html><body><p>one<br>two</body>", None, None).expect("non-XML html");
        assert_eq!(sloppy[0].content, "one two");

        let fragment =
            parse_document(b"<p>Russia &amp; Ukraine</p>", None, None).expect("fragment");
        assert_eq!(fragment[0].content, "Russia & Ukraine");

        let text = parse_document("First line\n\nSecond  line\nthird\n".as_bytes(), None, None)
            .expect("text");
        assert_eq!(
            (text[0].title.as_str(), text[0].content.as_str()),
            ("First line", "Second line third")
        );

        let feed_items = parse_document(
            feed("<item><title>a</title></item><item><title>b</title></item>").as_bytes(),
            None,
            None,
        )
        .expect("feed");
        assert_eq!(feed_items.len(), 2);

        assert!(matches!(
            parse_document(b"<rss><channel>", None, None),
            Err(ParseError::Truncated(_))
        ));
        assert!(matches!(
            parse_document(b"<note/>", None, None),
            Err(ParseError::UnknownRoot { .. })
        ));
        assert!(matches!(
            parse_document(b"  ", None, None),
            Err(ParseError::Empty)
        ));
    }
}
