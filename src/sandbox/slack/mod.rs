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

mod control;
mod control_api;
pub mod socket;
mod web;

pub use control::Control;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::serve::{bind, serve, Served, ANY_PORT};
use axum::extract::{Path, State as AxumState};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

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
    /// Its Block Kit (a preview's buttons), if any.
    pub blocks: Option<Value>,
    pub ts: String,
}

/// How a person's thread reply was sent, as Slack's `subtype` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Plain,
    /// "Also send to channel".
    Broadcast,
    /// With a file attached (its name).
    File(String),
}

/// A Web API call the fake received.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub method: String,
    pub body: Value,
    /// HTTP status and the body answered.
    pub status: u16,
    pub response: Value,
    /// When it was answered, in microseconds since the epoch.
    pub at_us: i64,
}

pub(crate) struct State {
    bot_token: String,
    channels: HashMap<String, Vec<Message>>,
    ephemerals: Vec<Ephemeral>,
    /// Channels the bot was removed from: it cannot post there.
    bot_left: std::collections::HashSet<String>,
    users: HashMap<String, String>,
    groups: HashMap<String, Vec<String>>,
    /// Per channel: one post per `post_interval`, with bursts of up to
    /// `BURST` (Slack: "about one per second, short bursts allowed").
    post_interval: Duration,
    buckets: HashMap<String, (f64, Instant)>,
    serial: u64,
    /// This fake's run, in the ids it makes: Slack's event and trigger ids
    /// are unique for good, so a fake started again on the same store must
    /// not make ids perch has seen (it would drop them as redeliveries).
    run: String,
    calls: Vec<Call>,
    /// Per Web API method: how long answers are held back after the work.
    pub(crate) delays: HashMap<String, Duration>,
    pub(crate) socket: socket::Socket,
    addr: SocketAddr,
    /// Raised at each change people see, for the demo page.
    changes: super::serve::Changes,
}

impl State {
    /// A person's name as people see it (the bot is perch; an unknown id
    /// stays as it is).
    fn name_of(&self, id: &str) -> String {
        if id == BOT_USER {
            return "perch".to_owned();
        }
        self.users.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

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
        self.changes.bump();
        message
    }

    fn socket_serial(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}{}", self.run, self.serial)
    }

    /// The name Slack shows for `user` and a fresh trigger id for what
    /// they just did (a slash command, a button press).
    fn trigger_by(&mut self, user: &str) -> (String, String) {
        let name = self
            .users
            .get(user)
            .cloned()
            .unwrap_or_else(|| user.to_owned());
        (name, self.socket_serial("trigger-"))
    }

    /// Delivers the Events API `message` event Slack sends for every message
    /// in a channel the app is in, its own included.
    fn message_event(&mut self, channel: &str, m: &Message) {
        let payload = self.message_event_payload(channel, m);
        self.socket.deliver("events_api", payload, 0);
    }

    /// Delivers `event` (a `message` event with a subtype) over the socket.
    fn deliver_event(&mut self, event: Value) {
        let payload = self.event_callback(event);
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
        if m.bot_id.is_none() {
            event["client_msg_id"] =
                serde_json::json!(format!("c0ffee00-0000-4000-8000-{:012}", self.serial));
            event["team"] = serde_json::json!(TEAM_ID);
        }
        self.event_callback(event)
    }

    /// Wraps `event` as Slack's `event_callback` envelope body.
    fn event_callback(&mut self, event: Value) -> Value {
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

pub(crate) type Shared = super::serve::Shared<State>;

pub(crate) use super::serve::lock;

/// A running fake Slack.
pub struct FakeSlack {
    addr: SocketAddr,
    control: Control,
    _served: Served,
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
        Self::start_on(ANY_PORT, bot_token, app_token, channels, post_interval).await
    }

    pub async fn start_on(
        addr: SocketAddr,
        bot_token: &str,
        app_token: &str,
        channels: &[&str],
        post_interval: Duration,
    ) -> std::io::Result<Self> {
        let (listener, addr) = bind(addr).await?;
        let mut users = HashMap::new();
        users.insert(BOT_USER.to_owned(), "perch".to_owned());
        let state = Arc::new(Mutex::new(State {
            bot_token: bot_token.to_owned(),
            channels: channels
                .iter()
                .map(|c| ((*c).to_owned(), Vec::new()))
                .collect(),
            ephemerals: Vec::new(),
            bot_left: std::collections::HashSet::new(),
            users,
            groups: HashMap::new(),
            post_interval,
            buckets: HashMap::new(),
            serial: 0,
            run: format!("{:X}", chrono::Utc::now().timestamp_millis()),
            calls: Vec::new(),
            delays: HashMap::new(),
            socket: socket::Socket::new(app_token),
            addr,
            changes: super::serve::Changes::default(),
        }));
        let app = Router::new()
            .route("/api/{method}", get(web::call).post(web::call))
            .route("/link/", get(socket::connect))
            .merge(control_api::routes())
            .with_state(Arc::clone(&state));
        // Redelivery of unacknowledged envelopes runs beside the server.
        let ticker = Arc::clone(&state);
        let redeliver = async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                lock(&ticker).socket.redeliver_overdue();
            }
        };
        Ok(Self {
            addr,
            control: Control(state),
            _served: serve("Slack", listener, app, redeliver),
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
