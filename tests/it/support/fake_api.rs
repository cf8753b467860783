//! A fake Telegram Bot API on a random loopback port. It speaks the real wire format
//! (`{"ok":true,"result":…}` and Telegram's error bodies), records what the bot sent,
//! serves queued updates to getUpdates, and plays scripted faults per chat.
//! Photos arrive as multipart uploads or as a `file_id` it issued, as Telegram's do.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz012";
pub const BOT_ID: i64 = 4242;
pub const BOT_USERNAME: &str = "DhikraBot";

/// A scripted answer to the next sendMessage (`fail`) or sendPhoto (`fail_photo`) to a chat.
#[derive(Debug, Clone)]
pub enum Fault {
    /// No fault: this send goes through (to script "the second send fails").
    Pass,
    /// 429 with `parameters.retry_after`.
    RetryAfter(u32),
    /// An error with this code and Telegram's description text.
    Error(u16, &'static str),
    /// 400 "group chat was upgraded to a supergroup chat" with `migrate_to_chat_id`.
    Migrate(i64),
    /// A body that is not the Bot API's JSON, as a broken proxy gives (a transient fault).
    Garbage,
    /// An HTTP 5xx with Telegram's JSON body (teloxide waits 10 s on these).
    ServerError(u16),
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub chat_id: i64,
    pub text: String,
    pub parse_mode: Option<String>,
    pub thread_id: Option<i64>,
    pub reply_to: Option<i64>,
    pub reply_markup: Option<Value>,
    /// Telegram's id of the message (one counter for texts and photos: their order).
    pub message_id: i32,
    /// `disable_notification` was set.
    pub silent: bool,
    /// `link_preview_options.is_disabled` was set.
    pub no_preview: bool,
    /// For a photo: the `file_id` it went out as (issued now for an upload).
    pub file_id: Option<String>,
    /// For a photo: its bytes were uploaded (rather than a `file_id` reused).
    pub uploaded: bool,
    #[allow(
        dead_code,
        reason = "the benches use it (benches/broadcast.rs, benches/service.rs)"
    )]
    pub at: Instant,
}

#[derive(Default)]
pub struct Inner {
    pub sent: Vec<Sent>,
    /// Photos, apart from `sent` (texts), so text assertions need not skip them.
    pub photos: Vec<Sent>,
    /// PNG bytes by the file_id issued for them.
    files: HashMap<String, usize>,
    /// Chats where the bot may not pin (answers Telegram's 400).
    no_pin_rights: Vec<i64>,
    pub calls: Vec<(String, Value)>,
    /// When each method was first called (recorded on arrival, before answering).
    first_arrival: HashMap<String, Instant>,
    pub too_many_requests: usize,
    /// Of those, the ones for a chat's one-a-second limit.
    pub too_many_per_chat: usize,
    /// When each 429 was answered.
    pub too_many_at: Vec<Instant>,
    faults: HashMap<i64, VecDeque<Fault>>,
    photo_faults: HashMap<i64, VecDeque<Fault>>,
    updates: VecDeque<Value>,
    next_update_id: i64,
    chats: HashMap<String, Value>,
    members: HashMap<(i64, i64), &'static str>,
    send_delay: Duration,
    per_chat_interval: Option<Duration>,
    last_send: HashMap<i64, Instant>,
    overall_per_second: Option<usize>,
    recent_sends: VecDeque<Instant>,
    next_message_id: i32,
    /// `getUpdates` calls being answered now, and those refused for it (409).
    polling: usize,
    /// Counts getUpdates calls: the one being answered is the latest.
    poll_generation: u64,
    pub conflicts: usize,
}

