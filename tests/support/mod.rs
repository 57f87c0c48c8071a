//! Loopback fakes and helpers shared by the integration tests.

pub mod app;
pub mod feed_server;
