//! Keyword and brand search in real time: X's filtered stream. perch
//! keeps the app's stream rules in step with the config's search rules
//! (one rule per search rule, the same query with its misspellings,
//! tagged `perch:ACCOUNT:RULE`; others' rules are left alone), holds the
//! one streaming connection X allows an app, and records each post a rule
//! of its own matched as that rule's search hit, through the same
//! deduplicated inbox as a poll. While the stream is up the search polls
//! wait (once an hour they read what came meanwhile, so that a later
//! catch-up stays short); when it drops they poll again, which reads what
//! came while it was down, and perch reconnects with X's backoff.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use super::api::{Includes, Post};
use super::inbound::{InboundItem, Source};
use super::ingest::{dedupe_ttl, Ingest};
use super::lines::{Lines, Next};
use super::spend::Meter;
use super::{XClient, XError};
use crate::ticket::AccountKey;

/// A stream rule as X keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StreamRule {
    pub id: String,
    pub value: String,
    #[serde(default)]
    pub tag: Option<String>,
}

/// The tag of the stream rule for search rule `rule` of `account`.
pub fn tag(account: &AccountKey, rule: &str) -> String {
    format!("perch:{account}:{rule}")
}

/// The account and search rule a tag of perch's names.
fn owner(tag: &str) -> Option<(&str, &str)> {
    tag.strip_prefix("perch:")?.split_once(':')
}

/// The stream rules perch wants: (tag, value), one per search rule.
pub fn wanted(config: &crate::config::Config) -> Vec<(String, String)> {
    config
        .accounts
        .iter()
        .flat_map(|a| {
            a.ingest
                .search
                .iter()
                .map(|r| (tag(&a.key, &r.name), r.query.clone()))
        })
        .collect()
}

/// What keeping the rules in step did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Synced {
    pub added: Vec<String>,
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    /// Rules X refused, with why.
    pub refused: Vec<String>,
}

impl XClient {
    /// The app's stream rules (app-only).
    pub async fn stream_rules(&self) -> Result<Vec<StreamRule>, XError> {
        #[derive(Deserialize)]
        struct Rules {
            #[serde(default)]
            data: Vec<StreamRule>,
        }
        let rules: Rules = self
            .get("/2/tweets/search/stream/rules", &BTreeMap::new())
            .await?;
        Ok(rules.data)
    }

    /// Adds rules `(tag, value)`; returns what X refused and why (a rule
    /// X refuses does not stop the others).
    pub async fn add_stream_rules(&self, add: &[(String, String)]) -> Result<Vec<String>, XError> {
        let body = json!({
            "add": add.iter().map(|(tag, value)| json!({ "value": value, "tag": tag })).collect::<Vec<_>>()
        });
        let answer: Value = self.post("/2/tweets/search/stream/rules", &body).await?;
        Ok(answer["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let details: Vec<&str> = e["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!(
                    "`{}`: {} {}",
                    e["value"].as_str().unwrap_or_default(),
                    e["title"].as_str().unwrap_or_default(),
                    details.join("; ")
                )
                .trim_end()
                .to_owned()
            })
            .collect())
    }

    pub async fn delete_stream_rules(&self, ids: &[String]) -> Result<(), XError> {
        let body = json!({ "delete": { "ids": ids } });
        let _: Value = self.post("/2/tweets/search/stream/rules", &body).await?;
        Ok(())
    }
}

/// Makes the app's stream rules of perch's exactly `wanted`.
pub async fn sync_rules(app: &XClient, wanted: &[(String, String)]) -> Result<Synced, XError> {
    let existing = app.stream_rules().await?;
    let ours = |r: &&StreamRule| r.tag.as_deref().is_some_and(|t| owner(t).is_some());
    let is_wanted = |r: &StreamRule| {
        wanted
            .iter()
            .any(|(t, v)| r.tag.as_deref() == Some(t.as_str()) && &r.value == v)
    };
    let mut synced = Synced::default();
    let stale: Vec<&StreamRule> = existing
        .iter()
        .filter(ours)
        .filter(|r| !is_wanted(r))
        .collect();
    if !stale.is_empty() {
        let ids: Vec<String> = stale.iter().map(|r| r.id.clone()).collect();
        app.delete_stream_rules(&ids).await?;
        synced.removed = stale.iter().filter_map(|r| r.tag.clone()).collect();
    }
    let mut add = Vec::new();
    for (t, v) in wanted {
        if existing
            .iter()
            .any(|r| r.tag.as_deref() == Some(t.as_str()) && &r.value == v)
        {
            synced.kept.push(t.clone());
        } else {
            add.push((t.clone(), v.clone()));
        }
    }
    if !add.is_empty() {
        synced.refused = app.add_stream_rules(&add).await?;
        synced.added = add
            .into_iter()
            .filter(|(_, v)| {
                let named = format!("`{v}`:");
                !synced.refused.iter().any(|r| r.starts_with(&named))
            })
            .map(|(t, _)| t)
            .collect();
    }
    Ok(synced)
}

