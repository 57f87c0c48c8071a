//! Telegram, through teloxide: sends alerts and replies in HTML parse mode,
//! and receives commands by long polling.
//!
//! This file only translates between teloxide and wirewatch's types:
//! [`Outgoing`] to `sendMessage` calls ([`html`] does the layout) and story
//! updates to `editMessageText` of the alert sent earlier, teloxide
//! errors to [`SendError`] (the outbox decides what they mean), and
//! incoming updates to [`CommandContext::handle`] calls whose replies go
//! into the outbox like any other message.
//!
//! Decisions worth knowing:
//!
//! - **Pacing** is done here with a small [`pace::Pacer`], not teloxide's
//!   `Throttle`: `Throttle` queues in memory and retries 429s by itself,
//!   which would hide `retry_after` from the outbox and hold the delivery
//!   worker. Here a send that must wait returns
//!   [`SendError::RateLimited`] at once, so the outbox keeps that chat's
//!   messages (in order, across restarts) and serves other chats meanwhile.
//! - **Update offsets** are stored in the database in the same transaction
//!   as the reply to the update, so after a restart polling resumes at the
//!   first update not yet handled: none is handled twice or skipped.
//! - **The token** never reaches a log: teloxide's `Bot` prints it in its
//!   `Debug` output and reqwest's errors carry the request URL (which
//!   contains it), so the bot is kept out of every `Debug` and every error
//!   text leaving this file goes through [`Inner::redact`].

mod html;
mod pace;

