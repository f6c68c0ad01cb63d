//! X webhooks (Account Activity): the CRC challenge and delivery
//! signatures, both HMAC-SHA256 with the app's consumer secret, base64.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn sign(secret: &str, message: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail here.
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(message);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The answer to `GET ?crc_token=…`: `{"response_token": "sha256=…"}`.
pub fn crc_response(consumer_secret: &str, crc_token: &str) -> String {
    sign(consumer_secret, crc_token.as_bytes())
}

/// The `x-twitter-webhooks-signature` X sends with `body`.
pub fn signature(consumer_secret: &str, body: &[u8]) -> String {
    sign(consumer_secret, body)
}

/// Whether `header` is the signature of `body`, compared in constant time.
pub fn verify(consumer_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(header) = header else { return false };
    let expected = signature(consumer_secret, body);
    expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_documented_construction() {
        // HMAC-SHA256("secret", "challenge"), base64.
        let token = crc_response("secret", "challenge");
        assert!(token.starts_with("sha256="));
        assert_eq!(token, crc_response("secret", "challenge"));
        assert_ne!(token, crc_response("other", "challenge"));
    }

    #[test]
    fn signatures_accept_the_right_body_and_reject_the_rest() {
        let body = br#"{"for_user_id":"1","tweet_create_events":[]}"#;
        let good = signature("secret", body);
        assert!(verify("secret", body, Some(&good)));
        assert!(!verify("wrong", body, Some(&good)));
        assert!(!verify("secret", b"{\"altered\":true}", Some(&good)));
        assert!(!verify("secret", body, None));
        assert!(!verify("secret", body, Some("sha256=")));
    }
}

/// The HTTP side: `GET ?crc_token=` and signed `POST` deliveries
/// (Account Activity payloads) for one account.
pub mod http {
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use axum::{Json, Router};
    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use serde_json::{json, Value};

    use crate::config::{Account, Secret};
    use crate::store::Store;
    use crate::ticket::{Customer, TweetId, XConversationId};
    use crate::twitter::activity;
    use crate::twitter::inbound::{InboundItem, InboundKind, Source};
    use crate::twitter::ingest::dedupe_ttl;

    pub struct Hook {
        pub account: Account,
        pub consumer_secret: Secret,
        pub store: Store,
        pub metrics: crate::metrics::Metrics,
        pub meter: Arc<crate::twitter::spend::Meter>,
    }

    #[derive(Deserialize)]
    struct Crc {
        crc_token: Option<String>,
    }

    /// The routes for one account's webhook path.
    pub fn routes(hook: Hook) -> Router {
        let path = hook
            .account
            .ingest
            .webhook
            .as_ref()
            .map_or_else(|| "/x/webhook".to_owned(), |w| w.path.clone());
        Router::new()
            .route(&path, get(crc).post(deliver))
            .with_state(Arc::new(hook))
    }

