//! The parse layer against the shared feed corpus (`../shared/data/feeds/`):
//! every real feed yields items (or, for a short explicit list, legitimately
//! none), non-UTF-8 text decodes to the right words, and every malformed or
//! hostile document gives its expected error or a safe partial parse within a
//! time limit, without panicking, reading files or amplifying its input.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use url::Url;
use wirewatch::feeds::parse::{FeedItem, ParseError, ParsedFeed, parse_feed};

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/feeds/real");
const MALFORMED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/feeds/malformed"
);

/// A hang fails the test instead of hanging CI.
const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Real feeds that legitimately contain no items.
const REAL_WITHOUT_ITEMS: &[(&str, &str)] = &[
    (
        "daily_mail_world_news_rss2_no_xml_decl.xml",
        "channel metadata only, no <item>",
    ),
    (
        "feedparser_big5_declared.xml",
        "encoding test: an empty <rss></rss>",
    ),
    (
        "feedparser_euc-kr_declared.xml",
        "encoding test: channel title only",
    ),
    (
        "feedparser_utf-16be_declared_no_bom.xml",
        "encoding test: an empty <rss></rss>",
    ),
    (
        "feedparser_utf-16le_bom.xml",
        "encoding test: an empty <rss></rss>",
    ),
    (
        "feedparser_utf-32be_autodetect_no_bom.xml",
        "encoding test: an empty <rss></rss>",
    ),
    (
        "feedparser_utf-32le_bom.xml",
        "encoding test: an empty <rss></rss>",
    ),
    (
        "feedparser_utf-8_bom.xml",
        "encoding test: an empty <rss></rss>",
    ),
    ("rss2_utf8_bom_minimal.xml", "BOM test: channel title only"),
    (
        "windows-1252_declared_rss2_euro_sign.xml",
        "encoding test: channel title only",
    ),
];

/// Real feeds whose items legitimately have neither title nor link: (file,
/// item count, reason). Checked for their exact item count instead.
const REAL_ITEMS_WITHOUT_TITLE_OR_LINK: &[(&str, usize, &str)] = &[
    (
        "atom10_incomplete_fields.xml",
        1,
        "parser test: one entry holding only an empty <author>",
    ),
    (
        "atom10_missing_fields.xml",
        1,
        "parser test: one entry holding only an <id>",
    ),
    (
        "feedparser_windows-1252_smart_quotes.xml",
        1,
        "encoding test: one item holding only a <description>",
    ),
    (
        "jsonfeed_1.1_authors_vs_legacy_author.json",
        4,
        "author-inheritance test: items carry only ids and authors",
    ),
    (
        "rss092_full_sample.xml",
        22,
        "RSS 0.92 sample: items are descriptions only (title and link are optional)",
    ),
    (
        "rss092_spec_example.xml",
        3,
        "RSS 0.92 spec example: items are descriptions only",
    ),
];

fn corpus_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus directory {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.file_name().is_some_and(|name| name != "SOURCES.md"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parse in a thread so that a hang or a panic fails this test with the
/// file's name rather than hanging or aborting the run.
fn parse_bytes_with_limit(
    name: &str,
    bytes: Vec<u8>,
    base: Option<Url>,
) -> Result<ParsedFeed, ParseError> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("parse {name}"))
        .spawn(move || {
            // A send error only means the test already gave up on us.
            let _ = sender.send(parse_feed(&bytes, None, base.as_ref()));
        })
        .expect("spawn parser thread");
    match receiver.recv_timeout(TIME_LIMIT) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: parse did not finish within {TIME_LIMIT:?}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: parse panicked"),
    }
}

fn parse_file(path: &Path) -> Result<ParsedFeed, ParseError> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_bytes_with_limit(&file_name(path), bytes, None)
}

