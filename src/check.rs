//! `wirewatch check`: match articles against rules and explain, without a
//! chat. One input (a feed, an HTML page or plain text, from a file, a URL
//! or stdin) or, in bulk, many files and directories. Each article's story
//! is found among the run's earlier articles and, when the configured
//! database exists, the stories stored there.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Serialize;
use url::Url;

use crate::{
    config::Settings,
    feeds::{
        fetch::{FetchOutcome, FetchSettings, Fetcher, Trust, Validators},
        parse::{FeedItem, parse_document},
    },
    matching::{Article, Matcher, MatcherBuilder, RuleSpec},
    store::{Store, StoryMember},
    stories::{OUTLETS_SHOWN, Probe, Signature, StoryIndex, also_line},
};

/// Rules as given on the command line or in a rules file.
#[derive(Debug, Clone)]
pub struct CheckRules {
    specs: Vec<(String, RuleSpec)>,
    matcher: Matcher,
}

impl CheckRules {
    /// Parses each SPEC; the error names the SPEC (and line, via `origin`).
    pub fn parse<'a>(specs: impl IntoIterator<Item = (String, &'a str)>) -> anyhow::Result<Self> {
        let mut parsed = Vec::new();
        let mut builder = MatcherBuilder::new();
        for (origin, text) in specs {
            let spec = RuleSpec::parse(text)
                .map_err(|e| anyhow::anyhow!("{origin}: invalid rule {text:?}: {e}"))?;
            builder.add(parsed.len() as i64, &spec);
            parsed.push((text.to_owned(), spec));
        }
        if parsed.is_empty() {
            bail!(
                "no rules given: use --rule SPEC (e.g. --rule \"keyword:UN Security Council\") or --rules-file FILE"
            );
        }
        Ok(Self {
            specs: parsed,
            matcher: builder.build(),
        })
    }

    /// Reads a rules file: one SPEC a line, `#` comments and blank lines skipped.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read rules file {}", path.display()))?;
        let name = path.display().to_string();
        Self::parse(
            text.lines()
                .enumerate()
                .map(|(i, line)| (i, line.trim()))
                .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
                .map(|(i, line)| (format!("{name}:{}", i + 1), line)),
        )
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// True when there are no rules (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}

/// One match in `--json` output.
#[derive(Debug, Serialize)]
struct JsonMatch<'a> {
    rule: &'a str,
    terms: &'a [String],
    snippet: &'a str,
}

/// One article in `--json` output.
#[derive(Debug, Serialize)]
struct JsonArticle<'a> {
    input: &'a str,
    title: &'a str,
    link: Option<&'a str>,
    matches: Vec<JsonMatch<'a>>,
    /// Set when the article is a copy of an earlier article of this run,
    /// or joins a story of the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    story: Option<JsonStory>,
}

/// The story an article joined, in `--json` output.
#[derive(Debug, Serialize)]
struct JsonStory {
    /// A story of the run: the run's number (from 1) of its first article.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_article: Option<i64>,
    /// A story of the database: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_story: Option<i64>,
    /// A stored story's headline (its first article's).
    #[serde(skip_serializing_if = "Option::is_none")]
    headline: Option<String>,
    /// The outlets that carry a stored story.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outlets: Vec<String>,
    /// Why, e.g. "text 64% similar to article 2 (headline words 20% shared)".
    reason: String,
}

/// Totals of a check run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CheckSummary {
    /// Articles read.
    pub articles: usize,
    /// Rules matched against.
    pub rules: usize,
    /// Articles with at least one match.
    pub matched_articles: usize,
    /// Time spent matching (not reading or parsing).
    pub seconds: f64,
}

/// Output options.
#[derive(Debug, Clone, Copy)]
pub struct CheckOutput {
    /// One JSON line per article instead of text.
    pub json: bool,
    /// Print the totals line at the end.
    pub summary: bool,
}

