//! OPML in and out: the feed list as other feed readers exchange it.
//!
//! [`parse_opml`] reads OPML 1.0/2.0 (outlines nested in folders, at any
//! depth) into entries with their folder path and line; [`plan_import`]
//! decides, entry by entry, what is imported, what is a duplicate and what
//! is invalid and why; the store then adds the accepted feeds in one
//! transaction ([`crate::store::Store::import_feeds`]). [`write_opml`]
//! writes OPML 2.0 with the folders rebuilt. Parsing and planning are pure.

use std::{collections::HashMap, fmt::Write, path::Path};

use chrono::{DateTime, Utc};
use quick_xml::{
    XmlVersion,
    escape::escape,
    events::{BytesStart, Event},
    reader::Reader,
};

use crate::{
    feeds::fetch::{Trust, check_feed_url},
    store::{ExportedFeed, ImportResult, ImportedFeed, Store, StoreError},
};

/// Why an OPML document was refused as a whole (nothing is imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    /// Not well-formed XML.
    #[error("malformed XML at line {line}: {message}")]
    Malformed {
        /// 1-based line of the fault.
        line: usize,
        /// What the XML parser said.
        message: String,
    },
    /// Well-formed, but not OPML.
    #[error("not an OPML document: {0}")]
    NotOpml(String),
    /// Not UTF-8 text.
    #[error("not UTF-8 text: {0}")]
    Encoding(String),
}

/// One `<outline>` that is, or should be, a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlEntry {
    /// 1-based line of the outline.
    pub line: usize,
    /// `title`, else `text`.
    pub title: Option<String>,
    /// `xmlUrl`, as written.
    pub xml_url: Option<String>,
    /// The titles of the folders it sits in, outermost first.
    pub folders: Vec<String>,
}

/// An entry that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line of the outline.
    pub line: usize,
    /// Its title or URL, for the report.
    pub label: String,
    /// Why, in plain words.
    pub reason: String,
}

/// What an import will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPlan {
    /// Feeds to add (duplicates of stored feeds are found by the store).
    pub feeds: Vec<ImportedFeed>,
    /// Lines of `feeds`, in the same order.
    pub lines: Vec<usize>,
    /// Entries that repeat an earlier entry of the file.
    pub duplicates: Vec<Skipped>,
    /// Entries that are not usable feeds.
    pub invalid: Vec<Skipped>,
}

/// Reads an OPML document into its feed entries.
pub fn parse_opml(bytes: &[u8]) -> Result<Vec<OpmlEntry>, OpmlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| OpmlError::Encoding(e.to_string()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line_at = |pos: u64| {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
        text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let mut reader = Reader::from_str(text);
    let mut entries = Vec::new();
    // Open elements: Some(title) for an open <outline>, None for others.
    let mut open: Vec<Option<String>> = Vec::new();
    let mut root_seen = false;
    let mut in_body = false;
    let mut body_seen = false;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OpmlError::Malformed {
            line: line_at(reader.error_position()),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let name: &str = local.as_ref();
                let name = name.to_owned();
                if !root_seen {
                    root_seen = true;
                    if name != "opml" {
                        return Err(OpmlError::NotOpml(format!(
                            "the root element is <{name}>, not <opml>"
                        )));
                    }
                }
                if name == "body" && open.len() == 1 {
                    in_body = !empty;
                    body_seen = true;
                }
                let mut title = None;
                if name == "outline" && in_body {
                    let entry = outline(e, line_at(pos + 1), &open)?;
                    title = entry.title.clone();
                    let is_folder = entry.xml_url.is_none() && !empty;
                    if !is_folder {
                        entries.push(entry);
                    }
                }
                if !empty {
                    open.push(title.or_else(|| (name == "outline").then(String::new)));
                }
            }
            Event::End(e) => {
                open.pop();
                let local = e.local_name();
                let name: &str = local.as_ref();
                if name == "body" {
                    in_body = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(OpmlError::NotOpml("the document is empty".to_owned()));
    }
    if !open.is_empty() {
        return Err(OpmlError::Malformed {
            line: line_at(text.len() as u64),
            message: format!(
                "the document ends with {} element(s) still open (cut short?)",
                open.len()
            ),
        });
    }
    if !body_seen {
        return Err(OpmlError::NotOpml("it has no <body>".to_owned()));
    }
    Ok(entries)
}

fn outline(
    e: &BytesStart<'_>,
    line: usize,
    open: &[Option<String>],
) -> Result<OpmlEntry, OpmlError> {
    let mut attrs: HashMap<String, String> = HashMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| OpmlError::Malformed {
            line,
            message: err.to_string(),
        })?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| OpmlError::Malformed {
                line,
                message: err.to_string(),
            })?;
        let local = attr.key.local_name();
        let key: &str = local.as_ref();
        let key = key.to_owned();
        attrs.insert(key, value.trim().to_owned());
    }
    let pick = |key: &str| attrs.get(key).filter(|v| !v.is_empty()).cloned();
    Ok(OpmlEntry {
        line,
        title: pick("title").or_else(|| pick("text")),
        xml_url: attrs.get("xmlUrl").or_else(|| attrs.get("xmlurl")).cloned(),
        folders: open
            .iter()
            .flatten()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
    })
}

