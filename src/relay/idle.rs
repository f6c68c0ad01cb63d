//! Releasing claims whose holder went quiet (`service.claim_idle_release`):
//! checked often enough to release each within a minute (or a quarter of
//! the idle time) of its deadline, and announced in the ticket's threads.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Relay;
use crate::store::{Store, StoreError};
use crate::ticket::{self, Transition};

/// Checks for idle claims often enough to release each within a minute (or
/// a quarter of the idle time) of its deadline.
pub async fn idle_release_loop(
    relay: Arc<Relay>,
    store: Store,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let period = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match release_idle_claims(&store, idle, relay.now()) {
            Ok(released) => {
                for transition in &released {
                    relay.announce(transition).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "idle-claim check failed; will retry"),
        }
    }
}

/// Releases every claim idle for `idle` at `now`; returns what changed.
pub fn release_idle_claims(
    store: &Store,
    idle: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Transition>, StoreError> {
    let idle = chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::MAX);
    let mut released = Vec::new();
    for t in store.active_where(|s| s.state == "claimed")? {
        if ticket::release_if_idle(&t, idle, now).is_none() {
            continue;
        }
        // Re-checked inside the transaction: the holder may reply meanwhile.
        let outcome = store.update_ticket(t.id, None, now, |current| {
            ticket::release_if_idle(current, idle, now).ok_or(ticket::Refusal::NotClaimed)
        })?;
        if let Ok(transition) = outcome {
            released.push(transition);
        }
    }
    Ok(released)
}
