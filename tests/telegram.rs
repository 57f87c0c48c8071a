//! Telegram end to end: the real teloxide client inside wirewatch against
//! the strict fake Bot API (`support::telegram_api`), feeds from the
//! loopback feed server.
//!
//! Delivery and polling are driven step by step where the test is about
//! them; the receive loop runs for real (`run_until_stopped`) and tests
//! synchronise on what the fake observed, with time limits, never sleeps.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use wirewatch::{
    chat::{Chat, ChatTarget, Notice, Outgoing, Platform, SendError},
    config::Settings,
};

use crate::stories::{WIRE, poll as poll_named, serve_one_story_three_times, three_outlets};
use crate::support::{
    app::{Running, TestDb, spawn_app, test_settings},
    feed_server::FeedServer,
    news::{
        NEW_STORY, OLD_STORY, RULE, new_story_arrives, new_story_polled, poll, rss, seeded,
        within_a_minute,
    },
    telegram_api::{BOT_USERNAME, FakeTelegram, Fault, MAX_TEXT_UNITS, TOKEN, parse_html},
};

const USER: i64 = 1001;
const OTHER_USER: i64 = 1002;
const THIRD_USER: i64 = 1003;
const GROUP: i64 = -2001;
const SUPERGROUP: i64 = -1_000_000_002_001;
const ADMIN: i64 = 3001;
const MEMBER: i64 = 3002;

fn settings(db: &TestDb, tg: &FakeTelegram, feeds: &FeedServer, telegram_extra: &str) -> Settings {
    test_settings(
        db,
        &format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n{telegram_extra}\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"0 0 0 1 1 *\"\n",
            tg.api_url(),
            feeds.url("/world.xml")
        ),
    )
}

/// Gives the chat `chat` the rule `spec`, as `/watch` would.
async fn watch(app: &wirewatch::app::App, chat: i64, spec: &str) {
    let sub = app
        .store()
        .ensure_subscription("telegram", &chat.to_string(), Utc::now())
        .await
        .unwrap();
    app.store()
        .add_rule(sub.id, spec, Utc::now())
        .await
        .unwrap();
    app.pipeline().reload_rules().await.unwrap();
}

/// Runs `call` until the adapter's pacing lets it through: a rate limit
/// is waited out, as the outbox would.
async fn paced<T>(mut call: impl AsyncFnMut() -> Result<T, SendError>) -> Result<T, SendError> {
    loop {
        match call().await {
            Err(SendError::RateLimited(wait)) => tokio::time::sleep(wait).await,
            other => return other,
        }
    }
}

fn rule_number(reply: &str) -> i64 {
    reply
        .split_once('#')
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rule number in {reply:?}"))
}

