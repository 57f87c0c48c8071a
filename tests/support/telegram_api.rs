//! A strict fake of the Telegram Bot API on 127.0.0.1, built from the
//! machine-readable spec in `../shared/data/api/telegram_bot_api_spec.json`.
//!
//! It answers in the real envelope (`{"ok":true,"result":…}` /
//! `{"ok":false,"error_code":…,"description":…,"parameters":{…}}`) and
//! refuses what Telegram refuses: unknown methods (404) and — stricter
//! than Telegram, to catch mistakes — unknown parameters; missing required
//! parameters and values of the wrong type (checked recursively against
//! the spec's types); HTML that Telegram's parser rejects (unsupported or
//! unbalanced tags, `<` or `&` not starting a tag or a known entity); text
//! empty or over 4096 UTF-16 code units after entity parsing. Its own
//! answers are checked against the spec too, so they are complete.
//!
//! `editMessageText` edits only a message the bot sent in that chat
//! ("message to edit not found", "message can't be edited"), checks the new
//! text as `sendMessage` does, answers "message is not modified" when it
//! is what the message says already, and records accepted edits
//! ([`FakeTelegram::edits_to`]).
//!
//! Chats are declared by the test (private chats, groups with members and
//! their statuses); messages from users become updates for `getUpdates`,
//! which long-polls (held until an update arrives or the timeout passes;
//! a second concurrent poll ends the first with 409 as Telegram does).
//! Faults are injected per method: 429 with `retry_after`, 403 blocked,
//! 400 with `migrate_to_chat_id`, 500, a dropped connection, a hang.
//!
//! ```ignore
//! let tg = FakeTelegram::start().await;
//! tg.add_private_chat(USER);
//! tg.user_sends(USER, USER, "/watch country Russia");
//! let replies = tg.wait_for_sent(USER, 1).await;
//! tg.inject("sendMessage", Fault::RetryAfter(1));
//! ```

// Each test uses a different part of this API.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The fake bot's token.
pub const TOKEN: &str = "123456789:AAtest-TOKEN_fake";
/// The fake bot's user id.
pub const BOT_ID: i64 = 123_456_789;
/// The fake bot's username.
pub const BOT_USERNAME: &str = "wirewatch_test_bot";
/// Most UTF-16 code units of a message's text after entity parsing.
pub const MAX_TEXT_UNITS: usize = 4096;
/// How long the wait helpers wait before failing the test.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);

const SPEC_PATH: &str = "../shared/data/api/telegram_bot_api_spec.json";

/// A fault the next call of a method gets instead of its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 "Too Many Requests" with `parameters.retry_after`.
    RetryAfter(u32),
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
    /// 400 "group chat was upgraded to a supergroup chat" with
    /// `parameters.migrate_to_chat_id`.
    Migrated(i64),
    /// 500 "Internal Server Error".
    ServerError,
    /// The connection is closed without a complete answer.
    Drop,
    /// No answer at all, ever.
    Hang,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method as the spec spells it (`sendMessage`).
    pub method: String,
    /// The JSON parameters.
    pub params: Value,
    /// The HTTP status answered (0: dropped or hung).
    pub status: u16,
}

/// A message the fake accepted (`sendMessage`), or a new text it accepted
/// for one (`editMessageText`).
#[derive(Debug, Clone)]
pub struct Sent {
    /// The chat.
    pub chat_id: i64,
    /// The message's id in the chat (for an edit: the message edited).
    pub message_id: i64,
    /// The text as sent (HTML).
    pub html: String,
    /// The text after entity parsing, as a user sees it.
    pub text: String,
    /// `(type, url)` of each entity.
    pub entities: Vec<(String, Option<String>)>,
    /// The `link_preview_options` sent, if any.
    pub link_preview: Option<Value>,
    /// When the fake accepted it.
    pub at: std::time::Instant,
}

