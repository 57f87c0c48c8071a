//! Typed settings: a TOML file, then `WIREWATCH__SECTION__KEY` environment
//! overrides, then validation.
//!
//! Every value that can be wrong is parsed into a typed value while the file
//! is read (cron schedules, URLs, time zones, durations), so an error names
//! the key it came from and nothing starts with a bad config. Tokens are
//! [`SecretString`]s: they never show up in `Debug` output or logs.

use std::{fmt, net::SocketAddr, path::Path, str::FromStr, time::Duration};

use chrono::NaiveTime;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::matching::RuleSpec;

/// The default config path, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";
/// Prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "WIREWATCH__";

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The path as given.
        path: String,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// A key has a bad value, or is unknown.
    #[error("config key `{key}`: {message}")]
    Invalid {
        /// Dotted path of the key (`polling.schedule`, `feeds[2].url`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// All settings of one wirewatch process.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the SQLite database lives.
    #[serde(default)]
    pub database: DatabaseSettings,
    /// Polling defaults and fetch limits.
    #[serde(default)]
    pub polling: PollingSettings,
    /// The feeds the operator configured.
    #[serde(default)]
    pub feeds: Vec<FeedSettings>,
    /// Telegram adapter.
    #[serde(default)]
    pub telegram: TelegramSettings,
    /// Discord adapter.
    #[serde(default)]
    pub discord: DiscordSettings,
    /// The console chat (stdout).
    #[serde(default)]
    pub console: ConsoleSettings,
    /// The `/healthz` and `/metrics` listener.
    #[serde(default)]
    pub http: HttpSettings,
    /// Digest defaults for new chats and the console chat.
    #[serde(default)]
    pub digest: DigestSettings,
    /// Story clustering of syndicated copies.
    #[serde(default)]
    pub stories: StoriesSettings,
    /// Log output.
    #[serde(default)]
    pub log: LogSettings,
}

/// `[log]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `"human"` (default) or `"json"` (one object a line).
    #[serde(default)]
    pub format: LogFormat,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// Readable lines.
    #[default]
    Human,
    /// One JSON object a line, with every field.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "invalid log format {other:?}: use \"human\" or \"json\""
            )),
        }
    }
}

impl TryFrom<String> for LogFormat {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// An sqlx SQLite URL such as `sqlite://data/wirewatch.db`.
    #[serde(default = "default_database_url")]
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: default_database_url(),
        }
    }
}

fn default_database_url() -> String {
    "sqlite://data/wirewatch.db".to_owned()
}

/// `[polling]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingSettings {
    /// Default poll schedule of every feed.
    #[serde(default = "default_schedule")]
    pub schedule: CronSchedule,
    /// Time limit of one fetch, body included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Largest feed body accepted.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Lets feeds added from chat reach loopback and private addresses.
    #[serde(default)]
    pub allow_private_addresses: bool,
    /// Fetches in flight at once, over all feeds.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Fetches in flight at once to one host.
    #[serde(default = "default_max_per_host")]
    pub max_per_host: usize,
    /// Up to this many seconds of random delay after each scheduled tick,
    /// so that feeds on one schedule do not all fire in the same second.
    #[serde(default = "default_jitter_secs")]
    pub jitter_secs: u64,
    /// Longest wait between retries of a failing feed.
    #[serde(default = "default_max_backoff_secs")]
    pub max_backoff_secs: u64,
    /// A feed failing for longer than this is reported to its chats (once,
    /// and once more when it recovers).
    #[serde(default = "default_unhealthy_after_secs")]
    pub unhealthy_after_secs: u64,
}

impl Default for PollingSettings {
    fn default() -> Self {
        Self {
            schedule: default_schedule(),
            timeout_secs: default_timeout_secs(),
            max_body_bytes: default_max_body_bytes(),
            allow_private_addresses: false,
            max_concurrent: default_max_concurrent(),
            max_per_host: default_max_per_host(),
            jitter_secs: default_jitter_secs(),
            max_backoff_secs: default_max_backoff_secs(),
            unhealthy_after_secs: default_unhealthy_after_secs(),
        }
    }
}

