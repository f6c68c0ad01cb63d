//! A fake Discord REST API (v10) on 127.0.0.1.
//!
//! It checks the `Bot` token, answers Discord's error bodies (`{"message",
//! "code"}`: 401 Unauthorized, 404 Unknown Channel/Message, 400 Invalid
//! Form Body) and per-channel rate limits with the real `X-RateLimit-*`
//! and `Retry-After` headers and the JSON `retry_after`. It works out who
//! a message would ping under its `allowed_mentions` (Discord's default,
//! with none sent, is to parse every mention), so a leak shows.
//! (The gateway arrives with the next part of the Discord adapter.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

pub mod gateway;

pub const GUILD_ID: u64 = 1_300_000_000_000_000_001;
pub const BOT_ID: u64 = 1_200_000_000_000_000_001;

/// A channel: 0 text, 11 public thread, 15 forum.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: u64,
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<u64>,
    /// Forum tags (id, name).
    pub available_tags: Vec<(u64, String)>,
    pub applied_tags: Vec<u64>,
}

/// A message as stored, with who it would have pinged.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub author_name: String,
    pub content: String,
    pub embeds: Value,
    pub components: Value,
    pub reactions: Vec<String>,
    pub edited: bool,
    pub pinged: Vec<String>,
}

pub(crate) struct State {
    token: String,
    channels: HashMap<u64, Channel>,
    messages: Vec<Message>,
    next_id: u64,
    /// Per channel: (remaining, window start).
    windows: HashMap<u64, (u32, Instant)>,
    per_window: u32,
    window: Duration,
    pub requests: Vec<(String, String, u16)>,
    calls: Vec<Call>,
    gateway: gateway::Gateway,
    addr: SocketAddr,
    interactions: HashMap<u64, Pending>,
    /// Guild members seen so far: name and role ids.
    members: HashMap<u64, (String, Vec<u64>)>,
    /// Registered guild commands.
    pub commands: Value,
    followups: Vec<(String, Value)>,
}

/// An interaction sent to the app and what it answered.
struct Pending {
    token: String,
    channel: u64,
    dispatched: Instant,
    /// How long the first response took, and its type.
    first: Option<(Duration, u64)>,
}

/// A request with its JSON payload and the answer, for contract tests.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: Value,
    pub response: Value,
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub struct FakeDiscord {
    addr: SocketAddr,
    control: Control,
    task: JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A route channel to create: (id, name, forum tags; empty = text).
pub struct ChannelSpec<'a> {
    pub id: u64,
    pub name: &'a str,
    pub forum_tags: &'a [&'a str],
}

impl FakeDiscord {
    /// Messages per channel allowed per `window` (Discord: about 5 per 5 s).
    pub async fn start(
        token: &str,
        channels: &[ChannelSpec<'_>],
        per_window: u32,
        window: Duration,
    ) -> std::io::Result<Self> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(any, token, channels, per_window, window).await
    }