/// Records `post`, which search rule `rule` of `ingest`'s account matched
/// on the stream; `true` if it was new.
pub async fn record_streamed(
    ingest: &Ingest,
    rule: &str,
    post: &Post,
    includes: Option<&Includes>,
    now: DateTime<Utc>,
) -> Result<bool, XError> {
    let source = Source::Search {
        rule: rule.to_owned(),
    };
    let watch = ingest.watch(&format!("search:{rule}"), now)?;
    let authors = post.author_id.as_deref().into_iter();
    let includes = ingest.with_authors(includes, authors).await?;
    let Some(mut item) =
        InboundItem::from_post(&ingest.account, source, post, Some(&includes), now)
    else {
        return Ok(false);
    };
    if item.created_at < watch.from {
        return Ok(false);
    }
    item.backfilled = item.created_at < watch.since;
    Ok(ingest
        .store
        .record_inbound(&item.dedupe_key(), &item, dedupe_ttl(), now)?)
}

/// The query the stream is opened with: what a search poll asks for.
fn stream_query() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        (
            "tweet.fields",
            "id,text,author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities,note_tweet".to_owned(),
        ),
        ("expansions", "author_id,referenced_tweets.id".to_owned()),
        ("user.fields", "username,name".to_owned()),
    ])
}

/// Why a session of one of X's streams ended and how long to wait before
/// the next: a session that was up and ended starts the count of
/// failures afresh.
pub(super) fn after_session(outcome: Result<(), XError>, failures: &mut u32) -> (XError, Duration) {
    *failures = match &outcome {
        Ok(()) => 0,
        Err(_) => *failures + 1,
    };
    let error = outcome.err().unwrap_or(XError::Unavailable {
        detail: "the stream ended".to_owned(),
    });
    let wait = backoff(&error, *failures);
    (error, wait)
}

/// X's reconnect guidance for its streams, after `failures` failed tries
/// in a row: a
/// dropped connection backs off linearly from 250 ms to 16 s, an HTTP
/// error exponentially from 5 s to 320 s, a 429 from a minute.
pub(super) fn backoff(error: &XError, failures: u32) -> Duration {
    let doubled = |start: u64, cap: u64| {
        let times = 1u64 << failures.saturating_sub(1).min(10);
        Duration::from_millis(start.saturating_mul(times).min(cap))
    };
    match error {
        XError::Unavailable { .. } => {
            Duration::from_millis((250 * u64::from(failures.max(1))).min(16_000))
        }
        XError::RateLimited { reset_in, .. } => (*reset_in).max(Duration::from_secs(60)),
        XError::Refused { status: 429, .. } => doubled(60_000, 960_000),
        _ => doubled(5_000, 320_000),
    }
}

/// Holds the stream until `stop`.
pub struct Streamer {
    pub app: Arc<XClient>,
    pub wanted: Vec<(String, String)>,
    pub ingests: Vec<Arc<Ingest>>,
    pub meter: Arc<Meter>,
    pub vitals: crate::vitals::Vitals,
    /// True while the stream is up (the search polls wait on it).
    pub live: watch::Sender<bool>,
    /// The monthly cap: at it, with `at_cap = "stop"`, the stream is
    /// left until the month turns (each post on it is a billed read).
    pub spend: crate::config::Spend,
    pub store: crate::store::Store,
}

/// How often the month's cap is looked at while the stream is quiet.
const CAP_CHECK: Duration = Duration::from_secs(5);