/// Sorts entries into feeds to import, duplicates within the file, and
/// invalid entries with the reason. URLs are checked as for `/feed add`
/// (imported feeds are polled under the same guard).
pub fn plan_import(entries: &[OpmlEntry], allow_private_addresses: bool) -> ImportPlan {
    let mut plan = ImportPlan::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for entry in entries {
        let label = entry
            .title
            .clone()
            .or_else(|| entry.xml_url.clone())
            .unwrap_or_else(|| "(untitled outline)".to_owned());
        let skip = |reason: String| Skipped {
            line: entry.line,
            label: label.clone(),
            reason,
        };
        let raw = match entry.xml_url.as_deref().map(str::trim) {
            None => {
                plan.invalid
                    .push(skip("it has no xmlUrl, so it is not a feed".to_owned()));
                continue;
            }
            Some("") => {
                plan.invalid.push(skip("its xmlUrl is empty".to_owned()));
                continue;
            }
            Some(raw) => raw,
        };
        let url = match check_feed_url(raw, Trust::Chat, allow_private_addresses) {
            Ok(url) => url,
            Err(e) => {
                plan.invalid.push(skip(format!("xmlUrl {raw:?}: {e}")));
                continue;
            }
        };
        let url = url.to_string();
        if let Some(first) = seen.get(&url) {
            plan.duplicates
                .push(skip(format!("{url} repeats line {first}")));
            continue;
        }
        seen.insert(url.clone(), entry.line);
        plan.feeds.push(ImportedFeed {
            url,
            name: entry.title.clone(),
            category: entry.folders.clone(),
        });
        plan.lines.push(entry.line);
    }
    plan
}

/// Why an import did not happen (nothing was imported).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The document is not usable OPML.
    #[error("{path}: {source}; nothing was imported")]
    Opml {
        /// The file.
        path: String,
        /// What is wrong.
        source: OpmlError,
    },
    /// The store failed; the transaction was rolled back.
    #[error("nothing was imported: {0}")]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Feeds added: (id, name or URL).
    pub added: Vec<(i64, String)>,
    /// Entries skipped as duplicates (of the file or of watched feeds).
    pub duplicates: Vec<Skipped>,
    /// Entries skipped as unusable, with the reason.
    pub invalid: Vec<Skipped>,
}

impl ImportOutcome {
    /// The report printed by `wirewatch feeds import`.
    pub fn describe(&self, file: &Path) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Imported {} from {}.",
            count(self.added.len(), "new feed", "new feeds"),
            file.display()
        );
        for (id, name) in &self.added {
            let _ = writeln!(out, "  #{id} {name}");
        }
        for (list, one, many) in [
            (&self.duplicates, "duplicate", "duplicates"),
            (&self.invalid, "invalid entry", "invalid entries"),
        ] {
            if !list.is_empty() {
                let _ = writeln!(out, "Skipped {}:", count(list.len(), one, many));
                for s in list {
                    let _ = writeln!(out, "  line {}: {}: {}", s.line, s.label, s.reason);
                }
            }
        }
        out
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `wirewatch feeds import`: reads `path`, and adds its new feeds in one
/// transaction. A document that is not OPML imports nothing.
pub async fn import_opml(
    store: &Store,
    path: &Path,
    allow_private_addresses: bool,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let entries = parse_opml(&bytes).map_err(|source| ImportError::Opml {
        path: path.display().to_string(),
        source,
    })?;
    let plan = plan_import(&entries, allow_private_addresses);
    let results = store.import_feeds(&plan.feeds, now).await?;
    let mut outcome = ImportOutcome {
        invalid: plan.invalid,
        duplicates: plan.duplicates,
        ..ImportOutcome::default()
    };
    for ((feed, line), result) in plan.feeds.iter().zip(&plan.lines).zip(results) {
        let label = feed.name.clone().unwrap_or_else(|| feed.url.clone());
        match result {
            ImportResult::Added(id) => outcome.added.push((id, label)),
            ImportResult::Exists(id) => outcome.duplicates.push(Skipped {
                line: *line,
                label,
                reason: format!("already watched as feed #{id}"),
            }),
        }
    }
    outcome.duplicates.sort_by_key(|s| s.line);
    Ok(outcome)
}

