//! The fake's control API over HTTP (`/_sandbox/...`): act as a person
//! (a message, `/perch`, a button) and read a channel as people see it.

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::json::error;
use super::{Control, Shared};

impl Control {
    /// A text channel as a person sees it: each card (title and status)
    /// with its thread's messages indented below, marks in brackets.
    pub fn render(&self, channel: u64) -> String {
        let s = super::lock(&self.0);
        let line = |m: &super::Message| {
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
            let name = |id: &str| {
                id.parse()
                    .ok()
                    .and_then(|id| s.members.get(&id))
                    .map_or_else(|| id.to_owned(), |(name, _)| name.clone())
            };
            let shown =
                card.unwrap_or_else(|| crate::sandbox::plain::discord_line(&m.content, &name));
            format!("{}: {shown}{marks}", m.author_name)
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

    /// A guild member, before they write anything.
    pub fn add_member(&self, id: u64, name: &str, roles: &[u64]) {
        super::lock(&self.0)
            .members
            .insert(id, (name.to_owned(), roles.to_vec()));
    }

    /// Names a guild role (for mentions of it, and `GET /guilds/{id}/roles`).
    pub fn set_role(&self, id: u64, name: &str) {
        super::lock(&self.0).roles.insert(id, name.to_owned());
    }

    /// Resets the bot token in the Developer Portal: the one perch has is
    /// refused from now on (REST 401, gateway 4004).
    pub fn revoke_token(&self) {
        super::lock(&self.0).token = "revoked".to_owned();
    }

    /// Switches the application's Message Content intent (Developer
    /// Portal, Bot tab) on or off.
    pub fn set_message_content_intent(&self, on: bool) {
        super::lock(&self.0).access.message_content = on;
    }

    /// What the bot's role grants guild-wide.
    pub fn set_bot_role_permissions(&self, grants: serenity::all::Permissions) {
        super::lock(&self.0).access.role = grants;
    }

    /// An overwrite on `channel` that denies the bot `denied`.
    pub fn deny_bot(&self, channel: u64, denied: serenity::all::Permissions) {
        super::lock(&self.0).access.denied.insert(channel, denied);
    }

    /// A person edits their message `id`: changed, and dispatched as the
    /// MESSAGE_UPDATE Discord sends. `false` if it is not theirs.
    pub fn edit_user_message(&self, channel: u64, id: u64, user: u64, content: &str) -> bool {
        let mut s = super::lock(&self.0);
        let Some(m) = s
            .messages
            .iter_mut()
            .find(|m| m.id == id && m.channel_id == channel && m.author_id == user)
        else {
            return false;
        };
        m.content = content.to_owned();
        m.edited = true;
        let mut data = super::message_json(m);
        data["guild_id"] = json!(super::GUILD_ID.to_string());
        data["edited_timestamp"] = json!(chrono::Utc::now().to_rfc3339());
        data["mentions"] = super::json::mentions(&s.members, content);
        s.gateway.dispatch("MESSAGE_UPDATE", data);
        s.changes.bump();
        true
    }

    /// A person deletes their message `id`: gone, and dispatched as the
    /// MESSAGE_DELETE Discord sends. `false` if it is not theirs.
    pub fn delete_user_message(&self, channel: u64, id: u64, user: u64) -> bool {
        let mut s = super::lock(&self.0);
        let Some(at) = s
            .messages
            .iter()
            .position(|m| m.id == id && m.channel_id == channel && m.author_id == user)
        else {
            return false;
        };
        s.messages.remove(at);
        let data = json!({ "id": id.to_string(), "channel_id": channel.to_string(), "guild_id": super::GUILD_ID.to_string() });
        s.gateway.dispatch("MESSAGE_DELETE", data);
        s.changes.bump();
        true
    }
}

/// The control routes, beside the REST API.
pub(super) fn routes() -> axum::Router<Shared> {
    let control = axum::Router::new()
        .route(
            "/_sandbox/whispers/{user}",
            axum::routing::get(control_whispers),
        )
        .route("/_sandbox/people", axum::routing::get(control_people))
        .route("/_sandbox/events", axum::routing::get(control_events))
        .route("/_sandbox/message", axum::routing::post(control_message))
        .route("/_sandbox/command", axum::routing::post(control_command))
        .route("/_sandbox/button", axum::routing::post(control_button))
        .route("/_sandbox/edit", axum::routing::post(control_edit))
        .route("/_sandbox/delete", axum::routing::post(control_delete))
        .route(
            "/_sandbox/channels/{id}",
            axum::routing::get(control_channel),
        );
    crate::sandbox::serve::for_the_page(control)
}

/// A control call about a channel the guild does not have.
fn no_channel(id: u64) -> Response {
    error(
        StatusCode::NOT_FOUND,
        10003,
        &format!("Unknown Channel {id}: GET /_sandbox/people lists the guild's channels and members; a ticket's thread id is its card message's id"),
    )
}

/// `GET /_sandbox/whispers/{user}`: the ephemeral answers only that
/// person was shown.
async fn control_whispers(
    AxumState(state): AxumState<Shared>,
    axum::extract::Path(user): axum::extract::Path<u64>,
) -> axum::Json<Value> {
    let whispers: Vec<Value> = Control(state)
        .whispers_for(user)
        .iter()
        .map(super::message_json)
        .collect();
    axum::Json(json!({ "user": user.to_string(), "whispers": whispers }))
}

/// `GET /_sandbox/people`: the guild's members and channels.
async fn control_people(AxumState(state): AxumState<Shared>) -> axum::Json<Value> {
    let s = super::lock(&state);
    let mut people: Vec<(u64, &String)> = s.members.iter().map(|(id, (n, _))| (*id, n)).collect();
    people.sort();
    let mut channels: Vec<Value> = s
        .channels
        .values()
        .filter(|c| c.parent_id.is_none())
        .map(|c| json!({ "id": c.id.to_string(), "name": c.name, "forum": c.kind == 15 }))
        .collect();
    channels.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let people: Vec<Value> = people
        .iter()
        .map(|(id, name)| json!({ "id": id.to_string(), "name": name }))
        .collect();
    axum::Json(json!({ "people": people, "channels": channels }))
}

/// `GET /_sandbox/events`: an event at each change people see.
async fn control_events(AxumState(state): AxumState<Shared>) -> impl IntoResponse {
    let changes = super::lock(&state).changes.clone();
    changes.events()
}

/// A snowflake as Discord writes it (a string), or as a number (a web
/// page cannot hold a snowflake in a number without losing its last
/// digits): read as serenity reads Discord's ids.
fn snowflake<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    <serenity::all::GenericId as serde::Deserialize>::deserialize(d).map(|id| id.get())
}

#[derive(serde::Deserialize)]
struct MessageIn {
    #[serde(deserialize_with = "snowflake")]
    channel: u64,
    #[serde(deserialize_with = "snowflake")]
    user: u64,
    name: String,
    #[serde(default)]
    roles: Vec<u64>,
    text: String,
}

#[derive(serde::Deserialize)]
struct CommandIn {
    #[serde(deserialize_with = "snowflake")]
    channel: u64,
    #[serde(deserialize_with = "snowflake")]
    user: u64,
    name: String,
    #[serde(default)]
    roles: Vec<u64>,
    subcommand: String,
    text: Option<String>,
}

#[derive(serde::Deserialize)]
struct ButtonIn {
    #[serde(deserialize_with = "snowflake")]
    channel: u64,
    #[serde(deserialize_with = "snowflake")]
    message: u64,
    #[serde(deserialize_with = "snowflake")]
    user: u64,
    name: String,
    custom_id: String,
}

/// `POST /_sandbox/message`: a person writes in a channel or thread.
async fn control_message(
    AxumState(state): AxumState<Shared>,
    axum::Json(m): axum::Json<MessageIn>,
) -> Response {
    let control = Control(state);
    if control.channel(m.channel).is_none() {
        return no_channel(m.channel);
    }
    let id = control.user_message(m.channel, m.user, &m.name, &m.roles, &m.text);
    axum::Json(json!({ "id": id.to_string() })).into_response()
}

/// `POST /_sandbox/command`: a person runs `/perch <subcommand> [text]`.
async fn control_command(
    AxumState(state): AxumState<Shared>,
    axum::Json(c): axum::Json<CommandIn>,
) -> Response {
    let control = Control(state);
    if control.channel(c.channel).is_none() {
        return no_channel(c.channel);
    }
    let id = control.slash_command(
        c.channel,
        c.user,
        &c.name,
        &c.roles,
        &c.subcommand,
        c.text.as_deref(),
    );
    axum::Json(json!({ "interaction_id": id.to_string() })).into_response()
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

#[derive(serde::Deserialize)]
struct ChangeIn {
    #[serde(deserialize_with = "snowflake")]
    channel: u64,
    #[serde(deserialize_with = "snowflake")]
    message: u64,
    #[serde(deserialize_with = "snowflake")]
    user: u64,
    /// The new text (an edit); none for a delete.
    text: Option<String>,
}

/// `POST /_sandbox/edit`: a person edits their message.
async fn control_edit(
    AxumState(state): AxumState<Shared>,
    axum::Json(c): axum::Json<ChangeIn>,
) -> Response {
    let text = c.text.unwrap_or_default();
    if Control(state).edit_user_message(c.channel, c.message, c.user, &text) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }
}

/// `POST /_sandbox/delete`: a person deletes their message.
async fn control_delete(
    AxumState(state): AxumState<Shared>,
    axum::Json(c): axum::Json<ChangeIn>,
) -> Response {
    if Control(state).delete_user_message(c.channel, c.message, c.user) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }
}

