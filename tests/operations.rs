//! Operating wirewatch: OPML in and out, feed health in chat, `/healthz`
//! `/readyz` `/metrics`, JSON logs, `doctor`, and tokens kept out of all
//! of them.

use std::{path::Path, process::Stdio, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::{io::AsyncReadExt, process::Command, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use wirewatch::{
    chat::{Chat, ChatTarget, Outgoing, Platform, SendError, Sent, console::CONSOLE_CHAT_ID},
    commands::Invoker,
    config::Settings,
    http::{HttpState, serve},
    metrics::Metrics,
    opml::parse_opml,
    pipeline::PollOutcome,
    store::Store,
};

use crate::support::{
    app::{TestApp, TestDb, spawn_app, test_settings},
    feed_server::FeedServer,
    news::rss,
    telegram_api::{FakeTelegram, TOKEN},
};

const BIN: &str = env!("CARGO_BIN_EXE_wirewatch");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opml");

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn wirewatch(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> Output {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("wirewatch finished within 60 s")
    .expect("wirewatch runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A config file for the binary, on `db`, with `extra` TOML.
fn config_file(db: &TestDb, extra: &str) -> String {
    let path = db.dir.path().join("wirewatch.toml");
    let text = format!(
        "[database]\nurl = \"{}\"\n[polling]\nallow_private_addresses = true\njitter_secs = 0\ntimeout_secs = 5\n[http]\nlisten = \"\"\n{extra}",
        db.url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// (xmlUrl, title, folders) of every feed entry of an OPML document.
fn entries(opml: &str) -> Vec<(String, String, Vec<String>)> {
    parse_opml(opml.as_bytes())
        .expect("valid OPML")
        .into_iter()
        .map(|e| {
            (
                e.xml_url.unwrap_or_default(),
                e.title.unwrap_or_default(),
                e.folders,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_newsroom_opml_with_nested_folders_imports_and_lists_what_it_skipped() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let config = config_file(&db, "");
    let file = fixture("newsroom.opml");

    let out = wirewatch(&["feeds", "import", "--config", &config, &file], dir, &[]).await;
    // Invalid entries make the exit code 1, so scripts notice.
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report = out.stdout;
    for line in [
        "Imported 7 new feeds from ",
        "  #1 BBC News - World",
        "  #7 GOV.UK FCDO",
        "Skipped 1 duplicate:",
        "  line 26: BBC World (again): https://feeds.bbci.co.uk/news/world/rss.xml repeats line 14",
        "Skipped 2 invalid entries:",
        "  line 29: Intranet wire: xmlUrl \"ftp://wire.internal.example/feed.xml\": unsupported URL scheme \"ftp\"",
        "  line 30: Desk wiki: it has no xmlUrl, so it is not a feed",
    ] {
        assert!(
            report.lines().any(|l| l.starts_with(line)),
            "no line {line:?} in:\n{report}"
        );
    }

    // Importing again adds nothing and says why.
    let again = wirewatch(&["feeds", "import", "--config", &config, &file], dir, &[]).await;
    assert!(
        again.stdout.starts_with("Imported 0 new feeds"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("Skipped 8 duplicates:")
            && again
                .stdout
                .contains("line 14: BBC News - World: already watched as feed #1"),
        "{}",
        again.stdout
    );

    // The export keeps the folders.
    let export = wirewatch(&["feeds", "export", "--config", &config], dir, &[]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert!(export.stdout.contains("<opml version=\"2.0\">"));
    let exported = entries(&export.stdout);
    assert_eq!(exported.len(), 7, "{}", export.stdout);
    let folders_of = |url: &str| {
        exported
            .iter()
            .find(|(u, _, _)| u == url)
            .map(|(_, _, f)| f.clone())
            .unwrap_or_else(|| panic!("{url} not exported"))
    };
    assert_eq!(
        folders_of("https://www.aljazeera.com/xml/rss/all.xml"),
        ["Wires & broadcasters", "International"]
    );
    assert_eq!(
        folders_of("https://news.un.org/feed/subscribe/en/news/all/rss.xml"),
        ["Institutions"]
    );
}

#[tokio::test]
async fn what_export_writes_imports_into_a_new_database_unchanged() {
    let first = TestDb::new();
    let config = config_file(&first, "");
    let dir = first.dir.path();
    wirewatch(
        &[
            "feeds",
            "import",
            "--config",
            &config,
            &fixture("newsroom.opml"),
        ],
        dir,
        &[],
    )
    .await;
    let exported = wirewatch(&["feeds", "export", "--config", &config], dir, &[]).await;
    let export_path = dir.join("export.opml");
    std::fs::write(&export_path, &exported.stdout).unwrap();

    let second = TestDb::new();
    let config2 = config_file(&second, "");
    let out = wirewatch(
        &[
            "feeds",
            "import",
            "--config",
            &config2,
            &export_path.display().to_string(),
        ],
        second.dir.path(),
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("Imported 7 new feeds"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("Skipped"), "{}", out.stdout);
    let again = wirewatch(&["feeds", "export", "--config", &config2], dir, &[]).await;
    assert_eq!(entries(&again.stdout), entries(&exported.stdout));
}

#[tokio::test]
async fn an_opml_file_cut_short_is_refused_and_nothing_is_imported() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let config = config_file(&db, "");
    let out = wirewatch(
        &[
            "feeds",
            "import",
            "--config",
            &config,
            &fixture("truncated.opml"),
        ],
        dir,
        &[],
    )
    .await;
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("truncated.opml: malformed XML at line")
            && out.stderr.contains("nothing was imported"),
        "{}",
        out.stderr
    );
    let export = wirewatch(&["feeds", "export", "--config", &config], dir, &[]).await;
    assert!(entries(&export.stdout).is_empty(), "{}", export.stdout);

    let not_opml = dir.join("feed.opml");
    std::fs::write(&not_opml, rss(&[])).unwrap();
    let out = wirewatch(
        &[
            "feeds",
            "import",
            "--config",
            &config,
            &not_opml.display().to_string(),
        ],
        dir,
        &[],
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("not an OPML document: the root element is <rss>, not <opml>"),
        "{}",
        out.stderr
    );
}

// ---- feed health in chat ----

const STORY: (&str, &str, &str) = (
    "story-1",
    "Ministers meet in New York",
    "The UN Security Council met on Friday to discuss the ceasefire.",
);
const LATER_STORY: (&str, &str, &str) = (
    "story-2",
    "Council vote delayed",
    "A vote at the UN Security Council was delayed to Monday.",
);

async fn poll_at(t: &TestApp, now: DateTime<Utc>) -> PollOutcome {
    let feed = &t.app.store().active_feeds().await.unwrap()[0];
    let outcome = t.app.pipeline().poll(feed, now).await.unwrap();
    t.app.delivery().deliver_due(now).await.unwrap();
    outcome
}

async fn console_command(t: &TestApp, text: &str, now: DateTime<Utc>) -> String {
    let invoker = Invoker {
        platform: Platform::Console,
        chat_id: CONSOLE_CHAT_ID.to_owned(),
        may_manage: true,
    };
    t.app
        .commands()
        .handle(&invoker, text, None, now)
        .await
        .expect("a reply")
        .text
}

#[tokio::test]
async fn a_feed_that_keeps_failing_is_reported_once_and_its_recovery_once() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[STORY]), "application/rss+xml");
    let db = TestDb::new();
    let settings = test_settings(
        &db,
        &format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
            server.url("/world.xml")
        ),
    );
    let mut settings = settings;
    settings.polling.unhealthy_after_secs = 600;
    let mut t = spawn_app(settings).await;
    let t0 = Utc::now();
    let at = |minutes: i64| t0 + chrono::Duration::minutes(minutes);

    // The console's rule has a hit from this feed: the console uses it.
    assert!(matches!(poll_at(&t, at(0)).await, PollOutcome::Ingested(_)));
    assert_eq!(t.printed().len(), 1, "the alert");

    server.fail("/world.xml", 500);
    for minute in [1, 5, 10] {
        assert!(matches!(
            poll_at(&t, at(minute)).await,
            PollOutcome::Failed { .. }
        ));
    }
    assert!(
        t.printed().is_empty(),
        "failing for 9 min: not yet reported"
    );
    let feeds = console_command(&t, "/feeds", at(10)).await;
    assert!(
        feeds.contains("#1 Loopback News — FAILING for 9 min — the server answered 500"),
        "{feeds}"
    );

    // Past the 10 minutes: reported once, however long it goes on.
    for minute in [12, 30, 90, 300] {
        poll_at(&t, at(minute)).await;
    }
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert_eq!(
        printed[0],
        "Feed #1 Loopback News is failing: nothing could be read from it for 11 min. Last error: the server answered 500 Internal Server Error. Its new articles will be matched as soon as it works again; you will be told."
    );

    // It recovers (with a new story): one notice, then quiet.
    server.restore("/world.xml");
    server.set(
        "/world.xml",
        rss(&[LATER_STORY, STORY]),
        "application/rss+xml",
    );
    assert!(matches!(
        poll_at(&t, at(301)).await,
        PollOutcome::Ingested(_)
    ));
    poll_at(&t, at(302)).await;
    let printed = t.printed();
    let notices: Vec<&String> = printed.iter().filter(|m| m.starts_with("Feed #")).collect();
    assert_eq!(notices.len(), 1, "{printed:#?}");
    assert_eq!(
        notices[0],
        "Feed #1 Loopback News has recovered and is being read again (it was reported failing 4 h ago)."
    );
    assert_eq!(printed.len(), 2, "the notice and the new story's alert");

    // Failing again later is a new run of failures: reported again.
    server.fail("/world.xml", 503);
    poll_at(&t, at(400)).await;
    poll_at(&t, at(420)).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0].contains("503 Service Unavailable"),
        "{printed:#?}"
    );

    let feeds = console_command(&t, "/feeds", at(420)).await;
    assert_eq!(
        feeds,
        "1 source, 1 failing:\n#1 Loopback News — FAILING for 20 min — the server answered 503 Service Unavailable; 2 items in 24 h; last new item 119 min ago"
    );
}

/// What waits in the outbox for a chat without a running adapter.
async fn waiting_for(t: &TestApp, platform: &str, chat_id: &str) -> Vec<String> {
    let far = Utc::now() + chrono::Duration::days(365);
    t.app
        .store()
        .due_messages(far, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.platform == platform && m.chat_id == chat_id)
        .map(|m| m.payload)
        .collect()
}

#[tokio::test]
async fn recovery_is_told_only_to_the_chats_told_of_the_failure() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[STORY]), "application/rss+xml");
    let db = TestDb::new();
    let mut settings = test_settings(
        &db,
        &format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
            server.url("/world.xml")
        ),
    );
    settings.polling.unhealthy_after_secs = 600;
    let mut t = spawn_app(settings).await;
    let t0 = Utc::now();
    let at = |minutes: i64| t0 + chrono::Duration::minutes(minutes);
    poll_at(&t, at(0)).await;
    assert_eq!(t.printed().len(), 1, "the alert");

    // Failing, but working again before the threshold: no notice at all.
    server.fail("/world.xml", 500);
    poll_at(&t, at(1)).await;
    poll_at(&t, at(9)).await;
    server.restore("/world.xml");
    assert!(matches!(
        poll_at(&t, at(10)).await,
        PollOutcome::NotModified | PollOutcome::Ingested(_)
    ));
    poll_at(&t, at(30)).await;
    assert!(t.printed().is_empty(), "{:#?}", t.printed());
    assert_eq!(t.app.store().pending_count().await.unwrap(), 0);

    // Failing past the threshold: the console is told.
    server.fail("/world.xml", 500);
    poll_at(&t, at(40)).await;
    poll_at(&t, at(55)).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(printed[0].contains("is failing"), "{printed:#?}");

    // A Telegram chat starts watching what the feed carries only now.
    let telegram = Invoker {
        platform: Platform::Telegram,
        chat_id: "-1001".to_owned(),
        may_manage: true,
    };
    let reply = t
        .app
        .commands()
        .handle(&telegram, "/watch keyword vote", None, at(56))
        .await
        .expect("a reply");
    assert!(reply.text.starts_with("Watching #"), "{reply:?}");

    // It recovers with a story for both chats: both get the alert, only
    // the console hears of the recovery.
    server.restore("/world.xml");
    server.set(
        "/world.xml",
        rss(&[LATER_STORY, STORY]),
        "application/rss+xml",
    );
    assert!(matches!(
        poll_at(&t, at(60)).await,
        PollOutcome::Ingested(_)
    ));
    let printed = t.printed();
    assert_eq!(printed.len(), 2, "{printed:#?}");
    assert!(
        printed.iter().any(|m| m.contains("has recovered")),
        "{printed:#?}"
    );
    let waiting = waiting_for(&t, "telegram", "-1001").await;
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert!(waiting[0].contains("Council vote delayed"), "{waiting:#?}");
    assert!(!waiting[0].contains("recovered"), "{waiting:#?}");
}

// ---- /healthz, /readyz, /metrics ----

/// Serves the app's endpoints on a free loopback port; returns the base URL.
async fn serve_http(state: HttpState) -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, state, stop.clone()));
    (base, stop)
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn metric_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[tokio::test]
async fn metrics_after_a_run_show_exactly_what_happened() {
    let server = FeedServer::start().await;
    server.set(
        "/world.xml",
        rss(&[
            (
                "a",
                "Ministers meet in New York",
                "The UN Security Council met on Friday to discuss Russia and the ceasefire.",
            ),
            (
                "b",
                "Council vote delayed",
                "A vote at the UN Security Council was delayed to Monday.",
            ),
            (
                "c",
                "Markets open higher",
                "Shares rose in early trading in Tokyo.",
            ),
        ]),
        "application/rss+xml",
    );
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(
        &db,
        &format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n[[console.rules]]\nspec = \"country:Russia\"\n",
            server.url("/world.xml")
        ),
    ))
    .await;
    let (polls, delivered) = t.app.run_once().await.unwrap();
    assert_eq!((polls.new_articles, polls.hits), (3, 3));
    assert_eq!(delivered.sent, 2);
    assert_eq!(t.printed().len(), 2);
    // Unchanged (304), then failing.
    t.app.run_once().await.unwrap();
    server.fail("/world.xml", 500);
    t.app.run_once().await.unwrap();

    let (base, stop) = serve_http(t.app.http_state()).await;
    assert_eq!(get(&format!("{base}/healthz")).await, (200, "ok\n".into()));
    assert_eq!(
        get(&format!("{base}/readyz")).await,
        (200, "ready\n".into())
    );
    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let lines = metric_lines(&text);
    for want in [
        "wirewatch_polls_total{outcome=\"ok\"} 1",
        "wirewatch_polls_total{outcome=\"not_modified\"} 1",
        "wirewatch_polls_total{outcome=\"failed\"} 1",
        "wirewatch_poll_not_modified_ratio 0.5",
        "wirewatch_fetch_duration_seconds_count 3",
        "wirewatch_parse_duration_seconds_count 1",
        "wirewatch_match_duration_seconds_count 1",
        "wirewatch_articles_ingested_total 3",
        "wirewatch_hits_total{kind=\"keyword\"} 2",
        "wirewatch_hits_total{kind=\"country\"} 1",
        "wirewatch_messages_sent_total{platform=\"console\"} 2",
        "wirewatch_articles_stored 3",
        "wirewatch_hits_stored 3",
        "wirewatch_outbox_pending 0",
        "wirewatch_outbox_oldest_pending_age_seconds 0.0",
        "wirewatch_feeds 1",
        "wirewatch_feeds_failing 1",
    ] {
        assert!(lines.contains(&want), "no {want:?} in\n{text}");
    }
    assert!(
        !text.contains("messages_failed_total{") && !text.contains("rate_limit_waits_total{"),
        "nothing failed or waited:\n{text}"
    );
    stop.cancel();
}