#[derive(Clone)]
pub struct FakeApi {
    pub url: String,
    pub state: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

type Shared = (Arc<Mutex<Inner>>, Arc<Notify>);

impl FakeApi {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Inner {
            next_message_id: 100,
            next_update_id: 1,
            ..Default::default()
        }));
        let changed = Arc::new(Notify::new());
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(handle))
            .with_state((state.clone(), changed.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            state,
            changed,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// The next sendMessage calls to `chat` get these answers, in order.
    pub fn fail(&self, chat: i64, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.faults.entry(chat).or_default().extend(faults));
    }

    /// The next sendPhoto calls to `chat` get these answers, in order.
    pub fn fail_photo(&self, chat: i64, faults: impl IntoIterator<Item = Fault>) {
        self.with(|s| s.photo_faults.entry(chat).or_default().extend(faults));
    }

    pub fn set_send_delay(&self, d: Duration) {
        self.with(|s| s.send_delay = d);
    }

    /// Answers 429 like Telegram when one chat gets two messages closer than `interval`.
    pub fn enforce_per_chat(&self, interval: Duration) {
        self.with(|s| s.per_chat_interval = Some(interval));
    }

    /// Answers 429 like Telegram when more than `rate` messages arrive in any one second.
    pub fn enforce_overall(&self, rate: usize) {
        self.with(|s| s.overall_per_second = Some(rate));
    }

    pub fn add_chat(&self, username: &str, id: i64, kind: &str) {
        let chat = json!({"id": id, "type": kind, "title": username, "username": username.trim_start_matches('@'), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {"unlimited_gifts": false, "limited_gifts": false, "unique_gifts": false, "premium_subscription": false}});
        self.with(|s| s.chats.insert(username.to_owned(), chat));
    }

    pub fn set_member(&self, chat: i64, user: i64, status: &'static str) {
        self.with(|s| s.members.insert((chat, user), status));
    }

    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = self.with(|s| {
            let id = s.next_update_id;
            s.next_update_id += 1;
            update["update_id"] = json!(id);
            s.updates.push_back(update);
            id
        });
        self.changed.notify_waiters();
        id
    }

    pub fn photos(&self) -> Vec<Sent> {
        self.with(|s| s.photos.clone())
    }

    pub fn photos_to(&self, chat: i64) -> Vec<Sent> {
        self.with(|s| {
            s.photos
                .iter()
                .filter(|m| m.chat_id == chat)
                .cloned()
                .collect()
        })
    }

    /// `pinChatMessage` in `chat` is refused for want of the right, as Telegram does.
    pub fn refuse_pins(&self, chat: i64) {
        self.with(|s| s.no_pin_rights.push(chat));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.with(|s| s.sent.clone())
    }

    /// How many messages were sent, without copying them.
    #[allow(
        dead_code,
        reason = "the benches use it (benches/broadcast.rs, benches/service.rs)"
    )]
    pub fn sent_count(&self) -> usize {
        self.with(|s| s.sent.len())
    }

    pub fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.with(|s| {
            s.sent
                .iter()
                .filter(|m| m.chat_id == chat)
                .cloned()
                .collect()
        })
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        let method = method.to_ascii_lowercase();
        self.with(|s| {
            s.calls
                .iter()
                .filter(|(m, _)| *m == method)
                .map(|(_, b)| b.clone())
                .collect()
        })
    }

    /// When `method` (any casing) first reached the server.
    #[allow(
        dead_code,
        reason = "the benches use it (benches/broadcast.rs, benches/service.rs)"
    )]
    pub fn first_arrival(&self, method: &str) -> Option<Instant> {
        self.with(|s| s.first_arrival.get(&method.to_ascii_lowercase()).copied())
    }

    /// `getUpdates` calls refused because another was being answered (409).
    pub fn conflicts(&self) -> usize {
        self.with(|s| s.conflicts)
    }

    pub fn too_many_requests(&self) -> usize {
        self.with(|s| s.too_many_requests)
    }

    /// When each overall-rate 429 was answered.
    pub fn too_many_at(&self) -> Vec<Instant> {
        self.with(|s| s.too_many_at.clone())
    }

    /// 429s for a chat's one-a-second limit (the rest are for the overall rate).
    pub fn too_many_per_chat(&self) -> usize {
        self.with(|s| s.too_many_per_chat)
    }

    /// Waits until `pred` holds over the sent messages, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[Sent]) -> bool,
    ) -> Vec<Sent> {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.sent();
            if pred(&sent) {
                return sent;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; sent so far: {:#?}",
                    sent.iter()
                        .map(|m| (m.chat_id, m.text.chars().take(60).collect::<String>()))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the bot has called `method` at least `n` times.
    pub async fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls(method);
            if calls.len() >= n {
                return calls;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} {method} call(s)"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
        .into_response()
}

fn error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(body),
    )
        .into_response()
}

