//! Answers to interactions: the first (`POST /interactions/{id}/{token}/
//! callback`, at most once) and follow-ups with the interaction's token,
//! which may be ephemeral and carry buttons.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::json::{error, message_json, response_components};
use super::{Message, State, BOT_ID};

/// `POST /interactions/{id}/{token}/callback`: the first answer to an
/// interaction, at most once.
pub(super) fn callback(s: &mut State, id: &str, token: &str, json_body: &Value) -> Response {
    let id: u64 = id.parse().unwrap_or(0);
    match s.interactions.get_mut(&id) {
        Some(p) if p.token == token => {
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
    }
}

/// `POST /webhooks/{app}/{token}`: a follow-up to an answered interaction.
pub(super) fn followup(s: &mut State, token: &str, json_body: &Value) -> Response {
    let Some((channel, user)) = s
        .interactions
        .values()
        .find(|p| p.token == token && p.first.is_some())
        .map(|p| (p.channel, p.user))
    else {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    };
    s.followups.push((token.to_owned(), json_body.clone()));
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
        components: response_components(json_body.get("components")),
        reactions: Vec::new(),
        edited: false,
        pinged: Vec::new(),
    };
    let json = message_json(&m);
    // Ephemeral (flag 64): only the person who asked sees it, and only
    // they can press its buttons.
    if json_body.get("flags").and_then(Value::as_u64).unwrap_or(0) & 64 != 0 {
        s.whispers.push((user, m));
    }
    axum::Json(json).into_response()
}
