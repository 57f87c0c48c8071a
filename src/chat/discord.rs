//! Discord, through serenity: sends alerts as embeds and other messages as
//! content over REST, and receives slash commands over the gateway.
//!
//! This file only translates between serenity and wirewatch's types:
//! [`Outgoing`] to `POST /channels/{id}/messages`, or to a `PATCH` of a
//! sent message for an edit ([`render`] does the layout), Discord's
//! refusals to [`SendError`] (the outbox decides what they mean), and
//! interactions to [`execute`] calls answered through the interaction
//! callback ([`slash`] defines and translates the commands).
//!
//! Decisions worth knowing:
//!
//! - **Rate limits**: Discord says how long to wait. Against Discord
//!   itself, serenity's ratelimiter paces the per-route buckets and waits
//!   out its 429s. Against any other REST base (the tests' fake, a proxy)
//!   that ratelimiter must be off, since it ignores the proxy; then the
//!   calls that carry messages (create, edit) are sent here with the same
//!   client and their answers read here, because serenity cannot decode
//!   Discord's 429 body: a 429 becomes [`SendError::RateLimited`] with
//!   Discord's `retry_after` (or its `Retry-After` /
//!   `X-RateLimit-Reset-After` header). The adapter also remembers the
//!   instant until which a channel, or every channel after a global 429,
//!   is held, and answers `RateLimited` with what remains without calling
//!   Discord, so no send, whoever makes it, reaches Discord before the
//!   wait is over. Nothing is dropped.
//! - **Bursts**: several alerts pending for one channel go out as one
//!   message with an embed each (up to 10 and 6000 characters).
//! - **Nothing pings**: every message carries `allowed_mentions` with an
//!   empty `parse` list, and feed and user text is escaped besides.
//! - **Command replies** go through the interaction callback, not the
//!   outbox: Discord wants a first answer within 3 seconds. Commands that
//!   may take longer (`/test`, `/feed add`) are deferred first.
//! - **The token** never reaches a log: the serenity clients are kept out
//!   of every `Debug`, and error text goes through [`Inner::redact`].

mod render;
mod slash;