/// A chat adapter whose platform connection can be cut.
struct Unplugged;

#[async_trait]
impl Chat for Unplugged {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }
    fn is_connected(&self) -> bool {
        false
    }
    async fn send(&self, _to: &ChatTarget, _msg: &Outgoing) -> Result<Sent, SendError> {
        Err(SendError::Unexpected(anyhow::anyhow!("unplugged")))
    }
}

#[tokio::test]
async fn readyz_fails_when_the_store_is_read_only_or_a_chat_is_disconnected() {
    let db = TestDb::new();
    let store = Store::open(&db.url()).await.unwrap();
    let (base, stop) = serve_http(HttpState {
        store: store.clone(),
        metrics: Metrics::new(),
        chats: vec![],
    })
    .await;
    assert_eq!(get(&format!("{base}/readyz")).await.0, 200);
    stop.cancel();

    // The same database, opened read-only.
    let read_only = Store::open(&format!("{}?mode=ro", db.url())).await.unwrap();
    let (base, stop) = serve_http(HttpState {
        store: read_only,
        metrics: Metrics::new(),
        chats: vec![],
    })
    .await;
    assert_eq!(
        get(&format!("{base}/readyz")).await,
        (503, "not ready\nstore: not writable\n".into())
    );
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200, "still alive");
    stop.cancel();

    let (base, stop) = serve_http(HttpState {
        store,
        metrics: Metrics::new(),
        chats: vec![Arc::new(Unplugged)],
    })
    .await;
    assert_eq!(
        get(&format!("{base}/readyz")).await,
        (503, "not ready\ntelegram: not connected\n".into())
    );
    stop.cancel();
}

