//! Discord end to end: serenity's real HTTP and gateway clients inside
//! wirewatch against the strict fake Discord (`support::discord_api`),
//! feeds from the loopback feed server.
//!
//! Delivery is driven step by step where the test is about it; the
//! gateway runs for real (`run_until_stopped`) and tests synchronise on
//! what the fake observed, with time limits, never sleeps.

use std::{future::Future, time::Duration};

use chrono::Utc;
use serde_json::{Value, json};
use wirewatch::{config::Settings, store::Store};

use tokio_util::sync::CancellationToken;
use wirewatch::http::serve;

use crate::stories::{WIRE, poll as poll_named, serve_one_story_three_times, three_outlets};
use crate::support::{
    app::{Running, TestDb, spawn_app, test_settings},
    discord_api::{
        CHANNEL, Call, DM_CHANNEL, FakeDiscord, Fault, GUILD, MANAGE_CHANNELS, MEMBER_PERMISSIONS,
        OTHER_CHANNEL, Posted, TOKEN,
    },
    feed_server::FeedServer,
    news::{
        NEW_STORY, OLD_STORY, RULE, new_story_arrives, new_story_polled, poll, rss, seeded,
        within_a_minute,
    },
};

const ANALYST: u64 = 1_500_000_000_000_000_001;
const READER: u64 = 1_500_000_000_000_000_002;

fn settings(db: &TestDb, discord: &FakeDiscord, feeds: &FeedServer) -> Settings {
    test_settings(
        db,
        &format!(
            "[discord]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nguild_id = \"{GUILD}\"\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"0 0 0 1 1 *\"\n",
            discord.api_url(),
            feeds.url("/world.xml")
        ),
    )
}

/// Gives channel `channel` the rule `spec`, as `/watch` would.
async fn watch(app: &wirewatch::app::App, channel: u64, spec: &str) {
    let sub = app
        .store()
        .ensure_subscription("discord", &channel.to_string(), Utc::now())
        .await
        .unwrap();
    app.store()
        .add_rule(sub.id, spec, Utc::now())
        .await
        .unwrap();
    app.pipeline().reload_rules().await.unwrap();
}

fn watch_keyword(text: &str) -> Value {
    json!([{"type": 1, "name": "keyword", "options": [{"type": 3, "name": "text", "value": text}]}])
}

fn alerts_about(posted: &[Posted], headline: &str) -> usize {
    posted
        .iter()
        .filter(|p| {
            p.embeds()
                .iter()
                .any(|e| e["title"].as_str().is_some_and(|t| t.contains(headline)))
        })
        .count()
}