use std::{
    collections::HashMap,
    fmt,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::Utc;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serenity::{
    all::{
        ChannelId, ClientBuilder, CommandInteraction, Context, CreateAllowedMentions,
        CreateAutocompleteResponse, CreateEmbed, CreateEmbedFooter, CreateInteractionResponse,
        CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
        EditInteractionResponse, EditMessage, EventHandler, GatewayIntents, GuildId, Http,
        HttpBuilder, Interaction, Message, MessageId, Ready, ResolvedOption, ResolvedValue,
        ResumedEvent, Timestamp,
    },
    gateway::{ConnectionStage, ShardManager, ShardStageUpdateEvent},
    http::{ErrorResponse, HttpError, LightMethod, Request, Route},
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use self::{
    render::{DiscordMessage, split_escaped},
    slash::Invocation,
};
use super::{Chat, ChatTarget, Outgoing, PartsSent, Platform, SendError, Sent, leading_alerts};
use crate::{
    commands::{Command, CommandContext, Invoker, Reply, execute},
    config::{DiscordSettings, GroupRules},
    matching::country_suggestions,
};

/// Time limit of every REST call.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait taken from a 429; more is read as a broken answer.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);
/// The wait for a 429 that states none (not Discord's shape: a proxy's).
const UNSTATED_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Channels remembered as held at most; expired holds go first.
const MAX_HELD_CHANNELS: usize = 1000;
/// Longest wait between attempts to (re)start the gateway client.
const MAX_GATEWAY_BACKOFF: Duration = Duration::from_secs(60);
/// Most suggestions Discord shows for an autocompleted option.
const MAX_CHOICES: usize = 25;
/// The reply when something fails on our side.
const OUR_FAULT: &str =
    "Something went wrong on our side and nothing was changed. Please try again later.";

/// The Discord chat adapter; cheap to clone.
#[derive(Clone)]
pub struct DiscordChat {
    inner: Arc<Inner>,
}

struct Inner {
    /// Sends (the adapter's own client, so the gateway's never waits on it).
    http: Http,
    /// The reqwest client inside `http`, for the calls whose answers are
    /// read here (see the module's note on rate limits).
    client: reqwest::Client,
    settings: DiscordSettings,
    token: SecretString,
    /// The gateway client's shards while it runs: serenity keeps each
    /// shard runner's stage there, and drops a runner that restarts.
    shards: Mutex<Option<Arc<ShardManager>>>,
    /// Readiness as last read from the shards (for when their lock is busy).
    connected: AtomicBool,
    /// Until when Discord said not to call it again.
    holds: Mutex<Holds>,
    /// Parts already sent of messages that needed several, by channel and
    /// content, so that a retry after a failure goes on where it stopped.
    parts_sent: PartsSent,
}

impl fmt::Debug for DiscordChat {
    // Never derive: the clients inside hold the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordChat")
            .field("api_url", &self.inner.settings.api_url.as_str())
            .field("guild_id", &self.inner.settings.guild_id)
            .field("group_rules", &self.inner.settings.group_rules)
            .finish_non_exhaustive()
    }
}

impl DiscordChat {
    /// An adapter for `settings` (the token must be set). No network call
    /// is made until it sends or receives.
    pub fn new(settings: &DiscordSettings) -> anyhow::Result<Self> {
        let token = settings.token.expose_secret().trim().to_owned();
        let (http, client) = build_http(settings, &token)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                client,
                settings: settings.clone(),
                token: SecretString::from(token),
                shards: Mutex::new(None),
                connected: AtomicBool::new(false),
                holds: Mutex::new(Holds::default()),
                parts_sent: PartsSent::default(),
            }),
        })
    }

    /// Connects to the gateway until `shutdown`, registers the slash
    /// commands on READY, and answers interactions with the shared command
    /// module. serenity reconnects and resumes by itself after drops; if
    /// the client stops altogether it is started again with backoff.
    pub async fn receive_until_stopped(
        self,
        commands: CommandContext,
        shutdown: CancellationToken,
    ) {
        let mut failures = 0u32;
        loop {
            let handler = Handler {
                inner: Arc::clone(&self.inner),
                commands: commands.clone(),
            };
            let token = self.inner.token.expose_secret().to_owned();
            let built = match build_http(&self.inner.settings, &token) {
                Ok((http, _)) => {
                    ClientBuilder::new_with_http(http, INTENTS)
                        .event_handler(handler)
                        .await
                }
                Err(e) => {
                    error!(error = %self.inner.redact(&e), "cannot build the discord HTTP client");
                    return;
                }
            };
            let outcome = match built {
                Ok(mut client) => {
                    let shards = client.shard_manager.clone();
                    self.inner.watch_shards(Some(Arc::clone(&shards)));
                    tokio::select! {
                        () = shutdown.cancelled() => {
                            shards.shutdown_all().await;
                            break;
                        }
                        result = client.start() => result,
                    }
                }
                Err(e) => Err(e),
            };
            self.inner.watch_shards(None);
            failures += 1;
            let wait = Duration::from_secs(1)
                .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
                .min(MAX_GATEWAY_BACKOFF);
            match outcome {
                Ok(()) => warn!(?wait, "discord gateway client stopped; starting it again"),
                Err(e) => {
                    warn!(error = %self.inner.redact(&e), ?wait, "discord gateway client failed; starting it again")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.inner.watch_shards(None);
        info!("discord receiving stopped");
    }
}

/// A serenity REST client for `settings`, and the reqwest client inside
/// it: with a timeout, and pointed at `api_url` (with serenity's own
/// ratelimiter off, since it would ignore the proxy) when that is not
/// Discord's.
fn build_http(settings: &DiscordSettings, token: &str) -> anyhow::Result<(Http, reqwest::Client)> {
    let api_url = &settings.api_url;
    let loopback = match api_url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true);
    // A proxy from the environment must not capture a local API.
    let builder = if loopback {
        builder.no_proxy()
    } else {
        builder
    };
    let client = builder.build()?;
    let base = api_url.as_str().trim_end_matches('/').to_owned();
    let mut http = HttpBuilder::new(token)
        .client(client.clone())
        .default_allowed_mentions(CreateAllowedMentions::new());
    if base != "https://discord.com" {
        http = http.proxy(base).ratelimiter_disabled(true);
    }
    Ok((http.build(), client))
}

/// A 429's instructions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RateLimit {
    /// How long to wait before calling again.
    wait: Duration,
    /// Whether every route is held, not only the one called.
    global: bool,
}

/// A REST call Discord refused, with what its answer said.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    status: u16,
    /// Discord's JSON error code (0 when the body had none).
    code: i64,
    /// Discord's error message (the status's reason when it gave none).
    message: String,
    /// For a 429: what to wait.
    rate_limit: Option<RateLimit>,
}

/// The fields of Discord's error bodies (a 429's, or `{code, message}`).
#[derive(Debug, Default, serde::Deserialize)]
struct ErrorBody {
    code: Option<i64>,
    message: Option<String>,
    /// Seconds, with a fraction.
    retry_after: Option<f64>,
    global: Option<bool>,
}

impl Refusal {
    /// Reads a failed answer from its status, headers and body.
    fn read(status: u16, headers: &HeaderMap, body: &[u8]) -> Refusal {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let rate_limit = (status == 429).then(|| rate_limit(&parsed, headers));
        Refusal {
            status,
            code: parsed.code.unwrap_or(0),
            message: parsed.message.unwrap_or_else(|| reason(status)),
            rate_limit,
        }
    }