impl Sent {
    /// Whether link previews were turned off.
    pub fn preview_disabled(&self) -> bool {
        self.link_preview
            .as_ref()
            .and_then(|p| p.get("is_disabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

#[derive(Debug, Clone)]
struct FakeChat {
    kind: &'static str,
    title: Option<String>,
    /// user id → status (`creator`, `administrator`, `member`, …).
    members: HashMap<i64, String>,
    blocked: bool,
    migrated_to: Option<i64>,
}

/// A message in a chat, as it reads now: what `editMessageText` checks.
#[derive(Debug, Clone)]
struct Posted {
    /// Its author (the bot: [`BOT_ID`]).
    from: i64,
    /// The text after entity parsing.
    text: String,
    /// Its entities, as answered.
    entities: Vec<Value>,
}

#[derive(Default)]
struct FakeState {
    chats: HashMap<i64, FakeChat>,
    /// Updates not yet confirmed, oldest first.
    updates: VecDeque<Value>,
    next_update_id: i64,
    poll_generation: u64,
    faults: VecDeque<(String, Fault)>,
    hang_sends: bool,
    hang_chats: HashSet<i64>,
    calls: Vec<Call>,
    sent: Vec<Sent>,
    /// Accepted edits, in order.
    edits: Vec<Sent>,
    /// Every message in every chat, by `(chat, message_id)`.
    posted: HashMap<(i64, i64), Posted>,
    commands: Option<Vec<(String, String)>>,
    poll_offsets: Vec<Option<i64>>,
    next_message_id: i64,
}

struct Shared {
    state: Mutex<FakeState>,
    changed: watch::Sender<u64>,
}

/// The fake Bot API; it stops when dropped.
pub struct FakeTelegram {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram API on loopback");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                next_update_id: 500_000_001,
                next_message_id: 1,
                ..FakeState::default()
            }),
            changed: watch::Sender::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { addr, shared, task }
    }

    /// The base URL to configure as `telegram.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.shared.changed.send_modify(|n| *n += 1);
    }

    /// A private chat with user `user` (its chat id is the user id).
    pub fn add_private_chat(&self, user: i64) {
        self.state().chats.insert(
            user,
            FakeChat {
                kind: "private",
                title: None,
                members: HashMap::from([(user, "member".to_owned())]),
                blocked: false,
                migrated_to: None,
            },
        );
    }

    /// A group (`kind` `group` or `supergroup`) with members and their
    /// statuses (`creator`, `administrator`, `member`).
    pub fn add_group(&self, chat: i64, kind: &'static str, members: &[(i64, &str)]) {
        self.state().chats.insert(
            chat,
            FakeChat {
                kind,
                title: Some(format!("Group {chat}")),
                members: members.iter().map(|(u, s)| (*u, (*s).to_owned())).collect(),
                blocked: false,
                migrated_to: None,
            },
        );
    }

    /// The user of a private chat blocks the bot: sends get 403.
    pub fn block(&self, chat: i64) {
        if let Some(c) = self.state().chats.get_mut(&chat) {
            c.blocked = true;
        }
    }

    /// The group becomes a supergroup with id `to` and the same members.
    /// With `announce`, the service messages Telegram sends about it are
    /// queued as updates (in the old group, then the new one).
    pub fn upgrade_group(&self, from: i64, to: i64, announce: bool) {
        let mut state = self.state();
        let Some(old) = state.chats.get_mut(&from) else {
            panic!("no group {from}");
        };
        old.migrated_to = Some(to);
        let mut new = old.clone();
        new.kind = "supergroup";
        new.migrated_to = None;
        state.chats.insert(to, new);
        if announce {
            let admin = state.chats[&to]
                .members
                .iter()
                .find(|(_, s)| *s == "creator")
                .map_or(1, |(u, _)| *u);
            let m1 = message_json(&state, from, admin, None, json!({"migrate_to_chat_id": to}));
            let m2 = message_json(
                &state,
                to,
                admin,
                None,
                json!({"migrate_from_chat_id": from}),
            );
            push_update(&mut state, json!({ "message": m1 }));
            push_update(&mut state, json!({ "message": m2 }));
        }
        drop(state);
        self.changed();
    }

