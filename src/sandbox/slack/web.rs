//! The Web API methods of the fake Slack.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::{lock, Message, Shared, State, BOT_ID, BOT_USER, TEAM_ID};

/// Parameters from the query string, a form body or a JSON body (Slack
/// takes all three).
fn params(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        out.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            out.extend(map);
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(body) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    out
}

fn error(code: &str) -> (StatusCode, Value) {
    (StatusCode::OK, json!({ "ok": false, "error": code }))
}

pub async fn call(
    AxumState(state): AxumState<Shared>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, delay) = answer(&state, &method, query.as_deref(), &headers, &body);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

fn answer(
    state: &Shared,
    method: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Response, Option<std::time::Duration>) {
    let method = method.to_owned();
    let p = params(query, headers, body);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| p.get("token").and_then(Value::as_str).map(str::to_owned));
    let mut s = lock(state);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let (status, answer, retry_after) = match token {
        Some(t) if method == "apps.connections.open" => {
            (StatusCode::OK, super::socket::open(&mut s, &t, &host), None)
        }
        None => (error("not_authed").0, error("not_authed").1, None),
        Some(t) if t != s.bot_token => (error("invalid_auth").0, error("invalid_auth").1, None),
        Some(_) => dispatch(&mut s, &method, &p),
    };
    s.calls.push(super::Call {
        method: method.clone(),
        body: Value::Object(p),
        status: status.as_u16(),
        response: answer.clone(),
        at_us: chrono::Utc::now().timestamp_micros(),
    });
    let delay = s.delays.get(&method).copied();
    let mut response = (status, axum::Json(answer)).into_response();
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    (response, delay)
}

fn str_param<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|v| !v.is_empty())
}

fn bool_param(p: &Map<String, Value>, key: &str) -> Option<bool> {
    match p.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true" || s == "1"),
        _ => None,
    }
}

/// `blocks` as JSON, whether sent as JSON or as a string in a form.
fn blocks(p: &Map<String, Value>) -> Option<Value> {
    match p.get("blocks") {
        Some(Value::String(s)) => serde_json::from_str(s).ok(),
        Some(v @ Value::Array(_)) => Some(v.clone()),
        _ => None,
    }
}