    /// serenity's account of a failed call (its ratelimiter was on, so a
    /// 429 reaching this far has already been waited out once).
    fn from_serenity(r: &ErrorResponse) -> Refusal {
        let status = r.status_code.as_u16();
        Refusal {
            status,
            code: r.error.code as i64,
            message: r.error.message.clone(),
            rate_limit: (status == 429).then_some(RateLimit {
                wait: UNSTATED_RATE_LIMIT_WAIT,
                global: false,
            }),
        }
    }

    /// What the refusal means for the outbox.
    fn send_error(&self) -> SendError {
        let Refusal {
            status,
            code,
            message,
            ..
        } = self;
        match (status, self.rate_limit) {
            (429, limit) => {
                SendError::RateLimited(limit.map_or(UNSTATED_RATE_LIMIT_WAIT, |l| l.wait))
            }
            (403 | 404, _) => SendError::ChatGone(format!("{status} (code {code}): {message}")),
            (401, _) => SendError::Unexpected(anyhow::anyhow!(
                "discord refused the bot token (discord.token)"
            )),
            (400..=499, _) => SendError::Rejected(format!("{status} (code {code}): {message}")),
            _ => SendError::Unexpected(anyhow::anyhow!(
                "discord answered {status} (code {code}): {message}"
            )),
        }
    }
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no reason given")
        .to_owned()
}

