//! Routes that cannot work until a person fixes something: the bot is not
//! in the channel, the channel is gone, the token was revoked, a
//! permission is missing. Such a route is parked: no retry every tick
//! (each would cost the platform's rate limit and a history read), one
//! log line that says what to fix, a line in `/healthz`, and a new try
//! every `RECHECK` (or at the next start), which unparks it when it works.
//! Its tickets are not lost: they stay marked to sync.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::chat::ChatError;

/// How often a parked route is tried again (on the relay's clock).
pub const RECHECK: chrono::Duration = chrono::Duration::minutes(5);

/// Whether an error means the route itself cannot work (not one message).
pub fn blocks_route(e: &ChatError) -> bool {
    match e {
        ChatError::Unauthorized(_) => true,
        ChatError::NotFound(code) => {
            matches!(code.as_str(), "channel_not_found" | "Unknown Channel")
        }
        ChatError::Refused(code) => matches!(
            code.as_str(),
            "not_in_channel"
                | "is_archived"
                | "missing_scope"
                | "restricted_action"
                | "channel_not_found"
        ),
        ChatError::RateLimited { .. } | ChatError::Unavailable(_) => false,
    }
}

/// What a person must do about `e` on a route.
fn what_to_fix(e: &ChatError) -> &'static str {
    match e {
        ChatError::Refused(code) if code == "not_in_channel" => {
            "invite the bot to the channel (/invite @perch)"
        }
        ChatError::Refused(code) if code == "missing_scope" => {
            "add the scope to the Slack app and reinstall it"
        }
        ChatError::NotFound(_) | ChatError::Refused(_) => {
            "check the channel id in the account's routes (the channel is gone or archived)"
        }
        _ => "check the bot's token and its permissions in the channel",
    }
}

struct Park {
    since: DateTime<Utc>,
    tried: DateTime<Utc>,
    reason: String,
}

/// The parked routes, by route key (`slack:C…`); shared with health.
#[derive(Clone, Default)]
pub struct Parked(Arc<Mutex<BTreeMap<String, Park>>>);

impl Parked {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Park>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `route` may be tried now: not parked, or due a recheck.
    pub fn may_try(&self, route: &str, now: DateTime<Utc>) -> bool {
        let mut parked = self.lock();
        match parked.get_mut(route) {
            None => true,
            Some(p) if now - p.tried >= RECHECK => {
                p.tried = now;
                true
            }
            Some(_) => false,
        }
    }

    /// `route` failed with `e`: parked if the route itself is broken.
    pub fn failed(&self, route: &str, e: &ChatError, now: DateTime<Utc>) {
        if !blocks_route(e) {
            return;
        }
        let mut parked = self.lock();
        if parked.contains_key(route) {
            return;
        }
        tracing::error!(route, error = %e, fix = what_to_fix(e), recheck_s = RECHECK.num_seconds(), "route parked: it cannot work until this is fixed; its tickets wait");
        parked.insert(
            route.to_owned(),
            Park {
                since: now,
                tried: now,
                reason: format!("{e}: {}", what_to_fix(e)),
            },
        );
    }

    /// `route` worked: unparked if it was.
    pub fn worked(&self, route: &str, now: DateTime<Utc>) {
        if let Some(p) = self.lock().remove(route) {
            tracing::info!(
                route,
                parked_s = (now - p.since).num_seconds(),
                "route works again"
            );
        }
    }

    /// Each parked route and why, for health.
    pub fn reasons(&self) -> BTreeMap<String, String> {
        self.lock()
            .iter()
            .map(|(k, p)| (k.clone(), p.reason.clone()))
            .collect()
    }
}
