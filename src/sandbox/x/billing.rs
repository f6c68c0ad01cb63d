//! X's bill, as the fake keeps it: what each successful answer returned
//! (posts, users, DM events: once per resource and UTC day), every post
//! and DM created, every X Activity API event delivered, at X's
//! published prices. Tests compare perch's own count with it.

use std::collections::{BTreeMap, HashSet};

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{json, Value};

use super::api::{invalid, ok};
use super::State;

use crate::xrules::prices::Priced;

#[derive(Default)]
pub(crate) struct Bill {
    /// Micro-dollars billed.
    total: u64,
    /// How many of each thing were billed.
    items: BTreeMap<&'static str, u64>,
    /// Resources billed on a UTC day (read again that day: not billed).
    seen: HashSet<(NaiveDate, String)>,
    /// Posts read per UTC day (what `GET /2/usage/tweets` counts).
    posts: BTreeMap<NaiveDate, u64>,
}

/// What the fake's bill says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billed {
    pub micros: u64,
    /// Per `Priced::key`.
    pub items: BTreeMap<&'static str, u64>,
}

impl Bill {
    fn charge(&mut self, what: Priced, resource: Option<String>) {
        if let Some(r) = resource {
            if !self.seen.insert((Utc::now().date_naive(), r)) {
                return;
            }
        }
        self.total += what.published();
        if matches!(what, Priced::PostRead | Priced::OwnedRead) {
            *self.posts.entry(Utc::now().date_naive()).or_default() += 1;
        }
        *self.items.entry(what.key()).or_default() += 1;
    }

    fn each(&mut self, list: &Value, what: Priced, kind: &str) {
        for item in list.as_array().into_iter().flatten() {
            if let Some(id) = item["id"].as_str() {
                self.charge(what, Some(format!("{kind}/{id}")));
            }
        }
    }

    /// A successful answer to `endpoint` (its template) served to user
    /// `me`; `path` as asked, `sent` the request body, `answer` the reply.
    pub(super) fn answered(
        &mut self,
        endpoint: &str,
        me: &str,
        path: &str,
        sent: &[u8],
        answer: &[u8],
    ) {
        let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        let users = &answer["includes"]["users"];
        match endpoint {
            "POST /2/tweets" => {
                let sent: Value = serde_json::from_slice(sent).unwrap_or(Value::Null);
                let text = sent["text"].as_str().unwrap_or_default();
                let linked = text.contains("https://") || text.contains("http://");
                self.charge(
                    if linked {
                        Priced::PostCreateWithUrl
                    } else {
                        Priced::PostCreate
                    },
                    None,
                );
            }
            "POST /2/dm_conversations/with/:id/messages" => self.charge(Priced::DmCreate, None),
            "GET /2/users/me" => self.each(
                &Value::Array(vec![answer["data"].clone()]),
                Priced::UserRead,
                "user",
            ),
            "GET /2/users" => self.each(&answer["data"], Priced::UserRead, "user"),
            "GET /2/users/:id/tweets" => {
                let own = path.split('/').nth(3) == Some(me);
                let what = if own {
                    Priced::OwnedRead
                } else {
                    Priced::PostRead
                };
                self.each(&answer["data"], what, "post");
                self.each(users, Priced::UserRead, "user");
            }
            "GET /2/users/:id/mentions" | "GET /2/tweets/search/recent" | "GET /2/tweets" => {
                self.each(&answer["data"], Priced::PostRead, "post");
                self.each(&answer["includes"]["tweets"], Priced::PostRead, "post");
                self.each(users, Priced::UserRead, "user");
            }
            "GET /2/dm_events" => {
                self.each(&answer["data"], Priced::DmEventRead, "dm");
                self.each(users, Priced::UserRead, "user");
            }
            _ => {}
        }
    }

    /// A line of the filtered stream went out: its post read, and the
    /// authors expanded with it.
    pub(super) fn streamed(&mut self, line: &Value) {
        self.each(
            &Value::Array(vec![line["data"].clone()]),
            Priced::PostRead,
            "post",
        );
        self.each(&line["includes"]["users"], Priced::UserRead, "user");
    }

    /// An X Activity API delivery of `body` reached its webhook.
    pub(super) fn delivered(&mut self, body: &str) {
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        match body["data"]["event_type"].as_str() {
            Some("post.mention.create") => self.charge(Priced::MentionEvent, None),
            Some("dm.received") => self.charge(Priced::DmReceivedEvent, None),
            _ => {}
        }
    }

    pub(super) fn billed(&self) -> Billed {
        Billed {
            micros: self.total,
            items: self.items.clone(),
        }
    }
}

/// The fake's project (X names one per developer account).
const PROJECT_ID: &str = "1369785403853424";

/// `GET /2/usage/tweets`: the posts read per UTC day for the last `days`
/// (1 to 90, default 7) in the OpenAPI file's shape, with the figures X
/// sends by default (its usage page: counts as strings).
pub(super) fn usage(s: &State, query: &BTreeMap<String, String>) -> Response {
    let days = match query.get("days").map(|d| d.parse::<i64>()) {
        None => 7,
        Some(Ok(d)) if (1..=90).contains(&d) => d,
        Some(_) => {
            return invalid(
                "The `days` query parameter value must be between 1 and 90",
                "days",
            )
        }
    };
    let fields: Vec<&str> = query
        .get("usage.fields")
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let today = Utc::now().date_naive();
    let month = s
        .bill
        .posts
        .iter()
        .filter(|(d, _)| d.year() == today.year() && d.month() == today.month());
    let mut data = json!({
        "cap_reset_day": 1,
        "project_cap": "2000000",
        "project_id": PROJECT_ID,
        "project_usage": month.map(|(_, n)| n).sum::<u64>().to_string(),
    });
    if fields.contains(&"daily_project_usage") {
        let usage: Vec<Value> = (0..days)
            .rev()
            .map(|back| today - chrono::Duration::days(back))
            .map(|d| {
                let at = format!("{d}T00:00:00.000Z");
                match s.bill.posts.get(&d) {
                    Some(n) => json!({ "date": at, "usage": n.to_string() }),
                    None => json!({ "date": at }),
                }
            })
            .collect();
        data["daily_project_usage"] = json!({ "project_id": PROJECT_ID, "usage": usage });
    }
    ok(StatusCode::OK, json!({ "data": data }))
}