/// A 429's wait: the body's `retry_after`, else the `Retry-After` header,
/// else `X-RateLimit-Reset-After`; global if the body or the headers say
/// so.
fn rate_limit(body: &ErrorBody, headers: &HeaderMap) -> RateLimit {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let seconds = |s: f64| {
        (s.is_finite() && s >= 0.0)
            .then(|| Duration::from_secs_f64(s.min(MAX_RATE_LIMIT_WAIT.as_secs_f64())))
    };
    let wait = body
        .retry_after
        .and_then(seconds)
        .or_else(|| {
            ["retry-after", "x-ratelimit-reset-after"]
                .into_iter()
                .find_map(|h| header(h)?.trim().parse::<f64>().ok().and_then(seconds))
        })
        .unwrap_or(UNSTATED_RATE_LIMIT_WAIT);
    let global = body.global == Some(true)
        || header("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || header("x-ratelimit-scope") == Some("global");
    RateLimit { wait, global }
}

/// Until when Discord said not to call it: every channel, and single ones.
#[derive(Debug, Default)]
struct Holds {
    global: Option<Instant>,
    channels: HashMap<u64, Instant>,
}

impl Holds {
    /// How long `channel` must still wait at `now`, if at all.
    fn remaining(&self, channel: u64, now: Instant) -> Option<Duration> {
        let until = self
            .global
            .into_iter()
            .chain(self.channels.get(&channel).copied())
            .max()?;
        (until > now).then(|| until - now)
    }

    /// Remembers a 429 on `channel` received at `now`.
    fn hold(&mut self, channel: u64, limit: RateLimit, now: Instant) {
        let until = now + limit.wait;
        if limit.global {
            self.global = Some(self.global.map_or(until, |g| g.max(until)));
            return;
        }
        if self.channels.len() >= MAX_HELD_CHANNELS {
            self.channels.retain(|_, t| *t > now);
        }
        if self.channels.len() < MAX_HELD_CHANNELS {
            let t = self.channels.entry(channel).or_insert(until);
            *t = (*t).max(until);
        }
    }
}

impl Inner {
    /// Starts (or, with `None`, stops) reading readiness from `shards`.
    fn watch_shards(&self, shards: Option<Arc<ShardManager>>) {
        *self.shards.lock().unwrap_or_else(|p| p.into_inner()) = shards;
        self.gateway_connected();
    }

    /// Whether every shard of the gateway client is connected (READY or
    /// RESUMED, and not restarting) right now.
    fn gateway_connected(&self) -> bool {
        let shards = self
            .shards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(shards) = shards else {
            self.connected.store(false, Ordering::Relaxed);
            return false;
        };
        // Held only for a moment while a runner reports; a busy lock
        // answers with the last reading rather than waiting.
        let Ok(runners) = shards.runners.try_lock() else {
            return self.connected.load(Ordering::Relaxed);
        };
        let connected = !runners.is_empty()
            && runners
                .values()
                .all(|r| r.stage == ConnectionStage::Connected);
        self.connected.store(connected, Ordering::Relaxed);
        connected
    }

    /// Error text with the token cut out.
    fn redact(&self, error: &dyn fmt::Display) -> String {
        let token = self.token.expose_secret();
        let text = error.to_string();
        if token.is_empty() {
            text
        } else {
            text.replace(token, "<token>")
        }
    }

    /// Makes one REST call that answers with a message (create, edit)
    /// for `channel`, unless Discord said to wait; returns the message's
    /// id.
    async fn call(&self, channel: u64, request: Request<'_>) -> Result<String, SendError> {
        let remaining = self
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remaining(channel, Instant::now());
        if let Some(wait) = remaining {
            return Err(SendError::RateLimited(wait));
        }
        let unexpected = |e: &dyn fmt::Display| {
            SendError::Unexpected(anyhow::anyhow!("discord: {}", self.redact(e)))
        };
        let answer = if self.http.ratelimiter.is_some() {
            match self.http.request(request).await {
                Ok(response) => Ok(response.bytes().await.map_err(|e| unexpected(&e))?),
                Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) => {
                    Err(Refusal::from_serenity(&r))
                }
                Err(e) => return Err(unexpected(&e)),
            }
        } else {
            let response = request
                .build(&self.client, self.http.token(), self.http.proxy.as_deref())
                .map_err(|e| unexpected(&e))?
                .send()
                .await
                .map_err(|e| unexpected(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(|e| unexpected(&e))?;
            if status.is_success() {
                Ok(body)
            } else {
                Err(Refusal::read(status.as_u16(), &headers, &body))
            }
        };
        match answer {
            Ok(body) => message_id(&body),
            Err(refusal) => {
                if let Some(limit) = refusal.rate_limit {
                    debug!(channel_id = channel, wait = ?limit.wait, global = limit.global, "discord rate limit");
                    self.holds.lock().unwrap_or_else(|p| p.into_inner()).hold(
                        channel,
                        limit,
                        Instant::now(),
                    );
                }
                Err(refusal.send_error())
            }
        }
    }

    /// Sends the parts of one message in order, resuming after the last
    /// part that went out if an earlier attempt failed half-way.
    async fn send_parts(&self, channel: u64, parts: &[DiscordMessage]) -> Result<Sent, SendError> {
        if parts.is_empty() {
            return Err(SendError::Rejected("the message is empty".to_owned()));
        }
        let mut h = DefaultHasher::new();
        channel.hash(&mut h);
        for p in parts {
            p.content.hash(&mut h);
            format!("{:?}", p.embeds).hash(&mut h);
        }
        let key = h.finish();
        let mut last = None;
        for (i, part) in parts
            .iter()
            .enumerate()
            .skip(self.parts_sent.resume_at(key))
        {
            let result = self.call(channel, post_message(channel, part)?).await;
            last = Some(self.parts_sent.record(key, i, result)?);
        }
        self.parts_sent.finish(key);
        Ok(Sent { message_id: last })
    }
}

fn embed_builder(embed: &render::Embed) -> CreateEmbed {
    let mut b = CreateEmbed::new()
        .title(embed.title.clone())
        .colour(embed.colour);
    if !embed.description.is_empty() {
        b = b.description(embed.description.clone());
    }
    if let Some(url) = &embed.url {
        b = b.url(url.clone());
    }
    for (name, value) in &embed.fields {
        b = b.field(name.clone(), value.clone(), false);
    }
    if !embed.footer.is_empty() {
        b = b.footer(CreateEmbedFooter::new(embed.footer.clone()));
    }
    if let Some(t) = embed
        .timestamp
        .as_deref()
        .and_then(|t| Timestamp::parse(t).ok())
    {
        b = b.timestamp(t);
    }
    b
}

/// The id of the message in a successful answer. An answer that is not a
/// message Discord's way still counts as sent when it has an id: sending
/// the alert again would be worse.
fn message_id(body: &[u8]) -> Result<String, SendError> {
    match serde_json::from_slice::<Message>(body) {
        Ok(message) => Ok(message.id.to_string()),
        Err(e) => {
            let id = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned));
            match id {
                Some(id) => {
                    warn!(error = %e, "discord's message did not decode; its id did");
                    Ok(id)
                }
                None => Err(SendError::Unexpected(anyhow::anyhow!(
                    "discord's answer is not a message: {e}"
                ))),
            }
        }
    }
}

/// A JSON body for a REST call.
fn json_body(value: &impl serde::Serialize) -> Result<Option<Vec<u8>>, SendError> {
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| SendError::Unexpected(anyhow::anyhow!("cannot write a discord body: {e}")))
}

/// `POST /channels/{channel}/messages` with `part`.
fn post_message(channel: u64, part: &DiscordMessage) -> Result<Request<'static>, SendError> {
    let route = Route::ChannelMessages {
        channel_id: ChannelId::new(channel),
    };
    Ok(Request::new(route, LightMethod::Post).body(json_body(&create_message(part))?))
}