/// Writes `feeds` as an OPML 2.0 document, folders nested as they were
/// imported.
pub fn write_opml(feeds: &[ExportedFeed], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str("  <head>\n    <title>wirewatch feeds</title>\n");
    let _ = writeln!(
        out,
        "    <dateCreated>{}</dateCreated>\n  </head>\n  <body>",
        now.to_rfc2822()
    );
    // Feeds arrive sorted by folder path, so folders open and close in order.
    let mut path: Vec<&str> = Vec::new();
    for feed in feeds {
        let common = path
            .iter()
            .zip(&feed.category)
            .take_while(|(a, b)| **a == b.as_str())
            .count();
        while path.len() > common {
            path.pop();
            let _ = writeln!(out, "{}</outline>", indent(path.len()));
        }
        for folder in &feed.category[common..] {
            let _ = writeln!(
                out,
                "{}<outline text=\"{}\" title=\"{}\">",
                indent(path.len()),
                escape(folder.as_str()),
                escape(folder.as_str())
            );
            path.push(folder);
        }
        let title = feed.name.as_deref().unwrap_or(&feed.url);
        let _ = writeln!(
            out,
            "{}<outline type=\"rss\" text=\"{}\" title=\"{}\" xmlUrl=\"{}\"/>",
            indent(path.len()),
            escape(title),
            escape(title),
            escape(feed.url.as_str())
        );
    }
    while let Some(_folder) = path.pop() {
        let _ = writeln!(out, "{}</outline>", indent(path.len()));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="World">
        <outline text="BBC World" type="rss" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
      </outline>
      <outline title="UN &amp; Agencies" text="UN">
        <outline text="UN News" xmlUrl="https://news.un.org/feed/subscribe/en/news/all/rss.xml"/>
      </outline>
    </outline>
    <outline text="Top level" xmlUrl="https://example.org/top.xml"/>
    <outline text="No URL"/>
    <outline text="FTP" xmlUrl="ftp://example.org/feed"/>
    <outline text="BBC again" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
  </body>
</opml>
"#;

    #[test]
    fn nested_outlines_keep_their_folders_and_lines() {
        let entries = parse_opml(NESTED.as_bytes()).unwrap();
        let got: Vec<(usize, Option<&str>, Vec<&str>)> = entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.title.as_deref(),
                    e.folders.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (7, Some("BBC World"), vec!["News", "World"]),
                (10, Some("UN News"), vec!["News", "UN & Agencies"]),
                (13, Some("Top level"), vec![]),
                (14, Some("No URL"), vec![]),
                (15, Some("FTP"), vec![]),
                (16, Some("BBC again"), vec![]),
            ]
        );
    }

    #[test]
    fn the_plan_lists_duplicates_and_invalid_entries_with_reasons() {
        let plan = plan_import(&parse_opml(NESTED.as_bytes()).unwrap(), false);
        assert_eq!(plan.feeds.len(), 3);
        assert_eq!(plan.lines, vec![7, 10, 13]);
        assert_eq!(plan.duplicates.len(), 1);
        assert_eq!(plan.duplicates[0].line, 16);
        assert!(plan.duplicates[0].reason.contains("repeats line 7"));
        let invalid: Vec<(usize, &str)> = plan
            .invalid
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(invalid[0], (14, "it has no xmlUrl, so it is not a feed"));
        assert_eq!(invalid[1].0, 15);
        assert!(
            invalid[1].1.contains("unsupported URL scheme"),
            "{}",
            invalid[1].1
        );
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "not an OPML document: the document is empty"),
            (
                b"<rss version=\"2.0\"><channel/></rss>",
                "not an OPML document: the root element is <rss>, not <opml>",
            ),
            (
                b"<opml version=\"2.0\"><head/></opml>",
                "not an OPML document: it has no <body>",
            ),
            (
                b"<opml version=\"2.0\">\n<body>\n<outline text=\"a\">\n</body></opml>",
                "malformed XML at line 4",
            ),
            (b"\xff\xfe<\x00o\x00", "not UTF-8 text"),
        ];
        for (input, want) in cases {
            let err = parse_opml(input).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn export_nests_folders_and_escapes_and_reads_back() {
        let feeds = vec![
            ExportedFeed {
                url: "https://example.org/top.xml".into(),
                name: None,
                category: vec![],
            },
            ExportedFeed {
                url: "https://example.org/a?x=1&y=2".into(),
                name: Some("A \"quoted\" <feed>".into()),
                category: vec!["News".into(), "World".into()],
            },
            ExportedFeed {
                url: "https://example.org/b.xml".into(),
                name: Some("B".into()),
                category: vec!["News".into(), "UK".into()],
            },
        ];
        let text = write_opml(&feeds, Utc::now());
        assert!(text.contains("<opml version=\"2.0\">"));
        let back = parse_opml(text.as_bytes()).unwrap();
        let got: Vec<(Option<String>, Option<String>, Vec<String>)> = back
            .into_iter()
            .map(|e| (e.xml_url, e.title, e.folders))
            .collect();
        let want: Vec<(Option<String>, Option<String>, Vec<String>)> = feeds
            .into_iter()
            .map(|f| {
                (
                    Some(f.url.clone()),
                    Some(f.name.unwrap_or(f.url)),
                    f.category,
                )
            })
            .collect();
        assert_eq!(got, want);
    }
}