#[tokio::test]
async fn a_user_watches_a_keyword_and_gets_exactly_one_alert_with_the_link_and_the_words() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);

        tg.wait_until("commands registered", |t| t.commands().is_some())
            .await;
        let commands = tg.commands().unwrap();
        for name in ["watch", "rules", "unwatch", "help"] {
            assert!(commands.iter().any(|(c, _)| c == name), "{commands:?}");
        }

        tg.user_sends(USER, USER, "/start");
        let sent = tg.wait_for_sent(USER, 1).await;
        assert!(sent[0].text.contains("/watch"), "{}", sent[0].text);
        assert!(sent[0].text.contains("/help"), "{}", sent[0].text);

        tg.user_sends(USER, USER, "/watch keyword UN Security Council");
        let sent = tg.wait_for_sent(USER, 2).await;
        assert!(sent[1].text.starts_with("Watching #"), "{}", sent[1].text);

        new_story_arrives(&feeds, &app).await;
        let sent = tg.wait_for_sent(USER, 3).await;
        let alert = &sent[2];
        assert!(
            alert.text.contains("Ministers meet in New York"),
            "{}",
            alert.text
        );
        assert!(
            alert.entities.iter().any(|(kind, url)| kind == "text_link"
                && url.as_deref() == Some("https://news.example/new-1")),
            "{:?}",
            alert.entities
        );
        assert!(
            alert.html.contains("<b>UN Security Council</b>"),
            "{}",
            alert.html
        );
        assert!(!alert.preview_disabled(), "a single alert shows a preview");

        // Later polls add nothing: the next message is the reply to /rules.
        app.poll_feed().await;
        tg.user_sends(USER, USER, "/rules");
        let sent = tg.wait_for_sent(USER, 4).await;
        assert!(sent[3].text.contains(RULE), "{}", sent[3].text);
        let alerts = tg
            .sent_to(USER)
            .iter()
            .filter(|s| s.text.contains("Ministers meet"))
            .count();
        assert_eq!(alerts, 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn in_a_group_only_admins_change_rules_and_commands_for_other_bots_are_ignored() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_group(
            GROUP,
            "supergroup",
            &[(ADMIN, "creator"), (MEMBER, "member")],
        );
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);

        tg.user_sends(GROUP, MEMBER, "/watch country Russia");
        let sent = tg.wait_for_sent(GROUP, 1).await;
        assert!(
            sent[0].text.contains("Only the chat's admins"),
            "{}",
            sent[0].text
        );

        // Addressed to another bot: no answer. The next answer is /rules'.
        tg.user_sends(GROUP, MEMBER, "/rules@otherbot");
        tg.user_sends(GROUP, MEMBER, "just talking");
        tg.user_sends(GROUP, MEMBER, "/rules");
        let sent = tg.wait_for_sent(GROUP, 2).await;
        assert!(sent[1].text.starts_with("No rules yet"), "{}", sent[1].text);

        tg.user_sends(
            GROUP,
            ADMIN,
            &format!("/watch@{BOT_USERNAME} country Russia"),
        );
        let sent = tg.wait_for_sent(GROUP, 3).await;
        assert!(sent[2].text.starts_with("Watching #"), "{}", sent[2].text);
        assert_eq!(tg.sent_to(GROUP).len(), 3);

        let asked: Vec<i64> = tg
            .calls("getChatMember")
            .iter()
            .filter_map(|c| c.params["user_id"].as_i64())
            .collect();
        assert!(
            asked.contains(&MEMBER) && asked.contains(&ADMIN),
            "{asked:?}"
        );
        let subs = app.store.subscriptions().await.unwrap();
        let group = subs
            .iter()
            .find(|s| s.chat_id == GROUP.to_string())
            .unwrap();
        let rules = app.store.rules_of(group.id).await.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].spec, "country:Russia");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn with_group_rules_members_any_member_may_change_rules() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_group(GROUP, "group", &[(ADMIN, "creator"), (MEMBER, "member")]);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "group_rules = \"members\"")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);
        tg.user_sends(GROUP, MEMBER, "/watch country Russia");
        let sent = tg.wait_for_sent(GROUP, 1).await;
        assert!(sent[0].text.starts_with("Watching #"), "{}", sent[0].text);
        assert!(tg.calls("getChatMember").is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rules_and_unwatch_work_and_a_chat_never_touches_another_chats_rules() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        tg.add_private_chat(OTHER_USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);

        tg.user_sends(USER, USER, "/watch country Russia");
        let reply = tg.wait_for_sent(USER, 1).await[0].text.clone();
        let id = rule_number(&reply);

        tg.user_sends(OTHER_USER, OTHER_USER, &format!("/unwatch {id}"));
        let sent = tg.wait_for_sent(OTHER_USER, 1).await;
        assert!(
            sent[0].text.contains(&format!("no rule #{id}")),
            "{}",
            sent[0].text
        );
        tg.user_sends(OTHER_USER, OTHER_USER, "/rules");
        let sent = tg.wait_for_sent(OTHER_USER, 2).await;
        assert!(sent[1].text.starts_with("No rules yet"), "{}", sent[1].text);

        // (each step waits for its reply, so replies pair with commands)
        let steps: &[(&str, &str)] = &[
            ("/rules", "country:Russia"),
            ("hello", "Commands start with /"),
            ("/frobnicate", "unknown command /frobnicate"),
            ("/watch colour red", "colour"),
            ("/help", "/unwatch"),
        ];
        for (i, (command, expected)) in steps.iter().enumerate() {
            tg.user_sends(USER, USER, command);
            let sent = tg.wait_for_sent(USER, i + 2).await;
            let text = &sent[i + 1].text;
            assert!(text.contains(expected), "{command}: {text}");
        }
        tg.user_sends(USER, USER, &format!("/unwatch {id}"));
        let sent = tg.wait_for_sent(USER, steps.len() + 2).await;
        assert_eq!(sent.last().unwrap().text, format!("Removed rule #{id}."));
        tg.user_sends(USER, USER, "/rules");
        let sent = tg.wait_for_sent(USER, steps.len() + 3).await;
        assert!(sent.last().unwrap().text.starts_with("No rules yet"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_headline_with_markup_arrives_escaped_and_is_accepted() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, USER, RULE).await;
        // Escaped twice: the feed's text is itself HTML (`&lt;b&gt;…`).
        let title = "&amp;lt;b&amp;gt;&amp;amp;&amp;lt;/b&amp;gt; Ministers meet &amp;amp; talk";
        feeds.set(
            "/world.xml",
            rss(&[(NEW_STORY.0, title, NEW_STORY.2), OLD_STORY]),
            "application/rss+xml",
        );
        poll(&t.app).await;
        let report = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        let sent = tg.sent_to(USER);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].text.contains("<b>&</b> Ministers meet & talk"),
            "{}",
            sent[0].text
        );
        assert!(
            sent[0].html.contains("&lt;b&gt;&amp;&lt;/b&gt;"),
            "{}",
            sent[0].html
        );
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_hits_for_one_chat_is_sent_as_one_list_without_previews() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, USER, RULE).await;
        let stories: Vec<(String, String, String)> = (0..6)
            .map(|i| {
                (
                    format!("burst-{i}"),
                    format!("Council story {i}"),
                    format!("Story {i}: the UN Security Council met again."),
                )
            })
            .collect();
        let mut items: Vec<(&str, &str, &str)> = stories
            .iter()
            .map(|(g, t, d)| (g.as_str(), t.as_str(), d.as_str()))
            .collect();
        items.push(OLD_STORY);
        feeds.set("/world.xml", rss(&items), "application/rss+xml");
        poll(&t.app).await;
        assert_eq!(t.app.store().pending_count().await.unwrap(), 6);
        let report = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(report.sent, 6, "six alerts delivered");
        let sent = tg.sent_to(USER);
        assert_eq!(sent.len(), 1, "as one message");
        assert!(sent[0].text.starts_with("6 new alerts"), "{}", sent[0].text);
        assert!(sent[0].preview_disabled());
        for i in 0..6 {
            assert!(
                sent[0]
                    .html
                    .contains(&format!("https://news.example/burst-{i}"))
            );
        }
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_429_storm_delays_the_alerts_but_loses_none() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        for chat in [USER, OTHER_USER, THIRD_USER] {
            tg.add_private_chat(chat);
        }
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        for chat in [USER, OTHER_USER, THIRD_USER] {
            watch(&t.app, chat, RULE).await;
        }
        for _ in 0..5 {
            tg.inject("sendMessage", Fault::RetryAfter(1));
        }
        new_story_polled(&feeds, &t.app).await;
        let first = t.app.delivery().deliver_due(Utc::now()).await.unwrap();
        assert_eq!(first.sent, 0, "every chat was told to wait");
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (3, 0));
        for chat in [USER, OTHER_USER, THIRD_USER] {
            let sent = tg.sent_to(chat);
            assert_eq!(sent.len(), 1, "chat {chat}");
            assert!(sent[0].text.contains("Ministers meet in New York"));
        }
        let refused = tg
            .calls("sendMessage")
            .iter()
            .filter(|c| c.status == 429)
            .count();
        assert_eq!(refused, 5);
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_blocked_chat_is_paused_and_an_upgraded_group_keeps_its_rules() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        tg.add_group(GROUP, "group", &[(ADMIN, "creator")]);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, USER, RULE).await;
        watch(&t.app, GROUP, RULE).await;
        tg.block(USER);
        tg.upgrade_group(GROUP, SUPERGROUP, false);
        new_story_polled(&feeds, &t.app).await;
        t.app
            .delivery()
            .drain(Duration::from_secs(5))
            .await
            .unwrap();

        let sent = tg.sent_to(SUPERGROUP);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].text.contains("Ministers meet in New York"));
        assert!(tg.sent_to(USER).is_empty());
        let subs = t.app.store().subscriptions().await.unwrap();
        let user = subs.iter().find(|s| s.chat_id == USER.to_string()).unwrap();
        assert!(
            user.paused_reason
                .as_deref()
                .unwrap_or("")
                .contains("blocked"),
            "{user:?}"
        );
        let group = subs
            .iter()
            .find(|s| s.chat_id == SUPERGROUP.to_string())
            .expect("the group's subscription moved");
        assert!(!subs.iter().any(|s| s.chat_id == GROUP.to_string()));
        assert_eq!(
            t.app.store().rules_of(group.id).await.unwrap()[0].spec,
            RULE
        );

        // The next story: the supergroup gets it, the blocked chat is not tried.
        let attempts_to_user = |tg: &FakeTelegram| {
            tg.calls("sendMessage")
                .iter()
                .filter(|c| c.params["chat_id"].as_i64() == Some(USER))
                .count()
        };
        let before = attempts_to_user(&tg);
        feeds.set(
            "/world.xml",
            rss(&[
                (
                    "new-2",
                    "Council meets again",
                    "The UN Security Council met again.",
                ),
                NEW_STORY,
                OLD_STORY,
            ]),
            "application/rss+xml",
        );
        poll(&t.app).await;
        t.app
            .delivery()
            .drain(Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(tg.sent_to(SUPERGROUP).len(), 2);
        assert_eq!(attempts_to_user(&tg), before);
    })
    .await;
}