/// `PATCH /channels/{channel}/messages/{message}` to read `part` now.
fn patch_message(
    channel: u64,
    message: u64,
    part: &DiscordMessage,
) -> Result<Request<'static>, SendError> {
    // Every field is written, so nothing of the old message survives.
    let edit = EditMessage::new()
        .content(part.content.clone())
        .embeds(part.embeds.iter().map(embed_builder).collect())
        .allowed_mentions(CreateAllowedMentions::new());
    let route = Route::ChannelMessage {
        channel_id: ChannelId::new(channel),
        message_id: MessageId::new(message.max(1)),
    };
    Ok(Request::new(route, LightMethod::Patch).body(json_body(&edit)?))
}

fn create_message(part: &DiscordMessage) -> CreateMessage {
    let mut m = CreateMessage::new().allowed_mentions(CreateAllowedMentions::new());
    if !part.content.is_empty() {
        m = m.content(part.content.clone());
    }
    if !part.embeds.is_empty() {
        m = m.embeds(part.embeds.iter().map(embed_builder).collect());
    }
    m
}

fn channel_id(to: &ChatTarget) -> Result<u64, SendError> {
    to.chat_id
        .parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| SendError::Rejected(format!("{:?} is not a Discord channel id", to.chat_id)))
}

#[async_trait]
impl Chat for DiscordChat {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn is_connected(&self) -> bool {
        self.inner.gateway_connected()
    }

    async fn send(&self, to: &ChatTarget, msg: &Outgoing) -> Result<Sent, SendError> {
        let channel = channel_id(to)?;
        self.inner.send_parts(channel, &render::render(msg)).await
    }

    async fn send_coalesced(
        &self,
        to: &ChatTarget,
        msgs: &[Outgoing],
    ) -> Result<(usize, Sent), SendError> {
        let alerts = leading_alerts(msgs);
        match msgs.first() {
            None => Ok((0, Sent::default())),
            Some(first) if alerts.len() < 2 => Ok((1, self.send(to, first).await?)),
            Some(_) => {
                // A burst becomes one message with an embed per alert.
                let channel = channel_id(to)?;
                let embeds = render::alert_embeds(&alerts);
                let taken = embeds.len().max(1);
                let message = DiscordMessage {
                    content: String::new(),
                    embeds,
                };
                let sent = self.inner.send_parts(channel, &[message]).await?;
                Ok((taken, sent))
            }
        }
    }

    async fn edit(
        &self,
        to: &ChatTarget,
        message_id: &str,
        msg: &Outgoing,
    ) -> Result<Sent, SendError> {
        let channel = channel_id(to)?;
        let parts = render::render(msg);
        let (Some(part), 1, Ok(id)) = (parts.first(), parts.len(), message_id.parse::<u64>())
        else {
            return Err(SendError::Rejected(
                "only a one-part message can replace a sent one".to_owned(),
            ));
        };
        let request = patch_message(channel, id, part)?;
        let id = self.inner.call(channel, request).await?;
        Ok(Sent {
            message_id: Some(id),
        })
    }
}

/// The gateway's event handler.
struct Handler {
    inner: Arc<Inner>,
    commands: CommandContext,
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        info!(bot = %ready.user.name, guilds = ready.guilds.len(), "discord gateway ready");
        let definitions =
            slash::definitions(self.inner.settings.group_rules == GroupRules::Members);
        let result = match self.inner.settings.guild_id {
            Some(guild) => GuildId::new(guild.0)
                .set_commands(&ctx.http, definitions)
                .await
                .map(|c| c.len()),
            None => serenity::all::Command::set_global_commands(&ctx.http, definitions)
                .await
                .map(|c| c.len()),
        };
        match result {
            Ok(n) => info!(commands = n, "discord slash commands registered"),
            Err(e) => {
                error!(error = %self.inner.redact(&e), "cannot register the discord slash commands")
            }
        }
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        info!("discord gateway session resumed");
    }

    // Readiness is not kept from these events: serenity runs each handler
    // in a task of its own, so they may land out of order, and a lost
    // connection that fails to resume restarts the shard without one.
    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        debug!(stage = %event.new, "discord shard stage");
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => self.on_command(&ctx, &command).await,
            Interaction::Autocomplete(typing) => self.on_autocomplete(&ctx, &typing).await,
            _ => {}
        }
    }
}