pub fn user_json(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "language_code": "ar"})
}

pub fn chat_json(id: i64) -> Value {
    if id > 0 {
        json!({"id": id, "type": "private", "first_name": format!("User{id}")})
    } else {
        json!({"id": id, "type": "supergroup", "title": "Group", "is_forum": true})
    }
}

fn chat_id_of(body: &Value) -> i64 {
    match &body["chat_id"] {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// The fields of a multipart/form-data body (teloxide sends uploads so): text
/// fields as JSON values, a file as `{"file_name", "bytes", "png"}`.
fn multipart_fields(content_type: &str, body: &[u8]) -> Option<Value> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut fields = serde_json::Map::new();
    for part in split_bytes(body, delimiter.as_bytes()) {
        let Some(at) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..at]);
        let mut value = &part[at + 4..];
        if value.ends_with(b"\r\n") {
            value = &value[..value.len() - 2];
        }
        let attribute = |name: &str| {
            head.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|n| n.split('"').next())
                .map(str::to_owned)
        };
        let Some(name) = attribute("name") else {
            continue;
        };
        let parsed = match attribute("filename") {
            Some(file_name) => json!({"file_name": file_name, "bytes": value.len(),
                "png": value.starts_with(b"\x89PNG\r\n\x1a\n")}),
            None => {
                let text = String::from_utf8_lossy(value);
                serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
            }
        };
        fields.insert(name, parsed);
    }
    Some(Value::Object(fields))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(body, delimiter) {
        parts.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    parts.push(body);
    parts
}

async fn handle(
    State((state, changed)): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        return error(401, "Unauthorized", None);
    }
    let method = method.to_ascii_lowercase();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body: Value = if content_type.starts_with("multipart/form-data") {
        multipart_fields(content_type, &body).unwrap_or(Value::Null)
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    state
        .lock()
        .expect("fake state")
        .first_arrival
        .entry(method.clone())
        .or_insert_with(Instant::now);
    let response = respond(&state, &changed, &method, &body).await;
    // Recorded after answering, by move: the fake is also a benchmark's instrument.
    state.lock().expect("fake state").calls.push((method, body));
    response
}

