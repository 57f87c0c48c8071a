//! Running a command for one chat.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use url::Url;

use super::{Command, DigestCommand, help_text};
use crate::{
    alerts::mark,
    chat::Platform,
    digests::{DigestScheduler, DigestStatus},
    feeds::{
        fetch::{FetchOutcome, Trust, Validators, check_feed_url},
        parse::{FeedItem, parse_document},
    },
    matching::{Article, MatcherBuilder, RuleSpec},
    pipeline::Pipeline,
    store::{FeedOrigin, FeedRegistration, RuleRow, Store, StoreError, StoryMember},
    stories::{Evidence, Joined, OUTLETS_SHOWN, also_line},
};

/// What a command may touch; cheap to clone into each adapter.
#[derive(Clone)]
pub struct CommandContext {
    /// The store.
    pub store: Store,
    /// The pipeline, to recompile rules and to fetch for `/test`.
    pub pipeline: Arc<Pipeline>,
    /// Notified when a feed is added, so the scheduler starts polling it.
    pub feeds_changed: Arc<Notify>,
    /// `polling.allow_private_addresses`.
    pub allow_private_addresses: bool,
    /// Digest schedules, and `/digest now`.
    pub digests: DigestScheduler,
}

impl CommandContext {
    /// Reads a chat message and, if it is a command for us, runs it. `None`
    /// for messages that are not commands (or are for another bot).
    pub async fn handle(
        &self,
        invoker: &Invoker,
        text: &str,
        bot_username: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<Reply> {
        match super::parse(text, bot_username) {
            Ok(None) => None,
            Err(e) => Some(Reply::private(e.to_string())),
            Ok(Some(command)) => Some(match execute(self, invoker, command, now).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(error = %e, platform = %invoker.platform, "command failed");
                    Reply::private(
                        "Something went wrong on our side and nothing was changed. Please try again later.",
                    )
                }
            }),
        }
    }
}

/// Who sent a command, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    /// The platform.
    pub platform: Platform,
    /// The chat (subscription) the command was sent in.
    pub chat_id: String,
    /// Whether this user may change the chat's rules and feeds (an admin,
    /// or anyone where the chat's policy allows it).
    pub may_manage: bool,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Plain text; adapters escape it for their platform.
    pub text: String,
    /// Only the invoker needs to see it (errors, listings): platforms that
    /// can answer privately (Discord ephemeral replies) do.
    pub private: bool,
}

impl Reply {
    fn public(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            private: false,
        }
    }
    fn private(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            private: true,
        }
    }
}

const NOT_ALLOWED: &str = "Only the chat's admins can change its rules, feeds and digests.";