use std::{
    fmt,
    hash::{DefaultHasher, Hash, Hasher},
    sync::atomic::{AtomicBool, Ordering},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use teloxide::{
    ApiError, RequestError,
    prelude::*,
    types::{
        AllowedUpdate, BotCommand, ChatMemberUpdated, LinkPreviewOptions, Message, MessageId,
        ParseMode, Update, UpdateKind,
    },
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use self::{
    html::{HtmlMessage, Preview},
    pace::{Limits, Pacer},
};
use super::{Chat, ChatTarget, Outgoing, PartsSent, Platform, SendError, Sent, leading_alerts};
use crate::{
    alerts::notice,
    commands::{COMMANDS, CommandContext, Invoker},
    config::{GroupRules, TelegramSettings},
    metrics::Metrics,
    store::{ChatMove, HandledUpdate, Store},
};

/// The `adapter_state` key of the long-polling offset.
const OFFSET_KEY: &str = "telegram.update_offset";
/// How long one `getUpdates` call may wait for updates.
const LONG_POLL_SECS: u32 = 25;
/// Time limit of every other Bot API call.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Pacing waits shorter than this are slept through instead of handed back
/// to the outbox.
const INLINE_WAIT: Duration = Duration::from_millis(50);
/// Longest wait between retries of a failing `getMe`/`getUpdates`.
const MAX_RECEIVE_BACKOFF: Duration = Duration::from_secs(60);
/// The reply to a private message that is not a command.
const NOT_A_COMMAND: &str = "Commands start with /. Send /help for the list.";

/// The Telegram chat adapter; cheap to clone.
#[derive(Clone)]
pub struct TelegramChat {
    inner: Arc<Inner>,
}

struct Inner {
    /// Sends and short calls.
    bot: Bot,
    /// `getUpdates` only: its client waits longer than a long poll.
    poll_bot: Bot,
    token: SecretString,
    group_rules: GroupRules,
    pacer: Mutex<Pacer>,
    /// Parts already sent of messages that needed several, by chat and
    /// content, so that a retry after a failure goes on where it stopped.
    parts_sent: PartsSent,
    /// Whether the last `getMe`/`getUpdates` got an answer (for `/readyz`).
    connected: AtomicBool,
    /// Where the pacer's short waits are counted (see [`TelegramChat::with_metrics`]).
    metrics: OnceLock<Metrics>,
}

impl fmt::Debug for TelegramChat {
    // Never derive: the bot inside prints its token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramChat")
            .field("api_url", &self.inner.bot.api_url().as_str())
            .field("group_rules", &self.inner.group_rules)
            .finish_non_exhaustive()
    }
}

impl TelegramChat {
    /// An adapter for `settings` (the token must be set). No network call
    /// is made until it sends or receives.
    pub fn new(settings: &TelegramSettings) -> anyhow::Result<Self> {
        let mut api_url = settings.api_url.clone();
        // teloxide appends `/bot<token>/<Method>` as path segments: a
        // trailing slash would give a double slash.
        if api_url.path().len() > 1 && api_url.path().ends_with('/') {
            let path = api_url.path().trim_end_matches('/').to_owned();
            api_url.set_path(&path);
        }
        let loopback = match api_url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        let client = |timeout: Duration| {
            let builder = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(timeout)
                .tcp_nodelay(true);
            // A proxy from the environment must not capture a local API
            // (tests, or a self-hosted Bot API server on this machine).
            let builder = if loopback {
                builder.no_proxy()
            } else {
                builder
            };
            builder.build()
        };
        let token = settings.token.expose_secret().trim().to_owned();
        let bot =
            Bot::with_client(token.clone(), client(CALL_TIMEOUT)?).set_api_url(api_url.clone());
        let poll_bot = Bot::with_client(
            token.clone(),
            client(Duration::from_secs(u64::from(LONG_POLL_SECS) + 10))?,
        )
        .set_api_url(api_url);
        Ok(Self {
            inner: Arc::new(Inner {
                bot,
                poll_bot,
                token: SecretString::from(token),
                group_rules: settings.group_rules,
                pacer: Mutex::new(Pacer::new(Limits::default())),
                parts_sent: PartsSent::default(),
                connected: AtomicBool::new(false),
                metrics: OnceLock::new(),
            }),
        })
    }

    /// Counts the waits of its pacing into `metrics`'s rate-limit waits.
    /// Only the short waits it sleeps through itself: longer ones are
    /// handed to the outbox as rate limits, and delivery counts those. The
    /// first call sets the metrics; later calls change nothing.
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        let _ = self.inner.metrics.set(metrics);
        self
    }

    /// Receives updates by long polling until `shutdown`, runs the
    /// commands in them, and queues the replies in the outbox (waking the
    /// delivery worker through `outbox_ready`). Registers the command list
    /// with `setMyCommands` first. An update being handled when shutdown
    /// comes is finished first.
    pub async fn receive_until_stopped(
        self,
        commands: CommandContext,
        outbox_ready: Arc<Notify>,
        shutdown: CancellationToken,
    ) {
        let Some(username) = self.inner.wait_for_me(&shutdown).await else {
            return;
        };
        info!(bot = %username, "telegram bot connected");
        self.inner.connected.store(true, Ordering::Relaxed);
        self.inner.prepare_polling().await;
        let store = commands.store.clone();
        let mut offset = match store.adapter_state(OFFSET_KEY).await {
            Ok(value) => value.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0),
            Err(e) => {
                error!(error = %e, "cannot read the telegram update offset; telegram commands are off");
                return;
            }
        };
        let receiver = Receiver {
            inner: &self.inner,
            commands: &commands,
            username: &username,
        };
        let mut failures = 0u32;
        'polling: loop {
            let request = self
                .inner
                .poll_bot
                .get_updates()
                .offset(i32::try_from(offset).unwrap_or(i32::MAX))
                .timeout(LONG_POLL_SECS)
                .allowed_updates([
                    AllowedUpdate::Message,
                    AllowedUpdate::ChannelPost,
                    AllowedUpdate::MyChatMember,
                ]);
            let result = tokio::select! {
                () = shutdown.cancelled() => break,
                result = request.send() => result,
            };
            let mut updates = match result {
                Ok(updates) => {
                    failures = 0;
                    self.inner.connected.store(true, Ordering::Relaxed);
                    updates
                }
                Err(e) => {
                    failures += 1;
                    self.inner.connected.store(false, Ordering::Relaxed);
                    let wait = match &e {
                        RequestError::RetryAfter(s) => s.duration(),
                        _ => receive_backoff(failures),
                    };
                    warn!(error = %self.inner.redact(&e), ?wait, "telegram getUpdates failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(wait) => continue,
                    }
                }
            };
            updates.sort_by_key(|u| u.id.0);
            for update in updates {
                let id = i64::from(update.id.0);
                if id < offset {
                    continue; // already handled (a server that repeats itself)
                }
                let reply = receiver.handle(&update).await;
                let payload = match &reply {
                    Some((_, text)) => match serde_json::to_string(&notice(text.clone())) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            error!(error = %e, "cannot encode a reply");
                            None
                        }
                    },
                    None => None,
                };
                let handled = HandledUpdate {
                    key: OFFSET_KEY,
                    next: id + 1,
                    reply: reply
                        .as_ref()
                        .zip(payload.as_deref())
                        .map(|((sub, _), p)| (*sub, p)),
                };
                match store.record_handled_update(&handled, Utc::now()).await {
                    Ok(queued) => {
                        offset = id + 1;
                        if queued.is_some() {
                            outbox_ready.notify_one();
                        }
                    }
                    Err(e) => {
                        // The offset stays: this update comes again.
                        error!(error = %e, update_id = id, "cannot record a telegram update");
                        tokio::select! {
                            () = shutdown.cancelled() => break 'polling,
                            () = tokio::time::sleep(receive_backoff(1)) => continue 'polling,
                        }
                    }
                }
                if shutdown.is_cancelled() {
                    break 'polling;
                }
            }
        }
        info!("telegram receiving stopped");
    }
}

