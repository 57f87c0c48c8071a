//! The application: wires the store, fetcher, pipeline, scheduler, delivery
//! and chat adapters together, and shuts them down gracefully.
//!
//! Shutdown follows mini-redis: one [`CancellationToken`] that every
//! long-running task watches; `run` returns once every task has finished
//! its in-flight work (a poll's transaction, a send).

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{
    chat::{
        Chat, Platform,
        console::{CONSOLE_CHAT_ID, ConsoleChat},
        discord::DiscordChat,
        telegram::TelegramChat,
    },
    commands::CommandContext,
    config::{Settings, token_is_set},
    delivery::{Delivery, DeliveryReport},
    digests::DigestScheduler,
    feeds::fetch::{FetchSettings, Fetcher},
    http::HttpState,
    metrics::Metrics,
    pipeline::Pipeline,
    scheduler::{PollSummary, Scheduler, poll_all_once},
    store::{NewFeed, Store},
};

/// How long `run --once` waits for rate-limited messages before exiting.
const ONCE_PATIENCE: Duration = Duration::from_secs(30);

/// A started application, ready to run.
pub struct App {
    settings: Settings,
    store: Store,
    pipeline: Arc<Pipeline>,
    chats: Vec<Arc<dyn Chat>>,
    console: Option<ConsoleChat>,
    telegram: Option<TelegramChat>,
    discord: Option<DiscordChat>,
    outbox_ready: Arc<Notify>,
    feeds_changed: Arc<Notify>,
    digests: DigestScheduler,
}

impl App {
    /// Opens and migrates the store, registers the configured feeds and the
    /// console chat's rules, and compiles the rule set. `console` is the
    /// console adapter to use (stdout, or a capture in tests).
    pub async fn build(settings: Settings, console: Option<ConsoleChat>) -> anyhow::Result<App> {
        let store = Store::open(&settings.database.url).await?;
        let now = Utc::now();
        let feeds: Vec<NewFeed> = settings
            .feeds
            .iter()
            .map(|f| NewFeed {
                url: f.url.0.to_string(),
                name: f.name.clone(),
                schedule: f.schedule.as_ref().map(|s| s.as_str().to_owned()),
                backfill: f.backfill,
            })
            .collect();
        store
            .sync_operator_feeds(&feeds, now)
            .await
            .context("registering the configured feeds")?;

        let mut chats: Vec<Arc<dyn Chat>> = Vec::new();
        // A console adapter is only used when the config enables it.
        let console = console.filter(|_| settings.console.enabled);
        if settings.console.enabled {
            let console_sub = store
                .ensure_subscription(Platform::Console.as_str(), CONSOLE_CHAT_ID, now)
                .await?;
            let specs: Vec<String> = settings
                .console
                .rules
                .iter()
                .map(|r| r.spec.0.to_string())
                .collect();
            store
                .replace_config_rules(console_sub.id, &specs, now)
                .await
                .context("registering the console rules")?;
            if let Some(console) = &console {
                chats.push(Arc::new(console.clone()));
            }
        }
        let metrics = Metrics::new();
        let telegram = if token_is_set(&settings.telegram.token) {
            let telegram = TelegramChat::new(&settings.telegram)
                .context("setting up the Telegram adapter")?
                .with_metrics(metrics.clone());
            chats.push(Arc::new(telegram.clone()));
            Some(telegram)
        } else {
            None
        };
        let discord = if token_is_set(&settings.discord.token) {
            let discord =
                DiscordChat::new(&settings.discord).context("setting up the Discord adapter")?;
            chats.push(Arc::new(discord.clone()));
            Some(discord)
        } else {
            None
        };

        let fetcher = Fetcher::new(FetchSettings {
            timeout: Duration::from_secs(settings.polling.timeout_secs),
            max_body_bytes: settings.polling.max_body_bytes,
            max_concurrent: settings.polling.max_concurrent,
            max_per_host: settings.polling.max_per_host,
            allow_private_addresses: settings.polling.allow_private_addresses,
        })?;
        let outbox_ready = Arc::new(Notify::new());
        let pipeline = Arc::new(
            Pipeline::new(
                store.clone(),
                fetcher,
                outbox_ready.clone(),
                Duration::from_secs(settings.polling.max_backoff_secs),
            )
            .with_operations(
                metrics,
                Duration::from_secs(settings.polling.unhealthy_after_secs),
            )
            .with_story_window(settings.stories.window()),
        );
        pipeline.reload_rules().await?;
        let digests = DigestScheduler::new(
            store.clone(),
            (&settings.digest).into(),
            outbox_ready.clone(),
        );
        Ok(App {
            settings,
            store,
            pipeline,
            chats,
            console,
            telegram,
            discord,
            digests,
            outbox_ready,
            feeds_changed: Arc::new(Notify::new()),
        })
    }