#[tokio::test]
async fn a_member_with_manage_channels_watches_a_keyword_and_the_channel_gets_one_embed() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);

        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let (guild, commands) = discord.registered().unwrap();
        assert_eq!(
            guild,
            Some(GUILD),
            "registered per guild when guild_id is set"
        );
        let names: Vec<&str> = commands
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        for name in [
            "watch", "rules", "unwatch", "digest", "alerts", "test", "feeds", "feed", "help",
        ] {
            assert!(names.contains(&name), "{names:?}");
        }

        let id = discord.run_command(
            CHANNEL,
            ANALYST,
            MEMBER_PERMISSIONS | MANAGE_CHANNELS,
            "watch",
            watch_keyword("UN Security Council"),
        );
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.content.starts_with("Watching"), "{answer:?}");
        assert!(!answer.ephemeral, "confirmations are public");
        assert_eq!(answer.body["data"]["allowed_mentions"]["parse"], json!([]));

        new_story_arrives(&feeds, &app).await;
        let posted = discord.wait_for_posted(CHANNEL, 1).await;
        let embeds = posted[0].embeds();
        assert_eq!(embeds.len(), 1, "{:?}", posted[0].body);
        let embed = &embeds[0];
        assert_eq!(embed["title"], "Ministers meet in New York");
        assert_eq!(embed["url"], "https://news.example/new-1");
        let description = embed["description"].as_str().unwrap();
        assert!(
            description.contains("**UN Security Council**"),
            "{description}"
        );
        assert!(
            embed["footer"]["text"]
                .as_str()
                .unwrap()
                .contains("Loopback News")
        );
        assert!(embed["timestamp"].is_string(), "{embed}");
        assert_eq!(posted[0].body["allowed_mentions"]["parse"], json!([]));

        // Later polls add nothing: the next answer is the reply to /rules.
        app.poll_feed().await;
        let id = discord.run_command(CHANNEL, ANALYST, MEMBER_PERMISSIONS, "rules", json!([]));
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.content.contains("UN Security Council"), "{answer:?}");
        assert!(answer.ephemeral, "listings are ephemeral");
        assert_eq!(
            alerts_about(&discord.posted_to(CHANNEL), "Ministers meet"),
            1
        );
        assert!(discord.posted_to(OTHER_CHANNEL).is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_member_without_manage_channels_is_refused_and_nothing_changes() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let id = discord.run_command(
            CHANNEL,
            READER,
            MEMBER_PERMISSIONS,
            "watch",
            watch_keyword("UN Security Council"),
        );
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.ephemeral, "{answer:?}");
        assert!(answer.content.contains("admins"), "{answer:?}");
        let rules = app.store.all_rules().await.unwrap();
        assert!(rules.is_empty(), "{rules:?}");

        // A typo in a typed option is answered privately, too.
        let id = discord.run_command(
            CHANNEL,
            ANALYST,
            MANAGE_CHANNELS,
            "digest",
            json!([{"type": 3, "name": "setting", "value": "25:99"}]),
        );
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.ephemeral, "{answer:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn autocomplete_offers_countries_and_only_the_channels_own_rules() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        watch(&t.app, CHANNEL, RULE).await;
        watch(&t.app, OTHER_CHANNEL, "country:Russia").await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;

        let id = discord.type_into(
            CHANNEL,
            ANALYST,
            MANAGE_CHANNELS,
            "watch",
            json!([{"type": 1, "name": "country", "options": [{"type": 3, "name": "name", "value": "Ukr", "focused": true}]}]),
        );
        let choices = discord.wait_for_choices(id).await;
        assert_eq!(choices[0]["value"], "Ukraine", "{choices:?}");
        assert!(choices.len() <= 25);

        let id = discord.type_into(
            CHANNEL,
            ANALYST,
            MANAGE_CHANNELS,
            "unwatch",
            json!([{"type": 4, "name": "id", "value": "", "focused": true}]),
        );
        let choices = discord.wait_for_choices(id).await;
        assert_eq!(choices.len(), 1, "{choices:?}");
        assert!(choices[0]["name"].as_str().unwrap().contains(RULE), "{choices:?}");
        assert!(choices[0]["value"].is_i64(), "{choices:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn test_with_an_article_url_is_deferred_then_answered_privately() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        feeds.set(
            "/world.xml",
            rss(&[NEW_STORY, OLD_STORY]),
            "application/rss+xml",
        );
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        watch(&t.app, CHANNEL, RULE).await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let id = discord.run_command(
            CHANNEL,
            READER,
            MEMBER_PERMISSIONS,
            "test",
            json!([{"type": 3, "name": "input", "value": feeds.url("/world.xml")}]),
        );
        let answer = discord.wait_for_answer(id).await;
        let answers = discord.answers_to(id);
        assert_eq!(answers[0].callback_type, 5, "deferred first: {answers:?}");
        assert!(answers[0].ephemeral);
        assert_eq!(answer.kind, "edit");
        assert!(!answer.content.is_empty());

        // Plain text needs no fetch and is answered at once.
        let id = discord.run_command(
            CHANNEL,
            READER,
            MEMBER_PERMISSIONS,
            "test",
            json!([{"type": 3, "name": "input", "value": "The UN Security Council met."}]),
        );
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.content.contains("UN Security Council"), "{answer:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_direct_message_with_the_bot_is_a_private_subscription() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let id = discord.run_dm_command("watch", watch_keyword("UN Security Council"));
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.content.starts_with("Watching"), "{answer:?}");
        new_story_arrives(&feeds, &app).await;
        let posted = discord.wait_for_posted(DM_CHANNEL, 1).await;
        assert_eq!(alerts_about(&posted, "Ministers meet"), 1);
        assert!(discord.posted_to(CHANNEL).is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_headline_with_everyone_and_markdown_is_delivered_inert() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, CHANNEL, RULE).await;
        feeds.set(
            "/world.xml",
            rss(&[
                (
                    "loud-1",
                    "@everyone **UN Security Council** &lt;@&amp;123&gt; _now_",
                    "The UN Security Council met. @here [click](https://evil.example)",
                ),
                OLD_STORY,
            ]),
            "application/rss+xml",
        );
        poll(&t.app).await;
        let report = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(report.sent, 1);
        let posted = discord.posted_to(CHANNEL);
        assert_eq!(posted.len(), 1);
        assert_eq!(posted[0].body["allowed_mentions"]["parse"], json!([]));
        let embed = &posted[0].embeds()[0];
        let title = embed["title"].as_str().unwrap();
        let description = embed["description"].as_str().unwrap();
        for text in [title, description] {
            assert!(
                !text.contains("@everyone") && !text.contains("@here"),
                "{text}"
            );
            assert!(!text.contains("<@&"), "{text}");
            assert!(!text.contains("[click]("), "{text}");
        }
        assert!(title.contains("\\*\\*UN Security Council\\*\\*"), "{title}");
        assert!(title.contains("\\_now\\_"), "{title}");
        // The match itself is bold, the rest literal.
        assert!(
            description.contains("**UN Security Council**"),
            "{description}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_429_storm_delays_the_alerts_but_loses_none() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        for channel in [CHANNEL, OTHER_CHANNEL] {
            watch(&t.app, channel, RULE).await;
        }
        for global in [false, true, false, false] {
            discord.inject(
                "POST /channels/",
                Fault::RateLimited {
                    retry_after: 0.5,
                    global,
                },
            );
        }
        new_story_polled(&feeds, &t.app).await;
        let first = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(first.sent, 0, "every channel was told to wait");
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(40))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (2, 0));
        for channel in [CHANNEL, OTHER_CHANNEL] {
            assert_eq!(
                alerts_about(&discord.posted_to(channel), "Ministers meet"),
                1,
                "channel {channel}"
            );
        }
        let refused = discord.calls().iter().filter(|c| c.status == 429).count();
        assert_eq!(refused, 4);
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn missing_access_and_unknown_channels_pause_their_subscriptions() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        for channel in [CHANNEL, OTHER_CHANNEL] {
            watch(&t.app, channel, RULE).await;
        }
        discord.inject(&format!("POST /channels/{CHANNEL}/"), Fault::MissingAccess);
        discord.inject(
            &format!("POST /channels/{OTHER_CHANNEL}/"),
            Fault::UnknownChannel,
        );
        new_story_polled(&feeds, &t.app).await;
        let report = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(report.sent, 0);
        let subs = t.app.store().subscriptions().await.unwrap();
        for channel in [CHANNEL, OTHER_CHANNEL] {
            let sub = subs
                .iter()
                .find(|s| s.platform == "discord" && s.chat_id == channel.to_string())
                .unwrap();
            let reason = sub.paused_reason.as_deref().unwrap_or("");
            assert!(
                reason.contains("403") || reason.contains("404"),
                "{reason:?}"
            );
        }
        // Paused channels are not tried again.
        let calls = discord.calls().len();
        t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(discord.calls().len(), calls);
    })
    .await;
}

