//! `spawn_app`: a wirewatch with its own temporary database, the console
//! chat captured, and its feeds on a loopback feed server.

use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedReceiver;
use wirewatch::{app::App, chat::console::ConsoleChat, config::Settings};

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
