//! Time to build and send a 500-hit digest.
//!
//! - `build_500`: the pure part: grouping 500 hits over 20 rules, ranking,
//!   the summary, and splitting into Telegram-sized parts.
//! - `make_and_send_500`: what a chat waits for once the digest is due: one
//!   transaction that claims 500 stored hits (with their articles, feeds
//!   and other outlets) and queues the parts, then the outbox worker
//!   sending every part to the console chat (captured). Each iteration gets
//!   500 fresh hits, stored before the clock starts.
//!
//! Run: `cargo bench --bench digest`.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use wirewatch::{
    alerts::digest::{DigestHit, DigestInput, build_digest, part_budget},
    app::App,
    chat::{Platform, console::ConsoleChat},
    config::Settings,
    feeds::{fetch::Validators, parse::FeedItem},
};

const HITS: i64 = 500;
const RULES: i64 = 20;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid time")
        .with_timezone(&Utc)
}

fn headline(i: i64) -> String {
    format!(
        "Report {i} on topic{:02}: Security Council split as Russia blocks grain corridor resolution",
        i % RULES + 1
    )
}

fn build_500(c: &mut Criterion) {
    let hits: Vec<DigestHit> = (0..HITS)
        .map(|i| DigestHit {
            rule_id: i % RULES + 1,
            rule: format!("keyword:topic{:02}", i % RULES + 1),
            article_id: i,
            headline: headline(i),
            url: Some(format!("https://news.example/2026/11/27/story-{i}")),
            source: ["BBC World", "Reuters", "Al Jazeera"][(i % 3) as usize].to_owned(),
            time: at("2026-11-26T09:00:00Z") + chrono::Duration::minutes(i),
            also: Vec::new(),
            story_id: None,
        })
        .collect();
    c.bench_function("build_500", |b| {
        b.iter(|| {
            build_digest(black_box(&DigestInput {
                hits: &hits,
                since: at("2026-11-26T08:00:00Z"),
                until: at("2026-11-27T08:00:00Z"),
                zone: chrono_tz::Europe::London,
                quiet: false,
                budget: part_budget(Platform::Telegram),
            }))
        })
    });
}

fn make_and_send_500(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let rules: String = (1..=RULES)
        .map(|i| format!("[[console.rules]]\nspec = \"keyword:topic{i:02}\"\n"))
        .collect();
    let config = format!(
        "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"\"\n[[feeds]]\nurl = \"https://bench.invalid/feed.xml\"\nname = \"Bench News\"\nbackfill = \"all\"\n{rules}",
        dir.path().join("bench.db").display()
    );
    let settings =
        Settings::from_toml_with_env(&config, "bench", std::iter::empty()).expect("config");
    let (console, mut printed) = ConsoleChat::capture();
    let (app, feed, sub) = rt.block_on(async {
        let app = App::build(settings, Some(console)).await.expect("app");
        let feed = app.store().active_feeds().await.expect("feeds").remove(0);
        let sub = app.store().subscriptions().await.expect("subs")[0].id;
        // Digest only: no 500 alerts in the way.
        app.store()
            .set_alerts(sub, false)
            .await
            .expect("alerts off");
        app.pipeline().reload_rules().await.expect("rules");
        (app, feed, sub)
    });
    let mut round = 0_i64;
    c.bench_function("make_and_send_500", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let now = at("2026-11-27T08:00:00Z") + chrono::Duration::days(round);
                let items: Vec<FeedItem> = (0..HITS)
                    .map(|i| FeedItem {
                        guid: Some(format!("r{round}-{i}")),
                        title: headline(i),
                        link: Some(format!("https://news.example/{round}/story-{i}")),
                        published: Some(now - chrono::Duration::minutes(i)),
                        updated: None,
                        summary: "Diplomats said the vote was close.".to_owned(),
                        content: String::new(),
                        categories: Vec::new(),
                        authors: Vec::new(),
                    })
                    .collect();
                rt.block_on(async {
                    let report = app
                        .pipeline()
                        .ingest(&feed, "Bench News", &items, &Validators::default(), now)
                        .await
                        .expect("ingest");
                    assert_eq!(report.hits, HITS as usize);
                });
                let started = Instant::now();
                let parts = rt.block_on(async {
                    let made = app.digests().make_now(sub, now).await.expect("digest");
                    let sent = app.delivery().deliver_due(now).await.expect("delivery");
                    assert_eq!(made.hits, HITS as usize);
                    assert_eq!(sent.sent, made.parts);
                    made.parts
                });
                spent += started.elapsed();
                for _ in 0..parts {
                    black_box(printed.try_recv().expect("a printed part"));
                }
            }
            spent
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = build_500, make_and_send_500
}
criterion_main!(benches);