    /// The store (tests inspect it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The ingest pipeline (tests drive polls directly).
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// The command handler adapters pass chat messages to.
    pub fn commands(&self) -> CommandContext {
        CommandContext {
            store: self.store.clone(),
            pipeline: self.pipeline.clone(),
            feeds_changed: self.feeds_changed.clone(),
            allow_private_addresses: self.settings.polling.allow_private_addresses,
            digests: self.digests.clone(),
        }
    }

    /// The digest scheduler (tests call its steps).
    pub fn digests(&self) -> &DigestScheduler {
        &self.digests
    }

    /// The outbox worker over this app's chats (tests call its steps).
    pub fn delivery(&self) -> Delivery {
        Delivery::new(
            self.store.clone(),
            self.chats.clone(),
            self.outbox_ready.clone(),
        )
        .with_metrics(self.pipeline.metrics().clone())
    }

    /// What the HTTP endpoints read (tests call [`crate::http::router`]).
    pub fn http_state(&self) -> HttpState {
        HttpState {
            store: self.store.clone(),
            metrics: self.pipeline.metrics().clone(),
            chats: self.chats.clone(),
        }
    }

    /// Polls every feed once, makes the digests that are due, delivers what
    /// that produced, and returns.
    pub async fn run_once(&self) -> anyhow::Result<(PollSummary, DeliveryReport)> {
        let polls = poll_all_once(
            &self.pipeline,
            &self.store,
            self.settings.polling.max_concurrent,
        )
        .await?;
        // Digests due now go out with this pass (`run --once` from cron).
        let digests = self.digests.run_due(Utc::now()).await?;
        let delivered = self.delivery().drain(ONCE_PATIENCE).await?;
        info!(
            digests = digests.made.len(),
            feeds_ok = polls.ok,
            feeds_unchanged = polls.not_modified,
            feeds_failed = polls.failed,
            new_articles = polls.new_articles,
            hits = polls.hits,
            sent = delivered.sent,
            "single pass done"
        );
        Ok((polls, delivered))
    }

    /// Runs until `shutdown` is cancelled, then waits for in-flight work.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(addr) = self.settings.http.listen.0 {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (config key http.listen)"))?;
            info!(%addr, "serving /healthz, /readyz and /metrics");
            tasks.spawn(crate::http::serve(
                listener,
                self.http_state(),
                shutdown.clone(),
            ));
        }
        let scheduler = Scheduler::new(
            self.pipeline.clone(),
            self.store.clone(),
            self.settings.polling.schedule.clone(),
            Duration::from_secs(self.settings.polling.jitter_secs),
            self.feeds_changed.clone(),
        );
        tasks.spawn(scheduler.run_until_stopped(shutdown.clone()));
        tasks.spawn(self.delivery().run_until_stopped(shutdown.clone()));
        tasks.spawn(self.digests.clone().run_until_stopped(shutdown.clone()));
        if let Some(console) = self.console.clone() {
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            tasks.spawn(console.read_commands_until_stopped(
                input,
                self.commands(),
                shutdown.clone(),
            ));
        }
        if let Some(discord) = self.discord.clone() {
            tasks.spawn(discord.receive_until_stopped(self.commands(), shutdown.clone()));
        }
        if let Some(telegram) = self.telegram.clone() {
            tasks.spawn(telegram.receive_until_stopped(
                self.commands(),
                self.outbox_ready.clone(),
                shutdown.clone(),
            ));
        }
        info!(
            feeds = self.settings.feeds.len(),
            chats = self.chats.len(),
            "wirewatch running"
        );
        while let Some(done) = tasks.join_next().await {
            done.context("a task panicked")?;
        }
        self.store.close().await;
        info!("stopped");
        Ok(())
    }
}

/// Resolves when the process gets SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