    /// User `user` writes `text` in chat `chat`: an update for the bot.
    /// Returns the message's id.
    pub fn user_sends(&self, chat: i64, user: i64, text: &str) -> i64 {
        let mut state = self.state();
        let mut extra = json!({ "text": text });
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map_or(0, |c| c.encode_utf16().count());
            extra["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": len }]);
        }
        let m = message_json(&state, chat, user, None, extra);
        let id = m["message_id"].as_i64().expect("message id");
        state.posted.insert(
            (chat, id),
            Posted {
                from: user,
                text: text.to_owned(),
                entities: Vec::new(),
            },
        );
        push_update(&mut state, json!({ "message": m }));
        drop(state);
        self.changed();
        id
    }

    /// The next call of `method` gets `fault`; several queue in order.
    pub fn inject(&self, method: &str, fault: Fault) {
        self.state().faults.push_back((method.to_owned(), fault));
    }

    /// While on, every `sendMessage` hangs without an answer (and is not
    /// accepted): a process killed meanwhile has not delivered it.
    pub fn hang_sends(&self, on: bool) {
        self.state().hang_sends = on;
    }

    /// While on, every `sendMessage` to `chat` hangs (and is not accepted).
    pub fn hang_chat(&self, chat: i64, on: bool) {
        let mut state = self.state();
        if on {
            state.hang_chats.insert(chat);
        } else {
            state.hang_chats.remove(&chat);
        }
    }

    /// Every request so far of `method` (spec spelling).
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Messages accepted for `chat`, in order.
    pub fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.state()
            .sent
            .iter()
            .filter(|s| s.chat_id == chat)
            .cloned()
            .collect()
    }

    /// Edits accepted for messages in `chat`, in order.
    pub fn edits_to(&self, chat: i64) -> Vec<Sent> {
        self.state()
            .edits
            .iter()
            .filter(|s| s.chat_id == chat)
            .cloned()
            .collect()
    }

    /// Waits until `chat` has at least `n` accepted edits; returns them.
    pub async fn wait_for_edits(&self, chat: i64, n: usize) -> Vec<Sent> {
        self.wait_until(&format!("{n} edits in chat {chat}"), |t| {
            t.edits_to(chat).len() >= n
        })
        .await;
        self.edits_to(chat)
    }

    /// Every accepted message.
    pub fn sent(&self) -> Vec<Sent> {
        self.state().sent.clone()
    }

    /// The command list of the last `setMyCommands`.
    pub fn commands(&self) -> Option<Vec<(String, String)>> {
        self.state().commands.clone()
    }

    /// The `offset` of every `getUpdates` call, in order.
    pub fn poll_offsets(&self) -> Vec<Option<i64>> {
        self.state().poll_offsets.clone()
    }

    /// Updates queued and not yet confirmed by a later offset.
    pub fn pending_updates(&self) -> usize {
        self.state().updates.len()
    }

    /// Waits until `done` holds for the fake's state, or fails the test
    /// after [`WAIT_LIMIT`] with `what`.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&FakeTelegram) -> bool) {
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
                    .state()
                    .calls
                    .iter()
                    .map(|c| format!("{} {} {}", c.method, c.status, c.params))
                    .collect();
                panic!("timed out waiting for {what}; calls:\n{}", calls.join("\n"));
            }
        }
    }

    /// Waits until `chat` has at least `n` accepted messages; returns them.
    pub async fn wait_for_sent(&self, chat: i64, n: usize) -> Vec<Sent> {
        self.wait_until(&format!("{n} messages to chat {chat}"), |t| {
            t.sent_to(chat).len() >= n
        })
        .await;
        self.sent_to(chat)
    }

    /// Waits until a `getUpdates` call has confirmed every queued update
    /// (the bot handled them all and asked for more).
    pub async fn wait_for_updates_confirmed(&self) {
        self.wait_until("every update to be confirmed", |t| t.pending_updates() == 0)
            .await;
    }
}

fn push_update(state: &mut FakeState, mut body: Value) {
    body["update_id"] = json!(state.next_update_id);
    state.next_update_id += 1;
    state.updates.push_back(body);
}

fn user_json(id: i64) -> Value {
    if id == BOT_ID {
        return json!({"id": BOT_ID, "is_bot": true, "first_name": "wirewatch test", "username": BOT_USERNAME});
    }
    json!({"id": id, "is_bot": false, "first_name": format!("User {id}"), "username": format!("user{id}")})
}