/// The options of a received command, flattened.
fn invocation(command: &CommandInteraction) -> Invocation {
    fn value(v: &ResolvedValue<'_>) -> Option<String> {
        match v {
            ResolvedValue::String(s) => Some((*s).to_owned()),
            ResolvedValue::Integer(i) => Some(i.to_string()),
            ResolvedValue::Number(n) => Some(n.to_string()),
            ResolvedValue::Boolean(b) => Some(b.to_string()),
            ResolvedValue::Autocomplete { value, .. } => Some((*value).to_owned()),
            _ => None,
        }
    }
    fn args(options: &[ResolvedOption<'_>]) -> Vec<(String, String)> {
        options
            .iter()
            .filter_map(|o| value(&o.value).map(|v| (o.name.to_owned(), v)))
            .collect()
    }
    let options = command.data.options();
    let mut inv = Invocation {
        name: command.data.name.clone(),
        sub: None,
        args: args(&options),
    };
    for o in &options {
        if let ResolvedValue::SubCommand(inner) = &o.value {
            inv.sub = Some(o.name.to_owned());
            inv.args = args(inner);
        }
    }
    inv
}

impl Handler {
    /// Suggestions while a member types: countries of the gazetteer for
    /// `/watch country name:`, the channel's own rules for `/unwatch id:`.
    async fn on_autocomplete(&self, ctx: &Context, typing: &CommandInteraction) {
        let Some(focused) = typing.data.autocomplete() else {
            return;
        };
        let typed = focused.value.to_owned();
        let mut response = CreateAutocompleteResponse::new();
        match (typing.data.name.as_str(), focused.name) {
            ("watch", "name") if invocation(typing).sub.as_deref() == Some("country") => {
                for name in country_suggestions(&typed, MAX_CHOICES) {
                    response = response.add_string_choice(name, name);
                }
            }
            ("unwatch", "id") => {
                let chat = typing.channel_id.to_string();
                let typed = typed.trim();
                let rules = self.channel_rules(&chat).await;
                let fitting = rules
                    .iter()
                    .filter(|(id, spec)| id.to_string().starts_with(typed) || spec.contains(typed))
                    .take(MAX_CHOICES);
                for (id, spec) in fitting {
                    let label: String = format!("#{id} {spec}").chars().take(100).collect();
                    response = response.add_int_choice(label, *id);
                }
            }
            _ => {}
        }
        let reply = CreateInteractionResponse::Autocomplete(response);
        if let Err(e) = typing.create_response(&ctx.http, reply).await {
            debug!(error = %self.inner.redact(&e), "cannot answer a discord autocomplete");
        }
    }

    /// `(id, spec)` of the rules of `chat`, without creating a subscription.
    async fn channel_rules(&self, chat: &str) -> Vec<(i64, String)> {
        let store = &self.commands.store;
        let Ok(subs) = store.subscriptions().await else {
            return Vec::new();
        };
        let Some(sub) = subs
            .iter()
            .find(|s| s.platform == Platform::Discord.as_str() && s.chat_id == chat)
        else {
            return Vec::new();
        };
        store
            .rules_of(sub.id)
            .await
            .map(|rules| rules.into_iter().map(|r| (r.id, r.spec)).collect())
            .unwrap_or_default()
    }

    /// Whether the member may change this channel's rules: always in
    /// direct messages; in servers per `discord.group_rules`, from the
    /// permissions Discord computed for the member in this channel.
    fn may_manage(&self, command: &CommandInteraction) -> bool {
        if command.guild_id.is_none() {
            return true;
        }
        if self.inner.settings.group_rules == GroupRules::Members {
            return true;
        }
        command
            .member
            .as_ref()
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.manage_channels() || p.administrator())
    }

    async fn on_command(&self, ctx: &Context, command: &CommandInteraction) {
        let chat = command.channel_id.to_string();
        let inv = invocation(command);
        let now = Utc::now();
        let parsed = slash::to_command(&inv);
        // Anything that may outlast Discord's 3 seconds is deferred first.
        let deferred = match &parsed {
            Ok(Command::Test(_)) => Some(true),
            Ok(Command::FeedAdd(_)) => Some(false),
            _ => None,
        };
        if let Some(private) = deferred {
            let defer = CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(private),
            );
            if let Err(e) = command.create_response(&ctx.http, defer).await {
                warn!(error = %self.inner.redact(&e), command = %inv.name, "cannot defer a discord interaction");
                return;
            }
        }
        let reply = match parsed {
            Err(text) => Reply {
                text,
                private: true,
            },
            Ok(parsed) => {
                let invoker = Invoker {
                    platform: Platform::Discord,
                    chat_id: chat.clone(),
                    may_manage: self.may_manage(command),
                };
                match execute(&self.commands, &invoker, parsed, now).await {
                    Ok(reply) => reply,
                    Err(e) => {
                        error!(error = %e, "discord command failed");
                        Reply {
                            text: OUR_FAULT.to_owned(),
                            private: true,
                        }
                    }
                }
            }
        };
        // The channel talks to the bot, so it can be written to again.
        match self
            .commands
            .store
            .resume_subscription("discord", &chat)
            .await
        {
            Ok(true) => {
                info!(channel_id = %chat, "discord channel is reachable again; delivery resumed")
            }
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot resume a discord subscription"),
        }
        let parts = split_escaped(&reply.text, render::MAX_CONTENT);
        let first = parts.first().cloned().unwrap_or_default();
        let answered = if deferred == Some(false) && reply.private {
            // A private answer after a public deferral: the public "thinking"
            // placeholder goes, and the answer comes only to the invoker.
            if let Err(e) = command.delete_response(&ctx.http).await {
                warn!(error = %self.inner.redact(&e), "cannot remove a deferred discord response");
            }
            let followup = CreateInteractionResponseFollowup::new()
                .content(first)
                .ephemeral(true)
                .allowed_mentions(CreateAllowedMentions::new());
            command
                .create_followup(&ctx.http, followup)
                .await
                .map(|_| ())
        } else if deferred.is_some() {
            command
                .edit_response(
                    &ctx.http,
                    EditInteractionResponse::new()
                        .content(first)
                        .allowed_mentions(CreateAllowedMentions::new()),
                )
                .await
                .map(|_| ())
        } else {
            let message = CreateInteractionResponseMessage::new()
                .content(first)
                .ephemeral(reply.private)
                .allowed_mentions(CreateAllowedMentions::new());
            command
                .create_response(&ctx.http, CreateInteractionResponse::Message(message))
                .await
        };
        if let Err(e) = answered {
            warn!(error = %self.inner.redact(&e), command = %inv.name, "cannot answer a discord interaction");
            return;
        }
        for part in parts.iter().skip(1) {
            let followup = CreateInteractionResponseFollowup::new()
                .content(part.clone())
                .ephemeral(reply.private)
                .allowed_mentions(CreateAllowedMentions::new());
            if let Err(e) = command.create_followup(&ctx.http, followup).await {
                warn!(error = %self.inner.redact(&e), "cannot send a discord follow-up");
                return;
            }
        }
        debug!(channel_id = %chat, command = %inv.name, "discord command answered");
    }
}

