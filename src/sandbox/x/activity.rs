//! The fake X's Activity API: subscriptions per user and event type
//! (private events only for the user whose credentials ask), and the
//! events of what happens, queued for the webhooks they name (see
//! `webhooks` for their delivery).
//!
//! Shapes follow X's "Event payloads" page and the OpenAPI file (see
//! tests/fixtures/x/SOURCES.md).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::admit::APP;
use super::api::{invalid, ok, problem};
use super::webhooks::Webhook;
use super::{FakeX, State};
use crate::twitter::api::{DmEvent, Post};

/// An XAA subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub event_type: String,
    pub user_id: String,
    pub tag: Option<String>,
    pub webhook_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A delivery made or attempted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub webhook_id: String,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub body: String,
    /// Answered with a 2xx (`None` until tried).
    pub delivered: Option<bool>,
    /// Made again by a replay job.
    pub replayed: bool,
}

pub(super) struct Outgoing {
    pub webhook_id: String,
    pub body: String,
    /// The log entry it is (a first delivery), or the replay job it ends.
    pub log: Option<usize>,
    pub ends_job: Option<String>,
}

/// What the webhooks and XAA hold.
#[derive(Default)]
pub(crate) struct Activity {
    pub webhooks: Vec<Webhook>,
    pub subscriptions: Vec<Subscription>,
    pub log: Vec<Sent>,
    pub(super) queue: VecDeque<Outgoing>,
    /// The replay job running per webhook.
    pub(super) jobs: BTreeMap<String, String>,
    serial: u64,
    pub wake: Arc<Notify>,
}

/// X's webhook and subscription ids look like this one.
const FIRST_ID: u64 = 1_146_654_567_674_912_769;

impl Activity {
    pub(super) fn next_id(&mut self) -> String {
        self.serial += 1;
        (FIRST_ID + self.serial).to_string()
    }
}

/// Events only the user may let an app read.
fn private(event_type: &str) -> bool {
    event_type.starts_with("dm.")
        || event_type.starts_with("chat.")
        || event_type.starts_with("post.mention")
        || event_type == "like.create"
}

const EVENT_TYPES: [&str; 8] = [
    "post.create",
    "post.delete",
    "post.mention.create",
    "dm.received",
    "dm.sent",
    "dm.read",
    "follow.follow",
    "like.create",
];

fn subscription_json(sub: &Subscription) -> Value {
    let at = sub
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut v = json!({
        "subscription_id": sub.id,
        "event_type": sub.event_type,
        "filter": { "user_id": sub.user_id },
        "created_at": at,
        "updated_at": at,
    });
    if let Some(tag) = &sub.tag {
        v["tag"] = json!(tag);
    }
    if let Some(w) = &sub.webhook_id {
        v["webhook_id"] = json!(w);
    }
    v
}

/// `POST /2/activity/subscriptions`.
pub(super) fn subscribe(s: &mut State, body: &[u8], me: &str) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filter {
        user_id: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Create {
        event_type: String,
        filter: Filter,
        tag: Option<String>,
        webhook_id: Option<String>,
    }
    let req = match serde_json::from_slice::<Create>(body) {
        Ok(r) => r,
        Err(e) => return invalid(&format!("Invalid request body: {e}"), "body"),
    };
    if !EVENT_TYPES.contains(&req.event_type.as_str()) {
        return invalid(
            &format!("`{}` is not a supported event_type", req.event_type),
            "event_type",
        );
    }
    let Some(user_id) = req.filter.user_id else {
        return invalid("filter.user_id is required for this event_type", "filter");
    };
    if private(&req.event_type) && me != user_id {
        let detail = if me == APP {
            "Private events need user-context authorization by the filtered user"
        } else {
            "Private events can only be subscribed for the authenticated user"
        };
        return problem(StatusCode::FORBIDDEN, "Forbidden", detail);
    }
    if let Some(w) = &req.webhook_id {
        if !s.activity.webhooks.iter().any(|h| &h.id == w) {
            return invalid(
                "WebhookIdInvalid: no webhook with this id for this app",
                "webhook_id",
            );
        }
    }
    if req
        .tag
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.len() > 200)
    {
        return invalid("`tag` must be 1 to 200 characters", "tag");
    }
    let duplicate = s.activity.subscriptions.iter().any(|x| {
        x.event_type == req.event_type && x.user_id == user_id && x.webhook_id == req.webhook_id
    });
    if duplicate {
        return problem(
            StatusCode::CONFLICT,
            "Conflict",
            "A subscription with this event_type, filter and webhook already exists",
        );
    }
    let sub = Subscription {
        id: s.activity.next_id(),
        event_type: req.event_type,
        user_id,
        tag: req.tag,
        webhook_id: req.webhook_id,
        created_at: Utc::now(),
    };
    s.activity.subscriptions.push(sub.clone());
    ok(
        StatusCode::OK,
        json!({ "data": { "subscription": subscription_json(&sub) }, "meta": { "total_subscriptions": s.activity.subscriptions.len() } }),
    )
}

pub(super) fn list_subscriptions(s: &State) -> Response {
    let data: Vec<Value> = s
        .activity
        .subscriptions
        .iter()
        .map(subscription_json)
        .collect();
    ok(
        StatusCode::OK,
        json!({ "data": data, "meta": { "result_count": data.len() } }),
    )
}

