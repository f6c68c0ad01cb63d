//! `GET /healthz`: what perch holds and has yet to do, and whether it
//! works: `degraded` (503) with the reasons when the store holds damage,
//! a route is parked, a chat platform or an X source has failed for
//! longer than its patience, or a reply has waited too long to go.
//! `GET /readyz`: up, with a store that answers.
//! `GET /metrics`: the counters, and the store's state, for Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::metrics::{Metrics, StoreState};
use crate::relay::Parked;
use crate::store::{OutboxCounts, Store};
use crate::vitals::Vitals;

/// What health reads.
pub(super) struct Shared {
    pub store: Store,
    /// Set when the check of every value (at start) found a damaged one.
    pub damage: Arc<std::sync::OnceLock<String>>,
    pub parked: Parked,
    pub vitals: Vitals,
    pub metrics: Metrics,
    /// For the monthly cap on what X bills, and the figures' targets and
    /// hours.
    pub config: crate::config::Config,
}

/// How long a reply perch should have sent may wait before health says
/// so (beyond the longest undo window, 5 minutes).
pub const REPLY_PATIENCE: chrono::Duration = chrono::Duration::minutes(10);

/// The health routes, on perch's listener: `/healthz` (what perch holds,
/// and `degraded` with the reasons when something does not work) and
/// `/readyz` (perch is up and its store answers: for orchestrators,
/// which should not restart perch because Slack is down).
pub(super) fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(shared))
}

async fn ready(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    match shared.store.ticket_total() {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "error", "error": e.to_string() })),
        ),
    }
}

/// The counters, with the store's state read now. A store that cannot
/// be read leaves the gauges as they were last read (health says why).
async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let now = shared.vitals.now();
    if let (Ok(tickets), Ok(replies)) = (
        shared.store.ticket_counts(),
        shared.store.outbox_counts(now),
    ) {
        let mut state = StoreState {
            tickets: tickets.to_vec(),
            ..StoreState::default()
        };
        state.outbox = vec![
            ("waiting", replies.waiting - replies.held),
            ("held", replies.held),
            ("awaiting_agent", replies.awaiting_agent),
            ("failed", replies.failed),
        ];
        state.oldest_wait_seconds = replies.oldest_due.map_or(0.0, |due| {
            (now - due).num_milliseconds().max(0) as f64 / 1000.0
        });
        state.chat_events_waiting = shared.store.queued("chat_inbox");
        if let Ok(month) =
            crate::twitter::spend::Month::read(&shared.store, shared.config.x.spend, now)
        {
            state.spend_projected = crate::twitter::spend::dollars(month.projected);
            state.spend = month
                .by_source
                .iter()
                .filter_map(|(name, micros)| {
                    let (account, source) = name.split_once('/')?;
                    Some((
                        account.to_owned(),
                        source.to_owned(),
                        crate::twitter::spend::dollars(*micros),
                    ))
                })
                .collect();
        }
        last_day(&shared, now, &mut state);
        shared.metrics.set_state(&state);
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        shared.metrics.encode(),
    )
}

/// The last 24 hours' figures, as `stats 24h` counts them.
fn last_day(shared: &Shared, now: DateTime<Utc>, state: &mut StoreState) {
    let since = now - chrono::Duration::hours(24);
    let f = match crate::relay::reports::figures(&shared.store, &shared.config, since, now) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the last day's figures");
            return;
        }
    };
    state.last_day = vec![
        ("opened", f.tickets),
        ("answered", f.answered),
        ("answered_within_30m", f.within[0]),
        ("answered_within_60m", f.within[1]),
        ("breached", f.breaches),
    ];
    if let Some(s) = f.first_response {
        let seconds = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
        state.last_day_first_response = vec![("0.5", seconds(s.median)), ("0.9", seconds(s.p90))];
    }
}

