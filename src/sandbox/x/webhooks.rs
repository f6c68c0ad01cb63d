//! The fake X's webhooks: registered by the app, each checked by a CRC
//! request to its URL as X does (on registration and on `PUT`); the
//! deliveries, signed with the app's consumer secret and made once (an
//! endpoint that is down misses them); and replay jobs that deliver
//! again what was delivered or attempted in a window of the last 24
//! hours, then say they are done.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::activity::Outgoing;
use super::admit::{admit, set_limit_headers, Call};
use super::api::{invalid, ok};
use super::{lock, Shared, State};
use crate::twitter::webhook;

/// A webhook the app registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub valid: bool,
    pub created_at: DateTime<Utc>,
}

/// Registering or re-validating a webhook sends X's CRC request first.
pub(super) fn checks_url(endpoint: &str) -> bool {
    endpoint == "POST /2/webhooks" || endpoint == "PUT /2/webhooks/:id"
}

fn consumer_secret(s: &State) -> String {
    s.accounts
        .iter()
        .find_map(|a| a.oauth1.as_ref().map(|k| k.consumer_secret.clone()))
        .unwrap_or_default()
}

fn webhook_json(w: &Webhook) -> Value {
    json!({
        "id": w.id,
        "url": w.url,
        "valid": w.valid,
        "created_at": w.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The CRC: `GET url?crc_token=…` must answer the token's HMAC.
async fn crc(url: &str, secret: &str) -> bool {
    let token = format!("crc-{}", Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return false;
    };
    let Ok(answer) = http.get(url).query(&[("crc_token", &token)]).send().await else {
        return false;
    };
    if !answer.status().is_success() {
        return false;
    }
    let Ok(body) = answer.json::<Value>().await else {
        return false;
    };
    body.get("response_token").and_then(Value::as_str)
        == Some(webhook::crc_response(secret, &token).as_str())
}

/// `POST /2/webhooks` and `PUT /2/webhooks/:id`: admitted, CRC'd (without
/// holding the state), then recorded.
pub(super) async fn register(state: &Shared, call: &Call<'_>, body: &[u8]) -> Response {
    let admitted = {
        let mut s = lock(state);
        admit(&mut s, call).map(|(_, window)| (window, consumer_secret(&s)))
    };
    let (window, secret) = match admitted {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let mut r = if call.endpoint == "PUT /2/webhooks/:id" {
        let id = call.path.rsplit('/').next().unwrap_or_default().to_owned();
        let url = lock(state)
            .activity
            .webhooks
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.url.clone());
        match url {
            None => invalid(
                "WebhookIdInvalid: no webhook with this id for this app",
                "webhook_id",
            ),
            Some(url) => {
                let valid = crc(&url, &secret).await;
                let mut s = lock(state);
                if let Some(w) = s.activity.webhooks.iter_mut().find(|w| w.id == id) {
                    w.valid = valid;
                }
                ok(StatusCode::OK, json!({ "data": { "valid": valid } }))
            }
        }
    } else {
        create_webhook(state, body, &secret).await
    };
    set_limit_headers(&mut r, window);
    r
}

async fn create_webhook(state: &Shared, body: &[u8], secret: &str) -> Response {
    #[derive(Deserialize)]
    struct Create {
        url: String,
    }
    let Ok(req) = serde_json::from_slice::<Create>(body) else {
        return invalid("Body must be JSON with a `url`", "url");
    };
    if req.url.is_empty() || req.url.len() > 200 || url::Url::parse(&req.url).is_err() {
        return invalid(
            "`url` must be an absolute URL of at most 200 characters",
            "url",
        );
    }
    if lock(state)
        .activity
        .webhooks
        .iter()
        .any(|w| w.url == req.url)
    {
        return invalid(
            "DuplicateUrlFailed: a webhook with this URL already exists for this app",
            "url",
        );
    }
    if !crc(&req.url, secret).await {
        return invalid(
            "CrcValidationFailed: the URL did not answer the CRC with the response_token of the app's consumer secret",
            "url",
        );
    }
    let mut s = lock(state);
    let webhook = Webhook {
        id: s.activity.next_id(),
        url: req.url,
        valid: true,
        created_at: Utc::now(),
    };
    s.activity.webhooks.push(webhook.clone());
    ok(StatusCode::OK, json!({ "data": webhook_json(&webhook) }))
}

pub(super) fn list_webhooks(s: &State) -> Response {
    let data: Vec<Value> = s.activity.webhooks.iter().map(webhook_json).collect();
    ok(
        StatusCode::OK,
        json!({ "data": data, "meta": { "result_count": data.len() } }),
    )
}

pub(super) fn delete_webhook(s: &mut State, id: &str) -> Response {
    let before = s.activity.webhooks.len();
    s.activity.webhooks.retain(|w| w.id != id);
    if s.activity.webhooks.len() == before {
        return invalid(
            "WebhookIdInvalid: no webhook with this id for this app",
            "webhook_id",
        );
    }
    ok(StatusCode::OK, json!({ "data": { "deleted": true } }))
}

fn minute(v: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(&format!("{v}00"), "%Y%m%d%H%M%S")
        .ok()
        .map(|n| n.and_utc())
}

/// `POST /2/webhooks/replay`: what was delivered or attempted to the
/// webhook from `from_date` to `to_date` (minutes, both inclusive, within
/// the last 24 hours) is delivered again, then a `replay_job_status`.
pub(super) fn replay(s: &mut State, body: &[u8]) -> Response {
    #[derive(Deserialize)]
    struct Job {
        webhook_id: String,
        from_date: String,
        to_date: String,
    }
    let Ok(job) = serde_json::from_slice::<Job>(body) else {
        return invalid(
            "Body must be JSON with webhook_id, from_date and to_date",
            "body",
        );
    };
    let (Some(from), Some(to)) = (minute(&job.from_date), minute(&job.to_date)) else {
        return invalid(
            "QueryParamInvalid: from_date and to_date must be yyyymmddhhmm",
            "from_date",
        );
    };
    let now = Utc::now();
    if from > to || to > now || from < now - chrono::Duration::hours(24) {
        return invalid(
            "QueryParamInvalid: from_date must be within the last 24 hours and not after to_date, and to_date not in the future",
            "from_date",
        );
    }
    if !s.activity.webhooks.iter().any(|w| w.id == job.webhook_id) {
        return invalid(
            "WebhookIdInvalid: no webhook with this id for this app",
            "webhook_id",
        );
    }
    if s.activity.jobs.contains_key(&job.webhook_id) {
        return invalid(
            "ReplayConflictError: a replay job is already in progress for this webhook",
            "webhook_id",
        );
    }
    let job_id = s.activity.next_id();
    let until = to + chrono::Duration::seconds(59);
    let again: Vec<Outgoing> = s
        .activity
        .log
        .iter()
        .filter(|d| d.webhook_id == job.webhook_id && d.at >= from && d.at <= until)
        .map(|d| Outgoing {
            webhook_id: d.webhook_id.clone(),
            body: d.body.clone(),
            log: None,
            ends_job: None,
        })
        .collect();
    s.activity.queue.extend(again);
    s.activity.queue.push_back(Outgoing {
        webhook_id: job.webhook_id.clone(),
        body: json!({ "replay_job_status": {
            "webhook_id": job.webhook_id,
            "job_state": "Complete",
            "job_state_description": "Job completed successfully",
            "job_id": job_id,
        }})
        .to_string(),
        log: None,
        ends_job: Some(job_id.clone()),
    });
    s.activity.jobs.insert(job.webhook_id, job_id.clone());
    s.activity.wake.notify_one();
    ok(
        StatusCode::OK,
        json!({ "data": { "job_id": job_id, "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) } }),
    )
}

/// Makes the queued deliveries, one at a time, for as long as the fake runs.
pub(super) async fn deliver(state: Shared, wake: Arc<Notify>) {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return;
    };
    loop {
        let next = {
            let mut s = lock(&state);
            let secret = consumer_secret(&s);
            s.activity.queue.pop_front().map(|o| {
                let url = s
                    .activity
                    .webhooks
                    .iter()
                    .find(|w| w.id == o.webhook_id && w.valid)
                    .map(|w| w.url.clone());
                (o, url, secret)
            })
        };
        let Some((out, url, secret)) = next else {
            wake.notified().await;
            continue;
        };
        let delivered = match url {
            Some(url) => http
                .post(url)
                .header("content-type", "application/json")
                .header(
                    "x-twitter-webhooks-signature",
                    webhook::signature(&secret, out.body.as_bytes()),
                )
                .body(out.body.clone())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success()),
            None => false,
        };
        let mut s = lock(&state);
        if delivered {
            s.bill.delivered(&out.body);
        }
        match (out.log, &out.ends_job) {
            (Some(i), _) => {
                if let Some(entry) = s.activity.log.get_mut(i) {
                    entry.delivered = Some(delivered);
                }
            }
            (None, Some(job)) => {
                s.activity.jobs.retain(|_, j| j != job);
            }
            (None, None) => {
                if let Some(entry) = s.activity.log.iter_mut().find(|d| d.body == out.body) {
                    entry.replayed = true;
                }
            }
        }
    }
}