/// Runs `command` for the invoker's chat. Store failures are errors for the
/// log; everything a user can get wrong is a reply.
pub async fn execute(
    ctx: &CommandContext,
    invoker: &Invoker,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let changes = matches!(
        command,
        Command::Watch(_)
            | Command::Unwatch(_)
            | Command::Alerts(_)
            | Command::Digest(
                DigestCommand::At { .. }
                    | DigestCommand::Off
                    | DigestCommand::Now
                    | DigestCommand::Quiet
            )
            | Command::FeedAdd(_)
            | Command::FeedRemove(_)
    );
    if changes && !invoker.may_manage {
        return Ok(Reply::private(NOT_ALLOWED));
    }
    let sub = ctx
        .store
        .ensure_subscription(invoker.platform.as_str(), &invoker.chat_id, now)
        .await?;
    Ok(match command {
        Command::Start | Command::Help => Reply::private(help_text()),
        Command::Watch(spec) => {
            let spec_text = spec.to_string();
            let (id, new) = ctx.store.add_rule(sub.id, &spec_text, now).await?;
            if new {
                let rule = RuleRow {
                    id,
                    subscription_id: sub.id,
                    spec: spec_text,
                };
                ctx.pipeline.add_rule(rule, sub.clone()).await?;
                Reply::public(format!("Watching #{id}: {spec}"))
            } else {
                Reply::private(format!("Already watching that as #{id}."))
            }
        }
        Command::Rules => {
            let rules = ctx.store.rules_of(sub.id).await?;
            if rules.is_empty() {
                Reply::private(
                    "No rules yet. Try /watch country Russia or /watch keyword UN Security Council.",
                )
            } else {
                let lines: Vec<String> = rules
                    .iter()
                    .map(|r| format!("#{} {}", r.id, r.spec))
                    .collect();
                Reply::private(format!("This chat's rules:\n{}", lines.join("\n")))
            }
        }
        Command::Unwatch(id) => {
            if ctx.store.remove_rule(sub.id, id).await? {
                ctx.pipeline.remove_rule(id).await?;
                Reply::public(format!("Removed rule #{id}."))
            } else {
                Reply::private(format!(
                    "This chat has no rule #{id}. Send /rules to see them."
                ))
            }
        }
        Command::Alerts(on) => {
            ctx.store.set_alerts(sub.id, on).await?;
            ctx.pipeline.reload_rules().await?;
            Reply::public(if on {
                "Immediate alerts are on."
            } else {
                "Immediate alerts are off: this chat gets digests only."
            })
        }
        Command::Digest(digest) => run_digest(ctx, sub.id, digest, now).await?,
        Command::Test(input) if input.starts_with(HISTORY_FLAG) => {
            test_history(ctx, &input[HISTORY_FLAG.len()..], now).await?
        }
        Command::Test(input) => test(ctx, sub.id, &input, now).await?,
        Command::Feeds => Reply::private(list_feeds(&ctx.store, now).await?),
        Command::FeedAdd(raw) => {
            match check_feed_url(&raw, Trust::Chat, ctx.allow_private_addresses) {
                Err(e) => Reply::private(format!("Cannot add that feed: {e}.")),
                Ok(url) => match ctx.store.add_chat_feed(url.as_str(), now).await? {
                    FeedRegistration::Added(id) => {
                        ctx.feeds_changed.notify_one();
                        Reply::public(format!(
                            "Added feed #{id}. Its current items are recorded without alerts; new ones will be matched."
                        ))
                    }
                    FeedRegistration::Exists(id) => {
                        Reply::private(format!("That feed is already watched as #{id}."))
                    }
                },
            }
        }
        Command::FeedRemove(id) => match ctx.store.feed(id).await? {
            Some(feed) if feed.active && feed.origin == FeedOrigin::Chat => {
                ctx.store.deactivate_feed(id).await?;
                Reply::public(format!(
                    "Stopped polling feed #{id}. Its past articles and hits are kept."
                ))
            }
            Some(feed) if feed.active => Reply::private(format!(
                "Feed #{id} is set in the operator's configuration and can only be removed there."
            )),
            _ => Reply::private(format!("There is no feed #{id}. Send /feeds to see them.")),
        },
    })
}

/// `/digest` and its subcommands.
async fn run_digest(
    ctx: &CommandContext,
    subscription_id: i64,
    command: DigestCommand,
    now: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let digests = &ctx.digests;
    Ok(match command {
        DigestCommand::Show => Reply::private(describe_digest(
            &digests.status(subscription_id, now).await?,
            now,
        )),
        DigestCommand::At { time, zone } => {
            let status = digests.set_time(subscription_id, time, zone, now).await?;
            Reply::public(describe_digest(&status, now))
        }
        DigestCommand::Off => {
            digests.turn_off(subscription_id).await?;
            Reply::public(
                "Daily digests are off. Turn them on again with /digest 08:00 Europe/London.",
            )
        }
        DigestCommand::Quiet => Reply::public(if digests.toggle_quiet(subscription_id).await? {
            "Quiet days: no digest is sent when nothing matched."
        } else {
            "Quiet days: a one-line digest says when nothing matched."
        }),
        DigestCommand::Now => {
            let made = digests.make_now(subscription_id, now).await?;
            let hits = match made.hits {
                0 => "nothing matched".to_owned(),
                1 => "1 hit".to_owned(),
                n => format!("{n} hits"),
            };
            Reply::private(format!(
                "Digest made: {hits} since the previous one. The next scheduled digest covers what comes after."
            ))
        }
    })
}

