//! A strict fake Discord on 127.0.0.1: REST under `/api/v10/` and a
//! WebSocket gateway whose URL `GET /gateway` returns.
//!
//! REST bodies are validated against Discord's OpenAPI spec
//! (`../shared/data/api/discord_openapi_v10.json`: `$ref`, types, required
//! and unknown-where-forbidden properties, lengths, item counts, numeric
//! ranges, `oneOf`/`anyOf`/`allOf`, enums) and against the limits Discord
//! enforces beyond the spec (content 2000 characters; embed title 256,
//! description 4096, field name 256 / value 1024, footer 2048, 25 fields,
//! 10 embeds, 6000 characters over all embeds; a message needs content or
//! an embed). Refusals answer 400 with code 50035 as Discord does.
//!
//! The gateway speaks JSON text frames: HELLO, IDENTIFY → READY (with
//! `resume_gateway_url`) and one GUILD_CREATE per guild, heartbeat ACKs,
//! RESUME → RESUMED with the dispatches missed while disconnected, and
//! INTERACTION_CREATE dispatches with complete payloads.
//!
//! Messages are created (`POST /channels/{id}/messages`) and edited
//! (`PATCH /channels/{id}/messages/{id}`: only the bot's own messages, and
//! only the fields the edit names change, as on Discord).
//!
//! Faults are injected per route: 429 (Discord's body with `retry_after`
//! and `global`, plus `Retry-After` and `X-RateLimit-*` headers), 403
//! Missing Access, 404 Unknown Channel, 500, a hang; and gateway drops, or
//! the gateway going away altogether until it comes back.

// Each test uses a different part of this API.
#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The fake bot's token.
pub const TOKEN: &str = "MTEwMDAwMDAwMDAwMDAwMDAx.fake.discord-TOKEN";
/// The application's (and bot user's) id.
pub const APP_ID: u64 = 1_100_000_000_000_000_001;
/// The one guild the bot is in.
pub const GUILD: u64 = 1_200_000_000_000_000_001;
/// A text channel of that guild.
pub const CHANNEL: u64 = 1_300_000_000_000_000_001;
/// Another text channel of that guild.
pub const OTHER_CHANNEL: u64 = 1_300_000_000_000_000_002;
/// How long the wait helpers wait before failing the test.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);
/// The direct-message channel between the bot and [`DM_USER`].
pub const DM_CHANNEL: u64 = 1_300_000_000_000_000_009;
/// A user who talks to the bot in direct messages.
pub const DM_USER: u64 = 1_500_000_000_000_000_009;
/// How long after an interaction Discord accepts its first answer.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);
/// Permission bits: Manage Channels.
pub const MANAGE_CHANNELS: u64 = 1 << 4;
/// Permission bits of an ordinary member (view, send, read history, use
/// application commands).
pub const MEMBER_PERMISSIONS: u64 = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31);

const SPEC_PATH: &str = "../shared/data/api/discord_openapi_v10.json";

/// A fault the next matching REST call gets instead of its normal answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with `retry_after` seconds; `global` as Discord sets it.
    RateLimited {
        /// Seconds to wait.
        retry_after: f64,
        /// A global limit rather than the route's.
        global: bool,
    },
    /// 403 Missing Access (code 50001).
    MissingAccess,
    /// 404 Unknown Channel (code 10003).
    UnknownChannel,
    /// 500.
    ServerError,
    /// No answer, ever.
    Hang,
}

/// One REST request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `POST`, `PUT`, …
    pub method: String,
    /// The path after `/api/v10`.
    pub path: String,
    /// The JSON body (null if none).
    pub body: Value,
    /// The status answered (0: hung).
    pub status: u16,
    /// The answer's body (what was wrong, for refusals).
    pub answer: Value,
    /// When the fake received it.
    pub at: Instant,
}

/// A channel message the fake accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Its id.
    pub id: u64,
    /// The channel.
    pub channel_id: u64,
    /// The body as posted (after any edits).
    pub body: Value,
    /// When the fake accepted it.
    pub at: Instant,
    /// Who wrote it ([`APP_ID`]: the bot).
    pub author: u64,
}

/// An edit of a channel message the fake accepted.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The message's id.
    pub id: u64,
    /// Its channel.
    pub channel_id: u64,
    /// The PATCH body as sent.
    pub patch: Value,
    /// The whole message after the edit.
    pub body: Value,
    /// When the fake accepted it.
    pub at: Instant,
}

impl Posted {
    /// The content, or "".
    pub fn content(&self) -> &str {
        self.body["content"].as_str().unwrap_or("")
    }
    /// The embeds posted.
    pub fn embeds(&self) -> Vec<Value> {
        self.body["embeds"].as_array().cloned().unwrap_or_default()
    }
}

/// An answer to an interaction: the callback, an edit of the original
/// response, or a follow-up.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The interaction's id.
    pub interaction_id: u64,
    /// `callback`, `edit`, `followup` or `delete` (of the original).
    pub kind: &'static str,
    /// Callback type (4 message, 5 deferred); 0 for edits and follow-ups.
    pub callback_type: u64,
    /// The text.
    pub content: String,
    /// Whether only the invoker sees it (flag 64).
    pub ephemeral: bool,
    /// The body as sent.
    pub body: Value,
}

