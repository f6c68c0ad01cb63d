//! `GET /healthz`: what perch holds and has yet to do, and whether the
//! store passed its start-up check.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Value};

use crate::relay::Parked;
use crate::store::Store;

struct Shared {
    store: Store,
    /// Set when the start-up check found a damaged value.
    damage: Option<String>,
    parked: Parked,
}

/// The health route, on perch's listener.
pub(super) fn routes(store: Store, damage: Option<String>, parked: Parked) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .with_state(Arc::new(Shared {
            store,
            damage,
            parked,
        }))
}

async fn health(State(shared): State<Arc<Shared>>) -> (StatusCode, Json<Value>) {
    let counts = shared.store.counts();
    let count = |name: &str| {
        counts
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(0, |(_, n)| *n)
    };
    let queue = shared.store.queue().map(|q| q.len());
    let replies = shared.store.outbox_counts(Utc::now()).ok();
    let body = |status: &str, error: Option<String>| {
        json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "tickets": count("tickets"),
            "unclaimed": queue.as_ref().ok(),
            "outbox": count("outbox"),
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
            "x_reads_this_month": crate::twitter::ingest::reads_this_month(&shared.store, Utc::now()).ok(),
            "x_reads_by_source": crate::twitter::ingest::reads_by_source(&shared.store, Utc::now())
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
            "error": error,
        })
    };
    let parked = shared.parked.reasons();
    match (&queue, &shared.damage) {
        (Err(e), _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("error", Some(e.to_string()))),
        ),
        (Ok(_), Some(damage)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body("degraded", Some(damage.clone()))),
        ),
        (Ok(_), None) if !parked.is_empty() => {
            let why = parked
                .iter()
                .map(|(route, reason)| format!("{route}: {reason}"))
                .collect::<Vec<_>>()
                .join("; ");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(body("degraded", Some(why))),
            )
        }
        (Ok(_), None) => (StatusCode::OK, Json(body("ok", None))),
    }
}

/// When perch began watching each source, `account/source` to RFC 3339.
fn watching_since(store: &Store) -> Option<std::collections::BTreeMap<String, String>> {
    let cursors = store.cursors_named("#watching_since").ok()?;
    Some(cursors.into_iter().collect())
}