/// Intents the bot needs: none privileged; interactions come regardless.
pub const INTENTS: GatewayIntents = GatewayIntents::GUILDS;

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn map(status: u16, body: &str) -> SendError {
        Refusal::read(status, &HeaderMap::new(), body.as_bytes()).send_error()
    }

    #[test]
    fn rest_errors_map_to_what_the_outbox_should_do() {
        let error = |code: u64| format!(r#"{{"code": {code}, "message": "x"}}"#);
        assert!(matches!(map(403, &error(50001)), SendError::ChatGone(r) if r.contains("50001")));
        assert!(matches!(map(404, &error(10003)), SendError::ChatGone(_)));
        assert!(matches!(map(400, &error(50035)), SendError::Rejected(r) if r.contains("50035")));
        assert!(matches!(map(500, ""), SendError::Unexpected(_)));
        assert!(matches!(
            map(502, "<html>bad gateway</html>"),
            SendError::Unexpected(_)
        ));
        assert!(matches!(map(401, &error(0)), SendError::Unexpected(_)));
        let gone = map(404, "not json");
        assert!(
            matches!(&gone, SendError::ChatGone(r) if r.contains("Not Found")),
            "{gone:?}"
        );
    }

    #[test]
    fn a_429_waits_what_its_body_says() {
        let refusal = Refusal::read(
            429,
            &headers(&[("retry-after", "1"), ("x-ratelimit-reset-after", "0.9")]),
            br#"{"message": "You are being rate limited.", "retry_after": 0.412, "global": false}"#,
        );
        assert_eq!(
            refusal.rate_limit,
            Some(RateLimit {
                wait: Duration::from_millis(412),
                global: false
            })
        );
        assert!(
            matches!(refusal.send_error(), SendError::RateLimited(d) if d == Duration::from_millis(412))
        );
    }

    #[test]
    fn a_429_without_a_body_waits_what_its_headers_say() {
        let limit = |pairs: &[(&'static str, &str)]| {
            Refusal::read(429, &headers(pairs), b"").rate_limit.unwrap()
        };
        assert_eq!(limit(&[("retry-after", "3")]).wait, Duration::from_secs(3));
        assert_eq!(
            limit(&[("x-ratelimit-reset-after", "2.5")]).wait,
            Duration::from_millis(2500)
        );
        assert_eq!(
            limit(&[("retry-after", "7"), ("x-ratelimit-reset-after", "6.2")]).wait,
            Duration::from_secs(7),
            "Retry-After is about this 429; the bucket's reset may not be"
        );
        assert_eq!(limit(&[]).wait, UNSTATED_RATE_LIMIT_WAIT);
        assert_eq!(
            limit(&[("retry-after", "soon")]).wait,
            UNSTATED_RATE_LIMIT_WAIT
        );
        assert_eq!(
            limit(&[("retry-after", "-4")]).wait,
            UNSTATED_RATE_LIMIT_WAIT
        );
        assert_eq!(
            limit(&[("retry-after", "999999")]).wait,
            MAX_RATE_LIMIT_WAIT
        );
        assert!(!limit(&[("retry-after", "3")]).global);
    }

    #[test]
    fn a_global_429_is_read_from_the_body_or_the_headers() {
        let global = |pairs: &[(&'static str, &str)], body: &str| {
            Refusal::read(429, &headers(pairs), body.as_bytes())
                .rate_limit
                .unwrap()
                .global
        };
        assert!(global(
            &[],
            r#"{"message": "m", "retry_after": 1.5, "global": true, "code": 0}"#
        ));
        assert!(global(
            &[("retry-after", "2"), ("x-ratelimit-global", "true")],
            ""
        ));
        assert!(global(
            &[("retry-after", "2"), ("x-ratelimit-scope", "global")],
            ""
        ));
        assert!(!global(
            &[("x-ratelimit-scope", "user")],
            r#"{"retry_after": 1, "global": false}"#
        ));
    }

    #[test]
    fn a_hold_covers_its_channel_or_after_a_global_429_every_channel() {
        let now = Instant::now();
        let mut holds = Holds::default();
        let route = RateLimit {
            wait: Duration::from_secs(2),
            global: false,
        };
        holds.hold(1, route, now);
        assert_eq!(holds.remaining(1, now), Some(Duration::from_secs(2)));
        assert_eq!(holds.remaining(2, now), None, "another channel is free");
        assert_eq!(holds.remaining(1, now + Duration::from_secs(2)), None);
        let global = RateLimit {
            wait: Duration::from_secs(5),
            global: true,
        };
        holds.hold(1, global, now);
        assert_eq!(
            holds.remaining(2, now + Duration::from_secs(1)),
            Some(Duration::from_secs(4))
        );
        assert_eq!(holds.remaining(1, now), Some(Duration::from_secs(5)));
        assert_eq!(holds.remaining(3, now + Duration::from_secs(5)), None);
    }

    #[test]
    fn creates_and_edits_are_discords_json_on_discords_routes() {
        let part = DiscordMessage {
            content: String::new(),
            embeds: vec![render::Embed {
                title: "Ministers meet".to_owned(),
                description: "The **UN Security Council** met.".to_owned(),
                url: Some("https://news.example/1".to_owned()),
                colour: 0x3366cc,
                fields: vec![("keyword".to_owned(), "UN Security Council".to_owned())],
                footer: "Loopback News".to_owned(),
                timestamp: Some("2026-11-27T12:00:00Z".to_owned()),
            }],
        };
        let body = |r: &Request<'_>| -> serde_json::Value {
            serde_json::from_slice(r.body_ref().expect("a JSON body")).unwrap()
        };
        let post = post_message(5, &part).unwrap();
        assert_eq!(*post.method_ref(), LightMethod::Post);
        assert_eq!(
            post.route_ref().path(),
            "https://discord.com/api/v10/channels/5/messages"
        );
        let created = body(&post);
        assert!(created.get("content").is_none(), "{created}");
        assert_eq!(created["allowed_mentions"]["parse"], serde_json::json!([]));
        assert_eq!(created["tts"], false);
        let embed = &created["embeds"][0];
        assert_eq!(embed["title"], "Ministers meet");
        assert_eq!(embed["url"], "https://news.example/1");
        assert_eq!(embed["color"], 0x3366cc, "Discord's spelling: {embed}");
        assert_eq!(embed["footer"]["text"], "Loopback News");
        assert_eq!(embed["fields"][0]["inline"], false);
        assert!(
            embed["timestamp"]
                .as_str()
                .unwrap()
                .starts_with("2026-11-27T12:00:00")
        );

        let patch = patch_message(5, 7, &part).unwrap();
        assert_eq!(*patch.method_ref(), LightMethod::Patch);
        assert_eq!(
            patch.route_ref().path(),
            "https://discord.com/api/v10/channels/5/messages/7"
        );
        let edited = body(&patch);
        assert_eq!(edited["content"], "", "the old content is cleared");
        assert_eq!(edited["embeds"], created["embeds"]);
        assert_eq!(edited["allowed_mentions"]["parse"], serde_json::json!([]));
    }

    #[test]
    fn the_token_never_shows_in_debug_output_or_error_text() {
        let settings = DiscordSettings {
            token: SecretString::from("MTIz.SECRET-TOKEN.abc".to_owned()),
            api_url: url::Url::parse("http://127.0.0.1:9/").unwrap(),
            guild_id: None,
            group_rules: GroupRules::Admins,
        };
        let chat = DiscordChat::new(&settings).unwrap();
        let debug = format!("{chat:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        let text = chat.inner.redact(&"Bot MTIz.SECRET-TOKEN.abc refused");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