async fn respond(
    state: &Arc<Mutex<Inner>>,
    changed: &Notify,
    method: &str,
    body: &Value,
) -> Response {
    match method {
        "getme" => ok(
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Dhikra", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": true,
            "can_connect_to_business": false, "has_main_web_app": false}),
        ),
        "getupdates" => {
            // Telegram allows one poller per bot: a newer getUpdates ends the
            // one being answered, which gets the 409 ("terminated by other").
            let polling = Polling::start(state);
            changed.notify_waiters();
            let offset = body["offset"].as_i64().unwrap_or(0);
            let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
            for _ in 0..2 {
                let ready: Option<Vec<Value>> = {
                    let mut s = state.lock().expect("fake state");
                    s.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    // Checked with the updates, under one lock: a terminated
                    // poll never hands out what the newer one does.
                    (s.poll_generation == polling.generation)
                        .then(|| s.updates.iter().take(limit).cloned().collect())
                };
                match ready {
                    None => return terminated(),
                    Some(ready) if !ready.is_empty() => return ok(Value::Array(ready)),
                    Some(_) => {}
                }
                // A short long-poll: long enough to be cheap, short enough for fast shutdown.
                let _ = tokio::time::timeout(Duration::from_millis(150), changed.notified()).await;
            }
            if polling.superseded() {
                return terminated();
            }
            ok(json!([]))
        }
        "sendmessage" => send(state, body, Kind::Text).await,
        "sendphoto" => match photo_of(state, body) {
            Ok(kind) => send(state, body, kind).await,
            Err(description) => error(400, description, None),
        },
        "pinchatmessage" => {
            let chat = chat_id_of(body);
            if state
                .lock()
                .expect("fake state")
                .no_pin_rights
                .contains(&chat)
            {
                error(
                    400,
                    "Bad Request: not enough rights to manage pinned messages in the chat",
                    None,
                )
            } else {
                ok(json!(true))
            }
        }
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "editmessagetext" => {
            let chat = chat_id_of(body);
            ok(
                json!({"message_id": body["message_id"], "date": 1, "chat": chat_json(chat), "text": body["text"]}),
            )
        }
        "getchat" => {
            let key = match &body["chat_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match state.lock().expect("fake state").chats.get(&key) {
                Some(chat) => ok(chat.clone()),
                None => error(400, "Bad Request: chat not found", None),
            }
        }
        "getchatmember" => {
            let chat = chat_id_of(body);
            let user = body["user_id"].as_i64().unwrap_or(0);
            let status = state
                .lock()
                .expect("fake state")
                .members
                .get(&(chat, user))
                .copied()
                .unwrap_or("member");
            match status {
                "creator" => {
                    ok(json!({"status": "creator", "user": user_json(user), "is_anonymous": false}))
                }
                s => ok(json!({"status": s, "user": user_json(user)})),
            }
        }
        _ => ok(json!(true)),
    }
}

/// One `getUpdates` being answered; a newer one at the same time ends it
/// (a conflict, counted once).
struct Polling {
    state: Arc<Mutex<Inner>>,
    generation: u64,
}

impl Polling {
    fn start(state: &Arc<Mutex<Inner>>) -> Self {
        let mut s = state.lock().expect("fake state");
        if s.polling > 0 {
            s.conflicts += 1;
        }
        s.polling += 1;
        s.poll_generation += 1;
        Self {
            state: Arc::clone(state),
            generation: s.poll_generation,
        }
    }

    fn superseded(&self) -> bool {
        self.state.lock().expect("fake state").poll_generation != self.generation
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.state.lock().expect("fake state").polling -= 1;
    }
}

/// Telegram's answer to a getUpdates ended by a newer one.
fn terminated() -> Response {
    error(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        None,
    )
}

/// What a send carries.
enum Kind {
    Text,
    /// A photo by a `file_id` already issued.
    Known(String),
    /// An uploaded photo of this many bytes.
    Upload,
}

/// Checks a sendPhoto as Telegram would: a known file_id, or PNG bytes, and a
/// caption within 1,024 UTF-16 units.
/// The error is Telegram's description of a 400.
fn photo_of(state: &Arc<Mutex<Inner>>, body: &Value) -> Result<Kind, &'static str> {
    let caption = body["caption"].as_str().unwrap_or_default();
    if caption.encode_utf16().count() > 1024 {
        return Err("Bad Request: message caption is too long");
    }
    // teloxide sends an upload as `photo = "attach://<name>"` and the bytes in
    // the part `<name>`, as the Bot API allows.
    let photo = match body["photo"]
        .as_str()
        .and_then(|p| p.strip_prefix("attach://"))
    {
        Some(name) => &body[name],
        None => &body["photo"],
    };
    match photo {
        Value::String(id) if state.lock().expect("fake state").files.contains_key(id) => {
            Ok(Kind::Known(id.clone()))
        }
        Value::Object(file) if file["png"] == json!(true) => Ok(Kind::Upload),
        Value::Object(_) => Err("Bad Request: IMAGE_PROCESS_FAILED"),
        _ => Err("Bad Request: wrong file identifier/HTTP URL specified"),
    }
}

