//! Fetching against the loopback feed server: conditional GET, limits,
//! redirects, the address policy for chat feeds, `file://` and concurrency.

use std::time::{Duration, Instant};

use wirewatch::feeds::fetch::{
    FetchError, FetchOutcome, FetchSettings, FetchedBody, Fetcher, Trust, USER_AGENT, Validators,
    check_feed_url,
};

use crate::support::feed_server::FeedServer;

const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>UN Security Council meets</title><link>https://example.com/1</link></item>
</channel></rss>"#;

const RSS_TYPE: &str = "application/rss+xml";

/// Loopback is allowed and the limits are small, so that failures are quick.
fn settings() -> FetchSettings {
    FetchSettings {
        timeout: Duration::from_secs(5),
        max_body_bytes: 1024 * 1024,
        allow_private_addresses: true,
        ..FetchSettings::default()
    }
}

fn fetcher(settings: FetchSettings) -> Fetcher {
    Fetcher::new(settings).expect("fetcher builds")
}

fn fetched(outcome: FetchOutcome) -> FetchedBody {
    match outcome {
        FetchOutcome::Fetched(body) => body,
        FetchOutcome::NotModified => panic!("expected a body, got NotModified"),
    }
}

async fn fetch_ok(fetcher: &Fetcher, url: &url::Url, validators: &Validators) -> FetchOutcome {
    fetcher
        .fetch(url, validators, Trust::Operator)
        .await
        .expect("fetch succeeds")
}

async fn fetch_err(fetcher: &Fetcher, url: &url::Url) -> FetchError {
    match fetcher
        .fetch(url, &Validators::default(), Trust::Operator)
        .await
    {
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn an_unchanged_feed_answers_304_to_its_etag() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    let fetcher = fetcher(settings());
    let url = server.url("/feed.xml");

    let first = fetched(fetch_ok(&fetcher, &url, &Validators::default()).await);
    assert_eq!(first.bytes, RSS.as_bytes());
    let etag = first.validators.etag.clone().expect("server sent an ETag");

    let second = fetch_ok(&fetcher, &url, &first.validators).await;
    assert!(matches!(second, FetchOutcome::NotModified), "{second:?}");
    let headers = server
        .last_request_headers("/feed.xml")
        .expect("request seen");
    assert_eq!(headers["if-none-match"], etag.as_str());
    assert_eq!(server.requests("/feed.xml"), 2);
}

#[tokio::test]
async fn last_modified_alone_is_enough_for_a_304() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    let fetcher = fetcher(settings());
    let url = server.url("/feed.xml");

    let first = fetched(fetch_ok(&fetcher, &url, &Validators::default()).await);
    let only_date = Validators {
        etag: None,
        last_modified: first.validators.last_modified.clone(),
    };
    assert!(
        only_date.last_modified.is_some(),
        "server sent Last-Modified"
    );

    let second = fetch_ok(&fetcher, &url, &only_date).await;
    assert!(matches!(second, FetchOutcome::NotModified), "{second:?}");
    let headers = server
        .last_request_headers("/feed.xml")
        .expect("request seen");
    assert!(headers.get("if-none-match").is_none());
    assert_eq!(
        headers["if-modified-since"],
        only_date.last_modified.as_deref().expect("checked above")
    );
}

#[tokio::test]
async fn a_feed_that_gains_a_story_is_fetched_again_with_new_validators() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    let fetcher = fetcher(settings());
    let url = server.url("/feed.xml");
    let first = fetched(fetch_ok(&fetcher, &url, &Validators::default()).await);

    let updated = RSS.replace(
        "</channel>",
        "<item><title>Second story</title></item></channel>",
    );
    server.set("/feed.xml", updated.clone(), RSS_TYPE);

    let second = fetched(fetch_ok(&fetcher, &url, &first.validators).await);
    assert_eq!(second.bytes, updated.as_bytes());
    assert_ne!(second.validators.etag, first.validators.etag);
    assert_ne!(
        second.validators.last_modified,
        first.validators.last_modified
    );
}

#[tokio::test]
async fn requests_say_who_we_are_and_what_we_accept() {
    let server = FeedServer::start().await;
    server.set(
        "/feed.xml",
        RSS,
        "application/rss+xml; charset=windows-1251",
    );
    let body = fetched(
        fetch_ok(
            &fetcher(settings()),
            &server.url("/feed.xml"),
            &Validators::default(),
        )
        .await,
    );
    assert_eq!(body.charset.as_deref(), Some("windows-1251"));

    let headers = server
        .last_request_headers("/feed.xml")
        .expect("request seen");
    assert_eq!(headers["user-agent"], USER_AGENT);
    let accept = headers["accept"].to_str().expect("ascii");
    assert!(accept.contains("application/rss+xml"), "{accept}");
    assert!(accept.contains("application/atom+xml"), "{accept}");
}