#[tokio::test]
async fn an_upgrade_announced_in_updates_moves_the_subscription_before_any_send() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_group(GROUP, "group", &[(ADMIN, "creator")]);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);
        tg.user_sends(GROUP, ADMIN, "/watch keyword UN Security Council");
        tg.wait_for_sent(GROUP, 1).await;
        tg.upgrade_group(GROUP, SUPERGROUP, true);
        tg.user_sends(SUPERGROUP, ADMIN, "/rules");
        let sent = tg.wait_for_sent(SUPERGROUP, 1).await;
        assert!(sent[0].text.contains(RULE), "{}", sent[0].text);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_until_sent_once() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        watch(&t.app, USER, RULE).await;
        tg.inject("sendMessage", Fault::Drop);
        tg.inject("sendMessage", Fault::ServerError);
        new_story_polled(&feeds, &t.app).await;
        let now = Utc::now();
        let delivery = t.app.delivery();
        // Each failure backs off; stepping the clock past it retries.
        let r1 = delivery.deliver_due(now).await.unwrap();
        assert_eq!((r1.sent, r1.deferred), (0, 1));
        let r_early = delivery.deliver_due(now).await.unwrap();
        assert_eq!(r_early, Default::default(), "not retried before its time");
        let r2 = delivery
            .deliver_due(now + chrono::Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!((r2.sent, r2.deferred), (0, 1));
        let r3 = delivery
            .deliver_due(now + chrono::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(r3.sent, 1, "{r3:?} {:?}", tg.calls("sendMessage"));
        assert_eq!(tg.sent_to(USER).len(), 1);
        let statuses: Vec<u16> = tg.calls("sendMessage").iter().map(|c| c.status).collect();
        assert_eq!(statuses, [0, 500, 200]);
    })
    .await;
}

