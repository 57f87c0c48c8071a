//! The binary as a user runs it: exit codes, error messages, `check`,
//! `run --once`, and a kill in the middle of `run`.

use std::{path::Path, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

use crate::support::{app::TestDb, feed_server::FeedServer, news::rss};

const BIN: &str = env!("CARGO_BIN_EXE_wirewatch");

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn wirewatch(args: &[&str], dir: &Path) -> Output {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn config(db: &TestDb, server: &FeedServer) -> String {
    format!(
        "[database]\nurl = \"{}\"\n[polling]\nallow_private_addresses = true\njitter_secs = 0\nschedule = \"*/1 * * * * *\"\n[http]\nlisten = \"\"\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
        db.url(),
        server.url("/world.xml")
    )
}

type LogLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Starts `wirewatch run` with its stdout and log (stderr) piped.
fn spawn_run(dir: &Path, config: &str, rust_log: &str) -> (tokio::process::Child, LogLines) {
    let mut child = Command::new(BIN)
        .args(["run", "--config", config])
        .current_dir(dir)
        .env("RUST_LOG", rust_log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wirewatch starts");
    let log = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    (child, log)
}

/// Reads log lines until one contains `needle`; fails after 60 s.
async fn wait_for_log(log: &mut LogLines, needle: &str) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = log.next_line().await.expect("readable log") {
            if line.contains(needle) {
                return;
            }
        }
        panic!("wirewatch exited before logging {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in the log within 60 s"));
}

#[tokio::test]
async fn config_errors_name_the_key_and_exit_non_zero() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let cases = [
        (
            "[polling]\nschedule = \"every minute\"\n",
            "polling.schedule",
        ),
        ("[polling]\nfrequency = 5\n", "frequency"),
        ("[[feeds]]\nurl = \"gopher://x\"\n", "feeds[0].url"),
        ("[digest]\nzone = \"Europe/Lundon\"\n", "Europe/London"),
    ];
    for (text, needle) in cases {
        let path = write(dir, "bad.toml", text);
        let out = wirewatch(&["run", "--once", "--config", &path], dir).await;
        assert_eq!(out.code, 2, "{text}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{text}: stderr lacks {needle:?}: {}",
            out.stderr
        );
        assert!(
            !dir.join("data").exists(),
            "nothing may start with a bad config"
        );
    }
    let out = wirewatch(&["run", "--config", "/nonexistent/wirewatch.toml"], dir).await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("/nonexistent/wirewatch.toml"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn check_explains_a_match_in_json_with_the_rule_exactly_as_given() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let article = write(
        dir,
        "article.txt",
        "Ministers meet\nThe UN Security Council met in New York on Friday.\n",
    );
    let out = wirewatch(
        &[
            "check",
            "--json",
            "--rule",
            "keyword:UN Security Council",
            "--rule",
            "keyword:football",
            &article,
        ],
        dir,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    let matches = line["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{line}");
    assert_eq!(matches[0]["rule"], "keyword:UN Security Council");
    assert_eq!(matches[0]["terms"][0], "UN Security Council");
    assert!(
        matches[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("UN Security Council met")
    );

    // No match: exit 1 and an explanation, not silence.
    let out = wirewatch(&["check", "--rule", "keyword:football", &article], dir).await;
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("no rule matched"), "{}", out.stdout);
}

#[tokio::test]
async fn check_refuses_bad_rules_with_a_clear_message() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let article = write(dir, "a.txt", "text");
    let cases = [
        ("colour:red", "colour"),
        ("country:Narnia", "Narnia"),
        ("keyword:", "keyword"),
    ];
    for (spec, needle) in cases {
        let out = wirewatch(&["check", "--rule", spec, &article], dir).await;
        assert_eq!(out.code, 2, "{spec}");
        assert!(out.stderr.contains(needle), "{spec}: {}", out.stderr);
    }
    let out = wirewatch(&["check", &article], dir).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--rule"), "{}", out.stderr);
}

#[tokio::test]
async fn bulk_check_prints_one_line_per_article_and_a_totals_line() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let rules = write(
        dir,
        "rules.txt",
        "# analysts' rules\nkeyword:UN Security Council\n\ncountry:Russia\nperson:James Cleverly\n",
    );
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/samples");
    let out = wirewatch(&["check", "--rules-file", &rules, "--json", samples], dir).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (totals, articles) = lines.split_last().unwrap();
    assert_eq!(articles.len(), 5);
    assert_eq!(totals["articles"], 5);
    assert_eq!(totals["rules"], 3);
    assert!(totals["seconds"].as_f64().unwrap() >= 0.0);
    // "cleverly worded" and French "un accord" match nothing.
    let unmatched: Vec<&str> = articles
        .iter()
        .filter(|a| a["matches"].as_array().unwrap().is_empty())
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        unmatched,
        [
            "A cleverly worded budget leaves markets unmoved",
            "Sommet : un accord trouvé sur le climat"
        ]
    );
}