async fn send(state: &Arc<Mutex<Inner>>, body: &Value, kind: Kind) -> Response {
    let chat = chat_id_of(body);
    let (delay, fault) = {
        let mut s = state.lock().expect("fake state");
        let faults = match kind {
            Kind::Text => &mut s.faults,
            _ => &mut s.photo_faults,
        };
        let fault = faults.get_mut(&chat).and_then(VecDeque::pop_front);
        (s.send_delay, fault)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Some(Fault::RetryAfter(n)) => {
            state.lock().expect("fake state").too_many_requests += 1;
            return error(
                429,
                &format!("Too Many Requests: retry after {n}"),
                Some(json!({"retry_after": n})),
            );
        }
        Some(Fault::Error(code, text)) => return error(code, text, None),
        Some(Fault::Migrate(to)) => {
            return error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(json!({"migrate_to_chat_id": to})),
            );
        }
        Some(Fault::Garbage) => {
            return (StatusCode::OK, "<html>proxy error</html>").into_response();
        }
        Some(Fault::ServerError(code)) => return error(code, "Internal Server Error", None),
        Some(Fault::Pass) | None => {}
    }
    let mut s = state.lock().expect("fake state");
    let now = Instant::now();
    if let Some(interval) = s.per_chat_interval
        && let Some(last) = s.last_send.get(&chat)
        && now.duration_since(*last) < interval
    {
        s.too_many_requests += 1;
        s.too_many_per_chat += 1;
        return error(
            429,
            "Too Many Requests: retry after 1",
            Some(json!({"retry_after": 1})),
        );
    }
    if let Some(rate) = s.overall_per_second {
        while s
            .recent_sends
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            s.recent_sends.pop_front();
        }
        if s.recent_sends.len() >= rate {
            s.too_many_requests += 1;
            s.too_many_at.push(now);
            return error(
                429,
                "Too Many Requests: retry after 1",
                Some(json!({"retry_after": 1})),
            );
        }
        s.recent_sends.push_back(now);
    }
    s.last_send.insert(chat, now);
    let id = s.next_message_id;
    s.next_message_id += 1;
    let file_id = match &kind {
        Kind::Text => None,
        Kind::Known(file_id) => Some(file_id.clone()),
        Kind::Upload => {
            let file_id = format!("AgACAgFake{id}");
            let bytes = body
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .find_map(|v| v["bytes"].as_u64())
                .unwrap_or(0) as usize;
            s.files.insert(file_id.clone(), bytes);
            Some(file_id)
        }
    };
    let text = match &kind {
        Kind::Text => body["text"].as_str(),
        _ => body["caption"].as_str(),
    }
    .unwrap_or_default()
    .to_owned();
    let sent = Sent {
        chat_id: chat,
        text: text.clone(),
        parse_mode: body["parse_mode"].as_str().map(str::to_owned),
        thread_id: body["message_thread_id"].as_i64(),
        reply_to: body["reply_parameters"]["message_id"].as_i64(),
        reply_markup: body.get("reply_markup").cloned(),
        message_id: id,
        silent: body["disable_notification"] == json!(true),
        no_preview: body["link_preview_options"]["is_disabled"] == json!(true),
        uploaded: matches!(kind, Kind::Upload),
        file_id: file_id.clone(),
        at: now,
    };
    let mut message = json!({"message_id": id, "date": 1_780_000_000, "chat": chat_json(chat)});
    match file_id {
        None => {
            message["text"] = json!(text);
            s.sent.push(sent);
        }
        Some(file_id) => {
            let size = |w: u32, h: u32, n: u32| json!({"file_id": format!("{file_id}{n}"), "file_unique_id": format!("u{file_id}{n}"), "width": w, "height": h, "file_size": 1000 * n});
            // Telegram answers with every size it made, the largest last; only
            // the largest's id is what was uploaded (the others are thumbnails).
            message["photo"] = json!([size(320, 180, 1), {"file_id": file_id, "file_unique_id": format!("u{file_id}"), "width": 1280, "height": 720, "file_size": 90_000}]);
            message["caption"] = json!(text);
            s.photos.push(sent);
        }
    }
    if let Some(thread) = body["message_thread_id"].as_i64() {
        message["message_thread_id"] = json!(thread);
        message["is_topic_message"] = json!(true);
    }
    ok(message)
}
