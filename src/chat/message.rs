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
    /// One part of a chat's daily digest.
    Digest(Digest),
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

/// One message of a digest: the hits of a chat since its previous digest,
/// grouped by rule. A long digest is several of these, each within the
/// platform's message limit when rendered plain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// This message's number, from 1.
    pub part: u32,
    /// How many messages the digest has.
    pub parts: u32,
    /// Start of the period covered (the previous digest).
    pub since: DateTime<Utc>,
    /// End of the period covered (when the digest was made).
    pub until: DateTime<Utc>,
    /// IANA name of the chat's zone: times are shown in it.
    pub zone: String,
    /// One line on top ("N hits across M rules; most: …"); first part only.
    pub summary: Option<String>,
    /// Rule groups, or the pieces of them that fit in this part. Empty:
    /// nothing matched.
    pub groups: Vec<DigestGroup>,
}

/// One rule's stories in a digest, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestGroup {
    /// The rule's id (its number in `/rules`).
    pub rule_id: i64,
    /// The rule SPEC.
    pub rule: String,
    /// Hits of this rule in the whole digest.
    pub hits: u32,
    /// The group began in an earlier part.
    pub continued: bool,
    /// Its stories in this part.
    pub items: Vec<DigestItem>,
    /// Stories not listed ("and N more"); only on the group's last piece.
    pub more: u32,
}

/// One story in a digest: an article, and the other outlets that carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    /// The stored article shown.
    pub article_id: i64,
    /// Headline, plain text.
    pub headline: String,
    /// Link to the article.
    pub url: Option<String>,
    /// The outlet (feed name).
    pub source: String,
    /// Publication time, or when wirewatch saw it.
    pub time: DateTime<Utc>,
    /// Other outlets that carried the same story.
    pub also: Vec<String>,
}
