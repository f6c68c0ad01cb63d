//! Discord's JSON shapes as the fake answers them, its error bodies, and
//! who a message would ping.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{Channel, Message, BOT_ID, GUILD_ID};

pub(super) fn error(status: StatusCode, code: u32, message: &str) -> Response {
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

/// The users a message's content mentions (`<@id>`, `<@!id>`), as the
/// `mentions` array Discord sends with it: the guild members it knows.
pub(crate) fn mentions(members: &HashMap<u64, (String, Vec<u64>)>, content: &str) -> Value {
    let ids = content.split("<@").skip(1).filter_map(|rest| {
        let id = rest.strip_prefix('!').unwrap_or(rest).split('>').next()?;
        id.parse::<u64>().ok()
    });
    let mut seen: Vec<u64> = Vec::new();
    let mut users = Vec::new();
    for id in ids {
        if let Some((name, _)) = members.get(&id) {
            if !seen.contains(&id) {
                seen.push(id);
                users.push(user_json(id, name, false));
            }
        }
    }
    Value::Array(users)
}

/// The role ids a message's content mentions (`<@&id>`).
pub(crate) fn mentioned_roles(content: &str) -> Value {
    let ids: Vec<String> = content
        .split("<@&")
        .skip(1)
        .filter_map(|rest| rest.split('>').next()?.parse::<u64>().ok())
        .map(|id| id.to_string())
        .collect();
    json!(ids)
}

/// A role as `GET /guilds/{id}/roles` lists it.
pub(crate) fn role_json(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(), "name": name, "color": 0, "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false, "icon": null, "unicode_emoji": null, "position": 1, "permissions": "0",
        "managed": false, "mentionable": true, "flags": 0,
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

pub(crate) fn message_json(m: &Message) -> Value {
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
pub(super) fn pings(content: &str, allowed: Option<&Value>) -> Vec<String> {
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
        // Named in `users` / `roles`, or all of a kind by `parse`.
        let listed = allowed
            .and_then(|a| a.get(kind))
            .and_then(Value::as_array)
            .is_some_and(|ids| ids.iter().any(|v| v.as_str() == Some(id.as_str())));
        if !id.is_empty()
            && rest[id.len()..].starts_with('>')
            && (listed || parse.iter().any(|p| p == kind))
        {
            out.push(format!("{kind}:{id}"));
        }
    }
    out
}

/// Discord's refusal of an `allowed_mentions` that both parses a kind
/// and lists ids of it (they are mutually exclusive), as it answers it.
pub(super) fn allowed_mentions_refusal(allowed: Option<&Value>) -> Option<Response> {
    let allowed = allowed?;
    let parse = allowed.get("parse").and_then(Value::as_array);
    let clash = ["users", "roles"].into_iter().find(|kind| {
        parse.is_some_and(|p| p.iter().any(|v| v.as_str() == Some(kind)))
            && allowed
                .get(*kind)
                .and_then(Value::as_array)
                .is_some_and(|ids| !ids.is_empty())
    })?;
    let body = json!({
        "message": "Invalid Form Body", "code": 50035,
        "errors": { "allowed_mentions": { "_errors": [{
            "code": "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
            "message": format!("parse:[\"{clash}\"] and {clash}: [ids] are mutually exclusive."),
        }] } },
    });
    Some((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
}

/// Components as Discord answers them: each with a numeric `id` in the
/// message, buttons keeping their `custom_id`, `style` and `label`.
pub(super) fn response_components(sent: Option<&Value>) -> Value {
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
pub(super) fn snowflake(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
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
        let only = json!({ "parse": [], "users": ["7"], "roles": ["9"] });
        assert_eq!(
            pings("<@7> <@8> <@&9> <@&10> @everyone", Some(&only)),
            ["users:7", "roles:9"]
        );
        assert!(allowed_mentions_refusal(Some(&only)).is_none());
        let both = json!({ "parse": ["users"], "users": ["7"] });
        assert!(allowed_mentions_refusal(Some(&both)).is_some());
    }
}
