//! Story clustering: precision and recall of "same story" over the
//! labelled pairs in `tests/fixtures/stories/`, and end to end through the
//! console chat: one alert per story and rule, later outlets as updates.

use std::{collections::HashMap, time::Duration};

use chrono::{TimeZone, Utc};
use serde::Deserialize;
use wirewatch::{
    app::App,
    pipeline::{IngestReport, PollOutcome},
    stories::{Probe, Signature, StoryIndex},
};

use crate::{
    end_to_end::rss,
    support::{
        app::{TestDb, spawn_app, test_settings},
        feed_server::FeedServer,
    },
};

const FIXTURE: &str = include_str!("fixtures/stories/articles.toml");

#[derive(Deserialize)]
struct Fixture {
    story: Vec<Story>,
}

#[derive(Deserialize)]
struct Story {
    topic: String,
    id: String,
    version: Vec<Version>,
}

#[derive(Deserialize)]
struct Version {
    outlet: String,
    title: String,
    body: String,
}

struct Labelled<'a> {
    story: &'a str,
    topic: &'a str,
    name: String,
    signature: Signature,
}

fn articles(fixture: &Fixture) -> Vec<Labelled<'_>> {
    fixture
        .story
        .iter()
        .flat_map(|s| {
            s.version.iter().map(move |v| Labelled {
                story: &s.id,
                topic: &s.topic,
                name: format!("{} / {}", s.id, v.outlet),
                signature: Signature::of(&v.title, &v.body),
            })
        })
        .collect()
}

fn window() -> Duration {
    Duration::from_secs(48 * 3600)
}

/// Whether `b` joins `a`'s story: an index holding only `a`, probed with
/// `b`, so that the LSH candidate step is part of what is measured.
fn joins(a: &Labelled<'_>, b: &Labelled<'_>) -> bool {
    let mut index = StoryIndex::new(window());
    let t = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("time");
    index.insert(1, 1, t, None, None, a.signature.clone());
    index
        .find(&Probe {
            canonical_url: None,
            guid: None,
            signature: &b.signature,
        })
        .is_some()
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

#[test]
fn same_story_pairs_are_found_with_high_precision_and_recall() {
    let fixture: Fixture = toml::from_str(FIXTURE).expect("fixture parses");
    let all = articles(&fixture);
    let mut counts = Counts::default();
    let mut mistakes = Vec::new();
    let mut pairs = 0;
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            // The labelled pairs: one story's versions, and different
            // stories of one topic.
            if a.topic != b.topic {
                continue;
            }
            pairs += 1;
            let same = a.story == b.story;
            let found = joins(a, b);
            match (same, found) {
                (true, true) => counts.tp += 1,
                (false, true) => {
                    counts.fp += 1;
                    mistakes.push(format!("merged: {} ~ {}", a.name, b.name));
                }
                (true, false) => {
                    counts.fn_ += 1;
                    mistakes.push(format!("missed: {} ~ {}", a.name, b.name));
                }
                (false, false) => counts.tn += 1,
            }
        }
    }
    println!(
        "story pairs: {pairs} ({} same, {} different); precision {:.3}, recall {:.3}",
        counts.tp + counts.fn_,
        counts.fp + counts.tn,
        counts.precision(),
        counts.recall()
    );
    for m in &mistakes {
        println!("  {m}");
    }
    assert!(
        pairs >= 100,
        "the fixture needs at least 100 pairs, has {pairs}"
    );
    assert!(counts.precision() >= 0.95, "precision {:?}", counts);
    assert!(counts.recall() >= 0.90, "recall {:?}", counts);
}

#[test]
fn clustering_the_whole_fixture_gives_one_story_per_event() {
    let fixture: Fixture = toml::from_str(FIXTURE).expect("fixture parses");
    let all = articles(&fixture);
    let mut index = StoryIndex::new(window());
    let t = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("time");
    // Versions arrive interleaved: every wire copy first, then the copies.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| (i % 3, i));
    let mut story_of: HashMap<usize, i64> = HashMap::new();
    for (n, &i) in order.iter().enumerate() {
        let id = i64::try_from(i).expect("small");
        let probe = Probe {
            canonical_url: None,
            guid: None,
            signature: &all[i].signature,
        };
        let story = index.find(&probe).map_or(id, |j| j.story_id);
        story_of.insert(i, story);
        let at = t + chrono::Duration::minutes(i64::try_from(n).expect("small"));
        index.insert(id, story, at, None, None, all[i].signature.clone());
    }
    let mut counts = Counts::default();
    for i in 0..all.len() {
        for j in i + 1..all.len() {
            let same = all[i].story == all[j].story;
            let found = story_of[&i] == story_of[&j];
            match (same, found) {
                (true, true) => counts.tp += 1,
                (false, true) => counts.fp += 1,
                (true, false) => counts.fn_ += 1,
                (false, false) => counts.tn += 1,
            }
        }
    }
    println!(
        "whole fixture ({} articles, all pairs): precision {:.3}, recall {:.3}",
        all.len(),
        counts.precision(),
        counts.recall()
    );
    assert!(counts.precision() >= 0.95, "{counts:?}");
    assert!(counts.recall() >= 0.90, "{counts:?}");
}