#[tokio::test]
async fn a_server_error_reads_as_plain_words() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    server.fail("/feed.xml", 500);
    let fetcher = fetcher(settings());
    let error = fetch_err(&fetcher, &server.url("/feed.xml")).await;
    assert_eq!(
        error.to_string(),
        "server answered 500 Internal Server Error"
    );

    server.restore("/feed.xml");
    let body = fetched(fetch_ok(&fetcher, &server.url("/feed.xml"), &Validators::default()).await);
    assert_eq!(body.bytes, RSS.as_bytes());
}

#[tokio::test]
async fn a_missing_feed_is_a_404() {
    let server = FeedServer::start().await;
    let error = fetch_err(&fetcher(settings()), &server.url("/nothing.xml")).await;
    assert_eq!(error.to_string(), "server answered 404 Not Found");
}

#[tokio::test]
async fn a_body_that_trickles_past_the_timeout_fails() {
    let server = FeedServer::start().await;
    // 2 KiB in 64-byte pieces, 100 ms apart: over 3 s to send in full.
    server.set("/slow.xml", "x".repeat(2048), RSS_TYPE);
    server.slow("/slow.xml", Duration::from_millis(100));
    let fetcher = fetcher(FetchSettings {
        timeout: Duration::from_millis(300),
        ..settings()
    });

    let started = Instant::now();
    let error = fetch_err(&fetcher, &server.url("/slow.xml")).await;
    assert_eq!(error, FetchError::TimedOut(Duration::from_millis(300)));
    assert_eq!(error.to_string(), "timed out after 300 ms");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let ends = server.body_ends("/slow.xml", 1).await;
    assert!(!ends[0].complete, "{ends:?}");
}

#[tokio::test]
async fn an_oversize_body_without_length_is_cut_off_while_streaming() {
    let server = FeedServer::start().await;
    let total = 64 * 1024 * 1024;
    server.huge("/huge.xml", total);
    let error = fetch_err(&fetcher(settings()), &server.url("/huge.xml")).await;
    assert_eq!(error, FetchError::TooLarge(1024 * 1024));
    assert_eq!(error.to_string(), "body larger than the 1048576-byte limit");

    let ends = server.body_ends("/huge.xml", 1).await;
    assert!(!ends[0].complete, "the client must hang up early: {ends:?}");
    assert!(ends[0].bytes_sent < total / 4, "{ends:?}");
}

#[tokio::test]
async fn an_oversize_content_length_fails_before_the_body_is_read() {
    let server = FeedServer::start().await;
    let total = 64 * 1024 * 1024;
    server.huge_with_length("/huge.xml", total);
    let error = fetch_err(&fetcher(settings()), &server.url("/huge.xml")).await;
    assert_eq!(error, FetchError::TooLarge(1024 * 1024));

    let ends = server.body_ends("/huge.xml", 1).await;
    assert!(!ends[0].complete, "{ends:?}");
    assert!(ends[0].bytes_sent < total / 4, "{ends:?}");
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let server = FeedServer::start().await;
    server.huge("/edge.xml", 1024 * 1024);
    let body = fetched(
        fetch_ok(
            &fetcher(settings()),
            &server.url("/edge.xml"),
            &Validators::default(),
        )
        .await,
    );
    assert_eq!(body.bytes.len(), 1024 * 1024);
}

#[tokio::test]
async fn a_gzip_body_is_decoded() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    server.gzip("/feed.xml");
    let body = fetched(
        fetch_ok(
            &fetcher(settings()),
            &server.url("/feed.xml"),
            &Validators::default(),
        )
        .await,
    );
    assert_eq!(body.bytes, RSS.as_bytes());
    // The fake only compresses when asked: this proves the body came gzipped.
    let headers = server
        .last_request_headers("/feed.xml")
        .expect("request seen");
    let accepted = headers["accept-encoding"].to_str().expect("ascii");
    assert!(accepted.contains("gzip"), "{accepted}");
}

#[tokio::test]
async fn the_size_limit_counts_decompressed_bytes() {
    let server = FeedServer::start().await;
    // 4 MiB of spaces compress to a few KiB: a small gzip bomb.
    server.set("/bomb.xml", vec![b' '; 4 * 1024 * 1024], RSS_TYPE);
    server.gzip("/bomb.xml");
    let error = fetch_err(&fetcher(settings()), &server.url("/bomb.xml")).await;
    assert_eq!(error, FetchError::TooLarge(1024 * 1024));
}

