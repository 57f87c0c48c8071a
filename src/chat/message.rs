//! The platform-neutral messages that go through the outbox.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::matching::Snippet;

/// A message to a chat, as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outgoing {
    /// A new article matched some of the chat's rules.
    Alert(Alert),
    /// Plain text: a command reply, a feed-health notice.
    Notice(Notice),
}

/// One article and the rules of one chat that it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The stored article.
    pub article_id: i64,
    /// Headline, plain text.
    pub headline: String,
    /// Link to the article.
    pub url: Option<String>,
    /// The feed's name.
    pub source: String,
    /// Publication time, if known.
    pub published: Option<DateTime<Utc>>,
    /// Every rule of the chat that matched, in rule order.
    pub matches: Vec<AlertMatch>,
    /// Other outlets that carried the same story.
    #[serde(default)]
    pub also: Vec<String>,
}

/// One rule's match inside an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMatch {
    /// The rule's id (its number in `/rules`).
    pub rule_id: i64,
    /// The rule SPEC.
    pub rule: String,
    /// The words that matched, as written in the article.
    pub terms: Vec<String>,
    /// Text around the first match, with the matches marked.
    pub snippet: Snippet,
}

/// A plain-text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The text, plain (adapters escape it).
    pub text: String,
}
