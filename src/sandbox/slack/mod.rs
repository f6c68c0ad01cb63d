//! A fake Slack Web API on 127.0.0.1.
//!
//! It checks what Slack checks: a bot token (`xoxb-…`) on every Web API
//! call (`not_authed`, `invalid_auth`), known channels, messages and users,
//! and it answers errors the Slack way: HTTP 200 with `{"ok": false,
//! "error": "…"}`, except rate limits, which are HTTP 429 with
//! `Retry-After` when a channel is posted to faster than allowed.
//!
//! The control API (`/_sandbox/…`, and Rust methods here) reads a channel
//! as a person would see it. (Socket Mode and Events API push arrive with
//! the next part of the Slack adapter.)

pub mod socket;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, State as AxumState};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

pub const TEAM_ID: &str = "T0PERCH01";
pub const BOT_USER: &str = "U0PERCHBOT";
pub const BOT_ID: &str = "B0PERCHBOT";

/// A message in a channel, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub ts: String,
    pub thread_ts: Option<String>,
    /// The author (the bot's user id for its own posts).
    pub user: String,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub reactions: Vec<String>,
    pub edited: bool,
    pub unfurl_links: Option<bool>,
    pub unfurl_media: Option<bool>,
}

/// An ephemeral message: only `user` sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub thread_ts: Option<String>,
    pub text: String,
}

/// A Web API call the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub method: String,
    pub body: Value,
    /// HTTP status and the body answered.
    pub status: u16,
    pub response: Value,
}

pub(crate) struct State {
    bot_token: String,
    channels: HashMap<String, Vec<Message>>,
    ephemerals: Vec<Ephemeral>,
    users: HashMap<String, String>,
    groups: HashMap<String, Vec<String>>,
    /// Per channel: one post per `post_interval`, with bursts of up to
    /// `BURST` (Slack: "about one per second, short bursts allowed").
    post_interval: Duration,
    buckets: HashMap<String, (f64, Instant)>,
    serial: u64,
    calls: Vec<Call>,
    /// Per Web API method: how long answers are held back after the work.
    pub(crate) delays: HashMap<String, Duration>,
    pub(crate) socket: socket::Socket,
    addr: SocketAddr,
}

impl State {
    /// Stores a person's reply in a thread.
    fn person_replies(
        &mut self,
        channel: &str,
        thread_ts: &str,
        user: &str,
        text: &str,
    ) -> Message {
        let message = Message {
            ts: self.ts(),
            thread_ts: Some(thread_ts.to_owned()),
            user: user.to_owned(),
            bot_id: None,
            text: text.to_owned(),
            blocks: None,
            reactions: Vec::new(),
            edited: false,
            unfurl_links: None,
            unfurl_media: None,
        };
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .push(message.clone());
        message
    }

    fn socket_serial(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}", self.serial)
    }

    /// Delivers the Events API `message` event Slack sends for every message
    /// in a channel the app is in, its own included.
    fn message_event(&mut self, channel: &str, m: &Message) {
        let payload = self.message_event_payload(channel, m);
        self.socket.deliver("events_api", payload, 0);
    }

    /// The `event_callback` body of a `message` event.
    fn message_event_payload(&mut self, channel: &str, m: &Message) -> Value {
        let mut event = serde_json::json!({
            "type": "message", "channel": channel, "user": m.user, "text": m.text,
            "ts": m.ts, "event_ts": m.ts, "channel_type": "channel",
        });
        if let Some(t) = &m.thread_ts {
            event["thread_ts"] = serde_json::json!(t);
        }
        if let Some(b) = &m.bot_id {
            event["bot_id"] = serde_json::json!(b);
        }
        let event_id = self.socket_serial("Ev0");
        let payload = serde_json::json!({
            "token": "verification-token", "team_id": TEAM_ID, "api_app_id": socket::APP_ID,
            "event": event, "type": "event_callback", "event_id": event_id,
            "event_time": chrono::Utc::now().timestamp(),
                        "authorizations": [{ "team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": true, "is_enterprise_install": false }],
        });
        payload
    }
}

/// How many posts a channel takes at once before the rate applies.
pub const BURST: f64 = 3.0;