/// What `/digest` says: the setting, and the next digest in local time.
fn describe_digest(status: &DigestStatus, now: DateTime<Utc>) -> String {
    let Some(daily) = status.schedule else {
        return "Daily digests are off. Turn them on with /digest 08:00 Europe/London (your time and zone).".to_owned();
    };
    let origin = if status.from_default {
        " (the default)"
    } else {
        ""
    };
    let next = match status.next_due {
        Some(at) if at > now => at
            .with_timezone(&daily.zone)
            .format("%a %-d %b %Y %H:%M %Z")
            .to_string(),
        _ => "being sent now".to_owned(),
    };
    let quiet = if status.quiet {
        "nothing is sent on days when nothing matched"
    } else {
        "days when nothing matched get a one-line digest"
    };
    format!(
        "Daily digest at {} {}{origin}. Next: {next}. Quiet days: {quiet} (/digest quiet to change).",
        daily.time.format("%H:%M"),
        daily.zone.name()
    )
}

/// `/test --history SPEC`: the flag in front of a rule to try on stored
/// articles.
const HISTORY_FLAG: &str = "--history";

/// How far back `/test --history` looks.
const HISTORY_DAYS: i64 = 7;

/// Most articles `/test --history` reads: a week of a big deployment, and
/// a bound on the work one command can ask for.
const HISTORY_LIMIT: i64 = 50_000;

/// `/test --history SPEC`: how many of the articles stored in the last
/// week a rule would have matched, before it is saved, with the latest
/// matches as examples.
async fn test_history(
    ctx: &CommandContext,
    spec: &str,
    now: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(Reply::private(
            "Give the rule to try, e.g. /test --history country:Russia NOT football",
        ));
    }
    let spec = match RuleSpec::parse(spec) {
        Ok(spec) => spec,
        Err(e) => return Ok(Reply::private(format!("That rule does not work: {e}"))),
    };
    let since = now - chrono::Duration::days(HISTORY_DAYS);
    let articles = ctx.store.articles_since(since, HISTORY_LIMIT).await?;
    // Matching a week of articles is CPU work: off the async threads.
    let tried = spec.clone();
    let stored = articles.clone();
    let trial = tokio::task::spawn_blocking(move || {
        crate::matching::try_rule(
            &tried,
            stored.iter().map(|a| Article {
                title: &a.title,
                body: &a.summary,
                source: &a.source,
            }),
            3,
        )
    })
    .await;
    let trial = match trial {
        Ok(trial) => trial,
        Err(error) => {
            tracing::error!(%error, "trying a rule on stored articles failed");
            return Ok(Reply::private(
                "Trying the rule failed on our side. Please try again later.",
            ));
        }
    };
    let mut text = format!(
        "{spec} would have matched {} of the {} articles seen in the last {HISTORY_DAYS} days.",
        trial.matched, trial.articles
    );
    if !trial.examples.is_empty() {
        text.push_str("\nLatest:");
    }
    for (i, hit) in &trial.examples {
        let article = &articles[*i];
        text.push_str(&format!(
            "\n• {} — {} (on: {})",
            article.title,
            article.source,
            hit.terms.join(", ")
        ));
    }
    Ok(Reply::private(text))
}

/// `/test`: match a text, or the article at a URL, against this chat's
/// rules only, and explain; then say which stored story it would join.
async fn test(
    ctx: &CommandContext,
    subscription_id: i64,
    input: &str,
    now: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let rules = ctx.store.rules_of(subscription_id).await?;
    let item = match Url::parse(input)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    {
        None => FeedItem {
            guid: None,
            title: String::new(),
            link: None,
            published: None,
            updated: None,
            summary: input.to_owned(),
            content: String::new(),
            categories: Vec::new(),
            authors: Vec::new(),
        },
        Some(url) => match fetch_article(ctx, &url).await {
            Ok(item) => item,
            Err(problem) => return Ok(Reply::private(problem)),
        },
    };
    let mut text = if rules.is_empty() {
        "This chat has no rules to test. Add one with /watch.".to_owned()
    } else {
        explain_rules(&rules, &item)
    };
    let joined = ctx.pipeline.find_story(&item, now).await?;
    let members = match &joined {
        Some(joined) => ctx.store.story_members(joined.story_id).await?,
        None => Vec::new(),
    };
    text.push('\n');
    text.push_str(&describe_story(
        joined.as_ref(),
        &members,
        ctx.pipeline.story_window(),
    ));
    Ok(Reply::private(text))
}