fn default_schedule() -> CronSchedule {
    // Valid by construction; covered by the tests below.
    "0 */5 * * * *".parse().expect("default schedule is valid")
}
fn default_timeout_secs() -> u64 {
    20
}
fn default_max_body_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_max_concurrent() -> usize {
    16
}
fn default_max_per_host() -> usize {
    2
}
fn default_jitter_secs() -> u64 {
    5
}
fn default_max_backoff_secs() -> u64 {
    3600
}
fn default_unhealthy_after_secs() -> u64 {
    3600
}

/// One `[[feeds]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// `http(s)://` or `file://` URL (a relative `file:` path is resolved
    /// against the working directory).
    pub url: FeedUrl,
    /// Display name; defaults to the feed's own title.
    #[serde(default)]
    pub name: Option<String>,
    /// Overrides `polling.schedule`.
    #[serde(default)]
    pub schedule: Option<CronSchedule>,
    /// What the first poll alerts on.
    #[serde(default)]
    pub backfill: Backfill,
}

/// `[telegram]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// Bot token; empty turns the adapter off.
    #[serde(default = "empty_secret")]
    pub token: SecretString,
    /// Bot API base URL.
    #[serde(default = "default_telegram_api")]
    pub api_url: Url,
    /// Who may change a group's rules and feeds.
    #[serde(default)]
    pub group_rules: GroupRules,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        Self {
            token: empty_secret(),
            api_url: default_telegram_api(),
            group_rules: GroupRules::default(),
        }
    }
}

/// `telegram.group_rules`: who may add and remove rules and feeds in a
/// group chat (in a private chat, its user always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum GroupRules {
    /// Only the group's administrators (checked with the platform).
    #[default]
    Admins,
    /// Every member.
    Members,
}

impl TryFrom<String> for GroupRules {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "admins" => Ok(Self::Admins),
            "members" => Ok(Self::Members),
            other => Err(format!(
                "invalid group_rules {other:?}: use \"admins\" or \"members\""
            )),
        }
    }
}

fn default_telegram_api() -> Url {
    Url::parse("https://api.telegram.org").expect("constant URL")
}

/// `[discord]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// Bot token; empty turns the adapter off.
    #[serde(default = "empty_secret")]
    pub token: SecretString,
    /// REST base URL.
    #[serde(default = "default_discord_api")]
    pub api_url: Url,
    /// Register the slash commands in this server only (instant; for
    /// testing) instead of globally.
    #[serde(default)]
    pub guild_id: Option<DiscordId>,
    /// Who may change a server channel's rules and feeds: members with
    /// Manage Channels (`admins`), or everyone (`members`).
    #[serde(default)]
    pub group_rules: GroupRules,
}

impl Default for DiscordSettings {
    fn default() -> Self {
        Self {
            token: empty_secret(),
            api_url: default_discord_api(),
            guild_id: None,
            group_rules: GroupRules::default(),
        }
    }
}

/// A Discord snowflake id from the config: a positive integer, written as
/// a TOML integer or a string of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "IdValue")]
pub struct DiscordId(pub u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Number(i64),
    Text(String),
}

impl TryFrom<IdValue> for DiscordId {
    type Error = String;
    fn try_from(v: IdValue) -> Result<Self, String> {
        let id = match &v {
            IdValue::Number(n) => u64::try_from(*n).ok(),
            IdValue::Text(t) => t.trim().parse::<u64>().ok(),
        };
        match id {
            Some(id) if id > 0 => Ok(DiscordId(id)),
            _ => {
                Err("a Discord id is a positive number (copy it with Developer Mode on)".to_owned())
            }
        }
    }
}

fn default_discord_api() -> Url {
    Url::parse("https://discord.com").expect("constant URL")
}

fn empty_secret() -> SecretString {
    SecretString::from(String::new())
}

/// True when a token is set (an empty token turns an adapter off).
pub fn token_is_set(token: &SecretString) -> bool {
    !token.expose_secret().trim().is_empty()
}

/// `[console]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Print alerts and digests to stdout.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The console subscription's rules.
    #[serde(default)]
    pub rules: Vec<ConsoleRule>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: Vec::new(),
        }
    }
}

fn default_true() -> bool {
    true
}

/// One `[[console.rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRule {
    /// A rule SPEC such as `keyword:UN Security Council`.
    pub spec: ConfigRule,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address of `/healthz` and `/metrics`; empty turns the listener off.
    #[serde(default = "default_listen")]
    pub listen: Listen,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> Listen {
    Listen(Some(SocketAddr::from(([127, 0, 0, 1], 9184))))
}