/// What the gateway connection should do next.
#[derive(Debug)]
enum GatewayCommand {
    Dispatch(Value),
    Drop,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    posted: Vec<Posted>,
    edits: Vec<Edited>,
    answers: Vec<Answer>,
    /// Registered commands: (guild, the bulk body).
    commands: Vec<(Option<u64>, Value)>,
    faults: VecDeque<(String, Fault)>,
    hang_channels: HashSet<u64>,
    next_id: u64,
    /// Interactions sent: (id, token, answered, when dispatched).
    interactions: Vec<(u64, String, bool, Instant)>,
    identifies: usize,
    resumes: usize,
    heartbeats: usize,
    session: Option<String>,
    seq: u64,
    /// Dispatches not yet written to a connection (none open), in order.
    backlog: Vec<Value>,
    connection: Option<mpsc::UnboundedSender<GatewayCommand>>,
    gateway_url: String,
    /// The gateway refuses every connection while set.
    gateway_away: bool,
    /// Connections refused so.
    refused: usize,
}

struct Shared {
    state: Mutex<FakeState>,
    changed: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn changed(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The fake Discord; it stops when dropped.
pub struct FakeDiscord {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl FakeDiscord {
    /// Starts REST and gateway on free loopback ports.
    pub async fn start() -> FakeDiscord {
        let rest = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord REST API");
        let gateway = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord gateway");
        let addr = rest.local_addr().expect("local address");
        let gateway_url = format!("ws://{}", gateway.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                next_id: 1_400_000_000_000_000_001,
                gateway_url,
                ..FakeState::default()
            }),
            changed: watch::Sender::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let rest_task = tokio::spawn(async move {
            let _ = axum::serve(rest, app).await;
        });
        let gw_shared = Arc::clone(&shared);
        let gateway_task = tokio::spawn(async move {
            while let Ok((stream, _)) = gateway.accept().await {
                let away = {
                    let mut s = gw_shared.lock();
                    s.refused += usize::from(s.gateway_away);
                    s.gateway_away
                };
                if away {
                    // Gone: the connection closes before the handshake.
                    drop(stream);
                    gw_shared.changed();
                    continue;
                }
                tokio::spawn(serve_gateway(stream, Arc::clone(&gw_shared)));
            }
        });
        FakeDiscord {
            addr,
            shared,
            tasks: vec![rest_task, gateway_task],
        }
    }

    /// The base URL to configure as `discord.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.lock()
    }

    /// The next REST call whose `METHOD /path` starts with `route`
    /// (e.g. `POST /channels/`) gets `fault`.
    pub fn inject(&self, route: &str, fault: Fault) {
        self.state().faults.push_back((route.to_owned(), fault));
    }

    /// Sends to `channel` hang (never answered) while `on`.
    pub fn hang_channel(&self, channel: u64, on: bool) {
        let mut s = self.state();
        if on {
            s.hang_channels.insert(channel);
        } else {
            s.hang_channels.remove(&channel);
        }
    }

    /// Every REST call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Messages accepted in `channel`, oldest first.
    pub fn posted_to(&self, channel: u64) -> Vec<Posted> {
        self.state()
            .posted
            .iter()
            .filter(|p| p.channel_id == channel)
            .cloned()
            .collect()
    }

    /// Answers to interaction `id`.
    pub fn answers_to(&self, id: u64) -> Vec<Answer> {
        self.state()
            .answers
            .iter()
            .filter(|a| a.interaction_id == id)
            .cloned()
            .collect()
    }

    /// The last bulk overwrite of commands: (guild, body).
    pub fn registered(&self) -> Option<(Option<u64>, Value)> {
        self.state().commands.last().cloned()
    }

    /// IDENTIFYs and RESUMEs received.
    pub fn sessions(&self) -> (usize, usize) {
        let s = self.state();
        (s.identifies, s.resumes)
    }

    /// Whether a gateway connection is open and identified or resumed.
    pub fn connected(&self) -> bool {
        self.state().connection.is_some()
    }

    /// Drops the gateway connection (as a network failure would: no close
    /// frame); the client should resume.
    pub fn drop_gateway(&self) {
        if let Some(conn) = self.state().connection.take() {
            let _ = conn.send(GatewayCommand::Drop);
        }
    }

    /// The gateway goes away: the open connection drops and every new one
    /// is closed at once, until [`FakeDiscord::gateway_comes_back`].
    pub fn gateway_goes_away(&self) {
        let mut s = self.state();
        s.gateway_away = true;
        if let Some(conn) = s.connection.take() {
            let _ = conn.send(GatewayCommand::Drop);
        }
    }

    /// Gateway connections refused while it was away.
    pub fn refused_connections(&self) -> usize {
        self.state().refused
    }

    /// The gateway accepts connections again.
    pub fn gateway_comes_back(&self) {
        self.state().gateway_away = false;
    }

    /// Edits of messages in `channel`, oldest first.
    pub fn edits_in(&self, channel: u64) -> Vec<Edited> {
        self.state()
            .edits
            .iter()
            .filter(|e| e.channel_id == channel)
            .cloned()
            .collect()
    }

    /// `user` (not the bot) writes `content` in `channel`; the message's id.
    pub fn post_as(&self, channel: u64, user: u64, content: &str) -> u64 {
        let mut s = self.state();
        let id = s.next_id;
        s.next_id += 1;
        s.posted.push(Posted {
            id,
            channel_id: channel,
            body: json!({"content": content}),
            at: Instant::now(),
            author: user,
        });
        id
    }

    /// A member of [`GUILD`] with `permissions` runs a slash command in
    /// `channel`; `options` as Discord sends them. Returns the interaction
    /// id.
    pub fn run_command(
        &self,
        channel: u64,
        user: u64,
        permissions: u64,
        name: &str,
        options: Value,
    ) -> u64 {
        self.interact(2, channel, user, permissions, name, options)
    }

    /// A member types into an autocompleted option (the one with
    /// `"focused": true` in `options`). Returns the interaction id.
    pub fn type_into(
        &self,
        channel: u64,
        user: u64,
        permissions: u64,
        name: &str,
        options: Value,
    ) -> u64 {
        self.interact(4, channel, user, permissions, name, options)
    }

    /// [`DM_USER`] runs a slash command in direct messages with the bot.
    pub fn run_dm_command(&self, name: &str, options: Value) -> u64 {
        self.interact(2, DM_CHANNEL, DM_USER, 0, name, options)
    }

    fn interact(
        &self,
        kind: u64,
        channel: u64,
        user: u64,
        permissions: u64,
        name: &str,
        options: Value,
    ) -> u64 {
        let mut s = self.state();
        let id = s.next_id;
        s.next_id += 1;
        let token = format!("interaction-token-{id}");
        s.interactions
            .push((id, token.clone(), false, Instant::now()));
        let guild = (channel != DM_CHANNEL).then_some(GUILD);
        let mut payload =
            interaction_json(id, &token, channel, guild, user, permissions, name, options);
        payload["type"] = json!(kind);
        dispatch(&mut s, "INTERACTION_CREATE", payload);
        drop(s);
        self.shared.changed();
        id
    }

    /// Waits for the autocomplete answer to interaction `id`; its choices.
    pub async fn wait_for_choices(&self, id: u64) -> Vec<Value> {
        self.wait_until(&format!("choices for interaction {id}"), |d| {
            d.answers_to(id).iter().any(|a| a.callback_type == 8)
        })
        .await;
        let answer = self
            .answers_to(id)
            .into_iter()
            .find(|a| a.callback_type == 8)
            .expect("an autocomplete answer");
        answer.body["data"]["choices"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `done` holds, or fails the test after [`WAIT_LIMIT`].
    pub async fn wait_until(&self, what: &str, done: impl Fn(&FakeDiscord) -> bool) {
        let mut changed = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            changed.mark_unchanged();
            if done(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                let calls: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {} {} {} -> {}",
                            c.method, c.path, c.status, c.body, c.answer
                        )
                    })
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", calls.join("\n"));
            }
        }
    }

    /// Waits until `channel` has at least `n` messages; returns them.
    pub async fn wait_for_posted(&self, channel: u64, n: usize) -> Vec<Posted> {
        self.wait_until(&format!("{n} messages in channel {channel}"), |d| {
            d.posted_to(channel).len() >= n
        })
        .await;
        self.posted_to(channel)
    }

    /// Waits for the final answer to interaction `id` (a message callback,
    /// or the edit of a deferred one); returns it.
    pub async fn wait_for_answer(&self, id: u64) -> Answer {
        self.wait_until(&format!("an answer to interaction {id}"), |d| {
            d.answers_to(id)
                .iter()
                .any(|a| a.kind == "edit" || a.callback_type == 4)
        })
        .await;
        self.answers_to(id)
            .into_iter()
            .find(|a| a.kind == "edit" || a.callback_type == 4)
            .expect("an answer")
    }
}