pub(super) fn unsubscribe(s: &mut State, id: &str) -> Response {
    let before = s.activity.subscriptions.len();
    s.activity.subscriptions.retain(|x| x.id != id);
    if s.activity.subscriptions.len() == before {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            "Subscription not found",
        );
    }
    ok(StatusCode::OK, json!({ "data": { "deleted": true } }))
}

impl State {
    /// Queues `payload` as `event_type` for every subscription of it
    /// for `user_id` with a webhook.
    fn emit(
        &mut self,
        event_type: &str,
        user_id: &str,
        uuid: &str,
        payload: Value,
        includes: Value,
    ) {
        let targets: Vec<(Option<String>, Option<String>)> = self
            .activity
            .subscriptions
            .iter()
            .filter(|x| x.event_type == event_type && x.user_id == user_id)
            .map(|x| (x.webhook_id.clone(), x.tag.clone()))
            .collect();
        for (webhook_id, tag) in targets {
            let mut data = json!({
                "event_uuid": uuid,
                "filter": { "user_id": user_id },
                "event_type": event_type,
                "payload": payload,
                "includes": includes,
            });
            if let Some(tag) = tag {
                data["tag"] = json!(tag);
            }
            // No webhook: the event goes out on the app's activity stream.
            let Some(webhook_id) = webhook_id else {
                self.stream_activity(&json!({ "data": data }).to_string());
                continue;
            };
            self.activity.log.push(Sent {
                webhook_id: webhook_id.clone(),
                event_type: event_type.to_owned(),
                at: Utc::now(),
                body: json!({ "data": data }).to_string(),
                delivered: None,
                replayed: false,
            });
            let log = self.activity.log.len() - 1;
            self.activity.queue.push_back(Outgoing {
                webhook_id,
                body: self.activity.log[log].body.clone(),
                log: Some(log),
                ends_job: None,
            });
            self.activity.wake.notify_one();
        }
    }

    fn user_json(&self, id: &str) -> Value {
        self.user(id).map_or(
            Value::Null,
            |u| json!({ "id": u.id, "name": u.name, "username": u.username, "protected": false }),
        )
    }

    /// A new post: `post.mention.create` for each user it names in its text.
    pub(super) fn emit_post(&mut self, post: &Post) {
        let mut value = serde_json::to_value(post).unwrap_or(Value::Null);
        value["edit_history_tweet_ids"] = json!([post.id]);
        let author = post.author_id.clone().unwrap_or_default();
        let named: Vec<String> = post
            .entities
            .iter()
            .flat_map(|e| e.mentions.iter())
            .filter_map(|m| m.id.clone())
            .filter(|id| *id != author)
            .collect();
        for user_id in named {
            let users = json!({ "users": [self.user_json(&author), self.user_json(&user_id)] });
            self.emit(
                "post.mention.create",
                &user_id,
                &post.id,
                value.clone(),
                users,
            );
        }
    }

    /// A new DM: `dm.received` for the recipient, `dm.sent` for the sender.
    pub(super) fn emit_dm(&mut self, event: &DmEvent, recipient: &str) {
        let sender = event.sender_id.clone().unwrap_or_default();
        let users: serde_json::Map<String, Value> = [&sender, recipient]
            .iter()
            .map(|id| ((*id).to_owned(), json!({ "data": self.user_json(id) })))
            .collect();
        let payload = json!({
            "direct_message_events": [{
                "type": "message_create",
                "id": event.id,
                "created_timestamp": event.created_at.unwrap_or_else(Utc::now).timestamp_millis().to_string(),
                "message_create": {
                    "target": { "recipient_id": recipient },
                    "sender_id": sender,
                    "message_data": {
                        "text": event.text.clone().unwrap_or_default(),
                        "entities": { "hashtags": [], "symbols": [], "user_mentions": [], "urls": [] },
                    },
                },
            }],
            "users": users,
        });
        // X's DM event uuids are signed 64-bit numbers, unlike the DM's id.
        let uuid = (event.id.parse::<u64>().unwrap_or(0) as i64)
            .wrapping_neg()
            .to_string();
        self.emit("dm.received", recipient, &uuid, payload.clone(), json!({}));
        self.emit("dm.sent", &sender, &uuid, payload, json!({}));
    }
}

/// The bearer token of the fake's app (X's begin with a run of `A`s).
pub const APP_BEARER: &str = "AAAAAAAAAAAAAAAAAAAAAPerchSandboxAppOnlyBearer";

/// What the tests and the sandbox read of the webhooks and XAA.
impl FakeX {
    /// The app's bearer token.
    pub fn app_bearer(&self) -> String {
        self.state().app_bearer.clone()
    }

    /// Gives the app another bearer token (the one perch is configured with).
    pub fn set_app_bearer(&self, token: &str) {
        self.state().app_bearer = token.to_owned();
    }

    pub fn webhooks(&self) -> Vec<Webhook> {
        self.state().activity.webhooks.clone()
    }

    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.state().activity.subscriptions.clone()
    }

    /// Every delivery made or attempted, oldest first.
    pub fn deliveries(&self) -> Vec<Sent> {
        self.state().activity.log.clone()
    }
}