    async fn crc(State(hook): State<Arc<Hook>>, Query(q): Query<Crc>) -> (StatusCode, Json<Value>) {
        match q.crc_token {
            Some(token) if !token.is_empty() => (
                StatusCode::OK,
                Json(
                    json!({ "response_token": super::crc_response(hook.consumer_secret.expose(), &token) }),
                ),
            ),
            _ => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "crc_token is required" })),
            ),
        }
    }

    async fn deliver(
        State(hook): State<Arc<Hook>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, Json<Value>) {
        let signature = headers
            .get("x-twitter-webhooks-signature")
            .and_then(|v| v.to_str().ok());
        if !super::verify(hook.consumer_secret.expose(), &body, signature) {
            tracing::warn!(account = %hook.account.key, "webhook delivery with a bad or missing signature rejected");
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "signature does not verify" })),
            );
        }
        let payload: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": format!("not JSON: {e}") })),
                )
            }
        };
        let now = Utc::now();
        let mut billed = None;
        let (for_user, items) = if activity::is_activity(&payload) {
            match activity::read(&hook.account, &payload, now) {
                activity::Delivery::ReplayDone {
                    job_id,
                    complete,
                    description,
                } => {
                    if complete {
                        tracing::info!(account = %hook.account.key, job_id, "X replayed the webhook's missed events");
                    } else {
                        tracing::warn!(account = %hook.account.key, job_id, description, "X's replay of missed events did not complete; perch asks again at its next start");
                    }
                    return (
                        StatusCode::OK,
                        Json(json!({ "received": 0, "recorded": 0 })),
                    );
                }
                activity::Delivery::Event {
                    for_user,
                    event_type,
                    items,
                } => {
                    if !activity::understood(&event_type) {
                        tracing::info!(account = %hook.account.key, event_type, "X delivered an event type perch does not read; acknowledged and left (`perch x subscribe` removes subscriptions the config does not ask for)");
                    }
                    billed = Some(event_type);
                    (for_user, items)
                }
            }
        } else {
            (
                s(&payload, "for_user_id").map(str::to_owned),
                items(&hook.account, &payload, now),
            )
        };
        // X delivers one subscribed user's activity per request; an app
        // subscribed for others sends theirs too, never to be answered as us.
        let for_user = for_user.as_deref();
        if for_user != Some(hook.account.user_id.as_str()) {
            tracing::warn!(account = %hook.account.key, for_user_id = for_user.unwrap_or("(none)"), "webhook delivery for another user rejected: this path serves {} only", hook.account.user_id);
            return (
                StatusCode::FORBIDDEN,
                Json(json!({ "error": format!(
                    "for_user_id {} is not the account this webhook serves ({}); subscribe each account at its own path",
                    for_user.unwrap_or("(none)"), hook.account.user_id
                ) })),
            );
        }
        let taker = Taker {
            account: &hook.account,
            store: &hook.store,
            metrics: &hook.metrics,
            meter: &hook.meter,
        };
        match taker.take_in(billed.as_deref(), &items, now) {
            Ok(recorded) => (
                StatusCode::OK,
                Json(json!({ "received": items.len(), "recorded": recorded })),
            ),
            // Not acknowledged: the Account Activity API delivers it again;
            // for the X Activity API (which is not known to retry) the
            // replay at perch's next start brings it back.
            Err(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "store unavailable" })),
            ),
        }
    }

    /// Takes in what X delivered for an account (to its webhook, or on
    /// the app's activity stream).
    pub struct Taker<'a> {
        pub account: &'a Account,
        pub store: &'a Store,
        pub metrics: &'a crate::metrics::Metrics,
        pub meter: &'a crate::twitter::spend::Meter,
    }

    impl Taker<'_> {
        /// Counts what X bills for the event `event_type` (every event it
        /// delivers, whether perch knew it already) and records each item
        /// once; how many were new. An item the store cannot take is an
        /// error (logged).
        pub fn take_in(
            &self,
            event_type: Option<&str>,
            items: &[InboundItem],
            now: DateTime<Utc>,
        ) -> Result<usize, crate::store::StoreError> {
            let key = self.account.key.as_str();
            if let Some(event_type) = event_type {
                if let Err(e) = self.meter.delivered(&self.account.key, event_type, now) {
                    tracing::warn!(account = key, error = %e, "cannot count what X bills for this delivery");
                }
            }
            let mut recorded = 0;
            for item in items {
                match self
                    .store
                    .record_inbound(&item.dedupe_key(), item, dedupe_ttl(), now)
                {
                    Ok(true) => {
                        recorded += 1;
                        self.metrics.ingested(key, "webhook", 1);
                        self.metrics
                            .ingest_lag(key, "webhook", now - item.created_at);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(account = key, error = %e, "cannot record an item X delivered");
                        return Err(e);
                    }
                }
            }
            Ok(recorded)
        }
    }

    fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
        v.get(key).and_then(Value::as_str)
    }

    /// Posts and DMs in an Account Activity payload, minus the account's own.
    pub fn items(account: &Account, payload: &Value, now: DateTime<Utc>) -> Vec<InboundItem> {
        let mut out = Vec::new();
        let empty = Vec::new();
        let tweets = payload
            .get("tweet_create_events")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        for t in tweets {
            let (Some(id), Some(user)) = (s(t, "id_str"), t.get("user")) else {
                continue;
            };
            let Some(author) = s(user, "id_str") else {
                continue;
            };
            if author == account.user_id.as_str() {
                continue;
            }
            // A post over 140 characters comes `truncated`, whole in
            // `extended_tweet.full_text`.
            let text = t
                .pointer("/extended_tweet/full_text")
                .and_then(Value::as_str)
                .or_else(|| s(t, "full_text"))
                .or_else(|| s(t, "text"))
                .map(crate::xrules::text::unescape)
                .unwrap_or_default();
            let mentioned = [
                "/entities/user_mentions",
                "/extended_tweet/entities/user_mentions",
            ]
            .iter()
            .filter_map(|at| t.pointer(at).and_then(Value::as_array))
            .flatten()
            .any(|u| s(u, "screen_name").is_some_and(|n| n.eq_ignore_ascii_case(&account.handle)));
            let quoted_us = t
                .pointer("/quoted_status/user/id_str")
                .and_then(Value::as_str)
                == Some(account.user_id.as_str());
            let in_reply_to = s(t, "in_reply_to_status_id_str").map(TweetId::from);
            let created = s(t, "created_at")
                .and_then(|c| DateTime::parse_from_str(c, "%a %b %d %H:%M:%S %z %Y").ok())
                .map_or(now, |d| d.with_timezone(&Utc));
            out.push(InboundItem {
                account: account.key.clone(),
                source: Source::Webhook,
                kind: InboundKind::Post {
                    tweet_id: TweetId::from(id),
                    // v1.1 payloads carry no conversation id; the relay
                    // finds the ticket by the post replied to.
                    conversation_id: XConversationId::from(
                        in_reply_to.as_ref().map_or(id, TweetId::as_str),
                    ),
                    in_reply_to,
                    mentioned_or_quoted: mentioned || quoted_us,
                },
                author: Customer {
                    id: author.into(),
                    handle: s(user, "screen_name").unwrap_or(author).to_owned(),
                    name: s(user, "name").unwrap_or(author).to_owned(),
                },
                text,
                created_at: created,
                backfilled: false,
            });
        }
        let users = payload.get("users");
        let user_of = |id: &str| {
            let user = users?.get(id)?;
            Some((
                s(user, "screen_name")?.to_owned(),
                s(user, "name")?.to_owned(),
            ))
        };
        out.extend(crate::twitter::activity::legacy_dms(
            account, payload, &user_of, now,
        ));
        out
    }
}