#[tokio::test]
async fn a_gateway_drop_is_resumed_and_a_command_sent_meanwhile_is_answered() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        assert_eq!(discord.sessions(), (1, 0));

        discord.drop_gateway();
        let id = discord.run_command(
            CHANNEL,
            ANALYST,
            MANAGE_CHANNELS,
            "watch",
            watch_keyword("UN Security Council"),
        );
        let answer = discord.wait_for_answer(id).await;
        assert!(answer.content.starts_with("Watching"), "{answer:?}");
        assert_eq!(discord.sessions(), (1, 1), "resumed, not identified again");
        assert_eq!(app.store.all_rules().await.unwrap().len(), 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn killing_the_app_mid_delivery_neither_loses_nor_repeats_an_alert() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        for channel in [CHANNEL, OTHER_CHANNEL] {
            watch(&t.app, channel, RULE).await;
        }
        // The second channel's send never gets an answer.
        discord.hang_channel(OTHER_CHANNEL, true);
        let app = Running::start(t.app);
        new_story_arrives(&feeds, &app).await;
        discord
            .wait_until("a send to the second channel in flight", |d| {
                d.calls().iter().any(|c| {
                    c.path == format!("/channels/{OTHER_CHANNEL}/messages") && c.status == 0
                })
            })
            .await;
        discord.wait_for_posted(CHANNEL, 1).await;
        app.kill().await;

        discord.hang_channel(OTHER_CHANNEL, false);
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        let app = Running::start(t.app);
        discord.wait_for_posted(OTHER_CHANNEL, 1).await;
        // A sync point: a command answered after the restart's first round.
        discord
            .wait_until("the restarted app registered", |d| d.sessions().0 == 2)
            .await;
        let id = discord.run_command(CHANNEL, ANALYST, MANAGE_CHANNELS, "rules", json!([]));
        discord.wait_for_answer(id).await;
        app.stop().await;
        for channel in [CHANNEL, OTHER_CHANNEL] {
            assert_eq!(
                alerts_about(&discord.posted_to(channel), "Ministers meet"),
                1,
                "channel {channel}"
            );
        }
        let store = Store::open(&db.url()).await.unwrap();
        assert_eq!(store.pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "a measurement, not a check; prints the latency"]
async fn measure_feed_to_discord_latency() {
    const RUNS: usize = 25;
    tokio::time::timeout(Duration::from_secs(120), async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        feeds.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
        let db = TestDb::new();
        let settings = test_settings(
            &db,
            &format!(
                "[discord]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nguild_id = \"{GUILD}\"\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"* * * * * *\"\n",
                discord.api_url(),
                feeds.url("/world.xml")
            ),
        );
        let t = spawn_app(settings).await;
        poll(&t.app).await;
        watch(&t.app, CHANNEL, RULE).await;
        let app = Running::start(t.app);
        let mut items: Vec<(String, String, String)> = Vec::new();
        let mut latencies = Vec::new();
        for run in 0..RUNS {
            items.insert(
                0,
                (
                    format!("lat-{run}"),
                    format!("Latency story {run}"),
                    format!("Run {run}: the UN Security Council met again."),
                ),
            );
            let mut doc: Vec<(&str, &str, &str)> = items
                .iter()
                .map(|(g, t, d)| (g.as_str(), t.as_str(), d.as_str()))
                .collect();
            doc.push(OLD_STORY);
            // The item appears at a random point of the poll period (not
            // right after the poll that delivered the previous one).
            let phase = rand::random_range(0..1000);
            tokio::time::sleep(Duration::from_millis(phase)).await;
            let appeared = std::time::Instant::now();
            feeds.set("/world.xml", rss(&doc), "application/rss+xml");
            let posted = discord.wait_for_posted(CHANNEL, run + 1).await;
            latencies.push(posted[run].at.duration_since(appeared));
        }
        app.stop().await;
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "feed item -> POST /channels/{{id}}/messages over {RUNS} runs, poll schedule `* * * * * *` (every second, no jitter): median {:.0} ms, best {:.0} ms, worst {:.0} ms",
            ms(latencies[RUNS / 2]),
            ms(latencies[0]),
            ms(latencies[RUNS - 1])
        );
        assert_eq!(latencies.len(), RUNS);
    })
    .await
    .expect("the measurement took longer than two minutes");
}