    /// `start` on a given address (the sandbox's fixed port).
    pub async fn start_on(
        addr: SocketAddr,
        token: &str,
        channels: &[ChannelSpec<'_>],
        per_window: u32,
        window: Duration,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut map = HashMap::new();
        // Ids are snowflakes: milliseconds since Discord's epoch in the high
        // bits, so "after this id" means "after this moment", as on Discord.
        let since_epoch = chrono::Utc::now().timestamp_millis() - 1_420_070_400_000;
        let mut next_id = u64::try_from(since_epoch).unwrap_or(0) << 22;
        for c in channels {
            let tags = c
                .forum_tags
                .iter()
                .map(|t| {
                    next_id += 1;
                    (next_id, (*t).to_owned())
                })
                .collect::<Vec<_>>();
            map.insert(
                c.id,
                Channel {
                    id: c.id,
                    kind: if c.forum_tags.is_empty() { 0 } else { 15 },
                    name: c.name.to_owned(),
                    parent_id: None,
                    available_tags: tags,
                    applied_tags: Vec::new(),
                },
            );
        }
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            channels: map,
            messages: Vec::new(),
            next_id,
            windows: HashMap::new(),
            per_window,
            window,
            requests: Vec::new(),
            calls: Vec::new(),
            gateway: gateway::Gateway::new(),
            addr,
            interactions: HashMap::new(),
            members: HashMap::new(),
            commands: json!([]),
            followups: Vec::new(),
        }));
        let app = Router::new()
            .route("/gateway", axum::routing::get(gateway::connect))
            .route("/_sandbox/message", axum::routing::post(control_message))
            .route("/_sandbox/command", axum::routing::post(control_command))
            .route("/_sandbox/button", axum::routing::post(control_button))
            .route(
                "/_sandbox/channels/{id}",
                axum::routing::get(control_channel),
            )
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake Discord stopped");
            }
        });
        Ok(Self {
            addr,
            control: Control(state),
            task,
        })
    }

    /// What serenity's `proxy` setting takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Acting as people and reading channels; also served over HTTP under
/// `/_sandbox/` for the demo.
#[derive(Clone)]
pub struct Control(Shared);

impl std::ops::Deref for FakeDiscord {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Control {
    pub fn channel(&self, id: u64) -> Option<Channel> {
        lock(&self.0).channels.get(&id).cloned()
    }

    pub fn messages(&self, channel: u64) -> Vec<Message> {
        lock(&self.0)
            .messages
            .iter()
            .filter(|m| m.channel_id == channel)
            .cloned()
            .collect()
    }

    /// Every request with its payload and answer.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.0).calls.clone()
    }