/// The article at `url` as one item (a page, or a feed's first item);
/// the error is the reply.
async fn fetch_article(ctx: &CommandContext, url: &Url) -> Result<FeedItem, String> {
    let fetched = ctx
        .pipeline
        .fetcher()
        .fetch(url, &Validators::default(), Trust::Chat)
        .await;
    let body = match fetched {
        Ok(FetchOutcome::Fetched(body)) => body,
        Ok(FetchOutcome::NotModified) => return Err("The server sent no content.".to_owned()),
        Err(e) => return Err(format!("Could not fetch that page: {e}.")),
    };
    match parse_document(&body.bytes, body.charset.as_deref(), Some(&body.final_url)) {
        Ok(items) => match items.into_iter().next() {
            // A page without a link of its own is known by its address.
            Some(mut item) => {
                item.link = item.link.or_else(|| Some(body.final_url.to_string()));
                Ok(item)
            }
            None => Err("That page has no article text.".to_owned()),
        },
        Err(e) => Err(format!("Could not read that page: {e}.")),
    }
}

/// Which of `rules` match `item`, and on which words.
fn explain_rules(rules: &[RuleRow], item: &FeedItem) -> String {
    let mut builder = MatcherBuilder::new();
    for rule in rules {
        if let Ok(spec) = RuleSpec::parse(&rule.spec) {
            builder.add(rule.id, &spec);
        }
    }
    let matcher = builder.build();
    let body = format!("{}\n{}", item.summary, item.content);
    let hits = matcher.find(&Article {
        title: &item.title,
        body: body.trim(),
        source: "",
    });
    if hits.is_empty() {
        return format!("None of this chat's {} rules would match.", rules.len());
    }
    let mut text = String::new();
    for hit in hits {
        let spec = rules
            .iter()
            .find(|r| r.id == hit.rule_id)
            .map_or("", |r| r.spec.as_str());
        text.push_str(&format!(
            "#{} {spec} matches on: {}\n“{}”\n",
            hit.rule_id,
            hit.terms.join(", "),
            mark(&hit.snippet, "«", "»")
        ));
    }
    text.trim_end().to_owned()
}

/// `/test`'s story line: the story the article would join (or is in), its
/// outlets, and the evidence; or that it would start a new story.
fn describe_story(
    joined: Option<&Joined>,
    members: &[StoryMember],
    window: std::time::Duration,
) -> String {
    let Some(joined) = joined else {
        return format!(
            "Story: new. No article of the last {} h has its link or is a near-copy of its text: it would start a new story.",
            window.as_secs() / 3600
        );
    };
    let outlets = StoryMember::outlets(members);
    let story = match members.first() {
        Some(first) => format!(
            "“{}” (story #{}, carried by {})",
            first.title,
            joined.story_id,
            also_line(&outlets, OUTLETS_SHOWN)
        ),
        None => format!("story #{}", joined.story_id),
    };
    let article_id = joined.evidence.article_id();
    let article = match members.iter().position(|m| m.article_id == article_id) {
        Some(0) => format!("its first article ({})", members[0].outlet),
        Some(i) => format!("{}’s “{}”", members[i].outlet, members[i].title),
        None => format!("article {article_id}"),
    };
    match &joined.evidence {
        Evidence::SameUrl { .. } => {
            format!("Story: already stored, in {story}: same URL as {article}.")
        }
        Evidence::SameGuid { .. } => {
            format!("Story: already stored, in {story}: same guid as {article}.")
        }
        Evidence::Similar { score, title, .. } => format!(
            "Story: would join {story}: similarity score {score:.2} to {article} (headline words {:.0}% shared).",
            title * 100.0
        ),
    }
}

/// `/feeds`: each source with its health (see [`crate::health`]).
async fn list_feeds(store: &Store, now: DateTime<Utc>) -> Result<String, StoreError> {
    let feeds = store
        .feed_overview(now - chrono::Duration::hours(24))
        .await?;
    Ok(crate::health::render_feed_list(&feeds, now))
}
