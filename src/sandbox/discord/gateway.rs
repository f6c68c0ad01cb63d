//! The fake Discord gateway (v10, JSON): HELLO, IDENTIFY, READY with the
//! application id, GUILD_CREATE for the guild, heartbeats and ACKs, and
//! numbered dispatches. Message content is blanked for a client without
//! the MESSAGE_CONTENT intent (1 << 15), as Discord does.

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxumState;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{lock, user_json, Shared, BOT_ID, GUILD_ID};

pub const APPLICATION_ID: u64 = 1_200_000_000_000_000_001;
pub const MESSAGE_CONTENT: u64 = 1 << 15;

/// A gateway session: it outlives its connection, so it can be resumed.
pub(crate) struct Session {
    pub id: String,
    pub intents: u64,
    /// The live connection, if any.
    pub tx: Option<mpsc::UnboundedSender<WsMessage>>,
}

pub(crate) struct Gateway {
    pub sessions: Vec<Session>,
    /// Every dispatch, for replay on RESUME: (seq, event, data).
    pub log: Vec<(u64, String, Value)>,
    pub seq: u64,
    pub serial: u64,
    pub identified: u32,
    pub resumed: u32,
}

fn dispatch_frame(event: &str, seq: u64, data: &Value, intents: u64) -> WsMessage {
    let mut d = data.clone();
    if event == "MESSAGE_CREATE" && intents & MESSAGE_CONTENT == 0 {
        d["content"] = json!("");
        d["embeds"] = json!([]);
        d["components"] = json!([]);
    }
    WsMessage::Text(
        json!({ "op": 0, "t": event, "s": seq, "d": d })
            .to_string()
            .into(),
    )
}

impl Gateway {
    pub fn new() -> Self {
        Self {
            sessions: Vec::new(),
            log: Vec::new(),
            seq: 0,
            serial: 0,
            identified: 0,
            resumed: 0,
        }
    }

    /// Closes every connection abruptly (as a network drop would); the
    /// sessions stay resumable.
    pub fn drop_connections(&mut self) {
        for session in &mut self.sessions {
            if let Some(tx) = session.tx.take() {
                let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
                    code: 4000,
                    reason: "Unknown error.".into(),
                })));
            }
        }
    }

    /// Sends a dispatch to every identified session; `content_of` says
    /// which fields need the MESSAGE_CONTENT intent.
    pub fn dispatch(&mut self, event: &str, data: Value) {
        self.seq += 1;
        for session in &self.sessions {
            if let Some(tx) = &session.tx {
                let _ = tx.send(dispatch_frame(event, self.seq, &data, session.intents));
            }
        }
        self.log.push((self.seq, event.to_owned(), data));
    }
}

pub(super) fn guild_json(s: &super::State) -> Value {
    let channels: Vec<Value> = s
        .channels
        .values()
        .filter(|c| c.kind != 11)
        .map(|c| {
            let mut v = super::channel_json(c);
            v["permission_overwrites"] = super::access::overwrites(s, c.id);
            v
        })
        .collect();
    let threads: Vec<Value> = s
        .channels
        .values()
        .filter(|c| c.kind == 11)
        .map(super::channel_json)
        .collect();
    let mut guild = json!({
        "id": GUILD_ID.to_string(), "name": "perch sandbox", "icon": null, "splash": null, "discovery_splash": null,
        "owner_id": "1400000000000000001", "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "features": [], "mfa_level": 0,
        "application_id": null, "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
        "premium_subscription_count": 0, "preferred_locale": "en-US", "public_updates_channel_id": null,
        "nsfw_level": 0, "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
                "joined_at": chrono::Utc::now().to_rfc3339(), "large": false, "unavailable": false, "member_count": 2,
    });
    let more = json!({
        "roles": super::access::guild_roles(s),
        "emojis": [], "stickers": [], "voice_states": [], "members": [], "presences": [], "stage_instances": [],
                "guild_scheduled_events": [], "soundboard_sounds": [], "channels": channels, "threads": threads,
    });
    if let (Value::Object(g), Value::Object(m)) = (&mut guild, more) {
        g.extend(m);
    }
    guild
}