fn chat_json(id: i64, chat: &FakeChat) -> Value {
    match chat.kind {
        "private" => json!({"id": id, "type": "private", "first_name": format!("User {id}")}),
        kind => json!({"id": id, "type": kind, "title": chat.title.clone().unwrap_or_default()}),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn message_json(state: &FakeState, chat: i64, from: i64, id: Option<i64>, extra: Value) -> Value {
    let c = state
        .chats
        .get(&chat)
        .unwrap_or_else(|| panic!("the test must declare chat {chat} first"));
    let mut m = json!({
        "message_id": id.unwrap_or(state.next_update_id),
        "from": user_json(from),
        "chat": chat_json(chat, c),
        "date": now_secs(),
    });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    m
}

fn member_json(user: i64, status: &str) -> Value {
    match status {
        "creator" => json!({"status": "creator", "user": user_json(user), "is_anonymous": false}),
        "administrator" => json!({
            "status": "administrator", "user": user_json(user), "can_be_edited": false,
            "is_anonymous": false, "can_manage_chat": true, "can_delete_messages": true,
            "can_manage_video_chats": true, "can_restrict_members": true,
            "can_promote_members": false, "can_change_info": true, "can_invite_users": true,
            "can_post_stories": false, "can_edit_stories": false, "can_delete_stories": false
        }),
        "member" => json!({"status": "member", "user": user_json(user)}),
        _ => json!({"status": "left", "user": user_json(user)}),
    }
}

// ---------------------------------------------------------------- spec

struct Spec {
    methods: HashMap<String, Value>,
    types: HashMap<String, Value>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|e| panic!("cannot read {SPEC_PATH}: {e}"));
        let v: Value = serde_json::from_str(&text).expect("the spec is JSON");
        let map = |key: &str| -> HashMap<String, Value> {
            v[key]
                .as_object()
                .expect("spec section")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Spec {
            methods: map("methods"),
            types: map("types"),
        }
    })
}