// ---- logs, doctor, secrets ----

#[tokio::test]
async fn json_logs_tie_a_poll_its_hit_and_the_delivery_together() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[STORY]), "application/rss+xml");
    let db = TestDb::new();
    let config = config_file(
        &db,
        &format!(
            "[log]\nformat = \"json\"\n[[feeds]]\nurl = \"{}\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
            server.url("/world.xml")
        ),
    );
    let out = wirewatch(
        &["run", "--once", "--config", &config],
        db.dir.path(),
        &[("RUST_LOG", "info,wirewatch=debug,sqlx=warn")],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let find = |message: &str| {
        events
            .iter()
            .find(|e| e["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} in {events:#?}"))
    };
    let hit = find("hit");
    let queued = find("alert queued");
    let sent = find("sent");
    let ingested = find("feed ingested");
    assert_eq!(hit["span"]["feed_id"], 1, "{hit}");
    assert_eq!(ingested["feed_id"], 1);
    assert_eq!(hit["article_id"], queued["article_id"]);
    assert_eq!(queued["message_id"], sent["message_id"]);
    assert!(hit["rule_id"].is_i64());

    // The flag wins over the config.
    let out = wirewatch(
        &[
            "run",
            "--once",
            "--config",
            &config,
            "--log-format",
            "human",
        ],
        db.dir.path(),
        &[],
    )
    .await;
    assert!(!out.stderr.trim_start().starts_with('{'), "{}", out.stderr);
}