impl State {
    /// Takes a post from the channel's bucket, or says how long to wait.
    fn take_post(&mut self, channel: &str, now: Instant) -> Result<(), Duration> {
        let interval = self.post_interval.as_secs_f64();
        let (tokens, at) = self
            .buckets
            .entry(channel.to_owned())
            .or_insert((BURST, now));
        if interval > 0.0 {
            *tokens = (*tokens + now.duration_since(*at).as_secs_f64() / interval).min(BURST);
        } else {
            *tokens = BURST;
        }
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) * interval))
        }
    }

    fn ts(&mut self) -> String {
        self.serial += 1;
        let secs = chrono::Utc::now().timestamp();
        format!("{secs}.{:06}", self.serial)
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake Slack.
pub struct FakeSlack {
    addr: SocketAddr,
    control: Control,
    task: JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSlack {
    /// Starts on a free loopback port with `channels` and `bot_token`.
    /// Posting is limited to one message per `post_interval` per channel
    /// (Slack: about one per second).
    pub async fn start(
        bot_token: &str,
        app_token: &str,
        channels: &[&str],
        post_interval: Duration,
    ) -> std::io::Result<Self> {
        Self::start_on(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            bot_token,
            app_token,
            channels,
            post_interval,
        )
        .await
    }

    pub async fn start_on(
        addr: SocketAddr,
        bot_token: &str,
        app_token: &str,
        channels: &[&str],
        post_interval: Duration,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut users = HashMap::new();
        users.insert(BOT_USER.to_owned(), "perch".to_owned());
        let state = Arc::new(Mutex::new(State {
            bot_token: bot_token.to_owned(),
            channels: channels
                .iter()
                .map(|c| ((*c).to_owned(), Vec::new()))
                .collect(),
            ephemerals: Vec::new(),
            users,
            groups: HashMap::new(),
            post_interval,
            buckets: HashMap::new(),
            serial: 0,
            calls: Vec::new(),
            delays: HashMap::new(),
            socket: socket::Socket::new(app_token),
            addr,
        }));
        let app = Router::new()
            .route("/api/{method}", get(web::call).post(web::call))
            .route("/link/", get(socket::connect))
            .route("/_sandbox/channels/{id}", get(control_channel))
            .route("/_sandbox/reply", axum::routing::post(control_reply))
            .route("/_sandbox/command", axum::routing::post(control_command))
            .route("/_sandbox/button", axum::routing::post(control_button))
            .with_state(Arc::clone(&state));
        let ticker = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Redelivery of unacknowledged envelopes runs beside the server.
            let redeliver = async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    lock(&ticker).socket.redeliver_overdue();
                }
            };
            tokio::select! {
                served = axum::serve(listener, app) => {
                    if let Err(e) = served {
                        tracing::error!(error = %e, "fake Slack stopped");
                    }
                }
                () = redeliver => {}
            }
        });
        Ok(Self {
            addr,
            control: Control(state),
            task,
        })
    }

    /// The Web API base (`slack.api_url`), like `https://slack.com/api`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Acting as people and reading what they would see; the same is served
/// over HTTP under `/_sandbox/` for the demo.
#[derive(Clone)]
pub struct Control(Shared);

impl std::ops::Deref for FakeSlack {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Control {
    /// Adds a person.
    pub fn add_user(&self, id: &str, name: &str) {
        lock(&self.0).users.insert(id.to_owned(), name.to_owned());
    }

    /// Defines a user group and its members.
    pub fn set_group(&self, id: &str, members: &[&str]) {
        lock(&self.0).groups.insert(
            id.to_owned(),
            members.iter().map(|m| (*m).to_owned()).collect(),
        );
    }

    /// A person replies in a thread: stored, and delivered to the app as an
    /// Events API `message` event over Socket Mode. Returns the message ts.
    pub fn thread_reply(&self, channel: &str, thread_ts: &str, user: &str, text: &str) -> String {
        let mut s = lock(&self.0);
        let message = s.person_replies(channel, thread_ts, user, text);
        s.message_event(channel, &message);
        message.ts
    }

    /// A person replies in a thread of an app on the Events API: stored, and
    /// the body Slack would POST (signed) is returned.
    pub fn thread_reply_event(
        &self,
        channel: &str,
        thread_ts: &str,
        user: &str,
        text: &str,
    ) -> String {
        let mut s = lock(&self.0);
        let message = s.person_replies(channel, thread_ts, user, text);
        s.message_event_payload(channel, &message).to_string()
    }

    /// A person runs `/perch <text>` in `channel`. Returns the envelope id.
    pub fn slash_command(&self, channel: &str, user: &str, text: &str) -> String {
        let payload = self.slash_command_payload(channel, user, text);
        lock(&self.0).socket.deliver("slash_commands", payload, 0)
    }