/// Wait before the `failures`-th retry of a receive call: 1 s doubling.
fn receive_backoff(failures: u32) -> Duration {
    Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
        .min(MAX_RECEIVE_BACKOFF)
}

impl Inner {
    /// Error text with the token cut out (reqwest errors carry the URL).
    fn redact(&self, error: &dyn fmt::Display) -> String {
        let token = self.token.expose_secret();
        let text = error.to_string();
        if token.is_empty() {
            return text;
        }
        let encoded = token.replace(':', "%3A");
        text.replace(token, "<token>").replace(&encoded, "<token>")
    }

    /// `getMe`, retried until it works or shutdown; the bot's username.
    async fn wait_for_me(&self, shutdown: &CancellationToken) -> Option<String> {
        let mut failures = 0;
        loop {
            let result = tokio::select! {
                () = shutdown.cancelled() => return None,
                result = self.bot.get_me().send() => result,
            };
            match result {
                Ok(me) => return Some(me.user.username.clone().unwrap_or_default()),
                Err(e) => {
                    failures += 1;
                    let wait = receive_backoff(failures);
                    if matches!(e, RequestError::Api(ApiError::InvalidToken)) {
                        error!(
                            ?wait,
                            "telegram refused the bot token (telegram.token); check it with @BotFather"
                        );
                    } else {
                        warn!(error = %self.redact(&e), ?wait, "telegram getMe failed");
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Registers the command list (so Telegram autocompletes it) and makes
    /// sure no webhook keeps long polling from working. Failures are
    /// logged: commands still work without autocompletion.
    async fn prepare_polling(&self) {
        let commands: Vec<BotCommand> = COMMANDS
            .iter()
            .map(|(name, args, about)| {
                let text = if args.is_empty() {
                    (*about).to_owned()
                } else {
                    format!("{about}: {args}")
                };
                BotCommand::new(*name, text.chars().take(256).collect::<String>())
            })
            .collect();
        if let Err(e) = self.bot.set_my_commands(commands).send().await {
            warn!(error = %self.redact(&e), "telegram setMyCommands failed; commands work without autocompletion");
        }
        match self.bot.get_webhook_info().send().await {
            Ok(info) if info.url.is_some() => {
                warn!("a webhook was set for this bot; removing it so that long polling works");
                if let Err(e) = self.bot.delete_webhook().send().await {
                    warn!(error = %self.redact(&e), "telegram deleteWebhook failed");
                }
            }
            Ok(_) => {}
            Err(e) => warn!(error = %self.redact(&e), "telegram getWebhookInfo failed"),
        }
    }

    /// Books a send to `chat` with the pacer; a wait longer than a moment
    /// is handed back to the outbox as a rate limit.
    /// Returns the instant booked.
    async fn pace(&self, chat: i64) -> Result<Instant, SendError> {
        loop {
            let now = Instant::now();
            let verdict = self
                .pacer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_reserve(chat, now);
            match verdict {
                Ok(()) => return Ok(now),
                Err(wait) if wait <= INLINE_WAIT => {
                    tokio::time::sleep(wait).await;
                    if let Some(metrics) = self.metrics.get() {
                        metrics.record_rate_limit(Platform::Telegram, wait);
                    }
                }
                Err(wait) => return Err(SendError::RateLimited(wait)),
            }
        }
    }

    /// Sends the parts of one message in order, resuming after the last
    /// part that went out if an earlier attempt failed half-way.
    async fn send_parts(&self, chat: i64, parts: &[HtmlMessage]) -> Result<Sent, SendError> {
        if parts.is_empty() {
            return Err(SendError::Rejected("the message is empty".to_owned()));
        }
        let mut h = DefaultHasher::new();
        chat.hash(&mut h);
        for p in parts {
            p.html.hash(&mut h);
        }
        let key = h.finish();
        let mut last = None;
        for (i, part) in parts
            .iter()
            .enumerate()
            .skip(self.parts_sent.resume_at(key))
        {
            let result = match self.pace(chat).await {
                Ok(booked) => {
                    let result = self.send_one(chat, part).await;
                    if let Err(SendError::Unexpected(_)) = &result {
                        self.pacer
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .release(chat, booked);
                    }
                    result
                }
                Err(e) => Err(e),
            };
            last = Some(self.parts_sent.record(key, i, result)?);
        }
        self.parts_sent.finish(key);
        Ok(Sent { message_id: last })
    }

    /// Replaces the text of the bot's message `message` in `chat` with
    /// `part`, paced like a send. "Message is not modified" (the text is
    /// already this) counts as done.
    async fn edit_one(
        &self,
        chat: i64,
        message: MessageId,
        part: &HtmlMessage,
    ) -> Result<Sent, SendError> {
        let booked = self.pace(chat).await?;
        let result = self
            .bot
            .edit_message_text(ChatId(chat), message, part.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(link_preview(&part.preview))
            .send()
            .await;
        let sent = Sent {
            message_id: Some(message.0.to_string()),
        };
        match result {
            Ok(_) => Ok(sent),
            Err(e) if is_not_modified(&e) => Ok(sent),
            Err(e) => {
                let mapped = self.failed(chat, &e);
                if let SendError::Unexpected(_) = &mapped {
                    self.pacer
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .release(chat, booked);
                }
                Err(mapped)
            }
        }
    }

    /// Maps a failed call to `chat`; a rate limit also holds the chat's
    /// pacing until it has passed.
    fn failed(&self, chat: i64, e: &RequestError) -> SendError {
        let mapped = send_error(e, |e| self.redact(e));
        if let SendError::RateLimited(wait) = &mapped {
            self.pacer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .block(chat, Instant::now(), *wait);
        }
        mapped
    }

    async fn send_one(&self, chat: i64, part: &HtmlMessage) -> Result<String, SendError> {
        let result = self
            .bot
            .send_message(ChatId(chat), part.html.clone())
            .parse_mode(ParseMode::Html)
            .link_preview_options(link_preview(&part.preview))
            .send()
            .await;
        match result {
            Ok(message) => Ok(message.id.0.to_string()),
            Err(e) => Err(self.failed(chat, &e)),
        }
    }
}

/// Telegram's link preview options for `preview`.
fn link_preview(preview: &Preview) -> LinkPreviewOptions {
    match preview {
        Preview::Off => LinkPreviewOptions {
            is_disabled: true,
            url: None,
            prefer_small_media: false,
            prefer_large_media: false,
            show_above_text: false,
        },
        Preview::Of(url) => LinkPreviewOptions {
            is_disabled: false,
            url: Some(url.clone()),
            prefer_small_media: false,
            prefer_large_media: false,
            show_above_text: false,
        },
    }
}

/// Whether Telegram refused an edit because the message already says
/// that ("Bad Request: message is not modified: …").
fn is_not_modified(e: &RequestError) -> bool {
    match e {
        RequestError::Api(ApiError::MessageNotModified) => true,
        RequestError::Api(ApiError::Unknown(description)) => {
            description.starts_with("Bad Request: message is not modified")
        }
        _ => false,
    }
}

/// What a failed Bot API call means for the outbox.
fn send_error(e: &RequestError, redact: impl Fn(&dyn fmt::Display) -> String) -> SendError {
    match e {
        RequestError::RetryAfter(s) => {
            SendError::RateLimited(s.duration().max(Duration::from_secs(1)))
        }
        RequestError::MigrateToChatId(to) => SendError::Migrated(ChatTarget {
            platform: Platform::Telegram,
            chat_id: to.0.to_string(),
        }),
        RequestError::Api(api) => {
            // Telegram's own description ("Forbidden: …", "Bad Request: …").
            let text = match api {
                ApiError::Unknown(description) => description.clone(),
                other => other.to_string(),
            };
            match api {
                ApiError::BotBlocked
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::BotKickedFromChannel
                | ApiError::UserDeactivated
                | ApiError::ChatNotFound
                | ApiError::GroupDeactivated
                | ApiError::CantInitiateConversation
                | ApiError::CantTalkWithBots
                | ApiError::NotEnoughRightsToPostMessages => SendError::ChatGone(text),
                ApiError::InvalidToken => SendError::Unexpected(anyhow::anyhow!(
                    "telegram refused the bot token (telegram.token)"
                )),
                _ if text.starts_with("Forbidden") => SendError::ChatGone(text),
                _ if text.starts_with("Bad Request")
                    || matches!(api, ApiError::CantParseEntities(_)) =>
                {
                    SendError::Rejected(text)
                }
                // "Internal Server Error", "Bad Gateway", …: try again later.
                _ => SendError::Unexpected(anyhow::anyhow!("telegram: {text}")),
            }
        }
        other => SendError::Unexpected(anyhow::anyhow!("telegram: {}", redact(other))),
    }
}

#[async_trait]
impl Chat for TelegramChat {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }

    fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    async fn send(&self, to: &ChatTarget, msg: &Outgoing) -> Result<Sent, SendError> {
        let chat = chat_id(to)?;
        self.inner.send_parts(chat, &html::render(msg)).await
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
                let chat = chat_id(to)?;
                let (taken, message) = html::render_alert_list(&alerts);
                let sent = self.inner.send_parts(chat, &[message]).await?;
                Ok((taken.max(1), sent))
            }
        }
    }

    /// Edits the alert's message in place ("also: …" outlets added), with
    /// the text and preview a single alert is sent with. An alert always
    /// fits in one message; were it ever longer, the first part is used.
    async fn edit(
        &self,
        to: &ChatTarget,
        message_id: &str,
        msg: &Outgoing,
    ) -> Result<Sent, SendError> {
        let chat = chat_id(to)?;
        let message = message_id.parse::<i32>().map(MessageId).map_err(|_| {
            SendError::Rejected(format!("{message_id:?} is not a Telegram message id"))
        })?;
        let Some(part) = html::render(msg).into_iter().next() else {
            return Err(SendError::Rejected("the message is empty".to_owned()));
        };
        self.inner.edit_one(chat, message, &part).await
    }
}

fn chat_id(to: &ChatTarget) -> Result<i64, SendError> {
    to.chat_id
        .parse()
        .map_err(|_| SendError::Rejected(format!("{:?} is not a Telegram chat id", to.chat_id)))
}

/// Handles incoming updates for one polling session.
struct Receiver<'a> {
    inner: &'a Inner,
    commands: &'a CommandContext,
    username: &'a str,
}

impl Receiver<'_> {
    /// Runs what `update` asks; the reply to queue, if any, as the chat's
    /// subscription id and the reply text.
    async fn handle(&self, update: &Update) -> Option<(i64, String)> {
        let result = match &update.kind {
            UpdateKind::Message(m) | UpdateKind::ChannelPost(m) => self.on_message(m).await,
            UpdateKind::MyChatMember(change) => self.on_membership(change).await.map(|()| None),
            _ => Ok(None),
        };
        match result {
            Ok(reply) => reply,
            Err(e) => {
                error!(error = %e, update_id = update.id.0, "cannot handle a telegram update");
                None
            }
        }
    }

    fn store(&self) -> &Store {
        &self.commands.store
    }

    async fn on_message(&self, m: &Message) -> anyhow::Result<Option<(i64, String)>> {
        let chat = m.chat.id.0.to_string();
        if let Some(to) = m.migrate_to_chat_id() {
            self.follow_move(&chat, &to.0.to_string()).await?;
            return Ok(None);
        }
        if let Some(from) = m.migrate_from_chat_id() {
            self.follow_move(&from.0.to_string(), &chat).await?;
            return Ok(None);
        }
        let Some(text) = m.text() else {
            return Ok(None);
        };
        if m.from.as_ref().is_some_and(|u| u.is_bot) {
            return Ok(None);
        }
        let now = Utc::now();
        let is_command = matches!(
            crate::commands::parse(text, Some(self.username)),
            Ok(Some(_)) | Err(_)
        );
        let reply = if is_command {
            let invoker = Invoker {
                platform: Platform::Telegram,
                chat_id: chat.clone(),
                may_manage: self.may_manage(m).await,
            };
            self.commands
                .handle(&invoker, text, Some(self.username), now)
                .await
                .map(|r| r.text)
        } else if m.chat.is_private() {
            Some(NOT_A_COMMAND.to_owned())
        } else {
            None // group chatter that is not for us
        };
        let Some(reply) = reply else {
            return Ok(None);
        };
        // The chat talks to the bot, so it can be written to again.
        if self.store().resume_subscription("telegram", &chat).await? {
            info!(chat_id = %chat, "telegram chat is reachable again; delivery resumed");
        }
        let sub = self
            .store()
            .ensure_subscription(Platform::Telegram.as_str(), &chat, now)
            .await?;
        debug!(chat_id = %chat, "telegram command answered");
        Ok(Some((sub.id, reply)))
    }

    /// The bot was added to, removed from, or blocked in a chat.
    async fn on_membership(&self, change: &ChatMemberUpdated) -> anyhow::Result<()> {
        let chat = change.chat.id.0.to_string();
        if change.new_chat_member.is_present() {
            if self.store().resume_subscription("telegram", &chat).await? {
                info!(chat_id = %chat, "bot is back in a telegram chat; delivery resumed");
            }
        } else if self
            .store()
            .pause_chat(
                "telegram",
                &chat,
                "the bot was removed from the chat or blocked",
            )
            .await?
        {
            info!(chat_id = %chat, "bot left a telegram chat; delivery paused");
        }
        Ok(())
    }

    /// A group became a supergroup: its subscription follows, rules kept.
    async fn follow_move(&self, from: &str, to: &str) -> anyhow::Result<()> {
        let outcome = self.store().move_chat("telegram", from, to).await?;
        if outcome != ChatMove::NothingToMove {
            info!(from, to, ?outcome, "telegram group moved to a supergroup");
            self.commands.pipeline.reload_rules().await?;
        }
        Ok(())
    }

    /// Whether the sender may change this chat's rules: always in private
    /// chats and channels (only admins post there); in groups per
    /// `telegram.group_rules`, checked with `getChatMember`.
    async fn may_manage(&self, m: &Message) -> bool {
        if m.chat.is_private() || m.chat.is_channel() {
            return true;
        }
        if self.inner.group_rules == GroupRules::Members {
            return true;
        }
        // An anonymous admin posts as the group itself.
        if m.sender_chat.as_ref().is_some_and(|c| c.id == m.chat.id) {
            return true;
        }
        let Some(user) = &m.from else {
            return false;
        };
        match self
            .inner
            .bot
            .get_chat_member(m.chat.id, user.id)
            .send()
            .await
        {
            Ok(member) => member.is_privileged(),
            Err(e) => {
                warn!(error = %self.inner.redact(&e), chat_id = m.chat.id.0, "cannot check a telegram user's admin rights; treating as member");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::{ChatId, Seconds};

    fn map(e: RequestError) -> SendError {
        send_error(&e, |e| e.to_string())
    }

    #[test]
    fn bot_api_errors_map_to_what_the_outbox_should_do() {
        assert!(matches!(
            map(RequestError::RetryAfter(Seconds::from_seconds(7))),
            SendError::RateLimited(d) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            map(RequestError::MigrateToChatId(ChatId(-1001))),
            SendError::Migrated(t) if t.chat_id == "-1001" && t.platform == Platform::Telegram
        ));
        for gone in [
            ApiError::BotBlocked,
            ApiError::ChatNotFound,
            ApiError::BotKicked,
            ApiError::BotKickedFromSupergroup,
            ApiError::Unknown("Forbidden: bot is not a member of the group chat".into()),
        ] {
            assert!(
                matches!(map(RequestError::Api(gone.clone())), SendError::ChatGone(_)),
                "{gone:?}"
            );
        }
        for rejected in [
            ApiError::CantParseEntities(
                "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0"
                    .into(),
            ),
            ApiError::MessageIsTooLong,
            ApiError::MessageTextIsEmpty,
            ApiError::Unknown("Bad Request: something new".into()),
        ] {
            assert!(
                matches!(
                    map(RequestError::Api(rejected.clone())),
                    SendError::Rejected(_)
                ),
                "{rejected:?}"
            );
        }
        for retry in [
            ApiError::Unknown("Internal Server Error".into()),
            ApiError::Unknown("Bad Gateway".into()),
            ApiError::InvalidToken,
        ] {
            assert!(
                matches!(
                    map(RequestError::Api(retry.clone())),
                    SendError::Unexpected(_)
                ),
                "{retry:?}"
            );
        }
    }

    #[test]
    fn an_edit_to_the_same_text_counts_as_done_and_other_refusals_do_not() {
        assert!(is_not_modified(&RequestError::Api(
            ApiError::MessageNotModified
        )));
        assert!(is_not_modified(&RequestError::Api(ApiError::Unknown(
            "Bad Request: message is not modified".into()
        ))));
        for other in [
            ApiError::MessageToEditNotFound,
            ApiError::MessageCantBeEdited,
            ApiError::Unknown("Bad Request: message to edit not found".into()),
        ] {
            assert!(
                !is_not_modified(&RequestError::Api(other.clone())),
                "{other:?}"
            );
        }
        assert!(!is_not_modified(&RequestError::RetryAfter(
            Seconds::from_seconds(1)
        )));
    }

    #[tokio::test]
    async fn waits_the_pacer_sleeps_through_are_counted_as_rate_limit_waits() {
        let settings = TelegramSettings {
            token: SecretString::from("123456:TOKEN".to_owned()),
            api_url: url::Url::parse("http://127.0.0.1:9/").unwrap(),
            group_rules: GroupRules::Admins,
        };
        let metrics = Metrics::new();
        let chat = TelegramChat::new(&settings)
            .unwrap()
            .with_metrics(metrics.clone());
        // A gap short enough to be slept through, not handed back.
        *chat.inner.pacer.lock().unwrap() = Pacer::new(Limits {
            per_chat_gap: INLINE_WAIT,
            ..Limits::default()
        });
        let value = |name: &str| {
            let text = metrics.encode(&Default::default()).unwrap();
            let prefix = format!("wirewatch_{name}{{platform=\"telegram\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .map_or(0.0, |v| v.parse::<f64>().unwrap())
        };
        chat.inner.pace(7).await.unwrap();
        assert_eq!(
            value("rate_limit_waits_total"),
            0.0,
            "the first send waits not"
        );
        // A burst: the second send to the chat has to wait for its pace.
        chat.inner.pace(7).await.unwrap();
        assert_eq!(value("rate_limit_waits_total"), 1.0);
        let waited = value("rate_limit_wait_seconds_total");
        assert!(
            waited > 0.0 && waited <= INLINE_WAIT.as_secs_f64(),
            "{waited}"
        );
    }

    #[test]
    fn the_token_never_shows_in_debug_output_or_error_text() {
        let settings = TelegramSettings {
            token: SecretString::from("123456:SECRET-TOKEN-abc".to_owned()),
            api_url: url::Url::parse("http://127.0.0.1:9/tg/").unwrap(),
            group_rules: GroupRules::Admins,
        };
        let chat = TelegramChat::new(&settings).unwrap();
        let debug = format!("{chat:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("http://127.0.0.1:9/tg"), "{debug}");
        let text = chat.inner.redact(&"error sending request for url (http://127.0.0.1:9/tg/bot123456:SECRET-TOKEN-abc/SendMessage) 123456%3ASECRET-TOKEN-abc");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("bot<token>/SendMessage"), "{text}");
    }
}
