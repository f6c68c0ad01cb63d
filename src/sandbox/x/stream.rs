//! X's filtered stream, as the fake keeps it: the app's rules
//! (`/2/tweets/search/stream/rules`: ids as X makes them, duplicates and
//! bad rules refused in `errors[]` with the rest taken) and one streaming
//! connection (`GET /2/tweets/search/stream`, app-only, a second one is
//! refused as X refuses it), on which every new post matching a rule goes
//! out as one JSON line with its `matching_rules`, keep-alive `\r\n` lines
//! in between. Each post sent is billed as a post read.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use chrono::Utc;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::admit::{admit, set_limit_headers, Call};
use super::api::{invalid, ok};
use super::query::Query;
use super::{lock, Shared, State};
use crate::twitter::api::Post;

/// X's limits for pay-per-use: rules of up to 512 characters, 1,000 rules.
const MAX_RULE: usize = 512;
const MAX_RULES: usize = 1000;

/// A rule as X keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub value: String,
    pub tag: Option<String>,
}

/// An open streaming connection: its lines, and the query it asked with.
type Connection = (mpsc::UnboundedSender<Bytes>, BTreeMap<String, String>);

#[derive(Default)]
pub(super) struct Stream {
    rules: Vec<Rule>,
    next_id: u64,
    /// The filtered stream's connection.
    open: Option<Connection>,
    /// The X Activity API stream's connection, and what it carried (for
    /// the backfill a reconnection may ask).
    activity: Option<Connection>,
    activity_log: Vec<(chrono::DateTime<Utc>, Bytes)>,
    /// How often an idle connection gets `\r\n` (X: 20 s).
    pub keep_alive: Option<Duration>,
}

/// Which of the app's streams.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Filtered,
    Activity,
}

impl Stream {
    fn slot(&mut self, which: Which) -> &mut Option<Connection> {
        match which {
            Which::Filtered => &mut self.open,
            Which::Activity => &mut self.activity,
        }
    }
}

fn rule_json(r: &Rule) -> Value {
    let mut v = json!({ "id": r.id, "value": r.value });
    if let Some(tag) = &r.tag {
        v["tag"] = json!(tag);
    }
    v
}

fn sent() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `GET /2/tweets/search/stream/rules`.
pub(super) fn rules(s: &State) -> Response {
    let rules = &s.stream.rules;
    let mut body = json!({ "meta": { "sent": sent(), "result_count": rules.len() } });
    if !rules.is_empty() {
        body["data"] = rules.iter().map(rule_json).collect();
    }
    ok(StatusCode::OK, body)
}

/// `POST /2/tweets/search/stream/rules`: `add` or `delete`.
pub(super) fn change_rules(s: &mut State, body: &[u8]) -> Response {
    #[derive(Deserialize)]
    struct Add {
        value: String,
        tag: Option<String>,
    }
    #[derive(Deserialize)]
    struct Delete {
        ids: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Change {
        add: Option<Vec<Add>>,
        delete: Option<Delete>,
    }
    let change: Change = match serde_json::from_slice(body) {
        Ok(c) => c,
        Err(e) => return invalid(&format!("Invalid JSON body: {e}"), "body"),
    };
    let stream = &mut s.stream;
    match (change.add, change.delete) {
        (Some(add), None) => {
            let mut created = Vec::new();
            let mut errors = Vec::new();
            for a in add {
                let problem = if a.value.chars().count() > MAX_RULE {
                    Some(format!("Rule text is too long (max {MAX_RULE})"))
                } else if stream.rules.len() >= MAX_RULES {
                    Some(format!("Rule cap of {MAX_RULES} reached"))
                } else {
                    Query::parse(&a.value).err()
                };
                if let Some(detail) = problem {
                    errors.push(json!({ "value": a.value, "details": [detail], "title": "UnprocessableEntity", "type": "https://api.twitter.com/2/problems/invalid-rules" }));
                    continue;
                }
                if let Some(same) = stream.rules.iter().find(|r| r.value == a.value) {
                    errors.push(json!({ "value": a.value, "id": same.id, "title": "DuplicateRule", "type": "https://api.twitter.com/2/problems/duplicate-rules" }));
                    continue;
                }
                stream.next_id += 1;
                let rule = Rule {
                    id: format!("{}", 1_870_000_000_000_000_000 + stream.next_id),
                    value: a.value,
                    tag: a.tag,
                };
                created.push(rule_json(&rule));
                stream.rules.push(rule);
            }
            let summary = json!({ "created": created.len(), "not_created": errors.len(), "valid": created.len(), "invalid": errors.len() });
            let mut body = json!({ "meta": { "sent": sent(), "summary": summary } });
            if !created.is_empty() {
                body["data"] = Value::Array(created);
            }
            if !errors.is_empty() {
                body["errors"] = Value::Array(errors);
            }
            ok(StatusCode::OK, body)
        }
        (None, Some(delete)) => {
            let before = stream.rules.len();
            stream.rules.retain(|r| !delete.ids.contains(&r.id));
            let deleted = before - stream.rules.len();
            let summary = json!({ "deleted": deleted, "not_deleted": delete.ids.len() - deleted });
            ok(
                StatusCode::OK,
                json!({ "meta": { "sent": sent(), "summary": summary } }),
            )
        }
        _ => invalid(
            "The request body must contain either `add` or `delete`",
            "body",
        ),
    }
}

/// `GET /2/tweets/search/stream` or `GET /2/activity/stream`: the one
/// connection of each an app may hold. The activity stream sends first
/// what it carried in the last `backfill_minutes` (0 to 5).
pub(super) async fn connect(state: &Shared, call: &Call<'_>, which: Which) -> Response {
    let mut s = lock(state);
    let window = match admit(&mut s, call) {
        Ok((_, window)) => window,
        Err(refused) => return *refused,
    };
    let backfill = match call.query.get("backfill_minutes").map(|m| m.parse::<i64>()) {
        None => 0,
        Some(Ok(m)) if (0..=5).contains(&m) => m,
        Some(_) => {
            return invalid(
                "The `backfill_minutes` query parameter value must be between 0 and 5",
                "backfill_minutes",
            )
        }
    };
    if s.stream
        .slot(which)
        .as_ref()
        .is_some_and(|(tx, _)| !tx.is_closed())
    {
        let mut r = ok(
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "title": "ConnectionException",
                "detail": "This stream is currently at the maximum allowed connection limit.",
                "connection_issue": "TooManyConnections",
                "type": "https://api.twitter.com/2/problems/streaming-connection"
            }),
        );
        set_limit_headers(&mut r, window);
        return r;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    if let Which::Activity = which {
        // The backfill: delivered (and billed) again.
        let since = Utc::now() - chrono::Duration::minutes(backfill);
        let again: Vec<Bytes> = s
            .stream
            .activity_log
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, line)| line.clone())
            .collect();
        for line in again {
            if tx.send(line.clone()).is_ok() {
                s.bill.delivered(&String::from_utf8_lossy(&line));
            }
        }
    }
    *s.stream.slot(which) = Some((tx, call.query.clone()));
    let keep_alive = s.stream.keep_alive.unwrap_or(Duration::from_secs(20));
    drop(s);
    let lines = stream::unfold(rx, move |mut rx| async move {
        let line = match tokio::time::timeout(keep_alive, rx.recv()).await {
            Ok(Some(line)) => line,
            // Cut by the test, or the fake stopping.
            Ok(None) => return None,
            Err(_) => Bytes::from_static(b"\r\n"),
        };
        Some((Ok::<_, std::io::Error>(line), rx))
    });
    let mut r = Response::new(Body::from_stream(lines));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    set_limit_headers(&mut r, window);
    r
}