    /// The payload of `/perch <text>` (its fields; the Events API sends them
    /// form-encoded).
    pub fn slash_command_payload(&self, channel: &str, user: &str, text: &str) -> Value {
        let mut s = lock(&self.0);
        let name = s
            .users
            .get(user)
            .cloned()
            .unwrap_or_else(|| user.to_owned());
        let trigger = s.socket_serial("trigger-");
        let payload = serde_json::json!({
            "token": "verification-token", "team_id": TEAM_ID, "team_domain": "perch-sandbox",
            "channel_id": channel, "channel_name": "support", "user_id": user, "user_name": name,
            "command": "/perch", "text": text, "api_app_id": socket::APP_ID, "is_enterprise_install": "false",
                        "response_url": format!("http://{}/_sandbox/respond/{trigger}", s.addr), "trigger_id": trigger,
        });
        payload
    }

    /// A person presses a button on the message `message_ts`. Returns the
    /// envelope id, or `None` when that message has no such button.
    pub fn press_button(
        &self,
        channel: &str,
        message_ts: &str,
        user: &str,
        action_id: &str,
    ) -> Option<String> {
        let payload = self.button_payload(channel, message_ts, user, action_id)?;
        Some(lock(&self.0).socket.deliver("interactive", payload, 0))
    }

    /// The `block_actions` payload of pressing a button on `message_ts`.
    pub fn button_payload(
        &self,
        channel: &str,
        message_ts: &str,
        user: &str,
        action_id: &str,
    ) -> Option<Value> {
        let mut s = lock(&self.0);
        let message = s
            .channels
            .get(channel)?
            .iter()
            .find(|m| m.ts == message_ts)?
            .clone();
        let button = message.blocks.as_ref().and_then(|b| {
            b.as_array()?
                .iter()
                .filter_map(|block| block.get("elements")?.as_array())
                .flatten()
                .find(|e| e.get("action_id").and_then(Value::as_str) == Some(action_id))
                .cloned()
        })?;
        let name = s
            .users
            .get(user)
            .cloned()
            .unwrap_or_else(|| user.to_owned());
        let trigger = s.socket_serial("trigger-");
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": { "id": user, "username": name, "name": name, "team_id": TEAM_ID },
            "api_app_id": socket::APP_ID, "token": "verification-token",
            "container": { "type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": false },
            "trigger_id": trigger,
            "team": { "id": TEAM_ID, "domain": "perch-sandbox" },
            "is_enterprise_install": false,
            "channel": { "id": channel, "name": "support" },
            "message": web::message_json(&message),
            "state": { "values": {} },
            "response_url": format!("http://{}/_sandbox/respond/{trigger}", s.addr),
            "actions": [{
                "action_id": action_id, "block_id": "perch-actions", "text": button["text"],
                                "value": button["value"], "type": "button", "action_ts": chrono::Utc::now().timestamp().to_string(),
            }],
        });
        Some(payload)
    }

    /// Sends an envelope's payload again as Slack does when it believes an
    /// ack was lost (`retry_attempt` raised, same event and trigger ids).
    pub fn redeliver(&self, envelope_id: &str) -> Option<String> {
        let mut s = lock(&self.0);
        let e = s
            .socket
            .envelopes
            .iter()
            .find(|e| e.id == envelope_id)?
            .clone();
        Some(s.socket.deliver(e.kind, e.payload, e.retry_attempt + 1))
    }

    /// Holds back answers to a Web API `method` (e.g. `chat.postMessage`)
    /// for `delay` after the work is done.
    pub fn set_delay(&self, method: &str, delay: Duration) {
        lock(&self.0).delays.insert(method.to_owned(), delay);
    }

    /// Asks connected clients to reconnect (`disconnect`), then closes them.
    pub fn disconnect(&self, reason: &str) {
        socket::disconnect_all(&mut lock(&self.0), reason);
    }

    /// How long an envelope may wait for its ack before it is sent again.
    pub fn set_redeliver_after(&self, after: Duration) {
        lock(&self.0).socket.redeliver_after = after;
    }

    /// Every envelope delivered so far.
    pub fn envelopes(&self) -> Vec<socket::Envelope> {
        lock(&self.0).socket.envelopes.clone()
    }

    /// How many times a client connected to the socket.
    pub fn socket_connects(&self) -> u32 {
        lock(&self.0).socket.connects
    }

    /// How many clients are connected to the socket now.
    pub fn live_sockets(&self) -> usize {
        lock(&self.0).socket.connections.len()
    }

    /// Every message of a channel, thread replies included, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        lock(&self.0)
            .channels
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    /// Ephemeral messages shown to `user`.
    pub fn ephemerals_for(&self, user: &str) -> Vec<Ephemeral> {
        lock(&self.0)
            .ephemerals
            .iter()
            .filter(|e| e.user == user)
            .cloned()
            .collect()
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        lock(&self.0)
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// A channel as a person reads it: each top-level message with its
    /// replies, rendered as text.
    pub fn render(&self, channel: &str) -> String {
        let s = lock(&self.0);
        render(&s, channel)
    }
}

