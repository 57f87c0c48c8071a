//! The whole pipeline against a loopback feed server, through the console
//! chat: one story, one alert; no repeats on later polls or restarts.

use chrono::Utc;
use wirewatch::pipeline::PollOutcome;

use crate::support::{
    app::{TestDb, spawn_app, test_settings},
    feed_server::FeedServer,
    news::{NEW_STORY, OLD_STORY, rss},
};

fn config_for(server: &FeedServer) -> String {
    format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
        server.url("/world.xml")
    )
}

async fn poll_only_feed(app: &wirewatch::app::App) -> PollOutcome {
    let feeds = app.store().active_feeds().await.unwrap();
    assert_eq!(feeds.len(), 1);
    app.pipeline().poll(&feeds[0], Utc::now()).await.unwrap()
}

async fn deliver(app: &wirewatch::app::App) {
    app.delivery().deliver_due(Utc::now()).await.unwrap();
}

#[tokio::test]
async fn a_story_that_appears_in_a_feed_gives_exactly_one_alert_and_never_repeats() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(&db, &config_for(&server))).await;

    // First poll: the feed's existing items are recorded, not alerted.
    let PollOutcome::Ingested(first) = poll_only_feed(&t.app).await else {
        panic!("first poll failed")
    };
    assert_eq!((first.new_articles, first.alerts), (1, 0));
    deliver(&t.app).await;
    assert!(t.printed().is_empty());

    // The feed gains the story.
    server.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(second) = poll_only_feed(&t.app).await else {
        panic!("second poll failed")
    };
    assert_eq!((second.new_articles, second.hits, second.alerts), (1, 1, 1));
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].contains("Ministers meet in New York"),
        "{}",
        printed[0]
    );
    assert!(
        printed[0].contains("https://news.example/new-1"),
        "{}",
        printed[0]
    );
    assert!(
        printed[0].contains("[[UN Security Council]]"),
        "{}",
        printed[0]
    );

    // The next poll is a 304 and adds nothing.
    assert_eq!(poll_only_feed(&t.app).await, PollOutcome::NotModified);
    deliver(&t.app).await;
    assert!(t.printed().is_empty());

    // A restart on the same database adds nothing either, even when the
    // server forgets its ETag and sends the whole document again.
    drop(t);
    server.set(
        "/world.xml",
        format!("{}\n", rss(&[NEW_STORY, OLD_STORY])),
        "application/rss+xml",
    );
    let mut t = spawn_app(test_settings(&db, &config_for(&server))).await;
    let PollOutcome::Ingested(third) = poll_only_feed(&t.app).await else {
        panic!("poll after restart failed")
    };
    assert_eq!((third.new_articles, third.alerts), (0, 0));
    deliver(&t.app).await;
    assert!(t.printed().is_empty());
    assert_eq!(t.app.store().hit_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_alert_queued_before_a_crash_is_delivered_once_after_restart() {
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    let db = TestDb::new();
    let t = spawn_app(test_settings(&db, &config_for(&server))).await;
    poll_only_feed(&t.app).await;
    server.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(report) = poll_only_feed(&t.app).await else {
        panic!("poll failed")
    };
    assert_eq!(report.alerts, 1);
    // The process dies after the commit and before any send.
    drop(t);

    let mut t = spawn_app(test_settings(&db, &config_for(&server))).await;
    assert_eq!(t.app.store().pending_count().await.unwrap(), 1);
    deliver(&t.app).await;
    deliver(&t.app).await;
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(printed[0].contains("Ministers meet in New York"));
    assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn the_same_article_from_two_feeds_alerts_once() {
    let server = FeedServer::start().await;
    let story = rss(&[NEW_STORY]);
    server.set("/a.xml", story.clone(), "application/rss+xml");
    server.set(
        "/b.xml",
        story
            .replace("<guid>new-1</guid>", "<guid>other-guid</guid>")
            .replace(
                "https://news.example/new-1",
                "https://www.news.example/new-1?utm_source=rss",
            ),
        "application/rss+xml",
    );
    let db = TestDb::new();
    let extra = format!(
        "[[feeds]]\nurl = \"{}\"\nbackfill = \"all\"\n[[feeds]]\nurl = \"{}\"\nbackfill = \"all\"\n[[console.rules]]\nspec = \"keyword:UN Security Council\"\n",
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let mut t = spawn_app(test_settings(&db, &extra)).await;
    let feeds = t.app.store().active_feeds().await.unwrap();
    let mut alerts = 0;
    let mut duplicates = 0;
    for feed in &feeds {
        let PollOutcome::Ingested(r) = t.app.pipeline().poll(feed, Utc::now()).await.unwrap()
        else {
            panic!()
        };
        alerts += r.alerts;
        duplicates += r.duplicates;
    }
    assert_eq!((alerts, duplicates), (1, 1));
    deliver(&t.app).await;
    assert_eq!(t.printed().len(), 1);
}

#[tokio::test]
async fn an_unreachable_feed_is_marked_failing_with_a_plain_reason_and_backs_off() {
    let server = FeedServer::start().await;
    server.fail("/world.xml", 500);
    let db = TestDb::new();
    let t = spawn_app(test_settings(&db, &config_for(&server))).await;
    let now = Utc::now();
    let PollOutcome::Failed { error, retry_at } = poll_only_feed(&t.app).await else {
        panic!("expected failure")
    };
    assert!(error.contains("500"), "{error}");
    assert!(retry_at > now);
    let feed = &t.app.store().active_feeds().await.unwrap()[0];
    assert!(feed.failing_since.is_some());
    assert_eq!(feed.consecutive_failures, 1);
    assert_eq!(feed.last_error.as_deref(), Some(error.as_str()));

    // A second failure waits longer.
    let PollOutcome::Failed {
        retry_at: second, ..
    } = poll_only_feed(&t.app).await
    else {
        panic!()
    };
    assert!(second - Utc::now() > retry_at - now, "backoff did not grow");

    // Recovery clears the failing state.
    server.restore("/world.xml");
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    assert!(matches!(
        poll_only_feed(&t.app).await,
        PollOutcome::Ingested(_)
    ));
    let feed = &t.app.store().active_feeds().await.unwrap()[0];
    assert_eq!(
        (
            feed.failing_since,
            feed.consecutive_failures,
            feed.last_error.clone()
        ),
        (None, 0, None)
    );
}

fn invoker(
    platform: wirewatch::chat::Platform,
    chat_id: &str,
    may_manage: bool,
) -> wirewatch::commands::Invoker {
    wirewatch::commands::Invoker {
        platform,
        chat_id: chat_id.to_owned(),
        may_manage,
    }
}

#[tokio::test]
async fn a_rule_added_from_chat_takes_effect_on_the_next_poll_and_stays_in_its_chat() {
    use wirewatch::chat::Platform;
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(&db, &config_for(&server))).await;
    poll_only_feed(&t.app).await;
    let commands = t.app.commands();
    let console = invoker(Platform::Console, "stdout", true);
    let other_chat = invoker(Platform::Telegram, "-1001", true);

    let reply = commands
        .handle(&console, "/watch keyword ceasefire", None, Utc::now())
        .await
        .unwrap();
    assert!(reply.text.starts_with("Watching #"), "{reply:?}");
    let reply = commands
        .handle(&other_chat, "/watch country Russia", None, Utc::now())
        .await
        .unwrap();
    let other_rule: i64 = reply
        .text
        .trim_start_matches("Watching #")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Chats see and change only their own rules.
    let listed = commands
        .handle(&console, "/rules", None, Utc::now())
        .await
        .unwrap()
        .text;
    assert!(
        listed.contains("keyword:ceasefire") && !listed.contains("country:Russia"),
        "{listed}"
    );
    let refused = commands
        .handle(
            &console,
            &format!("/unwatch {other_rule}"),
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(
        refused.text.contains(&format!("no rule #{other_rule}")),
        "{refused:?}"
    );
    let member = invoker(Platform::Telegram, "-1001", false);
    let refused = commands
        .handle(&member, "/watch keyword football", None, Utc::now())
        .await
        .unwrap();
    assert!(refused.text.contains("admins"), "{refused:?}");
    let unknown = commands
        .handle(&console, "/frobnicate", None, Utc::now())
        .await
        .unwrap();
    assert!(unknown.text.contains("/help"), "{unknown:?}");

    // The new rule matches without a restart; the console gets one alert.
    server.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(report) = poll_only_feed(&t.app).await else {
        panic!("poll failed")
    };
    assert_eq!(
        (report.hits, report.alerts),
        (2, 1),
        "UN Security Council + ceasefire, one chat"
    );
    t.app.delivery().deliver_due(Utc::now()).await.unwrap();
    let printed = t.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(
        printed[0].contains("keyword:ceasefire matched: ceasefire"),
        "{}",
        printed[0]
    );
}

#[tokio::test]
async fn alerts_off_keeps_hits_but_sends_nothing() {
    use wirewatch::chat::Platform;
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    let db = TestDb::new();
    let mut t = spawn_app(test_settings(&db, &config_for(&server))).await;
    poll_only_feed(&t.app).await;
    let reply = t
        .app
        .commands()
        .handle(
            &invoker(Platform::Console, "stdout", true),
            "/alerts off",
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(reply.text.contains("digests only"), "{reply:?}");
    server.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(report) = poll_only_feed(&t.app).await else {
        panic!("poll failed")
    };
    assert_eq!((report.hits, report.alerts), (1, 0));
    t.app.delivery().deliver_due(Utc::now()).await.unwrap();
    assert!(t.printed().is_empty());
}

#[tokio::test]
async fn watch_and_unwatch_change_what_matches_without_recompiling_every_rule() {
    use wirewatch::chat::Platform;
    let server = FeedServer::start().await;
    server.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    let db = TestDb::new();
    let t = spawn_app(test_settings(&db, &config_for(&server))).await;
    poll_only_feed(&t.app).await;
    let commands = t.app.commands();
    let chat = invoker(Platform::Telegram, "-1002", true);
    let builds = t.app.pipeline().rule_set_builds();
    assert!(builds >= 1, "start-up compiles the rules");

    let reply = commands
        .handle(&chat, "/watch keyword ceasefire", None, Utc::now())
        .await
        .unwrap();
    let rule: i64 = reply
        .text
        .trim_start_matches("Watching #")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    server.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(report) = poll_only_feed(&t.app).await else {
        panic!("poll failed")
    };
    assert_eq!(
        report.hits, 2,
        "the config's UN Security Council, and the new ceasefire rule"
    );

    let reply = commands
        .handle(&chat, &format!("/unwatch {rule}"), None, Utc::now())
        .await
        .unwrap();
    assert!(reply.text.starts_with("Removed"), "{reply:?}");
    let later = (
        "new-2",
        "Talks resume",
        "The UN Security Council discussed the ceasefire again.",
    );
    server.set(
        "/world.xml",
        rss(&[later, NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    let PollOutcome::Ingested(report) = poll_only_feed(&t.app).await else {
        panic!("poll failed")
    };
    assert_eq!(report.hits, 1, "only the config's rule is left");
    assert_eq!(
        t.app.pipeline().rule_set_builds(),
        builds,
        "one rule in and out, no full rebuild"
    );
}

#[tokio::test]
async fn a_single_pass_over_the_100_real_feeds_ingests_them_all_concurrently() {
    let server = FeedServer::start().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/feeds/real");
    let urls: Vec<_> = server
        .serve_dir("/real", dir)
        .unwrap()
        .into_iter()
        .filter(|u| !u.path().ends_with(".md"))
        .collect();
    assert_eq!(urls.len(), 100);
    let mut extra = String::from("[[console.rules]]\nspec = \"country:Russia\"\n");
    for url in &urls {
        extra.push_str(&format!("[[feeds]]\nurl = \"{url}\"\nbackfill = \"all\"\n"));
    }
    let db = TestDb::new();
    let mut settings = test_settings(&db, &extra);
    settings.polling.max_per_host = 16;
    let mut t = spawn_app(settings).await;
    let (polls, delivered) = t.app.run_once().await.unwrap();
    // Concurrent polls queue for the database instead of failing.
    assert_eq!((polls.ok, polls.failed), (100, 0), "{polls:?}");
    assert!(polls.new_articles > 1000, "{polls:?}");
    assert!(polls.hits > 0);
    assert_eq!(delivered.sent, t.printed().len());
    assert!(delivered.sent > 0);
    // A second pass is all 304s.
    let (again, _) = t.app.run_once().await.unwrap();
    assert_eq!(
        (again.not_modified, again.new_articles),
        (100, 0),
        "{again:?}"
    );
}