#[tokio::test]
async fn a_redirect_is_followed_and_the_final_url_reported() {
    let server = FeedServer::start().await;
    server.set("/new.xml", RSS, RSS_TYPE);
    server.redirect("/old.xml", "/new.xml");
    let body = fetched(
        fetch_ok(
            &fetcher(settings()),
            &server.url("/old.xml"),
            &Validators::default(),
        )
        .await,
    );
    assert_eq!(body.bytes, RSS.as_bytes());
    assert_eq!(body.final_url, server.url("/new.xml"));
    assert_eq!(server.requests("/old.xml"), 1);
    assert_eq!(server.requests("/new.xml"), 1);
}

#[tokio::test]
async fn a_redirect_loop_is_an_error() {
    let server = FeedServer::start().await;
    server.redirect("/a.xml", "/b.xml");
    server.redirect("/b.xml", "/a.xml");
    let error = fetch_err(&fetcher(settings()), &server.url("/a.xml")).await;
    assert_eq!(error, FetchError::RedirectLoop);
    assert_eq!(error.to_string(), "redirect loop");
    assert_eq!(server.requests("/a.xml"), 1);
    assert_eq!(server.requests("/b.xml"), 1);
}

#[tokio::test]
async fn five_redirects_are_followed_and_six_are_too_many() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    // /hop1 → /feed.xml, /hopN → /hop(N-1).
    server.redirect("/hop1", "/feed.xml");
    for n in 2..=6 {
        server.redirect(&format!("/hop{n}"), &format!("/hop{}", n - 1));
    }
    let fetcher = fetcher(settings());

    let body = fetched(fetch_ok(&fetcher, &server.url("/hop5"), &Validators::default()).await);
    assert_eq!(body.final_url, server.url("/feed.xml"));

    let error = fetch_err(&fetcher, &server.url("/hop6")).await;
    assert_eq!(error.to_string(), "more than 5 redirects");
    assert_eq!(
        server.requests("/feed.xml"),
        1,
        "the sixth hop was not taken"
    );
}

#[tokio::test]
async fn a_chat_feed_may_not_reach_loopback_unless_allowed() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", RSS, RSS_TYPE);
    let strict = fetcher(FetchSettings {
        allow_private_addresses: false,
        ..settings()
    });
    let url = server.url("/feed.xml");

    let error = strict
        .fetch(&url, &Validators::default(), Trust::Chat)
        .await
        .expect_err("loopback refused for chat");
    assert_eq!(
        error.to_string(),
        "address 127.0.0.1 is private or loopback and is not allowed"
    );
    let mut by_name = url.clone();
    by_name.set_host(Some("localhost")).expect("valid host");
    let error = strict
        .fetch(&by_name, &Validators::default(), Trust::Chat)
        .await
        .expect_err("localhost refused for chat");
    assert!(matches!(error, FetchError::PrivateAddress(_)), "{error:?}");
    assert_eq!(server.requests("/feed.xml"), 0, "nothing was sent");

    // The operator's config may name any address, with the same fetcher.
    fetched(fetch_ok(&strict, &url, &Validators::default()).await);
    // And chat feeds may too when the config allows private addresses.
    let lenient = fetcher(settings());
    let body = lenient
        .fetch(&url, &Validators::default(), Trust::Chat)
        .await
        .expect("allowed by config");
    assert!(matches!(body, FetchOutcome::Fetched(_)));
    assert_eq!(server.requests("/feed.xml"), 2);
}

#[test]
fn urls_typed_in_chat_are_checked_before_any_request() {
    use FetchError::{PrivateAddress, UnsupportedScheme};
    let ip = |text: &str| text.parse().expect("test IP");
    let refused = [
        ("http://10.0.0.1/feed", PrivateAddress(ip("10.0.0.1"))),
        (
            "http://169.254.169.254/latest/meta-data/",
            PrivateAddress(ip("169.254.169.254")),
        ),
        ("http://[::1]:8080/rss", PrivateAddress(ip("::1"))),
        (
            "https://192.168.1.1/rss.xml",
            PrivateAddress(ip("192.168.1.1")),
        ),
        (
            "http://127.0.0.1:9184/metrics",
            PrivateAddress(ip("127.0.0.1")),
        ),
        (
            "http://[::ffff:10.0.0.1]/",
            PrivateAddress(ip("::ffff:10.0.0.1")),
        ),
        ("file:///etc/passwd", UnsupportedScheme("file".into())),
        (
            "ftp://ftp.example.com/feed.xml",
            UnsupportedScheme("ftp".into()),
        ),
        (
            "javascript:alert(1)",
            UnsupportedScheme("javascript".into()),
        ),
    ];
    for (raw, expected) in refused {
        assert_eq!(
            check_feed_url(raw, Trust::Chat, false),
            Err(expected),
            "{raw}"
        );
    }
    assert!(matches!(
        check_feed_url("not a url", Trust::Chat, false),
        Err(FetchError::InvalidUrl(_))
    ));

    for raw in [
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "http://1.1.1.1/feed",
    ] {
        let url = check_feed_url(raw, Trust::Chat, false).expect(raw);
        assert_eq!(url.as_str(), raw);
    }
    // The config may open private addresses to chat feeds, never file://.
    assert!(check_feed_url("http://10.0.0.1/feed", Trust::Chat, true).is_ok());
    assert!(check_feed_url("file:///etc/passwd", Trust::Chat, true).is_err());
    // The operator may use both.
    assert!(check_feed_url("http://10.0.0.1/feed", Trust::Operator, false).is_ok());
    assert!(check_feed_url("file:///srv/feeds/local.xml", Trust::Operator, false).is_ok());
    assert_eq!(
        check_feed_url("ftp://ftp.example.com/", Trust::Operator, false),
        Err(UnsupportedScheme("ftp".into()))
    );
}

