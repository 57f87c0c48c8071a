//! wirewatch: a media-monitoring alert bot.
//!
//! The modules follow the pipeline, from a feed on the wire to a message in
//! a chat:
//!
//! ```text
//! scheduler ─► feeds (fetch, parse, normalise) ─► pipeline (dedup, match,
//! store hits + outbox rows) ─► delivery ─► chat adapters
//! ```
//!
//! - [`config`]: typed settings, validation, environment overrides.
//! - [`feeds`]: fetching over HTTP or `file://`, parsing with feed-rs behind a
//!   defensive layer, turning HTML into text.
//! - [`matching`]: the rule language and the compiled matcher (pure code).
//! - [`store`]: every SQL statement, behind typed functions.
//! - [`alerts`]: hits to platform-neutral messages (pure code).
//! - [`commands`]: the chat command grammar and its execution.
//! - [`chat`]: the one chat trait and its adapters.
//! - [`pipeline`]: one poll of one feed, from bytes to outbox rows.
//! - [`scheduler`]: cron-driven polling of every feed.
//! - [`delivery`]: the outbox worker: send, retry, wait out rate limits.
//! - [`app`]: wires it all together and shuts it down gracefully.
//! - [`http`]: `/healthz` and `/metrics`.

pub mod alerts;
pub mod app;
pub mod chat;
pub mod check;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod feeds;
pub mod http;
pub mod matching;
pub mod pipeline;
pub mod scheduler;
pub mod store;
