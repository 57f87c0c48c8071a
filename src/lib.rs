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
//! - [`stories`]: clustering syndicated copies into stories (pure code).
//! - [`pipeline`]: one poll of one feed, from bytes to outbox rows.
//! - [`scheduler`]: cron-driven polling of every feed.
//! - [`delivery`]: the outbox worker: send, retry, wait out rate limits.
//! - [`digests`]: each chat's daily digest at its local time, DST-safe.
//! - [`app`]: wires it all together and shuts it down gracefully.
//! - [`http`]: `/healthz`, `/readyz` and `/metrics`.
//! - [`metrics`]: the Prometheus counters, histograms and gauges.
//! - [`health`]: feed health in chat: `/feeds` and failing/recovered notices.
//! - [`opml`]: OPML import and export of the feed list.
//! - [`doctor`]: `wirewatch doctor`, checks of config, store, chat APIs, feeds.

pub mod alerts;
pub mod app;
pub mod chat;
pub mod check;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod digests;
pub mod doctor;
pub mod feeds;
pub mod health;
pub mod http;
pub mod matching;
pub mod metrics;
pub mod opml;
pub mod pipeline;
pub mod scheduler;
pub mod store;
pub mod stories;