#[tokio::test]
async fn killing_the_app_mid_delivery_neither_loses_nor_repeats_an_alert() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        let chats = [USER, OTHER_USER, THIRD_USER];
        for chat in chats {
            tg.add_private_chat(chat);
        }
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        for chat in chats {
            watch(&t.app, chat, RULE).await;
        }
        // The third chat's send never gets an answer.
        tg.hang_chat(THIRD_USER, true);
        let app = Running::start(t.app);
        new_story_arrives(&feeds, &app).await;
        tg.wait_until("a send to the third chat in flight", |t| {
            t.calls("sendMessage")
                .iter()
                .any(|c| c.params["chat_id"].as_i64() == Some(THIRD_USER))
        })
        .await;
        assert_eq!(tg.sent_to(USER).len(), 1);
        assert_eq!(tg.sent_to(OTHER_USER).len(), 1);
        app.kill().await;

        tg.hang_chat(THIRD_USER, false);
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        let app = Running::start(t.app);
        tg.wait_for_sent(THIRD_USER, 1).await;
        // A sync point: a command answered after the restart's first round.
        tg.user_sends(USER, USER, "/rules");
        tg.wait_for_sent(USER, 2).await;
        for chat in chats {
            let alerts = tg
                .sent_to(chat)
                .iter()
                .filter(|s| s.text.contains("Ministers meet in New York"))
                .count();
            assert_eq!(alerts, 1, "chat {chat}");
        }
        app.stop().await;
        let store = wirewatch::store::Store::open(&db.url()).await.unwrap();
        assert_eq!(store.pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn updates_are_handled_once_across_a_restart() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        seeded(&feeds, &t.app).await;
        let app = Running::start(t.app);
        tg.user_sends(USER, USER, "/watch country Russia");
        tg.user_sends(USER, USER, "/watch country France");
        tg.wait_for_sent(USER, 2).await;
        app.stop().await;

        // Sent while the bot is down.
        tg.user_sends(USER, USER, "/rules");
        let polls_before = tg.poll_offsets().len();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        let app = Running::start(t.app);
        let sent = tg.wait_for_sent(USER, 3).await;
        assert!(sent[2].text.contains("country:France"), "{}", sent[2].text);
        tg.user_sends(USER, USER, "/help");
        let sent = tg.wait_for_sent(USER, 4).await;
        assert!(sent[3].text.contains("/watch"));
        tg.wait_for_updates_confirmed().await;
        app.stop().await;

        let replies: Vec<&str> = sent.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(replies.len(), 4, "{replies:?}");
        assert_eq!(
            replies
                .iter()
                .filter(|r| r.starts_with("Watching #"))
                .count(),
            2,
            "{replies:?}"
        );
        let offsets = tg.poll_offsets();
        // The restarted bot asked from its stored offset, not from scratch.
        assert!(
            matches!(offsets[polls_before], Some(o) if o > 0),
            "{offsets:?}"
        );
        let given: Vec<i64> = offsets.iter().flatten().copied().collect();
        assert!(given.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
    })
    .await;
}