/// One wire story as three outlets carry it: the original, a trimmed copy
/// with boilerplate, and a rewrite that adds a paragraph naming a person.
pub(crate) const WIRE: (&str, &str, &str) = (
    "wire-1",
    "UN Security Council demands immediate Gaza ceasefire as US abstains",
    "The UN Security Council on Monday adopted a resolution demanding an immediate \
     ceasefire in Gaza for the month of Ramadan, after the United States abstained rather \
     than using its veto. The other 14 members of the council voted in favour of resolution \
     2728, which was put forward by the council's ten elected members. It also demands the \
     immediate and unconditional release of all hostages. The room broke into applause \
     after the vote.",
);
pub(crate) const COPY: (&str, &str, &str) = (
    "copy-7",
    "Security Council passes Ramadan ceasefire resolution",
    "The UN Security Council on Monday adopted a resolution demanding an immediate \
     ceasefire in Gaza for the month of Ramadan, after the United States abstained rather \
     than using its veto. The other 14 members of the council voted in favour of resolution \
     2728, which was put forward by the council's ten elected members. This article is \
     from a news agency. Follow us for live updates.",
);
pub(crate) const REWRITE: (&str, &str, &str) = (
    "story-99",
    "Washington stands aside as UN council calls for Gaza truce",
    "The UN Security Council on Monday adopted a resolution demanding an immediate \
     ceasefire in Gaza for the month of Ramadan, after the United States abstained rather \
     than using its veto. The other 14 members of the council voted in favour of resolution \
     2728, which also demands the immediate and unconditional release of all hostages. \
     Foreign Secretary David Cameron welcomed the vote and said aid must reach Gaza.",
);

fn three_outlets(server: &FeedServer, rules: &[&str]) -> String {
    let mut config = String::new();
    for (path, name) in [
        ("/a.xml", "Wire A"),
        ("/b.xml", "Outlet B"),
        ("/c.xml", "Outlet C"),
    ] {
        config.push_str(&format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\nbackfill = \"all\"\n",
            server.url(path)
        ));
    }
    for rule in rules {
        config.push_str(&format!("[[console.rules]]\nspec = \"{rule}\"\n"));
    }
    config
}

async fn poll(app: &App, name: &str) -> IngestReport {
    let feeds = app.store().active_feeds().await.expect("feeds");
    let feed = feeds
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .expect("feed configured");
    match app.pipeline().poll(feed, Utc::now()).await.expect("poll") {
        PollOutcome::Ingested(report) => report,
        other => panic!("poll of {name}: {other:?}"),
    }
}

async fn deliver(app: &App) {
    app.delivery()
        .deliver_due(Utc::now())
        .await
        .expect("delivery");
}

#[tokio::test]
async fn a_story_carried_by_three_feeds_gives_one_alert_and_one_update() {
    let server = FeedServer::start().await;
    server.set("/a.xml", rss(&[WIRE]), "application/rss+xml");
    server.set("/b.xml", rss(&[COPY]), "application/rss+xml");
    server.set("/c.xml", rss(&[REWRITE]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(
        &db,
        &three_outlets(&server, &["keyword:UN Security Council"]),
    ))
    .await;

    let first = poll(&t.app, "Wire A").await;
    assert_eq!((first.alerts, first.joined_stories), (1, 0));
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].starts_with("ALERT  UN Security Council demands"),
        "{}",
        printed[0]
    );

    // Two more outlets carry it before the next delivery: no new alert,
    // one update naming both.
    let second = poll(&t.app, "Outlet B").await;
    let third = poll(&t.app, "Outlet C").await;
    for report in [&second, &third] {
        assert_eq!((report.hits, report.alerts), (1, 0), "{report:?}");
        assert_eq!(
            (report.joined_stories, report.story_updates),
            (1, 1),
            "{report:?}"
        );
    }
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(
        printed[0],
        "UPDATE UN Security Council demands immediate Gaza ceasefire as US abstains \
         · also: Outlet B, Outlet C"
    );
    assert_eq!(t.app.store().pending_count().await.expect("count"), 0);
}

