//! Discord, through serenity: sends alerts as embeds and other messages as
//! content over REST, and receives slash commands over the gateway.
//!
//! This file only translates between serenity and wirewatch's types:
//! [`Outgoing`] to `POST /channels/{id}/messages` ([`render`] does the
//! layout), serenity errors to [`SendError`] (the outbox decides what they
//! mean), and interactions to [`execute`] calls answered through the
//! interaction callback ([`slash`] defines and translates the commands).
//!
//! Decisions worth knowing:
//!
//! - **Rate limits**: against Discord itself, serenity's ratelimiter paces
//!   the per-route buckets and retries its 429s. Against any other REST
//!   base (the tests' fake, a proxy) it must be off, since it ignores the
//!   proxy; then a 429 comes back here, and serenity cannot decode
//!   Discord's 429 body, so `retry_after` is not available: the 429 is
//!   handed to the outbox as a conservative wait per channel (1 s, doubling
//!   with every 429 in a row on that channel, at most 60 s). Nothing is
//!   dropped.
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
use secrecy::{ExposeSecret, SecretString};
use serenity::{
    all::{
        ChannelId, ClientBuilder, CommandInteraction, Context, CreateAllowedMentions,
        CreateAutocompleteResponse, CreateEmbed, CreateEmbedFooter, CreateInteractionResponse,
        CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
        EditInteractionResponse, EditMessage, EventHandler, GatewayIntents, GuildId, Http,
        HttpBuilder, Interaction, MessageId, Ready, ResolvedOption, ResolvedValue, ResumedEvent,
        Timestamp,
    },
    gateway::{ConnectionStage, ShardStageUpdateEvent},
    http::HttpError,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use self::{
    render::{DiscordMessage, split_escaped},
    slash::Invocation,
};
use super::{Chat, ChatTarget, Outgoing, Platform, SendError, Sent, leading_alerts};
use crate::{
    commands::{Command, CommandContext, Invoker, Reply, execute},
    config::{DiscordSettings, GroupRules},
    matching::country_suggestions,
};

/// Time limit of every REST call.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait handed to the outbox for a 429 in a row.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
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
    settings: DiscordSettings,
    token: SecretString,
    /// Whether the gateway is connected right now.
    connected: AtomicBool,
    /// 429s in a row, by channel.
    rate_limited: Mutex<HashMap<u64, u32>>,
    /// Parts already sent of messages that needed several, by channel and
    /// content, so that a retry after a failure goes on where it stopped.
    parts_sent: Mutex<HashMap<(u64, u64), usize>>,
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
        Ok(Self {
            inner: Arc::new(Inner {
                http: build_http(settings, &token)?,
                settings: settings.clone(),
                token: SecretString::from(token),
                connected: AtomicBool::new(false),
                rate_limited: Mutex::new(HashMap::new()),
                parts_sent: Mutex::new(HashMap::new()),
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
                Ok(http) => {
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
            self.inner.connected.store(false, Ordering::Relaxed);
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
        self.inner.connected.store(false, Ordering::Relaxed);
        info!("discord receiving stopped");
    }
}

/// A serenity REST client for `settings`: with a timeout, and pointed at
/// `api_url` (with serenity's own ratelimiter off, since it would ignore
/// the proxy) when that is not Discord's.
fn build_http(settings: &DiscordSettings, token: &str) -> anyhow::Result<Http> {
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
        .client(client)
        .default_allowed_mentions(CreateAllowedMentions::new());
    if base != "https://discord.com" {
        http = http.proxy(base).ratelimiter_disabled(true);
    }
    Ok(http.build())
}

/// serenity's status code of a failed request, with Discord's error code
/// and message.
fn failed_request(e: &serenity::Error) -> Option<(u16, isize, &str)> {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => Some((
            r.status_code.as_u16(),
            r.error.code,
            r.error.message.as_str(),
        )),
        _ => None,
    }
}

/// What a failed REST call means for the outbox: `failure` is
/// [`failed_request`] of the error, `rate_limit_wait` the wait to hand
/// back for a 429, `describe` the error's text for anything else.
fn send_error(
    failure: Option<(u16, isize, &str)>,
    rate_limit_wait: Duration,
    describe: impl FnOnce() -> String,
) -> SendError {
    match failure {
        Some((429, _, _)) => SendError::RateLimited(rate_limit_wait),
        Some((status @ (403 | 404), code, message)) => {
            SendError::ChatGone(format!("{status} (code {code}): {message}"))
        }
        Some((401, _, _)) => SendError::Unexpected(anyhow::anyhow!(
            "discord refused the bot token (discord.token)"
        )),
        Some((status @ 400..=499, code, message)) => {
            SendError::Rejected(format!("{status} (code {code}): {message}"))
        }
        Some((status, _, _)) => SendError::Unexpected(anyhow::anyhow!("discord answered {status}")),
        None => SendError::Unexpected(anyhow::anyhow!("discord: {}", describe())),
    }
}

impl Inner {
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

    /// The wait for a 429 on `channel`, escalating while they come in a row.
    fn next_rate_limit_wait(&self, channel: u64) -> Duration {
        let mut map = self.rate_limited.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(channel).or_insert(0);
        *n += 1;
        Duration::from_secs(1)
            .saturating_mul(2u32.saturating_pow((*n - 1).min(10)))
            .min(MAX_RATE_LIMIT_WAIT)
    }

    fn map_error(&self, channel: u64, e: &serenity::Error) -> SendError {
        let wait = match failed_request(e) {
            Some((429, _, _)) => self.next_rate_limit_wait(channel),
            _ => Duration::ZERO,
        };
        send_error(failed_request(e), wait, || self.redact(e))
    }

    fn sent_ok(&self, channel: u64) {
        self.rate_limited
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&channel);
    }

    /// Sends the parts of one message in order, resuming after the last
    /// part that went out if an earlier attempt failed half-way.
    async fn send_parts(&self, channel: u64, parts: &[DiscordMessage]) -> Result<Sent, SendError> {
        if parts.is_empty() {
            return Err(SendError::Rejected("the message is empty".to_owned()));
        }
        let key = (channel, {
            let mut h = DefaultHasher::new();
            for p in parts {
                p.content.hash(&mut h);
                format!("{:?}", p.embeds).hash(&mut h);
            }
            h.finish()
        });
        let start = self
            .parts_sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0);
        let mut last = None;
        for (i, part) in parts.iter().enumerate().skip(start) {
            let result = ChannelId::new(channel)
                .send_message(&self.http, create_message(part))
                .await;
            let mut sent = self.parts_sent.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(message) => {
                    last = Some(message.id.to_string());
                    sent.insert(key, i + 1);
                    drop(sent);
                    self.sent_ok(channel);
                }
                Err(e) => {
                    let mapped = self.map_error(channel, &e);
                    if !matches!(mapped, SendError::RateLimited(_) | SendError::Unexpected(_)) {
                        sent.remove(&key); // not retried as such
                    }
                    return Err(mapped);
                }
            }
        }
        let mut sent = self.parts_sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.remove(&key);
        if sent.len() > 1000 {
            sent.clear(); // abandoned half-sent messages; never grows unbounded
        }
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
        self.inner.connected.load(Ordering::Relaxed)
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
        let mut edit = EditMessage::new()
            .content(part.content.clone())
            .allowed_mentions(CreateAllowedMentions::new());
        if !part.embeds.is_empty() {
            edit = edit.embeds(part.embeds.iter().map(embed_builder).collect());
        }
        match ChannelId::new(channel)
            .edit_message(&self.inner.http, MessageId::new(id.max(1)), edit)
            .await
        {
            Ok(m) => {
                self.inner.sent_ok(channel);
                Ok(Sent {
                    message_id: Some(m.id.to_string()),
                })
            }
            Err(e) => Err(self.inner.map_error(channel, &e)),
        }
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
        self.inner.connected.store(true, Ordering::Relaxed);
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
        self.inner.connected.store(true, Ordering::Relaxed);
        info!("discord gateway session resumed");
    }

    async fn shard_stage_update(&self, _ctx: Context, event: ShardStageUpdateEvent) {
        let connected = event.new == ConnectionStage::Connected;
        self.inner.connected.store(connected, Ordering::Relaxed);
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
    fn map(status: u16, code: isize) -> SendError {
        send_error(Some((status, code, "x")), Duration::from_secs(3), || {
            "network".to_owned()
        })
    }

    #[test]
    fn rest_errors_map_to_what_the_outbox_should_do() {
        assert!(matches!(map(429, -1), SendError::RateLimited(d) if d == Duration::from_secs(3)));
        assert!(matches!(map(403, 50001), SendError::ChatGone(_)));
        assert!(matches!(map(404, 10003), SendError::ChatGone(_)));
        assert!(matches!(map(400, 50035), SendError::Rejected(_)));
        assert!(matches!(map(500, 0), SendError::Unexpected(_)));
        assert!(matches!(map(502, 0), SendError::Unexpected(_)));
        assert!(matches!(map(401, 0), SendError::Unexpected(_)));
        assert!(matches!(
            send_error(None, Duration::ZERO, || "reset".to_owned()),
            SendError::Unexpected(_)
        ));
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

    #[test]
    fn rate_limit_waits_escalate_per_channel_and_reset_after_a_send() {
        let settings = DiscordSettings {
            token: SecretString::from("t".to_owned()),
            ..DiscordSettings::default()
        };
        let chat = DiscordChat::new(&settings).unwrap();
        let waits: Vec<u64> = (0..3)
            .map(|_| chat.inner.next_rate_limit_wait(1).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4]);
        assert_eq!(chat.inner.next_rate_limit_wait(2).as_secs(), 1);
        chat.inner.sent_ok(1);
        assert_eq!(chat.inner.next_rate_limit_wait(1).as_secs(), 1);
    }
}
