//! When each outbox entry that must wait may be tried again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::store::OutboxId;

/// Waits between tries of a reply X did not take for a passing reason.
const RETRY: Backoff = Backoff {
    first: Duration::from_secs(2),
    max: Duration::from_secs(256),
};

/// When each entry that must wait (X turned it away for a passing reason,
/// or its window is spent) may be tried again (in memory: after a restart
/// everything is tried at once).
#[derive(Default)]
pub(super) struct NotBefore(Mutex<HashMap<OutboxId, Instant>>);

impl NotBefore {
    pub(super) fn ready(&self, id: OutboxId) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&id).is_none_or(|at| Instant::now() >= *at)
    }

    pub(super) fn forget(&self, id: OutboxId) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&id);
    }

    pub(super) fn delay(&self, id: OutboxId, attempt: u32) {
        self.until(id, Instant::now() + RETRY.after(attempt));
    }

    pub(super) fn until(&self, id: OutboxId, at: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id, at);
    }
}