/// `[digest]`: defaults for chats that have not chosen their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestSettings {
    /// Local time of day, `HH:MM`; empty: no digest by default.
    #[serde(default)]
    pub time: Option<LocalTime>,
    /// IANA time zone of `time`.
    #[serde(default = "default_zone")]
    pub zone: TimeZone,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            time: None,
            zone: default_zone(),
        }
    }
}

fn default_zone() -> TimeZone {
    TimeZone(chrono_tz::UTC)
}

/// `[stories]`: clustering syndicated copies of one story.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoriesSettings {
    /// How far back a new article is compared with earlier ones, in hours.
    #[serde(default = "default_story_window_hours")]
    pub window_hours: u64,
}

impl StoriesSettings {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_hours.saturating_mul(3600))
    }
}

impl Default for StoriesSettings {
    fn default() -> Self {
        Self {
            window_hours: default_story_window_hours(),
        }
    }
}

fn default_story_window_hours() -> u64 {
    48
}

/// Longest story window accepted: the index keeps every article of the
/// window in memory.
const MAX_STORY_WINDOW_HOURS: u64 = 24 * 30;

/// A 6-field cron schedule (`sec min hour dom mon dow`), parsed.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct CronSchedule {
    source: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    /// The parsed schedule.
    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl FromStr for CronSchedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let fields = s.split_whitespace().count();
        if fields != 6 {
            return Err(format!(
                "invalid cron expression {s:?}: expected 6 fields (sec min hour day-of-month month day-of-week), found {fields}"
            ));
        }
        let schedule = cron::Schedule::from_str(s)
            .map_err(|e| format!("invalid cron expression {s:?}: {e}"))?;
        Ok(Self {
            source: s.to_owned(),
            schedule,
        })
    }
}

impl TryFrom<String> for CronSchedule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// A feed URL: `http`, `https` or `file`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct FeedUrl(pub Url);

impl TryFrom<String> for FeedUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let url = if let Some(path) = s.strip_prefix("file:").filter(|p| !p.starts_with("//")) {
            // `file:samples/world.xml`: relative to the working directory.
            let abs = std::env::current_dir()
                .map_err(|e| format!("cannot resolve {s:?}: {e}"))?
                .join(path);
            Url::from_file_path(&abs).map_err(|()| format!("invalid file path {s:?}"))?
        } else {
            Url::parse(&s).map_err(|e| format!("invalid URL {s:?}: {e}"))?
        };
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(Self(url)),
            "http" | "https" => Err(format!("URL {s:?} has no host")),
            "file" => Ok(Self(url)),
            other => Err(format!(
                "unsupported URL scheme {other:?} in {s:?}: use http, https or file"
            )),
        }
    }
}

/// What the first poll of a new feed alerts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum Backfill {
    /// Record the current items, alert on none (no flood on add).
    #[default]
    None,
    /// Alert on every current item.
    All,
    /// Alert on items published within this age.
    Within(Duration),
}

impl TryFrom<String> for Backfill {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "none" => Ok(Self::None),
            "all" => Ok(Self::All),
            age => parse_age(age).map(Self::Within).ok_or_else(|| {
                format!(
                    "invalid backfill {s:?}: use \"none\", \"all\" or an age such as \"24h\", \"90m\", \"7d\""
                )
            }),
        }
    }
}

/// `"24h"`, `"90m"`, `"7d"`, `"30s"`.
fn parse_age(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// A rule SPEC from the config, validated by the rule parser.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct ConfigRule(pub RuleSpec);

impl TryFrom<String> for ConfigRule {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        RuleSpec::parse(&s)
            .map(Self)
            .map_err(|e| format!("invalid rule {s:?}: {e}"))
    }
}

/// A listen address, or off (empty string).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
pub struct Listen(pub Option<SocketAddr>);

impl TryFrom<String> for Listen {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(Self(None));
        }
        s.parse().map(|a| Self(Some(a))).map_err(|_| {
            format!("invalid listen address {s:?}: expected IP:PORT such as 127.0.0.1:9184")
        })
    }
}

