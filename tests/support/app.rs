//! `spawn_app`: a wirewatch with its own temporary database, the console
//! chat captured, and its feeds on a loopback feed server.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wirewatch::{app::App, chat::console::ConsoleChat, config::Settings};
use wirewatch::{pipeline::Pipeline, store::Store};

/// A running test instance.
pub struct TestApp {
    /// The application.
    pub app: App,
    /// What the console chat printed, one entry per message.
    pub console: UnboundedReceiver<String>,
}

impl TestApp {
    /// Everything the console printed so far.
    pub fn printed(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(msg) = self.console.try_recv() {
            out.push(msg);
        }
        out
    }
}

/// A temporary directory holding a test's database.
pub struct TestDb {
    /// Dropped last: the database lives inside.
    pub dir: TempDir,
}

impl TestDb {
    /// A fresh directory.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The sqlx URL of the database in it.
    pub fn url(&self) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join("wirewatch.db").display()
        )
    }
}

/// Settings for a test: `extra` TOML (feeds, rules) on top of a config
/// that uses `db`, allows loopback feeds, has no jitter and no HTTP listener.
pub fn test_settings(db: &TestDb, extra: &str) -> Settings {
    let text = format!(
        "[database]\nurl = \"{}\"\n[polling]\nallow_private_addresses = true\njitter_secs = 0\ntimeout_secs = 5\n[http]\nlisten = \"\"\n{extra}",
        db.url()
    );
    Settings::from_toml_with_env(&text, "test config", std::iter::empty())
        .expect("test config is valid")
}

/// Builds an app on `settings` with the console captured.
pub async fn spawn_app(settings: Settings) -> TestApp {
    let (console, rx) = ConsoleChat::capture();
    let app = App::build(settings, Some(console))
        .await
        .expect("app builds");
    TestApp { app, console: rx }
}

/// A wirewatch running for real in a task.
pub struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// The running app's pipeline.
    pub pipeline: Arc<Pipeline>,
    /// The running app's store.
    pub store: Store,
}

impl Running {
    /// Runs `app` until stopped or killed.
    pub fn start(app: wirewatch::app::App) -> Running {
        let pipeline = app.pipeline().clone();
        let store = app.store().clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Running {
            shutdown,
            task,
            pipeline,
            store,
        }
    }

    /// Graceful stop, as on SIGTERM.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the app stops in time")
            .expect("the app did not panic")
            .expect("the app ran without error");
    }

    /// The process dies: every task is dropped where it is.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Polls the first feed once, now.
    pub async fn poll_feed(&self) {
        let feeds = self.store.active_feeds().await.unwrap();
        self.pipeline.poll(&feeds[0], Utc::now()).await.unwrap();
    }
}