fn real(name: &str) -> ParsedFeed {
    parse_file(&Path::new(REAL).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn all_text(item: &FeedItem) -> String {
    format!("{} | {} | {}", item.title, item.summary, item.content)
}

/// Every string a parse produced, for the "no amplification" and "no file
/// contents" checks.
fn produced_strings(feed: &ParsedFeed) -> Vec<&str> {
    let mut out: Vec<&str> = feed.title.iter().map(String::as_str).collect();
    for item in &feed.items {
        out.extend([
            item.title.as_str(),
            item.summary.as_str(),
            item.content.as_str(),
        ]);
        out.extend(item.guid.as_deref());
        out.extend(item.link.as_deref());
        out.extend(item.categories.iter().map(String::as_str));
        out.extend(item.authors.iter().map(String::as_str));
    }
    out
}

#[test]
fn every_real_feed_parses_and_yields_items_unless_listed() {
    let files = corpus_files(REAL);
    assert_eq!(files.len(), 100, "the real corpus should hold 100 feeds");
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    let listed = REAL_WITHOUT_ITEMS
        .iter()
        .map(|(n, _)| *n)
        .chain(REAL_ITEMS_WITHOUT_TITLE_OR_LINK.iter().map(|(n, _, _)| *n));
    for listed in listed {
        assert!(
            names.iter().any(|n| n == listed),
            "listed file {listed} is not in the corpus"
        );
    }

    let mut with_items = 0;
    for path in &files {
        let name = file_name(path);
        let feed = parse_file(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some((_, reason)) = REAL_WITHOUT_ITEMS.iter().find(|(n, _)| *n == name) {
            assert!(
                feed.items.is_empty(),
                "{name} is listed as having no items ({reason}) but gave {}",
                feed.items.len()
            );
            continue;
        }
        assert!(!feed.items.is_empty(), "{name}: no items");
        with_items += 1;
        if let Some((_, count, reason)) = REAL_ITEMS_WITHOUT_TITLE_OR_LINK
            .iter()
            .find(|(n, _, _)| *n == name)
        {
            assert_eq!(feed.items.len(), *count, "{name} ({reason})");
            continue;
        }
        assert!(
            feed.items
                .iter()
                .any(|i| !i.title.is_empty() || i.link.is_some()),
            "{name}: no item has a title or a link"
        );
    }
    assert_eq!(with_items, 90);
}

/// (file, where to look, a real word that must appear decoded).
const DECODED_WORDS: &[(&str, &str, &str)] = &[
    ("ibash_org_ru_rss2_windows-1251.xml", "first item", "Цитата"),
    (
        "oren_ru_rss2_windows-1251_default_namespace.xml",
        "first item",
        "В Бузулуке главные стройплощадки",
    ),
    (
        "koi8-r_declared_rss2_small.xml",
        "first item",
        "Первая новость",
    ),
    ("kc0011_rss2_gb2312.xml", "first item", "建国35周年纪念"),
    ("feedparser_euc-kr_declared.xml", "feed title", "년"),
    (
        "dicas_l_rss091_iso8859-1.xml",
        "first item",
        "Expansão de Parâmetros",
    ),
    (
        "jn_portugal_rss2_iso8859-1_feedburner.xml",
        "first item",
        "Mãe de utente",
    ),
    (
        "retriever_intranet30_rss2_iso8859-1.xml",
        "first item",
        "SVART MÅNAD",
    ),
    ("golem_de_rss2_iso8859-1.xml", "feed title", "Golem.de"),
    ("rss1_rdf_iso8859-1.xml", "first item", "Glasfaserförderung"),
    (
        "windows-1252_declared_rss2_euro_sign.xml",
        "feed title",
        "Euro €",
    ),
    (
        "feedparser_windows-1252_smart_quotes.xml",
        "first item",
        "don\u{2019}t",
    ),
    (
        "moscow_times_rss2_utf8_bom.xml",
        "first item",
        "\u{2018}Democracy\u{2019}",
    ),
    ("bbc_urdu_rss2_rtl.xml", "first item", "امریکی"),
    ("aktuality_sk_rss2_dc.xml", "first item", "zvýšili"),
    (
        "heise_newsticker_rss090_netscape_rdf.xml",
        "first item",
        "Vorsichtsmaßnahmen",
    ),
];

#[test]
fn non_utf8_feeds_decode_to_the_right_words() {
    for (name, place, word) in DECODED_WORDS {
        let feed = real(name);
        let haystack = match *place {
            "feed title" => feed.title.clone().unwrap_or_default(),
            _ => feed.items.first().map(all_text).unwrap_or_default(),
        };
        assert!(
            haystack.contains(word),
            "{name}: {word:?} not in the {place}: {haystack:?}"
        );
    }
}

/// The corpus's UTF-16/32 files hold no text, so re-encode a Cyrillic feed
/// into each wide form (with and without BOM) and check it parses to the
/// same items as the original.
#[test]
fn wide_encodings_decode_a_real_feed() {
    let original_bytes =
        std::fs::read(Path::new(REAL).join("ibash_org_ru_rss2_windows-1251.xml")).expect("read");
    let original = real("ibash_org_ru_rss2_windows-1251.xml");
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&original_bytes);
    /// (case, declared label, BOM, encoder)
    type WideCase = (
        &'static str,
        &'static str,
        &'static [u8],
        fn(&str) -> Vec<u8>,
    );
    let cases: [WideCase; 6] = [
        ("utf-16le with BOM", "UTF-16", &[0xFF, 0xFE], |s| {
            s.encode_utf16().flat_map(u16::to_le_bytes).collect()
        }),
        ("utf-16be with BOM", "UTF-16", &[0xFE, 0xFF], |s| {
            s.encode_utf16().flat_map(u16::to_be_bytes).collect()
        }),
        ("utf-16le without BOM", "UTF-16LE", &[], |s| {
            s.encode_utf16().flat_map(u16::to_le_bytes).collect()
        }),
        ("utf-16be without BOM", "UTF-16BE", &[], |s| {
            s.encode_utf16().flat_map(u16::to_be_bytes).collect()
        }),
        ("utf-32le with BOM", "UTF-32", &[0xFF, 0xFE, 0, 0], |s| {
            s.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect()
        }),
        ("utf-32be without BOM", "UTF-32", &[], |s| {
            s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()
        }),
    ];
    for (name, label, bom, encode) in cases {
        let relabelled = text.replacen(
            "encoding=\"windows-1251\"",
            &format!("encoding=\"{label}\""),
            1,
        );
        assert_ne!(relabelled, text, "declaration not found");
        let mut bytes = bom.to_vec();
        bytes.extend(encode(&relabelled));
        let feed =
            parse_bytes_with_limit(name, bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(feed, original, "{name}");
        assert!(feed.items[0].title.contains("Цитата"), "{name}");
    }
}

#[test]
fn big5_text_decodes() {
    // The corpus's Big5 file has no text; build one with a Big5 declaration.
    let doc = "<?xml version=\"1.0\" encoding=\"big5\"?><rss><channel><title>新聞</title>\
               <item><title>聯合國安理會開會</title></item></channel></rss>";
    let (bytes, _, unmappable) = encoding_rs::BIG5.encode(doc);
    assert!(!unmappable);
    let feed = parse_bytes_with_limit("big5", bytes.into_owned(), None).expect("big5 parses");
    assert_eq!(feed.title.as_deref(), Some("新聞"));
    assert_eq!(feed.items[0].title, "聯合國安理會開會");
}

#[test]
fn feeds_feed_rs_rejects_or_empties_now_give_their_items() {
    // Per DESIGN.md §6: RSS 0.93/0.94 roots, JSON Feed version strings, an
    // empty <media:description/> (NYT), Atom 0.3, RSS 0.90 and a default
    // namespace on <rss>.
    let cases = [
        ("rss093_example.xml", 2),
        ("rss094_example.xml", 2),
        ("pxlnv_jsonfeed_1.0.json", 20),
        ("jsonfeed_1.1_minimal_gofeed.json", 1),
        ("nytimes_homepage_rss2_dc_media.xml", 33),
        ("atom03_example.xml", 2),
        ("atom03_dc_sy_example.xml", 2),
        ("rss090_netscape_rdf_example.xml", 2),
        ("heise_newsticker_rss090_netscape_rdf.xml", 60),
        ("oren_ru_rss2_windows-1251_default_namespace.xml", 10),
    ];
    for (name, count) in cases {
        assert_eq!(real(name).items.len(), count, "{name}");
    }
    let atom03 = real("atom03_example.xml");
    assert_eq!(atom03.items[0].title, "atom_0.3.feed.entry[0].title");
    assert!(
        atom03.items[0].published.is_some(),
        "atom 0.3 <issued> becomes published"
    );
}

#[test]
fn relative_links_resolve() {
    // Against the feed's own rel="self" link when no feed URL is known...
    let feed = real("atom10_relative_links.xml");
    assert_eq!(
        feed.items[0].link.as_deref(),
        Some("https://example.com/blog/2003/12/13/atom03")
    );
    // ... against the URL it was fetched from when known ...
    let base = Url::parse("https://mirror.example/feeds/a.xml").ok();
    let bytes = std::fs::read(Path::new(REAL).join("atom10_relative_links.xml")).expect("read");
    let fetched = parse_bytes_with_limit("atom10_relative_links.xml", bytes, base).expect("parses");
    assert_eq!(
        fetched.items[0].link.as_deref(),
        Some("https://mirror.example/blog/2003/12/13/atom03")
    );
    // ... and xml:base wins.
    assert_eq!(
        real("atom10_xml_base.xml").items[0].link.as_deref(),
        Some("https://numi.st/post/2022/travel-uke")
    );
    for item in &real("rss2_relative_urls_3.xml").items {
        let link = item.link.as_deref().unwrap_or_default();
        assert!(
            link.starts_with("http://") || link.starts_with("https://"),
            "{link:?}"
        );
    }
}

/// What a malformed document must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// An error whose message starts with this.
    Error(&'static str),
    /// A safe partial parse with exactly this many items.
    Items(usize),
}
use Expect::{Error, Items};

/// One row per file of `malformed/` (its SOURCES.md says what is wrong).
const MALFORMED_EXPECTATIONS: &[(&str, Expect)] = &[
    (
        "authored_billion_laughs_rss2.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "authored_deep_nesting_50000_rss2.xml",
        Error("elements nested more than 512 deep"),
    ),
    ("authored_huge_attribute_1MiB_atom10.xml", Items(1)),
    ("authored_jsonfeed_bad_item_fields.json", Items(3)),
    (
        "authored_jsonfeed_wrong_types.json",
        Error("not a JSON Feed: \"items\" is an object, not an array"),
    ),
    ("authored_nul_byte_in_title_rss2.xml", Items(1)),
    (
        "authored_utf16le_bytes_declared_utf8_no_bom.xml",
        Error(
            "encoding mismatch: the bytes are UTF-16LE but the document declares encoding \"UTF-8\"",
        ),
    ),
    (
        "authored_xxe_local_file_entity_rss2.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "authored_xxe_parameter_entity_remote_dtd_atom10.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "defusedxml_cyclic_entities.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "defusedxml_entity_expansion_small.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "defusedxml_external_dtd_reference.xml",
        Error("not a feed: an HTML page"),
    ),
    (
        "defusedxml_quadratic_blowup.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "defusedxml_xxe_external_file_entity.xml",
        Error("document uses DTD entity declarations"),
    ),
    (
        "defusedxml_xxe_external_http_entity.xml",
        Error("document uses DTD entity declarations"),
    ),
    ("empty_file.xml", Error("empty document")),
    ("encoding_declared_invalid.xml", Items(1)),
    ("feedparser_bogus_encoding_name.xml", Items(0)),
    ("feedparser_bogus_xhtml_doctype.xml", Items(0)),
    (
        "feedparser_comment_only_document.xml",
        Error("no root element"),
    ),
    ("feedparser_double_encoded_html_entities.xml", Items(1)),
    ("feedparser_encoding_mismatch_crash.xml", Items(1)),
    ("feedparser_iso8859-7_high_bit_date.xml", Items(0)),
    ("feedparser_koi8-r_undeclared.xml", Items(1)),
    ("feedparser_linenoise_mojibake.xml", Items(1)),
    ("feedparser_shift_jis_undeclared.xml", Items(1)),
    (
        "feedparser_truncated_in_cdata.xml",
        Error("truncated document: the document ends inside a CDATA section"),
    ),
    (
        "feedparser_unclosed_root_tag.xml",
        Error("truncated document: the document ends inside an end tag"),
    ),
    ("feedparser_undeclared_namespace_prefix.xml", Items(0)),
    (
        "feedparser_utf8_bom_invalid_bytes.xml",
        Error("truncated document"),
    ),
    (
        "gofeed_truncated_json.json",
        Error("truncated document: the JSON ends before it is complete"),
    ),
    ("gofeed_whitespace_before_xml_decl.xml", Items(0)),
    (
        "latin1_bytes_declared_utf8.xml",
        Error("not a feed: root element <note>"),
    ),
    ("le_cercle_psy_no_xml_decl_undeclared_latin1.xml", Items(10)),
    (
        "marketwatch_document_moved_html_two_roots.xml",
        Error("not a feed: an HTML page (title \"Document Moved\")"),
    ),
    (
        "not_a_feed_html_page.html",
        Error("not a feed: an HTML page"),
    ),
    ("nws_alerts_atom10_blank_line_before_xml_decl.xml", Items(1)),
    ("pcmag_rss2_illegally_nested.xml", Items(10)),
    (
        "reuters_most_read_rss2_invalid.xml",
        Error("truncated document: the document ends inside <channel>"),
    ),
    ("rss2_illegal_control_char.xml", Items(1)),
    (
        "rss2_invalid_date_format_missing_rss_close_tag.xml",
        Error("truncated document: the document ends inside <rss>"),
    ),
    ("rss2_unescaped_ampersand.xml", Items(3)),
    (
        "scripting_news_rss_in_json_not_jsonfeed.json",
        Error("not a JSON Feed: no \"version\" field"),
    ),
    (
        "stackoverflow_atom10_bom_illegal_control_chars.xml",
        Items(1),
    ),
    (
        "truncated_daringfireball_jsonfeed_at_4KiB.json",
        Error("truncated document: the JSON ends before it is complete"),
    ),
    (
        "truncated_guardian_us_rss2_at_64KiB.xml",
        Error("truncated document"),
    ),
    (
        "typepad_news_atom10_blank_line_before_xml_decl.xml",
        Items(10),
    ),
    (
        "unknown_root_element.xml",
        Error("not a feed: root element <note>"),
    ),
    ("uol_noticias_no_xml_decl_undeclared_latin1.xml", Items(15)),
    ("utf8_bytes_declared_iso8859-1.xml", Items(1)),
    ("utf8_bytes_declared_windows-1252.xml", Items(0)),
];

#[test]
fn every_malformed_document_gives_its_expected_error_or_partial_parse() {
    let files = corpus_files(MALFORMED);
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    let listed: Vec<&str> = MALFORMED_EXPECTATIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, listed,
        "the table must list every malformed file, in order, once"
    );

    for (path, (name, expect)) in files.iter().zip(MALFORMED_EXPECTATIONS) {
        let input_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        match (parse_file(path), expect) {
            (Err(e), Error(prefix)) => assert!(
                e.to_string().starts_with(prefix),
                "{name}: got error {e:?}: {e}"
            ),
            (Ok(feed), Items(count)) => {
                assert_eq!(feed.items.len(), *count, "{name}");
                // Output is bounded by the input: nothing was expanded.
                let produced: usize = produced_strings(&feed).iter().map(|s| s.len()).sum();
                assert!(
                    produced as u64 <= 2 * input_len + 1024,
                    "{name}: {produced} bytes out of {input_len} in"
                );
            }
            (Ok(feed), Error(prefix)) => panic!(
                "{name}: expected an error {prefix:?}, got {} items",
                feed.items.len()
            ),
            (Err(e), Items(count)) => panic!("{name}: expected {count} items, got error: {e}"),
        }
    }
}

#[test]
fn malformed_partial_parses_keep_the_right_text() {
    let malformed = |name: &str| {
        parse_file(&Path::new(MALFORMED).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    // Control characters are dropped, the rest of the title kept.
    assert_eq!(
        malformed("authored_nul_byte_in_title_rss2.xml").items[0].title,
        "BeforeAfter"
    );
    assert_eq!(
        malformed("rss2_illegal_control_char.xml").items[0].title,
        "abcd"
    );
    // The 1 MiB href is dropped rather than passed on.
    let huge = malformed("authored_huge_attribute_1MiB_atom10.xml");
    assert_eq!(huge.items[0].link, None);
    assert_eq!(huge.items[0].title, "Entry with a 1 MiB href attribute");
    // JSON Feed fields of the wrong type are skipped, not fatal.
    let json = malformed("authored_jsonfeed_bad_item_fields.json");
    let ids: Vec<Option<&str>> = json.items.iter().map(|i| i.guid.as_deref()).collect();
    assert_eq!(ids, vec![Some("1"), None, Some("3")]);
    assert_eq!(json.items[0].content, "id is a number");
    assert_eq!(json.items[0].published, None);
    // A bare '&' is escaped instead of failing the feed.
    let amp = malformed("rss2_unescaped_ampersand.xml");
    assert_eq!(
        amp.items[1].link.as_deref(),
        Some("http://example.com/bad?foo=1&bar=2")
    );
    // The external DTD is stripped (never fetched) and the feed read.
    assert_eq!(
        malformed("feedparser_bogus_xhtml_doctype.xml")
            .title
            .as_deref(),
        Some("found")
    );
    // Undeclared ISO-8859-1 is recognised from its invalid UTF-8.
    let uol = malformed("uol_noticias_no_xml_decl_undeclared_latin1.xml");
    assert!(
        uol.items.iter().any(|i| all_text(i).contains("ção")),
        "no Portuguese accents decoded"
    );
    // UTF-8 bytes under a wrong single-byte declaration are read as UTF-8.
    assert_eq!(
        malformed("utf8_bytes_declared_iso8859-1.xml").items[0].title,
        "Café"
    );
    assert_eq!(
        malformed("utf8_bytes_declared_windows-1252.xml")
            .title
            .as_deref(),
        Some("Euro €")
    );
    // HTML entities undefined in XML are decoded leniently.
    assert!(
        all_text(&malformed("feedparser_double_encoded_html_entities.xml").items[0]).contains('â')
    );
}

#[test]
fn external_entities_never_read_files() {
    for name in [
        "authored_xxe_local_file_entity_rss2.xml",
        "defusedxml_xxe_external_file_entity.xml",
        "authored_xxe_parameter_entity_remote_dtd_atom10.xml",
    ] {
        let result = parse_file(&Path::new(MALFORMED).join(name));
        let text = match &result {
            Ok(feed) => produced_strings(feed).join("\n"),
            Err(e) => e.to_string(),
        };
        assert!(!text.contains("root:"), "{name} leaked /etc/passwd: {text}");
        assert!(
            matches!(result, Err(ParseError::EntityDeclarations)),
            "{name}: {result:?}"
        );
    }
}

/// Hostile shapes beyond the corpus, built at run time: each must finish in
/// time with an error or output no larger than its input.
#[test]
fn generated_hostile_documents_are_bounded() {
    let rss = |body: &str| {
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title>{body}</item></channel></rss>"
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "entity references without a DTD",
            rss(&format!(
                "<description>{}</description>",
                "&lol9;".repeat(100_000)
            )),
        ),
        (
            "deep escaped HTML in a description",
            rss(&format!(
                "<description>{}</description>",
                "&lt;div&gt;".repeat(50_000)
            )),
        ),
        (
            "deep HTML in CDATA",
            rss(&format!(
                "<description><![CDATA[{}x]]></description>",
                "<ul><li>".repeat(30_000)
            )),
        ),
        (
            "reopened formatting elements",
            rss(&format!(
                "<description><![CDATA[<p>{}</p>{}]]></description>",
                (0..3_000)
                    .map(|i| format!("<b id={i}>"))
                    .collect::<String>(),
                "<p>x</p>".repeat(30_000)
            )),
        ),
        (
            "many attributes",
            rss(&format!(
                "<link {}>http://e.com/</link>",
                (0..50_000)
                    .map(|i| format!("a{i}=\"\" "))
                    .collect::<String>()
            )),
        ),
        (
            "huge text",
            rss(&format!(
                "<description>{}</description>",
                "word ".repeat(400_000)
            )),
        ),
        (
            "deep JSON",
            format!("{{\"version\": \"1.1\", \"items\": {}", "[".repeat(200_000)),
        ),
        (
            "many items",
            format!(
                "<rss><channel>{}</channel></rss>",
                "<item><title>t</title></item>".repeat(50_000)
            ),
        ),
    ];
    for (name, doc) in cases {
        let input_len = doc.len();
        match parse_bytes_with_limit(name, doc.into_bytes(), None) {
            Ok(feed) => {
                let produced: usize = produced_strings(&feed).iter().map(|s| s.len()).sum();
                assert!(
                    produced <= 2 * input_len + 1024,
                    "{name}: {produced} bytes out of {input_len} in"
                );
            }
            Err(e) => assert!(!matches!(e, ParseError::Panicked), "{name}: {e}"),
        }
    }
}