#[tokio::test]
async fn the_fake_discord_refuses_what_discord_refuses() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{}/api/v10/channels/{CHANNEL}/messages", discord.api_url());
        let post = |body: Value, auth: &str| {
            client
                .post(&url)
                .header("authorization", auth.to_owned())
                .json(&body)
                .send()
        };
        let bot = format!("Bot {TOKEN}");
        let embed = |e: Value| json!({"embeds": [e]});
        let field = json!({"name": "n", "value": "v"});
        let refused = [
            ("content over 2000", json!({"content": "x".repeat(2001)})),
            ("empty message", json!({"content": ""})),
            ("title over 256", embed(json!({"title": "t".repeat(257)}))),
            (
                "description over 4096",
                embed(json!({"description": "d".repeat(4097)})),
            ),
            (
                "26 fields",
                embed(json!({"title": "t", "fields": vec![field.clone(); 26]})),
            ),
            (
                "field value over 1024",
                embed(json!({"fields": [{"name": "n", "value": "v".repeat(1025)}]})),
            ),
            (
                "footer over 2048",
                embed(json!({"footer": {"text": "f".repeat(2049)}})),
            ),
            (
                "over 6000 in all",
                json!({"embeds": [
                    {"description": "d".repeat(4000)},
                    {"description": "d".repeat(2001)}
                ]}),
            ),
            (
                "11 embeds",
                json!({"embeds": vec![json!({"title": "t"}); 11]}),
            ),
            (
                "a colour out of range",
                embed(json!({"title": "t", "color": 16_777_216})),
            ),
            (
                "an unknown field with data",
                json!({"content": "hi", "ping": "everyone"}),
            ),
            ("a number as content", json!({"content": 5})),
        ];
        for (what, body) in refused {
            let response = post(body, &bot).await.unwrap();
            assert_eq!(response.status(), 400, "{what}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["code"], 50035, "{what}: {answer}");
        }
        let response = post(json!({"content": "hi"}), "Bot wrong").await.unwrap();
        assert_eq!(response.status(), 401);
        let accepted = post(
            json!({"content": "x".repeat(2000), "allowed_mentions": {"parse": []}}),
            &bot,
        )
        .await
        .unwrap();
        assert_eq!(accepted.status(), 200);
        assert_eq!(discord.posted_to(CHANNEL).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_sent_once() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, CHANNEL, RULE).await;
        discord.inject("POST /channels/", Fault::ServerError);
        discord.inject("POST /channels/", Fault::ServerError);
        new_story_polled(&feeds, &t.app).await;
        let now = Utc::now();
        let delivery = t.app.delivery();
        // Each failure backs off; stepping the clock past it retries.
        let r1 = delivery.deliver_due(now).await.unwrap();
        assert_eq!((r1.sent, r1.deferred), (0, 1));
        let early = delivery.deliver_due(now).await.unwrap();
        assert_eq!(early, Default::default(), "not retried before its time");
        let r2 = delivery
            .deliver_due(now + chrono::Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!((r2.sent, r2.deferred), (0, 1));
        let r3 = delivery
            .deliver_due(now + chrono::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(r3.sent, 1, "{r3:?}");
        let statuses: Vec<u16> = discord
            .calls()
            .iter()
            .filter(|c| c.path.starts_with("/channels/"))
            .map(|c| c.status)
            .collect();
        assert_eq!(statuses, [500, 500, 200]);
        assert_eq!(
            alerts_about(&discord.posted_to(CHANNEL), "Ministers meet"),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_hits_for_one_channel_is_one_message_with_an_embed_each() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, CHANNEL, RULE).await;
        feeds.set(
            "/world.xml",
            rss(&[
                (
                    "b-1",
                    "Ceasefire vote due",
                    "The UN Security Council votes today.",
                ),
                (
                    "b-2",
                    "Envoys arrive",
                    "Envoys reached the UN Security Council chamber.",
                ),
                (
                    "b-3",
                    "Veto threatened",
                    "A veto at the UN Security Council looms.",
                ),
                OLD_STORY,
            ]),
            "application/rss+xml",
        );
        poll(&t.app).await;
        let report = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(report.sent, 3, "{report:?}");
        let posted = discord.posted_to(CHANNEL);
        assert_eq!(posted.len(), 1, "one message");
        let titles: Vec<String> = posted[0]
            .embeds()
            .iter()
            .map(|e| e["title"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(titles.len(), 3, "{titles:?}");
        for headline in ["Ceasefire vote due", "Envoys arrive", "Veto threatened"] {
            assert!(titles.iter().any(|t| t == headline), "{titles:?}");
        }
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_listing_longer_than_one_message_continues_in_ephemeral_follow_ups() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        for i in 0..60 {
            watch(
                &t.app,
                CHANNEL,
                &format!("keyword:Security Council resolution number {i} on the ceasefire"),
            )
            .await;
        }
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let id = discord.run_command(CHANNEL, READER, MEMBER_PERMISSIONS, "rules", json!([]));
        let listed = |d: &FakeDiscord, i: usize| {
            d.answers_to(id)
                .iter()
                .any(|a| a.content.contains(&format!("number {i} on")))
        };
        discord
            .wait_until("the whole listing", |d| listed(d, 0) && listed(d, 59))
            .await;
        let answers = discord.answers_to(id);
        assert_eq!(answers[0].kind, "callback");
        assert!(answers[1..].iter().all(|a| a.kind == "followup"));
        assert!(answers.iter().all(|a| a.ephemeral), "{answers:?}");
        assert!(answers.iter().all(|a| a.content.chars().count() <= 2000));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_refused_feed_add_is_answered_privately_after_the_public_deferral() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        let app = Running::start(t.app);
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        let id = discord.run_command(
            CHANNEL,
            ANALYST,
            MANAGE_CHANNELS,
            "feed",
            json!([{"type": 1, "name": "add", "options": [{"type": 3, "name": "url", "value": "ftp://nowhere.example/feed"}]}]),
        );
        discord
            .wait_until("the private answer", |d| {
                d.answers_to(id).iter().any(|a| a.kind == "followup")
            })
            .await;
        let answers = discord.answers_to(id);
        let kinds: Vec<&str> = answers.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, ["callback", "delete", "followup"], "{answers:?}");
        assert_eq!(answers[0].callback_type, 5);
        assert!(answers[2].ephemeral, "{answers:?}");
        assert!(answers[2].content.contains("feed"), "{answers:?}");
        app.stop().await;
    })
    .await;
}

/// The calls that created a message in `channel`, in order.
fn posts_to(discord: &FakeDiscord, channel: u64) -> Vec<Call> {
    let path = format!("/channels/{channel}/messages");
    discord
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path == path)
        .collect()
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_its_retry_after_and_the_alert_arrives_once() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, CHANNEL, RULE).await;
        // Longer than the one second the adapter used to guess.
        let retry_after = 1.6;
        discord.inject(
            &format!("POST /channels/{CHANNEL}/messages"),
            Fault::RateLimited {
                retry_after,
                global: false,
            },
        );
        new_story_polled(&feeds, &t.app).await;
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));

        let posts = posts_to(&discord, CHANNEL);
        let statuses: Vec<u16> = posts.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [429, 200], "one refusal, then the retry");
        let waited = posts[1].at.duration_since(posts[0].at);
        assert!(
            waited >= Duration::from_secs_f64(retry_after),
            "retried after {waited:?}, before the {retry_after} s Discord asked for"
        );
        let posted = discord.posted_to(CHANNEL);
        assert_eq!(posted.len(), 1);
        assert_eq!(alerts_about(&posted, "Ministers meet"), 1);
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_global_429_on_one_channel_holds_the_other_channels_until_it_passes() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        seeded(&feeds, &t.app).await;
        for channel in [CHANNEL, OTHER_CHANNEL] {
            watch(&t.app, channel, RULE).await;
        }
        let retry_after = 1.2;
        // Whichever channel goes first is told to stop: all of them.
        discord.inject(
            "POST /channels/",
            Fault::RateLimited {
                retry_after,
                global: true,
            },
        );
        new_story_polled(&feeds, &t.app).await;
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (2, 0));

        let posts: Vec<Call> = discord
            .calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/channels/"))
            .collect();
        assert_eq!(posts[0].status, 429, "{posts:?}");
        let held = &posts[0];
        let other = if held.path.contains(&CHANNEL.to_string()) {
            OTHER_CHANNEL
        } else {
            CHANNEL
        };
        let to_other = posts_to(&discord, other);
        assert_eq!(to_other.len(), 1, "never refused, sent once: {to_other:?}");
        for call in &posts[1..] {
            assert_eq!(call.status, 200, "{call:?}");
            let waited = call.at.duration_since(held.at);
            assert!(
                waited >= Duration::from_secs_f64(retry_after),
                "{} {} called {waited:?} after a global {retry_after} s limit",
                call.method,
                call.path
            );
        }
        for channel in [CHANNEL, OTHER_CHANNEL] {
            let posted = discord.posted_to(channel);
            assert_eq!(alerts_about(&posted, "Ministers meet"), 1, "{channel}");
        }
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_story_carried_by_three_feeds_gives_one_embed_and_one_edit_naming_the_outlets() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        serve_one_story_three_times(&feeds);
        let mut config = format!(
            "[discord]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nguild_id = \"{GUILD}\"\n[console]\nenabled = false\n",
            discord.api_url()
        );
        config.push_str(&three_outlets(&feeds, &[]));
        let db = TestDb::new();
        let t = spawn_app(test_settings(&db, &config)).await;
        watch(&t.app, CHANNEL, "keyword:UN Security Council").await;
        let delivery = t.app.delivery();

        poll_named(&t.app, "Wire A").await;
        let report = delivery.drain(Duration::from_secs(30)).await.unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        let posted = discord.posted_to(CHANNEL);
        assert_eq!(posted.len(), 1, "one alert");
        let alert = &posted[0];
        let embeds = alert.embeds();
        assert_eq!(embeds.len(), 1, "{embeds:?}");
        assert_eq!(embeds[0]["title"], json!(WIRE.1));
        let footer = embeds[0]["footer"]["text"].as_str().unwrap_or("");
        assert!(!footer.contains("also:"), "{footer}");

        // Both other outlets carry it before the next delivery: one edit
        // of the alert names both, and nothing new is posted.
        poll_named(&t.app, "Outlet B").await;
        poll_named(&t.app, "Outlet C").await;
        let report = delivery.drain(Duration::from_secs(30)).await.unwrap();
        assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");

        assert_eq!(posts_to(&discord, CHANNEL).len(), 1, "exactly one POST");
        let patches: Vec<Call> = discord
            .calls()
            .into_iter()
            .filter(|c| c.method == "PATCH")
            .collect();
        assert_eq!(patches.len(), 1, "exactly one PATCH: {patches:?}");
        assert_eq!(
            patches[0].path,
            format!("/channels/{CHANNEL}/messages/{}", alert.id),
            "the alert itself is edited"
        );
        assert_eq!(patches[0].status, 200, "{:?}", patches[0].answer);
        let edits = discord.edits_in(CHANNEL);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].id, alert.id);
        let after = discord.posted_to(CHANNEL);
        assert_eq!(after.len(), 1);
        let embeds = after[0].embeds();
        assert_eq!(embeds.len(), 1, "{embeds:?}");
        assert_eq!(embeds[0]["title"], json!(WIRE.1));
        assert_eq!(embeds[0]["url"], alert.embeds()[0]["url"]);
        let footer = embeds[0]["footer"]["text"].as_str().unwrap_or("");
        assert!(footer.contains("also: Outlet B, Outlet C"), "{footer}");
        assert_eq!(
            edits[0].patch["allowed_mentions"]["parse"],
            json!([]),
            "an edit pings no one either"
        );
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn the_fake_discord_edits_only_the_bots_own_messages_within_the_limits() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let bot = format!("Bot {TOKEN}");
        let base = format!("{}/api/v10/channels", discord.api_url());
        let created: Value = client
            .post(format!("{base}/{CHANNEL}/messages"))
            .header("authorization", &bot)
            .json(&json!({"content": "first", "embeds": [{"title": "t"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let theirs = discord.post_as(CHANNEL, READER, "a member's words");
        let patch = |channel: u64, message: &str, body: Value| {
            client
                .patch(format!("{base}/{channel}/messages/{message}"))
                .header("authorization", &bot)
                .json(&body)
                .send()
        };
        let refused = [
            (
                "another user's message",
                patch(CHANNEL, &theirs.to_string(), json!({"content": "x"})),
                403,
                50005,
            ),
            (
                "an unknown message",
                patch(CHANNEL, "1400000000000009999", json!({"content": "x"})),
                404,
                10008,
            ),
            (
                "the message in another channel",
                patch(OTHER_CHANNEL, &id, json!({"content": "x"})),
                404,
                10008,
            ),
            (
                "content over 2000",
                patch(CHANNEL, &id, json!({"content": "x".repeat(2001)})),
                400,
                50035,
            ),
            (
                "a title over 256",
                patch(
                    CHANNEL,
                    &id,
                    json!({"embeds": [{"title": "t".repeat(257)}]}),
                ),
                400,
                50035,
            ),
            (
                "a field not in the spec",
                patch(CHANNEL, &id, json!({"content": "x", "ping": "everyone"})),
                400,
                50035,
            ),
            (
                "nothing left",
                patch(CHANNEL, &id, json!({"content": "", "embeds": []})),
                400,
                50006,
            ),
        ];
        for (what, call, status, code) in refused {
            let response = call.await.unwrap();
            assert_eq!(response.status(), status, "{what}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["code"], code, "{what}: {answer}");
        }
        assert!(discord.edits_in(CHANNEL).is_empty(), "nothing was edited");

        // Only the named fields change.
        let response = patch(CHANNEL, &id, json!({"content": "second"}))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["content"], "second");
        assert!(answer["edited_timestamp"].is_string(), "{answer}");
        let message = &discord.posted_to(CHANNEL)[0];
        assert_eq!(message.content(), "second");
        assert_eq!(message.embeds().len(), 1, "the embed stays");
        assert_eq!(discord.edits_in(CHANNEL).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn readiness_follows_the_discord_gateway_connection() {
    within_a_minute(async {
        let discord = FakeDiscord::start().await;
        let feeds = FeedServer::start().await;
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &discord, &feeds)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let readyz = format!("http://{}/readyz", listener.local_addr().unwrap());
        let stop_http = CancellationToken::new();
        tokio::spawn(serve(listener, t.app.http_state(), stop_http.clone()));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let ready = || async {
            let response = client.get(&readyz).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        };
        let (status, body) = ready().await;
        assert_eq!(status, 503, "not connected before it ever was: {body}");
        assert!(body.contains("discord: not connected"), "{body}");

        let app = Running::start(t.app);
        // Commands are registered after READY, which is when it is connected.
        discord
            .wait_until("commands registered", |d| d.registered().is_some())
            .await;
        wait_for_readiness(&ready, 200).await;

        discord.gateway_goes_away();
        let body = wait_for_readiness(&ready, 503).await;
        assert!(body.contains("discord: not connected"), "{body}");
        // It stays unready while the gateway refuses every reconnection.
        discord
            .wait_until("a refused reconnection", |d| d.refused_connections() > 0)
            .await;
        assert_eq!(ready().await.0, 503);

        discord.gateway_comes_back();
        discord.wait_until("a new session", |d| d.connected()).await;
        wait_for_readiness(&ready, 200).await;
        app.stop().await;
        stop_http.cancel();
    })
    .await;
}

/// Asks `/readyz` until it answers `status` (or fails after 20 s); the body.
async fn wait_for_readiness<F, Fut>(ready: &F, status: u16) -> String
where
    F: Fn() -> Fut,
    Fut: Future<Output = (u16, String)>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (now, body) = ready().await;
        if now == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz still answers {now}, not {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