/// The text a person sees for a message: the blocks' text when there are
/// blocks, else `text`.
pub fn visible_text(m: &Message) -> String {
    let blocks = match &m.blocks {
        Some(Value::Array(b)) if !b.is_empty() => b,
        _ => return m.text.clone(),
    };
    let mut parts = Vec::new();
    for b in blocks {
        if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
            parts.push(t.to_owned());
        }
        if let Some(Value::Array(fields)) = b.get("fields") {
            parts.extend(
                fields
                    .iter()
                    .filter_map(|f| f.get("text").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        if let Some(Value::Array(elements)) = b.get("elements") {
            let labels: Vec<String> = elements
                .iter()
                .filter_map(|e| {
                    e.pointer("/text/text")
                        .or_else(|| e.get("text"))
                        .and_then(Value::as_str)
                })
                .map(|l| format!("[{l}]"))
                .collect();
            if !labels.is_empty() {
                parts.push(labels.join(" "));
            }
        }
    }
    parts.join(" | ")
}

pub(super) fn message_json(m: &Message) -> Value {
    let mut v = json!({
        "type": "message",
        "user": m.user,
        "text": m.text,
        "ts": m.ts,
    });
    if let Some(b) = &m.bot_id {
        v["bot_id"] = json!(b);
    }
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = json!(t);
    }
    if let Some(b) = &m.blocks {
        v["blocks"] = b.clone();
    }
    if m.edited {
        v["edited"] = json!({ "user": m.user, "ts": m.ts });
    }
    v
}

fn dispatch(
    s: &mut State,
    method: &str,
    p: &Map<String, Value>,
) -> (StatusCode, Value, Option<u64>) {
    let plain = |(status, body): (StatusCode, Value)| (status, body, None);
    let answer = match method {
        "auth.test" => plain((
            StatusCode::OK,
            json!({
                "ok": true, "url": "https://perch-sandbox.slack.com/", "team": "perch sandbox",
                "user": "perch", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID,
            }),
        )),
        "chat.postMessage" => post_message(s, p),
        "chat.update" => plain(update(s, p)),
        "chat.postEphemeral" => plain(ephemeral(s, p)),
        "reactions.add" => plain(react(s, p)),
        "conversations.replies" => plain(replies(s, p)),
        "conversations.history" => plain(history(s, p)),
        "users.info" => plain(
            match str_param(p, "user").and_then(|u| s.users.get(u).map(|n| (u, n))) {
                Some((id, name)) => (
                    StatusCode::OK,
                    json!({ "ok": true, "user": { "id": id, "team_id": TEAM_ID, "name": name, "real_name": name,
                        "profile": { "real_name": name, "display_name": name } } }),
                ),
                None => error("user_not_found"),
            },
        ),
        "usergroups.users.list" => plain(
            match str_param(p, "usergroup").and_then(|g| s.groups.get(g)) {
                Some(users) => (StatusCode::OK, json!({ "ok": true, "users": users })),
                None => error("no_such_subteam"),
            },
        ),
        _ => plain((
            StatusCode::OK,
            json!({ "ok": false, "error": "unknown_method" }),
        )),
    };
    let shown = matches!(
        method,
        "chat.postMessage" | "chat.update" | "chat.postEphemeral" | "reactions.add"
    );
    if shown && answer.1["ok"] == true {
        s.changes.bump();
    }
    answer
}

fn post_message(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value, Option<u64>) {
    let Some(channel) = str_param(p, "channel").map(str::to_owned) else {
        let (a, b) = error("channel_not_found");
        return (a, b, None);
    };
    if !s.channels.contains_key(&channel) {
        let (a, b) = error("channel_not_found");
        return (a, b, None);
    }
    if s.bot_left.contains(&channel) {
        let (a, b) = error("not_in_channel");
        return (a, b, None);
    }
    let text = str_param(p, "text").unwrap_or_default().to_owned();
    let blocks = blocks(p);
    if text.is_empty() && blocks.is_none() {
        let (a, b) = error("no_text");
        return (a, b, None);
    }
    let thread_ts = str_param(p, "thread_ts").map(str::to_owned);
    if let Some(t) = &thread_ts {
        let exists = s
            .channels
            .get(&channel)
            .is_some_and(|m| m.iter().any(|m| &m.ts == t));
        if !exists {
            let (a, b) = error("thread_not_found");
            return (a, b, None);
        }
    }
    if let Err(wait) = s.take_post(&channel, Instant::now()) {
        // Retry-After is whole seconds, rounded up, as Slack sends it.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "ok": false, "error": "ratelimited" }),
            Some(secs.max(1)),
        );
    }
    let ts = s.ts();
    let message = Message {
        ts: ts.clone(),
        thread_ts,
        user: BOT_USER.to_owned(),
        bot_id: Some(BOT_ID.to_owned()),
        text,
        blocks,
        reactions: Vec::new(),
        edited: false,
        unfurl_links: bool_param(p, "unfurl_links"),
        unfurl_media: bool_param(p, "unfurl_media"),
    };
    let json = message_json(&message);
    s.channels
        .entry(channel.clone())
        .or_default()
        .push(message.clone());
    s.message_event(&channel, &message);
    (
        StatusCode::OK,
        json!({ "ok": true, "channel": channel, "ts": ts, "message": json }),
        None,
    )
}

fn find<'a>(
    s: &'a mut State,
    p: &Map<String, Value>,
    ts_key: &str,
) -> Result<&'a mut Message, &'static str> {
    let channel = str_param(p, "channel").ok_or("channel_not_found")?;
    let ts = str_param(p, ts_key).ok_or("message_not_found")?;
    s.channels
        .get_mut(channel)
        .ok_or("channel_not_found")?
        .iter_mut()
        .find(|m| m.ts == ts)
        .ok_or("message_not_found")
}

