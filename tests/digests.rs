//! Daily digests end to end through the console chat: feeds on a loopback
//! server, polls and digest steps driven with an injected `now` (days and
//! clock changes pass without waiting), restarts on the same database.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use wirewatch::{
    app::App,
    chat::Platform,
    commands::Invoker,
    digests::{DigestMade, DigestRunReport},
    pipeline::PollOutcome,
    store::DigestKind,
};

use crate::support::{
    app::{TestApp, TestDb, spawn_app, test_settings},
    feed_server::FeedServer,
};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// A story in the loopback feed.
#[derive(Clone)]
struct Story {
    guid: String,
    title: String,
    text: String,
    published: DateTime<Utc>,
}

fn story(guid: &str, title: &str, text: &str, published: &str) -> Story {
    Story {
        guid: guid.to_owned(),
        title: title.to_owned(),
        text: text.to_owned(),
        published: utc(published),
    }
}

fn rss(stories: &[Story]) -> String {
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Loopback News</title><link>https://news.example/</link><description>test</description>\n",
    );
    for s in stories {
        body.push_str(&format!(
            "<item><title>{}</title><link>https://news.example/{}</link><guid>{}</guid><pubDate>{}</pubDate><description>{}</description></item>\n",
            s.title,
            s.guid,
            s.guid,
            s.published.to_rfc2822(),
            s.text
        ));
    }
    body.push_str("</channel></rss>\n");
    body
}

/// One test's world: the feed server, the database and the running app.
struct World {
    server: FeedServer,
    db: TestDb,
    config: String,
    t: TestApp,
    /// Everything the feed has carried so far.
    stories: Vec<Story>,
}

const SEED: &str = "2026-01-01T00:00:00Z";

impl World {
    /// A console chat with `extra` config (rules, `[digest]`) watching one
    /// loopback feed, seeded at `SEED` with one story that is recorded but
    /// never reported.
    async fn start(extra: &str) -> World {
        let server = FeedServer::start().await;
        let db = TestDb::new();
        let config = format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\n{extra}",
            server.url("/world.xml")
        );
        let t = spawn_app(test_settings(&db, &config)).await;
        let mut world = World {
            server,
            db,
            config,
            t,
            stories: Vec::new(),
        };
        world
            .publish(
                utc(SEED),
                &[story(
                    "seed",
                    "Security Council archive",
                    "An old UN Security Council story.",
                    SEED,
                )],
            )
            .await;
        world
    }

    fn app(&self) -> &App {
        &self.t.app
    }

    /// Adds stories to the feed and polls it at `now`.
    async fn publish(&mut self, now: DateTime<Utc>, stories: &[Story]) {
        self.stories.splice(0..0, stories.iter().cloned());
        self.server
            .set("/world.xml", rss(&self.stories), "application/rss+xml");
        let feeds = self.app().store().active_feeds().await.unwrap();
        let outcome = self.app().pipeline().poll(&feeds[0], now).await.unwrap();
        assert!(
            matches!(outcome, PollOutcome::Ingested(_)),
            "poll failed: {outcome:?}"
        );
    }

    /// Runs the digest step and delivery at `now`; returns the report and
    /// the digest messages printed.
    async fn step(&mut self, now: DateTime<Utc>) -> (DigestRunReport, Vec<String>) {
        let report = self.app().digests().run_due(now).await.unwrap();
        self.app().delivery().deliver_due(now).await.unwrap();
        (report, self.digests_printed())
    }

    /// The digest messages printed since the last call (alerts dropped).
    fn digests_printed(&mut self) -> Vec<String> {
        self.t
            .printed()
            .into_iter()
            .filter(|m| m.starts_with("DIGEST"))
            .collect()
    }

    /// A console command's reply.
    async fn command(&self, text: &str, now: DateTime<Utc>) -> String {
        let console = Invoker {
            platform: Platform::Console,
            chat_id: "stdout".to_owned(),
            may_manage: true,
        };
        self.app()
            .commands()
            .handle(&console, text, None, now)
            .await
            .expect("a command")
            .text
    }

    /// The process dies and starts again on the same database.
    async fn restart(&mut self) {
        let t = spawn_app(test_settings(&self.db, &self.config)).await;
        self.t = t;
    }

    async fn console_id(&self) -> i64 {
        let subs = self.app().store().subscriptions().await.unwrap();
        subs.iter()
            .find(|s| s.platform == "console")
            .expect("console chat")
            .id
    }
}

const RULES: &str = "[[console.rules]]\nspec = \"keyword:UN Security Council\"\n[[console.rules]]\nspec = \"country:Russia\"\n";

fn london_eight() -> String {
    format!("{RULES}[digest]\ntime = \"08:00\"\nzone = \"Europe/London\"\n")
}

fn only(report: &DigestRunReport) -> &DigestMade {
    assert_eq!(report.made.len(), 1, "{report:?}");
    &report.made[0]
}