pub(crate) async fn connect(AxumState(state): AxumState<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(state, socket))
}

async fn session(state: Shared, socket: WebSocket) {
    use futures_util::{SinkExt, StreamExt};
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41250 } });
    let _ = tx.send(WsMessage::Text(hello.to_string().into()));
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let closing = matches!(frame, WsMessage::Close(_));
            if sink.send(frame).await.is_err() || closing {
                break;
            }
        }
    });
    let mut session_id: Option<String> = None;
    while let Some(Ok(frame)) = stream.next().await {
        let WsMessage::Text(text) = frame else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match v["op"].as_u64() {
            Some(1) => {
                let _ = tx.send(WsMessage::Text(json!({ "op": 11 }).to_string().into()));
            }
            Some(2) => match identify(&state, &v, &tx) {
                Some(sid) => session_id = Some(sid),
                None => break,
            },
            Some(6) => {
                if let Some(sid) = resume(&state, &v, &tx) {
                    session_id = Some(sid);
                }
            }
            _ => {}
        }
    }
    if let Some(sid) = session_id {
        let mut s = lock(&state);
        if let Some(session) = s.gateway.sessions.iter_mut().find(|x| x.id == sid) {
            session.tx = None;
        }
    }
    writer.abort();
}

/// IDENTIFY: READY and GUILD_CREATE for a good token (the new session's
/// id); a close with 4004 for a bad one (`None`).
fn identify(state: &Shared, v: &Value, tx: &mpsc::UnboundedSender<WsMessage>) -> Option<String> {
    let mut s = lock(state);
    let token = v["d"]["token"].as_str().unwrap_or_default();
    if token.trim_start_matches("Bot ") != s.token {
        // 4004: authentication failed.
        let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
            code: 4004,
            reason: "Authentication failed.".into(),
        })));
        return None;
    }
    let intents = v["d"]["intents"].as_u64().unwrap_or(0);
    // MESSAGE_CONTENT (1 << 15) without the switch on: 4014.
    if intents & (1 << 15) != 0 && !s.access.message_content {
        let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
            code: 4014,
            reason: "Disallowed intent(s).".into(),
        })));
        return None;
    }
    s.gateway.serial += 1;
    s.gateway.identified += 1;
    let id = s.gateway.serial;
    let sid = format!("session-{id}");
    s.gateway.sessions.push(Session {
        id: sid.clone(),
        intents,
        tx: Some(tx.clone()),
    });
    let ready = json!({
        "v": 10, "user": user_json(BOT_ID, "perch", true), "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
        "session_id": format!("session-{id}"), "resume_gateway_url": format!("ws://{}/gateway", s.addr),
        "shard": [0, 1], "application": { "id": APPLICATION_ID.to_string(), "flags": 0 },
    });
    s.gateway.dispatch("READY", ready);
    let guild = guild_json(&s);
    s.gateway.dispatch("GUILD_CREATE", guild);
    Some(sid)
}

/// RESUME: replay what the session missed, then RESUMED (its id); an
/// unknown session is told to identify again (`None`).
fn resume(state: &Shared, v: &Value, tx: &mpsc::UnboundedSender<WsMessage>) -> Option<String> {
    let mut s = lock(state);
    let sid = v["d"]["session_id"].as_str().unwrap_or_default().to_owned();
    let after = v["d"]["seq"].as_u64().unwrap_or(0);
    let Some(session) = s.gateway.sessions.iter_mut().find(|x| x.id == sid) else {
        // Invalid session, not resumable: identify again.
        let _ = tx.send(WsMessage::Text(
            json!({ "op": 9, "d": false }).to_string().into(),
        ));
        return None;
    };
    session.tx = Some(tx.clone());
    let intents = session.intents;
    s.gateway.resumed += 1;
    for (seq, event, data) in s.gateway.log.iter().filter(|(seq, _, _)| *seq > after) {
        let _ = tx.send(dispatch_frame(event, *seq, data, intents));
    }
    s.gateway.seq += 1;
    let resumed = json!({ "op": 0, "t": "RESUMED", "s": s.gateway.seq, "d": {} });
    let _ = tx.send(WsMessage::Text(resumed.to_string().into()));
    Some(sid)
}