#[tokio::test]
async fn outlets_that_join_before_the_alert_is_sent_are_in_the_alert() {
    let server = FeedServer::start().await;
    server.set("/a.xml", rss(&[WIRE]), "application/rss+xml");
    server.set("/b.xml", rss(&[COPY]), "application/rss+xml");
    server.set("/c.xml", rss(&[]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(
        &db,
        &three_outlets(&server, &["keyword:UN Security Council"]),
    ))
    .await;
    poll(&t.app, "Wire A").await;
    poll(&t.app, "Outlet B").await;
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].contains("Wire A · 2026-11-27 09:00 UTC (also: Outlet B)"),
        "{}",
        printed[0]
    );
}

#[tokio::test]
async fn a_story_matching_a_new_rule_of_the_chat_alerts_for_that_rule_only() {
    let server = FeedServer::start().await;
    server.set("/a.xml", rss(&[WIRE]), "application/rss+xml");
    server.set("/b.xml", rss(&[]), "application/rss+xml");
    server.set("/c.xml", rss(&[REWRITE]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(
        &db,
        &three_outlets(
            &server,
            &["keyword:UN Security Council", "person:David Cameron"],
        ),
    ))
    .await;
    poll(&t.app, "Wire A").await;
    deliver(&t.app).await;
    assert_eq!(t.printed().len(), 1);

    // The rewrite mentions a watched person: an alert for that rule only,
    // and the first alert gets the outlet.
    let report = poll(&t.app, "Outlet C").await;
    assert_eq!(
        (report.hits, report.alerts, report.story_updates),
        (2, 1, 1),
        "{report:?}"
    );
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 2, "{printed:?}");
    let (updates, alerts): (Vec<&String>, Vec<&String>) =
        printed.iter().partition(|p| p.starts_with("UPDATE"));
    assert_eq!(updates.len(), 1, "{printed:?}");
    assert!(updates[0].ends_with("also: Outlet C"), "{}", updates[0]);
    assert!(alerts[0].contains("person:David Cameron"), "{}", alerts[0]);
    assert!(
        !alerts[0].contains("keyword:UN Security Council"),
        "{}",
        alerts[0]
    );
}

#[tokio::test]
async fn the_story_index_is_rebuilt_from_the_store_after_a_restart() {
    let server = FeedServer::start().await;
    server.set("/a.xml", rss(&[WIRE]), "application/rss+xml");
    server.set("/b.xml", rss(&[COPY]), "application/rss+xml");
    server.set("/c.xml", rss(&[]), "application/rss+xml");
    let db = TestDb::new();
    let settings = || {
        test_settings(
            &db,
            &three_outlets(&server, &["keyword:UN Security Council"]),
        )
    };
    let mut t = spawn_app(settings()).await;
    poll(&t.app, "Wire A").await;
    deliver(&t.app).await;
    assert_eq!(t.printed().len(), 1);
    drop(t);

    let mut t = spawn_app(settings()).await;
    let report = poll(&t.app, "Outlet B").await;
    assert_eq!((report.alerts, report.joined_stories), (0, 1), "{report:?}");
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(printed[0].starts_with("UPDATE"), "{}", printed[0]);
}

#[tokio::test]
async fn check_shows_which_earlier_article_of_the_run_a_copy_joins_and_why() {
    let db = TestDb::new();
    let feed = db.dir.path().join("two-outlets.xml");
    std::fs::write(&feed, rss(&[WIRE, COPY])).expect("write feed");
    let rules =
        wirewatch::check::CheckRules::parse([("--rule".to_owned(), "keyword:UN Security Council")])
            .expect("rule parses");
    let output = wirewatch::check::CheckOutput {
        json: true,
        summary: false,
    };
    let mut out: Vec<u8> = Vec::new();
    wirewatch::check::run_check(
        &test_settings(&db, ""),
        &rules,
        &[feed.display().to_string()],
        output,
        &mut out,
    )
    .await
    .expect("check runs");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].get("story").is_none(), "{}", lines[0]);
    let story = &lines[1]["story"];
    assert_eq!(story["first_article"], 1, "{}", lines[1]);
    let reason = story["reason"].as_str().expect("reason");
    assert!(reason.contains("% similar to article 1"), "{reason}");
}