fn update(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value) {
    let text = str_param(p, "text").map(str::to_owned);
    let new_blocks = blocks(p);
    let message = match find(s, p, "ts") {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    if message.user != BOT_USER {
        return error("cant_update_message");
    }
    if let Some(t) = text {
        message.text = t;
    }
    if new_blocks.is_some() {
        message.blocks = new_blocks;
    }
    message.edited = true;
    let json = message_json(message);
    let (channel, ts) = (
        str_param(p, "channel").unwrap_or_default(),
        message.ts.clone(),
    );
    (
        StatusCode::OK,
        json!({ "ok": true, "channel": channel, "ts": ts, "text": json["text"], "message": json }),
    )
}

fn ephemeral(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value) {
    let (Some(channel), Some(user)) = (str_param(p, "channel"), str_param(p, "user")) else {
        return error("channel_not_found");
    };
    if !s.channels.contains_key(channel) {
        return error("channel_not_found");
    }
    if !s.users.contains_key(user) {
        return error("user_not_in_channel");
    }
    let text = str_param(p, "text").unwrap_or_default().to_owned();
    let ts = s.ts();
    s.ephemerals.push(super::Ephemeral {
        channel: channel.to_owned(),
        user: user.to_owned(),
        thread_ts: str_param(p, "thread_ts").map(str::to_owned),
        text,
        blocks: blocks(p),
        ts: ts.clone(),
    });
    (StatusCode::OK, json!({ "ok": true, "message_ts": ts }))
}

fn react(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value) {
    let Some(name) = str_param(p, "name").map(str::to_owned) else {
        return error("invalid_name");
    };
    match find(s, p, "timestamp") {
        Ok(m) if m.reactions.contains(&name) => error("already_reacted"),
        Ok(m) => {
            m.reactions.push(name);
            (StatusCode::OK, json!({ "ok": true }))
        }
        Err(e) => error(e),
    }
}

/// A channel's top-level messages, newest first (thread replies are not
/// in a channel's history, as on Slack).
fn history(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value) {
    let Some(channel) = str_param(p, "channel") else {
        return error("channel_not_found");
    };
    if s.bot_left.contains(channel) {
        return error("not_in_channel");
    }
    let Some(messages) = s.channels.get(channel) else {
        return error("channel_not_found");
    };
    let limit = p
        .get("limit")
        .and_then(|l| l.as_u64().or_else(|| l.as_str()?.parse().ok()))
        .unwrap_or(100)
        .clamp(1, 999);
    let limit = usize::try_from(limit).unwrap_or(100);
    let top: Vec<&Message> = messages
        .iter()
        .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
        .collect();
    let page: Vec<Value> = top
        .iter()
        .rev()
        .take(limit)
        .map(|m| message_json(m))
        .collect();
    (
        StatusCode::OK,
        json!({ "ok": true, "messages": page, "has_more": top.len() > limit, "pin_count": 0,
                "channel_actions_ts": null, "channel_actions_count": 0 }),
    )
}

fn replies(s: &mut State, p: &Map<String, Value>) -> (StatusCode, Value) {
    let (Some(channel), Some(ts)) = (str_param(p, "channel"), str_param(p, "ts")) else {
        return error("thread_not_found");
    };
    let Some(messages) = s.channels.get(channel) else {
        return error("channel_not_found");
    };
    let thread: Vec<Value> = messages
        .iter()
        .filter(|m| m.ts == ts || m.thread_ts.as_deref() == Some(ts))
        .map(message_json)
        .collect();
    if thread.is_empty() {
        return error("thread_not_found");
    }
    (
        StatusCode::OK,
        json!({ "ok": true, "messages": thread, "has_more": false }),
    )
}