    /// (method, path, status) of every request.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        lock(&self.0).requests.clone()
    }

    /// A person (`user`, with `roles`) writes in a channel or thread: stored
    /// and dispatched as MESSAGE_CREATE. Returns the message id.
    pub fn user_message(
        &self,
        channel: u64,
        user: u64,
        name: &str,
        roles: &[u64],
        content: &str,
    ) -> u64 {
        let mut s = lock(&self.0);
        s.members.insert(user, (name.to_owned(), roles.to_vec()));
        s.next_id += 1;
        let id = s.next_id;
        s.messages.push(Message {
            id,
            channel_id: channel,
            author_id: user,
            author_name: name.to_owned(),
            content: content.to_owned(),
            embeds: json!([]),
            components: json!([]),
            reactions: Vec::new(),
            edited: false,
            pinged: Vec::new(),
        });
        let data = json!({
            "id": id.to_string(), "channel_id": channel.to_string(), "guild_id": GUILD_ID.to_string(),
            "author": user_json(user, name, false),
            "member": { "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(), "joined_at": chrono::Utc::now().to_rfc3339(),
                        "deaf": false, "mute": false, "flags": 0, "nick": null, "avatar": null, "premium_since": null, "pending": false },
            "content": content, "timestamp": chrono::Utc::now().to_rfc3339(), "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "components": [],
            "pinned": false, "type": 0, "flags": 0,
        });
        s.gateway.dispatch("MESSAGE_CREATE", data);
        id
    }

    fn interaction_base(
        s: &mut State,
        kind: u8,
        channel: u64,
        user: u64,
        name: &str,
        roles: &[u64],
    ) -> (u64, Value) {
        s.members.insert(user, (name.to_owned(), roles.to_vec()));
        s.next_id += 1;
        let id = s.next_id;
        let token = format!("interaction-token-{id}");
        s.interactions.insert(
            id,
            Pending {
                token: token.clone(),
                channel,
                dispatched: Instant::now(),
                first: None,
            },
        );
        let channel_kind = s.channels.get(&channel).map_or(0, |c| c.kind);
        let parent = s.channels.get(&channel).and_then(|c| c.parent_id);
        let v = json!({
            "id": id.to_string(), "application_id": gateway::APPLICATION_ID.to_string(), "type": kind,
            "guild_id": GUILD_ID.to_string(), "channel_id": channel.to_string(),
            "channel": { "id": channel.to_string(), "type": channel_kind, "guild_id": GUILD_ID.to_string(),
                         "parent_id": parent.map(|p| p.to_string()), "flags": 0, "name": "ticket" },
            "member": { "user": user_json(user, name, false), "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                        "permissions": "0", "joined_at": chrono::Utc::now().to_rfc3339(), "deaf": false, "mute": false, "flags": 0,
                        "nick": null, "avatar": null, "premium_since": null, "pending": false },
            "token": token, "version": 1, "app_permissions": "0", "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": { "0": GUILD_ID.to_string() }, "context": 0,
            "attachment_size_limit": 10_485_760,
        });
        (id, v)
    }

    /// A person runs `/perch <sub> [text]` in a channel or thread. Returns
    /// the interaction id.
    pub fn slash_command(
        &self,
        channel: u64,
        user: u64,
        name: &str,
        roles: &[u64],
        sub: &str,
        text: Option<&str>,
    ) -> u64 {
        let mut s = lock(&self.0);
        let (id, mut v) = Self::interaction_base(&mut s, 2, channel, user, name, roles);
        let options = match text {
            Some(t) => json!([{ "name": "text", "type": 3, "value": t }]),
            None => json!([]),
        };
        v["data"] = json!({ "id": "1600000000000000001", "name": "perch", "type": 1, "guild_id": GUILD_ID.to_string(),
                            "options": [{ "name": sub, "type": 1, "options": options }] });
        s.gateway.dispatch("INTERACTION_CREATE", v);
        id
    }

    /// A person presses a button on a message. Returns the interaction id.
    pub fn press_button(
        &self,
        channel: u64,
        message: u64,
        user: u64,
        name: &str,
        custom_id: &str,
    ) -> Option<u64> {
        let mut s = lock(&self.0);
        let card = s
            .messages
            .iter()
            .find(|m| m.id == message && m.channel_id == channel)?
            .clone();
        let (id, mut v) = Self::interaction_base(&mut s, 3, channel, user, name, &[]);
        v["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
        v["message"] = message_json(&card);
        s.gateway.dispatch("INTERACTION_CREATE", v);
        Some(id)
    }

    /// A text channel as a person sees it: each card (title and status)
    /// with its thread's messages indented below, marks in brackets.
    pub fn render(&self, channel: u64) -> String {
        let s = lock(&self.0);
        let line = |m: &Message| {
            let card = m.embeds.get(0).map(|e| {
                let status = e["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|f| f["name"] == "Status" || f["name"] == "Holder")
                    .filter_map(|f| f["value"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "[card] {} ({status})",
                    e["title"].as_str().unwrap_or_default()
                )
            });
            let marks = if m.reactions.is_empty() {
                String::new()
            } else {
                format!(" [{}]", m.reactions.join(" "))
            };
            format!(
                "{}: {}{marks}",
                m.author_name,
                card.unwrap_or_else(|| m.content.clone())
            )
        };
        let mut out = String::new();
        for parent in s.messages.iter().filter(|m| m.channel_id == channel) {
            out.push_str(&line(parent));
            out.push('\n');
            for reply in s.messages.iter().filter(|m| m.channel_id == parent.id) {
                out.push_str(&format!("    ↳ {}\n", line(reply)));
            }
        }
        out
    }

    /// How long the first response to an interaction took, and its type.
    pub fn interaction_response(&self, id: u64) -> Option<(Duration, u64)> {
        let s = lock(&self.0);
        s.interactions.get(&id)?.first
    }

    /// Follow-up messages sent with an interaction's token.
    pub fn followups(&self) -> Vec<(String, Value)> {
        lock(&self.0).followups.clone()
    }

    /// The guild commands registered.
    pub fn registered_commands(&self) -> Value {
        lock(&self.0).commands.clone()
    }

    /// Drops every gateway connection abruptly; sessions stay resumable.
    pub fn drop_gateway(&self) {
        lock(&self.0).gateway.drop_connections();
    }

    /// Invalidates every session (op 9, not resumable): clients identify
    /// again, and nothing from the gap is replayed on the gateway.
    pub fn invalidate_sessions(&self) {
        let mut s = lock(&self.0);
        for session in s.gateway.sessions.drain(..) {
            if let Some(tx) = session.tx {
                let _ = tx.send(axum::extract::ws::Message::Text(
                    json!({ "op": 9, "d": false }).to_string().into(),
                ));
            }
        }
    }

    /// How many times a session was resumed.
    pub fn resumed(&self) -> u32 {
        lock(&self.0).gateway.resumed
    }

    /// How many sessions identified so far.
    pub fn identified(&self) -> u32 {
        lock(&self.0).gateway.identified
    }

    /// A forum tag's name.
    pub fn tag_name(&self, forum: u64, tag: u64) -> Option<String> {
        let s = lock(&self.0);
        s.channels
            .get(&forum)?
            .available_tags
            .iter()
            .find(|(id, _)| *id == tag)
            .map(|(_, n)| n.clone())
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "message": message, "code": code })),
    )
        .into_response()
}