impl State {
    /// An X Activity API event for a subscription with no webhook goes
    /// out on the activity stream (and is kept for a backfill).
    pub(super) fn stream_activity(&mut self, body: &str) {
        let mut bytes = body.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        let line = Bytes::from(bytes);
        self.stream.activity_log.push((Utc::now(), line.clone()));
        if let Some((tx, _)) = &self.stream.activity {
            if tx.send(line).is_ok() {
                self.bill.delivered(body);
            }
        }
    }

    /// A new post goes out on the open connection when rules match it.
    pub(super) fn stream_post(&mut self, post: &Post) {
        let Some((tx, query)) = &self.stream.open else {
            return;
        };
        let author = post
            .author_id
            .as_deref()
            .and_then(|a| self.user(a))
            .map(|u| u.username.clone())
            .unwrap_or_default();
        let matching: Vec<Value> = self
            .stream
            .rules
            .iter()
            .filter(|r| Query::parse(&r.value).is_ok_and(|q| q.matches(&post.full_text(), &author)))
            .map(|r| {
                let mut m = json!({ "id": r.id });
                m["tag"] = json!(r.tag.clone().unwrap_or_default());
                m
            })
            .collect();
        if matching.is_empty() {
            return;
        }
        let mut line = super::pages::shaped(self, &[post], query);
        line.insert("data".to_owned(), line["data"][0].clone());
        line.insert("matching_rules".to_owned(), Value::Array(matching));
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.extend_from_slice(b"\r\n");
        if tx.send(Bytes::from(bytes)).is_ok() {
            self.bill.streamed(&Value::Object(line));
        }
    }
}

impl super::FakeX {
    /// The app's filtered-stream rules.
    pub fn stream_rules(&self) -> Vec<Rule> {
        lock(&self.state).stream.rules.clone()
    }

    /// Whether perch holds the stream's connection now.
    pub fn streaming(&self) -> bool {
        lock(&self.state)
            .stream
            .open
            .as_ref()
            .is_some_and(|(tx, _)| !tx.is_closed())
    }

    /// Whether perch holds the X Activity API stream's connection now.
    pub fn activity_streaming(&self) -> bool {
        lock(&self.state)
            .stream
            .activity
            .as_ref()
            .is_some_and(|(tx, _)| !tx.is_closed())
    }

    /// Ends the X Activity API stream's connection.
    pub fn cut_activity_stream(&self) {
        lock(&self.state).stream.activity = None;
    }

    /// Sends `line` (a recorded line of X's) on the open connection, as X
    /// would; `false` if none is open.
    pub fn stream_recorded(&self, line: &Value) -> bool {
        let mut s = lock(&self.state);
        let Some((tx, _)) = &s.stream.open else {
            return false;
        };
        let mut bytes = serde_json::to_vec(line).unwrap_or_default();
        bytes.extend_from_slice(b"\r\n");
        let sent = tx.send(Bytes::from(bytes)).is_ok();
        if sent {
            s.bill.streamed(line);
        }
        sent
    }

    /// Ends the stream's connection, as X does at times.
    pub fn cut_stream(&self) {
        lock(&self.state).stream.open = None;
    }

    /// Sends `\r\n` on an idle connection this often (X: every 20 s).
    pub fn set_stream_keep_alive(&self, every: Duration) {
        lock(&self.state).stream.keep_alive = Some(every);
    }
}