fn snowflake(id: u64) -> String {
    id.to_string()
}

fn user_json(id: u64, bot: bool) -> Value {
    json!({
        "id": snowflake(id), "username": format!("user{}", id % 10_000), "discriminator": "0",
        "global_name": null, "avatar": null, "bot": bot, "public_flags": 0
    })
}

#[allow(clippy::too_many_arguments)]
fn interaction_json(
    id: u64,
    token: &str,
    channel: u64,
    guild: Option<u64>,
    user: u64,
    permissions: u64,
    name: &str,
    options: Value,
) -> Value {
    let mut v = json!({
        "id": snowflake(id),
        "application_id": snowflake(APP_ID),
        "type": 2,
        "data": {
            "id": snowflake(APP_ID + 100),
            "name": name,
            "type": 1,
            "options": options,
        },
        "channel_id": snowflake(channel),
        "channel": {
            "id": snowflake(channel), "type": 0, "name": "newsroom", "guild_id": guild.map(snowflake),
            "permissions": (permissions | (1 << 11)).to_string(), "flags": 0
        },
        "token": token,
        "version": 1,
        "app_permissions": "2147798016",
        "locale": "en-GB",
        "entitlements": [],
        "authorizing_integration_owners": {"0": snowflake(guild.unwrap_or(GUILD))},
        "context": if guild.is_some() { 0 } else { 1 },
        "attachment_size_limit": 10_485_760,
    });
    match guild {
        Some(g) => {
            v["guild_id"] = json!(snowflake(g));
            v["guild_locale"] = json!("en-GB");
            v["data"]["guild_id"] = json!(snowflake(g));
            v["member"] = json!({
                "user": user_json(user, false),
                "nick": null, "avatar": null, "banner": null,
                "roles": [],
                "joined_at": "2026-01-01T00:00:00.000000+00:00",
                "premium_since": null,
                "deaf": false, "mute": false, "flags": 0, "pending": false,
                "permissions": permissions.to_string(),
                "communication_disabled_until": null,
            });
        }
        None => {
            v["user"] = user_json(user, false);
            v["channel"] = json!({"id": snowflake(channel), "type": 1, "flags": 0});
            v["authorizing_integration_owners"] = json!({"1": snowflake(user)});
        }
    }
    v
}