#[tokio::test]
async fn an_ordinary_day_gives_one_digest_at_eight_local_time_with_the_days_stories() {
    let mut w = World::start(&london_eight()).await;
    // The console chat's digests begin at the first step (config default).
    let (report, printed) = w.step(utc("2026-11-26T07:00:00Z")).await;
    assert_eq!((report.begun, report.made.len()), (1, 0));
    assert!(printed.is_empty());

    w.publish(
        utc("2026-11-26T07:30:00Z"),
        &[
            story(
                "council-1",
                "Cleverly tells UN Security Council Russia must withdraw",
                "The UN Security Council met in New York.",
                "2026-11-26T07:10:00Z",
            ),
            story(
                "grain-1",
                "Russia blocks grain corridor resolution",
                "Moscow cast its veto.",
                "2026-11-26T07:20:00Z",
            ),
            story(
                "weather-1",
                "Storm warning for the Channel",
                "Ferries cancelled.",
                "2026-11-26T07:25:00Z",
            ),
        ],
    )
    .await;
    assert_eq!(w.step(utc("2026-11-26T07:59:59Z")).await.0.made.len(), 0);

    let (report, printed) = w.step(utc("2026-11-26T08:00:00Z")).await;
    let made = only(&report);
    assert_eq!(made.due_at, Some(utc("2026-11-26T08:00:00Z")));
    assert_eq!((made.hits, made.parts), (3, 1));
    assert_eq!(printed.len(), 1, "{printed:?}");
    let digest = &printed[0];
    let lines: Vec<&str> = digest.lines().collect();
    assert_eq!(
        lines[0],
        "DIGEST  Thu 26 Nov 2026 08:00 GMT · since Wed 25 Nov 07:00"
    );
    assert_eq!(
        lines[1],
        "3 hits across 2 rules; most: #2 country:Russia (2), #1 keyword:UN Security Council (1)"
    );
    for needle in [
        "#1 keyword:UN Security Council · 1 hit\n• Cleverly tells UN Security Council Russia must withdraw\n  https://news.example/council-1\n  Loopback News · 26 Nov 07:10",
        "#2 country:Russia · 2 hits\n• Russia blocks grain corridor resolution\n  https://news.example/grain-1\n  Loopback News · 26 Nov 07:20\n• Cleverly tells",
    ] {
        assert!(digest.contains(needle), "{digest}\n--- lacks:\n{needle}");
    }
    assert!(!digest.contains("Storm warning"), "{digest}");
    assert!(
        !digest.contains("archive"),
        "seeded story reported: {digest}"
    );

    // Nothing more that day, whatever the steps.
    for now in [
        "2026-11-26T08:00:30Z",
        "2026-11-26T12:00:00Z",
        "2026-11-27T07:59:00Z",
    ] {
        let (report, printed) = w.step(utc(now)).await;
        assert!(report.made.is_empty() && printed.is_empty(), "{now}");
    }
    // The next day nothing matched: one line.
    let (_, printed) = w.step(utc("2026-11-27T08:00:00Z")).await;
    assert_eq!(
        printed,
        ["DIGEST  Fri 27 Nov 2026 08:00 GMT · nothing matched since Thu 26 Nov 08:00"]
    );
}

/// Digest instants over days of 10-minute steps, for a chat that set its
/// digest with `/digest` at `start`.
async fn digests_over(command: &str, start: &str, days: i64) -> Vec<DateTime<Utc>> {
    let mut w = World::start(RULES).await;
    let start = utc(start);
    let reply = w.command(command, start).await;
    assert!(reply.starts_with("Daily digest at"), "{reply}");
    let mut due = Vec::new();
    let mut printed = 0;
    let mut now = start;
    while now < start + Duration::days(days) {
        let (report, messages) = w.step(now).await;
        for made in &report.made {
            let at = made.due_at.expect("scheduled");
            assert!(
                now - at < Duration::minutes(10),
                "{command}: {at} sent at {now}"
            );
            assert_eq!(made.parts, 1, "nothing matched: one line");
            due.push(at);
        }
        printed += messages.len();
        now += Duration::minutes(10);
    }
    assert_eq!(printed, due.len(), "{command}: one message per digest");
    due
}