#[tokio::test]
async fn doctor_says_what_is_wrong_in_plain_words() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[STORY]), "application/rss+xml");
    server.fail("/broken.xml", 503);
    let db = TestDb::new();
    let config = config_file(
        &db,
        &format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\n[[feeds]]\nurl = \"{}\"\nname = \"Broken\"\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"http://127.0.0.1:9\"\n",
            server.url("/world.xml"),
            server.url("/broken.xml")
        ),
    );
    let out = wirewatch(&["doctor", "--config", &config], db.dir.path(), &[]).await;
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report = out.stdout;
    let has = |prefix: &str, needle: &str| {
        report
            .lines()
            .any(|l| l.starts_with(prefix) && l.contains(needle))
    };
    assert!(has("ok    config", "2 feeds"), "{report}");
    assert!(has("ok    database", "writable"), "{report}");
    assert!(
        has(
            "FAIL  telegram",
            "http://127.0.0.1:9: cannot connect (network, DNS or firewall?)"
        ),
        "{report}"
    );
    assert!(has("ok    feed", "Loopback News"), "{report}");
    assert!(has("ok    feed", "1 items"), "{report}");
    assert!(
        has("FAIL  feed", "Broken (http://127.0.0.1:")
            && has("FAIL  feed", "the server answered 503"),
        "{report}"
    );
    assert!(report.ends_with("2 problems found.\n"), "{report}");

    let bad = db.dir.path().join("bad.toml");
    std::fs::write(&bad, "[polling]\nschedule = \"often\"\n").unwrap();
    let out = wirewatch(
        &["doctor", "--config", &bad.display().to_string()],
        db.dir.path(),
        &[],
    )
    .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .starts_with("FAIL  config    config key `polling.schedule`"),
        "{}",
        out.stdout
    );
}