/// Queues (or writes) one dispatch with the next sequence number.
fn dispatch(s: &mut FakeState, t: &str, d: Value) {
    s.seq += 1;
    let frame = json!({"op": 0, "t": t, "s": s.seq, "d": d});
    match &s.connection {
        Some(conn) if conn.send(GatewayCommand::Dispatch(frame.clone())).is_ok() => {}
        _ => s.backlog.push(frame),
    }
}

fn guild_json() -> Value {
    let channel = |id: u64, name: &str, position: u64| {
        json!({
            "id": snowflake(id), "type": 0, "guild_id": snowflake(GUILD), "name": name,
            "position": position, "permission_overwrites": [], "nsfw": false, "topic": null,
            "last_message_id": null, "parent_id": null, "rate_limit_per_user": 0, "flags": 0
        })
    };
    let everyone = json!({
        "id": snowflake(GUILD), "name": "@everyone", "color": 0, "hoist": false,
        "icon": null, "unicode_emoji": null, "position": 0,
        "permissions": MEMBER_PERMISSIONS.to_string(), "managed": false,
        "mentionable": false, "flags": 0
    });
    let mut guild = json!({
        "id": snowflake(GUILD), "name": "Newsroom", "icon": null, "splash": null,
        "discovery_splash": null, "owner_id": snowflake(42), "afk_channel_id": null,
        "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0, "emojis": [], "features": [], "mfa_level": 0,
        "application_id": null, "system_channel_id": null, "system_channel_flags": 0,
        "rules_channel_id": null, "vanity_url_code": null, "description": null,
        "banner": null, "premium_tier": 0, "preferred_locale": "en-GB",
        "public_updates_channel_id": null
    });
    let more = json!({
        "nsfw_level": 0, "premium_progress_bar_enabled": false, "stickers": [],
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "large": false, "unavailable": false,
        "member_count": 3, "voice_states": [], "members": [], "presences": [],
        "threads": [], "stage_instances": [], "guild_scheduled_events": [],
        "soundboard_sounds": []
    });
    if let (Some(g), Some(m)) = (guild.as_object_mut(), more.as_object()) {
        g.extend(m.clone());
    }
    guild["roles"] = json!([everyone]);
    guild["channels"] = json!([
        channel(CHANNEL, "newsroom", 0),
        channel(OTHER_CHANNEL, "desk", 1)
    ]);
    guild
}

// ---------------------------------------------------------------- gateway

async fn serve_gateway(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41_250}, "s": null, "t": null});
    if sink.send(WsMessage::Text(hello.to_string())).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<GatewayCommand>();
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(GatewayCommand::Dispatch(frame)) => {
                    if sink.send(WsMessage::Text(frame.to_string())).await.is_err() {
                        return;
                    }
                }
                // A network failure: the socket goes away without a close frame.
                Some(GatewayCommand::Drop) | None => return,
            },
            frame = source.next() => {
                let text = match frame {
                    Some(Ok(WsMessage::Text(t))) => t,
                    Some(Ok(WsMessage::Binary(_))) => {
                        let _ = sink.send(WsMessage::Close(Some(CloseFrame { code: CloseCode::Library(4002), reason: "decode error".into() }))).await;
                        return;
                    }
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => {
                        let mut s = shared.lock();
                        if s.connection.as_ref().is_some_and(|c| c.same_channel(&tx)) {
                            s.connection = None;
                        }
                        return;
                    }
                    Some(Ok(_)) => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else {
                    let _ = sink.send(WsMessage::Close(Some(CloseFrame { code: CloseCode::Library(4002), reason: "decode error".into() }))).await;
                    return;
                };
                let replies = on_gateway_frame(&shared, &payload, &tx);
                shared.changed();
                match replies {
                    Ok(frames) => {
                        for f in frames {
                            if sink.send(WsMessage::Text(f.to_string())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err((code, reason)) => {
                        let _ = sink.send(WsMessage::Close(Some(CloseFrame { code: CloseCode::Library(code), reason: reason.into() }))).await;
                        return;
                    }
                }
            }
        }
    }
}

/// What the gateway answers to one client frame, or the close code.
fn on_gateway_frame(
    shared: &Shared,
    payload: &Value,
    tx: &mpsc::UnboundedSender<GatewayCommand>,
) -> Result<Vec<Value>, (u16, &'static str)> {
    let mut s = shared.lock();
    match payload["op"].as_u64() {
        Some(1) => {
            s.heartbeats += 1;
            Ok(vec![json!({"op": 11, "d": null, "s": null, "t": null})])
        }
        Some(2) => {
            let d = &payload["d"];
            let token = d["token"].as_str().unwrap_or("");
            if token.trim_start_matches("Bot ") != TOKEN {
                return Err((4004, "Authentication failed."));
            }
            if d["intents"].as_u64().is_none() || d["properties"].as_object().is_none() {
                return Err((4002, "Decode error."));
            }
            s.identifies += 1;
            let session = format!("session-{}", s.identifies);
            s.session = Some(session.clone());
            s.seq = 0;
            // A new session starts clean: what was queued is not replayed.
            s.backlog.clear();
            s.connection = Some(tx.clone());
            let gateway_url = s.gateway_url.clone();
            s.seq += 1;
            let ready = json!({"op": 0, "t": "READY", "s": s.seq, "d": {
                "v": 10,
                "user": {"id": snowflake(APP_ID), "username": "wirewatch", "discriminator": "0", "global_name": null, "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0},
                "guilds": [{"id": snowflake(GUILD), "unavailable": true}],
                "session_id": session,
                "resume_gateway_url": gateway_url,
                "shard": [0, 1],
                "application": {"id": snowflake(APP_ID), "flags": 0},
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "guild_join_requests": [],
                "user_settings": {},
                "geo_ordered_rtc_regions": [],
                "_trace": ["fake-gateway"],
            }});
            s.seq += 1;
            let guild = json!({"op": 0, "t": "GUILD_CREATE", "s": s.seq, "d": guild_json()});
            Ok(vec![ready, guild])
        }
        Some(6) => {
            let d = &payload["d"];
            let known = s.session.as_deref() == d["session_id"].as_str() && s.session.is_some();
            if !known || d["token"].as_str().unwrap_or("").trim_start_matches("Bot ") != TOKEN {
                return Ok(vec![json!({"op": 9, "d": false, "s": null, "t": null})]);
            }
            s.resumes += 1;
            s.connection = Some(tx.clone());
            let from = d["seq"].as_u64().unwrap_or(0);
            let mut frames: Vec<Value> = std::mem::take(&mut s.backlog)
                .into_iter()
                .filter(|f| f["s"].as_u64().unwrap_or(0) > from)
                .collect();
            s.seq += 1;
            frames.push(
                json!({"op": 0, "t": "RESUMED", "s": s.seq, "d": {"_trace": ["fake-gateway"]}}),
            );
            Ok(frames)
        }
        Some(3 | 4 | 8) => Ok(vec![]),
        _ => Err((4001, "Unknown opcode.")),
    }
}

// ---------------------------------------------------------------- REST

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_PATH);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("the Discord OpenAPI spec is JSON")
    })
}