/// An IANA time zone, e.g. `Europe/London`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_time_zone(&s).map(Self)
    }
}

/// Parses an IANA zone name; the error suggests close names.
pub fn parse_time_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
        return Ok(tz);
    }
    // Accept a name typed in another case (`europe/london`).
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(s))
    {
        return Ok(*tz);
    }
    let mut close: Vec<(f64, &str)> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| {
            let name = tz.name();
            let city = name.rsplit('/').next().unwrap_or(name);
            let score = strsim::jaro_winkler(&s.to_lowercase(), &name.to_lowercase()).max(
                strsim::jaro_winkler(&s.to_lowercase(), &city.to_lowercase()),
            );
            (score, name)
        })
        .filter(|(score, _)| *score > 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    let names: Vec<&str> = close.iter().take(3).map(|(_, n)| *n).collect();
    if names.is_empty() {
        Err(format!(
            "unknown time zone {s:?}: use an IANA name such as Europe/London or America/New_York"
        ))
    } else {
        Err(format!(
            "unknown time zone {s:?}; did you mean {}?",
            names.join(", ")
        ))
    }
}

/// A local time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct LocalTime(pub NaiveTime);

impl TryFrom<String> for LocalTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map(Self)
            .map_err(|_| format!("invalid time {s:?}: expected HH:MM, e.g. 08:00"))
    }
}

impl Settings {
    /// Reads `path`, applies the process environment's overrides and
    /// validates everything.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_with_env(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses `text` (named `origin` in errors) with `env` overrides.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut tree: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: origin.to_owned(),
                    message: e.to_string().trim().to_owned(),
                })?;
        for (name, value) in env {
            if let Some(path) = name.strip_prefix(ENV_PREFIX) {
                apply_override(&mut tree, &name, path, &value)?;
            }
        }
        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(tree))
            .map_err(|e| ConfigError::Invalid {
                key: key_of(e.path()),
                message: e.inner().message().to_owned(),
            })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        };
        if self.polling.timeout_secs == 0 {
            return Err(invalid("polling.timeout_secs", "must be at least 1"));
        }
        if self.polling.max_body_bytes == 0 {
            return Err(invalid("polling.max_body_bytes", "must be at least 1"));
        }
        if self.polling.max_concurrent == 0 || self.polling.max_per_host == 0 {
            return Err(invalid(
                "polling.max_concurrent",
                "max_concurrent and max_per_host must be at least 1",
            ));
        }
        if !self.database.url.starts_with("sqlite:") {
            return Err(invalid(
                "database.url",
                "only SQLite is supported: use a URL such as sqlite://data/wirewatch.db",
            ));
        }
        if !(1..=MAX_STORY_WINDOW_HOURS).contains(&self.stories.window_hours) {
            return Err(invalid(
                "stories.window_hours",
                &format!("must be between 1 and {MAX_STORY_WINDOW_HOURS} (30 days)"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            if !seen.insert(feed.url.0.as_str()) {
                return Err(invalid(
                    &format!("feeds[{i}].url"),
                    &format!("feed {} is listed twice", feed.url.0),
                ));
            }
        }
        Ok(())
    }
}

/// `feeds[2].url` from serde_path_to_error's path.
fn key_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut key = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => key.push_str(&format!("[{index}]")),
            Segment::Map { key: k } | Segment::Enum { variant: k } => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(k);
            }
            Segment::Unknown => key.push_str(".?"),
        }
    }
    if key.is_empty() {
        "(top level)".to_owned()
    } else {
        key
    }
}

/// Applies `WIREWATCH__A__B=value` to `tree["a"]["b"]`. Numeric segments
/// index arrays (`WIREWATCH__FEEDS__0__URL`). The value takes the type of
/// the value it replaces; a new key gets a number or boolean if it reads as
/// one, else a string.
fn apply_override(
    tree: &mut toml::Table,
    var: &str,
    path: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let segments: Vec<String> = path.split("__").map(str::to_lowercase).collect();
    let bad = |message: &str| ConfigError::Invalid {
        key: segments.join("."),
        message: format!("environment variable {var}: {message}"),
    };
    if segments.iter().any(String::is_empty) {
        return Err(bad("empty key segment"));
    }
    let mut node = &mut *tree;
    let (last, parents) = segments.split_last().ok_or_else(|| bad("no key"))?;
    let mut parents = parents.iter().peekable();
    while let Some(segment) = parents.next() {
        let child = node
            .entry(segment.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match child {
            toml::Value::Table(t) => t,
            // `feeds` then `0`: step into the array element.
            toml::Value::Array(items) => {
                let index = parents
                    .next()
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| bad(&format!("`{segment}` is a list: give an index")))?;
                match items.get_mut(index) {
                    Some(toml::Value::Table(t)) => t,
                    _ => return Err(bad(&format!("`{segment}` has no entry {index}"))),
                }
            }
            _ => return Err(bad("path crosses a value that is not a table")),
        };
    }
    let value = typed_value(node.get(last.as_str()), last, raw);
    node.insert(last.clone(), value);
    Ok(())
}

