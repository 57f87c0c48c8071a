//! The loopback news the pipeline and chat adapter tests share: an RSS
//! document builder, an old story (seen before any rule) and a new one the
//! rule [`RULE`] matches, and the steps that put them through the app.

use std::{future::Future, time::Duration};

use chrono::Utc;
use wirewatch::app::App;

use super::{app::Running, feed_server::FeedServer};

/// An RSS document with the given (guid, title, description) items.
pub fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Loopback News</title><link>https://news.example/</link><description>test</description>\n",
    );
    for (guid, title, description) in items {
        body.push_str(&format!(
            "<item><title>{title}</title><link>https://news.example/{guid}</link><guid>{guid}</guid><pubDate>Fri, 27 Nov 2026 09:00:00 GMT</pubDate><description>{description}</description></item>\n"
        ));
    }
    body.push_str("</channel></rss>\n");
    body
}

pub const OLD_STORY: (&str, &str, &str) = (
    "old-1",
    "Markets open higher",
    "Shares rose in early trading.",
);
pub const NEW_STORY: (&str, &str, &str) = (
    "new-1",
    "Ministers meet in New York",
    "The UN Security Council met on Friday to discuss the ceasefire.",
);
/// Matches [`NEW_STORY`], not [`OLD_STORY`].
pub const RULE: &str = "keyword:UN Security Council";

/// Every chat adapter test body runs under this limit.
pub async fn within_a_minute<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("test took longer than a minute")
}

/// Polls the app's first feed once.
pub async fn poll(app: &App) {
    let feed = &app.store().active_feeds().await.unwrap()[0];
    app.pipeline().poll(feed, Utc::now()).await.unwrap();
}

/// The feed with the old story, polled once (recorded, no alerts).
pub async fn seeded(feeds: &FeedServer, app: &App) {
    feeds.set("/world.xml", rss(&[OLD_STORY]), "application/rss+xml");
    poll(app).await;
}

/// The new story is published and the feed polled.
pub async fn new_story_polled(feeds: &FeedServer, app: &App) {
    feeds.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    poll(app).await;
}

/// The new story is published and the running app told to poll, after
/// its scheduler's first poll (a 304) is over.
pub async fn new_story_arrives(feeds: &FeedServer, app: &Running) {
    feeds.body_ends("/world.xml", 2).await;
    feeds.set(
        "/world.xml",
        rss(&[NEW_STORY, OLD_STORY]),
        "application/rss+xml",
    );
    app.poll_feed().await;
}