pub(crate) fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(), "username": name, "discriminator": "0", "global_name": name, "avatar": null,
        "bot": bot, "public_flags": 0, "flags": 0, "primary_guild": null,
    })
}

pub(crate) fn channel_json(c: &Channel) -> Value {
    let mut v = json!({
        "id": c.id.to_string(), "type": c.kind, "guild_id": GUILD_ID.to_string(), "name": c.name,
        "position": 0, "permission_overwrites": [], "nsfw": false, "flags": 0,
        "parent_id": c.parent_id.map(|p| p.to_string()),
    });
    if c.kind == 15 {
        v["available_tags"] = json!(c
            .available_tags
            .iter()
            .map(|(id, name)| json!({ "id": id.to_string(), "name": name, "moderated": false, "emoji_id": null, "emoji_name": null }))
            .collect::<Vec<_>>());
    }
    if c.kind == 11 {
        v["total_message_sent"] = json!(0);
        v["owner_id"] = json!(BOT_ID.to_string());
        v["message_count"] = json!(0);
        v["member_count"] = json!(1);
        v["rate_limit_per_user"] = json!(0);
        v["applied_tags"] = json!(c
            .applied_tags
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>());
        v["thread_metadata"] = json!({
            "archived": false, "auto_archive_duration": 4320, "archive_timestamp": chrono::Utc::now().to_rfc3339(), "locked": false,
        });
    }
    v
}

fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id.to_string(), "channel_id": m.channel_id.to_string(), "guild_id": GUILD_ID.to_string(),
                "author": user_json(m.author_id, &m.author_name, m.author_id == BOT_ID),
        "content": m.content, "timestamp": chrono::Utc::now().to_rfc3339(),
        "edited_timestamp": if m.edited { json!(chrono::Utc::now().to_rfc3339()) } else { Value::Null },
        "tts": false, "mention_everyone": m.pinged.iter().any(|p| p == "everyone"),
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": m.embeds, "components": m.components,
        "reactions": m.reactions.iter().map(|r| json!({ "count": 1, "count_details": { "burst": 0, "normal": 1 }, "burst_colors": [], "me_burst": false, "me": true, "emoji": { "id": null, "name": r } })).collect::<Vec<_>>(),
        "pinned": false, "type": 0, "flags": 0,
    })
}

