//! `wirewatch doctor`: checks what an operator would check by hand before
//! (or after) starting the bot — the config, the database, each configured
//! chat API and each feed — and says what is wrong in plain words.
//!
//! Tokens are only ever sent to their API, never printed: URLs that carry
//! a token are dropped from error messages.

use std::{io::Write, path::Path, time::Duration};

use futures::future::join_all;
use secrecy::ExposeSecret;
use url::Url;

use crate::{
    config::{Settings, token_is_set},
    feeds::{
        fetch::{FetchOutcome, FetchSettings, Fetcher, Trust, Validators},
        parse::parse_feed,
    },
    health::plain_error,
    store::{FeedOrigin, Store},
};

/// How long each chat API check may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether it passed.
    pub ok: bool,
    /// What was checked: `config`, `database`, `telegram`, `discord`, `feed`.
    pub subject: &'static str,
    /// What was found, in plain words.
    pub detail: String,
}

impl Finding {
    fn ok(subject: &'static str, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            subject,
            detail: detail.into(),
        }
    }
    fn problem(subject: &'static str, detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            subject,
            detail: detail.into(),
        }
    }
}

/// Runs every check for the config at `path`, writing one line per finding
/// to `out` as it goes. Returns the number of problems found.
pub async fn run_doctor(path: &Path, out: &mut impl Write) -> std::io::Result<usize> {
    let mut problems = 0;
    let mut report = |out: &mut dyn Write, f: Finding| -> std::io::Result<()> {
        if !f.ok {
            problems += 1;
        }
        let mark = if f.ok { "ok  " } else { "FAIL" };
        writeln!(out, "{mark}  {:<9} {}", f.subject, f.detail)
    };
    let settings = match Settings::load(path) {
        Ok(settings) => settings,
        Err(e) => {
            report(out, Finding::problem("config", e.to_string()))?;
            writeln!(
                out,
                "1 problem found; the other checks need a valid config."
            )?;
            return Ok(1);
        }
    };
    report(out, check_config(path, &settings))?;
    let (finding, store) = check_database(&settings).await;
    report(out, finding)?;
    if token_is_set(&settings.telegram.token) {
        report(out, check_telegram(&settings).await)?;
    }
    if token_is_set(&settings.discord.token) {
        report(out, check_discord(&settings).await)?;
    }
    for finding in check_feeds(&settings, store.as_ref()).await {
        report(out, finding)?;
    }
    if let Some(store) = store {
        store.close().await;
    }
    match problems {
        0 => writeln!(out, "No problems found.")?,
        1 => writeln!(out, "1 problem found.")?,
        n => writeln!(out, "{n} problems found.")?,
    }
    Ok(problems)
}

fn check_config(path: &Path, settings: &Settings) -> Finding {
    let on_off = |on: bool| if on { "on" } else { "off" };
    Finding::ok(
        "config",
        format!(
            "{} is valid: {} feeds, console {}, telegram {}, discord {}, http {}",
            path.display(),
            settings.feeds.len(),
            on_off(settings.console.enabled),
            on_off(token_is_set(&settings.telegram.token)),
            on_off(token_is_set(&settings.discord.token)),
            settings
                .http
                .listen
                .0
                .map_or("off".to_owned(), |a| a.to_string()),
        ),
    )
}

async fn check_database(settings: &Settings) -> (Finding, Option<Store>) {
    let url = &settings.database.url;
    match Store::open(url).await {
        Err(e) => (Finding::problem("database", e.to_string()), None),
        Ok(store) if !store.is_writable().await => (
            Finding::problem(
                "database",
                format!("{url} opens but refuses writes (read-only file or disk full?)"),
            ),
            Some(store),
        ),
        Ok(store) => (
            Finding::ok(
                "database",
                format!("{url} opens, migrations applied, writable"),
            ),
            Some(store),
        ),
    }
}

fn api_client(base: &Url) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder().timeout(API_TIMEOUT);
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    // A proxy must not see loopback fakes' traffic (nor could it reach it).
    if loopback {
        builder.no_proxy().build()
    } else {
        builder.build()
    }
}

/// A request error without its URL, which may carry a token.
fn request_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        format!("no answer within {} s", API_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect (network, DNS or firewall?)".to_owned()
    } else {
        e.to_string()
    }
}

