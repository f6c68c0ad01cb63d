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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{json, Value};

mod access;
mod control;
pub mod gateway;
mod interactions;
mod json;
mod rest;

use super::serve::{bind, serve, Served, ANY_PORT};
use json::message_json;
pub(crate) use json::{channel_json, user_json};

pub const GUILD_ID: u64 = 1_300_000_000_000_000_001;
pub const BOT_ID: u64 = 1_200_000_000_000_000_001;
/// The sandbox guild's ordinary channel, where people chat.
pub const GENERAL: u64 = 1_100_000_000_000_000_099;

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
    /// The guild's roles by id: their names.
    roles: HashMap<u64, String>,
    /// Registered guild commands.
    pub commands: Value,
    followups: Vec<(String, Value)>,
    /// Ephemeral follow-ups: whom each is shown to.
    whispers: Vec<(u64, Message)>,
    /// The bot's intents and permissions.
    access: access::Access,
    /// Raised at each change people see, for the demo page.
    changes: super::serve::Changes,
}

/// An interaction sent to the app and what it answered.
struct Pending {
    token: String,
    channel: u64,
    /// Who acted.
    user: u64,
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
    /// When it was answered, in microseconds since the epoch.
    pub at_us: i64,
}

pub(crate) use super::serve::lock;

pub(crate) type Shared = super::serve::Shared<State>;

pub struct FakeDiscord {
    addr: SocketAddr,
    control: Control,
    _served: Served,
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
        Self::start_on(ANY_PORT, token, channels, per_window, window).await
    }

    /// `start` on a given address (the sandbox's fixed port).
    pub async fn start_on(
        addr: SocketAddr,
        token: &str,
        channels: &[ChannelSpec<'_>],
        per_window: u32,
        window: Duration,
    ) -> std::io::Result<Self> {
        let (listener, addr) = bind(addr).await?;
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
            roles: HashMap::new(),
            commands: json!([]),
            followups: Vec::new(),
            whispers: Vec::new(),
            access: access::Access::default(),
            changes: super::serve::Changes::default(),
        }));
        let app = Router::new()
            .route("/gateway", axum::routing::get(gateway::connect))
            .merge(control::routes())
            .fallback(rest::handle)
            .with_state(Arc::clone(&state));
        Ok(Self {
            addr,
            control: Control(state),
            _served: serve("Discord", listener, app, std::future::pending()),
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

    /// From now on, `per_window` messages per channel per `window` (the
    /// current windows start again).
    pub fn set_rate_limit(&self, per_window: u32, window: Duration) {
        let mut s = lock(&self.0);
        s.per_window = per_window;
        s.window = window;
        s.windows.clear();
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
            "mention_everyone": false, "mentions": json::mentions(&s.members, content),
            "mention_roles": json::mentioned_roles(content), "attachments": [], "embeds": [], "components": [],
            "pinned": false, "type": 0, "flags": 0,
        });
        s.gateway.dispatch("MESSAGE_CREATE", data);
        s.changes.bump();
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
                user,
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
            .find(|m| m.id == message && m.channel_id == channel)
            .or_else(|| {
                s.whispers
                    .iter()
                    .find(|(to, m)| *to == user && m.id == message && m.channel_id == channel)
                    .map(|(_, m)| m)
            })?
            .clone();
        let (id, mut v) = Self::interaction_base(&mut s, 3, channel, user, name, &[]);
        v["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
        v["message"] = message_json(&card);
        s.gateway.dispatch("INTERACTION_CREATE", v);
        Some(id)
    }

    /// How long the first response to an interaction took, and its type.
    pub fn interaction_response(&self, id: u64) -> Option<(Duration, u64)> {
        let s = lock(&self.0);
        s.interactions.get(&id)?.first
    }

    /// Ephemeral follow-ups shown to `user`.
    pub fn whispers_for(&self, user: u64) -> Vec<Message> {
        lock(&self.0)
            .whispers
            .iter()
            .filter(|(to, _)| *to == user)
            .map(|(_, m)| m.clone())
            .collect()
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
