//! What the fake Discord's bot may do, enforced as Discord does: the
//! Message Content intent is a switch on the application (without it an
//! IDENTIFY that asks for it is closed with 4014), the bot's permissions
//! come from its role and each channel's overwrites (sending where
//! Send Messages is denied is a 403 with code 50013, in a channel it
//! cannot view 50001), and the bot can read who it is, its application,
//! its guild and its member (for `perch check --online`).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use serenity::all::Permissions;

use super::gateway::APPLICATION_ID;
use super::json::{error, user_json};
use super::{State, BOT_ID, GUILD_ID};

/// The bot's managed role (Discord makes one per bot when it joins).
pub const BOT_ROLE: u64 = 1_400_000_000_000_000_777;

/// `flags` bit of an application with the Message Content intent on
/// (GATEWAY_MESSAGE_CONTENT_LIMITED, as for a bot in under 100 servers).
pub const MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

pub(crate) struct Access {
    pub message_content: bool,
    /// What the bot's role grants, guild-wide.
    pub role: Permissions,
    /// Per channel: what an overwrite for the bot member denies.
    pub denied: HashMap<u64, Permissions>,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            message_content: true,
            role: crate::chat::discord::required_permissions(),
            denied: HashMap::new(),
        }
    }
}

/// The guild's roles as Discord lists them: @everyone (no grants here)
/// and the bot's role.
pub(crate) fn guild_roles(s: &State) -> Vec<Value> {
    let role = |id: u64, name: &str, bits: u64, managed: bool, position: u32| {
        json!({
            "id": id.to_string(), "name": name, "color": 0,
            "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
            "hoist": false, "icon": null, "unicode_emoji": null, "position": position,
            "permissions": bits.to_string(), "managed": managed, "mentionable": false, "flags": 0,
        })
    };
    vec![
        role(GUILD_ID, "@everyone", 0, false, 0),
        role(BOT_ROLE, "perch", s.access.role.bits(), true, 1),
    ]
}

/// The permission overwrites of `channel` (the bot's, when denied).
pub(crate) fn overwrites(s: &State, channel: u64) -> Value {
    match s.access.denied.get(&channel) {
        Some(deny) => json!([{
            "id": BOT_ID.to_string(), "type": 1, "allow": "0", "deny": deny.bits().to_string(),
        }]),
        None => json!([]),
    }
}

/// What the bot may do in `channel` (a thread: its parent's overwrites).
fn bot_may(s: &State, channel: u64) -> Permissions {
    let at = s
        .channels
        .get(&channel)
        .and_then(|c| c.parent_id)
        .unwrap_or(channel);
    let denied = s.access.denied.get(&at).copied().unwrap_or_default();
    if s.access.role.contains(Permissions::ADMINISTRATOR) {
        return Permissions::all();
    }
    s.access.role - denied
}

/// Discord's refusal when the bot may not post in `channel`.
pub(crate) fn send_refusal(s: &State, channel: u64) -> Option<Response> {
    let may = bot_may(s, channel);
    let thread = s.channels.get(&channel).is_some_and(|c| c.kind == 11);
    let send = if thread {
        Permissions::SEND_MESSAGES_IN_THREADS
    } else {
        Permissions::SEND_MESSAGES
    };
    if !may.contains(Permissions::VIEW_CHANNEL) {
        return Some(error(StatusCode::FORBIDDEN, 50001, "Missing Access"));
    }
    if !may.contains(send) {
        return Some(error(StatusCode::FORBIDDEN, 50013, "Missing Permissions"));
    }
    None
}

/// The bot's own reads: `GET /users/@me`, `/applications/@me`,
/// `/guilds/{id}` and its member there. `None` for any other call.
pub(crate) fn route(s: &State, method: &str, parts: &[&str]) -> Option<Response> {
    let guild = GUILD_ID.to_string();
    let answer = match (method, parts) {
        ("GET", ["users", "@me"]) => axum::Json(user_json(BOT_ID, "perch", true)).into_response(),
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            let flags = if s.access.message_content {
                MESSAGE_CONTENT_LIMITED
            } else {
                0
            };
            axum::Json(json!({
                "id": APPLICATION_ID.to_string(), "name": "perch", "icon": null, "description": "",
                "summary": "", "type": null, "hook": true, "bot_public": false,
                "bot_require_code_grant": false, "verify_key": "0".repeat(64), "flags": flags,
                "bot": user_json(BOT_ID, "perch", true),
                "owner": user_json(1_400_000_000_000_000_001, "owner", false), "team": null,
                "rpc_origins": [], "approximate_guild_count": 1,
            }))
            .into_response()
        }
        ("GET", ["guilds", id]) if *id == guild => {
            axum::Json(super::gateway::guild_json(s)).into_response()
        }
        ("GET", ["guilds", _]) => error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        ("GET", ["guilds", id, "members", user]) if *id == guild && *user == BOT_ID.to_string() => {
            axum::Json(json!({
                "user": user_json(BOT_ID, "perch", true), "roles": [BOT_ROLE.to_string()],
                "nick": null, "avatar": null, "banner": null, "premium_since": null,
                "communication_disabled_until": null, "joined_at": chrono::Utc::now().to_rfc3339(),
                "flags": 0, "pending": false, "mute": false, "deaf": false,
            }))
            .into_response()
        }
        _ => return None,
    };
    Some(answer)
}