#[tokio::test]
async fn digests_keep_their_local_time_across_both_clock_changes_and_in_half_hour_zones() {
    // (command, start, expected instants over three days)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "/digest 08:00 Europe/London",
            "2026-03-28T00:00:00Z",
            &[
                "2026-03-28T08:00:00Z",
                "2026-03-29T07:00:00Z",
                "2026-03-30T07:00:00Z",
            ],
        ),
        (
            "/digest 01:30 Europe/London",
            "2026-03-27T12:00:00Z",
            // 01:30 does not exist on the 29th: sent at 02:00 BST.
            &[
                "2026-03-28T01:30:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-30T00:30:00Z",
            ],
        ),
        (
            "/digest 08:00 Europe/London",
            "2026-10-24T00:00:00Z",
            &[
                "2026-10-24T07:00:00Z",
                "2026-10-25T08:00:00Z",
                "2026-10-26T08:00:00Z",
            ],
        ),
        (
            "/digest 01:30 Europe/London",
            "2026-10-23T12:00:00Z",
            // 01:30 happens twice on the 25th: sent once, at the first.
            &[
                "2026-10-24T00:30:00Z",
                "2026-10-25T00:30:00Z",
                "2026-10-26T01:30:00Z",
            ],
        ),
        (
            "/digest 08:00 America/New_York",
            "2026-03-07T00:00:00Z",
            &[
                "2026-03-07T13:00:00Z",
                "2026-03-08T12:00:00Z",
                "2026-03-09T12:00:00Z",
            ],
        ),
        (
            "/digest 02:30 America/New_York",
            "2026-03-06T12:00:00Z",
            // 02:30 does not exist on the 8th: sent at 03:00 EDT.
            &[
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z",
            ],
        ),
        (
            "/digest 08:00 America/New_York",
            "2026-10-31T00:00:00Z",
            &[
                "2026-10-31T12:00:00Z",
                "2026-11-01T13:00:00Z",
                "2026-11-02T13:00:00Z",
            ],
        ),
        (
            "/digest 01:30 America/New_York",
            "2026-10-30T12:00:00Z",
            // Twice on 1 November: once, at 01:30 EDT.
            &[
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z",
            ],
        ),
        (
            "/digest 08:00 Asia/Kolkata",
            "2026-03-28T00:00:00Z",
            &[
                "2026-03-28T02:30:00Z",
                "2026-03-29T02:30:00Z",
                "2026-03-30T02:30:00Z",
            ],
        ),
    ];
    for (command, start, want) in cases {
        let got = digests_over(command, start, 3).await;
        let want: Vec<DateTime<Utc>> = want.iter().map(|s| utc(s)).collect();
        assert_eq!(got, want, "{command} from {start}");
    }
}

#[tokio::test]
async fn a_process_down_from_seven_to_ten_sends_the_eight_oclock_digest_once_when_back() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-25T12:00:00Z")).await;
    w.publish(
        utc("2026-11-26T06:30:00Z"),
        &[story(
            "council-1",
            "Security Council meets on Ukraine",
            "The UN Security Council met.",
            "2026-11-26T06:00:00Z",
        )],
    )
    .await;
    assert!(w.step(utc("2026-11-26T06:59:00Z")).await.0.made.is_empty());

    // Down from 07:00 to 10:00: no step runs at 08:00.
    w.restart().await;
    let (report, printed) = w.step(utc("2026-11-26T10:00:00Z")).await;
    let made = only(&report);
    assert_eq!(made.due_at, Some(utc("2026-11-26T08:00:00Z")));
    assert_eq!(made.hits, 1);
    assert_eq!(printed.len(), 1);
    assert!(printed[0].contains("Security Council meets on Ukraine"));

    // Once: later steps, and another restart, send nothing more that day.
    assert!(w.step(utc("2026-11-26T10:05:00Z")).await.0.made.is_empty());
    w.restart().await;
    let (report, printed) = w.step(utc("2026-11-26T23:00:00Z")).await;
    assert!(report.made.is_empty() && printed.is_empty());
    let (report, _) = w.step(utc("2026-11-27T08:00:00Z")).await;
    assert_eq!(only(&report).due_at, Some(utc("2026-11-27T08:00:00Z")));
}

#[tokio::test]
async fn three_days_down_gives_one_digest_covering_all_of_them() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-22T12:00:00Z")).await;
    // Monday's digest goes out as usual.
    w.publish(
        utc("2026-11-23T07:00:00Z"),
        &[story(
            "mon-early",
            "Russia recalls envoy",
            "Moscow said.",
            "2026-11-23T06:00:00Z",
        )],
    )
    .await;
    let (report, _) = w.step(utc("2026-11-23T08:00:00Z")).await;
    assert_eq!(only(&report).hits, 1);
    w.publish(
        utc("2026-11-23T12:00:00Z"),
        &[story(
            "mon-late",
            "Russia and Ukraine trade accusations",
            "At the UN.",
            "2026-11-23T11:00:00Z",
        )],
    )
    .await;

    // Down from Monday 13:00 to Thursday 10:00.
    w.restart().await;
    w.publish(
        utc("2026-11-26T10:00:00Z"),
        &[story(
            "thu",
            "Security Council to vote on Russia resolution",
            "The UN Security Council will vote.",
            "2026-11-26T09:00:00Z",
        )],
    )
    .await;
    let (report, printed) = w.step(utc("2026-11-26T10:00:00Z")).await;
    let made = only(&report);
    assert_eq!(made.due_at, Some(utc("2026-11-26T08:00:00Z")));
    assert_eq!(made.since, utc("2026-11-23T08:00:00Z"));
    assert_eq!(made.hits, 3, "Monday afternoon's hit and Thursday's two");
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].starts_with("DIGEST  Thu 26 Nov 2026 10:00 GMT · since Mon 23 Nov 08:00"),
        "{}",
        printed[0]
    );
    assert!(printed[0].contains("Russia and Ukraine trade accusations"));
    assert!(!printed[0].contains("Russia recalls envoy"), "repeated");

    assert!(w.step(utc("2026-11-26T10:10:00Z")).await.0.made.is_empty());
    let (report, _) = w.step(utc("2026-11-27T08:00:00Z")).await;
    assert_eq!(only(&report).due_at, Some(utc("2026-11-27T08:00:00Z")));
}