/// The request-body schema of `method path` in the spec, if it has one.
fn body_schema(method: &str, path: &str) -> Option<&'static Value> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    for (template, item) in paths {
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        if t.len() != segments.len() {
            continue;
        }
        let fits = t
            .iter()
            .zip(&segments)
            .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')));
        if fits {
            let op = &item[method.to_ascii_lowercase()];
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                return Some(schema);
            }
        }
    }
    None
}

fn resolve(schema: &Value) -> &Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let mut at = spec();
            for part in r.trim_start_matches("#/").split('/') {
                at = &at[part];
            }
            resolve(at)
        }
        None => schema,
    }
}

fn type_fits(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        // Discord's form parser takes integers written as strings (serenity
        // writes permission bit sets that way, as Discord's docs show them).
        "integer" => {
            v.is_i64()
                || v.is_u64()
                || v.as_str()
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        }
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

/// Checks `v` against `schema`; the first problem found.
fn validate(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(schema);
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            validate(s, v, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let errors: Vec<String> = options
                .iter()
                .filter_map(|s| validate(s, v, at).err())
                .collect();
            if errors.len() == options.len() {
                return Err(format!(
                    "{at}: fits none of the allowed shapes ({})",
                    errors.join("; ")
                ));
            }
        }
    }
    match &schema["type"] {
        Value::String(t) if !type_fits(t, v) => return Err(format!("{at}: must be {t}")),
        Value::Array(ts) if !ts.iter().any(|t| type_fits(t.as_str().unwrap_or(""), v)) => {
            return Err(format!("{at}: must be one of {ts:?}"));
        }
        _ => {}
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {values:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        return Err(format!("{at}: must be {c}"));
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count() as u64;
        if schema["maxLength"].as_u64().is_some_and(|m| n > m) {
            return Err(format!("{at}: longer than {}", schema["maxLength"]));
        }
        if schema["minLength"].as_u64().is_some_and(|m| n < m) {
            return Err(format!("{at}: shorter than {}", schema["minLength"]));
        }
        if schema["format"] == "snowflake"
            && (s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("{at}: {s:?} is not a snowflake"));
        }
    }
    if let Some(n) = v.as_f64() {
        if schema["maximum"].as_f64().is_some_and(|m| n > m) {
            return Err(format!("{at}: above {}", schema["maximum"]));
        }
        if schema["minimum"].as_f64().is_some_and(|m| n < m) {
            return Err(format!("{at}: below {}", schema["minimum"]));
        }
    }
    if let Some(items) = v.as_array() {
        if schema["maxItems"]
            .as_u64()
            .is_some_and(|m| items.len() as u64 > m)
        {
            return Err(format!("{at}: more than {} items", schema["maxItems"]));
        }
        if schema["minItems"]
            .as_u64()
            .is_some_and(|m| (items.len() as u64) < m)
        {
            return Err(format!("{at}: fewer than {} items", schema["minItems"]));
        }
        if !schema["items"].is_null() {
            for (i, item) in items.iter().enumerate() {
                validate(&schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Some(object) = v.as_object() {
        let properties = schema["properties"].as_object();
        if let Some(required) = schema["required"].as_array() {
            for r in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(r) {
                    return Err(format!("{at}.{r}: required"));
                }
            }
        }
        if let Some(properties) = properties {
            for (k, item) in object {
                match properties.get(k) {
                    Some(p) => validate(p, item, &format!("{at}.{k}"))?,
                    None if schema["additionalProperties"] == json!(false) => {
                        return Err(format!("{at}.{k}: unknown field"));
                    }
                    // Discord ignores unknown fields; this fake refuses them
                    // unless they hold only a default (serenity always
                    // writes `nsfw: false`, empty localizations, …), to
                    // catch meaningful data Discord would silently drop.
                    None if is_default(item) => {}
                    None => return Err(format!("{at}.{k}: not in the spec")),
                }
            }
        }
    }
    Ok(())
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Discord's limits on a message body beyond the spec.
fn check_message_limits(body: &Value, edit: bool) -> Result<(), String> {
    if chars(&body["content"]) > 2000 {
        return Err("content: must be 2000 or fewer in length".into());
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err("embeds: more than 10".into());
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let at = format!("embeds.{i}");
        let limits = [("title", 256), ("description", 4096)];
        for (key, max) in limits {
            if chars(&e[key]) > max {
                return Err(format!("{at}.{key}: must be {max} or fewer in length"));
            }
            total += chars(&e[key]);
        }
        if chars(&e["footer"]["text"]) > 2048 {
            return Err(format!("{at}.footer.text: must be 2048 or fewer in length"));
        }
        total += chars(&e["footer"]["text"]) + chars(&e["author"]["name"]);
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err(format!("{at}.fields: must be 25 or fewer in length"));
        }
        for (j, f) in fields.iter().enumerate() {
            let (n, val) = (chars(&f["name"]), chars(&f["value"]));
            if n == 0 || n > 256 || val == 0 || val > 1024 {
                return Err(format!(
                    "{at}.fields.{j}: name 1-256, value 1-1024 characters"
                ));
            }
            total += n + val;
        }
        if e["footer"].is_object() && chars(&e["footer"]["text"]) == 0 {
            return Err(format!("{at}.footer.text: required"));
        }
        if let Some(url) = e["url"].as_str()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!("{at}.url: not a well formed URL"));
        }
    }
    if total > 6000 {
        return Err("embeds: more than 6000 characters in all".into());
    }
    let has_content = body["content"]
        .as_str()
        .is_some_and(|c| !c.trim().is_empty());
    if !edit && !has_content && embeds.is_empty() {
        return Err("Cannot send an empty message".into());
    }
    Ok(())
}

fn reply(status: u16, body: Option<Value>, headers: &[(&str, String)]) -> Response {
    let mut b = Response::builder().status(StatusCode::from_u16(status).expect("valid status"));
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    match body {
        Some(body) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("valid response")
}

fn error_body(code: u64, message: &str) -> Value {
    json!({"code": code, "message": message})
}

fn invalid_form(problem: &str) -> (u16, Option<Value>) {
    (
        400,
        Some(
            json!({"code": 50035, "message": "Invalid Form Body", "errors": {"_errors": [{"code": "BASE_TYPE_INVALID", "message": problem}]}}),
        ),
    )
}

fn message_json(id: u64, channel: u64, body: &Value) -> Value {
    message_json_by(id, channel, APP_ID, body, false)
}

fn message_json_by(id: u64, channel: u64, author: u64, body: &Value, edited: bool) -> Value {
    let embeds: Vec<Value> = body["embeds"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut e| {
            e["type"] = json!("rich");
            e
        })
        .collect();
    json!({
        "id": snowflake(id), "channel_id": snowflake(channel),
        "author": user_json(author, author == APP_ID),
        "content": body["content"].as_str().unwrap_or(""),
        "timestamp": "2026-11-27T12:00:00.000000+00:00",
        "edited_timestamp": if edited { json!("2026-11-27T12:05:00.000000+00:00") } else { Value::Null },
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": embeds, "pinned": false, "type": 0, "flags": 0,
        "components": [],
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().strip_prefix("/api/v10").unwrap_or("").to_owned();
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => Value::String("<not JSON>".into()),
        }
    };
    let received = Instant::now();
    let record = |status: u16, answer: &Option<Value>| {
        shared.lock().calls.push(Call {
            at: received,
            method: method.to_string(),
            path: path.clone(),
            body: json_body.clone(),
            status,
            answer: answer.clone().unwrap_or(Value::Null),
        });
        shared.changed();
    };
    if uri.path() == path || path.is_empty() {
        let answer = Some(error_body(0, "404: Not Found"));
        record(404, &answer);
        return reply(404, answer, &[]);
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_webhook = path.starts_with("/interactions/") || path.starts_with("/webhooks/");
    if !is_webhook && auth != format!("Bot {TOKEN}") {
        let answer = Some(error_body(0, "401: Unauthorized"));
        record(401, &answer);
        return reply(401, answer, &[]);
    }
    if json_body == Value::String("<not JSON>".into()) {
        let answer = Some(error_body(50109, "The request body contains invalid JSON."));
        record(400, &answer);
        return reply(400, answer, &[]);
    }
    // The body must fit the spec before anything else happens.
    if !json_body.is_null()
        && let Some(schema) = body_schema(method.as_str(), &path)
        && let Err(problem) = validate(schema, &json_body, "body")
    {
        let (status, answer) = invalid_form(&problem);
        record(status, &answer);
        return reply(status, answer, &[]);
    }
    let route = format!("{method} {path}");
    let fault = {
        let mut s = shared.lock();
        let hung = path
            .strip_prefix("/channels/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|c| c.parse::<u64>().ok())
            .is_some_and(|c| s.hang_channels.contains(&c));
        if hung && method == Method::POST {
            Some(Fault::Hang)
        } else {
            let pos = s
                .faults
                .iter()
                .position(|(r, _)| route.starts_with(r.as_str()));
            pos.and_then(|p| s.faults.remove(p)).map(|(_, f)| f)
        }
    };
    let (status, answer, extra): (u16, Option<Value>, Vec<(&str, String)>) = match fault {
        Some(Fault::Hang) => {
            record(0, &None);
            std::future::pending::<()>().await;
            unreachable!("pending never resolves")
        }
        Some(Fault::RateLimited {
            retry_after,
            global,
        }) => {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
                + retry_after;
            let mut h = vec![
                ("retry-after", format!("{}", retry_after.ceil() as u64)),
                ("x-ratelimit-limit", "5".to_owned()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", format!("{reset:.3}")),
                ("x-ratelimit-reset-after", format!("{retry_after:.3}")),
                ("x-ratelimit-bucket", "fake-bucket".to_owned()),
                (
                    "x-ratelimit-scope",
                    if global { "global" } else { "user" }.to_owned(),
                ),
            ];
            if global {
                h.push(("x-ratelimit-global", "true".to_owned()));
            }
            (
                429,
                Some(
                    json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global}),
                ),
                h,
            )
        }
        Some(Fault::MissingAccess) => (403, Some(error_body(50001, "Missing Access")), vec![]),
        Some(Fault::UnknownChannel) => (404, Some(error_body(10003, "Unknown Channel")), vec![]),
        Some(Fault::ServerError) => (
            500,
            Some(error_body(0, "500: Internal Server Error")),
            vec![],
        ),
        None => {
            let (status, answer) = route_call(&shared, &method, &path, &json_body);
            (status, answer, vec![])
        }
    };
    record(status, &answer);
    reply(status, answer, &extra)
}

fn route_call(shared: &Shared, method: &Method, path: &str, body: &Value) -> (u16, Option<Value>) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut s = shared.lock();
    let not_found = (404, Some(error_body(0, "404: Not Found")));
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => (200, Some(json!({"url": s.gateway_url}))),
        ("GET", ["gateway", "bot"]) => (
            200,
            Some(
                json!({"url": s.gateway_url, "shards": 1, "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
            ),
        ),
        ("PUT", ["applications", app, "commands"])
        | ("PUT", ["applications", app, "guilds", _, "commands"]) => {
            if *app != APP_ID.to_string() {
                return (404, Some(error_body(10002, "Unknown Application")));
            }
            let guild = segments
                .get(3)
                .and_then(|g| g.parse().ok())
                .filter(|_| segments.len() == 5);
            let Some(list) = body.as_array() else {
                return invalid_form("a list of commands");
            };
            if list.len() > 100 {
                return invalid_form("at most 100 commands");
            }
            let mut answer = Vec::new();
            for (i, c) in list.iter().enumerate() {
                if let Err(p) = check_command(c) {
                    return invalid_form(&format!("{i}: {p}"));
                }
                let mut c = c.clone();
                c["id"] = json!(snowflake(APP_ID + 100 + i as u64));
                c["application_id"] = json!(snowflake(APP_ID));
                c["version"] = json!(snowflake(APP_ID + 200));
                if c.get("type").is_none() {
                    c["type"] = json!(1);
                }
                if let Some(g) = guild {
                    c["guild_id"] = json!(snowflake(g));
                }
                answer.push(c);
            }
            s.commands.push((guild, body.clone()));
            (200, Some(Value::Array(answer)))
        }
        ("POST", ["channels", channel, "messages"]) => {
            let Ok(channel) = channel.parse::<u64>() else {
                return not_found;
            };
            if ![CHANNEL, OTHER_CHANNEL, DM_CHANNEL].contains(&channel) {
                return (404, Some(error_body(10003, "Unknown Channel")));
            }
            if let Err(p) = check_message_limits(body, false) {
                return invalid_form(&p);
            }
            let id = s.next_id;
            s.next_id += 1;
            s.posted.push(Posted {
                id,
                channel_id: channel,
                body: body.clone(),
                at: Instant::now(),
                author: APP_ID,
            });
            (200, Some(message_json(id, channel, body)))
        }
        ("PATCH", ["channels", channel, "messages", message]) => {
            let (Ok(channel), Ok(message)) = (channel.parse::<u64>(), message.parse::<u64>())
            else {
                return not_found;
            };
            if ![CHANNEL, OTHER_CHANNEL, DM_CHANNEL].contains(&channel) {
                return (404, Some(error_body(10003, "Unknown Channel")));
            }
            if let Err(p) = check_message_limits(body, true) {
                return invalid_form(&p);
            }
            let Some(posted) = s
                .posted
                .iter()
                .find(|p| p.id == message && p.channel_id == channel)
                .cloned()
            else {
                return (404, Some(error_body(10008, "Unknown Message")));
            };
            if posted.author != APP_ID {
                return (
                    403,
                    Some(error_body(
                        50005,
                        "Cannot edit a message authored by another user",
                    )),
                );
            }
            // Only the fields the edit names change; null clears one.
            let mut merged = posted.body.clone();
            if let (Some(m), Some(patch)) = (merged.as_object_mut(), body.as_object()) {
                for (k, v) in patch {
                    m.insert(k.clone(), v.clone());
                }
            }
            let has_content = merged["content"]
                .as_str()
                .is_some_and(|c| !c.trim().is_empty());
            if !has_content && merged["embeds"].as_array().is_none_or(Vec::is_empty) {
                return (400, Some(error_body(50006, "Cannot send an empty message")));
            }
            if let Err(p) = check_message_limits(&merged, false) {
                return invalid_form(&p);
            }
            if let Some(p) = s.posted.iter_mut().find(|p| p.id == message) {
                p.body = merged.clone();
            }
            s.edits.push(Edited {
                id: message,
                channel_id: channel,
                patch: body.clone(),
                body: merged.clone(),
                at: Instant::now(),
            });
            (
                200,
                Some(message_json_by(message, channel, APP_ID, &merged, true)),
            )
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return not_found;
            };
            let Some(entry) = s
                .interactions
                .iter_mut()
                .find(|(i, t, _, _)| *i == id && t == token)
            else {
                return (404, Some(error_body(10062, "Unknown interaction")));
            };
            // Discord refuses a first answer after 3 seconds.
            if entry.3.elapsed() > INTERACTION_DEADLINE {
                return (404, Some(error_body(10062, "Unknown interaction")));
            }
            if entry.2 {
                return (
                    400,
                    Some(error_body(
                        40060,
                        "Interaction has already been acknowledged.",
                    )),
                );
            }
            entry.2 = true;
            let data = &body["data"];
            if let Err(p) = check_message_limits(data, true) {
                return invalid_form(&p);
            }
            let callback_type = body["type"].as_u64().unwrap_or(0);
            if callback_type == 4
                && chars(&data["content"]) == 0
                && data["embeds"].as_array().is_none_or(Vec::is_empty)
            {
                return invalid_form("Cannot send an empty message");
            }
            s.answers.push(Answer {
                interaction_id: id,
                kind: "callback",
                callback_type,
                content: data["content"].as_str().unwrap_or("").to_owned(),
                ephemeral: data["flags"].as_u64().is_some_and(|f| f & 64 != 0),
                body: body.clone(),
            });
            (204, None)
        }
        ("DELETE", ["webhooks", app, token, "messages", "@original"]) => {
            let Some((id, _, true, _)) = s
                .interactions
                .iter()
                .find(|(_, t, _, _)| t == token)
                .cloned()
            else {
                return (404, Some(error_body(10015, "Unknown Webhook")));
            };
            if *app != APP_ID.to_string() {
                return (404, Some(error_body(10015, "Unknown Webhook")));
            }
            s.answers.push(Answer {
                interaction_id: id,
                kind: "delete",
                callback_type: 0,
                content: String::new(),
                ephemeral: false,
                body: Value::Null,
            });
            (204, None)
        }
        ("PATCH", ["webhooks", app, token, "messages", "@original"])
        | ("POST", ["webhooks", app, token]) => {
            if *app != APP_ID.to_string() {
                return (404, Some(error_body(10015, "Unknown Webhook")));
            }
            let Some((id, _, acknowledged, _)) = s
                .interactions
                .iter()
                .find(|(_, t, _, _)| t == token)
                .cloned()
            else {
                return (404, Some(error_body(10015, "Unknown Webhook")));
            };
            if !acknowledged {
                return (404, Some(error_body(10015, "Unknown Webhook")));
            }
            if let Err(p) = check_message_limits(body, method == Method::PATCH) {
                return invalid_form(&p);
            }
            let kind = if method == Method::PATCH {
                "edit"
            } else {
                "followup"
            };
            let original_ephemeral = s
                .answers
                .iter()
                .find(|a| a.interaction_id == id && a.kind == "callback")
                .is_some_and(|a| a.ephemeral);
            s.answers.push(Answer {
                interaction_id: id,
                kind,
                callback_type: 0,
                content: body["content"].as_str().unwrap_or("").to_owned(),
                ephemeral: if kind == "edit" {
                    original_ephemeral
                } else {
                    body["flags"].as_u64().is_some_and(|f| f & 64 != 0)
                },
                body: body.clone(),
            });
            let mid = s.next_id;
            s.next_id += 1;
            (200, Some(message_json(mid, CHANNEL, body)))
        }
        _ => not_found,
    }
}

/// Discord's rules for an application command beyond the spec.
fn check_command(c: &Value) -> Result<(), String> {
    fn name_ok(n: &str) -> bool {
        !n.is_empty()
            && n.chars().count() <= 32
            && n.chars()
                .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    }
    fn check_options(options: &[Value], at: &str) -> Result<(), String> {
        if options.len() > 25 {
            return Err(format!("{at}: more than 25 options"));
        }
        let mut seen_optional = false;
        for o in options {
            let name = o["name"].as_str().unwrap_or("");
            if !name_ok(name) {
                return Err(format!("{at}: bad option name {name:?}"));
            }
            let d = chars(&o["description"]);
            if d == 0 || d > 100 {
                return Err(format!("{at}.{name}: description must be 1-100 characters"));
            }
            let required = o["required"].as_bool().unwrap_or(false);
            if required && seen_optional {
                return Err(format!("{at}.{name}: required options must come first"));
            }
            seen_optional |= !required;
            if let Some(sub) = o["options"].as_array() {
                check_options(sub, &format!("{at}.{name}"))?;
            }
        }
        Ok(())
    }
    let name = c["name"].as_str().unwrap_or("");
    if !name_ok(name) {
        return Err(format!("bad command name {name:?}"));
    }
    let d = chars(&c["description"]);
    if d == 0 || d > 100 {
        return Err(format!("{name}: description must be 1-100 characters"));
    }
    check_options(c["options"].as_array().map_or(&[][..], Vec::as_slice), name)
}