/// Raw calls to the fake: it refuses what Telegram refuses, so the tests
/// above can trust it.
#[tokio::test]
async fn a_second_outlet_carrying_an_alerted_story_edits_the_alert_to_name_it() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        serve_one_story_three_times(&feeds);
        let mut config = format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[console]\nenabled = false\n",
            tg.api_url()
        );
        config.push_str(&three_outlets(&feeds, &[]));
        let db = TestDb::new();
        let t = spawn_app(test_settings(&db, &config)).await;
        watch(&t.app, USER, RULE).await;

        poll_named(&t.app, "Wire A").await;
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        let sent = tg.sent_to(USER);
        assert_eq!(sent.len(), 1, "one alert");
        assert!(sent[0].text.contains(WIRE.1), "{}", sent[0].text);
        assert!(!sent[0].text.contains("also:"), "{}", sent[0].text);

        // The copy joins the story: the alert is edited, nothing new sent.
        poll_named(&t.app, "Outlet B").await;
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        assert_eq!(tg.calls("sendMessage").len(), 1, "no second message");
        let edits = tg.edits_to(USER);
        assert_eq!(edits.len(), 1, "one edit");
        let calls = tg.calls("editMessageText");
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].params["parse_mode"], json!("HTML"));
        let edit = &edits[0];
        assert_eq!(edit.message_id, sent[0].message_id, "the alert is edited");
        assert!(edit.text.contains(WIRE.1), "{}", edit.text);
        assert!(edit.text.contains("also: Outlet B"), "{}", edit.text);
        assert!(
            edit.entities.iter().any(|(kind, url)| kind == "text_link"
                && url.as_deref() == Some("https://news.example/wire-1")),
            "{:?}",
            edit.entities
        );
        assert!(!edit.preview_disabled(), "as the single alert was sent");
        assert_eq!(edit.link_preview, sent[0].link_preview);
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn three_outlets_carrying_one_story_give_one_alert_and_one_edit_naming_the_later_two() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        tg.add_private_chat(USER);
        serve_one_story_three_times(&feeds);
        let mut config = format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[console]\nenabled = false\n",
            tg.api_url()
        );
        config.push_str(&three_outlets(&feeds, &[]));
        let db = TestDb::new();
        let t = spawn_app(test_settings(&db, &config)).await;
        watch(&t.app, USER, RULE).await;

        let first = poll_named(&t.app, "Wire A").await;
        assert_eq!((first.alerts, first.joined_stories), (1, 0), "{first:?}");
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        let sent = tg.sent_to(USER);
        assert_eq!(sent.len(), 1, "one alert");
        assert!(!sent[0].text.contains("also:"), "{}", sent[0].text);

        // Both other outlets arrive before the next delivery: one edit
        // names both; nothing new is sent.
        for name in ["Outlet B", "Outlet C"] {
            let report = poll_named(&t.app, name).await;
            assert_eq!(
                (report.alerts, report.joined_stories, report.story_updates),
                (0, 1, 1),
                "{name}: {report:?}"
            );
        }
        let report = t
            .app
            .delivery()
            .drain(Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!((report.sent, report.failed), (1, 0));
        assert_eq!(tg.calls("sendMessage").len(), 1, "no second message");
        let calls = tg.calls("editMessageText");
        assert_eq!(calls.len(), 1, "{calls:?}");
        let edits = tg.edits_to(USER);
        assert_eq!(edits.len(), 1, "one edit");
        assert_eq!(
            edits[0].message_id, sent[0].message_id,
            "the alert is edited"
        );
        assert!(edits[0].text.contains(WIRE.1), "{}", edits[0].text);
        assert!(
            edits[0].text.contains("also: Outlet B, Outlet C"),
            "{}",
            edits[0].text
        );
        assert_eq!(t.app.store().pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn edits_are_refused_unless_the_bot_sent_the_message_and_the_text_changes() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        tg.add_private_chat(USER);
        tg.add_private_chat(OTHER_USER);
        let user_message = tg.user_sends(USER, USER, "hello");
        let api = url::Url::parse(&tg.api_url()).unwrap();
        let chat =
            wirewatch::chat::telegram::TelegramChat::new(&wirewatch::config::TelegramSettings {
                token: secrecy::SecretString::from(TOKEN.to_owned()),
                api_url: api,
                group_rules: Default::default(),
            })
            .unwrap();
        let to = |id: i64| ChatTarget {
            platform: Platform::Telegram,
            chat_id: id.to_string(),
        };
        let notice = |text: &str| {
            Outgoing::Notice(Notice {
                text: text.to_owned(),
            })
        };
        let sent = chat.send(&to(USER), &notice("first")).await.unwrap();
        let id = sent.message_id.expect("telegram gives message ids");

        let edited = paced(async || chat.edit(&to(USER), &id, &notice("second")).await).await;
        assert_eq!(edited.unwrap().message_id.as_deref(), Some(id.as_str()));
        let edits = tg.edits_to(USER);
        assert_eq!(edits.len(), 1);
        assert_eq!(
            (edits[0].text.as_str(), edits[0].message_id.to_string()),
            ("second", id.clone())
        );

        // The same text again: Telegram's "not modified", which is success.
        let again = paced(async || chat.edit(&to(USER), &id, &notice("second")).await).await;
        assert!(again.is_ok(), "{again:?}");
        let calls = tg.calls("editMessageText");
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[1].status, 400, "{calls:?}");
        assert_eq!(tg.edits_to(USER).len(), 1, "not recorded as an edit");

        // A message that is not there, in another chat, or a user's.
        let user_message = user_message.to_string();
        for (chat_id, message, needle) in [
            (USER, "999", "message to edit not found"),
            (OTHER_USER, id.as_str(), "message to edit not found"),
            (USER, user_message.as_str(), "message can't be edited"),
        ] {
            let refused =
                paced(async || chat.edit(&to(chat_id), message, &notice("third")).await).await;
            match refused {
                Err(SendError::Rejected(why)) => assert!(why.contains(needle), "{why}"),
                other => panic!("{chat_id}/{message}: {other:?}"),
            }
        }
        assert_eq!(tg.edits_to(USER).len(), 1);
        assert!(tg.edits_to(OTHER_USER).is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_fake_bot_api_refuses_what_telegram_refuses() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        tg.add_private_chat(USER);
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let call = |method: &str, body: Value| {
            let request = client
                .post(format!("{}/bot{TOKEN}/{method}", tg.api_url()))
                .json(&body)
                .send();
            async move {
                let response = request.await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                (status, body)
            }
        };
        let html = |text: String| json!({"chat_id": USER, "text": text, "parse_mode": "HTML"});
        let a_4096 = "a".repeat(MAX_TEXT_UNITS);
        let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
            (
                "ok",
                "sendMessage",
                html("<b>x</b> &amp; y".into()),
                200,
                "",
            ),
            (
                "name in PascalCase",
                "SendMessage",
                html("x".into()),
                200,
                "",
            ),
            (
                "unknown method",
                "sendTelegram",
                json!({}),
                404,
                "Not Found",
            ),
            (
                "unknown parameter",
                "sendMessage",
                json!({"chat_id": USER, "text": "x", "colour": 1}),
                400,
                "unknown field",
            ),
            (
                "missing text",
                "sendMessage",
                json!({"chat_id": USER}),
                400,
                "\"text\" is required",
            ),
            (
                "wrong type",
                "sendMessage",
                json!({"chat_id": USER, "text": 5}),
                400,
                "expected String",
            ),
            (
                "unknown chat",
                "sendMessage",
                json!({"chat_id": 77, "text": "x"}),
                400,
                "chat not found",
            ),
            (
                "unsupported tag",
                "sendMessage",
                html("<br> x".into()),
                400,
                "Unsupported start tag",
            ),
            (
                "unclosed tag",
                "sendMessage",
                html("<b>x".into()),
                400,
                "end tag",
            ),
            (
                "crossed tags",
                "sendMessage",
                html("<b><i>x</b></i>".into()),
                400,
                "Unexpected end tag",
            ),
            (
                "bare <",
                "sendMessage",
                html("1 < 2".into()),
                400,
                "can't parse entities",
            ),
            ("bare &", "sendMessage", html("R&D".into()), 400, "entity"),
            (
                "unknown entity",
                "sendMessage",
                html("&nbsp;".into()),
                400,
                "entity",
            ),
            (
                "link without href",
                "sendMessage",
                html("<a>x</a>".into()),
                400,
                "href",
            ),
            (
                "empty",
                "sendMessage",
                html("<b> </b>".into()),
                400,
                "text is empty",
            ),
            (
                "4096 after parsing",
                "sendMessage",
                html(format!("<b>{a_4096}</b>")),
                200,
                "",
            ),
            (
                "4097",
                "sendMessage",
                html(format!("{a_4096}&amp;")),
                400,
                "too long",
            ),
            (
                "astral chars count twice",
                "sendMessage",
                html("𝕏".repeat(2049)),
                400,
                "too long",
            ),
            (
                "bad command name",
                "setMyCommands",
                json!({"commands": [{"command": "Watch", "description": "x"}]}),
                400,
                "BOT_COMMAND_INVALID",
            ),
            (
                "bad scope",
                "setMyCommands",
                json!({"commands": [], "scope": {"type": "nobody"}}),
                400,
                "must be",
            ),
        ];
        for (name, method, body, status, needle) in cases {
            let (got, answer) = call(method, body).await;
            assert_eq!(got, status, "{name}: {answer}");
            assert_eq!(answer["ok"], json!(status == 200), "{name}");
            if status != 200 {
                assert_eq!(answer["error_code"], json!(status), "{name}");
                let description = answer["description"].as_str().unwrap();
                assert!(description.contains(needle), "{name}: {description}");
            }
        }
        let wrong_token = client
            .post(format!("{}/bot1:wrong/getMe", tg.api_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_token.status().as_u16(), 401);

        tg.inject("sendMessage", Fault::RetryAfter(3));
        tg.inject("sendMessage", Fault::Migrated(-100_123));
        let (status, answer) = call("sendMessage", html("x".into())).await;
        assert_eq!(
            (status, &answer["parameters"]["retry_after"]),
            (429, &json!(3))
        );
        let (status, answer) = call("sendMessage", html("x".into())).await;
        assert_eq!(
            (status, &answer["parameters"]["migrate_to_chat_id"]),
            (400, &json!(-100_123))
        );
        // Only the accepted messages count as sent.
        assert_eq!(tg.sent_to(USER).len(), 3);
        let (text, entities) =
            parse_html("<b>a</b>𝕏<a href=\"https://x.example/?a=1&amp;b=2\">l</a>").unwrap();
        assert_eq!(text, "a𝕏l");
        assert_eq!(entities[1]["offset"], json!(3), "offsets are UTF-16");
        assert_eq!(entities[1]["url"], json!("https://x.example/?a=1&b=2"));
    })
    .await;
}