/// Matches every article of every input and writes the result to `out`.
pub async fn run_check(
    settings: &Settings,
    rules: &CheckRules,
    inputs: &[String],
    output: CheckOutput,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<CheckSummary> {
    let mut summary = CheckSummary {
        rules: rules.len(),
        ..CheckSummary::default()
    };
    let mut matching_time = Duration::ZERO;
    // Copies among the run's own articles, and of stored ones, are shown
    // as one story.
    let now = chrono::Utc::now();
    let mut stories = CheckStories::open(settings, now).await;
    for (name, items) in read_inputs(settings, inputs).await? {
        for item in &items {
            summary.articles += 1;
            let body = format!("{}\n{}", item.summary, item.content);
            let story = stories.join(summary.articles, item, &body, now).await;
            let started = Instant::now();
            let hits = rules.matcher.find(&Article {
                title: &item.title,
                body: &body,
                source: &name,
            });
            matching_time += started.elapsed();
            if !hits.is_empty() {
                summary.matched_articles += 1;
            }
            if output.json {
                let line = JsonArticle {
                    input: &name,
                    title: &item.title,
                    link: item.link.as_deref(),
                    matches: hits
                        .iter()
                        .map(|h| JsonMatch {
                            rule: &rules.specs[h.rule_id as usize].0,
                            terms: &h.terms,
                            snippet: &h.snippet.text,
                        })
                        .collect(),
                    story,
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            } else {
                let title = if item.title.is_empty() {
                    "(untitled)"
                } else {
                    &item.title
                };
                writeln!(out, "{name}: {title}")?;
                if let Some(link) = &item.link {
                    writeln!(out, "  {link}")?;
                }
                match story {
                    Some(JsonStory {
                        first_article: Some(first),
                        reason,
                        ..
                    }) => writeln!(out, "  SAME STORY as article {first}: {reason}")?,
                    Some(JsonStory {
                        stored_story: Some(id),
                        headline,
                        outlets,
                        reason,
                        ..
                    }) => writeln!(
                        out,
                        "  SAME STORY as stored story #{id} “{}” ({}): {reason}",
                        headline.unwrap_or_default(),
                        also_line(&outlets, OUTLETS_SHOWN)
                    )?,
                    _ => {}
                }
                if hits.is_empty() {
                    writeln!(out, "  no rule matched")?;
                }
                for hit in &hits {
                    writeln!(
                        out,
                        "  MATCH {} on: {}",
                        rules.specs[hit.rule_id as usize].0,
                        hit.terms.join(", ")
                    )?;
                    writeln!(
                        out,
                        "    “{}”",
                        crate::alerts::mark(&hit.snippet, "[[", "]]")
                    )?;
                }
            }
        }
    }
    summary.seconds = matching_time.as_secs_f64();
    if output.summary {
        if output.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "articles": summary.articles,
                    "rules": summary.rules,
                    "seconds": summary.seconds,
                })
            )?;
        } else {
            writeln!(
                out,
                "{} articles, {} rules, {} matched; {:.6} s matching",
                summary.articles, summary.rules, summary.matched_articles, summary.seconds
            )?;
        }
    }
    Ok(summary)
}

/// The stories a check run compares its articles with: the stored ones
/// of the window (positive ids, as in the database) and the run's own
/// (negative ids: minus the run's number of the article).
struct CheckStories {
    index: StoryIndex,
    store: Option<Store>,
}

impl CheckStories {
    /// The stored stories of the configured database if it exists (a
    /// database that cannot be read is a warning, not an error: the check
    /// goes on with the run's own articles).
    async fn open(settings: &Settings, now: chrono::DateTime<chrono::Utc>) -> Self {
        let window = settings.stories.window();
        let stored = match Store::open_existing(&settings.database.url).await {
            Ok(Some(store)) => match crate::pipeline::load_story_index(&store, window, now).await {
                Ok(index) => Some((index, store)),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the stored stories; comparing within this run only");
                    None
                }
            },
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "cannot open the database; comparing stories within this run only");
                None
            }
        };
        match stored {
            Some((index, store)) => Self {
                index,
                store: Some(store),
            },
            None => Self {
                index: StoryIndex::new(window),
                store: None,
            },
        }
    }

    /// Adds the run's `number`-th article; the story it joined, if it is a
    /// copy of an earlier article of the run or of a stored one.
    async fn join(
        &mut self,
        number: usize,
        item: &FeedItem,
        body: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<JsonStory> {
        let run_id = -i64::try_from(number).unwrap_or(i64::MAX);
        let signature = Signature::of(&item.title, body);
        let canonical = item
            .link
            .as_deref()
            .and_then(crate::pipeline::canonical_url);
        let joined = self.index.find(&Probe {
            canonical_url: canonical.as_deref(),
            guid: None,
            signature: &signature,
        });
        let story_id = joined.as_ref().map_or(run_id, |j| j.story_id);
        self.index
            .insert(run_id, story_id, now, canonical.as_deref(), None, signature);
        let joined = joined?;
        let members = if joined.story_id > 0 {
            self.members(joined.story_id).await
        } else {
            Vec::new()
        };
        let article_id = joined.evidence.article_id();
        let article = if article_id < 0 {
            format!("article {}", -article_id)
        } else {
            match members.iter().find(|m| m.article_id == article_id) {
                Some(m) => format!("stored article {article_id} ({}: “{}”)", m.outlet, m.title),
                None => format!("stored article {article_id}"),
            }
        };
        let reason = joined.evidence.describe(&article);
        if joined.story_id < 0 {
            return Some(JsonStory {
                first_article: Some(-joined.story_id),
                stored_story: None,
                headline: None,
                outlets: Vec::new(),
                reason,
            });
        }
        Some(JsonStory {
            first_article: None,
            stored_story: Some(joined.story_id),
            headline: members.first().map(|m| m.title.clone()),
            outlets: StoryMember::outlets(&members),
            reason,
        })
    }

    /// The stored articles of a story; none if they cannot be read.
    async fn members(&self, story_id: i64) -> Vec<StoryMember> {
        let Some(store) = &self.store else {
            return Vec::new();
        };
        match store.story_members(story_id).await {
            Ok(members) => members,
            Err(error) => {
                tracing::warn!(%error, story_id, "cannot read a stored story");
                Vec::new()
            }
        }
    }
}

