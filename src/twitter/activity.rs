//! The X Activity API (XAA): what its deliveries carry and the items perch
//! takes from them. A delivery (to a webhook, or a line of the activity
//! stream) is one event in an envelope:
//! `{"data": {"event_uuid", "filter": {"user_id"}, "event_type", "tag",
//! "payload", "includes"}}`. A mention's payload is a v2 post with its
//! users in `includes`; a DM's is the legacy `direct_message_events` with a
//! `users` map of `{"data": user}` by id. A replay job ends with a
//! `replay_job_status` delivery instead.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::{Includes, Post};
use super::inbound::{InboundItem, InboundKind, Source};
use crate::config::Account;
use crate::ticket::{Customer, DmConversationId, DmEventId};

pub use crate::xrules::activity::{understood, EVENTS};

/// What one delivery says.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event for the user in `for_user`.
    Event {
        for_user: Option<String>,
        event_type: String,
        items: Vec<InboundItem>,
    },
    /// A replay job finished (`complete`: every event was delivered again).
    ReplayDone {
        job_id: String,
        complete: bool,
        description: String,
    },
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Whether `payload` is an XAA delivery rather than an Account Activity one.
pub fn is_activity(payload: &Value) -> bool {
    payload.pointer("/data/event_type").is_some() || payload.get("replay_job_status").is_some()
}

/// Reads one XAA delivery for `account`.
pub fn read(account: &Account, payload: &Value, now: DateTime<Utc>) -> Delivery {
    if let Some(job) = payload.get("replay_job_status") {
        return Delivery::ReplayDone {
            job_id: s(job, "job_id").unwrap_or_default().to_owned(),
            complete: s(job, "job_state") == Some("Complete"),
            description: s(job, "job_state_description")
                .unwrap_or_default()
                .to_owned(),
        };
    }
    let data = payload.get("data").unwrap_or(&Value::Null);
    let event_type = s(data, "event_type").unwrap_or_default().to_owned();
    let for_user = data
        .pointer("/filter/user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let body = data.get("payload").unwrap_or(&Value::Null);
    let items = match event_type.as_str() {
        "post.mention.create" => mention(account, data, body, now).into_iter().collect(),
        "dm.received" | "dm.sent" => {
            let users = body.get("users");
            let user_of = |id: &str| {
                let user = users?.get(id)?.get("data")?;
                Some((s(user, "username")?.to_owned(), s(user, "name")?.to_owned()))
            };
            legacy_dms(account, body, &user_of, now)
        }
        _ => Vec::new(),
    };
    Delivery::Event {
        for_user,
        event_type,
        items,
    }
}

fn mention(
    account: &Account,
    data: &Value,
    body: &Value,
    now: DateTime<Utc>,
) -> Option<InboundItem> {
    let post: Post = serde_json::from_value(body.clone()).ok()?;
    let includes: Includes = data
        .get("includes")
        .and_then(|i| serde_json::from_value(i.clone()).ok())
        .unwrap_or_default();
    InboundItem::from_post(account, Source::Webhook, &post, Some(&includes), now)
}

/// The messages of a legacy `direct_message_events` list (Account Activity
/// and XAA's `dm.*` events both carry it), each as the customer's DM or,
/// sent by the account, as the team's. `user_of` gives a user's handle and
/// name by id; the customer's id stands in for what it does not know.
pub fn legacy_dms(
    account: &Account,
    payload: &Value,
    user_of: &dyn Fn(&str) -> Option<(String, String)>,
    now: DateTime<Utc>,
) -> Vec<InboundItem> {
    let Some(events) = payload
        .get("direct_message_events")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(|d| legacy_dm(account, d, user_of, now))
        .collect()
}

fn legacy_dm(
    account: &Account,
    d: &Value,
    user_of: &dyn Fn(&str) -> Option<(String, String)>,
    now: DateTime<Utc>,
) -> Option<InboundItem> {
    if s(d, "type") != Some("message_create") {
        return None;
    }
    let id = s(d, "id")?;
    let sender = d.pointer("/message_create/sender_id")?.as_str()?;
    let ours = sender == account.user_id.as_str();
    let customer = if ours {
        d.pointer("/message_create/target/recipient_id")?.as_str()?
    } else {
        sender
    };
    let (handle, name) =
        user_of(customer).unwrap_or_else(|| (customer.to_owned(), customer.to_owned()));
    let event_id = DmEventId::from(id);
    let dm_conversation_id = DmConversationId::between(customer, account.user_id.as_str());
    Some(InboundItem {
        account: account.key.clone(),
        source: Source::Webhook,
        kind: if ours {
            InboundKind::SentDm {
                event_id,
                dm_conversation_id,
            }
        } else {
            InboundKind::Dm {
                event_id,
                dm_conversation_id,
            }
        },
        author: Customer {
            id: customer.into(),
            handle,
            name,
        },
        text: d
            .pointer("/message_create/message_data/text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        created_at: s(d, "created_timestamp")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(now),
        backfilled: false,
    })
}