#[tokio::test]
async fn digest_now_between_two_scheduled_digests_loses_and_repeats_no_hit() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-25T12:00:00Z")).await;
    let sub = w.console_id().await;
    let stories = [
        ("a", "2026-11-26T07:00:00Z"),
        ("b", "2026-11-26T10:00:00Z"),
        ("c", "2026-11-26T15:00:00Z"),
    ]
    .map(|(guid, at)| story(guid, &format!("Russia story {guid}"), "Moscow said.", at));
    w.publish(utc("2026-11-26T07:00:00Z"), &stories[..1]).await;
    w.step(utc("2026-11-26T08:00:00Z")).await;
    w.publish(utc("2026-11-26T10:00:00Z"), &stories[1..2]).await;

    let reply = w.command("/digest now", utc("2026-11-26T12:00:00Z")).await;
    assert!(reply.contains("1 hit since the previous one"), "{reply}");
    let (report, printed) = w.step(utc("2026-11-26T12:00:00Z")).await;
    assert!(report.made.is_empty(), "the schedule did not move");
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0].contains("Russia story b") && !printed[0].contains("Russia story a"),
        "{}",
        printed[0]
    );

    w.publish(utc("2026-11-26T15:00:00Z"), &stories[2..]).await;
    let (report, printed) = w.step(utc("2026-11-27T08:00:00Z")).await;
    assert_eq!(only(&report).hits, 1);
    assert!(
        printed[0].contains("Russia story c") && !printed[0].contains("Russia story b"),
        "{}",
        printed[0]
    );
    assert!(
        printed[0].contains("since Thu 26 Nov 12:00"),
        "{}",
        printed[0]
    );

    // Periods follow each other without gap or overlap; hits are split
    // between digests, every hit in exactly one.
    let digests = w.app().store().digests_of(sub).await.unwrap();
    let kinds: Vec<DigestKind> = digests.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DigestKind::Scheduled,
            DigestKind::Now,
            DigestKind::Scheduled
        ]
    );
    for pair in digests.windows(2) {
        assert_eq!(pair[1].covers_from, pair[0].covers_to);
    }
    let mut seen = BTreeSet::new();
    for d in &digests {
        let hits = w.app().store().hits_of_digest(d.id).await.unwrap();
        assert_eq!(hits.len() as i64, d.hits);
        for hit in hits {
            assert!(seen.insert(hit), "hit {hit} in two digests");
        }
    }
    assert_eq!(
        seen.len() as i64,
        w.app().store().hit_count().await.unwrap()
    );
}

#[tokio::test]
async fn a_day_with_500_hits_is_split_into_messages_that_fit_and_cut_no_link() {
    let rules: String = (1..=20)
        .map(|i| format!("[[console.rules]]\nspec = \"keyword:topic{i:02}\"\n"))
        .collect();
    let mut w = World::start(&format!(
        "{rules}[digest]\ntime = \"08:00\"\nzone = \"Europe/London\"\n"
    ))
    .await;
    w.command("/alerts off", utc("2026-11-25T12:00:00Z")).await;
    w.step(utc("2026-11-25T12:00:00Z")).await;
    let stories: Vec<Story> = (0..500)
        .map(|i| {
            let published = utc("2026-11-25T13:00:00Z") + Duration::minutes(i);
            Story {
                guid: format!("s{i:03}"),
                title: format!(
                    "Report {i} on topic{:02} — Зеленський at the Council 🇺🇦",
                    i % 20 + 1
                ),
                text: "Details follow.".to_owned(),
                published,
            }
        })
        .collect();
    w.publish(utc("2026-11-26T07:00:00Z"), &stories).await;
    assert_eq!(w.app().store().hit_count().await.unwrap(), 500);

    let (report, printed) = w.step(utc("2026-11-26T08:00:00Z")).await;
    let made = only(&report);
    assert_eq!(made.hits, 500);
    assert!(made.parts > 1, "{made:?}");
    assert_eq!(printed.len(), made.parts);
    let mut shown = BTreeSet::new();
    for (i, part) in printed.iter().enumerate() {
        let units = part.encode_utf16().count();
        assert!(units <= 4096, "part {} has {units} UTF-16 units", i + 1);
        let header = format!("DIGEST ({}/{})  ", i + 1, printed.len());
        assert!(part.starts_with(&header), "{part}");
        for line in part.lines().filter(|l| l.contains("https://")) {
            let url = line.trim();
            let guid = url
                .strip_prefix("https://news.example/")
                .unwrap_or_else(|| panic!("cut link {line:?}"));
            assert!(stories.iter().any(|s| s.guid == guid), "cut link {url}");
            assert!(shown.insert(guid.to_owned()), "{guid} twice");
        }
    }
    let all = printed.join("\n");
    assert!(all.contains("500 hits across 20 rules"), "{}", printed[0]);
    assert_eq!(shown.len(), 20 * 10, "ten stories of each rule");
    assert_eq!(all.matches("and 15 more stories").count(), 20);
    for i in 1..=20 {
        assert!(
            all.contains(&format!("keyword:topic{i:02} · 25 hits")),
            "rule {i}"
        );
    }
    // The newest stories of each rule are the ones shown.
    assert!(all.contains("https://news.example/s499\n"));
    assert!(!all.contains("https://news.example/s000\n"));
}

