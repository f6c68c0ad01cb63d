//! Socket Mode in the fake Slack: `apps.connections.open` hands out a
//! one-use WebSocket URL; the socket says `hello`, carries envelopes
//! (`events_api`, `slash_commands`, `interactive`), and expects each to be
//! acknowledged with its `envelope_id`. Unacknowledged envelopes are sent
//! again with `retry_attempt` raised (after `redeliver_after`, or on the
//! next connection), and `disconnect` asks the client to reconnect.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{lock, Shared, State};

pub const APP_ID: &str = "A0PERCHAPP";

/// One delivery and what became of it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: String,
    pub kind: &'static str,
    pub payload: Value,
    pub retry_attempt: u32,
    /// Set while it is on a live connection, awaiting its ack.
    pub sent: Option<(u64, Instant)>,
    pub acked_after: Option<Duration>,
    /// Replaced by a retry.
    pub superseded: bool,
}

pub(crate) struct Socket {
    pub app_token: String,
    pub tickets: Vec<String>,
    pub connections: Vec<(u64, mpsc::UnboundedSender<WsMessage>)>,
    pub envelopes: Vec<Envelope>,
    pub redeliver_after: Duration,
    pub serial: u64,
    pub connects: u32,
}

impl Socket {
    pub fn new(app_token: &str) -> Self {
        Self {
            app_token: app_token.to_owned(),
            tickets: Vec::new(),
            connections: Vec::new(),
            envelopes: Vec::new(),
            redeliver_after: Duration::from_secs(3),
            serial: 0,
            connects: 0,
        }
    }

    fn next(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{:08}", self.serial)
    }

    /// Queues a delivery and sends it if a client is connected.
    pub fn deliver(&mut self, kind: &'static str, payload: Value, retry_attempt: u32) -> String {
        let id = self.next("env-");
        self.envelopes.push(Envelope {
            id: id.clone(),
            kind,
            payload,
            retry_attempt,
            sent: None,
            acked_after: None,
            superseded: false,
        });
        self.flush();
        id
    }

    /// Sends every waiting envelope on the newest live connection (a
    /// client that reconnected gets what follows, even while its old
    /// connection lingers).
    pub fn flush(&mut self) {
        let Some((conn, tx)) = self.connections.last().cloned() else {
            return;
        };
        for e in self
            .envelopes
            .iter_mut()
            .filter(|e| e.sent.is_none() && e.acked_after.is_none() && !e.superseded)
        {
            let frame = json!({
                "envelope_id": e.id,
                "type": e.kind,
                "payload": e.payload,
                "accepts_response_payload": e.kind != "events_api",
                "retry_attempt": e.retry_attempt,
                "retry_reason": if e.retry_attempt > 0 { "timeout" } else { "" },
            });
            if tx.send(WsMessage::Text(frame.to_string().into())).is_ok() {
                e.sent = Some((conn, Instant::now()));
            }
        }
    }

    /// Re-sends, as a new envelope with `retry_attempt + 1`, what was not
    /// acknowledged in time (at most three retries, as Slack does).
    pub fn redeliver_overdue(&mut self) {
        let now = Instant::now();
        let overdue: Vec<usize> = self
            .envelopes
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.superseded && e.acked_after.is_none() && e.retry_attempt < 3)
            .filter(|(_, e)| {
                e.sent
                    .is_some_and(|(_, at)| now.duration_since(at) >= self.redeliver_after)
            })
            .map(|(i, _)| i)
            .collect();
        for i in overdue {
            self.envelopes[i].superseded = true;
            let (kind, payload, attempt) = (
                self.envelopes[i].kind,
                self.envelopes[i].payload.clone(),
                self.envelopes[i].retry_attempt,
            );
            self.deliver(kind, payload, attempt + 1);
        }
    }

    fn ack(&mut self, envelope_id: &str) {
        if let Some(e) = self.envelopes.iter_mut().find(|e| e.id == envelope_id) {
            if e.acked_after.is_none() {
                e.acked_after = Some(e.sent.map_or(Duration::ZERO, |(_, at)| at.elapsed()));
            }
        }
    }

    fn disconnected(&mut self, conn: u64) {
        self.connections.retain(|(c, _)| *c != conn);
        for e in self
            .envelopes
            .iter_mut()
            .filter(|e| e.sent.is_some_and(|(c, _)| c == conn) && e.acked_after.is_none())
        {
            e.sent = None;
        }
    }
}

/// `apps.connections.open`: needs the app-level token.
pub(crate) fn open(s: &mut State, token: &str, base: &str) -> Value {
    if token != s.socket.app_token {
        let code = if token.starts_with("xoxb-") {
            "not_allowed_token_type"
        } else {
            "invalid_auth"
        };
        return json!({ "ok": false, "error": code });
    }
    let ticket = s.socket.next("ticket-");
    s.socket.tickets.push(ticket.clone());
    json!({ "ok": true, "url": format!("ws://{base}/link/?ticket={ticket}&app_id={APP_ID}") })
}

#[derive(Deserialize)]
pub struct Ticket {
    ticket: Option<String>,
}

pub(crate) async fn connect(
    AxumState(state): AxumState<Shared>,
    Query(q): Query<Ticket>,
    ws: WebSocketUpgrade,
) -> Response {
    let valid = {
        let mut s = lock(&state);
        let ticket = q.ticket.unwrap_or_default();
        let found = s.socket.tickets.iter().position(|t| *t == ticket);
        // One use per ticket, as Slack's.
        found.map(|i| s.socket.tickets.remove(i)).is_some()
    };
    if !valid {
        return (axum::http::StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    }
    ws.on_upgrade(move |socket| session(state, socket))
}

async fn session(state: Shared, socket: WebSocket) {
    use futures_util::{SinkExt, StreamExt};
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let conn = {
        let mut s = lock(&state);
        s.socket.serial += 1;
        s.socket.connects += 1;
        let conn = s.socket.serial;
        let hello = json!({
            "type": "hello",
            "num_connections": s.socket.connections.len() + 1,
            "debug_info": { "host": "fake-slack", "build_number": 1, "approximate_connection_time": 3600 },
            "connection_info": { "app_id": APP_ID },
        });
        let _ = tx.send(WsMessage::Text(hello.to_string().into()));
        s.socket.connections.push((conn, tx));
        s.socket.flush();
        conn
    };
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let closing = matches!(frame, WsMessage::Close(_));
            if sink.send(frame).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(Ok(frame)) = stream.next().await {
        match frame {
            WsMessage::Text(text) => {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    if let Some(id) = v.get("envelope_id").and_then(Value::as_str) {
                        lock(&state).socket.ack(id);
                    }
                }
            }
            WsMessage::Close(_) => break,
            _ => {}
        }
    }
    lock(&state).socket.disconnected(conn);
    writer.abort();
}

/// Asks every client to reconnect, then closes their sockets.
pub(crate) fn disconnect_all(s: &mut State, reason: &str) {
    let frame =
        json!({ "type": "disconnect", "reason": reason, "debug_info": { "host": "fake-slack" } });
    let conns: Vec<u64> = s.socket.connections.iter().map(|(c, _)| *c).collect();
    for (_, tx) in &s.socket.connections {
        let _ = tx.send(WsMessage::Text(frame.to_string().into()));
        let _ = tx.send(WsMessage::Close(None));
    }
    for c in conns {
        s.socket.disconnected(c);
    }
}