fn render(s: &State, channel: &str) -> String {
    let Some(messages) = s.channels.get(channel) else {
        return String::new();
    };
    let who = |m: &Message| {
        s.users
            .get(&m.user)
            .cloned()
            .unwrap_or_else(|| m.user.clone())
    };
    let mut out = String::new();
    for parent in messages
        .iter()
        .filter(|m| m.thread_ts.as_ref().is_none_or(|t| *t == m.ts))
    {
        out.push_str(&format!("{}: {}\n", who(parent), web::visible_text(parent)));
        for reply in messages
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()) && m.ts != parent.ts)
        {
            let marks = if reply.reactions.is_empty() {
                String::new()
            } else {
                format!(" [{}]", reply.reactions.join(" "))
            };
            out.push_str(&format!("    ↳ {}: {}{marks}\n", who(reply), reply.text));
        }
    }
    out
}

async fn control_channel(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> Json<Value> {
    let s = lock(&state);
    Json(serde_json::json!({
        "channel": id,
        "messages": s.channels.get(&id),
        "as_seen": render(&s, &id),
    }))
}

/// Slack's request signature: `v0=` + hex HMAC-SHA256 of
/// `v0:{timestamp}:{body}` with the app's signing secret.
pub fn sign(signing_secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(signing_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v0={hex}")
}

/// POSTs `body` to an app's Events API URL as Slack does: signed with
/// `signature` (from `sign`, or a wrong one in tests) and `timestamp`,
/// with `X-Slack-Retry-Num` on retries. Returns status and body.
pub async fn post_signed(
    url: &str,
    content_type: &str,
    body: String,
    timestamp: Option<i64>,
    signature: Option<String>,
    retry_num: Option<u32>,
) -> Result<(u16, String), String> {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(ts) = timestamp {
        request = request.header("x-slack-request-timestamp", ts.to_string());
    }
    if let Some(sig) = signature {
        request = request.header("x-slack-signature", sig);
    }
    if let Some(n) = retry_num {
        request = request
            .header("x-slack-retry-num", n.to_string())
            .header("x-slack-retry-reason", "http_timeout");
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}

#[derive(serde::Deserialize)]
struct ReplyIn {
    channel: String,
    thread_ts: String,
    user: String,
    text: String,
}

#[derive(serde::Deserialize)]
struct CommandIn {
    channel: String,
    user: String,
    text: String,
}

#[derive(serde::Deserialize)]
struct ButtonIn {
    channel: String,
    message_ts: String,
    user: String,
    action_id: String,
}

/// `POST /_sandbox/reply`: a person replies in a thread.
async fn control_reply(AxumState(state): AxumState<Shared>, Json(r): Json<ReplyIn>) -> Json<Value> {
    let ts = Control(state).thread_reply(&r.channel, &r.thread_ts, &r.user, &r.text);
    Json(serde_json::json!({ "ok": true, "ts": ts }))
}

/// `POST /_sandbox/command`: a person runs `/perch <text>`.
async fn control_command(
    AxumState(state): AxumState<Shared>,
    Json(c): Json<CommandIn>,
) -> Json<Value> {
    let envelope = Control(state).slash_command(&c.channel, &c.user, &c.text);
    Json(serde_json::json!({ "ok": true, "envelope_id": envelope }))
}

/// `POST /_sandbox/button`: a person presses a card button.
async fn control_button(
    AxumState(state): AxumState<Shared>,
    Json(b): Json<ButtonIn>,
) -> (axum::http::StatusCode, Json<Value>) {
    match Control(state).press_button(&b.channel, &b.message_ts, &b.user, &b.action_id) {
        Some(envelope) => (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({ "ok": true, "envelope_id": envelope })),
        ),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "ok": false, "error": "no such message or button" })),
        ),
    }
}