/// The fixed value a field must have ("must be *default*", "always
/// \"creator\""), used to tell subtypes apart.
fn fixed_value(description: &str) -> Option<String> {
    let rest = description
        .split_once("must be ")
        .or_else(|| description.split_once("always "))?
        .1;
    let word: String = rest
        .trim_start_matches(['*', '"', '“'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Checks `value` against the spec's type names `types` (any may match).
fn check_types(types: &[String], value: &Value, at: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    for t in types {
        match check_type(t, value, at) {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(e),
        }
    }
    Err(errors.join("; "))
}

fn check_type(t: &str, value: &Value, at: &str) -> Result<(), String> {
    let wrong = || Err(format!("{at}: expected {t}, got {value}"));
    if let Some(inner) = t.strip_prefix("Array of ") {
        let Some(items) = value.as_array() else {
            return wrong();
        };
        for (i, item) in items.iter().enumerate() {
            check_type(inner, item, &format!("{at}[{i}]"))?;
        }
        return Ok(());
    }
    match t {
        "Integer" => {
            if value.is_i64() || value.is_u64() {
                Ok(())
            } else {
                wrong()
            }
        }
        "Float" => {
            if value.is_number() {
                Ok(())
            } else {
                wrong()
            }
        }
        "String" | "InputFile" => {
            if value.is_string() {
                Ok(())
            } else {
                wrong()
            }
        }
        "Boolean" => {
            if value.is_boolean() {
                Ok(())
            } else {
                wrong()
            }
        }
        "True" => {
            if value == &Value::Bool(true) {
                Ok(())
            } else {
                wrong()
            }
        }
        name => {
            let Some(ty) = spec().types.get(name) else {
                return Err(format!("{at}: unknown type {name}"));
            };
            if let Some(subtypes) = ty["subtypes"].as_array() {
                let names: Vec<String> = subtypes
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect();
                return check_types(&names, value, at);
            }
            let Some(object) = value.as_object() else {
                return wrong();
            };
            check_fields(
                ty["fields"].as_array().map_or(&[][..], Vec::as_slice),
                object,
                at,
            )
        }
    }
}

/// Checks an object's keys against a spec field list: no unknown field,
/// every required one present, each of its type; a field with a fixed
/// value must have it.
fn check_fields(
    fields: &[Value],
    object: &serde_json::Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    let known: HashSet<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    for key in object.keys() {
        if !known.contains(key.as_str()) {
            return Err(format!("{at}: unknown field \"{key}\""));
        }
    }
    for f in fields {
        let name = f["name"].as_str().unwrap_or_default();
        let types: Vec<String> = f["types"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        match object.get(name) {
            None | Some(Value::Null) if f["required"].as_bool() == Some(true) => {
                return Err(format!("{at}: field \"{name}\" is required"));
            }
            None => {}
            Some(Value::Null) => return Err(format!("{at}: field \"{name}\" is null")),
            Some(v) => {
                check_types(&types, v, &format!("{at}.{name}"))?;
                if let Some(fixed) = f["description"].as_str().and_then(fixed_value)
                    && types == ["String"]
                    && v.as_str() != Some(fixed.as_str())
                {
                    return Err(format!("{at}.{name}: must be {fixed:?}"));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- HTML

/// Telegram's HTML parse mode: the text after entity parsing and its
/// entities (`type`, UTF-16 offset, length, url), or Telegram's complaint.
pub fn parse_html(html: &str) -> Result<(String, Vec<Value>), String> {
    const TAGS: &[(&str, &str)] = &[
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("span", "spoiler"),
        ("a", "text_link"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
        ("tg-emoji", "custom_emoji"),
    ];
    let mut text = String::new();
    let mut units = 0usize;
    let mut open: Vec<(String, usize, Option<String>)> = Vec::new();
    let mut entities = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < html.len() {
        match bytes[i] {
            b'<' => {
                let end = html[i..]
                    .find('>')
                    .map(|e| i + e)
                    .ok_or_else(|| format!("Unclosed start tag at byte offset {i}"))?;
                let inner = &html[i + 1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match open.pop() {
                        Some((open_name, start, url)) if open_name == name => {
                            let kind = TAGS.iter().find(|t| t.0 == name).map_or("", |t| t.1);
                            let mut e =
                                json!({"type": kind, "offset": start, "length": units - start});
                            if let Some(url) = url {
                                e["url"] = json!(url);
                            }
                            if units > start {
                                entities.push(e);
                            }
                        }
                        _ => return Err(format!("Unexpected end tag at byte offset {i}")),
                    }
                } else {
                    let name_end = inner
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(inner.len());
                    let name = inner[..name_end].to_ascii_lowercase();
                    if name.is_empty() || !TAGS.iter().any(|t| t.0 == name) {
                        return Err(format!(
                            "Unsupported start tag \"{name}\" at byte offset {i}"
                        ));
                    }
                    let attrs = parse_attributes(&inner[name_end..])
                        .map_err(|e| format!("{e} at byte offset {i}"))?;
                    let url = match name.as_str() {
                        "a" => {
                            let href = attrs
                                .iter()
                                .find(|(k, _)| k == "href")
                                .map(|(_, v)| v.clone())
                                .ok_or_else(|| {
                                    format!(
                                        "Tag \"a\" must have attribute \"href\" at byte offset {i}"
                                    )
                                })?;
                            Some(href)
                        }
                        _ => None,
                    };
                    if name == "span"
                        && !attrs.iter().any(|(k, v)| k == "class" && v == "tg-spoiler")
                    {
                        return Err(format!(
                            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {i}"
                        ));
                    }
                    open.push((name, units, url));
                }
                i = end + 1;
            }
            b'&' => {
                let (c, len) = parse_entity(&html[i..]).ok_or_else(|| {
                    format!("Unsupported HTML entity or unescaped \"&\" at byte offset {i}")
                })?;
                text.push(c);
                units += c.len_utf16();
                i += len;
            }
            _ => {
                let c = html[i..].chars().next().expect("in bounds");
                text.push(c);
                units += c.len_utf16();
                i += c.len_utf8();
            }
        }
    }
    if let Some((name, _, _)) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    Ok((text, entities))
}

fn parse_entity(s: &str) -> Option<(char, usize)> {
    let end = s.find(';')?;
    if end > 10 {
        return None;
    }
    let body = &s[1..end];
    let c = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let n = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                body.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(n)?
        }
    };
    Some((c, end + 1))
}

fn parse_attributes(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or("Expected equal sign in declaration of an attribute")?;
        let name = rest[..eq].trim().to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next().ok_or("Expected attribute value")?;
        if quote != '"' && quote != '\'' {
            return Err("Attribute value must be quoted".into());
        }
        let close = after[1..].find(quote).ok_or("Unclosed attribute value")?;
        let raw = &after[1..1 + close];
        let mut value = String::new();
        let mut j = 0;
        while j < raw.len() {
            if raw.as_bytes()[j] == b'&' {
                let (c, len) =
                    parse_entity(&raw[j..]).ok_or("Unsupported HTML entity in attribute")?;
                value.push(c);
                j += len;
            } else {
                let c = raw[j..].chars().next().expect("in bounds");
                if c == '<' {
                    return Err("Unescaped \"<\" in attribute".into());
                }
                value.push(c);
                j += c.len_utf8();
            }
        }
        out.push((name, value));
        rest = after[1 + close + 1..].trim_start();
    }
    Ok(out)
}

// ---------------------------------------------------------------- server

fn reply(status: u16, body: Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("valid status"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("valid response")
}

fn ok(result: Value) -> (u16, Value) {
    (200, json!({"ok": true, "result": result}))
}

fn err(code: u16, description: &str) -> (u16, Value) {
    (
        code,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let record = |method: &str, params: &Value, status: u16| {
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.calls.push(Call {
            method: method.to_owned(),
            params: params.clone(),
            status,
        });
        drop(state);
        shared.changed.send_modify(|n| *n += 1);
    };
    let (name, spec_method, params) = match read_call(&uri, &headers, &body) {
        Ok(call) => call,
        Err((method, (status, answer))) => {
            record(&method, &Value::Null, status);
            return reply(status, answer);
        }
    };
    let fields = spec_method["fields"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let object = params.as_object().cloned().unwrap_or_default();
    if let Err(problem) = check_fields(fields, &object, &name) {
        let (status, answer) = err(400, &format!("Bad Request: {problem}"));
        record(&name, &params, status);
        return reply(status, answer);
    }
    // Faults apply to well-formed calls; the call then does not happen.
    let fault = {
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let hung_chat = params["chat_id"]
            .as_i64()
            .is_some_and(|c| state.hang_chats.contains(&c));
        if name == "sendMessage" && (state.hang_sends || hung_chat) {
            Some(Fault::Hang)
        } else {
            let pos = state
                .faults
                .iter()
                .position(|(m, _)| m.eq_ignore_ascii_case(&name));
            pos.and_then(|p| state.faults.remove(p)).map(|(_, f)| f)
        }
    };
    let (status, answer) = match fault {
        None => {
            let (status, answer) = call(&shared, &name, &params).await;
            if status == 200 {
                // The fake's own answers must be what the spec promises.
                let returns: Vec<String> = spec_method["returns"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Err(e) = check_types(&returns, &answer["result"], &format!("{name} result"))
                {
                    panic!("the fake's answer breaks the spec: {e}");
                }
            }
            (status, answer)
        }
        Some(Fault::RetryAfter(secs)) => (
            429,
            json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {secs}"), "parameters": {"retry_after": secs}}),
        ),
        Some(Fault::Blocked) => err(403, "Forbidden: bot was blocked by the user"),
        Some(Fault::Migrated(to)) => (
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": to}}),
        ),
        Some(Fault::ServerError) => err(500, "Internal Server Error"),
        Some(Fault::Drop) => {
            record(&name, &params, 0);
            // A body that fails half-way: the connection is cut.
            let stream = futures::stream::iter([
                Ok::<_, std::io::Error>(Bytes::from_static(b"{\"ok\":tr")),
                Err(std::io::Error::other("connection dropped")),
            ]);
            return Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "200")
                .body(Body::from_stream(stream))
                .expect("valid response");
        }
        Some(Fault::Hang) => {
            record(&name, &params, 0);
            std::future::pending::<()>().await;
            unreachable!("pending never resolves")
        }
    };
    record(&name, &params, status);
    reply(status, answer)
}

type Refusal = (String, (u16, Value));

/// The method (spec spelling), its spec entry and its JSON parameters.
fn read_call(
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, &'static Value, Value), Refusal> {
    let path = uri.path();
    let Some((token, method)) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Err((path.to_owned(), err(404, "Not Found")));
    };
    if token != TOKEN {
        return Err((method.to_owned(), err(401, "Unauthorized")));
    }
    let Some((name, spec_method)) = spec()
        .methods
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(method))
    else {
        return Err((method.to_owned(), err(404, "Not Found")));
    };
    if body.is_empty() {
        return Ok((name.clone(), spec_method, json!({})));
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return Err((
            name.clone(),
            err(400, "Bad Request: this fake accepts JSON bodies only"),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok((name.clone(), spec_method, v)),
        _ => Err((name.clone(), err(400, "Bad Request: invalid JSON"))),
    }
}

async fn call(shared: &Arc<Shared>, method: &str, p: &Value) -> (u16, Value) {
    let lock = || shared.state.lock().unwrap_or_else(|p| p.into_inner());
    match method {
        "getMe" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "wirewatch test", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false
        })),
        "getWebhookInfo" => {
            let pending = lock().updates.len();
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": pending}))
        }
        "deleteWebhook" => ok(json!(true)),
        "setMyCommands" => {
            let mut list = Vec::new();
            for c in p["commands"].as_array().into_iter().flatten() {
                let command = c["command"].as_str().unwrap_or_default();
                let description = c["description"].as_str().unwrap_or_default();
                let valid = (1..=32).contains(&command.len())
                    && command
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                if !valid {
                    return err(400, "Bad Request: BOT_COMMAND_INVALID");
                }
                if !(1..=256).contains(&description.chars().count()) {
                    return err(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
                }
                list.push((command.to_owned(), description.to_owned()));
            }
            if list.len() > 100 {
                return err(400, "Bad Request: too many commands");
            }
            lock().commands = Some(list);
            ok(json!(true))
        }
        "getUpdates" => get_updates(shared, p).await,
        "sendMessage" => send_message(&mut lock(), p),
        "editMessageText" => edit_message_text(&mut lock(), p),
        "getChatMember" => {
            let state = lock();
            let Some(chat) = p["chat_id"].as_i64().and_then(|id| state.chats.get(&id)) else {
                return err(400, "Bad Request: chat not found");
            };
            let user = p["user_id"].as_i64().unwrap_or_default();
            let status = chat.members.get(&user).map_or("left", String::as_str);
            ok(member_json(user, status))
        }
        "getChatAdministrators" => {
            let state = lock();
            let Some(chat) = p["chat_id"].as_i64().and_then(|id| state.chats.get(&id)) else {
                return err(400, "Bad Request: chat not found");
            };
            let admins: Vec<Value> = chat
                .members
                .iter()
                .filter(|(_, s)| *s == "creator" || *s == "administrator")
                .map(|(u, s)| member_json(*u, s))
                .collect();
            ok(json!(admins))
        }
        other => err(
            400,
            &format!("Bad Request: the fake does not implement {other}"),
        ),
    }
}

async fn get_updates(shared: &Arc<Shared>, p: &Value) -> (u16, Value) {
    let limit = p["limit"].as_i64().unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return err(400, "Bad Request: limit must be between 1 and 100");
    }
    let timeout = p["timeout"].as_i64().unwrap_or(0);
    if timeout < 0 {
        return err(400, "Bad Request: timeout must be non-negative");
    }
    let offset = p["offset"].as_i64();
    let allowed: Option<Vec<String>> = p["allowed_updates"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    let generation = {
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.poll_offsets.push(offset);
        if let Some(offset) = offset {
            // Confirms every update before the offset.
            while state
                .updates
                .front()
                .is_some_and(|u| u["update_id"].as_i64() < Some(offset))
            {
                state.updates.pop_front();
            }
        }
        state.poll_generation += 1;
        state.poll_generation
    };
    shared.changed.send_modify(|n| *n += 1);
    let mut changed = shared.changed.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout as u64);
    loop {
        changed.mark_unchanged();
        {
            let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.poll_generation != generation {
                return err(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let ready: Vec<Value> = state
                .updates
                .iter()
                .filter(|u| {
                    allowed.as_ref().is_none_or(|a| {
                        a.is_empty() || a.iter().any(|k| u.get(k.as_str()).is_some())
                    })
                })
                .take(limit as usize)
                .cloned()
                .collect();
            if !ready.is_empty() {
                return ok(json!(ready));
            }
        }
        if tokio::time::timeout_at(deadline, changed.changed())
            .await
            .is_err()
        {
            return ok(json!([]));
        }
    }
}

/// The chat a message goes to or is in, if the bot may write there.
fn writable_chat(state: &FakeState, p: &Value) -> Result<i64, (u16, Value)> {
    let Some(chat_id) = p["chat_id"].as_i64() else {
        return Err(err(400, "Bad Request: chat not found"));
    };
    let Some(chat) = state.chats.get(&chat_id) else {
        return Err(err(400, "Bad Request: chat not found"));
    };
    if let Some(to) = chat.migrated_to {
        return Err((
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": to}}),
        ));
    }
    if chat.blocked {
        return Err(err(403, "Forbidden: bot was blocked by the user"));
    }
    Ok(chat_id)
}

/// `text` with `parse_mode` as Telegram reads it: the text after entity
/// parsing, trimmed, and its entities; or Telegram's refusal (bad HTML,
/// empty, too long).
fn message_text(p: &Value) -> Result<(String, Vec<Value>), (u16, Value)> {
    let html = p["text"].as_str().unwrap_or_default();
    let (text, entities) = match p["parse_mode"].as_str() {
        None => (html.to_owned(), Vec::new()),
        Some("HTML") => match parse_html(html) {
            Ok(parsed) => parsed,
            Err(e) => return Err(err(400, &format!("Bad Request: can't parse entities: {e}"))),
        },
        Some(_) => return Err(err(400, "Bad Request: unsupported parse_mode")),
    };
    // Telegram trims the text; entity offsets move with it.
    let lead: usize = text
        .chars()
        .take_while(|c| c.is_whitespace())
        .map(char::len_utf16)
        .sum();
    let trimmed = text.trim().to_owned();
    if trimmed.is_empty() {
        return Err(err(400, "Bad Request: message text is empty"));
    }
    let units = trimmed.encode_utf16().count();
    if units > MAX_TEXT_UNITS {
        return Err(err(400, "Bad Request: message is too long"));
    }
    let entities: Vec<Value> = entities
        .into_iter()
        .filter_map(|mut e| {
            let offset = e["offset"].as_u64()? as usize;
            let length = e["length"].as_u64()? as usize;
            let start = offset.saturating_sub(lead);
            let end = (offset + length).saturating_sub(lead).min(units);
            (end > start).then(|| {
                e["offset"] = json!(start);
                e["length"] = json!(end - start);
                e
            })
        })
        .collect();
    Ok((trimmed, entities))
}

/// What a test reads of an accepted text.
fn accepted(p: &Value, chat_id: i64, message_id: i64, text: &str, entities: &[Value]) -> Sent {
    Sent {
        chat_id,
        message_id,
        html: p["text"].as_str().unwrap_or_default().to_owned(),
        text: text.to_owned(),
        entities: entities
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap_or_default().to_owned(),
                    e["url"].as_str().map(str::to_owned),
                )
            })
            .collect(),
        link_preview: p.get("link_preview_options").cloned(),
        at: std::time::Instant::now(),
    }
}

fn send_message(state: &mut FakeState, p: &Value) -> (u16, Value) {
    let chat_id = match writable_chat(state, p) {
        Ok(chat) => chat,
        Err(refusal) => return refusal,
    };
    let (text, entities) = match message_text(p) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal,
    };
    let id = state.next_message_id;
    state.next_message_id += 1;
    state.sent.push(accepted(p, chat_id, id, &text, &entities));
    state.posted.insert(
        (chat_id, id),
        Posted {
            from: BOT_ID,
            text: text.clone(),
            entities: entities.clone(),
        },
    );
    let mut extra = json!({"text": text});
    if !entities.is_empty() {
        extra["entities"] = json!(entities);
    }
    let message = message_json(state, chat_id, BOT_ID, Some(id), extra);
    ok(message)
}

/// `editMessageText` of a message in a chat (inline messages are not
/// faked): the message must be the bot's; its new text is checked as
/// `sendMessage` checks it and must differ from what it says now.
fn edit_message_text(state: &mut FakeState, p: &Value) -> (u16, Value) {
    if p.get("inline_message_id").is_some() {
        return err(
            400,
            "Bad Request: the fake does not implement inline messages",
        );
    }
    if p.get("chat_id").is_none() {
        return err(400, "Bad Request: chat_id is required");
    }
    let Some(message_id) = p["message_id"].as_i64() else {
        return err(400, "Bad Request: message identifier is not specified");
    };
    if p.get("text").is_none() {
        return err(400, "Bad Request: text is required");
    }
    let chat_id = match writable_chat(state, p) {
        Ok(chat) => chat,
        Err(refusal) => return refusal,
    };
    let Some(posted) = state.posted.get(&(chat_id, message_id)) else {
        return err(400, "Bad Request: message to edit not found");
    };
    if posted.from != BOT_ID {
        return err(400, "Bad Request: message can't be edited");
    }
    let (text, entities) = match message_text(p) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal,
    };
    if posted.text == text && posted.entities == entities {
        return err(
            400,
            "Bad Request: message is not modified: specified new message content and reply \
             markup are exactly the same as a current content and reply markup of the message",
        );
    }
    state
        .edits
        .push(accepted(p, chat_id, message_id, &text, &entities));
    state.posted.insert(
        (chat_id, message_id),
        Posted {
            from: BOT_ID,
            text: text.clone(),
            entities: entities.clone(),
        },
    );
    let mut extra = json!({"text": text, "edit_date": now_secs()});
    if !entities.is_empty() {
        extra["entities"] = json!(entities);
    }
    ok(message_json(
        state,
        chat_id,
        BOT_ID,
        Some(message_id),
        extra,
    ))
}