impl Streamer {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let link = "x stream".to_owned();
        let mut failures = 0u32;
        loop {
            if let Some(until) = self.capped(Utc::now()) {
                self.live.send_replace(false);
                tracing::warn!(%until, "the month's cap on X spending is reached (x.spend.at_cap = \"stop\"): the filtered stream is left until the month turns; replies still go");
                let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
            let outcome = tokio::select! {
                outcome = self.session() => outcome,
                _ = stop.wait_for(|s| *s) => return,
            };
            self.live.send_replace(false);
            let (error, wait) = after_session(outcome, &mut failures);
            tracing::warn!(error = %error, retry_s = wait.as_secs_f64(), "the filtered stream is down; brand search polls until it is back");
            self.vitals
                .failed(&link, &error, crate::vitals::PLATFORM_PATIENCE);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Until when reading stops, if the month's cap says so now.
    fn capped(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let spent = super::spend::this_month(&self.store, now).unwrap_or(0);
        match super::spend::pace(Duration::ZERO, spent, &self.spend, now) {
            super::spend::Polling::StopUntil(until) => Some(until),
            super::spend::Polling::Every(_) => None,
        }
    }

    /// Keeps the rules, connects and reads until the stream ends:
    /// `Ok` once it was up, the error when it never came up.
    async fn session(&self) -> Result<(), XError> {
        let synced = sync_rules(&self.app, &self.wanted).await?;
        for refused in &synced.refused {
            tracing::error!(rule = %refused, "X refused a filtered-stream rule; its search is polled only (fix the rule's query)");
        }
        if !synced.added.is_empty() || !synced.removed.is_empty() {
            tracing::info!(added = ?synced.added, removed = ?synced.removed, kept = synced.kept.len(), "filtered-stream rules kept in step with the search rules");
        }
        let response = self
            .app
            .open_stream("/2/tweets/search/stream", &stream_query())
            .await?;
        self.live.send_replace(true);
        self.vitals.ok("x stream");
        tracing::info!("the filtered stream is up: brand search hits arrive as they are posted");
        let mut lines = Lines::new(response, CAP_CHECK);
        loop {
            // The cap is looked at while the stream is quiet too.
            if self.capped(Utc::now()).is_some() {
                return Ok(());
            }
            match lines.next().await {
                Next::Line(line) => {
                    self.vitals.ok("x stream");
                    self.line(&line, Utc::now()).await;
                }
                Next::Quiet => {}
                Next::Ended(why) => {
                    tracing::warn!(why, "the filtered stream ended; reconnecting");
                    return Ok(());
                }
            }
        }
    }

    /// One line of the stream: a post and the rules it matched.
    async fn line(&self, line: &[u8], now: DateTime<Utc>) {
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "a filtered-stream line is not JSON; left");
                return;
            }
        };
        let Ok(post) = serde_json::from_value::<Post>(value["data"].clone()) else {
            // X also sends operational messages (`errors`) on the stream.
            tracing::warn!(line = %value, "a filtered-stream line without a post; left");
            return;
        };
        let includes: Option<Includes> = serde_json::from_value(value["includes"].clone()).ok();
        let mut billed = false;
        for tag in value["matching_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["tag"].as_str())
        {
            let Some((account, rule)) = owner(tag) else {
                continue;
            };
            let Some(ingest) = self
                .ingests
                .iter()
                .find(|i| i.account.key.as_str() == account)
            else {
                continue;
            };
            if !billed {
                billed = true;
                if let Err(e) = self.meter.streamed(&ingest.account.key, &value, now) {
                    tracing::warn!(error = %e, "cannot count what X bills for a streamed post");
                }
            }
            match record_streamed(ingest, rule, &post, includes.as_ref(), now).await {
                Ok(true) => {
                    tracing::info!(%account, rule, post = %post.id, "search hit from the filtered stream")
                }
                Ok(false) => {}
                // The next search poll reads it again.
                Err(e) => {
                    tracing::warn!(%account, rule, error = %e, "cannot record a streamed post; the search poll reads it again")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_as_x_asks() {
        let dropped = XError::Unavailable {
            detail: "reset".to_owned(),
        };
        let refused = XError::Refused {
            status: 503,
            detail: "Service Unavailable".to_owned(),
        };
        let crowded = XError::Refused {
            status: 429,
            detail: "TooManyConnections".to_owned(),
        };
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(backoff(&dropped, 0)), 250);
        assert_eq!(ms(backoff(&dropped, 3)), 750);
        assert_eq!(ms(backoff(&dropped, 100)), 16_000);
        assert_eq!(ms(backoff(&refused, 1)), 5_000);
        assert_eq!(ms(backoff(&refused, 2)), 10_000);
        assert_eq!(ms(backoff(&refused, 20)), 320_000);
        assert_eq!(ms(backoff(&crowded, 1)), 60_000);
        assert_eq!(owner("perch:acme:brand"), Some(("acme", "brand")));
        assert_eq!(owner("analytics"), None);
    }
}