/// `GET /_sandbox/channels/{id}`: a channel's messages as people see them
/// (each also whole, as the API gives it, with the thread it started),
/// and its threads (a forum's posts) with their tags.
async fn control_channel(
    AxumState(state): AxumState<Shared>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> Response {
    let s = super::lock(&state);
    let Some(channel) = s.channels.get(&id) else {
        return no_channel(id);
    };
    let threads: Vec<&super::Channel> = s
        .channels
        .values()
        .filter(|c| c.parent_id == Some(id))
        .collect();
    let messages: Vec<Value> = s
        .messages
        .iter()
        .filter(|m| m.channel_id == id)
        .map(|m| {
            let mut whole = super::message_json(m);
            whole["thread"] = json!(threads.iter().any(|t| t.id == m.id));
            json!({
                "id": m.id.to_string(), "author": m.author_name, "content": m.content,
                "card": m.embeds.get(0).map(|e| e["title"].clone()), "pinged": m.pinged, "reactions": m.reactions,
                "message": whole,
            })
        })
        .collect();
    let tag = |t: &u64| {
        channel
            .available_tags
            .iter()
            .find(|(id, _)| id == t)
            .map(|(_, n)| n.clone())
    };
    let threads: Vec<Value> = threads
        .iter()
        .map(|t| {
            let tags: Vec<String> = t.applied_tags.iter().filter_map(tag).collect();
            json!({ "id": t.id.to_string(), "name": t.name, "tags": tags })
        })
        .collect();
    axum::Json(json!({
        "channel": id.to_string(), "name": channel.name, "forum": channel.kind == 15,
        "messages": messages, "threads": threads,
    }))
    .into_response()
}