/// Why perch is degraded, one reason per thing that does not work.
fn reasons(shared: &Shared, replies: Option<&OutboxCounts>, now: DateTime<Utc>) -> Vec<String> {
    let mut why = Vec::new();
    if let Some(damage) = shared.damage.get() {
        why.push(damage.clone());
    }
    for (route, reason) in shared.parked.reasons() {
        why.push(format!("{route}: {reason}"));
    }
    for t in shared.vitals.troubles() {
        why.push(format!(
            "{}: failing for {} min: {}",
            t.link, t.minutes, t.reason
        ));
    }
    if let Some(due) = replies.and_then(|r| r.oldest_due) {
        if now - due > REPLY_PATIENCE {
            why.push(format!(
                "replies: one has waited {} min to go to X (see the log)",
                (now - due).num_minutes()
            ));
        }
    }
    why
}

async fn health(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let now = shared.vitals.now();
    let count = |name: &str| shared.store.queued(name);
    let queue = shared.store.ticket_counts().map(|[(_, open), ..]| open);
    let replies = shared.store.outbox_counts(now).ok();
    let why = reasons(&shared, replies.as_ref(), now);
    let body = |status: &str, error: Option<String>| {
        json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "tickets": shared.store.ticket_total().ok(),
            "unclaimed": queue.as_ref().ok(),
            // Replies not yet delivered: waiting, awaiting their agent, failed.
            "outbox": replies.map(|r| r.waiting + r.awaiting_agent + r.failed),
            "inbox": count("inbox"),
            // What the relay has yet to do: a number that keeps growing
            // means a platform is refusing perch (see the logs).
            "replies_waiting": replies.map(|r| r.waiting),
            // Of those, how many wait for X's rate limit window to reset.
            "replies_held_by_x_limit": replies.map(|r| r.held),
            "replies_failed": replies.map(|r| r.failed),
            // Replies in their undo window or waiting for Send (not in
            // `replies_waiting`: they wait for a person, not for perch).
            "replies_awaiting_agent": replies.map(|r| r.awaiting_agent),
            "chat_events_waiting": count("chat_inbox"),
            "tickets_to_redraw": count("chat_sync"),
            // What X bills this month, in US dollars, and where it is headed.
            "x_spend": crate::twitter::spend::Month::read(&shared.store, shared.config.x.spend, now)
                .map(|m| m.json())
                .ok(),
            // Posts read per UTC day as perch counted them, beside X's
            // own count of the project's (read daily from X's usage API).
            "x_posts_read_by_day": crate::twitter::usage::days(&shared.store, now, 7)
                .map(|days| {
                    days.into_iter()
                        .map(|d| (d.day.to_string(), json!({ "perch": d.perch, "x": d.x })))
                        .collect::<serde_json::Map<_, _>>()
                })
                .ok(),
            "x_reads_this_month": crate::twitter::ingest::reads_this_month(&shared.store, now).ok(),
            "x_reads_by_source": crate::twitter::ingest::reads_by_source(&shared.store, now)
                .map(|r| r.into_iter().collect::<std::collections::BTreeMap<_, _>>())
                .ok(),
            // Older than `x.backfill` when perch began watching a source:
            // left unread, no ticket, no reply (posts before the backfill
            // are never read at all; DMs are counted as they are passed).
            "x_backlog_left_unread": crate::twitter::ingest::skipped_by_source(&shared.store)
                .map(|r| r.into_iter().collect::<std::collections::BTreeMap<_, _>>())
                .ok(),
            "x_watching_since": watching_since(&shared.store),
            // Routes that cannot work until a person fixes them, and what
            // to fix; their tickets wait.
            "parked_routes": shared.parked.reasons(),
            // Each chat platform and X source: when it last worked, and
            // since when it fails.
            "links": shared.vitals.links(),
            "problems": why,
            "error": error,
        })
    };
    match &queue {
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("error", Some(e.to_string()))),
        ),
        Ok(_) if !why.is_empty() => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("degraded", Some(why.join("; ")))),
        ),
        Ok(_) => (StatusCode::OK, Json(body("ok", None))),
    }
}

/// When perch began watching each source, `account/source` to RFC 3339.
fn watching_since(store: &Store) -> Option<std::collections::BTreeMap<String, String>> {
    let cursors = store.cursors_named("#watching_since").ok()?;
    Some(cursors.into_iter().collect())
}