/// Who a message pings: Discord parses every mention unless
/// `allowed_mentions` says otherwise.
fn pings(content: &str, allowed: Option<&Value>) -> Vec<String> {
    let parse: Vec<String> = match allowed {
        None => vec!["everyone".into(), "users".into(), "roles".into()],
        Some(a) => a
            .get("parse")
            .and_then(Value::as_array)
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut out = Vec::new();
    if parse.iter().any(|p| p == "everyone")
        && (content.contains("@everyone") || content.contains("@here"))
    {
        out.push("everyone".to_owned());
    }
    for (i, _) in content.match_indices("<@") {
        let rest = &content[i + 2..];
        let (kind, rest) = match rest.strip_prefix('&') {
            Some(r) => ("roles", r),
            None => ("users", rest.strip_prefix('!').unwrap_or(rest)),
        };
        let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !id.is_empty() && rest[id.len()..].starts_with('>') && parse.iter().any(|p| p == kind) {
            out.push(format!("{kind}:{id}"));
        }
    }
    out
}

/// The JSON of a request: the body itself, or the `payload_json` part of a
/// `multipart/form-data` body (as Discord takes when files may come along).
async fn payload(headers: &HeaderMap, body: Bytes) -> Value {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Ok(boundary) = multer::parse_boundary(content_type) {
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut parts = multer::Multipart::new(stream, boundary);
        while let Ok(Some(field)) = parts.next_field().await {
            if field.name() == Some("payload_json") {
                let bytes = field.bytes().await.unwrap_or_default();
                return serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            }
        }
        return Value::Null;
    }
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

async fn handle(
    AxumState(state): AxumState<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let json_body = payload(&headers, body).await;
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let response = route(
        &mut lock(&state),
        &method,
        &path,
        &query,
        &headers,
        &json_body,
    );
    let (parts, answer) = response.into_parts();
    let answer = axum::body::to_bytes(answer, 1 << 24)
        .await
        .unwrap_or_default();
    let status = parts.status.as_u16();
    let mut s = lock(&state);
    s.requests.push((method.to_string(), path.clone(), status));
    s.calls.push(Call {
        method: method.to_string(),
        path,
        status,
        body: json_body,
        response: serde_json::from_slice(&answer).unwrap_or(Value::Null),
    });
    Response::from_parts(parts, axum::body::Body::from(answer))
}

fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    json_body: &Value,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bot {}", s.token));
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v10")
        .trim_matches('/')
        .split('/')
        .collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
    // Interaction callbacks and follow-ups authenticate by their token.
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["interactions", id, token, "callback"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            return match s.interactions.get_mut(&id) {
                Some(p) if p.token == *token => {
                    if p.first.is_some() {
                        return error(
                            StatusCode::BAD_REQUEST,
                            40060,
                            "Interaction has already been acknowledged.",
                        );
                    }
                    let kind = json_body.get("type").and_then(Value::as_u64).unwrap_or(0);
                    p.first = Some((p.dispatched.elapsed(), kind));
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => error(StatusCode::NOT_FOUND, 10062, "Unknown interaction"),
            };
        }
        ("POST", ["webhooks", _, token]) => {
            let Some(channel) = s
                .interactions
                .values()
                .find(|p| p.token == *token && p.first.is_some())
                .map(|p| p.channel)
            else {
                return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            };
            s.followups.push(((*token).to_owned(), json_body.clone()));
            s.next_id += 1;
            let m = Message {
                id: s.next_id,
                channel_id: channel,
                author_id: BOT_ID,
                author_name: "perch".to_owned(),
                content: json_body
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                embeds: json!([]),
                components: json!([]),
                reactions: Vec::new(),
                edited: false,
                pinged: Vec::new(),
            };
            return axum::Json(message_json(&m)).into_response();
        }
        _ => {}
    }
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    match (method.as_str(), parts.as_slice()) {
        ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let mut commands = json_body.as_array().cloned().unwrap_or_default();
            for (i, c) in commands.iter_mut().enumerate() {
                c["id"] = json!((1_600_000_000_000_000_001_u64 + i as u64).to_string());
                c["application_id"] = json!(gateway::APPLICATION_ID.to_string());
                c["guild_id"] = json!(GUILD_ID.to_string());
                c["version"] = json!("1");
                c["type"] = c.get("type").cloned().unwrap_or(json!(1));
                c["default_member_permissions"] = Value::Null;
                c["nsfw"] = json!(false);
            }
            s.commands = Value::Array(commands.clone());
            axum::Json(Value::Array(commands)).into_response()
        }
        ("GET", ["guilds", _, "members", _]) => {
            if num(1) != Some(GUILD_ID) {
                return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
            }
            match num(3).and_then(|u| s.members.get(&u).map(|m| (u, m))) {
                Some((user, (name, roles))) => axum::Json(json!({
                    "user": user_json(user, name, false),
                    "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "nick": null, "avatar": null, "banner": null, "premium_since": null,
                    "communication_disabled_until": null, "joined_at": chrono::Utc::now().to_rfc3339(),
                    "flags": 0, "pending": false, "mute": false, "deaf": false,
                }))
                .into_response(),
                None => error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
            }
        }
        ("GET", ["gateway"]) => {
            axum::Json(json!({ "url": format!("ws://{}/gateway", s.addr) })).into_response()
        }
        ("GET", ["channels", _]) => match num(1).and_then(|id| s.channels.get(&id)) {
            Some(c) => axum::Json(channel_json(c)).into_response(),
            None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("GET", ["channels", _, "messages"]) => {
            let Some(channel) = num(1).filter(|id| s.channels.contains_key(id)) else {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            let after = query
                .get("after")
                .and_then(|a| a.parse::<u64>().ok())
                .unwrap_or(0);
            let limit = query
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, 100);
            // Newest first, as Discord answers.
            let mut found: Vec<Value> = s
                .messages
                .iter()
                .filter(|m| m.channel_id == channel && m.id > after)
                .map(message_json)
                .collect();
            found.reverse();
            found.truncate(limit);
            axum::Json(Value::Array(found)).into_response()
        }
        ("POST", ["channels", _, "messages"]) => {
            let Some(channel) = num(1).filter(|id| s.channels.contains_key(id)) else {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            create_message(s, channel, json_body)
        }
        ("PATCH", ["channels", _, "messages", _]) => {
            let (Some(channel), Some(mid)) = (num(1), num(3)) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            let Some(m) = s
                .messages
                .iter_mut()
                .find(|m| m.id == mid && m.channel_id == channel)
            else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if let Some(e) = json_body.get("embeds") {
                m.embeds = e.clone();
            }
            if let Some(c) = json_body.get("components") {
                m.components = response_components(Some(c));
            }
            if let Some(c) = json_body.get("content").and_then(Value::as_str) {
                m.content = c.to_owned();
            }
            m.edited = true;
            axum::Json(message_json(m)).into_response()
        }
        ("POST", ["channels", _, "messages", _, "threads"]) => {
            let (Some(parent), Some(mid)) = (num(1), num(3)) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            if !s
                .messages
                .iter()
                .any(|m| m.id == mid && m.channel_id == parent)
            {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            }
            let name = json_body
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            }
            if s.channels.contains_key(&mid) {
                return error(
                    StatusCode::BAD_REQUEST,
                    160_004,
                    "A thread has already been created for this message",
                );
            }
            // A thread started from a message takes the message's id.
            let thread = Channel {
                id: mid,
                kind: 11,
                name,
                parent_id: Some(parent),
                available_tags: Vec::new(),
                applied_tags: Vec::new(),
            };
            let v = channel_json(&thread);
            s.channels.insert(mid, thread);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        ("POST", ["channels", _, "threads"]) => {
            let Some(forum) = num(1)
                .and_then(|id| s.channels.get(&id))
                .filter(|c| c.kind == 15)
                .cloned()
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    50024,
                    "Cannot execute action on this channel type",
                );
            };
            let name = json_body
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let applied: Vec<u64> = json_body
                .get("applied_tags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(snowflake).collect())
                .unwrap_or_default();
            if applied
                .iter()
                .any(|t| !forum.available_tags.iter().any(|(id, _)| id == t))
            {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            }
            s.next_id += 1;
            let id = s.next_id;
            let thread = Channel {
                id,
                kind: 11,
                name,
                parent_id: Some(forum.id),
                available_tags: Vec::new(),
                applied_tags: applied,
            };
            s.channels.insert(id, thread.clone());
            let message = json_body.get("message").cloned().unwrap_or(Value::Null);
            // The starter message lives in the post and has the post's id.
            let starter = store_message(s, id, id, &message);
            let mut v = channel_json(&thread);
            v["message"] = message_json(&starter);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        ("PATCH", ["channels", _]) => {
            let Some(c) = num(1).and_then(|id| s.channels.get_mut(&id)) else {
                return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            if let Some(tags) = json_body.get("applied_tags").and_then(Value::as_array) {
                c.applied_tags = tags.iter().filter_map(snowflake).collect();
            }
            let v = channel_json(c);
            axum::Json(v).into_response()
        }
        ("PUT", ["channels", _, "messages", _, "reactions", emoji, "@me"]) => {
            let emoji = url::form_urlencoded::parse(format!("e={emoji}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let (Some(channel), Some(mid)) = (num(1), num(3)) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            match s
                .messages
                .iter_mut()
                .find(|m| m.id == mid && m.channel_id == channel)
            {
                Some(m) => {
                    if !m.reactions.contains(&emoji) {
                        m.reactions.push(emoji);
                    }
                    StatusCode::NO_CONTENT.into_response()
                }
                None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            }
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

/// Components as Discord answers them: each with a numeric `id` in the
/// message, buttons keeping their `custom_id`, `style` and `label`.
fn response_components(sent: Option<&Value>) -> Value {
    let mut next = 0;
    let mut id = || {
        next += 1;
        next
    };
    let rows = sent.and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        rows.iter()
            .map(|row| {
                let row_id = id();
                let children: Vec<Value> = row
                    .get("components")
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter()
                            .map(|b| {
                                json!({
                                    "type": b.get("type").cloned().unwrap_or(json!(2)), "id": id(),
                                    "custom_id": b.get("custom_id"), "style": b.get("style").cloned().unwrap_or(json!(1)),
                                    "label": b.get("label"), "disabled": b.get("disabled").cloned().unwrap_or(json!(false)),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!({ "type": 1, "id": row_id, "components": children })
            })
            .collect(),
    )
}

/// A snowflake as Discord accepts it: a string or a number.
fn snowflake(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn store_message(s: &mut State, channel: u64, id: u64, body: &Value) -> Message {
    let content = body
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let message = Message {
        id,
        channel_id: channel,
        author_id: BOT_ID,
        author_name: "perch".to_owned(),
        pinged: pings(&content, body.get("allowed_mentions")),
        content,
        embeds: body.get("embeds").cloned().unwrap_or_else(|| json!([])),
        components: response_components(body.get("components")),
        reactions: Vec::new(),
        edited: false,
    };
    s.messages.push(message.clone());
    message
}

fn create_message(s: &mut State, channel: u64, body: &Value) -> Response {
    let empty = body
        .get("content")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && body
            .get("embeds")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
    if empty {
        return error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        );
    }
    let (per, window) = (s.per_window, s.window);
    let now = Instant::now();
    let (remaining, start) = s.windows.entry(channel).or_insert((per, now));
    if now.duration_since(*start) >= window {
        *remaining = per;
        *start = now;
    }
    let reset_after = window
        .saturating_sub(now.duration_since(*start))
        .as_secs_f64();
    let headers = |remaining: u32| {
        let mut h = HeaderMap::new();
        let reset = chrono::Utc::now().timestamp() as f64 + reset_after;
        for (k, v) in [
            ("x-ratelimit-limit", per.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", format!("{reset:.3}")),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ("x-ratelimit-bucket", format!("channel-{channel}")),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        h
    };
    if *remaining == 0 {
        let mut h = headers(0);
        if let Ok(v) = HeaderValue::from_str(&format!("{}", reset_after.ceil().max(1.0) as u64)) {
            h.insert(header::RETRY_AFTER, v);
        }
        let body = json!({ "message": "You are being rate limited.", "retry_after": reset_after, "global": false });
        return (StatusCode::TOO_MANY_REQUESTS, h, axum::Json(body)).into_response();
    }
    *remaining -= 1;
    let left = *remaining;
    s.next_id += 1;
    let id = s.next_id;
    let m = store_message(s, channel, id, body);
    // Discord tells the gateway about the bot's own messages too.
    s.gateway.dispatch("MESSAGE_CREATE", message_json(&m));
    (headers(left), axum::Json(message_json(&m))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_allowed_mentions_discord_would_ping_everyone_named() {
        let text = "@everyone hi <@&15> and <@!42> and <@7>";
        assert_eq!(
            pings(text, None),
            ["everyone", "roles:15", "users:42", "users:7"]
        );
        assert!(pings(text, Some(&json!({ "parse": [] }))).is_empty());
        assert_eq!(
            pings(text, Some(&json!({ "parse": ["users"] }))),
            ["users:42", "users:7"]
        );
        assert!(pings("<@notanid>", None).is_empty());
    }
}

#[derive(serde::Deserialize)]
struct MessageIn {
    channel: u64,
    user: u64,
    name: String,
    #[serde(default)]
    roles: Vec<u64>,
    text: String,
}

#[derive(serde::Deserialize)]
struct CommandIn {
    channel: u64,
    user: u64,
    name: String,
    #[serde(default)]
    roles: Vec<u64>,
    subcommand: String,
    text: Option<String>,
}

#[derive(serde::Deserialize)]
struct ButtonIn {
    channel: u64,
    message: u64,
    user: u64,
    name: String,
    custom_id: String,
}

/// `POST /_sandbox/message`: a person writes in a channel or thread.
async fn control_message(
    AxumState(state): AxumState<Shared>,
    axum::Json(m): axum::Json<MessageIn>,
) -> axum::Json<Value> {
    let id = Control(state).user_message(m.channel, m.user, &m.name, &m.roles, &m.text);
    axum::Json(json!({ "id": id.to_string() }))
}

/// `POST /_sandbox/command`: a person runs `/perch <subcommand> [text]`.
async fn control_command(
    AxumState(state): AxumState<Shared>,
    axum::Json(c): axum::Json<CommandIn>,
) -> axum::Json<Value> {
    let id = Control(state).slash_command(
        c.channel,
        c.user,
        &c.name,
        &c.roles,
        &c.subcommand,
        c.text.as_deref(),
    );
    axum::Json(json!({ "interaction_id": id.to_string() }))
}

/// `POST /_sandbox/button`: a person presses a button on a message.
async fn control_button(
    AxumState(state): AxumState<Shared>,
    axum::Json(b): axum::Json<ButtonIn>,
) -> Response {
    match Control(state).press_button(b.channel, b.message, b.user, &b.name, &b.custom_id) {
        Some(id) => axum::Json(json!({ "interaction_id": id.to_string() })).into_response(),
        None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
    }
}

/// `GET /_sandbox/channels/{id}`: a channel's messages as people see them.
async fn control_channel(
    AxumState(state): AxumState<Shared>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> axum::Json<Value> {
    let messages: Vec<Value> = Control(state)
        .messages(id)
        .iter()
        .map(|m| {
            json!({
                "id": m.id.to_string(), "author": m.author_name, "content": m.content,
                "card": m.embeds.get(0).map(|e| e["title"].clone()), "pinged": m.pinged, "reactions": m.reactions,
            })
        })
        .collect();
    axum::Json(json!({ "channel": id.to_string(), "messages": messages }))
}