fn typed_value(existing: Option<&toml::Value>, key: &str, raw: &str) -> toml::Value {
    let literal = || {
        format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
    };
    match existing {
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_owned()),
        Some(_) => literal().unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        None if key.ends_with("token") => toml::Value::String(raw.to_owned()),
        None => match literal() {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_toml_with_env(
            text,
            "test.toml",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn error(text: &str, env: &[(&str, &str)]) -> String {
        load(text, env)
            .expect_err("config should be refused")
            .to_string()
    }

    #[test]
    fn the_shipped_default_config_is_valid() {
        let text = include_str!("../config/default.toml");
        let settings = load(text, &[]).expect("default.toml loads");
        assert!(settings.console.enabled);
        assert!(!settings.feeds.is_empty());
        assert!(!settings.console.rules.is_empty());
    }

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.polling.schedule.as_str(), "0 */5 * * * *");
        assert_eq!(s.polling.timeout_secs, 20);
        assert_eq!(s.polling.max_body_bytes, 10_485_760);
        assert!(!s.polling.allow_private_addresses);
        assert_eq!(s.database.url, "sqlite://data/wirewatch.db");
        assert!(!token_is_set(&s.telegram.token));
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "bad cron",
                "[polling]\nschedule = \"every five minutes\"",
                &["polling.schedule", "cron"],
            ),
            (
                "five-field cron",
                "[polling]\nschedule = \"*/5 * * * *\"",
                &["polling.schedule", "6 fields"],
            ),
            (
                "unknown key",
                "[polling]\nshedule = \"0 * * * * *\"",
                &["polling", "shedule"],
            ),
            (
                "unknown section",
                "[telegarm]\ntoken = \"x\"",
                &["telegarm"],
            ),
            (
                "bad url",
                "[[feeds]]\nurl = \"not a url\"",
                &["feeds[0].url", "invalid URL"],
            ),
            (
                "bad scheme",
                "[[feeds]]\nurl = \"ftp://example.com/x\"",
                &["feeds[0].url", "ftp"],
            ),
            (
                "bad backfill",
                "[[feeds]]\nurl = \"https://a.example/\"\nbackfill = \"lots\"",
                &["feeds[0].backfill", "24h"],
            ),
            (
                "unknown zone",
                "[digest]\nzone = \"Europe/Londn\"",
                &["digest.zone", "Europe/London"],
            ),
            (
                "bad time",
                "[digest]\ntime = \"8am\"",
                &["digest.time", "HH:MM"],
            ),
            (
                "bad rule",
                "[[console.rules]]\nspec = \"colour:red\"",
                &["console.rules[0].spec", "colour:red"],
            ),
            (
                "duplicate feed",
                "[[feeds]]\nurl = \"https://a.example/\"\n[[feeds]]\nurl = \"https://a.example/\"",
                &["feeds[1].url", "twice"],
            ),
            ("toml syntax", "[polling\n", &["test.toml", "TOML"]),
            (
                "wrong type",
                "[polling]\ntimeout_secs = \"soon\"",
                &["polling.timeout_secs"],
            ),
        ];
        for (name, text, needles) in cases {
            let message = error(text, &[]);
            for needle in *needles {
                assert!(
                    message.contains(needle),
                    "{name}: {message:?} lacks {needle:?}"
                );
            }
        }
    }

    #[test]
    fn environment_overrides_any_key_with_its_type() {
        let text = "[polling]\ntimeout_secs = 20\n[telegram]\ntoken = \"\"\n[[feeds]]\nurl = \"https://a.example/\"";
        let s = load(
            text,
            &[
                ("WIREWATCH__POLLING__TIMEOUT_SECS", "7"),
                ("WIREWATCH__POLLING__ALLOW_PRIVATE_ADDRESSES", "true"),
                ("WIREWATCH__TELEGRAM__TOKEN", "123456"),
                ("WIREWATCH__DISCORD__TOKEN", "999"),
                ("WIREWATCH__DATABASE__URL", "sqlite::memory:"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(s.polling.timeout_secs, 7);
        assert!(s.polling.allow_private_addresses);
        assert_eq!(s.telegram.token.expose_secret(), "123456");
        assert_eq!(s.discord.token.expose_secret(), "999");
        assert_eq!(s.database.url, "sqlite::memory:");
    }

    #[test]
    fn a_bad_environment_value_names_the_key() {
        let message = error("", &[("WIREWATCH__POLLING__SCHEDULE", "nope")]);
        assert!(message.contains("polling.schedule"), "{message}");
        let message = error("", &[("WIREWATCH__POLLING__NOPE", "1")]);
        assert!(message.contains("nope"), "{message}");
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let s = load("[telegram]\ntoken = \"12345:SECRET-TOKEN\"", &[]).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("SECRET-TOKEN"), "{debug}");
        assert!(token_is_set(&s.telegram.token));
    }

    #[test]
    fn telegram_group_rules_default_to_admins_and_refuse_other_words() {
        assert_eq!(
            load("", &[]).unwrap().telegram.group_rules,
            GroupRules::Admins
        );
        let s = load("[telegram]\ngroup_rules = \"members\"", &[]).unwrap();
        assert_eq!(s.telegram.group_rules, GroupRules::Members);
        let s = load("", &[("WIREWATCH__TELEGRAM__GROUP_RULES", "members")]).unwrap();
        assert_eq!(s.telegram.group_rules, GroupRules::Members);
        let message = error("[telegram]\ngroup_rules = \"everyone\"", &[]);
        assert!(message.contains("telegram.group_rules"), "{message}");
        assert!(message.contains("admins"), "{message}");
    }

    #[test]
    fn discord_guild_id_takes_numbers_or_digit_strings_and_refuses_others() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.discord.guild_id, None);
        assert_eq!(s.discord.group_rules, GroupRules::Admins);
        let s = load(
            "[discord]\nguild_id = 1234567890123\ngroup_rules = \"members\"",
            &[],
        )
        .unwrap();
        assert_eq!(s.discord.guild_id, Some(DiscordId(1_234_567_890_123)));
        assert_eq!(s.discord.group_rules, GroupRules::Members);
        let s = load("", &[("WIREWATCH__DISCORD__GUILD_ID", "42")]).unwrap();
        assert_eq!(s.discord.guild_id, Some(DiscordId(42)));
        for bad in [
            "guild_id = \"general\"",
            "guild_id = -5",
            "guild_id = 0",
            "group_rules = \"all\"",
        ] {
            let message = error(&format!("[discord]\n{bad}"), &[]);
            assert!(message.contains("discord."), "{bad}: {message}");
        }
    }

    #[test]
    fn the_story_window_defaults_to_48_hours_and_refuses_zero_or_months() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.stories.window(), Duration::from_secs(48 * 3600));
        let s = load("[stories]\nwindow_hours = 12", &[]).unwrap();
        assert_eq!(s.stories.window_hours, 12);
        let s = load("", &[("WIREWATCH__STORIES__WINDOW_HOURS", "6")]).unwrap();
        assert_eq!(s.stories.window_hours, 6);
        for bad in ["0", "100000"] {
            let message = error(&format!("[stories]\nwindow_hours = {bad}"), &[]);
            assert!(message.contains("stories.window_hours"), "{message}");
        }
    }

    #[test]
    fn backfill_ages_parse() {
        assert_eq!(
            Backfill::try_from("24h".to_owned()),
            Ok(Backfill::Within(Duration::from_secs(86_400)))
        );
        assert_eq!(Backfill::try_from("all".to_owned()), Ok(Backfill::All));
        assert!(Backfill::try_from("0h".to_owned()).is_err());
        assert!(Backfill::try_from("h".to_owned()).is_err());
    }
}
