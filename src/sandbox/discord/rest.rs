//! The fake's REST side: one function per Discord endpoint, behind one
//! dispatcher that checks the token, records each call and its answer.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::json::{
    channel_json, error, message_json, pings, response_components, snowflake, user_json,
};
use super::{gateway, lock, Call, Channel, Message, Shared, State, BOT_ID, GUILD_ID};

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

pub(super) async fn handle(
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
    if method != Method::GET && status < 300 {
        s.changes.bump();
    }
    s.requests.push((method.to_string(), path.clone(), status));
    s.calls.push(Call {
        method: method.to_string(),
        path,
        status,
        body: json_body,
        response: serde_json::from_slice(&answer).unwrap_or(Value::Null),
        at_us: chrono::Utc::now().timestamp_micros(),
    });
    Response::from_parts(parts, axum::body::Body::from(answer))
}

/// Answers one REST call: interaction callbacks and follow-ups are
/// authenticated by their token, everything else by the bot token.
fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    json_body: &Value,
) -> Response {
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v10")
        .trim_matches('/')
        .split('/')
        .collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["interactions", id, token, "callback"]) => {
            return super::interactions::callback(s, id, token, json_body)
        }
        ("POST", ["webhooks", _, token]) => {
            return super::interactions::followup(s, token, json_body)
        }
        _ => {}
    }
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bot {}", s.token));
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    if let Some(answer) = super::access::route(s, method.as_str(), &parts) {
        return answer;
    }
    match (method.as_str(), parts.as_slice()) {
        ("PUT", ["applications", _, "guilds", _, "commands"]) => register_commands(s, json_body),
        ("GET", ["guilds", _, "members", _]) => guild_member(s, num(1), num(3)),
        ("GET", ["guilds", id, "roles"]) if *id == GUILD_ID.to_string() => {
            let mut roles = super::access::guild_roles(s);
            roles.extend(
                s.roles
                    .iter()
                    .map(|(id, name)| super::json::role_json(*id, name)),
            );
            axum::Json(roles).into_response()
        }
        ("GET", ["gateway"]) => {
            axum::Json(json!({ "url": format!("ws://{}/gateway", s.addr) })).into_response()
        }
        ("GET", ["channels", _]) => match num(1).and_then(|id| s.channels.get(&id)) {
            Some(c) => {
                let mut v = channel_json(c);
                v["permission_overwrites"] = super::access::overwrites(s, c.id);
                axum::Json(v).into_response()
            }
            None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("GET", ["channels", _, "messages"]) => channel_messages(s, num(1), query),
        ("POST", ["channels", _, "messages"]) => {
            match num(1).filter(|id| s.channels.contains_key(id)) {
                Some(channel) => create_message(s, channel, json_body),
                None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
            }
        }
        ("PATCH", ["channels", _, "messages", _]) => edit_message(s, num(1), num(3), json_body),
        ("POST", ["channels", _, "messages", _, "threads"]) => {
            thread_from_message(s, num(1), num(3), json_body)
        }
        ("POST", ["channels", _, "threads"]) => forum_post(s, num(1), json_body),
        ("PATCH", ["channels", _]) => edit_channel(s, num(1), json_body),
        ("PUT", ["channels", _, "messages", _, "reactions", emoji, "@me"]) => {
            add_reaction(s, num(1), num(3), emoji)
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

/// `PUT /applications/{app}/guilds/{guild}/commands`: the app's guild
/// commands, replaced.
fn register_commands(s: &mut State, json_body: &Value) -> Response {
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

/// `GET /guilds/{guild}/members/{user}`.
fn guild_member(s: &State, guild: Option<u64>, user: Option<u64>) -> Response {
    if guild != Some(GUILD_ID) {
        return error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    }
    match user.and_then(|u| s.members.get(&u).map(|m| (u, m))) {
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

/// `GET /channels/{id}/messages`: newest first, `after` and `limit`.
fn channel_messages(s: &State, channel: Option<u64>, query: &HashMap<String, String>) -> Response {
    let Some(channel) = channel.filter(|id| s.channels.contains_key(id)) else {
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

/// `PATCH /channels/{id}/messages/{id}`: a message edited (the card).
fn edit_message(
    s: &mut State,
    channel: Option<u64>,
    message: Option<u64>,
    json_body: &Value,
) -> Response {
    let (Some(channel), Some(mid)) = (channel, message) else {
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

/// `POST /channels/{id}/messages/{id}/threads`: a thread from a message,
/// with the message's id.
fn thread_from_message(
    s: &mut State,
    parent: Option<u64>,
    message: Option<u64>,
    json_body: &Value,
) -> Response {
    let (Some(parent), Some(mid)) = (parent, message) else {
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
    // Discord tells the bot's gateway of every new thread it can see.
    s.gateway.dispatch("THREAD_CREATE", thread_created(&v));
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// THREAD_CREATE's payload: the thread, marked newly created.
fn thread_created(thread: &Value) -> Value {
    let mut v = thread.clone();
    v["newly_created"] = json!(true);
    v
}

/// `POST /channels/{forum}/threads`: a forum post with its starter message.
fn forum_post(s: &mut State, forum: Option<u64>, json_body: &Value) -> Response {
    let Some(forum) = forum
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
    s.gateway.dispatch("THREAD_CREATE", thread_created(&v));
    v["message"] = message_json(&starter);
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// `PATCH /channels/{id}`: a thread's applied tags.
fn edit_channel(s: &mut State, channel: Option<u64>, json_body: &Value) -> Response {
    let Some(c) = channel.and_then(|id| s.channels.get_mut(&id)) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    if let Some(tags) = json_body.get("applied_tags").and_then(Value::as_array) {
        c.applied_tags = tags.iter().filter_map(snowflake).collect();
    }
    let v = channel_json(c);
    axum::Json(v).into_response()
}

/// `PUT /channels/{id}/messages/{id}/reactions/{emoji}/@me`.
fn add_reaction(
    s: &mut State,
    channel: Option<u64>,
    message: Option<u64>,
    emoji: &str,
) -> Response {
    let emoji = url::form_urlencoded::parse(format!("e={emoji}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (Some(channel), Some(mid)) = (channel, message) else {
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
    if let Some(refused) = super::access::send_refusal(s, channel) {
        return refused;
    }
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
    if let Some(refused) = super::json::allowed_mentions_refusal(body.get("allowed_mentions")) {
        return refused;
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