#[tokio::test]
async fn run_once_alerts_on_the_first_run_and_not_on_the_second() {
    let server = FeedServer::start().await;
    server.set(
        "/world.xml",
        rss(&[(
            "a1",
            "Council meets",
            "The UN Security Council met on Friday.",
        )]),
        "application/rss+xml",
    );
    let db = TestDb::new();
    let dir = db.dir.path();
    let path = write(dir, "test.toml", &config(&db, &server));
    let first = wirewatch(&["run", "--once", "--config", &path], dir).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout.matches("ALERT").count(), 1, "{}", first.stdout);
    assert!(first.stdout.contains("Council meets"));
    let second = wirewatch(&["run", "--once", "--config", &path], dir).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.stdout.matches("ALERT").count(),
        0,
        "{}",
        second.stdout
    );
}

#[tokio::test]
async fn migrate_creates_the_database() {
    let db = TestDb::new();
    let dir = db.dir.path();
    let path = write(
        dir,
        "m.toml",
        &format!("[database]\nurl = \"{}\"\n", db.url()),
    );
    let out = wirewatch(&["migrate", "--config", &path], dir).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.join("wirewatch.db").exists());
}

#[cfg(unix)]
#[tokio::test]
async fn a_killed_process_neither_loses_nor_repeats_an_alert() {
    let server = FeedServer::start().await;
    server.set(
        "/world.xml",
        rss(&[(
            "a1",
            "Council meets",
            "The UN Security Council met on Friday.",
        )]),
        "application/rss+xml",
    );
    let db = TestDb::new();
    let dir = db.dir.path();
    let path = write(dir, "test.toml", &config(&db, &server));
    let (mut child, mut log) = spawn_run(dir, &path, "warn,wirewatch::delivery=debug");
    // The delivery log line comes after the outbox row is marked sent.
    wait_for_log(&mut log, " sent ").await;
    // SIGKILL: no chance to clean up.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let mut printed = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stdout.take().unwrap(), &mut printed)
        .await
        .unwrap();
    assert_eq!(printed.matches("ALERT").count(), 1, "{printed}");
    assert!(printed.contains("Council meets"));

    // The feed gains a second story while the process is down.
    server.set(
        "/world.xml",
        rss(&[
            ("a2", "Second meeting", "The UN Security Council met again."),
            (
                "a1",
                "Council meets",
                "The UN Security Council met on Friday.",
            ),
        ]),
        "application/rss+xml",
    );
    let out = wirewatch(&["run", "--once", "--config", &path], dir).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.matches("ALERT").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("Second meeting"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("Council meets"),
        "the first alert was repeated: {}",
        out.stdout
    );
}

#[tokio::test]
async fn check_reads_an_article_from_a_url() {
    let server = FeedServer::start().await;
    server.set(
        "/story.html",
        "<html><head><title>Council meets</title></head><body><p>The <b>UN Security Council</b> met on Friday.</p><script>var UN = 1;</script></body></html>",
        "text/html; charset=utf-8",
    );
    let db = TestDb::new();
    let url = server.url("/story.html").to_string();
    let out = wirewatch(
        &[
            "check",
            "--json",
            "--rule",
            "keyword:UN Security Council",
            &url,
        ],
        db.dir.path(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(line["title"], "Council meets");
    assert_eq!(line["matches"][0]["rule"], "keyword:UN Security Council");
    assert!(
        !line["matches"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("var UN")
    );

    server.fail("/missing.xml", 404);
    let url = server.url("/missing.xml").to_string();
    let out = wirewatch(&["check", "--rule", "keyword:UN", &url], db.dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_bot_cleanly() {
    let server = FeedServer::start().await;
    server.set(
        "/world.xml",
        rss(&[("a1", "Council meets", "The UN Security Council met.")]),
        "application/rss+xml",
    );
    let db = TestDb::new();
    let dir = db.dir.path();
    let path = write(dir, "test.toml", &config(&db, &server));
    let (mut child, mut log) = spawn_run(dir, &path, "info");
    wait_for_log(&mut log, "feed ingested").await;
    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("wirewatch stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = Vec::new();
    while let Ok(Some(line)) = log.next_line().await {
        rest.push(line);
    }
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}