/// Not a test but a measurement (run it with `--ignored --nocapture`):
/// the time from a matching item appearing on the loopback feed to the
/// fake Bot API accepting the alert's `sendMessage`, with the feed polled
/// every second (`* * * * * *`, no jitter), over 20 runs. Each run has its
/// own chat and rule, so Telegram pacing of one chat does not add up, and
/// the item appears at a random point of the poll period.
#[tokio::test]
#[ignore = "a measurement, not a check; prints the latency"]
async fn measure_feed_to_telegram_latency() {
    const WORDS: [&str; 20] = [
        "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India",
        "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa", "Quebec", "Romeo",
        "Sierra", "Tango",
    ];
    tokio::time::timeout(Duration::from_secs(120), async {
        let tg = FakeTelegram::start().await;
        let feeds = FeedServer::start().await;
        feeds.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
        let db = TestDb::new();
        let settings = test_settings(
            &db,
            &format!(
                "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[console]\nenabled = false\n[[feeds]]\nurl = \"{}\"\nname = \"Loopback News\"\nschedule = \"* * * * * *\"\n",
                tg.api_url(),
                feeds.url("/world.xml")
            ),
        );
        let t = spawn_app(settings).await;
        poll(&t.app).await;
        for (i, word) in WORDS.iter().enumerate() {
            let chat = 10_000 + i as i64;
            tg.add_private_chat(chat);
            watch(&t.app, chat, &format!("keyword:Marker {word}")).await;
        }
        let app = Running::start(t.app);
        let mut items: Vec<(String, String, String)> = Vec::new();
        let mut latencies = Vec::new();
        for (i, word) in WORDS.iter().enumerate() {
            let chat = 10_000 + i as i64;
            items.insert(
                0,
                (
                    format!("probe-{i}"),
                    format!("Marker {word} reported"),
                    "Loopback text.".to_owned(),
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
            let sent = tg.wait_for_sent(chat, 1).await;
            latencies.push(sent[0].at.duration_since(appeared));
        }
        app.stop().await;
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let median = (ms(latencies[9]) + ms(latencies[10])) / 2.0;
        eprintln!(
            "feed item -> sendMessage over {} runs, poll schedule `* * * * * *` (every second, no jitter): median {:.0} ms, best {:.0} ms, worst {:.0} ms",
            latencies.len(),
            median,
            ms(latencies[0]),
            ms(latencies[latencies.len() - 1])
        );
        assert_eq!(latencies.len(), 20);
    })
    .await
    .expect("the measurement took longer than two minutes");
}

#[tokio::test]
async fn readiness_follows_the_bot_api_connection() {
    within_a_minute(async {
        let tg = FakeTelegram::start().await;
        tg.add_private_chat(USER);
        let feeds = FeedServer::start().await;
        feeds.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
        let db = TestDb::new();
        let t = spawn_app(settings(&db, &tg, &feeds, "")).await;
        let telegram = t
            .app
            .http_state()
            .chats
            .into_iter()
            .find(|c| c.platform() == Platform::Telegram)
            .expect("the telegram adapter is enabled");
        assert!(
            !telegram.is_connected(),
            "not connected before it ever asked"
        );
        let running = Running::start(t.app);

        // A reply goes out only after the poll that carried the command was
        // answered, so by then the adapter knows it is connected.
        tg.user_sends(USER, USER, "/help");
        tg.wait_for_sent(USER, 1).await;
        assert!(telegram.is_connected());

        // The Bot API goes away: the next two polls get no answer.
        tg.inject("getUpdates", Fault::Drop);
        tg.inject("getUpdates", Fault::Drop);
        tg.user_sends(USER, USER, "/rules");
        let dropped = |tg: &FakeTelegram| {
            tg.calls("getUpdates")
                .iter()
                .filter(|c| c.status == 0)
                .count()
        };
        tg.wait_until("two dropped polls", |tg| dropped(tg) >= 2)
            .await;
        assert!(
            !telegram.is_connected(),
            "a dropped poll is not a connection"
        );

        // It comes back: the next answered poll restores readiness.
        tg.user_sends(USER, USER, "/help");
        tg.wait_for_sent(USER, 3).await;
        assert!(telegram.is_connected());
        running.stop().await;
    })
    .await;
}