#[tokio::test]
async fn a_file_url_is_read_under_the_size_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("local.xml");
    std::fs::write(&path, RSS).expect("write feed");
    let url = url::Url::from_file_path(&path).expect("absolute path");
    let fetcher = fetcher(FetchSettings {
        max_body_bytes: 1000,
        ..settings()
    });

    let first = fetched(fetch_ok(&fetcher, &url, &Validators::default()).await);
    assert_eq!(first.bytes, RSS.as_bytes());
    assert_eq!(first.final_url, url);
    let again = fetch_ok(&fetcher, &url, &first.validators).await;
    assert!(matches!(again, FetchOutcome::NotModified), "{again:?}");

    // Same length, new content: a content hash sees the change at once.
    let changed = RSS.replace("meets", "votes");
    std::fs::write(&path, &changed).expect("rewrite feed");
    let second = fetched(fetch_ok(&fetcher, &url, &first.validators).await);
    assert_eq!(second.bytes, changed.as_bytes());

    std::fs::write(&path, "x".repeat(1001)).expect("grow feed");
    let error = fetch_err(&fetcher, &url).await;
    assert_eq!(error, FetchError::TooLarge(1000));

    let missing = url::Url::from_file_path(dir.path().join("gone.xml")).expect("absolute path");
    let error = fetch_err(&fetcher, &missing).await;
    assert!(error.to_string().starts_with("file not found: "), "{error}");
    assert!(error.to_string().ends_with("gone.xml"), "{error}");

    let error = fetcher
        .fetch(&url, &Validators::default(), Trust::Chat)
        .await
        .expect_err("chat may not read files");
    assert_eq!(error, FetchError::UnsupportedScheme("file".into()));
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error_without_the_url() {
    // Bind and drop a listener: its port is now closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/feed.xml?key=SECRET"))
        .expect("valid URL");
    let error = fetch_err(&fetcher(settings()), &url).await;
    let text = error.to_string();
    assert!(matches!(error, FetchError::Connect(_)), "{error:?}");
    assert!(text.starts_with("could not connect: "), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[tokio::test]
async fn fetches_to_one_host_are_bounded() {
    let server = FeedServer::start().await;
    // 256 bytes in four pieces 50 ms apart: each fetch takes about 200 ms.
    server.set("/slow.xml", "x".repeat(256), RSS_TYPE);
    server.slow("/slow.xml", Duration::from_millis(50));
    let fetcher = fetcher(FetchSettings {
        max_per_host: 2,
        ..settings()
    });
    let url = server.url("/slow.xml");

    let none = Validators::default();
    let fetches = (0..5).map(|_| fetch_ok(&fetcher, &url, &none));
    let outcomes = futures::future::join_all(fetches).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, FetchOutcome::Fetched(_)))
    );
    assert_eq!(server.requests("/slow.xml"), 5);
    assert_eq!(server.max_in_flight("/slow.xml"), 2);
}

#[tokio::test]
async fn fetches_overall_are_bounded() {
    let server = FeedServer::start().await;
    server.set("/slow.xml", "x".repeat(256), RSS_TYPE);
    server.slow("/slow.xml", Duration::from_millis(50));
    let fetcher = fetcher(FetchSettings {
        max_per_host: 5,
        max_concurrent: 3,
        ..settings()
    });
    let url = server.url("/slow.xml");

    let none = Validators::default();
    let fetches = (0..6).map(|_| fetch_ok(&fetcher, &url, &none));
    futures::future::join_all(fetches).await;
    assert_eq!(server.requests("/slow.xml"), 6);
    assert_eq!(server.max_in_flight("/slow.xml"), 3);
}