async fn check_telegram(settings: &Settings) -> Finding {
    let base = &settings.telegram.api_url;
    let shown = base.as_str().trim_end_matches('/');
    let url = format!(
        "{shown}/bot{}/getMe",
        settings.telegram.token.expose_secret().trim()
    );
    let answer = async {
        let response = api_client(base)?.post(url).send().await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    };
    match answer.await {
        Err(e) => Finding::problem("telegram", format!("{shown}: {}", request_error(e))),
        Ok((_, body)) if body["ok"] == true => Finding::ok(
            "telegram",
            format!(
                "{shown} knows the token: bot @{}",
                body["result"]["username"].as_str().unwrap_or("?")
            ),
        ),
        Ok((status, body)) => {
            let why = match status.as_u16() {
                401 | 404 => "the token was refused; check WIREWATCH__TELEGRAM__TOKEN".to_owned(),
                _ => format!(
                    "answered {status}: {}",
                    body["description"].as_str().unwrap_or("no description")
                ),
            };
            Finding::problem("telegram", format!("{shown}: {why}"))
        }
    }
}

async fn check_discord(settings: &Settings) -> Finding {
    let base = &settings.discord.api_url;
    let shown = base.as_str().trim_end_matches('/');
    let answer = async {
        let response = api_client(base)?
            .get(format!("{shown}/api/v10/users/@me"))
            .header(
                "Authorization",
                format!("Bot {}", settings.discord.token.expose_secret().trim()),
            )
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    };
    match answer.await {
        Err(e) => Finding::problem("discord", format!("{shown}: {}", request_error(e))),
        Ok((status, body)) if status.is_success() => Finding::ok(
            "discord",
            format!(
                "{shown} knows the token: bot {}",
                body["username"].as_str().unwrap_or("?")
            ),
        ),
        Ok((status, _)) if status.as_u16() == 401 => Finding::problem(
            "discord",
            format!("{shown}: the token was refused; check WIREWATCH__DISCORD__TOKEN"),
        ),
        Ok((status, _)) => Finding::problem("discord", format!("{shown}: answered {status}")),
    }
}

/// The configured feeds and those added from chat or by import.
async fn check_feeds(settings: &Settings, store: Option<&Store>) -> Vec<Finding> {
    let mut feeds: Vec<(String, String, Trust)> = settings
        .feeds
        .iter()
        .map(|f| {
            let url = f.url.0.to_string();
            let name = f.name.clone().unwrap_or_else(|| url.clone());
            (name, url, Trust::Operator)
        })
        .collect();
    if let Some(store) = store
        && let Ok(stored) = store.active_feeds().await
    {
        for feed in stored {
            if feed.origin == FeedOrigin::Chat && !feeds.iter().any(|(_, u, _)| *u == feed.url) {
                feeds.push((feed.display_name().to_owned(), feed.url, Trust::Chat));
            }
        }
    }
    let fetcher = match Fetcher::new(FetchSettings {
        timeout: Duration::from_secs(settings.polling.timeout_secs),
        max_body_bytes: settings.polling.max_body_bytes,
        max_concurrent: settings.polling.max_concurrent,
        max_per_host: settings.polling.max_per_host,
        allow_private_addresses: settings.polling.allow_private_addresses,
    }) {
        Ok(fetcher) => fetcher,
        Err(e) => return vec![Finding::problem("feed", format!("cannot fetch: {e}"))],
    };
    let fetcher = &fetcher;
    join_all(feeds.into_iter().map(|(name, url, trust)| async move {
        let label = if name == url {
            url.clone()
        } else {
            format!("{name} ({url})")
        };
        let Ok(parsed_url) = Url::parse(&url) else {
            return Finding::problem("feed", format!("{label}: not a valid URL"));
        };
        match fetcher
            .fetch(&parsed_url, &Validators::default(), trust)
            .await
        {
            Err(e) => Finding::problem("feed", format!("{label}: {}", plain_error(&e.to_string()))),
            Ok(FetchOutcome::NotModified) => Finding::ok("feed", format!("{label}: reachable")),
            Ok(FetchOutcome::Fetched(body)) => {
                match parse_feed(&body.bytes, body.charset.as_deref(), Some(&body.final_url)) {
                    Ok(feed) => Finding::ok("feed", format!("{label}: {} items", feed.items.len())),
                    Err(e) => Finding::problem(
                        "feed",
                        format!("{label}: reachable, but not a readable feed ({e})"),
                    ),
                }
            }
        }
    }))
    .await
}