#[tokio::test]
async fn a_quiet_day_sends_one_line_or_nothing_once_the_chat_asks_for_quiet() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-24T12:00:00Z")).await;
    let (_, printed) = w.step(utc("2026-11-25T08:00:00Z")).await;
    assert_eq!(
        printed,
        ["DIGEST  Wed 25 Nov 2026 08:00 GMT · nothing matched since Mon 23 Nov 12:00"]
    );

    let reply = w
        .command("/digest quiet", utc("2026-11-25T09:00:00Z"))
        .await;
    assert!(reply.contains("no digest is sent"), "{reply}");
    let (report, printed) = w.step(utc("2026-11-26T08:00:00Z")).await;
    assert_eq!((only(&report).hits, only(&report).parts), (0, 0));
    assert!(printed.is_empty(), "{printed:?}");
    assert_eq!(w.app().store().pending_count().await.unwrap(), 0);

    // A quiet chat still hears about days with hits...
    w.publish(
        utc("2026-11-26T09:00:00Z"),
        &[story(
            "x",
            "Russia story",
            "Moscow said.",
            "2026-11-26T09:00:00Z",
        )],
    )
    .await;
    let (_, printed) = w.step(utc("2026-11-27T08:00:00Z")).await;
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0].contains("since Thu 26 Nov 08:00"),
        "{}",
        printed[0]
    );

    // ...and toggling back brings the one line back.
    let reply = w
        .command("/digest quiet", utc("2026-11-27T09:00:00Z"))
        .await;
    assert!(reply.contains("one-line"), "{reply}");
    let (_, printed) = w.step(utc("2026-11-28T08:00:00Z")).await;
    assert_eq!(printed.len(), 1);
    assert!(printed[0].contains("nothing matched"), "{}", printed[0]);
}

#[tokio::test]
async fn alerts_off_and_the_digest_setting_survive_restarts() {
    let mut w = World::start(RULES).await;
    let t0 = utc("2026-11-26T13:00:00Z");
    assert!(w.command("/alerts off", t0).await.contains("digests only"));
    let reply = w.command("/digest 07:30 America/New_York", t0).await;
    assert_eq!(
        reply,
        "Daily digest at 07:30 America/New_York. Next: Fri 27 Nov 2026 07:30 EST. Quiet days: days when nothing matched get a one-line digest (/digest quiet to change)."
    );

    w.restart().await;
    assert_eq!(
        w.command("/digest", t0 + Duration::hours(1)).await,
        reply,
        "same setting after a restart"
    );
    w.publish(
        utc("2026-11-26T20:00:00Z"),
        &[story(
            "late",
            "Security Council statement on Russia",
            "The UN Security Council said.",
            "2026-11-26T19:00:00Z",
        )],
    )
    .await;
    w.app()
        .delivery()
        .deliver_due(utc("2026-11-26T20:00:00Z"))
        .await
        .unwrap();
    assert!(w.t.printed().is_empty(), "alerts stayed off");
    let (report, printed) = w.step(utc("2026-11-27T12:30:00Z")).await;
    assert_eq!(only(&report).hits, 2);
    assert!(printed[0].contains("Security Council statement on Russia"));
    assert!(printed[0].contains("07:30 EST"), "{}", printed[0]);

    w.command("/alerts on", utc("2026-11-27T13:00:00Z")).await;
    w.restart().await;
    w.publish(
        utc("2026-11-27T14:00:00Z"),
        &[story(
            "later",
            "Russia vetoes resolution",
            "Moscow said.",
            "2026-11-27T13:30:00Z",
        )],
    )
    .await;
    w.app()
        .delivery()
        .deliver_due(utc("2026-11-27T14:00:00Z"))
        .await
        .unwrap();
    let printed = w.t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(printed[0].starts_with("ALERT  Russia vetoes resolution"));
}

