//! Loopback fakes and helpers shared by the integration tests.

pub mod app;
pub mod discord_api;
pub mod feed_server;
pub mod news;
pub mod telegram_api;
