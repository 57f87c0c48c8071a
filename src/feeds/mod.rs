//! Feeds: everything between a feed URL and a list of clean items.
//!
//! Owns fetching (HTTP with limits and conditional GET, or `file://`),
//! parsing (feed-rs behind a layer that sniffs encodings, repairs what
//! feed-rs rejects and turns its failures into plain-language errors) and
//! the HTML-to-text step. It does not own deduplication or storage: those
//! belong to [`crate::pipeline`] and [`crate::store`].

pub mod fetch;
pub mod parse;
pub mod text;