#[tokio::test]
async fn a_digest_queued_before_a_crash_is_sent_once_after_restart() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-25T12:00:00Z")).await;
    w.command("/alerts off", utc("2026-11-25T12:00:00Z")).await;
    w.publish(
        utc("2026-11-26T07:00:00Z"),
        &[story(
            "a",
            "Russia story",
            "Moscow said.",
            "2026-11-26T07:00:00Z",
        )],
    )
    .await;
    let report = w
        .app()
        .digests()
        .run_due(utc("2026-11-26T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(only(&report).parts, 1);
    // Dies after the digest's commit, before any send.
    w.restart().await;
    let (report, printed) = w.step(utc("2026-11-26T08:01:00Z")).await;
    assert!(report.made.is_empty(), "made twice: {report:?}");
    assert_eq!(printed.len(), 1);
    assert!(printed[0].contains("Russia story"));
    let (_, printed) = w.step(utc("2026-11-26T08:02:00Z")).await;
    assert!(printed.is_empty());
}

#[tokio::test]
async fn digest_commands_explain_themselves_in_the_chats_local_time() {
    let mut w = World::start(&london_eight()).await;
    let now = utc("2026-11-26T09:00:00Z");
    assert_eq!(
        w.command("/digest", now).await,
        "Daily digest at 08:00 Europe/London (the default). Next: Fri 27 Nov 2026 08:00 GMT. Quiet days: days when nothing matched get a one-line digest (/digest quiet to change)."
    );
    let error = w.command("/digest 08:00 Europe/Londn", now).await;
    assert!(
        error.contains("unknown time zone \"Europe/Londn\"; did you mean Europe/London"),
        "{error}"
    );
    assert!(error.contains("usage: /digest"), "{error}");
    let reply = w.command("/digest 06:45 Asia/Kolkata", now).await;
    assert!(reply.contains("Next: Fri 27 Nov 2026 06:45 IST"), "{reply}");
    // A time without a zone keeps the chat's zone.
    let reply = w.command("/digest 21:00", now).await;
    assert!(
        reply.starts_with("Daily digest at 21:00 Asia/Kolkata. Next: Thu 26 Nov 2026 21:00 IST"),
        "{reply}"
    );

    // Members of a group may look, not change.
    let member = Invoker {
        platform: Platform::Telegram,
        chat_id: "-100".to_owned(),
        may_manage: false,
    };
    let commands = w.app().commands();
    let refused = commands
        .handle(&member, "/digest off", None, now)
        .await
        .unwrap();
    assert!(refused.text.contains("admins"), "{refused:?}");
    let shown = commands
        .handle(&member, "/digest", None, now)
        .await
        .unwrap();
    assert!(
        shown
            .text
            .starts_with("Daily digest at 08:00 Europe/London (the default)")
    );

    let reply = w.command("/digest off", now).await;
    assert!(reply.starts_with("Daily digests are off"), "{reply}");
    assert!(
        w.command("/digest", now)
            .await
            .starts_with("Daily digests are off")
    );
    let mut at = now;
    while at < now + Duration::days(2) {
        assert!(
            w.step(at).await.0.made.is_empty(),
            "digest while off at {at}"
        );
        at += Duration::hours(1);
    }
}

#[tokio::test]
async fn a_story_carried_by_two_outlets_is_listed_once_naming_the_other() {
    let server = FeedServer::start().await;
    let db = TestDb::new();
    let seed = story("seed", "Weather", "Rain.", SEED);
    for path in ["/a.xml", "/b.xml"] {
        server.set(
            path,
            rss(std::slice::from_ref(&seed)),
            "application/rss+xml",
        );
    }
    let config = format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Wire A\"\n[[feeds]]\nurl = \"{}\"\nname = \"Wire B\"\n{RULES}[digest]\ntime = \"08:00\"\nzone = \"Europe/London\"\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let mut t = spawn_app(test_settings(&db, &config)).await;
    let poll_all = |now: DateTime<Utc>| {
        let app = &t.app;
        async move {
            for feed in app.store().active_feeds().await.unwrap() {
                app.pipeline().poll(&feed, now).await.unwrap();
            }
        }
    };
    poll_all(utc("2026-11-26T06:00:00Z")).await;
    t.app
        .digests()
        .run_due(utc("2026-11-26T06:00:00Z"))
        .await
        .unwrap();

    let text = "Members of the UN Security Council met on Thursday to vote on a resolution \
                demanding that Russia withdraw its forces, diplomats said after the session.";
    let wire = story(
        "vote",
        "Council votes on Russia resolution",
        text,
        "2026-11-26T06:30:00Z",
    );
    // Wire B runs the same copy under its own headline and address (one
    // story), and links Wire A's other story on the very same address.
    let mut copy = wire.clone();
    copy.guid = "b-vote".to_owned();
    copy.title = "UN vote: Russia told to withdraw".to_owned();
    let same_link = story(
        "veto",
        "Russia vetoes grain corridor",
        "Moscow cast its veto.",
        "2026-11-26T06:40:00Z",
    );
    server.set(
        "/a.xml",
        rss(&[wire, same_link.clone(), seed.clone()]),
        "application/rss+xml",
    );
    let b_doc = rss(&[copy, same_link, seed])
        .replace("https://news.example/b-vote", "https://b.example/vote");
    server.set("/b.xml", b_doc, "application/rss+xml");
    poll_all(utc("2026-11-26T07:00:00Z")).await;

    let report = t
        .app
        .digests()
        .run_due(utc("2026-11-26T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(report.made.len(), 1, "{report:?}");
    t.app
        .delivery()
        .deliver_due(utc("2026-11-26T08:00:00Z"))
        .await
        .unwrap();
    let printed: Vec<String> = t
        .printed()
        .into_iter()
        .filter(|m| m.starts_with("DIGEST"))
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    let digest = &printed[0];
    assert_eq!(
        digest
            .matches("• Council votes on Russia resolution")
            .count(),
        2,
        "once per rule: {digest}"
    );
    assert_eq!(
        digest.matches("• Russia vetoes grain corridor").count(),
        1,
        "{digest}"
    );
    assert!(
        digest.contains("  https://news.example/vote\n  Wire A · 26 Nov 06:30 · also: Wire B"),
        "{digest}"
    );
    assert!(
        digest.contains("  https://news.example/veto\n  Wire A · 26 Nov 06:40 · also: Wire B"),
        "{digest}"
    );
    assert!(!digest.contains("b.example"), "{digest}");
    assert!(!digest.contains("Russia told to withdraw"), "{digest}");
}

/// Gives the chat 20 rules (`keyword:topic01` …), alerts off, and 500 hits
/// (25 a rule) from the only feed, which is seeded with `seed` first.
async fn chat_with_500_hits(
    app: &App,
    server: &FeedServer,
    seed: Story,
    platform: &str,
    chat: &str,
) -> (i64, Vec<Story>) {
    let feed = app.store().active_feeds().await.unwrap().remove(0);
    app.pipeline().poll(&feed, Utc::now()).await.unwrap();
    let sub = app
        .store()
        .ensure_subscription(platform, chat, Utc::now())
        .await
        .unwrap();
    for i in 1..=20 {
        let spec = format!("keyword:topic{i:02}");
        app.store()
            .add_rule(sub.id, &spec, Utc::now())
            .await
            .unwrap();
    }
    app.store().set_alerts(sub.id, false).await.unwrap();
    app.pipeline().reload_rules().await.unwrap();
    let mut stories: Vec<Story> = (0..500)
        .map(|i| {
            story(
                &format!("s{i:03}"),
                &format!("Report {i} on topic{:02} &amp; the Council", i % 20 + 1),
                "Details follow.",
                "2026-11-26T09:00:00Z",
            )
        })
        .collect();
    stories.push(seed);
    server.set("/world.xml", rss(&stories), "application/rss+xml");
    let feed = app.store().active_feeds().await.unwrap().remove(0);
    let outcome = app.pipeline().poll(&feed, Utc::now()).await.unwrap();
    assert!(matches!(outcome, PollOutcome::Ingested(_)), "{outcome:?}");
    assert_eq!(app.store().hit_count().await.unwrap(), 500);
    (sub.id, stories)
}

#[tokio::test]
async fn a_500_hit_digest_reaches_a_telegram_chat_in_parts_within_telegrams_limit() {
    use crate::support::telegram_api::{FakeTelegram, TOKEN};
    use tokio_util::sync::CancellationToken;

    const USER: i64 = 4242;
    let body = async {
        let tg = FakeTelegram::start().await;
        tg.add_private_chat(USER);
        let server = FeedServer::start().await;
        let seed = story("seed", "Weather", "Rain.", SEED);
        server.set(
            "/world.xml",
            rss(std::slice::from_ref(&seed)),
            "application/rss+xml",
        );
        let db = TestDb::new();
        let config = format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"0 0 0 1 1 *\"\n",
            tg.api_url(),
            server.url("/world.xml")
        );
        let t = spawn_app(test_settings(&db, &config)).await;
        let (sub, stories) =
            chat_with_500_hits(&t.app, &server, seed, "telegram", &USER.to_string()).await;

        let store = t.app.store().clone();
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(t.app.run_until_stopped(shutdown.clone()));

        tg.user_sends(USER, USER, "/digest now");
        let first = tg.wait_for_sent(USER, 1).await;
        let digest = store
            .digests_of(sub)
            .await
            .unwrap()
            .pop()
            .expect("a digest was made");
        assert_eq!(digest.hits, 500);
        assert!(digest.parts > 1, "{digest:?}");
        let parts = usize::try_from(digest.parts).unwrap();
        let sent = tg.wait_for_sent(USER, parts + 1).await;
        assert!(first.len() <= sent.len());
        let (digests, replies): (Vec<_>, Vec<_>) =
            sent.iter().partition(|s| s.text.starts_with("DIGEST"));
        assert_eq!(digests.len(), parts, "{replies:?}");
        assert_eq!(replies.len(), 1);
        assert!(
            replies[0]
                .text
                .starts_with("Digest made: 500 hits since the previous one"),
            "{}",
            replies[0].text
        );
        let mut links = BTreeSet::new();
        for (i, part) in digests.iter().enumerate() {
            let units = part.text.encode_utf16().count();
            assert!(units <= 4096, "part {} has {units} units", i + 1);
            assert!(
                part.text
                    .starts_with(&format!("DIGEST ({}/{parts})", i + 1)),
                "out of order: {}",
                part.text
            );
            for line in part.text.lines().filter(|l| l.contains("https://")) {
                let guid = line
                    .trim()
                    .strip_prefix("https://news.example/")
                    .unwrap_or_else(|| panic!("cut link {line:?}"));
                assert!(stories.iter().any(|s| s.guid == guid), "cut link {line:?}");
                assert!(links.insert(guid.to_owned()), "{guid} twice");
            }
        }
        assert_eq!(links.len(), 200, "ten stories for each of 20 rules");
        assert!(digests[0].text.contains("500 hits across 20 rules"));
        assert!(
            digests
                .iter()
                .any(|d| d.text.contains("Report 499 on topic20 & the Council"))
        );

        shutdown.cancel();
        running.await.unwrap().unwrap();
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), body)
        .await
        .expect("test took longer than a minute");
}

#[tokio::test]
async fn when_a_digest_part_must_wait_the_later_parts_wait_behind_it() {
    let mut w = World::start(&london_eight()).await;
    w.step(utc("2026-11-25T12:00:00Z")).await;
    let sub = w.console_id().await;
    let store = w.app().store().clone();
    let now = utc("2026-11-26T08:00:00Z");
    let made = w.app().digests().make_now(sub, now).await.unwrap();
    let extra = w.app().digests().make_now(sub, now).await.unwrap();
    assert_eq!((made.parts, extra.parts), (1, 1));
    let due = store.due_messages(now, 10).await.unwrap();
    assert_eq!(due.len(), 2);
    // The first is rate limited for a second: the second may not overtake.
    let later = now + Duration::seconds(1);
    store
        .redeliver(
            due[0].id,
            &wirewatch::store::Redelivery {
                at: later,
                error: "rate limited",
                count_attempt: false,
            },
        )
        .await
        .unwrap();
    assert!(store.due_messages(now, 10).await.unwrap().is_empty());
    let ids: Vec<i64> = store
        .due_messages(later, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, [due[0].id, due[1].id]);
}

#[tokio::test]
async fn a_500_hit_digest_reaches_a_discord_channel_within_discords_limit_with_no_link_cut() {
    use crate::support::discord_api::{CHANNEL, FakeDiscord, GUILD, TOKEN};
    use tokio_util::sync::CancellationToken;

    let body = async {
        let discord = FakeDiscord::start().await;
        let server = FeedServer::start().await;
        let seed = story("seed", "Weather", "Rain.", SEED);
        server.set(
            "/world.xml",
            rss(std::slice::from_ref(&seed)),
            "application/rss+xml",
        );
        let db = TestDb::new();
        let config = format!(
            "[discord]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nguild_id = \"{GUILD}\"\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"0 0 0 1 1 *\"\n",
            discord.api_url(),
            server.url("/world.xml")
        );
        let t = spawn_app(test_settings(&db, &config)).await;
        let (sub, stories) =
            chat_with_500_hits(&t.app, &server, seed, "discord", &CHANNEL.to_string()).await;
        let digests = t.app.digests().clone();
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(t.app.run_until_stopped(shutdown.clone()));

        let made = digests.make_now(sub, Utc::now()).await.unwrap();
        assert_eq!(made.hits, 500);
        assert!(made.parts > 1, "{made:?}");
        // Every part sent: 200 links in all.
        let links_posted = |d: &FakeDiscord| {
            d.posted_to(CHANNEL)
                .iter()
                .map(|m| {
                    m.content()
                        .replace('\\', "")
                        .matches("https://news.example/")
                        .count()
                })
                .sum::<usize>()
        };
        discord
            .wait_until("200 links posted", |d| links_posted(d) >= 200)
            .await;
        let posted = discord.posted_to(CHANNEL);
        // The adapter may cut a part once more at a line end (its Markdown
        // escaping lengthens text); it never cuts inside a line.
        let mut links = BTreeSet::new();
        let mut numbered = 0;
        for message in &posted {
            let content = message.content();
            assert!(content.chars().count() <= 2000, "{}", content.len());
            let plain = content.replace('\\', "");
            numbered += usize::from(plain.starts_with("DIGEST ("));
            // Links stay whole and clickable: `<url>`, nothing escaped inside.
            for line in content.lines().filter(|l| l.contains("https")) {
                let guid = line
                    .trim()
                    .strip_prefix("<https://news.example/")
                    .and_then(|l| l.strip_suffix('>'))
                    .unwrap_or_else(|| panic!("cut or escaped link {line:?}"));
                assert!(stories.iter().any(|s| s.guid == guid), "cut link {line:?}");
                assert!(links.insert(guid.to_owned()), "{guid} twice");
            }
        }
        assert_eq!(numbered, made.parts);
        assert_eq!(links.len(), 200, "ten stories for each of 20 rules");

        shutdown.cancel();
        running.await.unwrap().unwrap();
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), body)
        .await
        .expect("test took longer than a minute");
}