/// Collects everything a child writes to a pipe, as it writes it (a full
/// pipe would block the child).
fn collect(mut pipe: impl AsyncReadExt + Unpin + Send + 'static) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all).await;
        String::from_utf8_lossy(&all).into_owned()
    })
}

#[tokio::test]
async fn the_token_never_appears_in_trace_logs_metrics_doctor_output_or_chat_replies() {
    const USER: i64 = 1001;
    let tg = FakeTelegram::start().await;
    tg.add_private_chat(USER);
    tg.user_sends(USER, USER, "/watch keyword UN Security Council");
    tg.user_sends(USER, USER, "/feeds");
    tg.user_sends(USER, USER, "/help");
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[STORY]), "application/rss+xml");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let db = TestDb::new();
    let config = config_file(
        &db,
        &format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\n",
            tg.api_url(),
            server.url("/world.xml")
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\"")),
    )
    .unwrap();

    let mut child = Command::new(BIN)
        .args(["run", "--config", &config])
        .current_dir(db.dir.path())
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = collect(child.stderr.take().unwrap());
    let stdout = collect(child.stdout.take().unwrap());
    let replies = tg.wait_for_sent(USER, 3).await;
    let (status, metrics) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("wirewatch_polls_total"), "{metrics}");
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let logs = stderr.await.unwrap() + &stdout.await.unwrap();
    assert!(logs.lines().count() > 100, "trace logging was on:\n{logs}");
    let api = tg.api_url();
    assert!(
        logs.contains(api.trim_start_matches("http://")),
        "the Telegram traffic is in the trace (else this test proves little)"
    );

    let doctor = wirewatch(&["doctor", "--config", &config], db.dir.path(), &[]).await;
    assert!(
        doctor.stdout.contains("ok    telegram"),
        "{}",
        doctor.stdout
    );
    let debug = format!(
        "{:?}",
        Settings::load(Path::new(&config)).expect("config loads")
    );

    let secret = TOKEN.split_once(':').unwrap().1;
    let replies: Vec<String> = replies.iter().map(|r| format!("{r:?}")).collect();
    for (what, text) in [
        ("logs", logs.as_str()),
        ("metrics", metrics.as_str()),
        ("doctor", &(doctor.stdout + &doctor.stderr)),
        ("chat replies", &replies.join("\n")),
        ("config debug output", debug.as_str()),
    ] {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(
            !text.contains(secret),
            "the token appears in {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn the_production_config_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.toml");
    let settings = Settings::load(&path).expect("config/production.toml loads");
    assert!(!settings.feeds.is_empty());
    assert!(settings.http.listen.0.is_some());
}
