//! The fake Slack's control API over HTTP (`/_sandbox/...`), for the
//! demo page and curl: read a channel, what only a person sees, who is
//! here; act as a person (a thread reply, `/perch`, a button, an edit or
//! a deletion); follow the changes as server-sent events.

use super::control::{render, Control};
use super::*;

/// A control call about a channel the fake does not have.
fn no_channel(id: &str) -> (axum::http::StatusCode, Json<Value>) {
    (
        axum::http::StatusCode::NOT_FOUND,
        Json(serde_json::json!({
            "ok": false, "error": "channel_not_found",
            "detail": format!("the sandbox's Slack has no channel {id}; GET /_sandbox/people lists who is here and the channels"),
        })),
    )
}

/// `GET /_sandbox/channels/{id}`: every message of a channel (thread
/// replies too, with their Block Kit), and the channel as people read it.
async fn control_channel(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> (axum::http::StatusCode, Json<Value>) {
    let s = lock(&state);
    let Some(messages) = s.channels.get(&id) else {
        return no_channel(&id);
    };
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut v = web::message_json(m);
            v["reactions"] = serde_json::json!(m.reactions);
            v["user_name"] = serde_json::json!(s.name_of(&m.user));
            v
        })
        .collect();
    (
        axum::http::StatusCode::OK,
        Json(serde_json::json!({
            "channel": id,
            "messages": messages,
            "as_seen": render(&s, &id),
        })),
    )
}

/// `GET /_sandbox/ephemerals/{user}`: what only that person was shown.
async fn control_ephemerals(
    AxumState(state): AxumState<Shared>,
    Path(user): Path<String>,
) -> Json<Value> {
    Json(serde_json::json!({ "user": user, "ephemerals": Control(state).ephemerals_for(&user) }))
}

/// `GET /_sandbox/people`: the workspace's people and channels.
async fn control_people(AxumState(state): AxumState<Shared>) -> Json<Value> {
    let s = lock(&state);
    let mut people: Vec<Value> = s
        .users
        .iter()
        .map(|(id, name)| serde_json::json!({ "id": id, "name": name }))
        .collect();
    people.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let mut channels: Vec<&String> = s.channels.keys().collect();
    channels.sort();
    Json(serde_json::json!({ "people": people, "channels": channels }))
}

/// `GET /_sandbox/events`: an event at each change people see.
async fn control_events(AxumState(state): AxumState<Shared>) -> impl axum::response::IntoResponse {
    let changes = lock(&state).changes.clone();
    changes.events()
}

#[derive(serde::Deserialize)]
struct ReplyIn {
    channel: String,
    thread_ts: String,
    user: String,
    text: String,
    /// "Also send to channel".
    #[serde(default)]
    broadcast: bool,
    /// A file's name, attached to the reply.
    file: Option<String>,
}

#[derive(serde::Deserialize)]
struct ChangeIn {
    channel: String,
    ts: String,
    user: String,
    /// The new text (an edit); none for a delete.
    text: Option<String>,
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

/// `POST /_sandbox/reply`: a person replies in a thread (404 when the
/// channel or the thread's first message is not there).
async fn control_reply(
    AxumState(state): AxumState<Shared>,
    Json(r): Json<ReplyIn>,
) -> (axum::http::StatusCode, Json<Value>) {
    {
        let s = lock(&state);
        let Some(messages) = s.channels.get(&r.channel) else {
            return no_channel(&r.channel);
        };
        let root = messages
            .iter()
            .any(|m| m.ts == r.thread_ts && m.thread_ts.as_ref().is_none_or(|t| *t == m.ts));
        if !root {
            return (
                axum::http::StatusCode::NOT_FOUND,
                Json(serde_json::json!({
                    "ok": false, "error": "thread_not_found",
                    "detail": format!("no message {} starts a thread in {}: thread_ts is the ts of the card (GET /_sandbox/channels/{})", r.thread_ts, r.channel, r.channel),
                })),
            );
        }
    }
    let kind = match (r.file, r.broadcast) {
        (Some(name), _) => ReplyKind::File(name),
        (None, true) => ReplyKind::Broadcast,
        (None, false) => ReplyKind::Plain,
    };
    let ts = Control(state).thread_reply_as(&r.channel, &r.thread_ts, &r.user, &r.text, kind);
    (
        axum::http::StatusCode::OK,
        Json(serde_json::json!({ "ok": true, "ts": ts })),
    )
}

/// `POST /_sandbox/edit`: a person changes their message.
async fn control_edit(
    AxumState(state): AxumState<Shared>,
    Json(c): Json<ChangeIn>,
) -> (axum::http::StatusCode, Json<Value>) {
    let text = c.text.unwrap_or_default();
    changed(Control(state).edit_message(&c.channel, &c.ts, &c.user, &text))
}

/// `POST /_sandbox/delete`: a person deletes their message.
async fn control_delete(
    AxumState(state): AxumState<Shared>,
    Json(c): Json<ChangeIn>,
) -> (axum::http::StatusCode, Json<Value>) {
    changed(Control(state).delete_message(&c.channel, &c.ts, &c.user))
}

fn changed(done: bool) -> (axum::http::StatusCode, Json<Value>) {
    if done {
        (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({ "ok": true })),
        )
    } else {
        (
            axum::http::StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "ok": false, "error": "message_not_found" })),
        )
    }
}

/// `POST /_sandbox/command`: a person runs `/perch <text>`.
async fn control_command(
    AxumState(state): AxumState<Shared>,
    Json(c): Json<CommandIn>,
) -> (axum::http::StatusCode, Json<Value>) {
    if !lock(&state).channels.contains_key(&c.channel) {
        return no_channel(&c.channel);
    }
    let envelope = Control(state).slash_command(&c.channel, &c.user, &c.text);
    (
        axum::http::StatusCode::OK,
        Json(serde_json::json!({ "ok": true, "envelope_id": envelope })),
    )
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

/// The control routes, beside the Web API.
pub(super) fn routes() -> Router<Shared> {
    let control = Router::new()
        .route("/_sandbox/channels/{id}", get(control_channel))
        .route("/_sandbox/ephemerals/{user}", get(control_ephemerals))
        .route("/_sandbox/people", get(control_people))
        .route("/_sandbox/events", get(control_events))
        .route("/_sandbox/reply", axum::routing::post(control_reply))
        .route("/_sandbox/command", axum::routing::post(control_command))
        .route("/_sandbox/button", axum::routing::post(control_button))
        .route("/_sandbox/edit", axum::routing::post(control_edit))
        .route("/_sandbox/delete", axum::routing::post(control_delete));
    super::super::serve::for_the_page(control)
}