/// Every input as (name, items). Directories give their files, sorted.
async fn read_inputs(
    settings: &Settings,
    inputs: &[String],
) -> anyhow::Result<Vec<(String, Vec<FeedItem>)>> {
    let mut documents = Vec::new();
    let default_stdin = ["-".to_owned()];
    let inputs = if inputs.is_empty() {
        &default_stdin[..]
    } else {
        inputs
    };
    for input in inputs {
        if input == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            documents.push((
                "stdin".to_owned(),
                parse_named("stdin", &bytes, None, None)?,
            ));
        } else if input.starts_with("http://") || input.starts_with("https://") {
            let url = Url::parse(input).with_context(|| format!("invalid URL {input}"))?;
            let fetcher = Fetcher::new(FetchSettings {
                timeout: Duration::from_secs(settings.polling.timeout_secs),
                max_body_bytes: settings.polling.max_body_bytes,
                ..FetchSettings::default()
            })?;
            let body = match fetcher
                .fetch(&url, &Validators::default(), Trust::Operator)
                .await
            {
                Ok(FetchOutcome::Fetched(body)) => body,
                Ok(FetchOutcome::NotModified) => {
                    bail!("{input}: server answered 304 to an unconditional request")
                }
                Err(e) => bail!("{input}: {e}"),
            };
            let items = parse_named(
                input,
                &body.bytes,
                body.charset.as_deref(),
                Some(&body.final_url),
            )?;
            documents.push((input.clone(), items));
        } else {
            for path in files_of(Path::new(input))? {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let name = path.display().to_string();
                let base = std::fs::canonicalize(&path)
                    .ok()
                    .and_then(|p| Url::from_file_path(p).ok());
                documents.push((
                    name.clone(),
                    parse_named(&name, &bytes, None, base.as_ref())?,
                ));
            }
        }
    }
    Ok(documents)
}

fn parse_named(
    name: &str,
    bytes: &[u8],
    charset: Option<&str>,
    base: Option<&Url>,
) -> anyhow::Result<Vec<FeedItem>> {
    parse_document(bytes, charset, base).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// A file, or the files of a directory (not recursive, sorted, hidden
/// files and SOURCES/README notes skipped).
fn files_of(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// How far back `wirewatch check --history` looks, in days.
pub const HISTORY_DAYS: i64 = 7;

/// Most stored articles `wirewatch check --history` reads.
const HISTORY_LIMIT: i64 = 200_000;

/// One rule in `--history --json` output.
#[derive(Debug, Serialize)]
struct JsonTrial<'a> {
    rule: &'a str,
    articles: usize,
    matched: usize,
    examples: Vec<JsonExample<'a>>,
}

/// One example match in `--history --json` output.
#[derive(Debug, Serialize)]
struct JsonExample<'a> {
    title: &'a str,
    source: &'a str,
    url: Option<&'a str>,
    terms: &'a [String],
}

/// `wirewatch check --history`: each rule tried on the articles stored in
/// the last [`HISTORY_DAYS`] days (the database of `settings`), before it is
/// saved: how many it would have matched, with the latest as examples.
/// Returns the number of rules that matched something.
pub async fn run_history(
    settings: &Settings,
    rules: &CheckRules,
    json: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<usize> {
    let store = crate::store::Store::open(&settings.database.url)
        .await
        .context("cannot open the database to read stored articles")?;
    let since = chrono::Utc::now() - chrono::Duration::days(HISTORY_DAYS);
    let articles = store.articles_since(since, HISTORY_LIMIT).await?;
    let mut matching_rules = 0;
    for (text, spec) in &rules.specs {
        let trial = crate::matching::try_rule(
            spec,
            articles.iter().map(|a| Article {
                title: &a.title,
                body: &a.summary,
                source: &a.source,
            }),
            3,
        );
        if trial.matched > 0 {
            matching_rules += 1;
        }
        if json {
            let line = JsonTrial {
                rule: text,
                articles: trial.articles,
                matched: trial.matched,
                examples: trial
                    .examples
                    .iter()
                    .map(|(i, hit)| JsonExample {
                        title: &articles[*i].title,
                        source: &articles[*i].source,
                        url: articles[*i].url.as_deref(),
                        terms: &hit.terms,
                    })
                    .collect(),
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
            continue;
        }
        writeln!(
            out,
            "{text}: would have matched {} of the {} articles stored in the last {HISTORY_DAYS} days",
            trial.matched, trial.articles
        )?;
        for (i, hit) in &trial.examples {
            let a = &articles[*i];
            writeln!(
                out,
                "  {} — {} (on: {})",
                a.title,
                a.source,
                hit.terms.join(", ")
            )?;
        }
    }
    Ok(matching_rules)
}
